/* The node's label through the apiserver (see node.h). */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "controller/kube/api.h"
#include "controller/kube/config.h"
#include "node-installer/node.h"

static const struct kube_resource NODES = {"v1", "nodes", false};

int ni_kube_open(const char *kubeconfig, struct kube_config **cfg, struct kube_client **out,
                 struct sk_error *err)
{
	struct kube_config_opts co = {0};
	struct kube_client_opts clo = {.qps = 5, .burst = 10, .user_agent = "spinkube-node-installer"};
	int r;

	kube_config_opts_from_env(&co);
	co.explicit_path = kubeconfig;
	if ((r = kube_config_load(&co, cfg, err)) < 0)
		return r;
	if ((r = kube_client_new(*cfg, &clo, out, err)) < 0) {
		kube_config_free(*cfg);
		*cfg = NULL;
	}
	return r;
}

int ni_label_get(struct kube_client *c, const char *node, const char *key, char **value, struct sk_error *err)
{
	json_object *obj = NULL, *meta = NULL, *labels = NULL, *v = NULL;
	int r;

	if ((r = kube_get(c, &NODES, NULL, node, NULL, &obj, err)) < 0)
		return sk_err_prefix(err, "reading node %s", node);
	*value = NULL;
	if (json_object_object_get_ex(obj, "metadata", &meta) &&
	    json_object_object_get_ex(meta, "labels", &labels) &&
	    json_object_object_get_ex(labels, key, &v) && json_object_is_type(v, json_type_string)) {
		*value = strdup(json_object_get_string(v));
		if (!*value)
			r = sk_err(err, -ENOMEM, "out of memory");
	}
	json_object_put(obj);
	return r;
}

int ni_label_set(struct kube_client *c, const char *node, const char *key, const char *value,
                 struct sk_error *err)
{
	json_object *patch = json_object_new_object(), *meta = json_object_new_object(),
	            *labels = json_object_new_object();
	int r;

	if (!patch || !meta || !labels) {
		json_object_put(patch);
		json_object_put(meta);
		json_object_put(labels);
		return sk_err(err, -ENOMEM, "out of memory");
	}
	/* A merge patch: null removes the key. */
	json_object_object_add(labels, key, value ? json_object_new_string(value) : NULL);
	json_object_object_add(meta, "labels", labels);
	json_object_object_add(patch, "metadata", meta);
	r = kube_patch(c, &NODES, NULL, node, NULL, KUBE_PATCH_MERGE,
	               json_object_to_json_string_ext(patch, JSON_C_TO_STRING_PLAIN), NULL, false, NULL, err);
	json_object_put(patch);
	if (r < 0)
		return sk_err_prefix(err, "%s label %s on node %s (the account needs patch on nodes)",
		                     value ? "setting" : "removing", key, node);
	return 0;
}

struct collect {
	char **names;
	int max, n;
};

static int collect_one(json_object *item, void *ud)
{
	struct collect *cl = ud;
	json_object *meta = NULL, *name = NULL;

	if (cl->n >= cl->max)
		return 0;
	if (!json_object_object_get_ex(item, "metadata", &meta) ||
	    !json_object_object_get_ex(meta, "name", &name))
		return 0;
	cl->names[cl->n] = strdup(json_object_get_string(name));
	if (!cl->names[cl->n])
		return -ENOMEM;
	cl->n++;
	return 0;
}

int ni_labelled_nodes(struct kube_client *c, const char *key, char **names, int max, int *n,
                      struct sk_error *err)
{
	struct kube_query q = {.label_selector = key, .limit = 500};
	struct collect cl = {names, max, 0};
	int r = kube_list(c, &NODES, NULL, &q, collect_one, &cl, NULL, err);

	*n = cl.n;
	if (r < 0) {
		for (int i = 0; i < cl.n; i++)
			free(names[i]);
		*n = 0;
		return sk_err_prefix(err, "listing the nodes labelled %s (the account needs list on nodes)",
		                     key);
	}
	return 0;
}
