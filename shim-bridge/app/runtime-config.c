/* Spin's runtime-config.toml: parsing it into struct app_runtime_config,
 * the variable providers it defines, and the state folder it names (see
 * runtime-config.h). The file is parsed with our TOML parser into a json-c
 * tree and checked table by table; json-c keeps no line numbers, so a
 * message's line is found again in the text by the table's header. */
#include "shim-bridge/app/runtime-config.h"

#include <errno.h>
#include <json-c/json.h>
#include <json-c/json_object_iterator.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/toml.h"
#include "common/utf8.h"


/* Walking a json-c object's keys in the file's order (json-c's foreach
 * macro is a statement expression, which -Wpedantic flags):
 *   for (struct obj_it it = obj_begin(o); obj_more(&it); obj_next(&it))
 * with it.key and it.val borrowed from o. */
struct obj_it {
	struct json_object_iterator cur, end;
	const char *key;
	json_object *val;
};

static struct obj_it obj_begin(json_object *o)
{
	return (struct obj_it){.cur = json_object_iter_begin(o), .end = json_object_iter_end(o)};
}

static bool obj_more(struct obj_it *it)
{
	if (json_object_iter_equal(&it->cur, &it->end))
		return false;
	it->key = json_object_iter_peek_name(&it->cur);
	it->val = json_object_iter_peek_value(&it->cur);
	return true;
}

static void obj_next(struct obj_it *it)
{
	json_object_iter_next(&it->cur);
}

static inline void json_putp(json_object **o)
{
	if (*o)
		json_object_put(*o);
}

/* --- parsing --------------------------------------------------------------------- */

struct rcp {
	const char *text;
	size_t len;
	const char *name;
	const char *dir;
	struct app_runtime_config *rc;
	struct sk_error *err;
};

/* The 1-based line of the nth (1-based) line that, after blanks and '['
 * characters, starts with head and, when label is not NULL, contains
 * label; 0 when there is none. Only a hint for messages. */
static unsigned find_line(const struct rcp *p, const char *head, const char *label, unsigned nth)
{
	size_t hl = strlen(head), ll = label ? strlen(label) : 0;
	unsigned line = 1, seen = 0;

	for (size_t i = 0; i < p->len;) {
		const char *eol = memchr(p->text + i, '\n', p->len - i);
		size_t end = eol ? (size_t)(eol - p->text) : p->len, j = i;

		while (j < end && (p->text[j] == ' ' || p->text[j] == '\t' || p->text[j] == '['))
			j++;
		if (end - j >= hl && memcmp(p->text + j, head, hl) == 0 &&
		    (!label || memmem(p->text + j, end - j, label, ll)) && ++seen == nth)
			return line;
		i = end + 1;
		line++;
	}
	return 0;
}

/* Fail with "runtime config NAME:LINE: message" (":LINE" when known). */
__attribute__((format(printf, 4, 5))) static int rc_fail(const struct rcp *p, unsigned line, int code,
                                                         const char *fmt, ...)
{
	char msg[SK_ERR_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line)
		return sk_err(p->err, code, "runtime config %s:%u: %s", p->name, line, msg);
	return sk_err(p->err, code, "runtime config %s: %s", p->name, msg);
}

static int oom(const struct rcp *p)
{
	return sk_err(p->err, -ENOMEM, "runtime config %s: out of memory", p->name);
}

__attribute__((format(printf, 3, 4))) static int rc_warn(const struct rcp *p, unsigned line, const char *fmt,
                                                         ...)
{
	struct app_runtime_config *rc = p->rc;
	char msg[SK_ERR_MESSAGE_MAX], *s = NULL, **w;
	va_list ap;

	va_start(ap, fmt);
	(void)sk_vformat_line(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (rc->n_warnings >= APP_RC_MAX_ITEMS)
		return 0;
	if (line ? asprintf(&s, "runtime config %s:%u: %s", p->name, line, msg) < 0
	         : asprintf(&s, "runtime config %s: %s", p->name, msg) < 0)
		return oom(p);
	w = realloc(rc->warnings, (rc->n_warnings + 1) * sizeof(*w));
	if (!w) {
		free(s);
		return oom(p);
	}
	rc->warnings = w;
	rc->warnings[rc->n_warnings++] = s;
	return 0;
}

/* A string without NUL bytes, or NULL. */
static const char *plain_string(json_object *v)
{
	const char *s;

	if (!v || !json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	return strlen(s) == (size_t)json_object_get_string_len(v) ? s : NULL;
}

static const char *type_name(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_object:
		return "a table";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	case json_type_int:
		return "an integer";
	case json_type_double:
		return "a float";
	case json_type_boolean:
		return "a boolean";
	default:
		return "empty";
	}
}

/* A store's path: absolute as it is, else relative to the config's folder
 * (Spin resolves against the runtime config's folder). */
static int resolve_path(const struct rcp *p, const char *path, char **out)
{
	if (path[0] == '/' || !p->dir)
		*out = strdup(path);
	else if (asprintf(out, "%s/%s", p->dir, path) < 0)
		*out = NULL;
	return *out ? 0 : oom(p);
}

/* [key_value_store.<label>]: type "spin" with an optional path, or type
 * "redis" with a url (its form is checked when the stores are built, see
 * shim-bridge/wasi/kv-redis.h); any other type is refused at start rather
 * than failing the first request. */
static int parse_kv_store(const struct rcp *p, const char *label, json_object *t)
{
	struct app_runtime_config *rc = p->rc;
	unsigned line = find_line(p, "key_value_store", label, 1);
	const char *type, *path = NULL, *url = NULL;
	struct app_rc_kv_store *kv;
	bool redis;
	json_object *v;

	if (!*label)
		return rc_fail(p, line, -EINVAL, "[key_value_store.\"\"]: a store label cannot be empty");
	if (!json_object_is_type(t, json_type_object))
		return rc_fail(p, line, -EINVAL,
		               "key_value_store.%s is %s: write it as a table [key_value_store.%s] "
		               "with type = \"spin\"",
		               label, type_name(t), label);
	v = json_object_object_get(t, "type");
	if (!v)
		return rc_fail(p, line, -EINVAL,
		               "[key_value_store.%s]: type is missing: add type = \"spin\" (SQLite)", label);
	if (!(type = plain_string(v)))
		return rc_fail(p, line, -EINVAL,
		               "[key_value_store.%s]: type must be a string such as \"spin\"", label);
	redis = strcmp(type, "redis") == 0;
	if (strcmp(type, "spin") != 0 && !redis) {
		bool known = strcmp(type, "azure_cosmos") == 0 || strcmp(type, "aws_dynamo") == 0;
		return rc_fail(p, line, known ? -ENOTSUP : -EINVAL,
		               "[key_value_store.%s]: type \"%.64s\" is %s: spin-bridge serves type = "
		               "\"spin\" (SQLite, with an optional path = \"file.db\") and type = "
		               "\"redis\" (with url = \"redis://host:port\"); change the type or remove "
		               "the table",
		               label, type, known ? "not supported" : "not a key-value store type");
	}
	for (struct obj_it it_k = obj_begin(t); obj_more(&it_k); obj_next(&it_k)) {
		const char *k = it_k.key;
		json_object *val = it_k.val;

		if (strcmp(k, "type") == 0)
			continue;
		if (!redis && strcmp(k, "path") == 0) {
			if (!(path = plain_string(val)) || !*path)
				return rc_fail(p, line, -EINVAL,
				               "[key_value_store.%s]: path must be a non-empty string "
				               "(a SQLite file)",
				               label);
		} else if (redis && strcmp(k, "url") == 0) {
			if (!(url = plain_string(val)) || !*url || strlen(url) > APP_RC_URL_MAX)
				return rc_fail(p, line, -EINVAL,
				               "[key_value_store.%s]: url must be a non-empty string of at "
				               "most %d bytes, such as \"redis://127.0.0.1:6379\"",
				               label, APP_RC_URL_MAX);
		} else {
			int r = rc_warn(p, line, "[key_value_store.%s]: key \"%.64s\" is ignored (type \"%s\" reads only %s)",
			                label, k, type, redis ? "url" : "path");
			if (r < 0)
				return r;
		}
	}
	if (redis && !url)
		return rc_fail(p, line, -EINVAL,
		               "[key_value_store.%s]: type \"redis\" needs url = \"redis://host:port\"",
		               label);
	if (rc->n_kv >= APP_RC_MAX_ITEMS)
		return rc_fail(p, line, -E2BIG, "more than %d key-value stores", APP_RC_MAX_ITEMS);
	kv = realloc(rc->kv, (rc->n_kv + 1) * sizeof(*kv));
	if (!kv)
		return oom(p);
	rc->kv = kv;
	kv = &rc->kv[rc->n_kv];
	*kv = (struct app_rc_kv_store){0};
	rc->n_kv++;
	if (!(kv->label = strdup(label)))
		return oom(p);
	if (url)
		return (kv->url = strdup(url)) ? 0 : oom(p);
	return path ? resolve_path(p, path, &kv->path) : 0;
}

/* [sqlite_database.<label>]: type "spin" with an optional path. A libSQL
 * database (type "libsql", url and token) is refused at start: nothing here
 * speaks its remote protocol, and a request failing later would hide it. */
static int parse_sqlite_db(const struct rcp *p, const char *label, json_object *t)
{
	struct app_runtime_config *rc = p->rc;
	unsigned line = find_line(p, "sqlite_database", label, 1);
	const char *type, *path = NULL;
	struct app_rc_sqlite_db *db;
	json_object *v;

	if (!*label)
		return rc_fail(p, line, -EINVAL, "[sqlite_database.\"\"]: a database label cannot be empty");
	if (!json_object_is_type(t, json_type_object))
		return rc_fail(p, line, -EINVAL,
		               "sqlite_database.%s is %s: write it as a table [sqlite_database.%s] "
		               "with type = \"spin\"",
		               label, type_name(t), label);
	v = json_object_object_get(t, "type");
	if (!v)
		return rc_fail(p, line, -EINVAL,
		               "[sqlite_database.%s]: type is missing: add type = \"spin\" (a local SQLite "
		               "file)",
		               label);
	if (!(type = plain_string(v)))
		return rc_fail(p, line, -EINVAL,
		               "[sqlite_database.%s]: type must be a string such as \"spin\"", label);
	if (strcmp(type, "libsql") == 0)
		return rc_fail(p, line, -ENOTSUP,
		               "[sqlite_database.%s]: type \"libsql\" (a remote libSQL database) is not "
		               "supported by spin-bridge: use type = \"spin\" with path = \"file.db\" (a "
		               "local SQLite file), or remove the table",
		               label);
	if (strcmp(type, "spin") != 0)
		return rc_fail(p, line, -EINVAL,
		               "[sqlite_database.%s]: type \"%.64s\" is not a SQLite database type: "
		               "spin-bridge serves type = \"spin\" (a local SQLite file, with an optional "
		               "path = \"file.db\")",
		               label, type);
	for (struct obj_it it_k = obj_begin(t); obj_more(&it_k); obj_next(&it_k)) {
		const char *k = it_k.key;

		if (strcmp(k, "type") == 0)
			continue;
		if (strcmp(k, "path") == 0) {
			if (!(path = plain_string(it_k.val)) || !*path)
				return rc_fail(p, line, -EINVAL,
				               "[sqlite_database.%s]: path must be a non-empty string "
				               "(a SQLite file)",
				               label);
		} else {
			int r = rc_warn(p, line,
			                "[sqlite_database.%s]: key \"%.64s\" is ignored (type \"spin\" reads "
			                "only path)",
			                label, k);
			if (r < 0)
				return r;
		}
	}
	if (rc->n_sqlite >= APP_RC_MAX_ITEMS)
		return rc_fail(p, line, -E2BIG, "more than %d SQLite databases", APP_RC_MAX_ITEMS);
	db = realloc(rc->sqlite, (rc->n_sqlite + 1) * sizeof(*db));
	if (!db)
		return oom(p);
	rc->sqlite = db;
	db = &rc->sqlite[rc->n_sqlite];
	*db = (struct app_rc_sqlite_db){0};
	rc->n_sqlite++;
	if (!(db->label = strdup(label)))
		return oom(p);
	return path ? resolve_path(p, path, &db->path) : 0;
}

/* A table of labelled tables ([key_value_store.X], [sqlite_database.X]),
 * each handed to parse_one. */
static int parse_labelled(const struct rcp *p, const char *key, json_object *v,
                          int (*parse_one)(const struct rcp *, const char *, json_object *))
{
	if (!json_object_is_type(v, json_type_object))
		return rc_fail(p, find_line(p, key, NULL, 1), -EINVAL,
		               "%s is %s: write each entry as a table [%s.<label>]", key, type_name(v), key);
	for (struct obj_it it = obj_begin(v); obj_more(&it); obj_next(&it)) {
		int r = parse_one(p, it.key, it.val);
		if (r < 0)
			return r;
	}
	return 0;
}

static int push_value(const struct rcp *p, struct app_rc_provider *pv, const char *name, const char *value,
                      unsigned line)
{
	struct app_rc_value *v;

	if (pv->n_values >= APP_RC_MAX_ITEMS)
		return rc_fail(p, line, -E2BIG, "more than %d static values", APP_RC_MAX_ITEMS);
	v = realloc(pv->values, (pv->n_values + 1) * sizeof(*v));
	if (!v)
		return oom(p);
	pv->values = v;
	v = &pv->values[pv->n_values];
	*v = (struct app_rc_value){0};
	pv->n_values++;
	if (!(v->name = strdup(name)) || !(v->value = strdup(value)))
		return oom(p);
	return 0;
}

static int parse_env_provider(const struct rcp *p, const char *key, size_t i, unsigned line, json_object *t,
                              struct app_rc_provider *pv)
{
	for (struct obj_it it_k = obj_begin(t); obj_more(&it_k); obj_next(&it_k)) {
		const char *k = it_k.key;
		json_object *val = it_k.val;

		if (strcmp(k, "type") == 0)
			continue;
		if (strcmp(k, "prefix") == 0) {
			const char *s = plain_string(val);
			if (!s)
				return rc_fail(p, line, -EINVAL,
				               "%s[%zu]: prefix must be a string such as "
				               "\"SPIN_VARIABLE\"",
				               key, i);
			if (!(pv->prefix = strdup(s)))
				return oom(p);
		} else if (strcmp(k, "dotenv_path") == 0) {
			return rc_fail(p, line, -ENOTSUP,
			               "%s[%zu]: dotenv_path is not supported by spin-bridge: set "
			               "the variables in the environment instead",
			               key, i);
		} else {
			return rc_fail(p, line, -EINVAL,
			               "%s[%zu]: unknown key \"%.64s\" for type \"env\" (it takes "
			               "prefix)",
			               key, i, k);
		}
	}
	return 0;
}

static int parse_static_provider(const struct rcp *p, const char *key, size_t i, unsigned line,
                                 json_object *t, struct app_rc_provider *pv)
{
	json_object *values = NULL;
	int r;

	for (struct obj_it it_k = obj_begin(t); obj_more(&it_k); obj_next(&it_k)) {
		const char *k = it_k.key;
		json_object *val = it_k.val;

		if (strcmp(k, "type") == 0)
			continue;
		if (strcmp(k, "values") == 0) {
			values = val;
		} else if ((r = rc_warn(p, line,
		                        "%s[%zu]: key \"%.64s\" is ignored (type \"static\" reads only "
		                        "values)",
		                        key, i, k)) < 0) {
			return r;
		}
	}
	if (!values || !json_object_is_type(values, json_type_object))
		return rc_fail(p, line, -EINVAL,
		               "%s[%zu]: type \"static\" needs values = { name = \"value\", ... }", key, i);
	for (struct obj_it it_name = obj_begin(values); obj_more(&it_name); obj_next(&it_name)) {
		const char *name = it_name.key;
		json_object *v = it_name.val;

		const char *s = plain_string(v);
		if (!s)
			return rc_fail(p, line, -EINVAL, "%s[%zu]: values.%.64s must be a string (it is %s)",
			               key, i, name, type_name(v));
		if ((r = push_value(p, pv, name, s, line)) < 0)
			return r;
	}
	return 0;
}

/* [[config_provider]] / [[variables_provider]] entries, in order. */
static int parse_providers(const struct rcp *p, const char *key, json_object *arr)
{
	struct app_runtime_config *rc = p->rc;
	size_t n;

	if (!json_object_is_type(arr, json_type_array))
		return rc_fail(p, find_line(p, key, NULL, 1), -EINVAL,
		               "%s is %s: write each provider as an array-of-tables entry [[%s]] with a type",
		               key, type_name(arr), key);
	n = json_object_array_length(arr);
	if (n > APP_RC_MAX_ITEMS)
		return rc_fail(p, 0, -E2BIG, "more than %d %s entries", APP_RC_MAX_ITEMS, key);
	for (size_t i = 0; i < n; i++) {
		json_object *t = json_object_array_get_idx(arr, i);
		unsigned line = find_line(p, key, NULL, (unsigned)i + 1);
		struct app_rc_provider *pv;
		const char *type;
		int r;

		if (!json_object_is_type(t, json_type_object))
			return rc_fail(p, line, -EINVAL,
			               "%s[%zu] is %s: each entry must be a table with a type", key, i,
			               type_name(t));
		if (!(type = plain_string(json_object_object_get(t, "type"))))
			return rc_fail(p, line, -EINVAL,
			               "%s[%zu]: type is missing or not a string: use type = \"env\" "
			               "or \"static\"",
			               key, i);
		if (strcmp(type, "vault") == 0 || strcmp(type, "open_bao") == 0 ||
		    strcmp(type, "azure_key_vault") == 0)
			return rc_fail(p, line, -ENOTSUP,
			               "%s[%zu]: variables provider type \"%s\" is not supported by "
			               "spin-bridge: use type = \"env\" or \"static\" (or pass the values "
			               "as SPIN_VARIABLE_<NAME> environment variables)",
			               key, i, type);
		if (strcmp(type, "env") != 0 && strcmp(type, "static") != 0)
			return rc_fail(p, line, -EINVAL,
			               "%s[%zu]: unknown variables provider type \"%.64s\" (spin-bridge "
			               "serves \"env\" and \"static\")",
			               key, i, type);
		pv = realloc(rc->providers, (rc->n_providers + 1) * sizeof(*pv));
		if (!pv)
			return oom(p);
		rc->providers = pv;
		pv = &rc->providers[rc->n_providers];
		*pv = (struct app_rc_provider){0};
		rc->n_providers++;
		if (strcmp(type, "env") == 0) {
			pv->type = APP_RC_PROVIDER_ENV;
			r = parse_env_provider(p, key, i, line, t, pv);
		} else {
			pv->type = APP_RC_PROVIDER_STATIC;
			r = parse_static_provider(p, key, i, line, t, pv);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* Tables Spin knows that spin-bridge accepts without serving them. */
static int parse_ignored(const struct rcp *p, const char *key)
{
	unsigned line = find_line(p, key, NULL, 1);

	if (strcmp(key, "log_dir") == 0)
		return rc_warn(p, line, "log_dir is ignored: spin-bridge logs guest output to stderr");
	return rc_warn(p, line, "%s is not used: spin-bridge does not serve what it configures", key);
}

static int parse_root(const struct rcp *p, json_object *root)
{
	static const char *const ignored[] = {"llm_compute", "client_tls", "outbound_http", "blob_store",
	                                      "log_dir"};
	json_object *vp = json_object_object_get(root, "variables_provider");
	json_object *cp = json_object_object_get(root, "config_provider");
	int r;

	if (vp && cp)
		return rc_fail(
		    p, find_line(p, "config_provider", NULL, 1), -EINVAL,
		    "has both variables_provider and config_provider: keep one (they are the same list)");
	for (struct obj_it it_key = obj_begin(root); obj_more(&it_key); obj_next(&it_key)) {
		const char *key = it_key.key;
		json_object *v = it_key.val;

		bool skip = false;

		for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
			if (strcmp(key, ignored[i]) == 0)
				skip = true;
		if (skip) {
			r = parse_ignored(p, key);
		} else if (strcmp(key, "variables_provider") == 0 || strcmp(key, "config_provider") == 0) {
			r = parse_providers(p, key, v);
		} else if (strcmp(key, "key_value_store") == 0) {
			r = parse_labelled(p, key, v, parse_kv_store);
		} else if (strcmp(key, "sqlite_database") == 0) {
			r = parse_labelled(p, key, v, parse_sqlite_db);
		} else if (strcmp(key, "state_dir") == 0) {
			const char *s = plain_string(v);
			if (!s)
				return rc_fail(p, find_line(p, key, NULL, 1), -EINVAL,
				               "state_dir must be a string (a folder; \"\" for none)");
			p->rc->has_state_dir = true;
			r = (p->rc->state_dir = strdup(s)) ? 0 : oom(p);
		} else {
			return rc_fail(
			    p, find_line(p, key, NULL, 1), -EINVAL,
			    "unknown key \"%.64s\" (Spin refuses it too); known: variables_provider, "
			    "config_provider, key_value_store, sqlite_database, llm_compute, state_dir, "
			    "log_dir, client_tls, outbound_http, blob_store",
			    key);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

void app_runtime_config_free(struct app_runtime_config *rc)
{
	if (!rc)
		return;
	free(rc->path);
	free(rc->dir);
	free(rc->state_dir);
	for (size_t i = 0; i < rc->n_kv; i++) {
		free(rc->kv[i].label);
		free(rc->kv[i].path);
		free(rc->kv[i].url);
	}
	free(rc->kv);
	for (size_t i = 0; i < rc->n_sqlite; i++) {
		free(rc->sqlite[i].label);
		free(rc->sqlite[i].path);
	}
	free(rc->sqlite);
	for (size_t i = 0; i < rc->n_providers; i++) {
		struct app_rc_provider *pv = &rc->providers[i];
		free(pv->prefix);
		for (size_t j = 0; j < pv->n_values; j++) {
			free(pv->values[j].name);
			free(pv->values[j].value);
		}
		free(pv->values);
	}
	free(rc->providers);
	for (size_t i = 0; i < rc->n_warnings; i++)
		free(rc->warnings[i]);
	free(rc->warnings);
	free(rc);
}

static inline void rc_freep(struct app_runtime_config **rc)
{
	app_runtime_config_free(*rc);
}

int app_runtime_config_parse(const char *text, size_t len, const char *name, const char *dir,
                              struct app_runtime_config **out, struct sk_error *err)
{
	_cleanup_(rc_freep) struct app_runtime_config *rc = calloc(1, sizeof(*rc));
	_cleanup_(json_putp) json_object *root = NULL;
	struct rcp p = {.text = text, .len = len, .name = name, .dir = dir, .rc = rc, .err = err};
	int r;

	if (!rc)
		return oom(&p);
	if ((r = sk_toml_parse(text, len, name, &root, err)) < 0)
		return sk_err_prefix(err, "runtime config");
	if ((r = parse_root(&p, root)) < 0)
		return r;
	*out = TAKE_PTR(rc);
	return 0;
}

int app_runtime_config_load(const char *path, bool must_exist, struct app_runtime_config **out,
                             struct sk_error *err)
{
	_cleanup_(rc_freep) struct app_runtime_config *rc = NULL;
	_cleanup_free_ char *text = NULL, *abs = NULL;
	char *slash;
	size_t len = 0;
	int r;

	r = sk_read_file(path, TOML_MAX_INPUT, &text, &len);
	if (r == -ENOENT && !must_exist) {
		if (!(rc = calloc(1, sizeof(*rc))))
			return sk_err(err, -ENOMEM, "out of memory");
		*out = TAKE_PTR(rc);
		return 0;
	}
	if (r == -ENOENT)
		return sk_err(err, r,
		              "runtime config %s: no such file (check --runtime-config-file or "
		              "SPIN_RUNTIME_CONFIG_FILE)",
		              path);
	if (r == -E2BIG)
		return sk_err(err, r, "runtime config %s: larger than %d bytes", path, TOML_MAX_INPUT);
	if (r < 0)
		return sk_err(err, r, "runtime config %s: %s", path, strerror(-r));
	if (!(abs = realpath(path, NULL)))
		return sk_err(err, -errno, "runtime config %s: %s", path, strerror(errno));
	slash = strrchr(abs, '/');
	if (slash == abs)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	if ((r = app_runtime_config_parse(text, len, path, abs, &rc, err)) < 0)
		return r;
	if (!(rc->path = strdup(path)))
		return sk_err(err, -ENOMEM, "out of memory");
	rc->dir = TAKE_PTR(abs);
	*out = TAKE_PTR(rc);
	return 0;
}

/* --- variables and the state folder ------------------------------------------------- */

static const char *env_lookup(const char *const *envp, const char *key, size_t klen)
{
	for (; envp && *envp; envp++)
		if (strncmp(*envp, key, klen) == 0 && (*envp)[klen] == '=')
			return *envp + klen + 1;
	return NULL;
}

int app_runtime_config_variable(const struct app_runtime_config *rc, const char *const *envp,
                                 const char *name, const char **value)
{
	size_t nlen = strlen(name);

	for (size_t i = 0; rc && i < rc->n_providers; i++) {
		const struct app_rc_provider *pv = &rc->providers[i];

		if (pv->type == APP_RC_PROVIDER_STATIC) {
			for (size_t j = 0; j < pv->n_values; j++)
				if (strcmp(pv->values[j].name, name) == 0) {
					*value = pv->values[j].value;
					return 0;
				}
		} else {
			/* Spin joins prefix and name with '_' whatever the prefix
			 * ends with: SpinKube's "SPIN_VARIABLE_" looks up
			 * SPIN_VARIABLE__NAME, and Spin's own default provider
			 * (prefix SPIN_VARIABLE) finds SPIN_VARIABLE_NAME after it. */
			const char *prefix = pv->prefix ? pv->prefix : "SPIN_VARIABLE";
			size_t plen = strlen(prefix);
			_cleanup_free_ char *key = malloc(plen + 1 + nlen + 1);
			const char *v;

			if (!key)
				return -ENOMEM;
			memcpy(key, prefix, plen);
			key[plen] = '_';
			for (size_t j = 0; j < nlen; j++)
				key[plen + 1 + j] = (name[j] >= 'a' && name[j] <= 'z')
				                        ? (char)(name[j] - 'a' + 'A')
				                        : name[j];
			key[plen + 1 + nlen] = '\0';
			if ((v = env_lookup(envp, key, plen + 1 + nlen))) {
				*value = v;
				return 0;
			}
		}
	}
	return -ENOENT;
}

int app_runtime_config_state_dir(const struct app_runtime_config *rc, const char *flag_dir,
                                  const char *app_dir, char **out, struct sk_error *err)
{
	_cleanup_free_ char *joined = NULL;
	const char *d = NULL;
	char cwd[PATH_MAX];
	char *s;

	if (flag_dir)
		d = flag_dir;
	else if (rc && rc->has_state_dir)
		d = rc->state_dir;
	else if (app_dir && *app_dir) {
		if (asprintf(&joined, "%s/%s", strcmp(app_dir, "/") == 0 ? "" : app_dir,
		             APP_STATE_DIR_NAME) < 0)
			return sk_err(err, -ENOMEM, "out of memory");
		d = joined;
	}
	if (!d || !*d) {
		*out = NULL;
		return 0;
	}
	if (d[0] == '/') {
		s = strdup(d);
	} else {
		if (!getcwd(cwd, sizeof(cwd)))
			return sk_err(err, -errno, "state folder %s: cannot read the working directory: %s",
			              d, strerror(errno));
		if (asprintf(&s, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, d) < 0)
			s = NULL;
	}
	if (!s)
		return sk_err(err, -ENOMEM, "out of memory");
	*out = s;
	return 0;
}

