/* Spin's own host interfaces for variables and key-value, as the spin-sdk
 * WIT defines them:
 *
 *   fermyon:spin/variables@2.0.0        get(name) -> result<string, error>
 *   wasi:config/store@0.2.0-draft-2024-09-27   get, get-all
 *   fermyon:spin/config                 get-config (Spin 1.x guests)
 *   fermyon:spin/key-value@2.0.0        resource store: open, get, set, delete,
 *                                       exists, get-keys
 *   fermyon:spin/key-value              the same over u32 handles (Spin 1.x)
 *
 * Variables come from the component's resolved values (wh_component_env
 * vars); names are checked with Spin's rules first, and the
 * error cases follow Spin's host: the v1 interface and wasi:config map them
 * as Spin does. Stores: a component may open only the labels in its
 * key_value_stores (else access-denied), and only labels the app's
 * struct wh_kvdb (env->kvdb) defines (else no-such-store). An open store
 * is a WH_KV_STORE table entry whose object is the app's store, borrowed:
 * dropping it, or the end of the request, only forgets the handle; the
 * store (a SQLite connection or a Redis pool, kv-sqlite.h) belongs to the
 * app. wasi:keyvalue, on the same stores and rules, is in keyvalue.c.
 * SQLite's interfaces are in sqlite.c. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim-bridge/wasi/host.h"
#include "shim-bridge/app/vars.h"
#include "shim-bridge/wasi/kv-sqlite.h"
#include "common/utf8.h"

_Static_assert(WH_KV_VALUE_MAX <= WH_CHUNK_MAX, "a key-value value must fit the host's list<u8> cap");

/* Longest part of a guest's string quoted back in a message. */
#define QUOTE_MAX 128

/* How much of a guest's string to quote: at most QUOTE_MAX bytes, cut
 * before a UTF-8 continuation byte so the message stays valid UTF-8. */
static int clamp(const char *s, size_t n)
{
	size_t k = n;

	if (k > QUOTE_MAX) {
		k = QUOTE_MAX;
		while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
			k--;
	}
	return (int)k;
}

/* A string value of host text, which a guest string must be: valid UTF-8
 * is passed as it is, anything else with '?' for each bad byte (a value
 * from the environment, a truncated message). */
void wh_val_text(wasmtime_component_val_t *v, const char *s)
{
	size_t n = strlen(s), i = 0, k;
	char *copy;

	while (i < n && (k = sk_utf8_seq((const unsigned char *)s + i, n - i)))
		i += k;
	if (i == n || !(copy = strdup(s))) {
		wh_val_string(v, s, n);
		return;
	}
	for (i = 0; i < n; i += k)
		if (!(k = sk_utf8_seq((const unsigned char *)copy + i, n - i)))
			copy[i] = '?', k = 1;
	wh_val_string(v, copy, n);
	free(copy);
}

wasmtime_error_t *wh_arity(const char *fn, size_t nargs, size_t want_args, size_t nresults, size_t want_results)
{
	if (nargs == want_args && nresults == want_results)
		return NULL;
	return wh_trap("%s: called with %zu arguments and %zu results, expected %zu and %zu", fn, nargs,
	               nresults, want_args, want_results);
}

wasmtime_error_t *wh_fail_with(wasmtime_component_val_t *res, const char *case_name, const char *msg)
{
	wasmtime_component_val_t payload, e;

	if (msg)
		wh_val_text(&payload, msg);
	wh_val_variant(&e, case_name, msg ? &payload : NULL);
	wh_val_result(res, false, &e);
	return NULL;
}

static wasmtime_error_t *ok_string(wasmtime_component_val_t *res, const char *s)
{
	wasmtime_component_val_t v;

	wh_val_text(&v, s);
	wh_val_result(res, true, &v);
	return NULL;
}

/* --- variables ------------------------------------------------------------------ */

enum var_status { VAR_FOUND, VAR_INVALID, VAR_UNDEFINED };

/* The component's variable name[0..n), or why not, worded as Spin does. */
static enum var_status find_var(const struct wh_component_env *env, const char *name, size_t n,
                                const char **value, char *msg, size_t size)
{
	struct sk_error why = { 0 };

	if (app_variable_name_check(name, n, &why) < 0) {
		/* Spin's reasons are short: 200 characters leave room for the name. */
		(void)snprintf(msg, size, "\"%.*s\"%s: %.200s", clamp(name, n), name, n > QUOTE_MAX ? "..." : "",
		               why.message);
		return VAR_INVALID;
	}
	if (env && (*value = sk_kv_get(env->vars, env->n_vars, name, n)))
		return VAR_FOUND;
	(void)snprintf(msg, size, "no variable for \"%s\".\"%.*s\"", env && env->id ? env->id : "",
	               clamp(name, n), name);
	return VAR_UNDEFINED;
}

/* A variable by name as a result<string, error>: the two Spin interfaces
 * differ only in the error cases they name. */
static wasmtime_error_t *get_variable(struct wh_ctx *ctx, const char *what, wasmtime_component_val_t *args,
				      size_t nargs, wasmtime_component_val_t *results, size_t nresults,
				      const char *invalid_case, const char *undefined_case)
{
	const char *name, *value = NULL;
	size_t n;
	char msg[512];
	wasmtime_error_t *e = wh_arity(what, nargs, 1, nresults, 1);

	if (e)
		return e;
	if (wh_arg_string(&args[0], &name, &n) < 0)
		return wh_trap("%s: the name is not a string", what);
	switch (find_var(ctx->env, name, n, &value, msg, sizeof(msg))) {
	case VAR_FOUND:
		return ok_string(&results[0], value);
	case VAR_INVALID:
		return wh_fail_with(&results[0], invalid_case, msg);
	default:
		return wh_fail_with(&results[0], undefined_case, msg);
	}
}

static wasmtime_error_t *variables_get(struct wh_ctx *ctx, wasmtime_context_t *cx,
                                       wasmtime_component_val_t *args, size_t nargs,
                                       wasmtime_component_val_t *results, size_t nresults)
{
	(void)cx;
	return get_variable(ctx, "fermyon:spin/variables.get", args, nargs, results, nresults, "invalid-name",
			    "undefined");
}

/* fermyon:spin/config get-config: Spin maps invalid names to invalid-key
 * and undefined ones to provider. */
static wasmtime_error_t *config_get_config(struct wh_ctx *ctx, wasmtime_context_t *cx,
                                           wasmtime_component_val_t *args, size_t nargs,
                                           wasmtime_component_val_t *results, size_t nresults)
{
	(void)cx;
	return get_variable(ctx, "fermyon:spin/config.get-config", args, nargs, results, nresults, "invalid-key",
			    "provider");
}

/* wasi:config/store get: an invalid or undefined key is ok(none). */
static wasmtime_error_t *wasi_config_get(struct wh_ctx *ctx, wasmtime_context_t *cx,
                                         wasmtime_component_val_t *args, size_t nargs,
                                         wasmtime_component_val_t *results, size_t nresults)
{
	const char *name, *value = NULL;
	size_t n;
	char msg[512];
	wasmtime_component_val_t v, opt;
	wasmtime_error_t *e = wh_arity("wasi:config/store.get", nargs, 1, nresults, 1);

	if (e)
		return e;
	if (wh_arg_string(&args[0], &name, &n) < 0)
		return wh_trap("wasi:config/store.get: the key is not a string");
	if (find_var(ctx->env, name, n, &value, msg, sizeof(msg)) == VAR_FOUND) {
		wh_val_text(&v, value);
		wh_val_option(&opt, &v);
	} else {
		wh_val_option(&opt, NULL);
	}
	wh_val_result(&results[0], true, &opt);
	return NULL;
}

static wasmtime_error_t *wasi_config_get_all(struct wh_ctx *ctx, wasmtime_context_t *cx,
                                             wasmtime_component_val_t *args, size_t nargs,
                                             wasmtime_component_val_t *results, size_t nresults)
{
	const struct wh_component_env *env = ctx->env;
	size_t n = env ? env->n_vars : 0;
	wasmtime_component_val_t list, *slots;
	wasmtime_error_t *e = wh_arity("wasi:config/store.get-all", nargs, 0, nresults, 1);

	if (e)
		return e;
	slots = wh_val_list(&list, n);
	for (size_t i = 0; i < n; i++) {
		wasmtime_component_val_t *t = wh_val_tuple(&slots[i], 2);
		wh_val_text(&t[0], env->vars[i].key);
		wh_val_text(&t[1], env->vars[i].value);
	}
	wh_val_result(&results[0], true, &list);
	return NULL;
}

/* --- key-value ------------------------------------------------------------------- */

/* The store is the app's; a handle owns nothing. */
static void kv_forget(struct wh_ctx *ctx, void *obj)
{
	(void)ctx;
	(void)obj;
}

struct wh_kvdb_store *wh_kv_allowed(const struct wh_component_env *env, const char *label, size_t n,
                                    const char **error_case)
{
	struct wh_kvdb_store *s;
	bool allowed = false;

	for (size_t i = 0; env && i < env->n_kv_stores && !allowed; i++)
		allowed = strlen(env->kv_stores[i]) == n && memcmp(env->kv_stores[i], label, n) == 0;
	if (!allowed) {
		*error_case = "access-denied";
		return NULL;
	}
	if (!(s = wh_kvdb_find(env->kvdb, label, n)))
		*error_case = "no-such-store";
	return s;
}

/* Open label[0..n) for this request: the rep (>0), or the error case. */
static uint32_t kv_open(struct wh_ctx *ctx, const char *label, size_t n, const char **error_case)
{
	struct wh_kvdb_store *s;
	uint32_t rep;

	if (!(s = wh_kv_allowed(ctx->env, label, n, error_case)))
		return 0;
	if (!(rep = wh_add(ctx, WH_KV_STORE, s, kv_forget)))
		*error_case = "store-table-full";
	return rep;
}

static wasmtime_error_t *kv2_open(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *args,
                                  size_t nargs, wasmtime_component_val_t *results, size_t nresults)
{
	const char *label, *error_case = NULL;
	size_t n;
	uint32_t rep;
	wasmtime_component_val_t v;
	wasmtime_error_t *e = wh_arity("fermyon:spin/key-value.store.open", nargs, 1, nresults, 1);

	if (e)
		return e;
	if (wh_arg_string(&args[0], &label, &n) < 0)
		return wh_trap("fermyon:spin/key-value.store.open: the label is not a string");
	if (!(rep = kv_open(ctx, label, n, &error_case)))
		return wh_fail_with(&results[0], error_case, NULL);
	if (wh_val_resource(cx, &v, rep, WH_KV_STORE) < 0) {
		wh_remove(ctx, rep);
		return wh_trap("fermyon:spin/key-value.store.open: cannot make the store resource");
	}
	wh_val_result(&results[0], true, &v);
	return NULL;
}

/* The store behind a v2 `self` argument. */
static struct wh_kvdb_store *kv2_self(struct wh_ctx *ctx, wasmtime_context_t *cx,
                                        const wasmtime_component_val_t *v)
{
	uint32_t rep;

	if (wh_arg_rep(cx, v, WH_KV_STORE, &rep) < 0)
		return NULL;
	return wh_get(ctx, rep, WH_KV_STORE);
}

/* The key argument, or an other(...) error in results[0] (*key NULL). */
static void kv_key(const wasmtime_component_val_t *v, const char **key, size_t *n, char *msg, size_t size)
{
	*key = NULL;
	if (wh_arg_string(v, key, n) < 0) {
		*key = NULL;
		(void)snprintf(msg, size, "the key is not a string");
	} else if (*n > WH_KV_KEY_MAX) {
		(void)snprintf(msg, size, "key of %zu bytes is longer than spin-bridge allows (%zu)", *n,
		               WH_KV_KEY_MAX);
		*key = NULL;
	}
}

enum kv_op { KV_GET, KV_SET, KV_DELETE, KV_EXISTS, KV_KEYS };

/* One store operation, with its ok result written to *ok (moved by the
 * caller) or the backend's message in err. 0, -ENOENT (get: no such key)
 * or the backend's error. */
static int kv_run(struct wh_kvdb_store *s, enum kv_op op, const wasmtime_component_val_t *args,
                  wasmtime_component_val_t *ok, struct sk_error *err)
{
	const char *key = NULL;
	size_t klen = 0;
	int r = 0;

	if (op != KV_KEYS) {
		kv_key(&args[0], &key, &klen, err->message, sizeof(err->message));
		if (!key)
			return -EINVAL;
	}
	switch (op) {
	case KV_GET: {
		uint8_t *val = NULL;
		size_t vlen = 0;
		if ((r = wh_kvdb_get(s, key, klen, &val, &vlen, err)) == 0)
			wh_val_bytes(ok, val, vlen);
		free(val);
		break;
	}
	case KV_SET: {
		uint8_t *val = NULL;
		size_t vlen = 0;
		r = wh_arg_bytes(&args[1], WH_KV_VALUE_MAX, &val, &vlen);
		if (r == -E2BIG)
			return sk_err(err, r,
			              "key-value store \"%s\": value of %zu bytes is larger than spin-bridge "
			              "allows (%zu)",
			              wh_kvdb_store_label(s), args[1].of.list.size, WH_KV_VALUE_MAX);
		if (r < 0)
			return sk_err(err, r, "key-value store \"%s\": the value is not a list<u8>",
			              wh_kvdb_store_label(s));
		r = wh_kvdb_set(s, key, klen, val, vlen, err);
		free(val);
		break;
	}
	case KV_DELETE:
		r = wh_kvdb_delete(s, key, klen, err);
		break;
	case KV_EXISTS: {
		bool found = false;
		if ((r = wh_kvdb_exists(s, key, klen, &found, err)) == 0)
			wh_val_bool(ok, found);
		break;
	}
	case KV_KEYS: {
		struct wh_kvdb_key *keys = NULL;
		size_t n = 0;
		if ((r = wh_kvdb_keys(s, &keys, &n, err)) == 0) {
			wasmtime_component_val_t *slots = wh_val_list(ok, n);
			for (size_t i = 0; i < n; i++)
				wh_val_string(&slots[i], keys[i].s, keys[i].n);
		}
		wh_kvdb_keys_free(keys, n);
		break;
	}
	}
	return r;
}

static const char *const kv_op_name[] = {"get", "set", "delete", "exists", "get-keys"};
static const size_t kv_op_args[] = {1, 2, 1, 1, 0}; /* besides the store */

/* A v2 method: self, then the operation's arguments. */
static wasmtime_error_t *kv2_method(enum kv_op op, struct wh_ctx *ctx, wasmtime_context_t *cx,
                                    wasmtime_component_val_t *args, size_t nargs,
                                    wasmtime_component_val_t *results, size_t nresults)
{
	struct sk_error err = {0};
	struct wh_kvdb_store *s;
	wasmtime_component_val_t v, opt;
	wasmtime_error_t *e;
	char fn[64];
	int r;

	(void)snprintf(fn, sizeof(fn), "fermyon:spin/key-value.store.%s", kv_op_name[op]);
	if ((e = wh_arity(fn, nargs, 1 + kv_op_args[op], nresults, 1)))
		return e;
	if (!(s = kv2_self(ctx, cx, &args[0])))
		return wh_trap("%s: not an open store", fn);
	wh_val_bool(&v, false);
	r = kv_run(s, op, args + 1, &v, &err);
	if (r == -ENOENT && op == KV_GET) {
		wh_val_option(&opt, NULL);
		wh_val_result(&results[0], true, &opt);
	} else if (r < 0) {
		return wh_fail_with(&results[0], "other", err.message);
	} else if (op == KV_GET) {
		wh_val_option(&opt, &v);
		wh_val_result(&results[0], true, &opt);
	} else if (op == KV_SET || op == KV_DELETE) {
		wh_val_ok(&results[0]);
	} else {
		wh_val_result(&results[0], true, &v);
	}
	return NULL;
}

#define KV2_METHOD(op, fname)                                                                                \
	static wasmtime_error_t *fname(struct wh_ctx *ctx, wasmtime_context_t *cx,                           \
	                               wasmtime_component_val_t *args, size_t nargs,                         \
	                               wasmtime_component_val_t *results, size_t nresults)                   \
	{                                                                                                    \
		return kv2_method(op, ctx, cx, args, nargs, results, nresults);                              \
	}
KV2_METHOD(KV_GET, kv2_get)
KV2_METHOD(KV_SET, kv2_set)
KV2_METHOD(KV_DELETE, kv2_delete)
KV2_METHOD(KV_EXISTS, kv2_exists)
KV2_METHOD(KV_KEYS, kv2_get_keys)

/* --- key-value, Spin 1.x: u32 handles ------------------------------------------------- */

static wasmtime_error_t *kv1_open(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *args,
                                  size_t nargs, wasmtime_component_val_t *results, size_t nresults)
{
	const char *label, *error_case = NULL;
	size_t n;
	uint32_t rep;
	wasmtime_component_val_t v;
	wasmtime_error_t *e = wh_arity("fermyon:spin/key-value.open", nargs, 1, nresults, 1);

	if (e)
		return e;
	if (wh_arg_string(&args[0], &label, &n) < 0)
		return wh_trap("fermyon:spin/key-value.open: the name is not a string");
	if (!(rep = kv_open(ctx, label, n, &error_case)))
		return wh_fail_with(&results[0], error_case, NULL);
	wh_val_u32(&v, rep);
	wh_val_result(&results[0], true, &v);
	return NULL;
}

/* A v1 function: the store handle, then the operation's arguments. Spin 1
 * reports a missing key from get as no-such-key and backend errors as io. */
static wasmtime_error_t *kv1_call(enum kv_op op, struct wh_ctx *ctx, wasmtime_context_t *cx,
                                  wasmtime_component_val_t *args, size_t nargs,
                                  wasmtime_component_val_t *results, size_t nresults)
{
	struct sk_error err = {0};
	struct wh_kvdb_store *s;
	wasmtime_component_val_t v;
	wasmtime_error_t *e;
	uint32_t handle;
	char fn[64];
	int r;

	(void)snprintf(fn, sizeof(fn), "fermyon:spin/key-value.%s", kv_op_name[op]);
	if ((e = wh_arity(fn, nargs, 1 + kv_op_args[op], nresults, 1)))
		return e;
	if (wh_arg_u32(&args[0], &handle) < 0)
		return wh_trap("%s: the store is not a u32 handle", fn);
	if (!(s = wh_get(ctx, handle, WH_KV_STORE)))
		return wh_fail_with(&results[0], "invalid-store", NULL);
	wh_val_bool(&v, false);
	r = kv_run(s, op, args + 1, &v, &err);
	if (r == -ENOENT && op == KV_GET)
		return wh_fail_with(&results[0], "no-such-key", NULL);
	if (r < 0)
		return wh_fail_with(&results[0], "io", err.message);
	if (op == KV_SET || op == KV_DELETE)
		wh_val_ok(&results[0]);
	else
		wh_val_result(&results[0], true, &v);
	return NULL;
}

#define KV1_CALL(op, fname)                                                                                  \
	static wasmtime_error_t *fname(struct wh_ctx *ctx, wasmtime_context_t *cx,                           \
	                               wasmtime_component_val_t *args, size_t nargs,                         \
	                               wasmtime_component_val_t *results, size_t nresults)                   \
	{                                                                                                    \
		return kv1_call(op, ctx, cx, args, nargs, results, nresults);                                \
	}
KV1_CALL(KV_GET, kv1_get)
KV1_CALL(KV_SET, kv1_set)
KV1_CALL(KV_DELETE, kv1_delete)
KV1_CALL(KV_EXISTS, kv1_exists)
KV1_CALL(KV_KEYS, kv1_get_keys)

/* close: no effect on a handle that is not an open store. */
static wasmtime_error_t *kv1_close(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *args,
                                   size_t nargs, wasmtime_component_val_t *results, size_t nresults)
{
	uint32_t handle;
	wasmtime_error_t *e = wh_arity("fermyon:spin/key-value.close", nargs, 1, nresults, 0);

	if (e)
		return e;
	if (wh_arg_u32(&args[0], &handle) < 0)
		return wh_trap("fermyon:spin/key-value.close: the store is not a u32 handle");
	if (wh_get(ctx, handle, WH_KV_STORE))
		wh_remove(ctx, handle);
	return NULL;
}

/* --- the interface table ------------------------------------------------------------------ */

static const struct wh_func_def variables_funcs[] = {
    {"get", variables_get},
};

static const struct wh_func_def wasi_config_funcs[] = {
    {"get", wasi_config_get},
    {"get-all", wasi_config_get_all},
};

static const struct wh_func_def config_funcs[] = {
    {"get-config", config_get_config},
};

static const struct wh_resource_def kv2_resources[] = {
    {"store", WH_KV_STORE},
};

static const struct wh_func_def kv2_funcs[] = {
    {"[static]store.open", kv2_open},     {"[method]store.get", kv2_get},
    {"[method]store.set", kv2_set},       {"[method]store.delete", kv2_delete},
    {"[method]store.exists", kv2_exists}, {"[method]store.get-keys", kv2_get_keys},
};

static const struct wh_func_def kv1_funcs[] = {
    {"open", kv1_open},     {"get", kv1_get},           {"set", kv1_set},     {"delete", kv1_delete},
    {"exists", kv1_exists}, {"get-keys", kv1_get_keys}, {"close", kv1_close},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

const struct wh_iface_def wh_spin_ifaces[] = {
    {"fermyon:spin/variables@2.0.0", NULL, 0, variables_funcs, N(variables_funcs)},
    {"wasi:config/store@0.2.0-draft-2024-09-27", NULL, 0, wasi_config_funcs, N(wasi_config_funcs)},
    {"fermyon:spin/config", NULL, 0, config_funcs, N(config_funcs)},
    {"fermyon:spin/key-value@2.0.0", kv2_resources, N(kv2_resources), kv2_funcs, N(kv2_funcs)},
    {"fermyon:spin/key-value", NULL, 0, kv1_funcs, N(kv1_funcs)},
};
const size_t wh_n_spin_ifaces = N(wh_spin_ifaces);
