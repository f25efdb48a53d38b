/* The app model: loading entry point, whole-app validation, retain, free. */
#include "shim-bridge/app/app.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim-bridge/app/app-internal.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/sha256.h"
#include "shim-bridge/app/routes.h"
#include "common/strmap.h"
#include "common/toml.h"
#include "shim-bridge/app/vars.h"

struct app *app_new(void)
{
	return calloc(1, sizeof(struct app));
}

void *app_push(void *arr, size_t *n, size_t size)
{
	void **parr = arr;
	char *grown;

	if (*n >= APP_MAX_ITEMS) {
		errno = E2BIG;
		return NULL;
	}
	grown = realloc(*parr, (*n + 1) * size);
	if (!grown) {
		errno = ENOMEM;
		return NULL;
	}
	*parr = grown;
	memset(grown + *n * size, 0, size);
	return grown + (*n)++ * size;
}

int app_strv_push(char ***v, size_t *n, const char *s)
{
	char *copy = strdup(s);
	char **slot;

	if (!copy)
		return -ENOMEM;
	slot = app_push(v, n, sizeof(char *));
	if (!slot) {
		free(copy);
		return -errno;
	}
	*slot = copy;
	return 0;
}

int app_warn(struct app *app, const char *fmt, ...)
{
	char line[SK_ERR_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)sk_vformat_line(line, sizeof(line), fmt, ap);
	va_end(ap);
	return app_strv_push(&app->warnings, &app->n_warnings, line);
}

char *app_join(const char *dir, const char *rel)
{
	char *s = NULL;

	if (rel[0] == '/')
		return strdup(rel);
	if (asprintf(&s, "%s%s%s", dir, dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/", rel) < 0)
		return NULL;
	return s;
}

bool app_kebab_ok(const char *id)
{
	if (!(id[0] >= 'a' && id[0] <= 'z'))
		return false;
	for (size_t i = 1; id[i]; i++) {
		char c = id[i];
		if (c == '-') {
			if (id[i + 1] == '-' || id[i + 1] == '\0')
				return false;
		} else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
			return false;
		}
	}
	return true;
}

bool app_variable_name_ok(const char *name)
{
	if (!(name[0] >= 'a' && name[0] <= 'z'))
		return false;
	for (size_t i = 1; name[i]; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

const char *app_digest_hex(const char *digest)
{
	const char *hex;

	if (!digest || strncmp(digest, "sha256:", 7) != 0)
		return NULL;
	hex = digest + 7;
	if (strlen(hex) != 64)
		return NULL;
	for (size_t i = 0; i < 64; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
			return NULL;
	return hex;
}

int app_verify_sha256(const char *path, const char *hex, const char *what, struct sk_error *err)
{
	_cleanup_close_ int fd = -1;
	unsigned char md[32], chunk[65536];
	char got[65];
	_cleanup_sha256_ struct sk_sha256 ctx = { 0 };

	if (sk_sha256_init(&ctx) < 0)
		return sk_err(err, -ENOMEM, "%s: out of memory", what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sk_err(err, -errno, "%s: %s: %s", what, path, strerror(errno));
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sk_err(err, -errno, "%s: reading %s: %s", what, path, strerror(errno));
		if (n == 0)
			break;
		sk_sha256_update(&ctx, chunk, (size_t)n);
	}
	if (sk_sha256_final(&ctx, md) < 0)
		return sk_err(err, -EIO, "%s: %s: the SHA-256 digest failed", what, path);
	sk_sha256_to_hex(md, got);
	if (strcmp(got, hex) != 0)
		return sk_err(err, -EILSEQ, "%s: %s has digest sha256:%s, not the sha256:%s the app names (the blob is corrupt or stale)",
		              what, path, got, hex);
	return 0;
}

/* A template lookup that only says whether the app has the variable. */
struct var_check {
	const struct app *app;
};

static int var_exists(const char *name, const char **value, void *ud)
{
	const struct app *app = ((struct var_check *)ud)->app;

	for (size_t i = 0; i < app->n_variables; i++) {
		if (strcmp(app->variables[i].name, name) == 0) {
			*value = "";
			return 0;
		}
	}
	return -ENOENT;
}

/* "${...}" in a WAGI argv may only be ${SCRIPT_NAME} or ${ARGS}. */
static int check_wagi_argv(const char *argv, const char *name, const char *id, struct sk_error *err)
{
	for (const char *p = strstr(argv, "${"); p; p = strstr(p + 2, "${")) {
		if (strncmp(p, "${SCRIPT_NAME}", 14) != 0 && strncmp(p, "${ARGS}", 7) != 0)
			return sk_err(err, -EINVAL,
			              "%s: trigger \"%s\": executor argv \"%.100s\" uses an unknown placeholder; only ${SCRIPT_NAME} and ${ARGS} exist",
			              name, id, argv);
	}
	return 0;
}

/* A route with one trailing '/' dropped and a leading '/' added, for the
 * duplicate check. Caller frees. */
static char *route_key(const char *route)
{
	size_t n = strlen(route);
	char *s = NULL;

	if (n > 1 && route[n - 1] == '/')
		n--;
	if (asprintf(&s, "%s%.*s", route[0] == '/' ? "" : "/", (int)n, route) < 0)
		return NULL;
	return s;
}

/* Trigger ids unique; WAGI argv placeholders known; public routes valid
 * and unique (after dropping one trailing slash). */
static int validate_triggers(const struct app *app, const char *name, struct sk_error *err)
{
	struct strmap ids = { 0 }, routes = { 0 };
	int r = 0;

	for (size_t i = 0; i < app->n_triggers && r == 0; i++) {
		const struct app_trigger *t = &app->triggers[i];
		_cleanup_free_ char *key = NULL;
		const char *other;

		if (strmap_find(&ids, t->id)) {
			r = sk_err(err, -EINVAL, "%s: trigger id \"%s\" is used twice; give each trigger its own id", name, t->id);
		} else if (!strmap_put(&ids, t->id, (void *)t->id, NULL)) {
			r = sk_err(err, -ENOMEM, "out of memory");
		} else if (t->kind == APP_HANDLER_WAGI) {
			r = check_wagi_argv(t->wagi_argv, name, t->id, err);
		}
		if (r < 0 || t->is_private)
			continue;
		if ((r = app_route_check(t->route, err)) < 0) {
			r = sk_err_prefix(err, "%s: trigger \"%s\": route \"%.100s\"", name, t->id, t->route);
		} else if (!(key = route_key(t->route))) {
			r = sk_err(err, -ENOMEM, "out of memory");
		} else if ((other = strmap_get(&routes, key)) != NULL) {
			r = sk_err(err, -EINVAL, "%s: route \"%.100s\" is used by triggers \"%s\" and \"%s\"; give each a different route",
			           name, t->route, other, t->id);
		} else if (!strmap_put(&routes, key, t->id, NULL)) {
			r = sk_err(err, -ENOMEM, "out of memory");
		}
	}
	strmap_clear(&ids);
	strmap_clear(&routes);
	return r;
}

/* A Redis trigger's channel or address: its templates name app variables. */
static int check_redis_template(const struct app *app, const char *name, const char *id, const char *what,
                                const char *tmpl, struct sk_error *err)
{
	struct var_check vc = { app };
	_cleanup_free_ char *ignored = NULL;
	int r = app_template_expand(tmpl, var_exists, &vc, &ignored, err);

	if (r == -ENOENT)
		return sk_err_prefix(err, "%s: trigger \"%s\": %s (declare the variable under [variables])", name, id, what);
	if (r < 0)
		return sk_err_prefix(err, "%s: trigger \"%s\": %s", name, id, what);
	return 0;
}

/* Redis trigger ids unique (among the HTTP ones too); each has a channel
 * and an address (its own or the app's), within their caps, whose
 * templates name app variables. */
static int validate_redis_triggers(const struct app *app, const char *name, struct sk_error *err)
{
	struct strmap ids = { 0 };
	int r = 0;

	for (size_t i = 0; i < app->n_triggers && r == 0; i++)
		if (!strmap_put(&ids, app->triggers[i].id, (void *)app->triggers[i].id, NULL))
			r = sk_err(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < app->n_redis_triggers && r == 0; i++) {
		const struct app_redis_trigger *t = &app->redis_triggers[i];
		const char *address = t->address ? t->address : app->redis_address;

		if (strmap_find(&ids, t->id))
			r = sk_err(err, -EINVAL, "%s: trigger id \"%s\" is used twice; give each trigger its own id", name, t->id);
		else if (!strmap_put(&ids, t->id, (void *)t->id, NULL))
			r = sk_err(err, -ENOMEM, "out of memory");
		else if (!t->channel[0])
			r = sk_err(err, -EINVAL, "%s: trigger \"%s\": channel is empty; name the Redis channel", name, t->id);
		else if (strlen(t->channel) > APP_REDIS_CHANNEL_MAX)
			r = sk_err(err, -E2BIG, "%s: trigger \"%s\": channel is longer than %d bytes", name, t->id,
			           APP_REDIS_CHANNEL_MAX);
		else if (!address)
			r = sk_err(err, -EINVAL,
			           "%s: trigger \"%s\": no Redis address; set address = \"redis://host:6379\" on the trigger or under [application.trigger.redis]",
			           name, t->id);
		else if (strlen(address) > APP_REDIS_ADDRESS_MAX)
			r = sk_err(err, -E2BIG, "%s: trigger \"%s\": address is longer than %d bytes", name, t->id,
			           APP_REDIS_ADDRESS_MAX);
		else if ((r = check_redis_template(app, name, t->id, "channel", t->channel, err)) == 0)
			r = check_redis_template(app, name, t->id, "address", address, err);
	}
	strmap_clear(&ids);
	return r;
}

int app_validate(const struct app *app, const char *name, struct sk_error *err)
{
	struct var_check vc = { app };
	int r = validate_triggers(app, name, err);

	if (r == 0)
		r = validate_redis_triggers(app, name, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < app->n_components; i++) {
		const struct app_component *c = &app->components[i];
		for (size_t k = 0; k < c->n_variables; k++) {
			_cleanup_free_ char *ignored = NULL;
			r = app_template_expand(c->variables[k].value, var_exists, &vc, &ignored, err);
			if (r == -ENOENT)
				return sk_err_prefix(err, "%s: component \"%s\": variable \"%s\" (declare it under [variables])",
				                     name, c->id, c->variables[k].key);
			if (r < 0)
				return sk_err_prefix(err, "%s: component \"%s\": variable \"%s\"", name, c->id,
				                     c->variables[k].key);
		}
	}
	return 0;
}

long app_find_component(const struct app *app, const char *id)
{
	for (size_t i = 0; i < app->n_components; i++)
		if (strcmp(app->components[i].id, id) == 0)
			return (long)i;
	return -1;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static void component_clear(struct app_component *c)
{
	free(c->id);
	free(c->source);
	free(c->inline_bytes);
	free(c->source_digest);
	sk_kv_free(c->env, c->n_env);
	for (size_t i = 0; c->files && i < c->n_files; i++) {
		free(c->files[i].source);
		free(c->files[i].destination);
	}
	free(c->files);
	strv_free(c->allowed_outbound_hosts, c->n_allowed_outbound_hosts);
	strv_free(c->key_value_stores, c->n_key_value_stores);
	strv_free(c->sqlite_databases, c->n_sqlite_databases);
	sk_kv_free(c->variables, c->n_variables);
}

static void trigger_clear(struct app_trigger *t)
{
	free(t->id);
	free(t->route);
	free(t->wagi_argv);
	free(t->wagi_entrypoint);
}

static void redis_trigger_clear(struct app_redis_trigger *t)
{
	free(t->id);
	free(t->channel);
	free(t->address);
}

void app_free(struct app *app)
{
	if (!app)
		return;
	free(app->name);
	free(app->version);
	free(app->description);
	free(app->base);
	free(app->origin);
	free(app->dir);
	for (size_t i = 0; app->variables && i < app->n_variables; i++) {
		free(app->variables[i].name);
		free(app->variables[i].default_value);
	}
	free(app->variables);
	for (size_t i = 0; app->components && i < app->n_components; i++)
		component_clear(&app->components[i]);
	free(app->components);
	for (size_t i = 0; app->triggers && i < app->n_triggers; i++)
		trigger_clear(&app->triggers[i]);
	free(app->triggers);
	for (size_t i = 0; app->redis_triggers && i < app->n_redis_triggers; i++)
		redis_trigger_clear(&app->redis_triggers[i]);
	free(app->redis_triggers);
	free(app->redis_address);
	strv_free(app->warnings, app->n_warnings);
	free(app);
}

/* Mark in keep[] the components named in the comma-separated list. */
static int retain_mark(const struct app *app, const char *list, bool *keep, struct sk_error *err)
{
	size_t named = 0;

	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		const char *s = p, *e = p + n;
		long idx = -1;

		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e > s) {
			for (size_t i = 0; i < app->n_components && idx < 0; i++)
				if (strlen(app->components[i].id) == (size_t)(e - s) &&
				    memcmp(app->components[i].id, s, (size_t)(e - s)) == 0)
					idx = (long)i;
			if (idx < 0)
				return sk_err(err, -ENOENT,
				              "SPIN_COMPONENTS_TO_RETAIN: component \"%.*s\" is not in app \"%s\"; use ids from its manifest",
				              (int)(e - s > 100 ? 100 : e - s), s, app->name);
			keep[idx] = true;
			named++;
		}
		p += n + (p[n] == ',');
	}
	if (named == 0)
		return sk_err(err, -EINVAL, "SPIN_COMPONENTS_TO_RETAIN names no component; list component ids separated by commas");
	return 0;
}

int app_retain(struct app *app, const char *list, struct sk_error *err)
{
	_cleanup_free_ bool *keep = calloc(app->n_components + 1, sizeof(bool));
	_cleanup_free_ size_t *newidx = calloc(app->n_components + 1, sizeof(size_t));
	size_t nc = 0, nt = 0, nr = 0;
	int r;

	if (!keep || !newidx)
		return sk_err(err, -ENOMEM, "out of memory");
	if ((r = retain_mark(app, list, keep, err)) < 0)
		return app_err_line(err, r);
	/* Compact in place: nothing below can fail. */
	for (size_t i = 0; i < app->n_components; i++) {
		if (!keep[i]) {
			component_clear(&app->components[i]);
			continue;
		}
		newidx[i] = nc;
		app->components[nc++] = app->components[i];
	}
	for (size_t i = 0; i < app->n_triggers; i++) {
		struct app_trigger *t = &app->triggers[i];
		if (!keep[t->component]) {
			trigger_clear(t);
			continue;
		}
		t->component = newidx[t->component];
		app->triggers[nt++] = *t;
	}
	for (size_t i = 0; i < app->n_redis_triggers; i++) {
		struct app_redis_trigger *t = &app->redis_triggers[i];
		if (!keep[t->component]) {
			redis_trigger_clear(t);
			continue;
		}
		t->component = newidx[t->component];
		app->redis_triggers[nr++] = *t;
	}
	app->n_components = nc;
	app->n_triggers = nt;
	app->n_redis_triggers = nr;
	return 0;
}

static const char *const dir_candidates[] = { "spin.toml", "locked-app.json", "spin.lock" };

/* path itself when a file; the first candidate present when a directory.
 * *file is new (caller frees). */
static int find_app_file(const char *path, char **file, struct sk_error *err)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return sk_err(err, -errno, "%s: %s (give the app directory, its spin.toml or a locked-app JSON file)",
		              path, strerror(errno));
	if (!S_ISDIR(st.st_mode)) {
		*file = strdup(path);
		return *file ? 0 : sk_err(err, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < sizeof(dir_candidates) / sizeof(dir_candidates[0]); i++) {
		char *f = app_join(path, dir_candidates[i]);
		if (!f)
			return sk_err(err, -ENOMEM, "out of memory");
		if (access(f, F_OK) == 0) {
			*file = f;
			return 0;
		}
		free(f);
	}
	return sk_err(err, -ENOENT, "%s: no spin.toml, locked-app.json or spin.lock in this directory", path);
}

/* A locked app is JSON: its first non-blank byte is '{' (never so in TOML). */
static bool looks_locked(const char *text, size_t len)
{
	size_t i = 0;

	while (i < len && strchr(" \t\r\n", text[i]))
		i++;
	return i < len && text[i] == '{';
}

/* Pick the loader by content: JSON object -> locked app, else TOML. */
static int load_text(const char *file, const char *text, size_t len, const char *dir, struct app **out,
                     struct sk_error *err)
{
	json_object *root = NULL;
	int r;

	if (looks_locked(text, len))
		return app_from_locked(text, len, file, dir, 0, out, err);
	if (len > APP_MANIFEST_MAX)
		return sk_err(err, -E2BIG, "%s: %zu bytes is more than the %d a manifest may have", file, len,
		              APP_MANIFEST_MAX);
	if ((r = sk_toml_parse(text, len, file, &root, err)) < 0)
		return r;
	r = app_from_manifest(root, file, dir, 0, out, err);
	json_object_put(root);
	return r;
}

int app_load(const char *path, struct app **out, struct sk_error *err)
{
	_cleanup_free_ char *file = NULL, *abs = NULL, *dircopy = NULL, *text = NULL;
	struct app *app = NULL;
	size_t len = 0;
	int r;

	if ((r = find_app_file(path, &file, err)) < 0)
		return app_err_line(err, r);
	r = sk_read_file(file, APP_LOCKED_MAX, &text, &len);
	if (r == -E2BIG)
		return sk_err(err, r, "%s: larger than %d bytes", file, APP_LOCKED_MAX);
	if (r < 0)
		return sk_err(err, r, "%s: %s", file, strerror(-r));
	abs = realpath(file, NULL);
	if (!abs || !(dircopy = strdup(abs)))
		return sk_err(err, -ENOMEM, "%s: cannot resolve the path", file);
	if ((r = load_text(file, text, len, dirname(dircopy), &app, err)) < 0)
		return app_err_line(err, r);
	app->origin = TAKE_PTR(abs);
	*out = app;
	return 0;
}
