/* wasi:http 0.2 on the host: fields, incoming requests and bodies, outgoing
 * responses and bodies streamed to the client, trailers both ways, and
 * outgoing requests sent through outbound.h. See http.h. */
#include "shim-bridge/wasi/http.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "shim-bridge/wasi/outbound.h"
#include "common/http-field.h"

#define FIELDS_MAX_ENTRIES 1024
#define FIELDS_MAX_BYTES ((size_t)256 << 10)

/* --- fields ------------------------------------------------------------------ */

struct field {
	char *name; /* lower-case */
	uint8_t *value;
	size_t value_len;
};

struct fields {
	unsigned refs;
	bool immutable;
	size_t n, cap, bytes;
	struct field *v;
};

static struct fields *fields_new(void)
{
	struct fields *f = calloc(1, sizeof(*f));
	if (f)
		f->refs = 1;
	return f;
}

static void fields_unref(struct fields *f)
{
	if (!f || --f->refs)
		return;
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].name);
		free(f->v[i].value);
	}
	free(f->v);
	free(f);
}

static char *lower_dup(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (!d)
		return NULL;
	for (size_t i = 0; i < n; i++)
		d[i] = (char)tolower((unsigned char)s[i]);
	d[n] = '\0';
	return d;
}

/* Append without checks beyond the caps: -E2BIG, -ENOMEM. */
static int fields_push(struct fields *f, const char *name, size_t nlen, const uint8_t *val, size_t vlen)
{
	struct field fl;
	if (f->n >= FIELDS_MAX_ENTRIES || f->bytes + nlen + vlen > FIELDS_MAX_BYTES)
		return -E2BIG;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8;
		struct field *v = realloc(f->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		f->v = v;
		f->cap = cap;
	}
	fl.name = lower_dup(name, nlen);
	fl.value = malloc(vlen ? vlen : 1);
	if (!fl.name || !fl.value) {
		free(fl.name);
		free(fl.value);
		return -ENOMEM;
	}
	if (vlen)
		memcpy(fl.value, val, vlen);
	fl.value_len = vlen;
	f->v[f->n++] = fl;
	f->bytes += nlen + vlen;
	return 0;
}

static void fields_delete(struct fields *f, const char *lname)
{
	size_t j = 0;
	for (size_t i = 0; i < f->n; i++) {
		if (strcmp(f->v[i].name, lname) == 0) {
			f->bytes -= strlen(f->v[i].name) + f->v[i].value_len;
			free(f->v[i].name);
			free(f->v[i].value);
		} else
			f->v[j++] = f->v[i];
	}
	f->n = j;
}

static struct fields *fields_clone(const struct fields *src, bool immutable)
{
	struct fields *f = fields_new();
	if (!f)
		return NULL;
	for (size_t i = 0; i < src->n; i++)
		if (fields_push(f, src->v[i].name, strlen(src->v[i].name), src->v[i].value, src->v[i].value_len) < 0) {
			fields_unref(f);
			return NULL;
		}
	f->immutable = immutable;
	return f;
}

static void fields_drop(struct wh_ctx *ctx, void *obj)
{
	(void)ctx;
	fields_unref(obj);
}

/* Hand a fields object (one reference moved in) to the guest. */
static wasmtime_error_t *give_fields(struct wh_ctx *ctx, wasmtime_context_t *cx, struct fields *f,
				     wasmtime_component_val_t *res)
{
	uint32_t rep;
	if (!f)
		return wh_trap("out of memory");
	rep = wh_add(ctx, WH_FIELDS, f, fields_drop);
	if (!rep || wh_val_resource(cx, res, rep, WH_FIELDS) < 0)
		return wh_trap("too many resources");
	return NULL;
}

static struct fields *fields_arg(struct wh_ctx *ctx, wasmtime_context_t *cx, const wasmtime_component_val_t *v)
{
	uint32_t rep;
	if (wh_arg_rep(cx, v, WH_FIELDS, &rep) < 0)
		return NULL;
	return wh_get(ctx, rep, WH_FIELDS);
}

static void header_error(wasmtime_component_val_t *res, const char *which)
{
	wasmtime_component_val_t e;
	wh_val_variant(&e, which, NULL);
	wh_val_result(res, false, &e);
}

static wasmtime_error_t *fields_ctor(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				     size_t na, wasmtime_component_val_t *res, size_t nr)
{
	(void)a, (void)na;
	if (nr < 1)
		return wh_trap("fields: bad results");
	return give_fields(ctx, cx, fields_new(), &res[0]);
}

static wasmtime_error_t *fields_from_list(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
					  size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct fields *f;
	wasmtime_component_val_t ok;
	if (na < 1 || nr < 1 || a[0].kind != WASMTIME_COMPONENT_LIST)
		return wh_trap("fields.from-list: bad arguments");
	f = fields_new();
	if (!f)
		return wh_trap("out of memory");
	for (size_t i = 0; i < a[0].of.list.size; i++) {
		const wasmtime_component_val_t *t = &a[0].of.list.data[i];
		const char *name;
		size_t nlen = 0, vlen = 0;
		uint8_t *val = NULL;
		int r;
		if (t->kind != WASMTIME_COMPONENT_TUPLE || t->of.tuple.size != 2 ||
		    wh_arg_string(&t->of.tuple.data[0], &name, &nlen) < 0 ||
		    wh_arg_bytes(&t->of.tuple.data[1], FIELDS_MAX_BYTES, &val, &vlen) < 0 || !sk_http_token(name, nlen) ||
		    !sk_http_value_ok(val, vlen)) {
			free(val);
			fields_unref(f);
			header_error(&res[0], "invalid-syntax");
			return NULL;
		}
		{
			char *ln = lower_dup(name, nlen);
			bool forb = ln && (sk_http_owned(ln, strlen(ln)) & SK_HTTP_HOP_BY_HOP);
			free(ln);
			if (forb) {
				free(val);
				fields_unref(f);
				header_error(&res[0], "forbidden");
				return NULL;
			}
		}
		r = fields_push(f, name, nlen, val, vlen);
		free(val);
		if (r < 0) {
			fields_unref(f);
			header_error(&res[0], "invalid-syntax");
			return NULL;
		}
	}
	{
		uint32_t rep = wh_add(ctx, WH_FIELDS, f, fields_drop);
		if (!rep || wh_val_resource(cx, &ok, rep, WH_FIELDS) < 0)
			return wh_trap("too many resources");
	}
	wh_val_result(&res[0], true, &ok);
	return NULL;
}

static wasmtime_error_t *fields_get(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				    size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct fields *f;
	const char *name;
	size_t nlen, n = 0;
	char *ln;
	wasmtime_component_val_t *l;
	if (na < 2 || nr < 1 || !(f = fields_arg(ctx, cx, &a[0])) || wh_arg_string(&a[1], &name, &nlen) < 0)
		return wh_trap("fields.get: bad arguments");
	ln = lower_dup(name, nlen);
	if (!ln)
		return wh_trap("out of memory");
	for (size_t i = 0; i < f->n; i++)
		n += strcmp(f->v[i].name, ln) == 0;
	l = wh_val_list(&res[0], n);
	n = 0;
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->v[i].name, ln) == 0)
			wh_val_bytes(&l[n++], f->v[i].value, f->v[i].value_len);
	free(ln);
	return NULL;
}

static wasmtime_error_t *fields_has(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				    size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct fields *f;
	const char *name;
	size_t nlen;
	bool found = false;
	char *ln;
	if (na < 2 || nr < 1 || !(f = fields_arg(ctx, cx, &a[0])) || wh_arg_string(&a[1], &name, &nlen) < 0)
		return wh_trap("fields.has: bad arguments");
	ln = lower_dup(name, nlen);
	if (!ln)
		return wh_trap("out of memory");
	for (size_t i = 0; i < f->n && !found; i++)
		found = strcmp(f->v[i].name, ln) == 0;
	free(ln);
	wh_val_bool(&res[0], found);
	return NULL;
}

/* set, delete and append: validate, then change a mutable fields. */
static wasmtime_error_t *fields_change(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				       size_t na, wasmtime_component_val_t *res, size_t nr, char op)
{
	struct fields *f;
	const char *name;
	size_t nlen;
	char *ln;
	int r = 0;

	if (na < (op == 'd' ? 2u : 3u) || nr < 1 || !(f = fields_arg(ctx, cx, &a[0])) ||
	    wh_arg_string(&a[1], &name, &nlen) < 0)
		return wh_trap("fields: bad arguments");
	if (f->immutable) {
		header_error(&res[0], "immutable");
		return NULL;
	}
	if (!sk_http_token(name, nlen)) {
		header_error(&res[0], "invalid-syntax");
		return NULL;
	}
	ln = lower_dup(name, nlen);
	if (!ln)
		return wh_trap("out of memory");
	if ((sk_http_owned(ln, strlen(ln)) & SK_HTTP_HOP_BY_HOP)) {
		free(ln);
		header_error(&res[0], "forbidden");
		return NULL;
	}
	if (op == 's' || op == 'a') {
		/* validate every value before changing anything */
		const wasmtime_component_val_t *vals = op == 's' ? a[2].of.list.data : &a[2];
		size_t nv = op == 's' ? a[2].of.list.size : 1;
		if (op == 's' && a[2].kind != WASMTIME_COMPONENT_LIST) {
			free(ln);
			return wh_trap("fields.set: bad value list");
		}
		for (size_t i = 0; i < nv; i++) {
			uint8_t *v;
			size_t vl;
			if (wh_arg_bytes(&vals[i], FIELDS_MAX_BYTES, &v, &vl) < 0 || !sk_http_value_ok(v, vl)) {
				free(v);
				free(ln);
				header_error(&res[0], "invalid-syntax");
				return NULL;
			}
			free(v);
		}
		if (op == 's')
			fields_delete(f, ln);
		for (size_t i = 0; i < nv && r == 0; i++) {
			uint8_t *v;
			size_t vl;
			if (wh_arg_bytes(&vals[i], FIELDS_MAX_BYTES, &v, &vl) < 0) {
				r = -EINVAL;
				break;
			}
			r = fields_push(f, ln, nlen, v, vl);
			free(v);
		}
	} else
		fields_delete(f, ln);
	free(ln);
	if (r < 0) {
		header_error(&res[0], "invalid-syntax");
		return NULL;
	}
	wh_val_ok(&res[0]);
	return NULL;
}

static wasmtime_error_t *fields_set(struct wh_ctx *c, wasmtime_context_t *cx, wasmtime_component_val_t *a, size_t na,
				    wasmtime_component_val_t *r, size_t nr)
{
	return fields_change(c, cx, a, na, r, nr, 's');
}
static wasmtime_error_t *fields_del(struct wh_ctx *c, wasmtime_context_t *cx, wasmtime_component_val_t *a, size_t na,
				    wasmtime_component_val_t *r, size_t nr)
{
	return fields_change(c, cx, a, na, r, nr, 'd');
}
static wasmtime_error_t *fields_append(struct wh_ctx *c, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				       size_t na, wasmtime_component_val_t *r, size_t nr)
{
	return fields_change(c, cx, a, na, r, nr, 'a');
}

static void entries_val(const struct fields *f, wasmtime_component_val_t *res)
{
	wasmtime_component_val_t *l = wh_val_list(res, f->n);
	for (size_t i = 0; i < f->n; i++) {
		wasmtime_component_val_t *t = wh_val_tuple(&l[i], 2);
		wh_val_cstring(&t[0], f->v[i].name);
		wh_val_bytes(&t[1], f->v[i].value, f->v[i].value_len);
	}
}

static wasmtime_error_t *fields_entries(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
					size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct fields *f;
	if (na < 1 || nr < 1 || !(f = fields_arg(ctx, cx, &a[0])))
		return wh_trap("fields.entries: bad arguments");
	entries_val(f, &res[0]);
	return NULL;
}

static wasmtime_error_t *fields_clone_fn(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
					 size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct fields *f;
	if (na < 1 || nr < 1 || !(f = fields_arg(ctx, cx, &a[0])))
		return wh_trap("fields.clone: bad arguments");
	return give_fields(ctx, cx, fields_clone(f, false), &res[0]);
}

/* --- the exchange: one incoming request and its response ------------------------- */

struct out_response; /* outgoing-response */

struct exchange {
	const struct http_request *req;
	const struct sk_kv *headers;
	size_t n_headers;
	struct http_response *resp;
	bool consumed;     /* incoming-request.consume called */
	bool body_streamed; /* incoming-body.stream called */
	bool req_done;     /* request body read to its end */
	int req_error;     /* a read failed */
	bool outparam_set;
	char error_case[64]; /* response-outparam set to an error */
	struct out_response *response;
	bool started, finished, aborted;
	bool client_gone; /* a body write failed: the client closed */
	int64_t content_length;
	uint64_t written;
	char why[200];
};

struct out_body;

struct out_response {
	unsigned refs;
	uint16_t status;
	struct fields *headers;
	struct out_body *body; /* taken body while the guest holds it */
	bool body_taken;
	bool body_finished;       /* finished before the response was set */
	struct fields *finish_trailers;
	uint8_t *pending; /* body written before the response was set */
	size_t pending_len;
	struct exchange *ex; /* after response-outparam.set */
};

enum body_kind { BODY_RESPONSE, BODY_REQUEST };

struct out_request;

/* outgoing-body: of a response (streams to the client) or of an outgoing
 * request (buffered up to max_body, then sent). */
struct out_body {
	enum body_kind kind;
	struct out_response *response;
	struct out_request *request;
	bool stream_taken, finished, failed;
};

static void response_unref(struct out_response *r)
{
	if (!r || --r->refs)
		return;
	fields_unref(r->headers);
	fields_unref(r->finish_trailers);
	free(r->pending);
	free(r);
}

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
	if (r->pending_len) {
		ssize_t w = http_response_write(ex->resp, r->pending, r->pending_len);
		free(r->pending);
		r->pending = NULL;
		if (w < 0)
			return (int)w;
		ex->written += r->pending_len;
		r->pending_len = 0;
	}
	return 0;
}

/* End the body: trailers, the last chunk; a length mismatch cuts it. */
static int finish_response(struct exchange *ex, struct fields *trailers)
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
		return r->pending_len >= WH_PRESET_BODY_MAX ? 0 : (ssize_t)(WH_PRESET_BODY_MAX - r->pending_len);
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
		uint8_t *p;
		if (r->pending_len + n > WH_PRESET_BODY_MAX)
			return -E2BIG;
		p = realloc(r->pending, r->pending_len + n);
		if (!p)
			return -ENOMEM;
		memcpy(p + r->pending_len, buf, n);
		r->pending = p;
		r->pending_len += n;
		return (ssize_t)n;
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

static const struct wh_stream_ops resp_body_ops = {
	.check_write = resp_check_write,
	.write = resp_write,
};

/* --- outgoing requests (wasi:http/outgoing-handler) ----------------------------- */

struct out_request {
	unsigned refs;
	char *method;
	char *scheme; /* NULL: none set */
	char *authority;
	char *path;
	struct fields *headers;
	uint8_t *body;
	size_t body_len;
	bool body_taken, body_finished, body_failed;
};

static void request_unref(struct out_request *r)
{
	if (!r || --r->refs)
		return;
	free(r->method);
	free(r->scheme);
	free(r->authority);
	free(r->path);
	fields_unref(r->headers);
	free(r->body);
	free(r);
}

static ssize_t reqbody_check_write(void *s)
{
	struct out_body *b = s;
	if (b->finished || b->failed)
		return -EPIPE;
	return 65536;
}

static ssize_t reqbody_write(void *s, const void *buf, size_t n)
{
	struct out_body *b = s;
	struct out_request *r = b->request;
	size_t cap = 64u << 20;
	uint8_t *p;
	if (r->body_len + n > cap) {
		b->failed = r->body_failed = true;
		return -E2BIG;
	}
	p = realloc(r->body, r->body_len + n);
	if (!p)
		return -ENOMEM;
	memcpy(p + r->body_len, buf, n);
	r->body = p;
	r->body_len += n;
	return (ssize_t)n;
}

static const struct wh_stream_ops reqbody_ops = {
	.check_write = reqbody_check_write,
	.write = reqbody_write,
};

static void out_body_drop(struct wh_ctx *ctx, void *obj)
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
	response_unref(b->response);
	request_unref(b->request);
	free(b);
}

static void out_stream_close(struct wh_ctx *ctx, void *s)
{
	(void)ctx, (void)s; /* the body owns itself; the stream only points at it */
}

/* --- incoming-request --------------------------------------------------------------- */

static struct exchange *request_arg(struct wh_ctx *ctx, wasmtime_context_t *cx, const wasmtime_component_val_t *v)
{
	uint32_t rep;
	if (wh_arg_rep(cx, v, WH_INCOMING_REQUEST, &rep) < 0)
		return NULL;
	return wh_get(ctx, rep, WH_INCOMING_REQUEST);
}

static void method_val(wasmtime_component_val_t *v, const char *m)
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

static wasmtime_error_t *ireq_method(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				     size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct exchange *ex;
	if (na < 1 || nr < 1 || !(ex = request_arg(ctx, cx, &a[0])))
		return wh_trap("incoming-request.method: bad arguments");
	method_val(&res[0], ex->req->method);
	return NULL;
}

static wasmtime_error_t *ireq_path(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
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

static wasmtime_error_t *ireq_scheme(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				     size_t na, wasmtime_component_val_t *res, size_t nr)
{
	wasmtime_component_val_t s;
	if (na < 1 || nr < 1 || !request_arg(ctx, cx, &a[0]))
		return wh_trap("incoming-request.scheme: bad arguments");
	wh_val_variant(&s, "HTTP", NULL);
	wh_val_option(&res[0], &s);
	return NULL;
}

static wasmtime_error_t *ireq_authority(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
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

static struct fields *fields_of_headers(const struct http_header *h, size_t n)
{
	struct fields *f = fields_new();
	if (!f)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (fields_push(f, h[i].name, h[i].name_len, (const uint8_t *)h[i].value, h[i].value_len) < 0) {
			fields_unref(f);
			return NULL;
		}
	f->immutable = true;
	return f;
}

static wasmtime_error_t *ireq_headers(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				      size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct exchange *ex;
	if (na < 1 || nr < 1 || !(ex = request_arg(ctx, cx, &a[0])))
		return wh_trap("incoming-request.headers: bad arguments");
	struct fields *f = fields_new();
	for (size_t i = 0; f && i < ex->n_headers; i++)
		if (fields_push(f, ex->headers[i].key, strlen(ex->headers[i].key), (const uint8_t *)ex->headers[i].value,
				strlen(ex->headers[i].value)) < 0) {
			fields_unref(f);
			f = NULL;
		}
	if (f)
		f->immutable = true;
	return give_fields(ctx, cx, f, &res[0]);
}

/* incoming-body: of the request (streams from the client) or of an
 * outgoing request's response (held in memory, bounded). */
struct in_body {
	struct exchange *ex;      /* request body */
	struct wh_out_response *r; /* response body */
	size_t off;
	bool stream_taken;
};

static void in_body_drop(struct wh_ctx *ctx, void *obj)
{
	struct in_body *b = obj;
	(void)ctx;
	if (b->r) {
		wh_out_response_free(b->r);
		free(b->r);
	}
	free(b);
}

static wasmtime_error_t *give(struct wh_ctx *ctx, wasmtime_context_t *cx, uint32_t type, void *obj, wh_drop_fn drop,
			      wasmtime_component_val_t *v)
{
	uint32_t rep = wh_add(ctx, type, obj, drop);
	if (!rep || wh_val_resource(cx, v, rep, type) < 0)
		return wh_trap("too many resources");
	return NULL;
}

static wasmtime_error_t *ireq_consume(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
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
	if ((e = give(ctx, cx, WH_INCOMING_BODY, b, in_body_drop, &v)))
		return e;
	wh_val_result(&res[0], true, &v);
	return NULL;
}

/* --- incoming-body and future-trailers ------------------------------------------ */

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

static wasmtime_error_t *ibody_stream(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
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

static void free_drop(struct wh_ctx *ctx, void *obj)
{
	(void)ctx;
	free(obj);
}

static wasmtime_error_t *ibody_finish(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
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
	return give(ctx, cx, WH_FUTURE_TRAILERS, t, free_drop, &res[0]);
}

static wasmtime_error_t *trailers_subscribe(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
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

static void error_code_val(wasmtime_component_val_t *v, const char *case_name, const char *msg);

/* get -> option<result<result<option<trailers>, error-code>>> */
static wasmtime_error_t *trailers_get(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
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
		error_code_val(&inner, "HTTP-protocol-error", NULL);
		wh_val_result(&mid, false, &inner);
	} else if (t->ex && t->ex->req->n_trailers) {
		wasmtime_error_t *e = give_fields(ctx, cx, fields_of_headers(t->ex->req->trailers, t->ex->req->n_trailers),
						  &opt);
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

/* --- outgoing-response ---------------------------------------------------------------- */

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
	response_unref(obj);
}

/* Take an own<fields> argument: the guest gives it up. */
static struct fields *take_fields(struct wh_ctx *ctx, wasmtime_context_t *cx, const wasmtime_component_val_t *v)
{
	uint32_t rep;
	if (wh_arg_rep(cx, v, WH_FIELDS, &rep) < 0)
		return NULL;
	return wh_take(ctx, rep, WH_FIELDS);
}

static wasmtime_error_t *oresp_ctor(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				    size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct out_response *r;
	struct fields *h;
	if (na < 1 || nr < 1 || !(h = take_fields(ctx, cx, &a[0])))
		return wh_trap("outgoing-response: bad arguments");
	r = calloc(1, sizeof(*r));
	if (!r) {
		fields_unref(h);
		return wh_trap("out of memory");
	}
	r->refs = 1;
	r->status = 200;
	r->headers = h;
	h->immutable = true;
	return give(ctx, cx, WH_OUTGOING_RESPONSE, r, oresp_drop, &res[0]);
}

static wasmtime_error_t *oresp_status(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				      size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct out_response *r;
	if (na < 1 || nr < 1 || !(r = oresp_arg(ctx, cx, &a[0], NULL)))
		return wh_trap("outgoing-response.status-code: bad arguments");
	wh_val_u16(&res[0], r->status);
	return NULL;
}

static wasmtime_error_t *oresp_set_status(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
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

static wasmtime_error_t *oresp_headers(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				       size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct out_response *r;
	if (na < 1 || nr < 1 || !(r = oresp_arg(ctx, cx, &a[0], NULL)))
		return wh_trap("outgoing-response.headers: bad arguments");
	r->headers->refs++; /* immutable: a shared view */
	return give_fields(ctx, cx, r->headers, &res[0]);
}

static wasmtime_error_t *oresp_body(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
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
	if ((e = give(ctx, cx, WH_OUTGOING_BODY, b, out_body_drop, &v)))
		return e;
	wh_val_result(&res[0], true, &v);
	return NULL;
}

/* --- outgoing-body ---------------------------------------------------------------------- */

static wasmtime_error_t *obody_write(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				     size_t na, wasmtime_component_val_t *res, size_t nr)
{
	static const struct wh_stream_ops resp_stream = {
		.check_write = resp_check_write, .write = resp_write, .close = out_stream_close
	};
	static const struct wh_stream_ops req_stream = {
		.check_write = reqbody_check_write, .write = reqbody_write, .close = out_stream_close
	};
	uint32_t rep, srep;
	struct out_body *b;
	wasmtime_component_val_t v;
	(void)resp_body_ops, (void)reqbody_ops;
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
static wasmtime_error_t *obody_finish(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
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
	if (topt && !(trailers = take_fields(ctx, cx, topt)))
		return wh_trap("outgoing-body.finish: trailers are not fields");
	b->finished = true;
	if (b->kind == BODY_REQUEST) {
		if (b->request)
			b->request->body_finished = true;
	} else if (b->response && b->response->ex) {
		if (b->response->ex->started)
			rc = finish_response(b->response->ex, trailers);
	} else if (b->response) {
		/* finished before the response was set: set() finishes it */
		b->response->body_finished = true;
		b->response->finish_trailers = trailers;
		trailers = NULL;
	}
	fields_unref(trailers);
	wh_remove(ctx, rep);
	if (rc < 0) {
		error_code_val(&e, "HTTP-response-body-size", NULL);
		wh_val_result(&res[0], false, &e);
		return NULL;
	}
	wh_val_ok(&res[0]);
	return NULL;
}

/* --- response-outparam ----------------------------------------------------------------- */

static wasmtime_error_t *outparam_set(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
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
		finish_response(ex, r->finish_trailers);
	return NULL;
}

static wasmtime_error_t *outparam_informational(struct wh_ctx *ctx, wasmtime_context_t *cx,
						wasmtime_component_val_t *a, size_t na, wasmtime_component_val_t *res,
						size_t nr)
{
	wasmtime_component_val_t e;
	(void)ctx, (void)cx, (void)a, (void)na;
	if (nr < 1)
		return wh_trap("send-informational: bad results");
	error_code_val(&e, "internal-error", "informational responses are not supported");
	wh_val_result(&res[0], false, &e);
	return NULL;
}

/* --- error-code ---------------------------------------------------------------------------- */

/* An error-code variant value; payloads get their "unknown" form, and
 * internal-error carries msg. */
static void error_code_val(wasmtime_component_val_t *v, const char *case_name, const char *msg)
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

static wasmtime_error_t *http_error_code(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
					 size_t na, wasmtime_component_val_t *res, size_t nr)
{
	(void)ctx, (void)cx, (void)a, (void)na;
	if (nr < 1)
		return wh_trap("http-error-code: bad results");
	wh_val_option(&res[0], NULL);
	return NULL;
}

/* --- outgoing-request, request-options ------------------------------------------------ */

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
	request_unref(obj);
}

static wasmtime_error_t *oreq_ctor(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				   size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct out_request *r;
	struct fields *h;
	if (na < 1 || nr < 1 || !(h = take_fields(ctx, cx, &a[0])))
		return wh_trap("outgoing-request: bad arguments");
	r = calloc(1, sizeof(*r));
	if (!r || !(r->method = strdup("GET"))) {
		free(r);
		fields_unref(h);
		return wh_trap("out of memory");
	}
	r->refs = 1;
	r->headers = h;
	h->immutable = true;
	return give(ctx, cx, WH_OUTGOING_REQUEST, r, oreq_drop, &res[0]);
}

static wasmtime_error_t *oreq_body(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
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
	if ((e = give(ctx, cx, WH_OUTGOING_BODY, b, out_body_drop, &v)))
		return e;
	wh_val_result(&res[0], true, &v);
	return NULL;
}

static wasmtime_error_t *oreq_method(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				     size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct out_request *r;
	if (na < 1 || nr < 1 || !(r = oreq_arg(ctx, cx, &a[0])))
		return wh_trap("outgoing-request.method: bad arguments");
	method_val(&res[0], r->method);
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

static wasmtime_error_t *oreq_set_method(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
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
			val = lower_dup(s, n);
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
	static wasmtime_error_t *name(struct wh_ctx *c, wasmtime_context_t *cx, wasmtime_component_val_t *a, size_t na, \
				      wasmtime_component_val_t *r, size_t nr)                                          \
	{                                                                                                             \
		return fn(c, cx, a, na, r, nr, which);                                                                \
	}
OREQ_STR(oreq_path, 'p', oreq_get_str)
OREQ_STR(oreq_authority, 'a', oreq_get_str)
OREQ_STR(oreq_scheme, 's', oreq_get_str)
OREQ_STR(oreq_set_path, 'p', oreq_set_str)
OREQ_STR(oreq_set_authority, 'a', oreq_set_str)
OREQ_STR(oreq_set_scheme, 's', oreq_set_str)

static wasmtime_error_t *oreq_headers(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				      size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct out_request *r;
	if (na < 1 || nr < 1 || !(r = oreq_arg(ctx, cx, &a[0])))
		return wh_trap("outgoing-request.headers: bad arguments");
	r->headers->refs++;
	return give_fields(ctx, cx, r->headers, &res[0]);
}

struct req_options {
	uint64_t t[3]; /* connect, first byte, between bytes; 0 = unset */
};

static wasmtime_error_t *ropt_ctor(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				   size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct req_options *o = calloc(1, sizeof(*o));
	(void)a, (void)na;
	if (!o || nr < 1) {
		free(o);
		return wh_trap("request-options: out of memory");
	}
	return give(ctx, cx, WH_REQUEST_OPTIONS, o, free_drop, &res[0]);
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
	static wasmtime_error_t *name(struct wh_ctx *c, wasmtime_context_t *cx, wasmtime_component_val_t *a, size_t na, \
				      wasmtime_component_val_t *r, size_t nr)                                          \
	{                                                                                                             \
		return ropt_access(c, cx, a, na, r, nr, idx, set);                                                    \
	}
ROPT(ropt_connect, 0, false)
ROPT(ropt_set_connect, 0, true)
ROPT(ropt_first, 1, false)
ROPT(ropt_set_first, 1, true)
ROPT(ropt_between, 2, false)
ROPT(ropt_set_between, 2, true)

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
	request_unref(f->req);
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
	rq.body = r->body;
	rq.body_len = r->body_len;
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

static wasmtime_error_t *outgoing_handle(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
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
		request_unref(r);
		error_code_val(&e, "HTTP-request-URI-invalid", NULL);
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
		request_unref(r);
		error_code_val(&e, "HTTP-request-denied", NULL);
		wh_val_result(&res[0], false, &e);
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		request_unref(r);
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
	if ((err = give(ctx, cx, WH_FUTURE_INCOMING_RESPONSE, f, future_drop, &v)))
		return err;
	wh_val_result(&res[0], true, &v);
	return NULL;
}

static wasmtime_error_t *future_subscribe(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
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
static wasmtime_error_t *future_get(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
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
		error_code_val(&inner, wh_out_error_case(f->error), f->why);
		wh_val_result(&mid, false, &inner);
	} else {
		struct in_response *ir = calloc(1, sizeof(*ir));
		wasmtime_error_t *e;
		if (!ir)
			return wh_trap("out of memory");
		ir->r = f->resp;
		f->resp = NULL;
		if ((e = give(ctx, cx, WH_INCOMING_RESPONSE, ir, in_response_drop, &inner)))
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

static wasmtime_error_t *iresp_status(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				      size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct in_response *ir;
	if (na < 1 || nr < 1 || !(ir = iresp_arg(ctx, cx, &a[0])))
		return wh_trap("incoming-response.status: bad arguments");
	wh_val_u16(&res[0], (uint16_t)(ir->r ? ir->r->status : 0));
	return NULL;
}

static wasmtime_error_t *iresp_headers(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				       size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct in_response *ir;
	struct fields *f;
	if (na < 1 || nr < 1 || !(ir = iresp_arg(ctx, cx, &a[0])))
		return wh_trap("incoming-response.headers: bad arguments");
	f = fields_new();
	for (size_t i = 0; f && ir->r && i < ir->r->n_headers; i++) {
		const struct wh_out_header *h = &ir->r->headers[i];
		if (fields_push(f, h->name, strlen(h->name), (const uint8_t *)h->value, h->value_len) < 0) {
			fields_unref(f);
			f = NULL;
		}
	}
	if (f)
		f->immutable = true;
	return give_fields(ctx, cx, f, &res[0]);
}

static wasmtime_error_t *iresp_consume(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
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
	if ((e = give(ctx, cx, WH_INCOMING_BODY, b, in_body_drop, &v)))
		return e;
	wh_val_result(&res[0], true, &v);
	return NULL;
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
	{ "[constructor]fields", fields_ctor },
	{ "[static]fields.from-list", fields_from_list },
	{ "[method]fields.get", fields_get },
	{ "[method]fields.has", fields_has },
	{ "[method]fields.set", fields_set },
	{ "[method]fields.delete", fields_del },
	{ "[method]fields.append", fields_append },
	{ "[method]fields.entries", fields_entries },
	{ "[method]fields.clone", fields_clone_fn },
	{ "[method]incoming-request.method", ireq_method },
	{ "[method]incoming-request.path-with-query", ireq_path },
	{ "[method]incoming-request.scheme", ireq_scheme },
	{ "[method]incoming-request.authority", ireq_authority },
	{ "[method]incoming-request.headers", ireq_headers },
	{ "[method]incoming-request.consume", ireq_consume },
	{ "[constructor]outgoing-request", oreq_ctor },
	{ "[method]outgoing-request.body", oreq_body },
	{ "[method]outgoing-request.method", oreq_method },
	{ "[method]outgoing-request.set-method", oreq_set_method },
	{ "[method]outgoing-request.path-with-query", oreq_path },
	{ "[method]outgoing-request.set-path-with-query", oreq_set_path },
	{ "[method]outgoing-request.scheme", oreq_scheme },
	{ "[method]outgoing-request.set-scheme", oreq_set_scheme },
	{ "[method]outgoing-request.authority", oreq_authority },
	{ "[method]outgoing-request.set-authority", oreq_set_authority },
	{ "[method]outgoing-request.headers", oreq_headers },
	{ "[constructor]request-options", ropt_ctor },
	{ "[method]request-options.connect-timeout", ropt_connect },
	{ "[method]request-options.set-connect-timeout", ropt_set_connect },
	{ "[method]request-options.first-byte-timeout", ropt_first },
	{ "[method]request-options.set-first-byte-timeout", ropt_set_first },
	{ "[method]request-options.between-bytes-timeout", ropt_between },
	{ "[method]request-options.set-between-bytes-timeout", ropt_set_between },
	{ "[method]response-outparam.send-informational", outparam_informational },
	{ "[static]response-outparam.set", outparam_set },
	{ "[method]incoming-response.status", iresp_status },
	{ "[method]incoming-response.headers", iresp_headers },
	{ "[method]incoming-response.consume", iresp_consume },
	{ "[method]incoming-body.stream", ibody_stream },
	{ "[static]incoming-body.finish", ibody_finish },
	{ "[method]future-trailers.subscribe", trailers_subscribe },
	{ "[method]future-trailers.get", trailers_get },
	{ "[constructor]outgoing-response", oresp_ctor },
	{ "[method]outgoing-response.status-code", oresp_status },
	{ "[method]outgoing-response.set-status-code", oresp_set_status },
	{ "[method]outgoing-response.headers", oresp_headers },
	{ "[method]outgoing-response.body", oresp_body },
	{ "[method]outgoing-body.write", obody_write },
	{ "[static]outgoing-body.finish", obody_finish },
	{ "[method]future-incoming-response.subscribe", future_subscribe },
	{ "[method]future-incoming-response.get", future_get },
	{ "http-error-code", http_error_code },
};
static const struct wh_func_def outgoing_funcs[] = { { "handle", outgoing_handle } };

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
		return sk_err(err, -EIO, "%s", ex->client_gone ? ex->why : ctx->why);
	}
	if (!ex->outparam_set) {
		return sk_err(err, -EPROTO, "the guest returned without setting a response");
	}
	if (ex->error_case[0]) {
		return sk_err(err, -EPROTO, "the guest answered with error %s", ex->error_case);
	}
	if (ex->aborted) {
		return sk_err(err, -EPIPE, "%s", ex->why[0] ? ex->why : "the response could not be sent");
	}
	if (ex->started && !ex->finished) {
		struct out_response *rs = ex->response;
		if (rs && rs->body_taken) {
			return sk_err(err, -EPROTO, "the guest did not finish the response body");
		}
		/* no body was ever taken: an empty body */
		if (finish_response(ex, NULL) < 0) {
			return sk_err(err, -EPIPE, "%s", ex->why[0] ? ex->why : "the response could not be finished");
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
		response_unref(ex->response);
	}
	free(ex);
	ctx->http = NULL;
}
