/* What the apiserver said about a bearer token lately, so that a scrape
 * every few seconds costs no TokenReview and SubjectAccessReview each time.
 *
 * Keys are SHA-256 digests of the token (the token itself is not kept);
 * values are the HTTP status the metrics endpoint answered with it (200
 * allowed, 401 not authenticated, 403 not authorized) and when that stops
 * counting. A fixed table: when it is full, the entry that expires first
 * makes room. Time comes in as a parameter (monotonic milliseconds). */
#ifndef SPINKUBE_CONTROLLER_METRICS_REVIEW_CACHE_H
#define SPINKUBE_CONTROLLER_METRICS_REVIEW_CACHE_H

#include <stdint.h>

#define REVIEW_CACHE_SIZE 64
/* How long an answer holds: an allowed token for a minute, a refused one for
 * ten seconds (a RoleBinding just made takes effect soon). */
#define REVIEW_ALLOWED_TTL_MS 60000
#define REVIEW_DENIED_TTL_MS 10000

struct review_entry {
	uint8_t key[32];
	int status;         /* 0: free */
	int64_t expires_ms;
};

struct review_cache {
	struct review_entry e[REVIEW_CACHE_SIZE];
};

/* The cached status for key, or 0 when none holds at now_ms. */
int review_cache_get(const struct review_cache *c, const uint8_t key[32], int64_t now_ms);

/* Remember status (200, 401 or 403) for key from now_ms. */
void review_cache_put(struct review_cache *c, const uint8_t key[32], int status, int64_t now_ms);

#endif
