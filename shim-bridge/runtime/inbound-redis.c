/* The fermyon:spin/inbound-redis handler: one Redis message's payload
 * passed to handle-message on a fresh instance, in a store whose data is
 * the host context of shim-bridge/wasi/ (so the guest has Spin's variables,
 * key-value, outbound HTTP and Redis, SQLite and the rest, as a wasi:http
 * component does). */
#include "shim-bridge/runtime/handler-int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "shim-bridge/wasi/http.h"

/* The error case a guest returned in result<_, error> (an enum), as text. */
static void error_case(const wasmtime_component_val_t *res, char *out, size_t size)
{
	const wasmtime_component_val_t *e = res->of.result.val;

	if (e && e->kind == WASMTIME_COMPONENT_ENUM)
		snprintf(out, size, "%.*s", (int)e->of.enumeration.size, e->of.enumeration.data);
	else
		snprintf(out, size, "error");
}

int sb_inbound_redis_call(struct sb_component *c, const uint8_t *payload, size_t len, struct sk_error *err)
{
	struct wh_ctx ctx;
	wasmtime_store_t *store;
	wasmtime_context_t *cx;
	wasmtime_component_instance_t inst;
	wasmtime_component_func_t fn;
	wasmtime_component_val_t arg, res;
	wasmtime_error_t *we;
	int r;

	if (!c->redis_fn)
		return sk_err(err, -EINVAL, "component \"%s\" exports no fermyon:spin/inbound-redis", c->id);
	r = sb_wh_store(c, &ctx, &store, err);
	if (r < 0)
		return r;
	cx = wasmtime_store_context(store);
	we = wasmtime_component_linker_instantiate(c->clinker, cx, c->component, &inst);
	if (we) {
		r = sb_wasm_fail(c, we, NULL, NULL, err);
	} else if (!wasmtime_component_instance_get_func(&inst, cx, c->redis_fn, &fn)) {
		r = sk_err(err, -EIO, "fermyon:spin/inbound-redis#handle-message is not a function");
	} else {
		wh_val_bytes(&arg, payload, len);
		memset(&res, 0, sizeof(res));
		res.kind = WASMTIME_COMPONENT_BOOL;
		we = wasmtime_component_func_call(&fn, cx, &arg, 1, &res, 1);
		wasmtime_component_val_delete(&arg);
		if (we && ctx.timed_out) {
			wasmtime_error_delete(we);
			r = sk_err(err, -ETIMEDOUT, "timed out after %llu ms waiting for I/O",
				   (unsigned long long)c->timeout_ms);
		} else if (we) {
			r = sb_wasm_fail(c, we, NULL, NULL, err);
		} else if (res.kind != WASMTIME_COMPONENT_RESULT) {
			r = sk_err(err, -EPROTO, "handle-message returned something other than a result");
		} else if (!res.of.result.is_ok) {
			char what[64];
			error_case(&res, what, sizeof(what));
			r = sk_err(err, -EIO, "handle-message returned error (%s)", what);
		}
		if (!we)
			wasmtime_component_val_delete(&res);
	}
	wasmtime_store_delete(store);
	wh_ctx_release(&ctx);
	wh_http_release(&ctx);
	return r;
}
