/* fermyon:spin/rdbms-types: parameters, row sets, errors (see rdbms.h). */
#include "shim-bridge/wasi/rdbms.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/utf8.h"

static const char *const kind_names[] = {
    "boolean", "int8",       "int16",      "int32", "int64",  "uint8", "uint16",  "uint32",
    "uint64",  "floating32", "floating64", "str",   "binary", "other", "db-null", "unsupported",
};

const char *wh_db_kind_name(enum wh_db_kind kind)
{
	return (unsigned)kind < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[kind] : "unsupported";
}

bool wh_db_int_fits(enum wh_db_kind kind, bool sign, int64_t i, uint64_t u)
{
	int64_t lo = 0;
	uint64_t hi = 0;

	switch (kind) {
	case WH_DB_INT8:
		lo = INT8_MIN, hi = INT8_MAX;
		break;
	case WH_DB_INT16:
		lo = INT16_MIN, hi = INT16_MAX;
		break;
	case WH_DB_INT32:
		lo = INT32_MIN, hi = INT32_MAX;
		break;
	case WH_DB_INT64:
		lo = INT64_MIN, hi = INT64_MAX;
		break;
	case WH_DB_UINT8:
		hi = UINT8_MAX;
		break;
	case WH_DB_UINT16:
		hi = UINT16_MAX;
		break;
	case WH_DB_UINT32:
		hi = UINT32_MAX;
		break;
	case WH_DB_UINT64:
		hi = UINT64_MAX;
		break;
	default:
		return true;
	}
	if (sign)
		return i >= lo && (i < 0 || (uint64_t)i <= hi);
	return u <= hi;
}

/* --- failures --------------------------------------------------------------------------- */

int wh_db_failf(struct wh_db_fail *f, const char *error_case, const char *fmt, ...)
{
	va_list ap;

	f->error_case = error_case;
	va_start(ap, fmt);
	(void)sk_vformat_line(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
	return -1;
}

wasmtime_error_t *wh_db_fail_result(wasmtime_component_val_t *res, const struct wh_db_fail *f, bool v1)
{
	wasmtime_component_val_t payload, e;
	const char *c = f->error_case ? f->error_case : "other";

	if (v1 && strcmp(c, "other") == 0)
		c = "other-error";
	wh_val_text(&payload, f->msg);
	wh_val_variant(&e, c, &payload);
	wh_val_result(res, false, &e);
	return NULL;
}

/* --- parameters ------------------------------------------------------------------------- */

void wh_db_params_free(struct wh_db_params *p)
{
	for (size_t i = 0; p->owned && i < p->n; i++)
		free(p->owned[i]);
	free(p->owned);
	free(p->v);
	*p = (struct wh_db_params){0};
}

/* The case name tag[0..tl) as a kind, or -1. */
static int kind_of(const char *tag, size_t tl)
{
	for (size_t k = 0; k < sizeof(kind_names) / sizeof(kind_names[0]); k++)
		if (k != WH_DB_OTHER && k != WH_DB_UNSUPPORTED && strlen(kind_names[k]) == tl &&
		    memcmp(kind_names[k], tag, tl) == 0)
			return (int)k;
	return -1;
}

/* The wasmtime value kind each parameter-value case carries. */
static const wasmtime_component_valkind_t payload_kind[] = {
    [WH_DB_BOOLEAN] = WASMTIME_COMPONENT_BOOL, [WH_DB_INT8] = WASMTIME_COMPONENT_S8,
    [WH_DB_INT16] = WASMTIME_COMPONENT_S16,    [WH_DB_INT32] = WASMTIME_COMPONENT_S32,
    [WH_DB_INT64] = WASMTIME_COMPONENT_S64,    [WH_DB_UINT8] = WASMTIME_COMPONENT_U8,
    [WH_DB_UINT16] = WASMTIME_COMPONENT_U16,   [WH_DB_UINT32] = WASMTIME_COMPONENT_U32,
    [WH_DB_UINT64] = WASMTIME_COMPONENT_U64,   [WH_DB_FLOAT32] = WASMTIME_COMPONENT_F32,
    [WH_DB_FLOAT64] = WASMTIME_COMPONENT_F64,  [WH_DB_STR] = WASMTIME_COMPONENT_STRING,
    [WH_DB_BINARY] = WASMTIME_COMPONENT_LIST,
};

/* Parameter i (0-based) from its variant value pv into *out. */
static int param_read(const wasmtime_component_val_t *pv, size_t i, struct wh_db_params *p, size_t *bytes,
                      struct wh_db_fail *f)
{
	const wasmtime_component_val_t *x;
	struct wh_db_value *out = &p->v[i];
	int k;

	if (pv->kind != WASMTIME_COMPONENT_VARIANT)
		return wh_db_failf(f, "bad-parameter", "parameter %zu is not a parameter-value", i + 1);
	k = kind_of(pv->of.variant.discriminant.data, pv->of.variant.discriminant.size);
	x = pv->of.variant.val;
	if (k == WH_DB_NULL) {
		out->kind = WH_DB_NULL;
		return 0;
	}
	if (k < 0 || k > WH_DB_BINARY || !x || x->kind != payload_kind[k])
		return wh_db_failf(
		    f, "bad-parameter", "parameter %zu: %.*s is not a parameter-value", i + 1,
		    (int)(pv->of.variant.discriminant.size > 40 ? 40 : pv->of.variant.discriminant.size),
		    pv->of.variant.discriminant.data);
	out->kind = (enum wh_db_kind)k;
	switch (out->kind) {
	case WH_DB_BOOLEAN:
		out->v.b = x->of.boolean;
		break;
	case WH_DB_INT8:
		out->v.i = x->of.s8;
		break;
	case WH_DB_INT16:
		out->v.i = x->of.s16;
		break;
	case WH_DB_INT32:
		out->v.i = x->of.s32;
		break;
	case WH_DB_INT64:
		out->v.i = x->of.s64;
		break;
	case WH_DB_UINT8:
		out->v.u = x->of.u8;
		break;
	case WH_DB_UINT16:
		out->v.u = x->of.u16;
		break;
	case WH_DB_UINT32:
		out->v.u = x->of.u32;
		break;
	case WH_DB_UINT64:
		out->v.u = x->of.u64;
		break;
	case WH_DB_FLOAT32:
		out->v.f32 = x->of.f32;
		break;
	case WH_DB_FLOAT64:
		out->v.f64 = x->of.f64;
		break;
	case WH_DB_STR: {
		size_t n = x->of.string.size;
		if (n > WH_DB_VALUE_MAX)
			return wh_db_failf(f, "bad-parameter",
			                   "parameter %zu: a text of %zu bytes is over %zu", i + 1, n,
			                   WH_DB_VALUE_MAX);
		if (!(p->owned[i] = malloc(n + 1)))
			return wh_db_failf(f, "other", "out of memory");
		if (n)
			memcpy(p->owned[i], x->of.string.data, n);
		p->owned[i][n] = '\0';
		out->v.bytes.p = p->owned[i];
		out->v.bytes.n = n;
		*bytes += n;
		break;
	}
	case WH_DB_BINARY: {
		uint8_t *b = NULL;
		size_t n = 0;
		if (wh_arg_bytes(x, WH_DB_VALUE_MAX, &b, &n) < 0)
			return wh_db_failf(f, "bad-parameter", "parameter %zu: binary over %zu bytes", i + 1,
			                   WH_DB_VALUE_MAX);
		/* one byte more, so that the buffer is NUL-terminated like a str's */
		if (!(p->owned[i] = realloc(b, n + 1))) {
			free(b);
			return wh_db_failf(f, "other", "out of memory");
		}
		p->owned[i][n] = '\0';
		out->v.bytes.p = p->owned[i];
		out->v.bytes.n = n;
		*bytes += n;
		break;
	}
	default:
		break;
	}
	if (*bytes > WH_DB_PARAMS_BYTES)
		return wh_db_failf(f, "bad-parameter", "the parameters hold more than %zu bytes in all",
		                   WH_DB_PARAMS_BYTES);
	return 0;
}

int wh_db_params_read(const wasmtime_component_val_t *list, struct wh_db_params *p, struct wh_db_fail *f)
{
	size_t n, bytes = 0;

	*p = (struct wh_db_params){0};
	if (list->kind != WASMTIME_COMPONENT_LIST)
		return wh_db_failf(f, "bad-parameter", "the parameters are not a list");
	n = list->of.list.size;
	if (n > WH_DB_PARAMS_MAX)
		return wh_db_failf(f, "bad-parameter", "%zu parameters: at most %d", n, WH_DB_PARAMS_MAX);
	if (n == 0)
		return 0;
	if (!(p->v = calloc(n, sizeof(*p->v))) || !(p->owned = calloc(n, sizeof(*p->owned))))
		return wh_db_failf(f, "other", "out of memory");
	p->n = n;
	for (size_t i = 0; i < n; i++)
		if (param_read(&list->of.list.data[i], i, p, &bytes, f) < 0)
			return -1;
	return 0;
}

/* --- row sets --------------------------------------------------------------------------- */

void wh_db_rowset_init(struct wh_db_rowset *rs, size_t ncols)
{
	*rs = (struct wh_db_rowset){.ncols = ncols};
}

void wh_db_rowset_clear(struct wh_db_rowset *rs)
{
	for (size_t r = 0; r < rs->n_rows; r++)
		wasmtime_component_val_delete(&rs->rows[r]);
	free(rs->rows);
	wh_db_rowset_init(rs, rs->ncols);
}

/* v as a db-value in out. */
static void db_value(wasmtime_component_val_t *out, const struct wh_db_value *v)
{
	wasmtime_component_val_t x;

	switch (v->kind) {
	case WH_DB_BOOLEAN:
		wh_val_bool(&x, v->v.b);
		break;
	case WH_DB_INT8:
		x.kind = WASMTIME_COMPONENT_S8;
		x.of.s8 = (int8_t)v->v.i;
		break;
	case WH_DB_INT16:
		x.kind = WASMTIME_COMPONENT_S16;
		x.of.s16 = (int16_t)v->v.i;
		break;
	case WH_DB_INT32:
		x.kind = WASMTIME_COMPONENT_S32;
		x.of.s32 = (int32_t)v->v.i;
		break;
	case WH_DB_INT64:
		wh_val_s64(&x, v->v.i);
		break;
	case WH_DB_UINT8:
		wh_val_u8(&x, (uint8_t)v->v.u);
		break;
	case WH_DB_UINT16:
		wh_val_u16(&x, (uint16_t)v->v.u);
		break;
	case WH_DB_UINT32:
		wh_val_u32(&x, (uint32_t)v->v.u);
		break;
	case WH_DB_UINT64:
		wh_val_u64(&x, v->v.u);
		break;
	case WH_DB_FLOAT32:
		x.kind = WASMTIME_COMPONENT_F32;
		x.of.f32 = v->v.f32;
		break;
	case WH_DB_FLOAT64:
		wh_val_f64(&x, v->v.f64);
		break;
	case WH_DB_STR:
		wh_val_string(&x, v->v.bytes.p, v->v.bytes.n);
		break;
	case WH_DB_BINARY:
		wh_val_bytes(&x, v->v.bytes.p, v->v.bytes.n);
		break;
	case WH_DB_NULL:
		wh_val_variant(out, "db-null", NULL);
		return;
	default:
		wh_val_variant(out, "unsupported", NULL);
		return;
	}
	wh_val_variant(out, kind_names[v->kind], &x);
}

int wh_db_rowset_add(struct wh_db_rowset *rs, const struct wh_db_value *vals, const struct wh_db_column *cols,
                     struct wh_db_fail *f)
{
	size_t bytes = rs->bytes;
	wasmtime_component_val_t *slots;

	if (rs->n_rows >= WH_DB_ROWS_MAX)
		return wh_db_failf(f, "query-failed",
		                   "the result has more than %d rows: spin-bridge hands over at most %d",
		                   WH_DB_ROWS_MAX, WH_DB_ROWS_MAX);
	for (size_t c = 0; c < rs->ncols; c++) {
		const struct wh_db_value *v = &vals[c];
		const char *col = cols && cols[c].name ? cols[c].name : "?";
		bytes += 16;
		if (v->kind != WH_DB_STR && v->kind != WH_DB_BINARY)
			continue;
		if (v->v.bytes.n > WH_DB_VALUE_MAX)
			return wh_db_failf(f, "value-conversion-failed",
			                   "a %s of %zu bytes is over %zu (column %.100s)",
			                   v->kind == WH_DB_STR ? "text" : "binary value", v->v.bytes.n,
			                   WH_DB_VALUE_MAX, col);
		if (v->kind == WH_DB_STR && !sk_utf8_valid(v->v.bytes.p, v->v.bytes.n))
			return wh_db_failf(f, "value-conversion-failed",
			                   "a text value is not UTF-8 (column %.100s)", col);
		bytes += v->v.bytes.n;
	}
	if (bytes > WH_DB_RESULT_MAX)
		return wh_db_failf(f, "query-failed",
		                   "the result is more than spin-bridge hands over (%zu bytes)",
		                   WH_DB_RESULT_MAX);
	if (rs->n_rows == rs->cap_rows) {
		size_t cap = rs->cap_rows ? rs->cap_rows * 2 : 16;
		wasmtime_component_val_t *grown = realloc(rs->rows, cap * sizeof(*grown));
		if (!grown)
			return wh_db_failf(f, "other", "out of memory");
		rs->rows = grown;
		rs->cap_rows = cap;
	}
	slots = wh_val_list(&rs->rows[rs->n_rows], rs->ncols);
	for (size_t c = 0; c < rs->ncols; c++)
		db_value(&slots[c], &vals[c]);
	rs->n_rows++;
	rs->bytes = bytes;
	return 0;
}

void wh_db_rowset_finish(struct wh_db_rowset *rs, const struct wh_db_column *cols,
                         wasmtime_component_val_t *out)
{
	static const char *const fields[] = {"columns", "rows"};
	static const char *const col_fields[] = {"name", "data-type"};
	wasmtime_component_valrecord_entry_t *rec = wh_val_record(out, fields, 2);
	wasmtime_component_val_t *cv = wh_val_list(&rec[0].val, rs->ncols), *rows;

	for (size_t c = 0; c < rs->ncols; c++) {
		wasmtime_component_valrecord_entry_t *cr = wh_val_record(&cv[c], col_fields, 2);
		wh_val_text(&cr[0].val, cols[c].name ? cols[c].name : "");
		wh_val_enum(&cr[1].val, cols[c].type <= WH_DB_OTHER ? kind_names[cols[c].type] : "other");
	}
	/* move the rows: a bitwise copy hands their contents over */
	rows = wh_val_list(&rec[1].val, rs->n_rows);
	if (rs->n_rows)
		memcpy(rows, rs->rows, rs->n_rows * sizeof(*rows));
	free(rs->rows);
	wh_db_rowset_init(rs, rs->ncols);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

const struct wh_iface_def wh_rdbms_ifaces[] = {
    {"fermyon:spin/rdbms-types@2.0.0", NULL, 0, NULL, 0},
    {"fermyon:spin/rdbms-types", NULL, 0, NULL, 0},
};
const size_t wh_n_rdbms_ifaces = N(wh_rdbms_ifaces);
