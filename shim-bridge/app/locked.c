/* Locked-app JSON (Spin's LockedApp) -> struct app.
 *
 * The shape, as Spin writes it:
 *   { "spin_lock_version": 1, "must_understand": [...], "host_requirements": {...},
 *     "metadata": { "name", "version", "description",
 *                   "triggers": { "http": { "base": "/" } }     (Spin 2)
 *                   or "trigger": { "type": "http", "base": "/" } (Spin 1) },
 *     "variables": { NAME: { "default"?: "...", "secret"?: bool } },
 *     "triggers": [ { "id", "trigger_type", "trigger_config": { "component", "route", "executor" } } ],
 *                 (trigger_type "redis": trigger_config { "component", "channel", "address"? }, and
 *                  the default address in metadata.triggers.redis.address),
 *     "components": [ { "id", "metadata": { "allowed_outbound_hosts", "key_value_stores", "databases" },
 *                       "source": { "content_type", <content> }, "env": {...},
 *                       "files": [ { <content>, "path": "/guest" } ], "config": { var: template } } ] }
 * where <content> is "source": "file:///abs" | "inline": base64 | "digest": "sha256:hex"
 * written flat into the enclosing object (Spin flattens it); a nested
 * "content": {...} object is read too. Keys this runtime has no use for are
 * ignored, so newer lock files still load. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim-bridge/app/app-internal.h"
#include "shim-bridge/app/app.h"
#include "common/base64.h"
#include "common/cleanup.h"
#include "common/hex.h"

#define LOCK_MAX_DEPTH 64

struct lctx {
	const char *name; /* file name for messages */
	const char *dir;  /* where blobs/ is */
	unsigned flags;
	struct sk_error *err;
	struct app *app;
};

static int oom(struct lctx *l)
{
	return sk_err(l->err, -ENOMEM, "%s: out of memory", l->name);
}

/* Exactly one JSON object, nesting bounded by LOCK_MAX_DEPTH. *out is a
 * new reference (caller puts). */
static int parse_json(struct lctx *l, const char *text, size_t len, json_object **out)
{
	json_tokener *tok;
	json_object *o;
	enum json_tokener_error jerr;
	size_t used;

	if (len > APP_LOCKED_MAX)
		return sk_err(l->err, -E2BIG, "%s: larger than %d bytes", l->name, APP_LOCKED_MAX);
	if (!(tok = json_tokener_new_ex(LOCK_MAX_DEPTH)))
		return oom(l);
	o = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr != json_tokener_success) {
		json_object_put(o);
		return sk_err(l->err, -EINVAL, "%s: invalid JSON at byte %zu: %s", l->name, used,
		              jerr == json_tokener_continue ? "the document ends early" : json_tokener_error_desc(jerr));
	}
	while (used < len && strchr(" \t\r\n", text[used]))
		used++;
	if (used != len || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return sk_err(l->err, -EINVAL, "%s: a locked app is one JSON object and nothing else", l->name);
	}
	*out = o;
	return 0;
}

/* obj[key] as a string; NULL when absent or of another type (*bad set). */
static const char *get_str(json_object *obj, const char *key, bool *bad)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
		return NULL;
	if (!json_object_is_type(v, json_type_string)) {
		*bad = true;
		return NULL;
	}
	return json_object_get_string(v);
}

/* obj[key] when it has type t, else NULL; present with another type is an error. */
static int get_typed(struct lctx *l, json_object *obj, const char *key, json_type t, const char *where,
                     json_object **out)
{
	json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, t))
		return sk_err(l->err, -EINVAL, "%s: %s: %s has the wrong type", l->name, where, key);
	*out = v;
	return 0;
}

/* "file:///abs/path" (or file://localhost/...) -> "/abs/path", percent-decoded.
 * NULL when not such a URL, on a bad or NUL escape, or on -ENOMEM. */
static char *file_url_path(const char *url)
{
	const char *p = url + 7;
	char *out, *o;

	if (strncmp(url, "file://", 7) != 0)
		return NULL;
	if (strncmp(p, "localhost/", 10) == 0)
		p += 9;
	if (p[0] != '/' || !(out = malloc(strlen(p) + 1)))
		return NULL;
	for (o = out; *p; p++) {
		if (*p != '%') {
			*o++ = *p;
			continue;
		}
		int hi = sk_hexval((unsigned char)p[1]), lo = hi < 0 ? -1 : sk_hexval((unsigned char)p[2]);
		if (lo < 0 || (hi == 0 && lo == 0)) {
			free(out);
			return NULL;
		}
		*o++ = (char)(hi * 16 + lo);
		p += 2;
	}
	*o = '\0';
	return out;
}

/* Content named only by digest: the blob under <dir>/blobs/sha256/<hex>. */
static int content_blob(struct lctx *l, const char *where, const char *digest, char **path)
{
	const char *hex = app_digest_hex(digest);
	char *blob = NULL;
	int r;

	if (!hex)
		return sk_err(l->err, -EINVAL, "%s: %s: digest \"%.100s\" must be \"sha256:\" and 64 lowercase hex digits",
		              l->name, where, digest);
	if (asprintf(&blob, "%s/blobs/sha256/%s", l->dir, hex) < 0)
		return oom(l);
	if (!(l->flags & APP_LOAD_NO_FS)) {
		if (access(blob, R_OK) < 0) {
			r = sk_err(l->err, -ENOENT, "%s: %s: content %s is not at %s; put the blob there or give a file:// source",
			           l->name, where, digest, blob);
			free(blob);
			return r;
		}
		if ((r = app_verify_sha256(blob, hex, where, l->err)) < 0) {
			free(blob);
			return sk_err_prefix(l->err, "%s", l->name);
		}
	}
	*path = blob;
	return 0;
}

/* A file:// source: the path, which must exist unless NO_FS. */
static int content_file(struct lctx *l, const char *where, const char *src, char **path)
{
	char *p = file_url_path(src);

	if (!p)
		return sk_err(l->err, -EINVAL, "%s: %s: source \"%.150s\" is not a file:// URL with an absolute path; this runtime reads local files only",
		              l->name, where, src);
	if (!(l->flags & APP_LOAD_NO_FS) && access(p, F_OK) < 0) {
		int r = sk_err(l->err, -ENOENT, "%s: %s: source %s: no such file or directory", l->name, where, p);
		free(p);
		return r;
	}
	*path = p;
	return 0;
}

/* Resolve a content reference (holder's flat fields, or its "content"
 * object) to a path, or to bytes when bytes is not NULL and it is inline. */
static int resolve_content(struct lctx *l, json_object *holder, const char *where, char **path,
                           unsigned char **bytes, size_t *blen, char **digest_out)
{
	json_object *c = holder, *nested;
	const char *src, *inl, *dig;
	bool bad = false;

	if (json_object_object_get_ex(holder, "content", &nested) && json_object_is_type(nested, json_type_object))
		c = nested;
	src = get_str(c, "source", &bad), inl = get_str(c, "inline", &bad), dig = get_str(c, "digest", &bad);
	if (bad)
		return sk_err(l->err, -EINVAL, "%s: %s: source, inline and digest must be strings", l->name, where);
	if (dig && digest_out && !(*digest_out = strdup(dig)))
		return oom(l);
	if (src)
		return content_file(l, where, src, path);
	if (inl && !bytes)
		return sk_err(l->err, -ENOTSUP, "%s: %s: inline content is not supported here; give a file:// source", l->name,
		              where);
	if (inl) {
		int r = sk_base64_decode(inl, strlen(inl), SK_B64_PAD_OPTIONAL, bytes, blen);
		if (r == -ENOMEM)
			return oom(l);
		if (r < 0)
			return sk_err(l->err, r, "%s: %s: inline content is not valid base64", l->name, where);
		return 0;
	}
	if (dig)
		return content_blob(l, where, dig, path);
	return sk_err(l->err, -EINVAL, "%s: %s: content has no source, inline or digest", l->name, where);
}

/* An object of strings appended as key/value pairs. */
static int str_map(struct lctx *l, json_object *obj, const char *key, const char *where, bool vars,
                   struct sk_kv **kv, size_t *n)
{
	json_object *m;
	int r = get_typed(l, obj, key, json_type_object, where, &m);

	if (r < 0 || !m)
		return r;
	APP_OBJ_FOREACH(it, m) {
		const char *k = json_object_iter_peek_name(&it);
		json_object *v = json_object_iter_peek_value(&it);
		struct sk_kv *slot;
		if (!json_object_is_type(v, json_type_string) || (vars && !app_variable_name_ok(k)))
			return sk_err(l->err, -EINVAL, "%s: %s: %s entry \"%.64s\" is invalid", l->name, where, key, k);
		if (!(slot = app_push(kv, n, sizeof(*slot))))
			return errno == E2BIG ? sk_err(l->err, -E2BIG, "%s: %s: too many %s entries", l->name, where, key) : oom(l);
		if (!(slot->key = strdup(k)) || !(slot->value = strdup(json_object_get_string(v))))
			return oom(l);
	}
	return 0;
}

static int str_list(struct lctx *l, json_object *obj, const char *key, const char *where, char ***v, size_t *n)
{
	json_object *a;
	int r = get_typed(l, obj, key, json_type_array, where, &a);

	for (size_t i = 0; r == 0 && a && i < json_object_array_length(a); i++) {
		json_object *e = json_object_array_get_idx(a, i);
		if (!json_object_is_type(e, json_type_string))
			return sk_err(l->err, -EINVAL, "%s: %s: %s[%zu] must be a string", l->name, where, key, i);
		if ((r = app_strv_push(v, n, json_object_get_string(e))) < 0)
			return r == -E2BIG ? sk_err(l->err, r, "%s: %s: too many %s", l->name, where, key) : oom(l);
	}
	return r;
}

/* files: [{ <content>, "path": "/guest" }] -> mounts (directories when the
 * source is one). Inline file content is refused: mounts need a path. */
static int component_files(struct lctx *l, struct app_component *c, const char *where, json_object *comp)
{
	json_object *files;
	int r = get_typed(l, comp, "files", json_type_array, where, &files);

	for (size_t i = 0; r == 0 && files && i < json_object_array_length(files); i++) {
		json_object *e = json_object_array_get_idx(files, i);
		struct app_file_mount *f;
		bool bad = false;
		const char *dst = json_object_is_type(e, json_type_object) ? get_str(e, "path", &bad) : NULL;
		struct stat st;

		if (!dst || dst[0] != '/')
			return sk_err(l->err, -EINVAL, "%s: %s: files[%zu] needs an absolute \"path\"", l->name, where, i);
		if (!(f = app_push(&c->files, &c->n_files, sizeof(*f))))
			return errno == E2BIG ? sk_err(l->err, -E2BIG, "%s: %s: too many files", l->name, where) : oom(l);
		if (!(f->destination = strdup(dst)))
			return oom(l);
		if ((r = resolve_content(l, e, where, &f->source, NULL, NULL, NULL)) < 0)
			return r;
		f->is_dir = !(l->flags & APP_LOAD_NO_FS) && stat(f->source, &st) == 0 && S_ISDIR(st.st_mode);
	}
	return r;
}

/* metadata.allowed_outbound_hosts / key_value_stores / databases; component
 * dependencies are refused (nothing here composes them). */
static int component_meta(struct lctx *l, struct app_component *c, const char *where, json_object *comp)
{
	json_object *meta, *deps;
	int r;

	if ((r = get_typed(l, comp, "dependencies", json_type_object, where, &deps)) < 0)
		return r;
	if (deps && json_object_object_length(deps) > 0)
		return sk_err(l->err, -ENOTSUP, "%s: %s: component dependencies are not supported by this runtime; compose the component ahead of time",
		              l->name, where);
	if ((r = get_typed(l, comp, "metadata", json_type_object, where, &meta)) < 0 || !meta)
		return r;
	if ((r = str_list(l, meta, "allowed_outbound_hosts", where, &c->allowed_outbound_hosts,
	                  &c->n_allowed_outbound_hosts)) < 0)
		return r;
	if ((r = str_list(l, meta, "key_value_stores", where, &c->key_value_stores, &c->n_key_value_stores)) < 0)
		return r;
	/* Spin's locked apps name a component's SQLite databases "databases". */
	return str_list(l, meta, "databases", where, &c->sqlite_databases, &c->n_sqlite_databases);
}

/* One components[] entry: id, source content, env, config, files, metadata. */
static int load_component(struct lctx *l, json_object *comp, size_t i)
{
	char where[160];
	struct app_component *c;
	json_object *src;
	const char *id;
	bool bad = false;
	int r;

	snprintf(where, sizeof(where), "components[%zu]", i);
	if (!json_object_is_type(comp, json_type_object) || !(id = get_str(comp, "id", &bad)) || !id[0])
		return sk_err(l->err, -EINVAL, "%s: %s needs an \"id\"", l->name, where);
	snprintf(where, sizeof(where), "component \"%.64s\"", id);
	if (app_find_component(l->app, id) >= 0)
		return sk_err(l->err, -EINVAL, "%s: %s is listed twice", l->name, where);
	if ((r = get_typed(l, comp, "source", json_type_object, where, &src)) < 0)
		return r;
	if (!src)
		return sk_err(l->err, -EINVAL, "%s: %s has no source", l->name, where);
	if (!(c = app_push(&l->app->components, &l->app->n_components, sizeof(*c))))
		return errno == E2BIG ? sk_err(l->err, -E2BIG, "%s: too many components", l->name) : oom(l);
	if (!(c->id = strdup(id)))
		return oom(l);
	if ((r = resolve_content(l, src, where, &c->source, &c->inline_bytes, &c->inline_len, &c->source_digest)) < 0)
		return r;
	if (!c->source && !c->inline_bytes && !(c->inline_bytes = malloc(1)))
		return oom(l); /* empty inline content: still "bytes held here" */
	if ((r = str_map(l, comp, "env", where, false, &c->env, &c->n_env)) < 0 ||
	    (r = str_map(l, comp, "config", where, true, &c->variables, &c->n_variables)) < 0 ||
	    (r = component_files(l, c, where, comp)) < 0)
		return r;
	return component_meta(l, c, where, comp);
}

/* trigger_config.executor: http (default) or wagi with argv/entrypoint defaults. */
static int trigger_executor(struct lctx *l, struct app_trigger *t, const char *where, json_object *cfg)
{
	json_object *ex;
	const char *type, *argv, *entry;
	bool bad = false;
	int r;

	if ((r = get_typed(l, cfg, "executor", json_type_object, where, &ex)) < 0 || !ex)
		return r;
	type = get_str(ex, "type", &bad), argv = get_str(ex, "argv", &bad), entry = get_str(ex, "entrypoint", &bad);
	if (bad)
		return sk_err(l->err, -EINVAL, "%s: %s: executor fields must be strings", l->name, where);
	if (!type || strcmp(type, "http") == 0 || strcmp(type, "spin") == 0)
		return 0;
	if (strcmp(type, "wagi") != 0)
		return sk_err(l->err, -EINVAL, "%s: %s: executor type \"%.32s\" is unknown; use \"http\" or \"wagi\"", l->name,
		              where, type);
	t->kind = APP_HANDLER_WAGI;
	t->wagi_argv = strdup(argv ? argv : "${SCRIPT_NAME} ${ARGS}");
	t->wagi_entrypoint = strdup(entry ? entry : "_start");
	return t->wagi_argv && t->wagi_entrypoint ? 0 : oom(l);
}

/* trigger_config.route: a string, or { "private": true }. */
static int trigger_route(struct lctx *l, struct app_trigger *t, const char *where, json_object *cfg)
{
	json_object *route, *priv;

	if (!json_object_object_get_ex(cfg, "route", &route))
		return sk_err(l->err, -EINVAL, "%s: %s has no route", l->name, where);
	if (json_object_is_type(route, json_type_string)) {
		t->route = strdup(json_object_get_string(route));
		return t->route ? 0 : oom(l);
	}
	if (json_object_is_type(route, json_type_object) && json_object_object_get_ex(route, "private", &priv) &&
	    json_object_is_type(priv, json_type_boolean) && json_object_get_boolean(priv)) {
		t->is_private = true;
		return 0;
	}
	return sk_err(l->err, -EINVAL, "%s: %s: route must be a string or { \"private\": true }", l->name, where);
}

/* A "redis" triggers[] entry: trigger_config { component, channel,
 * address? }. */
static int load_redis_trigger(struct lctx *l, const char *id, json_object *trig)
{
	char where[160];
	struct app_redis_trigger *t;
	json_object *cfg;
	const char *comp, *channel, *address;
	bool bad = false;
	long idx;
	int r;

	snprintf(where, sizeof(where), "trigger \"%.64s\"", id);
	if ((r = get_typed(l, trig, "trigger_config", json_type_object, where, &cfg)) < 0)
		return r;
	if (!cfg || !(comp = get_str(cfg, "component", &bad)))
		return sk_err(l->err, -EINVAL, "%s: %s: trigger_config.component is missing", l->name, where);
	channel = get_str(cfg, "channel", &bad), address = get_str(cfg, "address", &bad);
	if (bad || !channel)
		return sk_err(l->err, -EINVAL, "%s: %s: trigger_config.channel must be a string (and address, when given)",
		              l->name, where);
	if ((idx = app_find_component(l->app, comp)) < 0)
		return sk_err(l->err, -ENOENT, "%s: %s: component \"%.64s\" is not in the app", l->name, where, comp);
	if (!(t = app_push(&l->app->redis_triggers, &l->app->n_redis_triggers, sizeof(*t))))
		return errno == E2BIG ? sk_err(l->err, -E2BIG, "%s: too many triggers", l->name) : oom(l);
	t->component = (size_t)idx;
	if (!(t->id = strdup(id)) || !(t->channel = strdup(channel)) || (address && !(t->address = strdup(address))))
		return oom(l);
	return 0;
}

/* One triggers[] entry; types other than http and redis become warnings. */
static int load_trigger(struct lctx *l, json_object *trig, size_t i)
{
	char where[160];
	struct app_trigger *t;
	json_object *cfg;
	const char *id, *type, *comp;
	bool bad = false;
	long idx;
	int r;

	snprintf(where, sizeof(where), "triggers[%zu]", i);
	if (!json_object_is_type(trig, json_type_object))
		return sk_err(l->err, -EINVAL, "%s: %s must be an object", l->name, where);
	id = get_str(trig, "id", &bad), type = get_str(trig, "trigger_type", &bad);
	if (bad || !id || !type)
		return sk_err(l->err, -EINVAL, "%s: %s needs string \"id\" and \"trigger_type\"", l->name, where);
	if (strcmp(type, "redis") == 0)
		return load_redis_trigger(l, id, trig);
	if (strcmp(type, "http") != 0)
		return app_warn(l->app, "%s: trigger \"%.64s\" of type \"%.32s\" ignored: this runtime serves HTTP and Redis only",
		                l->name, id, type) < 0 ? oom(l) : 0;
	snprintf(where, sizeof(where), "trigger \"%.64s\"", id);
	if ((r = get_typed(l, trig, "trigger_config", json_type_object, where, &cfg)) < 0)
		return r;
	if (!cfg || !(comp = get_str(cfg, "component", &bad)))
		return sk_err(l->err, -EINVAL, "%s: %s: trigger_config.component is missing", l->name, where);
	if ((idx = app_find_component(l->app, comp)) < 0)
		return sk_err(l->err, -ENOENT, "%s: %s: component \"%.64s\" is not in the app", l->name, where, comp);
	if (!(t = app_push(&l->app->triggers, &l->app->n_triggers, sizeof(*t))))
		return errno == E2BIG ? sk_err(l->err, -E2BIG, "%s: too many triggers", l->name) : oom(l);
	t->component = (size_t)idx;
	if (!(t->id = strdup(id)))
		return oom(l);
	if ((r = trigger_route(l, t, where, cfg)) < 0)
		return r;
	return trigger_executor(l, t, where, cfg);
}

/* must_understand: features the runtime must know, or refuse the app. */
static int check_must_understand(struct lctx *l, json_object *root)
{
	json_object *mu, *hr;
	int r;

	if ((r = get_typed(l, root, "must_understand", json_type_array, "lock file", &mu)) < 0 ||
	    (r = get_typed(l, root, "host_requirements", json_type_object, "lock file", &hr)) < 0)
		return r;
	for (size_t i = 0; mu && i < json_object_array_length(mu); i++) {
		const char *f = json_object_get_string(json_object_array_get_idx(mu, i));
		if (f && (strcmp(f, "host_requirements") == 0 || strcmp(f, "component_dependencies") == 0))
			continue;
		return sk_err(l->err, -ENOTSUP, "%s: the app needs feature \"%.64s\", which this runtime does not understand",
		              l->name, f ? f : "?");
	}
	if (!hr)
		return 0;
	APP_OBJ_FOREACH(it, hr) {
		const char *k = json_object_iter_peek_name(&it);
		const char *v = json_object_get_string(json_object_iter_peek_value(&it));
		if (strcmp(k, "local_service_chaining") == 0 || !v || strcmp(v, "required") != 0)
			continue;
		return sk_err(l->err, -ENOTSUP, "%s: the app requires host feature \"%.64s\", which this runtime lacks",
		              l->name, k);
	}
	return 0;
}

/* The Redis trigger's default address: metadata.triggers.redis.address
 * (Spin 2 and 3) or metadata.trigger.address with type "redis" (Spin 1). */
static int load_redis_address(struct lctx *l, json_object *meta)
{
	json_object *trigs, *redis = NULL;
	const char *address = NULL, *type;
	bool bad = false;

	if (json_object_object_get_ex(meta, "triggers", &trigs) && json_object_is_type(trigs, json_type_object))
		json_object_object_get_ex(trigs, "redis", &redis);
	else if (json_object_object_get_ex(meta, "trigger", &trigs) && json_object_is_type(trigs, json_type_object) &&
	         (type = get_str(trigs, "type", &bad)) && strcmp(type, "redis") == 0)
		redis = trigs;
	if (redis && json_object_is_type(redis, json_type_object))
		address = get_str(redis, "address", &bad);
	if (bad)
		return sk_err(l->err, -EINVAL, "%s: metadata: the Redis trigger's address must be a string", l->name);
	return address && !(l->app->redis_address = strdup(address)) ? oom(l) : 0;
}

/* metadata: name (required), version, description, the HTTP base, from
 * metadata.triggers.http (Spin 2) or metadata.trigger (Spin 1), and the
 * Redis address. */
static int load_metadata(struct lctx *l, json_object *root)
{
	json_object *meta, *http = NULL, *old;
	const char *name, *base = NULL;
	bool bad = false;
	int r;

	if ((r = get_typed(l, root, "metadata", json_type_object, "lock file", &meta)) < 0)
		return r;
	if (!meta || !(name = get_str(meta, "name", &bad)) || !name[0])
		return sk_err(l->err, -EINVAL, "%s: metadata.name is missing", l->name);
	if (!(l->app->name = strdup(name)))
		return oom(l);
	if ((get_str(meta, "version", &bad) && !(l->app->version = strdup(get_str(meta, "version", &bad)))) ||
	    (get_str(meta, "description", &bad) && !(l->app->description = strdup(get_str(meta, "description", &bad)))))
		return oom(l);
	/* Spin 2: metadata.triggers.http; Spin 1: metadata.trigger with type "http". */
	if (json_object_object_get_ex(meta, "triggers", &old) && json_object_is_type(old, json_type_object))
		json_object_object_get_ex(old, "http", &http);
	else if (json_object_object_get_ex(meta, "trigger", &old) && json_object_is_type(old, json_type_object))
		http = (get_str(old, "type", &bad) && strcmp(get_str(old, "type", &bad), "http") == 0) ? old : NULL;
	if (http && json_object_is_type(http, json_type_object))
		base = get_str(http, "base", &bad);
	if (bad || (base && base[0] != '/'))
		return sk_err(l->err, -EINVAL, "%s: metadata: name, version, description and base must be strings (base starting with '/')",
		              l->name);
	if ((base && !(l->app->base = strdup(base))) || (!base && !(l->app->base = strdup("/"))))
		return oom(l);
	return load_redis_address(l, meta);
}

/* variables: { NAME: { default?, secret? } }; no default means required. */
static int load_variables(struct lctx *l, json_object *root)
{
	json_object *vars;
	int r = get_typed(l, root, "variables", json_type_object, "lock file", &vars);

	if (r < 0 || !vars)
		return r;
	APP_OBJ_FOREACH(it, vars) {
		const char *name = json_object_iter_peek_name(&it);
		json_object *v = json_object_iter_peek_value(&it), *sec = NULL;
		struct app_variable *var;
		const char *def;
		bool bad = false;
		if (!app_variable_name_ok(name) || !json_object_is_type(v, json_type_object))
			return sk_err(l->err, -EINVAL, "%s: variable \"%.64s\" is invalid (a lowercase name and an object)", l->name, name);
		def = get_str(v, "default", &bad);
		json_object_object_get_ex(v, "secret", &sec);
		if (bad || (sec && !json_object_is_type(sec, json_type_boolean)))
			return sk_err(l->err, -EINVAL, "%s: variable \"%.64s\": default must be a string and secret a boolean", l->name, name);
		if (!(var = app_push(&l->app->variables, &l->app->n_variables, sizeof(*var))))
			return errno == E2BIG ? sk_err(l->err, -E2BIG, "%s: too many variables", l->name) : oom(l);
		if (!(var->name = strdup(name)) || (def && !(var->default_value = strdup(def))))
			return oom(l);
		var->required = !def;
		var->secret = sec && json_object_get_boolean(sec);
	}
	return 0;
}

/* components, then the triggers that name them. */
static int load_lists(struct lctx *l, json_object *root)
{
	json_object *comps, *trigs;
	int r;

	if ((r = get_typed(l, root, "components", json_type_array, "lock file", &comps)) < 0 ||
	    (r = get_typed(l, root, "triggers", json_type_array, "lock file", &trigs)) < 0)
		return r;
	if (!comps || !trigs)
		return sk_err(l->err, -EINVAL, "%s: a locked app needs \"components\" and \"triggers\" arrays", l->name);
	for (size_t i = 0; i < json_object_array_length(comps); i++)
		if ((r = load_component(l, json_object_array_get_idx(comps, i), i)) < 0)
			return r;
	for (size_t i = 0; i < json_object_array_length(trigs); i++)
		if ((r = load_trigger(l, json_object_array_get_idx(trigs, i), i)) < 0)
			return r;
	return 0;
}

/* The whole lock file: version, must_understand, metadata, variables,
 * components, triggers, then the whole-app checks. */
static int load_locked(struct lctx *l, json_object *root)
{
	json_object *ver;
	int64_t v;
	int r;

	if (!json_object_object_get_ex(root, "spin_lock_version", &ver) || !json_object_is_type(ver, json_type_int))
		return sk_err(l->err, -EINVAL, "%s: not a locked app: spin_lock_version is missing", l->name);
	v = json_object_get_int64(ver);
	if (v != 0 && v != 1)
		return sk_err(l->err, -ENOTSUP, "%s: spin_lock_version %lld is not supported (only 0 and 1); use a Spin 2 or 3 lock file",
		              l->name, (long long)v);
	if ((r = check_must_understand(l, root)) < 0 || (r = load_metadata(l, root)) < 0 ||
	    (r = load_variables(l, root)) < 0 || (r = load_lists(l, root)) < 0)
		return r;
	return app_validate(l->app, l->name, l->err);
}

int app_from_locked(const char *json, size_t len, const char *name, const char *dir, unsigned flags,
                         struct app **out, struct sk_error *err)
{
	struct lctx l = { .name = name, .flags = flags, .err = err };
	json_object *root = NULL;
	int r;

	if ((r = parse_json(&l, json, len, &root)) < 0)
		return r;
	if (!(l.app = app_new()) || !(l.app->dir = strdup(dir))) {
		app_free(l.app);
		json_object_put(root);
		return oom(&l);
	}
	l.dir = l.app->dir;
	r = load_locked(&l, root);
	json_object_put(root);
	if (r < 0) {
		app_free(l.app);
		return app_err_line(err, r);
	}
	*out = l.app;
	return 0;
}
