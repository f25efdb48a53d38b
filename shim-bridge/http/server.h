/* The HTTP/1.1 server spin-bridge serves Spin apps on.
 *
 * One network thread owns every socket: it accepts, reads, parses (parser.h),
 * writes and enforces the timeouts and caps, all non-blocking on epoll. A
 * complete request goes through a bounded queue to a pool of worker threads;
 * the handler runs there (it may run a WebAssembly guest for seconds) and
 * fills a response, which goes back to the network thread through an
 * eventfd. The worker count is the cap on concurrent guest instances.
 *
 * Lifecycle: http_server_config_init -> adjust -> http_server_new ->
 * http_server_start -> ... -> http_server_shutdown (or http_server_wait when
 * config.shutdown_fd triggers the drain) -> http_server_free. */
#ifndef SPINKUBE_HTTP_SERVER_H
#define SPINKUBE_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "parser.h"

struct http_server;

/* A complete request, read-only for the handler and valid only during the
 * handler call (everything points into the connection's reused buffers). */
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
};

/* The request body. Buffered now: the whole body, NUL-terminated, borrowed
 * from the request. A later version may stream; callers that read through
 * this function will keep working. */
const char *http_request_body(const struct http_request *req, size_t *len);

/* First request header named name (case-insensitive) or NULL; borrowed. */
const char *http_request_header(const struct http_request *req, const char *name);

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
};

/* Add a response header (copied). Content-Length, Transfer-Encoding,
 * Connection and Keep-Alive are the server's: they are ignored (return 0).
 * Returns -EINVAL for a name that is not a token or a value with CR, LF or
 * NUL, -E2BIG past the header caps (64 KiB, 100 fields). */
int http_response_add_header(struct http_response *resp, const char *name, const char *value);

/* Append to the body (copied). -E2BIG past the response cap, -ENOMEM. */
int http_response_append(struct http_response *resp, const void *data, size_t len);

/* Drop the body and headers set so far (status is kept). */
void http_response_clear(struct http_response *resp);

/* Runs on a worker thread. Must fill resp; must not keep req or resp. */
typedef void (*http_handler_fn)(void *user, const struct http_request *req, struct http_response *resp);

struct http_server_config {
	const char *listen;   /* "host:port", "[::]:80", "0.0.0.0:80"; or NULL */
	int listen_fd;        /* an open listening socket (taken over), or -1 */
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
	const char *server_name; /* "Server:" value, or NULL for none */
};

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

/* Reason phrase for a status code ("" when not known: RFC 9112 allows it). */
const char *http_reason_phrase(int status);

#endif
