/* One Spin component made ready to serve: compiled once, linked once, then a
 * fresh instance in a fresh store for every request.
 *
 * component.c prepares and frees it; wagi.c, inbound-http.c and wasi-http.c
 * run one request of each handler kind; store.c makes the wasmtime-WASI
 * store the first two share.
 *
 * The handler kind comes from the binary: a core module is a WAGI program (a
 * WASI preview 1 command); a component exporting fermyon:spin/inbound-http is
 * called with plain request/response records; a component exporting
 * wasi:http/incoming-handler gets the incoming request as host resources
 * (shim-bridge/wasi/) with both bodies streamed; a component exporting
 * fermyon:spin/inbound-redis gets each Redis message as its payload
 * (inbound-redis.c), with the same host interfaces as a wasi:http one. */
#ifndef SPIN_BRIDGE_HANDLER_H
#define SPIN_BRIDGE_HANDLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/kv.h"
#include "common/log.h"
#include "shim-bridge/http/server.h"
#include <stdatomic.h>

#include "shim-bridge/runtime/engine.h"
#include "shim-bridge/wasi/host.h"

/* SB_HANDLER_INBOUND_REDIS: a component exporting fermyon:spin/inbound-redis
 * and no HTTP handler; a wasi:http component may export it too (then
 * redis_fn is set on a SB_HANDLER_WASI_HTTP component). */
enum sb_handler_kind { SB_HANDLER_WAGI, SB_HANDLER_INBOUND_HTTP, SB_HANDLER_WASI_HTTP, SB_HANDLER_INBOUND_REDIS };

/* How one component runs. All strings are borrowed for the call only. */
struct sb_component_opts {
	const char *id;           /* component id, for logs and errors */
	const char *source;       /* file name, for errors */
	const char *files_dir;    /* host folder the guest sees as "/", or NULL */
	const struct sk_kv *env;  /* the component's environment */
	size_t n_env;
	const char *entrypoint;   /* WAGI export to call; NULL: "_start" */
	size_t max_output;        /* cap on a WAGI program's stdout / a response body */
	uint64_t max_memory;      /* linear memory cap per instance, at most the
				   * engine's (0: the engine's) */
	uint64_t timeout_ms;      /* CPU time per request (0: the engine's) */
	/* When set (it must outlive the component), running guests stop within
	 * 100 ms of it turning true: a request fails with "the app was stopped". */
	const atomic_bool *cancel;
	/* what wasi:http components reach through Spin's interfaces */
	const struct sk_kv *vars; /* the component's variables, resolved */
	size_t n_vars;
	const char *const *kv_stores; /* key_value_stores it may open */
	size_t n_kv_stores;
	const char *const *allowed_hosts; /* allowed_outbound_hosts */
	size_t n_allowed_hosts;
	struct wh_kvdb *kvdb; /* key-value stores (wasi/kv-sqlite.h), owned by the caller */
	const char *const *sqlite_databases; /* sqlite_databases it may open */
	size_t n_sqlite_databases;
	struct wh_sqldb *sqldb; /* SQLite databases (wasi/sqlite-db.h), owned by the caller */
	/* where guest stdout/stderr lines go (wasi/guest-log.h); must outlive
	 * the component; NULL drops them */
	const struct sk_log_sink *log;
};

struct sb_component {
	struct sb_engine *engine;
	enum sb_handler_kind kind;
	char *id;
	char *files_dir;
	struct sk_kv *env; /* owned copies */
	size_t n_env;
	char *entrypoint;
	size_t max_output;
	uint64_t max_memory; /* per instance: the engine's or less */
	uint64_t timeout_ms; /* per request: its own or the engine's */
	uint64_t epoch_ticks; /* timeout_ms in epoch ticks */
	const atomic_bool *cancel; /* or NULL */
	bool from_cache;
	double compile_ms;
	char digest[65]; /* its code's key in the engine (sb_engine_release) */
	bool shared_linker; /* linker / clinker are the engine's */
	/* core module (WAGI) */
	wasmtime_module_t *module;
	wasmtime_linker_t *linker;
	wasmtime_instance_pre_t *pre;
	/* component */
	wasmtime_component_t *component;
	wasmtime_component_linker_t *clinker;
	wasmtime_component_export_index_t *export_fn; /* the HTTP handler's function */
	wasmtime_component_export_index_t *redis_fn;  /* inbound-redis handle-message, or NULL */
	/* what the host interfaces see (points into c and the copies below) */
	struct wh_component_env wenv;
	struct sk_kv *vars;
	char **kv_stores, **allowed_hosts, **sqlite_databases;
};

/* Compile (or map from the cache), detect the handler kind, link, and check
 * once that an instance can be made. *out is owned by the caller
 * (sb_component_free). */
int sb_component_prepare(struct sb_engine *e, const uint8_t *wasm, size_t len, const struct sb_component_opts *o,
			 struct sb_component **out, struct sk_error *err);
void sb_component_free(struct sb_component *c);

/* Errors of the calls below: 0, or a negative errno with one line in err
 * (may be NULL):
 *   -ETIMEDOUT  the CPU or I/O deadline passed
 *   -EFBIG      output or a response body over the component's cap
 *   -EPROTO     a malformed response from the guest
 *   -ENOMEM     out of memory, or no store could be made
 *   -EIO        a trap, a non-zero exit status, or any other failure */

/* What every request pays before the guest runs: a fresh store with WASI,
 * an instance, then the store dropped. The benchmarks time it; prepare uses
 * it as a start-up check. */
int sb_component_instantiate_once(struct sb_component *c, struct sk_error *err);
const char *sb_handler_kind_name(enum sb_handler_kind k);

/* Run a WAGI program: fresh instance, argv, env (the component's own first,
 * then `env`), stdin = body; its stdout is appended to *out (an empty
 * buffer the caller frees; its max is set to the component's max_output).
 * Returns 0 when the program ran to the end (exit status 0), else an error
 * above (trap, timeout, exit status, output over the cap). Guest stderr
 * goes to the component's log sink, line by line. */
int sb_wagi_run(struct sb_component *c, const char *const *argv, size_t argc, const struct sk_kv *env, size_t n_env,
		const uint8_t *body, size_t body_len, struct sk_buf *out, struct sk_error *err);

/* The request record of fermyon:spin/inbound-http. */
struct sb_inbound_request {
	const char *method; /* "GET", ... */
	const char *uri;    /* path and query as received */
	const struct sk_kv *headers;
	size_t n_headers;
	const struct sk_kv *params;
	size_t n_params;
	const uint8_t *body;
	size_t body_len;
	bool has_body;
};

/* Its response, owned by the caller (sb_inbound_response_free). */
struct sb_inbound_response {
	unsigned status;
	char **header_names, **header_values;
	size_t n_headers;
	struct sk_buf body;
};
void sb_inbound_response_free(struct sb_inbound_response *r);

/* Call handle-request on a fresh instance. 0 with *resp filled, an error
 * above (trap, timeout, malformed response), or -ENOTSUP when the method is
 * one the interface cannot express (answer 405). */
int sb_inbound_http_call(struct sb_component *c, const struct sb_inbound_request *req,
			 struct sb_inbound_response *resp, struct sk_error *err);

/* Call wasi:http/incoming-handler on a fresh instance: the guest reads the
 * request body from the connection and writes its response straight to it
 * (resp streams). headers: what the guest sees (request + spin-*). 0 when
 * the exchange completed; else an error above, or -EPIPE when the client
 * went away while the body was sent (its message WH_CLIENT_GONE, wasi/http.h);
 * *started tells whether the response had begun (then the caller can only
 * cut it). */
int sb_wasi_http_call(struct sb_component *c, const struct http_request *req, const struct sk_kv *headers,
		      size_t n_headers, struct http_response *resp, bool *started, struct sk_error *err);

/* Call fermyon:spin/inbound-redis handle-message(payload) on a fresh
 * instance (c->redis_fn must be set). 0 when the guest returned ok; an
 * error above (trap, timeout), or -EIO naming the error case the guest
 * returned. */
int sb_inbound_redis_call(struct sb_component *c, const uint8_t *payload, size_t len, struct sk_error *err);

#endif
