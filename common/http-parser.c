/* Incremental HTTP/1.1 request parsing; see parser.h for the contract.
 *
 * The head is copied line by line into p->head until an empty line ends it,
 * then parsed in place (NULs written over separators), so header names and
 * values are C strings without further copies. The body is decoded into
 * p->body (or, streaming, into the caller's buffer; discarding, nowhere);
 * chunked trailers go to p->trailer and are parsed the same way. */
#include "common/http-parser.h"
#include "common/http-field.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_LEADING_EMPTY_LINES 8

void http_limits_default(struct http_limits *l)
{
	l->max_head = HTTP_DEFAULT_MAX_HEAD;
	l->max_headers = HTTP_DEFAULT_MAX_HEADERS;
	l->max_body = HTTP_DEFAULT_MAX_BODY;
}

void http_parser_init(struct http_parser *p, const struct http_limits *limits)
{
	memset(p, 0, sizeof(*p));
	if (limits)
		p->limits = *limits;
	else
		http_limits_default(&p->limits);
	p->head = sk_buf_make(p->limits.max_head);
	p->strs = sk_buf_make(p->limits.max_head + 2);
	p->body = sk_buf_make(p->limits.max_body);
	p->trailer = sk_buf_make(p->limits.max_head);
	p->line = sk_buf_make(HTTP_MAX_CHUNK_LINE);
	http_parser_reset(p);
}

void http_parser_reset(struct http_parser *p)
{
	/* A large body's buffer is not kept for the next request. */
	if (p->body.cap > HTTP_KEEP_BODY_ALLOC)
		sk_buf_free(&p->body);
	sk_buf_reset(&p->head);
	sk_buf_reset(&p->strs);
	sk_buf_reset(&p->body);
	sk_buf_reset(&p->trailer);
	sk_buf_reset(&p->line);
	p->hdrs.n = 0;
	p->trls.n = 0;
	memset(&p->parsed, 0, sizeof(p->parsed));
	p->state = HP_HEAD;
	p->status = 0;
	p->reason = NULL;
	p->line_start = 0;
	p->remaining = 0;
	p->body_total = 0;
	p->discard_left = 0;
	p->sink = NULL;
	p->sink_cap = p->sink_len = 0;
	p->streaming = false;
	p->discard = false;
	p->leading_empty = 0;
}

void http_parser_free(struct http_parser *p)
{
	sk_buf_free(&p->head);
	sk_buf_free(&p->strs);
	sk_buf_free(&p->body);
	sk_buf_free(&p->trailer);
	sk_buf_free(&p->line);
	free(p->hdrs.v);
	free(p->trls.v);
	p->hdrs = (struct http_header_array){ 0 };
	p->trls = (struct http_header_array){ 0 };
}

bool http_parser_started(const struct http_parser *p)
{
	return p->state != HP_HEAD || p->head.len > 0;
}

bool http_parser_in_body(const struct http_parser *p)
{
	return p->state >= HP_BODY_LENGTH && p->state <= HP_TRAILERS;
}

const char *http_parser_body(const struct http_parser *p, size_t *len)
{
	*len = p->body.len;
	return p->body.data ? p->body.data : "";
}

/* Record a rejection. reason is a static one-line string. */
static enum http_parse_event reject(struct http_parser *p, int status, const char *reason)
{
	p->state = HP_ERROR;
	p->status = status;
	p->reason = reason;
	return HTTP_PARSE_ERROR;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

const struct http_header *http_header_find(const struct http_header *arr, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(arr[i].name, name) == 0)
			return &arr[i];
	return NULL;
}

bool http_list_has_token(const char *value, const char *token)
{
	size_t tlen = strlen(token);
	const char *s = value;

	while (*s) {
		while (*s == ',' || is_ows(*s))
			s++;
		const char *start = s;
		while (*s && *s != ',')
			s++;
		const char *end = s;
		while (end > start && is_ows(end[-1]))
			end--;
		if ((size_t)(end - start) == tlen && strncasecmp(start, token, tlen) == 0)
			return true;
	}
	return false;
}

/* Append one header to arr, growing it up to max entries. Returns 0,
 * -E2BIG over the cap, -ENOMEM. */
static int header_push(struct http_header_array *arr, size_t max, const struct http_header *h)
{
	if (arr->n >= max)
		return -E2BIG;
	if (arr->n == arr->cap) {
		size_t cap = arr->cap ? arr->cap * 2 : 16;
		if (cap > max)
			cap = max;
		struct http_header *v = realloc(arr->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		arr->v = v;
		arr->cap = cap;
	}
	arr->v[arr->n++] = *h;
	return 0;
}

/* Parse one field line (line[0..len), newline and CR already cut off) in
 * place into arr. Returns 0 or a rejection event. */
static enum http_parse_event parse_field(struct http_parser *p, char *line, size_t len,
					 struct http_header_array *arr)
{
	struct http_header h;
	size_t i = 0;

	if (len && is_ows(line[0]))
		return reject(p, 400, "obsolete line folding (obs-fold) in a header field is not accepted");
	while (i < len && sk_http_tchar((unsigned char)line[i]))
		i++;
	if (i == len || line[i] != ':')
		return reject(p, 400, "header field name is not a token followed by ':'");
	if (i == 0)
		return reject(p, 400, "header field name is empty");
	line[i] = '\0';
	h.name = line;
	h.name_len = i;
	size_t v = i + 1, end = len;
	while (v < end && is_ows(line[v]))
		v++;
	while (end > v && is_ows(line[end - 1]))
		end--;
	if (!sk_http_value_strict(line + v, end - v))
		return reject(p, 400, "header field value holds a control character");
	line[end] = '\0';
	h.value = line + v;
	h.value_len = end - v;
	int r = header_push(arr, p->limits.max_headers, &h);
	if (r == -E2BIG)
		return reject(p, 431, "too many header fields");
	if (r < 0)
		return reject(p, 500, "out of memory parsing header fields");
	return HTTP_PARSE_AGAIN;
}

/* Length of the line at s (up to end) without its LF or CRLF; *next is set
 * past the LF. The caller guarantees an LF exists. */
static size_t cut_line(char *s, char *end, char **next)
{
	char *nl = memchr(s, '\n', (size_t)(end - s));
	size_t n = (size_t)(nl - s);

	*next = nl + 1;
	if (n && s[n - 1] == '\r')
		n--;
	s[n] = '\0';
	return n;
}

/* Split the version off "HTTP/1.1". Returns 0 or a rejection event. */
static enum http_parse_event parse_version(struct http_parser *p, const char *v, size_t len)
{
	if (len == 8 && memcmp(v, "HTTP/1.", 7) == 0 && (v[7] == '0' || v[7] == '1')) {
		p->parsed.version_minor = v[7] - '0';
		return HTTP_PARSE_AGAIN;
	}
	if (len == 8 && memcmp(v, "HTTP/", 5) == 0 && v[5] >= '0' && v[5] <= '9' && v[6] == '.' &&
	    v[7] >= '0' && v[7] <= '9')
		return reject(p, 505, "HTTP version not supported: only HTTP/1.0 and HTTP/1.1 are");
	return reject(p, 400, "request line does not end in HTTP/1.0 or HTTP/1.1");
}

/* Store the raw path (or "/" when empty) and query as separate C strings in
 * p->strs. rest is what follows the authority: path, then '?' and query. */
static enum http_parse_event set_path_query(struct http_parser *p, const char *rest, size_t len)
{
	const char *q = memchr(rest, '?', len);
	size_t plen = q ? (size_t)(q - rest) : len;
	size_t qlen = q ? len - plen - 1 : 0;
	const char *path = plen ? rest : "/";

	if (!plen)
		plen = 1;
	sk_buf_reset(&p->strs);
	if (sk_buf_append(&p->strs, path, plen) < 0 || sk_buf_append(&p->strs, "", 1) < 0 ||
	    sk_buf_append(&p->strs, q ? q + 1 : "", qlen) < 0)
		return reject(p, 500, "out of memory splitting the request-target");
	p->parsed.path = p->strs.data;
	p->parsed.query = p->strs.data + plen + 1;
	p->parsed.has_query = q != NULL;
	return HTTP_PARSE_AGAIN;
}

/* Classify the request-target: origin-form, absolute-form (http/https),
 * or asterisk-form for OPTIONS. Fills path and query. */
static enum http_parse_event parse_target(struct http_parser *p, const char *t, size_t len)
{
	if (t[0] == '/')
		return set_path_query(p, t, len);
	if (len == 1 && t[0] == '*') {
		if (strcmp(p->parsed.method, "OPTIONS") != 0)
			return reject(p, 400, "asterisk-form request-target '*' is only valid with OPTIONS");
		return set_path_query(p, "*", 1);
	}
	const char *sep = strstr(t, "://");
	size_t slen = sep ? (size_t)(sep - t) : 0;
	if (!sep || !((slen == 4 && strncasecmp(t, "http", 4) == 0) ||
		      (slen == 5 && strncasecmp(t, "https", 5) == 0)))
		return reject(p, 400, "request-target is neither origin-form (/path) nor an http(s) absolute URI");
	const char *auth = sep + 3;
	size_t alen = strcspn(auth, "/?");
	if (alen == 0)
		return reject(p, 400, "absolute-form request-target has an empty authority");
	return set_path_query(p, auth + alen, strlen(auth + alen));
}

/* method SP request-target SP HTTP-version, in place. */
static enum http_parse_event parse_request_line(struct http_parser *p, char *line, size_t len)
{
	size_t i = 0;

	while (i < len && sk_http_tchar((unsigned char)line[i]))
		i++;
	if (i == 0 || i == len || line[i] != ' ')
		return reject(p, 400, "request line does not start with a method token and one space");
	line[i] = '\0';
	p->parsed.method = line;
	if (strcmp(line, "CONNECT") == 0)
		return reject(p, 501, "CONNECT is not supported by this server");
	char *t = line + i + 1;
	size_t tl = 0;
	while (t + tl < line + len && (unsigned char)t[tl] > 0x20 && (unsigned char)t[tl] < 0x7f)
		tl++;
	if (tl == 0 || t + tl == line + len || t[tl] != ' ')
		return reject(p, 400, "request-target is empty or holds a space or control character");
	t[tl] = '\0';
	p->parsed.target = t;
	char *v = t + tl + 1;
	enum http_parse_event e = parse_version(p, v, (size_t)(line + len - v));
	if (e != HTTP_PARSE_AGAIN)
		return e;
	return parse_target(p, t, tl);
}

/* Content-Length: digits only; repeated fields must agree. */
static enum http_parse_event parse_content_length(struct http_parser *p, const struct http_header *h)
{
	uint64_t v = 0;

	if (h->value_len == 0 || h->value_len > 18)
		return reject(p, 400, "Content-Length is empty or too long");
	for (size_t i = 0; i < h->value_len; i++) {
		if (h->value[i] < '0' || h->value[i] > '9')
			return reject(p, 400, "Content-Length is not a decimal number");
		v = v * 10 + (uint64_t)(h->value[i] - '0');
	}
	if (p->parsed.has_length && p->parsed.content_length != v)
		return reject(p, 400, "Content-Length fields disagree");
	p->parsed.has_length = true;
	p->parsed.content_length = v;
	return HTTP_PARSE_AGAIN;
}

/* Go through the header fields that frame the message or steer the
 * connection: Host, Content-Length, Transfer-Encoding, Connection, Expect. */
static enum http_parse_event apply_headers(struct http_parser *p)
{
	struct http_parsed *r = &p->parsed;
	int hosts = 0, te = 0;
	const char *expect = NULL;

	r->keep_alive = r->version_minor == 1;
	for (size_t i = 0; i < p->hdrs.n; i++) {
		const struct http_header *h = &p->hdrs.v[i];
		if (strcasecmp(h->name, "host") == 0) {
			hosts++;
		} else if (strcasecmp(h->name, "content-length") == 0) {
			if (parse_content_length(p, h) != HTTP_PARSE_AGAIN)
				return HTTP_PARSE_ERROR;
		} else if (strcasecmp(h->name, "transfer-encoding") == 0) {
			if (++te > 1 || strcasecmp(h->value, "chunked") != 0)
				return reject(p, 501, "Transfer-Encoding other than a single \"chunked\" is not supported");
			r->chunked = true;
		} else if (strcasecmp(h->name, "connection") == 0) {
			if (http_list_has_token(h->value, "close"))
				r->keep_alive = false;
			else if (http_list_has_token(h->value, "keep-alive") && r->version_minor == 0)
				r->keep_alive = true;
		} else if (strcasecmp(h->name, "expect") == 0) {
			expect = h->value;
		}
	}
	if (r->version_minor == 1 && hosts != 1)
		return reject(p, 400, hosts ? "more than one Host field" : "HTTP/1.1 request without a Host field");
	if (hosts > 1)
		return reject(p, 400, "more than one Host field");
	if (r->chunked && r->has_length)
		return reject(p, 400, "both Content-Length and Transfer-Encoding are present");
	if (r->has_length && r->content_length > p->limits.max_body)
		return reject(p, 413, "request body is larger than the server accepts");
	bool body = r->chunked || (r->has_length && r->content_length > 0);
	if (expect && r->version_minor == 1) {
		if (strcasecmp(expect, "100-continue") != 0)
			return reject(p, 417, "Expect is not \"100-continue\"");
		r->expect_continue = body;
	}
	return HTTP_PARSE_AGAIN;
}

/* The head in p->head is complete: parse it and choose the body framing.
 * Returns HEAD when a body follows, DONE when none, or ERROR. */
static enum http_parse_event parse_head(struct http_parser *p)
{
	char *s = p->head.data, *end = p->head.data + p->head.len, *next;
	size_t n = cut_line(s, end, &next);

	if (parse_request_line(p, s, n) != HTTP_PARSE_AGAIN)
		return HTTP_PARSE_ERROR;
	for (s = next; s < end; s = next) {
		n = cut_line(s, end, &next);
		if (n == 0)
			break; /* the empty line ending the head */
		if (parse_field(p, s, n, &p->hdrs) != HTTP_PARSE_AGAIN)
			return HTTP_PARSE_ERROR;
	}
	p->parsed.headers = p->hdrs.v;
	p->parsed.n_headers = p->hdrs.n;
	if (apply_headers(p) != HTTP_PARSE_AGAIN)
		return HTTP_PARSE_ERROR;
	if (p->parsed.chunked) {
		p->state = HP_CHUNK_SIZE;
	} else if (p->parsed.has_length && p->parsed.content_length > 0) {
		p->state = HP_BODY_LENGTH;
		p->remaining = p->parsed.content_length;
	} else {
		p->state = HP_DONE;
		return HTTP_PARSE_DONE;
	}
	return HTTP_PARSE_HEAD;
}

/* Copy lines of data into b until an empty line. Returns AGAIN (all used),
 * DONE (section complete, *consumed says where) or ERROR. With leading set,
 * empty lines before anything else are skipped (before a request line). */
static enum http_parse_event collect_section(struct http_parser *p, struct sk_buf *b, const char *data,
					     size_t len, size_t *consumed, bool leading)
{
	size_t off = 0;

	while (off < len) {
		const char *nl = memchr(data + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (data + off)) + 1 : len - off;
		int r = sk_buf_append(b, data + off, n);
		off += n;
		*consumed = off;
		if (r == -E2BIG)
			return leading && p->line_start == 0 ? reject(p, 414, "request line is longer than the server accepts")
							     : reject(p, 431, "request header section is larger than the server accepts");
		if (r < 0)
			return reject(p, 500, "out of memory reading the request head");
		if (!nl)
			break;
		size_t ll = b->len - p->line_start;
		if (ll == 1 || (ll == 2 && b->data[p->line_start] == '\r')) {
			if (!leading || p->line_start > 0)
				return HTTP_PARSE_DONE;
			if (++p->leading_empty > MAX_LEADING_EMPTY_LINES)
				return reject(p, 400, "too many empty lines before the request line");
			sk_buf_reset(b);
			continue;
		}
		p->line_start = b->len;
	}
	*consumed = off;
	return HTTP_PARSE_AGAIN;
}

/* Parse a complete chunk-size line in p->line: hex size, optional BWS and
 * extensions (ignored). Moves to data or trailers. */
static enum http_parse_event parse_chunk_size(struct http_parser *p)
{
	const char *s = p->line.data;
	uint64_t v = 0;
	size_t i = 0;

	for (; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			break;
		if (v > (UINT64_MAX >> 4))
			return reject(p, 413, "chunk size is larger than the server accepts");
		v = (v << 4) | (uint64_t)d;
	}
	if (i == 0)
		return reject(p, 400, "chunk-size is not hexadecimal");
	while (is_ows(s[i]))
		i++;
	if (s[i] != '\0' && s[i] != ';' && !(s[i] == '\r' && s[i + 1] == '\n') && s[i] != '\n')
		return reject(p, 400, "chunk-size line holds something other than a size and extensions");
	if (v > p->limits.max_body - p->body_total)
		return reject(p, 413, "request body is larger than the server accepts");
	sk_buf_reset(&p->line);
	if (v == 0) {
		p->state = HP_TRAILERS;
		p->line_start = 0;
		return HTTP_PARSE_AGAIN;
	}
	p->remaining = v;
	p->state = HP_CHUNK_DATA;
	return HTTP_PARSE_AGAIN;
}

/* Accumulate the chunk-size line; parse it once its LF arrives. */
static enum http_parse_event feed_chunk_size(struct http_parser *p, const char *data, size_t len, size_t *used)
{
	const char *nl = memchr(data, '\n', len);
	size_t n = nl ? (size_t)(nl - data) + 1 : len;

	*used = n;
	if (sk_buf_append(&p->line, data, n) < 0)
		return reject(p, 400, "chunk-size line is too long");
	return nl ? parse_chunk_size(p) : HTTP_PARSE_AGAIN;
}

/* After chunk data: CRLF (or a bare LF) must follow. */
static enum http_parse_event feed_chunk_end(struct http_parser *p, const char *data, size_t len, size_t *used)
{
	size_t i = 0;

	for (; i < len; i++) {
		if (data[i] == '\r' && p->line.len == 0) {
			(void)sk_buf_append(&p->line, "\r", 1);
			continue;
		}
		if (data[i] != '\n') {
			*used = i + 1;
			return reject(p, 400, "chunk data is not followed by CRLF");
		}
		sk_buf_reset(&p->line);
		p->state = HP_CHUNK_SIZE;
		*used = i + 1;
		return HTTP_PARSE_AGAIN;
	}
	*used = i;
	return HTTP_PARSE_AGAIN;
}

/* Take body bytes (Content-Length body or chunk data): append them to the
 * body buffer, copy them to the streaming sink (as many as fit; none when it
 * is full), or drop them in discard mode. */
static enum http_parse_event feed_data(struct http_parser *p, const char *data, size_t len, size_t *used)
{
	size_t n = len < p->remaining ? len : (size_t)p->remaining;

	*used = 0;
	if (p->streaming) {
		if (n > p->sink_cap - p->sink_len)
			n = p->sink_cap - p->sink_len;
		if (n == 0)
			return HTTP_PARSE_AGAIN;
		memcpy(p->sink + p->sink_len, data, n);
		p->sink_len += n;
	} else if (p->discard) {
		if (n > p->discard_left)
			return reject(p, 413, "request body left unread is larger than the server discards");
		p->discard_left -= n;
	} else {
		int r = sk_buf_append(&p->body, data, n);
		if (r == -E2BIG)
			return reject(p, 413, "request body is larger than the server accepts");
		if (r < 0)
			return reject(p, 500, "out of memory reading the request body");
	}
	*used = n;
	p->body_total += n;
	p->remaining -= n;
	if (p->remaining == 0) {
		if (p->state == HP_BODY_LENGTH) {
			p->state = HP_DONE;
			return HTTP_PARSE_DONE;
		}
		p->state = HP_CHUNK_END;
	}
	return HTTP_PARSE_AGAIN;
}

/* Trailer section complete in p->trailer: parse its field lines. */
static enum http_parse_event parse_trailers(struct http_parser *p)
{
	char *s = p->trailer.data, *end = p->trailer.data + p->trailer.len, *next;

	for (; s < end; s = next) {
		size_t n = cut_line(s, end, &next);
		if (n == 0)
			break;
		if (parse_field(p, s, n, &p->trls) != HTTP_PARSE_AGAIN)
			return HTTP_PARSE_ERROR;
	}
	p->parsed.trailers = p->trls.v;
	p->parsed.n_trailers = p->trls.n;
	p->state = HP_DONE;
	return HTTP_PARSE_DONE;
}

/* One step of the body state machine on data[0..len). */
static enum http_parse_event feed_body_step(struct http_parser *p, const char *data, size_t len, size_t *used)
{
	enum http_parse_event e;

	switch (p->state) {
	case HP_BODY_LENGTH:
	case HP_CHUNK_DATA:
		return feed_data(p, data, len, used);
	case HP_CHUNK_SIZE:
		return feed_chunk_size(p, data, len, used);
	case HP_CHUNK_END:
		return feed_chunk_end(p, data, len, used);
	case HP_TRAILERS:
		*used = 0;
		e = collect_section(p, &p->trailer, data, len, used, false);
		return e == HTTP_PARSE_DONE ? parse_trailers(p) : e;
	default:
		*used = 0;
		return HTTP_PARSE_ERROR;
	}
}

enum http_parse_event http_parser_feed(struct http_parser *p, const char *data, size_t len, size_t *consumed)
{
	size_t off = 0, used;
	enum http_parse_event e;

	*consumed = 0;
	if (p->state == HP_DONE)
		return HTTP_PARSE_DONE;
	if (p->state == HP_ERROR)
		return HTTP_PARSE_ERROR;
	if (p->state == HP_HEAD) {
		e = collect_section(p, &p->head, data, len, consumed, true);
		return e == HTTP_PARSE_DONE ? parse_head(p) : e;
	}
	while (off < len) {
		e = feed_body_step(p, data + off, len - off, &used);
		off += used;
		*consumed = off;
		/* used == 0: a streaming parser without a sink; never spin. */
		if (e != HTTP_PARSE_AGAIN || used == 0)
			return e;
	}
	return HTTP_PARSE_AGAIN;
}

enum http_parse_event http_parser_feed_body(struct http_parser *p, const char *data, size_t len,
					    size_t *consumed, char *out, size_t cap, size_t *produced)
{
	size_t off = 0, used;
	enum http_parse_event e = HTTP_PARSE_AGAIN;

	*consumed = 0;
	*produced = 0;
	if (p->state == HP_DONE)
		return HTTP_PARSE_DONE;
	if (p->state == HP_ERROR)
		return HTTP_PARSE_ERROR;
	if (!http_parser_in_body(p))
		return reject(p, 500, "request body streamed before its head was parsed");
	p->streaming = true;
	p->discard = false;
	p->sink = out;
	p->sink_cap = cap;
	p->sink_len = 0;
	while (off < len) {
		e = feed_body_step(p, data + off, len - off, &used);
		off += used;
		/* Only a full sink makes no progress: the caller drains it first. */
		if (e != HTTP_PARSE_AGAIN || used == 0)
			break;
	}
	*consumed = off;
	*produced = p->sink_len;
	p->sink = NULL;
	p->sink_cap = p->sink_len = 0;
	return e;
}

void http_parser_discard_body(struct http_parser *p, uint64_t max)
{
	if (!http_parser_in_body(p))
		return;
	p->streaming = false;
	p->discard = true;
	p->discard_left = max;
}

bool http_parser_discarding(const struct http_parser *p)
{
	return p->discard;
}

uint64_t http_parser_body_total(const struct http_parser *p)
{
	return p->body_total;
}
