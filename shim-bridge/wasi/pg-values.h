/* Spin's PostgreSQL values and libpq, for outbound-pg.c: the parameters a
 * guest passes, as libpq parameters, and a result's columns and rows, as
 * the row-set of one interface version.
 *
 * One set of conversions serves every version; the version only says which
 * db-data-type and db-value cases it has (pg_ver). Parameters are read
 * whatever version they come from (wasmtime has already checked them
 * against the guest's WIT, and no case name means two things). Results are
 * asked of libpq in binary, so nothing depends on the session's DateStyle,
 * IntervalStyle, TimeZone or extra_float_digits; a column type the version
 * has no case for is other (and its values unsupported). Failures are
 * rdbms.h's (struct wh_db_fail; its res the failed PGresult), and so are
 * the caps. */
#ifndef SPINKUBE_WASI_PG_VALUES_H
#define SPINKUBE_WASI_PG_VALUES_H

#include <libpq-fe.h>
#include <stdint.h>

#include "shim-bridge/wasi/host.h"
#include "shim-bridge/wasi/rdbms.h"


/* The interface versions: fermyon:spin/postgres@2.0.0 (with rdbms-types),
 * spin:postgres/postgres@3.0.0 (dates and times), @4.0.0 (uuid, jsonb,
 * decimal, ranges, arrays, interval; other(name), unsupported(bytes) and a
 * structured query error). */
enum pg_ver { PG_V2 = 2, PG_V3 = 3, PG_V4 = 4 };

/* The parameters of one statement, for PQexecParams. values[i] is NULL for
 * db-null, else owned (freed by pg_params_free). */
struct pg_params {
	int n;
	Oid *types;
	char **values;
	int *lengths;
	int *formats;
};

/* Read list<parameter-value> v into *p (zeroed by the caller). -1 with f
 * set (bad-parameter, other) on a value libpq cannot take or over a cap. */
int pg_params_read(const wasmtime_component_val_t *v, struct pg_params *p, struct wh_db_fail *f);
void pg_params_free(struct pg_params *p);

/* A non-NULL value of column type `type` in libpq's binary format, s[0..n)
 * (from the server: outside input), as a db-value of version ver into
 * *out: its kind's case, or unsupported. -1 with f set
 * (value-conversion-failed) when it does not decode; *out is then untouched.
 * Any bytes are safe here (tests/fuzz/fuzz-pg-values.c). */
int pg_value_decode(Oid type, enum pg_ver ver, const unsigned char *s, size_t n, wasmtime_component_val_t *out,
                    struct wh_db_fail *f);

/* res (a binary-format PGresult of tuples) as the row-set of version ver
 * into *out; conn answers the names of types @4 reports as other(name).
 * -1 with f set (value-conversion-failed, query-failed) past a cap or on a
 * value that does not decode; *out is then whatever was built (the caller
 * deletes it). */
int pg_row_set(PGconn *conn, const PGresult *res, enum pg_ver ver, wasmtime_component_val_t *out,
               struct wh_db_fail *f);

#endif
