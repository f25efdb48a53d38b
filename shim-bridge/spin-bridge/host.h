/* An app host: one Spin app loaded from its folder (spin.toml or a locked
 * app), its runtime config, variables and key-value stores, one prepared
 * handler per component and the router, on an engine the caller owns and
 * may share with other hosts. The host answers HTTP requests as an
 * http_handler_fn; it owns no listener, threads or signals, so one process
 * can hold several (spin-bridge holds one). */
#ifndef SPIN_BRIDGE_HOST_H
#define SPIN_BRIDGE_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "shim-bridge/http/server.h"
#include "shim-bridge/runtime/engine.h"
#include "shim-bridge/spin-bridge/options.h"

struct app;
struct sb_host;

/* What the app sees of its process: its environment (variables,
 * SPIN_VARIABLE_*) and where its guests' output and the host's records go.
 * NULL members: the process's environ, stderr. */
struct sb_host_env {
	const char *const *environ;
	const struct sk_log_sink *log;
	const char *ca_file; /* CA bundle for its guests' outbound HTTPS; NULL:
			      * $SPIN_OUTBOUND_CA_FILE, else the system's */
	bool cancellable; /* sb_host_cancel may stop running guests (a check
			   * every 100 ms of a guest's run) */
};

/* Load opts->from and prepare every component it routes to on engine, each
 * instance capped at opts->max_instance_memory (at most the engine's).
 * opts, engine and env's members are borrowed: they must outlive the host.
 * env may be NULL. On success *out is the caller's (sb_host_free). */
int sb_host_load(const struct bridge_options *opts, struct sb_engine *engine, const struct sb_host_env *env,
		 struct sb_host **out, struct sk_error *err);

/* The handler and streaming choice for the HTTP server; user is the host. */
void sb_host_handle(void *user, const struct http_request *req, struct http_response *resp);
bool sb_host_wants_stream(void *user, const struct http_request *req);

/* Stop the guests running on the host within 100 ms (their requests fail)
 * and every later one at once; only with env->cancellable. Thread-safe. */
void sb_host_cancel(struct sb_host *host);

/* The loaded app (borrowed). */
const struct app *sb_host_app(const struct sb_host *host);

/* One Redis trigger of the app, its templates expanded with the app's
 * variables at load and its address checked (wasi/redis-conn.h). Strings
 * are the host's. */
struct sb_redis_route {
	const char *trigger_id;
	const char *component_id;
	const char *address; /* may hold a password: never log it */
	const char *shown;   /* redis://host:port, for messages */
	const char *channel;
	struct sb_component *component; /* exports fermyon:spin/inbound-redis */
};

/* The app's Redis triggers (*out borrowed from the host), their count. */
size_t sb_host_redis_routes(const struct sb_host *host, const struct sb_redis_route **out);

/* True when the app has HTTP triggers to serve. */
bool sb_host_serves_http(const struct sb_host *host);

/* In an app with both HTTP and Redis triggers the two share the instance
 * budget (opts->max_concurrent, which under a memory limit is what fits):
 * a Redis message takes a slot while it runs, waiting for one when every
 * slot is busy, and HTTP requests take them too. A no-op in other apps. */
void sb_host_slot_take(struct sb_host *host);
void sb_host_slot_give(struct sb_host *host);

/* The CA bundle the app's TLS clients verify servers against (its own,
 * env->ca_file, else $SPIN_OUTBOUND_CA_FILE), or NULL: OpenSSL's defaults.
 * Borrowed. */
const char *sb_host_ca_file(const struct sb_host *host);

/* What the app's code costs: the sum of its components' shares of their
 * compiled code (sb_engine_code_share: code that apps of one image share
 * is divided among them). Thread-safe. */
uint64_t sb_host_code_bytes(const struct sb_host *host);

/* One log line per public route. */
void sb_host_log_routes(const struct sb_host *host);

/* Accepts NULL. No request may be running on it. */
void sb_host_free(struct sb_host *host);

#endif
