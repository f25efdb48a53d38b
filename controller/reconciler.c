/* The SpinApp reconciler (see reconciler.h). */
#include "controller/reconciler.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/kube/api.h"
#include "common/base64.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "controller/kube/informer.h"
#include "common/json.h"
#include "controller/kube/queue.h"
#include "controller/render/render.h"
#include "controller/status.h"
#include "common/strmap.h"

static const struct kube_resource SPINAPPS = { "core.spinkube.dev/v1alpha1", "spinapps", true };
static const struct kube_resource EXECUTORS = { "core.spinkube.dev/v1alpha1", "spinappexecutors", true };
static const struct kube_resource CONFIGMAPS_ALL = { "v1", "configmaps", true };

#define CA_BUNDLE_DEFAULT "/etc/ssl/certs/ca-certificates.crt"
#define CA_BUNDLE_MAX (8u << 20)
#define EXEC_PREFIX "x:" /* queue keys of executors; apps are plain ns/name */

/* --- cached projections ---------------------------------------------------------- */

/* SpinApps and executors: their compact JSON (no managedFields, no
 * last-applied annotation), and for apps the executor they name. */
struct obj_json {
	char *json;
	char executor[64];
	long long generation;
	bool deleting;
};

/* A Deployment: what status and no-op detection need. */
struct dep_obj {
	char hash[17];
	int64_t spec_replicas, replicas, ready, updated, available, generation, observed;
	char *conditions; /* compact JSON array, or NULL */
};

/* A Service, Secret or ConfigMap: our desired-hash annotation, a hash of the
 * data, and for runtime-config Secrets the app that owns them. */
struct small_obj {
	char hash[17];
	char data_hash[17];
	char *app; /* label core.spinkube.dev/app-name, or NULL */
};

/* What we know of one CA Secret (see struct reconciler). */
struct ca_memo {
	char hash[17];
	int64_t sent_ms; /* when we last sent it, 0: not since it was in place */
};

/* A ReplicaSet of an app: the runtime-config Secret its pods mount. */
struct rs_obj {
	char *app;
	char *rc_secret;
};

/* A list of strings, the value of an index entry. */
struct strlist {
	size_t n, cap;
	char **v;
};

struct app_work; /* one reconcile in flight */

struct reconciler {
	struct kube_client *c;
	struct reconciler_opts o;
	struct kube_informer *apps, *execs, *deps, *svcs, *secrets, *cms, *rss;
	struct kube_queue *q;
	int in_progress;
	struct reconciler_stats stats;
	char *ca_bundle;
	size_t ca_len;
	char ca_hash[17];
	/* Indexes: "Secret/ns/name" -> app keys that reference it; app key -> its
	 * references; app key -> its runtime-config Secret keys; app key -> its
	 * ReplicaSet keys. */
	struct strmap refs, app_refs, app_secrets, app_rss;
	/* Last Ready reason seen per app key, for events on transitions. */
	struct strmap last_reason;
	struct strmap blocked_executors; /* executors we posted DeletionBlocked for */
	/* CA Secrets by "ns/name": the hash of their rendered form (the same for
	 * every app of the namespace) and whether we sent it, so that the
	 * bundle is rendered and sent once per namespace, not once per app. */
	struct strmap ca_memo;
	/* The last failed write of each app key (a message), until a reconcile
	 * of it succeeds: shown in its Ready condition. */
	struct strmap app_errors;
};

static void list_free(struct strlist *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	free(l);
}

static bool list_has(const struct strlist *l, const char *s)
{
	for (size_t i = 0; l && i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

/* Add value under key in a multimap (no duplicates). */
static int index_add(struct strmap *m, const char *key, const char *value)
{
	struct strlist *l = strmap_get(m, key);

	if (!l) {
		l = calloc(1, sizeof(*l));
		if (!l || !strmap_put(m, key, l, NULL)) {
			free(l);
			return -ENOMEM;
		}
	}
	if (list_has(l, value))
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		char **v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	if (!(l->v[l->n] = strdup(value)))
		return -ENOMEM;
	l->n++;
	return 0;
}

static void index_remove(struct strmap *m, const char *key, const char *value)
{
	struct strlist *l = strmap_get(m, key);

	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->v[i], value) == 0) {
			free(l->v[i]);
			l->v[i] = l->v[--l->n];
			break;
		}
	}
	if (l->n == 0)
		list_free(strmap_remove(m, key));
}

static int free_list_entry(struct strmap_entry *e, void *ud)
{
	list_free(e->value);
	return 1;
}

static int free_plain_entry(struct strmap_entry *e, void *ud)
{
	free(e->value);
	return 1;
}

/* --- helpers ------------------------------------------------------------------- */

static void now_rfc3339(char buf[32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void say(struct reconciler *r, int level, const char *msg, const char *key, const char *detail)
{
	if (r->o.log)
		r->o.log(level, msg, key, detail, r->o.log_ud);
}

/* The namespace and name of "ns/name" into buffers. */
static int split_key(const char *key, char *ns, size_t nsz, char *name, size_t namesz)
{
	const char *slash = strchr(key, '/');

	if (!slash || (size_t)(slash - key) >= nsz || strlen(slash + 1) >= namesz)
		return -EINVAL;
	memcpy(ns, key, (size_t)(slash - key));
	ns[slash - key] = '\0';
	snprintf(name, namesz, "%s", slash + 1);
	return 0;
}

/* The compact JSON we keep of an app or executor. Caller frees. */
static char *slim_json(json_object *obj)
{
	json_object *copy = NULL, *meta;
	char *out = NULL;

	if (json_object_deep_copy(obj, &copy, NULL) < 0)
		return NULL;
	meta = sk_json_obj(copy, "metadata");
	if (meta) {
		json_object_object_del(meta, "managedFields");
		json_object *ann = sk_json_obj(meta, "annotations");
		if (ann)
			json_object_object_del(ann, "kubectl.kubernetes.io/last-applied-configuration");
	}
	const char *s = sk_json_to_string(copy, NULL);
	out = s ? strdup(s) : NULL;
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

static void enqueue(struct reconciler *r, const char *key)
{
	if (kube_queue_add(r->q, key) < 0)
		say(r, 3, "out of memory queueing", key, NULL);
}

/* --- informer handlers ---------------------------------------------------------- */

static void *project_obj_json(json_object *obj, void *ud)
{
	struct obj_json *p = calloc(1, sizeof(*p));
	int64_t g = 0;

	if (!p)
		return NULL;
	p->json = slim_json(obj);
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

static void free_obj_json(void *p, void *ud)
{
	struct obj_json *o = p;

	if (o)
		free(o->json);
	free(o);
}

static void app_changed(const char *key, const void *p, void *ud)
{
	enqueue(ud, key);
}

static void app_updated(const char *key, const void *old, const void *p, void *ud)
{
	enqueue(ud, key);
}

static void app_deleted(const char *key, const void *old, void *ud)
{
	struct reconciler *r = ud;
	struct strlist *refs = strmap_remove(&r->app_refs, key);

	for (size_t i = 0; refs && i < refs->n; i++)
		index_remove(&r->refs, refs->v[i], key);
	list_free(refs);
	free(strmap_remove(&r->last_reason, key));
	free(strmap_remove(&r->app_errors, key));
	/* An executor waiting on this app may now be deletable. */
	const struct obj_json *o = old;
	char ns[256], name[256], xkey[600];
	if (o->executor[0] && split_key(key, ns, sizeof(ns), name, sizeof(name)) == 0) {
		snprintf(xkey, sizeof(xkey), EXEC_PREFIX "%s/%s", ns, o->executor);
		enqueue(r, xkey);
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
		enqueue(s->r, key);
}

static size_t apps_using(struct reconciler *r, const char *ns, const char *exec, bool and_enqueue)
{
	struct exec_scan s = { r, ns, strlen(ns), exec, 0, and_enqueue };

	kube_informer_foreach(r->apps, scan_app, &s);
	return s.count;
}

static void exec_touched(struct reconciler *r, const char *key)
{
	char ns[256], name[256], xkey[600];

	if (split_key(key, ns, sizeof(ns), name, sizeof(name)) < 0)
		return;
	snprintf(xkey, sizeof(xkey), EXEC_PREFIX "%s", key);
	enqueue(r, xkey);
	apps_using(r, ns, name, true);
}

static void exec_added(const char *key, const void *p, void *ud)
{
	exec_touched(ud, key);
}

static void exec_updated(const char *key, const void *old, const void *p, void *ud)
{
	const struct obj_json *a = old, *b = p;

	if (strcmp(a->json, b->json) != 0)
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
	conds = sk_json_arr(obj, "status.conditions");
	if (conds) {
		const char *s = sk_json_to_string(conds, NULL);
		d->conditions = s ? strdup(s) : NULL;
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

/* Deployments and Services are named like their app. */
static void child_changed(const char *key, const void *p, void *ud)
{
	struct reconciler *r = ud;

	if (kube_informer_get(r->apps, key))
		enqueue(r, key);
}

static void child_updated(const char *key, const void *old, const void *p, void *ud)
{
	child_changed(key, p, ud);
}

static void child_deleted(const char *key, const void *old, void *ud)
{
	child_changed(key, old, ud);
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

/* Apps that reference kind/key ("Secret/ns/name"). */
static void refs_touched(struct reconciler *r, const char *kind, const char *key)
{
	char rk[600];
	struct strlist *l;

	snprintf(rk, sizeof(rk), "%s/%s", kind, key);
	l = strmap_get(&r->refs, rk);
	for (size_t i = 0; l && i < l->n; i++)
		enqueue(r, l->v[i]);
}

/* The app key owning a runtime-config Secret ("ns/A-hash" with label A). */
static bool owner_key(const char *key, const char *app, char *out, size_t size)
{
	char ns[256], name[256];

	if (!app || split_key(key, ns, sizeof(ns), name, sizeof(name)) < 0)
		return false;
	snprintf(out, size, "%s/%s", ns, app);
	return true;
}

static void secret_added(const char *key, const void *p, void *ud)
{
	struct reconciler *r = ud;
	const struct small_obj *s = p;
	char ak[600];

	if (owner_key(key, s->app, ak, sizeof(ak)))
		index_add(&r->app_secrets, ak, key);
	refs_touched(r, "Secret", key);
}

static void secret_updated(const char *key, const void *old, const void *p, void *ud)
{
	const struct small_obj *a = old, *b = p;

	if (strcmp(a->data_hash, b->data_hash) != 0)
		refs_touched(ud, "Secret", key);
}

static void secret_deleted(const char *key, const void *old, void *ud)
{
	struct reconciler *r = ud;
	const struct small_obj *s = old;
	struct ca_memo *m = strmap_get(&r->ca_memo, key);
	char ak[600];

	if (m)
		m->sent_ms = 0;

	if (owner_key(key, s->app, ak, sizeof(ak))) {
		index_remove(&r->app_secrets, ak, key);
		if (kube_informer_get(r->apps, ak))
			enqueue(r, ak);
	}
	refs_touched(r, "Secret", key);
}

static void cm_added(const char *key, const void *p, void *ud)
{
	refs_touched(ud, "ConfigMap", key);
}

static void cm_updated(const char *key, const void *old, const void *p, void *ud)
{
	const struct small_obj *a = old, *b = p;

	if (strcmp(a->data_hash, b->data_hash) != 0)
		refs_touched(ud, "ConfigMap", key);
}

static void cm_deleted(const char *key, const void *old, void *ud)
{
	refs_touched(ud, "ConfigMap", key);
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

	if (owner_key(key, s->app, ak, sizeof(ak)))
		index_add(&r->app_rss, ak, key);
}

static void rs_updated(const char *key, const void *old, const void *p, void *ud)
{
}

static void rs_deleted(const char *key, const void *old, void *ud)
{
	struct reconciler *r = ud;
	const struct rs_obj *s = old;
	char ak[600];

	if (owner_key(key, s->app, ak, sizeof(ak))) {
		index_remove(&r->app_rss, ak, key);
		/* A Secret only that ReplicaSet used may go now. */
		if (kube_informer_get(r->apps, ak))
			enqueue(r, ak);
	}
}

static void resync_app(const char *key, const void *p, void *ud)
{
	enqueue(ud, key);
}

static void informer_error(const struct sk_error *err, long retry_ms, void *ud)
{
	struct reconciler *r = ud;

	say(r, 2, "watch failed; retrying", NULL, err->message);
}

/* --- writes ------------------------------------------------------------------------ */

/* One reconcile of an app (or executor) whose writes are in flight. */
struct app_work {
	struct reconciler *r;
	char key[600];
	int pending;
	int failed;
	bool conflict;
	char first_error[SK_ERR_MESSAGE_MAX];
};

static void work_finish(struct app_work *w)
{
	struct reconciler *r = w->r;

	if (w->failed) {
		say(r, 2, w->conflict ? "write conflict; retrying" : "reconcile failed; retrying", w->key,
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
		work_finish(w);
}

/* Send one write for w. body may be NULL (DELETE). */
static void send_write(struct app_work *w, const char *method, const char *path, const char *body,
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
static void apply_obj(struct app_work *w, const struct kube_resource *res, const char *ns, const char *name,
		      json_object *obj)
{
	struct kube_query q = { .field_manager = SPIN_FIELD_MANAGER, .force = true };
	_cleanup_free_ char *path = NULL;

	if (kube_path(res, ns, name, NULL, &q, &path, NULL) < 0)
		return;
	send_write(w, "PATCH", path, sk_json_to_string(obj, NULL), "application/apply-patch+yaml");
}

static void delete_obj(struct app_work *w, const struct kube_resource *res, const char *ns, const char *name)
{
	_cleanup_free_ char *path = NULL;

	if (kube_path(res, ns, name, NULL, NULL, &path, NULL) < 0)
		return;
	send_write(w, "DELETE", path, "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\",\"propagationPolicy\":\"Background\"}",
		   NULL);
}

/* Post a core/v1 Event about obj. */
static void post_event(struct app_work *w, json_object *obj, const char *type, const char *reason,
		       const char *message)
{
	_cleanup_json_ json_object *ev = json_object_new_object();
	_cleanup_free_ char *path = NULL;
	const char *ns = sk_json_str(obj, "metadata.namespace"), *name = sk_json_str(obj, "metadata.name");
	char now[32], gen[300];

	if (!ev || !ns || !name)
		return;
	now_rfc3339(now);
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
	send_write(w, "POST", path, sk_json_to_string(ev, NULL), NULL);
}

/* --- references ------------------------------------------------------------------ */

struct refs_ctx {
	struct reconciler *r;
	const char *ns;
	const char *app_key;
	struct strlist *seen;  /* "Kind/ns/name" */
	char missing[512];     /* first missing required reference */
};

/* Note one reference; remember the first required one that does not exist. */
static void note_ref(struct refs_ctx *x, const char *kind, json_object *ref, bool required)
{
	const char *name = sk_json_str(ref, "name");
	char key[600], rk[700];

	if (!name)
		return;
	snprintf(key, sizeof(key), "%s/%s", x->ns, name);
	snprintf(rk, sizeof(rk), "%s/%s", kind, key);
	if (!list_has(x->seen, rk)) {
		index_add(&x->r->refs, rk, x->app_key);
		if (x->seen->n == x->seen->cap) {
			size_t cap = x->seen->cap ? x->seen->cap * 2 : 8;
			char **v = realloc(x->seen->v, cap * sizeof(*v));
			if (!v)
				return;
			x->seen->v = v;
			x->seen->cap = cap;
		}
		x->seen->v[x->seen->n] = strdup(rk);
		if (x->seen->v[x->seen->n])
			x->seen->n++;
	}
	if (required && !x->missing[0] &&
	    !kube_informer_get(strcmp(kind, "Secret") == 0 ? x->r->secrets : x->r->cms, key))
		snprintf(x->missing, sizeof(x->missing), "%s \"%s\" does not exist in namespace %s", kind, name, x->ns);
}

static void note_value_from(struct refs_ctx *x, json_object *vf)
{
	json_object *s = sk_json_obj(vf, "secretKeyRef"), *c = sk_json_obj(vf, "configMapKeyRef");

	if (s)
		note_ref(x, "Secret", s, !sk_json_bool(s, "optional", false));
	if (c)
		note_ref(x, "ConfigMap", c, !sk_json_bool(c, "optional", false));
}

static void note_options(struct refs_ctx *x, json_object *opts)
{
	for (size_t i = 0; opts && i < json_object_array_length(opts); i++)
		note_value_from(x, sk_json_obj(json_object_array_get_idx(opts, i), "valueFrom"));
}

/* Collect the app's references into the index (replacing its old ones) and
 * hash what they hold now. */
static void collect_refs(struct reconciler *r, json_object *app, const char *key, const char *ns, char *missing,
			 size_t msize, char refs_hash[17])
{
	struct strlist *seen = calloc(1, sizeof(*seen)), *old;
	struct refs_ctx x = { r, ns, key, seen, "" };
	json_object *vars = sk_json_arr(app, "spec.variables"), *rc = sk_json_obj(app, "spec.runtimeConfig");
	struct sk_buf h = sk_buf_make(1u << 20);

	if (!seen)
		return;
	for (size_t i = 0; vars && i < json_object_array_length(vars); i++)
		note_value_from(&x, sk_json_obj(json_object_array_get_idx(vars, i), "valueFrom"));
	if (rc && sk_json_str(rc, "loadFromSecret")) {
		json_object *ref = json_object_new_object();
		sk_json_set_str(ref, "name", sk_json_str(rc, "loadFromSecret"));
		note_ref(&x, "Secret", ref, true);
		json_object_put(ref);
	} else if (rc) {
		json_object *stores[] = { sk_json_arr(rc, "keyValueStores"), sk_json_arr(rc, "sqliteDatabases") };
		for (size_t s = 0; s < 2; s++)
			for (size_t i = 0; stores[s] && i < json_object_array_length(stores[s]); i++)
				note_options(&x, sk_json_arr(json_object_array_get_idx(stores[s], i), "options"));
		note_options(&x, sk_json_arr(rc, "llmCompute.options"));
	}
	/* Drop index entries of references the app no longer has. */
	old = strmap_get(&r->app_refs, key);
	for (size_t i = 0; old && i < old->n; i++)
		if (!list_has(seen, old->v[i]))
			index_remove(&r->refs, old->v[i], key);
	old = NULL;
	strmap_put(&r->app_refs, key, seen, (void **)&old);
	list_free(old);
	/* The hash of everything referenced: a change there rolls the pods. */
	for (size_t i = 0; i < seen->n; i++) {
		const char *rk = seen->v[i];
		bool secret = strncmp(rk, "Secret/", 7) == 0;
		const struct small_obj *o = kube_informer_get(secret ? r->secrets : r->cms, strchr(rk, '/') + 1);
		sk_buf_append(&h, rk, strlen(rk));
		sk_buf_append(&h, "=", 1);
		if (o)
			sk_buf_append(&h, o->data_hash, strlen(o->data_hash));
		sk_buf_append(&h, "\n", 1);
	}
	refs_hash[0] = '\0';
	if (seen->n)
		render_hash(h.data, h.len, 16, refs_hash);
	sk_buf_free(&h);
	snprintf(missing, msize, "%s", x.missing);
}

/* Lookup of Secret and ConfigMap values for the runtime config: a GET each
 * (rare, and only when the runtime config changes). */
static int lookup_value(void *ud, const char *kind, const char *name, const char *key, char **value)
{
	struct app_work *w = ud;
	char ns[256], app[256];
	_cleanup_json_ json_object *obj = NULL;
	const char *v;

	if (split_key(w->key, ns, sizeof(ns), app, sizeof(app)) < 0)
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

/* --- reconcile an app --------------------------------------------------------------- */

/* Apply obj when its rendered hash differs from what the cache holds.
 * Returns true when it sent the apply. */
static bool apply_if_changed(struct app_work *w, const struct kube_resource *res, const char *ns, const char *name,
			     json_object *obj, const char *cached_hash)
{
	char hash[17];

	render_object_hash(obj, hash);
	if (cached_hash && strcmp(cached_hash, hash) == 0)
		return false;
	json_object *ann = sk_json_ensure_obj(sk_json_ensure_obj(obj, "metadata"), "annotations");
	if (ann)
		sk_json_set_str(ann, SPIN_ANNOTATION_DESIRED_HASH, hash);
	apply_obj(w, res, ns, name, obj);
	return true;
}

/* Delete runtime-config Secrets of the app that neither the current
 * Deployment nor any ReplicaSet mounts. */
static void cleanup_secrets(struct app_work *w, const char *ns, const char *current)
{
	struct reconciler *r = w->r;
	struct strlist *secrets = strmap_get(&r->app_secrets, w->key);
	struct strlist *rss = strmap_get(&r->app_rss, w->key);
	char name[256], sns[256];

	for (size_t i = 0; secrets && i < secrets->n; i++) {
		const char *sk = secrets->v[i];
		bool used = false;
		if (split_key(sk, sns, sizeof(sns), name, sizeof(name)) < 0 || (current && strcmp(name, current) == 0))
			continue;
		for (size_t j = 0; rss && j < rss->n && !used; j++) {
			const struct rs_obj *rs = kube_informer_get(r->rss, rss->v[j]);
			used = rs && rs->rc_secret && strcmp(rs->rc_secret, name) == 0;
		}
		if (!used)
			delete_obj(w, &KUBE_SECRETS, ns, name);
	}
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
		if (render_ca_secret(ns, name, r->ca_bundle, r->ca_len, &ca, NULL) < 0)
			return;
		render_object_hash(ca, m->hash);
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
	if (!ca && render_ca_secret(ns, name, r->ca_bundle, r->ca_len, &ca, NULL) < 0)
		return;
	json_object *ann = sk_json_ensure_obj(sk_json_ensure_obj(ca, "metadata"), "annotations");
	if (ann)
		sk_json_set_str(ann, SPIN_ANNOTATION_DESIRED_HASH, m->hash);
	apply_obj(w, &KUBE_SECRETS, ns, name, ca);
	m->sent_ms = kube_now_ms();
}

static void reconcile_app(struct reconciler *r, struct app_work *w)
{
	const struct obj_json *p = kube_informer_get(r->apps, w->key);
	_cleanup_json_ json_object *app = NULL, *exec = NULL;
	char ns[256], name[256], missing[512] = "", refs_hash[17] = "", xkey[600], now[32];
	const char *problem = NULL;
	char problem_msg[600] = "";
	bool manages = true, deployment_sent = false;
	struct sk_error err = { 0 };

	if (!p || p->deleting || split_key(w->key, ns, sizeof(ns), name, sizeof(name)) < 0)
		return;
	if (sk_json_parse(p->json, strlen(p->json), &app, NULL) < 0)
		return;
	r->stats.reconciles++;

	snprintf(xkey, sizeof(xkey), "%s/%s", ns, p->executor);
	const struct obj_json *xp = kube_informer_get(r->execs, xkey);
	if (!xp || xp->deleting) {
		problem = "ExecutorNotFound";
		snprintf(problem_msg, sizeof(problem_msg),
			 "SpinAppExecutor \"%s\" does not exist in namespace %s: create it or change spec.executor",
			 p->executor, ns);
	} else if (sk_json_parse(xp->json, strlen(xp->json), &exec, NULL) < 0) {
		return;
	}
	if (exec)
		manages = sk_json_bool(exec, "spec.createDeployment", true);
	if (exec && !manages &&
	    (sk_json_obj(app, "spec.deploymentAnnotations") || sk_json_obj(app, "spec.podAnnotations"))) {
		problem = "InvalidForExecutor";
		snprintf(problem_msg, sizeof(problem_msg),
			 "executor \"%s\" does not create Deployments: remove spec.deploymentAnnotations and "
			 "spec.podAnnotations", p->executor);
	}
	collect_refs(r, app, w->key, ns, missing, sizeof(missing), refs_hash);
	if (!problem && missing[0]) {
		problem = "ReferenceNotFound";
		snprintf(problem_msg, sizeof(problem_msg), "%s", missing);
	}
	const char *failed_write = strmap_get(&r->app_errors, w->key);

	/* Children. */
	if (!problem) {
		_cleanup_free_ char *toml = NULL, *rc_name = NULL;
		_cleanup_json_ json_object *secret = NULL, *dep = NULL, *svc = NULL;
		const char *load = sk_json_str(app, "spec.runtimeConfig.loadFromSecret");
		int rr = 0;

		if (load) {
			rc_name = strdup(load);
		} else {
			rr = render_runtime_config(app, lookup_value, w, &toml, &err);
			if (rr == 0)
				rr = render_runtime_config_secret(app, toml, &secret, &rc_name, &err);
			if (rr == 0) {
				char sk[600];
				snprintf(sk, sizeof(sk), "%s/%s", ns, rc_name);
				const struct small_obj *cs = kube_informer_get(r->secrets, sk);
				apply_if_changed(w, &KUBE_SECRETS, ns, rc_name, secret, cs ? cs->hash : NULL);
			}
		}
		if (rr < 0) {
			problem = rr == -ENOENT ? "ReferenceNotFound" : "InvalidSpec";
			snprintf(problem_msg, sizeof(problem_msg), "%s", err.message);
		}
		if (!problem && manages) {
			struct render_deployment_input in = { app, exec, rc_name, refs_hash[0] ? refs_hash : NULL };
			if (render_deployment(&in, &dep, &err) < 0) {
				problem = "InvalidSpec";
				snprintf(problem_msg, sizeof(problem_msg), "%s", err.message);
			} else {
				const struct dep_obj *cd = kube_informer_get(r->deps, w->key);
				deployment_sent = apply_if_changed(w, &KUBE_DEPLOYMENTS, ns, name, dep,
								   cd ? cd->hash : NULL);
			}
		} else if (!problem && kube_informer_get(r->deps, w->key)) {
			delete_obj(w, &KUBE_DEPLOYMENTS, ns, name);
		}
		if (!problem && render_service(app, &svc, &err) == 0) {
			const struct small_obj *cs = kube_informer_get(r->svcs, w->key);
			apply_if_changed(w, &KUBE_SERVICES, ns, name, svc, cs ? cs->hash : NULL);
		}
		if (!problem && exec && sk_json_bool(exec, "spec.deploymentConfig.installDefaultCACerts", false) &&
		    r->ca_bundle)
			ensure_ca_secret(w, ns, sk_json_str(exec, "spec.deploymentConfig.caCertSecret"));
		if (!problem)
			cleanup_secrets(w, ns, rc_name);
	}

	/* Status, written only when it changed, and not while the Deployment
	 * just sent is on its way: its informer event brings the app back here
	 * with the Deployment's real state, and one status write is saved. */
	if (deployment_sent && !failed_write)
		return;
	if (!problem && failed_write) {
		problem = "ApplyFailed";
		snprintf(problem_msg, sizeof(problem_msg), "%s", failed_write);
	}
	const struct dep_obj *d = kube_informer_get(r->deps, w->key);
	_cleanup_json_ json_object *dconds = NULL;
	if (d && d->conditions)
		sk_json_parse(d->conditions, strlen(d->conditions), &dconds, NULL);
	now_rfc3339(now);
	struct status_input si = {
		.app = app,
		.dep = { .found = d != NULL,
			 .spec_replicas = d ? d->spec_replicas : 0,
			 .replicas = d ? d->replicas : 0,
			 .ready = d ? d->ready : 0,
			 .updated = d ? d->updated : 0,
			 .available = d ? d->available : 0,
			 .observed = d ? d->observed >= d->generation : false,
			 .conditions = dconds },
		.manages_deployment = manages,
		.problem_reason = problem,
		.problem_message = problem ? problem_msg : NULL,
		.now = now,
	};
	_cleanup_json_ json_object *status = spin_status_render(&si);
	char h_new[17], h_old[17];
	json_object *old_status = sk_json_obj(app, "status");
	render_object_hash(status, h_new);
	if (old_status)
		render_object_hash(old_status, h_old);
	if (!old_status || strcmp(h_new, h_old) != 0) {
		_cleanup_json_ json_object *patch = json_object_new_object();
		_cleanup_free_ char *path = NULL;
		sk_json_set(patch, "status", json_object_get(status));
		if (kube_path(&SPINAPPS, ns, name, "status", NULL, &path, NULL) == 0)
			send_write(w, "PATCH", path, sk_json_to_string(patch, NULL), "application/merge-patch+json");
	}

	/* An event when the Ready reason changes. */
	json_object *ready = NULL, *conds = sk_json_arr(status, "conditions");
	for (size_t i = 0; conds && i < json_object_array_length(conds); i++)
		if (strcmp(sk_json_str(json_object_array_get_idx(conds, i), "type"), "Ready") == 0)
			ready = json_object_array_get_idx(conds, i);
	const char *reason = sk_json_str(ready, "reason");
	const char *last = strmap_get(&r->last_reason, w->key);
	if (reason && (!last || strcmp(last, reason) != 0)) {
		/* Not on the first sight of an app already Ready (a restart). */
		const char *was = NULL;
		json_object *oc = sk_json_arr(app, "status.conditions");
		for (size_t i = 0; oc && i < json_object_array_length(oc); i++)
			if (strcmp(sk_json_str(json_object_array_get_idx(oc, i), "type"), "Ready") == 0)
				was = sk_json_str(json_object_array_get_idx(oc, i), "reason");
		if (!was || strcmp(was, reason) != 0)
			post_event(w, app, strcmp(sk_json_str(ready, "status"), "True") == 0 ? "Normal" : "Warning", reason,
				   sk_json_str(ready, "message") ? sk_json_str(ready, "message") : "");
		char *copy = strdup(reason), *prev = NULL;
		if (copy && strmap_put(&r->last_reason, w->key, copy, (void **)&prev))
			free(prev);
		else
			free(copy);
	}
}

/* --- reconcile an executor: the finalizer ------------------------------------------- */

static void reconcile_executor(struct reconciler *r, struct app_work *w)
{
	const char *key = w->key + strlen(EXEC_PREFIX);
	const struct obj_json *p = kube_informer_get(r->execs, key);
	_cleanup_json_ json_object *exec = NULL, *patch = NULL;
	_cleanup_free_ char *path = NULL;
	char ns[256], name[256];
	json_object *fins, *newf;
	bool has = false;

	if (!p || split_key(key, ns, sizeof(ns), name, sizeof(name)) < 0 ||
	    sk_json_parse(p->json, strlen(p->json), &exec, NULL) < 0)
		return;
	fins = sk_json_arr(exec, "metadata.finalizers");
	for (size_t i = 0; fins && i < json_object_array_length(fins); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(fins, i)), SPIN_FINALIZER) == 0)
			has = true;
	if (!p->deleting && has)
		return;
	if (p->deleting && !has)
		return;
	if (p->deleting) {
		size_t users = apps_using(r, ns, name, false);
		if (users > 0) {
			if (!strmap_get(&r->blocked_executors, key)) {
				char msg[300];
				snprintf(msg, sizeof(msg),
					 "%zu SpinApp(s) in namespace %s still use this executor; delete or move them first",
					 users, ns);
				post_event(w, exec, "Warning", "DeletionBlocked", msg);
				strmap_put(&r->blocked_executors, key, strdup("1"), NULL);
			}
			return;
		}
		free(strmap_remove(&r->blocked_executors, key));
	}
	/* Add or drop our finalizer, guarded by the resourceVersion. */
	newf = json_object_new_array();
	for (size_t i = 0; fins && i < json_object_array_length(fins); i++) {
		const char *f = json_object_get_string(json_object_array_get_idx(fins, i));
		if (strcmp(f, SPIN_FINALIZER) != 0)
			json_object_array_add(newf, json_object_new_string(f));
	}
	if (!p->deleting)
		json_object_array_add(newf, json_object_new_string(SPIN_FINALIZER));
	patch = json_object_new_object();
	json_object *meta = sk_json_ensure_obj(patch, "metadata");
	sk_json_set(meta, "finalizers", newf);
	if (sk_json_str(exec, "metadata.resourceVersion"))
		sk_json_set_str(meta, "resourceVersion", sk_json_str(exec, "metadata.resourceVersion"));
	if (kube_path(&EXECUTORS, ns, name, NULL, NULL, &path, NULL) == 0)
		send_write(w, "PATCH", path, sk_json_to_string(patch, NULL), "application/merge-patch+json");
}

/* --- the loop ---------------------------------------------------------------------- */

void reconciler_step(struct reconciler *r)
{
	const char *key;

	if (!reconciler_synced(r))
		return;
	while (r->in_progress < r->o.max_in_progress && (key = kube_queue_get(r->q, kube_now_ms()))) {
		struct app_work *w = calloc(1, sizeof(*w));
		if (!w) {
			kube_queue_add_rate_limited(r->q, key, kube_now_ms());
			kube_queue_done(r->q, key);
			return;
		}
		w->r = r;
		snprintf(w->key, sizeof(w->key), "%s", key);
		r->in_progress++;
		/* A guard write keeps w alive until reconcile has queued everything. */
		w->pending = 1;
		if (strncmp(key, EXEC_PREFIX, strlen(EXEC_PREFIX)) == 0)
			reconcile_executor(r, w);
		else
			reconcile_app(r, w);
		if (--w->pending == 0)
			work_finish(w);
	}
}

long reconciler_next_ms(const struct reconciler *r)
{
	if (!reconciler_synced(r) || r->in_progress >= r->o.max_in_progress)
		return -1;
	return kube_queue_next_ms(r->q, kube_now_ms());
}

bool reconciler_synced(const struct reconciler *r)
{
	return kube_informer_synced(r->apps) && kube_informer_synced(r->execs) && kube_informer_synced(r->deps) &&
	       kube_informer_synced(r->svcs) && kube_informer_synced(r->secrets) && kube_informer_synced(r->cms) &&
	       kube_informer_synced(r->rss);
}

bool reconciler_idle(const struct reconciler *r)
{
	return r->in_progress == 0 && kube_queue_len(r->q) == 0;
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
	rc = sk_read_file(r->o.ca_bundle_path ? r->o.ca_bundle_path : CA_BUNDLE_DEFAULT, CA_BUNDLE_MAX, &r->ca_bundle,
			  &r->ca_len);
	if (rc < 0) {
		say(r, 2, "no system CA bundle; executors with installDefaultCACerts get no CA Secret", NULL,
		    strerror(-rc));
		r->ca_bundle = NULL;
	}
	struct kube_queue_opts qo = { .base_delay_ms = 200, .max_delay_ms = 60000, .qps = 50, .burst = 500 };
	if (kube_queue_new(&qo, kube_now_ms(), &r->q) < 0) {
		reconciler_free(r);
		return sk_err(err, -ENOMEM, "out of memory");
	}
	struct kube_informer_handlers happ = { project_obj_json, free_obj_json, app_changed, app_updated, app_deleted,
					      resync_app, informer_error };
	struct kube_informer_handlers hexe = { project_obj_json, free_obj_json, exec_added, exec_updated,
					      exec_deleted, NULL, informer_error };
	struct kube_informer_handlers hdep = { project_dep, free_dep, child_changed, child_updated, child_deleted,
					      NULL, informer_error };
	struct kube_informer_handlers hsvc = { project_small, free_small, child_changed, child_updated,
					      child_deleted, NULL, informer_error };
	struct kube_informer_handlers hsec = { project_small, free_small, secret_added, secret_updated,
					      secret_deleted, NULL, informer_error };
	struct kube_informer_handlers hcm = { project_small, free_small, cm_added, cm_updated, cm_deleted, NULL,
					     informer_error };
	struct kube_informer_handlers hrs = { project_rs, free_rs, rs_added, rs_updated, rs_deleted, NULL,
					     informer_error };
	struct kube_watch_opts wapp = { .res = &SPINAPPS }, wexe = { .res = &EXECUTORS };
	struct kube_watch_opts wdep = { .res = &KUBE_DEPLOYMENTS, .label_selector = SPIN_LABEL_APP_NAME };
	struct kube_watch_opts wsvc = { .res = &KUBE_SERVICES, .label_selector = SPIN_LABEL_APP_NAME };
	struct kube_watch_opts wsec = { .res = &KUBE_SECRETS };
	struct kube_watch_opts wcm = { .res = &CONFIGMAPS_ALL };
	struct kube_watch_opts wrs = { .res = &KUBE_REPLICASETS, .label_selector = SPIN_LABEL_APP_NAME };
	if ((rc = kube_informer_start(c, &wapp, r->o.resync_ms, &happ, r, &r->apps, err)) < 0 ||
	    (rc = kube_informer_start(c, &wexe, 0, &hexe, r, &r->execs, err)) < 0 ||
	    (rc = kube_informer_start(c, &wdep, 0, &hdep, r, &r->deps, err)) < 0 ||
	    (rc = kube_informer_start(c, &wsvc, 0, &hsvc, r, &r->svcs, err)) < 0 ||
	    (rc = kube_informer_start(c, &wsec, 0, &hsec, r, &r->secrets, err)) < 0 ||
	    (rc = kube_informer_start(c, &wcm, 0, &hcm, r, &r->cms, err)) < 0 ||
	    (rc = kube_informer_start(c, &wrs, 0, &hrs, r, &r->rss, err)) < 0) {
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
	kube_queue_free(r->q);
	strmap_filter(&r->refs, free_list_entry, NULL);
	strmap_filter(&r->app_refs, free_list_entry, NULL);
	strmap_filter(&r->app_secrets, free_list_entry, NULL);
	strmap_filter(&r->app_rss, free_list_entry, NULL);
	strmap_filter(&r->last_reason, free_plain_entry, NULL);
	strmap_filter(&r->blocked_executors, free_plain_entry, NULL);
	strmap_filter(&r->ca_memo, free_plain_entry, NULL);
	strmap_filter(&r->app_errors, free_plain_entry, NULL);
	strmap_clear(&r->refs);
	strmap_clear(&r->app_refs);
	strmap_clear(&r->app_secrets);
	strmap_clear(&r->app_rss);
	strmap_clear(&r->last_reason);
	strmap_clear(&r->blocked_executors);
	strmap_clear(&r->ca_memo);
	strmap_clear(&r->app_errors);
	free(r->ca_bundle);
	free(r);
}
