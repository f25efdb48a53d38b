/* Spin's SQLite interfaces, as the spin-sdk WIT defines them:
 *
 *   fermyon:spin/sqlite@2.0.0           resource connection: open, execute
 *   spin:sqlite/sqlite@3.0.0            the same, plus last-insert-rowid, changes
 *   fermyon:spin/sqlite                 open, execute, close over u32 handles
 *
 * Databases follow the stores' rules: only labels in the component's
 * sqlite_databases (else access-denied), only labels the app's struct
 * wh_sqldb defines (else no-such-database). Each open is a connection the
 * handle owns (sqlite-db.h), closed when the guest drops or closes it or
 * the request ends. SQL errors and caps are io(message) to the guest, a
 * full database database-full; a statement still running at the request's
 * time limit is stopped (io too, and the request counts as timed out). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim-bridge/wasi/host.h"
#include "shim-bridge/wasi/sqlite-db.h"

_Static_assert(WH_SQL_VALUE_MAX <= WH_CHUNK_MAX, "a SQLite blob must fit the host's list<u8> cap");

/* --- sqlite ------------------------------------------------------------------------ */

/* An open connection is the handle's own: dropping the handle, or the end
 * of the request, closes it. */
static void sql_drop(struct wh_ctx *ctx, void *obj)
{
	(void)ctx;
	wh_sqldb_close(obj);
}

/* Open database label[0..n) for this request: the rep (>0), or 0 with the
 * error written to results[0]. Spin checks the access list first, so an
 * undeclared label is access-denied whether it exists or not. */
static uint32_t sql_open(struct wh_ctx *ctx, const char *label, size_t n, wasmtime_component_val_t *res)
{
	const struct wh_component_env *env = ctx->env;
	struct wh_sqldb_database *d;
	struct wh_sqldb_conn *c = NULL;
	struct sk_error err = {0};
	bool allowed = false;
	uint32_t rep;

	for (size_t i = 0; env && i < env->n_sqlite_databases && !allowed; i++)
		allowed =
		    strlen(env->sqlite_databases[i]) == n && memcmp(env->sqlite_databases[i], label, n) == 0;
	if (!allowed) {
		wh_fail_with(res, "access-denied", NULL);
		return 0;
	}
	if (!(d = wh_sqldb_find(env->sqldb, label, n))) {
		wh_fail_with(res, "no-such-database", NULL);
		return 0;
	}
	if (wh_sqldb_open(d, &c, &err) < 0) {
		wh_fail_with(res, "io", err.message);
		return 0;
	}
	/* on failure wh_add has closed c through sql_drop */
	if (!(rep = wh_add(ctx, WH_SQL_CONN, c, sql_drop)))
		wh_fail_with(res, "io", "too many open resources in this request");
	return rep;
}

/* The parameters: list<value>, text borrowed from the arguments and blobs
 * copied (wasmtime hands a list<u8> over byte by byte). 0, or -errno with
 * the message in err (E2BIG over a cap; EINVAL: not a value, which traps). */
static int sql_params(const wasmtime_component_val_t *list, struct wh_sql_value **out, size_t *n,
                      struct sk_error *err)
{
	struct wh_sql_value *p;
	size_t count, bytes = 0;

	*out = NULL;
	*n = 0;
	if (list->kind != WASMTIME_COMPONENT_LIST)
		return sk_err(err, -EINVAL, "the parameters are not a list");
	count = list->of.list.size;
	if (count > WH_SQL_PARAMS_MAX)
		return sk_err(err, -E2BIG, "%zu parameters, more than spin-bridge allows (%zu)", count,
		              WH_SQL_PARAMS_MAX);
	if (!count)
		return 0;
	if (!(p = calloc(count, sizeof(*p))))
		return sk_err(err, -ENOMEM, "out of memory");
	*out = p;
	*n = count;
	for (size_t i = 0; i < count; i++) {
		const wasmtime_component_val_t *v = &list->of.list.data[i], *x;
		const char *tag;
		size_t tl;
		int r = 0;

		if (v->kind != WASMTIME_COMPONENT_VARIANT)
			return sk_err(err, -EINVAL, "parameter %zu is not a value", i + 1);
		tag = v->of.variant.discriminant.data;
		tl = v->of.variant.discriminant.size;
		x = v->of.variant.val;
#define IS(name) (tl == sizeof(name) - 1 && memcmp(tag, name, tl) == 0)
		if (IS("null")) {
			p[i].type = WH_SQL_NULL;
		} else if (!x) {
			r = -EINVAL;
		} else if (IS("integer")) {
			p[i].type = WH_SQL_INTEGER;
			r = wh_arg_s64(x, &p[i].i);
		} else if (IS("real")) {
			p[i].type = WH_SQL_REAL;
			r = wh_arg_f64(x, &p[i].f);
		} else if (IS("text")) {
			const char *t;
			p[i].type = WH_SQL_TEXT;
			if ((r = wh_arg_string(x, &t, &p[i].n)) == 0)
				p[i].p = (void *)(uintptr_t)t;
		} else if (IS("blob")) {
			uint8_t *b = NULL;
			p[i].type = WH_SQL_BLOB;
			/* a copy, which sql_params_free frees */
			if ((r = wh_arg_bytes(x, WH_SQL_VALUE_MAX, &b, &p[i].n)) == 0)
				p[i].p = b;
		} else {
			r = -EINVAL;
		}
#undef IS
		if (r == -E2BIG || ((p[i].type == WH_SQL_TEXT) && p[i].n > WH_SQL_VALUE_MAX))
			return sk_err(err, -E2BIG,
			              "parameter %zu is %zu bytes, more than spin-bridge allows (%zu)", i + 1,
			              x && x->kind == WASMTIME_COMPONENT_LIST ? x->of.list.size : p[i].n,
			              WH_SQL_VALUE_MAX);
		if (r == -ENOMEM)
			return sk_err(err, r, "out of memory");
		if (r < 0)
			return sk_err(err, -EINVAL, "parameter %zu is not a value", i + 1);
		bytes += p[i].n;
		if (bytes > WH_SQL_PARAMS_BYTES_MAX)
			return sk_err(
			    err, -E2BIG,
			    "the parameters add up to more than spin-bridge allows (%zu bytes of text "
			    "and blobs)",
			    WH_SQL_PARAMS_BYTES_MAX);
	}
	return 0;
}

static void sql_params_free(struct wh_sql_value *p, size_t n)
{
	for (size_t i = 0; p && i < n; i++)
		if (p[i].type == WH_SQL_BLOB)
			free(p[i].p);
	free(p);
}

/* One value as the WIT's variant value. */
static void sql_val(wasmtime_component_val_t *out, const struct wh_sql_value *v)
{
	wasmtime_component_val_t x;

	switch (v->type) {
	case WH_SQL_INTEGER:
		wh_val_s64(&x, v->i);
		wh_val_variant(out, "integer", &x);
		break;
	case WH_SQL_REAL:
		wh_val_f64(&x, v->f);
		wh_val_variant(out, "real", &x);
		break;
	case WH_SQL_TEXT:
		wh_val_string(&x, v->p, v->n);
		wh_val_variant(out, "text", &x);
		break;
	case WH_SQL_BLOB:
		wh_val_bytes(&x, v->p, v->n);
		wh_val_variant(out, "blob", &x);
		break;
	default:
		wh_val_variant(out, "null", NULL);
		break;
	}
}

/* record query-result { columns: list<string>, rows: list<row-result> }
 * with record row-result { values: list<value> }. */
static void sql_result(wasmtime_component_val_t *out, const struct wh_sql_result *r)
{
	static const char *const qr_names[] = {"columns", "rows"}, *const row_names[] = {"values"};
	wasmtime_component_valrecord_entry_t *f = wh_val_record(out, qr_names, 2);
	wasmtime_component_val_t *cols = wh_val_list(&f[0].val, r->n_columns);
	wasmtime_component_val_t *rows = wh_val_list(&f[1].val, r->n_rows);

	for (size_t i = 0; i < r->n_columns; i++)
		wh_val_string(&cols[i], r->columns[i].name, r->columns[i].n);
	for (size_t j = 0; j < r->n_rows; j++) {
		wasmtime_component_valrecord_entry_t *rf = wh_val_record(&rows[j], row_names, 1);
		wasmtime_component_val_t *vals = wh_val_list(&rf[0].val, r->n_columns);
		for (size_t i = 0; i < r->n_columns; i++)
			sql_val(&vals[i], &r->values[j * r->n_columns + i]);
	}
}

/* execute(statement, parameters) on c, into results[0]. A guest's bad SQL
 * or a cap is an error value, never a trap. */
static wasmtime_error_t *sql_execute(struct wh_ctx *ctx, const char *fn, struct wh_sqldb_conn *c,
                                     const wasmtime_component_val_t *args, wasmtime_component_val_t *res)
{
	struct sk_error err = {0};
	struct wh_sql_value *params = NULL;
	struct wh_sql_result result = {0};
	const char *stmt;
	size_t len, n = 0;
	int r;

	if (wh_arg_string(&args[0], &stmt, &len) < 0)
		return wh_trap("%s: the statement is not a string", fn);
	r = sql_params(&args[1], &params, &n, &err);
	if (r == -EINVAL) {
		sql_params_free(params, n);
		return wh_trap("%s: %s", fn, err.message);
	}
	if (r == 0)
		r = wh_sqldb_execute(c, stmt, len, params, n, ctx->deadline_ns, &result, &err);
	sql_params_free(params, n);
	if (r == -ETIMEDOUT)
		ctx->timed_out = true; /* the request is over: say so when the guest stops */
	if (r == -ENOSPC)
		return wh_fail_with(res, "database-full", NULL);
	if (r < 0)
		return wh_fail_with(res, "io", err.message);
	{
		wasmtime_component_val_t v;
		sql_result(&v, &result);
		wh_val_result(res, true, &v);
	}
	wh_sql_result_free(&result);
	return NULL;
}

/* The connection behind a v2/v3 `self` argument. */
static struct wh_sqldb_conn *sql_self(struct wh_ctx *ctx, wasmtime_context_t *cx,
                                      const wasmtime_component_val_t *v)
{
	uint32_t rep;

	if (wh_arg_rep(cx, v, WH_SQL_CONN, &rep) < 0)
		return NULL;
	return wh_get(ctx, rep, WH_SQL_CONN);
}

/* [static]connection.open of fermyon:spin/sqlite@2.0.0 and spin:sqlite@3.0.0. */
static wasmtime_error_t *sql2_open(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *args,
                                   size_t nargs, wasmtime_component_val_t *results, size_t nresults)
{
	const char *label;
	size_t n;
	uint32_t rep;
	wasmtime_component_val_t v;
	wasmtime_error_t *e = wh_arity("sqlite connection.open", nargs, 1, nresults, 1);

	if (e)
		return e;
	if (wh_arg_string(&args[0], &label, &n) < 0)
		return wh_trap("sqlite connection.open: the database is not a string");
	if (!(rep = sql_open(ctx, label, n, &results[0])))
		return NULL;
	if (wh_val_resource(cx, &v, rep, WH_SQL_CONN) < 0) {
		wh_remove(ctx, rep);
		return wh_trap("sqlite connection.open: cannot make the connection resource");
	}
	wh_val_result(&results[0], true, &v);
	return NULL;
}

static wasmtime_error_t *sql2_execute(struct wh_ctx *ctx, wasmtime_context_t *cx,
                                      wasmtime_component_val_t *args, size_t nargs,
                                      wasmtime_component_val_t *results, size_t nresults)
{
	const char *fn = "sqlite connection.execute";
	struct wh_sqldb_conn *c;
	wasmtime_error_t *e = wh_arity(fn, nargs, 3, nresults, 1);

	if (e)
		return e;
	if (!(c = sql_self(ctx, cx, &args[0])))
		return wh_trap("%s: not an open connection", fn);
	return sql_execute(ctx, fn, c, args + 1, &results[0]);
}

static wasmtime_error_t *sql3_last_insert_rowid(struct wh_ctx *ctx, wasmtime_context_t *cx,
                                                wasmtime_component_val_t *args, size_t nargs,
                                                wasmtime_component_val_t *results, size_t nresults)
{
	const char *fn = "spin:sqlite/sqlite.connection.last-insert-rowid";
	struct wh_sqldb_conn *c;
	wasmtime_error_t *e = wh_arity(fn, nargs, 1, nresults, 1);

	if (e)
		return e;
	if (!(c = sql_self(ctx, cx, &args[0])))
		return wh_trap("%s: not an open connection", fn);
	wh_val_s64(&results[0], wh_sqldb_last_insert_rowid(c));
	return NULL;
}

static wasmtime_error_t *sql3_changes(struct wh_ctx *ctx, wasmtime_context_t *cx,
                                      wasmtime_component_val_t *args, size_t nargs,
                                      wasmtime_component_val_t *results, size_t nresults)
{
	const char *fn = "spin:sqlite/sqlite.connection.changes";
	struct wh_sqldb_conn *c;
	wasmtime_error_t *e = wh_arity(fn, nargs, 1, nresults, 1);

	if (e)
		return e;
	if (!(c = sql_self(ctx, cx, &args[0])))
		return wh_trap("%s: not an open connection", fn);
	wh_val_u64(&results[0], wh_sqldb_changes(c));
	return NULL;
}

/* --- sqlite, Spin 1.x: u32 handles --------------------------------------------------- */

static wasmtime_error_t *sql1_open(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *args,
                                   size_t nargs, wasmtime_component_val_t *results, size_t nresults)
{
	const char *label;
	size_t n;
	uint32_t rep;
	wasmtime_component_val_t v;
	wasmtime_error_t *e = wh_arity("fermyon:spin/sqlite.open", nargs, 1, nresults, 1);

	(void)cx;
	if (e)
		return e;
	if (wh_arg_string(&args[0], &label, &n) < 0)
		return wh_trap("fermyon:spin/sqlite.open: the database is not a string");
	if (!(rep = sql_open(ctx, label, n, &results[0])))
		return NULL;
	wh_val_u32(&v, rep);
	wh_val_result(&results[0], true, &v);
	return NULL;
}

static wasmtime_error_t *sql1_execute(struct wh_ctx *ctx, wasmtime_context_t *cx,
                                      wasmtime_component_val_t *args, size_t nargs,
                                      wasmtime_component_val_t *results, size_t nresults)
{
	const char *fn = "fermyon:spin/sqlite.execute";
	struct wh_sqldb_conn *c;
	uint32_t handle;
	wasmtime_error_t *e = wh_arity(fn, nargs, 3, nresults, 1);

	(void)cx;
	if (e)
		return e;
	if (wh_arg_u32(&args[0], &handle) < 0)
		return wh_trap("%s: the connection is not a u32 handle", fn);
	if (!(c = wh_get(ctx, handle, WH_SQL_CONN)))
		return wh_fail_with(&results[0], "invalid-connection", NULL);
	return sql_execute(ctx, fn, c, args + 1, &results[0]);
}

/* close: no effect on a handle that is not an open connection. */
static wasmtime_error_t *sql1_close(struct wh_ctx *ctx, wasmtime_context_t *cx,
                                    wasmtime_component_val_t *args, size_t nargs,
                                    wasmtime_component_val_t *results, size_t nresults)
{
	uint32_t handle;
	wasmtime_error_t *e = wh_arity("fermyon:spin/sqlite.close", nargs, 1, nresults, 0);

	(void)cx;
	(void)results;
	if (e)
		return e;
	if (wh_arg_u32(&args[0], &handle) < 0)
		return wh_trap("fermyon:spin/sqlite.close: the connection is not a u32 handle");
	if (wh_get(ctx, handle, WH_SQL_CONN))
		wh_remove(ctx, handle);
	return NULL;
}

/* --- the interface table ------------------------------------------------------------------ */

static const struct wh_resource_def sql_resources[] = {
    {"connection", WH_SQL_CONN},
};

static const struct wh_func_def sql2_funcs[] = {
    {"[static]connection.open", sql2_open},
    {"[method]connection.execute", sql2_execute},
};

static const struct wh_func_def sql3_funcs[] = {
    {"[static]connection.open", sql2_open},
    {"[method]connection.execute", sql2_execute},
    {"[method]connection.last-insert-rowid", sql3_last_insert_rowid},
    {"[method]connection.changes", sql3_changes},
};

static const struct wh_func_def sql1_funcs[] = {
    {"open", sql1_open},
    {"execute", sql1_execute},
    {"close", sql1_close},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

const struct wh_iface_def wh_sqlite_ifaces[] = {
    {"fermyon:spin/sqlite@2.0.0", sql_resources, N(sql_resources), sql2_funcs, N(sql2_funcs)},
    {"fermyon:spin/sqlite", NULL, 0, sql1_funcs, N(sql1_funcs)},
    {"spin:sqlite/sqlite@3.0.0", sql_resources, N(sql_resources), sql3_funcs, N(sql3_funcs)},
};
const size_t wh_n_sqlite_ifaces = N(wh_sqlite_ifaces);
