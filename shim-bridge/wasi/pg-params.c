/* shim-bridge/wasi/pg-params.c: a guest's PostgreSQL parameters (every
 * interface version's parameter-value) to libpq's text or binary values. */
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

/* --- parameters ------------------------------------------------------------------------- */

void pg_params_free(struct pg_params *p)
{
	for (int i = 0; p->values && i < p->n; i++)
		free(p->values[i]);
	free(p->types);
	free(p->values);
	free(p->lengths);
	free(p->formats);
	*p = (struct pg_params){0};
}

/* tag[0..tl) is the string literal s */
#define IS(tag, tl, s) ((tl) == sizeof(s "") - 1 && memcmp((tag), (s), (tl)) == 0)

/* A double-quoted element of an array or range literal: " and \ escaped. */
static void pt_quoted(struct ptext *t, const char *s, size_t n)
{
	pgv_pt_add(t, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			pgv_pt_add(t, "\\", 1);
		pgv_pt_add(t, &s[i], 1);
	}
	pgv_pt_add(t, "\"", 1);
}

/* The tuple field i of v, or NULL when v is not a tuple of n. */
static const wasmtime_component_val_t *field(const wasmtime_component_val_t *v, size_t n, size_t i)
{
	if (v->kind != WASMTIME_COMPONENT_TUPLE || v->of.tuple.size != n)
		return NULL;
	return &v->of.tuple.data[i];
}

static unsigned u8_of(const wasmtime_component_val_t *v)
{
	return v && v->kind == WASMTIME_COMPONENT_U8 ? v->of.u8 : 0;
}

/* Date (year, month, day) as ISO text, years before 1 as BC. */
static void pt_date(struct ptext *t, const wasmtime_component_val_t *x, size_t n, size_t at, bool *bc)
{
	const wasmtime_component_val_t *y = field(x, n, at);
	int64_t year = y && y->kind == WASMTIME_COMPONENT_S32 ? y->of.s32 : 0;

	*bc = year <= 0;
	pgv_pt_fmt(t, "%04" PRId64 "-%02u-%02u", *bc ? 1 - year : year, u8_of(field(x, n, at + 1)),
	       u8_of(field(x, n, at + 2)));
}

/* Time (hour, minute, second, nanosecond) as text, to the microsecond. */
static void pt_time(struct ptext *t, const wasmtime_component_val_t *x, size_t n, size_t at)
{
	const wasmtime_component_val_t *ns = field(x, n, at + 3);

	pgv_pt_fmt(t, "%02u:%02u:%02u.%06u", u8_of(field(x, n, at)), u8_of(field(x, n, at + 1)),
	       u8_of(field(x, n, at + 2)), ns && ns->kind == WASMTIME_COMPONENT_U32 ? ns->of.u32 / 1000 : 0);
}

/* One bound of a range literal: tuple<T, range-bound-kind> or none. */
static void pt_bound(struct ptext *t, const wasmtime_component_val_t *opt, bool lower)
{
	const wasmtime_component_val_t *b = NULL, *v, *k;
	bool inclusive;

	(void)wh_arg_option(opt, &b);
	if (!b || !(v = field(b, 2, 0)) || !(k = field(b, 2, 1))) {
		if (lower)
			pgv_pt_str(t, "(");
		else
			pgv_pt_str(t, ")");
		return;
	}
	inclusive = k->kind == WASMTIME_COMPONENT_ENUM &&
	            IS(k->of.enumeration.data, k->of.enumeration.size, "inclusive");
	if (lower)
		pgv_pt_str(t, inclusive ? "[" : "(");
	if (v->kind == WASMTIME_COMPONENT_S32)
		pgv_pt_fmt(t, "%" PRId32, v->of.s32);
	else if (v->kind == WASMTIME_COMPONENT_S64)
		pgv_pt_fmt(t, "%" PRId64, v->of.s64);
	else if (v->kind == WASMTIME_COMPONENT_STRING)
		pt_quoted(t, v->of.string.data, v->of.string.size);
	if (!lower)
		pgv_pt_str(t, inclusive ? "]" : ")");
}

/* An array literal of list<option<T>>. */
static void pt_array(struct ptext *t, const wasmtime_component_val_t *x)
{
	pgv_pt_str(t, "{");
	for (size_t i = 0; x->kind == WASMTIME_COMPONENT_LIST && i < x->of.list.size; i++) {
		const wasmtime_component_val_t *e = NULL;
		if (i)
			pgv_pt_str(t, ",");
		(void)wh_arg_option(&x->of.list.data[i], &e);
		if (!e)
			pgv_pt_str(t, "NULL");
		else if (e->kind == WASMTIME_COMPONENT_S32)
			pgv_pt_fmt(t, "%" PRId32, e->of.s32);
		else if (e->kind == WASMTIME_COMPONENT_S64)
			pgv_pt_fmt(t, "%" PRId64, e->of.s64);
		else if (e->kind == WASMTIME_COMPONENT_STRING)
			pt_quoted(t, e->of.string.data, e->of.string.size);
	}
	pgv_pt_str(t, "}");
}

/* The record field named name of v, or NULL. */
static const wasmtime_component_val_t *rec_field(const wasmtime_component_val_t *v, const char *name)
{
	if (v->kind != WASMTIME_COMPONENT_RECORD)
		return NULL;
	for (size_t i = 0; i < v->of.record.size; i++)
		if (v->of.record.data[i].name.size == strlen(name) &&
		    memcmp(v->of.record.data[i].name.data, name, strlen(name)) == 0)
			return &v->of.record.data[i].val;
	return NULL;
}

static void be_put(unsigned char *p, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

/* Parameter i (a non-null parameter-value tag with payload x) as text of
 * type *type into t, or, for binary and interval, as binary (*binary). */
static int param_encode(const char *tag, size_t tl, const wasmtime_component_val_t *x, size_t i,
                        struct ptext *t, Oid *type, bool *binary, struct wh_db_fail *f)
{
	bool bc = false;

	*binary = false;
	if (IS(tag, tl, "boolean") && x->kind == WASMTIME_COMPONENT_BOOL) {
		*type = OID_BOOL;
		pgv_pt_str(t, x->of.boolean ? "t" : "f");
	} else if (IS(tag, tl, "int8") && x->kind == WASMTIME_COMPONENT_S8) {
		*type = OID_INT2;
		pgv_pt_fmt(t, "%d", x->of.s8);
	} else if (IS(tag, tl, "int16") && x->kind == WASMTIME_COMPONENT_S16) {
		*type = OID_INT2;
		pgv_pt_fmt(t, "%d", x->of.s16);
	} else if (IS(tag, tl, "int32") && x->kind == WASMTIME_COMPONENT_S32) {
		*type = OID_INT4;
		pgv_pt_fmt(t, "%" PRId32, x->of.s32);
	} else if (IS(tag, tl, "int64") && x->kind == WASMTIME_COMPONENT_S64) {
		*type = OID_INT8;
		pgv_pt_fmt(t, "%" PRId64, x->of.s64);
	} else if (IS(tag, tl, "uint8") && x->kind == WASMTIME_COMPONENT_U8) {
		*type = OID_INT2;
		pgv_pt_fmt(t, "%u", x->of.u8);
	} else if (IS(tag, tl, "uint16") && x->kind == WASMTIME_COMPONENT_U16) {
		*type = OID_INT4;
		pgv_pt_fmt(t, "%u", x->of.u16);
	} else if (IS(tag, tl, "uint32") && x->kind == WASMTIME_COMPONENT_U32) {
		*type = OID_INT8;
		pgv_pt_fmt(t, "%" PRIu32, x->of.u32);
	} else if (IS(tag, tl, "uint64") && x->kind == WASMTIME_COMPONENT_U64) {
		if (x->of.u64 > INT64_MAX)
			return wh_db_failf(f, "bad-parameter", "parameter %zu: %" PRIu64 " does not fit PostgreSQL's int8",
			                i + 1, x->of.u64);
		*type = OID_INT8;
		pgv_pt_fmt(t, "%" PRIu64, x->of.u64);
	} else if (IS(tag, tl, "floating32") && x->kind == WASMTIME_COMPONENT_F32) {
		*type = OID_FLOAT4;
		pgv_pt_fmt(t, "%.9g", (double)x->of.f32);
	} else if (IS(tag, tl, "floating64") && x->kind == WASMTIME_COMPONENT_F64) {
		*type = OID_FLOAT8;
		pgv_pt_fmt(t, "%.17g", x->of.f64);
	} else if ((IS(tag, tl, "str") || IS(tag, tl, "uuid") || IS(tag, tl, "decimal")) &&
	           x->kind == WASMTIME_COMPONENT_STRING) {
		/* str: no type, so the server infers text, varchar, ... */
		*type = tag[0] == 'u' ? OID_UUID : tag[0] == 'd' ? OID_NUMERIC : 0;
		pgv_pt_add(t, x->of.string.data, x->of.string.size);
	} else if ((IS(tag, tl, "binary") || IS(tag, tl, "jsonb")) && x->kind == WASMTIME_COMPONENT_LIST) {
		uint8_t *bytes = NULL;
		size_t n = 0;
		if (wh_arg_bytes(x, WH_DB_VALUE_MAX, &bytes, &n) < 0)
			return wh_db_failf(f, "bad-parameter", "parameter %zu: %.*s over %zu bytes", i + 1, (int)tl,
			                tag, WH_DB_VALUE_MAX);
		pgv_pt_add(t, (const char *)bytes, n);
		free(bytes);
		*type = tag[0] == 'b' ? OID_BYTEA : OID_JSONB;
		*binary = tag[0] == 'b';
	} else if (IS(tag, tl, "date")) {
		*type = OID_DATE;
		pt_date(t, x, 3, 0, &bc);
		if (bc)
			pgv_pt_str(t, " BC");
	} else if (IS(tag, tl, "time")) {
		*type = OID_TIME;
		pt_time(t, x, 4, 0);
	} else if (IS(tag, tl, "datetime")) {
		*type = OID_TIMESTAMP;
		pt_date(t, x, 7, 0, &bc);
		pgv_pt_str(t, " ");
		pt_time(t, x, 7, 3);
		if (bc)
			pgv_pt_str(t, " BC");
	} else if (IS(tag, tl, "timestamp") && x->kind == WASMTIME_COMPONENT_S64) {
		int64_t days, sec, y;
		unsigned mo, d;
		pgv_floor_divmod(x->of.s64, 86400, &days, &sec);
		pgv_civil_from_days(days, &y, &mo, &d);
		*type = OID_TIMESTAMPTZ;
		pgv_pt_fmt(t, "%04" PRId64 "-%02u-%02u %02u:%02u:%02u+00%s", y <= 0 ? 1 - y : y, mo, d,
		       (unsigned)(sec / 3600), (unsigned)(sec / 60 % 60), (unsigned)(sec % 60), y <= 0 ? " BC" : "");
	} else if (IS(tag, tl, "range-int32") || IS(tag, tl, "range-int64") || IS(tag, tl, "range-decimal")) {
		const wasmtime_component_val_t *lo = field(x, 2, 0), *hi = field(x, 2, 1);
		*type = tag[6] == 'i' ? (tag[9] == '3' ? OID_INT4RANGE : OID_INT8RANGE) : OID_NUMRANGE;
		if (!lo || !hi)
			return wh_db_failf(f, "bad-parameter", "parameter %zu: a range is a pair of bounds", i + 1);
		pt_bound(t, lo, true);
		pgv_pt_str(t, ",");
		pt_bound(t, hi, false);
	} else if (IS(tag, tl, "array-int32") || IS(tag, tl, "array-int64") || IS(tag, tl, "array-decimal") ||
	           IS(tag, tl, "array-str")) {
		*type = tag[6] == 'i' ? (tag[9] == '3' ? OID_INT4_ARRAY : OID_INT8_ARRAY)
		        : tag[6] == 'd' ? OID_NUMERIC_ARRAY
		                        : OID_TEXT_ARRAY;
		pt_array(t, x);
	} else if (IS(tag, tl, "interval")) {
		const wasmtime_component_val_t *us = rec_field(x, "micros"), *days = rec_field(x, "days"),
		                               *months = rec_field(x, "months");
		unsigned char b[16];
		if (!us || us->kind != WASMTIME_COMPONENT_S64 || !days || days->kind != WASMTIME_COMPONENT_S32 ||
		    !months || months->kind != WASMTIME_COMPONENT_S32)
			return wh_db_failf(f, "bad-parameter", "parameter %zu: not an interval record", i + 1);
		be_put(b, (uint64_t)us->of.s64, 8);
		be_put(b + 8, (uint32_t)days->of.s32, 4);
		be_put(b + 12, (uint32_t)months->of.s32, 4);
		*type = OID_INTERVAL;
		*binary = true;
		pgv_pt_add(t, (const char *)b, sizeof(b));
	} else {
		return wh_db_failf(f, "bad-parameter", "parameter %zu: %.*s is not a parameter-value", i + 1, (int)tl,
		                tag);
	}
	if (t->r == -E2BIG)
		return wh_db_failf(f, "bad-parameter", "parameter %zu: the %.*s is over %zu bytes", i + 1, (int)tl, tag,
		                WH_DB_VALUE_MAX);
	if (t->r < 0)
		return wh_db_failf(f, "other", "out of memory");
	if (!*binary && memchr(t->b.data ? t->b.data : "", 0, t->b.len))
		return wh_db_failf(f, "bad-parameter", "parameter %zu: a %.*s holding U+0000", i + 1, (int)tl, tag);
	return 0;
}

int pg_params_read(const wasmtime_component_val_t *v, struct pg_params *p, struct wh_db_fail *f)
{
	size_t n;

	if (v->kind != WASMTIME_COMPONENT_LIST)
		return wh_db_failf(f, "bad-parameter", "the parameters are not a list");
	n = v->of.list.size;
	if (n > WH_DB_PARAMS_MAX)
		return wh_db_failf(f, "bad-parameter", "%zu parameters: at most %d", n, WH_DB_PARAMS_MAX);
	if (n && (!(p->types = calloc(n, sizeof(*p->types))) || !(p->values = calloc(n, sizeof(*p->values))) ||
	          !(p->lengths = calloc(n, sizeof(*p->lengths))) || !(p->formats = calloc(n, sizeof(*p->formats)))))
		return wh_db_failf(f, "other", "out of memory");
	p->n = (int)n;
	for (size_t i = 0; i < n; i++) {
		const wasmtime_component_val_t *pv = &v->of.list.data[i];
		struct ptext t = {sk_buf_make(WH_DB_VALUE_MAX), 0};
		const char *tag;
		size_t tl, len;
		bool binary;

		if (pv->kind != WASMTIME_COMPONENT_VARIANT)
			return wh_db_failf(f, "bad-parameter", "parameter %zu is not a parameter-value", i + 1);
		tag = pv->of.variant.discriminant.data;
		tl = pv->of.variant.discriminant.size;
		if (IS(tag, tl, "db-null"))
			continue; /* values[i] NULL */
		if (!pv->of.variant.val)
			return wh_db_failf(f, "bad-parameter", "parameter %zu has no value", i + 1);
		if (param_encode(tag, tl, pv->of.variant.val, i, &t, &p->types[i], &binary, f) < 0) {
			sk_buf_free(&t.b);
			return -1;
		}
		if (!(p->values[i] = sk_buf_steal(&t.b, &len))) {
			sk_buf_free(&t.b);
			return wh_db_failf(f, "other", "out of memory");
		}
		p->lengths[i] = (int)len;
		p->formats[i] = binary;
	}
	return 0;
}

