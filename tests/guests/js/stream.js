// JS stream: large bodies in both directions, chunk by chunk.
//
//   GET ?mib=N[&kib=K]  200 application/octet-stream: N MiB (default 1, at
//                       most 4096) written in chunks of K KiB (default 64);
//                       byte i of the body is "a" + (i % 26), so a client can
//                       check it; no content-length, the body is streamed
//   POST, PUT           200: the request body streamed back as it arrives,
//                       with the request's content-type

const encoder = new TextEncoder();

function generate(total, chunkSize) {
	// One chunk-sized pattern, a multiple of 26 bytes longer than a chunk,
	// sliced at the right offset so the pattern runs on across chunks.
	const pattern = new Uint8Array(chunkSize + 26);
	for (let i = 0; i < pattern.length; i++) pattern[i] = 97 + (i % 26);
	let sent = 0;
	return new ReadableStream({
		pull(controller) {
			if (sent >= total) {
				controller.close();
				return;
			}
			const n = Math.min(chunkSize, total - sent);
			const off = sent % 26;
			// A fresh copy per chunk: enqueued chunks must not be reused.
			controller.enqueue(pattern.slice(off, off + n));
			sent += n;
		},
	});
}

function handle(req) {
	if (req.method === 'POST' || req.method === 'PUT') {
		return new Response(req.body, {
			status: 200,
			headers: { 'content-type': req.headers.get('content-type') ?? 'application/octet-stream' },
		});
	}
	if (req.method !== 'GET') {
		return new Response('method not allowed\n', { status: 405 });
	}
	const q = new URL(req.url).searchParams;
	const mib = Number(q.get('mib') ?? '1');
	const kib = Number(q.get('kib') ?? '64');
	if (!Number.isInteger(mib) || mib < 0 || mib > 4096 || !Number.isInteger(kib) || kib < 1 || kib > 16384) {
		return new Response(encoder.encode('bad mib or kib\n'), { status: 400 });
	}
	return new Response(generate(mib * 1048576, kib * 1024), {
		status: 200,
		headers: { 'content-type': 'application/octet-stream', 'x-stream-bytes': String(mib * 1048576) },
	});
}

addEventListener('fetch', (event) => event.respondWith(handle(event.request)));
