#include "cli/lock.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"

/* A builder with a sticky out-of-memory flag: assembly reads straight down
 * and the flag is checked once at the end. */
struct lb {
	bool oom;
	struct layer_set *layers;
	struct sk_error *err;
};

static json_object *lb_add(struct lb *b, json_object *obj, const char *key, json_object *v)
{
	if (!v || !obj || json_object_object_add(obj, key, v) < 0) {
		json_object_put(v);
		b->oom = true;
		return NULL;
	}
	return v;
}

static json_object *lb_push(struct lb *b, json_object *arr, json_object *v)
{
	if (!v || !arr || json_object_array_add(arr, v) < 0) {
		json_object_put(v);
		b->oom = true;
		return NULL;
	}
	return v;
}

static json_object *lb_str(const char *s)
{
	return json_object_new_string(s);
}

static json_object *kv_object(struct lb *b, const struct sk_kv *kv, size_t n)
{
	json_object *o = json_object_new_object();

	for (size_t i = 0; i < n; i++)
		lb_add(b, o, kv[i].key, lb_str(kv[i].value));
	return o;
}

static json_object *str_array(struct lb *b, char *const *v, size_t n)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < n; i++)
		lb_push(b, a, lb_str(v[i]));
	return a;
}

/* One file: its content as a data layer, and {digest, path} in files. */
static int add_file(struct lb *b, json_object *files, const char *host, const char *guest)
{
	const char *digest;
	int r = layers_add_file(b->layers, host, MEDIA_DATA, guest, &digest, b->err);

	if (r < 0)
		return r;
	json_object *e = lb_push(b, files, json_object_new_object());
	lb_add(b, e, "digest", lb_str(digest));
	lb_add(b, e, "path", lb_str(guest));
	return 0;
}

static int no_dots(const struct dirent *d)
{
	return strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0;
}

/* Every regular file under host, in name order, as guest/<relative path>.
 * Symbolic links are refused: what they point at may be anywhere. */
static int add_tree(struct lb *b, json_object *files, const char *host, const char *guest, int depth)
{
	struct dirent **list = NULL;
	int n, r = 0;

	if (depth > LOCK_WALK_DEPTH_MAX)
		return sk_err(b->err, -ELOOP, "%s: folders nest deeper than %d", host, LOCK_WALK_DEPTH_MAX);
	if ((n = scandir(host, &list, no_dots, alphasort)) < 0)
		return sk_err(b->err, -errno, "%s: %s", host, strerror(errno));
	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *hp = NULL, *gp = NULL;
		struct stat st;
		if (r < 0)
			goto next;
		bool root = strcmp(guest, "/") == 0;
		if (asprintf(&hp, "%s/%s", host, list[i]->d_name) < 0 ||
		    asprintf(&gp, "%s%s%s", guest, root ? "" : "/", list[i]->d_name) < 0) {
			hp = gp = NULL;
			r = sk_err(b->err, -ENOMEM, "out of memory");
			goto next;
		}
		if (lstat(hp, &st) < 0)
			r = sk_err(b->err, -errno, "%s: %s", hp, strerror(errno));
		else if (S_ISDIR(st.st_mode))
			r = add_tree(b, files, hp, gp, depth + 1);
		else if (S_ISREG(st.st_mode))
			r = add_file(b, files, hp, gp);
		else
			r = sk_err(b->err, -EINVAL, "%s: not a regular file or folder (a link?); push copies only those", hp);
	next:
		free(list[i]);
	}
	free(list);
	return r;
}

static int component(struct lb *b, json_object *comps, const struct app_component *c)
{
	json_object *o = lb_push(b, comps, json_object_new_object()), *src, *meta, *files;
	const char *digest;
	int r;

	lb_add(b, o, "id", lb_str(c->id));
	meta = lb_add(b, o, "metadata", json_object_new_object());
	lb_add(b, meta, "allowed_outbound_hosts",
	       str_array(b, c->allowed_outbound_hosts, c->n_allowed_outbound_hosts));
	lb_add(b, meta, "key_value_stores", str_array(b, c->key_value_stores, c->n_key_value_stores));
	/* Spin's name for a component's sqlite_databases in a locked app */
	lb_add(b, meta, "databases", str_array(b, c->sqlite_databases, c->n_sqlite_databases));
	if (c->source)
		r = layers_add_file(b->layers, c->source, MEDIA_WASM, NULL, &digest, b->err);
	else
		r = layers_add_mem(b->layers, c->inline_bytes, c->inline_len, MEDIA_WASM, NULL, &digest, b->err);
	if (r < 0)
		return sk_err_prefix(b->err, "component \"%s\"", c->id);
	src = lb_add(b, o, "source", json_object_new_object());
	lb_add(b, src, "content_type", lb_str("application/wasm"));
	lb_add(b, src, "digest", lb_str(digest));
	lb_add(b, o, "env", kv_object(b, c->env, c->n_env));
	files = lb_add(b, o, "files", json_object_new_array());
	for (size_t i = 0; i < c->n_files; i++) {
		const struct app_file_mount *f = &c->files[i];
		r = f->is_dir ? add_tree(b, files, f->source, f->destination, 0) : add_file(b, files, f->source, f->destination);
		if (r < 0)
			return sk_err_prefix(b->err, "component \"%s\"", c->id);
	}
	lb_add(b, o, "config", kv_object(b, c->variables, c->n_variables));
	return 0;
}

static void trigger(struct lb *b, json_object *trigs, const struct app *app, const struct app_trigger *t)
{
	json_object *o = lb_push(b, trigs, json_object_new_object()), *cfg, *ex, *route;

	lb_add(b, o, "id", lb_str(t->id));
	lb_add(b, o, "trigger_type", lb_str("http"));
	cfg = lb_add(b, o, "trigger_config", json_object_new_object());
	lb_add(b, cfg, "component", lb_str(app->components[t->component].id));
	if (t->is_private) {
		route = lb_add(b, cfg, "route", json_object_new_object());
		lb_add(b, route, "private", json_object_new_boolean(1));
	} else {
		lb_add(b, cfg, "route", lb_str(t->route));
	}
	if (t->kind == APP_HANDLER_WAGI) {
		ex = lb_add(b, cfg, "executor", json_object_new_object());
		lb_add(b, ex, "type", lb_str("wagi"));
		lb_add(b, ex, "argv", lb_str(t->wagi_argv));
		lb_add(b, ex, "entrypoint", lb_str(t->wagi_entrypoint));
	}
}

/* A Redis trigger as Spin locks it: its channel and its own address (the
 * app's default goes in metadata.triggers.redis), templates as written. */
static void redis_trigger(struct lb *b, json_object *trigs, const struct app *app, const struct app_redis_trigger *t)
{
	json_object *o = lb_push(b, trigs, json_object_new_object()), *cfg;

	lb_add(b, o, "id", lb_str(t->id));
	lb_add(b, o, "trigger_type", lb_str("redis"));
	cfg = lb_add(b, o, "trigger_config", json_object_new_object());
	lb_add(b, cfg, "component", lb_str(app->components[t->component].id));
	lb_add(b, cfg, "channel", lb_str(t->channel));
	if (t->address)
		lb_add(b, cfg, "address", lb_str(t->address));
}

int lock_build(const struct app *app, struct layer_set *layers, json_object **out, struct sk_error *err)
{
	struct lb b = { .layers = layers, .err = err };
	json_object *root = json_object_new_object(), *meta, *trig, *http, *vars, *comps, *trigs;
	int r = 0;

	lb_add(&b, root, "spin_lock_version", json_object_new_int(1));
	meta = lb_add(&b, root, "metadata", json_object_new_object());
	lb_add(&b, meta, "name", lb_str(app->name));
	if (app->version)
		lb_add(&b, meta, "version", lb_str(app->version));
	if (app->description)
		lb_add(&b, meta, "description", lb_str(app->description));
	trig = lb_add(&b, meta, "triggers", json_object_new_object());
	http = lb_add(&b, trig, "http", json_object_new_object());
	lb_add(&b, http, "base", lb_str(app->base ? app->base : "/"));
	if (app->redis_address)
		lb_add(&b, lb_add(&b, trig, "redis", json_object_new_object()), "address", lb_str(app->redis_address));
	vars = lb_add(&b, root, "variables", json_object_new_object());
	for (size_t i = 0; i < app->n_variables; i++) {
		const struct app_variable *v = &app->variables[i];
		json_object *o = lb_add(&b, vars, v->name, json_object_new_object());
		if (v->default_value)
			lb_add(&b, o, "default", lb_str(v->default_value));
		lb_add(&b, o, "secret", json_object_new_boolean(v->secret));
	}
	trigs = lb_add(&b, root, "triggers", json_object_new_array());
	for (size_t i = 0; i < app->n_triggers; i++)
		trigger(&b, trigs, app, &app->triggers[i]);
	for (size_t i = 0; i < app->n_redis_triggers; i++)
		redis_trigger(&b, trigs, app, &app->redis_triggers[i]);
	comps = lb_add(&b, root, "components", json_object_new_array());
	for (size_t i = 0; r == 0 && i < app->n_components; i++)
		r = component(&b, comps, &app->components[i]);
	if (r == 0 && b.oom)
		r = sk_err(err, -ENOMEM, "out of memory while writing the locked app");
	if (r < 0) {
		json_object_put(root);
		return r;
	}
	*out = root;
	return 0;
}
