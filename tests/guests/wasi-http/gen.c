/* wasi:http gen: answers 200 application/octet-stream with N bytes of a
 * fixed pattern (byte i is 'a' + i % 26), written while it is made, one
 * chunk at a time. Query parameters:
 *
 *   size=N      the number of bytes (required; at most 2^40)
 *   chunk=K     bytes per write, 1 to 65536 (default 65536)
 *   cl          also send content-length: N (default: none, so the runtime
 *               picks the framing)
 *
 * A missing or bad parameter gets 400. If the client goes away, the guest
 * stops writing and leaves the body unfinished. */
#include "http.h"

static uint8_t pattern[CHUNK + 26];

void HANDLE(own_request_t request, own_outparam_t out)
{
	char *path = request_path(HTTP(borrow_incoming_request)(request));
	char *size_s = query_param(path, "size"), *chunk_s = query_param(path, "chunk");
	char *cl = query_param(path, "cl"), len_s[24];
	uint64_t size, chunk = CHUNK, pos = 0;
	own_fields_t headers;
	struct body_out b;

	HTTP(incoming_request_drop_own)(request);
	if (!size_s || parse_u64(size_s, 1ull << 40, &size) < 0 ||
	    (chunk_s && (parse_u64(chunk_s, CHUNK, &chunk) < 0 || chunk == 0))) {
		respond_text(out, 400, "usage: ?size=N[&chunk=K][&cl] with N <= 2^40 and 1 <= K <= 65536\n");
		goto done;
	}
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)('a' + i % 26);
	headers = fields_of((const char *const[]){"content-type", "application/octet-stream", NULL});
	if (cl) {
		snprintf(len_s, sizeof(len_s), "%llu", (unsigned long long)size);
		fields_add(HTTP(borrow_fields)(headers), "content-length", len_s, strlen(len_s));
	}
	respond(out, 200, headers, &b);
	while (pos < size) {
		size_t n = size - pos < chunk ? (size_t)(size - pos) : (size_t)chunk;
		if (body_out_write(&b, pattern + pos % 26, n) < 0) {
			body_out_abandon(&b);
			goto done;
		}
		pos += n;
	}
	body_out_finish(&b, NULL);
done:
	free(path);
	free(size_s);
	free(chunk_s);
	free(cl);
}
