/* The REST client: one libcurl multi handle shared by every request, so that
 * connections are kept alive and reused, HTTP/2 streams are multiplexed when
 * the server offers h2, and many requests (and long-running watches) are in
 * flight at once, driven by one event loop (kube_client_run).
 *
 * Requests are asynchronous (kube_client_do with a completion callback) or
 * synchronous (kube_client_call, which runs the loop until its own request
 * finishes while the other transfers keep going). A client-side token bucket
 * (qps, burst) paces the start of requests; watches are not paced once open.
 *
 * Errors: every failure gives the caller the HTTP status and the decoded
 * metav1.Status reason and message in struct sk_error, and a negative errno:
 *   -ENOENT NotFound (404)          -EEXIST AlreadyExists (409)
 *   -ESTALE Conflict (409: the resourceVersion is out of date)
 *   -EIDRM  Gone / Expired (410: the resourceVersion is too old to watch from)
 *   -EKEYREJECTED Unauthorized (401)  -EACCES Forbidden (403)
 *   -EINVAL Invalid or BadRequest (422, 400)
 *   -EAGAIN TooManyRequests, ServiceUnavailable, Timeout (429, 503, 504)
 *   -EPROTO any other HTTP error or a malformed response
 *   -E2BIG  the response body passed the client's cap
 *   -ETIMEDOUT, -ECONNREFUSED, -EHOSTUNREACH, -ECONNRESET transport failures
 *
 * Ownership: the client borrows its config: cfg must outlive the client (it is
 * read again to run an exec plugin or re-read a token file). Responses handed to callbacks are borrowed for
 * the callback's duration; kube_client_call's response is the caller's
 * (kube_response_clear). */
#ifndef SPINKUBE_KUBE_CLIENT_H
#define SPINKUBE_KUBE_CLIENT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "controller/kube/config.h"
#include "common/err.h"

struct kube_client;

struct kube_client_opts {
	double qps;              /* requests started per second; default 50 */
	int burst;               /* bucket size; default 100 */
	long timeout_ms;         /* whole request, not watches; default 30000 */
	long connect_timeout_ms; /* default 10000 */
	size_t max_body;         /* response body cap; default 256 MiB */
	const char *user_agent;  /* default "spinkube-c/<version>" */
	bool http1_only;         /* do not offer h2 */
	int max_in_flight;       /* requests (not watches) running at once; more wait; default 64 */
};

struct kube_response {
	long status;       /* HTTP status; 0 when the transfer failed */
	struct sk_buf body;
	json_object *json; /* body parsed when it was JSON (owned), else NULL */
};
void kube_response_clear(struct kube_response *r);

/* A request. Strings are copied when the request starts. */
struct kube_request {
	const char *method;       /* GET, POST, PUT, PATCH, DELETE */
	const char *path;         /* absolute API path with the query, from kube_path */
	const char *body;         /* or NULL */
	size_t body_len;
	const char *content_type; /* default application/json when there is a body */
};

/* Called once when a request finishes. r is NULL-free; on failure rc < 0 and
 * err says why (with the HTTP status and Status reason when there was one). */
typedef void (*kube_done_fn)(int rc, struct kube_response *r, const struct sk_error *err, void *userdata);

/* Streaming: called with each chunk of the body as it arrives (watches).
 * Return 0 to go on, negative to abort the transfer with that error. */
typedef int (*kube_chunk_fn)(const char *data, size_t len, void *userdata);

int kube_client_new(const struct kube_config *cfg, const struct kube_client_opts *opts,
		    struct kube_client **out, struct sk_error *err);
void kube_client_free(struct kube_client *c);

/* Start a request; done is called from kube_client_run. Returns an id (> 0) for
 * kube_client_cancel, or a negative errno when it cannot even be queued. */
int64_t kube_client_do(struct kube_client *c, const struct kube_request *req, kube_done_fn done, void *userdata);

/* Start a streaming request (no overall timeout; a low-speed limit detects a
 * stalled connection after stall_ms without a byte). chunk receives the body of
 * a 2xx response; a non-2xx body is collected and decoded for done. */
int64_t kube_client_stream(struct kube_client *c, const struct kube_request *req, long stall_ms,
			   kube_chunk_fn chunk, kube_done_fn done, void *userdata);

/* Abort a request that has not finished; its done callback is not called. */
void kube_client_cancel(struct kube_client *c, int64_t id);

/* Run the loop: wait at most timeout_ms for activity, then move transfers
 * along, call completions and fire due timers. Returns 0 or a negative errno. */
int kube_client_run(struct kube_client *c, int timeout_ms);

/* Make a kube_client_run that is waiting return now (safe from a signal
 * handler or another thread). */
void kube_client_wakeup(struct kube_client *c);

/* File descriptors the loop watches beside curl's (a small server living
 * on the same loop): fn is called from kube_client_run with the poll
 * revents when fd is ready for events (POLLIN, POLLOUT). Watching an fd
 * again replaces its events and callback. Returns 0, or -ENOSPC past
 * KUBE_CLIENT_MAX_FDS. */
#define KUBE_CLIENT_MAX_FDS 64
typedef void (*kube_fd_fn)(int fd, short revents, void *userdata);
int kube_client_watch_fd(struct kube_client *c, int fd, short events, kube_fd_fn fn, void *userdata);
void kube_client_unwatch_fd(struct kube_client *c, int fd);

/* Called once for every finished transfer (each attempt, streams too) with
 * its method and HTTP status (0 when no response came): request metrics.
 * NULL fn removes it. */
typedef void (*kube_request_observer_fn)(const char *method, long status, void *userdata);
void kube_client_observe(struct kube_client *c, kube_request_observer_fn fn, void *userdata);

/* Synchronous request: start it and run the loop until it finishes. Fills
 * *resp (caller clears) whatever the outcome; returns 0 for a 2xx status. */
int kube_client_call(struct kube_client *c, const struct kube_request *req, struct kube_response *resp,
		     struct sk_error *err);

/* Timers on the loop, for backoff and resync. fire is called once from
 * kube_client_run after delay_ms. Returns an id (> 0) or -ENOMEM. */
typedef void (*kube_timer_fn)(void *userdata);
int64_t kube_client_timer(struct kube_client *c, long delay_ms, kube_timer_fn fire, void *userdata);
void kube_client_timer_cancel(struct kube_client *c, int64_t id);

/* Milliseconds on a monotonic clock. */
int64_t kube_now_ms(void);

/* Requests in flight or waiting for the rate limiter (for tests and metrics). */
size_t kube_client_active(const struct kube_client *c);

/* Count of TCP connections the client opened so far (keep-alive check). */
long kube_client_connections(const struct kube_client *c);

/* Turn a finished response into 0 or an error as described at the top. */
int kube_status_error(long status, const char *body, size_t len, struct sk_error *err);

#endif
