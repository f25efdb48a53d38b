/* fermyon:spin/rdbms-types (shim-bridge/wasi/rdbms.c), shared by the
 * PostgreSQL and MySQL interfaces: the guest's parameter values read into C
 * values, row sets built with their caps (a value, the rows, the bytes),
 * and the error variant in both versions. */
#include <stdlib.h>
#include <string.h>

#include "shim-bridge/wasi/rdbms.h"
#include "tap.h"

/* list<parameter-value> of n slots, to fill with param(). */
static wasmtime_component_val_t *params_new(wasmtime_component_val_t *list, size_t n)
{
	return wh_val_list(list, n);
}

static void param(wasmtime_component_val_t *slot, const char *case_name, wasmtime_component_val_t *payload)
{
	wh_val_variant(slot, case_name, payload);
}

static const char *case_of(const wasmtime_component_val_t *v)
{
	static char buf[64];
	size_t n = v->of.variant.discriminant.size;

	if (v->kind != WASMTIME_COMPONENT_VARIANT || n >= sizeof(buf))
		return "?";
	memcpy(buf, v->of.variant.discriminant.data, n);
	buf[n] = '\0';
	return buf;
}

static void test_params(void)
{
	wasmtime_component_val_t list, x, *s;
	struct wh_db_params p;
	struct wh_db_fail f = {0};
	uint8_t *big;
	int r;

	s = params_new(&list, 14);
	wh_val_bool(&x, true), param(&s[0], "boolean", &x);
	x.kind = WASMTIME_COMPONENT_S8, x.of.s8 = -128, param(&s[1], "int8", &x);
	x.kind = WASMTIME_COMPONENT_S16, x.of.s16 = -2, param(&s[2], "int16", &x);
	x.kind = WASMTIME_COMPONENT_S32, x.of.s32 = -3, param(&s[3], "int32", &x);
	wh_val_s64(&x, INT64_MIN), param(&s[4], "int64", &x);
	wh_val_u8(&x, 255), param(&s[5], "uint8", &x);
	wh_val_u16(&x, 65535), param(&s[6], "uint16", &x);
	wh_val_u32(&x, UINT32_MAX), param(&s[7], "uint32", &x);
	wh_val_u64(&x, UINT64_MAX), param(&s[8], "uint64", &x);
	x.kind = WASMTIME_COMPONENT_F32, x.of.f32 = 1.5f, param(&s[9], "floating32", &x);
	wh_val_f64(&x, -2.25), param(&s[10], "floating64", &x);
	wh_val_string(&x, "h\0i", 3), param(&s[11], "str", &x);
	wh_val_bytes(&x, "\x00\xff", 2), param(&s[12], "binary", &x);
	param(&s[13], "db-null", NULL);
	r = wh_db_params_read(&list, &p, &f);
	ok(r == 0 && p.n == 14, "every parameter-value case is read (%s)", f.msg);
	if (r == 0 && p.n == 14) {
		ok(p.v[0].kind == WH_DB_BOOLEAN && p.v[0].v.b, "boolean true");
		ok(p.v[1].kind == WH_DB_INT8 && p.v[1].v.i == -128, "int8 -128");
		ok(p.v[2].v.i == -2 && p.v[3].v.i == -3 && p.v[4].v.i == INT64_MIN, "int16, int32, int64");
		ok(p.v[5].kind == WH_DB_UINT8 && p.v[5].v.u == 255 && p.v[6].v.u == 65535 &&
		       p.v[7].v.u == UINT32_MAX && p.v[8].v.u == UINT64_MAX,
		   "uint8..uint64 at their maxima");
		ok(p.v[9].v.f32 == 1.5f && p.v[10].v.f64 == -2.25, "floating32, floating64");
		ok(p.v[11].kind == WH_DB_STR && p.v[11].v.bytes.n == 3 &&
		       memcmp(p.v[11].v.bytes.p, "h\0i", 4) == 0,
		   "str: the bytes, U+0000 kept, NUL-terminated");
		ok(p.v[12].kind == WH_DB_BINARY && p.v[12].v.bytes.n == 2 &&
		       memcmp(p.v[12].v.bytes.p, "\0\xff", 3) == 0,
		   "binary: the bytes, NUL-terminated");
		ok(p.v[13].kind == WH_DB_NULL, "db-null");
	}
	wh_db_params_free(&p);
	wasmtime_component_val_delete(&list);

	/* shapes and caps */
	s = params_new(&list, 1);
	wh_val_bool(&x, true), param(&s[0], "int8", &x);
	ok(wh_db_params_read(&list, &p, &f) < 0 && strcmp(f.error_case, "bad-parameter") == 0 &&
	       strstr(f.msg, "parameter 1: int8 is not a parameter-value"),
	   "a payload of the wrong type: bad-parameter (%s)", f.msg);
	wh_db_params_free(&p);
	wasmtime_component_val_delete(&list);
	s = params_new(&list, 1);
	param(&s[0], "unsupported", NULL);
	ok(wh_db_params_read(&list, &p, &f) < 0 && strcmp(f.error_case, "bad-parameter") == 0,
	   "a db-value case that is no parameter-value: bad-parameter (%s)", f.msg);
	wh_db_params_free(&p);
	wasmtime_component_val_delete(&list);

	big = calloc(1, WH_DB_VALUE_MAX + 1);
	s = params_new(&list, 2);
	wh_val_bytes(&x, big, WH_DB_VALUE_MAX), param(&s[0], "binary", &x);
	wh_val_string(&x, (const char *)big, WH_DB_VALUE_MAX), param(&s[1], "str", &x);
	ok(wh_db_params_read(&list, &p, &f) == 0 && p.v[0].v.bytes.n == WH_DB_VALUE_MAX &&
	       p.v[1].v.bytes.n == WH_DB_VALUE_MAX,
	   "a binary and a str of %zu bytes (the cap)", WH_DB_VALUE_MAX);
	wh_db_params_free(&p);
	wasmtime_component_val_delete(&list);
	s = params_new(&list, 1);
	wh_val_bytes(&x, big, WH_DB_VALUE_MAX + 1), param(&s[0], "binary", &x);
	ok(wh_db_params_read(&list, &p, &f) < 0 && strstr(f.msg, "parameter 1: binary over 1048576 bytes"),
	   "a binary one byte over: %s", f.msg);
	wh_db_params_free(&p);
	wasmtime_component_val_delete(&list);
	s = params_new(&list, 1);
	wh_val_string(&x, (const char *)big, WH_DB_VALUE_MAX + 1), param(&s[0], "str", &x);
	ok(wh_db_params_read(&list, &p, &f) < 0 && strstr(f.msg, "a text of 1048577 bytes is over 1048576"),
	   "a str one byte over: %s", f.msg);
	wh_db_params_free(&p);
	wasmtime_component_val_delete(&list);
	/* 33 values of 1 MiB: over the 32 MiB of all parameters */
	s = params_new(&list, 33);
	for (size_t i = 0; i < 33; i++)
		wh_val_string(&x, (const char *)big, WH_DB_VALUE_MAX), param(&s[i], "str", &x);
	ok(wh_db_params_read(&list, &p, &f) < 0 && strstr(f.msg, "more than 33554432 bytes in all"),
	   "33 MiB of parameters: %s", f.msg);
	wh_db_params_free(&p);
	wasmtime_component_val_delete(&list);
	free(big);
	s = params_new(&list, WH_DB_PARAMS_MAX + 1);
	for (size_t i = 0; i <= WH_DB_PARAMS_MAX; i++)
		param(&s[i], "db-null", NULL);
	ok(wh_db_params_read(&list, &p, &f) < 0 && strstr(f.msg, "10001 parameters: at most 10000"),
	   "10001 parameters: %s", f.msg);
	wh_db_params_free(&p);
	wasmtime_component_val_delete(&list);
	wh_val_bool(&list, false);
	ok(wh_db_params_read(&list, &p, &f) < 0 && strstr(f.msg, "not a list"), "not a list: bad-parameter");
	wh_db_params_free(&p);
}

static void test_rowset(void)
{
	struct wh_db_column cols[2] = {{"a", WH_DB_INT32}, {"b", WH_DB_STR}};
	struct wh_db_value vals[2] = {{.kind = WH_DB_INT32, .v.i = 7}, {.kind = WH_DB_STR}};
	struct wh_db_rowset rs;
	struct wh_db_fail f = {0};
	wasmtime_component_val_t out;
	char *big = malloc(WH_DB_VALUE_MAX + 1);
	size_t rows = 0;
	int r;

	memset(big, 'x', WH_DB_VALUE_MAX + 1);
	wh_db_rowset_init(&rs, 2);
	vals[1].v.bytes.p = "héllo";
	vals[1].v.bytes.n = strlen("héllo");
	ok(wh_db_rowset_add(&rs, vals, cols, &f) == 0, "a row");
	vals[1].kind = WH_DB_NULL;
	vals[0].kind = WH_DB_UNSUPPORTED;
	ok(wh_db_rowset_add(&rs, vals, cols, &f) == 0, "a row of db-null and unsupported");
	vals[0].kind = WH_DB_INT32;
	vals[1].kind = WH_DB_STR;
	vals[1].v.bytes.p = "\xff";
	vals[1].v.bytes.n = 1;
	ok(wh_db_rowset_add(&rs, vals, cols, &f) < 0 &&
	       strcmp(f.error_case, "value-conversion-failed") == 0 && strstr(f.msg, "not UTF-8 (column b)"),
	   "a str that is not UTF-8: %s", f.msg);
	vals[1].v.bytes.p = big;
	vals[1].v.bytes.n = WH_DB_VALUE_MAX;
	ok(wh_db_rowset_add(&rs, vals, cols, &f) == 0, "a str of %zu bytes (the cap)", WH_DB_VALUE_MAX);
	vals[1].v.bytes.n = WH_DB_VALUE_MAX + 1;
	ok(wh_db_rowset_add(&rs, vals, cols, &f) < 0 &&
	       strstr(f.msg, "a text of 1048577 bytes is over 1048576 (column b)"),
	   "one byte over: %s", f.msg);
	is_int(rs.n_rows, 3, "failed rows are not appended");
	wh_db_rowset_finish(&rs, cols, &out);
	ok(out.kind == WASMTIME_COMPONENT_RECORD && out.of.record.size == 2, "a row-set record");
	if (out.kind == WASMTIME_COMPONENT_RECORD && out.of.record.size == 2) {
		const wasmtime_component_val_t *c = &out.of.record.data[0].val,
		                               *rl = &out.of.record.data[1].val;
		const wasmtime_component_val_t *r0 = &rl->of.list.data[0], *r1 = &rl->of.list.data[1];
		ok(c->of.list.size == 2 &&
		       c->of.list.data[1].of.record.data[1].val.kind == WASMTIME_COMPONENT_ENUM,
		   "two columns with their data-type");
		ok(rl->of.list.size == 3 && strcmp(case_of(&r0->of.list.data[0]), "int32") == 0 &&
		       r0->of.list.data[0].of.variant.val->of.s32 == 7 &&
		       strcmp(case_of(&r0->of.list.data[1]), "str") == 0 &&
		       r0->of.list.data[1].of.variant.val->of.string.size == strlen("héllo"),
		   "row 1: int32 7, str");
		ok(strcmp(case_of(&r1->of.list.data[0]), "unsupported") == 0 &&
		       strcmp(case_of(&r1->of.list.data[1]), "db-null") == 0,
		   "row 2: unsupported, db-null");
	}
	wasmtime_component_val_delete(&out);
	is_int(rs.n_rows, 0, "finish leaves the builder empty");

	/* bytes: 32 values of 1 MiB - 16 (and their 16) fill the 32 MiB exactly */
	wh_db_rowset_init(&rs, 1);
	cols[0] = (struct wh_db_column){"s", WH_DB_STR};
	vals[0] = (struct wh_db_value){.kind = WH_DB_STR, .v.bytes = {big, WH_DB_VALUE_MAX - 16}};
	for (r = 0; r == 0 && rows < 40; rows++)
		r = wh_db_rowset_add(&rs, vals, cols, &f);
	ok(rs.n_rows == 32 && rs.bytes == WH_DB_RESULT_MAX && strcmp(f.error_case, "query-failed") == 0 &&
	       strstr(f.msg, "more than spin-bridge hands over (33554432 bytes)"),
	   "32 MiB of result (the cap) is built, a byte more is query-failed: %zu rows, %s", rs.n_rows,
	   f.msg);
	wh_db_rowset_clear(&rs);

	/* rows */
	wh_db_rowset_init(&rs, 1);
	vals[0] = (struct wh_db_value){.kind = WH_DB_INT64, .v.i = 1};
	for (r = 0, rows = 0; r == 0 && rows < WH_DB_ROWS_MAX + 5; rows++)
		r = wh_db_rowset_add(&rs, vals, NULL, &f);
	ok(rs.n_rows == WH_DB_ROWS_MAX && strstr(f.msg, "more than 100000 rows"),
	   "%d rows (the cap), then query-failed: %s", WH_DB_ROWS_MAX, f.msg);
	wh_db_rowset_clear(&rs);
	free(big);
}

static void test_errors(void)
{
	struct wh_db_fail f;
	wasmtime_component_val_t res;

	wh_db_failf(&f, "other", "a %s\nsplit", "message");
	ok(strcmp(f.msg, "a message\\nsplit") == 0, "a message is one line: %s", f.msg);
	ok(wh_db_fail_result(&res, &f, false) == NULL && res.kind == WASMTIME_COMPONENT_RESULT &&
	       !res.of.result.is_ok && strcmp(case_of(res.of.result.val), "other") == 0,
	   "2.0.0: err(other(...))");
	wasmtime_component_val_delete(&res);
	wh_db_fail_result(&res, &f, true);
	ok(strcmp(case_of(res.of.result.val), "other-error") == 0, "v1: other is other-error");
	wasmtime_component_val_delete(&res);
	wh_db_failf(&f, "query-failed", "x");
	wh_db_fail_result(&res, &f, true);
	ok(strcmp(case_of(res.of.result.val), "query-failed") == 0, "v1: the other cases keep their names");
	wasmtime_component_val_delete(&res);
}

static void test_ints(void)
{
	ok(wh_db_int_fits(WH_DB_INT8, true, -128, 0) && !wh_db_int_fits(WH_DB_INT8, true, 128, 0),
	   "int8 range");
	ok(wh_db_int_fits(WH_DB_INT16, true, -32768, 0) && !wh_db_int_fits(WH_DB_INT16, true, -32769, 0),
	   "int16 range");
	ok(wh_db_int_fits(WH_DB_INT32, true, INT32_MIN, 0) &&
	       !wh_db_int_fits(WH_DB_INT32, true, (int64_t)INT32_MAX + 1, 0),
	   "int32 range");
	ok(wh_db_int_fits(WH_DB_INT64, true, INT64_MIN, 0) && wh_db_int_fits(WH_DB_INT64, true, INT64_MAX, 0),
	   "int64 range");
	ok(wh_db_int_fits(WH_DB_UINT8, false, 0, 255) && !wh_db_int_fits(WH_DB_UINT8, false, 0, 256),
	   "uint8 range");
	ok(wh_db_int_fits(WH_DB_UINT32, false, 0, UINT32_MAX) &&
	       !wh_db_int_fits(WH_DB_UINT32, false, 0, (uint64_t)UINT32_MAX + 1),
	   "uint32 range");
	ok(wh_db_int_fits(WH_DB_UINT64, false, 0, UINT64_MAX), "uint64 range");
	is_str(wh_db_kind_name(WH_DB_FLOAT32), "floating32", "case names as in WIT");
	is_str(wh_db_kind_name(WH_DB_NULL), "db-null", "...");
}

int main(void)
{
	test_params();
	test_rowset();
	test_errors();
	test_ints();
	return tap_done();
}
