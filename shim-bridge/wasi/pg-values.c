/* Spin's PostgreSQL values to libpq and back (see pg-values.h). */
#include "shim-bridge/wasi/pg-values.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/utf8.h"
#include "shim-bridge/wasi/pg-internal.h"


/* --- calendar ---------------------------------------------------------------------------- */

/* The proleptic Gregorian date of day z counted from 1970-01-01 (the
 * era arithmetic of the civil calendar: 400-year eras of 146097 days). */
void pgv_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	yoe = z - era * 146097;
	yoe = (yoe - yoe / 1460 + yoe / 36524 - yoe / 146096) / 365;
	doy = z - era * 146097 - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* a = *q * b + *r with 0 <= *r < b (b > 0), without overflow anywhere in
 * int64_t's range. */
void pgv_floor_divmod(int64_t a, int64_t b, int64_t *q, int64_t *r)
{
	*q = a / b;
	*r = a % b;
	if (*r < 0) {
		*r += b;
		(*q)--;
	}
}

/* --- text ------------------------------------------------------------------------------- */

void pgv_pt_add(struct ptext *t, const char *s, size_t n)
{
	if (t->r == 0)
		t->r = sk_buf_append(&t->b, n ? s : "", n);
}

void pgv_pt_str(struct ptext *t, const char *s)
{
	pgv_pt_add(t, s, strlen(s));
}

void pgv_pt_fmt(struct ptext *t, const char *fmt, ...)
{
	char tmp[96];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	pgv_pt_add(t, tmp, n < 0 ? 0 : (size_t)n >= sizeof(tmp) ? sizeof(tmp) - 1 : (size_t)n);
}


/* --- results ---------------------------------------------------------------------------- */

/* What a column holds, whatever the version; each kind has one
 * db-data-type case and one db-value case of the same name. */
enum pk {
	PK_BOOL,
	PK_INT2,
	PK_INT4,
	PK_INT8,
	PK_FLOAT4,
	PK_FLOAT8,
	PK_TEXT,
	PK_BYTEA,
	PK_DATE,
	PK_TIME,
	PK_DATETIME,
	PK_TIMESTAMP,
	PK_UUID,
	PK_JSONB,
	PK_DECIMAL,
	PK_RANGE_INT4,
	PK_RANGE_INT8,
	PK_RANGE_NUM,
	PK_ARRAY_INT4,
	PK_ARRAY_INT8,
	PK_ARRAY_NUM,
	PK_ARRAY_TEXT,
	PK_INTERVAL,
	PK_OTHER,
};

static const struct {
	const char *name; /* the db-data-type and db-value case */
	enum pg_ver since;
} kinds[] = {
    [PK_BOOL] = {"boolean", PG_V2},         [PK_INT2] = {"int16", PG_V2},
    [PK_INT4] = {"int32", PG_V2},           [PK_INT8] = {"int64", PG_V2},
    [PK_FLOAT4] = {"floating32", PG_V2},    [PK_FLOAT8] = {"floating64", PG_V2},
    [PK_TEXT] = {"str", PG_V2},             [PK_BYTEA] = {"binary", PG_V2},
    [PK_DATE] = {"date", PG_V3},            [PK_TIME] = {"time", PG_V3},
    [PK_DATETIME] = {"datetime", PG_V3},    [PK_TIMESTAMP] = {"timestamp", PG_V3},
    [PK_UUID] = {"uuid", PG_V4},            [PK_JSONB] = {"jsonb", PG_V4},
    [PK_DECIMAL] = {"decimal", PG_V4},      [PK_RANGE_INT4] = {"range-int32", PG_V4},
    [PK_RANGE_INT8] = {"range-int64", PG_V4}, [PK_RANGE_NUM] = {"range-decimal", PG_V4},
    [PK_ARRAY_INT4] = {"array-int32", PG_V4}, [PK_ARRAY_INT8] = {"array-int64", PG_V4},
    [PK_ARRAY_NUM] = {"array-decimal", PG_V4}, [PK_ARRAY_TEXT] = {"array-str", PG_V4},
    [PK_INTERVAL] = {"interval", PG_V4},    [PK_OTHER] = {"other", PG_V2},
};

/* The kind of a column of type t in version ver: PK_OTHER when ver has no
 * case for it. timestamptz is timestamp (seconds since 1970), timestamp
 * without a zone datetime, as Spin has them. */
static enum pk kind_of(Oid t, enum pg_ver ver)
{
	enum pk k;

	switch (t) {
	case OID_BOOL: k = PK_BOOL; break;
	case OID_INT2: k = PK_INT2; break;
	case OID_INT4: k = PK_INT4; break;
	case OID_INT8: k = PK_INT8; break;
	case OID_FLOAT4: k = PK_FLOAT4; break;
	case OID_FLOAT8: k = PK_FLOAT8; break;
	case OID_TEXT:
	case OID_VARCHAR:
	case OID_BPCHAR:
	case OID_NAME: k = PK_TEXT; break;
	case OID_BYTEA: k = PK_BYTEA; break;
	case OID_DATE: k = PK_DATE; break;
	case OID_TIME: k = PK_TIME; break;
	case OID_TIMESTAMP: k = PK_DATETIME; break;
	case OID_TIMESTAMPTZ: k = PK_TIMESTAMP; break;
	case OID_UUID: k = PK_UUID; break;
	case OID_JSON:
	case OID_JSONB: k = PK_JSONB; break;
	case OID_NUMERIC: k = PK_DECIMAL; break;
	case OID_INT4RANGE: k = PK_RANGE_INT4; break;
	case OID_INT8RANGE: k = PK_RANGE_INT8; break;
	case OID_NUMRANGE: k = PK_RANGE_NUM; break;
	case OID_INT4_ARRAY: k = PK_ARRAY_INT4; break;
	case OID_INT8_ARRAY: k = PK_ARRAY_INT8; break;
	case OID_NUMERIC_ARRAY: k = PK_ARRAY_NUM; break;
	case OID_TEXT_ARRAY:
	case OID_VARCHAR_ARRAY: k = PK_ARRAY_TEXT; break;
	case OID_INTERVAL: k = PK_INTERVAL; break;
	default: k = PK_OTHER;
	}
	/* @2's uint cases are never produced: PostgreSQL has no unsigned types */
	return kinds[k].since <= ver ? k : PK_OTHER;
}

/* Big-endian reads of the binary wire formats. */
static uint64_t be_get(const unsigned char *p, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

static void val_s32(wasmtime_component_val_t *v, int32_t x)
{
	v->kind = WASMTIME_COMPONENT_S32;
	v->of.s32 = x;
}

/* numeric's binary form (ndigits, weight, sign, dscale, base-10000
 * digits) as its decimal text into t. */
static int numeric_text(const unsigned char *p, size_t n, struct ptext *t)
{
	int ndigits, weight, dscale;
	unsigned sign;

	if (n < 8)
		return -1;
	ndigits = (int16_t)be_get(p, 2);
	weight = (int16_t)be_get(p + 2, 2);
	sign = (unsigned)be_get(p + 4, 2);
	dscale = (int)be_get(p + 6, 2);
	if (ndigits < 0 || n != 8 + 2 * (size_t)ndigits || dscale > 0x3fff)
		return -1;
	if (sign == 0xC000 || sign == 0xD000 || sign == 0xF000) {
		pgv_pt_str(t, sign == 0xC000 ? "NaN" : sign == 0xD000 ? "Infinity" : "-Infinity");
		return t->r;
	}
	if (sign == 0x4000)
		pgv_pt_str(t, "-");
#define DIGIT(j) ((j) >= 0 && (j) < ndigits ? (unsigned)be_get(p + 8 + 2 * (size_t)(j), 2) : 0u)
	if (weight < 0)
		pgv_pt_str(t, "0");
	for (int j = 0; j <= weight; j++)
		pgv_pt_fmt(t, j ? "%04u" : "%u", DIGIT(j));
	if (dscale > 0) {
		pgv_pt_str(t, ".");
		for (int k = 1, left = dscale; left > 0; k++, left -= 4) {
			char g[8];
			(void)snprintf(g, sizeof(g), "%04u", DIGIT(weight + k) % 10000);
			pgv_pt_add(t, g, left < 4 ? (size_t)left : 4);
		}
	}
#undef DIGIT
	return t->r;
}

/* A decimal value (numeric's binary form) as a string value. */
static int decimal_val(const unsigned char *p, size_t n, wasmtime_component_val_t *v)
{
	struct ptext t = {sk_buf_make(WH_DB_VALUE_MAX), 0};
	int r = numeric_text(p, n, &t);

	if (r == 0)
		wh_val_string(v, t.b.data ? t.b.data : "", t.b.len);
	sk_buf_free(&t.b);
	return r;
}

/* An element of a range or array of kind elem (PK_INT4, PK_INT8,
 * PK_DECIMAL, PK_TEXT) into v. */
static int elem_val(enum pk elem, const unsigned char *p, size_t n, wasmtime_component_val_t *v)
{
	switch (elem) {
	case PK_INT4:
		if (n != 4)
			return -1;
		val_s32(v, (int32_t)be_get(p, 4));
		return 0;
	case PK_INT8:
		if (n != 8)
			return -1;
		wh_val_s64(v, (int64_t)be_get(p, 8));
		return 0;
	case PK_DECIMAL:
		return decimal_val(p, n, v);
	default:
		if (!sk_utf8_valid((const char *)p, n))
			return -1;
		wh_val_string(v, (const char *)p, n);
		return 0;
	}
}

/* A range's binary form: a flags byte, then the bounds present, each a
 * length and its element. As (option<(T, kind)>, option<(T, kind)>); an
 * empty range has neither bound. */
static int range_val(enum pk elem, const unsigned char *p, size_t n, wasmtime_component_val_t *out)
{
	enum { EMPTY = 0x01, LB_INC = 0x02, UB_INC = 0x04, LB_INF = 0x08, UB_INF = 0x10 };
	wasmtime_component_val_t *pair = wh_val_tuple(out, 2);
	unsigned flags;
	size_t at = 1;

	if (n < 1)
		return -1;
	flags = p[0];
	for (int b = 0; b < 2; b++) {
		bool present = !(flags & EMPTY) && !(flags & (b ? UB_INF : LB_INF));
		wasmtime_component_val_t inner, *bound;
		size_t len;

		wh_val_option(&pair[b], NULL);
		if (!present)
			continue;
		if (at + 4 > n || (len = (size_t)be_get(p + at, 4)) > n - at - 4)
			return -1;
		bound = wh_val_tuple(&inner, 2);
		if (elem_val(elem, p + at + 4, len, &bound[0]) < 0) {
			wasmtime_component_val_delete(&inner);
			return -1;
		}
		wh_val_enum(&bound[1], flags & (b ? UB_INC : LB_INC) ? "inclusive" : "exclusive");
		wh_val_option(&pair[b], &inner);
		at += 4 + len;
	}
	return at == n ? 0 : -1;
}

/* A one-dimensional array's binary form (ndim, has-null, element type,
 * then per dimension its size and lower bound, then each element as a
 * length, -1 for NULL, and its bytes) as list<option<T>>. */
static int array_val(enum pk elem, const unsigned char *p, size_t n, wasmtime_component_val_t *out)
{
	int32_t ndim = n < 12 ? -1 : (int32_t)be_get(p, 4);
	size_t count = 0, at = 12;
	wasmtime_component_val_t *items;

	if (ndim < 0 || ndim > 1)
		return ndim > 1 ? -2 : -1;
	if (ndim == 1) {
		if (n < 20 || (int32_t)be_get(p + 12, 4) < 0)
			return -1;
		count = (size_t)be_get(p + 12, 4);
		at = 20;
		if (count > (n - at) / 4)
			return -1;
	}
	items = wh_val_list(out, count);
	for (size_t i = 0; i < count; i++) {
		int32_t len;
		wasmtime_component_val_t e;
		if (at + 4 > n)
			return -1;
		len = (int32_t)be_get(p + at, 4);
		at += 4;
		if (len < 0) {
			wh_val_option(&items[i], NULL);
			continue;
		}
		if ((size_t)len > n - at || elem_val(elem, p + at, (size_t)len, &e) < 0)
			return -1;
		wh_val_option(&items[i], &e);
		at += (size_t)len;
	}
	return at == n ? 0 : -1;
}

/* A date (days since 2000-01-01) as (year, month, day) into t[at..]. */
static void date_fields(int64_t days, wasmtime_component_val_t *t)
{
	int64_t y;
	unsigned m, d;

	pgv_civil_from_days(days + PG_EPOCH_DAYS, &y, &m, &d);
	val_s32(&t[0], (int32_t)y);
	wh_val_u8(&t[1], (uint8_t)m);
	wh_val_u8(&t[2], (uint8_t)d);
}

/* Microseconds within a day as (hour, minute, second, nanosecond). */
static void time_fields(int64_t us, wasmtime_component_val_t *t)
{
	wh_val_u8(&t[0], (uint8_t)(us / 3600000000));
	wh_val_u8(&t[1], (uint8_t)(us / 60000000 % 60));
	wh_val_u8(&t[2], (uint8_t)(us / 1000000 % 60));
	wh_val_u32(&t[3], (uint32_t)(us % 1000000) * 1000);
}

/* The value of a binary-format cell of kind k as its db-value case's
 * payload into x; -1 when it does not decode (f set). */
static int cell_payload(enum pk k, const unsigned char *s, size_t n, wasmtime_component_val_t *x,
                        struct wh_db_fail *f)
{
	static const char *const iv_fields[] = {"micros", "days", "months"};
	static const size_t width[] = {[PK_BOOL] = 1, [PK_INT2] = 2, [PK_INT4] = 4, [PK_INT8] = 8,
	                               [PK_FLOAT4] = 4, [PK_FLOAT8] = 8, [PK_DATE] = 4, [PK_TIME] = 8,
	                               [PK_DATETIME] = 8, [PK_TIMESTAMP] = 8, [PK_UUID] = 16,
	                               [PK_INTERVAL] = 16};
	int r;

	if (k < sizeof(width) / sizeof(width[0]) && width[k] && n != width[k])
		return wh_db_failf(f, "value-conversion-failed", "a value of %s of %zu bytes, not %zu", kinds[k].name, n,
		                width[k]);
	switch (k) {
	case PK_BOOL:
		wh_val_bool(x, s[0] != 0);
		return 0;
	case PK_INT2:
		x->kind = WASMTIME_COMPONENT_S16;
		x->of.s16 = (int16_t)be_get(s, 2);
		return 0;
	case PK_INT4:
		val_s32(x, (int32_t)be_get(s, 4));
		return 0;
	case PK_INT8:
		wh_val_s64(x, (int64_t)be_get(s, 8));
		return 0;
	case PK_FLOAT4: {
		uint32_t bits = (uint32_t)be_get(s, 4);
		x->kind = WASMTIME_COMPONENT_F32;
		memcpy(&x->of.f32, &bits, 4);
		return 0;
	}
	case PK_FLOAT8: {
		uint64_t bits = be_get(s, 8);
		double d;
		memcpy(&d, &bits, 8);
		wh_val_f64(x, d);
		return 0;
	}
	case PK_TEXT:
		if (!sk_utf8_valid((const char *)s, n))
			return wh_db_failf(f, "value-conversion-failed", "a text value is not UTF-8");
		wh_val_string(x, (const char *)s, n);
		return 0;
	case PK_BYTEA:
		wh_val_bytes(x, s, n);
		return 0;
	case PK_DATE: {
		int32_t days = (int32_t)be_get(s, 4);
		if (days == INT32_MAX || days == INT32_MIN)
			return wh_db_failf(f, "value-conversion-failed", "the date %sinfinity has no (year, month, day)",
			                days == INT32_MIN ? "-" : "");
		date_fields(days, wh_val_tuple(x, 3));
		return 0;
	}
	case PK_TIME:
		time_fields((int64_t)be_get(s, 8), wh_val_tuple(x, 4));
		return 0;
	case PK_DATETIME:
	case PK_TIMESTAMP: {
		int64_t us = (int64_t)be_get(s, 8), q, rem;
		if (us == INT64_MAX || us == INT64_MIN)
			return wh_db_failf(f, "value-conversion-failed", "the timestamp %sinfinity has no %s value",
			                us == INT64_MIN ? "-" : "", kinds[k].name);
		if (k == PK_TIMESTAMP) {
			pgv_floor_divmod(us, 1000000, &q, &rem);
			wh_val_s64(x, q + (int64_t)PG_EPOCH_DAYS * 86400);
		} else {
			wasmtime_component_val_t *t = wh_val_tuple(x, 7);
			pgv_floor_divmod(us, US_PER_DAY, &q, &rem);
			date_fields(q, t);
			time_fields(rem, t + 3);
		}
		return 0;
	}
	case PK_UUID: {
		char u[37];
		(void)snprintf(u, sizeof(u),
		               "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", s[0], s[1],
		               s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11], s[12], s[13], s[14],
		               s[15]);
		wh_val_string(x, u, 36);
		return 0;
	}
	case PK_JSONB:
		/* jsonb's binary form is a version byte (1) and the text; json's the text */
		wh_val_bytes(x, n && s[0] == 1 ? s + 1 : s, n && s[0] == 1 ? n - 1 : n);
		return 0;
	case PK_DECIMAL:
		if (decimal_val(s, n, x) < 0)
			return wh_db_failf(f, "value-conversion-failed", "a numeric value does not decode");
		return 0;
	case PK_RANGE_INT4:
	case PK_RANGE_INT8:
	case PK_RANGE_NUM:
		if (range_val(k == PK_RANGE_INT4 ? PK_INT4 : k == PK_RANGE_INT8 ? PK_INT8 : PK_DECIMAL, s, n, x) < 0)
			return wh_db_failf(f, "value-conversion-failed", "a value of %s does not decode", kinds[k].name);
		return 0;
	case PK_ARRAY_INT4:
	case PK_ARRAY_INT8:
	case PK_ARRAY_NUM:
	case PK_ARRAY_TEXT:
		r = array_val(k == PK_ARRAY_INT4   ? PK_INT4
		              : k == PK_ARRAY_INT8 ? PK_INT8
		              : k == PK_ARRAY_NUM  ? PK_DECIMAL
		                                   : PK_TEXT,
		              s, n, x);
		if (r == -2)
			return wh_db_failf(f, "value-conversion-failed",
			                "a value of %s has more than one dimension: Spin's arrays have one",
			                kinds[k].name);
		if (r < 0)
			return wh_db_failf(f, "value-conversion-failed", "a value of %s does not decode", kinds[k].name);
		return 0;
	case PK_INTERVAL: {
		wasmtime_component_valrecord_entry_t *e = wh_val_record(x, iv_fields, 3);
		wh_val_s64(&e[0].val, (int64_t)be_get(s, 8));
		val_s32(&e[1].val, (int32_t)be_get(s + 8, 4));
		val_s32(&e[2].val, (int32_t)be_get(s + 12, 4));
		return 0;
	}
	default:
		wh_val_bytes(x, s, n);
		return 0;
	}
}

int pg_value_decode(Oid type, enum pg_ver ver, const unsigned char *s, size_t n, wasmtime_component_val_t *out,
                    struct wh_db_fail *f)
{
	enum pk k = kind_of(type, ver);
	wasmtime_component_val_t x;

	if (n > WH_DB_VALUE_MAX)
		return wh_db_failf(f, "value-conversion-failed", "a %s of %zu bytes is over %zu",
		                k == PK_TEXT ? "text" : k == PK_BYTEA ? "bytea" : "value", n, WH_DB_VALUE_MAX);
	if (k == PK_OTHER && ver < PG_V4) {
		wh_val_variant(out, "unsupported", NULL);
		return 0;
	}
	wh_val_bool(&x, false);
	if (cell_payload(k, s, n, &x, f) < 0) {
		wasmtime_component_val_delete(&x);
		return -1;
	}
	wh_val_variant(out, k == PK_OTHER ? "unsupported" : kinds[k].name, &x);
	return 0;
}

/* One cell as a db-value of version ver: db-null, or what
 * pg_value_decode makes of it. */
static int db_value(const PGresult *res, int row, int col, enum pg_ver ver, wasmtime_component_val_t *out,
                    struct wh_db_fail *f)
{
	if (PQgetisnull(res, row, col)) {
		wh_val_variant(out, "db-null", NULL);
		return 0;
	}
	return pg_value_decode(PQftype(res, col), ver, (const unsigned char *)PQgetvalue(res, row, col),
	                       (size_t)PQgetlength(res, row, col), out, f);
}

/* The name of type t (pg_type.typname) as conn's server has it, for @4's
 * other(name); "oid N" when it cannot say. */
static void type_name(PGconn *conn, Oid t, char *buf, size_t size)
{
	char oid[16];
	const char *vals[1] = {oid};
	PGresult *r;

	(void)snprintf(oid, sizeof(oid), "%u", t);
	(void)snprintf(buf, size, "oid %u", t);
	r = PQexecParams(conn, "SELECT typname::text FROM pg_catalog.pg_type WHERE oid = $1::oid", 1, NULL, vals,
	                 NULL, NULL, 0);
	if (r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && PQnfields(r) == 1)
		(void)snprintf(buf, size, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
}

int pg_row_set(PGconn *conn, const PGresult *res, enum pg_ver ver, wasmtime_component_val_t *out,
               struct wh_db_fail *f)
{
	static const char *const fields[] = {"columns", "rows"};
	static const char *const col_fields[] = {"name", "data-type"};
	int nf = PQnfields(res), nr = PQntuples(res);
	size_t total = 0;
	wasmtime_component_valrecord_entry_t *rec;
	wasmtime_component_val_t *cols, *rows;
	enum pk *k;

	if (nr > WH_DB_ROWS_MAX)
		return wh_db_failf(f, "query-failed", "%d rows: spin-bridge hands over at most %d", nr, WH_DB_ROWS_MAX);
	for (int r = 0; r < nr; r++)
		for (int c = 0; c < nf; c++)
			total += (size_t)PQgetlength(res, r, c) + 16;
	if (total > WH_DB_RESULT_MAX)
		return wh_db_failf(f, "query-failed", "the result is more than spin-bridge hands over (%zu bytes)",
		                WH_DB_RESULT_MAX);
	if (!(k = calloc(nf ? (size_t)nf : 1, sizeof(*k))))
		return wh_db_failf(f, "other", "out of memory");
	rec = wh_val_record(out, fields, 2);
	cols = wh_val_list(&rec[0].val, (size_t)nf);
	for (int c = 0; c < nf; c++) {
		wasmtime_component_valrecord_entry_t *cr = wh_val_record(&cols[c], col_fields, 2);
		k[c] = kind_of(PQftype(res, c), ver);
		wh_val_text(&cr[0].val, PQfname(res, c));
		if (ver < PG_V4) {
			wh_val_enum(&cr[1].val, kinds[k[c]].name);
		} else if (k[c] == PK_OTHER) {
			wasmtime_component_val_t name;
			char buf[80];
			type_name(conn, PQftype(res, c), buf, sizeof(buf));
			wh_val_text(&name, buf);
			wh_val_variant(&cr[1].val, "other", &name);
		} else {
			wh_val_variant(&cr[1].val, kinds[k[c]].name, NULL);
		}
	}
	rows = wh_val_list(&rec[1].val, (size_t)nr);
	for (int r = 0; r < nr; r++) {
		wasmtime_component_val_t *vals = wh_val_list(&rows[r], (size_t)nf);
		for (int c = 0; c < nf; c++)
			if (db_value(res, r, c, ver, &vals[c], f) < 0) {
				free(k);
				return -1; /* out is freed by the caller with the rest */
			}
	}
	free(k);
	return 0;
}
