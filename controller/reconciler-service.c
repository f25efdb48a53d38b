/* The apps' Services, applied by a pool of their own.
 *
 * Creating a Service allocates its ClusterIP, and the apiserver does that
 * one Service at a time: with many creates in flight each waits for all the
 * others (a second or more at a few hundred apps). If the app pass sent the
 * Service beside the Deployment and waited for both, every reconcile would
 * wait that long, so few apps would get their Deployment at once and an app
 * whose Deployment turned Ready would wait for its own Service before its
 * status could be written. Nothing in the status depends on the Service, so
 * the app pass only queues it here (rec_service_check) and goes on; this
 * pool applies at most SVC_IN_PROGRESS Services at a time, from a queue of
 * its own, rendering each from the app as it is when its turn comes.
 *
 * A failed apply is kept (svc_errors) and shown in the app's Ready
 * condition as ApplyFailed until an apply of that Service succeeds; the
 * pool retries with its own backoff. An apply that went out is remembered
 * until its echo arrives (svc_sent, echo.h), so a pass that runs before the
 * informer has the new copy does not send it again. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "common/strmap.h"
#include "controller/echo.h"
#include "controller/reconciler-internal.h"
#include "controller/render/render.h"

void rec_service_check(struct reconciler *r, const char *key, json_object *svc)
{
	const struct small_obj *cs = kube_informer_get(r->svcs, key);
	char hash[17];

	render_object_hash(svc, hash);
	if (cs && strcmp(cs->hash, hash) == 0)
		return;
	if (kube_queue_add(r->svc_q, key) < 0)
		rec_say(r, LOG_ERROR, "out of memory queueing", key, NULL);
}

/* Remember that the apply with hash went out now. */
static void note_sent(struct reconciler *r, const char *key, const char *hash)
{
	struct svc_sent *s = strmap_get(&r->svc_sent, key);

	if (!s) {
		if (!(s = calloc(1, sizeof(*s))) || !strmap_put(&r->svc_sent, key, s, NULL)) {
			free(s);
			return; /* out of memory: at worst the apply goes twice */
		}
	}
	snprintf(s->hash, sizeof(s->hash), "%s", hash);
	s->at_ms = kube_now_ms();
}

void rec_reconcile_service(struct reconciler *r, struct app_work *w)
{
	const struct obj_json *p = kube_informer_get(r->apps, w->key);
	const struct small_obj *cs = kube_informer_get(r->svcs, w->key);
	const struct svc_sent *sent = strmap_get(&r->svc_sent, w->key);
	_cleanup_json_ json_object *app = NULL, *svc = NULL;
	char ns[256], name[256], hash[17];
	long wait_ms = 0;
	int64_t now = kube_now_ms();

	/* Gone or going: its Service goes with it (owner reference). */
	if (!p || p->deleting || rec_split_key(w->key, ns, sizeof(ns), name, sizeof(name)) < 0 ||
	    packed_parse(p->json, &app) < 0 || render_service(app, &svc, NULL) < 0)
		return;
	render_object_hash(svc, hash);
	switch (echo_decide(hash, cs ? cs->hash : NULL, sent ? sent->hash : NULL, sent ? sent->at_ms : 0, now,
			    &wait_ms)) {
	case ECHO_IN_PLACE:
		free(strmap_remove(&r->svc_sent, w->key));
		return;
	case ECHO_WAIT:
		/* Look again when the echo is overdue (deleted meanwhile?). */
		if (kube_queue_add_after(r->svc_q, w->key, wait_ms, now) < 0)
			rec_say(r, LOG_ERROR, "out of memory queueing", w->key, NULL);
		return;
	case ECHO_SEND:
		break;
	}
	json_object *ann = sk_json_ensure_obj(sk_json_ensure_obj(svc, "metadata"), "annotations");
	if (ann)
		sk_json_set_str(ann, SPIN_ANNOTATION_DESIRED_HASH, hash);
	note_sent(r, w->key, hash);
	rec_apply(w, &KUBE_SERVICES, ns, name, svc);
}

void rec_service_finished(struct app_work *w)
{
	struct reconciler *r = w->r;
	char *old = strmap_get(&r->svc_errors, w->key);

	if (!w->failed) {
		/* Ready no longer says ApplyFailed because of the Service. */
		if (old) {
			free(strmap_remove(&r->svc_errors, w->key));
			rec_enqueue(r, w->key);
		}
		return;
	}
	/* Not on its way after all: the retry must send it. */
	free(strmap_remove(&r->svc_sent, w->key));
	if (w->conflict || (old && strcmp(old, w->first_error) == 0))
		return;
	char *msg = strdup(w->first_error), *prev = NULL;
	if (msg && strmap_put(&r->svc_errors, w->key, msg, (void **)&prev)) {
		free(prev);
		rec_enqueue(r, w->key); /* show it in Ready */
	} else {
		free(msg);
	}
}

void rec_service_seen(struct reconciler *r, const char *key, const char *hash)
{
	const struct svc_sent *s = strmap_get(&r->svc_sent, key);

	/* The echo came: the memo has done its job. A deletion keeps it until
	 * it expires, so a Service deleted before its echo is sent again. */
	if (s && hash && strcmp(s->hash, hash) == 0)
		free(strmap_remove(&r->svc_sent, key));
}
