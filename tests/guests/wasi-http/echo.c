/* wasi:http echo: streams the request body back while it arrives, one
 * chunk (64 KiB at most) at a time, and reports the request head in response
 * headers:
 *
 *   x-method      GET, POST, ... or the name of any other method
 *   x-path        path-with-query as the runtime gave it
 *   x-authority   the authority, "(none)" when the request has none
 *   x-scheme      http, https, the name of another scheme, or "(none)"
 *   x-echo        each value of the request's x-echo header, in order
 *
 * With the query parameter "dump" (e.g. /echo/x?dump) it answers
 * text/plain instead, one item per line:
 *
 *   method NAME
 *   path-with-query PATH
 *   scheme SCHEME
 *   authority AUTHORITY
 *   header NAME: VALUE      for each request header, in the order given
 *   body-bytes N            the request body's length
 *   body-fnv1a64 HEX        FNV-1a 64 of it, 16 lowercase hex digits
 *
 * The guest never holds more than one chunk, so its memory stays flat for a
 * body of any size. */
#include "http.h"

static char *request_scheme(borrow_request_t req)
{
	HTTP(scheme_t) s;
	char *p;

	if (!HTTP(method_incoming_request_scheme)(req, &s))
		return xstrdup("(none)");
	switch (s.tag) {
	case WASI_HTTP_0_2_6_TYPES_SCHEME_HTTP:
		return xstrdup("http");
	case WASI_HTTP_0_2_6_TYPES_SCHEME_HTTPS:
		return xstrdup("https");
	default:
		p = xstrndup((const char *)s.val.other.ptr, s.val.other.len);
		HTTP(scheme_free)(&s);
		return p;
	}
}

static char *request_authority(borrow_request_t req)
{
	guest_string_t s;
	char *p;

	if (!HTTP(method_incoming_request_authority)(req, &s))
		return xstrdup("(none)");
	p = xstrndup((const char *)s.ptr, s.len);
	guest_string_free(&s);
	return p;
}

/* copy_header appends each value of request header NAME to OUT as AS. */
static void copy_header(borrow_request_t req, HTTP(borrow_fields_t) out, const char *name, const char *as)
{
	HTTP(own_headers_t) h = HTTP(method_incoming_request_headers)(req);
	guest_string_t n = {.ptr = (uint8_t *)name, .len = strlen(name)};
	HTTP(list_field_value_t) values;

	HTTP(method_fields_get)(HTTP(borrow_fields)(h), &n, &values);
	for (size_t i = 0; i < values.len; i++)
		fields_add(out, as, values.ptr[i].ptr, values.ptr[i].len);
	HTTP(list_field_value_free)(&values);
	HTTP(fields_drop_own)(h);
}

/* dump answers with the request head and the length and hash of its body. */
static void dump(borrow_request_t req, own_outparam_t out, const char *method, const char *path,
                 const char *scheme, const char *authority)
{
	static const char *const headers[] = {"content-type", "text/plain", NULL};
	HTTP(own_headers_t) h = HTTP(method_incoming_request_headers)(req);
	HTTP(list_tuple2_field_name_field_value_t) all;
	struct body_in in;
	struct body_out b;
	guest_list_u8_t chunk;
	uint64_t hash = FNV_INIT, len = 0;
	int r;

	body_in_open(req, &in);
	while ((r = body_in_read(&in, CHUNK, &chunk)) > 0) {
		hash = fnv1a(hash, chunk.ptr, chunk.len);
		len += chunk.len;
		guest_list_u8_free(&chunk);
	}
	body_in_finish(&in, NULL);
	if (r < 0) {
		respond_text(out, 400, "the request body broke off\n");
		HTTP(fields_drop_own)(h);
		return;
	}
	respond(out, 200, fields_of(headers), &b);
	body_out_printf(&b, "method %s\npath-with-query %s\nscheme %s\nauthority %s\n", method, path, scheme,
	                authority);
	HTTP(method_fields_entries)(HTTP(borrow_fields)(h), &all);
	for (size_t i = 0; i < all.len; i++)
		body_out_printf(&b, "header %.*s: %.*s\n", (int)all.ptr[i].f0.len,
		                (const char *)all.ptr[i].f0.ptr, (int)all.ptr[i].f1.len,
		                (const char *)all.ptr[i].f1.ptr);
	HTTP(list_tuple2_field_name_field_value_free)(&all);
	HTTP(fields_drop_own)(h);
	if (body_out_printf(&b, "body-bytes %llu\nbody-fnv1a64 %016llx\n", (unsigned long long)len,
	                    (unsigned long long)hash) < 0) {
		body_out_abandon(&b);
		return;
	}
	body_out_finish(&b, NULL);
}

void HANDLE(own_request_t request, own_outparam_t out)
{
	borrow_request_t req = HTTP(borrow_incoming_request)(request);
	char *method = request_method(req), *path = request_path(req);
	char *scheme = request_scheme(req), *authority = request_authority(req), *flag;

	if ((flag = query_param(path, "dump"))) {
		free(flag);
		dump(req, out, method, path, scheme, authority);
	} else {
		own_fields_t h = HTTP(constructor_fields)();
		HTTP(borrow_fields_t) hb = HTTP(borrow_fields)(h);
		struct body_in in;
		struct body_out b;
		guest_list_u8_t chunk;
		int r = 0;

		fields_add(hb, "x-method", method, strlen(method));
		fields_add(hb, "x-path", path, strlen(path));
		fields_add(hb, "x-authority", authority, strlen(authority));
		fields_add(hb, "x-scheme", scheme, strlen(scheme));
		copy_header(req, hb, "x-echo", "x-echo");
		body_in_open(req, &in);
		respond(out, 200, h, &b);
		while ((r = body_in_read(&in, CHUNK, &chunk)) > 0) {
			r = body_out_write(&b, chunk.ptr, chunk.len);
			guest_list_u8_free(&chunk);
			if (r < 0)
				break;
		}
		body_in_finish(&in, NULL);
		/* A body that broke off either way must not look complete. */
		if (r < 0)
			body_out_abandon(&b);
		else
			body_out_finish(&b, NULL);
	}
	free(method);
	free(path);
	free(scheme);
	free(authority);
	HTTP(incoming_request_drop_own)(request);
}
