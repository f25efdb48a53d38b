/* The Redis trigger: the app host's Redis triggers (host.h) served by one
 * subscriber thread per Redis address and a small pool of handler threads.
 *
 * A subscriber connects, subscribes to the channels of the triggers on its
 * address and reads messages one at a time. Each message becomes one job
 * per trigger on its channel; a job runs the trigger's component on a
 * fresh instance (sb_inbound_redis_call). At most max_in_flight jobs are
 * accepted and not finished at once, across the app: when that many are,
 * the subscribers stop reading their sockets until one ends (Redis holds
 * what is published meanwhile, up to its own output-buffer limit for
 * pub/sub clients). A message over max_message bytes is refused as it
 * arrives (wasi/redis-sub.h) and logged. A job that fails (a trap, a
 * timeout, the guest's error) is logged with its component and channel;
 * the subscriber goes on. A connection that fails or is closed is made
 * again after 100 ms, doubling up to SB_REDIS_BACKOFF_MAX_MS while it
 * keeps failing. Records go to the log sink. */
#ifndef SPIN_BRIDGE_REDIS_TRIGGER_H
#define SPIN_BRIDGE_REDIS_TRIGGER_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "common/log.h"

#define SB_REDIS_MESSAGE_MAX    ((size_t)1 << 20) /* bytes of one message's payload */
#define SB_REDIS_IN_FLIGHT_MAX  1024
#define SB_REDIS_BACKOFF_MIN_MS 100
#define SB_REDIS_BACKOFF_MAX_MS 5000
#define SB_REDIS_ADDRESSES_MAX  64 /* distinct addresses (subscriber threads) per app */

struct sb_host;
struct sb_redis;

struct sb_redis_opts {
	unsigned max_in_flight; /* 1 .. SB_REDIS_IN_FLIGHT_MAX */
	size_t max_message;     /* 0: SB_REDIS_MESSAGE_MAX */
	const struct sk_log_sink *log; /* must outlive the trigger */
};

/* Start the subscribers and handler threads for host's Redis triggers
 * (host borrowed: it must outlive the trigger). A host without Redis
 * triggers gives *out NULL and 0. Connection failures are not errors
 * here: they are logged and retried. */
int sb_redis_start(struct sb_host *host, const struct sb_redis_opts *o, struct sb_redis **out, struct sk_error *err);

/* Stop reading (subscribers close their connections at once), give the
 * jobs already accepted up to drain_ms to finish, then free everything.
 * Jobs not started by then are dropped; running ones end first (within
 * their --timeout). Returns the number of jobs dropped. NULL is fine. */
unsigned sb_redis_stop(struct sb_redis *r, unsigned drain_ms);

#endif
