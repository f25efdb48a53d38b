/* shim-bridge/wasi/pg-internal.h: what PostgreSQL's parameters
 * (pg-params.c) and results (pg-values.c) share: type OIDs, PostgreSQL's
 * epoch, the civil calendar and a capped text builder. */
#ifndef SPINKUBE_WASI_PG_INTERNAL_H
#define SPINKUBE_WASI_PG_INTERNAL_H

#include <stdint.h>
#include <stddef.h>

#include "common/buf.h"

/* PostgreSQL type OIDs (pg_type.dat). */
enum {
	OID_BOOL = 16,
	OID_BYTEA = 17,
	OID_NAME = 19,
	OID_INT8 = 20,
	OID_INT2 = 21,
	OID_INT4 = 23,
	OID_TEXT = 25,
	OID_JSON = 114,
	OID_FLOAT4 = 700,
	OID_FLOAT8 = 701,
	OID_INT4_ARRAY = 1007,
	OID_TEXT_ARRAY = 1009,
	OID_VARCHAR_ARRAY = 1015,
	OID_INT8_ARRAY = 1016,
	OID_BPCHAR = 1042,
	OID_VARCHAR = 1043,
	OID_DATE = 1082,
	OID_TIME = 1083,
	OID_TIMESTAMP = 1114,
	OID_TIMESTAMPTZ = 1184,
	OID_INTERVAL = 1186,
	OID_NUMERIC_ARRAY = 1231,
	OID_NUMERIC = 1700,
	OID_UUID = 2950,
	OID_JSONB = 3802,
	OID_INT4RANGE = 3904,
	OID_NUMRANGE = 3906,
	OID_INT8RANGE = 3926,
};

/* Days from 1970-01-01 to 2000-01-01, PostgreSQL's epoch. */
#define PG_EPOCH_DAYS 10957
#define US_PER_DAY    INT64_C(86400000000)

/* A text parameter under construction: appends fail sticky on the cap. */
struct ptext {
	struct sk_buf b;
	int r;
};

void pgv_pt_add(struct ptext *t, const char *s, size_t n);
void pgv_pt_str(struct ptext *t, const char *s);
void pgv_pt_fmt(struct ptext *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The proleptic Gregorian date of day z counted from 1970-01-01. */
void pgv_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/* a = *q * b + *r with 0 <= *r < b (b > 0), without overflow. */
void pgv_floor_divmod(int64_t a, int64_t b, int64_t *q, int64_t *r);

#endif
