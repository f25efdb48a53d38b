/* wasi:http's response side of an exchange: the outgoing-response a
 * component builds, its outgoing-body streamed to the client as the guest
 * writes (bytes written before response-outparam.set wait, bounded), the
 * response-outparam that starts it, and error-code values. outgoing-body is
 * also the body of an outgoing request (http-client.c buffers that one).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim-bridge/wasi/http-internal.h"

void wh_http_response_unref(struct out_response *r)
{
	if (!r || --r->refs)
		return;
	wh_http_fields_unref(r->headers);
	wh_http_fields_unref(r->finish_trailers);
	sk_buf_free(&r->pending);
	free(r);
}

/* Send the head, then whatever was written before the response was set. */
static int start_response(struct exchange *ex)
{
	struct out_response *r = ex->response;
	int64_t cl = -1;
	int rc;

	ex->resp->status = r->status;
	for (size_t i = 0; i < r->headers->n; i++) {
		const struct field *f = &r->headers->v[i];
		char *v = malloc(f->value_len + 1);
		if (!v)
			return -ENOMEM;
		memcpy(v, f->value, f->value_len);
		v[f->value_len] = '\0';
		if (strcmp(f->name, "content-length") == 0) {
			char *end;
			unsigned long long x = strtoull(v, &end, 10);
			if (end != v && *end == '\0' && v[0] != '-')
				cl = (int64_t)x;
		}
		rc = http_response_add_header(ex->resp, f->name, v);
		free(v);
		if (rc < 0 && rc != -EINVAL) {
			snprintf(ex->why, sizeof(ex->why), "the response headers are too large");
			return rc;
		}
	}
	ex->content_length = cl;
	rc = http_response_start(ex->resp, cl);
	if (rc < 0) {
		snprintf(ex->why, sizeof(ex->why), "cannot send the response head: %s", strerror(-rc));
		return rc;
	}
	ex->started = true;
	if (r->pending.len) {
		size_t n = r->pending.len;
		ssize_t w = http_response_write(ex->resp, r->pending.data, n);
		sk_buf_free(&r->pending);
		if (w < 0)
			return (int)w;
		ex->written += n;
	}
	return 0;
}

/* End the body: trailers, the last chunk; a length mismatch cuts it. */
int wh_http_finish_response(struct exchange *ex, struct fields *trailers)
{
	int rc = 0;
	if (ex->content_length >= 0 && ex->written != (uint64_t)ex->content_length) {
		snprintf(ex->why, sizeof(ex->why), "the guest wrote %llu body bytes but set content-length %lld",
			 (unsigned long long)ex->written, (long long)ex->content_length);
		ex->aborted = true;
		return -EBADMSG;
	}
	for (size_t i = 0; trailers && i < trailers->n; i++) {
		char *v = malloc(trailers->v[i].value_len + 1);
		if (!v)
			return -ENOMEM;
		memcpy(v, trailers->v[i].value, trailers->v[i].value_len);
		v[trailers->v[i].value_len] = '\0';
		rc = http_response_add_trailer(ex->resp, trailers->v[i].name, v);
		free(v);
		if (rc == -ENOTSUP)
			break; /* a Content-Length body cannot carry trailers */
	}
	rc = http_response_finish(ex->resp);
	if (rc == 0)
		ex->finished = true;
	return rc;
}

/* Before the response is set, body bytes wait in the response (bounded);
 * after, they go straight to the client. */
static ssize_t resp_check_write(void *s)
{
	struct out_body *b = s;
	struct out_response *r = b->response;
	if (b->finished || b->failed || !r)
		return -EPIPE;
	if (!r->ex)
		return r->pending.len >= r->pending.max ? 0 : (ssize_t)(r->pending.max - r->pending.len);
	return r->ex->started ? 65536 : -EPIPE;
}

static ssize_t resp_write(void *s, const void *buf, size_t n)
{
	struct out_body *b = s;
	struct out_response *r = b->response;
	struct exchange *ex = r ? r->ex : NULL;
	ssize_t w;

	if (!r)
		return -EPIPE;
	if (!ex) {
		int rc = sk_buf_append(&r->pending, buf, n); /* -E2BIG past WH_PRESET_BODY_MAX */
		return rc < 0 ? rc : (ssize_t)n;
	}
	if (!ex->started)
		return -EPIPE;
	w = http_response_write(ex->resp, buf, n);
	if (w < 0) {
		b->failed = true;
		if (w == -E2BIG)
			snprintf(ex->why, sizeof(ex->why), "the guest wrote more body than content-length or the "
							   "response cap allows");
		else if (!ex->why[0]) {
			snprintf(ex->why, sizeof(ex->why), "%s", WH_CLIENT_GONE);
			ex->client_gone = true;
		}
		return w;
	}
	ex->written += (uint64_t)w;
	return w;
}

void wh_http_out_body_drop(struct wh_ctx *ctx, void *obj)
{
	struct out_body *b = obj;
	(void)ctx;
	if (!b->finished) {
		if (b->kind == BODY_RESPONSE && b->response && b->response->ex) {
			struct exchange *ex = b->response->ex;
			if (!ex->why[0])
				snprintf(ex->why, sizeof(ex->why), "the guest dropped the response body without finishing it");
			ex->aborted = true;
		}
		if (b->kind == BODY_REQUEST && b->request)
			b->request->body_failed = true;
	}
	if (b->response && b->response->body == b)
		b->response->body = NULL;
	wh_http_response_unref(b->response);
	wh_http_request_unref(b->request);
	free(b);
}

static void out_stream_close(struct wh_ctx *ctx, void *s)
{
	(void)ctx, (void)s; /* the body owns itself; the stream only points at it */
}

static struct out_response *oresp_arg(struct wh_ctx *ctx, wasmtime_context_t *cx, const wasmtime_component_val_t *v,
				      uint32_t *rep_out)
{
	uint32_t rep;
	if (wh_arg_rep(cx, v, WH_OUTGOING_RESPONSE, &rep) < 0)
		return NULL;
	if (rep_out)
		*rep_out = rep;
	return wh_get(ctx, rep, WH_OUTGOING_RESPONSE);
}

static void oresp_drop(struct wh_ctx *ctx, void *obj)
{
	(void)ctx;
	wh_http_response_unref(obj);
}

/* Take an own<fields> argument: the guest gives it up. */
struct fields *wh_http_take_fields(struct wh_ctx *ctx, wasmtime_context_t *cx, const wasmtime_component_val_t *v)
{
	uint32_t rep;
	if (wh_arg_rep(cx, v, WH_FIELDS, &rep) < 0)
		return NULL;
	return wh_take(ctx, rep, WH_FIELDS);
}

wasmtime_error_t *wh_http_oresp_ctor(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				     size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct out_response *r;
	struct fields *h;
	if (na < 1 || nr < 1 || !(h = wh_http_take_fields(ctx, cx, &a[0])))
		return wh_trap("outgoing-response: bad arguments");
	r = calloc(1, sizeof(*r));
	if (!r) {
		wh_http_fields_unref(h);
		return wh_trap("out of memory");
	}
	r->refs = 1;
	r->status = 200;
	r->pending = sk_buf_make(WH_PRESET_BODY_MAX);
	r->headers = h;
	h->immutable = true;
	return wh_http_give(ctx, cx, WH_OUTGOING_RESPONSE, r, oresp_drop, &res[0]);
}

wasmtime_error_t *wh_http_oresp_status(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				       size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct out_response *r;
	if (na < 1 || nr < 1 || !(r = oresp_arg(ctx, cx, &a[0], NULL)))
		return wh_trap("outgoing-response.status-code: bad arguments");
	wh_val_u16(&res[0], r->status);
	return NULL;
}

wasmtime_error_t *wh_http_oresp_set_status(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
					   size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct out_response *r;
	uint16_t st;
	if (na < 2 || nr < 1 || !(r = oresp_arg(ctx, cx, &a[0], NULL)) || wh_arg_u16(&a[1], &st) < 0)
		return wh_trap("outgoing-response.set-status-code: bad arguments");
	if (st < 200 || st > 599) {
		wh_val_result(&res[0], false, NULL);
		return NULL;
	}
	r->status = st;
	wh_val_ok(&res[0]);
	return NULL;
}

wasmtime_error_t *wh_http_oresp_headers(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				        size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct out_response *r;
	if (na < 1 || nr < 1 || !(r = oresp_arg(ctx, cx, &a[0], NULL)))
		return wh_trap("outgoing-response.headers: bad arguments");
	r->headers->refs++; /* immutable: a shared view */
	return wh_http_give_fields(ctx, cx, r->headers, &res[0]);
}

wasmtime_error_t *wh_http_oresp_body(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				     size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct out_response *r;
	struct out_body *b;
	wasmtime_component_val_t v;
	wasmtime_error_t *e;
	if (na < 1 || nr < 1 || !(r = oresp_arg(ctx, cx, &a[0], NULL)))
		return wh_trap("outgoing-response.body: bad arguments");
	if (r->body_taken || r->ex) {
		wh_val_result(&res[0], false, NULL);
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return wh_trap("out of memory");
	b->kind = BODY_RESPONSE;
	b->response = r;
	r->refs++;
	r->body = b;
	r->body_taken = true;
	if ((e = wh_http_give(ctx, cx, WH_OUTGOING_BODY, b, wh_http_out_body_drop, &v)))
		return e;
	wh_val_result(&res[0], true, &v);
	return NULL;
}

/* --- outgoing-body ---------------------------------------------------------------------- */

wasmtime_error_t *wh_http_obody_write(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				      size_t na, wasmtime_component_val_t *res, size_t nr)
{
	static const struct wh_stream_ops resp_stream = {
		.check_write = resp_check_write, .write = resp_write, .close = out_stream_close
	};
	static const struct wh_stream_ops req_stream = {
		.check_write = wh_http_reqbody_check_write, .write = wh_http_reqbody_write, .close = out_stream_close
	};
	uint32_t rep, srep;
	struct out_body *b;
	wasmtime_component_val_t v;
	if (na < 1 || nr < 1 || wh_arg_rep(cx, &a[0], WH_OUTGOING_BODY, &rep) < 0 ||
	    !(b = wh_get(ctx, rep, WH_OUTGOING_BODY)))
		return wh_trap("outgoing-body.write: bad arguments");
	if (b->stream_taken) {
		wh_val_result(&res[0], false, NULL);
		return NULL;
	}
	b->stream_taken = true;
	srep = wh_output_stream_new(ctx, b->kind == BODY_RESPONSE ? &resp_stream : &req_stream, b);
	if (!srep || wh_val_resource(cx, &v, srep, WH_OUTPUT_STREAM) < 0)
		return wh_trap("too many resources");
	wh_val_result(&res[0], true, &v);
	return NULL;
}

/* finish(this: outgoing-body, trailers: option<trailers>) -> result<_, error-code> */
wasmtime_error_t *wh_http_obody_finish(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				       size_t na, wasmtime_component_val_t *res, size_t nr)
{
	uint32_t rep;
	struct out_body *b;
	const wasmtime_component_val_t *topt;
	struct fields *trailers = NULL;
	wasmtime_component_val_t e;
	int rc = 0;

	if (na < 2 || nr < 1 || wh_arg_rep(cx, &a[0], WH_OUTGOING_BODY, &rep) < 0 ||
	    !(b = wh_get(ctx, rep, WH_OUTGOING_BODY)) || wh_arg_option(&a[1], &topt) < 0)
		return wh_trap("outgoing-body.finish: bad arguments");
	if (topt && !(trailers = wh_http_take_fields(ctx, cx, topt)))
		return wh_trap("outgoing-body.finish: trailers are not fields");
	b->finished = true;
	if (b->kind == BODY_REQUEST) {
		if (b->request)
			b->request->body_finished = true;
	} else if (b->response && b->response->ex) {
		if (b->response->ex->started)
			rc = wh_http_finish_response(b->response->ex, trailers);
	} else if (b->response) {
		/* finished before the response was set: set() finishes it */
		b->response->body_finished = true;
		b->response->finish_trailers = trailers;
		trailers = NULL;
	}
	wh_http_fields_unref(trailers);
	wh_remove(ctx, rep);
	if (rc < 0) {
		wh_http_error_code_val(&e, "HTTP-response-body-size", NULL);
		wh_val_result(&res[0], false, &e);
		return NULL;
	}
	wh_val_ok(&res[0]);
	return NULL;
}

/* --- response-outparam ----------------------------------------------------------------- */

wasmtime_error_t *wh_http_outparam_set(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				       size_t na, wasmtime_component_val_t *res, size_t nr)
{
	uint32_t rep, rrep;
	struct exchange *ex;
	struct out_response *r;
	(void)res, (void)nr;

	if (na < 2 || wh_arg_rep(cx, &a[0], WH_RESPONSE_OUTPARAM, &rep) < 0 ||
	    !(ex = wh_take(ctx, rep, WH_RESPONSE_OUTPARAM)) || a[1].kind != WASMTIME_COMPONENT_RESULT)
		return wh_trap("response-outparam.set: bad arguments");
	ex->outparam_set = true;
	if (!a[1].of.result.is_ok) {
		const wasmtime_component_val_t *ec = a[1].of.result.val;
		if (ec && ec->kind == WASMTIME_COMPONENT_VARIANT)
			snprintf(ex->error_case, sizeof(ex->error_case), "%.*s",
				 (int)ec->of.variant.discriminant.size, ec->of.variant.discriminant.data);
		else
			snprintf(ex->error_case, sizeof(ex->error_case), "error");
		return NULL;
	}
	if (!a[1].of.result.val || wh_arg_rep(cx, a[1].of.result.val, WH_OUTGOING_RESPONSE, &rrep) < 0 ||
	    !(r = wh_take(ctx, rrep, WH_OUTGOING_RESPONSE)))
		return wh_trap("response-outparam.set: not an outgoing-response");
	ex->response = r; /* the table's reference moves to the exchange */
	r->ex = ex;
	if (start_response(ex) < 0) {
		ex->aborted = true;
		return NULL;
	}
	if (r->body_finished)
		wh_http_finish_response(ex, r->finish_trailers);
	return NULL;
}

wasmtime_error_t *wh_http_outparam_informational(struct wh_ctx *ctx, wasmtime_context_t *cx,
						 wasmtime_component_val_t *a, size_t na, wasmtime_component_val_t *res,
						 size_t nr)
{
	wasmtime_component_val_t e;
	(void)ctx, (void)cx, (void)a, (void)na;
	if (nr < 1)
		return wh_trap("send-informational: bad results");
	wh_http_error_code_val(&e, "internal-error", "informational responses are not supported");
	wh_val_result(&res[0], false, &e);
	return NULL;
}

/* --- error-code ---------------------------------------------------------------------------- */

/* An error-code variant value; payloads get their "unknown" form, and
 * internal-error carries msg. */
void wh_http_error_code_val(wasmtime_component_val_t *v, const char *case_name, const char *msg)
{
	wasmtime_component_val_t p;
	if (strcmp(case_name, "internal-error") == 0) {
		wasmtime_component_val_t s;
		if (msg) {
			wh_val_cstring(&s, msg);
			wh_val_option(&p, &s);
		} else
			wh_val_option(&p, NULL);
		wh_val_variant(v, case_name, &p);
	} else if (strcmp(case_name, "DNS-error") == 0) {
		static const char *const names[] = { "rcode", "info-code" };
		wasmtime_component_valrecord_entry_t *f = wh_val_record(&p, names, 2);
		wh_val_option(&f[0].val, NULL);
		wh_val_option(&f[1].val, NULL);
		wh_val_variant(v, case_name, &p);
	} else if (strcmp(case_name, "HTTP-response-body-size") == 0 || strcmp(case_name, "HTTP-request-body-size") == 0) {
		wh_val_option(&p, NULL);
		wh_val_variant(v, case_name, &p);
	} else
		wh_val_variant(v, case_name, NULL);
}

wasmtime_error_t *wh_http_http_error_code(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
					  size_t na, wasmtime_component_val_t *res, size_t nr)
{
	(void)ctx, (void)cx, (void)a, (void)na;
	if (nr < 1)
		return wh_trap("http-error-code: bad results");
	wh_val_option(&res[0], NULL);
	return NULL;
}
