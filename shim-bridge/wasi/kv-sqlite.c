/* The stores of Spin's key-value interface (see kv-sqlite.h): SQLite, one
 * connection per labelled store, opened on first use, in Spin's own table
 * layout; or Redis, handed to kv-redis.c. */
#include "shim-bridge/wasi/kv-sqlite.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/utf8.h"
#include "shim-bridge/wasi/kv-redis.h"

/* How long a store operation waits for another connection's lock on the
 * same file before it fails with "database is locked". */
#define KV_BUSY_TIMEOUT_MS 5000

/* --- key-value backend ------------------------------------------------------------------ */

enum { ST_GET, ST_SET, ST_DEL, ST_EXISTS, ST_KEYS, ST_COUNT };

static const char *const stmt_sql[ST_COUNT] = {
    [ST_GET] = "SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2",
    [ST_SET] = ("INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3) "
                "ON CONFLICT(store, key) DO UPDATE SET value = excluded.value"),
    [ST_DEL] = "DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2",
    [ST_EXISTS] = "SELECT 1 FROM spin_key_value WHERE store = ?1 AND key = ?2",
    [ST_KEYS] = "SELECT key FROM spin_key_value WHERE store = ?1",
};

/* Spin's table, so a file written by Spin serves here and back. */
static const char create_sql[] = "CREATE TABLE IF NOT EXISTS spin_key_value ("
                                 "store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, "
                                 "PRIMARY KEY (store, key))";

struct wh_kvdb_store {
	char *label;
	char *path; /* NULL: in memory (or Redis) */
	struct wh_kvredis *redis; /* type "redis": every operation goes there */
	pthread_mutex_t mu;
	bool mu_ok;
	sqlite3 *db; /* opened on first use, under mu */
	sqlite3_stmt *st[ST_COUNT];
};

struct wh_kvdb {
	struct wh_kvdb_store *stores; /* never moves: stores are handed out by pointer */
	size_t n;
};

static void store_close(struct wh_kvdb_store *s)
{
	for (size_t i = 0; i < ST_COUNT; i++) {
		sqlite3_finalize(s->st[i]);
		s->st[i] = NULL;
	}
	if (s->db)
		sqlite3_close(s->db);
	s->db = NULL;
}

void wh_kvdb_free(struct wh_kvdb *db)
{
	if (!db)
		return;
	for (size_t i = 0; i < db->n; i++) {
		struct wh_kvdb_store *s = &db->stores[i];
		store_close(s);
		wh_kvredis_free(s->redis);
		if (s->mu_ok)
			pthread_mutex_destroy(&s->mu);
		free(s->label);
		free(s->path);
	}
	free(db->stores);
	free(db);
}

static inline void kvdb_freep(struct wh_kvdb **db)
{
	wh_kvdb_free(*db);
}

/* Add a store: SQLite at path (NULL: in memory), or Redis at url. */
static int add_store(struct wh_kvdb *db, size_t cap, const char *label, const char *path, const char *url,
                     const char *ca_file, struct sk_error *err)
{
	struct wh_kvdb_store *s = &db->stores[db->n];
	int r;

	if (db->n >= cap)
		return sk_err(err, -E2BIG, "key-value stores: too many");
	db->n++;
	if (!(s->label = strdup(label)) || (path && !(s->path = strdup(path))))
		return sk_err(err, -ENOMEM, "key-value stores: out of memory");
	if (url && (r = wh_kvredis_new(label, url, ca_file, &s->redis, err)) < 0)
		return r;
	if (pthread_mutex_init(&s->mu, NULL) != 0)
		return sk_err(err, -ENOMEM, "key-value stores: out of memory");
	s->mu_ok = true;
	return 0;
}

int wh_kvdb_new(const struct app_runtime_config *rc, const char *state_dir, const char *ca_file,
                struct wh_kvdb **out, struct sk_error *err)
{
	_cleanup_(kvdb_freep) struct wh_kvdb *db = calloc(1, sizeof(*db));
	_cleanup_free_ char *dflt = NULL;
	size_t n = rc ? rc->n_kv : 0;
	bool has_default = false;
	int r = 0;

	if (!db || !(db->stores = calloc(n + 1, sizeof(*db->stores))))
		return sk_err(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n && r == 0; i++) {
		if (strcmp(rc->kv[i].label, WH_KV_DEFAULT_LABEL) == 0)
			has_default = true;
		r = add_store(db, n + 1, rc->kv[i].label, rc->kv[i].path, rc->kv[i].url, ca_file, err);
	}
	if (r == 0 && !has_default) {
		if (state_dir && asprintf(&dflt, "%s/%s", strcmp(state_dir, "/") == 0 ? "" : state_dir,
		                          WH_KV_DEFAULT_FILE) < 0)
			return sk_err(err, -ENOMEM, "out of memory");
		r = add_store(db, n + 1, WH_KV_DEFAULT_LABEL, dflt, NULL, NULL, err);
	}
	if (r < 0)
		return r;
	*out = TAKE_PTR(db);
	return 0;
}

struct wh_kvdb_store *wh_kvdb_find(struct wh_kvdb *db, const char *label, size_t len)
{
	for (size_t i = 0; db && i < db->n; i++)
		if (strlen(db->stores[i].label) == len && memcmp(db->stores[i].label, label, len) == 0)
			return &db->stores[i];
	return NULL;
}

const char *wh_kvdb_store_label(const struct wh_kvdb_store *s)
{
	return s->label;
}

const char *wh_kvdb_store_path(const struct wh_kvdb_store *s)
{
	return s->path;
}

const char *wh_kvdb_store_url(const struct wh_kvdb_store *s)
{
	return s->redis ? wh_kvredis_url(s->redis) : NULL;
}

/* mkdir -p of path's folder, as Spin creates a store's parent folder. */
static int make_parents(const char *path, char *failed, size_t failed_size)
{
	_cleanup_free_ char *p = strdup(path);
	char *slash;

	if (!p)
		return -ENOMEM;
	slash = strrchr(p, '/');
	if (!slash || slash == p)
		return 0;
	*slash = '\0';
	for (char *q = p + 1;; q++) {
		bool last = *q == '\0';
		if (*q != '/' && !last)
			continue;
		*q = '\0';
		if (mkdir(p, 0777) < 0 && errno != EEXIST) {
			int e = errno;
			struct stat st;

			/* an existing folder on a read-only parent is fine */
			if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode)) {
				(void)snprintf(failed, failed_size, "%s", p);
				return -e;
			}
		}
		if (last)
			break;
		*q = '/';
	}
	return 0;
}

static int sqlite_fail(struct wh_kvdb_store *s, struct sk_error *err, int rc, const char *what)
{
	int code = (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED     ? -EBUSY
	           : (rc & 0xff) == SQLITE_NOMEM                                  ? -ENOMEM
	           : (rc & 0xff) == SQLITE_FULL                                   ? -ENOSPC
	           : (rc & 0xff) == SQLITE_READONLY || (rc & 0xff) == SQLITE_PERM ? -EACCES
	                                                                          : -EIO;
	return sk_err(err, code, "key-value store \"%s\" (%s): %s: %s", s->label,
	              s->path ? s->path : "in memory", what,
	              s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
}

/* Open the store's connection if it is not open yet. Caller holds s->mu. */
static int store_open_locked(struct wh_kvdb_store *s, struct sk_error *err)
{
	char failed[PATH_MAX] = "";
	int r;

	if (s->db)
		return 0;
	if (s->path && (r = make_parents(s->path, failed, sizeof(failed))) < 0)
		return sk_err(err, r,
		              "key-value store \"%s\" (%s): cannot create folder %s: %s (set --state-dir or "
		              "state_dir in the runtime config to a writable folder)",
		              s->label, s->path, failed, strerror(-r));
	r = sqlite3_open_v2(s->path ? s->path : ":memory:", &s->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (r != SQLITE_OK) {
		r = sqlite_fail(s, err, r, "cannot open the database");
		store_close(s);
		return r;
	}
	sqlite3_busy_timeout(s->db, KV_BUSY_TIMEOUT_MS);
	if ((r = sqlite3_exec(s->db, create_sql, NULL, NULL, NULL)) != SQLITE_OK) {
		r = sqlite_fail(s, err, r, "cannot create table spin_key_value");
		store_close(s);
		return r;
	}
	for (size_t i = 0; i < ST_COUNT; i++)
		if ((r = sqlite3_prepare_v2(s->db, stmt_sql[i], -1, &s->st[i], NULL)) != SQLITE_OK) {
			r = sqlite_fail(s, err, r, "table spin_key_value is not Spin's key-value table");
			store_close(s);
			return r;
		}
	return 0;
}

int wh_kvdb_check_component(struct wh_kvdb *db, const char *component_id, const char *const *labels,
                              size_t n, struct sk_error *err)
{
	for (size_t i = 0; i < n; i++) {
		struct wh_kvdb_store *s = wh_kvdb_find(db, labels[i], strlen(labels[i]));
		int r;

		if (!s)
			return sk_err(err, -ENOENT,
			              "component \"%s\": key_value_stores names \"%s\", which is not "
			              "defined: add [key_value_store.%s] with type = \"spin\" to the "
			              "runtime config file (--runtime-config-file), or use \"default\"",
			              component_id, labels[i], labels[i]);
		if (s->redis) /* connects on first use: a server down is the request's error */
			continue;
		pthread_mutex_lock(&s->mu);
		r = store_open_locked(s, err);
		pthread_mutex_unlock(&s->mu);
		if (r < 0)
			return sk_err_prefix(err, "component \"%s\"", component_id);
	}
	return 0;
}

/* Lock the store, open it if needed, and bind the label and key to stmt
 * (left reset and bound). On success the caller holds s->mu. */
static int begin(struct wh_kvdb_store *s, int which, const char *key, size_t klen, struct sk_error *err)
{
	sqlite3_stmt *st;
	int r;

	if (klen > WH_KV_KEY_MAX)
		return sk_err(err, -E2BIG, "key-value store \"%s\": key of %zu bytes is longer than %zu",
		              s->label, klen, WH_KV_KEY_MAX);
	pthread_mutex_lock(&s->mu);
	if ((r = store_open_locked(s, err)) < 0) {
		pthread_mutex_unlock(&s->mu);
		return r;
	}
	st = s->st[which];
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if ((r = sqlite3_bind_text(st, 1, s->label, -1, SQLITE_STATIC)) != SQLITE_OK ||
	    (key && (r = sqlite3_bind_text(st, 2, klen ? key : "", (int)klen, SQLITE_STATIC)) != SQLITE_OK)) {
		r = sqlite_fail(s, err, r, "bind");
		pthread_mutex_unlock(&s->mu);
		return r;
	}
	return 0;
}

/* Reset the statement (dropping its references to our buffers) and unlock. */
static int end(struct wh_kvdb_store *s, int which, int r)
{
	sqlite3_reset(s->st[which]);
	sqlite3_clear_bindings(s->st[which]);
	pthread_mutex_unlock(&s->mu);
	return r;
}

int wh_kvdb_get(struct wh_kvdb_store *s, const char *key, size_t klen, uint8_t **val, size_t *vlen,
                  struct sk_error *err)
{
	sqlite3_stmt *st;
	uint8_t *copy = NULL;
	size_t n;
	int r;

	if (s->redis)
		return wh_kvredis_get(s->redis, key, klen, val, vlen, err);
	if ((r = begin(s, ST_GET, key, klen, err)) < 0)
		return r;
	st = s->st[ST_GET];
	r = sqlite3_step(st);
	if (r == SQLITE_DONE)
		return end(s, ST_GET, -ENOENT);
	if (r != SQLITE_ROW)
		return end(s, ST_GET, sqlite_fail(s, err, r, "get"));
	n = (size_t)sqlite3_column_bytes(st, 0);
	if (n > WH_KV_VALUE_MAX)
		return end(s, ST_GET,
		           sk_err(err, -E2BIG,
		                  "key-value store \"%s\": the value is %zu bytes, more than "
		                  "spin-bridge hands over (%zu)",
		                  s->label, n, WH_KV_VALUE_MAX));
	if (n) {
		const void *p = sqlite3_column_blob(st, 0);
		if (!p || !(copy = malloc(n)))
			return end(s, ST_GET,
			           sk_err(err, -ENOMEM, "key-value store \"%s\": out of memory", s->label));
		memcpy(copy, p, n);
	}
	*val = copy;
	*vlen = n;
	return end(s, ST_GET, 0);
}

int wh_kvdb_set(struct wh_kvdb_store *s, const char *key, size_t klen, const uint8_t *val, size_t vlen,
                  struct sk_error *err)
{
	sqlite3_stmt *st;
	int r;

	if (s->redis)
		return wh_kvredis_set(s->redis, key, klen, val, vlen, err);
	if (vlen > WH_KV_VALUE_MAX)
		return sk_err(err, -E2BIG, "key-value store \"%s\": value of %zu bytes is larger than %zu",
		              s->label, vlen, WH_KV_VALUE_MAX);
	if ((r = begin(s, ST_SET, key, klen, err)) < 0)
		return r;
	st = s->st[ST_SET];
	/* value is NOT NULL: an empty value is a zero-length blob, not NULL */
	r = vlen ? sqlite3_bind_blob(st, 3, val, (int)vlen, SQLITE_STATIC) : sqlite3_bind_zeroblob(st, 3, 0);
	if (r != SQLITE_OK)
		return end(s, ST_SET, sqlite_fail(s, err, r, "bind"));
	r = sqlite3_step(st);
	return end(s, ST_SET, r == SQLITE_DONE ? 0 : sqlite_fail(s, err, r, "set"));
}

int wh_kvdb_delete(struct wh_kvdb_store *s, const char *key, size_t klen, struct sk_error *err)
{
	int r;

	if (s->redis)
		return wh_kvredis_delete(s->redis, key, klen, err);
	if ((r = begin(s, ST_DEL, key, klen, err)) < 0)
		return r;
	r = sqlite3_step(s->st[ST_DEL]);
	return end(s, ST_DEL, r == SQLITE_DONE ? 0 : sqlite_fail(s, err, r, "delete"));
}

int wh_kvdb_exists(struct wh_kvdb_store *s, const char *key, size_t klen, bool *out, struct sk_error *err)
{
	int r;

	if (s->redis)
		return wh_kvredis_exists(s->redis, key, klen, out, err);
	if ((r = begin(s, ST_EXISTS, key, klen, err)) < 0)
		return r;
	r = sqlite3_step(s->st[ST_EXISTS]);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return end(s, ST_EXISTS, sqlite_fail(s, err, r, "exists"));
	*out = r == SQLITE_ROW;
	return end(s, ST_EXISTS, 0);
}

void wh_kvdb_keys_free(struct wh_kvdb_key *keys, size_t n)
{
	for (size_t i = 0; keys && i < n; i++)
		free(keys[i].s);
	free(keys);
}

int wh_kvdb_keys(struct wh_kvdb_store *s, struct wh_kvdb_key **out, size_t *n, struct sk_error *err)
{
	struct wh_kvdb_key *keys = NULL;
	size_t count = 0, cap = 0, total = 0;
	sqlite3_stmt *st;
	int r;

	if (s->redis)
		return wh_kvredis_keys(s->redis, out, n, err);
	if ((r = begin(s, ST_KEYS, NULL, 0, err)) < 0)
		return r;
	st = s->st[ST_KEYS];
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *k = sqlite3_column_text(st, 0);
		size_t kl = (size_t)sqlite3_column_bytes(st, 0);

		if (!k && kl == 0)
			k = (const unsigned char *)"";
		total += kl + 64; /* a key costs a host value and the guest's string */
		if (total > WH_KV_KEYS_MAX) {
			r = sk_err(err, -E2BIG,
			           "key-value store \"%s\": its keys add up to more than get-keys "
			           "hands over (%zu bytes)",
			           s->label, WH_KV_KEYS_MAX);
			goto fail;
		}
		if (!k || !sk_utf8_valid(k, kl)) {
			r = sk_err(err, -EILSEQ,
			           "key-value store \"%s\": a key in the file is not valid UTF-8", s->label);
			goto fail;
		}
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct wh_kvdb_key *nk = realloc(keys, ncap * sizeof(*nk));
			if (!nk)
				goto nomem;
			keys = nk;
			cap = ncap;
		}
		if (!(keys[count].s = malloc(kl + 1)))
			goto nomem;
		memcpy(keys[count].s, k, kl);
		keys[count].s[kl] = '\0';
		keys[count].n = kl;
		count++;
	}
	if (r != SQLITE_DONE) {
		r = sqlite_fail(s, err, r, "get-keys");
		goto fail;
	}
	*out = keys;
	*n = count;
	return end(s, ST_KEYS, 0);
nomem:
	r = sk_err(err, -ENOMEM, "key-value store \"%s\": out of memory", s->label);
fail:
	wh_kvdb_keys_free(keys, count);
	return end(s, ST_KEYS, r);
}

/* --- atomics: one IMMEDIATE transaction each ----------------------------------------------- */

/* Run sql (BEGIN IMMEDIATE, COMMIT, ROLLBACK) on the open store. */
static int exec_locked(struct wh_kvdb_store *s, const char *sql, const char *what, struct sk_error *err)
{
	int r = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return r == SQLITE_OK ? 0 : sqlite_fail(s, err, r, what);
}

/* Bind label and key to statement which (reset first). Caller holds mu. */
static int bind_locked(struct wh_kvdb_store *s, int which, const char *key, size_t klen, struct sk_error *err)
{
	sqlite3_stmt *st = s->st[which];
	int r;

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if ((r = sqlite3_bind_text(st, 1, s->label, -1, SQLITE_STATIC)) != SQLITE_OK ||
	    (r = sqlite3_bind_text(st, 2, klen ? key : "", (int)klen, SQLITE_STATIC)) != SQLITE_OK)
		return sqlite_fail(s, err, r, "bind");
	return 0;
}

/* The key's value inside a transaction: *found, and the value borrowed
 * from the statement (valid until it is reset). */
static int read_locked(struct wh_kvdb_store *s, const char *key, size_t klen, bool *found, const void **val,
                       size_t *vlen, struct sk_error *err)
{
	sqlite3_stmt *st = s->st[ST_GET];
	int r;

	if ((r = bind_locked(s, ST_GET, key, klen, err)) < 0)
		return r;
	r = sqlite3_step(st);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return sqlite_fail(s, err, r, "get");
	*found = r == SQLITE_ROW;
	*vlen = *found ? (size_t)sqlite3_column_bytes(st, 0) : 0;
	*val = *found && *vlen ? sqlite3_column_blob(st, 0) : "";
	return 0;
}

static int write_locked(struct wh_kvdb_store *s, const char *key, size_t klen, const void *val, size_t vlen,
                        struct sk_error *err)
{
	sqlite3_stmt *st = s->st[ST_SET];
	int r;

	if ((r = bind_locked(s, ST_SET, key, klen, err)) < 0)
		return r;
	r = vlen ? sqlite3_bind_blob(st, 3, val, (int)vlen, SQLITE_STATIC) : sqlite3_bind_zeroblob(st, 3, 0);
	if (r != SQLITE_OK)
		return sqlite_fail(s, err, r, "bind");
	r = sqlite3_step(st);
	return r == SQLITE_DONE ? 0 : sqlite_fail(s, err, r, "set");
}

/* A decimal 64-bit integer in p[0..n): optional '-', then 1 to 19 digits. */
static int parse_counter(const void *p, size_t n, int64_t *out)
{
	const char *c = p;
	bool neg = n > 0 && c[0] == '-';
	uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;

	if (n == (size_t)neg || n - neg > 19)
		return -EINVAL;
	for (size_t i = neg; i < n; i++) {
		if (c[i] < '0' || c[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(c[i] - '0');
	}
	if (v > limit)
		return -EINVAL;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

int wh_kvdb_increment(struct wh_kvdb_store *s, const char *key, size_t klen, int64_t delta, int64_t *out,
                      struct sk_error *err)
{
	const void *val;
	size_t vlen;
	bool found;
	int64_t cur = 0, next;
	char text[24];
	int r, n;

	if (s->redis)
		return wh_kvredis_increment(s->redis, key, klen, delta, out, err);
	if (klen > WH_KV_KEY_MAX)
		return sk_err(err, -E2BIG, "key-value store \"%s\": key of %zu bytes is longer than %zu", s->label,
		              klen, WH_KV_KEY_MAX);
	pthread_mutex_lock(&s->mu);
	if ((r = store_open_locked(s, err)) < 0 || (r = exec_locked(s, "BEGIN IMMEDIATE", "increment", err)) < 0)
		goto out;
	if ((r = read_locked(s, key, klen, &found, &val, &vlen, err)) < 0)
		goto rollback;
	if (found && parse_counter(val, vlen, &cur) < 0) {
		r = sk_err(err, -EINVAL, "key-value store \"%s\": increment: the value is not a decimal 64-bit integer",
		           s->label);
		goto rollback;
	}
	if (__builtin_add_overflow(cur, delta, &next)) {
		r = sk_err(err, -ERANGE, "key-value store \"%s\": increment: %lld + %lld overflows a 64-bit integer",
		           s->label, (long long)cur, (long long)delta);
		goto rollback;
	}
	n = snprintf(text, sizeof(text), "%lld", (long long)next);
	sqlite3_reset(s->st[ST_GET]);
	if ((r = write_locked(s, key, klen, text, (size_t)n, err)) < 0 ||
	    (r = exec_locked(s, "COMMIT", "increment", err)) < 0)
		goto rollback;
	*out = next;
	goto out;
rollback:
	sqlite3_reset(s->st[ST_GET]);
	sqlite3_reset(s->st[ST_SET]);
	(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
out:
	if (s->db) {
		sqlite3_reset(s->st[ST_GET]);
		sqlite3_reset(s->st[ST_SET]);
		sqlite3_clear_bindings(s->st[ST_GET]);
		sqlite3_clear_bindings(s->st[ST_SET]);
	}
	pthread_mutex_unlock(&s->mu);
	return r;
}

int wh_kvdb_swap(struct wh_kvdb_store *s, const char *key, size_t klen, bool had, const uint8_t *expect,
                 size_t elen, const uint8_t *val, size_t vlen, struct sk_error *err)
{
	const void *cur;
	size_t clen;
	bool found;
	int r;

	if (s->redis)
		return wh_kvredis_swap(s->redis, key, klen, had, expect, elen, val, vlen, err);
	if (klen > WH_KV_KEY_MAX || vlen > WH_KV_VALUE_MAX)
		return sk_err(err, -E2BIG, "key-value store \"%s\": swap: the key or the value is over the cap",
		              s->label);
	pthread_mutex_lock(&s->mu);
	if ((r = store_open_locked(s, err)) < 0 || (r = exec_locked(s, "BEGIN IMMEDIATE", "swap", err)) < 0)
		goto out;
	if ((r = read_locked(s, key, klen, &found, &cur, &clen, err)) < 0)
		goto rollback;
	if (found != had || (found && (clen != elen || (elen && memcmp(cur, expect, elen) != 0)))) {
		r = -ESTALE;
		goto rollback;
	}
	sqlite3_reset(s->st[ST_GET]);
	if ((r = write_locked(s, key, klen, val, vlen, err)) < 0 || (r = exec_locked(s, "COMMIT", "swap", err)) < 0)
		goto rollback;
	goto out;
rollback:
	sqlite3_reset(s->st[ST_GET]);
	sqlite3_reset(s->st[ST_SET]);
	(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
out:
	if (s->db) {
		sqlite3_reset(s->st[ST_GET]);
		sqlite3_reset(s->st[ST_SET]);
		sqlite3_clear_bindings(s->st[ST_GET]);
		sqlite3_clear_bindings(s->st[ST_SET]);
	}
	pthread_mutex_unlock(&s->mu);
	return r;
}
