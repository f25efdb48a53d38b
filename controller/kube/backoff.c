#include "controller/kube/backoff.h"

uint64_t kube_rand(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

long kube_backoff_ms(long base_ms, long cap_ms, unsigned n, uint64_t *rnd)
{
	long d = base_ms;

	for (unsigned i = 1; i < n && d < cap_ms; i++)
		d *= 2;
	if (d > cap_ms)
		d = cap_ms;
	if (d < 2)
		return d;
	return d / 2 + (long)(kube_rand(rnd) % (uint64_t)(d - d / 2 + 1));
}
