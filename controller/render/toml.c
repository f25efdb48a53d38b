/* runtime-config.toml from spec.runtimeConfig (the quoting is common/toml.h's). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/json.h"
#include "controller/render/render.h"
#include "common/toml.h"

/* A Secret holds at most 1 MiB; a runtime config past that could not be
 * stored anyway. */
#define TOML_MAX (1024u * 1024)
/* Longest field path in a message: spec.runtimeConfig.keyValueStores[N].options[N] */
#define PATH_MAX_LEN 128

/* Turn a buffer error into a message about the runtime config. */
static int toml_fail(struct sk_error *err, int r, const char *path, const char *what)
{
	if (r == -E2BIG)
		return sk_err(err, r,
		              "spec.runtimeConfig renders to more than %u bytes, more than a Secret holds",
		              TOML_MAX);
	if (r == -EILSEQ)
		return sk_err(err, -EINVAL, "%s: %s is not valid UTF-8, which TOML cannot hold", path, what);
	return sk_err(err, r, "%s: %s", path, strerror(-r));
}

/* The value of one option: value as it is, or valueFrom resolved through the
 * lookup. *value is the caller's. Upstream resolves every reference and
 * fails on a missing one whether or not it says optional, and so do we: no
 * runtime-config option makes sense half-configured. */
static int option_value(json_object *opt, const char *path, const char *oname, render_lookup_fn lookup,
                        void *ud, char **value, struct sk_error *err)
{
	json_object *from = sk_json_obj(opt, "valueFrom"), *ref;
	const char *kind, *word, *name, *key;
	int r;

	if (!from) {
		const char *v = sk_json_str(opt, "value");
		*value = strdup(v ? v : "");
		return *value ? 0 : sk_err(err, -ENOMEM, "out of memory");
	}
	if (sk_json_get(opt, "value"))
		return sk_err(err, -EINVAL, "%s (\"%s\"): set value or valueFrom, not both", path, oname);
	if ((ref = sk_json_obj(from, "secretKeyRef"))) {
		kind = "Secret";
		word = "secret";
		if (sk_json_obj(from, "configMapKeyRef"))
			return sk_err(
			    err, -EINVAL,
			    "%s (\"%s\"): valueFrom has both secretKeyRef and configMapKeyRef; keep one",
			    path, oname);
	} else if ((ref = sk_json_obj(from, "configMapKeyRef"))) {
		kind = "ConfigMap";
		word = "configmap";
	} else {
		return sk_err(err, -EINVAL, "%s (\"%s\"): valueFrom needs secretKeyRef or configMapKeyRef",
		              path, oname);
	}
	name = sk_json_str(ref, "name");
	key = sk_json_str(ref, "key");
	if (!name || !*name || !key || !*key)
		return sk_err(err, -EINVAL, "%s (\"%s\"): the %s reference needs a name and a key", path,
		              oname, word);
	if (!lookup)
		return sk_err(err, -EINVAL,
		              "%s (\"%s\"): %s \"%s\" key \"%s\" cannot be looked up (no lookup given)", path,
		              oname, word, name, key);
	r = lookup(ud, kind, name, key, value);
	if (r == -ENOENT)
		return sk_err(err, -ENOENT, "%s (\"%s\"): %s \"%s\" key \"%s\" not found", path, oname, word,
		              name, key);
	if (r < 0)
		return sk_err(err, r, "%s (\"%s\"): looking up %s \"%s\" key \"%s\": %s", path, oname, word,
		              name, key, strerror(-r));
	return 0;
}

/* One table: "\n[<prefix>.<name>]\n" (or "[<prefix>]" without a name), the
 * type, then each option as a key. path names the entry in messages. */
static int emit_table(struct sk_buf *b, const char *prefix, const char *name, json_object *entry,
                      const char *path, render_lookup_fn lookup, void *ud, struct sk_error *err)
{
	json_object *opts = sk_json_get(entry, "options");
	const char *type = sk_json_str(entry, "type");
	size_t n;
	int r;

	if (!type || !*type)
		return sk_err(err, -EINVAL,
		              "%s: type is missing; set the store's type (for example \"redis\")", path);
	if (opts && !json_object_is_type(opts, json_type_array))
		return sk_err(err, -EINVAL, "%s: options must be a list", path);
	if ((r = sk_buf_append(b, "\n[", 2)) < 0 || (r = sk_buf_append(b, prefix, strlen(prefix))) < 0)
		return toml_fail(err, r, path, "the table");
	if (name && ((r = sk_buf_append(b, ".", 1)) < 0 || (r = sk_toml_append_key(b, name)) < 0))
		return toml_fail(err, r, path, "the name");
	if ((r = sk_buf_append(b, "]\ntype = ", 9)) < 0 || (r = sk_toml_append_string(b, type)) < 0 ||
	    (r = sk_buf_append(b, "\n", 1)) < 0)
		return toml_fail(err, r, path, "the type");

	n = opts ? json_object_array_length(opts) : 0;
	for (size_t j = 0; j < n; j++) {
		json_object *opt = json_object_array_get_idx(opts, j);
		const char *oname = sk_json_str(opt, "name");
		_cleanup_free_ char *value = NULL;
		char opath[PATH_MAX_LEN];

		(void)snprintf(opath, sizeof(opath), "%s.options[%zu]", path, j);
		if (!oname || !*oname)
			return sk_err(err, -EINVAL, "%s: name is missing", opath);
		if (strcmp(oname, "type") == 0)
			return sk_err(
			    err, -EINVAL,
			    "%s (\"type\"): an option cannot be called type; the type field sets it", opath);
		for (size_t k = 0; k < j; k++) {
			const char *prev = sk_json_str(json_object_array_get_idx(opts, k), "name");
			if (prev && strcmp(prev, oname) == 0)
				return sk_err(err, -EINVAL, "%s (\"%s\"): the same option as options[%zu]",
				              opath, oname, k);
		}
		if ((r = option_value(opt, opath, oname, lookup, ud, &value, err)) < 0)
			return r;
		if ((r = sk_toml_append_key(b, oname)) < 0 || (r = sk_buf_append(b, " = ", 3)) < 0 ||
		    (r = sk_toml_append_string(b, value)) < 0 || (r = sk_buf_append(b, "\n", 1)) < 0) {
			char label[2 * PATH_MAX_LEN];

			(void)snprintf(label, sizeof(label), "%s (\"%s\")", opath, oname);
			return toml_fail(err, r, label, "the value");
		}
	}
	return 0;
}

/* Every entry of spec.runtimeConfig.<field>[] as a [<prefix>.NAME] table;
 * two entries with one name would be the same table twice. */
static int emit_named_tables(struct sk_buf *b, json_object *rc, const char *field, const char *prefix,
                             render_lookup_fn lookup, void *ud, struct sk_error *err)
{
	json_object *list = sk_json_get(rc, field);
	size_t n;
	int r;

	if (!list)
		return 0;
	if (!json_object_is_type(list, json_type_array))
		return sk_err(err, -EINVAL, "spec.runtimeConfig.%s must be a list", field);
	n = json_object_array_length(list);
	for (size_t i = 0; i < n; i++) {
		json_object *entry = json_object_array_get_idx(list, i);
		const char *name = sk_json_str(entry, "name");
		char path[PATH_MAX_LEN];

		(void)snprintf(path, sizeof(path), "spec.runtimeConfig.%s[%zu]", field, i);
		if (!name || !*name)
			return sk_err(err, -EINVAL, "%s: name is missing", path);
		for (size_t k = 0; k < i; k++) {
			const char *prev = sk_json_str(json_object_array_get_idx(list, k), "name");
			if (prev && strcmp(prev, name) == 0)
				return sk_err(err, -EINVAL,
				              "%s (\"%s\"): the same name as %s[%zu]; names must differ",
				              path, name, field, k);
		}
		if ((r = emit_table(b, prefix, name, entry, path, lookup, ud, err)) < 0)
			return r;
	}
	return 0;
}

int render_runtime_config(json_object *app, render_lookup_fn lookup, void *ud, char **toml,
                          struct sk_error *err)
{
	static const char provider[] = "[[config_provider]]\n"
	                               "type = \"env\"\n"
	                               "prefix = \"SPIN_VARIABLE_\"\n";
	struct sk_buf b = sk_buf_make(TOML_MAX);
	json_object *rc = sk_json_get(app, "spec.runtimeConfig"), *llm;
	char *s;
	int r;

	if (rc && !json_object_is_type(rc, json_type_object))
		return sk_err(err, -EINVAL, "spec.runtimeConfig must be an object");
	r = sk_buf_append(&b, provider, sizeof(provider) - 1);
	if (r == 0 && rc)
		r = emit_named_tables(&b, rc, "keyValueStores", "key_value_store", lookup, ud, err);
	if (r == 0 && rc)
		r = emit_named_tables(&b, rc, "sqliteDatabases", "sqlite_database", lookup, ud, err);
	if (r == 0 && rc && (llm = sk_json_get(rc, "llmCompute"))) {
		if (!json_object_is_type(llm, json_type_object))
			r = sk_err(err, -EINVAL, "spec.runtimeConfig.llmCompute must be an object");
		else
			r = emit_table(&b, "llm_compute", NULL, llm, "spec.runtimeConfig.llmCompute", lookup,
			               ud, err);
	}
	if (r < 0) {
		sk_buf_free(&b);
		return r == -ENOMEM ? sk_err(err, r, "out of memory") : r;
	}
	s = sk_buf_steal(&b, NULL);
	if (!s)
		return sk_err(err, -ENOMEM, "out of memory");
	*toml = s;
	return 0;
}
