/* The wasi:http/incoming-handler glue: a store whose data is the host
 * context of shim-bridge/wasi/ (no wasmtime WASI: the host interfaces are
 * ours), an instance, and the exchange handed to wasi/http.c with both
 * bodies streamed. */
#include "shim-bridge/runtime/handler-int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "shim-bridge/wasi/http.h"

int sb_wh_store(struct sb_component *c, struct wh_ctx *ctx, wasmtime_store_t **out,
			   struct sk_error *err)
{
	wasmtime_store_t *store;

	wh_ctx_init(ctx, &c->wenv, c->timeout_ms);
	store = wasmtime_store_new(c->engine->engine, ctx, NULL);
	if (!store)
		return sk_err(err, -ENOMEM, "cannot create a store");
	wasmtime_store_limiter(store, (int64_t)c->max_memory, -1, -1, -1, -1);
	sb_store_deadline(c, store);
	*out = store;
	return 0;
}

int sb_wasi_http_instantiate_once(struct sb_component *c, struct sk_error *err)
{
	struct wh_ctx ctx;
	wasmtime_store_t *store;
	wasmtime_component_instance_t inst;
	wasmtime_error_t *we;
	int r = sb_wh_store(c, &ctx, &store, err);

	if (r < 0)
		return r;
	we = wasmtime_component_linker_instantiate(c->clinker, wasmtime_store_context(store), c->component, &inst);
	wasmtime_store_delete(store);
	wh_ctx_release(&ctx);
	if (we)
		return sb_wasm_fail(c, we, NULL, NULL, err);
	return 0;
}

/* The error of a failed exchange (herr, from wh_http_handle): the I/O
 * deadline, the client gone (-EPIPE), the host's reason when it had one, or
 * wasmtime's words for the trap. we is owned. */
static int exchange_fail(struct sb_component *c, const struct wh_ctx *ctx, wasmtime_error_t *we,
			 const struct sk_error *herr, struct sk_error *err)
{
	if (we && ctx->timed_out) {
		wasmtime_error_delete(we);
		return sk_err(err, -ETIMEDOUT, "timed out after %llu ms waiting for I/O",
			      (unsigned long long)c->timeout_ms);
	}
	if (we && herr->code != -EPIPE && !herr->message[0])
		return sb_wasm_fail(c, we, NULL, NULL, err);
	if (we)
		wasmtime_error_delete(we);
	return sk_err(err, herr->code == -EPIPE ? -EPIPE : -EIO, "%s", herr->message);
}

int sb_wasi_http_call(struct sb_component *c, const struct http_request *req, const struct sk_kv *headers,
		      size_t n_headers, struct http_response *resp, bool *started, struct sk_error *err)
{
	struct wh_ctx ctx;
	wasmtime_store_t *store;
	wasmtime_context_t *cx;
	wasmtime_component_instance_t inst;
	wasmtime_component_func_t fn;
	wasmtime_error_t *we;
	struct sk_error herr = { 0 };
	int r;

	*started = false;
	r = sb_wh_store(c, &ctx, &store, err);
	if (r < 0)
		return r;
	cx = wasmtime_store_context(store);
	we = wasmtime_component_linker_instantiate(c->clinker, cx, c->component, &inst);
	if (we)
		r = sb_wasm_fail(c, we, NULL, NULL, err);
	else if (!wasmtime_component_instance_get_func(&inst, cx, c->export_fn, &fn))
		r = sk_err(err, -EIO, "wasi:http/incoming-handler#handle is not a function");
	else if (wh_http_handle(&ctx, cx, &fn, req, headers, n_headers, resp, started, &we, &herr) < 0)
		r = exchange_fail(c, &ctx, we, &herr, err);
	else if (we)
		wasmtime_error_delete(we); /* the exchange completed all the same */
	wasmtime_store_delete(store);
	wh_ctx_release(&ctx);
	wh_http_release(&ctx);
	return r;
}
