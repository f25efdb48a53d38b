/* inbound-http status:
 *   (default)            418, content-type text/plain, x-test: 1, a body
 *   uri with mode=empty  204 with headers and body both none */
#include "guest.h"

void exports_fermyon_spin_inbound_http_handle_request(request_t *req, response_t *ret)
{
	static const char *const headers[] = {"content-type", "text/plain", "x-test", "1", NULL};
	static const char empty[] = "mode=empty";
	struct buf body = {0};
	bool is_empty = false;

	for (size_t i = 0; i + sizeof(empty) - 1 <= req->uri.len; i++)
		if (!memcmp(req->uri.ptr + i, empty, sizeof(empty) - 1))
			is_empty = true;
	exports_fermyon_spin_inbound_http_request_free(req);
	if (is_empty) {
		respond(ret, 204, NULL, NULL);
		return;
	}
	buf_printf(&body, "I'm a teapot\n");
	respond(ret, 418, headers, &body);
}
