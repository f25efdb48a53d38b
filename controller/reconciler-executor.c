/* One reconcile of a SpinAppExecutor: our finalizer on it, added while it
 * lives and dropped once no SpinApp of its namespace uses it, with one
 * DeletionBlocked Event while apps hold it back. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "common/strmap.h"
#include "controller/reconciler-internal.h"
#include "controller/render/render.h"

/* --- reconcile an executor: the finalizer ------------------------------------------- */

void rec_reconcile_executor(struct reconciler *r, struct app_work *w)
{
	const char *key = w->key + strlen(EXEC_PREFIX);
	const struct obj_json *p = kube_informer_get(r->execs, key);
	_cleanup_json_ json_object *exec = NULL, *patch = NULL;
	_cleanup_free_ char *path = NULL;
	char ns[256], name[256];
	json_object *fins, *newf;
	bool has = false;

	if (!p || rec_split_key(key, ns, sizeof(ns), name, sizeof(name)) < 0 ||
	    packed_parse(p->json, &exec) < 0)
		return;
	fins = sk_json_arr(exec, "metadata.finalizers");
	for (size_t i = 0; fins && i < json_object_array_length(fins); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(fins, i)), SPIN_FINALIZER) == 0)
			has = true;
	if (!p->deleting && has)
		return;
	if (p->deleting && !has)
		return;
	if (p->deleting) {
		size_t users = rec_apps_using(r, ns, name, false);
		if (users > 0) {
			if (!strmap_get(&r->blocked_executors, key)) {
				char msg[400];
				snprintf(msg, sizeof(msg),
					 "%zu SpinApp(s) in namespace %s still use this executor; delete or move them first",
					 users, ns);
				rec_post_event(w, exec, "Warning", "DeletionBlocked", msg);
				strmap_put(&r->blocked_executors, key, strdup("1"), NULL);
			}
			return;
		}
		free(strmap_remove(&r->blocked_executors, key));
	}
	/* Add or drop our finalizer, guarded by the resourceVersion. */
	newf = json_object_new_array();
	for (size_t i = 0; fins && i < json_object_array_length(fins); i++) {
		const char *f = json_object_get_string(json_object_array_get_idx(fins, i));
		if (strcmp(f, SPIN_FINALIZER) != 0)
			json_object_array_add(newf, json_object_new_string(f));
	}
	if (!p->deleting)
		json_object_array_add(newf, json_object_new_string(SPIN_FINALIZER));
	patch = json_object_new_object();
	json_object *meta = sk_json_ensure_obj(patch, "metadata");
	sk_json_set(meta, "finalizers", newf);
	if (sk_json_str(exec, "metadata.resourceVersion"))
		sk_json_set_str(meta, "resourceVersion", sk_json_str(exec, "metadata.resourceVersion"));
	if (kube_path(&REC_EXECUTORS, ns, name, NULL, NULL, &path, NULL) == 0)
		rec_send_write(w, "PATCH", path, sk_json_to_string(patch, NULL), "application/merge-patch+json");
}
