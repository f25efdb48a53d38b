/* The SQLite databases behind Spin's sqlite interfaces
 * (shim-bridge/wasi/sqlite-db.c): the table built from a runtime config,
 * the start-up check, statements with every value type, the errors and
 * caps, connections in memory and in files, and writers on several
 * threads; then Spin 1's fermyon:spin/sqlite host functions
 * (shim-bridge/wasi/spin.c), called as wasmtime calls them (they need no
 * store context: the resource versions are left to the runtime tests).
 * Databases are real SQLite files in a temporary folder. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/escape.h"
#include "shim-bridge/app/runtime-config.h"
#include "shim-bridge/wasi/host.h"
#include "shim-bridge/wasi/sqlite-db.h"
#include "tests/tap.h"

static char tmp[PATH_MAX];

/* tmp/rel, in one of four rotating buffers. */
static char *path_in(const char *rel)
{
	static char buf[4][PATH_MAX + 64];
	static unsigned i;
	char *b = buf[i++ % 4];

	(void)snprintf(b, sizeof(buf[0]), "%s/%s", tmp, rel);
	return b;
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static struct app_runtime_config *parse(const char *text)
{
	struct app_runtime_config *rc = NULL;
	struct sk_error err = {0};

	if (app_runtime_config_parse(text, strlen(text), "rc.toml", tmp, &rc, &err) < 0)
		printf("# parse: %s\n", err.message);
	return rc;
}

/* exec: run stmt (a C string) with params on c; the result in *res. */
static int exec(struct wh_sqldb_conn *c, const char *stmt, const struct wh_sql_value *p, size_t n,
                struct wh_sql_result *res, struct sk_error *err)
{
	sk_err_clear(err);
	return wh_sqldb_execute(c, stmt, strlen(stmt), p, n, -1, res, err);
}

/* exec_ok: exec and free the result; true on success. */
static bool exec_ok(struct wh_sqldb_conn *c, const char *stmt)
{
	struct wh_sql_result res;
	struct sk_error err = {0};
	int r = exec(c, stmt, NULL, 0, &res, &err);

	if (r < 0)
		printf("# %s: %s\n", stmt, err.message);
	wh_sql_result_free(&res);
	return r == 0;
}

/* count: SELECT count(*) FROM table on c, or -1. */
static long long count(struct wh_sqldb_conn *c, const char *table)
{
	char q[128];
	struct wh_sql_result res;
	struct sk_error err = {0};
	long long n = -1;

	(void)snprintf(q, sizeof(q), "SELECT count(*) FROM %s", table);
	if (exec(c, q, NULL, 0, &res, &err) == 0 && res.n_rows == 1 && res.values[0].type == WH_SQL_INTEGER)
		n = res.values[0].i;
	wh_sql_result_free(&res);
	return n;
}

static void test_table(void)
{
	struct sk_error err = {0};
	struct wh_sqldb *db = NULL;
	struct app_runtime_config *rc;

	ok(wh_sqldb_new(NULL, NULL, &db, &err) == 0 && db, "no runtime config, no state folder: %s",
	   err.message);
	ok(wh_sqldb_find(db, "default", 7) && !wh_sqldb_path(wh_sqldb_find(db, "default", 7)),
	   "default is defined, in memory");
	ok(!wh_sqldb_find(db, "other", 5) && !wh_sqldb_find(db, "defaul", 6), "nothing else is");
	wh_sqldb_free(db);

	ok(wh_sqldb_new(NULL, "/var/lib/app", &db, &err) == 0, "with a state folder");
	is_str(wh_sqldb_path(wh_sqldb_find(db, "default", 7)), "/var/lib/app/sqlite_db.db",
	       "default is <state dir>/sqlite_db.db, Spin's file");
	wh_sqldb_free(db);

	rc = parse("[sqlite_database.default]\ntype = \"spin\"\npath = \"d.db\"\n"
	           "[sqlite_database.a]\ntype = \"spin\"\npath = \"sub/dir/a.db\"\n"
	           "[sqlite_database.m]\ntype = \"spin\"\n");
	ok(rc && wh_sqldb_new(rc, "/var/lib/app", &db, &err) == 0, "from a runtime config: %s", err.message);
	if (db) {
		is_str(wh_sqldb_path(wh_sqldb_find(db, "default", 7)), path_in("d.db"),
		       "the runtime config's default wins over the state folder");
		is_str(wh_sqldb_path(wh_sqldb_find(db, "a", 1)), path_in("sub/dir/a.db"),
		       "a labelled database");
		ok(wh_sqldb_find(db, "m", 1) && !wh_sqldb_path(wh_sqldb_find(db, "m", 1)),
		   "no path: in memory");
		is_str(wh_sqldb_label(wh_sqldb_find(db, "a", 1)), "a", "its label");

		const char *bad[] = {"default", "nosuch"}, *good[] = {"a", "m", "default"};
		ok(!exists(path_in("sub")), "nothing is created before the check");
		ok(wh_sqldb_check_component(db, "web", good, 3, &err) == 0,
		   "check: every database defined: %s", err.message);
		ok(exists(path_in("sub/dir/a.db")) && exists(path_in("d.db")),
		   "the check makes the folders and files, as Spin does at start");
		sk_err_clear(&err);
		ok(wh_sqldb_check_component(db, "web", bad, 2, &err) == -ENOENT &&
		       strstr(err.message,
		              "component \"web\": sqlite_databases names \"nosuch\", which is "
		              "not defined: add [sqlite_database.nosuch] with type = \"spin\"") &&
		       sk_is_one_line(err.message),
		   "check: a database defined nowhere: %s", err.message);
	}
	wh_sqldb_free(db);
	app_runtime_config_free(rc);

	/* a file where the folder should be */
	FILE *f = fopen(path_in("notadir"), "w");
	if (f)
		fclose(f);
	rc = parse("[sqlite_database.x]\ntype = \"spin\"\npath = \"notadir/x.db\"\n");
	db = NULL;
	if (rc && wh_sqldb_new(rc, NULL, &db, &err) == 0) {
		const char *x[] = {"x"};
		sk_err_clear(&err);
		ok(wh_sqldb_check_component(db, "web", x, 1, &err) < 0 &&
		       strstr(err.message, "component \"web\"") && strstr(err.message, "notadir/x.db") &&
		       sk_is_one_line(err.message),
		   "check: a file that cannot be made (its folder is a file): %s", err.message);
	}
	wh_sqldb_free(db);
	app_runtime_config_free(rc);
}

static void test_values(struct wh_sqldb_database *d)
{
	struct wh_sqldb_conn *c = NULL;
	struct wh_sql_result res;
	struct sk_error err = {0};
	static const unsigned char blob[] = {0, 0xff, 0x10};
	const struct wh_sql_value p[] = {
	    {.type = WH_SQL_INTEGER, .i = INT64_MIN},
	    {.type = WH_SQL_REAL, .f = 1.5},
	    {.type = WH_SQL_TEXT, .p = (void *)(uintptr_t) "h\xc3\xa9llo\0x", .n = 8},
	    {.type = WH_SQL_BLOB, .p = (void *)(uintptr_t)blob, .n = 3},
	    {.type = WH_SQL_NULL},
	};

	ok(wh_sqldb_open(d, &c, &err) == 0 && c, "open: %s", err.message);
	if (!c)
		return;
	ok(exec_ok(c, "CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n)"), "CREATE TABLE");
	ok(exec(c, "INSERT INTO t VALUES (?, ?, ?, ?, ?)", p, 5, &res, &err) == 0 && res.n_columns == 0 &&
	       res.n_rows == 0,
	   "INSERT with each value type: no columns, no rows: %s", err.message);
	wh_sql_result_free(&res);
	is_int(wh_sqldb_last_insert_rowid(c), 1, "last-insert-rowid");
	is_int(wh_sqldb_changes(c), 1, "changes");
	ok(exec(c, "SELECT i, r, s, b, n, typeof(s) AS ts FROM t", NULL, 0, &res, &err) == 0, "SELECT: %s",
	   err.message);
	ok(res.n_columns == 6 && strcmp(res.columns[0].name, "i") == 0 &&
	       strcmp(res.columns[5].name, "ts") == 0,
	   "columns by name");
	ok(res.n_rows == 1 && res.values[0].type == WH_SQL_INTEGER && res.values[0].i == INT64_MIN,
	   "integer back as integer");
	ok(res.n_rows == 1 && res.values[1].type == WH_SQL_REAL && res.values[1].f == 1.5,
	   "real back as real");
	ok(res.n_rows == 1 && res.values[2].type == WH_SQL_TEXT && res.values[2].n == 8 &&
	       memcmp(res.values[2].p, "h\xc3\xa9llo\0x", 8) == 0,
	   "text back as text, byte for byte (a NUL inside too)");
	ok(res.n_rows == 1 && res.values[3].type == WH_SQL_BLOB && res.values[3].n == 3 &&
	       memcmp(res.values[3].p, blob, 3) == 0,
	   "blob back as blob");
	ok(res.n_rows == 1 && res.values[4].type == WH_SQL_NULL, "null back as null");
	ok(res.n_rows == 1 && res.values[5].n == 4 && memcmp(res.values[5].p, "text", 4) == 0,
	   "SQLite stored the text parameter as text");
	wh_sql_result_free(&res);

	ok(exec(c, "SELECT CAST(x'61ff62' AS TEXT)", NULL, 0, &res, &err) == 0 && res.n_rows == 1 &&
	       res.values[0].type == WH_SQL_TEXT && res.values[0].n == 3 &&
	       memcmp(res.values[0].p, "a?b", 3) == 0,
	   "text that is not UTF-8 reaches the guest with '?' for the bad bytes");
	wh_sql_result_free(&res);
	ok(exec(c, "  -- nothing\n ", NULL, 0, &res, &err) == 0 && res.n_columns == 0,
	   "a statement of comments only");
	wh_sql_result_free(&res);
	ok(exec(c, "SELECT 1;  -- done\n;", NULL, 0, &res, &err) == 0 && res.n_rows == 1,
	   "trailing ';' and comments are fine: %s", err.message);
	wh_sql_result_free(&res);
	ok(exec(c, "INSERT INTO t (i) VALUES (1), (2), (3)", NULL, 0, &res, &err) == 0 &&
	       wh_sqldb_last_insert_rowid(c) == 4 && wh_sqldb_changes(c) == 3,
	   "a three-row INSERT: rowid 4, changes 3");
	wh_sql_result_free(&res);
	ok(exec_ok(c, "SELECT * FROM t") && wh_sqldb_changes(c) == 3 && wh_sqldb_last_insert_rowid(c) == 4,
	   "a SELECT leaves rowid and changes alone");

	/* errors, each an error value with a message */
	ok(exec(c, "SELEC 1", NULL, 0, &res, &err) == -EIO && strstr(err.message, "SQLite database \"") &&
	       strstr(err.message, "syntax error") && sk_is_one_line(err.message),
	   "bad SQL: -EIO: %s", err.message);
	ok(exec(c, "SELECT * FROM nosuch", NULL, 0, &res, &err) == -EIO &&
	       strstr(err.message, "no such table"),
	   "a missing table: %s", err.message);
	ok(exec(c, "SELECT ?1", p, 2, &res, &err) == -EINVAL &&
	       strstr(err.message, "takes 1 parameter, got 2"),
	   "too many parameters: %s", err.message);
	ok(exec(c, "SELECT ?, ?", p, 1, &res, &err) == -EINVAL &&
	       strstr(err.message, "takes 2 parameters, got 1"),
	   "too few: %s", err.message);
	ok(exec(c, "SELECT 1; SELECT 2", NULL, 0, &res, &err) == -EINVAL &&
	       strstr(err.message, "one statement"),
	   "two statements: %s", err.message);
	ok(exec(c, "SELECT 1; SELEC", NULL, 0, &res, &err) == -EINVAL,
	   "a second statement that does not parse");
	ok(exec(c, "ATTACH DATABASE '/tmp/x.db' AS x", NULL, 0, &res, &err) < 0,
	   "ATTACH is refused (a guest stays in its database): %s", err.message);
	ok(exec(c, "VACUUM INTO '/tmp/test-sqlite-db-escape.db'", NULL, 0, &res, &err) < 0 &&
	       !exists("/tmp/test-sqlite-db-escape.db"),
	   "VACUUM INTO another file is refused: %s", err.message);
	ok(exec(c, "PRAGMA temp_store_directory = '/tmp'", NULL, 0, &res, &err) < 0 &&
	       strstr(err.message, "not authorized"),
	   "moving the process's temporary files is refused: %s", err.message);
	ok(exec_ok(c, "PRAGMA user_version = 7"), "other pragmas work");
	ok(exec(c, "INSERT INTO t (i) VALUES (1) RETURNING i", NULL, 0, &res, &err) == 0 && res.n_rows == 1,
	   "RETURNING rows come back");
	wh_sql_result_free(&res);
	wh_sqldb_close(c);
}

static void test_caps(struct wh_sqldb_database *d)
{
	struct wh_sqldb_conn *c = NULL;
	struct wh_sql_result res;
	struct sk_error err = {0};
	size_t big = WH_SQL_STATEMENT_MAX + 1;
	char *stmt = malloc(big + 1), *val = calloc(1, WH_SQL_VALUE_MAX + 1);
	struct wh_sql_value *many = calloc(WH_SQL_PARAMS_MAX + 1, sizeof(*many));
	struct wh_sql_value v = {.type = WH_SQL_BLOB, .p = val, .n = WH_SQL_VALUE_MAX};

	if (!stmt || !val || !many || wh_sqldb_open(d, &c, &err) < 0) {
		ok(0, "setup: %s", err.message);
		goto out;
	}
	memset(stmt, ' ', big);
	memcpy(stmt, "SELECT 1", 8);
	stmt[big] = '\0';
	ok(wh_sqldb_execute(c, stmt, big, NULL, 0, -1, &res, &err) == -E2BIG &&
	       strstr(err.message, "more than spin-bridge allows (1048576)"),
	   "a statement over the cap: %s", err.message);
	ok(wh_sqldb_execute(c, stmt, big - 1, NULL, 0, -1, &res, &err) == 0, "a statement at the cap: %s",
	   err.message);
	wh_sql_result_free(&res);
	for (size_t i = 0; i <= WH_SQL_PARAMS_MAX; i++)
		many[i].type = WH_SQL_NULL;
	ok(exec(c, "SELECT 1", many, WH_SQL_PARAMS_MAX + 1, &res, &err) == -E2BIG &&
	       strstr(err.message, "10001 parameters"),
	   "parameters over the cap: %s", err.message);
	ok(exec_ok(c, "CREATE TABLE big (b BLOB)"), "a table for big values");
	ok(exec(c, "INSERT INTO big VALUES (?)", &v, 1, &res, &err) == 0, "a blob at the cap goes in: %s",
	   err.message);
	wh_sql_result_free(&res);
	ok(exec(c, "SELECT b FROM big", NULL, 0, &res, &err) == 0 && res.n_rows == 1 &&
	       res.values[0].n == WH_SQL_VALUE_MAX,
	   "... and comes back: %s", err.message);
	wh_sql_result_free(&res);
	v.n++;
	ok(exec(c, "INSERT INTO big VALUES (?)", &v, 1, &res, &err) == -E2BIG &&
	       strstr(err.message, "parameter 1 is 1048577 bytes"),
	   "a blob over the cap: %s", err.message);
	v.type = WH_SQL_TEXT;
	ok(exec(c, "INSERT INTO big VALUES (?)", &v, 1, &res, &err) == -E2BIG, "a text over the cap: %s",
	   err.message);
	ok(exec(c, "SELECT b || x'00' FROM big", NULL, 0, &res, &err) == -E2BIG &&
	       strstr(err.message, "larger than spin-bridge hands over"),
	   "a value the SQL made over the cap: %s", err.message);
	ok(exec_ok(c, "INSERT INTO big SELECT b FROM big") && exec_ok(c, "INSERT INTO big SELECT b FROM big"),
	   "four 1 MiB blobs");
	ok(exec(c, "SELECT b FROM big", NULL, 0, &res, &err) == -E2BIG &&
	       strstr(err.message, "(4194304 bytes of text and blobs"),
	   "a result over the byte cap: %s", err.message);
	ok(exec(c, "SELECT zeroblob(3000000)", NULL, 0, &res, &err) < 0,
	   "SQL cannot make values past its limit");
	ok(exec(
	       c,
	       "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n LIMIT 100000) SELECT x FROM n",
	       NULL, 0, &res, &err) == 0 &&
	       res.n_rows == WH_SQL_ROWS_MAX && res.values[WH_SQL_ROWS_MAX - 1].i == 100000,
	   "rows at the cap: %s", err.message);
	wh_sql_result_free(&res);
	ok(exec(
	       c,
	       "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n LIMIT 100001) SELECT x FROM n",
	       NULL, 0, &res, &err) == -E2BIG &&
	       strstr(err.message, "more than 100000 rows"),
	   "rows over the cap: %s", err.message);
	ok(exec_ok(c, "PRAGMA max_page_count = 1"), "a database capped by SQLite itself");
	ok(exec(c, "INSERT INTO big VALUES (zeroblob(100000))", NULL, 0, &res, &err) == -ENOSPC,
	   "a full database: -ENOSPC (database-full to the guest): %s", err.message);
out:
	wh_sqldb_close(c);
	free(stmt);
	free(val);
	free(many);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A statement that would run forever stops at the deadline, on a file
 * connection and on the shared one in memory (whose mutex it then frees). */
static void test_deadline(struct wh_sqldb_database *file, struct wh_sqldb_database *mem)
{
	static const char forever[] =
	    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";
	struct wh_sqldb_database *dbs[] = {file, mem};

	for (size_t i = 0; i < 2; i++) {
		struct wh_sqldb_conn *c = NULL;
		struct wh_sql_result res;
		struct sk_error err = {0};
		int64_t t0 = now_ns();
		int r = -1;

		if (wh_sqldb_open(dbs[i], &c, &err) == 0)
			r = wh_sqldb_execute(c, forever, strlen(forever), NULL, 0, t0 + 200000000, &res,
			                     &err);
		ok(r == -ETIMEDOUT && strstr(err.message, "stopped at the request's time limit"),
		   "%s: an endless statement stops at the deadline: %s", i ? "in memory" : "a file",
		   err.message);
		printf("# stopped after %.0f ms (deadline 200 ms)\n", (double)(now_ns() - t0) / 1e6);
		ok(c && exec_ok(c, "SELECT 1"), "... and the connection works on");
		wh_sqldb_close(c);
	}
}

/* Connections: in memory one shared database, in a file one each. */
static void test_conns(struct wh_sqldb_database *mem, struct wh_sqldb_database *file)
{
	struct wh_sqldb_conn *c[WH_SQL_CONNS_MAX + 1] = {0}, *a = NULL, *b = NULL;
	struct sk_error err = {0};
	size_t n = 0;

	ok(wh_sqldb_open(mem, &a, &err) == 0 && wh_sqldb_open(mem, &b, &err) == 0,
	   "two connections in memory");
	ok(a && b && exec_ok(a, "CREATE TABLE shared (x)") && exec_ok(a, "INSERT INTO shared VALUES (1)") &&
	       count(b, "shared") == 1,
	   "... see one database");
	wh_sqldb_close(a);
	wh_sqldb_close(b);
	a = b = NULL;
	ok(wh_sqldb_open(file, &a, &err) == 0 && wh_sqldb_open(file, &b, &err) == 0,
	   "two connections to a file");
	ok(a && b && exec_ok(a, "CREATE TABLE f (x)") && exec_ok(a, "INSERT INTO f VALUES (1)") &&
	       count(b, "f") == 1,
	   "... see each other's rows");
	ok(a && b && exec_ok(a, "INSERT INTO f VALUES (2)") && exec_ok(b, "SELECT 1") &&
	       wh_sqldb_last_insert_rowid(a) == 2 && wh_sqldb_last_insert_rowid(b) == 0,
	   "last-insert-rowid is each connection's own");
	wh_sqldb_close(a);
	wh_sqldb_close(b);

	while (n <= WH_SQL_CONNS_MAX && wh_sqldb_open(mem, &c[n], &err) == 0)
		n++;
	is_int(n, WH_SQL_CONNS_MAX, "connections at once: at most WH_SQL_CONNS_MAX");
	ok(strstr(err.message, "connections are open already"), "... then: %s", err.message);
	wh_sqldb_close(c[0]);
	ok(wh_sqldb_open(mem, &c[0], &err) == 0, "closing one makes room");
	for (size_t i = 0; i < n; i++)
		wh_sqldb_close(c[i]);
	wh_sqldb_close(NULL);
}

struct writer {
	struct wh_sqldb_database *d;
	int id, ok;
};

static void *write_rows(void *arg)
{
	struct writer *w = arg;
	struct wh_sqldb_conn *c = NULL;
	struct sk_error err = {0};

	if (wh_sqldb_open(w->d, &c, &err) < 0)
		return NULL;
	for (int k = 0; k < 50; k++) {
		struct wh_sql_value p[] = {{.type = WH_SQL_INTEGER, .i = w->id},
		                           {.type = WH_SQL_INTEGER, .i = k}};
		struct wh_sql_result res;
		if (wh_sqldb_execute(c, "INSERT INTO w VALUES (?, ?)", 27, p, 2, -1, &res, &err) == 0)
			w->ok++;
		else
			printf("# writer %d: %s\n", w->id, err.message);
		wh_sql_result_free(&res);
	}
	wh_sqldb_close(c);
	return NULL;
}

static void test_threads(struct wh_sqldb_database *d)
{
	struct writer w[4];
	pthread_t t[4];
	struct wh_sqldb_conn *c = NULL;
	struct sk_error err = {0};
	int total = 0;

	if (wh_sqldb_open(d, &c, &err) < 0 || !exec_ok(c, "CREATE TABLE w (id INTEGER, k INTEGER)")) {
		ok(0, "setup: %s", err.message);
		wh_sqldb_close(c);
		return;
	}
	for (int i = 0; i < 4; i++) {
		w[i] = (struct writer){.d = d, .id = i};
		pthread_create(&t[i], NULL, write_rows, &w[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		total += w[i].ok;
	}
	is_int(total, 200, "4 threads x 50 inserts on connections of their own: every one succeeds");
	is_int(count(c, "w"), 200, "... and every row is there");
	wh_sqldb_close(c);
}

/* --- the host functions ------------------------------------------------------------- */

static const struct wh_func_def *func(const char *iface, const char *name)
{
	for (size_t i = 0; i < wh_n_sqlite_ifaces; i++)
		if (strcmp(wh_sqlite_ifaces[i].name, iface) == 0)
			for (size_t j = 0; j < wh_sqlite_ifaces[i].n_funcs; j++)
				if (strcmp(wh_sqlite_ifaces[i].funcs[j].name, name) == 0)
					return &wh_sqlite_ifaces[i].funcs[j];
	return NULL;
}

static bool trapped;

/* Call fermyon:spin/sqlite NAME with args (deleted here); results[0]. */
static wasmtime_component_val_t call(struct wh_ctx *ctx, const char *name, wasmtime_component_val_t *args,
                                     size_t nargs, size_t nresults)
{
	const struct wh_func_def *f = func("fermyon:spin/sqlite", name);
	wasmtime_component_val_t res;
	wasmtime_error_t *e;

	wh_val_bool(&res, false);
	trapped = false;
	if (f && (e = f->fn(ctx, NULL, args, nargs, &res, nresults))) {
		wasm_name_t msg;
		wasmtime_error_message(e, &msg);
		printf("# %s trapped: %.*s\n", name, (int)msg.size, msg.data);
		wasm_name_delete(&msg);
		wasmtime_error_delete(e);
		trapped = true;
	}
	for (size_t i = 0; i < nargs; i++)
		wasmtime_component_val_delete(&args[i]);
	return res;
}

static bool name_is(const wasm_name_t *n, const char *s)
{
	return n->size == strlen(s) && memcmp(n->data, s, n->size) == 0;
}

/* r is err(case) (with a message containing msg when msg is not NULL). */
static bool is_err(const wasmtime_component_val_t *r, const char *case_name, const char *msg)
{
	const wasmtime_component_val_t *e = r->of.result.val, *m;

	if (r->kind != WASMTIME_COMPONENT_RESULT || r->of.result.is_ok || !e ||
	    e->kind != WASMTIME_COMPONENT_VARIANT || !name_is(&e->of.variant.discriminant, case_name))
		return false;
	if (!msg)
		return true;
	m = e->of.variant.val;
	if (m && m->kind == WASMTIME_COMPONENT_STRING)
		printf("#   %s(%.*s)\n", case_name, (int)m->of.string.size, m->of.string.data);
	return m && m->kind == WASMTIME_COMPONENT_STRING &&
	       memmem(m->of.string.data, m->of.string.size, msg, strlen(msg));
}

/* The record field `name` of v, or NULL. */
static const wasmtime_component_val_t *field(const wasmtime_component_val_t *v, const char *name)
{
	if (!v || v->kind != WASMTIME_COMPONENT_RECORD)
		return NULL;
	for (size_t i = 0; i < v->of.record.size; i++)
		if (name_is(&v->of.record.data[i].name, name))
			return &v->of.record.data[i].val;
	return NULL;
}

/* execute(h, stmt, [integer 7, real 0.5, text "t", blob [1, 2], null]) or
 * with no parameters when typed is false. */
static wasmtime_component_val_t execute(struct wh_ctx *ctx, uint32_t h, const char *stmt, bool typed)
{
	wasmtime_component_val_t a[3], x, *p;

	wh_val_u32(&a[0], h);
	wh_val_cstring(&a[1], stmt);
	p = wh_val_list(&a[2], typed ? 5 : 0);
	if (typed) {
		wh_val_s64(&x, 7);
		wh_val_variant(&p[0], "integer", &x);
		wh_val_f64(&x, 0.5);
		wh_val_variant(&p[1], "real", &x);
		wh_val_cstring(&x, "t");
		wh_val_variant(&p[2], "text", &x);
		wh_val_bytes(&x, "\x01\x02", 2);
		wh_val_variant(&p[3], "blob", &x);
		wh_val_variant(&p[4], "null", NULL);
	}
	return call(ctx, "execute", a, 3, 1);
}

static void test_host(void)
{
	const char *allowed[] = {"default", "ghost"};
	struct app_runtime_config *rc = parse("[sqlite_database.full]\ntype = \"spin\"\n");
	struct sk_error err = {0};
	struct wh_sqldb *db = NULL;
	struct wh_component_env env = {.id = "web", .sqlite_databases = allowed, .n_sqlite_databases = 2};
	struct wh_ctx ctx;
	wasmtime_component_val_t a[1], r;
	const wasmtime_component_val_t *rows, *vals;
	uint32_t h = 0;

	if (!rc || wh_sqldb_new(rc, NULL, &db, &err) < 0) {
		ok(0, "databases: %s", err.message);
		app_runtime_config_free(rc);
		return;
	}
	env.sqldb = db;
	wh_ctx_init(&ctx, &env, 0);

	wh_val_cstring(&a[0], "full");
	r = call(&ctx, "open", a, 1, 1);
	ok(is_err(&r, "access-denied", NULL),
	   "open of a database not in sqlite_databases (defined): access-denied");
	wasmtime_component_val_delete(&r);
	wh_val_cstring(&a[0], "ghost");
	r = call(&ctx, "open", a, 1, 1);
	ok(is_err(&r, "no-such-database", NULL), "open of a listed database nothing defines: "
	                                         "no-such-database (the start-up check keeps apps from it)");
	wasmtime_component_val_delete(&r);
	wh_val_cstring(&a[0], "default");
	r = call(&ctx, "open", a, 1, 1);
	ok(r.kind == WASMTIME_COMPONENT_RESULT && r.of.result.is_ok &&
	       r.of.result.val->kind == WASMTIME_COMPONENT_U32 && (h = r.of.result.val->of.u32) > 0,
	   "open default: ok(handle)");
	wasmtime_component_val_delete(&r);

	r = execute(&ctx, h, "CREATE TABLE t (i, r, s, b, n)", false);
	ok(r.kind == WASMTIME_COMPONENT_RESULT && r.of.result.is_ok && field(r.of.result.val, "columns") &&
	       field(r.of.result.val, "columns")->of.list.size == 0 &&
	       field(r.of.result.val, "rows")->of.list.size == 0,
	   "execute: ok(query-result) with no columns and no rows");
	wasmtime_component_val_delete(&r);
	r = execute(&ctx, h, "INSERT INTO t VALUES (?, ?, ?, ?, ?)", true);
	ok(r.kind == WASMTIME_COMPONENT_RESULT && r.of.result.is_ok, "execute with each value variant");
	wasmtime_component_val_delete(&r);
	r = execute(&ctx, h, "SELECT * FROM t", false);
	rows = r.of.result.is_ok ? field(r.of.result.val, "rows") : NULL;
	vals = rows && rows->of.list.size == 1 ? field(&rows->of.list.data[0], "values") : NULL;
	ok(vals && vals->of.list.size == 5, "one row of five values: %s", vals ? "yes" : "no");
	if (vals && vals->of.list.size == 5) {
		const wasmtime_component_val_t *v = vals->of.list.data;
		ok(name_is(&v[0].of.variant.discriminant, "integer") && v[0].of.variant.val->of.s64 == 7,
		   "integer(7)");
		ok(name_is(&v[1].of.variant.discriminant, "real") && v[1].of.variant.val->of.f64 == 0.5,
		   "real(0.5)");
		ok(name_is(&v[2].of.variant.discriminant, "text") &&
		       v[2].of.variant.val->of.string.size == 1 &&
		       v[2].of.variant.val->of.string.data[0] == 't',
		   "text(\"t\")");
		ok(name_is(&v[3].of.variant.discriminant, "blob") && v[3].of.variant.val->of.list.size == 2 &&
		       v[3].of.variant.val->of.list.data[1].of.u8 == 2,
		   "blob([1, 2])");
		ok(name_is(&v[4].of.variant.discriminant, "null") && !v[4].of.variant.val, "null");
	}
	ok(r.of.result.is_ok && field(r.of.result.val, "columns")->of.list.size == 5 &&
	       name_is(&field(r.of.result.val, "columns")->of.list.data[4].of.string, "n"),
	   "the columns by name");
	wasmtime_component_val_delete(&r);
	r = execute(&ctx, h, "SELEC", false);
	ok(!trapped && is_err(&r, "io", "syntax error"), "bad SQL: io(message), no trap");
	wasmtime_component_val_delete(&r);
	r = execute(&ctx, h, "PRAGMA max_page_count = 1", false);
	wasmtime_component_val_delete(&r);
	r = execute(&ctx, h, "INSERT INTO t (b) VALUES (zeroblob(100000))", false);
	ok(is_err(&r, "database-full", NULL), "a full database: database-full");
	wasmtime_component_val_delete(&r);
	{
		wasmtime_component_val_t b[3], *p;
		wh_val_u32(&b[0], h);
		wh_val_cstring(&b[1], "SELECT ?");
		p = wh_val_list(&b[2], 1);
		wh_val_list(&p[0], 0);
		r = call(&ctx, "execute", b, 3, 1);
		ok(trapped,
		   "a parameter that is not a value variant traps (the linker would have refused it)");
		wasmtime_component_val_delete(&r);
	}
	r = execute(&ctx, h + 1000, "SELECT 1", false);
	ok(is_err(&r, "invalid-connection", NULL),
	   "execute on a handle that was never opened: invalid-connection");
	wasmtime_component_val_delete(&r);
	wh_val_u32(&a[0], h);
	r = call(&ctx, "close", a, 1, 0);
	ok(!trapped && ctx.n_table >= 1 && !wh_get(&ctx, h, WH_SQL_CONN), "close forgets the handle");
	r = execute(&ctx, h, "SELECT 1", false);
	ok(is_err(&r, "invalid-connection", NULL), "execute on a closed handle: invalid-connection");
	wasmtime_component_val_delete(&r);
	wh_val_u32(&a[0], h);
	r = call(&ctx, "close", a, 1, 0);
	ok(!trapped, "closing it again is no error");

	wh_val_cstring(&a[0], "default");
	r = call(&ctx, "open", a, 1, 1);
	wasmtime_component_val_delete(&r);
	wh_ctx_release(&ctx);
	ok(ctx.n_table == 0, "the end of the request closes what the guest left open");
	wh_sqldb_free(db);
	app_runtime_config_free(rc);
}

static void cleanup(void)
{
	char cmd[PATH_MAX + 16];

	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (tmp[0] && system(cmd) != 0)
		printf("# could not remove %s\n", tmp);
}

int main(void)
{
	const char *base = getenv("TMPDIR");
	struct app_runtime_config *rc;
	struct wh_sqldb *db = NULL;
	struct sk_error err = {0};
	char *real;

	(void)snprintf(tmp, sizeof(tmp), "%s/test-sqlite-db-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmp)) {
		ok(0, "mkdtemp %s", tmp);
		return tap_done();
	}
	if ((real = realpath(tmp, NULL))) {
		(void)snprintf(tmp, sizeof(tmp), "%s", real);
		free(real);
	}
	test_table();
	rc = parse("[sqlite_database.mem]\ntype = \"spin\"\n[sqlite_database.file]\ntype = \"spin\"\npath = "
	           "\"f.db\"\n"
	           "[sqlite_database.caps]\ntype = \"spin\"\npath = \"caps.db\"\n");
	if (rc && wh_sqldb_new(rc, path_in("state"), &db, &err) == 0) {
		test_values(wh_sqldb_find(db, "default", 7));
		test_caps(wh_sqldb_find(db, "caps", 4));
		test_conns(wh_sqldb_find(db, "mem", 3), wh_sqldb_find(db, "file", 4));
		test_threads(wh_sqldb_find(db, "file", 4));
		test_deadline(wh_sqldb_find(db, "file", 4), wh_sqldb_find(db, "mem", 3));
		ok(exists(path_in("state/sqlite_db.db")),
		   "the default database's file is in the state folder");
	} else {
		ok(0, "databases: %s", err.message);
	}
	wh_sqldb_free(db);
	app_runtime_config_free(rc);

	/* persistence: a new table on the same files */
	db = NULL;
	rc = parse("[sqlite_database.file]\ntype = \"spin\"\npath = \"f.db\"\n");
	if (rc && wh_sqldb_new(rc, NULL, &db, &err) == 0) {
		struct wh_sqldb_conn *c = NULL;
		ok(wh_sqldb_open(wh_sqldb_find(db, "file", 4), &c, &err) == 0 && count(c, "w") == 200,
		   "the rows outlive the app's databases: a new table reads them from the file");
		wh_sqldb_close(c);
	}
	wh_sqldb_free(db);
	app_runtime_config_free(rc);
	test_host();
	cleanup();
	return tap_done();
}
