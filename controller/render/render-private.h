/* Helpers shared by the files of controller/render/, not part of its API. */
#ifndef SPINKUBE_RENDER_PRIVATE_H
#define SPINKUBE_RENDER_PRIVATE_H

#include <json-c/json.h>
#include <stddef.h>

#include "common/err.h"

/* A new json string holding s; NULL on -ENOMEM. Shorthand for building. */
static inline json_object *render_jstr(const char *s)
{
	return json_object_new_string(s);
}

/* Append value to arr, taking the reference (put on failure). Returns 0 or
 * -ENOMEM; a NULL value (a failed constructor) is -ENOMEM. */
int render_arr_add(json_object *arr, json_object *value);

#endif
