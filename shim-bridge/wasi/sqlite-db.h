/* The SQLite databases behind Spin's sqlite interfaces
 * (fermyon:spin/sqlite, fermyon:spin/sqlite@2.0.0, spin:sqlite/sqlite@3.0.0
 * in shim-bridge/wasi/spin.c), built from the [sqlite_database.*] tables of
 * the runtime config (shim-bridge/app/runtime-config.h).
 *
 * One struct wh_sqldb per app, shared by every component and worker thread.
 * Database "default" is always defined: unless the runtime config defines it,
 * it lives at <state dir>/sqlite_db.db (Spin's file name), or in memory when
 * there is no state folder. A database in a file is opened in WAL mode with a
 * busy timeout, and each guest open is a connection of its own, so requests
 * on several threads read and write it at once (writers take turns). A
 * database in memory is one connection behind a mutex, shared by every open.
 *
 * Every input from a guest is capped (statement, parameters, values) and so
 * is what a query returns (rows, bytes): going over is an error, -E2BIG,
 * with a message naming the cap. */
#ifndef SPINKUBE_WASI_SQLITE_DB_H
#define SPINKUBE_WASI_SQLITE_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "shim-bridge/app/runtime-config.h"

/* The default database: its file in the state folder, and its label. */
#define WH_SQL_DEFAULT_FILE  "sqlite_db.db"
#define WH_SQL_DEFAULT_LABEL "default"

/* Caps. A blob crosses wasmtime's C API as one 32-byte value per byte, so a
 * text or blob value is capped at the host's list<u8> limit (1 MiB), and the
 * whole of a result at a few of them. */
#define WH_SQL_STATEMENT_MAX    ((size_t)1024 * 1024)     /* bytes of one statement */
#define WH_SQL_PARAMS_MAX       ((size_t)10000)           /* parameters of one statement */
#define WH_SQL_VALUE_MAX        ((size_t)1024 * 1024)     /* bytes of one text or blob */
#define WH_SQL_ROWS_MAX         ((size_t)100000)          /* rows of one result */
#define WH_SQL_RESULT_MAX       ((size_t)4 * 1024 * 1024) /* text and blob bytes + 16 per value */
#define WH_SQL_PARAMS_BYTES_MAX ((size_t)4 * 1024 * 1024) /* text and blob bytes of the parameters */
/* Connections open at once on one database (each holds file descriptors). */
#define WH_SQL_CONNS_MAX 256
/* How long a statement waits for another connection's write lock. */
#define WH_SQL_BUSY_TIMEOUT_MS 5000

enum wh_sql_type { WH_SQL_INTEGER, WH_SQL_REAL, WH_SQL_TEXT, WH_SQL_BLOB, WH_SQL_NULL };

/* One value. Parameters borrow p; result values own it (malloc'd; NULL when
 * n is 0). Text is UTF-8 (a result's invalid bytes are replaced by '?'). */
struct wh_sql_value {
	enum wh_sql_type type;
	int64_t i;
	double f;
	void *p;
	size_t n;
};

struct wh_sql_column {
	char *name; /* owned, UTF-8 */
	size_t n;
};

/* A query's result: n_rows rows of n_columns values, row-major. */
struct wh_sql_result {
	struct wh_sql_column *columns;
	size_t n_columns;
	struct wh_sql_value *values;
	size_t n_rows;
};

struct wh_sqldb;
struct wh_sqldb_database;
struct wh_sqldb_conn;

/* The app's databases: every [sqlite_database.*] of rc (may be NULL) plus
 * the default database at <state_dir>/sqlite_db.db (in memory when
 * state_dir is NULL) unless rc defines "default". Nothing is opened yet.
 * *out is new (caller frees with wh_sqldb_free). */
int wh_sqldb_new(const struct app_runtime_config *rc, const char *state_dir, struct wh_sqldb **out,
                 struct sk_error *err);
void wh_sqldb_free(struct wh_sqldb *db);

/* A component's sqlite_databases at start, as Spin checks them: each must
 * be defined (else -ENOENT and a message with the fix) and open (its
 * folder made, WAL mode set). */
int wh_sqldb_check_component(struct wh_sqldb *db, const char *component_id, const char *const *labels,
                             size_t n, struct sk_error *err);

/* The database with this label (label[0..len)), borrowed from db; NULL
 * when none is defined. */
struct wh_sqldb_database *wh_sqldb_find(struct wh_sqldb *db, const char *label, size_t len);
const char *wh_sqldb_label(const struct wh_sqldb_database *d);
const char *wh_sqldb_path(const struct wh_sqldb_database *d); /* NULL: in memory */

/* A connection to d for one guest open: *out is new (close with
 * wh_sqldb_close, which accepts NULL). -EMFILE past WH_SQL_CONNS_MAX. */
int wh_sqldb_open(struct wh_sqldb_database *d, struct wh_sqldb_conn **out, struct sk_error *err);
void wh_sqldb_close(struct wh_sqldb_conn *c);

/* Run one SQL statement (stmt[0..len), trailing blanks, ';' and comments
 * allowed) with params bound to ?1..?N in order, stopping it once
 * CLOCK_MONOTONIC passes deadline_ns (-1: no deadline), as a guest's own
 * code stops at the request's time limit. On success *out is filled (free
 * with wh_sql_result_free). Errors: -E2BIG over a cap, -EINVAL (not one
 * statement, wrong number of parameters), -ENOSPC (the database or disk is
 * full), -EBUSY (locked past the busy timeout), -ETIMEDOUT (past the
 * deadline), -EIO (SQLite's own error), each with a one-line message naming
 * the database. */
int wh_sqldb_execute(struct wh_sqldb_conn *c, const char *stmt, size_t len, const struct wh_sql_value *params,
                     size_t n_params, int64_t deadline_ns, struct wh_sql_result *out, struct sk_error *err);
void wh_sql_result_free(struct wh_sql_result *r);

/* The rowid of the connection's last successful INSERT (0 when none), and
 * the rows changed by its last INSERT, UPDATE or DELETE. */
int64_t wh_sqldb_last_insert_rowid(const struct wh_sqldb_conn *c);
uint64_t wh_sqldb_changes(const struct wh_sqldb_conn *c);

#endif
