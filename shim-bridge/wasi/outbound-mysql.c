/* Outbound MySQL, as the spin-sdk WIT has it:
 *
 *   fermyon:spin/mysql@2.0.0   resource connection: open(address), query,
 *                              execute, with fermyon:spin/rdbms-types@2.0.0
 *   fermyon:spin/mysql         query and execute with the address as the
 *                              first argument (Spin 1.x), error mysql-error
 *
 * An address is a mysql:// URL (mysql-conn.h: user, password, database,
 * ssl-mode for TLS) whose host and port the component's
 * allowed_outbound_hosts allow (scheme mysql, port 3306 by default); a bad
 * URL or a host not allowed is connection-failed and nothing connects. Each
 * open is a connection of its own through libmariadb, closed when the guest
 * drops it or the request ends (a v1 call opens one and closes it when
 * done); at most WH_DB_CONNS_MAX at once per request. Statements run as
 * prepared statements with rdbms.h's caps; failures are the WIT's error
 * variant (v1: other is other-error), never traps. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim-bridge/wasi/allowed-hosts.h"
#include "shim-bridge/wasi/host.h"
#include "shim-bridge/wasi/mysql-conn.h"
#include "shim-bridge/wasi/outbound.h"
#include "shim-bridge/wasi/rdbms.h"


/* A new connection to address[0..n), if the component may reach it and
 * the request has room for one more; counted in ctx->n_mysql (the caller
 * counts it down when it closes it). */
static int my_open(struct wh_ctx *ctx, const char *address, size_t n, struct wh_mysql **out,
                   struct wh_db_fail *f)
{
	const struct wh_component_env *env = ctx->env;
	struct wh_mysql_url u = {0};
	struct sk_error err = {0};
	const char *lb, *rb;
	int r;

	if (ctx->n_mysql >= WH_DB_CONNS_MAX)
		return wh_db_failf(f, "connection-failed", "more than %d connections open in one request",
		                   WH_DB_CONNS_MAX);
	if (n > WH_DB_ADDRESS_MAX)
		return wh_db_failf(f, "connection-failed", "the address is longer than %d bytes",
		                   WH_DB_ADDRESS_MAX);
	if (wh_mysql_url_parse(address, n, &u, &err) < 0)
		return wh_db_failf(f, "connection-failed", "the address: %s", err.message);
	lb = strchr(u.u.host, ':') ? "[" : "";
	rb = *lb ? "]" : "";
	if (!env || !wh_allowed_hosts_match(env->allowed_outbound_hosts, env->n_allowed_outbound_hosts,
	                                    "mysql", u.u.host, u.u.port)) {
		r = wh_db_failf(f, "connection-failed",
		                "mysql://%s%s%s:%u is not in the component's allowed_outbound_hosts; add "
		                "\"mysql://%s%s%s:%u\" to allow it",
		                lb, u.u.host, rb, u.u.port, lb, u.u.host, rb, u.u.port);
		wh_mysql_url_clear(&u);
		return r;
	}
	r = wh_mysql_connect(&u, wh_outbound_ca_file(env), out, f);
	wh_mysql_url_clear(&u);
	if (r == 0)
		ctx->n_mysql++;
	return r;
}

static void my_close(struct wh_ctx *ctx, struct wh_mysql *c)
{
	ctx->n_mysql--;
	wh_mysql_close(c);
}

static void conn_drop(struct wh_ctx *ctx, void *obj)
{
	my_close(ctx, obj);
}

/* statement and params (guest values) on c: a row-set into *rowset (query)
 * or nothing (execute, rowset NULL). */
static int my_run(struct wh_mysql *c, const wasmtime_component_val_t *statement,
                  const wasmtime_component_val_t *params, wasmtime_component_val_t *rowset,
                  struct wh_db_fail *f)
{
	struct wh_db_params p = {0};
	const char *sql;
	size_t sl;
	int r;

	if (wh_arg_string(statement, &sql, &sl) < 0)
		return wh_db_failf(f, "query-failed", "the statement is not a string");
	if (sl > WH_DB_STATEMENT_MAX)
		return wh_db_failf(f, "query-failed", "the statement is over %zu bytes", WH_DB_STATEMENT_MAX);
	r = wh_db_params_read(params, &p, f);
	if (r == 0)
		r = wh_mysql_run(c, sl ? sql : "", sl, &p, rowset, f);
	wh_db_params_free(&p);
	return r;
}

/* --- fermyon:spin/mysql@2.0.0 ----------------------------------------------------------- */

static wasmtime_error_t *v2_open(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *args,
                                 size_t nargs, wasmtime_component_val_t *results, size_t nresults)
{
	struct wh_db_fail f = {.error_case = "other"};
	wasmtime_component_val_t v;
	struct wh_mysql *c = NULL;
	const char *addr;
	size_t n;
	uint32_t rep;

	if (nargs != 1 || nresults != 1 || wh_arg_string(&args[0], &addr, &n) < 0)
		return wh_trap("fermyon:spin/mysql.connection.open: bad arguments");
	if (my_open(ctx, addr, n, &c, &f) < 0)
		return wh_db_fail_result(&results[0], &f, false);
	/* a failed add drops c, which counts it down */
	if (!(rep = wh_add(ctx, WH_MYSQL_CONN, c, conn_drop))) {
		wh_db_failf(&f, "other", "too many open resources in this request");
		return wh_db_fail_result(&results[0], &f, false);
	}
	if (wh_val_resource(cx, &v, rep, WH_MYSQL_CONN) < 0) {
		wh_remove(ctx, rep);
		return wh_trap("fermyon:spin/mysql.connection.open: cannot make the connection resource");
	}
	wh_val_result(&results[0], true, &v);
	return NULL;
}

static wasmtime_error_t *v2_run(bool query, struct wh_ctx *ctx, wasmtime_context_t *cx,
                                wasmtime_component_val_t *args, size_t nargs,
                                wasmtime_component_val_t *results, size_t nresults)
{
	struct wh_db_fail f = {.error_case = "other"};
	wasmtime_component_val_t ok;
	struct wh_mysql *c;
	uint32_t rep;

	if (nargs != 3 || nresults != 1 || wh_arg_rep(cx, &args[0], WH_MYSQL_CONN, &rep) < 0 ||
	    !(c = wh_get(ctx, rep, WH_MYSQL_CONN)))
		return wh_trap("fermyon:spin/mysql.connection.%s: bad arguments",
		               query ? "query" : "execute");
	if (my_run(c, &args[1], &args[2], query ? &ok : NULL, &f) < 0)
		return wh_db_fail_result(&results[0], &f, false);
	wh_val_result(&results[0], true, query ? &ok : NULL);
	return NULL;
}

static wasmtime_error_t *v2_query(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *args,
                                  size_t nargs, wasmtime_component_val_t *results, size_t nresults)
{
	return v2_run(true, ctx, cx, args, nargs, results, nresults);
}

static wasmtime_error_t *v2_execute(struct wh_ctx *ctx, wasmtime_context_t *cx,
                                    wasmtime_component_val_t *args, size_t nargs,
                                    wasmtime_component_val_t *results, size_t nresults)
{
	return v2_run(false, ctx, cx, args, nargs, results, nresults);
}

/* --- fermyon:spin/mysql (v1) ------------------------------------------------------------ */

static wasmtime_error_t *v1_run(bool query, struct wh_ctx *ctx, wasmtime_component_val_t *args, size_t nargs,
                                wasmtime_component_val_t *results, size_t nresults)
{
	struct wh_db_fail f = {.error_case = "other"};
	wasmtime_component_val_t ok;
	struct wh_mysql *c = NULL;
	const char *addr;
	size_t n;
	int r;

	if (nargs != 3 || nresults != 1 || wh_arg_string(&args[0], &addr, &n) < 0)
		return wh_trap("fermyon:spin/mysql.%s: bad arguments", query ? "query" : "execute");
	if (my_open(ctx, addr, n, &c, &f) < 0)
		return wh_db_fail_result(&results[0], &f, true);
	r = my_run(c, &args[1], &args[2], query ? &ok : NULL, &f);
	my_close(ctx, c);
	if (r < 0)
		return wh_db_fail_result(&results[0], &f, true);
	wh_val_result(&results[0], true, query ? &ok : NULL);
	return NULL;
}

static wasmtime_error_t *v1_query(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *args,
                                  size_t nargs, wasmtime_component_val_t *results, size_t nresults)
{
	(void)cx;
	return v1_run(true, ctx, args, nargs, results, nresults);
}

static wasmtime_error_t *v1_execute(struct wh_ctx *ctx, wasmtime_context_t *cx,
                                    wasmtime_component_val_t *args, size_t nargs,
                                    wasmtime_component_val_t *results, size_t nresults)
{
	(void)cx;
	return v1_run(false, ctx, args, nargs, results, nresults);
}

static const struct wh_resource_def v2_resources[] = {
    {"connection", WH_MYSQL_CONN},
};

static const struct wh_func_def v2_funcs[] = {
    {"[static]connection.open", v2_open},
    {"[method]connection.query", v2_query},
    {"[method]connection.execute", v2_execute},
};

static const struct wh_func_def v1_funcs[] = {
    {"query", v1_query},
    {"execute", v1_execute},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* (fermyon:spin/rdbms-types, both versions, is rdbms.c's) */
const struct wh_iface_def wh_mysql_ifaces[] = {
    {"fermyon:spin/mysql@2.0.0", v2_resources, N(v2_resources), v2_funcs, N(v2_funcs)},
    {"fermyon:spin/mysql", NULL, 0, v1_funcs, N(v1_funcs)},
};
const size_t wh_n_mysql_ifaces = N(wh_mysql_ifaces);
