/* The SpinApp reconciler: informers on SpinApps, SpinAppExecutors and the
 * objects they own or reference, one work queue, and a single event loop with
 * several apps in flight at once.
 *
 * For each SpinApp it renders the runtime-config Secret, the Deployment, the
 * Service and (when the executor installs CA certificates) the CA Secret, and
 * applies each one whose rendered hash differs from the hash its cached copy
 * carries (server-side apply, field manager spin-operator, force). Then it
 * computes the status and writes it only when it changed. So a steady-state
 * resync writes nothing. Old runtime-config Secrets that no ReplicaSet uses
 * are deleted; executors carry a finalizer that blocks their deletion while
 * apps in their namespace use them. Everything is level-triggered: killing
 * the controller at any instant loses nothing, the next start converges. */
#ifndef SPINKUBE_CONTROLLER_RECONCILER_H
#define SPINKUBE_CONTROLLER_RECONCILER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/log.h"
#include "controller/kube/client.h"
#include "controller/metrics/metrics.h"

struct reconciler_opts {
	int max_in_progress;        /* apps reconciled at once; default 32 */
	long resync_ms;             /* periodic resync of every app; default 600000, 0 off */
	const char *ca_bundle_path; /* default /etc/ssl/certs/ca-certificates.crt */
	/* Where notable moments go (a failed watch, a retried write), as
	 * records with object= and error= fields; NULL drops them. Borrowed:
	 * it must outlive the reconciler. */
	const struct sk_log_sink *log;
	/* Where reconciles and the work queue are counted (controller-runtime's
	 * and the workqueue's series); NULL counts nothing. Borrowed: it must
	 * outlive the reconciler. */
	struct ctrl_metrics *metrics;
};

struct reconciler_stats {
	uint64_t reconciles;
	uint64_t writes;        /* create/apply/patch/delete requests sent */
	uint64_t write_errors;
	uint64_t events;        /* Kubernetes Events posted */
};

struct reconciler;

int reconciler_new(struct kube_client *c, const struct reconciler_opts *opts, struct reconciler **out,
		   struct sk_error *err);
void reconciler_free(struct reconciler *r);

/* Start work that is due; call after every kube_client_run. */
void reconciler_step(struct reconciler *r);

/* Milliseconds until queued work is due (0: now, -1: nothing queued). */
long reconciler_next_ms(const struct reconciler *r);

/* True once every informer has its first list. */
bool reconciler_synced(const struct reconciler *r);

/* True when nothing is queued or in flight. */
bool reconciler_idle(const struct reconciler *r);

void reconciler_get_stats(const struct reconciler *r, struct reconciler_stats *out);

#endif
