/* The key-value stores behind Spin's key-value interface
 * (shim-bridge/wasi/spin.c), built from the stores the runtime config
 * (shim-bridge/app/runtime-config.h) defines: SQLite (type "spin", here) or
 * Redis (type "redis", kv-redis.h, behind the same functions).
 *
 * One struct wh_kvdb per app, shared by every component and worker
 * thread. Each labelled SQLite store is one SQLite connection
 * behind a mutex, opened on first use, in Spin's own file format: table
 * spin_key_value(store TEXT, key TEXT, value BLOB, PRIMARY KEY(store, key)),
 * the label in the store column. Store "default" is always defined: unless
 * the runtime config defines it, it lives at <state dir>/sqlite_key_value.db,
 * or in memory when there is no state dir. */
#ifndef SPINKUBE_WASI_KV_SQLITE_H
#define SPINKUBE_WASI_KV_SQLITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "shim-bridge/app/runtime-config.h"

/* The default store: its file in the state folder, and its label. */
#define WH_KV_DEFAULT_FILE  "sqlite_key_value.db"
#define WH_KV_DEFAULT_LABEL "default"

/* Caps on what a guest may store or fetch in one call. A value crosses
 * wasmtime's C API as one 32-byte value per byte, so a value is capped at
 * the host's list<u8> limit (WH_CHUNK_MAX, 1 MiB: 32 MiB on the host side). */
#define WH_KV_KEY_MAX   ((size_t)64 * 1024)        /* bytes of one key */
#define WH_KV_VALUE_MAX ((size_t)1024 * 1024)      /* bytes of one value */
#define WH_KV_KEYS_MAX  ((size_t)32 * 1024 * 1024) /* get-keys: key bytes + 64 per key */

struct wh_kvdb;
struct wh_kvdb_store;

struct wh_kvdb_key {
	char *s; /* not NUL-free: keys are strings that may hold U+0000 */
	size_t n;
};

/* The app's stores: every [key_value_store.*] of rc (may be NULL) plus the
 * default store at <state_dir>/sqlite_key_value.db (in memory when
 * state_dir is NULL) unless rc defines "default". Nothing is opened yet;
 * a Redis store's URL is checked (-EINVAL or -ENOTSUP naming the store),
 * and rediss:// verifies against ca_file (NULL: OpenSSL's defaults).
 * On success *out is new (free with wh_kvdb_free once no request uses it). */
int wh_kvdb_new(const struct app_runtime_config *rc, const char *state_dir, const char *ca_file,
                struct wh_kvdb **out, struct sk_error *err);

/* Close every connection. NULL is fine. */
void wh_kvdb_free(struct wh_kvdb *db);

/* Check at start that every label a component lists in key_value_stores is
 * defined, and open those SQLite stores (a Redis store connects on first
 * use) (creating folders and files), so that a
 * missing store or an unwritable folder is a start-up error naming the
 * component, the label, the file and the fix. */
int wh_kvdb_check_component(struct wh_kvdb *db, const char *component_id, const char *const *labels,
                              size_t n, struct sk_error *err);

/* The store with this label (label[0..len)), borrowed from db; NULL when
 * none is defined. */
struct wh_kvdb_store *wh_kvdb_find(struct wh_kvdb *db, const char *label, size_t len);

/* The store's label, its file (NULL: in memory or Redis) and its Redis
 * URL without the password (NULL: SQLite); borrowed. */
const char *wh_kvdb_store_label(const struct wh_kvdb_store *s);
const char *wh_kvdb_store_path(const struct wh_kvdb_store *s);
const char *wh_kvdb_store_url(const struct wh_kvdb_store *s);

/* Store operations; safe from several threads at once. Keys are
 * key[0..klen), at most WH_KV_KEY_MAX bytes; values at most
 * WH_KV_VALUE_MAX. Failures return a negative errno with a one-line
 * message in err naming the store (-E2BIG over a cap, -EIO from SQLite;
 * kv-redis.h lists Redis's).
 *
 * get: 0 with *val (malloc'd, NULL when the value is empty; caller frees)
 * and *vlen, or -ENOENT when the key does not exist. */
int wh_kvdb_get(struct wh_kvdb_store *s, const char *key, size_t klen, uint8_t **val, size_t *vlen,
                  struct sk_error *err);
int wh_kvdb_set(struct wh_kvdb_store *s, const char *key, size_t klen, const uint8_t *val, size_t vlen,
                  struct sk_error *err);
/* No error when the key did not exist. */
int wh_kvdb_delete(struct wh_kvdb_store *s, const char *key, size_t klen, struct sk_error *err);
int wh_kvdb_exists(struct wh_kvdb_store *s, const char *key, size_t klen, bool *out,
                     struct sk_error *err);
/* Every key of the store, in no particular order: *out is new (free with
 * wh_kvdb_keys_free), NULL when there are none. -E2BIG past
 * WH_KV_KEYS_MAX bytes in all. */
int wh_kvdb_keys(struct wh_kvdb_store *s, struct wh_kvdb_key **out, size_t *n, struct sk_error *err);
void wh_kvdb_keys_free(struct wh_kvdb_key *keys, size_t n);

/* The atomics of wasi:keyvalue. A counter is the value's decimal text on
 * both backends (Redis's INCRBY format), so it reads the same through get.
 *
 * increment: the key's value as a decimal 64-bit integer (0 when the key
 * does not exist) plus delta, written back; *out the new value. -EINVAL
 * when the value is not such an integer, -ERANGE when the sum overflows. */
int wh_kvdb_increment(struct wh_kvdb_store *s, const char *key, size_t klen, int64_t delta, int64_t *out,
                      struct sk_error *err);
/* swap: set the key to val[0..vlen) only if its value is still what a
 * read saw: had (whether the key existed) and expect[0..elen). 0 when
 * swapped, -ESTALE (no message) when the value changed meanwhile. */
int wh_kvdb_swap(struct wh_kvdb_store *s, const char *key, size_t klen, bool had, const uint8_t *expect,
                 size_t elen, const uint8_t *val, size_t vlen, struct sk_error *err);

#endif
