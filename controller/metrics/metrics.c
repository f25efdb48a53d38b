/* The registry and its page (see metrics.h). */
#include "controller/metrics/metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* controller-runtime's reconcile time buckets, in seconds. */
static const double RECONCILE_BUCKETS[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35,
					    0.4,   0.45, 0.5,   0.6,  0.7, 0.8,  0.9, 1.0,  1.25, 1.5,
					    1.75,  2.0,  2.5,   3.0,  3.5, 4.0,  4.5, 5,    6,    7,
					    8,     9,    10,    15,   20,  25,   30,  40,   50,   60 };
/* client-go's workqueue buckets: 10 ns to 1000 s, a decade apart. */
static const double QUEUE_BUCKETS[] = { 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100, 1000 };

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const CONTROLLER_NAMES[CM_NCONTROLLERS] = { "spinapp", "spinapp-service", "spinappexecutor" };
/* In the order the page lists them (by label value). */
static const char *const RESULT_NAMES[CM_NRESULTS] = { "error", "requeue", "requeue_after", "success" };

int64_t ctrl_metrics_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int ctrl_metrics_new(long max_concurrent, const char *host, struct ctrl_metrics **out)
{
	struct ctrl_metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	for (int i = 0; i < CM_NCONTROLLERS; i++) {
		struct cm_ctl *c = &m->ctl[i];
		expo_hist_init(&c->time, RECONCILE_BUCKETS, NELEM(RECONCILE_BUCKETS));
		expo_hist_init(&c->wq.queue_duration, QUEUE_BUCKETS, NELEM(QUEUE_BUCKETS));
		expo_hist_init(&c->wq.work_duration, QUEUE_BUCKETS, NELEM(QUEUE_BUCKETS));
		c->max_concurrent = max_concurrent;
		c->wq.started_ns = calloc(CM_MAX_WORKERS, sizeof(int64_t));
		if (!c->wq.started_ns) {
			ctrl_metrics_free(m);
			return -ENOMEM;
		}
	}
	snprintf(m->host, sizeof(m->host), "%s", host ? host : "");
	*out = m;
	return 0;
}

void ctrl_metrics_free(struct ctrl_metrics *m)
{
	if (!m)
		return;
	for (int i = 0; i < CM_NCONTROLLERS; i++)
		free(m->ctl[i].wq.started_ns);
	free(m);
}

enum cm_controller ctrl_metrics_controller_of(const char *key, const char *exec_prefix)
{
	return strncmp(key, exec_prefix, strlen(exec_prefix)) == 0 ? CM_SPINAPPEXECUTOR : CM_SPINAPP;
}

void ctrl_metrics_reconcile_start(struct ctrl_metrics *m, enum cm_controller c)
{
	m->ctl[c].active++;
}

void ctrl_metrics_reconcile_end(struct ctrl_metrics *m, enum cm_controller c, enum cm_result result,
				double seconds)
{
	struct cm_ctl *ctl = &m->ctl[c];

	if (ctl->active > 0)
		ctl->active--;
	ctl->results[result]++;
	if (result == CM_ERROR)
		ctl->errors++;
	expo_hist_observe(&ctl->time, seconds);
}

void ctrl_metrics_rest(struct ctrl_metrics *m, const char *method, long status)
{
	char code[8];
	struct cm_rest *row = NULL;

	if (status >= 100 && status <= 999)
		snprintf(code, sizeof(code), "%ld", status);
	else
		snprintf(code, sizeof(code), "<error>");
	/* a method we never send is "other": the table stays small */
	if (!method || strlen(method) >= sizeof(row->method) || strspn(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(method))
		method = "other";
	for (size_t i = 0; i < m->nrest; i++)
		if (strcmp(m->rest[i].method, method) == 0 && strcmp(m->rest[i].code, code) == 0) {
			m->rest[i].n++;
			return;
		}
	if (m->nrest == CM_REST_MAX) {
		row = &m->rest[CM_REST_MAX - 1];
		snprintf(row->method, sizeof(row->method), "other");
		snprintf(row->code, sizeof(row->code), "other");
		row->n++;
		return;
	}
	row = &m->rest[m->nrest++];
	snprintf(row->method, sizeof(row->method), "%s", method);
	snprintf(row->code, sizeof(row->code), "%s", code);
	row->n = 1;
}

/* --- the work queue observer ------------------------------------------------------- */

static struct cm_workqueue *queue_of(struct ctrl_metrics *m, const char *key)
{
	return &m->ctl[ctrl_metrics_controller_of(key, m->exec_prefix)].wq;
}

/* The queue's series move the same way whichever observer feeds them:
 * by key (ud the registry) or for one controller (ud its queue). */
static uint64_t added(struct cm_workqueue *q)
{
	q->adds++;
	q->depth++;
	return (uint64_t)ctrl_metrics_now_ns();
}

static uint64_t started(struct cm_workqueue *q, uint64_t stamp)
{
	int64_t now = ctrl_metrics_now_ns();

	q->depth--;
	if (stamp)
		expo_hist_observe(&q->queue_duration, (double)(now - (int64_t)stamp) / 1e9);
	q->nworking++;
	for (size_t i = 0; i < CM_MAX_WORKERS; i++)
		if (q->started_ns[i] == 0) {
			q->started_ns[i] = now;
			return (uint64_t)i + 1;
		}
	return 0; /* more at once than followed: counted, not followed */
}

static void finished(struct cm_workqueue *q, uint64_t slot)
{
	int64_t now = ctrl_metrics_now_ns();

	if (q->nworking)
		q->nworking--;
	if (slot == 0 || slot > CM_MAX_WORKERS)
		return;
	expo_hist_observe(&q->work_duration, (double)(now - q->started_ns[slot - 1]) / 1e9);
	q->started_ns[slot - 1] = 0;
}

static uint64_t on_added(void *ud, const char *key)
{
	return added(queue_of(ud, key));
}

static uint64_t on_started(void *ud, const char *key, uint64_t stamp)
{
	return started(queue_of(ud, key), stamp);
}

static void on_finished(void *ud, const char *key, uint64_t slot)
{
	finished(queue_of(ud, key), slot);
}

static void on_retried(void *ud, const char *key)
{
	queue_of(ud, key)->retries++;
}

static uint64_t one_added(void *ud, const char *key)
{
	return added(ud);
}

static uint64_t one_started(void *ud, const char *key, uint64_t stamp)
{
	return started(ud, stamp);
}

static void one_finished(void *ud, const char *key, uint64_t slot)
{
	finished(ud, slot);
}

static void one_retried(void *ud, const char *key)
{
	((struct cm_workqueue *)ud)->retries++;
}

void ctrl_metrics_queue_observer(struct ctrl_metrics *m, const char *exec_prefix, struct kube_queue_observer *o)
{
	m->exec_prefix = exec_prefix;
	*o = (struct kube_queue_observer){ .added = on_added,
					   .started = on_started,
					   .finished = on_finished,
					   .retried = on_retried,
					   .ud = m };
}

void ctrl_metrics_queue_observer_of(struct ctrl_metrics *m, enum cm_controller c, struct kube_queue_observer *o)
{
	*o = (struct kube_queue_observer){ .added = one_added,
					   .started = one_started,
					   .finished = one_finished,
					   .retried = one_retried,
					   .ud = &m->ctl[c].wq };
}

void ctrl_metrics_set_max_concurrent(struct ctrl_metrics *m, enum cm_controller c, long n)
{
	m->ctl[c].max_concurrent = n;
}

/* --- the page ---------------------------------------------------------------------- */

/* Every series of one family per controller, in controller-name order. */
static void per_controller_u64(struct expo_writer *w, const char *name, const char *help, const char *type,
			       const struct ctrl_metrics *m, size_t field_off, bool queue_labels)
{
	expo_family(w, name, help, type);
	for (int i = 0; i < CM_NCONTROLLERS; i++) {
		struct expo_label l[2] = { { "controller", CONTROLLER_NAMES[i] }, { "name", CONTROLLER_NAMES[i] } };
		uint64_t v;
		memcpy(&v, (const char *)&m->ctl[i] + field_off, sizeof(v));
		expo_sample_u64(w, name, l, queue_labels ? 2 : 1, v);
	}
}

static void controller_families(struct expo_writer *w, const struct ctrl_metrics *m)
{
	expo_family(w, "controller_runtime_active_workers", "Reconciles running now, per controller.",
		    "gauge");
	for (int i = 0; i < CM_NCONTROLLERS; i++) {
		struct expo_label l = { "controller", CONTROLLER_NAMES[i] };
		expo_sample(w, "controller_runtime_active_workers", &l, 1, (double)m->ctl[i].active);
	}
	expo_family(w, "controller_runtime_max_concurrent_reconciles",
		    "The most reconciles a controller runs at once (--concurrent-reconciles).", "gauge");
	for (int i = 0; i < CM_NCONTROLLERS; i++) {
		struct expo_label l = { "controller", CONTROLLER_NAMES[i] };
		expo_sample(w, "controller_runtime_max_concurrent_reconciles", &l, 1, (double)m->ctl[i].max_concurrent);
	}
	per_controller_u64(w, "controller_runtime_reconcile_errors_total",
			   "Reconciles that ended in an error, per controller.", "counter", m,
			   offsetof(struct cm_ctl, errors), false);
	expo_family(w, "controller_runtime_reconcile_time_seconds",
		    "Seconds each reconcile took, per controller.", "histogram");
	for (int i = 0; i < CM_NCONTROLLERS; i++) {
		struct expo_label l = { "controller", CONTROLLER_NAMES[i] };
		expo_histogram(w, "controller_runtime_reconcile_time_seconds", &l, 1, &m->ctl[i].time);
	}
	expo_family(w, "controller_runtime_reconcile_total", "Reconciles per controller, by how they ended.",
		    "counter");
	for (int i = 0; i < CM_NCONTROLLERS; i++)
		for (int r = 0; r < CM_NRESULTS; r++) {
			struct expo_label l[2] = { { "controller", CONTROLLER_NAMES[i] }, { "result", RESULT_NAMES[r] } };
			expo_sample_u64(w, "controller_runtime_reconcile_total", l, 2, m->ctl[i].results[r]);
		}
}

static void process_families(struct expo_writer *w)
{
	struct cm_process p;

	if (cm_process_read("/proc", &p) < 0)
		return;
	expo_family(w, "process_cpu_seconds_total", "CPU time the process used (user and system), in seconds.", "counter");
	expo_sample(w, "process_cpu_seconds_total", NULL, 0, p.cpu_seconds);
	expo_family(w, "process_max_fds", "The most file descriptors the process may open (RLIMIT_NOFILE).", "gauge");
	expo_sample(w, "process_max_fds", NULL, 0, p.max_fds);
	expo_family(w, "process_open_fds", "File descriptors the process has open.", "gauge");
	expo_sample(w, "process_open_fds", NULL, 0, p.open_fds);
	expo_family(w, "process_resident_memory_bytes", "Resident set size of the process, in bytes.", "gauge");
	expo_sample(w, "process_resident_memory_bytes", NULL, 0, p.resident_bytes);
	expo_family(w, "process_start_time_seconds", "When the process started, in seconds since the Unix epoch.",
		    "gauge");
	expo_sample(w, "process_start_time_seconds", NULL, 0, p.start_time_seconds);
	expo_family(w, "process_virtual_memory_bytes", "Virtual memory size of the process, in bytes.", "gauge");
	expo_sample(w, "process_virtual_memory_bytes", NULL, 0, p.virtual_bytes);
}

/* The REST rows sorted by (code, method), as the page lists label values. */
static int rest_cmp(const void *a, const void *b)
{
	const struct cm_rest *x = *(const struct cm_rest *const *)a, *y = *(const struct cm_rest *const *)b;
	int c = strcmp(x->code, y->code);

	return c ? c : strcmp(x->method, y->method);
}

static void rest_family(struct expo_writer *w, const struct ctrl_metrics *m)
{
	const struct cm_rest *rows[CM_REST_MAX];

	for (size_t i = 0; i < m->nrest; i++)
		rows[i] = &m->rest[i];
	qsort(rows, m->nrest, sizeof(rows[0]), rest_cmp);
	expo_family(w, "rest_client_requests_total",
		    "Requests sent to the apiserver, by HTTP status (<error>: no response), method and host.", "counter");
	for (size_t i = 0; i < m->nrest; i++) {
		struct expo_label l[3] = { { "code", rows[i]->code }, { "host", m->host }, { "method", rows[i]->method } };
		expo_sample_u64(w, "rest_client_requests_total", l, 3, rows[i]->n);
	}
}

static void queue_families(struct expo_writer *w, const struct ctrl_metrics *m, int64_t now)
{
	per_controller_u64(w, "workqueue_adds_total", "Keys added to the work queue.", "counter", m,
			   offsetof(struct cm_ctl, wq.adds), true);
	expo_family(w, "workqueue_depth", "Keys ready in the work queue, waiting for a worker.", "gauge");
	for (int i = 0; i < CM_NCONTROLLERS; i++) {
		struct expo_label l[2] = { { "controller", CONTROLLER_NAMES[i] }, { "name", CONTROLLER_NAMES[i] } };
		expo_sample(w, "workqueue_depth", l, 2, (double)m->ctl[i].wq.depth);
	}
	expo_family(w, "workqueue_longest_running_processor_seconds",
		    "Seconds the key processed longest so far has been in progress.", "gauge");
	for (int i = 0; i < CM_NCONTROLLERS; i++) {
		struct expo_label l[2] = { { "controller", CONTROLLER_NAMES[i] }, { "name", CONTROLLER_NAMES[i] } };
		const struct cm_workqueue *q = &m->ctl[i].wq;
		int64_t oldest = 0;
		for (size_t s = 0; s < CM_MAX_WORKERS && q->nworking; s++)
			if (q->started_ns[s] && (!oldest || q->started_ns[s] < oldest))
				oldest = q->started_ns[s];
		expo_sample(w, "workqueue_longest_running_processor_seconds", l, 2,
			    oldest ? (double)(now - oldest) / 1e9 : 0);
	}
	expo_family(w, "workqueue_queue_duration_seconds",
		    "Seconds a key waited in the queue before a worker took it.", "histogram");
	for (int i = 0; i < CM_NCONTROLLERS; i++) {
		struct expo_label l[2] = { { "controller", CONTROLLER_NAMES[i] }, { "name", CONTROLLER_NAMES[i] } };
		expo_histogram(w, "workqueue_queue_duration_seconds", l, 2, &m->ctl[i].wq.queue_duration);
	}
	per_controller_u64(w, "workqueue_retries_total", "Keys queued again after a failure, with backoff.", "counter",
			   m, offsetof(struct cm_ctl, wq.retries), true);
	expo_family(w, "workqueue_unfinished_work_seconds",
		    "Seconds of work in progress, not yet in work_duration; a steady rise means a stuck "
		    "worker.",
		    "gauge");
	for (int i = 0; i < CM_NCONTROLLERS; i++) {
		struct expo_label l[2] = { { "controller", CONTROLLER_NAMES[i] }, { "name", CONTROLLER_NAMES[i] } };
		const struct cm_workqueue *q = &m->ctl[i].wq;
		double total = 0;
		for (size_t s = 0; s < CM_MAX_WORKERS && q->nworking; s++)
			if (q->started_ns[s])
				total += (double)(now - q->started_ns[s]) / 1e9;
		expo_sample(w, "workqueue_unfinished_work_seconds", l, 2, total);
	}
	expo_family(w, "workqueue_work_duration_seconds",
		    "Seconds a worker took to process a key.", "histogram");
	for (int i = 0; i < CM_NCONTROLLERS; i++) {
		struct expo_label l[2] = { { "controller", CONTROLLER_NAMES[i] }, { "name", CONTROLLER_NAMES[i] } };
		expo_histogram(w, "workqueue_work_duration_seconds", l, 2, &m->ctl[i].wq.work_duration);
	}
}

int ctrl_metrics_render(const struct ctrl_metrics *m, int64_t now_ns, struct sk_buf *b)
{
	struct expo_writer w = { .b = b };

	controller_families(&w, m);
	if (m->leader_election) {
		struct expo_label l = { "name", m->lease_name };
		expo_family(&w, "leader_election_master_status",
			    "1 while this process holds the Lease called name, 0 while it stands by.",
			    "gauge");
		expo_sample(&w, "leader_election_master_status", &l, 1, m->leading ? 1 : 0);
	}
	process_families(&w);
	rest_family(&w, m);
	queue_families(&w, m, now_ns);
	return w.err;
}
