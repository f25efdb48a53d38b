/* wasi:keyvalue@0.2.0-draft2 as Spin 3 serves it (the WIT of spin-sdk's
 * wit/deps/keyvalue-2024-10-17), on the app's key-value stores
 * (kv-sqlite.h: SQLite or Redis):
 *
 *   store    open(identifier) -> bucket; bucket get, set, delete, exists,
 *            list-keys(cursor)
 *   atomics  increment(bucket, key, delta); resource cas: new(bucket, key),
 *            current(); swap(cas, value) -> cas-error
 *   batch    get-many, set-many, delete-many
 *
 * A bucket is a store label under Spin's rules (wh_kv_allowed: the
 * component's key_value_stores, else access-denied; defined by the app,
 * else no-such-store); its table entry borrows the app's store. list-keys
 * answers every key at once (the caps of kv-sqlite.h) with no cursor; a
 * cursor it never gave answers no keys. A cas holds the key and the value
 * cas.new read; swap writes only if the value is still that one (one
 * transaction on SQLite, one EVAL on Redis), else gives the cas back as
 * cas-failed with the value read again, so a guest retries with current().
 * Counters are decimal text on both backends. Batches are at most
 * WH_KV_BATCH_MAX keys, get-many at most WH_KV_KEYS_MAX bytes of keys and
 * values; a batch is not atomic (the WIT does not ask it to be). Every
 * failure is an error value, other(message), never a trap. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim-bridge/wasi/host.h"
#include "shim-bridge/wasi/kv-sqlite.h"

#define WH_KV_BATCH_MAX 1000 /* keys in one get-many, set-many or delete-many */

struct kv_cas {
	struct wh_kvdb_store *store; /* the app's, borrowed */
	char *key;
	size_t klen;
	bool had;     /* the key existed when read */
	uint8_t *val; /* what was read (NULL when empty or absent) */
	size_t vlen;
};

static void cas_free(struct kv_cas *c)
{
	if (!c)
		return;
	free(c->key);
	free(c->val);
	free(c);
}

static void cas_drop(struct wh_ctx *ctx, void *obj)
{
	(void)ctx;
	cas_free(obj);
}

static void bucket_forget(struct wh_ctx *ctx, void *obj)
{
	(void)ctx;
	(void)obj;
}

/* results[0] = err(error), the store interface's error variant: a case
 * without a payload, or other(msg). */
static wasmtime_error_t *fail(wasmtime_component_val_t *res, const char *case_name, const char *msg)
{
	wasmtime_component_val_t payload, e;

	if (msg)
		wh_val_text(&payload, msg);
	wh_val_variant(&e, case_name, msg ? &payload : NULL);
	wh_val_result(res, false, &e);
	return NULL;
}

static wasmtime_error_t *arity(const char *fn, size_t nargs, size_t want, size_t nresults)
{
	if (nargs == want && nresults == 1)
		return NULL;
	return wh_trap("wasi:keyvalue %s: called with %zu arguments and %zu results, expected %zu and 1", fn,
	               nargs, nresults, want);
}

static struct wh_kvdb_store *bucket_of(struct wh_ctx *ctx, wasmtime_context_t *cx,
                                       const wasmtime_component_val_t *v)
{
	uint32_t rep;

	if (wh_arg_rep(cx, v, WH_KV_BUCKET, &rep) < 0)
		return NULL;
	return wh_get(ctx, rep, WH_KV_BUCKET);
}

/* A key argument within the cap, or a message in msg. */
static int key_arg(const wasmtime_component_val_t *v, const char **key, size_t *klen, char *msg, size_t size)
{
	if (wh_arg_string(v, key, klen) < 0) {
		(void)snprintf(msg, size, "the key is not a string");
		return -EINVAL;
	}
	if (*klen > WH_KV_KEY_MAX) {
		(void)snprintf(msg, size, "key of %zu bytes is longer than spin-bridge allows (%zu)", *klen,
		               WH_KV_KEY_MAX);
		return -E2BIG;
	}
	return 0;
}

/* --- store ------------------------------------------------------------------------------ */

static wasmtime_error_t *kv_open(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *args,
                                 size_t nargs, wasmtime_component_val_t *results, size_t nresults)
{
	const char *label, *error_case = "other";
	struct wh_kvdb_store *s;
	wasmtime_component_val_t v;
	uint32_t rep;
	size_t n;
	wasmtime_error_t *e = arity("open", nargs, 1, nresults);

	if (e)
		return e;
	if (wh_arg_string(&args[0], &label, &n) < 0)
		return wh_trap("wasi:keyvalue/store.open: the identifier is not a string");
	if (!(s = wh_kv_allowed(ctx->env, label, n, &error_case)))
		return fail(&results[0], error_case, NULL);
	if (!(rep = wh_add(ctx, WH_KV_BUCKET, s, bucket_forget)))
		return fail(&results[0], "other", "too many open buckets in this request");
	if (wh_val_resource(cx, &v, rep, WH_KV_BUCKET) < 0) {
		wh_remove(ctx, rep);
		return wh_trap("wasi:keyvalue/store.open: cannot make the bucket resource");
	}
	wh_val_result(&results[0], true, &v);
	return NULL;
}

enum op { OP_GET, OP_SET, OP_DELETE, OP_EXISTS };
static const char *const op_name[] = {"bucket.get", "bucket.set", "bucket.delete", "bucket.exists"};

static wasmtime_error_t *bucket_call(enum op op, struct wh_ctx *ctx, wasmtime_context_t *cx,
                                     wasmtime_component_val_t *args, size_t nargs,
                                     wasmtime_component_val_t *results, size_t nresults)
{
	struct sk_error err = {0};
	struct wh_kvdb_store *s;
	wasmtime_component_val_t v, opt;
	const char *key;
	size_t klen;
	int r;
	wasmtime_error_t *e = arity(op_name[op], nargs, op == OP_SET ? 3 : 2, nresults);

	if (e)
		return e;
	if (!(s = bucket_of(ctx, cx, &args[0])))
		return wh_trap("wasi:keyvalue %s: not an open bucket", op_name[op]);
	if (key_arg(&args[1], &key, &klen, err.message, sizeof(err.message)) < 0)
		return fail(&results[0], "other", err.message);
	switch (op) {
	case OP_GET: {
		uint8_t *val = NULL;
		size_t vlen = 0;
		r = wh_kvdb_get(s, key, klen, &val, &vlen, &err);
		if (r == -ENOENT) {
			wh_val_option(&opt, NULL);
		} else if (r == 0) {
			wh_val_bytes(&v, val, vlen);
			wh_val_option(&opt, &v);
		}
		free(val);
		if (r < 0 && r != -ENOENT)
			break;
		wh_val_result(&results[0], true, &opt);
		return NULL;
	}
	case OP_SET: {
		uint8_t *val = NULL;
		size_t vlen = 0;
		if ((r = wh_arg_bytes(&args[2], WH_KV_VALUE_MAX, &val, &vlen)) < 0) {
			(void)sk_err(
			    &err, r,
			    "key-value store \"%s\": the value is not a list<u8> of at most %zu bytes",
			    wh_kvdb_store_label(s), WH_KV_VALUE_MAX);
			break;
		}
		r = wh_kvdb_set(s, key, klen, val, vlen, &err);
		free(val);
		break;
	}
	case OP_DELETE:
		r = wh_kvdb_delete(s, key, klen, &err);
		break;
	case OP_EXISTS: {
		bool found = false;
		if ((r = wh_kvdb_exists(s, key, klen, &found, &err)) == 0) {
			wh_val_bool(&v, found);
			wh_val_result(&results[0], true, &v);
			return NULL;
		}
		break;
	}
	}
	if (r < 0)
		return fail(&results[0], "other", err.message);
	wh_val_ok(&results[0]);
	return NULL;
}

#define BUCKET_FN(op, fname)                                                                                 \
	static wasmtime_error_t *fname(struct wh_ctx *ctx, wasmtime_context_t *cx,                           \
	                               wasmtime_component_val_t *args, size_t nargs,                         \
	                               wasmtime_component_val_t *results, size_t nresults)                   \
	{                                                                                                    \
		return bucket_call(op, ctx, cx, args, nargs, results, nresults);                             \
	}
BUCKET_FN(OP_GET, bucket_get)
BUCKET_FN(OP_SET, bucket_set)
BUCKET_FN(OP_DELETE, bucket_delete)
BUCKET_FN(OP_EXISTS, bucket_exists)

/* list-keys(cursor) -> key-response { keys, cursor }: every key, no cursor. */
static wasmtime_error_t *bucket_list_keys(struct wh_ctx *ctx, wasmtime_context_t *cx,
                                          wasmtime_component_val_t *args, size_t nargs,
                                          wasmtime_component_val_t *results, size_t nresults)
{
	static const char *const fields[] = {"keys", "cursor"};
	const wasmtime_component_val_t *cursor = NULL;
	struct sk_error err = {0};
	struct wh_kvdb_store *s;
	struct wh_kvdb_key *keys = NULL;
	wasmtime_component_valrecord_entry_t *rec;
	wasmtime_component_val_t v, *slots;
	size_t n = 0;
	wasmtime_error_t *e = arity("bucket.list-keys", nargs, 2, nresults);

	if (e)
		return e;
	if (!(s = bucket_of(ctx, cx, &args[0])))
		return wh_trap("wasi:keyvalue bucket.list-keys: not an open bucket");
	if (wh_arg_option(&args[1], &cursor) < 0)
		return wh_trap("wasi:keyvalue bucket.list-keys: the cursor is not an option<string>");
	/* the first page is every key: a cursor can only be past the end */
	if (!cursor && wh_kvdb_keys(s, &keys, &n, &err) < 0)
		return fail(&results[0], "other", err.message);
	rec = wh_val_record(&v, fields, 2);
	slots = wh_val_list(&rec[0].val, n);
	for (size_t i = 0; i < n; i++)
		wh_val_string(&slots[i], keys[i].s, keys[i].n);
	wh_val_option(&rec[1].val, NULL);
	wh_kvdb_keys_free(keys, n);
	wh_val_result(&results[0], true, &v);
	return NULL;
}

/* --- atomics ---------------------------------------------------------------------------- */

/* Read the key into c (had, val) now. */
static int cas_read(struct kv_cas *c, struct sk_error *err)
{
	uint8_t *val = NULL;
	size_t vlen = 0;
	int r = wh_kvdb_get(c->store, c->key, c->klen, &val, &vlen, err);

	if (r < 0 && r != -ENOENT)
		return r;
	free(c->val);
	c->val = val;
	c->vlen = vlen;
	c->had = r == 0;
	return 0;
}

static wasmtime_error_t *cas_new(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *args,
                                 size_t nargs, wasmtime_component_val_t *results, size_t nresults)
{
	struct sk_error err = {0};
	struct wh_kvdb_store *s;
	struct kv_cas *c;
	wasmtime_component_val_t v;
	const char *key;
	size_t klen;
	uint32_t rep;
	wasmtime_error_t *e = arity("cas.new", nargs, 2, nresults);

	if (e)
		return e;
	if (!(s = bucket_of(ctx, cx, &args[0])))
		return wh_trap("wasi:keyvalue cas.new: not an open bucket");
	if (key_arg(&args[1], &key, &klen, err.message, sizeof(err.message)) < 0)
		return fail(&results[0], "other", err.message);
	if (!(c = calloc(1, sizeof(*c))) || !(c->key = malloc(klen + 1))) {
		cas_free(c);
		return fail(&results[0], "other", "out of memory");
	}
	c->store = s;
	memcpy(c->key, key, klen);
	c->key[klen] = '\0';
	c->klen = klen;
	if (cas_read(c, &err) < 0) {
		cas_free(c);
		return fail(&results[0], "other", err.message);
	}
	if (!(rep = wh_add(ctx, WH_KV_CAS, c, cas_drop)))
		return fail(&results[0], "other", "too many cas handles in this request");
	if (wh_val_resource(cx, &v, rep, WH_KV_CAS) < 0) {
		wh_remove(ctx, rep);
		return wh_trap("wasi:keyvalue cas.new: cannot make the cas resource");
	}
	wh_val_result(&results[0], true, &v);
	return NULL;
}

static wasmtime_error_t *cas_current(struct wh_ctx *ctx, wasmtime_context_t *cx,
                                     wasmtime_component_val_t *args, size_t nargs,
                                     wasmtime_component_val_t *results, size_t nresults)
{
	wasmtime_component_val_t v, opt;
	struct kv_cas *c;
	uint32_t rep;
	wasmtime_error_t *e = arity("cas.current", nargs, 1, nresults);

	if (e)
		return e;
	if (wh_arg_rep(cx, &args[0], WH_KV_CAS, &rep) < 0 || !(c = wh_get(ctx, rep, WH_KV_CAS)))
		return wh_trap("wasi:keyvalue cas.current: not a cas");
	if (c->had) {
		wh_val_bytes(&v, c->val, c->vlen);
		wh_val_option(&opt, &v);
	} else {
		wh_val_option(&opt, NULL);
	}
	wh_val_result(&results[0], true, &opt);
	return NULL;
}

static wasmtime_error_t *increment(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *args,
                                   size_t nargs, wasmtime_component_val_t *results, size_t nresults)
{
	struct sk_error err = {0};
	struct wh_kvdb_store *s;
	wasmtime_component_val_t v;
	const char *key;
	size_t klen;
	int64_t delta, out = 0;
	wasmtime_error_t *e = arity("increment", nargs, 3, nresults);

	if (e)
		return e;
	if (!(s = bucket_of(ctx, cx, &args[0])))
		return wh_trap("wasi:keyvalue increment: not an open bucket");
	if (wh_arg_s64(&args[2], &delta) < 0)
		return wh_trap("wasi:keyvalue increment: the delta is not an s64");
	if (key_arg(&args[1], &key, &klen, err.message, sizeof(err.message)) < 0 ||
	    wh_kvdb_increment(s, key, klen, delta, &out, &err) < 0)
		return fail(&results[0], "other", err.message);
	wh_val_s64(&v, out);
	wh_val_result(&results[0], true, &v);
	return NULL;
}

/* swap(cas, value) -> result<_, cas-error>; cas-error is store-error(error)
 * or cas-failed(cas). The guest gave the cas up: it is ours now. */
static wasmtime_error_t *swap(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *args,
                              size_t nargs, wasmtime_component_val_t *results, size_t nresults)
{
	struct sk_error err = {0};
	wasmtime_component_val_t msg, inner, outer, res;
	struct kv_cas *c;
	uint8_t *val = NULL;
	size_t vlen = 0;
	uint32_t rep;
	int r;
	wasmtime_error_t *e = arity("swap", nargs, 2, nresults);

	if (e)
		return e;
	if (wh_arg_rep(cx, &args[0], WH_KV_CAS, &rep) < 0 || !(c = wh_take(ctx, rep, WH_KV_CAS)))
		return wh_trap("wasi:keyvalue swap: not a cas");
	if ((r = wh_arg_bytes(&args[1], WH_KV_VALUE_MAX, &val, &vlen)) < 0)
		(void)sk_err(&err, r,
		             "key-value store \"%s\": the value is not a list<u8> of at most %zu bytes",
		             wh_kvdb_store_label(c->store), WH_KV_VALUE_MAX);
	else
		r = wh_kvdb_swap(c->store, c->key, c->klen, c->had, c->val, c->vlen, val, vlen, &err);
	free(val);
	if (r == 0) {
		cas_free(c);
		wh_val_ok(&results[0]);
		return NULL;
	}
	/* changed meanwhile: the cas goes back with the value read again */
	if (r == -ESTALE && cas_read(c, &err) == 0) {
		if (!(rep = wh_add(ctx, WH_KV_CAS, c, cas_drop))) { /* c is dropped */
			c = NULL;
			(void)sk_err(&err, -ENOMEM, "too many cas handles in this request");
		} else if (wh_val_resource(cx, &res, rep, WH_KV_CAS) < 0) {
			wh_remove(ctx, rep);
			return wh_trap("wasi:keyvalue swap: cannot make the cas resource");
		} else {
			wh_val_variant(&outer, "cas-failed", &res);
			wh_val_result(&results[0], false, &outer);
			return NULL;
		}
	}
	cas_free(c);
	wh_val_text(&msg, err.message);
	wh_val_variant(&inner, "other", &msg);
	wh_val_variant(&outer, "store-error", &inner);
	wh_val_result(&results[0], false, &outer);
	return NULL;
}

/* --- batch ------------------------------------------------------------------------------ */

/* The list argument of a batch call: its items, or a message. */
static int batch_list(const wasmtime_component_val_t *v, const wasmtime_component_val_t **items, size_t *n,
                      char *msg, size_t size)
{
	if (v->kind != WASMTIME_COMPONENT_LIST) {
		(void)snprintf(msg, size, "the batch is not a list");
		return -EINVAL;
	}
	if (v->of.list.size > WH_KV_BATCH_MAX) {
		(void)snprintf(msg, size, "a batch of %zu keys is more than spin-bridge takes at once (%d)",
		               v->of.list.size, WH_KV_BATCH_MAX);
		return -E2BIG;
	}
	*items = v->of.list.data;
	*n = v->of.list.size;
	return 0;
}

/* get-many(bucket, keys) -> list<tuple<string, option<list<u8>>>>: every
 * key asked for, none for one that does not exist. */
static wasmtime_error_t *get_many(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *args,
                                  size_t nargs, wasmtime_component_val_t *results, size_t nresults)
{
	struct sk_error err = {0};
	const wasmtime_component_val_t *items;
	struct wh_kvdb_store *s;
	struct {
		uint8_t *val;
		size_t vlen;
		bool found;
	} *got = NULL;
	wasmtime_component_val_t v, *slots;
	size_t n, total = 0;
	int r = 0;
	wasmtime_error_t *e = arity("get-many", nargs, 2, nresults);

	if (e)
		return e;
	if (!(s = bucket_of(ctx, cx, &args[0])))
		return wh_trap("wasi:keyvalue get-many: not an open bucket");
	if (batch_list(&args[1], &items, &n, err.message, sizeof(err.message)) < 0)
		return fail(&results[0], "other", err.message);
	if (n && !(got = calloc(n, sizeof(*got))))
		return fail(&results[0], "other", "out of memory");
	for (size_t i = 0; i < n && r == 0; i++) {
		const char *key;
		size_t klen;
		if ((r = key_arg(&items[i], &key, &klen, err.message, sizeof(err.message))) < 0)
			break;
		r = wh_kvdb_get(s, key, klen, &got[i].val, &got[i].vlen, &err);
		got[i].found = r == 0;
		if (r == -ENOENT)
			r = 0;
		total += klen + got[i].vlen + 64;
		if (r == 0 && total > WH_KV_KEYS_MAX)
			r = sk_err(
			    &err, -E2BIG,
			    "key-value store \"%s\": get-many: the keys and values add up to more than "
			    "spin-bridge hands over (%zu bytes)",
			    wh_kvdb_store_label(s), WH_KV_KEYS_MAX);
	}
	if (r == 0) {
		slots = wh_val_list(&v, n);
		for (size_t i = 0; i < n; i++) {
			wasmtime_component_val_t *t = wh_val_tuple(&slots[i], 2), bytes;
			const char *key;
			size_t klen;
			(void)wh_arg_string(&items[i], &key, &klen);
			wh_val_string(&t[0], key, klen);
			if (got[i].found) {
				wh_val_bytes(&bytes, got[i].val, got[i].vlen);
				wh_val_option(&t[1], &bytes);
			} else {
				wh_val_option(&t[1], NULL);
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		free(got[i].val);
	free(got);
	if (r < 0)
		return fail(&results[0], "other", err.message);
	wh_val_result(&results[0], true, &v);
	return NULL;
}

/* set-many(bucket, list<tuple<string, list<u8>>>), in order; stops at the
 * first failure (what was set before it stays). */
static wasmtime_error_t *set_many(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *args,
                                  size_t nargs, wasmtime_component_val_t *results, size_t nresults)
{
	struct sk_error err = {0};
	const wasmtime_component_val_t *items;
	struct wh_kvdb_store *s;
	size_t n;
	int r = 0;
	wasmtime_error_t *e = arity("set-many", nargs, 2, nresults);

	if (e)
		return e;
	if (!(s = bucket_of(ctx, cx, &args[0])))
		return wh_trap("wasi:keyvalue set-many: not an open bucket");
	if (batch_list(&args[1], &items, &n, err.message, sizeof(err.message)) < 0)
		return fail(&results[0], "other", err.message);
	for (size_t i = 0; i < n && r == 0; i++) {
		const wasmtime_component_val_t *t = &items[i];
		const char *key;
		uint8_t *val = NULL;
		size_t klen, vlen = 0;

		if (t->kind != WASMTIME_COMPONENT_TUPLE || t->of.tuple.size != 2)
			return wh_trap("wasi:keyvalue set-many: an item is not a tuple<string, list<u8>>");
		if ((r = key_arg(&t->of.tuple.data[0], &key, &klen, err.message, sizeof(err.message))) < 0)
			break;
		if ((r = wh_arg_bytes(&t->of.tuple.data[1], WH_KV_VALUE_MAX, &val, &vlen)) < 0) {
			(void)sk_err(
			    &err, r,
			    "key-value store \"%s\": set-many: value %zu is not a list<u8> of at most %zu "
			    "bytes",
			    wh_kvdb_store_label(s), i, WH_KV_VALUE_MAX);
			break;
		}
		r = wh_kvdb_set(s, key, klen, val, vlen, &err);
		free(val);
	}
	if (r < 0)
		return fail(&results[0], "other", err.message);
	wh_val_ok(&results[0]);
	return NULL;
}

static wasmtime_error_t *delete_many(struct wh_ctx *ctx, wasmtime_context_t *cx,
                                     wasmtime_component_val_t *args, size_t nargs,
                                     wasmtime_component_val_t *results, size_t nresults)
{
	struct sk_error err = {0};
	const wasmtime_component_val_t *items;
	struct wh_kvdb_store *s;
	size_t n;
	int r = 0;
	wasmtime_error_t *e = arity("delete-many", nargs, 2, nresults);

	if (e)
		return e;
	if (!(s = bucket_of(ctx, cx, &args[0])))
		return wh_trap("wasi:keyvalue delete-many: not an open bucket");
	if (batch_list(&args[1], &items, &n, err.message, sizeof(err.message)) < 0)
		return fail(&results[0], "other", err.message);
	for (size_t i = 0; i < n && r == 0; i++) {
		const char *key;
		size_t klen;
		if ((r = key_arg(&items[i], &key, &klen, err.message, sizeof(err.message))) == 0)
			r = wh_kvdb_delete(s, key, klen, &err);
	}
	if (r < 0)
		return fail(&results[0], "other", err.message);
	wh_val_ok(&results[0]);
	return NULL;
}

/* --- the interface table ------------------------------------------------------------------ */

static const struct wh_resource_def store_resources[] = {
    {"bucket", WH_KV_BUCKET},
};

static const struct wh_func_def store_funcs[] = {
    {"open", kv_open},
    {"[method]bucket.get", bucket_get},
    {"[method]bucket.set", bucket_set},
    {"[method]bucket.delete", bucket_delete},
    {"[method]bucket.exists", bucket_exists},
    {"[method]bucket.list-keys", bucket_list_keys},
};

static const struct wh_resource_def atomics_resources[] = {
    {"cas", WH_KV_CAS},
};

static const struct wh_func_def atomics_funcs[] = {
    {"[static]cas.new", cas_new},
    {"[method]cas.current", cas_current},
    {"increment", increment},
    {"swap", swap},
};

static const struct wh_func_def batch_funcs[] = {
    {"get-many", get_many},
    {"set-many", set_many},
    {"delete-many", delete_many},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

const struct wh_iface_def wh_keyvalue_ifaces[] = {
    {"wasi:keyvalue/store@0.2.0-draft2", store_resources, N(store_resources), store_funcs, N(store_funcs)},
    {"wasi:keyvalue/atomics@0.2.0-draft2", atomics_resources, N(atomics_resources), atomics_funcs,
     N(atomics_funcs)},
    {"wasi:keyvalue/batch@0.2.0-draft2", NULL, 0, batch_funcs, N(batch_funcs)},
};
const size_t wh_n_keyvalue_ifaces = N(wh_keyvalue_ifaces);
