/* The reconciler's loop (see reconciler.h): creating and freeing it, taking
 * due keys off the work queue and running one reconcile each, and the small
 * services every piece uses (queueing, logging through the program's sink,
 * splitting "ns/name" keys). The pieces are listed in reconciler-internal.h. */
#include "controller/reconciler.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/strmap.h"
#include "controller/reconciler-internal.h"

const struct kube_resource REC_SPINAPPS = { "core.spinkube.dev/v1alpha1", "spinapps", true };
const struct kube_resource REC_EXECUTORS = { "core.spinkube.dev/v1alpha1", "spinappexecutors", true };
const struct kube_resource REC_CONFIGMAPS = { "v1", "configmaps", true };

#define CA_BUNDLE_DEFAULT "/etc/ssl/certs/ca-certificates.crt"
#define CA_BUNDLE_MAX (8u << 20)

/* Records go to the sink as " object=... error=..." fields, each value
 * quoted for logfmt, the ones not given left out. */
void rec_say(struct reconciler *r, enum log_level level, const char *msg, const char *key, const char *detail)
{
	char qk[600], qd[SK_ERR_MESSAGE_MAX + 64];

	if (!r->o.log || !r->o.log->fn)
		return;
	if (key && detail)
		sk_report(r->o.log, level, msg, "object=%s error=%s", log_quote(key, qk, sizeof(qk)),
			  log_quote(detail, qd, sizeof(qd)));
	else if (key)
		sk_report(r->o.log, level, msg, "object=%s", log_quote(key, qk, sizeof(qk)));
	else if (detail)
		sk_report(r->o.log, level, msg, "error=%s", log_quote(detail, qd, sizeof(qd)));
	else
		sk_report(r->o.log, level, msg, "%s", "");
}

int rec_read_ca_bundle(const char *path, char **out, size_t *len)
{
	return sk_read_file(path, CA_BUNDLE_MAX, out, len);
}

int rec_split_key(const char *key, char *ns, size_t nsz, char *name, size_t namesz)
{
	const char *slash = strchr(key, '/');

	if (!slash || (size_t)(slash - key) >= nsz || strlen(slash + 1) >= namesz)
		return -EINVAL;
	memcpy(ns, key, (size_t)(slash - key));
	ns[slash - key] = '\0';
	snprintf(name, namesz, "%s", slash + 1);
	return 0;
}

void rec_enqueue(struct reconciler *r, const char *key)
{
	if (kube_queue_add(r->q, key) < 0)
		rec_say(r, LOG_ERROR, "out of memory queueing", key, NULL);
}

void rec_enqueue_low(struct reconciler *r, const char *key)
{
	if (kube_queue_add_low(r->q, key) < 0)
		rec_say(r, LOG_ERROR, "out of memory queueing", key, NULL);
}

void rec_enqueue_first(struct reconciler *r, const char *key)
{
	if (kube_queue_add_first(r->q, key) < 0)
		rec_say(r, LOG_ERROR, "out of memory queueing", key, NULL);
}

/* A new app_work for key of queue q, or NULL (out of memory: key retried). */
static struct app_work *new_work(struct reconciler *r, struct kube_queue *q, const char *key)
{
	struct app_work *w = calloc(1, sizeof(*w));

	if (!w) {
		kube_queue_add_rate_limited(q, key, kube_now_ms());
		kube_queue_done(q, key);
		return NULL;
	}
	w->r = r;
	snprintf(w->key, sizeof(w->key), "%s", key);
	/* A guard write keeps w alive until the work has queued everything. */
	w->pending = 1;
	return w;
}

void reconciler_step(struct reconciler *r)
{
	struct app_work *w;
	const char *key;

	if (!reconciler_synced(r))
		return;
	while (r->in_progress < r->o.max_in_progress && (key = kube_queue_get(r->q, kube_now_ms()))) {
		if (!(w = new_work(r, r->q, key)))
			return;
		r->in_progress++;
		if (r->o.metrics) {
			w->started_ns = ctrl_metrics_now_ns();
			ctrl_metrics_reconcile_start(r->o.metrics, ctrl_metrics_controller_of(key, EXEC_PREFIX));
		}
		if (strncmp(key, EXEC_PREFIX, strlen(EXEC_PREFIX)) == 0)
			rec_reconcile_executor(r, w);
		else
			rec_reconcile_app(r, w);
		if (--w->pending == 0)
			rec_work_finish(w);
	}
	while (r->svc_in_progress < SVC_IN_PROGRESS && (key = kube_queue_get(r->svc_q, kube_now_ms()))) {
		if (!(w = new_work(r, r->svc_q, key)))
			return;
		w->service = true;
		r->svc_in_progress++;
		if (r->o.metrics) {
			w->started_ns = ctrl_metrics_now_ns();
			ctrl_metrics_reconcile_start(r->o.metrics, CM_SPINAPPSERVICE);
		}
		rec_reconcile_service(r, w);
		if (--w->pending == 0)
			rec_work_finish(w);
	}
}

/* When queue q has work due for a pool with room, as kube_queue_next_ms. */
static long pool_next_ms(const struct kube_queue *q, bool room, int64_t now)
{
	return room ? kube_queue_next_ms(q, now) : -1;
}

long reconciler_next_ms(const struct reconciler *r)
{
	int64_t now = kube_now_ms();

	if (!reconciler_synced(r))
		return -1;
	long a = pool_next_ms(r->q, r->in_progress < r->o.max_in_progress, now);
	long s = pool_next_ms(r->svc_q, r->svc_in_progress < SVC_IN_PROGRESS, now);
	return a < 0 ? s : s < 0 ? a : a < s ? a : s;
}

bool reconciler_synced(const struct reconciler *r)
{
	return kube_informer_synced(r->apps) && kube_informer_synced(r->execs) && kube_informer_synced(r->deps) &&
	       kube_informer_synced(r->svcs) && kube_informer_synced(r->secrets) && kube_informer_synced(r->cms) &&
	       kube_informer_synced(r->rss);
}

bool reconciler_idle(const struct reconciler *r)
{
	return r->in_progress == 0 && kube_queue_len(r->q) == 0 && r->svc_in_progress == 0 &&
	       kube_queue_len(r->svc_q) == 0;
}

void reconciler_get_stats(const struct reconciler *r, struct reconciler_stats *out)
{
	*out = r->stats;
}

int reconciler_new(struct kube_client *c, const struct reconciler_opts *opts, struct reconciler **out,
		   struct sk_error *err)
{
	struct reconciler *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return sk_err(err, -ENOMEM, "out of memory");
	r->c = c;
	if (opts)
		r->o = *opts;
	if (r->o.max_in_progress <= 0)
		r->o.max_in_progress = 32;
	if (!opts)
		r->o.resync_ms = 600000;
	if (r->o.resync_ms < 0)
		r->o.resync_ms = 0;
	char *bundle = NULL;
	size_t blen = 0;
	rc = rec_read_ca_bundle(r->o.ca_bundle_path ? r->o.ca_bundle_path : CA_BUNDLE_DEFAULT, &bundle, &blen);
	free(bundle);
	if (rc < 0)
		rec_say(r, LOG_WARN, "no system CA bundle; executors with installDefaultCACerts get no CA Secret", NULL,
			strerror(-rc));
	else
		r->ca_path = r->o.ca_bundle_path ? r->o.ca_bundle_path : CA_BUNDLE_DEFAULT;
	struct kube_queue_opts qo = { .base_delay_ms = 200, .max_delay_ms = 60000, .qps = 50, .burst = 500 };
	if (kube_queue_new(&qo, kube_now_ms(), &r->q) < 0 || kube_queue_new(&qo, kube_now_ms(), &r->svc_q) < 0) {
		reconciler_free(r);
		return sk_err(err, -ENOMEM, "out of memory");
	}
	if (r->o.metrics) {
		struct kube_queue_observer obs;
		ctrl_metrics_queue_observer(r->o.metrics, EXEC_PREFIX, &obs);
		kube_queue_observe(r->q, &obs);
		ctrl_metrics_queue_observer_of(r->o.metrics, CM_SPINAPPSERVICE, &obs);
		kube_queue_observe(r->svc_q, &obs);
		ctrl_metrics_set_max_concurrent(r->o.metrics, CM_SPINAPPSERVICE, SVC_IN_PROGRESS);
	}
	if ((rc = rec_start_informers(r, err)) < 0) {
		reconciler_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

void reconciler_free(struct reconciler *r)
{
	if (!r)
		return;
	kube_informer_stop(r->apps);
	kube_informer_stop(r->execs);
	kube_informer_stop(r->deps);
	kube_informer_stop(r->svcs);
	kube_informer_stop(r->secrets);
	kube_informer_stop(r->cms);
	kube_informer_stop(r->rss);
	packed_codec_free();
	kube_queue_free(r->q);
	kube_queue_free(r->svc_q);
	strmap_filter(&r->refs, rec_free_list_entry, NULL);
	strmap_filter(&r->app_refs, rec_free_list_entry, NULL);
	strmap_filter(&r->app_secrets, rec_free_list_entry, NULL);
	strmap_filter(&r->app_rss, rec_free_list_entry, NULL);
	strmap_filter(&r->last_reason, rec_free_plain_entry, NULL);
	strmap_filter(&r->blocked_executors, rec_free_plain_entry, NULL);
	strmap_filter(&r->ca_memo, rec_free_plain_entry, NULL);
	strmap_filter(&r->app_errors, rec_free_plain_entry, NULL);
	strmap_filter(&r->svc_errors, rec_free_plain_entry, NULL);
	strmap_filter(&r->svc_sent, rec_free_plain_entry, NULL);
	strmap_clear(&r->refs);
	strmap_clear(&r->app_refs);
	strmap_clear(&r->app_secrets);
	strmap_clear(&r->app_rss);
	strmap_clear(&r->last_reason);
	strmap_clear(&r->blocked_executors);
	strmap_clear(&r->ca_memo);
	strmap_clear(&r->app_errors);
	strmap_clear(&r->svc_errors);
	strmap_clear(&r->svc_sent);
	free(r);
}
