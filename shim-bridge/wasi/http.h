/* wasi:http 0.2 host side: the types interface, the incoming request handed
 * to a component's wasi:http/incoming-handler, and outgoing-handler over
 * outbound.h. Bodies stream both ways: the request body is read from the
 * connection as the guest reads its input-stream, and the response goes out
 * as the guest writes its output-stream (http_response_start/write/finish),
 * so neither is held whole. */
#ifndef SPIN_BRIDGE_WASI_HTTP_H
#define SPIN_BRIDGE_WASI_HTTP_H

#include <wasmtime.h>

#include "common/err.h"
#include "shim-bridge/wasi/host.h"
#include "shim-bridge/http/server.h"

/* The message of -EPIPE: the client closed while the body was sent. */
#define WH_CLIENT_GONE "the client went away while the body was sent"

/* Bytes a guest may write to a response body before it sets the response
 * (they are held until then). */
#define WH_PRESET_BODY_MAX ((size_t)1 << 20)

/* Call wasi:http/incoming-handler#handle on an instance for one request.
 * ctx is the store's data (wh_ctx_init done); fn the instance's handle;
 * headers are what the guest sees (the request's plus Spin's spin-* ones).
 * Fills resp (streamed or buffered). Returns 0 when the exchange completed,
 * or a negative errno with a one-line reason in err (may be NULL; the
 * caller logs it and, when the response has not started, answers 500; when
 * it has, the connection is cut so the client sees a truncated body):
 * -ENOMEM when the exchange could not be set up, -EIO when the call itself
 * failed (trap, timeout: *trap then receives wasmtime's error, owned by the
 * caller, and err's message is the host's reason if it had one, else "") or
 * the response could not be sent, -EPROTO when the guest set no response,
 * answered with an error-code or left the body unfinished, -EPIPE when the
 * client went away while the body was sent (trapped or not; *trap is set
 * when it trapped).
 * *started says whether the response head went out, in every case. */
int wh_http_handle(struct wh_ctx *ctx, wasmtime_context_t *cx, const wasmtime_component_func_t *fn,
		   const struct http_request *req, const struct sk_kv *headers, size_t n_headers,
		   struct http_response *resp, bool *started, wasmtime_error_t **trap, struct sk_error *err);

/* Free what the exchange kept (call after wh_ctx_release). */
void wh_http_release(struct wh_ctx *ctx);

#endif
