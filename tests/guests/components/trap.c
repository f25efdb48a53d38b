/* inbound-http trap: traps while handling the request; the runtime must
 * answer 500 and keep serving. */
#include <stdio.h>

#include "guest.h"

void exports_fermyon_spin_inbound_http_handle_request(request_t *req, response_t *ret)
{
	(void)req;
	(void)ret;
	fputs("component trap: to stdout\n", stdout);
	fflush(stdout);
	fputs("component trap: to stderr\n", stderr);
	__builtin_trap();
}
