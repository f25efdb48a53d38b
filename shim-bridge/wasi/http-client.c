/* wasi:http's outbound client side: outgoing-request and request-options
 * as the guest builds them, outgoing-handler.handle (checked against the
 * allow-list first), future-incoming-response, which sends the request
 * through outbound.h once its body is finished, and the incoming-response
 * it yields. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/http-field.h"
#include "common/log.h"
#include "shim-bridge/wasi/http-internal.h"

void wh_http_request_unref(struct out_request *r)
{
	if (!r || --r->refs)
		return;
	free(r->method);
	free(r->scheme);
	free(r->authority);
	free(r->path);
	wh_http_fields_unref(r->headers);
	sk_buf_free(&r->body);
	free(r);
}

ssize_t wh_http_reqbody_check_write(void *s)
{
	struct out_body *b = s;
	if (b->finished || b->failed)
		return -EPIPE;
	return 65536;
}

ssize_t wh_http_reqbody_write(void *s, const void *buf, size_t n)
{
	struct out_body *b = s;
	struct out_request *r = b->request;
	int rc = sk_buf_append(&r->body, buf, n);
	if (rc == -E2BIG)
		b->failed = r->body_failed = true;
	return rc < 0 ? rc : (ssize_t)n;
}

static struct out_request *oreq_arg(struct wh_ctx *ctx, wasmtime_context_t *cx, const wasmtime_component_val_t *v)
{
	uint32_t rep;
	if (wh_arg_rep(cx, v, WH_OUTGOING_REQUEST, &rep) < 0)
		return NULL;
	return wh_get(ctx, rep, WH_OUTGOING_REQUEST);
}

static void oreq_drop(struct wh_ctx *ctx, void *obj)
{
	(void)ctx;
	wh_http_request_unref(obj);
}

wasmtime_error_t *wh_http_oreq_ctor(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				    size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct out_request *r;
	struct fields *h;
	if (na < 1 || nr < 1 || !(h = wh_http_take_fields(ctx, cx, &a[0])))
		return wh_trap("outgoing-request: bad arguments");
	r = calloc(1, sizeof(*r));
	if (!r || !(r->method = strdup("GET"))) {
		free(r);
		wh_http_fields_unref(h);
		return wh_trap("out of memory");
	}
	r->refs = 1;
	r->headers = h;
	r->body = sk_buf_make(OUT_REQUEST_BODY_MAX);
	h->immutable = true;
	return wh_http_give(ctx, cx, WH_OUTGOING_REQUEST, r, oreq_drop, &res[0]);
}

wasmtime_error_t *wh_http_oreq_body(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				    size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct out_request *r;
	struct out_body *b;
	wasmtime_component_val_t v;
	wasmtime_error_t *e;
	if (na < 1 || nr < 1 || !(r = oreq_arg(ctx, cx, &a[0])))
		return wh_trap("outgoing-request.body: bad arguments");
	if (r->body_taken) {
		wh_val_result(&res[0], false, NULL);
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return wh_trap("out of memory");
	b->kind = BODY_REQUEST;
	b->request = r;
	r->refs++;
	r->body_taken = true;
	if ((e = wh_http_give(ctx, cx, WH_OUTGOING_BODY, b, wh_http_out_body_drop, &v)))
		return e;
	wh_val_result(&res[0], true, &v);
	return NULL;
}

wasmtime_error_t *wh_http_oreq_method(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				      size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct out_request *r;
	if (na < 1 || nr < 1 || !(r = oreq_arg(ctx, cx, &a[0])))
		return wh_trap("outgoing-request.method: bad arguments");
	wh_http_method_val(&res[0], r->method);
	return NULL;
}

static int method_from(const wasmtime_component_val_t *v, char **out)
{
	char name[64];
	size_t n;
	if (v->kind != WASMTIME_COMPONENT_VARIANT)
		return -EINVAL;
	if (v->of.variant.val) {
		const char *s;
		if (wh_arg_string(v->of.variant.val, &s, &n) < 0 || !sk_http_token(s, n))
			return -EINVAL;
		*out = strndup(s, n);
		return *out ? 0 : -ENOMEM;
	}
	n = v->of.variant.discriminant.size;
	if (n >= sizeof(name))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		name[i] = (char)toupper((unsigned char)v->of.variant.discriminant.data[i]);
	name[n] = '\0';
	*out = strdup(name);
	return *out ? 0 : -ENOMEM;
}

wasmtime_error_t *wh_http_oreq_set_method(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
					  size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct out_request *r;
	char *m = NULL;
	if (na < 2 || nr < 1 || !(r = oreq_arg(ctx, cx, &a[0])))
		return wh_trap("outgoing-request.set-method: bad arguments");
	if (method_from(&a[1], &m) < 0) {
		wh_val_result(&res[0], false, NULL);
		return NULL;
	}
	free(r->method);
	r->method = m;
	wh_val_ok(&res[0]);
	return NULL;
}

static void opt_string(wasmtime_component_val_t *v, const char *s)
{
	wasmtime_component_val_t x;
	if (!s) {
		wh_val_option(v, NULL);
		return;
	}
	wh_val_cstring(&x, s);
	wh_val_option(v, &x);
}

/* Shared by the string getters and setters: which field of the request. */
static char **oreq_field(struct out_request *r, char which)
{
	return which == 'p' ? &r->path : which == 'a' ? &r->authority : &r->scheme;
}

static wasmtime_error_t *oreq_get_str(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				      size_t na, wasmtime_component_val_t *res, size_t nr, char which)
{
	struct out_request *r;
	if (na < 1 || nr < 1 || !(r = oreq_arg(ctx, cx, &a[0])))
		return wh_trap("outgoing-request: bad arguments");
	if (which == 's') {
		wasmtime_component_val_t x, s;
		if (!r->scheme)
			wh_val_option(&res[0], NULL);
		else {
			if (strcmp(r->scheme, "http") == 0)
				wh_val_variant(&x, "HTTP", NULL);
			else if (strcmp(r->scheme, "https") == 0)
				wh_val_variant(&x, "HTTPS", NULL);
			else {
				wh_val_cstring(&s, r->scheme);
				wh_val_variant(&x, "other", &s);
			}
			wh_val_option(&res[0], &x);
		}
		return NULL;
	}
	opt_string(&res[0], *oreq_field(r, which));
	return NULL;
}

static bool valid_uri_part(const char *s, size_t n, char which)
{
	if (n > 8192)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c == 0x7f)
			return false;
		if (which == 'a' && (c == '/' || c == '?' || c == '#' || c == '@'))
			return false;
	}
	return which != 'p' || n == 0 || s[0] == '/' || s[0] == '*';
}

static wasmtime_error_t *oreq_set_str(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				      size_t na, wasmtime_component_val_t *res, size_t nr, char which)
{
	struct out_request *r;
	const wasmtime_component_val_t *inner;
	char *val = NULL;
	if (na < 2 || nr < 1 || !(r = oreq_arg(ctx, cx, &a[0])) || wh_arg_option(&a[1], &inner) < 0)
		return wh_trap("outgoing-request: bad arguments");
	if (inner) {
		const char *s;
		size_t n;
		if (which == 's') {
			if (inner->kind != WASMTIME_COMPONENT_VARIANT)
				return wh_trap("outgoing-request.set-scheme: bad scheme");
			if (inner->of.variant.val) {
				if (wh_arg_string(inner->of.variant.val, &s, &n) < 0)
					return wh_trap("outgoing-request.set-scheme: bad scheme");
			} else {
				s = inner->of.variant.discriminant.data;
				n = inner->of.variant.discriminant.size;
			}
			val = wh_http_lower_dup(s, n);
		} else {
			if (wh_arg_string(inner, &s, &n) < 0)
				return wh_trap("outgoing-request: bad string");
			if (!valid_uri_part(s, n, which)) {
				wh_val_result(&res[0], false, NULL);
				return NULL;
			}
			val = strndup(s, n);
		}
		if (!val)
			return wh_trap("out of memory");
	}
	free(*oreq_field(r, which));
	*oreq_field(r, which) = val;
	wh_val_ok(&res[0]);
	return NULL;
}

#define OREQ_STR(name, which, fn)                                                                                     \
	wasmtime_error_t *name(struct wh_ctx *c, wasmtime_context_t *cx, wasmtime_component_val_t *a, size_t na, \
				      wasmtime_component_val_t *r, size_t nr)                                          \
	{                                                                                                             \
		return fn(c, cx, a, na, r, nr, which);                                                                \
	}
OREQ_STR(wh_http_oreq_path, 'p', oreq_get_str)
OREQ_STR(wh_http_oreq_authority, 'a', oreq_get_str)
OREQ_STR(wh_http_oreq_scheme, 's', oreq_get_str)
OREQ_STR(wh_http_oreq_set_path, 'p', oreq_set_str)
OREQ_STR(wh_http_oreq_set_authority, 'a', oreq_set_str)
OREQ_STR(wh_http_oreq_set_scheme, 's', oreq_set_str)

wasmtime_error_t *wh_http_oreq_headers(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				       size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct out_request *r;
	if (na < 1 || nr < 1 || !(r = oreq_arg(ctx, cx, &a[0])))
		return wh_trap("outgoing-request.headers: bad arguments");
	r->headers->refs++;
	return wh_http_give_fields(ctx, cx, r->headers, &res[0]);
}

struct req_options {
	uint64_t t[3]; /* connect, first byte, between bytes; 0 = unset */
};

wasmtime_error_t *wh_http_ropt_ctor(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				    size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct req_options *o = calloc(1, sizeof(*o));
	(void)a, (void)na;
	if (!o || nr < 1) {
		free(o);
		return wh_trap("request-options: out of memory");
	}
	return wh_http_give(ctx, cx, WH_REQUEST_OPTIONS, o, wh_http_free_drop, &res[0]);
}

static wasmtime_error_t *ropt_access(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				     size_t na, wasmtime_component_val_t *res, size_t nr, int idx, bool set)
{
	uint32_t rep;
	struct req_options *o;
	if (na < (set ? 2u : 1u) || nr < 1 || wh_arg_rep(cx, &a[0], WH_REQUEST_OPTIONS, &rep) < 0 ||
	    !(o = wh_get(ctx, rep, WH_REQUEST_OPTIONS)))
		return wh_trap("request-options: bad arguments");
	if (set) {
		const wasmtime_component_val_t *inner;
		uint64_t d = 0;
		if (wh_arg_option(&a[1], &inner) < 0 || (inner && wh_arg_u64(inner, &d) < 0))
			return wh_trap("request-options: bad duration");
		o->t[idx] = d;
		wh_val_ok(&res[0]);
	} else if (o->t[idx]) {
		wasmtime_component_val_t x;
		wh_val_u64(&x, o->t[idx]);
		wh_val_option(&res[0], &x);
	} else
		wh_val_option(&res[0], NULL);
	return NULL;
}

#define ROPT(name, idx, set)                                                                                          \
	wasmtime_error_t *name(struct wh_ctx *c, wasmtime_context_t *cx, wasmtime_component_val_t *a, size_t na, \
				      wasmtime_component_val_t *r, size_t nr)                                          \
	{                                                                                                             \
		return ropt_access(c, cx, a, na, r, nr, idx, set);                                                    \
	}
ROPT(wh_http_ropt_connect, 0, false)
ROPT(wh_http_ropt_set_connect, 0, true)
ROPT(wh_http_ropt_first, 1, false)
ROPT(wh_http_ropt_set_first, 1, true)
ROPT(wh_http_ropt_between, 2, false)
ROPT(wh_http_ropt_set_between, 2, true)

/* --- outgoing-handler and future-incoming-response ------------------------------------ */

struct future_response {
	struct out_request *req;
	struct req_options opts;
	bool done, taken;
	enum wh_out_error error;
	char why[200];
	struct wh_out_response *resp;
};

static void future_drop(struct wh_ctx *ctx, void *obj)
{
	struct future_response *f = obj;
	(void)ctx;
	wh_http_request_unref(f->req);
	if (f->resp) {
		wh_out_response_free(f->resp);
		free(f->resp);
	}
	free(f);
}

/* Send once the guest finished the body (or never took one). */
static bool future_ready(struct wh_ctx *ctx, void *src)
{
	struct future_response *f = src;
	struct out_request *r = f->req;
	struct wh_out_request rq;
	struct wh_out_header *hs = NULL;
	struct sk_error err = {0};
	size_t max_body = ctx->env && ctx->env->max_body ? ctx->env->max_body : (size_t)64 << 20;

	if (f->done)
		return true;
	if (r->body_taken && !r->body_finished && !r->body_failed)
		return false;
	f->done = true;
	if (r->body_failed) {
		f->error = WH_OUT_INTERNAL;
		snprintf(f->why, sizeof(f->why), "the request body was not finished");
		return true;
	}
	hs = calloc(r->headers->n + 1, sizeof(*hs));
	f->resp = calloc(1, sizeof(*f->resp));
	if (!hs || !f->resp) {
		free(hs);
		f->error = WH_OUT_INTERNAL;
		snprintf(f->why, sizeof(f->why), "out of memory");
		return true;
	}
	for (size_t i = 0; i < r->headers->n; i++) {
		hs[i].name = r->headers->v[i].name;
		hs[i].value = (char *)r->headers->v[i].value;
		hs[i].value_len = r->headers->v[i].value_len;
	}
	memset(&rq, 0, sizeof(rq));
	rq.method = r->method;
	rq.scheme = r->scheme ? r->scheme : "https";
	rq.authority = r->authority;
	rq.path_query = r->path;
	rq.headers = hs;
	rq.n_headers = r->headers->n;
	rq.body = (const uint8_t *)r->body.data;
	rq.body_len = r->body.len;
	/* rounded up: a duration under 1 ms must not become 0 ("the default") */
	rq.connect_timeout_ms = (f->opts.t[0] + 999999) / 1000000;
	rq.first_byte_timeout_ms = (f->opts.t[1] + 999999) / 1000000;
	rq.between_bytes_timeout_ms = (f->opts.t[2] + 999999) / 1000000;
	(void)wh_outbound_send(ctx->env, &rq, ctx->deadline_ns, max_body, f->resp, &f->error, &err);
	snprintf(f->why, sizeof(f->why), "%.*s", (int)sizeof(f->why) - 1, err.message);
	free(hs);
	return true;
}

static int future_wait(struct wh_ctx *ctx, void *src, short *events, int64_t *deadline)
{
	(void)ctx, (void)src, (void)events;
	*deadline = -1;
	return -1;
}

static const struct wh_poll_ops future_poll = { future_ready, future_wait };

wasmtime_error_t *wh_http_outgoing_handle(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
					  size_t na, wasmtime_component_val_t *res, size_t nr)
{
	uint32_t rep;
	struct out_request *r;
	struct future_response *f;
	const wasmtime_component_val_t *oopt;
	wasmtime_component_val_t v, e;
	wasmtime_error_t *err;

	if (na < 2 || nr < 1 || wh_arg_rep(cx, &a[0], WH_OUTGOING_REQUEST, &rep) < 0 ||
	    !(r = wh_take(ctx, rep, WH_OUTGOING_REQUEST)) || wh_arg_option(&a[1], &oopt) < 0)
		return wh_trap("outgoing-handler.handle: bad arguments");
	if (!r->authority || !r->authority[0]) {
		wh_http_request_unref(r);
		wh_http_error_code_val(&e, "HTTP-request-URI-invalid", NULL);
		wh_val_result(&res[0], false, &e);
		return NULL;
	}
	if (!wh_outbound_allowed(ctx->env, r->scheme ? r->scheme : "https", r->authority)) {
		char q[512];
		/* operators need to see why a guest's request failed */
		sk_report(ctx->env ? ctx->env->log : NULL, LOG_WARN, "outbound request denied",
			  "component=%s scheme=%s authority=%s hint=%s", ctx->env && ctx->env->id ? ctx->env->id : "-",
			  r->scheme ? r->scheme : "https", log_quote(r->authority, q, sizeof(q)),
			  "\"add it to the component's allowed_outbound_hosts\"");
		wh_http_request_unref(r);
		wh_http_error_code_val(&e, "HTTP-request-denied", NULL);
		wh_val_result(&res[0], false, &e);
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		wh_http_request_unref(r);
		return wh_trap("out of memory");
	}
	f->req = r;
	if (oopt) {
		uint32_t orep;
		struct req_options *o;
		if (wh_arg_rep(cx, oopt, WH_REQUEST_OPTIONS, &orep) == 0 && (o = wh_get(ctx, orep, WH_REQUEST_OPTIONS))) {
			f->opts = *o;
			wh_remove(ctx, orep);
		}
	}
	if ((err = wh_http_give(ctx, cx, WH_FUTURE_INCOMING_RESPONSE, f, future_drop, &v)))
		return err;
	wh_val_result(&res[0], true, &v);
	return NULL;
}

wasmtime_error_t *wh_http_future_subscribe(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
					   size_t na, wasmtime_component_val_t *res, size_t nr)
{
	uint32_t rep, prep;
	struct future_response *f;
	if (na < 1 || nr < 1 || wh_arg_rep(cx, &a[0], WH_FUTURE_INCOMING_RESPONSE, &rep) < 0 ||
	    !(f = wh_get(ctx, rep, WH_FUTURE_INCOMING_RESPONSE)))
		return wh_trap("future-incoming-response.subscribe: bad arguments");
	prep = wh_pollable_new(ctx, &future_poll, f);
	if (!prep || wh_val_resource(cx, &res[0], prep, WH_POLLABLE) < 0)
		return wh_trap("too many resources");
	return NULL;
}

struct in_response {
	struct wh_out_response *r;
	bool consumed;
};

static void in_response_drop(struct wh_ctx *ctx, void *obj)
{
	struct in_response *ir = obj;
	(void)ctx;
	if (ir->r) {
		wh_out_response_free(ir->r);
		free(ir->r);
	}
	free(ir);
}

/* get -> option<result<result<incoming-response, error-code>>> */
wasmtime_error_t *wh_http_future_get(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				     size_t na, wasmtime_component_val_t *res, size_t nr)
{
	uint32_t rep;
	struct future_response *f;
	wasmtime_component_val_t inner, mid, outer;
	if (na < 1 || nr < 1 || wh_arg_rep(cx, &a[0], WH_FUTURE_INCOMING_RESPONSE, &rep) < 0 ||
	    !(f = wh_get(ctx, rep, WH_FUTURE_INCOMING_RESPONSE)))
		return wh_trap("future-incoming-response.get: bad arguments");
	if (!future_ready(ctx, f)) {
		wh_val_option(&res[0], NULL);
		return NULL;
	}
	if (f->taken) {
		wh_val_result(&outer, false, NULL);
		wh_val_option(&res[0], &outer);
		return NULL;
	}
	f->taken = true;
	if (f->error != WH_OUT_OK) {
		wh_http_error_code_val(&inner, wh_out_error_case(f->error), f->why);
		wh_val_result(&mid, false, &inner);
	} else {
		struct in_response *ir = calloc(1, sizeof(*ir));
		wasmtime_error_t *e;
		if (!ir)
			return wh_trap("out of memory");
		ir->r = f->resp;
		f->resp = NULL;
		if ((e = wh_http_give(ctx, cx, WH_INCOMING_RESPONSE, ir, in_response_drop, &inner)))
			return e;
		wh_val_result(&mid, true, &inner);
	}
	wh_val_result(&outer, true, &mid);
	wh_val_option(&res[0], &outer);
	return NULL;
}

static struct in_response *iresp_arg(struct wh_ctx *ctx, wasmtime_context_t *cx, const wasmtime_component_val_t *v)
{
	uint32_t rep;
	if (wh_arg_rep(cx, v, WH_INCOMING_RESPONSE, &rep) < 0)
		return NULL;
	return wh_get(ctx, rep, WH_INCOMING_RESPONSE);
}

wasmtime_error_t *wh_http_iresp_status(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				       size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct in_response *ir;
	if (na < 1 || nr < 1 || !(ir = iresp_arg(ctx, cx, &a[0])))
		return wh_trap("incoming-response.status: bad arguments");
	wh_val_u16(&res[0], (uint16_t)(ir->r ? ir->r->status : 0));
	return NULL;
}

wasmtime_error_t *wh_http_iresp_headers(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				        size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct in_response *ir;
	struct fields *f;
	if (na < 1 || nr < 1 || !(ir = iresp_arg(ctx, cx, &a[0])))
		return wh_trap("incoming-response.headers: bad arguments");
	f = wh_http_fields_new();
	for (size_t i = 0; f && ir->r && i < ir->r->n_headers; i++) {
		const struct wh_out_header *h = &ir->r->headers[i];
		if (wh_http_fields_push(f, h->name, strlen(h->name), (const uint8_t *)h->value, h->value_len) < 0) {
			wh_http_fields_unref(f);
			f = NULL;
		}
	}
	if (f)
		f->immutable = true;
	return wh_http_give_fields(ctx, cx, f, &res[0]);
}

wasmtime_error_t *wh_http_iresp_consume(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				        size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct in_response *ir;
	struct in_body *b;
	wasmtime_component_val_t v;
	wasmtime_error_t *e;
	if (na < 1 || nr < 1 || !(ir = iresp_arg(ctx, cx, &a[0])))
		return wh_trap("incoming-response.consume: bad arguments");
	if (ir->consumed || !ir->r) {
		wh_val_result(&res[0], false, NULL);
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return wh_trap("out of memory");
	/* the body takes the response's bytes with it */
	b->r = calloc(1, sizeof(*b->r));
	if (!b->r) {
		free(b);
		return wh_trap("out of memory");
	}
	b->r->body = ir->r->body;
	b->r->body_len = ir->r->body_len;
	ir->r->body = NULL;
	ir->r->body_len = 0;
	ir->consumed = true;
	if ((e = wh_http_give(ctx, cx, WH_INCOMING_BODY, b, wh_http_in_body_drop, &v)))
		return e;
	wh_val_result(&res[0], true, &v);
	return NULL;
}
