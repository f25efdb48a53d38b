/* Spin's runtime-config.toml and the SQLite key-value backend (see
 * runtime-config.h). The file is parsed with our TOML parser into a json-c
 * tree and checked table by table; json-c keeps no line numbers, so a
 * message's line is found again in the text by the table's header. */
#include "shim-bridge/wasi/runtime-config.h"

#include <errno.h>
#include <json-c/json.h>
#include <json-c/json_object_iterator.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/toml.h"
#include "common/utf8.h"

/* How long a store operation waits for another connection's lock on the
 * same file before it fails with "database is locked". */
#define KV_BUSY_TIMEOUT_MS 5000

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

/* --- variable names ------------------------------------------------------------ */

static bool set_why(char *why, size_t size, const char *reason)
{
	if (why && size)
		(void)snprintf(why, size, "%s", reason);
	return false;
}

/* Spin's rules (spin_expressions::Key), so that a name Spin refuses is
 * refused here with the same words. */
bool spin_variable_name_check(const char *name, size_t len, char *why, size_t why_size)
{
	if (len == 0)
		return set_why(why, why_size, "must not be empty");
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
			if (why && why_size && c > 0x20 && c < 0x7f)
				(void)snprintf(why, why_size,
				               "invalid character '%c'. Variable names may contain only "
				               "lower-case letters, numbers, and underscores.",
				               c);
			else if (why && why_size)
				(void)snprintf(why, why_size,
				               "invalid character (byte 0x%02x). Variable names may "
				               "contain only lower-case letters, numbers, and underscores.",
				               (unsigned char)c);
			return false;
		}
	}
	if (!(name[0] >= 'a' && name[0] <= 'z'))
		return set_why(why, why_size, "must start with a lowercase ASCII letter");
	if (name[len - 1] == '_')
		return set_why(why, why_size, "must end with a lowercase ASCII letter or digit");
	if (memmem(name, len, "__", 2))
		return set_why(why, why_size, "must not contain multiple consecutive underscores");
	return true;
}

/* --- parsing --------------------------------------------------------------------- */

struct rcp {
	const char *text;
	size_t len;
	const char *name;
	const char *dir;
	struct spin_runtime_config *rc;
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
	struct spin_runtime_config *rc = p->rc;
	char msg[SK_ERR_MESSAGE_MAX], *s = NULL, **w;
	va_list ap;

	va_start(ap, fmt);
	(void)sk_vformat_line(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (rc->n_warnings >= SPIN_RC_MAX_ITEMS)
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

/* [key_value_store.<label>]: type "spin" with an optional path; any other
 * type is refused at start rather than failing the first request. */
static int parse_kv_store(const struct rcp *p, const char *label, json_object *t)
{
	struct spin_runtime_config *rc = p->rc;
	unsigned line = find_line(p, "key_value_store", label, 1);
	const char *type, *path = NULL;
	struct spin_rc_kv_store *kv;
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
	if (strcmp(type, "spin") != 0) {
		bool known = strcmp(type, "redis") == 0 || strcmp(type, "azure_cosmos") == 0 ||
		             strcmp(type, "aws_dynamo") == 0;
		return rc_fail(
		    p, line, known ? -ENOTSUP : -EINVAL,
		    "[key_value_store.%s]: type \"%.64s\" is %s: spin-bridge serves only type = \"spin\" "
		    "(SQLite, with an optional path = \"file.db\"); change the type or remove the table",
		    label, type, known ? "not supported" : "not a key-value store type");
	}
	for (struct obj_it it_k = obj_begin(t); obj_more(&it_k); obj_next(&it_k)) {
		const char *k = it_k.key;
		json_object *val = it_k.val;

		if (strcmp(k, "type") == 0)
			continue;
		if (strcmp(k, "path") == 0) {
			if (!(path = plain_string(val)) || !*path)
				return rc_fail(p, line, -EINVAL,
				               "[key_value_store.%s]: path must be a non-empty string "
				               "(a SQLite file)",
				               label);
		} else {
			int r = rc_warn(p, line,
			                "[key_value_store.%s]: key \"%.64s\" is ignored (type \"spin\" reads "
			                "only path)",
			                label, k);
			if (r < 0)
				return r;
		}
	}
	if (rc->n_kv >= SPIN_RC_MAX_ITEMS)
		return rc_fail(p, line, -E2BIG, "more than %d key-value stores", SPIN_RC_MAX_ITEMS);
	kv = realloc(rc->kv, (rc->n_kv + 1) * sizeof(*kv));
	if (!kv)
		return oom(p);
	rc->kv = kv;
	kv = &rc->kv[rc->n_kv];
	*kv = (struct spin_rc_kv_store){0};
	rc->n_kv++;
	if (!(kv->label = strdup(label)))
		return oom(p);
	return path ? resolve_path(p, path, &kv->path) : 0;
}

static int push_value(const struct rcp *p, struct spin_rc_provider *pv, const char *name, const char *value,
                      unsigned line)
{
	struct spin_rc_value *v;

	if (pv->n_values >= SPIN_RC_MAX_ITEMS)
		return rc_fail(p, line, -E2BIG, "more than %d static values", SPIN_RC_MAX_ITEMS);
	v = realloc(pv->values, (pv->n_values + 1) * sizeof(*v));
	if (!v)
		return oom(p);
	pv->values = v;
	v = &pv->values[pv->n_values];
	*v = (struct spin_rc_value){0};
	pv->n_values++;
	if (!(v->name = strdup(name)) || !(v->value = strdup(value)))
		return oom(p);
	return 0;
}

static int parse_env_provider(const struct rcp *p, const char *key, size_t i, unsigned line, json_object *t,
                              struct spin_rc_provider *pv)
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
                                 json_object *t, struct spin_rc_provider *pv)
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
	struct spin_runtime_config *rc = p->rc;
	size_t n;

	if (!json_object_is_type(arr, json_type_array))
		return rc_fail(p, find_line(p, key, NULL, 1), -EINVAL,
		               "%s is %s: write each provider as an array-of-tables entry [[%s]] with a type",
		               key, type_name(arr), key);
	n = json_object_array_length(arr);
	if (n > SPIN_RC_MAX_ITEMS)
		return rc_fail(p, 0, -E2BIG, "more than %d %s entries", SPIN_RC_MAX_ITEMS, key);
	for (size_t i = 0; i < n; i++) {
		json_object *t = json_object_array_get_idx(arr, i);
		unsigned line = find_line(p, key, NULL, (unsigned)i + 1);
		struct spin_rc_provider *pv;
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
		*pv = (struct spin_rc_provider){0};
		rc->n_providers++;
		if (strcmp(type, "env") == 0) {
			pv->type = SPIN_RC_PROVIDER_ENV;
			r = parse_env_provider(p, key, i, line, t, pv);
		} else {
			pv->type = SPIN_RC_PROVIDER_STATIC;
			r = parse_static_provider(p, key, i, line, t, pv);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* Tables Spin knows that spin-bridge accepts without serving them. */
static int parse_ignored(const struct rcp *p, const char *key, json_object *v)
{
	unsigned line = find_line(p, key, NULL, 1);

	if (strcmp(key, "log_dir") == 0)
		return rc_warn(p, line, "log_dir is ignored: spin-bridge logs guest output to stderr");
	if (strcmp(key, "sqlite_database") == 0 && json_object_is_type(v, json_type_object)) {
		for (struct obj_it it_label = obj_begin(v); obj_more(&it_label); obj_next(&it_label)) {
			const char *label = it_label.key;
			json_object *t = it_label.val;

			const char *type = json_object_is_type(t, json_type_object)
			                       ? plain_string(json_object_object_get(t, "type"))
			                       : NULL;
			int r = rc_warn(
			    p, find_line(p, key, label, 1),
			    "[sqlite_database.%s] (type \"%.64s\") is not used: spin-bridge does not serve "
			    "fermyon:spin/sqlite",
			    label, type ? type : "?");
			if (r < 0)
				return r;
		}
		return 0;
	}
	return rc_warn(p, line, "%s is not used: spin-bridge does not serve what it configures", key);
}

static int parse_root(const struct rcp *p, json_object *root)
{
	static const char *const ignored[] = {"sqlite_database", "llm_compute", "client_tls",
	                                      "outbound_http",   "blob_store",  "log_dir"};
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
			r = parse_ignored(p, key, v);
		} else if (strcmp(key, "variables_provider") == 0 || strcmp(key, "config_provider") == 0) {
			r = parse_providers(p, key, v);
		} else if (strcmp(key, "key_value_store") == 0) {
			if (!json_object_is_type(v, json_type_object))
				return rc_fail(p, find_line(p, key, NULL, 1), -EINVAL,
				               "key_value_store is %s: write each store as a table "
				               "[key_value_store.<label>]",
				               type_name(v));
			r = 0;
			for (struct obj_it it_label = obj_begin(v); obj_more(&it_label);
			     obj_next(&it_label)) {
				const char *label = it_label.key;
				json_object *t = it_label.val;

				if ((r = parse_kv_store(p, label, t)) < 0)
					break;
			}
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

void spin_runtime_config_free(struct spin_runtime_config *rc)
{
	if (!rc)
		return;
	free(rc->path);
	free(rc->dir);
	free(rc->state_dir);
	for (size_t i = 0; i < rc->n_kv; i++) {
		free(rc->kv[i].label);
		free(rc->kv[i].path);
	}
	free(rc->kv);
	for (size_t i = 0; i < rc->n_providers; i++) {
		struct spin_rc_provider *pv = &rc->providers[i];
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

static inline void rc_freep(struct spin_runtime_config **rc)
{
	spin_runtime_config_free(*rc);
}

int spin_runtime_config_parse(const char *text, size_t len, const char *name, const char *dir,
                              struct spin_runtime_config **out, struct sk_error *err)
{
	_cleanup_(rc_freep) struct spin_runtime_config *rc = calloc(1, sizeof(*rc));
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

int spin_runtime_config_load(const char *path, bool must_exist, struct spin_runtime_config **out,
                             struct sk_error *err)
{
	_cleanup_(rc_freep) struct spin_runtime_config *rc = NULL;
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
	if ((r = spin_runtime_config_parse(text, len, path, abs, &rc, err)) < 0)
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

int spin_runtime_config_variable(const struct spin_runtime_config *rc, const char *const *envp,
                                 const char *name, const char **value)
{
	size_t nlen = strlen(name);

	for (size_t i = 0; rc && i < rc->n_providers; i++) {
		const struct spin_rc_provider *pv = &rc->providers[i];

		if (pv->type == SPIN_RC_PROVIDER_STATIC) {
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

int spin_runtime_config_state_dir(const struct spin_runtime_config *rc, const char *flag_dir,
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
		             SPIN_STATE_DIR_NAME) < 0)
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

/* --- key-value backend ------------------------------------------------------------------ */

enum { ST_GET, ST_SET, ST_DEL, ST_EXISTS, ST_KEYS, ST_COUNT };

static const char *const stmt_sql[ST_COUNT] = {
    [ST_GET] = "SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2",
    [ST_SET] = ("INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3) "
                "ON CONFLICT(store, key) DO UPDATE SET value = excluded.value"),
    [ST_DEL] = "DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2",
    [ST_EXISTS] = "SELECT 1 FROM spin_key_value WHERE store = ?1 AND key = ?2",
    [ST_KEYS] = "SELECT key FROM spin_key_value WHERE store = ?1",
};

/* Spin's table, so a file written by Spin serves here and back. */
static const char create_sql[] = "CREATE TABLE IF NOT EXISTS spin_key_value ("
                                 "store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, "
                                 "PRIMARY KEY (store, key))";

struct spin_kvdb_store {
	char *label;
	char *path; /* NULL: in memory */
	pthread_mutex_t mu;
	bool mu_ok;
	sqlite3 *db; /* opened on first use, under mu */
	sqlite3_stmt *st[ST_COUNT];
};

struct spin_kvdb {
	struct spin_kvdb_store *stores; /* never moves: stores are handed out by pointer */
	size_t n;
};

static void store_close(struct spin_kvdb_store *s)
{
	for (size_t i = 0; i < ST_COUNT; i++) {
		sqlite3_finalize(s->st[i]);
		s->st[i] = NULL;
	}
	if (s->db)
		sqlite3_close(s->db);
	s->db = NULL;
}

void spin_kvdb_free(struct spin_kvdb *db)
{
	if (!db)
		return;
	for (size_t i = 0; i < db->n; i++) {
		struct spin_kvdb_store *s = &db->stores[i];
		store_close(s);
		if (s->mu_ok)
			pthread_mutex_destroy(&s->mu);
		free(s->label);
		free(s->path);
	}
	free(db->stores);
	free(db);
}

static inline void kvdb_freep(struct spin_kvdb **db)
{
	spin_kvdb_free(*db);
}

static int add_store(struct spin_kvdb *db, size_t cap, const char *label, const char *path)
{
	struct spin_kvdb_store *s = &db->stores[db->n];

	if (db->n >= cap)
		return -E2BIG;
	db->n++;
	if (!(s->label = strdup(label)) || (path && !(s->path = strdup(path))))
		return -ENOMEM;
	if (pthread_mutex_init(&s->mu, NULL) != 0)
		return -ENOMEM;
	s->mu_ok = true;
	return 0;
}

int spin_kvdb_new(const struct spin_runtime_config *rc, const char *state_dir, struct spin_kvdb **out,
                  struct sk_error *err)
{
	_cleanup_(kvdb_freep) struct spin_kvdb *db = calloc(1, sizeof(*db));
	_cleanup_free_ char *dflt = NULL;
	size_t n = rc ? rc->n_kv : 0;
	bool has_default = false;
	int r = 0;

	if (!db || !(db->stores = calloc(n + 1, sizeof(*db->stores))))
		return sk_err(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n && r == 0; i++) {
		if (strcmp(rc->kv[i].label, SPIN_KV_DEFAULT_LABEL) == 0)
			has_default = true;
		r = add_store(db, n + 1, rc->kv[i].label, rc->kv[i].path);
	}
	if (r == 0 && !has_default) {
		if (state_dir && asprintf(&dflt, "%s/%s", strcmp(state_dir, "/") == 0 ? "" : state_dir,
		                          SPIN_KV_DEFAULT_FILE) < 0)
			return sk_err(err, -ENOMEM, "out of memory");
		r = add_store(db, n + 1, SPIN_KV_DEFAULT_LABEL, dflt);
	}
	if (r < 0)
		return sk_err(err, r, "key-value stores: %s", strerror(-r));
	*out = TAKE_PTR(db);
	return 0;
}

struct spin_kvdb_store *spin_kvdb_find(struct spin_kvdb *db, const char *label, size_t len)
{
	for (size_t i = 0; db && i < db->n; i++)
		if (strlen(db->stores[i].label) == len && memcmp(db->stores[i].label, label, len) == 0)
			return &db->stores[i];
	return NULL;
}

const char *spin_kvdb_store_label(const struct spin_kvdb_store *s)
{
	return s->label;
}

const char *spin_kvdb_store_path(const struct spin_kvdb_store *s)
{
	return s->path;
}

/* mkdir -p of path's folder, as Spin creates a store's parent folder. */
static int make_parents(const char *path, char *failed, size_t failed_size)
{
	_cleanup_free_ char *p = strdup(path);
	char *slash;

	if (!p)
		return -ENOMEM;
	slash = strrchr(p, '/');
	if (!slash || slash == p)
		return 0;
	*slash = '\0';
	for (char *q = p + 1;; q++) {
		bool last = *q == '\0';
		if (*q != '/' && !last)
			continue;
		*q = '\0';
		if (mkdir(p, 0777) < 0 && errno != EEXIST) {
			int e = errno;
			struct stat st;

			/* an existing folder on a read-only parent is fine */
			if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode)) {
				(void)snprintf(failed, failed_size, "%s", p);
				return -e;
			}
		}
		if (last)
			break;
		*q = '/';
	}
	return 0;
}

static int sqlite_fail(struct spin_kvdb_store *s, struct sk_error *err, int rc, const char *what)
{
	int code = (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED     ? -EBUSY
	           : (rc & 0xff) == SQLITE_NOMEM                                  ? -ENOMEM
	           : (rc & 0xff) == SQLITE_FULL                                   ? -ENOSPC
	           : (rc & 0xff) == SQLITE_READONLY || (rc & 0xff) == SQLITE_PERM ? -EACCES
	                                                                          : -EIO;
	return sk_err(err, code, "key-value store \"%s\" (%s): %s: %s", s->label,
	              s->path ? s->path : "in memory", what,
	              s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
}

/* Open the store's connection if it is not open yet. Caller holds s->mu. */
static int store_open_locked(struct spin_kvdb_store *s, struct sk_error *err)
{
	char failed[PATH_MAX] = "";
	int r;

	if (s->db)
		return 0;
	if (s->path && (r = make_parents(s->path, failed, sizeof(failed))) < 0)
		return sk_err(err, r,
		              "key-value store \"%s\" (%s): cannot create folder %s: %s (set --state-dir or "
		              "state_dir in the runtime config to a writable folder)",
		              s->label, s->path, failed, strerror(-r));
	r = sqlite3_open_v2(s->path ? s->path : ":memory:", &s->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (r != SQLITE_OK) {
		r = sqlite_fail(s, err, r, "cannot open the database");
		store_close(s);
		return r;
	}
	sqlite3_busy_timeout(s->db, KV_BUSY_TIMEOUT_MS);
	if ((r = sqlite3_exec(s->db, create_sql, NULL, NULL, NULL)) != SQLITE_OK) {
		r = sqlite_fail(s, err, r, "cannot create table spin_key_value");
		store_close(s);
		return r;
	}
	for (size_t i = 0; i < ST_COUNT; i++)
		if ((r = sqlite3_prepare_v2(s->db, stmt_sql[i], -1, &s->st[i], NULL)) != SQLITE_OK) {
			r = sqlite_fail(s, err, r, "table spin_key_value is not Spin's key-value table");
			store_close(s);
			return r;
		}
	return 0;
}

int spin_kvdb_check_component(struct spin_kvdb *db, const char *component_id, const char *const *labels,
                              size_t n, struct sk_error *err)
{
	for (size_t i = 0; i < n; i++) {
		struct spin_kvdb_store *s = spin_kvdb_find(db, labels[i], strlen(labels[i]));
		int r;

		if (!s)
			return sk_err(err, -ENOENT,
			              "component \"%s\": key_value_stores names \"%s\", which is not "
			              "defined: add [key_value_store.%s] with type = \"spin\" to the "
			              "runtime config file (--runtime-config-file), or use \"default\"",
			              component_id, labels[i], labels[i]);
		pthread_mutex_lock(&s->mu);
		r = store_open_locked(s, err);
		pthread_mutex_unlock(&s->mu);
		if (r < 0)
			return sk_err_prefix(err, "component \"%s\"", component_id);
	}
	return 0;
}

/* Lock the store, open it if needed, and bind the label and key to stmt
 * (left reset and bound). On success the caller holds s->mu. */
static int begin(struct spin_kvdb_store *s, int which, const char *key, size_t klen, struct sk_error *err)
{
	sqlite3_stmt *st;
	int r;

	if (klen > SPIN_KV_KEY_MAX)
		return sk_err(err, -E2BIG, "key-value store \"%s\": key of %zu bytes is longer than %zu",
		              s->label, klen, SPIN_KV_KEY_MAX);
	pthread_mutex_lock(&s->mu);
	if ((r = store_open_locked(s, err)) < 0) {
		pthread_mutex_unlock(&s->mu);
		return r;
	}
	st = s->st[which];
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if ((r = sqlite3_bind_text(st, 1, s->label, -1, SQLITE_STATIC)) != SQLITE_OK ||
	    (key && (r = sqlite3_bind_text(st, 2, klen ? key : "", (int)klen, SQLITE_STATIC)) != SQLITE_OK)) {
		r = sqlite_fail(s, err, r, "bind");
		pthread_mutex_unlock(&s->mu);
		return r;
	}
	return 0;
}

/* Reset the statement (dropping its references to our buffers) and unlock. */
static int end(struct spin_kvdb_store *s, int which, int r)
{
	sqlite3_reset(s->st[which]);
	sqlite3_clear_bindings(s->st[which]);
	pthread_mutex_unlock(&s->mu);
	return r;
}

int spin_kvdb_get(struct spin_kvdb_store *s, const char *key, size_t klen, uint8_t **val, size_t *vlen,
                  struct sk_error *err)
{
	sqlite3_stmt *st;
	uint8_t *copy = NULL;
	size_t n;
	int r;

	if ((r = begin(s, ST_GET, key, klen, err)) < 0)
		return r;
	st = s->st[ST_GET];
	r = sqlite3_step(st);
	if (r == SQLITE_DONE)
		return end(s, ST_GET, -ENOENT);
	if (r != SQLITE_ROW)
		return end(s, ST_GET, sqlite_fail(s, err, r, "get"));
	n = (size_t)sqlite3_column_bytes(st, 0);
	if (n > SPIN_KV_VALUE_MAX)
		return end(s, ST_GET,
		           sk_err(err, -E2BIG,
		                  "key-value store \"%s\": the value is %zu bytes, more than "
		                  "spin-bridge hands over (%zu)",
		                  s->label, n, SPIN_KV_VALUE_MAX));
	if (n) {
		const void *p = sqlite3_column_blob(st, 0);
		if (!p || !(copy = malloc(n)))
			return end(s, ST_GET,
			           sk_err(err, -ENOMEM, "key-value store \"%s\": out of memory", s->label));
		memcpy(copy, p, n);
	}
	*val = copy;
	*vlen = n;
	return end(s, ST_GET, 0);
}

int spin_kvdb_set(struct spin_kvdb_store *s, const char *key, size_t klen, const uint8_t *val, size_t vlen,
                  struct sk_error *err)
{
	sqlite3_stmt *st;
	int r;

	if (vlen > SPIN_KV_VALUE_MAX)
		return sk_err(err, -E2BIG, "key-value store \"%s\": value of %zu bytes is larger than %zu",
		              s->label, vlen, SPIN_KV_VALUE_MAX);
	if ((r = begin(s, ST_SET, key, klen, err)) < 0)
		return r;
	st = s->st[ST_SET];
	/* value is NOT NULL: an empty value is a zero-length blob, not NULL */
	r = vlen ? sqlite3_bind_blob(st, 3, val, (int)vlen, SQLITE_STATIC) : sqlite3_bind_zeroblob(st, 3, 0);
	if (r != SQLITE_OK)
		return end(s, ST_SET, sqlite_fail(s, err, r, "bind"));
	r = sqlite3_step(st);
	return end(s, ST_SET, r == SQLITE_DONE ? 0 : sqlite_fail(s, err, r, "set"));
}

int spin_kvdb_delete(struct spin_kvdb_store *s, const char *key, size_t klen, struct sk_error *err)
{
	int r;

	if ((r = begin(s, ST_DEL, key, klen, err)) < 0)
		return r;
	r = sqlite3_step(s->st[ST_DEL]);
	return end(s, ST_DEL, r == SQLITE_DONE ? 0 : sqlite_fail(s, err, r, "delete"));
}

int spin_kvdb_exists(struct spin_kvdb_store *s, const char *key, size_t klen, bool *out, struct sk_error *err)
{
	int r;

	if ((r = begin(s, ST_EXISTS, key, klen, err)) < 0)
		return r;
	r = sqlite3_step(s->st[ST_EXISTS]);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return end(s, ST_EXISTS, sqlite_fail(s, err, r, "exists"));
	*out = r == SQLITE_ROW;
	return end(s, ST_EXISTS, 0);
}

void spin_kvdb_keys_free(struct spin_kvdb_key *keys, size_t n)
{
	for (size_t i = 0; keys && i < n; i++)
		free(keys[i].s);
	free(keys);
}

int spin_kvdb_keys(struct spin_kvdb_store *s, struct spin_kvdb_key **out, size_t *n, struct sk_error *err)
{
	struct spin_kvdb_key *keys = NULL;
	size_t count = 0, cap = 0, total = 0;
	sqlite3_stmt *st;
	int r;

	if ((r = begin(s, ST_KEYS, NULL, 0, err)) < 0)
		return r;
	st = s->st[ST_KEYS];
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *k = sqlite3_column_text(st, 0);
		size_t kl = (size_t)sqlite3_column_bytes(st, 0);

		if (!k && kl == 0)
			k = (const unsigned char *)"";
		total += kl + 64; /* a key costs a host value and the guest's string */
		if (total > SPIN_KV_KEYS_MAX) {
			r = sk_err(err, -E2BIG,
			           "key-value store \"%s\": its keys add up to more than get-keys "
			           "hands over (%zu bytes)",
			           s->label, SPIN_KV_KEYS_MAX);
			goto fail;
		}
		if (!k || !sk_utf8_valid(k, kl)) {
			r = sk_err(err, -EILSEQ,
			           "key-value store \"%s\": a key in the file is not valid UTF-8", s->label);
			goto fail;
		}
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct spin_kvdb_key *nk = realloc(keys, ncap * sizeof(*nk));
			if (!nk)
				goto nomem;
			keys = nk;
			cap = ncap;
		}
		if (!(keys[count].s = malloc(kl + 1)))
			goto nomem;
		memcpy(keys[count].s, k, kl);
		keys[count].s[kl] = '\0';
		keys[count].n = kl;
		count++;
	}
	if (r != SQLITE_DONE) {
		r = sqlite_fail(s, err, r, "get-keys");
		goto fail;
	}
	*out = keys;
	*n = count;
	return end(s, ST_KEYS, 0);
nomem:
	r = sk_err(err, -ENOMEM, "key-value store \"%s\": out of memory", s->label);
fail:
	spin_kvdb_keys_free(keys, count);
	return end(s, ST_KEYS, r);
}
