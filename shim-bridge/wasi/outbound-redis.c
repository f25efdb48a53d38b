/* Outbound Redis, as the spin-sdk WIT has it:
 *
 *   fermyon:spin/redis@2.0.0   resource connection: open(address), publish,
 *                              get, set, incr, del, sadd, smembers, srem,
 *                              execute
 *   fermyon:spin/redis         the same functions with the address as the
 *                              first argument (Spin 1.x), error enum
 *
 * An address is a redis:// or rediss:// (TLS) URL (redis-conn.h: user,
 * password, database) whose host and port the component's
 * allowed_outbound_hosts allow (scheme redis or rediss as the URL has it,
 * port 6379 by default); a bad URL or a host not allowed is
 * invalid-address and never connects. An open connection is the handle's
 * own, a one-connection pool of redis-conn.h (connect timeout, command
 * timeout, AUTH, SELECT, one reconnect), made on the first command and
 * closed when the guest drops it or the request ends; at most
 * OB_REDIS_CONNS_MAX per request (then too-many-connections). A server that
 * is down, and Redis's own errors, are other(message) (WRONGTYPE and "not
 * an integer" are type-error); a v1 call answers error. Caps: a value or
 * payload at most WH_CHUNK_MAX bytes both ways, execute at most
 * OB_REDIS_ARGS_MAX arguments, and a reply (smembers, execute) at most
 * OB_REDIS_REPLY_MAX bytes in all. */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "shim-bridge/wasi/allowed-hosts.h"
#include "shim-bridge/wasi/host.h"
#include "shim-bridge/wasi/outbound.h"
#include "shim-bridge/wasi/redis-conn.h"

#define OB_REDIS_CONNS_MAX 16
#define OB_REDIS_ARGS_MAX  1024
#define OB_REDIS_REPLY_MAX ((size_t)32 * 1024 * 1024)

/* How a call failed: the v2 error case, and the message for other. */
struct ob_fail {
	const char *error_case; /* "invalid-address", "too-many-connections", "type-error", "other" */
	struct sk_error err;
};

static int failed(struct ob_fail *f, const char *error_case, int code)
{
	f->error_case = error_case;
	return code;
}

/* A new one-connection pool to address[0..n), if the component may reach
 * it. */
static int ob_open(const struct wh_component_env *env, const char *address, size_t n,
                   struct wh_redis_pool **out, struct ob_fail *f)
{
	struct wh_redis_url u = {0};
	char *url, what[320];
	const char *scheme;
	int r;

	if (!(url = strndup(address, n)))
		return failed(f, "other", sk_err(&f->err, -ENOMEM, "out of memory"));
	r = wh_redis_url_parse(url, &u, &f->err);
	free(url);
	if (r < 0)
		return failed(f, "invalid-address", r);
	scheme = u.tls ? "rediss" : "redis";
	if (!env || !wh_allowed_hosts_match(env->allowed_outbound_hosts, env->n_allowed_outbound_hosts,
	                                    scheme, u.host, (unsigned)u.port)) {
		r = sk_err(&f->err, -EACCES, "%s://%s:%d is not in the component's allowed_outbound_hosts",
		           scheme, u.host, u.port);
		wh_redis_url_clear(&u);
		return failed(f, "invalid-address", r);
	}
	(void)snprintf(what, sizeof(what), "outbound redis (%s://%s%s%s:%d/%d)", scheme,
	               strchr(u.host, ':') ? "[" : "", u.host, strchr(u.host, ':') ? "]" : "", u.port, u.db);
	r = wh_redis_pool_new(&u, what, wh_outbound_ca_file(env), out, &f->err);
	wh_redis_url_clear(&u);
	return r < 0 ? failed(f, "other", r) : 0;
}

/* An error reply as a failure: type-error for Redis's type errors. */
static int reply_fail(const redisReply *rep, struct ob_fail *f)
{
	bool type = strncmp(rep->str, "WRONGTYPE", 9) == 0 || strstr(rep->str, "not an integer");

	return failed(f, type ? "type-error" : "other", sk_err(&f->err, -EIO, "redis: %.300s", rep->str));
}

/* --- the operations, shared by both versions -------------------------------------------- */

enum ob_op { OB_PUBLISH, OB_GET, OB_SET, OB_INCR, OB_DEL, OB_SADD, OB_SMEMBERS, OB_SREM, OB_EXECUTE };

/* Every argument of one command, borrowed from the guest's values, plus
 * decimal text for the int64 parameters of execute. */
struct ob_cmd {
	int argc;
	const char *argv[OB_REDIS_ARGS_MAX + 2];
	size_t len[OB_REDIS_ARGS_MAX + 2];
	char num[OB_REDIS_ARGS_MAX][24];
};

static int add_arg(struct ob_cmd *c, const char *p, size_t n, struct ob_fail *f)
{
	if (c->argc >= OB_REDIS_ARGS_MAX + 2)
		return failed(
		    f, "other",
		    sk_err(&f->err, -E2BIG, "more than %d arguments to one command", OB_REDIS_ARGS_MAX));
	if (n > WH_CHUNK_MAX)
		return failed(f, "other",
		              sk_err(&f->err, -E2BIG,
		                     "an argument of %zu bytes is over spin-bridge's cap (%zu)", n,
		                     WH_CHUNK_MAX));
	c->argv[c->argc] = n ? p : "";
	c->len[c->argc++] = n;
	return 0;
}

static int add_string(struct ob_cmd *c, const wasmtime_component_val_t *v, struct ob_fail *f)
{
	const char *s;
	size_t n;

	if (wh_arg_string(v, &s, &n) < 0)
		return failed(f, "other", sk_err(&f->err, -EINVAL, "an argument is not a string"));
	return add_arg(c, s, n, f);
}

/* A list<u8> argument, borrowed (its values are u8 slots: copied into buf). */
static int add_bytes(struct ob_cmd *c, const wasmtime_component_val_t *v, uint8_t **keep, struct ob_fail *f)
{
	size_t n = 0;
	int r = wh_arg_bytes(v, WH_CHUNK_MAX, keep, &n);

	if (r < 0)
		return failed(
		    f, "other",
		    sk_err(&f->err, r, "the payload is not a list<u8> of at most %zu bytes", WH_CHUNK_MAX));
	return add_arg(c, (const char *)*keep, n, f);
}

static int add_strings(struct ob_cmd *c, const wasmtime_component_val_t *v, struct ob_fail *f)
{
	int r = 0;

	if (v->kind != WASMTIME_COMPONENT_LIST)
		return failed(f, "other", sk_err(&f->err, -EINVAL, "the keys are not a list<string>"));
	for (size_t i = 0; i < v->of.list.size && r == 0; i++)
		r = add_string(c, &v->of.list.data[i], f);
	return r;
}

/* execute's parameters: int64(s64) as decimal text, binary(payload). */
static int add_params(struct ob_cmd *c, const wasmtime_component_val_t *v, uint8_t **keep, size_t nkeep,
                      struct ob_fail *f)
{
	size_t nums = 0, bins = 0;
	int r = 0;

	if (v->kind != WASMTIME_COMPONENT_LIST)
		return failed(f, "other",
		              sk_err(&f->err, -EINVAL, "the arguments are not a list<redis-parameter>"));
	if (v->of.list.size > OB_REDIS_ARGS_MAX)
		return failed(
		    f, "other",
		    sk_err(&f->err, -E2BIG, "more than %d arguments to one command", OB_REDIS_ARGS_MAX));
	for (size_t i = 0; i < v->of.list.size && r == 0; i++) {
		const wasmtime_component_val_t *p = &v->of.list.data[i], *x;
		int64_t n;
		if (p->kind != WASMTIME_COMPONENT_VARIANT || !(x = p->of.variant.val))
			return failed(f, "other",
			              sk_err(&f->err, -EINVAL, "an argument is not a redis-parameter"));
		if (wh_arg_s64(x, &n) == 0) {
			int k = snprintf(c->num[nums], sizeof(c->num[nums]), "%lld", (long long)n);
			r = add_arg(c, c->num[nums++], (size_t)k, f);
		} else if (bins < nkeep) {
			r = add_bytes(c, x, &keep[bins++], f);
		} else {
			return failed(f, "other",
			              sk_err(&f->err, -EINVAL, "an argument is not a redis-parameter"));
		}
	}
	return r;
}

/* Fill the list of redis-result in v from rep, arrays flattened; *total
 * counts the bytes against OB_REDIS_REPLY_MAX. First count (slots NULL),
 * then fill. */
static int results_of(const redisReply *rep, wasmtime_component_val_t *slots, size_t *at, size_t *total,
                      int depth, struct ob_fail *f)
{
	wasmtime_component_val_t payload;

	if (depth > 8)
		return failed(f, "other", sk_err(&f->err, -E2BIG, "the reply nests arrays more than 8 deep"));
	switch (rep->type) {
	case REDIS_REPLY_ARRAY:
		for (size_t i = 0; i < rep->elements; i++) {
			int r = results_of(rep->element[i], slots, at, total, depth + 1, f);
			if (r < 0)
				return r;
		}
		return 0;
	case REDIS_REPLY_ERROR:
		return reply_fail(rep, f);
	default:
		break;
	}
	*total += (rep->type == REDIS_REPLY_STRING || rep->type == REDIS_REPLY_STATUS ? rep->len : 0) + 32;
	if (*total > OB_REDIS_REPLY_MAX)
		return failed(f, "other",
		              sk_err(&f->err, -E2BIG,
		                     "the reply is more than spin-bridge hands over (%zu bytes)",
		                     OB_REDIS_REPLY_MAX));
	if (rep->type == REDIS_REPLY_STRING && rep->len > WH_CHUNK_MAX)
		return failed(f, "other",
		              sk_err(&f->err, -E2BIG,
		                     "a value of %zu bytes is more than spin-bridge hands over (%zu)",
		                     rep->len, WH_CHUNK_MAX));
	if (slots) {
		wasmtime_component_val_t *s = &slots[*at];
		if (rep->type == REDIS_REPLY_NIL) {
			wh_val_variant(s, "nil", NULL);
		} else if (rep->type == REDIS_REPLY_STATUS) {
			wh_val_text(&payload, rep->str);
			wh_val_variant(s, "status", &payload);
		} else if (rep->type == REDIS_REPLY_INTEGER) {
			wh_val_s64(&payload, (int64_t)rep->integer);
			wh_val_variant(s, "int64", &payload);
		} else {
			wh_val_bytes(&payload, rep->str, rep->len);
			wh_val_variant(s, "binary", &payload);
		}
	}
	(*at)++;
	return 0;
}

static const char *const op_cmd[] = {"PUBLISH", "GET",      "SET",  "INCR", "DEL",
                                     "SADD",    "SMEMBERS", "SREM", NULL};

/* Run op on p with args (the operation's own, after self or address);
 * write the v2 ok payload to *ok (unset for a unit result). v1 and v2
 * differ only in how they report it. */
static int ob_run_cmd(struct ob_cmd *c, struct wh_redis_pool *p, enum ob_op op, bool v1,
                      const wasmtime_component_val_t *args, wasmtime_component_val_t *ok, bool *unit,
                      struct ob_fail *f)
{
	uint8_t *keep[OB_REDIS_ARGS_MAX] = {0};
	size_t nkeep = 0;
	redisReply *rep = NULL;
	int r = 0;

	c->argc = 0;
	*unit = false;
	if (op == OB_EXECUTE) {
		r = add_string(c, &args[0], f);
		if (r == 0)
			r = add_params(c, &args[1], keep, OB_REDIS_ARGS_MAX, f);
		nkeep = OB_REDIS_ARGS_MAX;
	} else {
		(void)add_arg(c, op_cmd[op], strlen(op_cmd[op]), f);
		if (op == OB_DEL)
			r = add_strings(c, &args[0], f);
		else
			r = add_string(c, &args[0], f);
		if (r == 0 && (op == OB_PUBLISH || op == OB_SET))
			r = add_bytes(c, &args[1], &keep[nkeep++], f);
		else if (r == 0 && (op == OB_SADD || op == OB_SREM))
			r = add_strings(c, &args[1], f);
	}
	if (r == 0 && (r = wh_redis_command(p, c->argc, c->argv, c->len, &rep, &f->err)) < 0)
		f->error_case = "other";
	for (size_t i = 0; i < nkeep; i++)
		free(keep[i]);
	if (r < 0)
		return r;
	if (rep->type == REDIS_REPLY_ERROR) {
		r = reply_fail(rep, f);
	} else if (op == OB_PUBLISH || op == OB_SET) {
		*unit = true;
	} else if (op == OB_GET) {
		wasmtime_component_val_t v;
		if (rep->type == REDIS_REPLY_NIL && v1) {
			wh_val_bytes(ok, NULL, 0);
		} else if (rep->type == REDIS_REPLY_NIL) {
			wh_val_option(ok, NULL);
		} else if (rep->type != REDIS_REPLY_STRING) {
			r = failed(f, "type-error",
			           sk_err(&f->err, -EPROTO, "GET answered type %d", rep->type));
		} else if (rep->len > WH_CHUNK_MAX) {
			r = failed(f, "other",
			           sk_err(&f->err, -E2BIG,
			                  "the value of %zu bytes is more than spin-bridge hands over (%zu)",
			                  rep->len, WH_CHUNK_MAX));
		} else {
			wh_val_bytes(v1 ? ok : &v, rep->str, rep->len);
			if (!v1)
				wh_val_option(ok, &v);
		}
	} else if (op == OB_INCR || op == OB_DEL || op == OB_SADD || op == OB_SREM) {
		if (rep->type != REDIS_REPLY_INTEGER)
			r = failed(f, "type-error",
			           sk_err(&f->err, -EPROTO, "%s answered type %d", op_cmd[op], rep->type));
		else if (op == OB_INCR)
			wh_val_s64(ok, (int64_t)rep->integer);
		else
			wh_val_u32(ok, rep->integer < 0            ? 0
			               : rep->integer > UINT32_MAX ? UINT32_MAX
			                                           : (uint32_t)rep->integer);
	} else if (op == OB_SMEMBERS) {
		size_t total = 0;
		if (rep->type != REDIS_REPLY_ARRAY) {
			r = failed(f, "type-error",
			           sk_err(&f->err, -EPROTO, "SMEMBERS answered type %d", rep->type));
		} else {
			for (size_t i = 0; i < rep->elements && r == 0; i++) {
				const redisReply *m = rep->element[i];
				total += m->len + 32;
				if (m->type != REDIS_REPLY_STRING || !sk_utf8_valid(m->str, m->len))
					r = failed(
					    f, "type-error",
					    sk_err(&f->err, -EILSEQ, "a member is not a UTF-8 string"));
				else if (total > OB_REDIS_REPLY_MAX)
					r = failed(f, "other",
					           sk_err(&f->err, -E2BIG,
					                  "the members are more than spin-bridge hands over "
					                  "(%zu bytes)",
					                  OB_REDIS_REPLY_MAX));
			}
			if (r == 0) {
				wasmtime_component_val_t *slots = wh_val_list(ok, rep->elements);
				for (size_t i = 0; i < rep->elements; i++)
					wh_val_string(&slots[i], rep->element[i]->str, rep->element[i]->len);
			}
		}
	} else { /* execute */
		size_t n = 0, total = 0;
		if ((r = results_of(rep, NULL, &n, &total, 0, f)) == 0) {
			wasmtime_component_val_t *slots = wh_val_list(ok, n);
			n = total = 0;
			r = results_of(rep, slots, &n, &total, 0, f);
		}
	}
	freeReplyObject(rep);
	return r;
}


/* ob_run_cmd with its command on the heap: 50 KiB, too much for a wasm
 * host call's stack, and as a thread-local every thread of the process
 * would hold it (glibc zeroes each thread's TLS block as it starts). */
static int ob_run(struct wh_redis_pool *p, enum ob_op op, bool v1, const wasmtime_component_val_t *args,
                  wasmtime_component_val_t *ok, bool *unit, struct ob_fail *f)
{
	struct ob_cmd *c = malloc(sizeof(*c));
	int r;

	if (!c)
		return failed(f, "other", sk_err(&f->err, -ENOMEM, "out of memory"));
	r = ob_run_cmd(c, p, op, v1, args, ok, unit, f);
	free(c);
	return r;
}

/* --- fermyon:spin/redis@2.0.0 ------------------------------------------------------------- */

static void conn_drop(struct wh_ctx *ctx, void *obj)
{
	ctx->n_redis--;
	wh_redis_pool_free(obj);
}

static wasmtime_error_t *v2_fail(wasmtime_component_val_t *res, const struct ob_fail *f)
{
	wasmtime_component_val_t payload, e;
	bool other = strcmp(f->error_case, "other") == 0;

	if (other)
		wh_val_text(&payload, f->err.message);
	wh_val_variant(&e, f->error_case, other ? &payload : NULL);
	wh_val_result(res, false, &e);
	return NULL;
}

static wasmtime_error_t *v2_open(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *args,
                                 size_t nargs, wasmtime_component_val_t *results, size_t nresults)
{
	struct ob_fail f = {"other", {0}};
	struct wh_redis_pool *p = NULL;
	wasmtime_component_val_t v;
	const char *addr;
	size_t n;
	uint32_t rep;

	if (nargs != 1 || nresults != 1 || wh_arg_string(&args[0], &addr, &n) < 0)
		return wh_trap("fermyon:spin/redis.connection.open: bad arguments");
	if (ctx->n_redis >= OB_REDIS_CONNS_MAX) {
		f.error_case = "too-many-connections";
		return v2_fail(&results[0], &f);
	}
	if (ob_open(ctx->env, addr, n, &p, &f) < 0)
		return v2_fail(&results[0], &f);
	ctx->n_redis++; /* before wh_add: a failed add drops p, which counts it down */
	if (!(rep = wh_add(ctx, WH_REDIS_CONN, p, conn_drop))) {
		f.error_case = "too-many-connections";
		return v2_fail(&results[0], &f);
	}
	if (wh_val_resource(cx, &v, rep, WH_REDIS_CONN) < 0) {
		wh_remove(ctx, rep);
		return wh_trap("fermyon:spin/redis.connection.open: cannot make the connection resource");
	}
	wh_val_result(&results[0], true, &v);
	return NULL;
}

static const size_t op_nargs[] = {2, 1, 2, 1, 1, 2, 1, 2, 2};
static const char *const op_fn[] = {"publish", "get",      "set",  "incr",   "del",
                                    "sadd",    "smembers", "srem", "execute"};

static wasmtime_error_t *v2_method(enum ob_op op, struct wh_ctx *ctx, wasmtime_context_t *cx,
                                   wasmtime_component_val_t *args, size_t nargs,
                                   wasmtime_component_val_t *results, size_t nresults)
{
	struct ob_fail f = {"other", {0}};
	struct wh_redis_pool *p;
	wasmtime_component_val_t ok;
	uint32_t rep;
	bool unit;

	if (nargs != 1 + op_nargs[op] || nresults != 1 || wh_arg_rep(cx, &args[0], WH_REDIS_CONN, &rep) < 0 ||
	    !(p = wh_get(ctx, rep, WH_REDIS_CONN)))
		return wh_trap("fermyon:spin/redis.connection.%s: bad arguments", op_fn[op]);
	wh_val_bool(&ok, false);
	if (ob_run(p, op, false, args + 1, &ok, &unit, &f) < 0)
		return v2_fail(&results[0], &f);
	wh_val_result(&results[0], true, unit ? NULL : &ok);
	return NULL;
}

#define V2_METHOD(op, fname)                                                                                 \
	static wasmtime_error_t *fname(struct wh_ctx *ctx, wasmtime_context_t *cx,                           \
	                               wasmtime_component_val_t *args, size_t nargs,                         \
	                               wasmtime_component_val_t *results, size_t nresults)                   \
	{                                                                                                    \
		return v2_method(op, ctx, cx, args, nargs, results, nresults);                               \
	}
V2_METHOD(OB_PUBLISH, v2_publish)
V2_METHOD(OB_GET, v2_get)
V2_METHOD(OB_SET, v2_set)
V2_METHOD(OB_INCR, v2_incr)
V2_METHOD(OB_DEL, v2_del)
V2_METHOD(OB_SADD, v2_sadd)
V2_METHOD(OB_SMEMBERS, v2_smembers)
V2_METHOD(OB_SREM, v2_srem)
V2_METHOD(OB_EXECUTE, v2_execute)

/* --- fermyon:spin/redis (Spin 1.x): an address per call ------------------------------------ */

/* v1 answers error (the enum's only failure) for anything that fails; get
 * of a missing key is an empty payload; del, sadd and srem answer s64. */
static wasmtime_error_t *v1_call(enum ob_op op, struct wh_ctx *ctx, wasmtime_context_t *cx,
                                 wasmtime_component_val_t *args, size_t nargs,
                                 wasmtime_component_val_t *results, size_t nresults)
{
	struct ob_fail f = {"other", {0}};
	struct wh_redis_pool *p = NULL;
	wasmtime_component_val_t ok, e;
	const char *addr;
	size_t n;
	bool unit;
	int r;

	(void)cx;
	if (nargs != 1 + op_nargs[op] || nresults != 1 || wh_arg_string(&args[0], &addr, &n) < 0)
		return wh_trap("fermyon:spin/redis.%s: bad arguments", op_fn[op]);
	wh_val_bool(&ok, false);
	r = ob_open(ctx->env, addr, n, &p, &f);
	if (r == 0)
		r = ob_run(p, op, true, args + 1, &ok, &unit, &f);
	wh_redis_pool_free(p);
	if (r < 0) {
		wh_val_enum(&e, "error");
		wh_val_result(&results[0], false, &e);
		return NULL;
	}
	if (op == OB_DEL || op == OB_SADD || op == OB_SREM) {
		wh_val_s64(&ok, (int64_t)ok.of.u32);
	}
	wh_val_result(&results[0], true, unit ? NULL : &ok);
	return NULL;
}

#define V1_CALL(op, fname)                                                                                   \
	static wasmtime_error_t *fname(struct wh_ctx *ctx, wasmtime_context_t *cx,                           \
	                               wasmtime_component_val_t *args, size_t nargs,                         \
	                               wasmtime_component_val_t *results, size_t nresults)                   \
	{                                                                                                    \
		return v1_call(op, ctx, cx, args, nargs, results, nresults);                                 \
	}
V1_CALL(OB_PUBLISH, v1_publish)
V1_CALL(OB_GET, v1_get)
V1_CALL(OB_SET, v1_set)
V1_CALL(OB_INCR, v1_incr)
V1_CALL(OB_DEL, v1_del)
V1_CALL(OB_SADD, v1_sadd)
V1_CALL(OB_SMEMBERS, v1_smembers)
V1_CALL(OB_SREM, v1_srem)
V1_CALL(OB_EXECUTE, v1_execute)

/* --- the interface table ------------------------------------------------------------------ */

static const struct wh_resource_def v2_resources[] = {
    {"connection", WH_REDIS_CONN},
};

static const struct wh_func_def v2_funcs[] = {
    {"[static]connection.open", v2_open}, {"[method]connection.publish", v2_publish},
    {"[method]connection.get", v2_get},   {"[method]connection.set", v2_set},
    {"[method]connection.incr", v2_incr}, {"[method]connection.del", v2_del},
    {"[method]connection.sadd", v2_sadd}, {"[method]connection.smembers", v2_smembers},
    {"[method]connection.srem", v2_srem}, {"[method]connection.execute", v2_execute},
};

static const struct wh_func_def v1_funcs[] = {
    {"publish", v1_publish},   {"get", v1_get},   {"set", v1_set},
    {"incr", v1_incr},         {"del", v1_del},   {"sadd", v1_sadd},
    {"smembers", v1_smembers}, {"srem", v1_srem}, {"execute", v1_execute},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

const struct wh_iface_def wh_redis_ifaces[] = {
    {"fermyon:spin/redis@2.0.0", v2_resources, N(v2_resources), v2_funcs, N(v2_funcs)},
    /* types only, but a component importing fermyon:spin/redis imports it too */
    {"fermyon:spin/redis-types", NULL, 0, NULL, 0},
    {"fermyon:spin/redis", NULL, 0, v1_funcs, N(v1_funcs)},
};
const size_t wh_n_redis_ifaces = N(wh_redis_ifaces);
