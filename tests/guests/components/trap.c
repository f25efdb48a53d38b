/* inbound-http trap: traps while handling the request; the runtime must
 * answer 500 and keep serving. */
#include "guest.h"

void exports_fermyon_spin_inbound_http_handle_request(request_t *req, response_t *ret)
{
	(void)req;
	(void)ret;
	__builtin_trap();
}
