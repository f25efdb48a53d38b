#include "controller/kube/api.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/json.h"

const struct kube_resource KUBE_NAMESPACES = { "v1", "namespaces", false };
const struct kube_resource KUBE_CONFIGMAPS = { "v1", "configmaps", true };
const struct kube_resource KUBE_SECRETS = { "v1", "secrets", true };
const struct kube_resource KUBE_SERVICES = { "v1", "services", true };
const struct kube_resource KUBE_PODS = { "v1", "pods", true };
const struct kube_resource KUBE_EVENTS = { "v1", "events", true };
const struct kube_resource KUBE_DEPLOYMENTS = { "apps/v1", "deployments", true };
const struct kube_resource KUBE_REPLICASETS = { "apps/v1", "replicasets", true };
const struct kube_resource KUBE_CRDS = { "apiextensions.k8s.io/v1", "customresourcedefinitions", false };

#define PATH_MAX_LEN 8192

/* Append s percent-escaped (everything but RFC 3986 unreserved characters). */
static int append_escaped(struct sk_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int r = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p && r == 0; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			r = sk_buf_append(b, p, 1);
		} else {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
			r = sk_buf_append(b, e, 3);
		}
	}
	return r;
}

static int append_segment(struct sk_buf *b, const char *what, const char *seg, struct sk_error *err)
{
	if (!*seg || strcmp(seg, ".") == 0 || strcmp(seg, "..") == 0 || strchr(seg, '/') || strchr(seg, '%'))
		return sk_err(err, -EINVAL, "%s \"%s\" cannot be part of an API path", what, seg);
	int r = sk_buf_append(b, "/", 1);
	return r < 0 ? r : append_escaped(b, seg);
}

static int append_param(struct sk_buf *b, bool *first, const char *key, const char *value)
{
	int r = sk_buf_append(b, *first ? "?" : "&", 1);

	*first = false;
	if (r == 0)
		r = sk_buf_append(b, key, strlen(key));
	if (r == 0)
		r = sk_buf_append(b, "=", 1);
	return r < 0 ? r : append_escaped(b, value);
}

int kube_path(const struct kube_resource *res, const char *ns, const char *name, const char *sub,
	      const struct kube_query *q, char **out, struct sk_error *err)
{
	struct sk_buf b = sk_buf_make(PATH_MAX_LEN);
	bool first = true;
	int r;

	r = sk_buf_append(&b, strchr(res->group_version, '/') ? "/apis/" : "/api/",
			  strchr(res->group_version, '/') ? 6 : 5);
	if (r == 0)
		r = sk_buf_append(&b, res->group_version, strlen(res->group_version));
	if (r == 0 && res->namespaced && ns) {
		r = sk_buf_append(&b, "/namespaces", 11);
		if (r == 0)
			r = append_segment(&b, "namespace", ns, err);
	}
	if (r == 0)
		r = append_segment(&b, "resource", res->plural, err);
	if (r == 0 && name)
		r = append_segment(&b, "name", name, err);
	if (r == 0 && sub)
		r = append_segment(&b, "subresource", sub, err);
	if (q && r == 0) {
		char limit[32] = "", timeout[32] = "";
		if (q->limit > 0)
			(void)snprintf(limit, sizeof(limit), "%ld", q->limit);
		if (q->timeout_seconds > 0)
			(void)snprintf(timeout, sizeof(timeout), "%ld", q->timeout_seconds);
		const struct {
			const char *key, *value;
		} params[] = {
			{ "labelSelector", q->label_selector },
			{ "fieldSelector", q->field_selector },
			{ "resourceVersion", q->resource_version },
			{ "resourceVersionMatch", q->resource_version_match },
			{ "continue", q->continue_token },
			{ "fieldManager", q->field_manager },
			{ "limit", limit },
			{ "timeoutSeconds", timeout },
			{ "watch", q->watch ? "true" : NULL },
			{ "allowWatchBookmarks", q->allow_bookmarks ? "true" : NULL },
			{ "sendInitialEvents", q->send_initial_events ? "true" : NULL },
			{ "force", q->force ? "true" : NULL },
		};
		for (size_t i = 0; i < sizeof(params) / sizeof(params[0]) && r == 0; i++) {
			/* An empty resourceVersion is meaningful ("any"); other empties are left out. */
			if (!params[i].value || (!*params[i].value && strcmp(params[i].key, "resourceVersion") != 0))
				continue;
			r = append_param(&b, &first, params[i].key, params[i].value);
		}
	}
	if (r < 0) {
		sk_buf_free(&b);
		if (r == -E2BIG)
			return sk_err(err, r, "API path longer than %d bytes", PATH_MAX_LEN);
		return err && err->code ? err->code : sk_err(err, r, "cannot build the API path");
	}
	*out = sk_buf_steal(&b, NULL);
	return *out ? 0 : -ENOMEM;
}

/* Run one request and hand back the decoded JSON body. */
static int call_json(struct kube_client *c, const char *method, const char *path, const char *body,
		     size_t body_len, const char *content_type, json_object **out, struct sk_error *err)
{
	struct kube_request req = { .method = method, .path = path, .body = body, .body_len = body_len,
				    .content_type = content_type };
	struct kube_response resp;
	int r;

	r = kube_client_call(c, &req, &resp, err);
	if (r == 0 && out) {
		if (!resp.json) {
			kube_response_clear(&resp);
			return sk_err(err, -EPROTO, "%s %s: the response is not JSON", method, path);
		}
		*out = resp.json;
		resp.json = NULL;
	}
	kube_response_clear(&resp);
	return r;
}

int kube_get(struct kube_client *c, const struct kube_resource *res, const char *ns, const char *name,
	     const char *sub, json_object **out, struct sk_error *err)
{
	_cleanup_free_ char *path = NULL;
	int r = kube_path(res, ns, name, sub, NULL, &path, err);

	return r < 0 ? r : call_json(c, "GET", path, NULL, 0, NULL, out, err);
}

int kube_list(struct kube_client *c, const struct kube_resource *res, const char *ns, const struct kube_query *q,
	      kube_item_fn each, void *userdata, char **rv_out, struct sk_error *err)
{
	struct kube_query page = q ? *q : (struct kube_query){ 0 };
	_cleanup_free_ char *cont = NULL;
	int r;

	if (page.limit <= 0)
		page.limit = 500;
	for (;;) {
		_cleanup_free_ char *path = NULL;
		_cleanup_json_ json_object *list = NULL;
		json_object *items;

		page.continue_token = cont;
		r = kube_path(res, ns, NULL, NULL, &page, &path, err);
		if (r < 0)
			return r;
		r = call_json(c, "GET", path, NULL, 0, NULL, &list, err);
		if (r < 0)
			return r;
		items = sk_json_arr(list, "items");
		if (!items)
			return sk_err(err, -EPROTO, "GET %s: the list has no items array", path);
		for (size_t i = 0; i < json_object_array_length(items); i++) {
			r = each(json_object_array_get_idx(items, i), userdata);
			if (r < 0)
				return r;
		}
		const char *next = sk_json_str(list, "metadata.continue");
		if (!next || !*next) {
			if (rv_out) {
				const char *rv = sk_json_str(list, "metadata.resourceVersion");
				*rv_out = strdup(rv ? rv : "");
				if (!*rv_out)
					return -ENOMEM;
			}
			return 0;
		}
		free(cont);
		cont = strdup(next);
		if (!cont)
			return -ENOMEM;
		/* Continue pages are served from the first page's snapshot. */
		page.resource_version = NULL;
		page.resource_version_match = NULL;
	}
}

int kube_create(struct kube_client *c, const struct kube_resource *res, const char *ns, json_object *obj,
		json_object **out, struct sk_error *err)
{
	_cleanup_free_ char *path = NULL;
	size_t len;
	const char *body;
	int r = kube_path(res, ns, NULL, NULL, NULL, &path, err);

	if (r < 0)
		return r;
	body = sk_json_to_string(obj, &len);
	return call_json(c, "POST", path, body, len, NULL, out, err);
}

int kube_update(struct kube_client *c, const struct kube_resource *res, const char *ns, const char *name,
		const char *sub, json_object *obj, json_object **out, struct sk_error *err)
{
	_cleanup_free_ char *path = NULL;
	size_t len;
	const char *body;
	int r = kube_path(res, ns, name, sub, NULL, &path, err);

	if (r < 0)
		return r;
	body = sk_json_to_string(obj, &len);
	return call_json(c, "PUT", path, body, len, NULL, out, err);
}

int kube_patch(struct kube_client *c, const struct kube_resource *res, const char *ns, const char *name,
	       const char *sub, enum kube_patch_type type, const char *patch, const char *field_manager, bool force,
	       json_object **out, struct sk_error *err)
{
	struct kube_query q = { .field_manager = field_manager, .force = force };
	_cleanup_free_ char *path = NULL;
	const char *ct;
	int r;

	switch (type) {
	case KUBE_PATCH_MERGE: ct = "application/merge-patch+json"; break;
	case KUBE_PATCH_JSON: ct = "application/json-patch+json"; break;
	case KUBE_PATCH_APPLY:
		ct = "application/apply-patch+yaml";
		if (!field_manager)
			return sk_err(err, -EINVAL, "server-side apply needs a field manager");
		break;
	default: return sk_err(err, -EINVAL, "unknown patch type %d", (int)type);
	}
	r = kube_path(res, ns, name, sub, &q, &path, err);
	if (r < 0)
		return r;
	return call_json(c, "PATCH", path, patch, strlen(patch), ct, out, err);
}

int kube_delete(struct kube_client *c, const struct kube_resource *res, const char *ns, const char *name,
		const struct kube_delete_opts *o, struct sk_error *err)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_json_ json_object *body = json_object_new_object();
	const char *text = NULL;
	size_t len = 0;
	int r;

	if (!body)
		return -ENOMEM;
	r = kube_path(res, ns, name, NULL, NULL, &path, err);
	if (r < 0)
		return r;
	r = sk_json_set_str(body, "apiVersion", "v1");
	if (r == 0)
		r = sk_json_set_str(body, "kind", "DeleteOptions");
	if (r == 0 && o && o->propagation_policy)
		r = sk_json_set_str(body, "propagationPolicy", o->propagation_policy);
	if (r == 0 && o && (o->precondition_uid || o->precondition_resource_version)) {
		json_object *pre = sk_json_ensure_obj(body, "preconditions");
		if (!pre)
			return -ENOMEM;
		if (o->precondition_uid)
			r = sk_json_set_str(pre, "uid", o->precondition_uid);
		if (r == 0 && o->precondition_resource_version)
			r = sk_json_set_str(pre, "resourceVersion", o->precondition_resource_version);
	}
	if (r < 0)
		return -ENOMEM;
	text = sk_json_to_string(body, &len);
	return call_json(c, "DELETE", path, text, len, NULL, NULL, err);
}
