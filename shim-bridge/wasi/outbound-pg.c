/* Outbound PostgreSQL: fermyon:spin/postgres@2.0.0 (resource connection:
 * open(address), query, execute, with the rdbms-types of the spin-sdk
 * WIT) through libpq.
 *
 * An address is what libpq takes (a postgres:// URI or key=value pairs);
 * libpq parses it (PQconninfoParse) and the one host and port it names
 * must match the component's allowed_outbound_hosts (scheme postgres, port
 * 5432 by default), else connection-failed and nothing connects. Options
 * that would reach another host are refused: hostaddr, service, several
 * hosts, a unix socket folder. TLS is libpq's own (sslmode in the
 * address). Each open is a connection of its own with a 5 s connect timeout
 * and a 30 s statement_timeout, closed when the guest drops it or the
 * request ends; at most OB_PG_CONNS_MAX per request. Parameters go as text
 * with their PostgreSQL type (binary as bytea), results come back as text
 * and are decoded by column type: boolean, int2/4/8, float4/8, text-like
 * types as str, bytea as binary, anything else unsupported. Caps: 1 MiB of
 * statement, 10000 parameters, 1 MiB per value, 100000 rows and 32 MiB per
 * result. Failures are the WIT's error variant, never traps. */
#include <errno.h>
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "shim-bridge/wasi/allowed-hosts.h"
#include "shim-bridge/wasi/host.h"

#define OB_PG_CONNS_MAX     16
#define OB_PG_STATEMENT_MAX ((size_t)1 << 20)
#define OB_PG_PARAMS_MAX    10000
#define OB_PG_ROWS_MAX      100000
#define OB_PG_RESULT_MAX    ((size_t)32 * 1024 * 1024)

/* PostgreSQL type OIDs (pg_type.h), the ones mapped to db-data-type. */
enum {
	OID_BOOL = 16,
	OID_BYTEA = 17,
	OID_NAME = 19,
	OID_INT8 = 20,
	OID_INT2 = 21,
	OID_INT4 = 23,
	OID_TEXT = 25,
	OID_FLOAT4 = 700,
	OID_FLOAT8 = 701,
	OID_BPCHAR = 1042,
	OID_VARCHAR = 1043,
};

struct pg_fail {
	const char *error_case; /* rdbms-types error case */
	char msg[512];
};

static int pg_failf(struct pg_fail *f, const char *error_case, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int pg_failf(struct pg_fail *f, const char *error_case, const char *fmt, ...)
{
	va_list ap;

	f->error_case = error_case;
	va_start(ap, fmt);
	(void)sk_vformat_line(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* libpq's message as one line: newlines and tabs to spaces, the trailing
 * ones dropped. */
static const char *pq_line(const char *m, char *buf, size_t size)
{
	size_t n = 0;

	for (; m && *m && n + 1 < size; m++)
		buf[n++] = *m == '\n' || *m == '\t' || *m == '\r' ? ' ' : *m;
	while (n > 0 && buf[n - 1] == ' ')
		n--;
	buf[n] = '\0';
	return buf;
}

static wasmtime_error_t *pg_fail_result(wasmtime_component_val_t *res, const struct pg_fail *f)
{
	wasmtime_component_val_t payload, e;

	wh_val_text(&payload, f->msg);
	wh_val_variant(&e, f->error_case, &payload);
	wh_val_result(res, false, &e);
	return NULL;
}

/* The one host and port the parsed options name, or a refusal. */
static int pg_target(PQconninfoOption *opts, char *host, size_t hsize, unsigned *port, struct pg_fail *f)
{
	const char *h = NULL, *p = NULL;

	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val || !*o->val)
			continue;
		if (!strcmp(o->keyword, "host"))
			h = o->val;
		else if (!strcmp(o->keyword, "port"))
			p = o->val;
		else if (!strcmp(o->keyword, "hostaddr") || !strcmp(o->keyword, "service"))
			return pg_failf(
			    f, "connection-failed",
			    "the address sets %s, which spin-bridge does not allow: name the host "
			    "and port in allowed_outbound_hosts and in the address",
			    o->keyword);
	}
	if (!h || !*h)
		return pg_failf(f, "connection-failed",
		                "the address names no host: write postgres://host:port/db");
	if (strchr(h, ',') || (p && strchr(p, ',')))
		return pg_failf(f, "connection-failed", "the address names several hosts: name one");
	if (h[0] == '/' || h[0] == '@')
		return pg_failf(f, "connection-failed",
		                "a unix socket is not an outbound host: name a TCP host");
	if (strlen(h) >= hsize)
		return pg_failf(f, "connection-failed", "the host is too long");
	(void)snprintf(host, hsize, "%s", h);
	*port = 5432;
	if (p) {
		char *end;
		long v = strtol(p, &end, 10);
		if (*end || v < 1 || v > 65535)
			return pg_failf(f, "connection-failed", "the port must be a number from 1 to 65535");
		*port = (unsigned)v;
	}
	return 0;
}

static PGconn *pg_connect(const struct wh_component_env *env, const char *address, struct pg_fail *f)
{
	const char *keys[] = {"dbname", "connect_timeout", "options", NULL};
	const char *vals[] = {address, "5", "-c statement_timeout=30000", NULL};
	PQconninfoOption *opts;
	char *perr = NULL, host[WH_HOST_SIZE];
	unsigned port;
	PGconn *c;

	if (!(opts = PQconninfoParse(address, &perr))) {
		pg_failf(f, "connection-failed", "the address is not one libpq reads: %s",
		         perr ? perr : "out of memory");
		PQfreemem(perr);
		return NULL;
	}
	if (pg_target(opts, host, sizeof(host), &port, f) < 0) {
		PQconninfoFree(opts);
		return NULL;
	}
	PQconninfoFree(opts);
	if (!env || !wh_allowed_hosts_match(env->allowed_outbound_hosts, env->n_allowed_outbound_hosts,
	                                    "postgres", host, port)) {
		pg_failf(f, "connection-failed",
		         "postgres://%s:%u is not in the component's allowed_outbound_hosts", host, port);
		return NULL;
	}
	c = PQconnectdbParams(keys, vals, 1);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		char line[400];
		pg_failf(f, "connection-failed", "postgres://%s:%u: %s", host, port,
		         c ? pq_line(PQerrorMessage(c), line, sizeof(line)) : "out of memory");
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* --- parameters ------------------------------------------------------------------------- */

struct pg_params {
	int n;
	Oid *types;
	char **values; /* NULL for db-null */
	int *lengths;
	int *formats;
	char (*num)[40];
};

static void params_free(struct pg_params *p)
{
	free(p->types);
	free(p->values);
	free(p->lengths);
	free(p->formats);
	free(p->num);
	*p = (struct pg_params){0};
}

/* Read list<parameter-value>; string and binary values are borrowed from
 * the guest's arguments (binary copied into keep[i], freed by the caller). */
static int params_read(const wasmtime_component_val_t *v, struct pg_params *p, uint8_t **keep,
                       struct pg_fail *f)
{
	static char empty[1];
	size_t n;

	if (v->kind != WASMTIME_COMPONENT_LIST)
		return pg_failf(f, "bad-parameter", "the parameters are not a list");
	n = v->of.list.size;
	if (n > OB_PG_PARAMS_MAX)
		return pg_failf(f, "bad-parameter", "%zu parameters: at most %d", n, OB_PG_PARAMS_MAX);
	p->n = (int)n;
	if (n &&
	    (!(p->types = calloc(n, sizeof(*p->types))) || !(p->values = calloc(n, sizeof(*p->values))) ||
	     !(p->lengths = calloc(n, sizeof(*p->lengths))) ||
	     !(p->formats = calloc(n, sizeof(*p->formats))) || !(p->num = calloc(n, sizeof(*p->num)))))
		return pg_failf(f, "other", "out of memory");
	for (size_t i = 0; i < n; i++) {
		const wasmtime_component_val_t *pv = &v->of.list.data[i], *x;
		const char *tag;
		size_t tl, sl;

		if (pv->kind != WASMTIME_COMPONENT_VARIANT)
			return pg_failf(f, "bad-parameter", "parameter %zu is not a parameter-value", i + 1);
		tag = pv->of.variant.discriminant.data;
		tl = pv->of.variant.discriminant.size;
		x = pv->of.variant.val;
#define IS(s) (tl == sizeof(s) - 1 && memcmp(tag, s, tl) == 0)
		if (IS("db-null")) {
			p->values[i] = NULL;
			continue;
		}
		if (!x)
			return pg_failf(f, "bad-parameter", "parameter %zu has no value", i + 1);
		p->values[i] = p->num[i];
		if (IS("boolean") && x->kind == WASMTIME_COMPONENT_BOOL) {
			p->types[i] = OID_BOOL;
			(void)snprintf(p->num[i], sizeof(p->num[i]), "%s", x->of.boolean ? "t" : "f");
		} else if (IS("int8") && x->kind == WASMTIME_COMPONENT_S8) {
			p->types[i] = OID_INT2;
			(void)snprintf(p->num[i], sizeof(p->num[i]), "%d", x->of.s8);
		} else if (IS("int16") && x->kind == WASMTIME_COMPONENT_S16) {
			p->types[i] = OID_INT2;
			(void)snprintf(p->num[i], sizeof(p->num[i]), "%d", x->of.s16);
		} else if (IS("int32") && x->kind == WASMTIME_COMPONENT_S32) {
			p->types[i] = OID_INT4;
			(void)snprintf(p->num[i], sizeof(p->num[i]), "%d", x->of.s32);
		} else if (IS("int64") && x->kind == WASMTIME_COMPONENT_S64) {
			p->types[i] = OID_INT8;
			(void)snprintf(p->num[i], sizeof(p->num[i]), "%lld", (long long)x->of.s64);
		} else if (IS("uint8") && x->kind == WASMTIME_COMPONENT_U8) {
			p->types[i] = OID_INT2;
			(void)snprintf(p->num[i], sizeof(p->num[i]), "%u", x->of.u8);
		} else if (IS("uint16") && x->kind == WASMTIME_COMPONENT_U16) {
			p->types[i] = OID_INT4;
			(void)snprintf(p->num[i], sizeof(p->num[i]), "%u", x->of.u16);
		} else if (IS("uint32") && x->kind == WASMTIME_COMPONENT_U32) {
			p->types[i] = OID_INT8;
			(void)snprintf(p->num[i], sizeof(p->num[i]), "%u", x->of.u32);
		} else if (IS("uint64") && x->kind == WASMTIME_COMPONENT_U64) {
			if (x->of.u64 > INT64_MAX)
				return pg_failf(f, "bad-parameter",
				                "parameter %zu: %llu does not fit PostgreSQL's int8", i + 1,
				                (unsigned long long)x->of.u64);
			p->types[i] = OID_INT8;
			(void)snprintf(p->num[i], sizeof(p->num[i]), "%llu", (unsigned long long)x->of.u64);
		} else if (IS("floating32") && x->kind == WASMTIME_COMPONENT_F32) {
			p->types[i] = OID_FLOAT4;
			(void)snprintf(p->num[i], sizeof(p->num[i]), "%.9g", (double)x->of.f32);
		} else if (IS("floating64") && x->kind == WASMTIME_COMPONENT_F64) {
			p->types[i] = OID_FLOAT8;
			(void)snprintf(p->num[i], sizeof(p->num[i]), "%.17g", x->of.f64);
		} else if (IS("str") && x->kind == WASMTIME_COMPONENT_STRING) {
			sl = x->of.string.size;
			if (sl > WH_CHUNK_MAX)
				return pg_failf(f, "bad-parameter",
				                "parameter %zu: a text of %zu bytes is over %zu", i + 1, sl,
				                WH_CHUNK_MAX);
			/* text must be NUL-terminated for libpq: copy */
			if (!(keep[i] = malloc(sl + 1)))
				return pg_failf(f, "other", "out of memory");
			memcpy(keep[i], x->of.string.data, sl);
			keep[i][sl] = 0;
			if (memchr(keep[i], 0, sl))
				return pg_failf(f, "bad-parameter", "parameter %zu: a text holding U+0000",
				                i + 1);
			p->types[i] = 0; /* let the server infer text, varchar... */
			p->values[i] = (char *)keep[i];
		} else if (IS("binary") && x->kind == WASMTIME_COMPONENT_LIST) {
			size_t bl = 0;
			if (wh_arg_bytes(x, WH_CHUNK_MAX, &keep[i], &bl) < 0)
				return pg_failf(f, "bad-parameter", "parameter %zu: binary over %zu bytes",
				                i + 1, WH_CHUNK_MAX);
			p->types[i] = OID_BYTEA;
			p->values[i] = keep[i] ? (char *)keep[i] : empty;
			p->lengths[i] = (int)bl;
			p->formats[i] = 1;
		} else {
			return pg_failf(f, "bad-parameter", "parameter %zu: %.*s is not a parameter-value",
			                i + 1, (int)tl, tag);
		}
#undef IS
	}
	return 0;
}

/* --- results ---------------------------------------------------------------------------- */

static const char *data_type(Oid t)
{
	switch (t) {
	case OID_BOOL:
		return "boolean";
	case OID_INT2:
		return "int16";
	case OID_INT4:
		return "int32";
	case OID_INT8:
		return "int64";
	case OID_FLOAT4:
		return "floating32";
	case OID_FLOAT8:
		return "floating64";
	case OID_TEXT:
	case OID_VARCHAR:
	case OID_BPCHAR:
	case OID_NAME:
		return "str";
	case OID_BYTEA:
		return "binary";
	default:
		return "other";
	}
}

/* One value of the text-format result as a db-value. */
static int db_value(const PGresult *res, int row, int col, wasmtime_component_val_t *out, struct pg_fail *f)
{
	wasmtime_component_val_t x;
	const char *s = PQgetvalue(res, row, col);
	size_t n = (size_t)PQgetlength(res, row, col);
	Oid t = PQftype(res, col);
	char *end;

	if (PQgetisnull(res, row, col)) {
		wh_val_variant(out, "db-null", NULL);
		return 0;
	}
	switch (t) {
	case OID_BOOL:
		wh_val_bool(&x, s[0] == 't');
		wh_val_variant(out, "boolean", &x);
		return 0;
	case OID_INT2:
		x.kind = WASMTIME_COMPONENT_S16;
		x.of.s16 = (int16_t)strtol(s, &end, 10);
		wh_val_variant(out, "int16", &x);
		return 0;
	case OID_INT4:
		x.kind = WASMTIME_COMPONENT_S32;
		x.of.s32 = (int32_t)strtol(s, &end, 10);
		wh_val_variant(out, "int32", &x);
		return 0;
	case OID_INT8:
		wh_val_s64(&x, strtoll(s, &end, 10));
		wh_val_variant(out, "int64", &x);
		return 0;
	case OID_FLOAT4:
		x.kind = WASMTIME_COMPONENT_F32;
		x.of.f32 = strtof(s, &end);
		wh_val_variant(out, "floating32", &x);
		return 0;
	case OID_FLOAT8:
		wh_val_f64(&x, strtod(s, &end));
		wh_val_variant(out, "floating64", &x);
		return 0;
	case OID_TEXT:
	case OID_VARCHAR:
	case OID_BPCHAR:
	case OID_NAME:
		if (n > WH_CHUNK_MAX)
			return pg_failf(f, "value-conversion-failed", "a text of %zu bytes is over %zu", n,
			                WH_CHUNK_MAX);
		if (!sk_utf8_valid(s, n))
			return pg_failf(f, "value-conversion-failed", "a text value is not UTF-8");
		wh_val_string(&x, s, n);
		wh_val_variant(out, "str", &x);
		return 0;
	case OID_BYTEA: {
		size_t bl = 0;
		unsigned char *b = PQunescapeBytea((const unsigned char *)s, &bl);
		if (!b)
			return pg_failf(f, "value-conversion-failed", "a bytea value does not decode");
		if (bl > WH_CHUNK_MAX) {
			PQfreemem(b);
			return pg_failf(f, "value-conversion-failed", "a bytea of %zu bytes is over %zu", bl,
			                WH_CHUNK_MAX);
		}
		wh_val_bytes(&x, b, bl);
		PQfreemem(b);
		wh_val_variant(out, "binary", &x);
		return 0;
	}
	default:
		wh_val_variant(out, "unsupported", NULL);
		return 0;
	}
}

static int row_set(const PGresult *res, wasmtime_component_val_t *out, struct pg_fail *f)
{
	static const char *const fields[] = {"columns", "rows"};
	static const char *const col_fields[] = {"name", "data-type"};
	int nf = PQnfields(res), nr = PQntuples(res);
	size_t total = 0;
	wasmtime_component_valrecord_entry_t *rec;
	wasmtime_component_val_t *cols, *rows;

	if (nr > OB_PG_ROWS_MAX)
		return pg_failf(f, "query-failed", "%d rows: spin-bridge hands over at most %d", nr,
		                OB_PG_ROWS_MAX);
	for (int r = 0; r < nr; r++)
		for (int c = 0; c < nf; c++)
			total += (size_t)PQgetlength(res, r, c) + 16;
	if (total > OB_PG_RESULT_MAX)
		return pg_failf(f, "query-failed",
		                "the result is more than spin-bridge hands over (%zu bytes)",
		                OB_PG_RESULT_MAX);
	rec = wh_val_record(out, fields, 2);
	cols = wh_val_list(&rec[0].val, (size_t)nf);
	for (int c = 0; c < nf; c++) {
		wasmtime_component_valrecord_entry_t *cr = wh_val_record(&cols[c], col_fields, 2);
		wh_val_text(&cr[0].val, PQfname(res, c));
		wh_val_enum(&cr[1].val, data_type(PQftype(res, c)));
	}
	rows = wh_val_list(&rec[1].val, (size_t)nr);
	for (int r = 0; r < nr; r++) {
		wasmtime_component_val_t *vals = wh_val_list(&rows[r], (size_t)nf);
		for (int c = 0; c < nf; c++)
			if (db_value(res, r, c, &vals[c], f) < 0)
				return -1; /* out is freed by the caller with the rest */
	}
	return 0;
}

/* --- the host functions ------------------------------------------------------------------ */

static void conn_drop(struct wh_ctx *ctx, void *obj)
{
	ctx->n_pg--;
	PQfinish(obj);
}

static wasmtime_error_t *pg_open(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *args,
                                 size_t nargs, wasmtime_component_val_t *results, size_t nresults)
{
	struct pg_fail f = {"other", ""};
	wasmtime_component_val_t v;
	const char *addr;
	char *copy;
	size_t n;
	uint32_t rep;
	PGconn *c;

	if (nargs != 1 || nresults != 1 || wh_arg_string(&args[0], &addr, &n) < 0)
		return wh_trap("fermyon:spin/postgres.connection.open: bad arguments");
	if (ctx->n_pg >= OB_PG_CONNS_MAX) {
		pg_failf(&f, "connection-failed", "more than %d connections open in one request",
		         OB_PG_CONNS_MAX);
		return pg_fail_result(&results[0], &f);
	}
	if (n > 4096 || !(copy = strndup(addr, n)) || memchr(addr, 0, n)) {
		pg_failf(&f, "connection-failed", "the address is longer than 4096 bytes or holds U+0000");
		return pg_fail_result(&results[0], &f);
	}
	c = pg_connect(ctx->env, copy, &f);
	free(copy);
	if (!c)
		return pg_fail_result(&results[0], &f);
	ctx->n_pg++; /* before wh_add: a failed add drops c, which counts it down */
	if (!(rep = wh_add(ctx, WH_PG_CONN, c, conn_drop))) {
		pg_failf(&f, "other", "too many open resources in this request");
		return pg_fail_result(&results[0], &f);
	}
	if (wh_val_resource(cx, &v, rep, WH_PG_CONN) < 0) {
		wh_remove(ctx, rep);
		return wh_trap("fermyon:spin/postgres.connection.open: cannot make the connection resource");
	}
	wh_val_result(&results[0], true, &v);
	return NULL;
}

static wasmtime_error_t *pg_run(bool query, struct wh_ctx *ctx, wasmtime_context_t *cx,
                                wasmtime_component_val_t *args, size_t nargs,
                                wasmtime_component_val_t *results, size_t nresults)
{
	struct pg_fail f = {"other", ""};
	struct pg_params p = {0};
	uint8_t **keep = NULL;
	wasmtime_component_val_t ok;
	const char *stmt;
	char *sql = NULL;
	size_t sl;
	uint32_t rep;
	PGresult *res = NULL;
	PGconn *c;
	int r = -1;

	if (nargs != 3 || nresults != 1 || wh_arg_rep(cx, &args[0], WH_PG_CONN, &rep) < 0 ||
	    !(c = wh_get(ctx, rep, WH_PG_CONN)) || wh_arg_string(&args[1], &stmt, &sl) < 0)
		return wh_trap("fermyon:spin/postgres.connection.%s: bad arguments",
		               query ? "query" : "execute");
	if (sl > OB_PG_STATEMENT_MAX || memchr(stmt, 0, sl)) {
		pg_failf(&f, "query-failed", "the statement is over %zu bytes or holds U+0000",
		         OB_PG_STATEMENT_MAX);
		return pg_fail_result(&results[0], &f);
	}
	if (!(sql = strndup(stmt, sl)) ||
	    (args[2].kind == WASMTIME_COMPONENT_LIST && args[2].of.list.size &&
	     !(keep = calloc(args[2].of.list.size > OB_PG_PARAMS_MAX ? 1 : args[2].of.list.size,
	                     sizeof(*keep))))) {
		pg_failf(&f, "other", "out of memory");
		goto out;
	}
	if (params_read(&args[2], &p, keep, &f) < 0)
		goto out;
	res = PQexecParams(c, sql, p.n, p.types, (const char *const *)p.values, p.lengths, p.formats, 0);
	if (!res) {
		pg_failf(&f, "other", "out of memory");
		goto out;
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK) {
		char line[400];
		pg_failf(&f, PQstatus(c) == CONNECTION_OK ? "query-failed" : "connection-failed", "%s",
		         pq_line(PQresultErrorMessage(res), line, sizeof(line)));
		goto out;
	}
	wh_val_bool(&ok, false);
	if (query) {
		if (row_set(res, &ok, &f) < 0) {
			wasmtime_component_val_delete(&ok);
			goto out;
		}
	} else {
		const char *t = PQcmdTuples(res);
		wh_val_u64(&ok, t && *t ? strtoull(t, NULL, 10) : 0);
	}
	wh_val_result(&results[0], true, &ok);
	r = 0;
out:
	PQclear(res);
	for (int i = 0; keep && i < p.n; i++)
		free(keep[i]);
	free(keep);
	params_free(&p);
	free(sql);
	return r == 0 ? NULL : pg_fail_result(&results[0], &f);
}

static wasmtime_error_t *pg_query(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *args,
                                  size_t nargs, wasmtime_component_val_t *results, size_t nresults)
{
	return pg_run(true, ctx, cx, args, nargs, results, nresults);
}

static wasmtime_error_t *pg_execute(struct wh_ctx *ctx, wasmtime_context_t *cx,
                                    wasmtime_component_val_t *args, size_t nargs,
                                    wasmtime_component_val_t *results, size_t nresults)
{
	return pg_run(false, ctx, cx, args, nargs, results, nresults);
}

static const struct wh_resource_def pg_resources[] = {
    {"connection", WH_PG_CONN},
};

static const struct wh_func_def pg_funcs[] = {
    {"[static]connection.open", pg_open},
    {"[method]connection.query", pg_query},
    {"[method]connection.execute", pg_execute},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* rdbms-types holds only types, but a component importing postgres
 * imports it as an instance too. */
const struct wh_iface_def wh_pg_ifaces[] = {
    {"fermyon:spin/rdbms-types@2.0.0", NULL, 0, NULL, 0},
    {"fermyon:spin/postgres@2.0.0", pg_resources, N(pg_resources), pg_funcs, N(pg_funcs)},
};
const size_t wh_n_pg_ifaces = N(wh_pg_ifaces);
