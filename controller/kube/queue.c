#include "controller/kube/queue.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/strmap.h"

/* Per-key state, the value of the key's strmap entry. The key text lives in
 * the entry; items point back to it. */
struct item {
	struct strmap_entry *entry;
	struct item *next, *prev; /* its ready FIFO */
	int64_t due_ms;      /* when delayed: due time; else 0 */
	size_t heap_idx;     /* index in the delayed heap, or SIZE_MAX */
	unsigned failures;
	bool ready;          /* in a ready FIFO */
	bool low;            /* ... the low-priority one */
	bool processing;
	bool dirty;          /* added while processing */
	bool dirty_high;     /* ... and once at high priority */
	uint64_t added_stamp, started_stamp; /* the observer's */
};

/* A FIFO of ready items, doubly linked so that a key can move up a lane. */
struct fifo {
	struct item *head, *tail;
};

/* High keys handed out in a row, at most, while low keys wait: resyncs are
 * behind new work, but never starved by it. */
#define HIGH_STREAK_MAX 8

struct kube_queue {
	struct kube_queue_opts o;
	struct strmap items;
	struct fifo lane[2];      /* ready FIFOs: [0] high, [1] low priority */
	unsigned high_streak;     /* high keys handed out since the last low one */
	size_t nready, nprocessing;
	struct item **heap;       /* delayed items, min-heap on due_ms */
	size_t nheap, capheap;
	double tokens;
	int64_t refill_ms;
	int64_t bucket_next_ms;   /* next free slot of the overall bucket */
	struct kube_queue_observer obs;
};

int kube_queue_new(const struct kube_queue_opts *opts, int64_t now_ms, struct kube_queue **out)
{
	struct kube_queue *q = calloc(1, sizeof(*q));

	if (!q)
		return -ENOMEM;
	if (opts)
		q->o = *opts;
	if (q->o.base_delay_ms <= 0)
		q->o.base_delay_ms = 5;
	if (q->o.max_delay_ms <= 0)
		q->o.max_delay_ms = 300000;
	if (q->o.qps <= 0)
		q->o.qps = 10;
	if (q->o.burst <= 0)
		q->o.burst = 100;
	q->tokens = q->o.burst;
	q->refill_ms = now_ms;
	*out = q;
	return 0;
}

void kube_queue_observe(struct kube_queue *q, const struct kube_queue_observer *o)
{
	if (o)
		q->obs = *o;
	else
		memset(&q->obs, 0, sizeof(q->obs));
}

static void note_added(struct kube_queue *q, struct item *it)
{
	if (q->obs.added)
		it->added_stamp = q->obs.added(q->obs.ud, it->entry->key);
}

static int free_item(struct strmap_entry *e, void *ud)
{
	free(e->value);
	return 1;
}

void kube_queue_free(struct kube_queue *q)
{
	if (!q)
		return;
	strmap_filter(&q->items, free_item, NULL);
	strmap_clear(&q->items);
	free(q->heap);
	free(q);
}

/* --- delayed heap ---------------------------------------------------------------- */

static void heap_swap(struct kube_queue *q, size_t a, size_t b)
{
	struct item *t = q->heap[a];
	q->heap[a] = q->heap[b];
	q->heap[b] = t;
	q->heap[a]->heap_idx = a;
	q->heap[b]->heap_idx = b;
}

static void heap_up(struct kube_queue *q, size_t i)
{
	while (i > 0 && q->heap[(i - 1) / 2]->due_ms > q->heap[i]->due_ms) {
		heap_swap(q, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(struct kube_queue *q, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < q->nheap && q->heap[l]->due_ms < q->heap[m]->due_ms)
			m = l;
		if (r < q->nheap && q->heap[r]->due_ms < q->heap[m]->due_ms)
			m = r;
		if (m == i)
			return;
		heap_swap(q, i, m);
		i = m;
	}
}

static void heap_remove(struct kube_queue *q, struct item *it)
{
	size_t i = it->heap_idx;

	if (i == SIZE_MAX)
		return;
	q->nheap--;
	if (i != q->nheap) {
		q->heap[i] = q->heap[q->nheap];
		q->heap[i]->heap_idx = i;
		heap_down(q, i);
		heap_up(q, i);
	}
	it->heap_idx = SIZE_MAX;
	it->due_ms = 0;
}

static int heap_push(struct kube_queue *q, struct item *it)
{
	if (q->nheap == q->capheap) {
		size_t cap = q->capheap ? q->capheap * 2 : 64;
		struct item **h = realloc(q->heap, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		q->heap = h;
		q->capheap = cap;
	}
	it->heap_idx = q->nheap;
	q->heap[q->nheap++] = it;
	heap_up(q, it->heap_idx);
	return 0;
}

/* --- items --------------------------------------------------------------------- */

static struct item *get_item(struct kube_queue *q, const char *key)
{
	struct strmap_entry *e = strmap_find(&q->items, key);
	struct item *it;

	if (e)
		return e->value;
	it = calloc(1, sizeof(*it));
	if (!it)
		return NULL;
	it->heap_idx = SIZE_MAX;
	e = strmap_put(&q->items, key, it, NULL);
	if (!e) {
		free(it);
		return NULL;
	}
	it->entry = e;
	return it;
}

/* Drop the state of a key that is idle and has nothing to remember. */
static void maybe_drop(struct kube_queue *q, struct item *it)
{
	if (it->ready || it->processing || it->heap_idx != SIZE_MAX || it->failures)
		return;
	strmap_remove(&q->items, it->entry->key);
	free(it);
}

static void fifo_append(struct fifo *f, struct item *it)
{
	it->next = NULL;
	it->prev = f->tail;
	if (f->tail)
		f->tail->next = it;
	else
		f->head = it;
	f->tail = it;
}

static void fifo_prepend(struct fifo *f, struct item *it)
{
	it->prev = NULL;
	it->next = f->head;
	if (f->head)
		f->head->prev = it;
	else
		f->tail = it;
	f->head = it;
}

static void fifo_unlink(struct fifo *f, struct item *it)
{
	if (it->prev)
		it->prev->next = it->next;
	else
		f->head = it->next;
	if (it->next)
		it->next->prev = it->prev;
	else
		f->tail = it->prev;
	it->next = it->prev = NULL;
}

/* Make it ready in the lane of its priority (or dirty while processing);
 * counted by the observer unless it was counted already (a dirty key queued
 * at done). A key ready at low priority that is added at high moves to the
 * end of the high lane; one ready at high stays where it is; first puts it
 * at the head of the high lane wherever it waited. */
static void place(struct kube_queue *q, struct item *it, bool counted, bool low, bool first)
{
	if (it->ready) {
		if (first) {
			fifo_unlink(&q->lane[it->low], it);
			fifo_prepend(&q->lane[0], it);
			it->low = false;
		} else if (it->low && !low) {
			fifo_unlink(&q->lane[1], it);
			fifo_append(&q->lane[0], it);
			it->low = false;
		}
		return;
	}
	heap_remove(q, it);
	if (it->processing) {
		if (!it->dirty)
			note_added(q, it);
		it->dirty = true;
		it->dirty_high |= !low;
		return;
	}
	if (!counted)
		note_added(q, it);
	it->ready = true;
	it->low = low && !first;
	if (first)
		fifo_prepend(&q->lane[0], it);
	else
		fifo_append(&q->lane[low], it);
	q->nready++;
}

static void push_ready(struct kube_queue *q, struct item *it, bool counted, bool low)
{
	place(q, it, counted, low, false);
}

static int add(struct kube_queue *q, const char *key, bool low)
{
	struct item *it = get_item(q, key);

	if (!it)
		return -ENOMEM;
	push_ready(q, it, false, low);
	return 0;
}

int kube_queue_add(struct kube_queue *q, const char *key)
{
	return add(q, key, false);
}

int kube_queue_add_low(struct kube_queue *q, const char *key)
{
	return add(q, key, true);
}

int kube_queue_add_first(struct kube_queue *q, const char *key)
{
	struct item *it = get_item(q, key);

	if (!it)
		return -ENOMEM;
	place(q, it, false, false, true);
	return 0;
}

int kube_queue_add_after(struct kube_queue *q, const char *key, long delay_ms, int64_t now_ms)
{
	struct item *it;

	if (delay_ms <= 0)
		return kube_queue_add(q, key);
	it = get_item(q, key);
	if (!it)
		return -ENOMEM;
	if (it->ready)
		return 0;
	int64_t due = now_ms + delay_ms;
	if (it->heap_idx != SIZE_MAX) {
		if (due < it->due_ms) {
			it->due_ms = due;
			heap_up(q, it->heap_idx);
		}
		return 0;
	}
	it->due_ms = due;
	return heap_push(q, it);
}

int kube_queue_add_rate_limited(struct kube_queue *q, const char *key, int64_t now_ms)
{
	struct item *it = get_item(q, key);
	long delay = q->o.base_delay_ms;
	long bucket_delay;

	if (!it)
		return -ENOMEM;
	for (unsigned i = 0; i < it->failures && delay < q->o.max_delay_ms; i++)
		delay *= 2;
	if (delay > q->o.max_delay_ms)
		delay = q->o.max_delay_ms;
	it->failures++;
	if (q->obs.retried)
		q->obs.retried(q->obs.ud, key);
	/* The overall bucket: each add takes a token; when none is left, the
	 * add waits for the time the next token appears. */
	q->tokens += (double)(now_ms - q->refill_ms) * q->o.qps / 1000.0;
	if (q->tokens > q->o.burst)
		q->tokens = q->o.burst;
	q->refill_ms = now_ms;
	q->tokens -= 1.0;
	bucket_delay = q->tokens >= 0 ? 0 : (long)(-q->tokens * 1000.0 / q->o.qps);
	return kube_queue_add_after(q, key, delay > bucket_delay ? delay : bucket_delay, now_ms);
}

void kube_queue_forget(struct kube_queue *q, const char *key)
{
	struct strmap_entry *e = strmap_find(&q->items, key);

	if (!e)
		return;
	((struct item *)e->value)->failures = 0;
	maybe_drop(q, e->value);
}

unsigned kube_queue_failures(const struct kube_queue *q, const char *key)
{
	struct item *it = strmap_get(&q->items, key);

	return it ? it->failures : 0;
}

const char *kube_queue_get(struct kube_queue *q, int64_t now_ms)
{
	struct item *it;

	struct fifo *f;

	/* Delayed keys (retries, requeues after a time) come due at high. */
	while (q->nheap && q->heap[0]->due_ms <= now_ms)
		push_ready(q, q->heap[0], false, false);
	if (q->lane[0].head && (!q->lane[1].head || q->high_streak < HIGH_STREAK_MAX)) {
		f = &q->lane[0];
		q->high_streak++;
	} else if (q->lane[1].head) {
		f = &q->lane[1];
		q->high_streak = 0;
	} else {
		return NULL;
	}
	it = f->head;
	fifo_unlink(f, it);
	q->nready--;
	it->ready = false;
	it->low = false;
	it->processing = true;
	q->nprocessing++;
	if (q->obs.started)
		it->started_stamp = q->obs.started(q->obs.ud, it->entry->key, it->added_stamp);
	return it->entry->key;
}

void kube_queue_done(struct kube_queue *q, const char *key)
{
	struct item *it = strmap_get(&q->items, key);

	if (!it || !it->processing)
		return;
	it->processing = false;
	q->nprocessing--;
	if (q->obs.finished)
		q->obs.finished(q->obs.ud, key, it->started_stamp);
	if (it->dirty) {
		bool low = !it->dirty_high;
		it->dirty = it->dirty_high = false;
		push_ready(q, it, true, low);
		return;
	}
	maybe_drop(q, it);
}

long kube_queue_next_ms(const struct kube_queue *q, int64_t now_ms)
{
	if (q->nready)
		return 0;
	if (!q->nheap)
		return -1;
	return q->heap[0]->due_ms <= now_ms ? 0 : (long)(q->heap[0]->due_ms - now_ms);
}

size_t kube_queue_len(const struct kube_queue *q)
{
	return q->nready + q->nheap;
}

size_t kube_queue_processing(const struct kube_queue *q)
{
	return q->nprocessing;
}
