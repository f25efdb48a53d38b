/* fermyon:spin/http, Spin's v1 outbound HTTP: send-request(request) ->
 * result<response, http-error>, over the client of outbound.h. As Spin
 * does: params are ignored (deprecated), a relative URI is a "self" request (not supported here: the
 * runtime has no origin to resolve it against), a refused destination is
 * destination-not-allowed, a URL that is not absolute http(s) is
 * invalid-url, everything else runtime-error; response header names are
 * lower case and headers and body are always present. Unlike Spin (whose
 * client follows up to 10 redirects), redirects reach the guest. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/utf8.h"
#include "common/http-field.h"
#include "shim-bridge/wasi/outbound-internal.h"

struct spin_req {
	struct wh_out_request rq;
	struct wh_out_header *headers;
	size_t n_headers;
	uint8_t *body;
	char scheme[8];
	char *authority;
	char *path;
	bool relative; /* uri starts with '/' */
	bool bad_uri;
};

static void spin_req_release(struct spin_req *q)
{
	wh_out_headers_free(q->headers, q->n_headers);
	free(q->body);
	free(q->authority);
	free(q->path);
}

static const wasmtime_component_val_t *field(const wasmtime_component_val_t *rec, const char *name)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i < rec->of.record.size; i++) {
		const wasmtime_component_valrecord_entry_t *f = &rec->of.record.data[i];
		if (f->name.size == nl && memcmp(f->name.data, name, nl) == 0)
			return &f->val;
	}
	return NULL;
}

/* The method enum's case as an HTTP method; NULL when unknown. */
static const char *spin_method(const wasmtime_component_val_t *v)
{
	static const char *const m[][2] = {{"get", "GET"},        {"post", "POST"},   {"put", "PUT"},
	                                   {"delete", "DELETE"},  {"patch", "PATCH"}, {"head", "HEAD"},
	                                   {"options", "OPTIONS"}};

	if (!v || v->kind != WASMTIME_COMPONENT_ENUM)
		return NULL;
	for (size_t i = 0; i < N(m); i++)
		if (v->of.enumeration.size == strlen(m[i][0]) &&
		    memcmp(v->of.enumeration.data, m[i][0], v->of.enumeration.size) == 0)
			return m[i][1];
	return NULL;
}

/* uri (n bytes) as scheme, authority and path-with-query: an absolute http
 * or https URI, else relative or bad_uri is set. */
static int spin_split_uri(const char *uri, size_t n, struct spin_req *q)
{
	const char *sep, *auth, *end, *p;

	if (!uri || n == 0) {
		q->bad_uri = true;
		return 0;
	}
	end = uri + n;
	if (uri[0] == '/') {
		q->relative = true;
		return 0;
	}
	sep = n >= 3 ? memmem(uri, n, "://", 3) : NULL;
	if (!sep || memchr(uri, '\0', n) || (size_t)(sep - uri) >= sizeof(q->scheme)) {
		q->bad_uri = true;
		return 0;
	}
	for (size_t i = 0; i < (size_t)(sep - uri); i++)
		q->scheme[i] = (char)((uri[i] >= 'A' && uri[i] <= 'Z') ? uri[i] | 0x20 : uri[i]);
	q->scheme[sep - uri] = '\0';
	if (strcmp(q->scheme, "http") != 0 && strcmp(q->scheme, "https") != 0) {
		q->bad_uri = true;
		return 0;
	}
	auth = sep + 3;
	for (p = auth; p < end && *p != '/' && *p != '?' && *p != '#'; p++)
		;
	q->authority = strndup(auth, (size_t)(p - auth));
	q->path = strndup(p, (size_t)(end - p));
	if (!q->authority || !q->path)
		return -ENOMEM;
	if (!q->authority[0])
		q->bad_uri = true;
	return 0;
}

/* headers: list<tuple<string, string>> into q->headers. -EINVAL on a value
 * of the wrong shape, -E2BIG past the caps, -EILSEQ on a NUL in a name. */
static int spin_headers(const wasmtime_component_val_t *v, struct spin_req *q)
{
	size_t n;

	if (!v || v->kind != WASMTIME_COMPONENT_LIST)
		return -EINVAL;
	n = v->of.list.size;
	if (n > WH_OUT_HEADERS_MAX)
		return -E2BIG;
	if (n && !(q->headers = calloc(n, sizeof(*q->headers))))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const wasmtime_component_val_t *t = &v->of.list.data[i];
		const char *name, *value;
		size_t nl, vl;

		if (t->kind != WASMTIME_COMPONENT_TUPLE || t->of.tuple.size != 2 ||
		    wh_arg_string(&t->of.tuple.data[0], &name, &nl) < 0 ||
		    wh_arg_string(&t->of.tuple.data[1], &value, &vl) < 0)
			return -EINVAL;
		if (nl + vl > WH_OUT_HEADER_BYTES_MAX)
			return -E2BIG;
		if (memchr(name, '\0', nl))
			return -EILSEQ;
		q->headers[i].name = strndup(name, nl);
		q->headers[i].value = malloc(vl + 1);
		q->n_headers = i + 1;
		if (!q->headers[i].name || !q->headers[i].value)
			return -ENOMEM;
		memcpy(q->headers[i].value, value, vl);
		q->headers[i].value[vl] = '\0';
		q->headers[i].value_len = vl;
	}
	return 0;
}

/* The request record into q. -EINVAL when it does not have the shape of
 * fermyon:spin/http-types.request; -E2BIG, -EILSEQ when it is past the caps
 * or unusable; -ENOMEM. */
static int spin_parse_request(const wasmtime_component_val_t *rec, size_t max_body, struct spin_req *q)
{
	const wasmtime_component_val_t *uri_v, *params, *body_v, *inner = NULL;
	const char *uri;
	size_t un;
	int r;

	if (rec->kind != WASMTIME_COMPONENT_RECORD)
		return -EINVAL;
	q->rq.method = spin_method(field(rec, "method"));
	uri_v = field(rec, "uri");
	params = field(rec, "params");
	body_v = field(rec, "body");
	if (!q->rq.method || !uri_v || wh_arg_string(uri_v, &uri, &un) < 0 || !params ||
	    params->kind != WASMTIME_COMPONENT_LIST || !body_v || wh_arg_option(body_v, &inner) < 0)
		return -EINVAL;
	if ((r = spin_headers(field(rec, "headers"), q)) < 0)
		return r;
	if (inner && (r = wh_arg_bytes(inner, max_body, &q->body, &q->rq.body_len)) < 0)
		return r;
	if (un > WH_OUT_URL_MAX)
		q->bad_uri = true;
	else if ((r = spin_split_uri(uri, un, q)) < 0)
		return r;
	q->rq.scheme = q->scheme;
	q->rq.authority = q->authority;
	q->rq.path_query = q->path;
	q->rq.headers = q->headers;
	q->rq.n_headers = q->n_headers;
	q->rq.body = q->body;
	return 0;
}

static void spin_error(wasmtime_component_val_t *res, const char *case_name)
{
	wasmtime_component_val_t e;

	wh_val_enum(&e, case_name);
	wh_val_result(res, false, &e);
}

/* ok(response) into res; -EILSEQ (res untouched) when a header value is
 * not UTF-8, which a WIT string must be. */
static int spin_response(wasmtime_component_val_t *res, const struct wh_out_response *rs)
{
	static const char *const names[] = {"status", "headers", "body"};
	wasmtime_component_val_t resp, list, body;
	wasmtime_component_valrecord_entry_t *f;
	wasmtime_component_val_t *items;

	for (size_t i = 0; i < rs->n_headers; i++)
		if (!sk_utf8_valid((const unsigned char *)rs->headers[i].value, rs->headers[i].value_len))
			return -EILSEQ;
	f = wh_val_record(&resp, names, N(names));
	wh_val_u16(&f[0].val, (uint16_t)rs->status);
	items = wh_val_list(&list, rs->n_headers);
	for (size_t i = 0; i < rs->n_headers; i++) {
		wasmtime_component_val_t *t = wh_val_tuple(&items[i], 2);
		wh_val_cstring(&t[0], rs->headers[i].name);
		wh_val_string(&t[1], rs->headers[i].value, rs->headers[i].value_len);
	}
	wh_val_option(&f[1].val, &list);
	wh_val_bytes(&body, rs->body, rs->body_len);
	wh_val_option(&f[2].val, &body);
	wh_val_result(res, true, &resp);
	return 0;
}

static wasmtime_error_t *spin_send_request(struct wh_ctx *ctx, wasmtime_context_t *cx,
                                           wasmtime_component_val_t *a, size_t na,
                                           wasmtime_component_val_t *res, size_t nr)
{
	_cleanup_(spin_req_release) struct spin_req q = {0};
	_cleanup_(wh_out_response_free) struct wh_out_response rs = {0};
	const struct wh_component_env *env = ctx->env;
	size_t cap = env && env->max_body ? env->max_body : WH_OUT_MAX_BODY_DEFAULT;
	enum wh_out_error e = WH_OUT_OK;
	int r;

	(void)cx;
	if (na != 1 || nr != 1)
		return wh_trap("fermyon:spin/http send-request: %zu arguments and %zu results, want 1 and 1",
		               na, nr);
	r = spin_parse_request(&a[0], cap, &q);
	if (r == -EINVAL)
		return wh_trap(
		    "fermyon:spin/http send-request: the argument is not a fermyon:spin/http-types request");
	if (r == -ENOMEM)
		return wh_trap("fermyon:spin/http send-request: out of memory");
	if (r < 0) {
		spin_error(res, "runtime-error");
		return NULL;
	}
	if (q.relative) {
		bool self = env && (wh_allowed_hosts_self(env->allowed_outbound_hosts,
		                                          env->n_allowed_outbound_hosts, "http") ||
		                    wh_allowed_hosts_self(env->allowed_outbound_hosts,
		                                          env->n_allowed_outbound_hosts, "https"));
		spin_error(res, self ? "invalid-url" : "destination-not-allowed");
		return NULL;
	}
	if (q.bad_uri) {
		spin_error(res, "invalid-url");
		return NULL;
	}
	(void)wh_outbound_send(env, &q.rq, ctx->deadline_ns, cap, &rs, &e, NULL);
	if (e == WH_OUT_OK) {
		if (spin_response(res, &rs) < 0)
			spin_error(res, "runtime-error");
		return NULL;
	}
	if ((e == WH_OUT_TIMEOUT || e == WH_OUT_CONNECT_TIMEOUT) && ctx->deadline_ns >= 0 &&
	    wh_now_ns() >= ctx->deadline_ns)
		ctx->timed_out = true;
	spin_error(res, e == WH_OUT_DENIED ? "destination-not-allowed"
	                : e == WH_OUT_URI  ? "invalid-url"
	                                   : "runtime-error");
	return NULL;
}

static const struct wh_func_def spin_http_funcs[] = {{"send-request", spin_send_request}};

/* fermyon:spin/http-types holds only types, but a component that imports
 * fermyon:spin/http imports it as an instance too. */
const struct wh_iface_def wh_outbound_ifaces[] = {
    {"fermyon:spin/http-types", NULL, 0, NULL, 0},
    {"fermyon:spin/http", NULL, 0, spin_http_funcs, N(spin_http_funcs)},
};
const size_t wh_n_outbound_ifaces = N(wh_outbound_ifaces);