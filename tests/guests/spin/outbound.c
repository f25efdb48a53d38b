/* wasi:http outbound: GET /?url=URL fetches URL (http or https, GET, no
 * body) with wasi:http/outgoing-handler@0.2.6 and answers with the
 * upstream's status and content-type and its body, streamed through a chunk
 * at a time. When handle refuses the request or the response fails: 502
 * text/plain with the error-code case and a newline, e.g.
 * "HTTP-request-denied" for a host the app may not reach. A missing or
 * malformed URL: 400. */
#include "http.h"

#define OUTGOING(name) wasi_http_0_2_6_outgoing_handler_##name

/* request_for: a GET of URL as an outgoing-request, or a handle of -1 when
 * URL is not scheme://authority[/path][?query]. */
static HTTP(own_outgoing_request_t) request_for(const char *url)
{
	HTTP(own_outgoing_request_t) req = {.__handle = -1};
	const char *sep = strstr(url, "://"), *auth, *rest;
	HTTP(scheme_t) scheme;
	guest_string_t authority, path;
	char *pq;

	if (!sep || sep == url)
		return req;
	auth = sep + 3;
	rest = auth + strcspn(auth, "/?");
	if (rest == auth)
		return req;
	if ((size_t)(sep - url) == 4 && !strncmp(url, "http", 4))
		scheme.tag = WASI_HTTP_0_2_6_TYPES_SCHEME_HTTP;
	else if ((size_t)(sep - url) == 5 && !strncmp(url, "https", 5))
		scheme.tag = WASI_HTTP_0_2_6_TYPES_SCHEME_HTTPS;
	else
		scheme = (HTTP(scheme_t)){.tag = WASI_HTTP_0_2_6_TYPES_SCHEME_OTHER,
		                          .val.other = {(uint8_t *)url, (size_t)(sep - url)}};
	pq = xmalloc(strlen(rest) + 2);
	snprintf(pq, strlen(rest) + 2, "%s%s", *rest == '/' ? "" : "/", rest);
	authority = (guest_string_t){(uint8_t *)auth, (size_t)(rest - auth)};
	path = (guest_string_t){(uint8_t *)pq, strlen(pq)};

	req = HTTP(constructor_outgoing_request)(HTTP(constructor_fields)());
	HTTP(borrow_outgoing_request_t) rb = HTTP(borrow_outgoing_request)(req);
	if (!HTTP(method_outgoing_request_set_scheme)(rb, &scheme) ||
	    !HTTP(method_outgoing_request_set_authority)(rb, &authority) ||
	    !HTTP(method_outgoing_request_set_path_with_query)(rb, &path)) {
		HTTP(outgoing_request_drop_own)(req);
		req.__handle = -1;
	}
	free(pq);
	return req;
}

/* fetch: the upstream response to REQ (taken), or 0 with the error case in
 * *ERR. */
static int fetch(HTTP(own_outgoing_request_t) req, HTTP(own_incoming_response_t) * resp,
                 HTTP(error_code_t) * err)
{
	HTTP(own_future_incoming_response_t) future;
	HTTP(result_result_own_incoming_response_error_code_void_t) got;

	if (!OUTGOING(handle)(req, NULL, &future, err))
		return 0;
	HTTP(borrow_future_incoming_response_t) fb = HTTP(borrow_future_incoming_response)(future);
	HTTP(own_pollable_t) ready = HTTP(method_future_incoming_response_subscribe)(fb);
	POLL(method_pollable_block)(POLL(borrow_pollable)(ready));
	POLL(pollable_drop_own)(ready);
	if (!HTTP(method_future_incoming_response_get)(fb, &got) || got.is_err)
		die("future-incoming-response.get: not ready after its pollable was, or read twice");
	HTTP(future_incoming_response_drop_own)(future);
	if (got.val.ok.is_err) {
		*err = got.val.ok.val.err;
		return 0;
	}
	*resp = got.val.ok.val.ok;
	return 1;
}

/* relay answers OUT with RESP's status, content-type and body. */
static void relay(own_outparam_t out, HTTP(own_incoming_response_t) resp)
{
	HTTP(borrow_incoming_response_t) rb = HTTP(borrow_incoming_response)(resp);
	HTTP(own_headers_t) upstream = HTTP(method_incoming_response_headers)(rb);
	guest_string_t ct = {(uint8_t *)"content-type", 12};
	HTTP(list_field_value_t) values;
	own_fields_t headers = HTTP(constructor_fields)();
	struct body_in in;
	struct body_out b;
	guest_list_u8_t chunk;
	int r;

	HTTP(method_fields_get)(HTTP(borrow_fields)(upstream), &ct, &values);
	for (size_t i = 0; i < values.len; i++)
		fields_add(HTTP(borrow_fields)(headers), "content-type", values.ptr[i].ptr,
		           values.ptr[i].len);
	HTTP(list_field_value_free)(&values);
	HTTP(fields_drop_own)(upstream);
	if (!HTTP(method_incoming_response_consume)(rb, &in.body))
		die("incoming-response.consume failed");
	if (!HTTP(method_incoming_body_stream)(HTTP(borrow_incoming_body)(in.body), &in.stream))
		die("incoming-body.stream failed");
	respond(out, HTTP(method_incoming_response_status)(rb), headers, &b);
	while ((r = body_in_read(&in, CHUNK, &chunk)) > 0) {
		r = body_out_write(&b, chunk.ptr, chunk.len);
		guest_list_u8_free(&chunk);
		if (r < 0)
			break;
	}
	body_in_finish(&in, NULL);
	HTTP(incoming_response_drop_own)(resp);
	if (r < 0)
		body_out_abandon(&b);
	else
		body_out_finish(&b, NULL);
}

void HANDLE(own_request_t request, own_outparam_t out)
{
	char *path = request_path(HTTP(borrow_incoming_request)(request)), *url = query_param(path, "url");
	HTTP(own_outgoing_request_t) req = {.__handle = -1};
	HTTP(own_incoming_response_t) resp;
	HTTP(error_code_t) err;
	char text[96];

	HTTP(incoming_request_drop_own)(request);
	if (url)
		req = request_for(url);
	if (req.__handle < 0) {
		respond_text(out, 400, "usage: ?url=http://HOST[:PORT]/PATH (percent-encoded)\n");
	} else if (!fetch(req, &resp, &err)) {
		snprintf(text, sizeof(text), "%s\n", error_code_name(&err));
		HTTP(error_code_free)(&err);
		respond_text(out, 502, text);
	} else {
		relay(out, resp);
	}
	free(path);
	free(url);
}
