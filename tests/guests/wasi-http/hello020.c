/* wasi:http hello against WASI 0.2.0 (world: guest020): exports
 * wasi:http/incoming-handler@0.2.0 and imports only @0.2.0 interfaces;
 * answers 200, content-type text/plain, "hello from wasi:http@0.2.0\n".
 * Plain calls to the bindings: http.h speaks 0.2.6. */
#include <string.h>

#include "guest020.h"

#define HTTP(name) wasi_http_0_2_0_types_##name

__attribute__((weak)) void __component_type_object_force_link_guest020(void)
{
}

void exports_wasi_http_0_2_0_incoming_handler_handle(HTTP(own_incoming_request_t) request,
                                                     HTTP(own_response_outparam_t) out)
{
	static const char body[] = "hello from wasi:http@0.2.0\n";
	HTTP(own_fields_t) headers = HTTP(constructor_fields)();
	HTTP(own_outgoing_response_t) resp;
	HTTP(own_outgoing_body_t) ob;
	HTTP(own_output_stream_t) os;
	HTTP(error_code_t) err;
	HTTP(header_error_t) herr;
	guest020_string_t name = {(uint8_t *)"content-type", 12};
	HTTP(field_value_t) value = {(uint8_t *)"text/plain", 10};
	guest020_list_u8_t bytes = {(uint8_t *)body, sizeof(body) - 1};
	wasi_io_0_2_0_streams_stream_error_t serr;

	HTTP(incoming_request_drop_own)(request);
	if (!HTTP(method_fields_append)(HTTP(borrow_fields)(headers), &name, &value, &herr))
		__builtin_trap();
	resp = HTTP(constructor_outgoing_response)(headers);
	if (!HTTP(method_outgoing_response_body)(HTTP(borrow_outgoing_response)(resp), &ob) ||
	    !HTTP(method_outgoing_body_write)(HTTP(borrow_outgoing_body)(ob), &os))
		__builtin_trap();
	HTTP(result_own_outgoing_response_error_code_t) res = {.is_err = false, .val.ok = resp};
	HTTP(static_response_outparam_set)(out, &res);
	/* 27 bytes: within blocking-write-and-flush's 4096-byte limit. */
	if (!wasi_io_0_2_0_streams_method_output_stream_blocking_write_and_flush(
	        wasi_io_0_2_0_streams_borrow_output_stream(os), &bytes, &serr))
		__builtin_trap();
	wasi_io_0_2_0_streams_output_stream_drop_own(os);
	if (!HTTP(static_outgoing_body_finish)(ob, NULL, &err))
		__builtin_trap();
}
