/* The work queue: dedupe, no double processing, backoff, rate limit. Time is
 * injected, so every expectation is exact. */
#include <string.h>

#include "controller/kube/queue.h"
#include "tests/tap.h"
#include "controller/kube/backoff.h"

int main(void)
{
	struct kube_queue *q = NULL;
	struct kube_queue_opts o = { .base_delay_ms = 10, .max_delay_ms = 1000, .qps = 10, .burst = 3 };
	const char *k;

	is_int(kube_queue_new(&o, 0, &q), 0, "queue made");
	kube_queue_add(q, "ns/a");
	kube_queue_add(q, "ns/b");
	kube_queue_add(q, "ns/a");
	is_int((int)kube_queue_len(q), 2, "a key added twice waits once");
	k = kube_queue_get(q, 0);
	is_str(k, "ns/a", "first in, first out");
	kube_queue_add(q, "ns/a");
	is_int((int)kube_queue_len(q), 1, "a key added while processing does not wait beside itself");
	is_str(kube_queue_get(q, 0), "ns/b", "the other key comes next");
	ok(kube_queue_get(q, 0) == NULL, "the processing key is not handed out again");
	kube_queue_done(q, "ns/a");
	is_str(kube_queue_get(q, 0), "ns/a", "added while processing: queued again when done");
	kube_queue_done(q, "ns/a");
	kube_queue_done(q, "ns/b");
	is_int((int)kube_queue_processing(q), 0, "nothing processing");
	is_int((int)kube_queue_len(q), 0, "nothing waiting");

	/* Backoff: 10, 20, 40 ... capped at 1000. */
	long want[] = { 10, 20, 40, 80, 160, 320, 640, 1000, 1000 };
	int exact = 1;
	int64_t now = 100000; /* bucket full again */
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		now += 100000;
		kube_queue_add_rate_limited(q, "ns/c", now);
		if (kube_queue_next_ms(q, now) != want[i])
			exact = 0;
		if (kube_queue_get(q, now + want[i] - 1) != NULL)
			exact = 0;
		k = kube_queue_get(q, now + want[i]);
		if (!k || strcmp(k, "ns/c"))
			exact = 0;
		kube_queue_done(q, "ns/c");
	}
	ok(exact, "failures back off 10, 20, 40, ... and cap at 1000 ms, not a millisecond early");
	is_int((int)kube_queue_failures(q, "ns/c"), 9, "failures are counted");
	kube_queue_forget(q, "ns/c");
	is_int((int)kube_queue_failures(q, "ns/c"), 0, "forget resets the count");
	kube_queue_add_rate_limited(q, "ns/c", now);
	is_int(kube_queue_next_ms(q, now), 10, "after forget the backoff starts over");
	kube_queue_get(q, now + 10);
	kube_queue_done(q, "ns/c");
	kube_queue_forget(q, "ns/c");

	/* The overall bucket: burst 3 at 10 qps; a 4th and 5th failure in the same
	 * instant wait for tokens (100 ms each), not just their own 10 ms. */
	now += 1000000;
	kube_queue_add_rate_limited(q, "b/1", now);
	kube_queue_add_rate_limited(q, "b/2", now);
	kube_queue_add_rate_limited(q, "b/3", now);
	kube_queue_add_rate_limited(q, "b/4", now);
	kube_queue_add_rate_limited(q, "b/5", now);
	int got = 0;
	while (kube_queue_get(q, now + 10))
		got++;
	is_int(got, 3, "three within the burst are due after their own backoff");
	is_int(kube_queue_next_ms(q, now + 10), 90, "the fourth waits for the next token (100 ms)");
	ok(kube_queue_get(q, now + 100) != NULL, "and is handed out then");
	ok(kube_queue_get(q, now + 199) == NULL, "the fifth waits for one more token");
	ok(kube_queue_get(q, now + 200) != NULL, "and comes at 200 ms");

	/* add_after: the earlier due time wins. */
	kube_queue_add_after(q, "d/1", 500, now);
	kube_queue_add_after(q, "d/1", 50, now);
	kube_queue_add_after(q, "d/1", 800, now);
	is_int(kube_queue_next_ms(q, now), 50, "the earliest due time of a delayed key wins");
	kube_queue_add(q, "d/1");
	is_int(kube_queue_next_ms(q, now), 0, "an immediate add makes it ready");
	is_int((int)kube_queue_len(q), 1, "still once");
	kube_queue_free(q);

	/* Two priorities: high keys first, a low key added high moves up. */
	if (kube_queue_new(&o, now, &q) < 0)
		return 1;
	kube_queue_add_low(q, "low/1");
	kube_queue_add_low(q, "low/2");
	kube_queue_add(q, "high/1");
	kube_queue_add_low(q, "high/1"); /* a low add keeps it high */
	kube_queue_add(q, "low/2");      /* moves up, behind high/1 */
	kube_queue_add(q, "high/2");
	kube_queue_add_low(q, "low/1"); /* still once */
	is_int((int)kube_queue_len(q), 4, "four keys, each once, whatever their priorities");
	const char *order[] = { "high/1", "low/2", "high/2", "low/1" };
	int order_ok = 1;
	for (int i = 0; i < 4; i++) {
		k = kube_queue_get(q, now);
		if (!k || strcmp(k, order[i]) != 0)
			order_ok = 0;
		if (k)
			kube_queue_done(q, k);
	}
	ok(order_ok, "high keys in order first, the promoted low key among them, then the low one");
	ok(kube_queue_get(q, now) == NULL, "then the queue is empty");

	/* Added while processing: queued again at the higher priority it got. */
	kube_queue_add(q, "p/1");
	k = kube_queue_get(q, now);
	kube_queue_add_low(q, "p/1");
	kube_queue_add_low(q, "other/low");
	kube_queue_done(q, k);
	kube_queue_add(q, "other/high");
	k = kube_queue_get(q, now);
	ok(k && strcmp(k, "other/high") == 0, "a key added low while processing is queued low at done");
	kube_queue_done(q, k);
	k = kube_queue_get(q, now);
	ok(k && strcmp(k, "other/low") == 0, "... after the low key that came before it");
	kube_queue_done(q, k);
	k = kube_queue_get(q, now);
	kube_queue_add_low(q, "p/1");
	kube_queue_add(q, "p/1");
	kube_queue_add_low(q, "x/low");
	kube_queue_done(q, k);
	k = kube_queue_get(q, now);
	ok(k && strcmp(k, "p/1") == 0, "a key added low then high while processing is queued high at done");
	kube_queue_done(q, k);
	kube_queue_done(q, kube_queue_get(q, now));

	/* No starvation: a low key goes out after 8 high keys in a row. */
	char key[32];
	kube_queue_add_low(q, "starved/1");
	int low_at = -1;
	for (int i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "busy/%d", i);
		kube_queue_add(q, key);
	}
	for (int i = 0; i < 21; i++) {
		k = kube_queue_get(q, now);
		if (k && strcmp(k, "starved/1") == 0)
			low_at = i;
		if (k)
			kube_queue_done(q, k);
	}
	is_int(low_at, 8, "a waiting low key goes out after 8 high keys, not after all 20");

	/* add_first: to the head of the high lane, from wherever it waited. */
	kube_queue_free(q);
	if (kube_queue_new(&o, now, &q) < 0)
		return 1;
	kube_queue_add(q, "new/1");
	kube_queue_add(q, "new/2");
	kube_queue_add_low(q, "echo/1");
	kube_queue_add_first(q, "dep/1");
	kube_queue_add_first(q, "echo/1");
	kube_queue_add_first(q, "new/2");
	const char *firsts[] = { "new/2", "echo/1", "dep/1", "new/1" };
	int first_ok = kube_queue_len(q) == 4;
	for (int i = 0; i < 4; i++) {
		k = kube_queue_get(q, now);
		if (!k || strcmp(k, firsts[i]) != 0)
			first_ok = 0;
		if (k)
			kube_queue_done(q, k);
	}
	ok(first_ok, "add_first puts a key at the head of the high lane, a new one or one waiting high or low");

	/* A failed key comes back at high priority when its backoff is over. */
	kube_queue_free(q);
	if (kube_queue_new(&o, now, &q) < 0)
		return 1;
	kube_queue_add_low(q, "r/low");
	kube_queue_add_rate_limited(q, "r/retry", now);
	k = kube_queue_get(q, now + 1000);
	ok(k && strcmp(k, "r/retry") == 0, "a retry that came due goes before a waiting low key");
	kube_queue_free(q);

	/* Watch reconnect backoff: within [d/2, d], d doubling to the cap. */
	uint64_t rnd = 42;
	int in_range = 1;
	long caps[] = { 100, 200, 400, 800, 1000, 1000 };
	for (unsigned n = 1; n <= 6; n++)
		for (int i = 0; i < 200; i++) {
			long d = kube_backoff_ms(100, 1000, n, &rnd);
			if (d < caps[n - 1] / 2 || d > caps[n - 1])
				in_range = 0;
		}
	ok(in_range, "reconnect backoff stays within [d/2, d] with d = min(cap, base*2^(n-1))");
	long a = kube_backoff_ms(1000, 30000, 5, &rnd), b = kube_backoff_ms(1000, 30000, 5, &rnd),
	     c = kube_backoff_ms(1000, 30000, 5, &rnd);
	ok(a != b || b != c, "reconnect backoff is jittered");
	return tap_done();
}
