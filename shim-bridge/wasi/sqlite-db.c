/* Spin's SQLite databases for guests (see sqlite-db.h): the app's labelled
 * databases, a connection per guest open, and one statement at a time with
 * caps on what goes in and what comes out. */
#include "shim-bridge/wasi/sqlite-db.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/utf8.h"

struct wh_sqldb_database {
	char *label;
	char *path; /* NULL: in memory */
	pthread_mutex_t mu;
	bool mu_ok;
	bool prepared;   /* folder made and WAL set (files), under mu */
	sqlite3 *shared; /* in memory: the one connection, under mu */
	unsigned n_open; /* connections open now, under mu */
};

struct wh_sqldb {
	struct wh_sqldb_database *dbs; /* never moves: handed out by pointer */
	size_t n;
};

struct wh_sqldb_conn {
	struct wh_sqldb_database *d;
	sqlite3 *own; /* a file database's connection; NULL: d->shared */
	int64_t rowid;
	uint64_t changes;
};

void wh_sqldb_free(struct wh_sqldb *db)
{
	if (!db)
		return;
	for (size_t i = 0; i < db->n; i++) {
		struct wh_sqldb_database *d = &db->dbs[i];
		if (d->shared)
			sqlite3_close(d->shared);
		if (d->mu_ok)
			pthread_mutex_destroy(&d->mu);
		free(d->label);
		free(d->path);
	}
	free(db->dbs);
	free(db);
}

static inline void sqldb_freep(struct wh_sqldb **db)
{
	wh_sqldb_free(*db);
}

static int add_db(struct wh_sqldb *db, const char *label, const char *path)
{
	struct wh_sqldb_database *d = &db->dbs[db->n++];

	if (!(d->label = strdup(label)) || (path && !(d->path = strdup(path))))
		return -ENOMEM;
	if (pthread_mutex_init(&d->mu, NULL) != 0)
		return -ENOMEM;
	d->mu_ok = true;
	return 0;
}

int wh_sqldb_new(const struct app_runtime_config *rc, const char *state_dir, struct wh_sqldb **out,
                 struct sk_error *err)
{
	_cleanup_(sqldb_freep) struct wh_sqldb *db = calloc(1, sizeof(*db));
	_cleanup_free_ char *dflt = NULL;
	size_t n = rc ? rc->n_sqlite : 0;
	bool has_default = false;
	int r = 0;

	if (!db || !(db->dbs = calloc(n + 1, sizeof(*db->dbs))))
		return sk_err(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n && r == 0; i++) {
		if (strcmp(rc->sqlite[i].label, WH_SQL_DEFAULT_LABEL) == 0)
			has_default = true;
		r = add_db(db, rc->sqlite[i].label, rc->sqlite[i].path);
	}
	if (r == 0 && !has_default) {
		if (state_dir && asprintf(&dflt, "%s/%s", strcmp(state_dir, "/") == 0 ? "" : state_dir,
		                          WH_SQL_DEFAULT_FILE) < 0)
			return sk_err(err, -ENOMEM, "out of memory");
		r = add_db(db, WH_SQL_DEFAULT_LABEL, dflt);
	}
	if (r < 0)
		return sk_err(err, r, "SQLite databases: %s", strerror(-r));
	*out = TAKE_PTR(db);
	return 0;
}

struct wh_sqldb_database *wh_sqldb_find(struct wh_sqldb *db, const char *label, size_t len)
{
	for (size_t i = 0; db && i < db->n; i++)
		if (strlen(db->dbs[i].label) == len && memcmp(db->dbs[i].label, label, len) == 0)
			return &db->dbs[i];
	return NULL;
}

const char *wh_sqldb_label(const struct wh_sqldb_database *d)
{
	return d->label;
}

const char *wh_sqldb_path(const struct wh_sqldb_database *d)
{
	return d->path;
}

/* SQLite's result code as our errno. */
static int code_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_TOOBIG:
		return -E2BIG;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_CANTOPEN:
		return -EACCES;
	default:
		return -EIO;
	}
}

/* A failure of SQLite on connection s (may be NULL) of database d. */
static int sql_fail(const struct wh_sqldb_database *d, sqlite3 *s, struct sk_error *err, int rc,
                    const char *what)
{
	return sk_err(err, code_of(rc), "SQLite database \"%s\" (%s): %s: %s", d->label,
	              d->path ? d->path : "in memory", what, s ? sqlite3_errmsg(s) : sqlite3_errstr(rc));
}

/* What a guest's SQL may not do: reach other files (ATTACH, VACUUM INTO,
 * which attaches) or move the process's own temporary files. */
static int authorize(void *ud, int action, const char *a, const char *b, const char *db, const char *trigger)
{
	(void)ud;
	(void)b;
	(void)db;
	(void)trigger;
	if (action == SQLITE_ATTACH || action == SQLITE_DETACH)
		return SQLITE_DENY;
	if (action == SQLITE_PRAGMA && a &&
	    (sqlite3_stricmp(a, "temp_store_directory") == 0 || sqlite3_stricmp(a, "data_store_directory") == 0))
		return SQLITE_DENY;
	return SQLITE_OK;
}

/* SQLite's busy handler: another connection holds the write lock. Retry
 * every millisecond until WH_SQL_BUSY_TIMEOUT_MS have passed; SQLite's own
 * handler backs off to 100 ms sleeps, which writers taking turns at a few
 * hundred microseconds each would mostly spend asleep. */
static int busy_wait(void *ud, int count)
{
	struct timespec ms = {0, 1000000};

	(void)ud;
	if (count >= WH_SQL_BUSY_TIMEOUT_MS)
		return 0;
	nanosleep(&ms, NULL);
	return 1;
}

/* A new connection to d (its file, or a private in-memory database). */
static int connect(struct wh_sqldb_database *d, sqlite3 **out, struct sk_error *err)
{
	sqlite3 *s = NULL;
	int rc = sqlite3_open_v2(d->path ? d->path : ":memory:", &s,
	                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);

	if (rc != SQLITE_OK) {
		int r = sql_fail(d, s, err, rc, "cannot open the database");
		sqlite3_close(s);
		return r;
	}
	sqlite3_extended_result_codes(s, 1);
	sqlite3_busy_handler(s, busy_wait, NULL);
	/* Guests' statements must not reach past the database. */
	sqlite3_set_authorizer(s, authorize, NULL);
	sqlite3_limit(s, SQLITE_LIMIT_ATTACHED, 0);
	sqlite3_limit(s, SQLITE_LIMIT_LENGTH, (int)WH_SQL_VALUE_MAX * 2);
	sqlite3_limit(s, SQLITE_LIMIT_SQL_LENGTH, (int)WH_SQL_STATEMENT_MAX);
	*out = s;
	return 0;
}

/* The first use of d: its folder made and WAL mode set (a file), or its
 * shared connection opened (in memory). Caller holds d->mu. */
static int prepare_locked(struct wh_sqldb_database *d, struct sk_error *err)
{
	_cleanup_free_ char *dir = NULL;
	char *slash;
	sqlite3 *s = NULL;
	int r;

	if (d->prepared)
		return 0;
	if (!d->path) {
		if ((r = connect(d, &d->shared, err)) < 0)
			return r;
		d->prepared = true;
		return 0;
	}
	if (!(dir = strdup(d->path)))
		return sk_err(err, -ENOMEM, "out of memory");
	if ((slash = strrchr(dir, '/')) && slash != dir) {
		*slash = '\0';
		if ((r = sk_mkdir_p(dir, 0777)) < 0)
			return sk_err(
			    err, r,
			    "SQLite database \"%s\" (%s): cannot create folder %s: %s (set --state-dir "
			    "or state_dir in the runtime config to a writable folder)",
			    d->label, d->path, dir, strerror(-r));
	}
	if ((r = connect(d, &s, err)) < 0)
		return r;
	/* WAL lets readers work beside the one writer; the mode stays with the file. */
	r = sqlite3_exec(s, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
	if (r != SQLITE_OK) {
		r = sql_fail(d, s, err, r, "cannot set WAL mode");
		sqlite3_close(s);
		return r;
	}
	sqlite3_close(s);
	d->prepared = true;
	return 0;
}

int wh_sqldb_check_component(struct wh_sqldb *db, const char *component_id, const char *const *labels,
                             size_t n, struct sk_error *err)
{
	for (size_t i = 0; i < n; i++) {
		struct wh_sqldb_database *d = wh_sqldb_find(db, labels[i], strlen(labels[i]));
		int r;

		if (!d)
			return sk_err(
			    err, -ENOENT,
			    "component \"%s\": sqlite_databases names \"%s\", which is not defined: add "
			    "[sqlite_database.%s] with type = \"spin\" to the runtime config file "
			    "(--runtime-config-file), or use \"default\"",
			    component_id, labels[i], labels[i]);
		pthread_mutex_lock(&d->mu);
		r = prepare_locked(d, err);
		pthread_mutex_unlock(&d->mu);
		if (r < 0)
			return sk_err_prefix(err, "component \"%s\"", component_id);
	}
	return 0;
}

int wh_sqldb_open(struct wh_sqldb_database *d, struct wh_sqldb_conn **out, struct sk_error *err)
{
	_cleanup_free_ struct wh_sqldb_conn *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return sk_err(err, -ENOMEM, "out of memory");
	c->d = d;
	pthread_mutex_lock(&d->mu);
	r = prepare_locked(d, err);
	if (r == 0 && d->n_open >= WH_SQL_CONNS_MAX)
		r = sk_err(err, -EMFILE,
		           "SQLite database \"%s\": %d connections are open already, the most spin-bridge "
		           "allows (close the ones you are done with)",
		           d->label, WH_SQL_CONNS_MAX);
	if (r == 0)
		d->n_open++;
	pthread_mutex_unlock(&d->mu);
	if (r < 0)
		return r;
	if (d->path && (r = connect(d, &c->own, err)) < 0) {
		pthread_mutex_lock(&d->mu);
		d->n_open--;
		pthread_mutex_unlock(&d->mu);
		return r;
	}
	*out = TAKE_PTR(c);
	return 0;
}

void wh_sqldb_close(struct wh_sqldb_conn *c)
{
	if (!c)
		return;
	if (c->own)
		sqlite3_close(c->own);
	pthread_mutex_lock(&c->d->mu);
	c->d->n_open--;
	pthread_mutex_unlock(&c->d->mu);
	free(c);
}

int64_t wh_sqldb_last_insert_rowid(const struct wh_sqldb_conn *c)
{
	return c->rowid;
}

uint64_t wh_sqldb_changes(const struct wh_sqldb_conn *c)
{
	return c->changes;
}

void wh_sql_result_free(struct wh_sql_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_columns; i++)
		free(r->columns[i].name);
	free(r->columns);
	for (size_t i = 0; r->values && i < r->n_rows * r->n_columns; i++)
		free(r->values[i].p);
	free(r->values);
	*r = (struct wh_sql_result){0};
}

/* A copy of p[0..n) (NULL when n is 0); text has its invalid UTF-8 bytes
 * replaced by '?', as a guest string must be valid. 0 or -ENOMEM. */
static int copy_bytes(const void *p, size_t n, bool text, void **out)
{
	unsigned char *c;
	size_t k;

	*out = NULL;
	if (!n)
		return 0;
	if (!(c = malloc(n)))
		return -ENOMEM;
	memcpy(c, p, n);
	for (size_t i = 0; text && i < n; i += k)
		if (!(k = sk_utf8_seq(c + i, n - i)))
			c[i] = '?', k = 1;
	*out = c;
	return 0;
}

/* Bind params to st: the count must match the statement's. */
static int bind_all(const struct wh_sqldb_database *d, sqlite3 *s, sqlite3_stmt *st,
                    const struct wh_sql_value *params, size_t n, struct sk_error *err)
{
	int want = sqlite3_bind_parameter_count(st);

	if ((size_t)want != n)
		return sk_err(err, -EINVAL,
		              "SQLite database \"%s\": the statement takes %d parameter%s, got %zu", d->label,
		              want, want == 1 ? "" : "s", n);
	for (size_t i = 0; i < n; i++) {
		const struct wh_sql_value *v = &params[i];
		int k = (int)i + 1, rc;

		if ((v->type == WH_SQL_TEXT || v->type == WH_SQL_BLOB) && v->n > WH_SQL_VALUE_MAX)
			return sk_err(
			    err, -E2BIG,
			    "SQLite database \"%s\": parameter %d is %zu bytes, more than spin-bridge "
			    "allows (%zu)",
			    d->label, k, v->n, WH_SQL_VALUE_MAX);
		switch (v->type) {
		case WH_SQL_INTEGER:
			rc = sqlite3_bind_int64(st, k, v->i);
			break;
		case WH_SQL_REAL:
			rc = sqlite3_bind_double(st, k, v->f);
			break;
		case WH_SQL_TEXT:
			rc = sqlite3_bind_text(st, k, v->n ? v->p : "", (int)v->n, SQLITE_STATIC);
			break;
		case WH_SQL_BLOB:
			rc = v->n ? sqlite3_bind_blob(st, k, v->p, (int)v->n, SQLITE_STATIC)
			          : sqlite3_bind_zeroblob(st, k, 0);
			break;
		default:
			rc = sqlite3_bind_null(st, k);
			break;
		}
		if (rc != SQLITE_OK)
			return sql_fail(d, s, err, rc, "cannot bind a parameter");
	}
	return 0;
}

/* Grow out->values to hold one more row. */
static int add_row(struct wh_sql_result *out, size_t *cap)
{
	size_t need = (out->n_rows + 1) * out->n_columns;

	if (need > *cap) {
		size_t ncap = *cap ? *cap * 2 : 16 * out->n_columns;
		struct wh_sql_value *nv;

		while (ncap < need)
			ncap *= 2;
		if (!(nv = realloc(out->values, ncap * sizeof(*nv))))
			return -ENOMEM;
		memset(nv + *cap, 0, (ncap - *cap) * sizeof(*nv));
		out->values = nv;
		*cap = ncap;
	}
	out->n_rows++;
	return 0;
}

/* Step st to the end, collecting its rows within the caps. */
static int collect(const struct wh_sqldb_database *d, sqlite3 *s, sqlite3_stmt *st, struct wh_sql_result *out,
                   struct sk_error *err)
{
	size_t cap = 0, bytes = 0, nc = (size_t)sqlite3_column_count(st);
	int rc;

	if (nc && !(out->columns = calloc(nc, sizeof(*out->columns))))
		return sk_err(err, -ENOMEM, "out of memory");
	out->n_columns = nc;
	for (size_t i = 0; i < nc; i++) {
		const char *name = sqlite3_column_name(st, (int)i);
		size_t n = name ? strlen(name) : 0;
		void *p = NULL;

		if (copy_bytes(name ? name : "", n + 1, true, &p) < 0)
			return sk_err(err, -ENOMEM, "out of memory");
		out->columns[i].name = p;
		out->columns[i].n = n;
		bytes += n + 16;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct wh_sql_value *row;

		if (out->n_rows >= WH_SQL_ROWS_MAX)
			return sk_err(err, -E2BIG,
			              "SQLite database \"%s\": the result has more than %zu rows, "
			              "the most spin-bridge hands over (add a LIMIT)",
			              d->label, WH_SQL_ROWS_MAX);
		if (add_row(out, &cap) < 0)
			return sk_err(err, -ENOMEM, "out of memory");
		row = &out->values[(out->n_rows - 1) * nc];
		for (size_t i = 0; i < nc; i++) {
			struct wh_sql_value *v = &row[i];
			int t = sqlite3_column_type(st, (int)i);
			const void *p = NULL;

			switch (t) {
			case SQLITE_INTEGER:
				v->type = WH_SQL_INTEGER;
				v->i = sqlite3_column_int64(st, (int)i);
				break;
			case SQLITE_FLOAT:
				v->type = WH_SQL_REAL;
				v->f = sqlite3_column_double(st, (int)i);
				break;
			case SQLITE_TEXT:
				v->type = WH_SQL_TEXT;
				p = sqlite3_column_text(st, (int)i);
				v->n = (size_t)sqlite3_column_bytes(st, (int)i);
				break;
			case SQLITE_BLOB:
				v->type = WH_SQL_BLOB;
				p = sqlite3_column_blob(st, (int)i);
				v->n = (size_t)sqlite3_column_bytes(st, (int)i);
				break;
			default:
				v->type = WH_SQL_NULL;
				break;
			}
			bytes += v->n + 16;
			if (v->n > WH_SQL_VALUE_MAX || bytes > WH_SQL_RESULT_MAX) {
				v->n = 0;
				return sk_err(
				    err, -E2BIG,
				    "SQLite database \"%s\": the result is larger than spin-bridge hands "
				    "over (%zu bytes of text and blobs, %zu in one value)",
				    d->label, WH_SQL_RESULT_MAX, WH_SQL_VALUE_MAX);
			}
			if (v->n && !p) {
				v->n = 0;
				return sql_fail(d, s, err, sqlite3_errcode(s), "cannot read a value");
			}
			if (copy_bytes(p, v->n, t == SQLITE_TEXT, &v->p) < 0) {
				v->n = 0;
				return sk_err(err, -ENOMEM, "out of memory");
			}
		}
	}
	return rc == SQLITE_DONE ? 0 : sql_fail(d, s, err, rc, "the statement failed");
}

/* SQLite's progress callback: non-zero stops the statement once the
 * deadline (CLOCK_MONOTONIC ns, in *arg) has passed. */
static int past_deadline(void *arg)
{
	const int64_t *deadline = arg;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec > *deadline;
}

/* Whether tail[0..n) holds another statement (not just blanks, ';' or comments). */
static int more_statements(sqlite3 *s, const char *tail, size_t n)
{
	while (n > 0) {
		sqlite3_stmt *st = NULL;
		const char *next = NULL;

		if (sqlite3_prepare_v2(s, tail, (int)n, &st, &next) != SQLITE_OK)
			return 1;
		if (st) {
			sqlite3_finalize(st);
			return 1;
		}
		if (!next || next <= tail)
			return 0;
		n -= (size_t)(next - tail);
		tail = next;
	}
	return 0;
}

/* The statement on connection s (the caller holds what guards it). */
static int run(struct wh_sqldb_conn *c, sqlite3 *s, const char *stmt, size_t len,
               const struct wh_sql_value *params, size_t n_params, int64_t deadline_ns,
               struct wh_sql_result *out, struct sk_error *err)
{
	const struct wh_sqldb_database *d = c->d;
	const char *sql = len ? stmt : "", *tail = NULL;
	sqlite3_stmt *st = NULL;
	sqlite3_int64 before = sqlite3_last_insert_rowid(s);
	int rc, r;

	rc = sqlite3_prepare_v2(s, sql, (int)len, &st, &tail);
	if (rc != SQLITE_OK)
		return sql_fail(d, s, err, rc, "cannot prepare the statement");
	if (tail && more_statements(s, tail, len - (size_t)(tail - sql))) {
		sqlite3_finalize(st);
		return sk_err(err, -EINVAL,
		              "SQLite database \"%s\": execute takes one statement; run each one in a "
		              "call of its own",
		              d->label);
	}
	if (!st) /* blanks or comments only */
		return n_params ? sk_err(err, -EINVAL, "SQLite database \"%s\": no statement for the %zu parameters",
		                         d->label, n_params)
		                : 0;
	if (deadline_ns >= 0)
		sqlite3_progress_handler(s, 1000, past_deadline, &deadline_ns);
	r = bind_all(d, s, st, params, n_params, err);
	if (r == 0)
		r = collect(d, s, st, out, err);
	sqlite3_progress_handler(s, 0, NULL, NULL);
	if (r < 0 && deadline_ns >= 0 && past_deadline(&deadline_ns))
		r = sk_err(err, -ETIMEDOUT,
		           "SQLite database \"%s\": the statement was stopped at the request's time limit",
		           d->label);
	if (r == 0 && !sqlite3_stmt_readonly(st))
		c->changes = (uint64_t)sqlite3_changes(s);
	if (r == 0 && sqlite3_last_insert_rowid(s) != before)
		c->rowid = sqlite3_last_insert_rowid(s);
	sqlite3_finalize(st);
	return r;
}

int wh_sqldb_execute(struct wh_sqldb_conn *c, const char *stmt, size_t len, const struct wh_sql_value *params,
                     size_t n_params, int64_t deadline_ns, struct wh_sql_result *out, struct sk_error *err)
{
	struct wh_sqldb_database *d = c->d;
	int r;

	*out = (struct wh_sql_result){0};
	if (len > WH_SQL_STATEMENT_MAX)
		return sk_err(
		    err, -E2BIG,
		    "SQLite database \"%s\": the statement is %zu bytes, more than spin-bridge allows "
		    "(%zu)",
		    d->label, len, WH_SQL_STATEMENT_MAX);
	if (n_params > WH_SQL_PARAMS_MAX)
		return sk_err(err, -E2BIG,
		              "SQLite database \"%s\": %zu parameters, more than spin-bridge allows (%zu)",
		              d->label, n_params, WH_SQL_PARAMS_MAX);
	if (c->own) {
		r = run(c, c->own, stmt, len, params, n_params, deadline_ns, out, err);
	} else {
		pthread_mutex_lock(&d->mu);
		r = run(c, d->shared, stmt, len, params, n_params, deadline_ns, out, err);
		pthread_mutex_unlock(&d->mu);
	}
	if (r < 0)
		wh_sql_result_free(out);
	return r;
}
