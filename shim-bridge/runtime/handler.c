#include "shim-bridge/runtime/handler.h"
#include "shim-bridge/wasi/http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/http-field.h"
#include "common/log.h"

/* A guest's output line longer than this is logged in pieces. */
#define GUEST_LINE_MAX 4096
/* Headers a component may return. */
#define RESPONSE_HEADERS_MAX 100

const char *sb_handler_kind_name(enum sb_handler_kind k)
{
	switch (k) {
	case SB_HANDLER_WAGI:
		return "wagi";
	case SB_HANDLER_INBOUND_HTTP:
		return "fermyon:spin/inbound-http";
	case SB_HANDLER_WASI_HTTP:
		return "wasi:http/incoming-handler";
	}
	return "?";
}

void sb_bytes_free(struct sb_bytes *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* Append n bytes; false (and `over` set) when the cap would be passed. */
static bool bytes_append(struct sb_bytes *b, const void *p, size_t n)
{
	if (n > b->max - b->len) {
		b->over = true;
		return false;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		if (cap > b->max)
			cap = b->max;
		uint8_t *d = realloc(b->data, cap);
		if (!d) {
			b->over = true;
			return false;
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return true;
}

/* --- guest output to the log ----------------------------------------------------- */

struct guest_log {
	const char *component;
	const char *stream; /* "stdout" or "stderr" */
	char line[GUEST_LINE_MAX];
	size_t len;
};

static void guest_log_flush(struct guest_log *g)
{
	char q[GUEST_LINE_MAX + 64];

	if (g->len == 0)
		return;
	g->line[g->len] = '\0';
	log_info("guest output", "component=%s stream=%s line=%s", g->component, g->stream,
		 log_quote(g->line, q, sizeof(q)));
	g->len = 0;
}

static ptrdiff_t guest_log_write(void *data, const unsigned char *buf, size_t n)
{
	struct guest_log *g = data;

	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			guest_log_flush(g);
			continue;
		}
		if (g->len == sizeof(g->line) - 1)
			guest_log_flush(g);
		g->line[g->len++] = (char)buf[i];
	}
	return (ptrdiff_t)n;
}

static ptrdiff_t capture_write(void *data, const unsigned char *buf, size_t n)
{
	/* The guest sees EFBIG once its output passes the cap. */
	return bytes_append(data, buf, n) ? (ptrdiff_t)n : -EFBIG;
}

/* --- preparing a component ------------------------------------------------------- */

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

static bool has_prefix(const char *s, size_t n, const char *prefix)
{
	size_t p = strlen(prefix);
	return n >= p && memcmp(s, prefix, p) == 0 && (n == p || s[p] == '@');
}

/* Find which handler interface the component exports, and where. */
static int component_kind(struct sb_component *c, const struct sb_component_opts *o, struct sk_error *err)
{
	wasmtime_component_type_t *ty = wasmtime_component_type(c->component);
	size_t count = wasmtime_component_type_export_count(ty, c->engine->engine);
	char found[256] = "";
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
		}
	}
	wasmtime_component_type_delete(ty);
	if (kinds == 0)
		return sk_err(err, -EINVAL,
			      "component \"%s\" (%s): exports no HTTP handler (export wasi:http/incoming-handler or "
			      "fermyon:spin/inbound-http, or build a WASI command for WAGI)",
			      o->id, o->source);
	if (kinds > 1)
		return sk_err(err, -EINVAL, "component \"%s\" (%s): exports more than one HTTP handler interface",
			      o->id, o->source);
	const char *fn = c->kind == SB_HANDLER_WASI_HTTP ? "handle" : "handle-request";
	wasmtime_component_export_index_t *iface =
		wasmtime_component_get_export_index(c->component, NULL, found, strlen(found));
	if (!iface)
		return sk_err(err, -EINVAL, "component \"%s\": cannot look up export %s", o->id, found);
	c->export_fn = wasmtime_component_get_export_index(c->component, iface, fn, strlen(fn));
	wasmtime_component_export_index_delete(iface);
	if (!c->export_fn)
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

/* The wasi:http host's view of the component: copies owned by c. */
static int copy_wasi_env(struct sb_component *c, const struct sb_component_opts *o)
{
	struct wh_component_env *w = &c->wenv;
	if (o->n_vars) {
		c->var_keys = calloc(o->n_vars, sizeof(char *));
		c->var_values = calloc(o->n_vars, sizeof(char *));
		if (!c->var_keys || !c->var_values)
			return -ENOMEM;
		for (size_t i = 0; i < o->n_vars; i++) {
			w->n_vars = i + 1;
			if (!(c->var_keys[i] = strdup(o->vars[i].key)) || !(c->var_values[i] = strdup(o->vars[i].value)))
				return -ENOMEM;
		}
	}
	if (dup_strv(o->kv_stores, o->n_kv_stores, &c->kv_stores) < 0)
		return -ENOMEM;
	w->n_kv_stores = o->n_kv_stores;
	if (dup_strv(o->allowed_hosts, o->n_allowed_hosts, &c->allowed_hosts) < 0)
		return -ENOMEM;
	w->n_allowed_outbound_hosts = o->n_allowed_hosts;
	w->id = c->id;
	w->files_dir = c->files_dir;
	w->env_keys = (const char *const *)c->env_keys;
	w->env_values = (const char *const *)c->env_values;
	w->n_env = c->n_env;
	w->var_keys = (const char *const *)c->var_keys;
	w->var_values = (const char *const *)c->var_values;
	w->kv_stores = (const char *const *)c->kv_stores;
	w->allowed_outbound_hosts = (const char *const *)c->allowed_hosts;
	w->spin = o->spin_kv;
	w->max_body = c->max_output;
	return 0;
}

static int copy_opts(struct sb_component *c, const struct sb_component_opts *o)
{
	c->id = strdup(o->id);
	c->files_dir = o->files_dir ? strdup(o->files_dir) : NULL;
	c->entrypoint = strdup(o->entrypoint ? o->entrypoint : "_start");
	c->max_output = o->max_output ? o->max_output : (size_t)64 << 20;
	if (!c->id || !c->entrypoint || (o->files_dir && !c->files_dir))
		return -ENOMEM;
	if (o->n_env) {
		c->env_keys = calloc(o->n_env, sizeof(char *));
		c->env_values = calloc(o->n_env, sizeof(char *));
		if (!c->env_keys || !c->env_values)
			return -ENOMEM;
		for (size_t i = 0; i < o->n_env; i++) {
			c->env_keys[i] = strdup(o->env[i].key);
			c->env_values[i] = strdup(o->env[i].value);
			c->n_env = i + 1;
			if (!c->env_keys[i] || !c->env_values[i])
				return -ENOMEM;
		}
	}
	return 0;
}

/* A fresh store for one request: memory cap, CPU deadline, WASI with the
 * component's files and environment plus `extra`. The stdout/stderr sinks
 * must outlive the store. */
static wasmtime_store_t *new_store(struct sb_component *c, const char *const *argv, size_t argc,
				   const struct sb_kv *extra, size_t n_extra, const uint8_t *stdin_bytes,
				   size_t stdin_len, struct sb_bytes *capture, struct guest_log *out_log,
				   struct guest_log *err_log, char *why, size_t why_size)
{
	wasmtime_store_t *store = wasmtime_store_new(c->engine->engine, NULL, NULL);
	wasmtime_context_t *ctx;
	wasi_config_t *wasi;
	size_t n = c->n_env + n_extra;
	_cleanup_free_ const char **names = NULL;
	_cleanup_free_ const char **values = NULL;
	wasmtime_error_t *we;

	if (!store) {
		snprintf(why, why_size, "cannot create a store");
		return NULL;
	}
	ctx = wasmtime_store_context(store);
	wasmtime_store_limiter(store, (int64_t)c->engine->opts.max_instance_memory, -1, -1, -1, -1);
	wasmtime_context_set_epoch_deadline(ctx, c->engine->epoch_ticks);
	wasi = wasi_config_new();
	names = calloc(n + 1, sizeof(char *));
	values = calloc(n + 1, sizeof(char *));
	if (!wasi || !names || !values)
		goto fail_oom;
	for (size_t i = 0; i < c->n_env; i++) {
		names[i] = c->env_keys[i];
		values[i] = c->env_values[i];
	}
	for (size_t i = 0; i < n_extra; i++) {
		names[c->n_env + i] = extra[i].key;
		values[c->n_env + i] = extra[i].value;
	}
	if (!wasi_config_set_env(wasi, n, names, values) ||
	    (argc && !wasi_config_set_argv(wasi, argc, (const char **)(uintptr_t)argv))) {
		snprintf(why, why_size, "environment or arguments are not valid UTF-8");
		wasi_config_delete(wasi);
		wasmtime_store_delete(store);
		return NULL;
	}
	if (stdin_len) {
		wasm_byte_vec_t in;
		wasm_byte_vec_new(&in, stdin_len, (const wasm_byte_t *)stdin_bytes);
		wasi_config_set_stdin_bytes(wasi, &in);
	}
	if (capture)
		wasi_config_set_stdout_custom(wasi, capture_write, capture, NULL);
	else
		wasi_config_set_stdout_custom(wasi, guest_log_write, out_log, NULL);
	wasi_config_set_stderr_custom(wasi, guest_log_write, err_log, NULL);
	if (c->files_dir && !wasi_config_preopen_dir(wasi, c->files_dir, "/", false)) {
		snprintf(why, why_size, "cannot map files folder %s", c->files_dir);
		wasi_config_delete(wasi);
		wasmtime_store_delete(store);
		return NULL;
	}
	we = wasmtime_context_set_wasi(ctx, wasi);
	if (we) {
		sb_describe_failure(c->engine, we, NULL, why, why_size);
		wasmtime_store_delete(store);
		return NULL;
	}
	return store;
fail_oom:
	if (wasi)
		wasi_config_delete(wasi);
	wasmtime_store_delete(store);
	snprintf(why, why_size, "out of memory");
	return NULL;
}

static int link_component(struct sb_component *c, const struct sb_component_opts *o, struct sk_error *err)
{
	wasmtime_error_t *we;

	if (c->module) {
		c->linker = wasmtime_linker_new(c->engine->engine);
		if (!c->linker)
			return sk_err(err, -ENOMEM, "out of memory");
		we = wasmtime_linker_define_wasi(c->linker);
		if (!we)
			we = wasmtime_linker_instantiate_pre(c->linker, c->module, &c->pre);
		if (we)
			return wasm_error(err, we, o, "cannot link the WAGI program");
		return 0;
	}
	if (c->kind == SB_HANDLER_WASI_HTTP) {
		char what[300];
		int r;
		snprintf(what, sizeof(what), "component \"%s\" (%s)", o->id, o->source);
		r = wh_check_imports(c->engine->engine, c->component, what, err);
		if (r < 0)
			return r;
		return wh_linker_new(c->engine->engine, &c->clinker, err);
	}
	c->clinker = wasmtime_component_linker_new(c->engine->engine);
	if (!c->clinker)
		return sk_err(err, -ENOMEM, "out of memory");
	we = wasmtime_component_linker_add_wasip2(c->clinker);
	if (we)
		return wasm_error(err, we, o, "cannot add WASI");
	return 0;
}

/* A store for a wasi:http request: its data is the host context; no
 * wasmtime WASI (the host interfaces are ours). */
static wasmtime_store_t *wasi_http_store(struct sb_component *c, struct wh_ctx *ctx, char *why, size_t why_size)
{
	wasmtime_store_t *store;
	wh_ctx_init(ctx, &c->wenv, c->engine->opts.timeout_ms);
	store = wasmtime_store_new(c->engine->engine, ctx, NULL);
	if (!store) {
		snprintf(why, why_size, "cannot create a store");
		return NULL;
	}
	wasmtime_store_limiter(store, (int64_t)c->engine->opts.max_instance_memory, -1, -1, -1, -1);
	wasmtime_context_set_epoch_deadline(wasmtime_store_context(store), c->engine->epoch_ticks);
	return store;
}

static int wasi_http_instantiate_once(struct sb_component *c, char *why, size_t why_size)
{
	struct wh_ctx ctx;
	wasmtime_store_t *store = wasi_http_store(c, &ctx, why, why_size);
	wasmtime_component_instance_t inst;
	wasmtime_error_t *we;

	if (!store)
		return -1;
	we = wasmtime_component_linker_instantiate(c->clinker, wasmtime_store_context(store), c->component, &inst);
	wasmtime_store_delete(store);
	wh_ctx_release(&ctx);
	if (we) {
		sb_describe_failure(c->engine, we, NULL, why, why_size);
		return -1;
	}
	return 0;
}

int sb_wasi_http_call(struct sb_component *c, const struct http_request *req, const struct sb_kv *headers,
		      size_t n_headers, struct http_response *resp, bool *started, char *why, size_t why_size)
{
	struct wh_ctx ctx;
	wasmtime_store_t *store;
	wasmtime_context_t *cx;
	wasmtime_component_instance_t inst;
	wasmtime_component_func_t fn;
	wasmtime_error_t *we;
	int r = -1;

	*started = false;
	store = wasi_http_store(c, &ctx, why, why_size);
	if (!store)
		return -1;
	cx = wasmtime_store_context(store);
	we = wasmtime_component_linker_instantiate(c->clinker, cx, c->component, &inst);
	if (we) {
		sb_describe_failure(c->engine, we, NULL, why, why_size);
		goto out;
	}
	if (!wasmtime_component_instance_get_func(&inst, cx, c->export_fn, &fn)) {
		snprintf(why, why_size, "wasi:http/incoming-handler#handle is not a function");
		goto out;
	}
	/* struct sb_kv and struct wh_kv are the same pair of borrowed strings */
	r = wh_http_handle(&ctx, cx, &fn, req, (const struct wh_kv *)headers, n_headers, resp, started, &we, why,
			   why_size);
	if (we) {
		if (ctx.timed_out) {
			wasmtime_error_delete(we);
			snprintf(why, why_size, "timed out after %llu ms waiting for I/O",
				 (unsigned long long)c->engine->opts.timeout_ms);
		} else if (why[0])
			wasmtime_error_delete(we);
		else
			sb_describe_failure(c->engine, we, NULL, why, why_size);
	}
out:
	wasmtime_store_delete(store);
	wh_ctx_release(&ctx);
	wh_http_release(&ctx);
	return r;
}

int sb_component_instantiate_once(struct sb_component *c, char *why, size_t why_size)
{
	struct guest_log lo = { .component = c->id, .stream = "stdout" };
	struct guest_log le = { .component = c->id, .stream = "stderr" };
	wasmtime_store_t *store;
	wasmtime_error_t *we;
	wasm_trap_t *trap = NULL;

	if (c->kind == SB_HANDLER_WASI_HTTP)
		return wasi_http_instantiate_once(c, why, why_size);
	store = new_store(c, NULL, 0, NULL, 0, NULL, 0, NULL, &lo, &le, why, why_size);
	if (!store)
		return -1;
	if (c->pre) {
		wasmtime_instance_t inst;
		we = wasmtime_instance_pre_instantiate(c->pre, wasmtime_store_context(store), &inst, &trap);
	} else {
		wasmtime_component_instance_t inst;
		we = wasmtime_component_linker_instantiate(c->clinker, wasmtime_store_context(store), c->component,
							   &inst);
	}
	wasmtime_store_delete(store);
	if (we || trap) {
		sb_describe_failure(c->engine, we, trap, why, why_size);
		return -1;
	}
	return 0;
}

/* Make one instance at start so that a missing import or an unusable memory
 * shows at start, not on the first request. */
static int trial_instance(struct sb_component *c, const struct sb_component_opts *o, struct sk_error *err)
{
	char why[512];

	if (sb_component_instantiate_once(c, why, sizeof(why)) < 0)
		return sk_err(err, -EINVAL, "component \"%s\" (%s): cannot be instantiated: %s", o->id, o->source,
			      why);
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
	if (c->linker)
		wasmtime_linker_delete(c->linker);
	if (c->module)
		wasmtime_module_delete(c->module);
	if (c->export_fn)
		wasmtime_component_export_index_delete(c->export_fn);
	if (c->clinker)
		wasmtime_component_linker_delete(c->clinker);
	if (c->component)
		wasmtime_component_delete(c->component);
	for (size_t i = 0; i < c->n_env; i++) {
		free(c->env_keys[i]);
		free(c->env_values[i]);
	}
	free(c->env_keys);
	free(c->env_values);
	free_strv(c->var_keys, c->wenv.n_vars);
	free_strv(c->var_values, c->wenv.n_vars);
	free_strv(c->kv_stores, c->wenv.n_kv_stores);
	free_strv(c->allowed_hosts, c->wenv.n_allowed_outbound_hosts);
	free(c->id);
	free(c->files_dir);
	free(c->entrypoint);
	free(c);
}

/* --- WAGI ---------------------------------------------------------------------------- */

/* The memory a trapped WAGI program had, to tell "ran out of its memory
 * cap" from other traps. */
static uint64_t memory_bytes(wasmtime_context_t *ctx, const wasmtime_instance_t *inst)
{
	wasmtime_extern_t item;

	if (!wasmtime_instance_export_get(ctx, inst, "memory", strlen("memory"), &item) ||
	    item.kind != WASMTIME_EXTERN_MEMORY)
		return 0;
	return (uint64_t)wasmtime_memory_data_size(ctx, &item.of.memory);
}

int sb_wagi_run(struct sb_component *c, const char *const *argv, size_t argc, const struct sb_kv *env, size_t n_env,
		const uint8_t *body, size_t body_len, struct sb_bytes *out, char *why, size_t why_size)
{
	struct guest_log le = { .component = c->id, .stream = "stderr" };
	wasmtime_store_t *store;
	wasmtime_context_t *ctx;
	wasmtime_instance_t inst;
	wasmtime_extern_t start;
	wasmtime_error_t *we;
	wasm_trap_t *trap = NULL;
	int status, r = -1;

	out->max = c->max_output;
	store = new_store(c, argv, argc, env, n_env, body, body_len, out, NULL, &le, why, why_size);
	if (!store)
		return -1;
	ctx = wasmtime_store_context(store);
	we = wasmtime_instance_pre_instantiate(c->pre, ctx, &inst, &trap);
	if (we || trap) {
		sb_describe_failure(c->engine, we, trap, why, why_size);
		goto out;
	}
	if (!wasmtime_instance_export_get(ctx, &inst, c->entrypoint, strlen(c->entrypoint), &start) ||
	    start.kind != WASMTIME_EXTERN_FUNC) {
		snprintf(why, why_size, "the program exports no function \"%s\"", c->entrypoint);
		goto out;
	}
	we = wasmtime_func_call(ctx, &start.of.func, NULL, 0, NULL, 0, &trap);
	/* Past the output cap the guest saw write errors; whatever it did
	 * next, the cap is the reason. */
	if (out->over) {
		if (we)
			wasmtime_error_delete(we);
		if (trap)
			wasm_trap_delete(trap);
		snprintf(why, why_size, "output is over the %zu-byte limit (raise --max-response-body)", out->max);
		goto out;
	}
	if (we && wasmtime_error_exit_status(we, &status)) {
		wasmtime_error_delete(we);
		we = NULL;
		if (status != 0) {
			snprintf(why, why_size, "the program exited with status %d", status);
			goto out;
		}
	}
	if (we || trap) {
		uint64_t mem = memory_bytes(ctx, &inst);
		size_t n;
		sb_describe_failure(c->engine, we, trap, why, why_size);
		n = strlen(why);
		/* Within a page or two of the cap: the guest hit its memory limit. */
		if (mem + (128u << 10) >= c->engine->opts.max_instance_memory && n < why_size)
			snprintf(why + n, why_size - n, " (memory limit of %llu MiB reached: raise "
							"SPIN_MAX_INSTANCE_MEMORY)",
				 (unsigned long long)(c->engine->opts.max_instance_memory >> 20));
		goto out;
	}
	r = 0;
out:
	guest_log_flush(&le);
	wasmtime_store_delete(store);
	return r;
}

/* --- fermyon:spin/inbound-http ------------------------------------------------------- */

static void val_string(wasmtime_component_val_t *v, const char *s, size_t n)
{
	v->kind = WASMTIME_COMPONENT_STRING;
	wasm_name_new(&v->of.string, n, s);
}

static void val_kv_list(wasmtime_component_val_t *v, const struct sb_kv *kv, size_t n)
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

static int take_response(const wasmtime_component_val_t *res, struct sb_inbound_response *out, size_t max_body,
			 char *why, size_t why_size)
{
	const wasmtime_component_val_t *st, *hd, *bd;

	if (res->kind != WASMTIME_COMPONENT_RECORD || !(st = field(res, "status")) ||
	    st->kind != WASMTIME_COMPONENT_U16) {
		snprintf(why, why_size, "malformed response: no status");
		return -1;
	}
	if (st->of.u16 < 100 || st->of.u16 > 599) {
		snprintf(why, why_size, "malformed response: status %u is not an HTTP status", st->of.u16);
		return -1;
	}
	out->status = st->of.u16;
	hd = field(res, "headers");
	if (hd && hd->kind == WASMTIME_COMPONENT_OPTION && hd->of.option) {
		const wasmtime_component_val_t *l = hd->of.option;
		if (l->kind != WASMTIME_COMPONENT_LIST || l->of.list.size > RESPONSE_HEADERS_MAX) {
			snprintf(why, why_size, "malformed response: more than %d headers", RESPONSE_HEADERS_MAX);
			return -1;
		}
		out->header_names = calloc(l->of.list.size + 1, sizeof(char *));
		out->header_values = calloc(l->of.list.size + 1, sizeof(char *));
		if (!out->header_names || !out->header_values) {
			snprintf(why, why_size, "out of memory");
			return -1;
		}
		for (size_t i = 0; i < l->of.list.size; i++) {
			const wasmtime_component_val_t *t = &l->of.list.data[i];
			if (t->kind != WASMTIME_COMPONENT_TUPLE || t->of.tuple.size != 2 ||
			    t->of.tuple.data[0].kind != WASMTIME_COMPONENT_STRING ||
			    t->of.tuple.data[1].kind != WASMTIME_COMPONENT_STRING) {
				snprintf(why, why_size, "malformed response: header %zu is not a pair of strings", i);
				return -1;
			}
			const wasm_name_t *n = &t->of.tuple.data[0].of.string, *v = &t->of.tuple.data[1].of.string;
			if (!valid_header(n, v)) {
				snprintf(why, why_size, "malformed response: header %zu is not a valid HTTP header", i);
				return -1;
			}
			out->header_names[i] = strndup(n->data, n->size);
			out->header_values[i] = strndup(v->data, v->size);
			out->n_headers = i + 1;
			if (!out->header_names[i] || !out->header_values[i]) {
				snprintf(why, why_size, "out of memory");
				return -1;
			}
		}
	}
	bd = field(res, "body");
	out->body.max = max_body;
	if (bd && bd->kind == WASMTIME_COMPONENT_OPTION && bd->of.option) {
		const wasmtime_component_val_t *l = bd->of.option;
		if (l->kind != WASMTIME_COMPONENT_LIST || l->of.list.size > max_body) {
			snprintf(why, why_size, "response body is over the %zu-byte limit", max_body);
			return -1;
		}
		out->body.data = malloc(l->of.list.size ? l->of.list.size : 1);
		if (!out->body.data) {
			snprintf(why, why_size, "out of memory");
			return -1;
		}
		out->body.cap = l->of.list.size ? l->of.list.size : 1;
		for (size_t i = 0; i < l->of.list.size; i++)
			out->body.data[i] = l->of.list.data[i].of.u8;
		out->body.len = l->of.list.size;
	}
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
	sb_bytes_free(&r->body);
	memset(r, 0, sizeof(*r));
}

int sb_inbound_http_call(struct sb_component *c, const struct sb_inbound_request *req,
			 struct sb_inbound_response *resp, char *why, size_t why_size)
{
	struct guest_log lo = { .component = c->id, .stream = "stdout" };
	struct guest_log le = { .component = c->id, .stream = "stderr" };
	const char *mcase = method_case(req->method);
	wasmtime_component_val_t arg, res;
	wasmtime_component_instance_t inst;
	wasmtime_component_func_t fn;
	wasmtime_store_t *store;
	wasmtime_context_t *ctx;
	wasmtime_error_t *we;
	int r = -1;

	memset(resp, 0, sizeof(*resp));
	if (!mcase) {
		snprintf(why, why_size, "method %s cannot be passed to fermyon:spin/inbound-http", req->method);
		return -2;
	}
	store = new_store(c, NULL, 0, NULL, 0, NULL, 0, NULL, &lo, &le, why, why_size);
	if (!store)
		return -1;
	ctx = wasmtime_store_context(store);
	we = wasmtime_component_linker_instantiate(c->clinker, ctx, c->component, &inst);
	if (we) {
		sb_describe_failure(c->engine, we, NULL, why, why_size);
		goto out;
	}
	if (!wasmtime_component_instance_get_func(&inst, ctx, c->export_fn, &fn)) {
		snprintf(why, why_size, "handle-request is not a function");
		goto out;
	}
	build_request(req, mcase, &arg);
	memset(&res, 0, sizeof(res));
	res.kind = WASMTIME_COMPONENT_BOOL;
	we = wasmtime_component_func_call(&fn, ctx, &arg, 1, &res, 1);
	wasmtime_component_val_delete(&arg);
	if (we) {
		sb_describe_failure(c->engine, we, NULL, why, why_size);
		goto out;
	}
	r = take_response(&res, resp, c->max_output, why, why_size);
	wasmtime_component_val_delete(&res);
	if (r < 0)
		sb_inbound_response_free(resp);
out:
	guest_log_flush(&lo);
	guest_log_flush(&le);
	wasmtime_store_delete(store);
	return r;
}
