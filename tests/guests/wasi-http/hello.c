/* wasi:http hello: 200, content-type text/plain, "hello from wasi:http\n".
 * The smallest handler there is: it never looks at the request and calls
 * the bindings directly, with no helper that could reach wasi-libc's I/O, so
 * that the component needs no WASI preview 1 adapter and imports exactly
 * wasi:http/types@0.2.6 and wasi:io@0.2.6 (the other guests, built with the
 * adapter, import wasi:io at 0.2.12). */
#include "http.h"

void HANDLE(own_request_t request, own_outparam_t out)
{
	static const char body[] = "hello from wasi:http\n";
	own_fields_t headers = HTTP(constructor_fields)();
	guest_string_t name = {(uint8_t *)"content-type", 12};
	HTTP(field_value_t) value = {(uint8_t *)"text/plain", 10};
	guest_list_u8_t bytes = {(uint8_t *)body, sizeof(body) - 1};
	HTTP(header_error_t) herr;
	HTTP(error_code_t) err;
	STREAMS(stream_error_t) serr;
	HTTP(own_outgoing_response_t) resp;
	struct body_out b;

	HTTP(incoming_request_drop_own)(request);
	if (!HTTP(method_fields_append)(HTTP(borrow_fields)(headers), &name, &value, &herr))
		__builtin_trap();
	resp = HTTP(constructor_outgoing_response)(headers);
	if (!HTTP(method_outgoing_response_body)(HTTP(borrow_outgoing_response)(resp), &b.body) ||
	    !HTTP(method_outgoing_body_write)(HTTP(borrow_outgoing_body)(b.body), &b.stream))
		__builtin_trap();
	HTTP(result_own_outgoing_response_error_code_t) res = {.is_err = false, .val.ok = resp};
	HTTP(static_response_outparam_set)(out, &res);
	/* 21 bytes: within blocking-write-and-flush's 4096-byte limit. */
	if (!STREAMS(method_output_stream_blocking_write_and_flush)(STREAMS(borrow_output_stream)(b.stream),
	                                                            &bytes, &serr))
		__builtin_trap();
	STREAMS(output_stream_drop_own)(b.stream);
	if (!HTTP(static_outgoing_body_finish)(b.body, NULL, &err))
		__builtin_trap();
}
