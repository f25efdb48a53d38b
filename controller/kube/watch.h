/* List and watch one resource type, resuming across everything the network
 * and the apiserver do to a long-lived stream.
 *
 * A kube_watch lists (paged) and then streams watch events from the list's
 * resourceVersion, with allowWatchBookmarks. It tracks the resourceVersion of
 * every event and bookmark; when the stream ends (server timeout, connection
 * cut, stall) it reconnects from there with capped, jittered exponential
 * backoff; when the server says the version is gone (410, or an ERROR event
 * with code 410, after an etcd compaction) it lists again and resumes from the
 * new list. A line over max_line bytes ends the stream and forces a relist
 * (the list has a larger cap), so nothing is silently skipped.
 *
 * Handlers run on the client's loop (never inside curl callbacks), so they
 * may issue requests. Objects passed to handlers are borrowed for the call. */
#ifndef SPINKUBE_KUBE_WATCH_H
#define SPINKUBE_KUBE_WATCH_H

#include <json-c/json.h>
#include <stdint.h>

#include "controller/kube/api.h"
#include "controller/kube/client.h"

enum kube_event_type {
	KUBE_EVENT_ADDED,
	KUBE_EVENT_MODIFIED,
	KUBE_EVENT_DELETED,
	KUBE_EVENT_BOOKMARK,
};

struct kube_watch_handlers {
	/* A full (re)list starts; its items follow, then list_end. */
	void (*list_begin)(void *ud);
	void (*list_item)(json_object *item, void *ud);
	void (*list_end)(const char *resource_version, void *ud);
	/* A watch event (bookmarks included; their object carries only metadata). */
	void (*event)(enum kube_event_type type, json_object *obj, void *ud);
	/* A stream or list failed and will be retried after retry_ms. */
	void (*error)(const struct sk_error *err, long retry_ms, void *ud);
};

struct kube_watch_opts {
	const struct kube_resource *res;
	const char *ns;              /* NULL: all namespaces */
	const char *label_selector;
	const char *field_selector;
	long page_size;              /* LIST page; default 100 */
	size_t max_line;             /* one event; default 16 MiB */
	long stall_ms;               /* no byte for this long ends a stream; default: the
				      * server-side timeout plus a minute */
	long timeout_seconds;        /* server-side watch timeout; default 300..600, random */
	long backoff_base_ms;        /* default 250 */
	long backoff_cap_ms;         /* default 30000 */
};

struct kube_watch;

/* Start listing and watching; all work happens in kube_client_run. Strings in
 * opts are copied. */
int kube_watch_start(struct kube_client *c, const struct kube_watch_opts *opts,
		     const struct kube_watch_handlers *h, void *ud, struct kube_watch **out, struct sk_error *err);

/* Stop and free (safe from inside a handler of this watch). */
void kube_watch_stop(struct kube_watch *w);

/* The last resourceVersion seen ("" before the first list). Borrowed. */
const char *kube_watch_resource_version(const struct kube_watch *w);

struct kube_watch_stats {
	uint64_t lists;      /* full lists done, the first included */
	uint64_t streams;    /* watch streams opened */
	uint64_t events;     /* events handed to the handler (bookmarks excluded) */
	uint64_t bookmarks;
	uint64_t errors;     /* failed streams or lists */
	uint64_t bytes;      /* stream bytes received */
};
void kube_watch_get_stats(const struct kube_watch *w, struct kube_watch_stats *out);

#endif
