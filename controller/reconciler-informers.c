/* The reconciler's informers: what each one keeps of an object (its
 * projection: the compact JSON of apps and executors, the hashes and counts
 * of children) and what each event queues, so that a change anywhere brings
 * back exactly the apps it affects. Starting the seven informers lives here
 * too, beside the handler tables. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "common/strmap.h"
#include "controller/reconciler-internal.h"
#include "controller/render/render.h"

/* What a reconcile reads of a stored status: each condition's type,
 * status, reason and lastTransitionTime (Ready's reason for events, the
 * times kept while a condition's status stays). The whole status is only
 * compared with the one rendered, and for that its hash is kept beside.
 * A new object, or NULL when out of memory. */
static json_object *slim_status(json_object *status)
{
	static const char *const keep[] = { "type", "status", "reason", "lastTransitionTime" };
	json_object *out = json_object_new_object(), *conds = sk_json_arr(status, "conditions"), *arr;

	if (!out || !conds)
		return out;
	if (!(arr = json_object_new_array())) {
		json_object_put(out);
		return NULL;
	}
	sk_json_set(out, "conditions", arr);
	for (size_t i = 0; i < json_object_array_length(conds); i++) {
		json_object *c = json_object_array_get_idx(conds, i), *sc = json_object_new_object();
		if (!sc)
			break;
		for (size_t k = 0; k < sizeof(keep) / sizeof(keep[0]); k++) {
			const char *v = sk_json_str(c, keep[k]);
			if (v)
				sk_json_set_str(sc, keep[k], v);
		}
		json_object_array_add(arr, sc);
	}
	return out;
}

/* The compact JSON we keep of an app or executor: no managedFields, no
 * last-applied annotation, no creationTimestamp, the status slimmed (its
 * hash into status_hash, "" when it has none); an app's without its
 * resourceVersion (an executor's guards the finalizer's patch). Caller
 * frees. */
static struct packed *slim_json(json_object *obj, bool keep_version, char status_hash[17])
{
	json_object *copy = NULL, *meta, *status;
	struct packed *out = NULL;

	status_hash[0] = '\0';
	if (json_object_deep_copy(obj, &copy, NULL) < 0)
		return NULL;
	meta = sk_json_obj(copy, "metadata");
	if (meta) {
		json_object_object_del(meta, "managedFields");
		json_object_object_del(meta, "creationTimestamp");
		if (!keep_version)
			json_object_object_del(meta, "resourceVersion");
		json_object *ann = sk_json_obj(meta, "annotations");
		if (ann)
			json_object_object_del(ann, "kubectl.kubernetes.io/last-applied-configuration");
	}
	status = sk_json_obj(copy, "status");
	if (status) {
		json_object *slim = slim_status(status);
		render_object_hash(status, status_hash);
		if (!slim) {
			json_object_put(copy);
			return NULL;
		}
		sk_json_set(copy, "status", slim);
	}
	size_t len = 0;
	const char *s = sk_json_to_string(copy, &len);
	out = s ? packed_new(s, len) : NULL;
	json_object_put(copy);
	return out;
}

/* A hash of an object's data (Secrets, ConfigMaps), for change detection. */
static void data_hash(json_object *obj, char out[17])
{
	json_object *d = json_object_new_object();

	if (sk_json_obj(obj, "data"))
		sk_json_set(d, "data", json_object_get(sk_json_obj(obj, "data")));
	if (sk_json_obj(obj, "binaryData"))
		sk_json_set(d, "binaryData", json_object_get(sk_json_obj(obj, "binaryData")));
	render_object_hash(d, out);
	json_object_put(d);
}

static void copy_hash(json_object *obj, char out[17])
{
	const char *h = sk_json_str(obj, "metadata.annotations." SPIN_ANNOTATION_DESIRED_HASH);

	out[0] = '\0';
	if (!h)
		h = json_object_get_string(sk_json_getv(obj, "metadata", "annotations", SPIN_ANNOTATION_DESIRED_HASH, NULL));
	if (h)
		snprintf(out, 17, "%s", h);
}

/* --- informer handlers ---------------------------------------------------------- */

static void *project_obj_json(json_object *obj, bool executor)
{
	struct obj_json *p = calloc(1, sizeof(*p));
	int64_t g = 0;

	if (!p)
		return NULL;
	p->json = slim_json(obj, executor, p->status_hash);
	if (!p->json) {
		free(p);
		return NULL;
	}
	const char *ex = sk_json_str(obj, "spec.executor");
	/* An empty executor means the default, as the CRD says. */
	snprintf(p->executor, sizeof(p->executor), "%s", ex && *ex ? ex : "containerd-shim-spin");
	(void)sk_json_int64(obj, "metadata.generation", &g);
	p->generation = (long long)g;
	p->deleting = sk_json_get(obj, "metadata.deletionTimestamp") != NULL;
	return p;
}

static void *project_app(json_object *obj, void *ud)
{
	return project_obj_json(obj, false);
}

static void *project_exec(json_object *obj, void *ud)
{
	return project_obj_json(obj, true);
}

static void free_obj_json(void *p, void *ud)
{
	struct obj_json *o = p;

	if (o)
		free(o->json);
	free(o);
}

static void app_changed(const char *key, const void *p, void *ud)
{
	rec_enqueue(ud, key);
}

/* An update that leaves the generation alone changed only status or
 * metadata: mostly our own status write coming back, so it waits behind
 * apps that were created or changed. */
static void app_updated(const char *key, const void *old, const void *p, void *ud)
{
	const struct obj_json *o = old, *n = p;

	if (o && n && o->generation == n->generation && !n->deleting)
		rec_enqueue_low(ud, key);
	else
		rec_enqueue(ud, key);
}

static void app_deleted(const char *key, const void *old, void *ud)
{
	struct reconciler *r = ud;
	struct strlist *refs = strmap_remove(&r->app_refs, key);

	for (size_t i = 0; refs && i < refs->n; i++)
		rec_index_remove(&r->refs, refs->v[i], key);
	strlist_free(refs);
	free(strmap_remove(&r->last_reason, key));
	free(strmap_remove(&r->app_errors, key));
	free(strmap_remove(&r->svc_errors, key));
	free(strmap_remove(&r->svc_sent, key));
	/* An executor waiting on this app may now be deletable. */
	const struct obj_json *o = old;
	char ns[256], name[256], xkey[600];
	if (o->executor[0] && rec_split_key(key, ns, sizeof(ns), name, sizeof(name)) == 0) {
		snprintf(xkey, sizeof(xkey), EXEC_PREFIX "%s/%s", ns, o->executor);
		rec_enqueue(r, xkey);
	}
}

/* Every app in namespace ns that names executor exec. */
struct exec_scan {
	struct reconciler *r;
	const char *ns;
	size_t nslen;
	const char *exec;
	size_t count;
	bool enqueue;
};

static void scan_app(const char *key, const void *p, void *ud)
{
	struct exec_scan *s = ud;
	const struct obj_json *o = p;

	if (strncmp(key, s->ns, s->nslen) != 0 || key[s->nslen] != '/' || strcmp(o->executor, s->exec) != 0)
		return;
	s->count++;
	if (s->enqueue)
		rec_enqueue(s->r, key);
}

size_t rec_apps_using(struct reconciler *r, const char *ns, const char *exec, bool and_enqueue)
{
	struct exec_scan s = { r, ns, strlen(ns), exec, 0, and_enqueue };

	kube_informer_foreach(r->apps, scan_app, &s);
	return s.count;
}

static void exec_touched(struct reconciler *r, const char *key)
{
	char ns[256], name[256], xkey[600];

	if (rec_split_key(key, ns, sizeof(ns), name, sizeof(name)) < 0)
		return;
	snprintf(xkey, sizeof(xkey), EXEC_PREFIX "%s", key);
	rec_enqueue(r, xkey);
	rec_apps_using(r, ns, name, true);
}

static void exec_added(const char *key, const void *p, void *ud)
{
	exec_touched(ud, key);
}

static void exec_updated(const char *key, const void *old, const void *p, void *ud)
{
	const struct obj_json *a = old, *b = p;

	if (!packed_equal(a->json, b->json))
		exec_touched(ud, key);
}

static void exec_deleted(const char *key, const void *old, void *ud)
{
	exec_touched(ud, key);
}

static void *project_dep(json_object *obj, void *ud)
{
	struct dep_obj *d = calloc(1, sizeof(*d));
	json_object *conds;

	if (!d)
		return NULL;
	copy_hash(obj, d->hash);
	(void)sk_json_int64(obj, "spec.replicas", &d->spec_replicas);
	(void)sk_json_int64(obj, "status.replicas", &d->replicas);
	(void)sk_json_int64(obj, "status.readyReplicas", &d->ready);
	(void)sk_json_int64(obj, "status.updatedReplicas", &d->updated);
	(void)sk_json_int64(obj, "status.availableReplicas", &d->available);
	(void)sk_json_int64(obj, "metadata.generation", &d->generation);
	(void)sk_json_int64(obj, "status.observedGeneration", &d->observed);
	/* Of the conditions, what the app's status copies: Available's and
	 * Progressing's status, reason and message. */
	conds = sk_json_arr(obj, "status.conditions");
	if (conds) {
		_cleanup_json_ json_object *keep = json_object_new_array();
		for (size_t i = 0; keep && i < json_object_array_length(conds); i++) {
			json_object *c = json_object_array_get_idx(conds, i), *kc;
			const char *t = sk_json_str(c, "type");
			if (!t || (strcmp(t, "Available") != 0 && strcmp(t, "Progressing") != 0) ||
			    !(kc = json_object_new_object()))
				continue;
			static const char *const fields[] = { "type", "status", "reason", "message" };
			for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++)
				if (sk_json_str(c, fields[k]))
					sk_json_set_str(kc, fields[k], sk_json_str(c, fields[k]));
			json_object_array_add(keep, kc);
		}
		size_t len = 0;
		const char *s = keep ? sk_json_to_string(keep, &len) : NULL;
		d->conditions = s ? packed_new(s, len) : NULL;
	}
	return d;
}

static void free_dep(void *p, void *ud)
{
	struct dep_obj *d = p;

	if (d)
		free(d->conditions);
	free(d);
}

/* Deployments and Services are named like their app. A Deployment's
 * change is what the app's status follows, so the app goes first. */
static void dep_changed(const char *key, const void *p, void *ud)
{
	struct reconciler *r = ud;

	if (kube_informer_get(r->apps, key))
		rec_enqueue_first(r, key);
}

static void dep_updated(const char *key, const void *old, const void *p, void *ud)
{
	dep_changed(key, p, ud);
}

static void dep_deleted(const char *key, const void *old, void *ud)
{
	dep_changed(key, old, ud);
}

/* Whether key's Ready condition last said it waits for its Service. */
static bool waits_for_service(struct reconciler *r, const char *key)
{
	const struct ready_memo *m = strmap_get(&r->last_reason, key);

	return m && strcmp(m->reason, "ServiceNotReady") == 0;
}

/* Mostly the echo of our own apply, so the app waits behind new work and
 * only checks it is in place; but an app whose Ready waits for this
 * Service goes first, as for its Deployment. */
static void svc_changed(const char *key, const void *p, void *ud)
{
	struct reconciler *r = ud;
	const struct small_obj *s = p;

	rec_service_seen(r, key, s->hash);
	if (!kube_informer_get(r->apps, key))
		return;
	if (waits_for_service(r, key))
		rec_enqueue_first(r, key);
	else
		rec_enqueue_low(r, key);
}

static void svc_updated(const char *key, const void *old, const void *p, void *ud)
{
	svc_changed(key, p, ud);
}

static void svc_deleted(const char *key, const void *old, void *ud)
{
	struct reconciler *r = ud;

	/* Ready now waits for it again. */
	rec_service_seen(r, key, NULL);
	if (kube_informer_get(r->apps, key))
		rec_enqueue(r, key);
}

static void *project_small(json_object *obj, void *ud)
{
	struct small_obj *s = calloc(1, sizeof(*s));
	const char *app;

	if (!s)
		return NULL;
	copy_hash(obj, s->hash);
	data_hash(obj, s->data_hash);
	app = json_object_get_string(sk_json_getv(obj, "metadata", "labels", SPIN_LABEL_APP_NAME, NULL));
	if (app && !(s->app = strdup(app))) {
		free(s);
		return NULL;
	}
	return s;
}

static void free_small(void *p, void *ud)
{
	struct small_obj *s = p;

	if (s)
		free(s->app);
	free(s);
}

static void secret_added(const char *key, const void *p, void *ud)
{
	struct reconciler *r = ud;
	const struct small_obj *s = p;
	char ak[600];

	if (rec_owner_key(key, s->app, ak, sizeof(ak)))
		rec_index_add(&r->app_secrets, ak, key);
	rec_refs_touched(r, "Secret", key);
}

static void secret_updated(const char *key, const void *old, const void *p, void *ud)
{
	const struct small_obj *a = old, *b = p;

	if (strcmp(a->data_hash, b->data_hash) != 0)
		rec_refs_touched(ud, "Secret", key);
}

static void secret_deleted(const char *key, const void *old, void *ud)
{
	struct reconciler *r = ud;
	const struct small_obj *s = old;
	struct ca_memo *m = strmap_get(&r->ca_memo, key);
	char ak[600];

	if (m)
		m->sent_ms = 0;

	if (rec_owner_key(key, s->app, ak, sizeof(ak))) {
		rec_index_remove(&r->app_secrets, ak, key);
		if (kube_informer_get(r->apps, ak))
			rec_enqueue(r, ak);
	}
	rec_refs_touched(r, "Secret", key);
}

static void cm_added(const char *key, const void *p, void *ud)
{
	rec_refs_touched(ud, "ConfigMap", key);
}

static void cm_updated(const char *key, const void *old, const void *p, void *ud)
{
	const struct small_obj *a = old, *b = p;

	if (strcmp(a->data_hash, b->data_hash) != 0)
		rec_refs_touched(ud, "ConfigMap", key);
}

static void cm_deleted(const char *key, const void *old, void *ud)
{
	rec_refs_touched(ud, "ConfigMap", key);
}

static void *project_rs(json_object *obj, void *ud)
{
	struct rs_obj *s = calloc(1, sizeof(*s));
	json_object *vols = sk_json_arr(obj, "spec.template.spec.volumes");
	const char *app = json_object_get_string(sk_json_getv(obj, "metadata", "labels", SPIN_LABEL_APP_NAME, NULL));

	if (!s)
		return NULL;
	s->app = app ? strdup(app) : NULL;
	for (size_t i = 0; vols && i < json_object_array_length(vols); i++) {
		json_object *v = json_object_array_get_idx(vols, i);
		const char *n = sk_json_str(v, "name"), *sn = sk_json_str(v, "secret.secretName");
		if (n && sn && strcmp(n, "spin-runtime-config") == 0)
			s->rc_secret = strdup(sn);
	}
	return s;
}

static void free_rs(void *p, void *ud)
{
	struct rs_obj *s = p;

	if (s) {
		free(s->app);
		free(s->rc_secret);
	}
	free(s);
}

static void rs_added(const char *key, const void *p, void *ud)
{
	struct reconciler *r = ud;
	const struct rs_obj *s = p;
	char ak[600];

	if (rec_owner_key(key, s->app, ak, sizeof(ak)))
		rec_index_add(&r->app_rss, ak, key);
}

static void rs_updated(const char *key, const void *old, const void *p, void *ud)
{
}

static void rs_deleted(const char *key, const void *old, void *ud)
{
	struct reconciler *r = ud;
	const struct rs_obj *s = old;
	char ak[600];

	if (rec_owner_key(key, s->app, ak, sizeof(ak))) {
		rec_index_remove(&r->app_rss, ak, key);
		/* A Secret only that ReplicaSet used may go now. */
		if (kube_informer_get(r->apps, ak))
			rec_enqueue(r, ak);
	}
}

static void resync_app(const char *key, const void *p, void *ud)
{
	rec_enqueue_low(ud, key);
}

static void informer_error(const struct sk_error *err, long retry_ms, void *ud)
{
	struct reconciler *r = ud;

	rec_say(r, LOG_WARN, "watch failed; retrying", NULL, err->message);
}

/* The seven informers: apps (with the periodic resync), executors, and the
 * objects apps own or reference. */
int rec_start_informers(struct reconciler *r, struct sk_error *err)
{
	struct kube_client *c = r->c;
	int rc;
	struct kube_informer_handlers happ = { project_app, free_obj_json, app_changed, app_updated, app_deleted,
					      resync_app, informer_error };
	struct kube_informer_handlers hexe = { project_exec, free_obj_json, exec_added, exec_updated,
					      exec_deleted, NULL, informer_error };
	struct kube_informer_handlers hdep = { project_dep, free_dep, dep_changed, dep_updated, dep_deleted,
					      NULL, informer_error };
	struct kube_informer_handlers hsvc = { project_small, free_small, svc_changed, svc_updated, svc_deleted,
					      NULL, informer_error };
	struct kube_informer_handlers hsec = { project_small, free_small, secret_added, secret_updated,
					      secret_deleted, NULL, informer_error };
	struct kube_informer_handlers hcm = { project_small, free_small, cm_added, cm_updated, cm_deleted, NULL,
					     informer_error };
	struct kube_informer_handlers hrs = { project_rs, free_rs, rs_added, rs_updated, rs_deleted, NULL,
					     informer_error };
	struct kube_watch_opts wapp = { .res = &REC_SPINAPPS }, wexe = { .res = &REC_EXECUTORS };
	struct kube_watch_opts wdep = { .res = &KUBE_DEPLOYMENTS, .label_selector = SPIN_LABEL_APP_NAME };
	struct kube_watch_opts wsvc = { .res = &KUBE_SERVICES, .label_selector = SPIN_LABEL_APP_NAME };
	struct kube_watch_opts wsec = { .res = &KUBE_SECRETS };
	struct kube_watch_opts wcm = { .res = &REC_CONFIGMAPS };
	struct kube_watch_opts wrs = { .res = &KUBE_REPLICASETS, .label_selector = SPIN_LABEL_APP_NAME };
	if ((rc = kube_informer_start(c, &wapp, r->o.resync_ms, &happ, r, &r->apps, err)) < 0 ||
	    (rc = kube_informer_start(c, &wexe, 0, &hexe, r, &r->execs, err)) < 0 ||
	    (rc = kube_informer_start(c, &wdep, 0, &hdep, r, &r->deps, err)) < 0 ||
	    (rc = kube_informer_start(c, &wsvc, 0, &hsvc, r, &r->svcs, err)) < 0 ||
	    (rc = kube_informer_start(c, &wsec, 0, &hsec, r, &r->secrets, err)) < 0 ||
	    (rc = kube_informer_start(c, &wcm, 0, &hcm, r, &r->cms, err)) < 0 ||
	    (rc = kube_informer_start(c, &wrs, 0, &hrs, r, &r->rss, err)) < 0)
		return rc;
	return 0;
}
