/* Spin 1.x outbound HTTP: GET /?url=URL fetches URL with fermyon:spin/http
 * send-request (GET, no headers, no body) and answers with the upstream's
 * status and body (application/octet-stream; the interface hands the whole
 * body over at once). When send-request fails: 502 text/plain with the
 * http-error case and a newline, e.g. "destination-not-allowed". No URL:
 * 400. */
#include "http.h"

static const char *const http_errors[] = {
    [FERMYON_SPIN_HTTP_TYPES_HTTP_ERROR_SUCCESS] = "success",
    [FERMYON_SPIN_HTTP_TYPES_HTTP_ERROR_DESTINATION_NOT_ALLOWED] = "destination-not-allowed",
    [FERMYON_SPIN_HTTP_TYPES_HTTP_ERROR_INVALID_URL] = "invalid-url",
    [FERMYON_SPIN_HTTP_TYPES_HTTP_ERROR_REQUEST_ERROR] = "request-error",
    [FERMYON_SPIN_HTTP_TYPES_HTTP_ERROR_RUNTIME_ERROR] = "runtime-error",
    [FERMYON_SPIN_HTTP_TYPES_HTTP_ERROR_TOO_MANY_REQUESTS] = "too-many-requests",
};

void HANDLE(own_request_t request, own_outparam_t out)
{
	char *path = request_path(HTTP(borrow_incoming_request)(request)), *url = query_param(path, "url");
	fermyon_spin_http_types_request_t req = {.method = FERMYON_SPIN_HTTP_TYPES_METHOD_GET};
	fermyon_spin_http_types_response_t resp;
	fermyon_spin_http_http_error_t err;
	struct body_out b;
	char text[64];

	HTTP(incoming_request_drop_own)(request);
	if (!url) {
		respond_text(out, 400, "usage: ?url=http://HOST[:PORT]/PATH (percent-encoded)\n");
	} else {
		req.uri = (guest_string_t){(uint8_t *)url, strlen(url)};
		if (!fermyon_spin_http_send_request(&req, &resp, &err)) {
			snprintf(text, sizeof(text), "%s\n",
			         err < sizeof(http_errors) / sizeof(*http_errors) ? http_errors[err] : "?");
			respond_text(out, 502, text);
		} else {
			respond(out, resp.status,
			        fields_of(
			            (const char *const[]){"content-type", "application/octet-stream", NULL}),
			        &b);
			if (resp.body.is_some && body_out_write(&b, resp.body.val.ptr, resp.body.val.len) < 0)
				body_out_abandon(&b);
			else
				body_out_finish(&b, NULL);
			fermyon_spin_http_types_response_free(&resp);
		}
	}
	free(path);
	free(url);
}
