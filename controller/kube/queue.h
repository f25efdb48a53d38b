/* A work queue of keys for reconcilers, driven by one event loop.
 *
 * - A key waiting in the queue is there once, however often it is added.
 * - A key being processed is never handed out again until kube_queue_done;
 *   if it is added meanwhile, it is queued again when done.
 * - Two priorities: keys added with kube_queue_add (new and changed objects)
 *   are handed out before keys added with kube_queue_add_low (resyncs, echoes
 *   of our own writes), except that after 8 high keys in a row a waiting low
 *   one goes next, so none starves. A key waiting low that is added high
 *   moves up; a key added while processing is queued again at the higher of
 *   the priorities it was added with. Keys that come due after a delay
 *   (retries) are high.
 * - Failures back off per key: base * 2^(failures-1), capped; success
 *   (kube_queue_forget) resets the count.
 * - An overall token bucket (qps, burst) paces rate-limited adds, so that a
 *   storm of failures does not become a storm of requests.
 *
 * Time is passed in (milliseconds, monotonic) so that the queue is pure and
 * its behaviour testable to the millisecond. Ownership: the queue copies keys;
 * a key returned by kube_queue_get is owned by the queue and valid until
 * kube_queue_done. */
#ifndef SPINKUBE_KUBE_QUEUE_H
#define SPINKUBE_KUBE_QUEUE_H

#include <stddef.h>
#include <stdint.h>

struct kube_queue_opts {
	long base_delay_ms; /* default 5 */
	long max_delay_ms;  /* default 300000 */
	double qps;         /* default 10 */
	int burst;          /* default 100 */
};

struct kube_queue;

/* Who watches the queue (metrics): called as keys move through it, each
 * with the key. added: the key became ready (or, while processing, was
 * marked to be queued again), counted once until get hands it out; the
 * stamp it returns is kept with the key and given to started, when get
 * hands the key out, whose own stamp is given to finished, at done.
 * retried: add_rate_limited. Any member may be NULL. */
struct kube_queue_observer {
	uint64_t (*added)(void *ud, const char *key);
	uint64_t (*started)(void *ud, const char *key, uint64_t added_stamp);
	void (*finished)(void *ud, const char *key, uint64_t started_stamp);
	void (*retried)(void *ud, const char *key);
	void *ud;
};

int kube_queue_new(const struct kube_queue_opts *opts, int64_t now_ms, struct kube_queue **out);
void kube_queue_free(struct kube_queue *q);

/* Install (copied) or, with NULL, remove the observer. */
void kube_queue_observe(struct kube_queue *q, const struct kube_queue_observer *o);

/* Queue key now, at high priority. Returns 0 or -ENOMEM. */
int kube_queue_add(struct kube_queue *q, const char *key);

/* Queue key now at low priority (behind every key added with
 * kube_queue_add). Returns 0 or -ENOMEM. */
int kube_queue_add_low(struct kube_queue *q, const char *key);

/* Queue key now at the head of the high lane: for work that finishes
 * something already started (an app whose Deployment changed), so it is
 * not held behind a burst of new keys. Added while processing, it is queued
 * again at high priority at done. Returns 0 or -ENOMEM. */
int kube_queue_add_first(struct kube_queue *q, const char *key);

/* Queue key after delay_ms (an earlier due time wins). */
int kube_queue_add_after(struct kube_queue *q, const char *key, long delay_ms, int64_t now_ms);

/* Queue key after its backoff (and the overall bucket), counting a failure. */
int kube_queue_add_rate_limited(struct kube_queue *q, const char *key, int64_t now_ms);

/* Reset key's failure count (after a success). */
void kube_queue_forget(struct kube_queue *q, const char *key);

/* Failures counted for key. */
unsigned kube_queue_failures(const struct kube_queue *q, const char *key);

/* The next key ready at now_ms, marked as processing; NULL when none is. */
const char *kube_queue_get(struct kube_queue *q, int64_t now_ms);

/* Processing of key (as returned by kube_queue_get) is over. */
void kube_queue_done(struct kube_queue *q, const char *key);

/* Milliseconds until the next delayed key is due (0 when one is ready now),
 * or -1 when nothing waits. */
long kube_queue_next_ms(const struct kube_queue *q, int64_t now_ms);

/* Keys waiting (ready or delayed), and keys being processed. */
size_t kube_queue_len(const struct kube_queue *q);
size_t kube_queue_processing(const struct kube_queue *q);

#endif
