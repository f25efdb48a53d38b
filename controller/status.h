/* A SpinApp's status, computed by a pure function from what the reconciler
 * knows: the app, its Deployment's state, and a problem found on the way (a
 * missing executor, a missing referenced Secret). Follows kstatus conventions
 * so kubectl wait, Flux and Argo CD read health: observedGeneration and a
 * Ready condition, plus upstream's Available and Progressing (copied from the
 * Deployment) and its other fields.
 *
 * Conditions keep their lastTransitionTime while their status does not
 * change, so that an unchanged world renders a byte-identical status and the
 * reconciler writes nothing. */
#ifndef SPINKUBE_CONTROLLER_STATUS_H
#define SPINKUBE_CONTROLLER_STATUS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

struct deployment_state {
	bool found;
	int64_t spec_replicas;       /* the Deployment's spec.replicas */
	int64_t replicas, ready, updated, available; /* its status */
	bool observed;               /* status.observedGeneration >= metadata.generation */
	json_object *conditions;     /* its status.conditions (borrowed), or NULL */
};

struct status_input {
	json_object *app;            /* the SpinApp (borrowed) */
	struct deployment_state dep;
	bool manages_deployment;     /* false when the executor's createDeployment is false */
	/* The app's Service is not there yet: Ready waits for it (an app is
	 * reached through its Service), readyReplicas does not (it counts
	 * the Deployment's ready pods, as upstream's does). */
	bool service_missing;
	const char *problem_reason;  /* e.g. ExecutorNotFound; NULL when none */
	const char *problem_message;
	const char *now;             /* RFC 3339, for conditions that change now */
};

/* The status object (a new reference the caller puts). */
json_object *status_render(const struct status_input *in);

/* How long after an app's last status write a change that leaves its Ready
 * condition as it was (only counts, messages, Available or Progressing
 * moved) waits, so that the burst of Deployment updates of one rollout costs
 * one status write instead of one each. A change of Ready is never held. */
#define STATUS_HOLD_MS 1000

/* True when new_status has a Ready condition with the same status and
 * reason as old_status's (both borrowed; old_status may be NULL). */
bool status_same_ready(json_object *old_status, json_object *new_status);

/* Milliseconds a status change should wait before it is written (0: write
 * now): same_ready from status_same_ready, last_write_ms the time of the
 * app's last status write (0: none known), now_ms the clock. */
long status_hold_ms(bool same_ready, int64_t last_write_ms, int64_t now_ms);

/* "core.spinkube.dev/app-name=A,core.spinkube.dev/app.A.status=ready" into buf. */
void status_selector(const char *app_name, char *buf, size_t size);

#endif
