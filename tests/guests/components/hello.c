/* inbound-http hello: 200, text/plain, "hello from component". */
#include "guest.h"

void exports_fermyon_spin_inbound_http_handle_request(request_t *req, response_t *ret)
{
	static const char *const headers[] = {"content-type", "text/plain", NULL};
	struct buf body = {0};

	buf_printf(&body, "hello from component");
	exports_fermyon_spin_inbound_http_request_free(req);
	respond(ret, 200, headers, &body);
}
