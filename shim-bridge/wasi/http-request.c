/* wasi:http's incoming side of an exchange: the incoming-request a
 * component's handler receives (method, path, authority, headers), its
 * incoming-body, read from the connection as the guest reads its
 * input-stream, and the future-trailers that follows it. The incoming-body
 * of an outgoing request's response (held in memory) is the same resource.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "shim-bridge/wasi/http-internal.h"

/* Read the request body. */
static ssize_t req_read(void *s, void *buf, size_t cap, int timeout_ms)
{
	struct exchange *ex = s;
	ssize_t n;
	if (ex->req_done)
		return 0;
	if (ex->req_error)
		return ex->req_error;
	n = http_request_read(ex->req, buf, cap, timeout_ms);
	if (n == 0)
		ex->req_done = true;
	else if (n < 0 && n != -EAGAIN)
		ex->req_error = (int)n;
	return n;
}

static int req_wait_fd(void *s, short *events, int64_t *deadline)
{
	struct exchange *ex = s;
	int fd;
	*deadline = -1;
	if (ex->req_done || ex->req_error)
		return -1;
	fd = http_request_poll_fd(ex->req);
	*events = POLLIN;
	return fd;
}

static const char *req_error_text(void *s)
{
	struct exchange *ex = s;
	switch (ex->req_error) {
	case -ETIMEDOUT:
		return "the client stopped sending the request body";
	case -E2BIG:
		return "the request body is larger than the server accepts";
	case -EBADMSG:
		return "the request body's chunked framing is malformed";
	default:
		return "the client went away while sending the request body";
	}
}

static const struct wh_stream_ops req_body_ops = {
	.read = req_read,
	.wait_fd = req_wait_fd,
	.error = req_error_text,
};

static struct exchange *request_arg(struct wh_ctx *ctx, wasmtime_context_t *cx, const wasmtime_component_val_t *v)
{
	uint32_t rep;
	if (wh_arg_rep(cx, v, WH_INCOMING_REQUEST, &rep) < 0)
		return NULL;
	return wh_get(ctx, rep, WH_INCOMING_REQUEST);
}

wasmtime_error_t *wh_http_ireq_method(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				      size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct exchange *ex;
	if (na < 1 || nr < 1 || !(ex = request_arg(ctx, cx, &a[0])))
		return wh_trap("incoming-request.method: bad arguments");
	wh_http_method_val(&res[0], ex->req->method);
	return NULL;
}

wasmtime_error_t *wh_http_ireq_path(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				    size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct exchange *ex;
	wasmtime_component_val_t s;
	if (na < 1 || nr < 1 || !(ex = request_arg(ctx, cx, &a[0])))
		return wh_trap("incoming-request.path-with-query: bad arguments");
	wh_val_cstring(&s, ex->req->target);
	wh_val_option(&res[0], &s);
	return NULL;
}

wasmtime_error_t *wh_http_ireq_scheme(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				      size_t na, wasmtime_component_val_t *res, size_t nr)
{
	wasmtime_component_val_t s;
	if (na < 1 || nr < 1 || !request_arg(ctx, cx, &a[0]))
		return wh_trap("incoming-request.scheme: bad arguments");
	wh_val_variant(&s, "HTTP", NULL);
	wh_val_option(&res[0], &s);
	return NULL;
}

wasmtime_error_t *wh_http_ireq_authority(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
					 size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct exchange *ex;
	const char *host;
	wasmtime_component_val_t s;
	if (na < 1 || nr < 1 || !(ex = request_arg(ctx, cx, &a[0])))
		return wh_trap("incoming-request.authority: bad arguments");
	host = http_request_header(ex->req, "host");
	if (!host || !*host) {
		wh_val_option(&res[0], NULL);
		return NULL;
	}
	wh_val_cstring(&s, host);
	wh_val_option(&res[0], &s);
	return NULL;
}

wasmtime_error_t *wh_http_ireq_headers(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				       size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct exchange *ex;
	if (na < 1 || nr < 1 || !(ex = request_arg(ctx, cx, &a[0])))
		return wh_trap("incoming-request.headers: bad arguments");
	struct fields *f = wh_http_fields_new();
	for (size_t i = 0; f && i < ex->n_headers; i++)
		if (wh_http_fields_push(f, ex->headers[i].key, strlen(ex->headers[i].key), (const uint8_t *)ex->headers[i].value,
				strlen(ex->headers[i].value)) < 0) {
			wh_http_fields_unref(f);
			f = NULL;
		}
	if (f)
		f->immutable = true;
	return wh_http_give_fields(ctx, cx, f, &res[0]);
}

void wh_http_in_body_drop(struct wh_ctx *ctx, void *obj)
{
	struct in_body *b = obj;
	(void)ctx;
	if (b->r) {
		wh_out_response_free(b->r);
		free(b->r);
	}
	free(b);
}

wasmtime_error_t *wh_http_ireq_consume(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				       size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct exchange *ex;
	struct in_body *b;
	wasmtime_component_val_t v;
	wasmtime_error_t *e;
	if (na < 1 || nr < 1 || !(ex = request_arg(ctx, cx, &a[0])))
		return wh_trap("incoming-request.consume: bad arguments");
	if (ex->consumed) {
		wh_val_result(&res[0], false, NULL);
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return wh_trap("out of memory");
	b->ex = ex;
	ex->consumed = true;
	if ((e = wh_http_give(ctx, cx, WH_INCOMING_BODY, b, wh_http_in_body_drop, &v)))
		return e;
	wh_val_result(&res[0], true, &v);
	return NULL;
}

static ssize_t mem_read(void *s, void *buf, size_t cap, int timeout_ms)
{
	struct in_body *b = s;
	size_t left = b->r->body_len - b->off;
	(void)timeout_ms;
	if (!left)
		return 0;
	if (cap > left)
		cap = left;
	memcpy(buf, b->r->body + b->off, cap);
	b->off += cap;
	return (ssize_t)cap;
}

static const struct wh_stream_ops mem_body_ops = { .read = mem_read };

wasmtime_error_t *wh_http_ibody_stream(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				       size_t na, wasmtime_component_val_t *res, size_t nr)
{
	uint32_t rep, srep;
	struct in_body *b;
	wasmtime_component_val_t v;
	if (na < 1 || nr < 1 || wh_arg_rep(cx, &a[0], WH_INCOMING_BODY, &rep) < 0 ||
	    !(b = wh_get(ctx, rep, WH_INCOMING_BODY)))
		return wh_trap("incoming-body.stream: bad arguments");
	if (b->stream_taken) {
		wh_val_result(&res[0], false, NULL);
		return NULL;
	}
	b->stream_taken = true;
	if (b->ex) {
		b->ex->body_streamed = true;
		srep = wh_input_stream_new(ctx, &req_body_ops, b->ex);
	} else
		srep = wh_input_stream_new(ctx, &mem_body_ops, b);
	if (!srep || wh_val_resource(cx, &v, srep, WH_INPUT_STREAM) < 0)
		return wh_trap("too many resources");
	wh_val_result(&res[0], true, &v);
	return NULL;
}

struct trailers_future {
	struct exchange *ex; /* NULL: a response body of an outgoing request (no trailers) */
	bool taken;
};

/* Ready when the request body has been read to its end; reading what the
 * guest left unread (bounded by the server's body limits) gets there. */
static bool trailers_ready(struct wh_ctx *ctx, void *src)
{
	struct trailers_future *t = src;
	struct exchange *ex = t->ex;
	char buf[16384];
	(void)ctx;
	if (!ex)
		return true;
	while (!ex->req_done && !ex->req_error) {
		ssize_t n = req_read(ex, buf, sizeof(buf), 0);
		if (n == -EAGAIN)
			return false;
	}
	return true;
}

static int trailers_wait(struct wh_ctx *ctx, void *src, short *events, int64_t *deadline)
{
	struct trailers_future *t = src;
	(void)ctx;
	if (!t->ex)
		return -1;
	return req_wait_fd(t->ex, events, deadline);
}

static const struct wh_poll_ops trailers_poll = { trailers_ready, trailers_wait };

wasmtime_error_t *wh_http_ibody_finish(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				       size_t na, wasmtime_component_val_t *res, size_t nr)
{
	uint32_t rep;
	struct in_body *b;
	struct trailers_future *t;
	if (na < 1 || nr < 1 || wh_arg_rep(cx, &a[0], WH_INCOMING_BODY, &rep) < 0 ||
	    !(b = wh_get(ctx, rep, WH_INCOMING_BODY)))
		return wh_trap("incoming-body.finish: bad arguments");
	t = calloc(1, sizeof(*t));
	if (!t)
		return wh_trap("out of memory");
	t->ex = b->ex;
	wh_remove(ctx, rep); /* the guest gave the body up */
	return wh_http_give(ctx, cx, WH_FUTURE_TRAILERS, t, wh_http_free_drop, &res[0]);
}

wasmtime_error_t *wh_http_trailers_subscribe(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
					     size_t na, wasmtime_component_val_t *res, size_t nr)
{
	uint32_t rep, prep;
	struct trailers_future *t;
	if (na < 1 || nr < 1 || wh_arg_rep(cx, &a[0], WH_FUTURE_TRAILERS, &rep) < 0 ||
	    !(t = wh_get(ctx, rep, WH_FUTURE_TRAILERS)))
		return wh_trap("future-trailers.subscribe: bad arguments");
	prep = wh_pollable_new(ctx, &trailers_poll, t);
	if (!prep || wh_val_resource(cx, &res[0], prep, WH_POLLABLE) < 0)
		return wh_trap("too many resources");
	return NULL;
}

/* get -> option<result<result<option<trailers>, error-code>>> */
wasmtime_error_t *wh_http_trailers_get(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				       size_t na, wasmtime_component_val_t *res, size_t nr)
{
	uint32_t rep;
	struct trailers_future *t;
	wasmtime_component_val_t inner, mid, opt;
	if (na < 1 || nr < 1 || wh_arg_rep(cx, &a[0], WH_FUTURE_TRAILERS, &rep) < 0 ||
	    !(t = wh_get(ctx, rep, WH_FUTURE_TRAILERS)))
		return wh_trap("future-trailers.get: bad arguments");
	if (!trailers_ready(ctx, t)) {
		wh_val_option(&res[0], NULL);
		return NULL;
	}
	if (t->taken) {
		wh_val_result(&mid, false, NULL);
		wh_val_option(&res[0], &mid);
		return NULL;
	}
	t->taken = true;
	if (t->ex && t->ex->req_error) {
		wh_http_error_code_val(&inner, "HTTP-protocol-error", NULL);
		wh_val_result(&mid, false, &inner);
	} else if (t->ex && t->ex->req->n_trailers) {
		struct fields *f = wh_http_fields_of_headers(t->ex->req->trailers, t->ex->req->n_trailers);
		wasmtime_error_t *e = wh_http_give_fields(ctx, cx, f, &opt);
		if (e)
			return e;
		wh_val_option(&inner, &opt);
		wh_val_result(&mid, true, &inner);
	} else {
		wh_val_option(&inner, NULL);
		wh_val_result(&mid, true, &inner);
	}
	wh_val_result(&opt, true, &mid);
	wh_val_option(&res[0], &opt);
	return NULL;
}
