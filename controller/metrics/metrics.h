/* spin-controller's metrics: the series controller-runtime, client-go's
 * workqueue and REST client, and client_golang's process collector export,
 * under their names and labels, so that dashboards made for kubebuilder
 * operators (spin-operator's among them) read ours unchanged.
 *
 * The registry is one struct with every series in it: the label sets are
 * known in advance (two controllers, a bounded table of REST codes and
 * methods), so nothing is allocated after ctrl_metrics_new and nothing grows
 * with the number of apps. It is updated and read on the controller's event
 * loop only (reconcile hooks, queue observer, REST observer and scrapes all
 * run there), so updates are plain increments, no locks or atomics.
 *
 * Timestamps are nanoseconds on CLOCK_MONOTONIC (ctrl_metrics_now_ns); the
 * render takes "now" as a parameter for the gauges that depend on it. */
#ifndef SPINKUBE_CONTROLLER_METRICS_METRICS_H
#define SPINKUBE_CONTROLLER_METRICS_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "controller/kube/queue.h"
#include "controller/metrics/expo.h"

/* The controllers, named as controller-runtime names them (the kind, lower
 * case; the SpinApps' Services pool, a second controller of SpinApps with a
 * queue of its own, "spinapp-service", as a second controller would be
 * Named()); their work queues carry the same name. In label order. */
enum cm_controller {
	CM_SPINAPP,
	CM_SPINAPPSERVICE,
	CM_SPINAPPEXECUTOR,
	CM_NCONTROLLERS,
};

/* How a reconcile ended, controller_runtime_reconcile_total's result label. */
enum cm_result {
	CM_ERROR,
	CM_REQUEUE,
	CM_REQUEUE_AFTER,
	CM_SUCCESS,
	CM_NRESULTS,
};

/* Keys processed at once that the queue's longest-running and unfinished
 * gauges follow (more are counted, not followed). */
#define CM_MAX_WORKERS 1024
/* (method, code) pairs rest_client_requests_total keeps apart; any more add
 * to the last one's row under code "other". */
#define CM_REST_MAX 48

struct cm_workqueue {
	uint64_t adds, retries;
	int64_t depth;
	struct expo_hist queue_duration, work_duration;
	size_t nworking;
	int64_t *started_ns; /* CM_MAX_WORKERS slots, 0: free */
};

struct cm_ctl {
	uint64_t results[CM_NRESULTS];
	uint64_t errors;
	struct expo_hist time;
	long max_concurrent, active;
	struct cm_workqueue wq;
};

struct cm_rest {
	char method[8];
	char code[8];
	uint64_t n;
};

struct ctrl_metrics {
	struct cm_ctl ctl[CM_NCONTROLLERS];
	struct cm_rest rest[CM_REST_MAX];
	size_t nrest;
	char host[256]; /* rest_client's host label: the apiserver's host:port */
	/* leader_election_master_status{name}: only with --leader-elect */
	bool leader_election;
	char lease_name[256];
	bool leading;
	const char *exec_prefix; /* the queue observer's (static) */
};

/* A registry with every series at zero; max_concurrent is
 * --concurrent-reconciles, host the apiserver's host:port. Caller frees
 * with ctrl_metrics_free. Returns 0 or -ENOMEM. */
int ctrl_metrics_new(long max_concurrent, const char *host, struct ctrl_metrics **out);
void ctrl_metrics_free(struct ctrl_metrics *m);

int64_t ctrl_metrics_now_ns(void);

/* Which controller a work queue key belongs to: executors' keys start with
 * exec_prefix, every other key is an app's. */
enum cm_controller ctrl_metrics_controller_of(const char *key, const char *exec_prefix);

/* A reconcile starts / ended with result after seconds. */
void ctrl_metrics_reconcile_start(struct ctrl_metrics *m, enum cm_controller c);
void ctrl_metrics_reconcile_end(struct ctrl_metrics *m, enum cm_controller c, enum cm_result result,
				double seconds);

/* One finished REST request: method as sent, HTTP status (0: the transfer
 * failed, code "<error>" as client-go says). */
void ctrl_metrics_rest(struct ctrl_metrics *m, const char *method, long status);

/* The work queue observer that feeds workqueue_* (see queue.h), keys split
 * by exec_prefix (a static string). Filled into *o. */
void ctrl_metrics_queue_observer(struct ctrl_metrics *m, const char *exec_prefix, struct kube_queue_observer *o);

/* The observer of a queue whose every key belongs to controller c. */
void ctrl_metrics_queue_observer_of(struct ctrl_metrics *m, enum cm_controller c, struct kube_queue_observer *o);

/* Set controller c's controller_runtime_max_concurrent_reconciles (all
 * start at ctrl_metrics_new's max_concurrent). */
void ctrl_metrics_set_max_concurrent(struct ctrl_metrics *m, enum cm_controller c, long n);

/* The page: controller_runtime_*, leader_election_*, process_*,
 * rest_client_* and workqueue_* families in name order, into b. now_ns for
 * the unfinished-work gauges; process_* are read from /proc/self (left out
 * when /proc cannot be read). Returns 0, -ENOMEM or -E2BIG. */
int ctrl_metrics_render(const struct ctrl_metrics *m, int64_t now_ns, struct sk_buf *b);

/* --- process.c -------------------------------------------------------------------- */

/* What client_golang's process collector reports, from /proc/self. */
struct cm_process {
	double cpu_seconds;
	double resident_bytes, virtual_bytes;
	double open_fds, max_fds;
	double start_time_seconds; /* since the epoch */
};

/* Read them from proc (normally "/proc/self"; a test may pass a copy).
 * Returns 0 or a negative errno (-EINVAL: a file does not read as expected). */
int cm_process_read(const char *proc, struct cm_process *out);

#endif
