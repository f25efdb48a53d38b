#include "controller/kube/watch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "controller/kube/backoff.h"
#include "common/cleanup.h"
#include "controller/kube/frame.h"
#include "common/json.h"

struct kube_watch {
	struct kube_client *c;
	struct kube_resource res;
	char *group_version, *plural, *ns, *label_selector, *field_selector;
	struct kube_watch_opts opts;
	struct kube_watch_handlers h;
	void *ud;

	char *rv;             /* last resourceVersion seen */
	bool need_list;
	struct kube_framer framer;
	int64_t stream_id;    /* running stream, or 0 */
	int64_t timer_id;     /* pending (re)connect, or 0 */
	unsigned failures;    /* consecutive */
	bool got_event;       /* this stream delivered something */
	int stream_error;     /* why the stream was aborted by us */
	struct sk_error last_err;
	uint64_t rnd;
	int busy;             /* inside a handler or a list */
	bool stopped;         /* stop asked while busy */
	struct kube_watch_stats stats;
};

static void watch_free(struct kube_watch *w)
{
	if (w->stream_id)
		kube_client_cancel(w->c, w->stream_id);
	if (w->timer_id)
		kube_client_timer_cancel(w->c, w->timer_id);
	kube_framer_free(&w->framer);
	free(w->group_version);
	free(w->plural);
	free(w->ns);
	free(w->label_selector);
	free(w->field_selector);
	free(w->rv);
	free(w);
}

void kube_watch_stop(struct kube_watch *w)
{
	if (!w)
		return;
	if (w->busy) {
		w->stopped = true;
		return;
	}
	watch_free(w);
}

/* Leave a handler or a list: free the watch if it was stopped meanwhile.
 * Returns true when the watch is gone. */
static bool leave(struct kube_watch *w)
{
	if (--w->busy == 0 && w->stopped) {
		watch_free(w);
		return true;
	}
	return w->stopped;
}

static int set_rv(struct kube_watch *w, const char *rv)
{
	char *copy;

	if (!rv || (w->rv && strcmp(w->rv, rv) == 0))
		return 0;
	copy = strdup(rv);
	if (!copy)
		return -ENOMEM;
	free(w->rv);
	w->rv = copy;
	return 0;
}

static void connect_now(void *ud);

static void schedule(struct kube_watch *w, long delay_ms)
{
	if (w->timer_id)
		kube_client_timer_cancel(w->c, w->timer_id);
	w->timer_id = kube_client_timer(w->c, delay_ms, connect_now, w);
	if (w->timer_id < 0)
		w->timer_id = 0;
}

/* A list or stream failed: tell the handler and try again later. */
static void failed(struct kube_watch *w, const struct sk_error *err)
{
	long delay;

	w->stats.errors++;
	w->failures++;
	delay = kube_backoff_ms(w->opts.backoff_base_ms, w->opts.backoff_cap_ms, w->failures, &w->rnd);
	if (w->h.error) {
		w->busy++;
		w->h.error(err, delay, w->ud);
		if (leave(w))
			return;
	}
	schedule(w, delay);
}

static int list_item(json_object *item, void *ud)
{
	struct kube_watch *w = ud;

	if (w->h.list_item)
		w->h.list_item(item, w->ud);
	return w->stopped ? -ECANCELED : 0;
}

/* LIST (paged), hand the items over, and remember the list's version. */
static int do_list(struct kube_watch *w, struct sk_error *err)
{
	struct kube_query q = { .label_selector = w->label_selector, .field_selector = w->field_selector,
				.limit = w->opts.page_size };
	_cleanup_free_ char *rv = NULL;
	int r;

	if (w->h.list_begin)
		w->h.list_begin(w->ud);
	if (w->stopped)
		return -ECANCELED;
	r = kube_list(w->c, &w->res, w->ns, &q, list_item, w, &rv, err);
	if (r < 0)
		return r;
	w->stats.lists++;
	r = set_rv(w, rv);
	if (r < 0)
		return r;
	if (w->h.list_end)
		w->h.list_end(w->rv, w->ud);
	return w->stopped ? -ECANCELED : 0;
}

static int on_line(const char *line, size_t len, void *ud)
{
	struct kube_watch *w = ud;
	_cleanup_json_ json_object *ev = NULL;
	struct sk_error err = { 0 };
	const char *type;
	json_object *obj;
	enum kube_event_type t;

	if (sk_json_parse(line, len, &ev, &err) < 0) {
		sk_err_prefix(&err, "watch %s: undecodable event", w->plural);
		err.code = -EPROTO;
		w->last_err = err;
		return -EPROTO;
	}
	type = sk_json_str(ev, "type");
	obj = sk_json_obj(ev, "object");
	if (!type || !obj) {
		sk_err(&w->last_err, -EPROTO, "watch %s: event without type or object", w->plural);
		return -EPROTO;
	}
	if (strcmp(type, "ERROR") == 0) {
		int64_t code = 0;
		(void)sk_json_int64(obj, "code", &code);
		const char *msg = sk_json_str(obj, "message");
		sk_err(&w->last_err, code == 410 ? -EIDRM : -EPROTO, "watch %s: ERROR event %lld: %s", w->plural,
		       (long long)code, msg ? msg : "(no message)");
		return w->last_err.code;
	}
	if (strcmp(type, "ADDED") == 0)
		t = KUBE_EVENT_ADDED;
	else if (strcmp(type, "MODIFIED") == 0)
		t = KUBE_EVENT_MODIFIED;
	else if (strcmp(type, "DELETED") == 0)
		t = KUBE_EVENT_DELETED;
	else if (strcmp(type, "BOOKMARK") == 0)
		t = KUBE_EVENT_BOOKMARK;
	else {
		sk_err(&w->last_err, -EPROTO, "watch %s: unknown event type \"%s\"", w->plural, type);
		return -EPROTO;
	}
	if (set_rv(w, sk_json_str(obj, "metadata.resourceVersion")) < 0)
		return -ENOMEM;
	if (t == KUBE_EVENT_BOOKMARK)
		w->stats.bookmarks++;
	else
		w->stats.events++;
	w->got_event = true;
	if (w->h.event) {
		w->busy++;
		w->h.event(t, obj, w->ud);
		if (leave(w))
			return -ECANCELED;
	}
	return 0;
}

static int on_chunk(const char *data, size_t len, void *ud)
{
	struct kube_watch *w = ud;
	int r;

	w->stats.bytes += len;
	w->busy++;
	r = kube_framer_feed(&w->framer, data, len, on_line, w);
	if (r == -E2BIG)
		sk_err(&w->last_err, -E2BIG, "watch %s: an event is longer than %zu bytes; listing again", w->plural,
		       w->opts.max_line);
	if (leave(w))
		return -ECANCELED;
	if (r < 0)
		w->stream_error = r;
	return r;
}

static void on_stream_done(int rc, struct kube_response *resp, const struct sk_error *err, void *ud)
{
	struct kube_watch *w = ud;
	int why = w->stream_error ? w->stream_error : rc;
	struct sk_error e = { 0 };

	w->stream_id = 0;
	kube_framer_reset(&w->framer);
	if (w->got_event)
		w->failures = 0;
	if (why == 0) {
		/* The server ended the watch (its timeout): resume at once. */
		schedule(w, 0);
		return;
	}
	if (w->stream_error)
		e = w->last_err;
	else if (err)
		e = *err;
	else
		sk_err(&e, why, "watch %s failed", w->plural);
	if (why == -EIDRM || why == -E2BIG) {
		/* The version is gone or an event could not be read: list again. */
		w->need_list = true;
		if (why == -EIDRM && w->failures == 0) {
			w->stats.errors++;
			if (w->h.error) {
				w->busy++;
				w->h.error(&e, 0, w->ud);
				if (leave(w))
					return;
			}
			w->failures++;
			schedule(w, 0);
			return;
		}
	}
	failed(w, &e);
}

/* Timer: list when needed, then open the stream. */
static void connect_now(void *ud)
{
	struct kube_watch *w = ud;
	struct kube_query q = { .label_selector = w->label_selector, .field_selector = w->field_selector,
				.watch = true, .allow_bookmarks = true };
	_cleanup_free_ char *path = NULL;
	struct sk_error err = { 0 };
	int r;

	w->timer_id = 0;
	if (w->need_list) {
		w->busy++;
		r = do_list(w, &err);
		if (leave(w))
			return;
		if (r < 0) {
			failed(w, &err);
			return;
		}
		w->need_list = false;
	}
	q.resource_version = w->rv;
	q.timeout_seconds = w->opts.timeout_seconds > 0 ? w->opts.timeout_seconds
							  : 300 + (long)(kube_rand(&w->rnd) % 300);
	r = kube_path(&w->res, w->ns, NULL, NULL, &q, &path, &err);
	if (r < 0) {
		failed(w, &err);
		return;
	}
	struct kube_request req = { .method = "GET", .path = path };
	w->stream_error = 0;
	w->got_event = false;
	/* An idle watch may carry no byte until the server ends it at
	 * timeoutSeconds; past that and a minute of grace it is stalled. */
	long stall = w->opts.stall_ms > 0 ? w->opts.stall_ms : q.timeout_seconds * 1000 + 60000;
	w->stream_id = kube_client_stream(w->c, &req, stall, on_chunk, on_stream_done, w);
	if (w->stream_id < 0) {
		sk_err(&err, (int)w->stream_id, "watch %s: cannot start the stream", w->plural);
		w->stream_id = 0;
		failed(w, &err);
		return;
	}
	w->stats.streams++;
}

static int dup_opt(char **dst, const char *src)
{
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

int kube_watch_start(struct kube_client *c, const struct kube_watch_opts *opts,
		     const struct kube_watch_handlers *h, void *ud, struct kube_watch **out, struct sk_error *err)
{
	struct kube_watch *w = calloc(1, sizeof(*w));

	if (!w)
		return sk_err(err, -ENOMEM, "out of memory");
	w->c = c;
	w->opts = *opts;
	w->h = *h;
	w->ud = ud;
	if (dup_opt(&w->group_version, opts->res->group_version) < 0 || dup_opt(&w->plural, opts->res->plural) < 0 ||
	    dup_opt(&w->ns, opts->ns) < 0 || dup_opt(&w->label_selector, opts->label_selector) < 0 ||
	    dup_opt(&w->field_selector, opts->field_selector) < 0) {
		watch_free(w);
		return sk_err(err, -ENOMEM, "out of memory");
	}
	w->res = (struct kube_resource){ w->group_version, w->plural, opts->res->namespaced };
	w->opts.res = &w->res;
	w->opts.ns = w->ns;
	w->opts.label_selector = w->label_selector;
	w->opts.field_selector = w->field_selector;
	/* Small pages keep a relist's peak memory low: a page is parsed whole,
	 * and a Deployment with its managedFields is tens of KiB as a tree. */
	if (w->opts.page_size <= 0)
		w->opts.page_size = 100;
	if (w->opts.max_line == 0)
		w->opts.max_line = 16u << 20;
	if (w->opts.backoff_base_ms <= 0)
		w->opts.backoff_base_ms = 250;
	if (w->opts.backoff_cap_ms <= 0)
		w->opts.backoff_cap_ms = 30000;
	w->rnd = (uint64_t)kube_now_ms() ^ (uint64_t)(uintptr_t)w;
	kube_framer_init(&w->framer, w->opts.max_line);
	w->need_list = true;
	schedule(w, 0);
	if (!w->timer_id) {
		watch_free(w);
		return sk_err(err, -ENOMEM, "out of memory");
	}
	*out = w;
	return 0;
}

const char *kube_watch_resource_version(const struct kube_watch *w)
{
	return w->rv ? w->rv : "";
}

void kube_watch_get_stats(const struct kube_watch *w, struct kube_watch_stats *out)
{
	*out = w->stats;
}
