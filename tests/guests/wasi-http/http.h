/* What the wasi:http test guests share (tests/guests/wasi-http and
 * tests/guests/spin): short names for the wasi:http@0.2.6 bindings that
 * wit-bindgen c makes from a world called "guest", and the steps every
 * handler takes: read a request body in chunks, start a response, stream its
 * body, finish it with or without trailers. Header-only, so that each guest
 * stays one file.
 *
 * Ownership is the component model's: an own handle is dropped exactly once,
 * here or by the call it is passed to; a list the host returns is malloc'd by
 * the bindings and freed by the guest. A guest cannot report a broken host
 * interface to anyone but the log, so what the tests never expect (fields
 * refused, a body taken twice) writes one line to stderr and traps. */
#ifndef GUESTS_HTTP_H
#define GUESTS_HTTP_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest.h"

/* tests/guests/build puts the component type in with wasm-tools component
 * embed rather than linking the object file wit-bindgen can write; the
 * bindings still name the symbol that object defines, to force it in. */
__attribute__((weak)) void __component_type_object_force_link_guest(void)
{
}

/* The bindings name everything after package, version and interface. */
#define HTTP(name)    wasi_http_0_2_6_types_##name
#define STREAMS(name) wasi_io_0_2_6_streams_##name
#define POLL(name)    wasi_io_0_2_6_poll_##name
#define HANDLE        exports_wasi_http_0_2_6_incoming_handler_handle

typedef HTTP(own_incoming_request_t) own_request_t;
typedef HTTP(borrow_incoming_request_t) borrow_request_t;
typedef HTTP(own_response_outparam_t) own_outparam_t;
typedef HTTP(own_fields_t) own_fields_t;

/* Chunk size for request and response bodies: what the guests read and
 * write at a time, so that no guest ever holds a whole body. */
#define CHUNK (64 * 1024)

#define FNV_INIT 14695981039346656037ull

static inline uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* log_line writes one formatted line (at most 1 KiB) to the guest's stderr
 * with wasi:cli/stderr; the runtime logs it with the component id. */
__attribute__((format(printf, 1, 2))) static inline void log_line(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	STREAMS(own_output_stream_t) err = wasi_cli_0_2_6_stderr_get_stderr();
	guest_list_u8_t l = {.ptr = (uint8_t *)line, .len = (size_t)n};
	STREAMS(stream_error_t) e;
	if (!STREAMS(method_output_stream_blocking_write_and_flush)(STREAMS(borrow_output_stream)(err), &l,
	                                                            &e) &&
	    e.tag == WASI_IO_0_2_6_STREAMS_STREAM_ERROR_LAST_OPERATION_FAILED)
		wasi_io_0_2_6_error_error_drop_own(e.val.last_operation_failed);
	STREAMS(output_stream_drop_own)(err);
}

/* die logs WHAT and traps: the runtime answers 500 (or cuts the body short). */
#define die(...)                                                                                             \
	do {                                                                                                 \
		log_line(__VA_ARGS__);                                                                       \
		__builtin_trap();                                                                            \
	} while (0)

static inline void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		die("out of memory (%zu bytes)", n);
	return p;
}

static inline char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	if (!p)
		die("out of memory (%zu bytes)", n);
	return p;
}

static inline char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

/* stream_error_drop releases what a failed stream operation returned. */
static inline void stream_error_drop(STREAMS(stream_error_t) * e)
{
	if (e->tag == WASI_IO_0_2_6_STREAMS_STREAM_ERROR_LAST_OPERATION_FAILED)
		wasi_io_0_2_6_error_error_drop_own(e->val.last_operation_failed);
}

/* ---- names of things, for headers and reports ---- */

static const char *const method_names[] = {
    [WASI_HTTP_0_2_6_TYPES_METHOD_GET] = "GET",         [WASI_HTTP_0_2_6_TYPES_METHOD_HEAD] = "HEAD",
    [WASI_HTTP_0_2_6_TYPES_METHOD_POST] = "POST",       [WASI_HTTP_0_2_6_TYPES_METHOD_PUT] = "PUT",
    [WASI_HTTP_0_2_6_TYPES_METHOD_DELETE] = "DELETE",   [WASI_HTTP_0_2_6_TYPES_METHOD_CONNECT] = "CONNECT",
    [WASI_HTTP_0_2_6_TYPES_METHOD_OPTIONS] = "OPTIONS", [WASI_HTTP_0_2_6_TYPES_METHOD_TRACE] = "TRACE",
    [WASI_HTTP_0_2_6_TYPES_METHOD_PATCH] = "PATCH",
};

/* request_method: the method as a malloc'd string, e.g. "GET" or "PROPFIND". */
static inline char *request_method(borrow_request_t req)
{
	HTTP(method_t) m;
	char *s;

	HTTP(method_incoming_request_method)(req, &m);
	if (m.tag == WASI_HTTP_0_2_6_TYPES_METHOD_OTHER) {
		s = xstrndup((const char *)m.val.other.ptr, m.val.other.len);
		HTTP(method_free)(&m);
		return s;
	}
	return xstrdup(m.tag < sizeof(method_names) / sizeof(*method_names) ? method_names[m.tag] : "?");
}

/* The cases of wasi:http/types.error-code, spelled as in the WIT. */
#define EC(name) WASI_HTTP_0_2_6_TYPES_ERROR_CODE_##name
static const char *const error_code_names[] = {
    [EC(DNS_TIMEOUT)] = "DNS-timeout",
    [EC(DNS_ERROR)] = "DNS-error",
    [EC(DESTINATION_NOT_FOUND)] = "destination-not-found",
    [EC(DESTINATION_UNAVAILABLE)] = "destination-unavailable",
    [EC(DESTINATION_IP_PROHIBITED)] = "destination-IP-prohibited",
    [EC(DESTINATION_IP_UNROUTABLE)] = "destination-IP-unroutable",
    [EC(CONNECTION_REFUSED)] = "connection-refused",
    [EC(CONNECTION_TERMINATED)] = "connection-terminated",
    [EC(CONNECTION_TIMEOUT)] = "connection-timeout",
    [EC(CONNECTION_READ_TIMEOUT)] = "connection-read-timeout",
    [EC(CONNECTION_WRITE_TIMEOUT)] = "connection-write-timeout",
    [EC(CONNECTION_LIMIT_REACHED)] = "connection-limit-reached",
    [EC(TLS_PROTOCOL_ERROR)] = "TLS-protocol-error",
    [EC(TLS_CERTIFICATE_ERROR)] = "TLS-certificate-error",
    [EC(TLS_ALERT_RECEIVED)] = "TLS-alert-received",
    [EC(HTTP_REQUEST_DENIED)] = "HTTP-request-denied",
    [EC(HTTP_REQUEST_LENGTH_REQUIRED)] = "HTTP-request-length-required",
    [EC(HTTP_REQUEST_BODY_SIZE)] = "HTTP-request-body-size",
    [EC(HTTP_REQUEST_METHOD_INVALID)] = "HTTP-request-method-invalid",
    [EC(HTTP_REQUEST_URI_INVALID)] = "HTTP-request-URI-invalid",
    [EC(HTTP_REQUEST_URI_TOO_LONG)] = "HTTP-request-URI-too-long",
    [EC(HTTP_REQUEST_HEADER_SECTION_SIZE)] = "HTTP-request-header-section-size",
    [EC(HTTP_REQUEST_HEADER_SIZE)] = "HTTP-request-header-size",
    [EC(HTTP_REQUEST_TRAILER_SECTION_SIZE)] = "HTTP-request-trailer-section-size",
    [EC(HTTP_REQUEST_TRAILER_SIZE)] = "HTTP-request-trailer-size",
    [EC(HTTP_RESPONSE_INCOMPLETE)] = "HTTP-response-incomplete",
    [EC(HTTP_RESPONSE_HEADER_SECTION_SIZE)] = "HTTP-response-header-section-size",
    [EC(HTTP_RESPONSE_HEADER_SIZE)] = "HTTP-response-header-size",
    [EC(HTTP_RESPONSE_BODY_SIZE)] = "HTTP-response-body-size",
    [EC(HTTP_RESPONSE_TRAILER_SECTION_SIZE)] = "HTTP-response-trailer-section-size",
    [EC(HTTP_RESPONSE_TRAILER_SIZE)] = "HTTP-response-trailer-size",
    [EC(HTTP_RESPONSE_TRANSFER_CODING)] = "HTTP-response-transfer-coding",
    [EC(HTTP_RESPONSE_CONTENT_CODING)] = "HTTP-response-content-coding",
    [EC(HTTP_RESPONSE_TIMEOUT)] = "HTTP-response-timeout",
    [EC(HTTP_UPGRADE_FAILED)] = "HTTP-upgrade-failed",
    [EC(HTTP_PROTOCOL_ERROR)] = "HTTP-protocol-error",
    [EC(LOOP_DETECTED)] = "loop-detected",
    [EC(CONFIGURATION_ERROR)] = "configuration-error",
    [EC(INTERNAL_ERROR)] = "internal-error",
};
#undef EC

static inline const char *error_code_name(const HTTP(error_code_t) * e)
{
	if (e->tag < sizeof(error_code_names) / sizeof(*error_code_names) && error_code_names[e->tag])
		return error_code_names[e->tag];
	return "unknown-error-code";
}

/* ---- the request ---- */

/* request_path: path-with-query as a malloc'd string ("" when the request
 * has none). */
static inline char *request_path(borrow_request_t req)
{
	guest_string_t s;
	char *p;

	if (!HTTP(method_incoming_request_path_with_query)(req, &s))
		return xstrdup("");
	p = xstrndup((const char *)s.ptr, s.len);
	guest_string_free(&s);
	return p;
}

static inline int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* query_param: the value of NAME in the query of PATH (a path-with-query),
 * percent-decoded and with '+' as a space, as a malloc'd string; "" for a
 * bare "NAME"; NULL when NAME is not there. The first occurrence wins. */
static inline char *query_param(const char *path, const char *name)
{
	const char *q = strchr(path, '?');
	size_t nl = strlen(name);

	while (q) {
		const char *item = q + 1, *end = strchr(item, '&');
		size_t len = end ? (size_t)(end - item) : strlen(item);
		q = end;
		if (len < nl || strncmp(item, name, nl) != 0 || (len > nl && item[nl] != '='))
			continue;
		const char *v = len > nl ? item + nl + 1 : item + len;
		size_t vl = (size_t)(item + len - v), o = 0;
		char *out = xmalloc(vl + 1);
		for (size_t i = 0; i < vl; i++) {
			if (v[i] == '%' && i + 2 < vl && hexval(v[i + 1]) >= 0 && hexval(v[i + 2]) >= 0) {
				out[o++] = (char)(hexval(v[i + 1]) * 16 + hexval(v[i + 2]));
				i += 2;
			} else {
				out[o++] = v[i] == '+' ? ' ' : v[i];
			}
		}
		out[o] = '\0';
		return out;
	}
	return NULL;
}

/* parse_u64: S as a decimal number of at most MAX into *OUT; -1 when S is
 * empty, has anything but digits or is larger. */
static inline int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/* A request body being read: the body resource and its stream (a child of
 * the body: dropped first). */
struct body_in {
	HTTP(own_incoming_body_t) body;
	STREAMS(own_input_stream_t) stream;
};

/* body_in_open takes REQ's body; a second call on the same request traps. */
static inline void body_in_open(borrow_request_t req, struct body_in *in)
{
	if (!HTTP(method_incoming_request_consume)(req, &in->body))
		die("incoming-request.consume failed");
	if (!HTTP(method_incoming_body_stream)(HTTP(borrow_incoming_body)(in->body), &in->stream))
		die("incoming-body.stream failed");
}

/* body_in_read fills CHUNK (freed by the caller with guest_list_u8_free)
 * with 1 to MAX bytes, waiting for at least one. Returns 1 with data, 0 at the
 * end of the body, -1 when the body broke off (the client went away, or sent
 * less than it announced). */
static inline int body_in_read(struct body_in *in, size_t max, guest_list_u8_t *chunk)
{
	STREAMS(stream_error_t) e;

	for (;;) {
		if (!STREAMS(method_input_stream_blocking_read)(STREAMS(borrow_input_stream)(in->stream), max,
		                                                chunk, &e)) {
			int closed = e.tag == WASI_IO_0_2_6_STREAMS_STREAM_ERROR_CLOSED;
			stream_error_drop(&e);
			return closed ? 0 : -1;
		}
		if (chunk->len)
			return 1;
		guest_list_u8_free(chunk);
	}
}

/* body_in_finish ends reading: drops the stream, finishes the body and
 * returns the future of its trailers in *TRAILERS, or drops it when TRAILERS
 * is NULL. */
static inline void body_in_finish(struct body_in *in, HTTP(own_future_trailers_t) * trailers)
{
	STREAMS(input_stream_drop_own)(in->stream);
	HTTP(own_future_trailers_t) f = HTTP(static_incoming_body_finish)(in->body);
	if (trailers)
		*trailers = f;
	else
		HTTP(future_trailers_drop_own)(f);
}

/* ---- the response ---- */

/* fields_add appends NAME: VALUE (LEN bytes) to F; traps when refused. */
static inline void fields_add(HTTP(borrow_fields_t) f, const char *name, const void *value, size_t len)
{
	guest_string_t n = {.ptr = (uint8_t *)name, .len = strlen(name)};
	HTTP(field_value_t) v = {.ptr = (uint8_t *)value, .len = len};
	HTTP(header_error_t) e;

	if (!HTTP(method_fields_append)(f, &n, &v, &e))
		die("fields.append %s refused (header-error %d)", name, (int)e.tag);
}

/* fields_of: new fields holding the NAME, VALUE, ..., NULL strings of KV
 * (none when KV is NULL). */
static inline own_fields_t fields_of(const char *const *kv)
{
	own_fields_t f = HTTP(constructor_fields)();

	for (size_t i = 0; kv && kv[i]; i += 2)
		fields_add(HTTP(borrow_fields)(f), kv[i], kv[i + 1], strlen(kv[i + 1]));
	return f;
}

/* A response body being written: the body resource and its stream (a
 * child of the body: dropped first). */
struct body_out {
	HTTP(own_outgoing_body_t) body;
	STREAMS(own_output_stream_t) stream;
};

/* respond answers OUT with STATUS and HEADERS (both taken) and hands back
 * the response body in *BODY, to be written and then finished (or
 * abandoned). The runtime sends the head once this returns. */
static inline void respond(own_outparam_t out, uint16_t status, own_fields_t headers, struct body_out *body)
{
	HTTP(own_outgoing_response_t) r = HTTP(constructor_outgoing_response)(headers);
	HTTP(borrow_outgoing_response_t) rb = HTTP(borrow_outgoing_response)(r);

	if (!HTTP(method_outgoing_response_set_status_code)(rb, status))
		die("outgoing-response.set-status-code %u refused", status);
	if (!HTTP(method_outgoing_response_body)(rb, &body->body))
		die("outgoing-response.body failed");
	if (!HTTP(method_outgoing_body_write)(HTTP(borrow_outgoing_body)(body->body), &body->stream))
		die("outgoing-body.write failed");
	HTTP(result_own_outgoing_response_error_code_t) res = {.is_err = false, .val.ok = r};
	HTTP(static_response_outparam_set)(out, &res);
}

/* body_out_write writes all N bytes of DATA as fast as the runtime takes
 * them (check-write, write, and a wait when it has no room), then flushes, so
 * that the bytes are on their way before the guest goes on. Returns 0, or -1
 * when the stream is closed (the client went away). */
static inline int body_out_write(struct body_out *b, const void *data, size_t n)
{
	STREAMS(borrow_output_stream_t) s = STREAMS(borrow_output_stream)(b->stream);
	STREAMS(stream_error_t) e;
	const uint8_t *p = data;

	while (n > 0) {
		uint64_t permit;
		if (!STREAMS(method_output_stream_check_write)(s, &permit, &e))
			goto failed;
		if (permit == 0) {
			STREAMS(own_pollable_t) ready = STREAMS(method_output_stream_subscribe)(s);
			POLL(method_pollable_block)(POLL(borrow_pollable)(ready));
			POLL(pollable_drop_own)(ready);
			continue;
		}
		guest_list_u8_t l = {.ptr = (uint8_t *)p, .len = n < permit ? n : (size_t)permit};
		if (!STREAMS(method_output_stream_write)(s, &l, &e))
			goto failed;
		p += l.len;
		n -= l.len;
	}
	if (!STREAMS(method_output_stream_blocking_flush)(s, &e))
		goto failed;
	return 0;
failed:
	stream_error_drop(&e);
	return -1;
}

__attribute__((format(printf, 2, 3))) static inline int body_out_printf(struct body_out *b, const char *fmt,
                                                                        ...)
{
	char small[512], *big = NULL;
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		die("body_out_printf: bad format");
	if ((size_t)n >= sizeof(small)) {
		big = xmalloc((size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	rc = body_out_write(b, big ? big : small, (size_t)n);
	free(big);
	return rc;
}

/* body_out_finish ends the body: drops the stream, then finishes the body
 * with TRAILERS (taken) when not NULL. */
static inline void body_out_finish(struct body_out *b, own_fields_t *trailers)
{
	HTTP(error_code_t) e;

	STREAMS(output_stream_drop_own)(b->stream);
	if (!HTTP(static_outgoing_body_finish)(b->body, trailers, &e))
		die("outgoing-body.finish: %s", error_code_name(&e));
}

/* body_out_abandon drops the body without finishing it: the runtime must
 * treat the response as broken (no clean end of the body). */
static inline void body_out_abandon(struct body_out *b)
{
	STREAMS(output_stream_drop_own)(b->stream);
	HTTP(outgoing_body_drop_own)(b->body);
}

/* respond_text answers OUT with STATUS, content-type text/plain and TEXT. */
static inline void respond_text(own_outparam_t out, uint16_t status, const char *text)
{
	static const char *const headers[] = {"content-type", "text/plain", NULL};
	struct body_out b;

	respond(out, status, fields_of(headers), &b);
	if (body_out_write(&b, text, strlen(text)) < 0) {
		body_out_abandon(&b);
		return;
	}
	body_out_finish(&b, NULL);
}

#endif
