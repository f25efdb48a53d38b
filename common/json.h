/* JSON helpers over json-c for reading paths and building objects, shared by
 * the controller, the CLI and the node runtime.
 *
 * Ownership, as json-c has it: json_object_object_get* and everything named
 * sk_json_get / sk_json_str / sk_json_obj / sk_json_arr here BORROW (the
 * result lives as long as the object it was read from; do not put it).
 * json_object_object_add and sk_json_set_* TAKE the reference to the value
 * they are given. sk_json_parse returns a new reference the caller puts. */
#ifndef SPINKUBE_COMMON_JSON_H
#define SPINKUBE_COMMON_JSON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Nesting deeper than this is refused when parsing input from outside. */
#define SK_JSON_MAX_DEPTH 64

/* Parse exactly one JSON value from buf[0..len). Trailing garbage, depth past
 * SK_JSON_MAX_DEPTH or invalid JSON is -EINVAL with the tokener's reason in err.
 * On success *out is a new reference (caller puts). */
int sk_json_parse(const char *buf, size_t len, json_object **out, struct sk_error *err);

/* Follow a dot-separated path of object keys ("metadata.name",
 * "status.conditions"). Borrowed; NULL when any step is missing or not an
 * object. Keys that contain '.' need sk_json_getv. */
json_object *sk_json_get(json_object *root, const char *path);

/* Follow keys given one by one, ending with NULL. Borrowed. */
json_object *sk_json_getv(json_object *root, ...) __attribute__((sentinel));

/* The string at path, borrowed; NULL when missing or not a string. */
const char *sk_json_str(json_object *root, const char *path);

/* The object / array at path, borrowed; NULL when missing or of another type. */
json_object *sk_json_obj(json_object *root, const char *path);
json_object *sk_json_arr(json_object *root, const char *path);

/* The integer at path into *out. Returns 0, -ENOENT when missing, -EINVAL when
 * not an integer. */
int sk_json_int64(json_object *root, const char *path, int64_t *out);

/* The boolean at path; def when missing or not a boolean. */
bool sk_json_bool(json_object *root, const char *path, bool def);

/* Set obj[key] = a new string / int / bool (copies the string). Returns 0 or
 * -ENOMEM. */
int sk_json_set_str(json_object *obj, const char *key, const char *value);
int sk_json_set_int64(json_object *obj, const char *key, int64_t value);
int sk_json_set_bool(json_object *obj, const char *key, bool value);

/* Set obj[key] = value, taking the reference to value (put on failure too). */
int sk_json_set(json_object *obj, const char *key, json_object *value);

/* The object at obj[key], created empty when missing. Borrowed; NULL on
 * -ENOMEM or when obj[key] exists but is not an object. */
json_object *sk_json_ensure_obj(json_object *obj, const char *key);

/* Serialize compactly. Borrowed: valid until obj changes or is put. */
const char *sk_json_to_string(json_object *obj, size_t *len);

/* Scope cleanup for owned json_object pointers. */
static inline void sk_json_putp(json_object **o)
{
	if (*o)
		json_object_put(*o);
}
#define _cleanup_json_ __attribute__((cleanup(sk_json_putp)))

#endif
