/* Preparing a component: compile (or map from the cache), tell the handler
 * kind from what the binary is and exports, copy the settings it keeps,
 * link it, and make one instance at start; and freeing it. */
#include "shim-bridge/runtime/handler-int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sb_handler_kind_name(enum sb_handler_kind k)
{
	switch (k) {
	case SB_HANDLER_WAGI:
		return "wagi";
	case SB_HANDLER_INBOUND_HTTP:
		return "fermyon:spin/inbound-http";
	case SB_HANDLER_WASI_HTTP:
		return "wasi:http/incoming-handler";
	case SB_HANDLER_INBOUND_REDIS:
		return "fermyon:spin/inbound-redis";
	}
	return "?";
}

/* Record wasmtime's error as "component \"<id>\" (<source>): <what>: <message>" and free it. */
static int wasm_error(struct sk_error *err, wasmtime_error_t *e, const struct sb_component_opts *o, const char *what)
{
	wasm_name_t msg;
	char line[SK_ERR_MESSAGE_MAX / 2];
	size_t n;

	wasmtime_error_message(e, &msg);
	n = msg.size < sizeof(line) - 1 ? msg.size : sizeof(line) - 1;
	memcpy(line, msg.data, n);
	line[n] = '\0';
	for (char *p = line; *p; p++)
		if (*p == '\n')
			*p = ' ';
	wasm_byte_vec_delete(&msg);
	wasmtime_error_delete(e);
	return sk_err(err, -EINVAL, "component \"%s\" (%s): %s: %s", o->id, o->source, what, line);
}

/* The same for an error that is no component's (a shared linker). */
static int take_wasm_error(struct sk_error *err, wasmtime_error_t *e, const char *what)
{
	static const struct sb_component_opts none = { .id = "-", .source = "the engine" };

	return wasm_error(err, e, &none, what);
}

static bool has_prefix(const char *s, size_t n, const char *prefix)
{
	size_t p = strlen(prefix);
	return n >= p && memcmp(s, prefix, p) == 0 && (n == p || s[p] == '@');
}

/* The index of function fn of exported interface iface (NULL when absent). */
static wasmtime_component_export_index_t *export_func(const struct sb_component *c, const char *iface, const char *fn)
{
	wasmtime_component_export_index_t *i = wasmtime_component_get_export_index(c->component, NULL, iface, strlen(iface));
	wasmtime_component_export_index_t *f;

	if (!i)
		return NULL;
	f = wasmtime_component_get_export_index(c->component, i, fn, strlen(fn));
	wasmtime_component_export_index_delete(i);
	return f;
}

/* Find which handler interfaces the component exports, and where: one HTTP
 * handler, and/or fermyon:spin/inbound-redis (alone, or beside wasi:http,
 * whose host interfaces it shares). */
static int component_kind(struct sb_component *c, const struct sb_component_opts *o, struct sk_error *err)
{
	wasmtime_component_type_t *ty = wasmtime_component_type(c->component);
	size_t count = wasmtime_component_type_export_count(ty, c->engine->engine);
	char found[256] = "", redis[256] = "";
	int kinds = 0;

	for (size_t i = 0; i < count; i++) {
		const char *name;
		size_t len;
		wasmtime_component_item_t item;
		if (!wasmtime_component_type_export_nth(ty, c->engine->engine, i, &name, &len, &item))
			continue;
		wasmtime_component_item_delete(&item);
		if (has_prefix(name, len, "fermyon:spin/inbound-http")) {
			c->kind = SB_HANDLER_INBOUND_HTTP;
			snprintf(found, sizeof(found), "%.*s", (int)len, name);
			kinds++;
		} else if (has_prefix(name, len, "wasi:http/incoming-handler")) {
			c->kind = SB_HANDLER_WASI_HTTP;
			snprintf(found, sizeof(found), "%.*s", (int)len, name);
			kinds++;
		} else if (has_prefix(name, len, "fermyon:spin/inbound-redis")) {
			snprintf(redis, sizeof(redis), "%.*s", (int)len, name);
		}
	}
	wasmtime_component_type_delete(ty);
	if (kinds == 0 && !redis[0])
		return sk_err(err, -EINVAL,
			      "component \"%s\" (%s): exports no handler (export wasi:http/incoming-handler, "
			      "fermyon:spin/inbound-http or fermyon:spin/inbound-redis, or build a WASI command for WAGI)",
			      o->id, o->source);
	if (kinds > 1)
		return sk_err(err, -EINVAL, "component \"%s\" (%s): exports more than one HTTP handler interface",
			      o->id, o->source);
	if (redis[0] && kinds && c->kind == SB_HANDLER_INBOUND_HTTP)
		return sk_err(err, -EINVAL, "component \"%s\" (%s): exports fermyon:spin/inbound-http and inbound-redis; "
					    "build the Redis handler as a component of its own", o->id, o->source);
	if (redis[0] && !(c->redis_fn = export_func(c, redis, "handle-message")))
		return sk_err(err, -EINVAL, "component \"%s\" (%s): %s has no handle-message function", o->id,
			      o->source, redis);
	if (!kinds) {
		c->kind = SB_HANDLER_INBOUND_REDIS;
		return 0;
	}
	const char *fn = c->kind == SB_HANDLER_WASI_HTTP ? "handle" : "handle-request";
	if (!(c->export_fn = export_func(c, found, fn)))
		return sk_err(err, -EINVAL, "component \"%s\" (%s): %s has no %s function", o->id, o->source,
			      found, fn);
	return 0;
}

static int dup_strv(const char *const *v, size_t n, char ***out)
{
	*out = NULL;
	if (!n)
		return 0;
	*out = calloc(n, sizeof(char *));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!((*out)[i] = strdup(v[i])))
			return -ENOMEM;
	return 0;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

/* Copies of n pairs, owned by the caller (sk_kv_free with *done). */
static int dup_kv(const struct sk_kv *kv, size_t n, struct sk_kv **out, size_t *done)
{
	*out = NULL;
	*done = 0;
	if (!n)
		return 0;
	if (!(*out = calloc(n, sizeof(**out))))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		(*out)[i].key = strdup(kv[i].key);
		(*out)[i].value = strdup(kv[i].value);
		*done = i + 1;
		if (!(*out)[i].key || !(*out)[i].value)
			return -ENOMEM;
	}
	return 0;
}

/* The host interfaces' view of the component: copies owned by c. */
static int copy_wasi_env(struct sb_component *c, const struct sb_component_opts *o)
{
	struct wh_component_env *w = &c->wenv;

	if (dup_kv(o->vars, o->n_vars, &c->vars, &w->n_vars) < 0)
		return -ENOMEM;
	if (dup_strv(o->kv_stores, o->n_kv_stores, &c->kv_stores) < 0)
		return -ENOMEM;
	w->n_kv_stores = o->n_kv_stores;
	if (dup_strv(o->sqlite_databases, o->n_sqlite_databases, &c->sqlite_databases) < 0)
		return -ENOMEM;
	w->n_sqlite_databases = o->n_sqlite_databases;
	if (dup_strv(o->allowed_hosts, o->n_allowed_hosts, &c->allowed_hosts) < 0)
		return -ENOMEM;
	w->n_allowed_outbound_hosts = o->n_allowed_hosts;
	w->id = c->id;
	w->files_dir = c->files_dir;
	w->env = c->env;
	w->n_env = c->n_env;
	w->vars = c->vars;
	w->kv_stores = (const char *const *)c->kv_stores;
	w->allowed_outbound_hosts = (const char *const *)c->allowed_hosts;
	w->kvdb = o->kvdb;
	w->sqlite_databases = (const char *const *)c->sqlite_databases;
	w->sqldb = o->sqldb;
	w->log = o->log;
	w->max_body = c->max_output;
	return 0;
}

static int copy_opts(struct sb_component *c, const struct sb_component_opts *o)
{
	c->id = strdup(o->id);
	c->files_dir = o->files_dir ? strdup(o->files_dir) : NULL;
	c->entrypoint = strdup(o->entrypoint ? o->entrypoint : "_start");
	c->max_output = o->max_output ? o->max_output : (size_t)64 << 20;
	c->max_memory = c->engine->opts.max_instance_memory;
	if (o->max_memory && o->max_memory < c->max_memory)
		c->max_memory = o->max_memory;
	c->timeout_ms = o->timeout_ms ? o->timeout_ms : c->engine->opts.timeout_ms;
	c->epoch_ticks = (c->timeout_ms + SB_EPOCH_TICK_MS - 1) / SB_EPOCH_TICK_MS;
	c->cancel = o->cancel;
	if (!c->id || !c->entrypoint || (o->files_dir && !c->files_dir))
		return -ENOMEM;
	return dup_kv(o->env, o->n_env, &c->env, &c->n_env);
}

static int build_wasip1(wasm_engine_t *engine, void **out, struct sk_error *err)
{
	wasmtime_linker_t *l = wasmtime_linker_new(engine);
	wasmtime_error_t *we;

	if (!l)
		return sk_err(err, -ENOMEM, "out of memory");
	we = wasmtime_linker_define_wasi(l);
	if (we) {
		wasmtime_linker_delete(l);
		return take_wasm_error(err, we, "cannot define WASI for WAGI programs");
	}
	*out = l;
	return 0;
}

static int build_wasip2(wasm_engine_t *engine, void **out, struct sk_error *err)
{
	wasmtime_component_linker_t *l = wasmtime_component_linker_new(engine);
	wasmtime_error_t *we;

	if (!l)
		return sk_err(err, -ENOMEM, "out of memory");
	we = wasmtime_component_linker_add_wasip2(l);
	if (we) {
		wasmtime_component_linker_delete(l);
		return take_wasm_error(err, we, "cannot add WASI");
	}
	*out = l;
	return 0;
}

static int build_wasi_http(wasm_engine_t *engine, void **out, struct sk_error *err)
{
	return wh_linker_new(engine, (wasmtime_component_linker_t **)out, err);
}

/* The engine's linker for c's kind (shared: the host functions keep their
 * state in the store), and for a WAGI program its instance_pre. */
static int link_component(struct sb_component *c, const struct sb_component_opts *o, struct sk_error *err)
{
	void *l;
	int r;

	c->shared_linker = true;
	if (c->module) {
		wasmtime_error_t *we;
		if ((r = sb_engine_linker(c->engine, SB_LINKER_WASIP1, build_wasip1, &l, err)) < 0)
			return r;
		c->linker = l;
		we = wasmtime_linker_instantiate_pre(c->linker, c->module, &c->pre);
		if (we)
			return wasm_error(err, we, o, "cannot link the WAGI program");
		return 0;
	}
	if (c->kind == SB_HANDLER_WASI_HTTP || c->kind == SB_HANDLER_INBOUND_REDIS) {
		char what[300];
		snprintf(what, sizeof(what), "component \"%s\" (%s)", o->id, o->source);
		r = wh_check_imports(c->engine->engine, c->component, what, err);
		if (r < 0)
			return r;
		if ((r = sb_engine_linker(c->engine, SB_LINKER_WASI_HTTP, build_wasi_http, &l, err)) < 0)
			return r;
		c->clinker = l;
		return 0;
	}
	if ((r = sb_engine_linker(c->engine, SB_LINKER_WASIP2, build_wasip2, &l, err)) < 0)
		return r;
	c->clinker = l;
	return 0;
}

int sb_component_instantiate_once(struct sb_component *c, struct sk_error *err)
{
	struct sb_stdio io;
	wasmtime_store_t *store;
	wasmtime_error_t *we;
	wasm_trap_t *trap = NULL;
	int r;

	if (c->kind == SB_HANDLER_WASI_HTTP || c->kind == SB_HANDLER_INBOUND_REDIS)
		return sb_wasi_http_instantiate_once(c, err);
	sb_stdio_init(&io, c, NULL);
	r = sb_store_new(c, NULL, 0, NULL, 0, NULL, 0, &io, &store, err);
	if (r < 0)
		return r;
	if (c->pre) {
		wasmtime_instance_t inst;
		we = wasmtime_instance_pre_instantiate(c->pre, wasmtime_store_context(store), &inst, &trap);
	} else {
		wasmtime_component_instance_t inst;
		we = wasmtime_component_linker_instantiate(c->clinker, wasmtime_store_context(store), c->component,
							   &inst);
	}
	/* a start-up check: a start function's unterminated line is not reported */
	wasmtime_store_delete(store);
	if (we || trap)
		return sb_wasm_fail(c, we, trap, NULL, err);
	return 0;
}

/* Make one instance at start so that a missing import or an unusable memory
 * shows at start, not on the first request. */
static int trial_instance(struct sb_component *c, const struct sb_component_opts *o, struct sk_error *err)
{
	struct sk_error why = { 0 };

	if (sb_component_instantiate_once(c, &why) < 0)
		return sk_err(err, -EINVAL, "component \"%s\" (%s): cannot be instantiated: %s", o->id, o->source,
			      why.message);
	return 0;
}

int sb_component_prepare(struct sb_engine *e, const uint8_t *wasm, size_t len, const struct sb_component_opts *o,
			 struct sb_component **out, struct sk_error *err)
{
	struct sb_component *c = calloc(1, sizeof(*c));
	struct sb_compiled comp;
	char what[512];
	int r;

	if (!c)
		return sk_err(err, -ENOMEM, "out of memory");
	c->engine = e;
	if (copy_opts(c, o) < 0) {
		sb_component_free(c);
		return sk_err(err, -ENOMEM, "out of memory");
	}
	snprintf(what, sizeof(what), "component \"%s\" (%s)", o->id, o->source);
	r = sb_engine_compile(e, wasm, len, what, &comp, err);
	if (r < 0) {
		sb_component_free(c);
		return r;
	}
	c->module = comp.module;
	c->component = comp.component;
	c->from_cache = comp.from_cache;
	c->compile_ms = comp.compile_ms;
	memcpy(c->digest, comp.digest, sizeof(c->digest));
	if (copy_wasi_env(c, o) < 0) {
		r = sk_err(err, -ENOMEM, "out of memory");
		goto fail;
	}
	if (comp.kind == SB_WASM_MODULE)
		c->kind = SB_HANDLER_WAGI;
	else if ((r = component_kind(c, o, err)) < 0)
		goto fail;
	if ((r = link_component(c, o, err)) < 0 || (r = trial_instance(c, o, err)) < 0)
		goto fail;
	*out = c;
	return 0;
fail:
	sb_component_free(c);
	return r;
}

void sb_component_free(struct sb_component *c)
{
	if (!c)
		return;
	if (c->pre)
		wasmtime_instance_pre_delete(c->pre);
	if (c->linker && !c->shared_linker)
		wasmtime_linker_delete(c->linker);
	if (c->module)
		wasmtime_module_delete(c->module);
	if (c->export_fn)
		wasmtime_component_export_index_delete(c->export_fn);
	if (c->redis_fn)
		wasmtime_component_export_index_delete(c->redis_fn);
	if (c->clinker && !c->shared_linker)
		wasmtime_component_linker_delete(c->clinker);
	if (c->component)
		wasmtime_component_delete(c->component);
	if (c->engine)
		sb_engine_release(c->engine, c->digest);
	sk_kv_free(c->env, c->n_env);
	sk_kv_free(c->vars, c->wenv.n_vars);
	free_strv(c->kv_stores, c->wenv.n_kv_stores);
	free_strv(c->sqlite_databases, c->wenv.n_sqlite_databases);
	free_strv(c->allowed_hosts, c->wenv.n_allowed_outbound_hosts);
	free(c->id);
	free(c->files_dir);
	free(c->entrypoint);
	free(c);
}
