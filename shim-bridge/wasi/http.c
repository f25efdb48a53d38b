/* wasi:http 0.2 on the host (see http.h): the interface tables, the helpers
 * every piece uses, and the call of a component's incoming-handler for one
 * request. The resources live beside it: http-fields.c (fields),
 * http-request.c (incoming request, body, trailers), http-response.c
 * (outgoing response, body, response-outparam, error-code) and
 * http-client.c (outgoing-handler and what it returns). */
#include "shim-bridge/wasi/http.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shim-bridge/wasi/http-internal.h"

wasmtime_error_t *wh_http_give(struct wh_ctx *ctx, wasmtime_context_t *cx, uint32_t type, void *obj, wh_drop_fn drop,
			       wasmtime_component_val_t *v)
{
	uint32_t rep = wh_add(ctx, type, obj, drop);
	if (!rep || wh_val_resource(cx, v, rep, type) < 0)
		return wh_trap("too many resources");
	return NULL;
}

void wh_http_free_drop(struct wh_ctx *ctx, void *obj)
{
	(void)ctx;
	free(obj);
}

/* Known methods are their own case; any other token is other(name). */
void wh_http_method_val(wasmtime_component_val_t *v, const char *m)
{
	static const char *const known[][2] = { { "GET", "get" },	  { "HEAD", "head" },	 { "POST", "post" },
						{ "PUT", "put" },	  { "DELETE", "delete" }, { "CONNECT", "connect" },
						{ "OPTIONS", "options" }, { "TRACE", "trace" },  { "PATCH", "patch" } };
	wasmtime_component_val_t s;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(m, known[i][0]) == 0) {
			wh_val_variant(v, known[i][1], NULL);
			return;
		}
	wh_val_cstring(&s, m);
	wh_val_variant(v, "other", &s);
}

/* --- tables ------------------------------------------------------------------------------- */

#define N(a) (sizeof(a) / sizeof((a)[0]))
static const struct wh_resource_def types_res[] = {
	{ "fields", WH_FIELDS },
	{ "incoming-request", WH_INCOMING_REQUEST },
	{ "outgoing-request", WH_OUTGOING_REQUEST },
	{ "request-options", WH_REQUEST_OPTIONS },
	{ "response-outparam", WH_RESPONSE_OUTPARAM },
	{ "incoming-response", WH_INCOMING_RESPONSE },
	{ "incoming-body", WH_INCOMING_BODY },
	{ "future-trailers", WH_FUTURE_TRAILERS },
	{ "outgoing-response", WH_OUTGOING_RESPONSE },
	{ "outgoing-body", WH_OUTGOING_BODY },
	{ "future-incoming-response", WH_FUTURE_INCOMING_RESPONSE },
};
static const struct wh_func_def types_funcs[] = {
	{ "[constructor]fields", wh_http_fields_ctor },
	{ "[static]fields.from-list", wh_http_fields_from_list },
	{ "[method]fields.get", wh_http_fields_get },
	{ "[method]fields.has", wh_http_fields_has },
	{ "[method]fields.set", wh_http_fields_set },
	{ "[method]fields.delete", wh_http_fields_del },
	{ "[method]fields.append", wh_http_fields_append },
	{ "[method]fields.entries", wh_http_fields_entries },
	{ "[method]fields.clone", wh_http_fields_clone_fn },
	{ "[method]incoming-request.method", wh_http_ireq_method },
	{ "[method]incoming-request.path-with-query", wh_http_ireq_path },
	{ "[method]incoming-request.scheme", wh_http_ireq_scheme },
	{ "[method]incoming-request.authority", wh_http_ireq_authority },
	{ "[method]incoming-request.headers", wh_http_ireq_headers },
	{ "[method]incoming-request.consume", wh_http_ireq_consume },
	{ "[constructor]outgoing-request", wh_http_oreq_ctor },
	{ "[method]outgoing-request.body", wh_http_oreq_body },
	{ "[method]outgoing-request.method", wh_http_oreq_method },
	{ "[method]outgoing-request.set-method", wh_http_oreq_set_method },
	{ "[method]outgoing-request.path-with-query", wh_http_oreq_path },
	{ "[method]outgoing-request.set-path-with-query", wh_http_oreq_set_path },
	{ "[method]outgoing-request.scheme", wh_http_oreq_scheme },
	{ "[method]outgoing-request.set-scheme", wh_http_oreq_set_scheme },
	{ "[method]outgoing-request.authority", wh_http_oreq_authority },
	{ "[method]outgoing-request.set-authority", wh_http_oreq_set_authority },
	{ "[method]outgoing-request.headers", wh_http_oreq_headers },
	{ "[constructor]request-options", wh_http_ropt_ctor },
	{ "[method]request-options.connect-timeout", wh_http_ropt_connect },
	{ "[method]request-options.set-connect-timeout", wh_http_ropt_set_connect },
	{ "[method]request-options.first-byte-timeout", wh_http_ropt_first },
	{ "[method]request-options.set-first-byte-timeout", wh_http_ropt_set_first },
	{ "[method]request-options.between-bytes-timeout", wh_http_ropt_between },
	{ "[method]request-options.set-between-bytes-timeout", wh_http_ropt_set_between },
	{ "[method]response-outparam.send-informational", wh_http_outparam_informational },
	{ "[static]response-outparam.set", wh_http_outparam_set },
	{ "[method]incoming-response.status", wh_http_iresp_status },
	{ "[method]incoming-response.headers", wh_http_iresp_headers },
	{ "[method]incoming-response.consume", wh_http_iresp_consume },
	{ "[method]incoming-body.stream", wh_http_ibody_stream },
	{ "[static]incoming-body.finish", wh_http_ibody_finish },
	{ "[method]future-trailers.subscribe", wh_http_trailers_subscribe },
	{ "[method]future-trailers.get", wh_http_trailers_get },
	{ "[constructor]outgoing-response", wh_http_oresp_ctor },
	{ "[method]outgoing-response.status-code", wh_http_oresp_status },
	{ "[method]outgoing-response.set-status-code", wh_http_oresp_set_status },
	{ "[method]outgoing-response.headers", wh_http_oresp_headers },
	{ "[method]outgoing-response.body", wh_http_oresp_body },
	{ "[method]outgoing-body.write", wh_http_obody_write },
	{ "[static]outgoing-body.finish", wh_http_obody_finish },
	{ "[method]future-incoming-response.subscribe", wh_http_future_subscribe },
	{ "[method]future-incoming-response.get", wh_http_future_get },
	{ "http-error-code", wh_http_http_error_code },
};
static const struct wh_func_def outgoing_funcs[] = { { "handle", wh_http_outgoing_handle } };

const struct wh_iface_def wh_http_ifaces[] = {
	{ "wasi:http/types@0.2.6", types_res, N(types_res), types_funcs, N(types_funcs) },
	{ "wasi:http/outgoing-handler@0.2.6", NULL, 0, outgoing_funcs, N(outgoing_funcs) },
};
const size_t wh_n_http_ifaces = N(wh_http_ifaces);

/* --- the incoming handler call ----------------------------------------------------------- */

static void outparam_drop(struct wh_ctx *ctx, void *obj)
{
	(void)ctx, (void)obj; /* the exchange outlives the table */
}

int wh_http_handle(struct wh_ctx *ctx, wasmtime_context_t *cx, const wasmtime_component_func_t *fn,
		   const struct http_request *req, const struct sk_kv *headers, size_t n_headers,
		   struct http_response *resp, bool *started, wasmtime_error_t **trap, struct sk_error *err)
{
	struct exchange *ex = calloc(1, sizeof(*ex));
	wasmtime_component_val_t args[2];
	uint32_t rreq, rout;
	wasmtime_error_t *we;

	*started = false;
	*trap = NULL;
	if (!ex)
		return sk_err(err, -ENOMEM, "out of memory");
	ex->req = req;
	ex->headers = headers;
	ex->n_headers = n_headers;
	ex->resp = resp;
	ex->content_length = -1;
	ctx->http = ex;
	rreq = wh_add(ctx, WH_INCOMING_REQUEST, ex, NULL);
	rout = wh_add(ctx, WH_RESPONSE_OUTPARAM, ex, outparam_drop);
	if (!rreq || !rout || wh_val_resource(cx, &args[0], rreq, WH_INCOMING_REQUEST) < 0 ||
	    wh_val_resource(cx, &args[1], rout, WH_RESPONSE_OUTPARAM) < 0) {
		return sk_err(err, -ENOMEM, "cannot create the request resources");
	}
	we = wasmtime_component_func_call(fn, cx, args, 2, NULL, 0);
	wasmtime_component_val_delete(&args[0]);
	wasmtime_component_val_delete(&args[1]);
	if (!we) {
		wasmtime_error_t *pe = wasmtime_component_func_post_return(fn, cx);
		if (pe)
			we = pe;
	}
	*started = ex->started;
	if (we) {
		*trap = we;
		/* a guest that traps because its client went away: say that */
		if (ex->client_gone)
			return sk_err(err, -EPIPE, "%s", ex->why);
		return sk_err(err, -EIO, "%s", ctx->why);
	}
	if (!ex->outparam_set) {
		return sk_err(err, -EPROTO, "the guest returned without setting a response");
	}
	if (ex->error_case[0]) {
		return sk_err(err, -EPROTO, "the guest answered with error %s", ex->error_case);
	}
	if (ex->aborted) {
		return sk_err(err, ex->client_gone ? -EPIPE : -EIO, "%s",
			      ex->why[0] ? ex->why : "the response could not be sent");
	}
	if (ex->started && !ex->finished) {
		struct out_response *rs = ex->response;
		if (rs && rs->body_taken) {
			return sk_err(err, -EPROTO, "the guest did not finish the response body");
		}
		/* no body was ever taken: an empty body */
		if (wh_http_finish_response(ex, NULL) < 0) {
			return sk_err(err, ex->client_gone ? -EPIPE : -EIO, "%s",
				      ex->why[0] ? ex->why : "the response could not be finished");
		}
	}
	return 0;
}

void wh_http_release(struct wh_ctx *ctx)
{
	struct exchange *ex = ctx->http;
	if (!ex)
		return;
	if (ex->response) {
		ex->response->ex = NULL;
		wh_http_response_unref(ex->response);
	}
	free(ex);
	ctx->http = NULL;
}
