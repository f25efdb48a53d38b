/* fermyon:spin/rdbms-types, shared by the outbound database interfaces
 * (outbound-pg.c, outbound-mysql.c): the parameter values a guest sends,
 * the row set it gets back, the error variant, and the caps both apply.
 * PostgreSQL's @3 and @4 have value cases rdbms-types lacks, so its
 * values are pg-values.h's; its failures and caps are these.
 *
 * A database client decodes its own wire values into struct wh_db_value
 * (borrowing the bytes) and adds them row by row to a struct wh_db_rowset,
 * which checks every cap as it goes and builds the WIT values; parameters
 * come the other way, read once from the guest's list into owned C values.
 * The db-data-type and db-value cases are the same in the v1 (unversioned)
 * and 2.0.0 packages; only the error types differ (v1's mysql-error says
 * other-error where 2.0.0's error says other). */
#ifndef SPIN_BRIDGE_WASI_RDBMS_H
#define SPIN_BRIDGE_WASI_RDBMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wasmtime.h>

#include "shim-bridge/wasi/host.h"

#define WH_DB_STATEMENT_MAX ((size_t)1 << 20)  /* bytes of one statement */
#define WH_DB_PARAMS_MAX    10000              /* parameters of one statement */
#define WH_DB_PARAMS_BYTES  ((size_t)32 << 20) /* their str and binary bytes in all */
#define WH_DB_VALUE_MAX     WH_CHUNK_MAX       /* bytes of one str or binary, both ways */
#define WH_DB_ROWS_MAX      100000             /* rows of one result */
#define WH_DB_RESULT_MAX    ((size_t)32 << 20) /* bytes of one result (16 more per value) */
#define WH_DB_ADDRESS_MAX   4096               /* bytes of an address given to open */
#define WH_DB_CONNS_MAX     16                 /* connections one request holds open */

/* The db-data-type cases in WIT order (WH_DB_BOOLEAN..WH_DB_OTHER), and
 * the two db-value cases that are no type. A value's kind is one of
 * WH_DB_BOOLEAN..WH_DB_BINARY, WH_DB_NULL or WH_DB_UNSUPPORTED. */
enum wh_db_kind {
	WH_DB_BOOLEAN,
	WH_DB_INT8,
	WH_DB_INT16,
	WH_DB_INT32,
	WH_DB_INT64,
	WH_DB_UINT8,
	WH_DB_UINT16,
	WH_DB_UINT32,
	WH_DB_UINT64,
	WH_DB_FLOAT32,
	WH_DB_FLOAT64,
	WH_DB_STR,
	WH_DB_BINARY,
	WH_DB_OTHER,
	WH_DB_NULL,
	WH_DB_UNSUPPORTED,
};

/* One value. Signed integers in i, unsigned in u; str and binary bytes in
 * bytes (str: UTF-8, not NUL-terminated), borrowed or owned as the holder
 * says. */
struct wh_db_value {
	enum wh_db_kind kind;
	union {
		bool b;
		int64_t i;
		uint64_t u;
		float f32;
		double f64;
		struct {
			const char *p;
			size_t n;
		} bytes;
	} v;
};

/* The WIT case name of kind ("boolean", "int8", ..., "db-null",
 * "unsupported"). Static string. */
const char *wh_db_kind_name(enum wh_db_kind kind);

/* Does the integer x (signed when sign) fit the integer kind? Also true
 * for kinds that are not integers. */
bool wh_db_int_fits(enum wh_db_kind kind, bool sign, int64_t i, uint64_t u);

/* --- failures ---------------------------------------------------------------------------
 * A failed call answers err(case(message)) of the error variant. */

struct wh_db_fail {
	const char *error_case; /* "connection-failed", "bad-parameter", "query-failed",
	                         * "value-conversion-failed", "other" (static) */
	char msg[512];          /* one line */
	const void *res;        /* the client's result of the failed statement when it has one
	                         * (borrowed; PostgreSQL @4 makes its db-error of it), or NULL */
};

/* Set f and return -1, so a failure site is one line. */
int wh_db_failf(struct wh_db_fail *f, const char *error_case, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* res = err(f's case(f's message)); v1 names "other" "other-error" (the
 * v1 mysql-error). Returns NULL (no trap), for a host function's return. */
wasmtime_error_t *wh_db_fail_result(wasmtime_component_val_t *res, const struct wh_db_fail *f, bool v1);

/* --- parameters ------------------------------------------------------------------------- */

/* What wh_db_params_read makes: v[i] for parameter i, str and binary bytes
 * in buffers the struct owns (each NUL-terminated, for clients that want
 * C strings: a str may still hold U+0000 inside). */
struct wh_db_params {
	size_t n;
	struct wh_db_value *v;
	char **owned; /* n buffers, NULL where none */
};

/* Read list<parameter-value> into *p (free with wh_db_params_free, also
 * after a failure). A value of the wrong shape, more than WH_DB_PARAMS_MAX
 * parameters, a str or binary over WH_DB_VALUE_MAX or more than
 * WH_DB_PARAMS_BYTES in all: bad-parameter. */
int wh_db_params_read(const wasmtime_component_val_t *list, struct wh_db_params *p, struct wh_db_fail *f);
void wh_db_params_free(struct wh_db_params *p);

/* --- row sets --------------------------------------------------------------------------- */

struct wh_db_column {
	const char *name;     /* NUL-terminated; shown with '?' for bytes that are not UTF-8 */
	enum wh_db_kind type; /* WH_DB_BOOLEAN..WH_DB_OTHER */
};

/* A row set being built: rows of ncols db-values in wasmtime's value form,
 * owned here until wh_db_rowset_finish hands them over. */
struct wh_db_rowset {
	size_t ncols;
	wasmtime_component_val_t *rows;
	size_t n_rows, cap_rows;
	size_t bytes; /* counted against WH_DB_RESULT_MAX */
};

/* Start an empty row set of ncols columns. */
void wh_db_rowset_init(struct wh_db_rowset *rs, size_t ncols);

/* Append the row vals[0..ncols). Failures (nothing is appended): more
 * than WH_DB_ROWS_MAX rows or WH_DB_RESULT_MAX bytes, query-failed; a str
 * or binary over WH_DB_VALUE_MAX or a str that is not UTF-8,
 * value-conversion-failed (the message names the column); out of memory,
 * other. cols (may be NULL) names the columns in messages. */
int wh_db_rowset_add(struct wh_db_rowset *rs, const struct wh_db_value *vals, const struct wh_db_column *cols,
                     struct wh_db_fail *f);

/* out = row-set { columns, rows }: the rows move into out (rs is left
 * empty), the columns are copied. */
void wh_db_rowset_finish(struct wh_db_rowset *rs, const struct wh_db_column *cols,
                         wasmtime_component_val_t *out);

/* Free the rows built so far. */
void wh_db_rowset_clear(struct wh_db_rowset *rs);

#endif
