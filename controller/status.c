#include "controller/status.h"

#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "controller/render/render.h"

void status_selector(const char *app_name, char *buf, size_t size)
{
	snprintf(buf, size, "%s=%s,core.spinkube.dev/app.%s.status=ready", SPIN_LABEL_APP_NAME, app_name, app_name);
}

/* The condition of type t in a conditions array, or NULL. Borrowed. */
static json_object *find_condition(json_object *conds, const char *t)
{
	for (size_t i = 0; conds && i < json_object_array_length(conds); i++) {
		json_object *c = json_object_array_get_idx(conds, i);
		const char *ct = sk_json_str(c, "type");
		if (ct && strcmp(ct, t) == 0)
			return c;
	}
	return NULL;
}

/* Append a condition, keeping the old lastTransitionTime when the status is
 * the same as before. */
static void add_condition(json_object *conds, json_object *old_conds, const char *type, const char *status,
			  const char *reason, const char *message, int64_t generation, const char *now)
{
	json_object *c = json_object_new_object();
	json_object *old = find_condition(old_conds, type);
	const char *old_status = sk_json_str(old, "status"), *old_time = sk_json_str(old, "lastTransitionTime");

	sk_json_set_str(c, "type", type);
	sk_json_set_str(c, "status", status);
	sk_json_set_int64(c, "observedGeneration", generation);
	sk_json_set_str(c, "lastTransitionTime",
		   old_status && old_time && strcmp(old_status, status) == 0 ? old_time : now);
	sk_json_set_str(c, "reason", reason);
	sk_json_set_str(c, "message", message);
	json_object_array_add(conds, c);
}

/* Available and Progressing as the Deployment has them, or Unknown. */
static void copy_deployment_condition(json_object *conds, json_object *old_conds, const struct status_input *in,
				      const char *type, int64_t gen)
{
	json_object *dc = in->dep.found ? find_condition(in->dep.conditions, type) : NULL;

	if (!in->manages_deployment) {
		add_condition(conds, old_conds, type, "Unknown", "DeploymentNotManaged",
			      "the executor does not create a Deployment for this app", gen, in->now);
	} else if (!dc) {
		add_condition(conds, old_conds, type, "Unknown", "DeploymentNotFound",
			      in->dep.found ? "the Deployment does not report this condition yet"
					    : "the Deployment does not exist yet",
			      gen, in->now);
	} else {
		const char *st = sk_json_str(dc, "status"), *reason = sk_json_str(dc, "reason"), *msg = sk_json_str(dc, "message");
		add_condition(conds, old_conds, type, st ? st : "Unknown", reason ? reason : "Unknown", msg ? msg : "",
			      gen, in->now);
	}
}

json_object *status_render(const struct status_input *in)
{
	json_object *st = json_object_new_object(), *conds = json_object_new_array();
	json_object *old_conds = sk_json_arr(in->app, "status.conditions");
	const char *name = sk_json_str(in->app, "metadata.name");
	const char *executor = sk_json_str(in->app, "spec.executor");
	int64_t gen = 0, want = 1;
	char msg[256], selector[600];

	(void)sk_json_int64(in->app, "metadata.generation", &gen);
	if (sk_json_bool(in->app, "spec.enableAutoscaling", false))
		want = in->dep.found ? in->dep.spec_replicas : 1;
	else if (sk_json_int64(in->app, "spec.replicas", &want) < 0)
		want = 1;

	sk_json_set_int64(st, "observedGeneration", gen);
	if (executor)
		sk_json_set_str(st, "activeScheduler", executor);
	sk_json_set_int64(st, "replicas", in->dep.found ? in->dep.replicas : 0);
	sk_json_set_int64(st, "readyReplicas", in->dep.found ? in->dep.ready : 0);
	status_selector(name ? name : "", selector, sizeof(selector));
	sk_json_set_str(st, "selector", selector);
	if (in->manages_deployment && name)
		sk_json_set_str(st, "deploymentName", name);
	if (name)
		sk_json_set_str(st, "serviceName", name);

	if (in->problem_reason) {
		add_condition(conds, old_conds, "Ready", "False", in->problem_reason,
			      in->problem_message ? in->problem_message : "", gen, in->now);
	} else if (!in->manages_deployment && in->service_missing) {
		add_condition(conds, old_conds, "Ready", "False", "ServiceNotReady",
			      "the executor does not create a Deployment; waiting for the Service to be created", gen,
			      in->now);
	} else if (!in->manages_deployment) {
		add_condition(conds, old_conds, "Ready", "True", "ServiceReady",
			      "the executor does not create a Deployment; the Service is in place", gen, in->now);
	} else if (!in->dep.found) {
		add_condition(conds, old_conds, "Ready", "False", "DeploymentNotFound",
			      "waiting for the Deployment to be created", gen, in->now);
	} else if (in->dep.observed && in->dep.ready >= want && in->dep.updated >= want &&
		   in->dep.replicas == in->dep.updated) {
		if (in->service_missing) {
			snprintf(msg, sizeof(msg), "%lld of %lld replicas ready; waiting for the Service to be created",
				 (long long)in->dep.ready, (long long)want);
			add_condition(conds, old_conds, "Ready", "False", "ServiceNotReady", msg, gen, in->now);
		} else {
			snprintf(msg, sizeof(msg), "%lld of %lld replicas ready", (long long)in->dep.ready,
				 (long long)want);
			add_condition(conds, old_conds, "Ready", "True", "Ready", msg, gen, in->now);
		}
	} else {
		snprintf(msg, sizeof(msg), "%lld of %lld replicas ready, %lld updated", (long long)in->dep.ready,
			 (long long)want, (long long)in->dep.updated);
		add_condition(conds, old_conds, "Ready", "False", "DeploymentNotReady", msg, gen, in->now);
	}
	copy_deployment_condition(conds, old_conds, in, "Available", gen);
	copy_deployment_condition(conds, old_conds, in, "Progressing", gen);
	sk_json_set(st, "conditions", conds);
	return st;
}

/* The Ready condition's status and reason in st, or NULLs. */
static void ready_of(json_object *st, const char **status, const char **reason)
{
	json_object *c = find_condition(sk_json_arr(st, "conditions"), "Ready");

	*status = sk_json_str(c, "status");
	*reason = sk_json_str(c, "reason");
}

bool status_same_ready(json_object *old_status, json_object *new_status)
{
	const char *os, *orr, *ns, *nr;

	if (!old_status || !new_status)
		return false;
	ready_of(old_status, &os, &orr);
	ready_of(new_status, &ns, &nr);
	return os && orr && ns && nr && strcmp(os, ns) == 0 && strcmp(orr, nr) == 0;
}

long status_hold_ms(bool same_ready, int64_t last_write_ms, int64_t now_ms)
{
	/* A clock that went back counts as long ago: never held for long. */
	if (!same_ready || last_write_ms <= 0 || now_ms < last_write_ms || now_ms - last_write_ms >= STATUS_HOLD_MS)
		return 0;
	return (long)(STATUS_HOLD_MS - (now_ms - last_write_ms));
}
