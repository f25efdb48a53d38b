/* The Redis backend of Spin's key-value interface (see kv-redis.h). */
#include "shim-bridge/wasi/kv-redis.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "shim-bridge/wasi/redis-conn.h"

/* get-keys: keys asked for per SCAN round, and the most rounds (SCAN may
 * answer empty rounds; a keyspace within WH_KV_KEYS_MAX ends far sooner). */
#define SCAN_COUNT      "1000"
#define SCAN_ROUNDS_MAX 100000

struct wh_kvredis {
	char *label;
	char *shown; /* redis://host:port/db */
	struct wh_redis_pool *pool;
};

void wh_kvredis_free(struct wh_kvredis *s)
{
	if (!s)
		return;
	wh_redis_pool_free(s->pool);
	free(s->label);
	free(s->shown);
	free(s);
}

int wh_kvredis_new(const char *label, const char *url, const char *ca_file, struct wh_kvredis **out,
                   struct sk_error *err)
{
	struct wh_redis_url u = {0};
	struct wh_kvredis *s;
	char what[256];
	int r;

	if ((r = wh_redis_url_parse(url, &u, err)) < 0)
		return sk_err_prefix(err, "[key_value_store.%s]", label);
	if (!(s = calloc(1, sizeof(*s))) || !(s->label = strdup(label)) ||
	    asprintf(&s->shown, "%s://%s%s%s:%d/%d", u.tls ? "rediss" : "redis", strchr(u.host, ':') ? "[" : "", u.host,
	             strchr(u.host, ':') ? "]" : "", u.port, u.db) < 0) {
		if (s)
			s->shown = NULL;
		wh_kvredis_free(s);
		wh_redis_url_clear(&u);
		return sk_err(err, -ENOMEM, "out of memory");
	}
	(void)snprintf(what, sizeof(what), "key-value store \"%.64s\" (%.160s)", label, s->shown);
	r = wh_redis_pool_new(&u, what, ca_file, &s->pool, err);
	wh_redis_url_clear(&u);
	if (r < 0) {
		wh_kvredis_free(s);
		return r;
	}
	*out = s;
	return 0;
}

const char *wh_kvredis_url(const struct wh_kvredis *s)
{
	return s->shown;
}

static int key_cap(struct wh_kvredis *s, size_t klen, struct sk_error *err)
{
	if (klen > WH_KV_KEY_MAX)
		return sk_err(err, -E2BIG, "key-value store \"%s\": key of %zu bytes is longer than %zu",
		              s->label, klen, WH_KV_KEY_MAX);
	return 0;
}

/* An error reply (or one of an unexpected type) as an error. */
static int bad_reply(struct wh_kvredis *s, const redisReply *r, const char *op, struct sk_error *err)
{
	if (r->type == REDIS_REPLY_ERROR)
		return sk_err(err, strncmp(r->str, "WRONGTYPE", 9) == 0 ? -EPROTO : -EIO,
		              "key-value store \"%s\" (%s): %s: %.200s", s->label, s->shown, op, r->str);
	return sk_err(err, -EPROTO, "key-value store \"%s\" (%s): %s: unexpected reply of type %d", s->label,
	              s->shown, op, r->type);
}

/* One command whose reply must be of type want (or, for want
 * REDIS_REPLY_STATUS, any non-error). On success *out is the reply. */
static int command(struct wh_kvredis *s, const char *op, int argc, const char **argv, const size_t *len,
                   int want, redisReply **out, struct sk_error *err)
{
	redisReply *reply = NULL;
	int r;

	if ((r = wh_redis_command(s->pool, argc, argv, len, &reply, err)) < 0)
		return r;
	if (reply->type != want && !(want == REDIS_REPLY_STATUS && reply->type != REDIS_REPLY_ERROR)) {
		r = bad_reply(s, reply, op, err);
		freeReplyObject(reply);
		return r;
	}
	*out = reply;
	return 0;
}

/* MULTI / EXISTS / GETRANGE 0 cap / EXEC: whether the key exists and at
 * most one byte past the cap of its value, atomically, in one round trip. */
int wh_kvredis_get(struct wh_kvredis *s, const char *key, size_t klen, uint8_t **val, size_t *vlen,
                   struct sk_error *err)
{
	static const char end_s[] = "1048576"; /* WH_KV_VALUE_MAX: one byte past the cap, inclusive end */
	const char *multi[] = {"MULTI"}, *exists[] = {"EXISTS", key},
	           *range[] = {"GETRANGE", key, "0", end_s}, *exec[] = {"EXEC"};
	const size_t multi_l[] = {5}, exists_l[] = {6, klen}, range_l[] = {8, klen, 1, sizeof(end_s) - 1},
	             exec_l[] = {4};
	const char **argv[] = {multi, exists, range, exec};
	const size_t *const lens[] = {multi_l, exists_l, range_l, exec_l};
	const int argc[] = {1, 2, 4, 1};
	redisReply *rep[4] = {0}, *res, *ex, *v;
	int r;

	_Static_assert(WH_KV_VALUE_MAX == 1048576, "end_s is WH_KV_VALUE_MAX");
	if ((r = key_cap(s, klen, err)) < 0)
		return r;
	if ((r = wh_redis_pipeline(s->pool, 4, argc, argv, lens, rep, err)) < 0)
		return r;
	res = rep[3];
	if (res->type != REDIS_REPLY_ARRAY || res->elements != 2) {
		redisReply *first_bad = res;
		for (size_t i = 0; i < 3; i++)
			if (rep[i]->type == REDIS_REPLY_ERROR)
				first_bad = rep[i];
		r = bad_reply(s, first_bad, "get", err);
		goto out;
	}
	ex = res->element[0];
	v = res->element[1];
	if (ex->type != REDIS_REPLY_INTEGER) {
		r = bad_reply(s, ex, "get", err);
		goto out;
	}
	if (ex->integer == 0) {
		r = -ENOENT;
		goto out;
	}
	if (v->type != REDIS_REPLY_STRING) {
		r = bad_reply(s, v, "get", err);
		goto out;
	}
	if (v->len > WH_KV_VALUE_MAX) {
		r = sk_err(
		    err, -E2BIG,
		    "key-value store \"%s\": the value is more than spin-bridge hands over (%zu bytes)",
		    s->label, WH_KV_VALUE_MAX);
		goto out;
	}
	*val = NULL;
	if (v->len && !(*val = malloc(v->len))) {
		r = sk_err(err, -ENOMEM, "key-value store \"%s\": out of memory", s->label);
		goto out;
	}
	if (v->len)
		memcpy(*val, v->str, v->len);
	*vlen = v->len;
	r = 0;
out:
	for (size_t i = 0; i < 4; i++)
		freeReplyObject(rep[i]);
	return r;
}

int wh_kvredis_set(struct wh_kvredis *s, const char *key, size_t klen, const uint8_t *val, size_t vlen,
                   struct sk_error *err)
{
	const char *argv[] = {"SET", key, vlen ? (const char *)val : ""};
	const size_t len[] = {3, klen, vlen};
	redisReply *reply = NULL;
	int r;

	if ((r = key_cap(s, klen, err)) < 0)
		return r;
	if (vlen > WH_KV_VALUE_MAX)
		return sk_err(err, -E2BIG, "key-value store \"%s\": value of %zu bytes is larger than %zu",
		              s->label, vlen, WH_KV_VALUE_MAX);
	if ((r = command(s, "set", 3, argv, len, REDIS_REPLY_STATUS, &reply, err)) < 0)
		return r;
	freeReplyObject(reply);
	return 0;
}

int wh_kvredis_delete(struct wh_kvredis *s, const char *key, size_t klen, struct sk_error *err)
{
	const char *argv[] = {"DEL", key};
	const size_t len[] = {3, klen};
	redisReply *reply = NULL;
	int r;

	if ((r = key_cap(s, klen, err)) < 0)
		return r;
	if ((r = command(s, "delete", 2, argv, len, REDIS_REPLY_INTEGER, &reply, err)) < 0)
		return r;
	freeReplyObject(reply);
	return 0;
}

int wh_kvredis_exists(struct wh_kvredis *s, const char *key, size_t klen, bool *out, struct sk_error *err)
{
	const char *argv[] = {"EXISTS", key};
	const size_t len[] = {6, klen};
	redisReply *reply = NULL;
	int r;

	if ((r = key_cap(s, klen, err)) < 0)
		return r;
	if ((r = command(s, "exists", 2, argv, len, REDIS_REPLY_INTEGER, &reply, err)) < 0)
		return r;
	*out = reply->integer > 0;
	freeReplyObject(reply);
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	const struct wh_kvdb_key *x = a, *y = b;
	size_t n = x->n < y->n ? x->n : y->n;
	int c = memcmp(x->s, y->s, n);

	return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* Append the keys of one SCAN answer to *keys; -E2BIG past the cap. */
static int add_keys(struct wh_kvredis *s, const redisReply *batch, struct wh_kvdb_key **keys, size_t *count,
                    size_t *cap, size_t *total, struct sk_error *err)
{
	for (size_t i = 0; i < batch->elements; i++) {
		const redisReply *k = batch->element[i];

		if (k->type != REDIS_REPLY_STRING)
			return bad_reply(s, k, "get-keys", err);
		*total += k->len + 64; /* as kv-sqlite.c counts: a host value and the guest's string */
		if (*total > WH_KV_KEYS_MAX)
			return sk_err(
			    err, -E2BIG,
			    "key-value store \"%s\": its keys add up to more than get-keys hands over "
			    "(%zu bytes)",
			    s->label, WH_KV_KEYS_MAX);
		if (!sk_utf8_valid(k->str, k->len))
			return sk_err(err, -EILSEQ, "key-value store \"%s\" (%s): a key is not valid UTF-8",
			              s->label, s->shown);
		if (*count == *cap) {
			size_t ncap = *cap ? *cap * 2 : 16;
			struct wh_kvdb_key *nk = realloc(*keys, ncap * sizeof(*nk));
			if (!nk)
				return sk_err(err, -ENOMEM, "key-value store \"%s\": out of memory",
				              s->label);
			*keys = nk;
			*cap = ncap;
		}
		if (!((*keys)[*count].s = malloc(k->len + 1)))
			return sk_err(err, -ENOMEM, "key-value store \"%s\": out of memory", s->label);
		memcpy((*keys)[*count].s, k->str, k->len);
		(*keys)[*count].s[k->len] = '\0';
		(*keys)[*count].n = k->len;
		(*count)++;
	}
	return 0;
}

/* SCAN until the cursor comes back to 0; SCAN may name a key twice, so
 * the keys are sorted and made unique. */
int wh_kvredis_keys(struct wh_kvredis *s, struct wh_kvdb_key **out, size_t *n, struct sk_error *err)
{
	struct wh_kvdb_key *keys = NULL;
	size_t count = 0, cap = 0, total = 0, uniq = 0;
	char cursor[32] = "0";
	int r = 0, rounds = 0;

	do {
		const char *argv[] = {"SCAN", cursor, "COUNT", SCAN_COUNT};
		const size_t len[] = {4, strlen(cursor), 5, sizeof(SCAN_COUNT) - 1};
		redisReply *reply = NULL;

		if (++rounds > SCAN_ROUNDS_MAX) {
			r = sk_err(err, -E2BIG,
			           "key-value store \"%s\" (%s): get-keys: SCAN did not end in %d rounds",
			           s->label, s->shown, SCAN_ROUNDS_MAX);
			break;
		}
		if ((r = command(s, "get-keys", 4, argv, len, REDIS_REPLY_ARRAY, &reply, err)) < 0)
			break;
		if (reply->elements != 2 || reply->element[0]->type != REDIS_REPLY_STRING ||
		    reply->element[0]->len >= sizeof(cursor) ||
		    reply->element[1]->type != REDIS_REPLY_ARRAY) {
			r = bad_reply(s, reply, "get-keys", err);
		} else {
			memcpy(cursor, reply->element[0]->str, reply->element[0]->len);
			cursor[reply->element[0]->len] = '\0';
			r = add_keys(s, reply->element[1], &keys, &count, &cap, &total, err);
		}
		freeReplyObject(reply);
	} while (r == 0 && strcmp(cursor, "0") != 0);
	if (r < 0) {
		wh_kvdb_keys_free(keys, count);
		return r;
	}
	if (count > 1) {
		qsort(keys, count, sizeof(*keys), cmp_key);
		for (size_t i = 0; i < count; i++) {
			if (uniq && cmp_key(&keys[uniq - 1], &keys[i]) == 0) {
				free(keys[i].s);
				continue;
			}
			keys[uniq++] = keys[i];
		}
		count = uniq;
	}
	*out = keys;
	*n = count;
	return 0;
}

int wh_kvredis_increment(struct wh_kvredis *s, const char *key, size_t klen, int64_t delta, int64_t *out,
                         struct sk_error *err)
{
	char d[24];
	const char *argv[] = {"INCRBY", key, d};
	size_t len[] = {6, klen, 0};
	redisReply *reply = NULL;
	int r;

	if ((r = key_cap(s, klen, err)) < 0)
		return r;
	len[2] = (size_t)snprintf(d, sizeof(d), "%lld", (long long)delta);
	if ((r = wh_redis_command(s->pool, 3, argv, len, &reply, err)) < 0)
		return r;
	if (reply->type == REDIS_REPLY_INTEGER) {
		*out = (int64_t)reply->integer;
		r = 0;
	} else if (reply->type == REDIS_REPLY_ERROR && strstr(reply->str, "not an integer")) {
		r = sk_err(err, -EINVAL,
		           "key-value store \"%s\": increment: the value is not a decimal 64-bit integer",
		           s->label);
	} else if (reply->type == REDIS_REPLY_ERROR && strstr(reply->str, "overflow")) {
		r = sk_err(err, -ERANGE,
		           "key-value store \"%s\": increment: the sum overflows a 64-bit integer", s->label);
	} else {
		r = bad_reply(s, reply, "increment", err);
	}
	freeReplyObject(reply);
	return r;
}

/* Compare and set in the server: ARGV[1] "1" when the key existed, ARGV[2]
 * the value seen, ARGV[3] the new one. GET of a missing key is false in
 * Lua. 1 swapped, 0 changed meanwhile. */
static const char swap_lua[] = "local v = redis.call('GET', KEYS[1]) "
                               "if ARGV[1] == '1' then if v ~= ARGV[2] then return 0 end "
                               "elseif v then return 0 end "
                               "redis.call('SET', KEYS[1], ARGV[3]) return 1";

int wh_kvredis_swap(struct wh_kvredis *s, const char *key, size_t klen, bool had, const uint8_t *expect,
                    size_t elen, const uint8_t *val, size_t vlen, struct sk_error *err)
{
	const char *argv[] = {"EVAL",
	                      swap_lua,
	                      "1",
	                      key,
	                      had ? "1" : "0",
	                      elen ? (const char *)expect : "",
	                      vlen ? (const char *)val : ""};
	const size_t len[] = {4, sizeof(swap_lua) - 1, 1, klen, 1, elen, vlen};
	redisReply *reply = NULL;
	int r;

	if ((r = key_cap(s, klen, err)) < 0)
		return r;
	if (vlen > WH_KV_VALUE_MAX)
		return sk_err(err, -E2BIG, "key-value store \"%s\": value of %zu bytes is larger than %zu",
		              s->label, vlen, WH_KV_VALUE_MAX);
	if ((r = command(s, "swap", 7, argv, len, REDIS_REPLY_INTEGER, &reply, err)) < 0)
		return r;
	r = reply->integer == 1 ? 0 : -ESTALE;
	freeReplyObject(reply);
	return r;
}
