// JS hello: 200, text/plain, "hello from js". Built by tests/guests/build-js
// with j2w (ComponentizeJS); the fetch event becomes an export of
// wasi:http/incoming-handler.
addEventListener('fetch', (event) => {
	event.respondWith(new Response('hello from js', {
		status: 200,
		headers: { 'content-type': 'text/plain' },
	}));
});
