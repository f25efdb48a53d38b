/* Outbound PostgreSQL: fermyon:spin/postgres@2.0.0 (with the rdbms-types
 * of the spin-sdk WIT), spin:postgres/postgres@3.0.0 and @4.0.0 (resource
 * connection: open(address), query, execute) through libpq, one
 * implementation: the version only picks the cases of values and errors
 * (pg-values.h converts the values).
 *
 * An address is what libpq takes (a postgres:// URI or key=value pairs);
 * libpq parses it (PQconninfoParse) and the one host and port it names
 * must match the component's allowed_outbound_hosts (scheme postgres, port
 * 5432 by default), else connection-failed and nothing connects. Options
 * that would reach another host are refused: hostaddr, service, several
 * hosts, a unix socket folder; so are options naming a file on the node
 * (sslrootcert, sslcert, sslkey, sslcrl, sslcrldir, passfile). TLS is
 * libpq's (sslmode in the address); verify-ca and verify-full check the
 * server against the component's CA bundle (wh_outbound_ca_file: its pod's
 * in the shim's shared mode, else SPIN_OUTBOUND_CA_FILE), else OpenSSL's
 * CA file (SSL_CERT_FILE, else the system bundle). Each open is a connection of its own with a 5 s connect timeout
 * and a 30 s statement_timeout, closed when the guest drops it or the
 * request ends; at most WH_DB_CONNS_MAX per request. Caps: 1 MiB of
 * statement (the value caps are pg-values.h's). Failures are the WIT's
 * error variant, never traps; in @4 a server's error report is
 * query-failed(db-error) with its fields. */
#include <errno.h>
#include <libpq-fe.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "shim-bridge/wasi/allowed-hosts.h"
#include "shim-bridge/wasi/host.h"
#include "shim-bridge/wasi/outbound.h"
#include "shim-bridge/wasi/pg-values.h"


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

/* The fields of a server's error report that @4's db-error keeps apart;
 * the others go to extras under these names. */
static const struct {
	int code;
	const char *name;
} pg_extra_fields[] = {
    {PG_DIAG_MESSAGE_HINT, "hint"},
    {PG_DIAG_STATEMENT_POSITION, "position"},
    {PG_DIAG_INTERNAL_POSITION, "internal-position"},
    {PG_DIAG_INTERNAL_QUERY, "internal-query"},
    {PG_DIAG_CONTEXT, "where"},
    {PG_DIAG_SCHEMA_NAME, "schema"},
    {PG_DIAG_TABLE_NAME, "table"},
    {PG_DIAG_COLUMN_NAME, "column"},
    {PG_DIAG_DATATYPE_NAME, "datatype"},
    {PG_DIAG_CONSTRAINT_NAME, "constraint"},
    {PG_DIAG_SOURCE_FILE, "file"},
    {PG_DIAG_SOURCE_LINE, "line"},
    {PG_DIAG_SOURCE_FUNCTION, "routine"},
};

/* @4's query-error: db-error from the server's report in res (severity,
 * SQLSTATE, message, detail, the rest as extras), else text. */
static void pg_query_error(wasmtime_component_val_t *out, const struct wh_db_fail *f)
{
	static const char *const names[] = {"as-text", "severity", "code", "message", "detail", "extras"};
	const PGresult *pgres = f->res;
	const char *code = pgres ? PQresultErrorField(pgres, PG_DIAG_SQLSTATE) : NULL;
	wasmtime_component_valrecord_entry_t *e;
	wasmtime_component_val_t rec, x, *list;
	const char *v;
	size_t n = 0;

	if (!code) {
		wh_val_text(&x, f->msg);
		wh_val_variant(out, "text", &x);
		return;
	}
	e = wh_val_record(&rec, names, 6);
	wh_val_text(&e[0].val, f->msg);
	v = PQresultErrorField(pgres, PG_DIAG_SEVERITY_NONLOCALIZED);
	wh_val_text(&e[1].val, v ? v : "ERROR");
	wh_val_text(&e[2].val, code);
	v = PQresultErrorField(pgres, PG_DIAG_MESSAGE_PRIMARY);
	wh_val_text(&e[3].val, v ? v : f->msg);
	if ((v = PQresultErrorField(pgres, PG_DIAG_MESSAGE_DETAIL))) {
		wh_val_text(&x, v);
		wh_val_option(&e[4].val, &x);
	} else {
		wh_val_option(&e[4].val, NULL);
	}
	for (size_t i = 0; i < sizeof(pg_extra_fields) / sizeof(pg_extra_fields[0]); i++)
		n += PQresultErrorField(pgres, pg_extra_fields[i].code) != NULL;
	list = wh_val_list(&e[5].val, n);
	for (size_t i = 0, j = 0; i < sizeof(pg_extra_fields) / sizeof(pg_extra_fields[0]); i++)
		if ((v = PQresultErrorField(pgres, pg_extra_fields[i].code))) {
			wasmtime_component_val_t *t = wh_val_tuple(&list[j++], 2);
			wh_val_text(&t[0], pg_extra_fields[i].name);
			wh_val_text(&t[1], v);
		}
	wh_val_variant(out, "db-error", &rec);
}

/* results[0] = err(f) as version ver has its error variant. */
static wasmtime_error_t *pg_fail_result(wasmtime_component_val_t *res, enum pg_ver ver, const struct wh_db_fail *f)
{
	wasmtime_component_val_t payload, e;

	if (ver < PG_V4 || strcmp(f->error_case, "query-failed") != 0)
		return wh_db_fail_result(res, f, false);
	pg_query_error(&payload, f);
	wh_val_variant(&e, f->error_case, &payload);
	wh_val_result(res, false, &e);
	return NULL;
}

/* Options naming a file on the node, which a guest may not choose. */
static bool pg_file_option(const char *k)
{
	static const char *const files[] = {"sslcert", "sslkey", "sslrootcert", "sslcrl", "sslcrldir", "passfile"};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (!strcmp(k, files[i]))
			return true;
	return false;
}

/* The one host and port the parsed options name, and whether sslmode asks
 * for the server's certificate to be verified, or a refusal. */
static int pg_target(PQconninfoOption *opts, char *host, size_t hsize, unsigned *port, bool *verify,
                     struct wh_db_fail *f)
{
	const char *h = NULL, *p = NULL;

	*verify = false;
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val || !*o->val)
			continue;
		if (!strcmp(o->keyword, "host"))
			h = o->val;
		else if (!strcmp(o->keyword, "port"))
			p = o->val;
		else if (!strcmp(o->keyword, "sslmode"))
			*verify = !strcmp(o->val, "verify-ca") || !strcmp(o->val, "verify-full");
		else if (!strcmp(o->keyword, "hostaddr") || !strcmp(o->keyword, "service"))
			return wh_db_failf(
			    f, "connection-failed",
			    "the address sets %s, which spin-bridge does not allow: name the host "
			    "and port in allowed_outbound_hosts and in the address",
			    o->keyword);
		else if (pg_file_option(o->keyword))
			return wh_db_failf(f, "connection-failed",
			                "the address sets %s, a file on the node, which spin-bridge does not "
			                "allow: sslmode=verify-full checks the server against the app's CA "
			                "bundle (SPIN_OUTBOUND_CA_FILE, else SSL_CERT_FILE of spin-bridge)",
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

/* A connection to address, if the component may reach its host; with
 * sslmode verify-ca or verify-full the server's certificate is checked
 * against the component's CA bundle, else OpenSSL's CA file
 * (SSL_CERT_FILE, else the system bundle). */
static PGconn *pg_connect(const struct wh_component_env *env, const char *address, struct wh_db_fail *f)
{
	const char *keys[] = {"dbname", "connect_timeout", "options", "client_encoding", "sslrootcert", NULL};
	const char *vals[] = {address, "5", "-c statement_timeout=30000", "UTF8", NULL, NULL};
	PQconninfoOption *opts;
	char *perr = NULL, host[WH_HOST_SIZE];
	unsigned port;
	bool verify;
	PGconn *c;

	if (!(opts = PQconninfoParse(address, &perr))) {
		wh_db_failf(f, "connection-failed", "the address is not one libpq reads: %s",
		         perr ? perr : "out of memory");
		PQfreemem(perr);
		return NULL;
	}
	if (pg_target(opts, host, sizeof(host), &port, &verify, f) < 0) {
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
	if (verify) {
		/* else libpq would look in ~/.postgresql/root.crt of spin-bridge's user */
		const char *own = wh_outbound_ca_file(env), *file = getenv(X509_get_default_cert_file_env());
		vals[4] = own ? own : file && *file ? file : X509_get_default_cert_file();
	} else {
		keys[4] = NULL; /* require and prefer: encrypted, unverified, as libpq has them */
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

/* --- the host functions ------------------------------------------------------------------ */

static void conn_drop(struct wh_ctx *ctx, void *obj)
{
	ctx->n_pg--;
	PQfinish(obj);
}

/* connection.open(address) of any version. */
static wasmtime_error_t *pg_open(enum pg_ver ver, struct wh_ctx *ctx, wasmtime_context_t *cx,
                                 wasmtime_component_val_t *args, size_t nargs,
                                 wasmtime_component_val_t *results, size_t nresults)
{
	struct wh_db_fail f = {.error_case = "other"};
	wasmtime_component_val_t v;
	const char *addr;
	char *copy;
	size_t n;
	uint32_t rep;
	PGconn *c;

	if (nargs != 1 || nresults != 1 || wh_arg_string(&args[0], &addr, &n) < 0)
		return wh_trap("postgres connection.open: bad arguments");
	if (ctx->n_pg >= WH_DB_CONNS_MAX) {
		wh_db_failf(&f, "connection-failed", "more than %d connections open in one request",
		         WH_DB_CONNS_MAX);
		return pg_fail_result(&results[0], ver, &f);
	}
	if (n > WH_DB_ADDRESS_MAX || !(copy = strndup(addr, n)) || memchr(addr, 0, n)) {
		wh_db_failf(&f, "connection-failed", "the address is longer than %d bytes or holds U+0000",
		            WH_DB_ADDRESS_MAX);
		return pg_fail_result(&results[0], ver, &f);
	}
	c = pg_connect(ctx->env, copy, &f);
	free(copy);
	if (!c)
		return pg_fail_result(&results[0], ver, &f);
	ctx->n_pg++; /* before wh_add: a failed add drops c, which counts it down */
	if (!(rep = wh_add(ctx, WH_PG_CONN, c, conn_drop))) {
		wh_db_failf(&f, "other", "too many open resources in this request");
		return pg_fail_result(&results[0], ver, &f);
	}
	if (wh_val_resource(cx, &v, rep, WH_PG_CONN) < 0) {
		wh_remove(ctx, rep);
		return wh_trap("postgres connection.open: cannot make the connection resource");
	}
	wh_val_result(&results[0], true, &v);
	return NULL;
}

/* connection.query or connection.execute of any version: the parameters
 * as text (bytea and interval binary), the result in binary. */
static wasmtime_error_t *pg_run(enum pg_ver ver, bool query, struct wh_ctx *ctx, wasmtime_context_t *cx,
                                wasmtime_component_val_t *args, size_t nargs,
                                wasmtime_component_val_t *results, size_t nresults)
{
	struct wh_db_fail f = {.error_case = "other"};
	struct pg_params p = {0};
	wasmtime_component_val_t ok;
	wasmtime_error_t *e = NULL;
	const char *stmt;
	char *sql = NULL;
	size_t sl;
	uint32_t rep;
	PGresult *res = NULL;
	PGconn *c;

	if (nargs != 3 || nresults != 1 || wh_arg_rep(cx, &args[0], WH_PG_CONN, &rep) < 0 ||
	    !(c = wh_get(ctx, rep, WH_PG_CONN)) || wh_arg_string(&args[1], &stmt, &sl) < 0)
		return wh_trap("postgres connection.%s: bad arguments", query ? "query" : "execute");
	if (sl > WH_DB_STATEMENT_MAX || memchr(stmt, 0, sl)) {
		wh_db_failf(&f, "query-failed", "the statement is over %zu bytes or holds U+0000",
		         WH_DB_STATEMENT_MAX);
		return pg_fail_result(&results[0], ver, &f);
	}
	if (!(sql = strndup(stmt, sl))) {
		wh_db_failf(&f, "other", "out of memory");
		goto fail;
	}
	if (pg_params_read(&args[2], &p, &f) < 0)
		goto fail;
	res = PQexecParams(c, sql, p.n, p.types, (const char *const *)p.values, p.lengths, p.formats, 1);
	if (!res) {
		wh_db_failf(&f, "other", "out of memory");
		goto fail;
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK) {
		char line[400];
		wh_db_failf(&f, PQstatus(c) == CONNECTION_OK ? "query-failed" : "connection-failed", "%s",
		         pq_line(PQresultErrorMessage(res), line, sizeof(line)));
		f.res = res;
		goto fail;
	}
	wh_val_bool(&ok, false);
	if (query) {
		if (pg_row_set(c, res, ver, &ok, &f) < 0) {
			wasmtime_component_val_delete(&ok);
			goto fail;
		}
	} else {
		const char *t = PQcmdTuples(res);
		wh_val_u64(&ok, t && *t ? strtoull(t, NULL, 10) : 0);
	}
	wh_val_result(&results[0], true, &ok);
	goto out;
fail:
	e = pg_fail_result(&results[0], ver, &f);
out:
	PQclear(res);
	pg_params_free(&p);
	free(sql);
	return e;
}

/* The functions of each version: one implementation, the version passed. */
#define PG_FUNCS(v)                                                                                     \
	static wasmtime_error_t *pg##v##_open(struct wh_ctx *ctx, wasmtime_context_t *cx,             \
	                                      wasmtime_component_val_t *a, size_t na,                  \
	                                      wasmtime_component_val_t *r, size_t nr)                  \
	{                                                                                               \
		return pg_open(PG_V##v, ctx, cx, a, na, r, nr);                                         \
	}                                                                                               \
	static wasmtime_error_t *pg##v##_query(struct wh_ctx *ctx, wasmtime_context_t *cx,            \
	                                       wasmtime_component_val_t *a, size_t na,                 \
	                                       wasmtime_component_val_t *r, size_t nr)                 \
	{                                                                                               \
		return pg_run(PG_V##v, true, ctx, cx, a, na, r, nr);                                    \
	}                                                                                               \
	static wasmtime_error_t *pg##v##_execute(struct wh_ctx *ctx, wasmtime_context_t *cx,          \
	                                         wasmtime_component_val_t *a, size_t na,               \
	                                         wasmtime_component_val_t *r, size_t nr)               \
	{                                                                                               \
		return pg_run(PG_V##v, false, ctx, cx, a, na, r, nr);                                   \
	}                                                                                               \
	static const struct wh_func_def pg##v##_funcs[] = {                                            \
	    {"[static]connection.open", pg##v##_open},                                                  \
	    {"[method]connection.query", pg##v##_query},                                                \
	    {"[method]connection.execute", pg##v##_execute},                                            \
	};

PG_FUNCS(2)
PG_FUNCS(3)
PG_FUNCS(4)

static const struct wh_resource_def pg_resources[] = {
    {"connection", WH_PG_CONN},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* rdbms-types holds only types, but a component importing postgres@2.0.0
 * imports it as an instance too. */
const struct wh_iface_def wh_pg_ifaces[] = {
    {"fermyon:spin/rdbms-types@2.0.0", NULL, 0, NULL, 0},
    {"fermyon:spin/postgres@2.0.0", pg_resources, N(pg_resources), pg2_funcs, N(pg2_funcs)},
    {"spin:postgres/postgres@3.0.0", pg_resources, N(pg_resources), pg3_funcs, N(pg3_funcs)},
    {"spin:postgres/postgres@4.0.0", pg_resources, N(pg_resources), pg4_funcs, N(pg4_funcs)},
};
const size_t wh_n_pg_ifaces = N(wh_pg_ifaces);
