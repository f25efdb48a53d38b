/* wasi:http's fields resource (headers and trailers, both ways): a list of
 * lower-case names and byte values, capped in entries and bytes, with the
 * guest-facing constructor, from-list, get, has, set, delete, append,
 * entries and clone. Names and values are checked with common/http-field.h;
 * hop-by-hop names are forbidden. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/http-field.h"
#include "shim-bridge/wasi/http-internal.h"

struct fields *wh_http_fields_new(void)
{
	struct fields *f = calloc(1, sizeof(*f));
	if (f)
		f->refs = 1;
	return f;
}

void wh_http_fields_unref(struct fields *f)
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

char *wh_http_lower_dup(const char *s, size_t n)
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
int wh_http_fields_push(struct fields *f, const char *name, size_t nlen, const uint8_t *val, size_t vlen)
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
	fl.name = wh_http_lower_dup(name, nlen);
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
	struct fields *f = wh_http_fields_new();
	if (!f)
		return NULL;
	for (size_t i = 0; i < src->n; i++)
		if (wh_http_fields_push(f, src->v[i].name, strlen(src->v[i].name), src->v[i].value, src->v[i].value_len) < 0) {
			wh_http_fields_unref(f);
			return NULL;
		}
	f->immutable = immutable;
	return f;
}

static void fields_drop(struct wh_ctx *ctx, void *obj)
{
	(void)ctx;
	wh_http_fields_unref(obj);
}

/* Hand a fields object (one reference moved in) to the guest. */
wasmtime_error_t *wh_http_give_fields(struct wh_ctx *ctx, wasmtime_context_t *cx, struct fields *f,
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

wasmtime_error_t *wh_http_fields_ctor(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				      size_t na, wasmtime_component_val_t *res, size_t nr)
{
	(void)a, (void)na;
	if (nr < 1)
		return wh_trap("fields: bad results");
	return wh_http_give_fields(ctx, cx, wh_http_fields_new(), &res[0]);
}

wasmtime_error_t *wh_http_fields_from_list(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
					   size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct fields *f;
	wasmtime_component_val_t ok;
	if (na < 1 || nr < 1 || a[0].kind != WASMTIME_COMPONENT_LIST)
		return wh_trap("fields.from-list: bad arguments");
	f = wh_http_fields_new();
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
			wh_http_fields_unref(f);
			header_error(&res[0], "invalid-syntax");
			return NULL;
		}
		{
			char *ln = wh_http_lower_dup(name, nlen);
			bool forb = ln && (sk_http_owned(ln, strlen(ln)) & SK_HTTP_HOP_BY_HOP);
			free(ln);
			if (forb) {
				free(val);
				wh_http_fields_unref(f);
				header_error(&res[0], "forbidden");
				return NULL;
			}
		}
		r = wh_http_fields_push(f, name, nlen, val, vlen);
		free(val);
		if (r < 0) {
			wh_http_fields_unref(f);
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

wasmtime_error_t *wh_http_fields_get(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				     size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct fields *f;
	const char *name;
	size_t nlen, n = 0;
	char *ln;
	wasmtime_component_val_t *l;
	if (na < 2 || nr < 1 || !(f = fields_arg(ctx, cx, &a[0])) || wh_arg_string(&a[1], &name, &nlen) < 0)
		return wh_trap("fields.get: bad arguments");
	ln = wh_http_lower_dup(name, nlen);
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

wasmtime_error_t *wh_http_fields_has(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				     size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct fields *f;
	const char *name;
	size_t nlen;
	bool found = false;
	char *ln;
	if (na < 2 || nr < 1 || !(f = fields_arg(ctx, cx, &a[0])) || wh_arg_string(&a[1], &name, &nlen) < 0)
		return wh_trap("fields.has: bad arguments");
	ln = wh_http_lower_dup(name, nlen);
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
	ln = wh_http_lower_dup(name, nlen);
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
			r = wh_http_fields_push(f, ln, nlen, v, vl);
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

wasmtime_error_t *wh_http_fields_set(struct wh_ctx *c, wasmtime_context_t *cx, wasmtime_component_val_t *a, size_t na,
				     wasmtime_component_val_t *r, size_t nr)
{
	return fields_change(c, cx, a, na, r, nr, 's');
}
wasmtime_error_t *wh_http_fields_del(struct wh_ctx *c, wasmtime_context_t *cx, wasmtime_component_val_t *a, size_t na,
				     wasmtime_component_val_t *r, size_t nr)
{
	return fields_change(c, cx, a, na, r, nr, 'd');
}
wasmtime_error_t *wh_http_fields_append(struct wh_ctx *c, wasmtime_context_t *cx, wasmtime_component_val_t *a,
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

wasmtime_error_t *wh_http_fields_entries(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
					 size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct fields *f;
	if (na < 1 || nr < 1 || !(f = fields_arg(ctx, cx, &a[0])))
		return wh_trap("fields.entries: bad arguments");
	entries_val(f, &res[0]);
	return NULL;
}

wasmtime_error_t *wh_http_fields_clone_fn(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
					  size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct fields *f;
	if (na < 1 || nr < 1 || !(f = fields_arg(ctx, cx, &a[0])))
		return wh_trap("fields.clone: bad arguments");
	return wh_http_give_fields(ctx, cx, fields_clone(f, false), &res[0]);
}

struct fields *wh_http_fields_of_headers(const struct http_header *h, size_t n)
{
	struct fields *f = wh_http_fields_new();
	if (!f)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (wh_http_fields_push(f, h[i].name, h[i].name_len, (const uint8_t *)h[i].value, h[i].value_len) < 0) {
			wh_http_fields_unref(f);
			return NULL;
		}
	f->immutable = true;
	return f;
}
