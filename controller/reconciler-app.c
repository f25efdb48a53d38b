/* One reconcile of a SpinApp, as steps that read top to bottom: load the
 * app and its executor, check what it references, render and apply its
 * children (runtime-config Secret, Deployment, Service, CA Secret), delete
 * unused runtime-config Secrets, then write the status when it changed and
 * post an Event when the Ready reason did. The Service is queued for the
 * Services' own pool (reconciler-service.c) rather than applied here. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/cleanup.h"
#include "common/json.h"
#include "common/strmap.h"
#include "controller/reconciler-internal.h"
#include "controller/render/render.h"
#include "controller/status.h"

static int lookup_value(void *ud, const char *kind, const char *name, const char *key, char **value)
{
	struct app_work *w = ud;
	char ns[256], app[256];
	_cleanup_json_ json_object *obj = NULL;
	const char *v;

	if (rec_split_key(w->key, ns, sizeof(ns), app, sizeof(app)) < 0)
		return -EINVAL;
	if (kube_get(w->r->c, strcmp(kind, "Secret") == 0 ? &KUBE_SECRETS : &KUBE_CONFIGMAPS, ns, name, NULL, &obj,
		     NULL) < 0)
		return -ENOENT;
	v = json_object_get_string(sk_json_getv(obj, "data", key, NULL));
	if (!v)
		return -ENOENT;
	if (strcmp(kind, "Secret") != 0) {
		*value = strdup(v);
		return *value ? 0 : -ENOMEM;
	}
	/* Secret data is base64. */
	unsigned char *out = NULL;
	size_t n = 0;
	int r = sk_base64_decode(v, strlen(v), 0, &out, &n);
	if (r < 0)
		return r;
	*value = (char *)out;
	return 0;
}

static void cleanup_secrets(struct app_work *w, const char *ns, const char *current)
{
	struct reconciler *r = w->r;
	struct strlist *secrets = strmap_get(&r->app_secrets, w->key);
	struct strlist *rss = strmap_get(&r->app_rss, w->key);
	char name[256], sns[256];

	for (size_t i = 0; secrets && i < secrets->n; i++) {
		const char *sk = secrets->v[i];
		bool used = false;
		if (rec_split_key(sk, sns, sizeof(sns), name, sizeof(name)) < 0 || (current && strcmp(name, current) == 0))
			continue;
		for (size_t j = 0; rss && j < rss->n && !used; j++) {
			const struct rs_obj *rs = kube_informer_get(r->rss, rss->v[j]);
			used = rs && rs->rc_secret && strcmp(rs->rc_secret, name) == 0;
		}
		if (!used)
			rec_delete(w, &KUBE_SECRETS, ns, name);
	}
}

/* The CA Secret ns/name rendered from the bundle file as it is now, its
 * hash annotation set and its hash into hash. NULL when the file cannot be
 * read or the render fails. */
static json_object *render_ca(struct reconciler *r, const char *ns, const char *name, char hash[17])
{
	_cleanup_free_ char *bundle = NULL;
	size_t len = 0;
	json_object *ca = NULL;

	if (rec_read_ca_bundle(r->ca_path, &bundle, &len) < 0 || render_ca_secret(ns, name, bundle, len, &ca, NULL) < 0)
		return NULL;
	render_object_hash(ca, hash);
	json_object *ann = sk_json_ensure_obj(sk_json_ensure_obj(ca, "metadata"), "annotations");
	if (ann)
		sk_json_set_str(ann, SPIN_ANNOTATION_DESIRED_HASH, hash);
	return ca;
}

/* The CA Secret of a namespace: rendered and hashed once, sent once, and
 * again only when the cached copy stops matching (deleted, edited). */
static void ensure_ca_secret(struct app_work *w, const char *ns, const char *name)
{
	struct reconciler *r = w->r;
	struct ca_memo *m;
	char key[600];
	_cleanup_json_ json_object *ca = NULL;

	if (!name || !*name)
		name = SPIN_CA_SECRET_DEFAULT;
	snprintf(key, sizeof(key), "%s/%s", ns, name);
	m = strmap_get(&r->ca_memo, key);
	if (!m) {
		if (!(m = calloc(1, sizeof(*m))) || !strmap_put(&r->ca_memo, key, m, NULL)) {
			free(m);
			return;
		}
		if (!(ca = render_ca(r, ns, name, m->hash)))
			return;
	}
	const struct small_obj *cs = kube_informer_get(r->secrets, key);
	if (cs && strcmp(cs->hash, m->hash) == 0) {
		m->sent_ms = 0; /* in place: a later change must be sent again */
		return;
	}
	/* Sent a moment ago and the informer has not seen it yet; after 30 s
	 * (a failed write) it goes again. */
	if (m->sent_ms && kube_now_ms() - m->sent_ms < 30000)
		return;
	/* The bundle file may have changed since the memo was made: what is
	 * sent carries the hash of what is sent. */
	if (!ca && !(ca = render_ca(r, ns, name, m->hash)))
		return;
	rec_apply(w, &KUBE_SECRETS, ns, name, ca);
	m->sent_ms = kube_now_ms();
}

/* One pass of rec_reconcile_app: what the steps below read and fill in. */
struct app_pass {
	struct reconciler *r;
	struct app_work *w;
	const struct obj_json *p; /* the app's projection (borrowed from the informer) */
	json_object *app, *exec;  /* parsed; owned (exec NULL when missing) */
	char ns[256], name[256];
	char refs_hash[17];       /* of everything the app references; "" for nothing */
	bool manages;             /* the executor creates Deployments */
	bool deployment_sent;
	const char *problem;      /* the Ready reason of what stops this pass, or NULL */
	char problem_msg[600];
};

__attribute__((format(printf, 3, 4))) static void set_problem(struct app_pass *a, const char *reason,
							       const char *fmt, ...)
{
	va_list ap;

	a->problem = reason;
	va_start(ap, fmt);
	(void)vsnprintf(a->problem_msg, sizeof(a->problem_msg), fmt, ap);
	va_end(ap);
}

/* The app from the cache, unless it is gone or going. -1: nothing to do. */
static int load_app(struct app_pass *a)
{
	struct reconciler *r = a->r;

	a->p = kube_informer_get(r->apps, a->w->key);
	if (!a->p || a->p->deleting || rec_split_key(a->w->key, a->ns, sizeof(a->ns), a->name, sizeof(a->name)) < 0)
		return -1;
	if (packed_parse(a->p->json, &a->app) < 0)
		return -1;
	r->stats.reconciles++;
	return 0;
}

/* The executor the app names: missing is a problem, one that does not
 * create Deployments forbids the Deployment's annotations. -1: its cached
 * JSON does not parse. */
static int load_executor(struct app_pass *a)
{
	char xkey[600];

	snprintf(xkey, sizeof(xkey), "%s/%s", a->ns, a->p->executor);
	const struct obj_json *xp = kube_informer_get(a->r->execs, xkey);
	if (!xp || xp->deleting)
		set_problem(a, "ExecutorNotFound",
			    "SpinAppExecutor \"%s\" does not exist in namespace %s: create it or change spec.executor",
			    a->p->executor, a->ns);
	else if (packed_parse(xp->json, &a->exec) < 0)
		return -1;
	a->manages = !a->exec || sk_json_bool(a->exec, "spec.createDeployment", true);
	if (a->exec && !a->manages &&
	    (sk_json_obj(a->app, "spec.deploymentAnnotations") || sk_json_obj(a->app, "spec.podAnnotations")))
		set_problem(a, "InvalidForExecutor",
			    "executor \"%s\" does not create Deployments: remove spec.deploymentAnnotations and "
			    "spec.podAnnotations",
			    a->p->executor);
	return 0;
}

/* Index what the app references; a missing required reference is a problem. */
static void check_refs(struct app_pass *a)
{
	char missing[512] = "";

	rec_collect_refs(a->r, a->app, a->w->key, a->ns, missing, sizeof(missing), a->refs_hash);
	if (!a->problem && missing[0])
		set_problem(a, "ReferenceNotFound", "%s", missing);
}

/* The runtime-config Secret: the one spec.runtimeConfig.loadFromSecret
 * names, or rendered (values looked up) and applied. *rc_name gets its
 * name (caller frees); a render failure is a problem. */
static void apply_runtime_config(struct app_pass *a, char **rc_name)
{
	_cleanup_free_ char *toml = NULL;
	_cleanup_json_ json_object *secret = NULL;
	const char *load = sk_json_str(a->app, "spec.runtimeConfig.loadFromSecret");
	struct sk_error err = { 0 };
	char sk[600];
	int rr;

	if (load) {
		*rc_name = strdup(load);
		return;
	}
	rr = render_runtime_config(a->app, lookup_value, a->w, &toml, &err);
	if (rr == 0)
		rr = render_runtime_config_secret(a->app, toml, &secret, rc_name, &err);
	if (rr < 0) {
		set_problem(a, rr == -ENOENT ? "ReferenceNotFound" : "InvalidSpec", "%s", err.message);
		return;
	}
	snprintf(sk, sizeof(sk), "%s/%s", a->ns, *rc_name);
	const struct small_obj *cs = kube_informer_get(a->r->secrets, sk);
	rec_apply_if_changed(a->w, &KUBE_SECRETS, a->ns, *rc_name, secret, cs ? cs->hash : NULL);
}

/* The Deployment when the executor creates one (a render failure is a
 * problem); otherwise the one we may have made before goes. */
static void apply_deployment(struct app_pass *a, const char *rc_name)
{
	struct reconciler *r = a->r;
	_cleanup_json_ json_object *dep = NULL;
	struct sk_error err = { 0 };

	if (!a->manages) {
		if (kube_informer_get(r->deps, a->w->key))
			rec_delete(a->w, &KUBE_DEPLOYMENTS, a->ns, a->name);
		return;
	}
	struct render_deployment_input in = { a->app, a->exec, rc_name, a->refs_hash[0] ? a->refs_hash : NULL };
	if (render_deployment(&in, &dep, &err) < 0) {
		set_problem(a, "InvalidSpec", "%s", err.message);
		return;
	}
	const struct dep_obj *cd = kube_informer_get(r->deps, a->w->key);
	a->deployment_sent = rec_apply_if_changed(a->w, &KUBE_DEPLOYMENTS, a->ns, a->name, dep, cd ? cd->hash : NULL);
}

/* Everything the app owns, in order; each step runs only while no problem
 * stopped the pass. */
static void apply_children(struct app_pass *a)
{
	struct reconciler *r = a->r;
	_cleanup_free_ char *rc_name = NULL;
	_cleanup_json_ json_object *svc = NULL;

	apply_runtime_config(a, &rc_name);
	if (a->problem)
		return;
	apply_deployment(a, rc_name);
	if (a->problem)
		return;
	/* The Service goes to its own pool (reconciler-service.c): this pass
	 * does not wait for its ClusterIP. */
	if (render_service(a->app, &svc, NULL) == 0)
		rec_service_check(r, a->w->key, svc);
	if (a->exec && sk_json_bool(a->exec, "spec.deploymentConfig.installDefaultCACerts", false) && r->ca_path)
		ensure_ca_secret(a->w, a->ns, sk_json_str(a->exec, "spec.deploymentConfig.caCertSecret"));
	cleanup_secrets(a->w, a->ns, rc_name);
}

/* The status as it should be now (a new object the caller puts). */
static json_object *render_status(struct app_pass *a)
{
	const struct dep_obj *d = kube_informer_get(a->r->deps, a->w->key);
	_cleanup_json_ json_object *dconds = NULL;
	char now[32];

	if (d && d->conditions)
		(void)packed_parse(d->conditions, &dconds);
	rec_now_rfc3339(now);
	struct status_input si = {
		.app = a->app,
		.dep = { .found = d != NULL,
			 .spec_replicas = d ? d->spec_replicas : 0,
			 .replicas = d ? d->replicas : 0,
			 .ready = d ? d->ready : 0,
			 .updated = d ? d->updated : 0,
			 .available = d ? d->available : 0,
			 .observed = d ? d->observed >= d->generation : false,
			 .conditions = dconds },
		.manages_deployment = a->manages,
		.service_missing = kube_informer_get(a->r->svcs, a->w->key) == NULL,
		.problem_reason = a->problem,
		.problem_message = a->problem ? a->problem_msg : NULL,
		.now = now,
	};
	return status_render(&si);
}

/* Patch the status subresource when status differs from the app's. A
 * change that leaves Ready as it was waits until STATUS_HOLD_MS after the
 * app's last status write (the pass comes back then), so that a rollout's
 * burst of Deployment updates is written once. True when sent. */
static bool write_status(struct app_pass *a, json_object *status)
{
	char h_new[17];
	/* The stored status is slim (its conditions' type, status, reason and
	 * time): enough for status_same_ready; the whole one is compared by
	 * the hash the projection kept. */
	json_object *old_status = sk_json_obj(a->app, "status");
	const struct ready_memo *m = strmap_get(&a->r->last_reason, a->w->key);
	int64_t now = kube_now_ms();

	render_object_hash(status, h_new);
	if (old_status && strcmp(h_new, a->p->status_hash) == 0)
		return false;
	long hold = status_hold_ms(status_same_ready(old_status, status), m ? m->written_ms : 0, now);
	if (hold > 0) {
		if (kube_queue_add_after(a->r->q, a->w->key, hold, now) < 0)
			rec_say(a->r, LOG_ERROR, "out of memory queueing", a->w->key, NULL);
		return false;
	}
	_cleanup_json_ json_object *patch = json_object_new_object();
	_cleanup_free_ char *path = NULL;
	sk_json_set(patch, "status", json_object_get(status));
	if (kube_path(&REC_SPINAPPS, a->ns, a->name, "status", NULL, &path, NULL) < 0)
		return false;
	rec_send_write(a->w, "PATCH", path, sk_json_to_string(patch, NULL), "application/merge-patch+json");
	return true;
}

/* The Ready condition in a conditions array, or NULL (borrowed). */
static json_object *ready_condition(json_object *conds)
{
	json_object *ready = NULL;

	for (size_t i = 0; conds && i < json_object_array_length(conds); i++)
		if (strcmp(sk_json_str(json_object_array_get_idx(conds, i), "type"), "Ready") == 0)
			ready = json_object_array_get_idx(conds, i);
	return ready;
}

/* Whether a Ready reason is just a rollout under way (nothing is wrong):
 * the Deployment on its way or its pods, or the Service. */
static bool rolling_out(const char *reason)
{
	return strcmp(reason, "DeploymentNotReady") == 0 || strcmp(reason, "DeploymentNotFound") == 0 ||
	       strcmp(reason, "ServiceNotReady") == 0;
}

/* An Event when the Ready reason changes, but not on the first sight of an
 * app whose stored status already has that reason (a restart), nor while a
 * rollout is under way (a new app's first status, or one step of a rollout
 * to the next, as Deployment ready to waiting for the Service: its Ready
 * event follows, and a Warning for every app created would be noise and
 * one write more per app); and the app's memo (reason, time of the last
 * status write) kept up to date. */
static void note_ready_reason(struct app_pass *a, json_object *status, bool sent)
{
	struct reconciler *r = a->r;
	json_object *ready = ready_condition(sk_json_arr(status, "conditions"));
	const char *reason = sk_json_str(ready, "reason");
	struct ready_memo *last = strmap_get(&r->last_reason, a->w->key), *m, *prev = NULL;
	int64_t written = sent ? kube_now_ms() : last ? last->written_ms : 0;

	if (!reason)
		return;
	if (last && strcmp(last->reason, reason) == 0) {
		last->written_ms = written;
		return;
	}
	const char *was = sk_json_str(ready_condition(sk_json_arr(a->app, "status.conditions")), "reason");
	if (was ? strcmp(was, reason) != 0 && !(rolling_out(was) && rolling_out(reason)) : !rolling_out(reason))
		rec_post_event(a->w, a->app, strcmp(sk_json_str(ready, "status"), "True") == 0 ? "Normal" : "Warning",
			       reason, sk_json_str(ready, "message") ? sk_json_str(ready, "message") : "");
	size_t len = strlen(reason);
	if (!(m = malloc(sizeof(*m) + len + 1)))
		return;
	m->written_ms = written;
	memcpy(m->reason, reason, len + 1);
	if (strmap_put(&r->last_reason, a->w->key, m, (void **)&prev))
		free(prev);
	else
		free(m);
}

/* Reconcile the app of w->key: check, apply its children, then the status
 * and the Ready Event. */
void rec_reconcile_app(struct reconciler *r, struct app_work *w)
{
	struct app_pass a = { .r = r, .w = w };
	_cleanup_json_ json_object *status = NULL;

	if (load_app(&a) < 0 || load_executor(&a) < 0)
		goto out;
	check_refs(&a);
	const char *failed_write = strmap_get(&r->app_errors, w->key);
	if (!failed_write)
		failed_write = strmap_get(&r->svc_errors, w->key);
	if (!a.problem)
		apply_children(&a);
	/* Status, written only when it changed, and not while the Deployment
	 * just sent is on its way: its informer event brings the app back here
	 * with the Deployment's real state, and one status write is saved. */
	if (a.deployment_sent && !failed_write)
		goto out;
	if (!a.problem && failed_write)
		set_problem(&a, "ApplyFailed", "%s", failed_write);
	status = render_status(&a);
	note_ready_reason(&a, status, write_status(&a, status));
out:
	json_object_put(a.app);
	json_object_put(a.exec);
}
