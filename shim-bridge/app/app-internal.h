/* Helpers shared by the app loaders (manifest.c, locked.c, files.c, app.c).
 * Not installed; not for the runtime. */
#ifndef SPINKUBE_APP_INTERNAL_H
#define SPINKUBE_APP_INTERNAL_H

#include <json-c/json.h>
#include <json-c/json_object_iterator.h>

#include "shim-bridge/app/app.h"

/* Iterate the members of a json-c object (insertion order). */
#define APP_OBJ_FOREACH(it, obj)                                                                   \
	for (struct json_object_iterator it = json_object_iter_begin(obj), it##_end_ =              \
	                                                   json_object_iter_end(obj);               \
	     !json_object_iter_equal(&it, &it##_end_); json_object_iter_next(&it))

/* A new, empty app (all NULL / 0), or NULL on -ENOMEM. */
struct app *app_new(void);

/* Append one zeroed element of size bytes to the array *arr of *n elements.
 * Returns the new element, or NULL when out of memory or when *n already is
 * APP_MAX_ITEMS (errno says which: ENOMEM or E2BIG). */
void *app_push(void *arr, size_t *n, size_t size);

/* Append a copy of s to a string vector. 0, -ENOMEM or -E2BIG. */
int app_strv_push(char ***v, size_t *n, const char *s);

/* Record a warning line on the app. 0 or -ENOMEM. */
int app_warn(struct app *app, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* dir + "/" + rel (rel already absolute: a copy of it). NULL on -ENOMEM. */
char *app_join(const char *dir, const char *rel);

/* True for a kebab-case id: lowercase letters and digits in words joined
 * by single '-', starting with a letter. */
bool app_kebab_ok(const char *id);

/* The checks that need the whole app: trigger ids unique, routes valid and
 * unique among public routes, variable templates naming app variables, WAGI
 * argv placeholders. name is the file name for messages. */
int app_validate(const struct app *app, const char *name, struct sk_error *err);

/* Check that the file holds exactly the SHA-256 digest hex (64 lowercase hex
 * digits). 0, -EILSEQ on mismatch (with both digests in err), or a negative
 * errno from reading. what names the thing in messages. */
int app_verify_sha256(const char *path, const char *hex, const char *what, struct sk_error *err);

/* "sha256:<64 hex>" -> pointer to the hex part (borrowed), else NULL. */
const char *app_digest_hex(const char *digest);

/* Expand a files glob relative to dir into mounts on c ("/" + the relative
 * path of each regular file matched), leaving out what exclude matches.
 * where names the component in messages. */
int app_files_glob(const char *name, const char *where, const char *dir, const char *pattern,
                   char *const *exclude, size_t n_exclude, struct app_component *c, struct sk_error *err);

/* True when the relative path matches the glob (segments split on '/',
 * "**" matching any number of segments, other segments as fnmatch(3)). */
bool app_glob_match(const char *pattern, const char *path);

/* Make err's message one line: control characters that came in with
 * user text (a key, a template, a route) become '?'. Returns err's code, so
 * a public function can end with `return app_err_line(err, r)`. */
static inline int app_err_line(struct sk_error *err, int r)
{
	for (char *p = err && r < 0 ? err->message : NULL; p && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return r;
}

#endif
