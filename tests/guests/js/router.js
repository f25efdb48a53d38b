// JS router: routes with :params matched against the path the app sees.
// Under Spin the component's path is in the spin-path-info header (the URL
// keeps the whole original path, route prefix included); without that header,
// as under `wasmtime serve`, the URL path is used.
//
//   GET  /                      200 text/plain "router"
//   GET  /users/:id             200 {"id": ":id"}
//   GET  /users/:id/posts/:post 200 {"id": ":id", "post": ":post"}
//   POST /users                 201 {"created": <JSON body>}
//   known path, other method    405 {"error": "method not allowed"}
//   anything else               404 {"error": "not found", "path": "..."}

const json = (status, value, extra = {}) => new Response(JSON.stringify(value) + '\n', {
	status,
	headers: { 'content-type': 'application/json', ...extra },
});

const routes = [
	['GET', '/', () => new Response('router', { headers: { 'content-type': 'text/plain' } })],
	['GET', '/users/:id', (p) => json(200, { id: p.id })],
	['GET', '/users/:id/posts/:post', (p) => json(200, { id: p.id, post: p.post })],
	['POST', '/users', async (p, req) => {
		let body;
		try {
			body = await req.json();
		} catch (e) {
			return json(400, { error: 'body is not JSON' });
		}
		return json(201, { created: body });
	}],
];

// match PATTERN PATH: the params of PATH under PATTERN, or null.
function match(pattern, path) {
	const want = pattern.split('/').filter(Boolean);
	const got = path.split('/').filter(Boolean);
	if (want.length !== got.length) return null;
	const params = {};
	for (let i = 0; i < want.length; i++) {
		if (want[i].startsWith(':')) params[want[i].slice(1)] = decodeURIComponent(got[i]);
		else if (want[i] !== got[i]) return null;
	}
	return params;
}

async function handle(req) {
	const path = req.headers.get('spin-path-info') ?? new URL(req.url).pathname;
	let known = false;
	for (const [method, pattern, fn] of routes) {
		const params = match(pattern, path);
		if (!params) continue;
		known = true;
		if (method === req.method) return fn(params, req);
	}
	if (known) return json(405, { error: 'method not allowed' });
	return json(404, { error: 'not found', path });
}

addEventListener('fetch', (event) => event.respondWith(handle(event.request)));
