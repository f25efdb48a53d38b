/* The controller's small HTTP server: /metrics (the registry's page) and the
 * health probes (/healthz, /readyz), each on its own address, as
 * controller-runtime serves them (--metrics-bind-address,
 * --health-probe-bind-address).
 *
 * It lives on the controller's event loop: its sockets are watched by the
 * kube_client's poll (kube_client_watch_fd), the token reviews it makes are
 * the client's asynchronous requests, and its timeouts a timer of the loop.
 * So nothing here needs a lock, and a scrape reads the registry between two
 * reconcile steps.
 *
 * Bounded: at most METRICS_MAX_CONNS connections at once (the listeners
 * are not polled while that many are open), a request head of at most
 * METRICS_MAX_HEAD bytes, no request body, and METRICS_CONN_TIMEOUT_MS for
 * the whole exchange (TLS handshake, request, reviews, response). One
 * request per connection: the answer says "Connection: close".
 *
 * Secure metrics (HTTPS, the default as in controller-runtime): the request
 * needs "Authorization: Bearer <token>"; the token goes to a TokenReview
 * (authentication.k8s.io/v1), the user it names to a SubjectAccessReview
 * (authorization.k8s.io/v1, non-resource path /metrics, verb get). 401 when
 * there is no token or the apiserver does not know it, 403 when it denies
 * the user; answers are cached (review-cache.h). The certificate is
 * tls.crt/tls.key from cert_dir, or one made at start (self-signed, P-256),
 * as controller-runtime does without a certificate.
 *
 * Library code: it does not log; what went wrong comes back in sk_error. */
#ifndef SPINKUBE_CONTROLLER_METRICS_SERVER_H
#define SPINKUBE_CONTROLLER_METRICS_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "controller/kube/client.h"
#include "controller/metrics/metrics.h"

#define METRICS_MAX_CONNS 32
#define METRICS_MAX_HEAD 8192
#define METRICS_CONN_TIMEOUT_MS 10000
#define METRICS_PAGE_MAX (4u << 20)

/* Is addr a bind address: "0" (off), or [host]:port with a port from 0 to
 * 65535 (":8080", "127.0.0.1:8080", "[::1]:8080", "localhost:0")? Pure;
 * fills host (empty: every address) and *port, and returns 0, 1 for "0",
 * or -EINVAL with a message naming flag and the fix. */
int metrics_bind_parse(const char *flag, const char *addr, char *host, size_t hsize, int *port,
		       struct sk_error *err);

struct metrics_server_opts {
	const char *metrics_addr; /* NULL or "0": no metrics endpoint */
	bool secure;              /* HTTPS with authentication and authorization */
	const char *cert_dir;     /* tls.crt and tls.key; NULL: self-signed */
	const char *health_addr;  /* NULL or "0": no probes */
	struct ctrl_metrics *metrics; /* borrowed; read at each scrape */
	/* Asked at each probe / scrape; any may be NULL (then: ok). */
	bool (*ready)(void *ud);
	bool (*healthy)(void *ud);
	void (*collect)(void *ud, struct ctrl_metrics *m); /* refresh gauges */
	void *ud;
};

struct metrics_server;

/* Bind the listeners and watch them on c's loop. Returns 0, or a negative
 * errno with the reason (address in use, certificate unreadable) in err. */
int metrics_server_new(struct kube_client *c, const struct metrics_server_opts *o, struct metrics_server **out,
		       struct sk_error *err);
/* Close every connection and listener, cancel the reviews in flight. */
void metrics_server_free(struct metrics_server *s);

/* The address a listener got ("127.0.0.1:8080", "[::]:8443"), for the log:
 * health false for the metrics endpoint. "" when that one is off. */
void metrics_server_addr(const struct metrics_server *s, bool health, char *out, size_t size);

/* --- tls.c --------------------------------------------------------------------------- */

typedef struct ssl_ctx_st SSL_CTX;
/* A server context for TLS 1.2 and later with cert_dir's tls.crt and
 * tls.key, or (cert_dir NULL) a self-signed P-256 certificate for
 * localhost made now. Caller frees with SSL_CTX_free. */
int metrics_tls_context(const char *cert_dir, SSL_CTX **out, struct sk_error *err);

#endif
