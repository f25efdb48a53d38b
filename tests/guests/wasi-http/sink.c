/* wasi:http sink: reads the whole request body, one chunk (64 KiB at most)
 * at a time, and answers 200 text/plain with its length and hash:
 *
 *   body-bytes N
 *   body-fnv1a64 HEX        FNV-1a 64, 16 lowercase hex digits
 *
 * A body that breaks off gets 400. Memory stays flat for any body size. */
#include "http.h"

void HANDLE(own_request_t request, own_outparam_t out)
{
	struct body_in in;
	guest_list_u8_t chunk;
	uint64_t hash = FNV_INIT, len = 0;
	char text[96];
	int r;

	body_in_open(HTTP(borrow_incoming_request)(request), &in);
	while ((r = body_in_read(&in, CHUNK, &chunk)) > 0) {
		hash = fnv1a(hash, chunk.ptr, chunk.len);
		len += chunk.len;
		guest_list_u8_free(&chunk);
	}
	body_in_finish(&in, NULL);
	HTTP(incoming_request_drop_own)(request);
	if (r < 0) {
		respond_text(out, 400, "the request body broke off\n");
		return;
	}
	snprintf(text, sizeof(text), "body-bytes %llu\nbody-fnv1a64 %016llx\n", (unsigned long long)len,
	         (unsigned long long)hash);
	respond_text(out, 200, text);
}
