/* The reconciler's writes: server-side applies, deletes, status patches and
 * Events, each counted on the app_work it belongs to, and what happens when
 * the last of them comes back (requeue with backoff and keep the error for
 * the Ready condition, or forget the key). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "common/strmap.h"
#include "controller/reconciler-internal.h"
#include "controller/render/render.h"

/* --- helpers ------------------------------------------------------------------- */

void rec_now_rfc3339(char buf[32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A reconcile ends: counted as controller-runtime counts its results. A
 * failed write is an error; a conflict (the cache was behind) is retried
 * with backoff like a requeue, not reported as an error. */
static void count_reconcile(struct app_work *w)
{
	struct reconciler *r = w->r;
	enum cm_result res = CM_SUCCESS;

	if (!r->o.metrics)
		return;
	if (w->failed)
		res = w->conflict ? CM_REQUEUE : CM_ERROR;
	ctrl_metrics_reconcile_end(r->o.metrics,
				   w->service ? CM_SPINAPPSERVICE : ctrl_metrics_controller_of(w->key, EXEC_PREFIX), res,
				   (double)(ctrl_metrics_now_ns() - w->started_ns) / 1e9);
}

void rec_work_finish(struct app_work *w)
{
	struct reconciler *r = w->r;

	if (w->service) {
		/* The Services' pool: its own queue, backoff, errors and
		 * metrics (controller spinapp-service). */
		count_reconcile(w);
		rec_service_finished(w);
		if (w->failed) {
			rec_say(r, LOG_WARN, w->conflict ? "write conflict; retrying" : "Service apply failed; retrying",
				w->key, w->first_error);
			kube_queue_add_rate_limited(r->svc_q, w->key, kube_now_ms());
		} else {
			kube_queue_forget(r->svc_q, w->key);
		}
		kube_queue_done(r->svc_q, w->key);
		r->svc_in_progress--;
		free(w);
		return;
	}
	count_reconcile(w);
	if (w->failed) {
		rec_say(r, LOG_WARN, w->conflict ? "write conflict; retrying" : "reconcile failed; retrying", w->key,
		    w->first_error);
		kube_queue_add_rate_limited(r->q, w->key, kube_now_ms());
		if (!w->conflict) {
			char *msg = strdup(w->first_error), *prev = NULL;
			if (msg && strmap_put(&r->app_errors, w->key, msg, (void **)&prev))
				free(prev);
			else
				free(msg);
		}
	} else {
		kube_queue_forget(r->q, w->key);
		free(strmap_remove(&r->app_errors, w->key));
	}
	kube_queue_done(r->q, w->key);
	r->in_progress--;
	free(w);
}

static void write_done(int rc, struct kube_response *resp, const struct sk_error *err, void *ud)
{
	struct app_work *w = ud;

	/* Deleting what is already gone is what we wanted. */
	if (rc < 0 && rc != -ENOENT) {
		w->r->stats.write_errors++;
		if (!w->failed++)
			snprintf(w->first_error, sizeof(w->first_error), "%s", err ? err->message : "write failed");
		if (rc == -ESTALE)
			w->conflict = true;
	}
	if (--w->pending == 0)
		rec_work_finish(w);
}

/* Send one write for w. body may be NULL (DELETE). */
void rec_send_write(struct app_work *w, const char *method, const char *path, const char *body,
		       const char *content_type)
{
	struct kube_request req = { .method = method, .path = path, .body = body,
				    .body_len = body ? strlen(body) : 0, .content_type = content_type };

	w->r->stats.writes++;
	w->pending++;
	if (kube_client_do(w->r->c, &req, write_done, w) < 0) {
		struct sk_error e = { 0 };
		sk_err(&e, -ENOMEM, "%s %s: cannot queue the request", method, path);
		write_done(-ENOMEM, NULL, &e, w);
	}
}

/* Server-side apply obj (force, our field manager). */
void rec_apply(struct app_work *w, const struct kube_resource *res, const char *ns, const char *name,
		      json_object *obj)
{
	struct kube_query q = { .field_manager = SPIN_FIELD_MANAGER, .force = true };
	_cleanup_free_ char *path = NULL;

	if (kube_path(res, ns, name, NULL, &q, &path, NULL) < 0)
		return;
	rec_send_write(w, "PATCH", path, sk_json_to_string(obj, NULL), "application/apply-patch+yaml");
}

void rec_delete(struct app_work *w, const struct kube_resource *res, const char *ns, const char *name)
{
	_cleanup_free_ char *path = NULL;

	if (kube_path(res, ns, name, NULL, NULL, &path, NULL) < 0)
		return;
	rec_send_write(w, "DELETE", path, "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\",\"propagationPolicy\":\"Background\"}",
		   NULL);
}

/* Post a core/v1 Event about obj. */
void rec_post_event(struct app_work *w, json_object *obj, const char *type, const char *reason,
		       const char *message)
{
	_cleanup_json_ json_object *ev = json_object_new_object();
	_cleanup_free_ char *path = NULL;
	const char *ns = sk_json_str(obj, "metadata.namespace"), *name = sk_json_str(obj, "metadata.name");
	char now[32], gen[300];

	if (!ev || !ns || !name)
		return;
	rec_now_rfc3339(now);
	snprintf(gen, sizeof(gen), "%s.", name);
	sk_json_set_str(ev, "apiVersion", "v1");
	sk_json_set_str(ev, "kind", "Event");
	json_object *meta = sk_json_ensure_obj(ev, "metadata");
	sk_json_set_str(meta, "generateName", gen);
	sk_json_set_str(meta, "namespace", ns);
	json_object *inv = sk_json_ensure_obj(ev, "involvedObject");
	sk_json_set_str(inv, "apiVersion", sk_json_str(obj, "apiVersion") ? sk_json_str(obj, "apiVersion") : "");
	sk_json_set_str(inv, "kind", sk_json_str(obj, "kind") ? sk_json_str(obj, "kind") : "");
	sk_json_set_str(inv, "name", name);
	sk_json_set_str(inv, "namespace", ns);
	if (sk_json_str(obj, "metadata.uid"))
		sk_json_set_str(inv, "uid", sk_json_str(obj, "metadata.uid"));
	sk_json_set_str(ev, "type", type);
	sk_json_set_str(ev, "reason", reason);
	sk_json_set_str(ev, "message", message);
	sk_json_set_str(sk_json_ensure_obj(ev, "source"), "component", "spin-controller");
	sk_json_set_str(ev, "reportingComponent", "spin-controller");
	sk_json_set_str(ev, "firstTimestamp", now);
	sk_json_set_str(ev, "lastTimestamp", now);
	sk_json_set_int64(ev, "count", 1);
	if (kube_path(&KUBE_EVENTS, ns, NULL, NULL, NULL, &path, NULL) < 0)
		return;
	w->r->stats.events++;
	rec_send_write(w, "POST", path, sk_json_to_string(ev, NULL), NULL);
}

/* --- reconcile an app --------------------------------------------------------------- */

/* Apply obj when its rendered hash differs from what the cache holds.
 * Returns true when it sent the apply. */
bool rec_apply_if_changed(struct app_work *w, const struct kube_resource *res, const char *ns, const char *name,
			     json_object *obj, const char *cached_hash)
{
	char hash[17];

	render_object_hash(obj, hash);
	if (cached_hash && strcmp(cached_hash, hash) == 0)
		return false;
	json_object *ann = sk_json_ensure_obj(sk_json_ensure_obj(obj, "metadata"), "annotations");
	if (ann)
		sk_json_set_str(ann, SPIN_ANNOTATION_DESIRED_HASH, hash);
	rec_apply(w, res, ns, name, obj);
	return true;
}

/* Delete runtime-config Secrets of the app that neither the current
 * Deployment nor any ReplicaSet mounts. */
