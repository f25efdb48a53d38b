#include "controller/kube/informer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/strmap.h"

struct kube_informer {
	struct kube_client *c;
	struct kube_watch *watch;
	struct kube_informer_handlers h;
	void *ud;
	struct strmap store;
	uint32_t gen;       /* mark of the list in progress */
	bool synced;
	long resync_ms;
	int64_t resync_timer;
};

int kube_object_key(json_object *obj, char *buf, size_t size)
{
	const char *name = sk_json_str(obj, "metadata.name");
	const char *ns = sk_json_str(obj, "metadata.namespace");
	int n;

	if (!name || !*name)
		return -EINVAL;
	if (ns && *ns)
		n = snprintf(buf, size, "%s/%s", ns, name);
	else
		n = snprintf(buf, size, "%s", name);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Store obj's projection; report added or updated. */
static void upsert(struct kube_informer *inf, json_object *obj)
{
	char key[512];
	void *proj, *old = NULL;
	struct strmap_entry *e;

	if (kube_object_key(obj, key, sizeof(key)) < 0)
		return;
	proj = inf->h.project(obj, inf->ud);
	if (!proj)
		return;
	e = strmap_put(&inf->store, key, proj, &old);
	if (!e) {
		inf->h.free_proj(proj, inf->ud);
		return;
	}
	e->mark = inf->gen;
	if (old) {
		if (inf->h.updated)
			inf->h.updated(key, old, proj, inf->ud);
		inf->h.free_proj(old, inf->ud);
	} else if (inf->h.added) {
		inf->h.added(key, proj, inf->ud);
	}
}

static void remove_obj(struct kube_informer *inf, json_object *obj)
{
	char key[512];
	void *old;

	if (kube_object_key(obj, key, sizeof(key)) < 0)
		return;
	old = strmap_remove(&inf->store, key);
	if (!old)
		return;
	if (inf->h.deleted)
		inf->h.deleted(key, old, inf->ud);
	inf->h.free_proj(old, inf->ud);
}

static void on_list_begin(void *ud)
{
	struct kube_informer *inf = ud;

	inf->gen++;
}

static void on_list_item(json_object *item, void *ud)
{
	upsert(ud, item);
}

/* After a list: what the list did not mention is gone. */
static int drop_unmarked(struct strmap_entry *e, void *ud)
{
	struct kube_informer *inf = ud;

	if (e->mark == inf->gen)
		return 0;
	if (inf->h.deleted)
		inf->h.deleted(e->key, e->value, inf->ud);
	inf->h.free_proj(e->value, inf->ud);
	return 1;
}

static void on_list_end(const char *rv, void *ud)
{
	struct kube_informer *inf = ud;

	strmap_filter(&inf->store, drop_unmarked, inf);
	inf->synced = true;
}

static void on_event(enum kube_event_type t, json_object *obj, void *ud)
{
	struct kube_informer *inf = ud;

	switch (t) {
	case KUBE_EVENT_ADDED:
	case KUBE_EVENT_MODIFIED:
		upsert(inf, obj);
		break;
	case KUBE_EVENT_DELETED:
		remove_obj(inf, obj);
		break;
	case KUBE_EVENT_BOOKMARK:
		break;
	}
}

static void on_error(const struct sk_error *err, long retry_ms, void *ud)
{
	struct kube_informer *inf = ud;

	if (inf->h.error)
		inf->h.error(err, retry_ms, inf->ud);
}

static void resync_one(struct strmap_entry *e, void *ud)
{
	struct kube_informer *inf = ud;

	inf->h.resync(e->key, e->value, inf->ud);
}

static void on_resync(void *ud)
{
	struct kube_informer *inf = ud;

	inf->resync_timer = kube_client_timer(inf->c, inf->resync_ms, on_resync, inf);
	if (inf->synced && inf->h.resync)
		strmap_foreach(&inf->store, resync_one, inf);
}

int kube_informer_start(struct kube_client *c, const struct kube_watch_opts *wopts, long resync_ms,
			const struct kube_informer_handlers *h, void *ud, struct kube_informer **out,
			struct sk_error *err)
{
	static const struct kube_watch_handlers wh = {
		.list_begin = on_list_begin,
		.list_item = on_list_item,
		.list_end = on_list_end,
		.event = on_event,
		.error = on_error,
	};
	struct kube_informer *inf;
	int r;

	if (!h->project || !h->free_proj)
		return sk_err(err, -EINVAL, "an informer needs project and free_proj handlers");
	inf = calloc(1, sizeof(*inf));
	if (!inf)
		return sk_err(err, -ENOMEM, "out of memory");
	inf->c = c;
	inf->h = *h;
	inf->ud = ud;
	inf->resync_ms = resync_ms;
	r = kube_watch_start(c, wopts, &wh, inf, &inf->watch, err);
	if (r < 0) {
		free(inf);
		return r;
	}
	if (resync_ms > 0)
		inf->resync_timer = kube_client_timer(c, resync_ms, on_resync, inf);
	*out = inf;
	return 0;
}

static int free_entry(struct strmap_entry *e, void *ud)
{
	struct kube_informer *inf = ud;

	inf->h.free_proj(e->value, inf->ud);
	return 1;
}

void kube_informer_stop(struct kube_informer *inf)
{
	if (!inf)
		return;
	kube_watch_stop(inf->watch);
	if (inf->resync_timer > 0)
		kube_client_timer_cancel(inf->c, inf->resync_timer);
	strmap_filter(&inf->store, free_entry, inf);
	strmap_clear(&inf->store);
	free(inf);
}

bool kube_informer_synced(const struct kube_informer *inf)
{
	return inf->synced;
}

const void *kube_informer_get(const struct kube_informer *inf, const char *key)
{
	return strmap_get(&inf->store, key);
}

size_t kube_informer_size(const struct kube_informer *inf)
{
	return inf->store.size;
}

struct foreach_ctx {
	void (*fn)(const char *key, const void *proj, void *ud);
	void *ud;
};

static void foreach_one(struct strmap_entry *e, void *ud)
{
	struct foreach_ctx *f = ud;

	f->fn(e->key, e->value, f->ud);
}

void kube_informer_foreach(const struct kube_informer *inf, void (*fn)(const char *key, const void *proj, void *ud),
			   void *ud)
{
	struct foreach_ctx f = { fn, ud };

	strmap_foreach(&inf->store, foreach_one, &f);
}

size_t kube_informer_store_bytes(const struct kube_informer *inf)
{
	return strmap_bytes(&inf->store);
}

const struct kube_watch *kube_informer_watch(const struct kube_informer *inf)
{
	return inf->watch;
}
