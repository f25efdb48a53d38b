/* spin.toml (manifest version 2) -> struct app.
 *
 * Works on the json-c tree sk_toml_parse made, so the rules here can be driven
 * without files (APP_LOAD_NO_FS) by tests and the fuzzer. Unknown keys are
 * errors where Spin's schema rejects them too: a typo must not silently drop
 * a setting. Every message is "FILE: where: problem (fix)". */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim-bridge/app/app-internal.h"
#include "shim-bridge/app/app.h"
#include "common/cleanup.h"

struct mctx {
	const char *name; /* file name for messages */
	const char *dir;  /* absolute directory relative paths resolve against */
	unsigned flags;
	struct sk_error *err;
	struct app *app;
};

#define WHERE_MAX 192

static int oom(struct mctx *m)
{
	return sk_err(m->err, -ENOMEM, "%s: out of memory", m->name);
}

/* An error from app_push: too many items or out of memory. */
static int push_failed(struct mctx *m, const char *where, const char *what)
{
	if (errno == E2BIG)
		return sk_err(m->err, -E2BIG, "%s: %s: more than %d %s", m->name, where, APP_MAX_ITEMS, what);
	return oom(m);
}

static const char *type_word(json_type t)
{
	switch (t) {
	case json_type_string:
		return "a string";
	case json_type_object:
		return "a table";
	case json_type_array:
		return "an array";
	case json_type_boolean:
		return "true or false";
	case json_type_int:
		return "an integer";
	default:
		return "a value";
	}
}

static bool in_list(const char *k, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(k, *list) == 0)
			return true;
	return false;
}

/* Every key of obj must be in allowed. */
static int check_keys(struct mctx *m, json_object *obj, const char *where, const char *const *allowed)
{
	APP_OBJ_FOREACH(it, obj) {
		const char *k = json_object_iter_peek_name(&it);
		if (!in_list(k, allowed))
			return sk_err(m->err, -EINVAL, "%s: %s: unknown key \"%.64s\" (check its spelling against the manifest reference)",
			              m->name, where, k);
	}
	return 0;
}

/* obj[key] when present; it must have type t. *out is NULL when absent. */
static int get_typed(struct mctx *m, json_object *obj, const char *key, json_type t, const char *where,
                     json_object **out)
{
	json_object *v = NULL;

	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v))
		return 0;
	if (!json_object_is_type(v, t))
		return sk_err(m->err, -EINVAL, "%s: %s: %s must be %s", m->name, where, key, type_word(t));
	*out = v;
	return 0;
}

/* An optional string copied into *dst (left NULL when absent). */
static int dup_str(struct mctx *m, json_object *obj, const char *key, const char *where, char **dst)
{
	json_object *v;
	int r = get_typed(m, obj, key, json_type_string, where, &v);

	if (r < 0 || !v)
		return r;
	*dst = strdup(json_object_get_string(v));
	return *dst ? 0 : oom(m);
}

/* An optional array of strings appended to *v. */
static int str_array(struct mctx *m, json_object *obj, const char *key, const char *where, char ***v, size_t *n)
{
	json_object *a;
	int r = get_typed(m, obj, key, json_type_array, where, &a);

	for (size_t i = 0; r == 0 && a && i < json_object_array_length(a); i++) {
		json_object *e = json_object_array_get_idx(a, i);
		if (!json_object_is_type(e, json_type_string))
			return sk_err(m->err, -EINVAL, "%s: %s: %s[%zu] must be a string", m->name, where, key, i);
		r = app_strv_push(v, n, json_object_get_string(e));
		if (r == -E2BIG)
			return sk_err(m->err, r, "%s: %s: %s has more than %d entries", m->name, where, key, APP_MAX_ITEMS);
		if (r < 0)
			return oom(m);
	}
	return r;
}

/* An optional table of strings appended to *kv. names_are_vars: keys must be
 * valid variable names. */
static int str_table(struct mctx *m, json_object *obj, const char *key, const char *where, bool names_are_vars,
                     struct sk_kv **kv, size_t *n)
{
	json_object *t;
	int r = get_typed(m, obj, key, json_type_object, where, &t);

	if (r < 0 || !t)
		return r;
	APP_OBJ_FOREACH(it, t) {
		const char *k = json_object_iter_peek_name(&it);
		json_object *v = json_object_iter_peek_value(&it);
		struct sk_kv *slot;
		if (!json_object_is_type(v, json_type_string))
			return sk_err(m->err, -EINVAL, "%s: %s: %s.%.64s must be a string", m->name, where, key, k);
		if (names_are_vars && !app_variable_name_ok(k))
			return sk_err(m->err, -EINVAL,
			              "%s: %s: variable name \"%.64s\" is invalid; use lowercase letters, digits and '_', starting with a letter",
			              m->name, where, k);
		if (!(slot = app_push(kv, n, sizeof(*slot))))
			return push_failed(m, where, key);
		slot->key = strdup(k);
		slot->value = strdup(json_object_get_string(v));
		if (!slot->key || !slot->value)
			return oom(m);
	}
	return 0;
}

/* spin_manifest_version must be 2; version 1 gets the migration hint. */
static int check_version(struct mctx *m, json_object *root)
{
	json_object *v;

	if (!json_object_object_get_ex(root, "spin_manifest_version", &v))
		return sk_err(m->err, -EINVAL, "%s: spin_manifest_version is missing; add spin_manifest_version = 2 at the top",
		              m->name);
	if (json_object_is_type(v, json_type_int) && json_object_get_int64(v) == 2)
		return 0;
	if ((json_object_is_type(v, json_type_int) && json_object_get_int64(v) == 1) ||
	    (json_object_is_type(v, json_type_string) && strcmp(json_object_get_string(v), "1") == 0))
		return sk_err(m->err, -EINVAL,
		              "%s: spin_manifest_version 1 is not supported; migrate the manifest to version 2 (`spin doctor` can do it)",
		              m->name);
	return sk_err(m->err, -EINVAL, "%s: spin_manifest_version must be 2", m->name);
}

/* [application.trigger.http] base = "/..." */
static int load_base(struct mctx *m, json_object *trig)
{
	static const char *const http_keys[] = { "base", NULL };
	const char *where = "[application.trigger.http]";
	json_object *http;
	int r;

	if ((r = get_typed(m, trig, "http", json_type_object, "[application.trigger]", &http)) < 0 || !http)
		return r;
	if ((r = check_keys(m, http, where, http_keys)) < 0)
		return r;
	free(m->app->base);
	m->app->base = NULL;
	if ((r = dup_str(m, http, "base", where, &m->app->base)) < 0)
		return r;
	if (m->app->base && m->app->base[0] != '/')
		return sk_err(m->err, -EINVAL, "%s: %s: base \"%.100s\" must start with '/'", m->name, where, m->app->base);
	return 0;
}

/* [application.trigger.redis] address = "redis://..." (templates allowed):
 * the server of every Redis trigger without an address of its own. */
static int load_redis_address(struct mctx *m, json_object *trig)
{
	static const char *const redis_keys[] = { "address", NULL };
	const char *where = "[application.trigger.redis]";
	json_object *redis;
	int r;

	if ((r = get_typed(m, trig, "redis", json_type_object, "[application.trigger]", &redis)) < 0 || !redis)
		return r;
	if ((r = check_keys(m, redis, where, redis_keys)) < 0 ||
	    (r = dup_str(m, redis, "address", where, &m->app->redis_address)) < 0)
		return r;
	if (m->app->redis_address && strlen(m->app->redis_address) > APP_REDIS_ADDRESS_MAX)
		return sk_err(m->err, -E2BIG, "%s: %s: address is longer than %d bytes", m->name, where, APP_REDIS_ADDRESS_MAX);
	return 0;
}

/* [application.trigger]: the HTTP base and the Redis address. */
static int load_app_triggers(struct mctx *m, json_object *a)
{
	json_object *trig;
	int r;

	if ((r = get_typed(m, a, "trigger", json_type_object, "[application]", &trig)) < 0 || !trig)
		return r;
	if ((r = load_base(m, trig)) < 0)
		return r;
	return load_redis_address(m, trig);
}

/* [application]: name (required), version, description; authors and
 * tool tables are accepted and not kept. */
static int load_application(struct mctx *m, json_object *root)
{
	static const char *const keys[] = { "name", "version", "description", "authors", "trigger", "tool",
		                            "targets", NULL };
	const char *where = "[application]";
	struct app *app = m->app;
	char **authors = NULL;
	size_t n_authors = 0;
	json_object *a;
	int r;

	if ((r = get_typed(m, root, "application", json_type_object, "manifest", &a)) < 0)
		return r;
	if (!a)
		return sk_err(m->err, -EINVAL, "%s: [application] is missing; add it with name = \"...\"", m->name);
	if ((r = check_keys(m, a, where, keys)) < 0 || (r = dup_str(m, a, "name", where, &app->name)) < 0 ||
	    (r = dup_str(m, a, "version", where, &app->version)) < 0 ||
	    (r = dup_str(m, a, "description", where, &app->description)) < 0)
		return r;
	if (!app->name || !app->name[0])
		return sk_err(m->err, -EINVAL, "%s: [application]: name is missing; add name = \"my-app\"", m->name);
	r = str_array(m, a, "authors", where, &authors, &n_authors);
	for (size_t i = 0; i < n_authors; i++)
		free(authors[i]);
	free(authors);
	return r < 0 ? r : load_app_triggers(m, a);
}

/* One [variables] entry: { default = "..." } or { required = true }, with
 * optional secret = true. Exactly one of default / required. */
static int load_variable(struct mctx *m, const char *name, json_object *v)
{
	static const char *const keys[] = { "default", "required", "secret", "description", NULL };
	char where[WHERE_MAX];
	struct app_variable *var;
	json_object *req, *sec;
	int r;

	snprintf(where, sizeof(where), "variable \"%.64s\"", name);
	if (!app_variable_name_ok(name))
		return sk_err(m->err, -EINVAL,
		              "%s: %s: variable names use lowercase letters, digits and '_', starting with a letter",
		              m->name, where);
	if (!json_object_is_type(v, json_type_object))
		return sk_err(m->err, -EINVAL, "%s: %s must be a table such as { default = \"...\" } or { required = true }",
		              m->name, where);
	if ((r = check_keys(m, v, where, keys)) < 0 ||
	    (r = get_typed(m, v, "required", json_type_boolean, where, &req)) < 0 ||
	    (r = get_typed(m, v, "secret", json_type_boolean, where, &sec)) < 0)
		return r;
	if (!(var = app_push(&m->app->variables, &m->app->n_variables, sizeof(*var))))
		return push_failed(m, "[variables]", "variables");
	if (!(var->name = strdup(name)))
		return oom(m);
	if ((r = dup_str(m, v, "default", where, &var->default_value)) < 0)
		return r;
	var->required = req && json_object_get_boolean(req);
	var->secret = sec && json_object_get_boolean(sec);
	if (var->required && var->default_value)
		return sk_err(m->err, -EINVAL, "%s: %s has both a default and required = true; keep one", m->name, where);
	if (!var->required && !var->default_value)
		return sk_err(m->err, -EINVAL, "%s: %s needs a default = \"...\" or required = true", m->name, where);
	return 0;
}

/* [variables], in manifest order. */
static int load_variables(struct mctx *m, json_object *root)
{
	json_object *vars;
	int r = get_typed(m, root, "variables", json_type_object, "manifest", &vars);

	if (r < 0 || !vars)
		return r;
	APP_OBJ_FOREACH(it, vars) {
		if ((r = load_variable(m, json_object_iter_peek_name(&it), json_object_iter_peek_value(&it))) < 0)
			return r;
	}
	return 0;
}

/* source = "file.wasm" (relative to the manifest directory). */
static int source_path(struct mctx *m, struct app_component *c, const char *where, const char *rel)
{
	_cleanup_free_ char *path = app_join(m->dir, rel);
	struct stat st;

	if (!path)
		return oom(m);
	if (!(m->flags & APP_LOAD_NO_FS)) {
		if (stat(path, &st) < 0 && errno == ENOENT)
			return sk_err(m->err, -ENOENT, "%s: %s: source \"%.200s\": no such file (build the app first)",
			              m->name, where, rel);
		if (stat(path, &st) < 0)
			return sk_err(m->err, -errno, "%s: %s: source \"%.200s\": %s", m->name, where, rel, strerror(errno));
		if (!S_ISREG(st.st_mode))
			return sk_err(m->err, -EINVAL, "%s: %s: source \"%.200s\" is not a file", m->name, where, rel);
	}
	c->source = TAKE_PTR(path);
	return 0;
}

/* source = { url = "...", digest = "sha256:..." }: only a blob already on
 * disk under <dir>/blobs/sha256/<hex> can be used; nothing is downloaded. */
static int source_url(struct mctx *m, struct app_component *c, const char *where, json_object *t)
{
	static const char *const keys[] = { "url", "digest", NULL };
	_cleanup_free_ char *url = NULL, *blob = NULL;
	const char *hex;
	int r;

	if ((r = check_keys(m, t, where, keys)) < 0 || (r = dup_str(m, t, "url", where, &url)) < 0 ||
	    (r = dup_str(m, t, "digest", where, &c->source_digest)) < 0)
		return r;
	if (!url || !c->source_digest)
		return sk_err(m->err, -EINVAL, "%s: %s: source = { url, digest } needs both url and digest", m->name, where);
	if (!(hex = app_digest_hex(c->source_digest)))
		return sk_err(m->err, -EINVAL, "%s: %s: source digest \"%.100s\" must be \"sha256:\" and 64 lowercase hex digits",
		              m->name, where, c->source_digest);
	if (asprintf(&blob, "%s/blobs/sha256/%s", m->dir, hex) < 0) {
		blob = NULL;
		return oom(m);
	}
	if (!(m->flags & APP_LOAD_NO_FS)) {
		if (access(blob, R_OK) < 0)
			return sk_err(m->err, -ENOENT,
			              "%s: %s: source url \"%.150s\" cannot be fetched by this runtime; put the file at %s or use a local path",
			              m->name, where, url, blob);
		if ((r = app_verify_sha256(blob, hex, where, m->err)) < 0)
			return sk_err_prefix(m->err, "%s", m->name);
	}
	c->source = TAKE_PTR(blob);
	return 0;
}

static int load_source(struct mctx *m, struct app_component *c, const char *where, json_object *t)
{
	json_object *src;

	if (!json_object_object_get_ex(t, "source", &src))
		return sk_err(m->err, -EINVAL, "%s: %s: source is missing; set source = \"path/to/file.wasm\"", m->name, where);
	if (json_object_is_type(src, json_type_string))
		return source_path(m, c, where, json_object_get_string(src));
	if (json_object_is_type(src, json_type_object))
		return source_url(m, c, where, src);
	return sk_err(m->err, -EINVAL, "%s: %s: source must be a path string or { url, digest }", m->name, where);
}

/* A relative path that stays inside the app directory. */
static bool rel_path_ok(const char *p)
{
	if (p[0] == '/' || p[0] == '\0')
		return false;
	for (const char *s = p; s; s = strchr(s, '/') ? strchr(s, '/') + 1 : NULL)
		if (strncmp(s, "..", 2) == 0 && (s[2] == '/' || s[2] == '\0'))
			return false;
	return true;
}

/* files entry { source = "dir", destination = "/x" }. */
static int files_mapping(struct mctx *m, struct app_component *c, const char *where, json_object *e)
{
	static const char *const keys[] = { "source", "destination", NULL };
	_cleanup_free_ char *src = NULL, *dst = NULL;
	struct app_file_mount *f;
	struct stat st;
	int r;

	if ((r = check_keys(m, e, where, keys)) < 0 || (r = dup_str(m, e, "source", where, &src)) < 0 ||
	    (r = dup_str(m, e, "destination", where, &dst)) < 0)
		return r;
	if (!src || !dst || dst[0] != '/')
		return sk_err(m->err, -EINVAL,
		              "%s: %s: files entries as tables need source = \"dir\" and an absolute destination = \"/path\"",
		              m->name, where);
	if (!(f = app_push(&c->files, &c->n_files, sizeof(*f))))
		return push_failed(m, where, "files");
	f->destination = TAKE_PTR(dst);
	if (!(f->source = app_join(m->dir, src)))
		return oom(m);
	if (m->flags & APP_LOAD_NO_FS)
		return 0;
	if (stat(f->source, &st) < 0)
		return sk_err(m->err, -errno, "%s: %s: files source \"%.200s\": %s", m->name, where, src, strerror(errno));
	f->is_dir = S_ISDIR(st.st_mode);
	return 0;
}

/* files = [ "glob", { source, destination }, ... ] less exclude_files. */
static int load_files(struct mctx *m, struct app_component *c, const char *where, json_object *t)
{
	char **exclude = NULL;
	size_t n_exclude = 0;
	json_object *files;
	int r;

	if ((r = get_typed(m, t, "files", json_type_array, where, &files)) < 0 ||
	    (r = str_array(m, t, "exclude_files", where, &exclude, &n_exclude)) < 0)
		goto out;
	for (size_t i = 0; files && i < json_object_array_length(files) && r == 0; i++) {
		json_object *e = json_object_array_get_idx(files, i);
		const char *pat = json_object_get_string(e);
		struct app_file_mount *f;

		if (json_object_is_type(e, json_type_object)) {
			r = files_mapping(m, c, where, e);
		} else if (!json_object_is_type(e, json_type_string)) {
			r = sk_err(m->err, -EINVAL, "%s: %s: files[%zu] must be a glob string or { source, destination }",
			           m->name, where, i);
		} else if (!rel_path_ok(pat)) {
			r = sk_err(m->err, -EINVAL, "%s: %s: files pattern \"%.100s\" must be relative and stay in the app directory",
			           m->name, where, pat);
		} else if (!(m->flags & APP_LOAD_NO_FS)) {
			r = app_files_glob(m->name, where, m->dir, pat, exclude, n_exclude, c, m->err);
		} else if (!(f = app_push(&c->files, &c->n_files, sizeof(*f)))) {
			r = push_failed(m, where, "files");
		} else if (!(f->source = app_join(m->dir, pat)) || asprintf(&f->destination, "/%s", pat) < 0) {
			f->destination = NULL;
			r = oom(m);
		}
	}
out:
	for (size_t i = 0; i < n_exclude; i++)
		free(exclude[i]);
	free(exclude);
	return r;
}

/* Keys a component table may have; the ones this runtime has no use for
 * (description, build, tool, ...) are accepted and ignored. */
static const char *const component_keys[] = {
	"source", "files", "exclude_files", "allowed_outbound_hosts", "allowed_http_hosts", "key_value_stores",
	"environment", "variables", "description", "build", "tool", "sqlite_databases", "ai_models",
	"dependencies", "dependencies_inherit_configuration", NULL,
};

/* What must hold before a component is added: a kebab-case id (unless
 * generated), not defined yet, known keys only, no v1 keys, no dependencies. */
static int component_precheck(struct mctx *m, const char *id, json_object *t, const char *where, bool generated)
{
	json_object *deps;
	int r;

	if (!generated && !app_kebab_ok(id))
		return sk_err(m->err, -EINVAL,
		              "%s: component id \"%.64s\" must be kebab-case: lowercase letters and digits in words joined by '-' (like \"my-component\")",
		              m->name, id);
	if (app_find_component(m->app, id) >= 0)
		return sk_err(m->err, -EINVAL, "%s: %s is defined twice", m->name, where);
	if (!json_object_is_type(t, json_type_object))
		return sk_err(m->err, -EINVAL, "%s: %s must be a table", m->name, where);
	if ((r = check_keys(m, t, where, component_keys)) < 0)
		return r;
	if (json_object_object_get_ex(t, "allowed_http_hosts", NULL))
		return sk_err(m->err, -EINVAL,
		              "%s: %s: allowed_http_hosts is from manifest version 1; use allowed_outbound_hosts = [\"https://host\"]",
		              m->name, where);
	if ((r = get_typed(m, t, "dependencies", json_type_object, where, &deps)) < 0)
		return r;
	if (deps && json_object_object_length(deps) > 0)
		return sk_err(m->err, -ENOTSUP,
		              "%s: %s: component dependencies are not supported by this runtime; compose the component ahead of time",
		              m->name, where);
	return 0;
}

/* [component.ID] or an inline component of a trigger. */
static int load_component(struct mctx *m, const char *id, json_object *t, bool generated)
{
	char where[WHERE_MAX];
	struct app_component *c;
	int r;

	snprintf(where, sizeof(where), "component \"%.64s\"", id);
	if ((r = component_precheck(m, id, t, where, generated)) < 0)
		return r;
	if (!(c = app_push(&m->app->components, &m->app->n_components, sizeof(*c))))
		return push_failed(m, "manifest", "components");
	if (!(c->id = strdup(id)))
		return oom(m);
	if ((r = load_source(m, c, where, t)) < 0 || (r = load_files(m, c, where, t)) < 0 ||
	    (r = str_array(m, t, "allowed_outbound_hosts", where, &c->allowed_outbound_hosts,
	                   &c->n_allowed_outbound_hosts)) < 0 ||
	    (r = str_array(m, t, "key_value_stores", where, &c->key_value_stores, &c->n_key_value_stores)) < 0 ||
	    (r = str_array(m, t, "sqlite_databases", where, &c->sqlite_databases, &c->n_sqlite_databases)) < 0 ||
	    (r = str_table(m, t, "environment", where, false, &c->env, &c->n_env)) < 0)
		return r;
	return str_table(m, t, "variables", where, true, &c->variables, &c->n_variables);
}

/* Every [component.ID], in manifest order (before the triggers that name them). */
static int load_components(struct mctx *m, json_object *root)
{
	json_object *comps;
	int r = get_typed(m, root, "component", json_type_object, "manifest", &comps);

	if (r < 0 || !comps)
		return r;
	APP_OBJ_FOREACH(it, comps) {
		if ((r = load_component(m, json_object_iter_peek_name(&it), json_object_iter_peek_value(&it), false)) < 0)
			return r;
	}
	return 0;
}

/* route = "/x" | { private = true } */
static int trigger_route(struct mctx *m, struct app_trigger *t, const char *where, json_object *tbl)
{
	static const char *const keys[] = { "private", NULL };
	json_object *route, *priv;
	int r;

	if (!json_object_object_get_ex(tbl, "route", &route))
		return sk_err(m->err, -EINVAL, "%s: %s: route is missing; set route = \"/...\" or route = { private = true }",
		              m->name, where);
	if (json_object_is_type(route, json_type_string)) {
		t->route = strdup(json_object_get_string(route));
		return t->route ? 0 : oom(m);
	}
	if (!json_object_is_type(route, json_type_object))
		return sk_err(m->err, -EINVAL, "%s: %s: route must be a string or { private = true }", m->name, where);
	if ((r = check_keys(m, route, where, keys)) < 0 ||
	    (r = get_typed(m, route, "private", json_type_boolean, where, &priv)) < 0)
		return r;
	if (!priv || !json_object_get_boolean(priv))
		return sk_err(m->err, -EINVAL, "%s: %s: route must be a string pattern or { private = true }", m->name, where);
	t->is_private = true;
	return 0;
}

/* executor = { type = "http" } | { type = "wagi", argv, entrypoint } */
static int trigger_executor(struct mctx *m, struct app_trigger *t, const char *where, json_object *tbl)
{
	static const char *const keys[] = { "type", "argv", "entrypoint", NULL };
	_cleanup_free_ char *type = NULL;
	json_object *ex;
	int r;

	if ((r = get_typed(m, tbl, "executor", json_type_object, where, &ex)) < 0 || !ex)
		return r;
	if ((r = check_keys(m, ex, where, keys)) < 0 || (r = dup_str(m, ex, "type", where, &type)) < 0)
		return r;
	if (type && (strcmp(type, "http") == 0 || strcmp(type, "spin") == 0))
		return 0;
	if (!type || strcmp(type, "wagi") != 0)
		return sk_err(m->err, -EINVAL, "%s: %s: executor type \"%.32s\" is unknown; use \"http\" or \"wagi\"", m->name,
		              where, type ? type : "");
	t->kind = APP_HANDLER_WAGI;
	if ((r = dup_str(m, ex, "argv", where, &t->wagi_argv)) < 0 ||
	    (r = dup_str(m, ex, "entrypoint", where, &t->wagi_entrypoint)) < 0)
		return r;
	if (!t->wagi_argv && !(t->wagi_argv = strdup("${SCRIPT_NAME} ${ARGS}")))
		return oom(m);
	if (!t->wagi_entrypoint && !(t->wagi_entrypoint = strdup("_start")))
		return oom(m);
	return 0;
}

/* component = "id" | { inline component }: *component is its index. An
 * inline component takes the trigger's id when one was given, else
 * "<app>-<gen_kind><index>". */
static int trigger_component(struct mctx *m, const char *trigger_id, const char *where, json_object *tbl,
                             bool id_given, const char *gen_kind, size_t index, size_t *component)
{
	_cleanup_free_ char *gen = NULL;
	json_object *comp;
	long idx;
	int r;

	if (!json_object_object_get_ex(tbl, "component", &comp))
		return sk_err(m->err, -EINVAL, "%s: %s: component is missing; set component = \"id\"", m->name, where);
	if (json_object_is_type(comp, json_type_string)) {
		idx = app_find_component(m->app, json_object_get_string(comp));
		if (idx < 0)
			return sk_err(m->err, -ENOENT, "%s: %s: component \"%.64s\" is not defined; add [component.%.64s]",
			              m->name, where, json_object_get_string(comp), json_object_get_string(comp));
		*component = (size_t)idx;
		return 0;
	}
	if (!json_object_is_type(comp, json_type_object))
		return sk_err(m->err, -EINVAL, "%s: %s: component must be an id or an inline component table", m->name, where);
	if (id_given)
		gen = strdup(trigger_id);
	else if (asprintf(&gen, "%s-%s%zu", m->app->name, gen_kind, index) < 0)
		gen = NULL;
	if (!gen)
		return oom(m);
	if ((r = load_component(m, gen, comp, !id_given)) < 0)
		return r;
	*component = m->app->n_components - 1;
	return 0;
}

/* One [[trigger.http]]: id (generated as trigger-N when absent), route,
 * executor and component (an id, or an inline component table). */
static int load_http_trigger(struct mctx *m, json_object *tbl, size_t index)
{
	static const char *const keys[] = { "route", "component", "executor", "id", NULL };
	char where[WHERE_MAX];
	struct app_trigger *t;
	int r;

	snprintf(where, sizeof(where), "[[trigger.http]] #%zu", index + 1);
	if (!json_object_is_type(tbl, json_type_object))
		return sk_err(m->err, -EINVAL, "%s: %s must be a table", m->name, where);
	if ((r = check_keys(m, tbl, where, keys)) < 0)
		return r;
	if (!(t = app_push(&m->app->triggers, &m->app->n_triggers, sizeof(*t))))
		return push_failed(m, "manifest", "HTTP triggers");
	if ((r = dup_str(m, tbl, "id", where, &t->id)) < 0)
		return r;
	bool id_given = t->id != NULL;
	if (!t->id && asprintf(&t->id, "trigger-%zu", index + 1) < 0) {
		t->id = NULL;
		return oom(m);
	}
	if ((r = trigger_route(m, t, where, tbl)) < 0 || (r = trigger_executor(m, t, where, tbl)) < 0)
		return r;
	/* May add an inline component (and so move m->app->components, not triggers). */
	return trigger_component(m, t->id, where, tbl, id_given, "", index, &t->component);
}

/* One [[trigger.redis]]: id (generated as redis-trigger-N when absent),
 * channel, an optional address of its own, and component (an id, or an
 * inline component table). */
static int load_redis_trigger(struct mctx *m, json_object *tbl, size_t index)
{
	static const char *const keys[] = { "channel", "component", "address", "id", NULL };
	char where[WHERE_MAX];
	struct app_redis_trigger *t;
	int r;

	snprintf(where, sizeof(where), "[[trigger.redis]] #%zu", index + 1);
	if (!json_object_is_type(tbl, json_type_object))
		return sk_err(m->err, -EINVAL, "%s: %s must be a table", m->name, where);
	if ((r = check_keys(m, tbl, where, keys)) < 0)
		return r;
	if (!(t = app_push(&m->app->redis_triggers, &m->app->n_redis_triggers, sizeof(*t))))
		return push_failed(m, "manifest", "Redis triggers");
	if ((r = dup_str(m, tbl, "id", where, &t->id)) < 0 || (r = dup_str(m, tbl, "channel", where, &t->channel)) < 0 ||
	    (r = dup_str(m, tbl, "address", where, &t->address)) < 0)
		return r;
	bool id_given = t->id != NULL;
	if (!t->id && asprintf(&t->id, "redis-trigger-%zu", index + 1) < 0) {
		t->id = NULL;
		return oom(m);
	}
	if (!t->channel)
		return sk_err(m->err, -EINVAL, "%s: %s: channel is missing; set channel = \"name\"", m->name, where);
	return trigger_component(m, t->id, where, tbl, id_given, "redis-", index, &t->component);
}

/* [[trigger.TYPE]]: HTTP and Redis triggers are loaded; other types are
 * recorded as warnings on the app and skipped. */
static int load_triggers(struct mctx *m, json_object *root)
{
	json_object *trig;
	int r = get_typed(m, root, "trigger", json_type_object, "manifest", &trig);

	if (r < 0 || !trig)
		return r;
	APP_OBJ_FOREACH(it, trig) {
		const char *type = json_object_iter_peek_name(&it);
		json_object *list = json_object_iter_peek_value(&it);
		bool http = strcmp(type, "http") == 0, redis = strcmp(type, "redis") == 0;
		if (!json_object_is_type(list, json_type_array))
			return sk_err(m->err, -EINVAL, "%s: trigger.%.32s must be an array of tables ([[trigger.%.32s]])", m->name,
			              type, type);
		if (!http && !redis) {
			if (app_warn(m->app, "%s: %zu trigger(s) of type \"%.32s\" ignored: this runtime serves HTTP and Redis only",
			             m->name, json_object_array_length(list), type) < 0)
				return oom(m);
			continue;
		}
		for (size_t i = 0; i < json_object_array_length(list); i++) {
			json_object *t = json_object_array_get_idx(list, i);
			if ((r = http ? load_http_trigger(m, t, i) : load_redis_trigger(m, t, i)) < 0)
				return r;
		}
	}
	return 0;
}

/* The whole manifest, in the order the cross-references need, then the
 * whole-app checks. */
static int load_manifest(struct mctx *m, json_object *root)
{
	static const char *const keys[] = { "spin_manifest_version", "application", "variables", "trigger",
		                            "component", NULL };
	int r;

	if (!json_object_is_type(root, json_type_object))
		return sk_err(m->err, -EINVAL, "%s: not a TOML document", m->name);
	if ((r = check_version(m, root)) < 0 || (r = check_keys(m, root, "manifest", keys)) < 0 ||
	    (r = load_application(m, root)) < 0 || (r = load_variables(m, root)) < 0 ||
	    (r = load_components(m, root)) < 0 || (r = load_triggers(m, root)) < 0)
		return r;
	return app_validate(m->app, m->name, m->err);
}

int app_from_manifest(json_object *root, const char *name, const char *dir, unsigned flags,
                           struct app **out, struct sk_error *err)
{
	struct mctx m = { .name = name, .flags = flags, .err = err };
	struct app *app = app_new();
	char cwd[PATH_MAX];
	int r;

	if (!app)
		return sk_err(err, -ENOMEM, "out of memory");
	m.app = app;
	if (dir[0] != '/' && getcwd(cwd, sizeof(cwd)))
		app->dir = app_join(cwd, dir);
	else
		app->dir = strdup(dir);
	app->base = strdup("/");
	if (!app->dir || !app->base) {
		app_free(app);
		return sk_err(err, -ENOMEM, "out of memory");
	}
	m.dir = app->dir;
	r = load_manifest(&m, root);
	if (r < 0) {
		app_free(app);
		return app_err_line(err, r);
	}
	*out = app;
	return 0;
}
