/* The metadata every child of a SpinApp carries (see build.h): the app's
 * checked identity, its labels, the owner reference to it, and user maps
 * copied with their keys in byte order. */
#include <errno.h>
#include <json-c/json_object_iterator.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "controller/render/build.h"
#include "controller/render/render.h"

int render_app_meta(json_object *app, struct app_meta *m, struct sk_error *err)
{
	size_t len;

	if (!json_object_is_type(app, json_type_object))
		return sk_err(err, -EINVAL, "the SpinApp is missing or not a JSON object");
	m->name = sk_json_str(app, "metadata.name");
	if (!m->name || !*m->name)
		return sk_err(err, -EINVAL, "the SpinApp has no metadata.name");
	len = strlen(m->name);
	if (len > APP_NAME_MAX)
		return sk_err(err, -EINVAL,
		              "SpinApp \"%s\": the name has %zu characters; at most %d fit in the label "
		              "core.spinkube.dev/app.NAME.status, so choose a shorter name",
		              m->name, len, APP_NAME_MAX);
	m->ns = sk_json_str(app, "metadata.namespace");
	if (!m->ns || !*m->ns)
		return sk_err(err, -EINVAL, "SpinApp \"%s\" has no metadata.namespace", m->name);
	m->uid = sk_json_str(app, "metadata.uid");
	if (!m->uid || !*m->uid)
		return sk_err(
		    err, -EINVAL,
		    "SpinApp \"%s\" has no metadata.uid; render from the object the apiserver returned",
		    m->name);
	return 0;
}

char *render_ready_label_key(const char *app_name)
{
	size_t n = strlen(READY_LABEL_PREFIX) + strlen(app_name) + strlen(READY_LABEL_SUFFIX) + 1;
	char *s = malloc(n);

	if (s)
		(void)snprintf(s, n, READY_LABEL_PREFIX "%s" READY_LABEL_SUFFIX, app_name);
	return s;
}

/* [{the controller owner reference to the app}] */
static json_object *owner_refs(struct build *b, const struct app_meta *m)
{
	json_object *arr = json_object_new_array();
	json_object *ref = json_object_new_object();

	put_str(b, ref, "apiVersion", SPIN_API_VERSION);
	put_str(b, ref, "kind", "SpinApp");
	put_str(b, ref, "name", m->name);
	put_str(b, ref, "uid", m->uid);
	put_bool(b, ref, "controller", true);
	put_bool(b, ref, "blockOwnerDeletion", true);
	push(b, arr, ref);
	if (b->oom) {
		json_object_put(arr);
		return NULL;
	}
	return arr;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int render_string_map(json_object *spec, const char *field, json_object **out, struct sk_error *err)
{
	json_object *m = sk_json_get(spec, field);
	_cleanup_free_ const char **keys = NULL;
	_cleanup_json_ json_object *copy_ = NULL;
	struct build b = {false};
	size_t n, i = 0;

	*out = NULL;
	if (!m || json_object_is_type(m, json_type_null))
		return 0;
	if (!json_object_is_type(m, json_type_object))
		return sk_err(err, -EINVAL, "spec.%s must be a map of strings", field);
	n = (size_t)json_object_object_length(m);
	if (n == 0)
		return 0;
	keys = calloc(n, sizeof(*keys));
	if (!keys)
		return oom(err);
	for (struct json_object_iterator it = json_object_iter_begin(m), end = json_object_iter_end(m);
	     !json_object_iter_equal(&it, &end) && i < n; json_object_iter_next(&it)) {
		const char *k = json_object_iter_peek_name(&it);

		if (!json_object_is_type(json_object_iter_peek_value(&it), json_type_string))
			return sk_err(err, -EINVAL, "spec.%s[\"%s\"] must be a string", field, k);
		keys[i++] = k;
	}
	qsort(keys, i, sizeof(*keys), cmp_str);
	copy_ = json_object_new_object();
	for (size_t j = 0; j < i; j++)
		put_str(&b, copy_, keys[j], json_object_get_string(json_object_object_get(m, keys[j])));
	if (b.oom)
		return oom(err);
	*out = TAKE_PTR(copy_);
	return 0;
}

/* {app-name: A} */
json_object *render_app_labels(struct build *b, const char *name)
{
	json_object *l = json_object_new_object();

	put_str(b, l, SPIN_LABEL_APP_NAME, name);
	return l;
}

/* metadata {name, namespace, labels, annotations (when any), ownerReferences
 * (when owned)}; takes labels and annotations. */
json_object *render_metadata(struct build *b, const char *name, const char *ns, json_object *labels,
                             json_object *annotations, const struct app_meta *owner)
{
	json_object *md = json_object_new_object();

	put_str(b, md, "name", name);
	put_str(b, md, "namespace", ns);
	put(b, md, "labels", labels);
	if (annotations)
		put(b, md, "annotations", annotations);
	if (owner)
		put(b, md, "ownerReferences", owner_refs(b, owner));
	return md;
}
