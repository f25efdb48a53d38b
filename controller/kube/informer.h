/* An informer: list+watch into a local store keyed by "namespace/name" (or
 * "name" for cluster-scoped objects) that keeps only what the caller projects
 * out of each object, with add/update/delete handlers, periodic resync and a
 * has-synced signal.
 *
 * The projection callback turns an object (borrowed) into the caller's own
 * small struct (owned by the store from then on, released with free_proj), so
 * that tens of thousands of objects cost their projected fields, their key,
 * and a few dozen bytes of bookkeeping each.
 *
 * Handlers get the key and projections borrowed for the call. On a relist
 * (first sync, or after a 410), objects present are reported as added or
 * updated and objects gone from the list as deleted. */
#ifndef SPINKUBE_KUBE_INFORMER_H
#define SPINKUBE_KUBE_INFORMER_H

#include <json-c/json.h>
#include <stdbool.h>

#include "controller/kube/watch.h"

struct kube_informer_handlers {
	/* Required: what to keep of obj; NULL means out of memory. */
	void *(*project)(json_object *obj, void *ud);
	void (*free_proj)(void *proj, void *ud);
	void (*added)(const char *key, const void *proj, void *ud);
	void (*updated)(const char *key, const void *old, const void *proj, void *ud);
	void (*deleted)(const char *key, const void *old, void *ud);
	/* Every resync_ms, for each stored object. */
	void (*resync)(const char *key, const void *proj, void *ud);
	/* Optional: a stream or list failed and will be retried. */
	void (*error)(const struct sk_error *err, long retry_ms, void *ud);
};

struct kube_informer;

/* Start; resync_ms 0 disables resync. Strings in wopts are copied. */
int kube_informer_start(struct kube_client *c, const struct kube_watch_opts *wopts, long resync_ms,
			const struct kube_informer_handlers *h, void *ud, struct kube_informer **out,
			struct sk_error *err);

/* Stop and free the informer and its store (free_proj for each entry). */
void kube_informer_stop(struct kube_informer *inf);

/* True once the first full list has been stored and handed to the handlers. */
bool kube_informer_synced(const struct kube_informer *inf);

/* The projection stored under key, or NULL. Borrowed. */
const void *kube_informer_get(const struct kube_informer *inf, const char *key);

size_t kube_informer_size(const struct kube_informer *inf);

/* Visit every stored object. */
void kube_informer_foreach(const struct kube_informer *inf, void (*fn)(const char *key, const void *proj, void *ud),
			   void *ud);

/* Bytes the store uses for keys and bookkeeping (projections excluded). */
size_t kube_informer_store_bytes(const struct kube_informer *inf);

/* The informer's watch (for its resourceVersion and stats). Borrowed. */
const struct kube_watch *kube_informer_watch(const struct kube_informer *inf);

/* The store key of an object: "namespace/name" or "name". *out is the
 * caller's; -EINVAL when the object has no metadata.name. */
int kube_object_key(json_object *obj, char *buf, size_t size);

#endif
