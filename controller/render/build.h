/* The builder of controller/render/: a sticky out-of-memory flag (struct
 * build) that every put and push sets instead of returning an error, so the
 * code that builds an object reads straight down as the object it makes and
 * checks b.oom once at the end; and the metadata every child of a SpinApp
 * carries (its name, namespace and labels, the owner reference to the app),
 * defined in build.c. Private to controller/render. */
#ifndef SPINKUBE_RENDER_BUILD_H
#define SPINKUBE_RENDER_BUILD_H

#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "common/json.h"
#include "controller/render/render-private.h"

#define SPIN_API_VERSION      "core.spinkube.dev/v1alpha1"
#define READY_LABEL_PREFIX    "core.spinkube.dev/app."
#define READY_LABEL_SUFFIX    ".status"
#define READY_LABEL_VALUE     "ready"
#define HTTP_PORT_NAME        "http-app"
#define DEFAULT_HTTP_PORT     80
#define SERVICE_PORT          80
#define RUNTIME_CONFIG_VOLUME "spin-runtime-config"
#define RUNTIME_CONFIG_PATH   "/runtime-config.toml"
#define CA_VOLUME             "spin-ca"
#define CA_PATH               "/etc/ssl/certs/ca-certificates.crt"
#define MANAGED_BY_LABEL      "app.kubernetes.io/managed-by"
#define MANAGED_BY_VALUE      "spinkube-c"
/* The name part of a label key holds 63 characters; "app." NAME ".status"
 * leaves 52 for the app's name. */
#define APP_NAME_MAX 52
/* A runtime-config Secret is named NAME-<this many hex digits>. */
#define RUNTIME_CONFIG_HASH_LEN 10

struct build {
	bool oom;
};

/* o[key] = v, taking v; a NULL o or v (an earlier failure) marks oom. */
static inline void put(struct build *b, json_object *o, const char *key, json_object *v)
{
	if (!o || !v) {
		json_object_put(v);
		b->oom = true;
		return;
	}
	if (sk_json_set(o, key, v) < 0)
		b->oom = true;
}

static inline void put_str(struct build *b, json_object *o, const char *key, const char *v)
{
	put(b, o, key, json_object_new_string(v));
}

static inline void put_int(struct build *b, json_object *o, const char *key, int64_t v)
{
	put(b, o, key, json_object_new_int64(v));
}

static inline void put_bool(struct build *b, json_object *o, const char *key, bool v)
{
	put(b, o, key, json_object_new_boolean(v));
}

/* A new object / array at o[key], borrowed; NULL after a failure. */
static inline json_object *put_obj(struct build *b, json_object *o, const char *key)
{
	json_object *v = json_object_new_object();

	put(b, o, key, v);
	return b->oom ? NULL : v;
}

static inline json_object *put_arr(struct build *b, json_object *o, const char *key)
{
	json_object *v = json_object_new_array();

	put(b, o, key, v);
	return b->oom ? NULL : v;
}

/* Append v to arr, taking v. */
static inline void push(struct build *b, json_object *arr, json_object *v)
{
	if (!arr || !v) {
		json_object_put(v);
		b->oom = true;
		return;
	}
	if (render_arr_add(arr, v) < 0)
		b->oom = true;
}

static inline void push_str(struct build *b, json_object *arr, const char *v)
{
	push(b, arr, json_object_new_string(v));
}

/* A new object appended to arr, borrowed. */
static inline json_object *push_obj(struct build *b, json_object *arr)
{
	json_object *v = json_object_new_object();

	push(b, arr, v);
	return b->oom ? NULL : v;
}

/* A deep copy of src (a new reference), NULL with oom on failure. */
static inline json_object *copy(struct build *b, json_object *src)
{
	json_object *dst = NULL;

	if (json_object_deep_copy(src, &dst, NULL) < 0) {
		b->oom = true;
		return NULL;
	}
	return dst;
}

static inline int oom(struct sk_error *err)
{
	return sk_err(err, -ENOMEM, "out of memory");
}

/* ---- the app's identity: build.c ---- */

struct app_meta {
	const char *name;
	const char *ns;
	const char *uid;
};

/* Name, namespace and uid of the SpinApp, which every child needs (the uid
 * for the owner reference), checked once. */
int render_app_meta(json_object *app, struct app_meta *m, struct sk_error *err);
/* A copy of the map of strings at spec.<field>, keys in byte order; *out is
 * NULL when the map is absent or empty (an empty map renders as no field). */
int render_string_map(json_object *spec, const char *field, json_object **out, struct sk_error *err);
/* {app-name: A} (a new object) */
json_object *render_app_labels(struct build *b, const char *name);
/* metadata {name, namespace, labels, annotations (when any), ownerReferences
 * (when owned)}; takes labels and annotations. A new object. */
json_object *render_metadata(struct build *b, const char *name, const char *ns, json_object *labels,
			     json_object *annotations, const struct app_meta *owner);

#endif
