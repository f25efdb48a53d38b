/* What the pieces of the reconciler share, and nothing else uses: the
 * projections the informers cache, the reconciler's state, one reconcile in
 * flight (struct app_work), and the functions each piece offers the others.
 *
 *   reconciler.c           the loop: new, step, free, queueing, logging
 *   reconciler-informers.c projections and informer handlers
 *   reconciler-index.c     the reference index (who references which Secret/ConfigMap)
 *   reconciler-writes.c    writes and Events, and what a finished reconcile does
 *   reconciler-app.c       the per-app reconcile, step by step
 *   reconciler-service.c   the apps' Services, applied by a small pool of their own
 *   reconciler-executor.c  the executor finalizer
 *
 * Everything here is private to controller/; reconciler.h is the API. */
#ifndef SPINKUBE_CONTROLLER_RECONCILER_INTERNAL_H
#define SPINKUBE_CONTROLLER_RECONCILER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "common/err.h"
#include "common/log.h"
#include "common/strmap.h"
#include "controller/kube/api.h"
#include "controller/kube/informer.h"
#include "controller/kube/queue.h"
#include "controller/packed.h"
#include "controller/reconciler.h"

extern const struct kube_resource REC_SPINAPPS;   /* core.spinkube.dev/v1alpha1 spinapps */
extern const struct kube_resource REC_EXECUTORS;  /* core.spinkube.dev/v1alpha1 spinappexecutors */
extern const struct kube_resource REC_CONFIGMAPS; /* v1 configmaps, every namespace */

#define EXEC_PREFIX "x:" /* queue keys of executors; apps are plain ns/name */

/* Service applies in flight at once. The apiserver allocates ClusterIPs one
 * at a time (one lock held across the IPAddress create), so a Service
 * create waits behind every other one in flight: more of them only lengthen
 * each wait. Eight keep the allocator busy while the rest of each request
 * (admission, the apply itself) runs, even on a loaded apiserver. */
#define SVC_IN_PROGRESS 8

/* --- cached projections ---------------------------------------------------------- */

/* SpinApps and executors: their compact JSON (no managedFields, no
 * last-applied annotation, a slim status), packed (packed.h), the hash of
 * their whole status ("" for none), and for apps the executor they name. */
struct obj_json {
	struct packed *json;
	char status_hash[17];
	char executor[64];
	long long generation;
	bool deleting;
};

/* A Deployment: what status and no-op detection need. */
struct dep_obj {
	char hash[17];
	int64_t spec_replicas, replicas, ready, updated, available, generation, observed;
	struct packed *conditions; /* compact JSON array, packed, or NULL */
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
	/* The Services' own queue of app keys and how many of its applies are
	 * in flight (see reconciler-service.c). */
	struct kube_queue *svc_q;
	int svc_in_progress;
	struct reconciler_stats stats;
	/* The system CA bundle's path, when it could be read at start; read
	 * again for each CA Secret rendered (once per namespace), not kept:
	 * it is a few hundred KiB. */
	const char *ca_path;
	/* Indexes: "Secret/ns/name" -> app keys that reference it; app key -> its
	 * references; app key -> its runtime-config Secret keys; app key -> its
	 * ReplicaSet keys. */
	struct strmap refs, app_refs, app_secrets, app_rss;
	/* Per app key, its struct ready_memo: the last Ready reason seen, for
	 * events on transitions, and when its status was last written. */
	struct strmap last_reason;
	struct strmap blocked_executors; /* executors we posted DeletionBlocked for */
	/* CA Secrets by "ns/name": the hash of their rendered form (the same for
	 * every app of the namespace) and whether we sent it, so that the
	 * bundle is rendered and sent once per namespace, not once per app. */
	struct strmap ca_memo;
	/* The last failed write of each app key (a message), until a reconcile
	 * of it succeeds: shown in its Ready condition. */
	struct strmap app_errors;
	/* The same for an app's Service (its own pool's failures), and the
	 * Service applies sent whose echo the informer has not brought yet
	 * (struct svc_sent by app key). */
	struct strmap svc_errors, svc_sent;
};

/* What the reconciler remembers of an app's status (last_reason). */
struct ready_memo {
	int64_t written_ms; /* the last status write we sent, 0: none since start */
	char reason[];      /* the Ready reason last seen */
};

/* A Service apply on its way: its hash and when it went (echo.h). */
struct svc_sent {
	char hash[17];
	int64_t at_ms;
};

/* --- writes ------------------------------------------------------------------------ */

/* One reconcile of an app (or executor) whose writes are in flight. */
struct app_work {
	struct reconciler *r;
	char key[600];
	int pending;
	int failed;
	bool conflict;
	bool service;       /* a Service apply of the Services' pool, not a reconcile */
	int64_t started_ns; /* for the reconcile time metric */
	char first_error[SK_ERR_MESSAGE_MAX];
};

/* --- reconciler.c: the loop --------------------------------------------------------- */

/* Read the CA bundle at path (capped); *out is the caller's. */
int rec_read_ca_bundle(const char *path, char **out, size_t *len);
/* Hand a record to the program's log sink (if any). key and detail may be NULL. */
void rec_say(struct reconciler *r, enum log_level level, const char *msg, const char *key, const char *detail);
/* The namespace and name of "ns/name" into buffers; -EINVAL when it does not fit. */
int rec_split_key(const char *key, char *ns, size_t nsz, char *name, size_t namesz);
/* Queue key (an app "ns/name" or an executor EXEC_PREFIX "ns/name"). */
void rec_enqueue(struct reconciler *r, const char *key);
/* Queue key behind new work: for resyncs and echoes of our own writes. */
void rec_enqueue_low(struct reconciler *r, const char *key);
/* Queue key ahead of new work: an app whose Deployment changed,
 * so that apps turn Ready as their Deployments do, not after every new app. */
void rec_enqueue_first(struct reconciler *r, const char *key);

/* --- reconciler-informers.c ------------------------------------------------------------- */

/* Start the seven informers with their handlers; on error the ones started
 * stay in r for reconciler_free. */
int rec_start_informers(struct reconciler *r, struct sk_error *err);
/* How many apps in namespace ns name executor exec; queue them too when and_enqueue. */
size_t rec_apps_using(struct reconciler *r, const char *ns, const char *exec, bool and_enqueue);

/* --- reconciler-index.c ------------------------------------------------------------------ */

void strlist_free(struct strlist *l);
bool strlist_has(const struct strlist *l, const char *s);
/* Add value under key in a multimap of struct strlist (no duplicates); copies both. */
int rec_index_add(struct strmap *m, const char *key, const char *value);
void rec_index_remove(struct strmap *m, const char *key, const char *value);
/* strmap_filter callbacks that free a struct strlist / a plain malloc'd value. */
int rec_free_list_entry(struct strmap_entry *e, void *ud);
int rec_free_plain_entry(struct strmap_entry *e, void *ud);
/* Queue the apps that reference kind/key ("Secret", "ns/name"). */
void rec_refs_touched(struct reconciler *r, const char *kind, const char *key);
/* The app key owning a runtime-config Secret ("ns/A-hash" with label A). */
bool rec_owner_key(const char *key, const char *app, char *out, size_t size);
/* Collect the app's references into the index (replacing its old ones), name
 * the first missing required one in missing, and hash what they hold now. */
void rec_collect_refs(struct reconciler *r, json_object *app, const char *key, const char *ns, char *missing,
		      size_t msize, char refs_hash[17]);

/* --- reconciler-writes.c ------------------------------------------------------------------ */

void rec_now_rfc3339(char buf[32]);
/* The last write of w is done (or none was sent): requeue or forget, free w. */
void rec_work_finish(struct app_work *w);
/* Send one write for w; body may be NULL (DELETE). */
void rec_send_write(struct app_work *w, const char *method, const char *path, const char *body,
		    const char *content_type);
/* Server-side apply obj (force, our field manager). */
void rec_apply(struct app_work *w, const struct kube_resource *res, const char *ns, const char *name,
	       json_object *obj);
void rec_delete(struct app_work *w, const struct kube_resource *res, const char *ns, const char *name);
/* Post a core/v1 Event about obj. */
void rec_post_event(struct app_work *w, json_object *obj, const char *type, const char *reason,
		    const char *message);
/* Apply obj when its rendered hash differs from cached_hash; true when sent. */
bool rec_apply_if_changed(struct app_work *w, const struct kube_resource *res, const char *ns, const char *name,
			  json_object *obj, const char *cached_hash);

/* --- reconciler-app.c, reconciler-executor.c ------------------------------------------------- */

void rec_reconcile_app(struct reconciler *r, struct app_work *w);
void rec_reconcile_executor(struct reconciler *r, struct app_work *w);

/* --- reconciler-service.c ------------------------------------------------------------------ */

/* The app pass's part: queue the app's Service in the pool when svc (its
 * rendered Service) differs from the cached copy. */
void rec_service_check(struct reconciler *r, const char *key, json_object *svc);
/* Apply the Service of app w->key (one item of the pool) when it is not in
 * place and not on its way already. */
void rec_reconcile_service(struct reconciler *r, struct app_work *w);
/* A Service apply of w came back: remember the error, or forget it; the app
 * is queued when that changes what its Ready condition says. */
void rec_service_finished(struct app_work *w);
/* The Service informer saw key's Service with hash (NULL: deleted). */
void rec_service_seen(struct reconciler *r, const char *key, const char *hash);

#endif
