/* Capped, jittered exponential backoff, for reconnecting watches. */
#ifndef SPINKUBE_KUBE_BACKOFF_H
#define SPINKUBE_KUBE_BACKOFF_H

#include <stdint.h>

/* Delay for the n-th consecutive failure (n >= 1): with
 * d = min(cap, base * 2^(n-1)), a value in [d/2, d]. The jitter keeps many
 * clients that failed together from coming back together. rnd is the
 * caller's generator state (any seed). Pure. */
long kube_backoff_ms(long base_ms, long cap_ms, unsigned n, uint64_t *rnd);

/* xorshift64*: a small generator whose state the caller owns. */
uint64_t kube_rand(uint64_t *state);

#endif
