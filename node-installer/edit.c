/* containerd configuration edits for the node installer (see edit.h). */
#include <errno.h>
#include <fnmatch.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/toml.h"
#include "common/utf8.h"
#include "node-installer/edit.h"
#include "node-installer/scan.h"

static void json_putp(json_object **o)
{
	if (*o)
		json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_putp)

static void buf_freep(struct sk_buf *b)
{
	sk_buf_free(b);
}
#define _cleanup_buf_ _cleanup_(buf_freep)

/* The CRI plugin that holds the runtimes, by config version. */
static const char *cri_plugin(int version)
{
	return version == 3 ? "io.containerd.cri.v1.runtime" : "io.containerd.grpc.v1.cri";
}

/* A shim path we are willing to write into containerd's configuration:
 * absolute, bounded, valid UTF-8, no control characters. */
static int check_shim_path(const char *p, struct sk_error *err)
{
	size_t n = p ? strlen(p) : 0;

	if (n == 0 || p[0] != '/')
		return sk_err(err, -EINVAL, "shim path \"%s\": give an absolute path", p ? p : "");
	if (n > NI_PATH_MAX)
		return sk_err(err, -ENAMETOOLONG, "shim path is %zu bytes: give one of at most %d", n,
		              NI_PATH_MAX);
	if (!sk_utf8_valid(p, n))
		return sk_err(err, -EILSEQ, "shim path \"%s\" is not valid UTF-8: give a plain path", p);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return sk_err(err, -EINVAL,
			              "shim path \"%s\" holds a control character: give a plain path", p);
	return 0;
}

/* Parse text as TOML with the installer's cap. *tree is the caller's. */
static int parse(const char *text, size_t len, const char *name, json_object **tree, struct sk_error *err)
{
	if (len > NI_CONFIG_MAX)
		return sk_err(err, -E2BIG,
		              "%s is %zu bytes, more than the %d this installer reads: is it really "
		              "containerd's configuration?",
		              name, len, NI_CONFIG_MAX);
	int r = sk_toml_parse(text, len, name, tree, err);
	if (r < 0 && err)
		sk_err_prefix(err,
		              "not valid TOML, so containerd would not start either; fix the file first");
	return r;
}

/* Walk tree through the NULL-terminated keys; NULL when a step is missing. */
static json_object *dig(json_object *o, const char *const *keys)
{
	for (; *keys && o; keys++) {
		json_object *next = NULL;
		if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, *keys, &next))
			return NULL;
		o = next;
	}
	return o;
}

/* The runtime `runtime` the tree defines under either version's plugin
 * name, or NULL. Borrowed. */
static json_object *find_runtime(json_object *tree, const char *runtime)
{
	for (int v = 2; v <= 3; v++) {
		const char *keys[] = {"plugins", cri_plugin(v), "containerd", "runtimes", runtime, NULL};
		json_object *o = dig(tree, keys);
		if (o)
			return o;
	}
	return NULL;
}

/* -EEXIST with the fix when tree already has a runtime "spin" or
 * "spin-shared". */
static int refuse_foreign_spin(json_object *tree, const char *name, struct sk_error *err)
{
	static const char *const names[] = {NI_RUNTIME_NAME, NI_SHARED_RUNTIME_NAME};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		json_object *rt = find_runtime(tree, names[i]), *path = NULL;
		if (!rt)
			continue;
		json_object_object_get_ex(rt, "runtime_path", &path);
		return sk_err(err, -EEXIST,
		              "%s already defines a containerd runtime \"%s\" (runtime_path \"%s\") that this "
		              "installer did not write: remove that table, or uninstall whatever installed it, "
		              "and run the installer again",
		              name, names[i],
		              path && json_object_is_type(path, json_type_string) ? json_object_get_string(path)
		                                                                  : "");
	}
	return 0;
}

/* The shared-mode link next to the shim at shim_path, into buf. */
static int shared_link_path(const char *shim_path, char *buf, size_t size)
{
	const char *slash = strrchr(shim_path, '/');
	int n = snprintf(buf, size, "%.*s/%s", (int)(slash - shim_path), shim_path, NI_SHARED_LINK_NAME);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int version_of(json_object *tree, const char *name, int *version, struct sk_error *err)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(tree, "version", &v))
		return sk_err(err, -EINVAL,
		              "%s has no `version`, so it is a version 1 configuration: migrate it "
		              "(containerd config migrate) to version 2 or 3",
		              name);
	if (!json_object_is_type(v, json_type_int))
		return sk_err(err, -EINVAL, "%s: `version` is not an integer: give version = 2 or 3", name);
	int64_t n = json_object_get_int64(v);
	if (n != 2 && n != 3)
		return sk_err(err, -EINVAL,
		              "%s: config version %lld is not one this installer edits: migrate it "
		              "(containerd config migrate) to version 2 or 3",
		              name, (long long)n);
	*version = (int)n;
	return 0;
}

int ni_config_version(const char *text, size_t len, const char *name, int *version, struct sk_error *err)
{
	_cleanup_json_ json_object *tree = NULL;
	int r;

	if ((r = parse(text, len, name, &tree, err)) < 0)
		return r;
	return version_of(tree, name, version, err);
}

/* One runtime's table: its header and runtime_type, runtime_path as a
 * TOML string. */
static int runtime_table(struct sk_buf *b, int version, const char *runtime, const char *path)
{
	char head[256];

	(void)snprintf(head, sizeof(head),
	               "[plugins.\"%s\".containerd.runtimes.%s]\n  runtime_type = \"%s\"\n  runtime_path = ",
	               cri_plugin(version), runtime, NI_RUNTIME_TYPE);
	int r = sk_buf_append(b, head, strlen(head));
	if (r >= 0)
		r = sk_toml_append_string(b, path);
	if (r >= 0)
		r = sk_buf_append(b, "\n", 1);
	return r;
}

int ni_section(int version, const char *shim_path, char **out, struct sk_error *err)
{
	_cleanup_buf_ struct sk_buf b = sk_buf_make(NI_PATH_MAX * 8 + 1024);
	char link[NI_PATH_MAX + 64];
	int r;

	if (version != 2 && version != 3)
		return sk_err(err, -EINVAL, "config version %d: give 2 or 3", version);
	if ((r = check_shim_path(shim_path, err)) < 0)
		return r;
	if (shared_link_path(shim_path, link, sizeof(link)) < 0)
		return sk_err(err, -ENAMETOOLONG, "shim path \"%s\": too long", shim_path);
	r = sk_buf_append(&b, NI_MARK_BEGIN "\n", strlen(NI_MARK_BEGIN) + 1);
	if (r >= 0)
		r = runtime_table(&b, version, NI_RUNTIME_NAME, shim_path);
	if (r >= 0)
		r = sk_buf_append(&b, "\n", 1);
	if (r >= 0)
		r = runtime_table(&b, version, NI_SHARED_RUNTIME_NAME, link);
	if (r >= 0)
		r = sk_buf_append(&b, NI_MARK_END "\n", strlen(NI_MARK_END) + 1);
	if (r < 0)
		return sk_err(err, r, "building the spin runtime section: %s", strerror(-r));
	return sk_buf_finish(&b, 0, out);
}

int ni_dropin(int version, const char *shim_path, char **out, struct sk_error *err)
{
	_cleanup_free_ char *sec = NULL;
	char *text = NULL;
	int r;

	if ((r = ni_section(version, shim_path, &sec, err)) < 0)
		return r;
	if (asprintf(&text,
	             "# Written by the spinkube-c node installer; uninstall removes it.\nversion = %d\n\n%s",
	             version, sec) < 0)
		return sk_err(err, -ENOMEM, "out of memory");
	*out = text;
	return 0;
}

int ni_k3s_template(int version, const char *shim_path, char **out, struct sk_error *err)
{
	_cleanup_free_ char *sec = NULL;
	char *text = NULL;
	int r;

	if ((r = ni_section(version, shim_path, &sec, err)) < 0)
		return r;
	if (asprintf(&text, "{{ template \"base\" . }}\n\n%s", sec) < 0)
		return sk_err(err, -ENOMEM, "out of memory");
	*out = text;
	return 0;
}

/* Where our block is: [*start, *end) from the begin marker's line to the
 * end of the end marker's line. 0 when found, 1 when absent, -EINVAL for a
 * begin marker without an end. */
static int find_block(const char *text, size_t len, size_t *start, size_t *end)
{
	const size_t bl = strlen(NI_MARK_BEGIN), el = strlen(NI_MARK_END);
	size_t i = 0;

	for (;;) {
		const char *p = memmem(text + i, len - i, NI_MARK_BEGIN, bl);
		if (!p)
			return 1;
		size_t s = (size_t)(p - text);
		bool at_line = s == 0 || text[s - 1] == '\n';
		bool whole = s + bl == len || text[s + bl] == '\n' || text[s + bl] == '\r';
		if (at_line && whole) {
			const char *e = memmem(text + s + bl, len - s - bl, "\n" NI_MARK_END, el + 1);
			if (!e)
				return -EINVAL;
			size_t k = (size_t)(e - text) + 1 + el;
			while (k < len && text[k] != '\n')
				k++;
			*start = s;
			*end = k < len ? k + 1 : len;
			return 0;
		}
		i = s + 1;
	}
}

/* Cut one block [s, e) out of text (and the blank line we put before it)
 * into a new string of *n bytes. */
static char *cut(const char *text, size_t len, size_t s, size_t e, size_t *n)
{
	if (s >= 2 && text[s - 1] == '\n' && text[s - 2] == '\n')
		s--;
	char *res = malloc(len - (e - s) + 1);
	if (!res)
		return NULL;
	memcpy(res, text, s);
	memcpy(res + s, text + e, len - e);
	*n = len - (e - s);
	res[*n] = '\0';
	return res;
}

int ni_remove_section(const char *text, size_t len, const char *name, char **out, struct sk_error *err)
{
	char *cur = NULL;
	size_t n = len, s = 0, e = 0;
	int r;

	/* Every block: a file edited by hand may hold two. */
	while ((r = find_block(cur ? cur : text, n, &s, &e)) == 0) {
		char *next = cut(cur ? cur : text, n, s, e, &n);
		free(cur);
		if (!next)
			return sk_err(err, -ENOMEM, "out of memory");
		cur = next;
	}
	if (r < 0) {
		free(cur);
		return sk_err(err, r,
		              "%s has the line \"%s\" but not \"%s\" after it: restore the file from its "
		              "backup or delete the partial block by hand",
		              name, NI_MARK_BEGIN, NI_MARK_END);
	}
	*out = cur;
	return 0;
}

int ni_append_section(const char *text, size_t len, const char *name, enum ni_format fmt, int version,
                      const char *shim_path, char **out, struct sk_error *err)
{
	_cleanup_json_ json_object *tree = NULL;
	_cleanup_json_ json_object *rest_tree = NULL;
	_cleanup_json_ json_object *new_tree = NULL;
	_cleanup_free_ char *rest = NULL;
	_cleanup_free_ char *sec = NULL;
	_cleanup_buf_ struct sk_buf b = sk_buf_make(NI_CONFIG_MAX + NI_PATH_MAX * 8 + 1024);
	int r;

	if (len > NI_CONFIG_MAX)
		return sk_err(err, -E2BIG,
		              "%s is %zu bytes, more than the %d this installer reads: is it really "
		              "containerd's configuration?",
		              name, len, NI_CONFIG_MAX);
	if (fmt == NI_FORMAT_TOML) {
		if ((r = parse(text, len, name, &tree, err)) < 0)
			return r;
		if (version == 0 && (r = version_of(tree, name, &version, err)) < 0)
			return r;
	} else if (memchr(text, '\0', len)) {
		return sk_err(err, -EINVAL, "%s holds a NUL byte, so it is not a template: restore the file",
		              name);
	}
	if ((r = ni_remove_section(text, len, name, &rest, err)) < 0)
		return r;
	const char *base = rest ? rest : text;
	size_t blen = rest ? strlen(rest) : len;
	if (fmt == NI_FORMAT_TOML) {
		if ((r = parse(base, blen, name, &rest_tree, err)) < 0)
			return r;
		if ((r = refuse_foreign_spin(rest_tree, name, err)) < 0)
			return r;
	} else {
		static const char *const spellings[] = {
		    "runtimes.spin]",          "runtimes.\"spin\"]",          "runtimes.'spin']",
		    "runtimes.spin.",          "runtimes.\"spin\".",          "runtimes.spin-shared]",
		    "runtimes.\"spin-shared\"]", "runtimes.'spin-shared']",   "runtimes.spin-shared.",
		    "runtimes.\"spin-shared\".", NULL};
		for (const char *const *s = spellings; *s; s++)
			if (memmem(base, blen, *s, strlen(*s)))
				return sk_err(err, -EEXIST,
				              "%s already defines a containerd runtime \"spin\" or \"spin-shared\" that this "
				              "installer did not write: remove that table, or uninstall "
				              "whatever installed it, and run the installer again",
				              name);
	}
	if ((r = ni_section(version, shim_path, &sec, err)) < 0)
		return r;
	r = sk_buf_append(&b, base, blen);
	if (r >= 0 && blen > 0 && base[blen - 1] != '\n')
		r = sk_buf_append(&b, "\n", 1);
	if (r >= 0 && blen > 0)
		r = sk_buf_append(&b, "\n", 1);
	if (r >= 0)
		r = sk_buf_append(&b, sec, strlen(sec));
	if (r < 0)
		return sk_err(err, r, "%s: building the new text: %s", name, strerror(-r));
	if (b.len == len && memcmp(b.data, text, len) == 0) {
		*out = NULL;
		return 0;
	}
	if (fmt == NI_FORMAT_TOML) {
		struct sk_error perr = {0};
		if (sk_toml_parse(b.data, b.len, name, &new_tree, &perr) < 0)
			return sk_err(err, -EINVAL,
			              "%s: the spin runtime cannot be added as a table there (%s): define "
			              "[plugins.\"%s\".containerd.runtimes] as a table, not inline",
			              name, perr.message, cri_plugin(version));
		json_object *rt = find_runtime(new_tree, NI_RUNTIME_NAME), *p = NULL;
		if (!rt || !json_object_object_get_ex(rt, "runtime_path", &p) ||
		    strcmp(json_object_get_string(p), shim_path) != 0)
			return sk_err(err, -EINVAL,
			              "%s: the spin runtime did not land where containerd reads it; edit the "
			              "file by hand",
			              name);
	}
	return sk_buf_finish(&b, 0, out);
}

/* Does one of the imports entries name path (exactly or as a glob)? */
static int imported(json_object *imports, const char *name, const char *path, bool *yes, struct sk_error *err)
{
	*yes = false;
	if (!imports)
		return 0;
	if (!json_object_is_type(imports, json_type_array))
		return sk_err(err, -EINVAL, "%s: `imports` is not an array: give imports = [\"...\"]", name);
	size_t n = json_object_array_length(imports);
	for (size_t k = 0; k < n; k++) {
		json_object *e = json_object_array_get_idx(imports, k);
		if (!json_object_is_type(e, json_type_string))
			return sk_err(err, -EINVAL, "%s: imports[%zu] is not a string: give file paths", name,
			              k);
		const char *s = json_object_get_string(e);
		if (strcmp(s, path) == 0 || fnmatch(s, path, FNM_PATHNAME) == 0)
			*yes = true;
	}
	return 0;
}

int ni_containerd_main(const char *text, size_t len, const char *name, const char *dropin_path, int *version,
                       char **out, struct sk_error *err)
{
	_cleanup_json_ json_object *tree = NULL;
	_cleanup_json_ json_object *new_tree = NULL;
	_cleanup_buf_ struct sk_buf b = sk_buf_make(NI_CONFIG_MAX + NI_PATH_MAX * 8 + 1024);
	struct ni_toplevel tl;
	json_object *imports = NULL;
	bool yes = false;
	int v = 0, r;

	if ((r = check_shim_path(dropin_path, err)) < 0)
		return sk_err_prefix(err, "drop-in");
	if ((r = parse(text, len, name, &tree, err)) < 0)
		return r;
	if ((r = version_of(tree, name, &v, err)) < 0)
		return r;
	if ((r = refuse_foreign_spin(tree, name, err)) < 0)
		return r;
	json_object_object_get_ex(tree, "imports", &imports);
	if ((r = imported(imports, name, dropin_path, &yes, err)) < 0)
		return r;
	if (yes) {
		*version = v;
		*out = NULL;
		return 0;
	}
	ni_scan_toplevel(text, len, &tl);
	if (imports && !tl.has_imports)
		return sk_err(
		    err, -EINVAL,
		    "%s: `imports` is not written as a plain top-level key: add \"%s\" to it by hand", name,
		    dropin_path);
	if (tl.has_imports) {
		/* Rewrite the array: its entries as they were, then ours. */
		r = sk_buf_append(&b, text, tl.imports_start);
		if (r >= 0)
			r = sk_buf_append(&b, "[", 1);
		size_t n = json_object_array_length(imports);
		for (size_t k = 0; r >= 0 && k < n; k++) {
			r = sk_toml_append_string(
			    &b, json_object_get_string(json_object_array_get_idx(imports, k)));
			if (r >= 0)
				r = sk_buf_append(&b, ", ", 2);
		}
		if (r >= 0)
			r = sk_toml_append_string(&b, dropin_path);
		if (r >= 0)
			r = sk_buf_append(&b, "]", 1);
		if (r >= 0)
			r = sk_buf_append(&b, text + tl.imports_end, len - tl.imports_end);
	} else {
		/* A new key among the top-level ones: after `version`, else
		 * before the first table. */
		size_t at = tl.has_version ? tl.version_next : tl.first_header;
		r = sk_buf_append(&b, text, at);
		if (r >= 0 && at > 0 && text[at - 1] != '\n')
			r = sk_buf_append(&b, "\n", 1);
		if (r >= 0)
			r = sk_buf_append(&b, "imports = [", 11);
		if (r >= 0)
			r = sk_toml_append_string(&b, dropin_path);
		if (r >= 0)
			r = sk_buf_append(&b, "]\n", 2);
		if (r >= 0)
			r = sk_buf_append(&b, text + at, len - at);
	}
	if (r < 0)
		return sk_err(err, r, "%s: building the new text: %s", name, strerror(-r));
	struct sk_error perr = {0};
	json_object *ni = NULL;
	if (sk_toml_parse(b.data, b.len, name, &new_tree, &perr) < 0 ||
	    !json_object_object_get_ex(new_tree, "imports", &ni) ||
	    imported(ni, name, dropin_path, &yes, NULL) < 0 || !yes)
		return sk_err(err, -EINVAL, "%s: cannot add \"%s\" to `imports` safely (%s): add it by hand",
		              name, dropin_path,
		              perr.message[0] ? perr.message : "the result does not import it");
	*version = v;
	return sk_buf_finish(&b, 0, out);
}

int ni_containerd_unimport(const char *text, size_t len, const char *name, const char *dropin_path,
                           char **out, struct sk_error *err)
{
	_cleanup_json_ json_object *tree = NULL;
	_cleanup_json_ json_object *new_tree = NULL;
	_cleanup_buf_ struct sk_buf b = sk_buf_make(NI_CONFIG_MAX + 16);
	struct ni_toplevel tl;
	json_object *imports = NULL;
	bool named = false;
	int r;

	if ((r = parse(text, len, name, &tree, err)) < 0)
		return r;
	if (json_object_object_get_ex(tree, "imports", &imports) &&
	    json_object_is_type(imports, json_type_array))
		for (size_t k = 0; k < json_object_array_length(imports); k++) {
			json_object *e = json_object_array_get_idx(imports, k);
			if (json_object_is_type(e, json_type_string) &&
			    strcmp(json_object_get_string(e), dropin_path) == 0)
				named = true;
		}
	if (!named) {
		*out = NULL;
		return 0;
	}
	ni_scan_toplevel(text, len, &tl);
	if (!tl.has_imports)
		return sk_err(
		    err, -EINVAL,
		    "%s: `imports` is not written as a plain top-level key: take \"%s\" out of it by hand",
		    name, dropin_path);
	/* The array again, without our entry. */
	bool first = true;
	r = sk_buf_append(&b, text, tl.imports_start);
	if (r >= 0)
		r = sk_buf_append(&b, "[", 1);
	for (size_t k = 0; r >= 0 && k < json_object_array_length(imports); k++) {
		const char *s = json_object_get_string(json_object_array_get_idx(imports, k));
		if (strcmp(s, dropin_path) == 0)
			continue;
		if (!first)
			r = sk_buf_append(&b, ", ", 2);
		if (r >= 0)
			r = sk_toml_append_string(&b, s);
		first = false;
	}
	if (r >= 0)
		r = sk_buf_append(&b, "]", 1);
	if (r >= 0)
		r = sk_buf_append(&b, text + tl.imports_end, len - tl.imports_end);
	if (r < 0)
		return sk_err(err, r, "%s: building the new text: %s", name, strerror(-r));
	if (sk_toml_parse(b.data, b.len, name, &new_tree, NULL) < 0)
		return sk_err(err, -EINVAL, "%s: cannot take \"%s\" out of `imports` safely: do it by hand",
		              name, dropin_path);
	return sk_buf_finish(&b, 0, out);
}
