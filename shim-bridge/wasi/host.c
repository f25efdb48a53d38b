/* The framework of the WASI host (see host.h): the per-request resource
 * table, value helpers, interface registration and the import check. */
#include "shim-bridge/wasi/host.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t wh_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct wh_ctx *wh_ctx_of(wasmtime_context_t *cx)
{
	return wasmtime_context_get_data(cx);
}

void wh_ctx_init(struct wh_ctx *ctx, const struct wh_component_env *env, uint64_t timeout_ms)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->env = env;
	ctx->next_serial = 1;
	ctx->deadline_ns = timeout_ms ? wh_now_ns() + (int64_t)timeout_ms * 1000000 : -1;
}

/* Children are made after their parents, so dropping newest first lets every
 * drop still find the parent it may refer to. */
void wh_ctx_release(struct wh_ctx *ctx)
{
	for (uint32_t rep = ctx->n_table; rep >= 1; rep--)
		if (ctx->table && ctx->table[rep].type)
			wh_remove(ctx, rep);
	free(ctx->table);
	ctx->table = NULL;
	ctx->n_table = ctx->cap_table = ctx->free_head = 0;
}

uint32_t wh_add(struct wh_ctx *ctx, uint32_t type, void *obj, wh_drop_fn drop)
{
	uint32_t rep;

	if (ctx->free_head) {
		rep = ctx->free_head;
		ctx->free_head = ctx->table[rep].next_free;
	} else {
		if (ctx->n_table + 1 >= ctx->cap_table) {
			uint32_t cap = ctx->cap_table ? ctx->cap_table * 2 : 32;
			struct wh_entry *t;
			if (cap > WH_TABLE_MAX + 1 || ctx->n_table + 1 > WH_TABLE_MAX)
				goto full;
			t = realloc(ctx->table, cap * sizeof(*t));
			if (!t)
				goto full;
			memset(t + ctx->cap_table, 0, (cap - ctx->cap_table) * sizeof(*t));
			ctx->table = t;
			ctx->cap_table = cap;
		}
		rep = ++ctx->n_table;
	}
	ctx->table[rep] = (struct wh_entry){ .type = type, .serial = ctx->next_serial++, .obj = obj, .drop = drop };
	return rep;
full:
	if (drop)
		drop(ctx, obj);
	return 0;
}

void *wh_get(struct wh_ctx *ctx, uint32_t rep, uint32_t type)
{
	if (rep == 0 || rep > ctx->n_table || ctx->table[rep].type != type)
		return NULL;
	return ctx->table[rep].obj;
}

static void free_slot(struct wh_ctx *ctx, uint32_t rep)
{
	ctx->table[rep] = (struct wh_entry){ .next_free = ctx->free_head };
	ctx->free_head = rep;
}

void *wh_take(struct wh_ctx *ctx, uint32_t rep, uint32_t type)
{
	void *obj = wh_get(ctx, rep, type);
	if (obj || (rep && rep <= ctx->n_table && ctx->table[rep].type == type))
		free_slot(ctx, rep);
	return obj;
}

void wh_remove(struct wh_ctx *ctx, uint32_t rep)
{
	struct wh_entry e;

	if (rep == 0 || rep > ctx->n_table || !ctx->table[rep].type)
		return;
	e = ctx->table[rep];
	free_slot(ctx, rep);
	if (e.drop)
		e.drop(ctx, e.obj);
}

struct wh_ref wh_ref_of(struct wh_ctx *ctx, uint32_t rep)
{
	struct wh_ref r = { 0, 0 };
	if (rep && rep <= ctx->n_table && ctx->table[rep].type) {
		r.rep = rep;
		r.serial = ctx->table[rep].serial;
	}
	return r;
}

void *wh_deref(struct wh_ctx *ctx, struct wh_ref ref, uint32_t type)
{
	if (!ref.rep || ref.rep > ctx->n_table || ctx->table[ref.rep].serial != ref.serial)
		return NULL;
	return wh_get(ctx, ref.rep, type);
}

/* --- values ------------------------------------------------------------------ */

int wh_arg_rep(wasmtime_context_t *cx, const wasmtime_component_val_t *v, uint32_t type, uint32_t *rep)
{
	wasmtime_component_resource_host_t *h = NULL;
	wasmtime_error_t *e;
	int r = -EINVAL;

	if (v->kind != WASMTIME_COMPONENT_RESOURCE || !v->of.resource)
		return -EINVAL;
	e = wasmtime_component_resource_any_to_host(cx, v->of.resource, &h);
	if (e) {
		wasmtime_error_delete(e);
		return -EINVAL;
	}
	if (wasmtime_component_resource_host_type(h) == type) {
		*rep = wasmtime_component_resource_host_rep(h);
		r = 0;
	}
	wasmtime_component_resource_host_delete(h);
	return r;
}

int wh_arg_u64(const wasmtime_component_val_t *v, uint64_t *out)
{
	if (v->kind != WASMTIME_COMPONENT_U64)
		return -EINVAL;
	*out = v->of.u64;
	return 0;
}

int wh_arg_s64(const wasmtime_component_val_t *v, int64_t *out)
{
	if (v->kind != WASMTIME_COMPONENT_S64)
		return -EINVAL;
	*out = v->of.s64;
	return 0;
}

int wh_arg_f64(const wasmtime_component_val_t *v, double *out)
{
	if (v->kind != WASMTIME_COMPONENT_F64)
		return -EINVAL;
	*out = v->of.f64;
	return 0;
}

int wh_arg_u32(const wasmtime_component_val_t *v, uint32_t *out)
{
	if (v->kind != WASMTIME_COMPONENT_U32)
		return -EINVAL;
	*out = v->of.u32;
	return 0;
}

int wh_arg_u16(const wasmtime_component_val_t *v, uint16_t *out)
{
	if (v->kind != WASMTIME_COMPONENT_U16)
		return -EINVAL;
	*out = v->of.u16;
	return 0;
}

int wh_arg_bool(const wasmtime_component_val_t *v, bool *out)
{
	if (v->kind != WASMTIME_COMPONENT_BOOL)
		return -EINVAL;
	*out = v->of.boolean;
	return 0;
}

int wh_arg_string(const wasmtime_component_val_t *v, const char **s, size_t *n)
{
	if (v->kind != WASMTIME_COMPONENT_STRING)
		return -EINVAL;
	*s = (const char *)v->of.string.data;
	*n = v->of.string.size;
	if (!*s)
		*s = "";
	return 0;
}

int wh_arg_bytes(const wasmtime_component_val_t *v, size_t cap, uint8_t **out, size_t *n)
{
	uint8_t *p = NULL;
	size_t len;

	if (v->kind != WASMTIME_COMPONENT_LIST)
		return -EINVAL;
	len = v->of.list.size;
	if (len > cap)
		return -E2BIG;
	if (len) {
		p = malloc(len);
		if (!p)
			return -ENOMEM;
		for (size_t i = 0; i < len; i++) {
			const wasmtime_component_val_t *b = &v->of.list.data[i];
			if (b->kind != WASMTIME_COMPONENT_U8) {
				free(p);
				return -EINVAL;
			}
			p[i] = b->of.u8;
		}
	}
	*out = p;
	*n = len;
	return 0;
}

int wh_arg_option(const wasmtime_component_val_t *v, const wasmtime_component_val_t **inner)
{
	if (v->kind != WASMTIME_COMPONENT_OPTION)
		return -EINVAL;
	*inner = v->of.option;
	return 0;
}

void wh_val_bool(wasmtime_component_val_t *v, bool b)
{
	v->kind = WASMTIME_COMPONENT_BOOL;
	v->of.boolean = b;
}

void wh_val_u8(wasmtime_component_val_t *v, uint8_t x)
{
	v->kind = WASMTIME_COMPONENT_U8;
	v->of.u8 = x;
}

void wh_val_u16(wasmtime_component_val_t *v, uint16_t x)
{
	v->kind = WASMTIME_COMPONENT_U16;
	v->of.u16 = x;
}

void wh_val_u32(wasmtime_component_val_t *v, uint32_t x)
{
	v->kind = WASMTIME_COMPONENT_U32;
	v->of.u32 = x;
}

void wh_val_u64(wasmtime_component_val_t *v, uint64_t x)
{
	v->kind = WASMTIME_COMPONENT_U64;
	v->of.u64 = x;
}

void wh_val_s64(wasmtime_component_val_t *v, int64_t x)
{
	v->kind = WASMTIME_COMPONENT_S64;
	v->of.s64 = x;
}

void wh_val_f64(wasmtime_component_val_t *v, double x)
{
	v->kind = WASMTIME_COMPONENT_F64;
	v->of.f64 = x;
}

void wh_val_string(wasmtime_component_val_t *v, const char *s, size_t n)
{
	v->kind = WASMTIME_COMPONENT_STRING;
	if (n)
		wasm_name_new(&v->of.string, n, s);
	else
		wasm_name_new_empty(&v->of.string);
}

void wh_val_cstring(wasmtime_component_val_t *v, const char *s)
{
	wh_val_string(v, s, strlen(s));
}

void wh_val_bytes(wasmtime_component_val_t *v, const void *p, size_t n)
{
	const uint8_t *b = p;
	v->kind = WASMTIME_COMPONENT_LIST;
	wasmtime_component_vallist_new_uninit(&v->of.list, n);
	for (size_t i = 0; i < n; i++) {
		v->of.list.data[i].kind = WASMTIME_COMPONENT_U8;
		v->of.list.data[i].of.u8 = b[i];
	}
}

int wh_val_resource(wasmtime_context_t *cx, wasmtime_component_val_t *v, uint32_t rep, uint32_t type)
{
	wasmtime_component_resource_host_t *h = wasmtime_component_resource_host_new(true, rep, type);
	wasmtime_component_resource_any_t *any = NULL;
	wasmtime_error_t *e;

	wh_val_bool(v, false);
	if (!h)
		return -ENOMEM;
	e = wasmtime_component_resource_host_to_any(cx, h, &any);
	wasmtime_component_resource_host_delete(h);
	if (e) {
		wasmtime_error_delete(e);
		return -EINVAL;
	}
	v->kind = WASMTIME_COMPONENT_RESOURCE;
	v->of.resource = any;
	return 0;
}

static wasmtime_component_val_t *boxed(wasmtime_component_val_t *payload)
{
	wasmtime_component_val_t *b;
	if (!payload)
		return NULL;
	b = wasmtime_component_val_new(payload);
	wh_val_bool(payload, false);
	return b;
}

void wh_val_option(wasmtime_component_val_t *v, wasmtime_component_val_t *inner)
{
	v->kind = WASMTIME_COMPONENT_OPTION;
	v->of.option = boxed(inner);
}

void wh_val_result(wasmtime_component_val_t *v, bool ok, wasmtime_component_val_t *payload)
{
	v->kind = WASMTIME_COMPONENT_RESULT;
	v->of.result.is_ok = ok;
	v->of.result.val = boxed(payload);
}

void wh_val_variant(wasmtime_component_val_t *v, const char *case_name, wasmtime_component_val_t *payload)
{
	v->kind = WASMTIME_COMPONENT_VARIANT;
	wasm_name_new(&v->of.variant.discriminant, strlen(case_name), case_name);
	v->of.variant.val = boxed(payload);
}

void wh_val_enum(wasmtime_component_val_t *v, const char *case_name)
{
	v->kind = WASMTIME_COMPONENT_ENUM;
	wasm_name_new(&v->of.enumeration, strlen(case_name), case_name);
}

static void clear_slots(wasmtime_component_val_t *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		wh_val_bool(&d[i], false);
}

wasmtime_component_val_t *wh_val_tuple(wasmtime_component_val_t *v, size_t n)
{
	v->kind = WASMTIME_COMPONENT_TUPLE;
	wasmtime_component_valtuple_new_uninit(&v->of.tuple, n);
	clear_slots(v->of.tuple.data, n);
	return v->of.tuple.data;
}

wasmtime_component_val_t *wh_val_list(wasmtime_component_val_t *v, size_t n)
{
	v->kind = WASMTIME_COMPONENT_LIST;
	wasmtime_component_vallist_new_uninit(&v->of.list, n);
	clear_slots(v->of.list.data, n);
	return v->of.list.data;
}

wasmtime_component_valrecord_entry_t *wh_val_record(wasmtime_component_val_t *v, const char *const *names, size_t n)
{
	v->kind = WASMTIME_COMPONENT_RECORD;
	wasmtime_component_valrecord_new_uninit(&v->of.record, n);
	for (size_t i = 0; i < n; i++) {
		wasm_name_new(&v->of.record.data[i].name, strlen(names[i]), names[i]);
		wh_val_bool(&v->of.record.data[i].val, false);
	}
	return v->of.record.data;
}

wasmtime_error_t *wh_trap(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	(void)sk_vformat_line(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return wasmtime_error_new(msg);
}

/* --- registration --------------------------------------------------------------- */

static wasmtime_error_t *call_trampoline(void *data, wasmtime_context_t *cx, const wasmtime_component_func_type_t *ty,
					 wasmtime_component_val_t *args, size_t nargs,
					 wasmtime_component_val_t *results, size_t nresults)
{
	const struct wh_func_def *f = data;
	struct wh_ctx *ctx = wh_ctx_of(cx);
	(void)ty;
	if (!ctx)
		return wh_trap("%s: called outside a request", f->name);
	return f->fn(ctx, cx, args, nargs, results, nresults);
}

static wasmtime_error_t *drop_trampoline(void *data, wasmtime_context_t *cx, uint32_t rep)
{
	struct wh_ctx *ctx = wh_ctx_of(cx);
	uint32_t type = (uint32_t)(uintptr_t)data;
	if (ctx && wh_get(ctx, rep, type))
		wh_remove(ctx, rep);
	return NULL;
}

static int define_one(wasmtime_component_linker_t *linker, const struct wh_iface_def *d, struct sk_error *err)
{
	wasmtime_component_linker_instance_t *root = wasmtime_component_linker_root(linker);
	wasmtime_component_linker_instance_t *li = NULL;
	wasmtime_error_t *e;
	int r = 0;

	e = wasmtime_component_linker_instance_add_instance(root, d->name, strlen(d->name), &li);
	for (size_t i = 0; !e && i < d->n_resources; i++) {
		wasmtime_component_resource_type_t *t = wasmtime_component_resource_type_new_host(d->resources[i].type);
		e = wasmtime_component_linker_instance_add_resource(li, d->resources[i].name,
								    strlen(d->resources[i].name), t, drop_trampoline,
								    (void *)(uintptr_t)d->resources[i].type, NULL);
		wasmtime_component_resource_type_delete(t);
	}
	for (size_t i = 0; !e && i < d->n_funcs; i++)
		e = wasmtime_component_linker_instance_add_func(li, d->funcs[i].name, strlen(d->funcs[i].name),
								call_trampoline, (void *)(uintptr_t)&d->funcs[i], NULL);
	if (e) {
		wasm_name_t msg;
		wasmtime_error_message(e, &msg);
		r = sk_err(err, -EINVAL, "cannot define %s: %.*s", d->name, (int)msg.size, msg.data);
		wasm_name_delete(&msg);
		wasmtime_error_delete(e);
	}
	if (li)
		wasmtime_component_linker_instance_delete(li);
	wasmtime_component_linker_instance_delete(root);
	return r;
}

int wh_define(wasmtime_component_linker_t *linker, const struct wh_iface_def *ifaces, size_t n, struct sk_error *err)
{
	for (size_t i = 0; i < n; i++) {
		int r = define_one(linker, &ifaces[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}

struct iface_set {
	const struct wh_iface_def *defs;
	const size_t *n;
};

static const struct iface_set all_sets[] = {
	{ wh_io_ifaces, &wh_n_io_ifaces },	   { wh_base_ifaces, &wh_n_base_ifaces },
	{ wh_fs_ifaces, &wh_n_fs_ifaces },	   { wh_http_ifaces, &wh_n_http_ifaces },
	{ wh_outbound_ifaces, &wh_n_outbound_ifaces }, { wh_spin_ifaces, &wh_n_spin_ifaces },
	{ wh_keyvalue_ifaces, &wh_n_keyvalue_ifaces }, { wh_sqlite_ifaces, &wh_n_sqlite_ifaces }, { wh_redis_ifaces, &wh_n_redis_ifaces },
	{ wh_pg_ifaces, &wh_n_pg_ifaces },
	{ wh_rdbms_ifaces, &wh_n_rdbms_ifaces }, { wh_mysql_ifaces, &wh_n_mysql_ifaces },
};

int wh_linker_new(wasm_engine_t *engine, wasmtime_component_linker_t **out, struct sk_error *err)
{
	wasmtime_component_linker_t *l = wasmtime_component_linker_new(engine);
	if (!l)
		return sk_err(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < sizeof(all_sets) / sizeof(all_sets[0]); i++) {
		int r = wh_define(l, all_sets[i].defs, *all_sets[i].n, err);
		if (r < 0) {
			wasmtime_component_linker_delete(l);
			return r;
		}
	}
	*out = l;
	return 0;
}

/* The part of an interface name wasmtime's linker compares semver-wise:
 * "a:b/c@0.2" for 0.2.x, "a:b/c@1" for 1.x, the whole name otherwise
 * (no version, 0.0.x, pre-releases). */
static size_t match_key(const char *name, size_t len)
{
	const char *at = memchr(name, '@', len);
	const char *v, *end = name + len, *dot1, *dot2;

	if (!at)
		return len;
	v = at + 1;
	if (memchr(v, '-', (size_t)(end - v)))
		return len;
	dot1 = memchr(v, '.', (size_t)(end - v));
	if (!dot1)
		return len;
	dot2 = memchr(dot1 + 1, '.', (size_t)(end - dot1 - 1));
	if (!dot2)
		return len;
	if (!(dot1 - v == 1 && v[0] == '0'))
		return (size_t)(dot1 - name); /* major != 0 */
	if (!(dot2 - dot1 - 1 == 1 && dot1[1] == '0'))
		return (size_t)(dot2 - name); /* 0.minor */
	return len;
}

static const struct wh_iface_def *find_iface(const char *name, size_t len)
{
	size_t k = match_key(name, len);
	for (size_t s = 0; s < sizeof(all_sets) / sizeof(all_sets[0]); s++)
		for (size_t i = 0; i < *all_sets[s].n; i++) {
			const struct wh_iface_def *d = &all_sets[s].defs[i];
			size_t dl = strlen(d->name);
			if (match_key(d->name, dl) == k && memcmp(d->name, name, k) == 0 &&
			    (k == len ? dl == len : true))
				return d;
		}
	return NULL;
}

static bool iface_has(const struct wh_iface_def *d, const char *name, size_t len)
{
	for (size_t i = 0; i < d->n_funcs; i++)
		if (strlen(d->funcs[i].name) == len && memcmp(d->funcs[i].name, name, len) == 0)
			return true;
	for (size_t i = 0; i < d->n_resources; i++)
		if (strlen(d->resources[i].name) == len && memcmp(d->resources[i].name, name, len) == 0)
			return true;
	return false;
}

/* Append "name" to the list of misses, keeping the message one line. */
static void add_miss(char *buf, size_t size, size_t *used, unsigned *count, const char *s, size_t n, const char *s2,
		     size_t n2)
{
	int w;
	if (*used >= size)
		return;
	w = snprintf(buf + *used, size - *used, "%s%.*s%s%.*s", *count ? ", " : "", (int)n, s, n2 ? "#" : "",
		     (int)n2, s2 ? s2 : "");
	if (w > 0)
		*used += (size_t)w;
	(*count)++;
}

int wh_check_imports(wasm_engine_t *engine, const wasmtime_component_t *component, const char *what,
		     struct sk_error *err)
{
	wasmtime_component_type_t *ty = wasmtime_component_type(component);
	size_t count = wasmtime_component_type_import_count(ty, engine);
	char misses[400] = "";
	size_t used = 0;
	unsigned n_miss = 0;

	for (size_t i = 0; i < count; i++) {
		const char *name;
		size_t len;
		wasmtime_component_item_t item;
		const struct wh_iface_def *d;

		if (!wasmtime_component_type_import_nth(ty, engine, i, &name, &len, &item))
			continue;
		d = find_iface(name, len);
		if (!d) {
			add_miss(misses, sizeof(misses), &used, &n_miss, name, len, NULL, 0);
		} else if (item.kind == WASMTIME_COMPONENT_ITEM_COMPONENT_INSTANCE) {
			size_t ne = wasmtime_component_instance_type_export_count(item.of.component_instance, engine);
			for (size_t j = 0; j < ne; j++) {
				const char *en;
				size_t el;
				wasmtime_component_item_t sub;
				if (!wasmtime_component_instance_type_export_nth(item.of.component_instance, engine, j,
										 &en, &el, &sub))
					continue;
				/* Only functions are checked: resources show up under every
				 * name an interface `use`s them by ("io-error", "headers"),
				 * and a resource the host lacks also lacks its functions. */
				if (sub.kind == WASMTIME_COMPONENT_ITEM_COMPONENT_FUNC && !iface_has(d, en, el))
					add_miss(misses, sizeof(misses), &used, &n_miss, name, len, en, el);
				wasmtime_component_item_delete(&sub);
			}
		}
		wasmtime_component_item_delete(&item);
	}
	wasmtime_component_type_delete(ty);
	if (n_miss)
		return sk_err(err, -ENOTSUP,
			      "%s imports %u interface%s or function%s spin-bridge does not provide: %s%s (build it "
			      "against the WASI 0.2 and Spin interfaces spin-bridge serves, see the README)",
			      what, n_miss, n_miss == 1 ? "" : "s", n_miss == 1 ? "" : "s", misses,
			      used >= sizeof(misses) ? "..." : "");
	return 0;
}
