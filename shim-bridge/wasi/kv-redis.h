/* The Redis backend of Spin's key-value interface: a store of
 * [key_value_store.<label>] type = "redis", url = "redis://...", served
 * through kv-sqlite.h's functions (struct wh_kvdb dispatches on the
 * store's type). As in Spin, the store is the whole Redis database the URL
 * names: keys are Redis keys, unprefixed, values Redis strings. One
 * bounded connection pool per store (redis-conn.h), made on first use, so
 * a server that is down is an error value to the request, not a start-up
 * failure. The caps of kv-sqlite.h hold: a value longer than
 * WH_KV_VALUE_MAX is never read whole (GETRANGE reads one byte past the
 * cap), and get-keys stops at WH_KV_KEYS_MAX bytes. */
#ifndef SPINKUBE_WASI_KV_REDIS_H
#define SPINKUBE_WASI_KV_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "shim-bridge/wasi/kv-sqlite.h"

struct wh_kvredis;

/* A store named label on url: the URL is checked here (a bad URL is an
 * error naming the store and the fix); rediss:// verifies the server
 * against ca_file (NULL: OpenSSL's defaults). Nothing connects yet.
 * *out is new (free with wh_kvredis_free). */
int wh_kvredis_new(const char *label, const char *url, const char *ca_file, struct wh_kvredis **out,
                   struct sk_error *err);
void wh_kvredis_free(struct wh_kvredis *s);

/* The URL without its password, for messages; borrowed. */
const char *wh_kvredis_url(const struct wh_kvredis *s);

/* The operations of kv-sqlite.h (same arguments, ownership and caps), on
 * Redis: -ENOENT from get for a missing key; a value that is not a string
 * (WRONGTYPE) is -EPROTO; a server that cannot be reached -ECONNREFUSED,
 * -ETIMEDOUT or -EIO; every message names the store and the server. */
int wh_kvredis_get(struct wh_kvredis *s, const char *key, size_t klen, uint8_t **val, size_t *vlen,
                   struct sk_error *err);
int wh_kvredis_set(struct wh_kvredis *s, const char *key, size_t klen, const uint8_t *val, size_t vlen,
                   struct sk_error *err);
int wh_kvredis_delete(struct wh_kvredis *s, const char *key, size_t klen, struct sk_error *err);
int wh_kvredis_exists(struct wh_kvredis *s, const char *key, size_t klen, bool *out, struct sk_error *err);
int wh_kvredis_keys(struct wh_kvredis *s, struct wh_kvdb_key **out, size_t *n, struct sk_error *err);
/* INCRBY; a compare-and-set in one EVAL (the script compares the value). */
int wh_kvredis_increment(struct wh_kvredis *s, const char *key, size_t klen, int64_t delta, int64_t *out,
                         struct sk_error *err);
int wh_kvredis_swap(struct wh_kvredis *s, const char *key, size_t klen, bool had, const uint8_t *expect,
                    size_t elen, const uint8_t *val, size_t vlen, struct sk_error *err);

#endif
