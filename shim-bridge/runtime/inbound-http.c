/* The fermyon:spin/inbound-http handler (Spin 2 components): the request
 * passed as one record value, the response taken back as one, headers and
 * body checked and capped before the server sees them. */
#include "shim-bridge/runtime/handler-int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/http-field.h"

/* Headers a component may return. */
#define RESPONSE_HEADERS_MAX 100

static void val_string(wasmtime_component_val_t *v, const char *s, size_t n)
{
	v->kind = WASMTIME_COMPONENT_STRING;
	wasm_name_new(&v->of.string, n, s);
}

static void val_kv_list(wasmtime_component_val_t *v, const struct sk_kv *kv, size_t n)
{
	v->kind = WASMTIME_COMPONENT_LIST;
	wasmtime_component_vallist_new_uninit(&v->of.list, n);
	for (size_t i = 0; i < n; i++) {
		wasmtime_component_val_t *t = &v->of.list.data[i];
		t->kind = WASMTIME_COMPONENT_TUPLE;
		wasmtime_component_valtuple_new_uninit(&t->of.tuple, 2);
		val_string(&t->of.tuple.data[0], kv[i].key, strlen(kv[i].key));
		val_string(&t->of.tuple.data[1], kv[i].value, strlen(kv[i].value));
	}
}

static void val_bytes(wasmtime_component_val_t *v, const uint8_t *p, size_t n)
{
	v->kind = WASMTIME_COMPONENT_LIST;
	wasmtime_component_vallist_new_uninit(&v->of.list, n);
	for (size_t i = 0; i < n; i++) {
		v->of.list.data[i].kind = WASMTIME_COMPONENT_U8;
		v->of.list.data[i].of.u8 = p[i];
	}
}

static void record_field(wasmtime_component_valrecord_entry_t *e, const char *name)
{
	wasm_name_new(&e->name, strlen(name), name);
}

/* The interface's method enum, by the case names it declares. */
static const char *method_case(const char *m)
{
	static const char *const cases[][2] = {
		{ "GET", "get" },	  { "POST", "post" }, { "PUT", "put" },	       { "DELETE", "delete" },
		{ "PATCH", "patch" }, { "HEAD", "head" }, { "OPTIONS", "options" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (strcmp(m, cases[i][0]) == 0)
			return cases[i][1];
	return NULL;
}

static void build_request(const struct sb_inbound_request *req, const char *mcase, wasmtime_component_val_t *v)
{
	wasmtime_component_valrecord_entry_t *f;

	v->kind = WASMTIME_COMPONENT_RECORD;
	wasmtime_component_valrecord_new_uninit(&v->of.record, 5);
	f = v->of.record.data;
	record_field(&f[0], "method");
	f[0].val.kind = WASMTIME_COMPONENT_ENUM;
	wasm_name_new(&f[0].val.of.enumeration, strlen(mcase), mcase);
	record_field(&f[1], "uri");
	val_string(&f[1].val, req->uri, strlen(req->uri));
	record_field(&f[2], "headers");
	val_kv_list(&f[2].val, req->headers, req->n_headers);
	record_field(&f[3], "params");
	val_kv_list(&f[3].val, req->params, req->n_params);
	record_field(&f[4], "body");
	f[4].val.kind = WASMTIME_COMPONENT_OPTION;
	f[4].val.of.option = NULL;
	if (req->has_body) {
		wasmtime_component_val_t b;
		val_bytes(&b, req->body, req->body_len);
		f[4].val.of.option = wasmtime_component_val_new(&b);
	}
}

static const wasmtime_component_val_t *field(const wasmtime_component_val_t *rec, const char *name)
{
	for (size_t i = 0; i < rec->of.record.size; i++) {
		const wasmtime_component_valrecord_entry_t *e = &rec->of.record.data[i];
		if (e->name.size == strlen(name) && memcmp(e->name.data, name, e->name.size) == 0)
			return &e->val;
	}
	return NULL;
}

/* A header name is an HTTP token; a value has no CR, LF or NUL. */
static bool valid_header(const wasm_name_t *n, const wasm_name_t *v)
{
	return v->size <= 8192 && sk_http_token(n->data, n->size) && sk_http_value_ok(v->data, v->size);
}

/* The response's headers, checked: at most RESPONSE_HEADERS_MAX pairs of
 * strings that are valid HTTP fields. */
static int take_headers(const wasmtime_component_val_t *l, struct sb_inbound_response *out, struct sk_error *err)
{
	if (l->kind != WASMTIME_COMPONENT_LIST || l->of.list.size > RESPONSE_HEADERS_MAX)
		return sk_err(err, -EPROTO, "malformed response: more than %d headers", RESPONSE_HEADERS_MAX);
	out->header_names = calloc(l->of.list.size + 1, sizeof(char *));
	out->header_values = calloc(l->of.list.size + 1, sizeof(char *));
	if (!out->header_names || !out->header_values)
		return sk_err(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < l->of.list.size; i++) {
		const wasmtime_component_val_t *t = &l->of.list.data[i];
		if (t->kind != WASMTIME_COMPONENT_TUPLE || t->of.tuple.size != 2 ||
		    t->of.tuple.data[0].kind != WASMTIME_COMPONENT_STRING ||
		    t->of.tuple.data[1].kind != WASMTIME_COMPONENT_STRING)
			return sk_err(err, -EPROTO, "malformed response: header %zu is not a pair of strings", i);
		const wasm_name_t *n = &t->of.tuple.data[0].of.string, *v = &t->of.tuple.data[1].of.string;
		if (!valid_header(n, v))
			return sk_err(err, -EPROTO, "malformed response: header %zu is not a valid HTTP header", i);
		out->header_names[i] = strndup(n->data, n->size);
		out->header_values[i] = strndup(v->data, v->size);
		out->n_headers = i + 1;
		if (!out->header_names[i] || !out->header_values[i])
			return sk_err(err, -ENOMEM, "out of memory");
	}
	return 0;
}

/* The body, a list<u8>, into out->body (capped by max_body). */
static int take_body(const wasmtime_component_val_t *l, struct sb_inbound_response *out, size_t max_body,
		     struct sk_error *err)
{
	uint8_t chunk[4096];
	size_t k = 0;

	if (l->kind != WASMTIME_COMPONENT_LIST || l->of.list.size > max_body)
		return sk_err(err, -EFBIG, "response body is over the %zu-byte limit", max_body);
	for (size_t i = 0; i < l->of.list.size; i++) {
		chunk[k++] = l->of.list.data[i].of.u8;
		if ((k == sizeof(chunk) || i + 1 == l->of.list.size) && sk_buf_append(&out->body, chunk, k) < 0)
			return sk_err(err, -ENOMEM, "out of memory");
		if (k == sizeof(chunk))
			k = 0;
	}
	return 0;
}

static int take_response(const wasmtime_component_val_t *res, struct sb_inbound_response *out, size_t max_body,
			 struct sk_error *err)
{
	const wasmtime_component_val_t *st, *hd, *bd;
	int r;

	if (res->kind != WASMTIME_COMPONENT_RECORD || !(st = field(res, "status")) ||
	    st->kind != WASMTIME_COMPONENT_U16)
		return sk_err(err, -EPROTO, "malformed response: no status");
	if (st->of.u16 < 100 || st->of.u16 > 599)
		return sk_err(err, -EPROTO, "malformed response: status %u is not an HTTP status", st->of.u16);
	out->status = st->of.u16;
	hd = field(res, "headers");
	if (hd && hd->kind == WASMTIME_COMPONENT_OPTION && hd->of.option &&
	    (r = take_headers(hd->of.option, out, err)) < 0)
		return r;
	bd = field(res, "body");
	out->body = sk_buf_make(max_body);
	if (bd && bd->kind == WASMTIME_COMPONENT_OPTION && bd->of.option)
		return take_body(bd->of.option, out, max_body, err);
	return 0;
}

void sb_inbound_response_free(struct sb_inbound_response *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_headers; i++) {
		free(r->header_names[i]);
		free(r->header_values[i]);
	}
	free(r->header_names);
	free(r->header_values);
	sk_buf_free(&r->body);
	memset(r, 0, sizeof(*r));
}

/* Instantiate, call handle-request with the request record, and take the
 * response record. */
static int call_handler(struct sb_component *c, wasmtime_context_t *ctx, const struct sb_inbound_request *req,
			const char *mcase, struct sb_inbound_response *resp, struct sk_error *err)
{
	wasmtime_component_val_t arg, res;
	wasmtime_component_instance_t inst;
	wasmtime_component_func_t fn;
	wasmtime_error_t *we;
	int r;

	we = wasmtime_component_linker_instantiate(c->clinker, ctx, c->component, &inst);
	if (we)
		return sb_wasm_fail(c, we, NULL, NULL, err);
	if (!wasmtime_component_instance_get_func(&inst, ctx, c->export_fn, &fn))
		return sk_err(err, -EIO, "handle-request is not a function");
	build_request(req, mcase, &arg);
	memset(&res, 0, sizeof(res));
	res.kind = WASMTIME_COMPONENT_BOOL;
	we = wasmtime_component_func_call(&fn, ctx, &arg, 1, &res, 1);
	wasmtime_component_val_delete(&arg);
	if (we)
		return sb_wasm_fail(c, we, NULL, NULL, err);
	r = take_response(&res, resp, c->max_output, err);
	wasmtime_component_val_delete(&res);
	if (r < 0)
		sb_inbound_response_free(resp);
	return r;
}

int sb_inbound_http_call(struct sb_component *c, const struct sb_inbound_request *req,
			 struct sb_inbound_response *resp, struct sk_error *err)
{
	const char *mcase = method_case(req->method);
	struct sb_stdio io;
	wasmtime_store_t *store;
	int r;

	memset(resp, 0, sizeof(*resp));
	if (!mcase)
		return sk_err(err, -ENOTSUP, "method %s cannot be passed to fermyon:spin/inbound-http", req->method);
	sb_stdio_init(&io, c, NULL);
	r = sb_store_new(c, NULL, 0, NULL, 0, NULL, 0, &io, &store, err);
	if (r < 0)
		return r;
	r = call_handler(c, wasmtime_store_context(store), req, mcase, resp, err);
	sb_stdio_flush(&io);
	wasmtime_store_delete(store);
	return r;
}
