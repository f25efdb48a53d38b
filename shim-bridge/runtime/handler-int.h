/* What the handler files of shim-bridge/runtime/ share, and nothing else
 * includes: the wasmtime-WASI store of WAGI and inbound-http requests
 * (store.c), turning wasmtime's failures into the error convention, and the
 * wasi:http start-up check (wasi-http.c). */
#ifndef SPIN_BRIDGE_HANDLER_INT_H
#define SPIN_BRIDGE_HANDLER_INT_H

#include "shim-bridge/runtime/handler.h"
#include "shim-bridge/wasi/guest-log.h"

/* What a store's guest writes goes to: stdout into `capture` (WAGI: the
 * CGI response, capped by its max; `over` set when a write did not fit, so
 * the guest saw a write error) or, when capture is NULL, to out_log;
 * stderr always to err_log. Must outlive the store. */
struct sb_stdio {
	struct sk_buf *capture;
	bool over;
	struct wh_guest_log out_log, err_log;
};

/* Start sb_stdio for component c with the component's log sink. */
void sb_stdio_init(struct sb_stdio *io, const struct sb_component *c, struct sk_buf *capture);
/* Report unterminated lines left in the logs. */
void sb_stdio_flush(struct sb_stdio *io);

/* A fresh store for one request: memory cap, CPU deadline, wasmtime's WASI
 * with the component's files and environment plus `extra`, stdin bytes,
 * and io for stdout/stderr. *out is the caller's (wasmtime_store_delete). */
int sb_store_new(struct sb_component *c, const char *const *argv, size_t argc, const struct sk_kv *extra,
		 size_t n_extra, const uint8_t *stdin_bytes, size_t stdin_len, struct sb_stdio *io,
		 wasmtime_store_t **out, struct sk_error *err);

/* Record wasmtime's error or trap (both owned, either may be NULL) as one
 * line, as sb_describe_failure words it: -ETIMEDOUT for the deadline, else
 * -EIO. suffix, when not NULL, is appended to the line. */
int sb_wasm_fail(const struct sb_component *c, wasmtime_error_t *we, wasm_trap_t *trap, const char *suffix,
		 struct sk_error *err);

/* The start-up instance of a wasi:http or inbound-redis component (a store
 * whose data is the host context). */
int sb_wasi_http_instantiate_once(struct sb_component *c, struct sk_error *err);

/* A store for one call of such a component: its data ctx (initialised
 * here; release it after wasmtime_store_delete with wh_ctx_release and
 * wh_http_release). */
int sb_wh_store(struct sb_component *c, struct wh_ctx *ctx, wasmtime_store_t **out, struct sk_error *err);

/* Give store the component's request deadline: epoch ticks, and with a
 * cancel flag a check every 100 ms that ends the guest when it is set. */
void sb_store_deadline(const struct sb_component *c, wasmtime_store_t *store);

#endif
