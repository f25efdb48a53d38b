// JS fetch: an outbound request through wasi:http/outgoing-handler.
//
//   GET ?url=U[&method=M]  fetches U (the request body, if any, goes along)
//                          and answers 200 application/json
//                          {"url": U, "status": S, "content_type": ..., "body": "..."}
//                          with the upstream's status also in x-upstream-status
//   no url                 400
//   fetch fails            502 {"url": U, "error": "..."}
// Under Spin the host must be in the component's allowed_outbound_hosts.

async function handle(req) {
	const q = new URL(req.url).searchParams;
	const url = q.get('url');
	if (!url) {
		return new Response('missing ?url=\n', { status: 400, headers: { 'content-type': 'text/plain' } });
	}
	const method = (q.get('method') ?? 'GET').toUpperCase();
	const init = { method };
	if (method !== 'GET' && method !== 'HEAD') init.body = await req.arrayBuffer();
	let resp, body;
	try {
		resp = await fetch(url, init);
		body = await resp.text();
	} catch (e) {
		return new Response(JSON.stringify({ url, error: String(e) }) + '\n', {
			status: 502,
			headers: { 'content-type': 'application/json' },
		});
	}
	return new Response(JSON.stringify({
		url,
		status: resp.status,
		content_type: resp.headers.get('content-type'),
		body,
	}) + '\n', {
		status: 200,
		headers: { 'content-type': 'application/json', 'x-upstream-status': String(resp.status) },
	});
}

addEventListener('fetch', (event) => event.respondWith(handle(event.request)));
