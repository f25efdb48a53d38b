/* Typed Kubernetes API calls over the REST client: paths, GET, paged LIST,
 * CREATE, UPDATE, PATCH (merge, JSON patch, server-side apply), DELETE, and the
 * status and scale subresources. All are synchronous (kube_client_call); the
 * event loop keeps other transfers moving while they wait.
 *
 * Ownership: objects passed in are borrowed; objects returned through
 * json_object **out are new references the caller puts. Errors are as in
 * client.h (-ESTALE for an update conflict, -EEXIST, -ENOENT, ...). */
#ifndef SPINKUBE_KUBE_API_H
#define SPINKUBE_KUBE_API_H

#include <json-c/json.h>
#include <stdbool.h>

#include "controller/kube/client.h"

/* A resource type: "v1" + "configmaps", "apps/v1" + "deployments". */
struct kube_resource {
	const char *group_version;
	const char *plural;
	bool namespaced;
};

extern const struct kube_resource KUBE_NAMESPACES, KUBE_CONFIGMAPS, KUBE_SECRETS, KUBE_SERVICES, KUBE_PODS,
	KUBE_EVENTS, KUBE_DEPLOYMENTS, KUBE_REPLICASETS, KUBE_CRDS;

/* Query parameters; NULL / 0 / false members are left out. */
struct kube_query {
	const char *label_selector;
	const char *field_selector;
	const char *resource_version;
	const char *resource_version_match;
	const char *continue_token;
	const char *field_manager;
	long limit;
	long timeout_seconds;
	bool watch;
	bool allow_bookmarks;
	bool force;
	bool send_initial_events;
};

/* Build "/api/v1/namespaces/NS/PLURAL/NAME/SUB?query". ns is ignored for
 * cluster-scoped resources and may be NULL for all namespaces; name and sub
 * may be NULL. Each segment is percent-escaped; a segment that Kubernetes
 * never accepts (empty, ".", "..", containing '/') is -EINVAL. *out is the
 * caller's. */
int kube_path(const struct kube_resource *res, const char *ns, const char *name, const char *sub,
	      const struct kube_query *q, char **out, struct sk_error *err);

int kube_get(struct kube_client *c, const struct kube_resource *res, const char *ns, const char *name,
	     const char *sub, json_object **out, struct sk_error *err);

/* Called for each item of a LIST, page by page. The item is borrowed; take a
 * reference (json_object_get) to keep it. Return negative to stop. */
typedef int (*kube_item_fn)(json_object *item, void *userdata);

/* LIST with paging: q->limit items per page (default 500), following continue
 * tokens. When rv_out is not NULL it receives the list's resourceVersion (for
 * a watch to start from; caller frees). */
int kube_list(struct kube_client *c, const struct kube_resource *res, const char *ns, const struct kube_query *q,
	      kube_item_fn each, void *userdata, char **rv_out, struct sk_error *err);

int kube_create(struct kube_client *c, const struct kube_resource *res, const char *ns, json_object *obj,
		json_object **out, struct sk_error *err);

/* PUT. obj's metadata.resourceVersion makes it conditional: -ESTALE when the
 * object changed since. sub is NULL, "status" or "scale". */
int kube_update(struct kube_client *c, const struct kube_resource *res, const char *ns, const char *name,
		const char *sub, json_object *obj, json_object **out, struct sk_error *err);

enum kube_patch_type {
	KUBE_PATCH_MERGE, /* application/merge-patch+json */
	KUBE_PATCH_JSON,  /* application/json-patch+json */
	KUBE_PATCH_APPLY, /* application/apply-patch+yaml: server-side apply */
};

/* PATCH with a JSON text. Server-side apply needs field_manager; force takes
 * over fields other managers own (else a conflict is -ESTALE with the
 * managers named in the message). */
int kube_patch(struct kube_client *c, const struct kube_resource *res, const char *ns, const char *name,
	       const char *sub, enum kube_patch_type type, const char *patch, const char *field_manager, bool force,
	       json_object **out, struct sk_error *err);

struct kube_delete_opts {
	const char *propagation_policy; /* Foreground, Background, Orphan; NULL: server default */
	const char *precondition_uid;
	const char *precondition_resource_version;
};

int kube_delete(struct kube_client *c, const struct kube_resource *res, const char *ns, const char *name,
		const struct kube_delete_opts *o, struct sk_error *err);

#endif
