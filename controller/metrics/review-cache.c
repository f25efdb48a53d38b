/* The token review cache (see review-cache.h). */
#include "controller/metrics/review-cache.h"

#include <string.h>

int review_cache_get(const struct review_cache *c, const uint8_t key[32], int64_t now_ms)
{
	for (int i = 0; i < REVIEW_CACHE_SIZE; i++) {
		const struct review_entry *e = &c->e[i];
		if (e->status && e->expires_ms > now_ms && memcmp(e->key, key, 32) == 0)
			return e->status;
	}
	return 0;
}

void review_cache_put(struct review_cache *c, const uint8_t key[32], int status, int64_t now_ms)
{
	struct review_entry *slot = NULL;

	for (int i = 0; i < REVIEW_CACHE_SIZE && !slot; i++)
		if (c->e[i].status && memcmp(c->e[i].key, key, 32) == 0)
			slot = &c->e[i];
	/* else a free or expired entry, else the one that expires first */
	for (int i = 0; i < REVIEW_CACHE_SIZE && !slot; i++)
		if (!c->e[i].status || c->e[i].expires_ms <= now_ms)
			slot = &c->e[i];
	if (!slot) {
		slot = &c->e[0];
		for (int i = 1; i < REVIEW_CACHE_SIZE; i++)
			if (c->e[i].expires_ms < slot->expires_ms)
				slot = &c->e[i];
	}
	memcpy(slot->key, key, 32);
	slot->status = status;
	slot->expires_ms = now_ms + (status == 200 ? REVIEW_ALLOWED_TTL_MS : REVIEW_DENIED_TTL_MS);
}
