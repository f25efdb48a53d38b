/* One Spin component made ready to serve: compiled once, linked once, then a
 * fresh instance in a fresh store for every request.
 *
 * The handler kind comes from the binary: a core module is a WAGI program (a
 * WASI preview 1 command); a component exporting fermyon:spin/inbound-http is
 * called with plain request/response records; a component exporting
 * wasi:http/incoming-handler gets the incoming request as host resources
 * (shim-bridge/wasi/) with both bodies streamed. */
#ifndef SPIN_BRIDGE_HANDLER_H
#define SPIN_BRIDGE_HANDLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shim-bridge/runtime/engine.h"
#include "common/err.h"
#include "shim-bridge/wasi/host.h"
#include "shim-bridge/http/server.h"

enum sb_handler_kind { SB_HANDLER_WAGI, SB_HANDLER_INBOUND_HTTP, SB_HANDLER_WASI_HTTP };

/* A NUL-terminated name/value pair; borrowed. */
struct sb_kv {
	const char *key;
	const char *value;
};

/* How one component runs. All strings are borrowed for the call only. */
struct sb_component_opts {
	const char *id;           /* component id, for logs and errors */
	const char *source;       /* file name, for errors */
	const char *files_dir;    /* host folder the guest sees as "/", or NULL */
	const struct sb_kv *env;  /* the component's environment */
	size_t n_env;
	const char *entrypoint;   /* WAGI export to call; NULL: "_start" */
	size_t max_output;        /* cap on a WAGI program's stdout / a response body */
	/* what wasi:http components reach through Spin's interfaces */
	const struct sb_kv *vars; /* the component's variables, resolved */
	size_t n_vars;
	const char *const *kv_stores; /* key_value_stores it may open */
	size_t n_kv_stores;
	const char *const *allowed_hosts; /* allowed_outbound_hosts */
	size_t n_allowed_hosts;
	void *spin_kv; /* key-value backends (runtime-config.h), owned by the caller */
};

/* A growable byte buffer with a hard cap; `over` is set when a write did not
 * fit (the guest sees a write error, the request gets a 500). */
struct sb_bytes {
	uint8_t *data;
	size_t len, cap, max;
	bool over;
};
void sb_bytes_free(struct sb_bytes *b);

struct sb_component {
	struct sb_engine *engine;
	enum sb_handler_kind kind;
	char *id;
	char *files_dir;
	char **env_keys, **env_values;
	size_t n_env;
	char *entrypoint;
	size_t max_output;
	bool from_cache;
	double compile_ms;
	/* core module (WAGI) */
	wasmtime_module_t *module;
	wasmtime_linker_t *linker;
	wasmtime_instance_pre_t *pre;
	/* component */
	wasmtime_component_t *component;
	wasmtime_component_linker_t *clinker;
	wasmtime_component_export_index_t *export_fn;
	/* wasi:http: what the host interfaces see (points into the copies below) */
	struct wh_component_env wenv;
	char **var_keys, **var_values, **kv_stores, **allowed_hosts;
};

/* Compile (or map from the cache), detect the handler kind, link, and check
 * once that an instance can be made. *out is owned by the caller
 * (sb_component_free). */
int sb_component_prepare(struct sb_engine *e, const uint8_t *wasm, size_t len, const struct sb_component_opts *o,
			 struct sb_component **out, struct sk_error *err);
void sb_component_free(struct sb_component *c);

/* What every request pays before the guest runs: a fresh store with WASI,
 * an instance, then the store dropped. 0, or -1 with the reason in `why`.
 * The benchmarks time it; prepare uses it as a start-up check. */
int sb_component_instantiate_once(struct sb_component *c, char *why, size_t why_size);
const char *sb_handler_kind_name(enum sb_handler_kind k);

/* Run a WAGI program: fresh instance, argv, env (the component's own first,
 * then `env`), stdin = body; its stdout is collected into *out (capped by
 * max_output). Returns 0 when the program ran to the end (exit status 0), or
 * -1 with a one-line reason in `why` (trap, timeout, exit status, output
 * over the cap). Guest stderr goes to the log, line by line. */
int sb_wagi_run(struct sb_component *c, const char *const *argv, size_t argc, const struct sb_kv *env, size_t n_env,
		const uint8_t *body, size_t body_len, struct sb_bytes *out, char *why, size_t why_size);

/* The request record of fermyon:spin/inbound-http. */
struct sb_inbound_request {
	const char *method; /* "GET", ... */
	const char *uri;    /* path and query as received */
	const struct sb_kv *headers;
	size_t n_headers;
	const struct sb_kv *params;
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
	struct sb_bytes body;
};
void sb_inbound_response_free(struct sb_inbound_response *r);

/* Call handle-request on a fresh instance. 0 with *resp filled, -1 with a
 * reason in `why` (trap, timeout, malformed response), or -2 when the method
 * is one the interface cannot express (answer 405). */
int sb_inbound_http_call(struct sb_component *c, const struct sb_inbound_request *req,
			 struct sb_inbound_response *resp, char *why, size_t why_size);

/* Call wasi:http/incoming-handler on a fresh instance: the guest reads the
 * request body from the connection and writes its response straight to it
 * (resp streams). headers: what the guest sees (request + spin-*). 0 when
 * the exchange completed; -1 with a reason in `why`, *started telling
 * whether the response had begun (then the caller can only cut it). */
int sb_wasi_http_call(struct sb_component *c, const struct http_request *req, const struct sb_kv *headers,
		      size_t n_headers, struct http_response *resp, bool *started, char *why, size_t why_size);

#endif
