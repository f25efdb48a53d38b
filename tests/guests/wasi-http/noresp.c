/* wasi:http noresp: returns from handle without ever setting the
 * response-outparam, which the runtime must answer with a 500 and a log
 * line. By default the outparam is left alone (the runtime finds it unset
 * when the call returns); with the query parameter "drop" the guest drops it
 * first (the runtime sees the drop). */
#include "http.h"

void HANDLE(own_request_t request, own_outparam_t out)
{
	char *path = request_path(HTTP(borrow_incoming_request)(request));
	char *drop = query_param(path, "drop");

	if (drop)
		HTTP(response_outparam_drop_own)(out);
	free(drop);
	free(path);
	HTTP(incoming_request_drop_own)(request);
}
