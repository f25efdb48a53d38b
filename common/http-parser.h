/* An incremental, bounded HTTP/1.1 request parser (RFC 9112). Pure: no I/O.
 * Our own: Debian 12 packages no maintained C HTTP/1.1 parser (its
 * libhttp-parser is a project its authors archived).
 *
 * The caller feeds bytes as they arrive, in pieces of any size, and gets an
 * event back each time something happens: the head is complete (so a server
 * can answer "Expect: 100-continue" or reject early), the whole request is
 * complete, or the request is rejected with an HTTP status and a one-line
 * reason. Bytes after a complete request are not consumed: *consumed tells
 * how far the parser read, and the caller keeps the rest for the next request
 * (pipelining) and feeds it after http_parser_reset().
 *
 * The parser owns copies of what it parsed (head, body, trailers) in buffers
 * that are reused from one request to the next, each with a cap, so a
 * keep-alive connection allocates only while its buffers grow. Every pointer
 * in struct http_parsed points into those buffers and stays valid until the
 * next http_parser_reset() or http_parser_free().
 *
 * A body need not be buffered: after HTTP_PARSE_HEAD, http_parser_feed_body()
 * decodes it into the caller's buffer piece by piece (streaming), and
 * http_parser_discard_body() throws the rest of it away up to a budget (a
 * server skipping what a handler did not read). Either way the chunked
 * framing, the max_body cap and the trailers are handled as when buffering. */
#ifndef SPINKUBE_HTTP_PARSER_H
#define SPINKUBE_HTTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define HTTP_DEFAULT_MAX_HEAD (64u * 1024)
#define HTTP_DEFAULT_MAX_HEADERS 100u
#define HTTP_DEFAULT_MAX_BODY (32u * 1024 * 1024)
#define HTTP_MAX_CHUNK_LINE 4096u /* chunk-size line incl. extensions */
#define HTTP_KEEP_BODY_ALLOC (256u * 1024) /* larger body buffers are freed on reset */

/* One header or trailer field line: NUL-terminated name (as sent) and value
 * (OWS trimmed). Both point into the parser's buffers. */
struct http_header {
	const char *name;
	const char *value;
	size_t name_len;
	size_t value_len;
};

struct http_limits {
	size_t max_head;      /* request line + header section, bytes */
	unsigned max_headers; /* header field lines (trailers counted apart) */
	size_t max_body;      /* decoded body bytes */
};

enum http_parse_event {
	HTTP_PARSE_AGAIN = 0, /* all input consumed, need more */
	HTTP_PARSE_HEAD,      /* head complete; call feed again for the body */
	HTTP_PARSE_DONE,      /* request complete; leftover input not consumed */
	HTTP_PARSE_ERROR,     /* rejected: see http_parser.status / .reason */
};

/* What the head said. Filled when HTTP_PARSE_HEAD is returned. */
struct http_parsed {
	const char *method;
	const char *target; /* raw request-target as sent */
	const char *path;   /* raw path (absolute-form: after the authority) */
	const char *query;  /* raw query without '?', "" when none */
	bool has_query;     /* the target had a '?' */
	int version_minor;  /* HTTP/1.<minor>: 0 or 1 */
	const struct http_header *headers;
	size_t n_headers;
	const struct http_header *trailers; /* filled at DONE (chunked only) */
	size_t n_trailers;
	bool keep_alive;      /* per version and Connection */
	bool expect_continue; /* "Expect: 100-continue" and a body is expected */
	bool chunked;
	bool has_length;
	uint64_t content_length; /* when has_length */
};

enum http_parser_state {
	HP_HEAD,
	HP_BODY_LENGTH,
	HP_CHUNK_SIZE,
	HP_CHUNK_DATA,
	HP_CHUNK_END,
	HP_TRAILERS,
	HP_DONE,
	HP_ERROR,
};

struct http_header_array {
	struct http_header *v;
	size_t n, cap;
};

/* All fields private except `parsed`, `status` and `reason`. */
struct http_parser {
	struct http_limits limits;
	enum http_parser_state state;
	struct http_parsed parsed;
	int status;         /* HTTP status of a rejection, else 0 */
	const char *reason; /* one line (static string), NULL unless rejected */

	struct sk_buf head;     /* request line + headers, parsed in place */
	struct sk_buf strs;     /* path and query copies */
	struct sk_buf body;     /* decoded body */
	struct sk_buf trailer;  /* raw trailer section, parsed in place */
	struct sk_buf line;     /* current chunk-size line */
	struct http_header_array hdrs, trls;
	size_t line_start;      /* offset in head/trailer of the current line */
	uint64_t remaining;     /* body or chunk bytes still to come */
	uint64_t body_total;    /* decoded body bytes so far, however delivered */
	uint64_t discard_left;  /* discard mode: body bytes still allowed */
	char *sink;             /* http_parser_feed_body's output during the call */
	size_t sink_cap, sink_len;
	bool streaming;         /* the body goes to a sink, not to `body` */
	bool discard;           /* the body is thrown away */
	unsigned leading_empty; /* empty lines skipped before the request line */
};

/* Set limits to the defaults. */
void http_limits_default(struct http_limits *l);

/* Prepare p (caller-owned memory) for a first request. Never fails: buffers
 * grow on demand. */
void http_parser_init(struct http_parser *p, const struct http_limits *limits);

/* Forget the request, ready for the next one. Keeps the allocations except
 * a body buffer larger than HTTP_KEEP_BODY_ALLOC. */
void http_parser_reset(struct http_parser *p);

/* Release the buffers. Accepts a zeroed or half-used parser. */
void http_parser_free(struct http_parser *p);

/* Feed len bytes. Sets *consumed to the bytes used (<= len) and returns the
 * event. After HTTP_PARSE_HEAD the caller feeds the rest (data + *consumed).
 * After DONE or ERROR, feeding again returns the same event and consumes
 * nothing until http_parser_reset(). */
enum http_parse_event http_parser_feed(struct http_parser *p, const char *data, size_t len,
				       size_t *consumed);

/* True once bytes of a request arrived (or the head is complete): an idle
 * keep-alive connection is one that is not started. */
bool http_parser_started(const struct http_parser *p);

/* True between HTTP_PARSE_HEAD and DONE: the body is being read. */
bool http_parser_in_body(const struct http_parser *p);

/* The decoded body so far (NUL-terminated, never NULL). Empty for a body
 * that was streamed or discarded. */
const char *http_parser_body(const struct http_parser *p, size_t *len);

/* Streaming: decode body bytes from data[0..len) into out[0..cap) instead of
 * the parser's body buffer. Call only after HTTP_PARSE_HEAD (or again after
 * a previous call); once called, the rest of this request's body streams.
 * *consumed: input bytes used; *produced: body bytes written to out. Stops
 * when out is full (AGAIN with input left), at the end of the body (DONE,
 * trailers parsed; leftover input not consumed) or on a rejection (ERROR:
 * 413 over max_body, 400 malformed framing, 431 trailers over the caps).
 * Bytes produced before a rejection are still reported. */
enum http_parse_event http_parser_feed_body(struct http_parser *p, const char *data, size_t len,
					    size_t *consumed, char *out, size_t cap, size_t *produced);

/* Switch the rest of the body to discard mode: http_parser_feed() keeps
 * decoding the framing but drops the bytes, and rejects with 413 once more
 * than max bytes were dropped. For a body in progress only. */
void http_parser_discard_body(struct http_parser *p, uint64_t max);

/* True in discard mode (until http_parser_reset). */
bool http_parser_discarding(const struct http_parser *p);

/* Decoded body bytes seen so far (buffered, streamed or discarded). */
uint64_t http_parser_body_total(const struct http_parser *p);

/* First header named name (ASCII case-insensitive) in arr[0..n), or NULL. */
const struct http_header *http_header_find(const struct http_header *arr, size_t n, const char *name);

/* True when the comma-separated list in value holds token (case-insensitive). */
bool http_list_has_token(const char *value, const char *token);

#endif
