/* Building and serialising responses: the handler-facing functions of
 * server.h and the status line + framing headers the server adds. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "shim-bridge/http/server-int.h"
#include "shim-bridge/http/stream.h"
#include "common/http-field.h"

#define KEEP_ALLOC_MAX (256u * 1024) /* larger buffers are freed between requests */

static const struct {
	int status;
	const char *phrase;
} reasons[] = {
	{ 100, "Continue" },
	{ 101, "Switching Protocols" },
	{ 200, "OK" },
	{ 201, "Created" },
	{ 202, "Accepted" },
	{ 203, "Non-Authoritative Information" },
	{ 204, "No Content" },
	{ 205, "Reset Content" },
	{ 206, "Partial Content" },
	{ 300, "Multiple Choices" },
	{ 301, "Moved Permanently" },
	{ 302, "Found" },
	{ 303, "See Other" },
	{ 304, "Not Modified" },
	{ 307, "Temporary Redirect" },
	{ 308, "Permanent Redirect" },
	{ 400, "Bad Request" },
	{ 401, "Unauthorized" },
	{ 403, "Forbidden" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 406, "Not Acceptable" },
	{ 408, "Request Timeout" },
	{ 409, "Conflict" },
	{ 410, "Gone" },
	{ 411, "Length Required" },
	{ 412, "Precondition Failed" },
	{ 413, "Content Too Large" },
	{ 414, "URI Too Long" },
	{ 415, "Unsupported Media Type" },
	{ 416, "Range Not Satisfiable" },
	{ 417, "Expectation Failed" },
	{ 418, "I'm a teapot" },
	{ 421, "Misdirected Request" },
	{ 422, "Unprocessable Content" },
	{ 426, "Upgrade Required" },
	{ 429, "Too Many Requests" },
	{ 431, "Request Header Fields Too Large" },
	{ 500, "Internal Server Error" },
	{ 501, "Not Implemented" },
	{ 502, "Bad Gateway" },
	{ 503, "Service Unavailable" },
	{ 504, "Gateway Timeout" },
	{ 505, "HTTP Version Not Supported" },
};

const char *http_reason_phrase(int status)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].phrase;
	/* RFC 9112: the reason phrase may be empty; clients ignore it. */
	return "";
}

void response_init(struct http_response *r, size_t max_body)
{
	memset(r, 0, sizeof(*r));
	r->head_ = sk_buf_make(RESP_MAX_HEAD);
	r->body_ = sk_buf_make(max_body);
	r->stream_.trailers = sk_buf_make(RESP_MAX_HEAD);
	r->status = 200;
}

/* Ready for the next request: status 200, nothing set. Buffers that grew
 * large for one response are released so idle connections stay small. */
void response_reset(struct http_response *r)
{
	if (r->body_.cap > KEEP_ALLOC_MAX)
		sk_buf_free(&r->body_);
	if (r->head_.cap > KEEP_ALLOC_MAX)
		sk_buf_free(&r->head_);
	sk_buf_reset(&r->head_);
	sk_buf_reset(&r->body_);
	r->status = 200;
	r->server_error = false;
	r->n_headers_ = 0;
	r->has_date_ = false;
	struct sk_buf trailers = r->stream_.trailers;
	sk_buf_reset(&trailers);
	r->stream_ = (struct http_stream_){ .trailers = trailers };
}

void response_free(struct http_response *r)
{
	sk_buf_free(&r->head_);
	sk_buf_free(&r->body_);
	sk_buf_free(&r->stream_.trailers);
}

void http_response_clear(struct http_response *r)
{
	sk_buf_reset(&r->head_);
	sk_buf_reset(&r->body_);
	r->n_headers_ = 0;
	r->has_date_ = false;
	if (!r->stream_.started) {
		sk_buf_reset(&r->stream_.trailers);
		r->stream_.n_trailers = 0;
	}
}

/* Append the field line "name: value\r\n" to b and count it in *n.
 * Returns 1 when added, 0 for a server-owned name (skipped), -EINVAL,
 * -E2BIG past the caps. */
int response_field(struct sk_buf *b, unsigned *n, const char *name, const char *value)
{
	if (!sk_http_token(name, strlen(name)) || !sk_http_value_ok(value, strlen(value)))
		return -EINVAL;
	if (sk_http_owned(name, strlen(name)) & (SK_HTTP_HOP_BY_HOP | SK_HTTP_FRAMING))
		return 0;
	if (*n >= RESP_MAX_HEADERS)
		return -E2BIG;
	size_t nl = strlen(name), vl = strlen(value), old = b->len;
	int e = sk_buf_append(b, name, nl);
	if (!e)
		e = sk_buf_append(b, ": ", 2);
	if (!e)
		e = sk_buf_append(b, value, vl);
	if (!e)
		e = sk_buf_append(b, "\r\n", 2);
	if (e) {
		b->len = old;
		return e;
	}
	(*n)++;
	return 1;
}

int http_response_add_header(struct http_response *r, const char *name, const char *value)
{
	if (r->stream_.started)
		return -EALREADY;
	int e = response_field(&r->head_, &r->n_headers_, name, value);
	if (e > 0 && strcasecmp(name, "date") == 0)
		r->has_date_ = true;
	return e < 0 ? e : 0;
}

int http_response_append(struct http_response *r, const void *data, size_t len)
{
	if (r->stream_.started)
		return -EALREADY;
	return sk_buf_append(&r->body_, data, len);
}

/* A server-made response: status, text/plain body of text + "\n". */
int response_simple(struct http_response *r, int status, const char *text)
{
	response_reset(r);
	r->status = status;
	int e = http_response_add_header(r, "Content-Type", "text/plain; charset=utf-8");
	if (!e)
		e = http_response_append(r, text, strlen(text));
	if (!e)
		e = http_response_append(r, "\n", 1);
	return e;
}

/* Append printf output to b. */
__attribute__((format(printf, 2, 3))) static int buf_printf(struct sk_buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -EINVAL;
	return sk_buf_append(b, tmp, (size_t)n);
}

/* Append the response head (status line, Date, Server, the handler's
 * headers, the framing header, Connection, blank line) to out. framing says
 * which framing header: Content-Length: length, Transfer-Encoding: chunked,
 * or none (204/304, close-delimited, HEAD without a known length). A status
 * outside 200..599 becomes 500. */
int response_head(struct sk_buf *out, struct http_response *r, const struct response_meta *m,
		  enum response_framing framing, uint64_t length)
{
	int e;

	if (r->status < 200 || r->status > 599) {
		r->status = 500;
		r->server_error = true;
	}
	e = buf_printf(out, "HTTP/1.1 %d %s\r\n", r->status, http_reason_phrase(r->status));
	if (!e && !r->has_date_ && m->date)
		e = buf_printf(out, "Date: %s\r\n", m->date);
	if (!e && m->server_name)
		e = buf_printf(out, "Server: %s\r\n", m->server_name);
	if (!e && r->head_.len)
		e = sk_buf_append(out, r->head_.data, r->head_.len);
	if (!e && framing == FRAMING_LENGTH)
		e = buf_printf(out, "Content-Length: %llu\r\n", (unsigned long long)length);
	else if (!e && framing == FRAMING_CHUNKED)
		e = sk_buf_append(out, "Transfer-Encoding: chunked\r\n", 28);
	if (!e && !m->keep_alive)
		e = sk_buf_append(out, "Connection: close\r\n", 19);
	else if (!e && m->version_minor == 0)
		e = sk_buf_append(out, "Connection: keep-alive\r\n", 24);
	if (!e)
		e = sk_buf_append(out, "\r\n", 2);
	return e;
}

/* The buffered response's head, and how many body bytes follow it on the
 * wire (0 for HEAD, 204 and 304). */
int response_serialize(struct sk_buf *out, struct http_response *r, const struct response_meta *m,
		       size_t *body_to_send)
{
	if (r->status < 200 || r->status > 599) {
		r->status = 500;
		r->server_error = true;
	}
	bool no_body = r->status == 204 || r->status == 304;
	int e = response_head(out, r, m, no_body ? FRAMING_NONE : FRAMING_LENGTH, r->body_.len);
	*body_to_send = no_body || m->head_method ? 0 : r->body_.len;
	return e;
}
