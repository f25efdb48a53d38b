/* SpinApp status from app + Deployment state: kstatus-style Ready,
 * Available/Progressing copied, transitions timed, nothing changing when
 * nothing changed. */
#include <string.h>

#include "common/json.h"
#include "controller/status.h"
#include "tests/tap.h"

static json_object *parse(const char *s)
{
	json_object *o = NULL;
	sk_json_parse(s, strlen(s), &o, NULL);
	return o;
}

static json_object *cond(json_object *st, const char *type)
{
	json_object *c = sk_json_arr(st, "conditions");
	for (size_t i = 0; c && i < json_object_array_length(c); i++)
		if (!strcmp(sk_json_str(json_object_array_get_idx(c, i), "type"), type))
			return json_object_array_get_idx(c, i);
	return NULL;
}

int main(void)
{
	json_object *app = parse("{\"metadata\":{\"name\":\"web\",\"namespace\":\"ns\",\"generation\":4},"
				 "\"spec\":{\"replicas\":2,\"executor\":\"containerd-shim-spin\"}}");
	json_object *dconds = parse("[{\"type\":\"Available\",\"status\":\"True\",\"reason\":\"MinimumReplicasAvailable\","
				    "\"message\":\"ok\"},{\"type\":\"Progressing\",\"status\":\"True\","
				    "\"reason\":\"NewReplicaSetAvailable\",\"message\":\"done\"}]");
	struct status_input in = { .app = app, .manages_deployment = true, .now = "2026-01-01T00:00:00Z" };
	json_object *st;
	int64_t v = 0;

	st = status_render(&in);
	is_str(sk_json_str(cond(st, "Ready"), "status"), "False", "no Deployment yet: Ready False");
	is_str(sk_json_str(cond(st, "Ready"), "reason"), "DeploymentNotFound", "reason DeploymentNotFound");
	is_str(sk_json_str(cond(st, "Available"), "status"), "Unknown", "Available Unknown before the Deployment exists");
	is_str(sk_json_str(cond(st, "Progressing"), "reason"), "DeploymentNotFound", "Progressing: DeploymentNotFound");
	sk_json_int64(st, "observedGeneration", &v);
	is_int(v, 4, "observedGeneration is the app's generation");
	is_str(sk_json_str(st, "selector"), "core.spinkube.dev/app-name=web,core.spinkube.dev/app.web.status=ready",
	       "selector for the scale subresource");
	is_str(sk_json_str(st, "activeScheduler"), "containerd-shim-spin", "activeScheduler is the executor");
	is_str(sk_json_str(st, "deploymentName"), "web", "deploymentName");
	is_str(sk_json_str(st, "serviceName"), "web", "serviceName");
	json_object_put(st);

	in.dep = (struct deployment_state){ .found = true, .spec_replicas = 2, .replicas = 2, .ready = 1, .updated = 2,
					    .observed = true, .conditions = dconds };
	st = status_render(&in);
	is_str(sk_json_str(cond(st, "Ready"), "reason"), "DeploymentNotReady", "1 of 2 ready: not Ready");
	is_str(sk_json_str(cond(st, "Ready"), "message"), "1 of 2 replicas ready, 2 updated", "and says how far");
	is_str(sk_json_str(cond(st, "Available"), "reason"), "MinimumReplicasAvailable", "Available copied from the Deployment");
	json_object_put(st);

	in.dep.ready = 2;
	st = status_render(&in);
	is_str(sk_json_str(cond(st, "Ready"), "status"), "True", "2 of 2 ready: Ready True");
	sk_json_int64(st, "readyReplicas", &v);
	is_int(v, 2, "readyReplicas");
	/* The world does not change: the same status, times kept. */
	sk_json_set(app, "status", st);
	in.now = "2026-01-01T00:05:00Z";
	json_object *again = status_render(&in);
	is_str(sk_json_to_string(again, NULL), sk_json_to_string(st, NULL), "an unchanged world renders the same status, times kept");
	json_object_put(again);

	in.dep.observed = false;
	again = status_render(&in);
	is_str(sk_json_str(cond(again, "Ready"), "status"), "False", "a Deployment not yet observed is not Ready");
	is_str(sk_json_str(cond(again, "Ready"), "lastTransitionTime"), "2026-01-01T00:05:00Z", "a transition takes the new time");
	is_str(sk_json_str(cond(again, "Available"), "lastTransitionTime"), "2026-01-01T00:00:00Z",
	       "an unchanged condition keeps its time");
	json_object_put(again);
	in.dep.observed = true;

	in.problem_reason = "ExecutorNotFound";
	in.problem_message = "SpinAppExecutor \"x\" does not exist";
	again = status_render(&in);
	is_str(sk_json_str(cond(again, "Ready"), "reason"), "ExecutorNotFound", "a problem wins: its reason");
	is_str(sk_json_str(cond(again, "Ready"), "message"), "SpinAppExecutor \"x\" does not exist", "and its message");
	json_object_put(again);
	in.problem_reason = NULL;

	/* Ready waits for the Service; readyReplicas does not. */
	in.service_missing = true;
	again = status_render(&in);
	is_str(sk_json_str(cond(again, "Ready"), "status"), "False", "all replicas ready, no Service yet: not Ready");
	is_str(sk_json_str(cond(again, "Ready"), "reason"), "ServiceNotReady", "reason ServiceNotReady");
	is_str(sk_json_str(cond(again, "Ready"), "message"), "2 of 2 replicas ready; waiting for the Service to be created",
	       "and says what it waits for");
	sk_json_int64(again, "readyReplicas", &v);
	is_int(v, 2, "readyReplicas still counts the ready pods");
	json_object_put(again);
	in.problem_reason = "ExecutorNotFound";
	again = status_render(&in);
	is_str(sk_json_str(cond(again, "Ready"), "reason"), "ExecutorNotFound", "a problem wins over the missing Service");
	json_object_put(again);
	in.problem_reason = NULL;
	in.manages_deployment = false;
	again = status_render(&in);
	is_str(sk_json_str(cond(again, "Ready"), "reason"), "ServiceNotReady", "createDeployment false, no Service: not Ready");
	json_object_put(again);
	in.service_missing = false;

	again = status_render(&in);
	is_str(sk_json_str(cond(again, "Ready"), "reason"), "ServiceReady", "createDeployment false: Ready on the Service");
	ok(sk_json_str(again, "deploymentName") == NULL, "and no deploymentName");
	json_object_put(again);
	in.manages_deployment = true;

	sk_json_set_bool(sk_json_obj(app, "spec"), "enableAutoscaling", true);
	in.dep.spec_replicas = 5;
	in.dep.ready = 2;
	again = status_render(&in);
	is_str(sk_json_str(cond(again, "Ready"), "message"), "2 of 5 replicas ready, 2 updated",
	       "autoscaling: the Deployment's replicas are the target");
	json_object_put(again);

	/* Holding changes that leave Ready alone. */
	json_object *nr1 = parse("{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\",\"reason\":"
				 "\"DeploymentNotReady\",\"message\":\"0 of 1 replicas ready, 0 updated\"}]}");
	json_object *nr2 = parse("{\"readyReplicas\":0,\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\","
				 "\"reason\":\"DeploymentNotReady\",\"message\":\"0 of 1 replicas ready, 1 updated\"}]}");
	json_object *rd = parse("{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Ready\"}]}");
	json_object *other = parse("{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\",\"reason\":"
				   "\"ApplyFailed\"}]}");
	json_object *none = parse("{\"conditions\":[]}");
	ok(status_same_ready(nr1, nr2), "only the message changed: Ready is the same");
	ok(!status_same_ready(nr1, rd), "False to True is a change of Ready");
	ok(!status_same_ready(nr1, other), "a new reason is a change of Ready");
	ok(!status_same_ready(NULL, nr1), "no stored status: a change");
	ok(!status_same_ready(none, nr1), "no stored Ready condition: a change");
	is_int(status_hold_ms(true, 10000, 10300), STATUS_HOLD_MS - 300, "written 300 ms ago: wait for the rest");
	is_int(status_hold_ms(true, 10000, 10000 + STATUS_HOLD_MS), 0, "written a hold ago: write now");
	is_int(status_hold_ms(false, 10000, 10300), 0, "a change of Ready is never held");
	is_int(status_hold_ms(true, 0, 10300), 0, "no write known (a restart): write now");
	is_int(status_hold_ms(true, 20000, 10300), 0, "a clock that went back: write now");
	json_object_put(nr1);
	json_object_put(nr2);
	json_object_put(rd);
	json_object_put(other);
	json_object_put(none);
	json_object_put(app);
	json_object_put(dconds);
	return tap_done();
}
