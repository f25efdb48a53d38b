/* Internals of streamed exchanges, shared by stream.c (the worker side:
 * reading a request body and writing a response on the socket), conn.c
 * (dispatch and the hand-back to the network thread) and response.c (the
 * head serialiser both response paths use). Not installed.
 *
 * Threading: a streaming request's connection belongs to its worker from
 * dispatch until the worker pushes it on the done list; the network thread
 * then neither reads, writes nor closes its socket (conn_close only shuts
 * it down, which wakes the worker). The state lives in c->resp.stream_ and
 * c->parser, handed over with the connection. */
#ifndef SPINKUBE_HTTP_STREAM_H
#define SPINKUBE_HTTP_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "shim-bridge/http/server-int.h"

/* What the handler left of a streamed request body is read and dropped up to
 * this many bytes (or linger_ms) to keep the connection; beyond, it closes. */
#define STREAM_DISCARD_MAX (256u * 1024)

enum response_framing {
	FRAMING_NONE,    /* no framing header: 204/304, HEAD, close-delimited */
	FRAMING_LENGTH,  /* Content-Length */
	FRAMING_CHUNKED, /* Transfer-Encoding: chunked */
};

/* response.c */
int response_head(struct sk_buf *out, struct http_response *r, const struct response_meta *m,
		  enum response_framing framing, uint64_t length);
int response_field(struct sk_buf *b, unsigned *n, const char *name, const char *value);

/* stream.c, network thread: c was just dispatched in streaming mode. */
void stream_begin(struct conn *c);

/* stream.c, network thread, after the hand-back. */
bool stream_response_started(const struct conn *c);
/* Started and ended cleanly: the connection may be reused. */
bool stream_response_complete(const struct conn *c);
/* The rest of the request body may be discarded to keep the connection:
 * no read error, and no "100 Continue" left unsent (the client may be
 * holding the body back). */
bool stream_body_discardable(const struct conn *c);

#endif
