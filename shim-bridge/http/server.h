/* The HTTP/1.1 server spin-bridge serves Spin apps on.
 *
 * One network thread owns every socket: it accepts, reads, parses (parser.h),
 * writes and enforces the timeouts and caps, all non-blocking on epoll. A
 * complete request goes through a bounded queue to a pool of worker threads;
 * the handler runs there (it may run a WebAssembly guest for seconds) and
 * fills a response, which goes back to the network thread through an
 * eventfd. The worker count is the cap on concurrent guest instances.
 *
 * Streaming (config.stream_request): a request the callback picks goes to a
 * worker as soon as its head is parsed, body still on the wire. While it is
 * there the network thread leaves the connection alone and the worker does
 * blocking, poll(2)-based I/O on the socket itself: http_request_read pulls
 * the body through the connection's 16 KiB staging buffer, and
 * http_response_start/write/finish send the response as it is produced, so
 * neither body is ever held whole. When the handler returns, the connection
 * goes back to the network thread (keep-alive, pipelining, what the handler
 * left unread is discarded up to a bound).
 *
 * Lifecycle: http_server_config_init -> adjust -> http_server_new ->
 * http_server_start -> ... -> http_server_shutdown (or http_server_wait when
 * config.shutdown_fd triggers the drain) -> http_server_free. */
#ifndef SPINKUBE_HTTP_SERVER_H
#define SPINKUBE_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "common/http-parser.h"

struct http_server;

/* A request, read-only for the handler and valid only during the handler
 * call (everything points into the connection's reused buffers). Complete
 * when buffered; in streaming mode the body is read with
 * http_request_read and trailers are set once it returns 0. */
struct http_request {
	const char *method;
	const char *target; /* raw request-target */
	const char *path;   /* raw path, not percent-decoded */
	const char *query;  /* raw query without '?', "" when none */
	int version_minor;  /* HTTP/1.0 or HTTP/1.1 */
	const struct http_header *headers;
	size_t n_headers;
	const struct http_header *trailers;
	size_t n_trailers;
	const char *client_addr; /* "ip:port" ("[v6]:port" for IPv6) */
	const char *client_ip;   /* "ip" */
	const char *local_addr;  /* "ip:port" the connection came in on */
	unsigned local_port;
	/* private: reach the body through http_request_body() */
	const struct http_parser *parser_;
	bool streaming_;
};

/* The request body, buffered: the whole body, NUL-terminated, borrowed from
 * the request. In streaming mode it is empty ("", 0): use
 * http_request_read. */
const char *http_request_body(const struct http_request *req, size_t *len);

/* True when req was dispatched in streaming mode (config.stream_request
 * said so): its body is read with http_request_read and the response may be
 * streamed with http_response_start. */
bool http_request_streaming(const struct http_request *req);

/* Read the next body bytes into buf[0..cap) (cap > 0). timeout_ms: 0 = do
 * not wait, -1 = wait up to the server's body_timeout, N = wait at most N ms.
 * Returns >0 bytes copied, 0 at the end of the body (after which
 * req->trailers/n_trailers hold the trailers of a chunked body), -EAGAIN
 * nothing arrived within timeout_ms, -ETIMEDOUT body_timeout passed without
 * a byte, -ECONNRESET the client went away, -EBADMSG malformed chunked
 * framing, -E2BIG the body is over limits.max_body (or its trailers over
 * the header caps), -EINVAL cap 0. Errors stick: later calls return the
 * same. Decodes chunked framing; sends "100 Continue" first when the client
 * asked for it (unless the response already started). In buffered mode it
 * returns the buffered body, then 0. Worker thread, during the handler. */
ssize_t http_request_read(const struct http_request *req, void *buf, size_t cap, int timeout_ms);

/* The descriptor to poll(2) for POLLIN after http_request_read returned
 * -EAGAIN; -1 when reading again makes progress without waiting (bytes are
 * staged, 100 Continue is still to send, an error is pending) or the body
 * is finished, and always in buffered mode. Do not read, write or close it. */
int http_request_poll_fd(const struct http_request *req);

/* First request header named name (case-insensitive) or NULL; borrowed. */
const char *http_request_header(const struct http_request *req, const char *name);

/* private: a streamed exchange's state (stream.c). */
struct http_stream_ {
	struct sk_buf trailers; /* response trailer lines, "Name: value\r\n" */
	unsigned n_trailers;
	uint64_t length;        /* start()'s content_length when has_length */
	uint64_t sent;          /* body bytes accepted since start */
	uint64_t progress_ms;   /* request body: when bytes last arrived */
	size_t read_off;        /* buffered http_request_read position */
	int write_err;          /* sticky: the response can no longer be sent */
	int read_err;           /* sticky: the request body failed */
	bool started, finished, has_length, chunked, no_body, continue_done;
};

/* The response a handler fills. Start: status 200, no headers, empty body.
 * Use the functions below; fields other than status and server_error are
 * private. */
struct http_response {
	int status;        /* 100..599 excluding 1xx interim; others become 500 */
	bool server_error; /* the handler failed (it logs); counted in stats */
	/* private */
	struct sk_buf head_; /* "Name: value\r\n" lines */
	struct sk_buf body_;
	unsigned n_headers_;
	bool has_date_;
	struct http_stream_ stream_;
};

/* Add a response header (copied). Content-Length, Transfer-Encoding,
 * Connection and Keep-Alive are the server's: they are ignored (return 0).
 * Returns -EINVAL for a name that is not a token or a value with CR, LF or
 * NUL, -E2BIG past the header caps (64 KiB, 100 fields), -EALREADY once
 * the response was started (the head is gone). */
int http_response_add_header(struct http_response *resp, const char *name, const char *value);

/* Append to the body (copied). -E2BIG past the response cap, -ENOMEM,
 * -EALREADY once the response was started (use http_response_write). */
int http_response_append(struct http_response *resp, const void *data, size_t len);

/* Streaming responses (requests in streaming mode only; else -ENOTSUP).
 * A handler that never calls http_response_start answers with the buffered
 * response as usual. One that starts but returns without a successful
 * http_response_finish gets its connection closed, so the client sees a
 * truncated response (no last chunk, or fewer bytes than Content-Length).
 * All of these run on the worker, during the handler, and block on the
 * socket with the server's idle_timeout as the stall limit. */

/* Send the status line, Date, Server and the headers added so far. The body
 * then goes out with http_response_write (bytes appended before are not
 * sent). content_length >= 0: exactly that
 * many bytes (writing more gives -E2BIG, finishing with fewer closes the
 * connection); -1: chunked for HTTP/1.1, close-delimited for HTTP/1.0.
 * HEAD requests, 204 and 304 send no body (writes are accepted and
 * dropped). Returns 0, -EALREADY if started, -E2BIG for a content_length
 * over max_response, -EINVAL for content_length < -1, -ENOTSUP in buffered
 * mode, or a send error (-EPIPE, -ECONNRESET, -ETIMEDOUT). */
int http_response_start(struct http_response *resp, int64_t content_length);

/* Send data[0..len) (after start): returns len once all of it was handed to
 * the kernel, or -EPIPE/-ECONNRESET (client gone), -ETIMEDOUT (no progress
 * for idle_timeout), -E2BIG (past content_length or max_response; nothing
 * sent), -EINVAL (not started, or finished). Send errors stick. Nothing is
 * buffered beyond the call: a chunked body gets one chunk per call. */
ssize_t http_response_write(struct http_response *resp, const void *data, size_t len);

/* Add a trailer field, sent after the last chunk. Same validation and
 * server-owned names as http_response_add_header. Before start it is kept
 * (and dropped if the body turns out not chunked); after start it is
 * -ENOTSUP unless the body is chunked; -EINVAL after finish. */
int http_response_add_trailer(struct http_response *resp, const char *name, const char *value);

/* End the body: the last chunk and the trailers for chunked. Returns 0,
 * -EPROTO when a Content-Length body is short (the connection will be
 * closed, the client sees a truncated body), -EALREADY when finished, -EINVAL
 * when not started, or a send error. */
int http_response_finish(struct http_response *resp);

/* Drop the body and headers set so far (status is kept). */
void http_response_clear(struct http_response *resp);

/* Runs on a worker thread. Must fill resp; must not keep req or resp. */
typedef void (*http_handler_fn)(void *user, const struct http_request *req, struct http_response *resp);

struct http_server_config {
	const char *listen;   /* "host:port", "[::]:80", "0.0.0.0:80"; or NULL */
	int listen_fd;        /* an open listening socket (taken over), or -1;
			       * with neither, the server has sites only */
	unsigned workers;     /* concurrent handlers; default 2 x CPUs, min 4 */
	unsigned queue_cap;   /* requests waiting for a worker; over: 503 */
	unsigned max_conns;   /* open connections; over: closed at accept */
	struct http_limits limits; /* head, header count, body caps */
	size_t max_response;  /* response body cap, default 64 MiB */
	unsigned head_timeout_ms;  /* whole head must arrive in; 408 */
	unsigned body_timeout_ms;  /* longest pause while reading a body; 408 */
	unsigned idle_timeout_ms;  /* keep-alive idle and write stall; close */
	unsigned linger_ms;        /* reading leftovers after an error reply */
	unsigned retry_after_s;    /* Retry-After on 503 when the queue is full */
	int shutdown_fd;      /* readable (pipe written on SIGTERM) starts the drain; -1 */
	unsigned drain_ms;    /* drain deadline when shutdown_fd triggers it */
	/* After shutdown_fd: keep accepting this long (answers say
	 * Connection: close) before the drain, while load balancers (kube-proxy)
	 * take the server out of their lists; 0: drain at once. */
	unsigned shutdown_delay_ms;
	const char *server_name; /* "Server:" value, or NULL for none */
	/* NULL (default): every request is buffered. Called on the network
	 * thread right after a head is parsed (must be quick, must not block;
	 * user is the handler's): true dispatches the request to a worker at
	 * once, its body still on the wire, in streaming mode. */
	bool (*stream_request)(void *user, const struct http_request *req);
};

/* Bind and listen on "host:port" (a close-on-exec, non-blocking socket, for
 * cfg->listen_fd). Returns the descriptor or a negative errno. */
int http_listen(const char *spec, struct sk_error *err);

/* Fill cfg with the defaults (listen NULL, listen_fd -1, shutdown_fd -1). */
void http_server_config_init(struct http_server_config *cfg);

/* Counters, read at any time from any thread. */
struct http_server_stats {
	uint64_t requests;      /* requests answered (handler or server) */
	uint64_t responses_4xx;
	uint64_t responses_5xx;
	uint64_t handler_errors; /* responses with server_error set */
	uint64_t rejected_busy;  /* 503 for a full queue */
	uint64_t rejected_conns; /* connections closed over max_conns */
	uint64_t active_conns;
	uint64_t in_flight;      /* requests queued or at a worker */
};

/* Create a server: bind/listen (or take cfg->listen_fd), no threads yet.
 * cfg is copied (strings too). On success *out is owned by the caller
 * (http_server_free). */
int http_server_new(const struct http_server_config *cfg, http_handler_fn handler, void *user,
		    struct http_server **out, struct sk_error *err);

/* The bound local port (useful with port 0). */
unsigned http_server_port(const struct http_server *srv);

/* Start the network thread and the workers. */
int http_server_start(struct http_server *srv, struct sk_error *err);

/* Drain and stop; thread-safe, callable from any thread but a worker: stop
 * accepting (the listener is closed), close idle connections, let requests
 * in progress finish and send their responses (with Connection: close), then
 * join all threads. Connections still open after deadline_ms are closed.
 * Returns 0, or -ETIMEDOUT when the deadline cut something off. Calling it
 * again (or after a drain started by shutdown_fd) just waits. */
int http_server_shutdown(struct http_server *srv, unsigned deadline_ms);

/* Wait until the server stopped (a drain started by shutdown_fd finished),
 * then join the threads. Returns like http_server_shutdown. */
int http_server_wait(struct http_server *srv);

void http_server_stats(const struct http_server *srv, struct http_server_stats *out);

/* Release everything; shuts down first if still running. Accepts NULL. */
void http_server_free(struct http_server *srv);

/* Sites: several listeners on one server, each with a handler of its own,
 * sharing the network thread, the worker pool and the server's caps (how
 * one runtime process serves the apps of many pods). A server whose config
 * has neither listen nor listen_fd starts without a listener; sites are
 * added and removed while it runs, from any thread but a worker. */
struct http_site;

struct http_site_config {
	int listen_fd;           /* an open listening socket, taken over on success */
	http_handler_fn handler; /* runs on a worker, as the server's handler */
	void *user;
	bool (*stream_request)(void *user, const struct http_request *req); /* or NULL */
	unsigned max_conns;      /* its open connections, over: closed at accept; 0: none of its own */
	unsigned max_in_flight;  /* its requests queued or at a worker, over: 503; 0: none of its own */
};

/* Start serving cfg->listen_fd with cfg->handler. -ESHUTDOWN once the
 * server drains, -EINVAL for a bad descriptor or no handler. *out stays
 * valid until http_site_remove returns (or http_server_free). */
int http_server_add_site(struct http_server *srv, const struct http_site_config *cfg, struct http_site **out,
			 struct sk_error *err);

/* The site's bound local port. */
unsigned http_site_port(const struct http_site *site);

/* The site's own counters (the server's are the sum over its sites). */
void http_site_stats(const struct http_site *site, struct http_server_stats *out);

/* Stop the site: close its listener, close its idle connections, let its
 * requests in progress finish (their responses say Connection: close), and
 * after deadline_ms close what is still open and answer its queued requests
 * with 503. Returns when no request of the site is at a worker any more
 * (its handler is never called again) and frees the site: 0, or -ETIMEDOUT
 * when the deadline cut something off. Other sites are not disturbed. */
int http_site_remove(struct http_site *site, unsigned deadline_ms);

/* Make a removal in progress (http_site_remove on another thread, or one
 * that follows) act as if its deadline had passed: its connections are
 * closed and its queued requests answered 503 at once. Requests at a worker
 * still run to their end. Thread-safe; the site must not be freed yet. */
void http_site_cut(struct http_site *site);

/* Reason phrase for a status code ("" when not known: RFC 9112 allows it). */
const char *http_reason_phrase(int status);

#endif
