/* kubeconfig files (see config.h): reading each into a JSON tree (kc_file)
 * and keeping them in KUBECONFIG order (kc_set), checking their structure,
 * and lookups over the set. Nothing is merged eagerly: a lookup by name
 * walks the files in order and the first definition wins, which is
 * kubectl's rule; config-resolve.c then turns the context in use into a
 * struct kube_config. Broken entries nobody uses do not stop a load
 * (kubectl does the same), broken structure does. */
#include "controller/kube/config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/json.h"
#include "controller/kube/config-internal.h"
#include "controller/kube/yaml.h"

/* a b c concatenated; a new string the caller frees, NULL on -ENOMEM. */
char *kc_str3(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	char *s = malloc(la + lb + lc + 1);

	if (!s)
		return NULL;
	memcpy(s, a, la);
	memcpy(s + la, b, lb);
	memcpy(s + la + lb, c, lc + 1);
	return s;
}

/* name as an absolute path: unchanged when absolute, else under dir (with
 * leading "./" dropped). New string, NULL on -ENOMEM. */
char *kc_path_in(const char *dir, const char *name)
{
	if (name[0] == '/')
		return strdup(name);
	while (name[0] == '.' && name[1] == '/')
		for (name += 2; name[0] == '/'; name++)
			;
	return kc_str3(dir, strcmp(dir, "/") ? "/" : "", name);
}

/* The absolute folder of path into *out (caller frees); relative paths are
 * taken from the working directory, symbolic links are left alone, as
 * kubectl does. */
static int dir_of(const char *path, char **out)
{
	const char *slash = strrchr(path, '/');
	_cleanup_free_ char *cwd = NULL, *rel = NULL;

	if (path[0] == '/') {
		*out = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
	} else {
		cwd = getcwd(NULL, 0);
		if (!cwd)
			return -errno;
		if (!slash) {
			*out = cwd;
			cwd = NULL;
		} else {
			rel = strndup(path, (size_t)(slash - path));
			*out = rel ? kc_path_in(cwd, rel) : NULL;
		}
	}
	return *out ? 0 : -ENOMEM;
}

/* Check one of clusters/users/contexts of file f: a list of mappings, each
 * with a string name (unique in the file, as kubectl demands) and its body
 * a mapping. */
static int check_section(const struct kc_file *f, const struct kc_section *sec, struct sk_error *err)
{
	_cleanup_json_ json_object *seen = NULL;
	json_object *list = NULL;
	size_t n;

	if (!json_object_object_get_ex(f->root, sec->list, &list) || !list)
		return 0;
	if (!json_object_is_type(list, json_type_array))
		return sk_err(err, -EINVAL, "kubeconfig %s: %s must be a list", f->path, sec->list);
	seen = json_object_new_object();
	if (!seen)
		return sk_err(err, -ENOMEM, "out of memory");
	n = json_object_array_length(list);
	for (size_t i = 0; i < n; i++) {
		json_object *item = json_object_array_get_idx(list, i), *body = NULL;
		const char *name = sk_json_str(item, "name");

		if (!json_object_is_type(item, json_type_object))
			return sk_err(err, -EINVAL,
			              "kubeconfig %s: %s[%zu] must be a mapping with name and %s", f->path,
			              sec->list, i, sec->kind);
		if (!name && sk_json_get(item, "name"))
			return sk_err(err, -EINVAL, "kubeconfig %s: %s[%zu]: name must be a string", f->path,
			              sec->list, i);
		if (!name || !name[0])
			return sk_err(err, -EINVAL, "kubeconfig %s: %s[%zu]: name is missing", f->path,
			              sec->list, i);
		if (json_object_object_get_ex(item, sec->kind, &body) && body &&
		    !json_object_is_type(body, json_type_object))
			return sk_err(err, -EINVAL, "kubeconfig %s: %s \"%s\": %s must be a mapping", f->path,
			              sec->kind, name, sec->kind);
		if (json_object_object_get_ex(seen, name, NULL))
			return sk_err(err, -EINVAL, "kubeconfig %s: %s \"%s\" is defined twice", f->path,
			              sec->kind, name);
		if (json_object_object_add(seen, name, NULL) < 0)
			return sk_err(err, -ENOMEM, "out of memory");
	}
	return 0;
}

/* The top level of file f: a mapping, kind Config when given, the three
 * named lists well formed, current-context a string. */
static int check_file(const struct kc_file *f, struct sk_error *err)
{
	json_object *v = NULL;
	const char *kind = sk_json_str(f->root, "kind");
	int r;

	if (!json_object_is_type(f->root, json_type_object))
		return sk_err(err, -EINVAL, "kubeconfig %s: not a kubeconfig (the document is not a mapping)",
		              f->path);
	if (json_object_object_get_ex(f->root, "kind", &v) && v && (!kind || strcmp(kind, "Config")))
		return sk_err(err, -EINVAL, "kubeconfig %s: kind is not Config", f->path);
	if (json_object_object_get_ex(f->root, "current-context", &v) && v &&
	    !json_object_is_type(v, json_type_string))
		return sk_err(err, -EINVAL, "kubeconfig %s: current-context must be a string", f->path);
	if ((r = check_section(f, &SEC_CLUSTERS, err)) < 0 || (r = check_section(f, &SEC_USERS, err)) < 0 ||
	    (r = check_section(f, &SEC_CONTEXTS, err)) < 0)
		return r;
	return 0;
}

static void kc_file_clear(struct kc_file *f)
{
	free(f->path);
	free(f->dir);
	if (f->root)
		json_object_put(f->root);
	*f = (struct kc_file){0};
}

/* Parse text as the kubeconfig at path into f (cleared by the caller with
 * kc_file_clear, also on failure). */
static int kc_file_parse(struct kc_file *f, const char *text, size_t len, const char *path,
                         struct sk_error *err)
{
	int r;

	f->path = strdup(path);
	if (!f->path)
		return sk_err(err, -ENOMEM, "out of memory");
	r = dir_of(path, &f->dir);
	if (r < 0)
		return sk_err(err, r, "kubeconfig %s: cannot find its folder: %s", path, strerror(-r));
	r = kube_yaml_parse(text, len, &f->root, err);
	if (r < 0)
		return sk_err_prefix(err, "kubeconfig %s", path);
	return check_file(f, err);
}

static void kc_set_clear(struct kc_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		kc_file_clear(&set->files[i]);
	set->n = 0;
	free(set->origin);
	set->origin = NULL;
}
#define _cleanup_set_ _cleanup_(kc_set_clear)

/* Read and parse the kubeconfig at path as the set's next file. Returns 1
 * when added, 0 when it does not exist and skip_missing, or an error. */
static int kc_set_add(struct kc_set *set, const char *path, bool skip_missing, struct sk_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r;

	r = sk_read_file(path, KUBE_CONFIG_MAX_FILE, &text, &len);
	if (r == -ENOENT && skip_missing)
		return 0;
	if (r == -E2BIG)
		return sk_err(err, r, "kubeconfig %s: larger than %u MiB", path, KUBE_CONFIG_MAX_FILE >> 20);
	if (r < 0)
		return sk_err(err, r, "kubeconfig %s: cannot read: %s (check --kubeconfig or KUBECONFIG)",
		              path, strerror(-r));
	if (set->n == KUBE_CONFIG_MAX_FILES)
		return sk_err(err, -E2BIG, "more than %d kubeconfig files", KUBE_CONFIG_MAX_FILES);
	r = kc_file_parse(&set->files[set->n], text, len, path, err);
	if (r < 0) {
		kc_file_clear(&set->files[set->n]);
		return r;
	}
	set->n++;
	return 1;
}

/* set->origin: the loaded paths joined with ", ". */
static int kc_set_origin(struct kc_set *set, struct sk_error *err)
{
	struct sk_buf b = sk_buf_make(SIZE_MAX / 2);

	for (size_t i = 0; i < set->n; i++) {
		if ((i && sk_buf_append(&b, ", ", 2) < 0) ||
		    sk_buf_append(&b, set->files[i].path, strlen(set->files[i].path)) < 0) {
			sk_buf_free(&b);
			return sk_err(err, -ENOMEM, "out of memory");
		}
	}
	set->origin = sk_buf_steal(&b, NULL);
	return set->origin ? 0 : sk_err(err, -ENOMEM, "out of memory");
}

int kc_find(const struct kc_set *set, const struct kc_section *sec, const char *name,
                   struct kc_entry *e)
{
	for (size_t i = 0; i < set->n; i++) {
		json_object *list = sk_json_arr(set->files[i].root, sec->list);
		size_t n = list ? json_object_array_length(list) : 0;

		for (size_t j = 0; j < n; j++) {
			json_object *item = json_object_array_get_idx(list, j), *body = NULL;
			const char *item_name = sk_json_str(item, "name");

			if (!item_name || strcmp(item_name, name))
				continue;
			json_object_object_get_ex(item, sec->kind, &body);
			*e = (struct kc_entry){.kind = sec->kind,
			                       .name = item_name,
			                       .body = body,
			                       .prefix = "",
			                       .file = &set->files[i]};
			return 0;
		}
	}
	return -ENOENT;
}

/* The names defined in sec over all files, for messages: "a, b, ..." cut
 * past 200 characters, "none" when empty. New string, NULL on -ENOMEM. */
char *kc_names(const struct kc_set *set, const struct kc_section *sec)
{
	_cleanup_json_ json_object *seen = json_object_new_object();
	struct sk_buf b = sk_buf_make(256);
	bool full = false;
	int r = seen ? 0 : -ENOMEM;

	for (size_t i = 0; !r && !full && i < set->n; i++) {
		json_object *list = sk_json_arr(set->files[i].root, sec->list);
		size_t n = list ? json_object_array_length(list) : 0;

		for (size_t j = 0; !r && !full && j < n; j++) {
			const char *name = sk_json_str(json_object_array_get_idx(list, j), "name");

			if (!name || json_object_object_get_ex(seen, name, NULL))
				continue;
			if (b.len + strlen(name) + 2 > 200) {
				full = true;
				r = sk_buf_append(&b, ", ...", 5);
				break;
			}
			if ((b.len && (r = sk_buf_append(&b, ", ", 2)) < 0) ||
			    (r = sk_buf_append(&b, name, strlen(name))) < 0 ||
			    (r = json_object_object_add(seen, name, NULL)) < 0)
				break;
		}
	}
	if (!r && b.len == 0)
		r = sk_buf_append(&b, "none", 4);
	if (r < 0) {
		sk_buf_free(&b);
		return NULL;
	}
	return sk_buf_steal(&b, NULL);
}

int kube_config_from_text(const char *text, size_t len, const char *path, const char *context,
                          struct kube_config **out, struct sk_error *err)
{
	_cleanup_set_ struct kc_set set = {.n = 0};
	int r;

	if (len > KUBE_CONFIG_MAX_FILE)
		return sk_err(err, -E2BIG, "kubeconfig %s: larger than %u MiB", path,
		              KUBE_CONFIG_MAX_FILE >> 20);
	r = kc_file_parse(&set.files[0], text, len, path, err);
	set.n = 1; /* cleared on every path */
	if (r < 0 || (r = kc_set_origin(&set, err)) < 0)
		return r;
	return kc_resolve(&set, context, out, err);
}

/* Load the files of KUBECONFIG (colon-separated; empty entries and repeats
 * skipped, missing files too, but not all of them). Returns 0, or 1 when
 * the variable names no file at all. */
static int load_env_files(struct kc_set *set, const char *env, struct sk_error *err)
{
	_cleanup_json_ json_object *seen = json_object_new_object();
	size_t listed = 0;

	if (!seen)
		return sk_err(err, -ENOMEM, "out of memory");
	for (const char *p = env; *p;) {
		const char *colon = strchrnul(p, ':');
		_cleanup_free_ char *path = strndup(p, (size_t)(colon - p));
		int r;

		p = *colon ? colon + 1 : colon;
		if (!path)
			return sk_err(err, -ENOMEM, "out of memory");
		if (!path[0] || json_object_object_get_ex(seen, path, NULL))
			continue;
		if (++listed > KUBE_CONFIG_MAX_FILES)
			return sk_err(err, -E2BIG, "KUBECONFIG lists more than %d files",
			              KUBE_CONFIG_MAX_FILES);
		if (json_object_object_add(seen, path, NULL) < 0)
			return sk_err(err, -ENOMEM, "out of memory");
		if ((r = kc_set_add(set, path, true, err)) < 0)
			return r;
	}
	if (listed == 0)
		return 1;
	if (set->n == 0)
		return sk_err(err, -ENOENT,
		              "KUBECONFIG=%s: none of these files exists (fix KUBECONFIG or unset it)", env);
	return 0;
}

/* Fill set from kubectl's sources in order; returns 1 when none applies. */
static int load_files(struct kc_set *set, const struct kube_config_opts *opts, struct sk_error *err)
{
	_cleanup_free_ char *home_config = NULL;
	struct stat st;
	int r;

	if (opts->explicit_path && opts->explicit_path[0]) {
		r = kc_set_add(set, opts->explicit_path, false, err);
		return r < 0 ? r : 0;
	}
	if (opts->kubeconfig_env && (r = load_env_files(set, opts->kubeconfig_env, err)) <= 0)
		return r;
	if (!opts->home || !opts->home[0])
		return 1;
	home_config = kc_path_in(opts->home, ".kube/config");
	if (!home_config)
		return sk_err(err, -ENOMEM, "out of memory");
	if (stat(home_config, &st) < 0 && errno == ENOENT)
		return 1;
	r = kc_set_add(set, home_config, false, err);
	return r < 0 ? r : 0;
}

static int load(const struct kube_config_opts *opts, struct kube_config **out, struct sk_error *err)
{
	_cleanup_set_ struct kc_set set = {.n = 0};
	bool in_cluster =
	    opts->service_host && opts->service_host[0] && opts->service_port && opts->service_port[0];
	int r;

	r = load_files(&set, opts, err);
	if (r < 0)
		return r;
	if (r == 0) {
		if ((r = kc_set_origin(&set, err)) < 0)
			return r;
		return kc_resolve(&set, opts->context, out, err);
	}
	if (!in_cluster)
		return sk_err(err, -ENOENT,
		              "no Kubernetes configuration found: pass --kubeconfig, set KUBECONFIG, create "
		              "%s/.kube/config, or run in a cluster (KUBERNETES_SERVICE_HOST/PORT)",
		              opts->home && opts->home[0] ? opts->home : "~");
	if (opts->context && opts->context[0])
		return sk_err(err, -EINVAL,
		              "context \"%s\" was asked for, but there is no kubeconfig (only in-cluster)",
		              opts->context);
	return kube_config_in_cluster(opts->service_host, opts->service_port, opts->sa_dir, out, err);
}

int kube_config_load(const struct kube_config_opts *opts, struct kube_config **out, struct sk_error *err)
{
	return load(opts, out, err);
}

void kube_config_opts_from_env(struct kube_config_opts *opts)
{
	opts->kubeconfig_env = getenv("KUBECONFIG");
	opts->home = getenv("HOME");
	opts->service_host = getenv("KUBERNETES_SERVICE_HOST");
	opts->service_port = getenv("KUBERNETES_SERVICE_PORT");
}
