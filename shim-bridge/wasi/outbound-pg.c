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
 * types as str, bytea as binary, anything else unsupported. The caps are
 * rdbms.h's, shared with MySQL: 1 MiB of statement, 10000 parameters (32
 * MiB in all), 1 MiB per value, 100000 rows and 32 MiB per result.
 * Failures are the WIT's error variant, never traps. */
#include <errno.h>
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim-bridge/wasi/allowed-hosts.h"
#include "shim-bridge/wasi/host.h"
#include "shim-bridge/wasi/rdbms.h"

#define OB_PG_CONNS_MAX 16

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

/* The one host and port the parsed options name, or a refusal. */
static int pg_target(PQconninfoOption *opts, char *host, size_t hsize, unsigned *port, struct wh_db_fail *f)
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
			return wh_db_failf(
			    f, "connection-failed",
			    "the address sets %s, which spin-bridge does not allow: name the host "
			    "and port in allowed_outbound_hosts and in the address",
			    o->keyword);
	}
	if (!h || !*h)
		return wh_db_failf(f, "connection-failed",
		                "the address names no host: write postgres://host:port/db");
	if (strchr(h, ',') || (p && strchr(p, ',')))
		return wh_db_failf(f, "connection-failed", "the address names several hosts: name one");
	if (h[0] == '/' || h[0] == '@')
		return wh_db_failf(f, "connection-failed",
		                "a unix socket is not an outbound host: name a TCP host");
	if (strlen(h) >= hsize)
		return wh_db_failf(f, "connection-failed", "the host is too long");
	(void)snprintf(host, hsize, "%s", h);
	*port = 5432;
	if (p) {
		char *end;
		long v = strtol(p, &end, 10);
		if (*end || v < 1 || v > 65535)
			return wh_db_failf(f, "connection-failed", "the port must be a number from 1 to 65535");
		*port = (unsigned)v;
	}
	return 0;
}

static PGconn *pg_connect(const struct wh_component_env *env, const char *address, struct wh_db_fail *f)
{
	const char *keys[] = {"dbname", "connect_timeout", "options", NULL};
	const char *vals[] = {address, "5", "-c statement_timeout=30000", NULL};
	PQconninfoOption *opts;
	char *perr = NULL, host[WH_HOST_SIZE];
	unsigned port;
	PGconn *c;

	if (!(opts = PQconninfoParse(address, &perr))) {
		wh_db_failf(f, "connection-failed", "the address is not one libpq reads: %s",
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
		wh_db_failf(f, "connection-failed",
		         "postgres://%s:%u is not in the component's allowed_outbound_hosts", host, port);
		return NULL;
	}
	c = PQconnectdbParams(keys, vals, 1);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		char line[400];
		wh_db_failf(f, "connection-failed", "postgres://%s:%u: %s", host, port,
		         c ? pq_line(PQerrorMessage(c), line, sizeof(line)) : "out of memory");
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* --- parameters ------------------------------------------------------------------------- */

/* The guest's parameters as libpq takes them: text with a type, binary as
 * bytea. values borrow p's buffers; num holds the numbers' text. */
struct pg_params {
	int n;
	Oid *types;
	const char **values; /* NULL for db-null */
	int *lengths;
	int *formats;
	char (*num)[40];
};

static void pg_params_free(struct pg_params *q)
{
	free(q->types);
	free(q->values);
	free(q->lengths);
	free(q->formats);
	free(q->num);
	*q = (struct pg_params){0};
}

static int pg_params_make(const struct wh_db_params *p, struct pg_params *q, struct wh_db_fail *f)
{
	static const char empty[1];
	size_t n = p->n;

	q->n = (int)n;
	if (n == 0)
		return 0;
	if (!(q->types = calloc(n, sizeof(*q->types))) || !(q->values = calloc(n, sizeof(*q->values))) ||
	    !(q->lengths = calloc(n, sizeof(*q->lengths))) || !(q->formats = calloc(n, sizeof(*q->formats))) ||
	    !(q->num = calloc(n, sizeof(*q->num))))
		return wh_db_failf(f, "other", "out of memory");
	for (size_t i = 0; i < n; i++) {
		const struct wh_db_value *v = &p->v[i];
		char *num = q->num[i];
		size_t ns = sizeof(q->num[i]);

		q->values[i] = num;
		switch (v->kind) {
		case WH_DB_NULL:
			q->values[i] = NULL;
			break;
		case WH_DB_BOOLEAN:
			q->types[i] = OID_BOOL;
			(void)snprintf(num, ns, "%s", v->v.b ? "t" : "f");
			break;
		case WH_DB_INT8:
		case WH_DB_INT16:
		case WH_DB_INT32:
		case WH_DB_INT64:
			q->types[i] = v->kind == WH_DB_INT64 ? OID_INT8 : v->kind == WH_DB_INT32 ? OID_INT4 : OID_INT2;
			(void)snprintf(num, ns, "%lld", (long long)v->v.i);
			break;
		case WH_DB_UINT8:
		case WH_DB_UINT16:
		case WH_DB_UINT32:
		case WH_DB_UINT64:
			if (v->v.u > INT64_MAX)
				return wh_db_failf(f, "bad-parameter",
				                   "parameter %zu: %llu does not fit PostgreSQL's int8", i + 1,
				                   (unsigned long long)v->v.u);
			/* the next wider signed type holds every value */
			q->types[i] = v->kind == WH_DB_UINT8    ? OID_INT2
			              : v->kind == WH_DB_UINT16 ? OID_INT4
			                                        : OID_INT8;
			(void)snprintf(num, ns, "%llu", (unsigned long long)v->v.u);
			break;
		case WH_DB_FLOAT32:
			q->types[i] = OID_FLOAT4;
			(void)snprintf(num, ns, "%.9g", (double)v->v.f32);
			break;
		case WH_DB_FLOAT64:
			q->types[i] = OID_FLOAT8;
			(void)snprintf(num, ns, "%.17g", v->v.f64);
			break;
		case WH_DB_STR:
			/* libpq takes text as a C string */
			if (memchr(v->v.bytes.p, 0, v->v.bytes.n))
				return wh_db_failf(f, "bad-parameter", "parameter %zu: a text holding U+0000",
				                   i + 1);
			q->types[i] = 0; /* let the server infer text, varchar... */
			q->values[i] = v->v.bytes.p;
			break;
		case WH_DB_BINARY:
			q->types[i] = OID_BYTEA;
			q->values[i] = v->v.bytes.n ? v->v.bytes.p : empty;
			q->lengths[i] = (int)v->v.bytes.n;
			q->formats[i] = 1;
			break;
		default:
			return wh_db_failf(f, "bad-parameter", "parameter %zu has no PostgreSQL type", i + 1);
		}
	}
	return 0;
}

/* --- results ---------------------------------------------------------------------------- */

static enum wh_db_kind data_type(Oid t)
{
	switch (t) {
	case OID_BOOL:
		return WH_DB_BOOLEAN;
	case OID_INT2:
		return WH_DB_INT16;
	case OID_INT4:
		return WH_DB_INT32;
	case OID_INT8:
		return WH_DB_INT64;
	case OID_FLOAT4:
		return WH_DB_FLOAT32;
	case OID_FLOAT8:
		return WH_DB_FLOAT64;
	case OID_TEXT:
	case OID_VARCHAR:
	case OID_BPCHAR:
	case OID_NAME:
		return WH_DB_STR;
	case OID_BYTEA:
		return WH_DB_BINARY;
	default:
		return WH_DB_OTHER;
	}
}

/* One value of the text-format result, decoded by its column type; a
 * bytea is unescaped into *bytea (the caller frees it with PQfreemem). */
static int db_value(const PGresult *res, int row, int col, enum wh_db_kind type, struct wh_db_value *v,
                    unsigned char **bytea, struct wh_db_fail *f)
{
	const char *s = PQgetvalue(res, row, col);
	size_t n = (size_t)PQgetlength(res, row, col);

	if (PQgetisnull(res, row, col)) {
		v->kind = WH_DB_NULL;
		return 0;
	}
	v->kind = type;
	switch (type) {
	case WH_DB_BOOLEAN:
		v->v.b = s[0] == 't';
		break;
	case WH_DB_INT16:
	case WH_DB_INT32:
	case WH_DB_INT64:
		v->v.i = strtoll(s, NULL, 10);
		break;
	case WH_DB_FLOAT32:
		v->v.f32 = strtof(s, NULL);
		break;
	case WH_DB_FLOAT64:
		v->v.f64 = strtod(s, NULL);
		break;
	case WH_DB_STR:
		v->v.bytes.p = s;
		v->v.bytes.n = n;
		break;
	case WH_DB_BINARY:
		if (!(*bytea = PQunescapeBytea((const unsigned char *)s, &v->v.bytes.n)))
			return wh_db_failf(f, "value-conversion-failed", "a bytea value does not decode");
		v->v.bytes.p = (const char *)*bytea;
		break;
	default:
		v->kind = WH_DB_UNSUPPORTED;
		break;
	}
	return 0;
}

static int row_set(const PGresult *res, wasmtime_component_val_t *out, struct wh_db_fail *f)
{
	int nf = PQnfields(res), nr = PQntuples(res), r = 0;
	struct wh_db_column *cols = calloc((size_t)nf + 1, sizeof(*cols));
	struct wh_db_value *vals = calloc((size_t)nf + 1, sizeof(*vals));
	unsigned char **byteas = calloc((size_t)nf + 1, sizeof(*byteas));
	struct wh_db_rowset rs;

	wh_db_rowset_init(&rs, (size_t)nf);
	if (!cols || !vals || !byteas) {
		r = wh_db_failf(f, "other", "out of memory");
		goto out;
	}
	for (int c = 0; c < nf; c++) {
		cols[c].name = PQfname(res, c);
		cols[c].type = data_type(PQftype(res, c));
	}
	for (int row = 0; row < nr && r == 0; row++) {
		for (int c = 0; c < nf && r == 0; c++)
			r = db_value(res, row, c, cols[c].type, &vals[c], &byteas[c], f);
		if (r == 0)
			r = wh_db_rowset_add(&rs, vals, cols, f);
		for (int c = 0; c < nf; c++) {
			PQfreemem(byteas[c]);
			byteas[c] = NULL;
		}
	}
	if (r == 0)
		wh_db_rowset_finish(&rs, cols, out);
out:
	wh_db_rowset_clear(&rs);
	free(cols);
	free(vals);
	free(byteas);
	return r;
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
	struct wh_db_fail f = {"other", ""};
	wasmtime_component_val_t v;
	const char *addr;
	char *copy;
	size_t n;
	uint32_t rep;
	PGconn *c;

	if (nargs != 1 || nresults != 1 || wh_arg_string(&args[0], &addr, &n) < 0)
		return wh_trap("fermyon:spin/postgres.connection.open: bad arguments");
	if (ctx->n_pg >= OB_PG_CONNS_MAX) {
		wh_db_failf(&f, "connection-failed", "more than %d connections open in one request",
		         OB_PG_CONNS_MAX);
		return wh_db_fail_result(&results[0], &f, false);
	}
	if (n > 4096 || !(copy = strndup(addr, n)) || memchr(addr, 0, n)) {
		wh_db_failf(&f, "connection-failed", "the address is longer than 4096 bytes or holds U+0000");
		return wh_db_fail_result(&results[0], &f, false);
	}
	c = pg_connect(ctx->env, copy, &f);
	free(copy);
	if (!c)
		return wh_db_fail_result(&results[0], &f, false);
	ctx->n_pg++; /* before wh_add: a failed add drops c, which counts it down */
	if (!(rep = wh_add(ctx, WH_PG_CONN, c, conn_drop))) {
		wh_db_failf(&f, "other", "too many open resources in this request");
		return wh_db_fail_result(&results[0], &f, false);
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
	struct wh_db_fail f = {"other", ""};
	struct wh_db_params p = {0};
	struct pg_params q = {0};
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
	if (sl > WH_DB_STATEMENT_MAX || memchr(stmt, 0, sl)) {
		wh_db_failf(&f, "query-failed", "the statement is over %zu bytes or holds U+0000",
		            WH_DB_STATEMENT_MAX);
		return wh_db_fail_result(&results[0], &f, false);
	}
	if (!(sql = strndup(stmt, sl))) {
		wh_db_failf(&f, "other", "out of memory");
		goto out;
	}
	if (wh_db_params_read(&args[2], &p, &f) < 0 || pg_params_make(&p, &q, &f) < 0)
		goto out;
	res = PQexecParams(c, sql, q.n, q.types, q.values, q.lengths, q.formats, 0);
	if (!res) {
		wh_db_failf(&f, "other", "out of memory");
		goto out;
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK) {
		char line[400];
		wh_db_failf(&f, PQstatus(c) == CONNECTION_OK ? "query-failed" : "connection-failed", "%s",
		            pq_line(PQresultErrorMessage(res), line, sizeof(line)));
		goto out;
	}
	wh_val_bool(&ok, false);
	if (query) {
		if (row_set(res, &ok, &f) < 0)
			goto out;
	} else {
		const char *t = PQcmdTuples(res);
		wh_val_u64(&ok, t && *t ? strtoull(t, NULL, 10) : 0);
	}
	wh_val_result(&results[0], true, &ok);
	r = 0;
out:
	PQclear(res);
	pg_params_free(&q);
	wh_db_params_free(&p);
	free(sql);
	return r == 0 ? NULL : wh_db_fail_result(&results[0], &f, false);
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

/* (fermyon:spin/rdbms-types is rdbms.c's) */
const struct wh_iface_def wh_pg_ifaces[] = {
    {"fermyon:spin/postgres@2.0.0", pg_resources, N(pg_resources), pg_funcs, N(pg_funcs)},
};
const size_t wh_n_pg_ifaces = N(wh_pg_ifaces);
