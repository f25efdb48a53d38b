/* spin-controller --release-executors SELECTOR: what the chart's pre-delete
 * hook runs while the controller and its RBAC are still in place. Every
 * SpinAppExecutor the selector matches (in every namespace) is deleted and
 * our finalizer taken off it, so that uninstalling leaves none of them
 * Terminating for ever: the controller that would release the finalizer
 * goes with the release. SpinApps are the user's and stay (without an
 * executor, and without a controller, they keep what they run).
 *
 * The running controller may release the finalizer first (no app uses the
 * executor) or post DeletionBlocked (apps do); either way the patch here,
 * guarded by the resourceVersion, is retried until the executors are gone
 * or the time runs out. */
#include "controller/release.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "common/log.h"
#include "controller/kube/api.h"
#include "controller/kube/client.h"
#include "controller/kube/config.h"
#include "controller/render/render.h"

static const struct kube_resource EXECUTORS = { "core.spinkube.dev/v1alpha1", "spinappexecutors", true };

/* How long the releases may take, and the pause between rounds. */
#define RELEASE_TIMEOUT_MS 60000
#define RELEASE_ROUND_MS 1000

/* The executors of one LIST, each a reference of ours. */
struct found {
	json_object *items;
};

static int keep_item(json_object *item, void *ud)
{
	struct found *f = ud;

	return json_object_array_add(f->items, json_object_get(item)) == 0 ? 0 : -ENOMEM;
}

/* Delete exec unless it is going already, then take our finalizer off it.
 * Returns 1 when it still needs a round (a conflict, a finalizer still on),
 * 0 when nothing is left to do for it, negative on a failure to report. */
static int release_one(struct kube_client *c, json_object *exec, struct sk_error *err)
{
	const char *ns = sk_json_str(exec, "metadata.namespace"), *name = sk_json_str(exec, "metadata.name");
	const char *rv = sk_json_str(exec, "metadata.resourceVersion");
	json_object *fins = sk_json_arr(exec, "metadata.finalizers");
	_cleanup_json_ json_object *patch = NULL;
	bool ours = false;
	int r;

	if (!ns || !name)
		return 0;
	if (!sk_json_get(exec, "metadata.deletionTimestamp")) {
		r = kube_delete(c, &EXECUTORS, ns, name, NULL, err);
		if (r < 0 && r != -ENOENT)
			return r;
		return 1; /* look again at the object as deleting */
	}
	json_object *keep = json_object_new_array();
	for (size_t i = 0; fins && i < json_object_array_length(fins); i++) {
		const char *f = json_object_get_string(json_object_array_get_idx(fins, i));
		if (f && strcmp(f, SPIN_FINALIZER) == 0)
			ours = true;
		else if (f)
			json_object_array_add(keep, json_object_new_string(f));
	}
	patch = json_object_new_object();
	json_object *meta = sk_json_ensure_obj(patch, "metadata");
	sk_json_set(meta, "finalizers", keep);
	if (!ours)
		return 0;
	if (rv)
		sk_json_set_str(meta, "resourceVersion", rv);
	r = kube_patch(c, &EXECUTORS, ns, name, NULL, KUBE_PATCH_MERGE, sk_json_to_string(patch, NULL), NULL, false,
		       NULL, err);
	if (r == -ESTALE || r == 0)
		return 1; /* changed meanwhile, or done: the next list says */
	return r == -ENOENT ? 0 : r;
}

int controller_release_executors(const struct controller_options *opts)
{
	struct kube_config_opts co = { .explicit_path = opts->kubeconfig, .context = opts->context };
	struct kube_client_opts clo = { .qps = opts->qps, .burst = (int)opts->burst };
	struct kube_query q = { .label_selector = opts->release_selector };
	struct kube_config *cfg = NULL;
	struct kube_client *c = NULL;
	struct sk_error err = { 0 };
	char quoted[SK_ERR_MESSAGE_MAX + 64], qsel[600];
	int status = 1;

	kube_config_opts_from_env(&co);
	if (kube_config_load(&co, &cfg, &err) < 0) {
		fprintf(stderr, "spin-controller: %s\n", err.message);
		return 1;
	}
	if (kube_client_new(cfg, &clo, &c, &err) < 0) {
		fprintf(stderr, "spin-controller: %s\n", err.message);
		goto out;
	}
	int64_t deadline = kube_now_ms() + RELEASE_TIMEOUT_MS;
	long first = -1;
	log_quote(opts->release_selector, qsel, sizeof(qsel));
	for (;;) {
		struct found f = { json_object_new_array() };
		long left = 0;
		int r = 0;

		if (!f.items)
			goto out;
		r = kube_list(c, &EXECUTORS, NULL, &q, keep_item, &f, NULL, &err);
		size_t listed = json_object_array_length(f.items);
		for (size_t i = 0; r == 0 && i < listed; i++) {
			r = release_one(c, json_object_array_get_idx(f.items, i), &err);
			if (r > 0) {
				left++;
				r = 0;
			}
		}
		json_object_put(f.items);
		if (r < 0) {
			log_error("cannot release the executors", "selector=%s error=%s", qsel,
				  log_quote(err.message, quoted, sizeof(quoted)));
			goto out;
		}
		if (first < 0)
			first = (long)listed;
		/* Gone, or held only by finalizers of others. */
		if (left == 0) {
			log_info("executors released", "selector=%s executors=%ld", qsel, first);
			status = 0;
			goto out;
		}
		if (kube_now_ms() >= deadline) {
			log_error("executors still held after 60 s", "selector=%s executors=%ld", qsel, left);
			goto out;
		}
		int64_t until = kube_now_ms() + RELEASE_ROUND_MS;
		while (kube_now_ms() < until)
			kube_client_run(c, (int)(until - kube_now_ms()));
	}
out:
	kube_client_free(c);
	kube_config_free(cfg);
	return status;
}
