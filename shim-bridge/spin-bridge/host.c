/* An app host: one loaded Spin app ready to answer HTTP requests on an
 * engine it shares (see host.h). Requests run on the HTTP server's worker
 * threads (sb_host_handle); each gets a fresh instance. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "shim-bridge/app/app.h"
#include "shim-bridge/app/routes.h"
#include "shim-bridge/app/runtime-config.h"
#include "shim-bridge/app/vars.h"
#include "shim-bridge/http/cgi.h"
#include "shim-bridge/http/server.h"
#include "shim-bridge/runtime/engine.h"
#include "shim-bridge/runtime/handler.h"
#include "shim-bridge/runtime/staging.h"
#include "shim-bridge/spin-bridge/host.h"
#include "shim-bridge/telemetry/telemetry.h"
#include "shim-bridge/wasi/allowed-hosts.h"
#include "shim-bridge/wasi/kv-sqlite.h"
#include "shim-bridge/wasi/outbound.h"
#include "shim-bridge/wasi/redis-conn.h"
#include "shim-bridge/wasi/sqlite-db.h"

/* Request headers passed to a component, spin-* ones included. */
#define REQUEST_HEADERS_MAX 160

struct sb_host {
	const struct bridge_options *opts; /* borrowed */
	struct sb_engine *engine;          /* borrowed */
	const char *const *environ;        /* the app's environment (borrowed) */
	const struct sk_log_sink *log;     /* guest output and the host's records */
	const char *ca_file;               /* borrowed, or NULL */
	atomic_bool cancel;                /* sb_host_cancel: running guests stop */
	bool cancel_guests;                /* env->cancellable */
	struct app *app;
	struct app_vars *vars;
	struct sb_component **comps; /* by app component index; NULL when unused */
	struct app_router *router;
	char *work_dir; /* staging folder we made (removed at free), or NULL */
	struct app_runtime_config *rc; /* runtime-config.toml, or an empty one */
	struct wh_kvdb *kvdb;           /* key-value stores (SQLite) for Spin's key-value */
	struct wh_sqldb *sqldb;         /* SQLite databases for Spin's sqlite */
	struct sb_redis_route *redis;   /* the Redis triggers, expanded (n_redis_triggers) */
	/* the instance budget HTTP and Redis share in an app with both */
	bool slots_on;
	unsigned slots_free;
	pthread_mutex_t slot_mu;
	pthread_cond_t slot_cond;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* --- answering ------------------------------------------------------------------------ */

static void fail(const struct sb_host *b, struct http_response *resp, const char *component, const char *path, const char *reason)
{
	char q[1024], p[512];

	sk_report(b->log, LOG_ERROR, "request failed", "component=%s path=%s reason=%s", component, log_quote(path, p, sizeof(p)),
		  log_quote(reason, q, sizeof(q)));
	http_response_clear(resp);
	resp->status = 500;
	resp->server_error = true;
}

static void copy_headers(struct http_response *resp, const struct http_header *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		(void)http_response_add_header(resp, h[i].name, h[i].value);
}

static void run_wagi(struct sb_host *b, struct sb_component *c, const struct app_trigger *t,
		     const struct app_route_match *m, const struct http_request *req, struct http_response *resp)
{
	struct cgi_strv env = { 0 }, argv = { 0 };
	struct cgi_response out = { 0 };
	struct sk_buf stdout_buf = sk_buf_make(0); /* sb_wagi_run sets the cap */
	struct sk_error err = { 0 };
	_cleanup_free_ struct sk_kv *kv = NULL;
	_cleanup_free_ struct cgi_path_match *pm = NULL;
	size_t body_len = 0;
	const char *body = http_request_body(req, &body_len);

	pm = calloc(m->n_params + 1, sizeof(*pm));
	if (!pm) {
		fail(b, resp, c->id, req->path, "out of memory");
		return;
	}
	for (size_t i = 0; i < m->n_params; i++)
		pm[i] = (struct cgi_path_match){ m->params[i].name, m->params[i].value };
	struct cgi_route route = {
		.script_name = m->script_name,
		.path_info = m->path_info,
		.matched_route = m->matched_route,
		.base_path = m->base_path,
		.raw_component_route = m->raw_component_route,
		.component_route = m->component_route,
		.matches = pm,
		.n_matches = m->n_params,
	};
	struct cgi_request creq = {
		.method = req->method,
		.path = req->path,
		.query = req->query,
		.has_query = strchr(req->target, '?') != NULL,
		.version_minor = req->version_minor,
		.headers = req->headers,
		.n_headers = req->n_headers,
		.body_len = body_len,
		.client_addr = req->client_addr,
		.client_ip = req->client_ip,
	};
	char port[16];
	snprintf(port, sizeof(port), "%u", req->local_port);
	creq.default_port = port;
	if (cgi_build_env(&creq, &route, &env, &err) < 0 ||
	    cgi_build_argv(t->wagi_argv, req->path, req->query, 64 * 1024, &argv, &err) < 0) {
		fail(b, resp, c->id, req->path, err.message);
		goto out;
	}
	kv = calloc(env.n + 1, sizeof(*kv));
	if (!kv) {
		fail(b, resp, c->id, req->path, "out of memory");
		goto out;
	}
	/* "NAME=value" strings split in place: env is ours until freed. */
	size_t n_kv = 0;
	for (size_t i = 0; i < env.n; i++) {
		char *eq = strchr(env.v[i], '=');
		if (!eq)
			continue;
		*eq = '\0';
		kv[n_kv++] = (struct sk_kv){ env.v[i], eq + 1 };
	}
	if (sb_wagi_run(c, (const char *const *)argv.v, argv.n, kv, n_kv, (const uint8_t *)body, body_len,
			&stdout_buf, &err) < 0) {
		fail(b, resp, c->id, req->path, err.message);
		goto out;
	}
	if (cgi_parse_output((const char *)stdout_buf.data, stdout_buf.len, &out, &err) < 0) {
		fail(b, resp, c->id, req->path, err.message);
		goto out;
	}
	resp->status = out.status;
	copy_headers(resp, out.headers, out.n_headers);
	if (out.body_len && http_response_append(resp, out.body, out.body_len) < 0)
		fail(b, resp, c->id, req->path, "response body is over the limit (raise --max-response-body)");
out:
	cgi_response_free(&out);
	cgi_strv_free(&env);
	cgi_strv_free(&argv);
	sk_buf_free(&stdout_buf);
}

/* The request headers a component sees: the client's (names in lower case),
 * then Spin's spin-* ones. Strings live in `store`. */
static size_t spin_headers(const struct http_request *req, const struct app_route_match *m,
			   struct sk_buf *store, struct sk_kv *out, size_t max, size_t *offsets)
{
	size_t n = 0;
	const char *host = http_request_header(req, "host");
#define PUT(k, v)                                                                                            \
	do {                                                                                                 \
		size_t at_ = store->len;                                                                     \
		if (n < max && sk_buf_append(store, k, strlen(k) + 1) == 0 &&                                \
		    sk_buf_append(store, v, strlen(v) + 1) == 0) {                                           \
			offsets[2 * n] = at_;                                                                 \
			offsets[2 * n + 1] = at_ + strlen(k) + 1;                                             \
			n++;                                                                                 \
		} else {                                                                                     \
			store->len = at_;                                                                     \
		}                                                                                            \
	} while (0)
	for (size_t i = 0; i < req->n_headers && n < max; i++) {
		char name[256];
		size_t l = req->headers[i].name_len < sizeof(name) - 1 ? req->headers[i].name_len : sizeof(name) - 1;
		for (size_t j = 0; j < l; j++) {
			char ch = req->headers[i].name[j];
			name[j] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
		}
		name[l] = '\0';
		PUT(name, req->headers[i].value);
	}
	char url[8192];
	snprintf(url, sizeof(url), "http://%s%s", host ? host : "localhost", req->target);
	PUT("spin-full-url", url);
	PUT("spin-path-info", m->path_info ? m->path_info : "");
	PUT("spin-matched-route", m->matched_route ? m->matched_route : "");
	PUT("spin-base-path", m->base_path ? m->base_path : "/");
	PUT("spin-raw-component-route", m->raw_component_route ? m->raw_component_route : "");
	PUT("spin-component-route", m->component_route ? m->component_route : "");
	PUT("spin-client-addr", req->client_addr);
	for (size_t i = 0; i < m->n_params; i++) {
		char name[300];
		snprintf(name, sizeof(name), "spin-path-match-%s", m->params[i].name);
		PUT(name, m->params[i].value);
	}
#undef PUT
	for (size_t i = 0; i < n; i++)
		out[i] = (struct sk_kv){ (const char *)store->data + offsets[2 * i],
					 (const char *)store->data + offsets[2 * i + 1] };
	return n;
}

static void run_inbound(struct sb_host *b, struct sb_component *c, const struct app_route_match *m,
			const struct http_request *req, struct http_response *resp)
{
	struct sk_kv headers[REQUEST_HEADERS_MAX];
	size_t offsets[2 * REQUEST_HEADERS_MAX];
	struct sk_buf store = sk_buf_make(1u << 20);
	_cleanup_free_ struct sk_kv *params = calloc(m->n_params + 1, sizeof(*params));
	struct sb_inbound_response out;
	size_t body_len = 0;
	const char *body = http_request_body(req, &body_len);
	struct sk_error err = { 0 };
	int r;

	if (!params) {
		fail(b, resp, c->id, req->path, "out of memory");
		sk_buf_free(&store);
		return;
	}
	for (size_t i = 0; i < m->n_params; i++)
		params[i] = (struct sk_kv){ m->params[i].name, m->params[i].value };
	struct sb_inbound_request in = {
		.method = req->method,
		.uri = req->target,
		.headers = headers,
		.n_headers = spin_headers(req, m, &store, headers, REQUEST_HEADERS_MAX, offsets),
		.params = params,
		.n_params = m->n_params,
		.body = (const uint8_t *)body,
		.body_len = body_len,
		.has_body = body_len > 0,
	};
	r = sb_inbound_http_call(c, &in, &out, &err);
	sk_buf_free(&store);
	if (r == -ENOTSUP) {
		resp->status = 405;
		return;
	}
	if (r < 0) {
		fail(b, resp, c->id, req->path, err.message);
		return;
	}
	resp->status = (int)out.status;
	for (size_t i = 0; i < out.n_headers; i++)
		(void)http_response_add_header(resp, out.header_names[i], out.header_values[i]);
	if (out.body.len && http_response_append(resp, out.body.data, out.body.len) < 0)
		fail(b, resp, c->id, req->path, "response body is over the limit (raise --max-response-body)");
	sb_inbound_response_free(&out);
}

/* A wasi:http component: both bodies stream. Before the response started a
 * failure is a 500; after, only cutting the connection tells the client. */
static void run_wasi_http(const struct sb_host *b, struct sb_component *c, const struct app_route_match *m, const struct http_request *req,
			  struct http_response *resp)
{
	struct sk_kv headers[REQUEST_HEADERS_MAX];
	size_t offsets[2 * REQUEST_HEADERS_MAX];
	struct sk_buf store = sk_buf_make(1u << 20);
	size_t n = spin_headers(req, m, &store, headers, REQUEST_HEADERS_MAX, offsets);
	bool started = false;
	struct sk_error err = { 0 };
	const char *why = err.message;
	int r = sb_wasi_http_call(c, req, headers, n, resp, &started, &err);

	if (r < 0) {
		if (!started)
			fail(b, resp, c->id, req->path, why);
		else if (r == -EPIPE) {
			char p[512];
			/* not the app's fault nor ours: no error, no 5xx count */
			sk_report(b->log, LOG_INFO, "request cut short", "component=%s path=%s reason=\"%s\"", c->id,
				 log_quote(req->path, p, sizeof(p)), why);
		} else {
			char q[1024], p[512];
			sk_report(b->log, LOG_ERROR, "request failed", "component=%s path=%s reason=%s response=cut", c->id,
				  log_quote(req->path, p, sizeof(p)), log_quote(why, q, sizeof(q)));
			resp->server_error = true;
		}
	}
	sk_buf_free(&store);
}

/* Requests for wasi:http components go to a worker with the body still on
 * the wire; the others are read whole first (WAGI and inbound-http take the
 * body as one value). */
bool sb_host_wants_stream(void *user, const struct http_request *req)
{
	struct sb_host *b = user;
	struct app_route_match m;
	bool stream = false;

	if (app_router_match(b->router, req->path, &m) == 0) {
		stream = b->comps[m.component]->kind == SB_HANDLER_WASI_HTTP;
		app_route_match_clear(&m);
	}
	return stream;
}

/* The incoming W3C traceparent, when the request carries a valid one. */
static const struct tel_ctx *incoming_trace(const struct http_request *req, struct tel_ctx *out)
{
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct http_header *h = &req->headers[i];
		if (h->name_len == 11 && strncasecmp(h->name, "traceparent", 11) == 0)
			return tel_traceparent_parse(h->value, h->value_len, out) == 0 ? out : NULL;
	}
	return NULL;
}

static void run_component(struct sb_host *b, const struct app_route_match *m, const struct http_request *req,
			  struct http_response *resp)
{
	struct sb_component *c = b->comps[m->component];
	const struct app_trigger *t = &b->app->triggers[m->trigger];
	struct tel_span span;
	char name[TEL_SPAN_NAME_MAX];

	(void)snprintf(name, sizeof(name), "execute_wasm_component %s", c->id);
	tel_span_begin(&span, name, TEL_SPAN_INTERNAL, NULL);
	tel_span_attr_str(&span, "component_id", c->id);
	tel_span_enter(&span);
	if (c->kind == SB_HANDLER_WAGI)
		run_wagi(b, c, t, m, req, resp);
	else if (c->kind == SB_HANDLER_WASI_HTTP)
		run_wasi_http(b, c, m, req, resp);
	else
		run_inbound(b, c, m, req, resp);
	if (resp->server_error || resp->status >= 500)
		tel_span_fail(&span, NULL);
	tel_span_end(&span);
}

void sb_host_handle(void *user, const struct http_request *req, struct http_response *resp)
{
	struct sb_host *b = user;
	struct app_route_match m;
	struct tel_span span;
	struct tel_ctx parent;
	bool tel = tel_on(TEL_TRACES) || tel_on(TEL_METRICS);
	double t0 = b->opts->log_requests || tel ? now_ms() : 0;
	int r = app_router_match(b->router, req->path, &m);
	const char *route = r == 0 ? b->app->triggers[m.trigger].route : "";
	const char *component = r == 0 ? b->app->components[m.component].id : "-";

	if (tel) {
		char name[TEL_SPAN_NAME_MAX];
		(void)snprintf(name, sizeof(name), "%s %s", req->method, r == 0 ? route : "");
		tel_span_begin(&span, name, TEL_SPAN_SERVER, incoming_trace(req, &parent));
		tel_span_attr_str(&span, "http.request.method", req->method);
		tel_span_attr_str(&span, "url.path", req->path);
		tel_span_attr_str(&span, "url.scheme", "http");
		if (r == 0)
			tel_span_attr_str(&span, "http.route", route);
		tel_span_attr_str(&span, "network.protocol.version", req->version_minor ? "1.1" : "1.0");
		tel_span_attr_str(&span, "client.address", req->client_ip);
		tel_span_enter(&span);
	}
	if (r == -ENOENT) {
		resp->status = 404;
	} else if (r < 0) {
		fail(b, resp, "-", req->path, "out of memory matching the route");
	} else {
		sb_host_slot_take(b);
		run_component(b, &m, req, resp);
		sb_host_slot_give(b);
	}
	double ms = b->opts->log_requests || tel ? now_ms() - t0 : 0;
	if (tel) {
		tel_span_attr_int(&span, "http.response.status_code", resp->status);
		if (resp->server_error || resp->status >= 500)
			tel_span_fail(&span, NULL);
		tel_span_end(&span);
		tel_request_done(component, req->method, route, (unsigned)resp->status, ms / 1000.0);
	}
	if (b->opts->log_requests) {
		char p[512];
		sk_report(b->log, LOG_INFO, "request", "method=%s path=%s status=%d component=%s ms=%.3f", req->method,
			 log_quote(req->path, p, sizeof(p)), resp->status, component, ms);
	}
	if (r == 0)
		app_route_match_clear(&m);
}

/* --- start-up ------------------------------------------------------------------------- */

static int read_wasm(const struct app_component *sc, unsigned char **bytes, size_t *len, struct sk_error *err)
{
	char *data = NULL;
	int r;

	if (!sc->source) {
		*bytes = sc->inline_bytes;
		*len = sc->inline_len;
		return 0;
	}
	r = sk_read_file(sc->source, SB_WASM_MAX, &data, len);
	if (r == -E2BIG)
		return sk_err(err, r, "component \"%s\": %s is over the %zu MiB limit for a wasm binary", sc->id,
			      sc->source, SB_WASM_MAX >> 20);
	if (r < 0)
		return sk_err(err, r, "component \"%s\": cannot read %s: %s (build the app first?)", sc->id,
			      sc->source, strerror(-r));
	*bytes = (unsigned char *)data;
	return 1; /* caller frees */
}

static bool component_used(const struct app *app, size_t idx)
{
	for (size_t i = 0; i < app->n_triggers; i++)
		if (app->triggers[i].component == idx)
			return true;
	for (size_t i = 0; i < app->n_redis_triggers; i++)
		if (app->redis_triggers[i].component == idx)
			return true;
	return false;
}

/* Kind of each trigger's executor against what the binary is. */
static int check_kinds(struct sb_host *b, struct sk_error *err)
{
	for (size_t i = 0; i < b->app->n_triggers; i++) {
		const struct app_trigger *t = &b->app->triggers[i];
		const struct sb_component *c = b->comps[t->component];
		const char *id = b->app->components[t->component].id;
		if (t->kind == APP_HANDLER_WAGI && c->kind != SB_HANDLER_WAGI)
			return sk_err(err, -EINVAL, "trigger \"%s\": executor is wagi but component \"%s\" is a "
						    "component exporting %s (remove executor = { type = \"wagi\" })",
				      t->id, id, sb_handler_kind_name(c->kind));
		if (t->kind != APP_HANDLER_WAGI && c->kind == SB_HANDLER_WAGI)
			return sk_err(err, -EINVAL, "trigger \"%s\": component \"%s\" is a core wasm module: set "
						    "executor = { type = \"wagi\" } on the trigger, or build a component",
				      t->id, id);
		if (c->kind == SB_HANDLER_INBOUND_REDIS)
			return sk_err(err, -EINVAL, "trigger \"%s\": component \"%s\" exports fermyon:spin/inbound-redis "
						    "and no HTTP handler: use it from a [[trigger.redis]]",
				      t->id, id);
	}
	for (size_t i = 0; i < b->app->n_redis_triggers; i++) {
		const struct app_redis_trigger *t = &b->app->redis_triggers[i];
		const struct sb_component *c = b->comps[t->component];
		if (!c->redis_fn)
			return sk_err(err, -EINVAL, "trigger \"%s\": component \"%s\" is a %s %s, not a Redis handler "
						    "(export fermyon:spin/inbound-redis, e.g. with the SDK's redis component)",
				      t->id, b->app->components[t->component].id,
				      c->kind == SB_HANDLER_WAGI ? "WAGI" : "component exporting",
				      c->kind == SB_HANDLER_WAGI ? "module" : sb_handler_kind_name(c->kind));
		b->redis[i].component = b->comps[t->component];
	}
	return 0;
}

static int prepare_component(struct sb_host *b, size_t idx, struct sk_error *err)
{
	const struct app_component *sc = &b->app->components[idx];
	_cleanup_free_ struct sb_file_map *maps = NULL;
	_cleanup_free_ char *root = NULL;
	unsigned char *bytes = NULL;
	size_t len = 0;
	const char *entry = NULL;
	struct sk_kv *vars = NULL;
	size_t n_vars = 0;
	int r, owned;

	maps = calloc(sc->n_files + 1, sizeof(*maps));
	if (!maps)
		return sk_err(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < sc->n_files; i++)
		maps[i] = (struct sb_file_map){ sc->files[i].source, sc->files[i].destination };
	r = sb_stage_files(b->work_dir, sc->id, maps, sc->n_files, &root, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < b->app->n_triggers; i++)
		if (b->app->triggers[i].component == idx && b->app->triggers[i].wagi_entrypoint)
			entry = b->app->triggers[i].wagi_entrypoint;
	for (size_t i = 0; i < sc->n_allowed_outbound_hosts; i++) {
		struct sk_error why = { 0 };
		if (wh_allowed_hosts_validate(sc->allowed_outbound_hosts[i], &why) < 0)
			return sk_err(err, -EINVAL, "component \"%s\": allowed_outbound_hosts entry \"%s\": %s",
				      sc->id, sc->allowed_outbound_hosts[i], why.message);
	}
	r = app_component_vars(b->app, b->vars, sc->id, &vars, &n_vars, err);
	if (r < 0)
		return sk_err_prefix(err, "component \"%s\"", sc->id);
	owned = read_wasm(sc, &bytes, &len, err);
	if (owned < 0) {
		sk_kv_free(vars, n_vars);
		return owned;
	}
	struct sb_component_opts o = {
		.id = sc->id,
		.source = sc->source ? sc->source : "inline",
		.files_dir = root,
		.env = sc->env,
		.n_env = sc->n_env,
		.entrypoint = entry,
		.max_output = (size_t)b->opts->max_response_body,
		.vars = vars,
		.n_vars = n_vars,
		.kv_stores = (const char *const *)sc->key_value_stores,
		.n_kv_stores = sc->n_key_value_stores,
		.allowed_hosts = (const char *const *)sc->allowed_outbound_hosts,
		.n_allowed_hosts = sc->n_allowed_outbound_hosts,
		.kvdb = b->kvdb,
		.sqlite_databases = (const char *const *)sc->sqlite_databases,
		.n_sqlite_databases = sc->n_sqlite_databases,
		.sqldb = b->sqldb,
		.ca_file = b->ca_file,
		.log = b->log,
		.max_memory = b->opts->max_instance_memory,
		.timeout_ms = b->opts->timeout_ms,
		.cancel = b->cancel_guests ? &b->cancel : NULL,
	};
	r = sb_component_prepare(b->engine, bytes, len, &o, &b->comps[idx], err);
	sk_kv_free(vars, n_vars);
	if (owned)
		free(bytes);
	if (r < 0)
		return r;
	sk_report(b->log, LOG_INFO, "component ready", "component=%s handler=%s compiled=%s ms=%.1f", sc->id,
		 sb_handler_kind_name(b->comps[idx]->kind), b->comps[idx]->from_cache ? "cache" : "now",
		 b->comps[idx]->compile_ms);
	return 0;
}

static int make_work_dir(struct sb_host *b, struct sk_error *err)
{
	const char *tmp = getenv("TMPDIR");
	char path[4096];

	if (b->opts->work_dir) {
		if (mkdir(b->opts->work_dir, 0700) < 0 && errno != EEXIST)
			return sk_err(err, -errno, "--work-dir %s: %s", b->opts->work_dir, strerror(errno));
		b->work_dir = strdup(b->opts->work_dir);
		return b->work_dir ? 0 : sk_err(err, -ENOMEM, "out of memory");
	}
	snprintf(path, sizeof(path), "%s/spin-bridge-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(path))
		return sk_err(err, -errno, "cannot create a work folder in %s: %s (set TMPDIR or --work-dir)",
			      tmp && *tmp ? tmp : "/tmp", strerror(errno));
	b->work_dir = strdup(path);
	return b->work_dir ? 0 : sk_err(err, -ENOMEM, "out of memory");
}

/* Variables from the runtime config's providers come before the rest. */
static int rc_variable(void *ud, const char *name, const char **value)
{
	struct sb_host *b = ud;
	return app_runtime_config_variable(b->rc, b->environ, name, value);
}

/* runtime-config.toml (--runtime-config-file, else /runtime-config.toml when
 * present): variable providers, key-value stores and SQLite databases; then
 * the state folder and the stores and databases every component names,
 * checked now. */
static int load_runtime_config(struct sb_host *b, struct sk_error *err)
{
	_cleanup_free_ char *state_dir = NULL;
	int r = app_runtime_config_load(b->opts->runtime_config, b->opts->runtime_config_required, &b->rc, err);

	if (r < 0)
		return r;
	for (size_t i = 0; i < b->rc->n_warnings; i++) {
		char q[1024];
		sk_report(b->log, LOG_WARN, "runtime config", "warning=%s", log_quote(b->rc->warnings[i], q, sizeof(q)));
	}
	r = app_runtime_config_state_dir(b->rc, b->opts->state_dir, b->app->dir, &state_dir, err);
	if (r < 0)
		return r;
	r = wh_kvdb_new(b->rc, state_dir, sb_host_ca_file(b), &b->kvdb, err);
	if (r < 0)
		return r;
	r = wh_sqldb_new(b->rc, state_dir, &b->sqldb, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < b->app->n_components; i++) {
		const struct app_component *sc = &b->app->components[i];
		if (!component_used(b->app, i))
			continue;
		r = wh_kvdb_check_component(b->kvdb, sc->id, (const char *const *)sc->key_value_stores,
					      sc->n_key_value_stores, err);
		if (r < 0)
			return r;
		r = wh_sqldb_check_component(b->sqldb, sc->id, (const char *const *)sc->sqlite_databases,
					     sc->n_sqlite_databases, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int var_lookup(const char *name, const char **value, void *ud)
{
	const struct sb_host *b = ud;

	*value = app_vars_get(b->vars, name);
	return *value ? 0 : -ENOENT;
}

/* Each Redis trigger's address (its own or the app's) and channel with the
 * app's variables put in, the address parsed so a bad one fails now. */
static int expand_redis(struct sb_host *b, struct sk_error *err)
{
	const struct app *app = b->app;

	if (!app->n_redis_triggers)
		return 0;
	if (!(b->redis = calloc(app->n_redis_triggers, sizeof(*b->redis))))
		return sk_err(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < app->n_redis_triggers; i++) {
		const struct app_redis_trigger *t = &app->redis_triggers[i];
		struct sb_redis_route *rr = &b->redis[i];
		_cleanup_(wh_redis_url_clear) struct wh_redis_url u = { 0 };
		char *address = NULL, *channel = NULL, *shown = NULL;
		int r;

		rr->trigger_id = t->id;
		rr->component_id = app->components[t->component].id;
		r = app_template_expand(t->address ? t->address : app->redis_address, var_lookup, b, &address, err);
		if (r < 0)
			return sk_err_prefix(err, "trigger \"%s\": address", t->id);
		rr->address = address;
		r = app_template_expand(t->channel, var_lookup, b, &channel, err);
		if (r < 0)
			return sk_err_prefix(err, "trigger \"%s\": channel", t->id);
		rr->channel = channel;
		if (!channel[0])
			return sk_err(err, -EINVAL, "trigger \"%s\": the channel is empty once its variables are put in", t->id);
		if ((r = wh_redis_url_parse(address, &u, err)) < 0)
			return sk_err_prefix(err, "trigger \"%s\"", t->id);
		if (asprintf(&shown, strchr(u.host, ':') ? "%s://[%s]:%d" : "%s://%s:%d", u.tls ? "rediss" : "redis", u.host,
			     u.port) < 0)
			return sk_err(err, -ENOMEM, "out of memory");
		rr->shown = shown;
	}
	return 0;
}

static int load(struct sb_host *b, struct sk_error *err)
{
	int r = app_load(b->opts->from, &b->app, err);

	if (r < 0)
		return r;
	for (size_t i = 0; i < b->app->n_warnings; i++) {
		char q[1024];
		sk_report(b->log, LOG_WARN, "app", "warning=%s", log_quote(b->app->warnings[i], q, sizeof(q)));
	}
	if (b->opts->retain && (r = app_retain(b->app, b->opts->retain, err)) < 0)
		return sk_err_prefix(err, "SPIN_COMPONENTS_TO_RETAIN");
	if (b->app->n_triggers == 0 && b->app->n_redis_triggers == 0)
		return sk_err(err, -EINVAL, "%s: the app has no HTTP or Redis triggers to serve (add a [[trigger.http]] "
					    "or a [[trigger.redis]])",
			      b->app->origin);
	r = load_runtime_config(b, err);
	if (r < 0)
		return r;
	r = app_vars_resolve_with(b->app, (char **)(uintptr_t)b->environ, rc_variable, b, &b->vars, err);
	if (r < 0)
		return r;
	/* Expand every component variable once so a bad template fails now. */
	for (size_t i = 0; i < b->app->n_components; i++) {
		struct sk_kv *kv = NULL;
		size_t n = 0;
		r = app_component_vars(b->app, b->vars, b->app->components[i].id, &kv, &n, err);
		sk_kv_free(kv, n);
		if (r < 0)
			return sk_err_prefix(err, "component \"%s\"", b->app->components[i].id);
	}
	r = expand_redis(b, err);
	if (r < 0)
		return r;
	return app_router_new(b->app, &b->router, err);
}

int sb_host_load(const struct bridge_options *opts, struct sb_engine *engine, const struct sb_host_env *env,
		 struct sb_host **out, struct sk_error *err)
{
	struct sb_host *b = calloc(1, sizeof(*b));
	int r;

	if (!b)
		return sk_err(err, -ENOMEM, "out of memory");
	b->opts = opts;
	b->engine = engine;
	b->environ = env && env->environ ? env->environ : (const char *const *)environ;
	b->log = env && env->log ? env->log : sk_log_sink_stderr();
	b->ca_file = env && env->ca_file && env->ca_file[0] ? env->ca_file : NULL;
	b->cancel_guests = env && env->cancellable;
	pthread_mutex_init(&b->slot_mu, NULL);
	pthread_cond_init(&b->slot_cond, NULL);
	r = load(b, err);
	if (r >= 0 && b->app->n_triggers && b->app->n_redis_triggers && opts->max_concurrent) {
		b->slots_on = true;
		b->slots_free = opts->max_concurrent;
	}
	if (r >= 0)
		r = make_work_dir(b, err);
	if (r >= 0) {
		b->comps = calloc(b->app->n_components + 1, sizeof(*b->comps));
		if (!b->comps)
			r = sk_err(err, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; r >= 0 && i < b->app->n_components; i++)
		if (component_used(b->app, i))
			r = prepare_component(b, i, err);
	if (r >= 0)
		r = check_kinds(b, err);
	if (r < 0) {
		sb_host_free(b);
		return r;
	}
	/* Compiling leaves megabytes free in the malloc arenas of the threads
	 * that did it; give them back so an idle app costs what it keeps. */
	(void)malloc_trim(0);
	*out = b;
	return 0;
}

size_t sb_host_redis_routes(const struct sb_host *b, const struct sb_redis_route **out)
{
	*out = b->redis;
	return b->redis ? b->app->n_redis_triggers : 0;
}

bool sb_host_serves_http(const struct sb_host *b)
{
	return b->app->n_triggers > 0;
}

void sb_host_slot_take(struct sb_host *b)
{
	if (!b->slots_on)
		return;
	pthread_mutex_lock(&b->slot_mu);
	while (b->slots_free == 0)
		pthread_cond_wait(&b->slot_cond, &b->slot_mu);
	b->slots_free--;
	pthread_mutex_unlock(&b->slot_mu);
}

void sb_host_slot_give(struct sb_host *b)
{
	if (!b->slots_on)
		return;
	pthread_mutex_lock(&b->slot_mu);
	b->slots_free++;
	pthread_cond_signal(&b->slot_cond);
	pthread_mutex_unlock(&b->slot_mu);
}

void sb_host_cancel(struct sb_host *b)
{
	atomic_store(&b->cancel, true);
}

const struct app *sb_host_app(const struct sb_host *b)
{
	return b->app;
}

const char *sb_host_ca_file(const struct sb_host *b)
{
	return wh_ca_file(b->ca_file);
}

uint64_t sb_host_code_bytes(const struct sb_host *b)
{
	uint64_t n = 0;

	for (size_t i = 0; b->comps && i < b->app->n_components; i++)
		if (b->comps[i])
			n += sb_engine_code_share(b->engine, b->comps[i]->digest, b->comps[i]->code_bytes);
	return n;
}

void sb_host_log_routes(const struct sb_host *b)
{
	for (size_t i = 0; i < b->app->n_triggers; i++) {
		const struct app_trigger *t = &b->app->triggers[i];
		if (t->is_private)
			continue;
		sk_report(b->log, LOG_INFO, "route", "route=\"%s\" component=%s handler=%s", t->route,
			 b->app->components[t->component].id, sb_handler_kind_name(b->comps[t->component]->kind));
	}
}
void sb_host_free(struct sb_host *b)
{
	if (!b)
		return;
	if (b->comps)
		for (size_t i = 0; i < b->app->n_components; i++)
			sb_component_free(b->comps[i]);
	free(b->comps);
	app_router_free(b->router);
	for (size_t i = 0; b->redis && i < b->app->n_redis_triggers; i++) {
		free((void *)(uintptr_t)b->redis[i].address);
		free((void *)(uintptr_t)b->redis[i].shown);
		free((void *)(uintptr_t)b->redis[i].channel);
	}
	free(b->redis);
	pthread_mutex_destroy(&b->slot_mu);
	pthread_cond_destroy(&b->slot_cond);
	wh_kvdb_free(b->kvdb);
	wh_sqldb_free(b->sqldb);
	app_runtime_config_free(b->rc);
	app_vars_free(b->vars);
	app_free(b->app);
	if (b->work_dir && !b->opts->work_dir)
		(void)sb_remove_tree(b->work_dir);
	free(b->work_dir);
	free(b);
}
