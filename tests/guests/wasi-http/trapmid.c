/* wasi:http trapmid: answers 200 application/octet-stream, writes 1 MiB of
 * body (16 flushed chunks of 64 KiB, the same pattern as gen: byte i is
 * 'a' + i % 26), logs "trapmid: trapping after 1048576 bytes" to stderr and
 * traps. With the query parameter "cl" the response also announces
 * content-length: 2097152, which it never reaches. Either way the client
 * should see the body cut short (no clean end of it) and never more than
 * 1 MiB. */
#include "http.h"

#define TOTAL (1024 * 1024)

static uint8_t pattern[CHUNK + 26];

void HANDLE(own_request_t request, own_outparam_t out)
{
	char *path = request_path(HTTP(borrow_incoming_request)(request)), *cl = query_param(path, "cl");
	own_fields_t headers =
	    fields_of((const char *const[]){"content-type", "application/octet-stream", NULL});
	struct body_out b;

	HTTP(incoming_request_drop_own)(request);
	if (cl)
		fields_add(HTTP(borrow_fields)(headers), "content-length", "2097152", 7);
	free(cl);
	free(path);
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)('a' + i % 26);
	respond(out, 200, headers, &b);
	for (size_t pos = 0; pos < TOTAL; pos += CHUNK)
		if (body_out_write(&b, pattern + pos % 26, CHUNK) < 0)
			break;
	log_line("trapmid: trapping after %d bytes", TOTAL);
	__builtin_trap();
}
