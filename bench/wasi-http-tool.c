/* wasi-http-tool: time what spin-bridge does before a wasi:http guest runs,
 * in-process, on one component exporting wasi:http/incoming-handler:
 *
 *   wasi-http-tool [--cache-dir DIR] FILE.wasm [N]
 *
 * prints, for N rounds (default 2000) after N/10 of warm-up, the median and
 * p99 of sb_component_instantiate_once: a fresh store with our WASI 0.2 host
 * context, the component instance, then both dropped. That is every step of a
 * request before the handler is called, so the guest's own code is excluded
 * (for a JavaScript component, the copy-on-write image of its 12 MB engine is
 * part of it). With --cache-dir the compiled code is mapped from (or written
 * to) the same cache spin-bridge uses, so a 12 MB component is compiled once.
 * The figures go to stdout as key=value lines; bench/wasi-http collects them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "shim-bridge/runtime/engine.h"
#include "shim-bridge/runtime/handler.h"

#define ROUNDS_MAX 10000000UL

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Parse a round count in [100, ROUNDS_MAX]; -EINVAL otherwise. */
static int parse_rounds(const char *s, size_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < 100 || v > ROUNDS_MAX)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Time n instantiations of c into v (microseconds); a negative errno with the reason in why. */
static int time_rounds(struct sb_component *c, double *v, size_t n, struct sk_error *why)
{
	for (size_t i = 0; i < n; i++) {
		double t0 = now_us();
		if (sb_component_instantiate_once(c, why) < 0)
			return -1;
		v[i] = now_us() - t0;
	}
	return 0;
}

int main(int argc, char *argv[])
{
	struct sk_error err = { 0 };
	struct sb_engine *e = NULL;
	struct sb_component *c = NULL;
	_cleanup_free_ char *bytes = NULL;
	_cleanup_free_ double *v = NULL;
	const char *cache_dir = NULL, *file;
	struct sk_error why = { 0 };
	size_t len = 0, n = 2000;
	int a = 1, r = 1;

	if (argc > 2 && strcmp(argv[1], "--cache-dir") == 0) {
		cache_dir = argv[2];
		a = 3;
	}
	if (argc - a < 1 || argc - a > 2 || (argc - a == 2 && parse_rounds(argv[a + 1], &n) < 0)) {
		fprintf(stderr, "usage: wasi-http-tool [--cache-dir DIR] FILE.wasm [N, 100..%lu]\n", ROUNDS_MAX);
		return 2;
	}
	file = argv[a];
	if (sk_read_file(file, SB_WASM_MAX, &bytes, &len) < 0) {
		fprintf(stderr, "wasi-http-tool: cannot read %s (a .wasm file of at most %zu MiB)\n", file,
			SB_WASM_MAX >> 20);
		return 1;
	}
	/* Pool sized like spin-bridge's default on 2 CPUs (4 workers + 2); the
	 * default memory cap, so the cache digest matches spin-bridge's. */
	struct sb_engine_opts eo = { .max_instances = 6, .cache_dir = cache_dir };
	struct sb_component_opts o = { .id = "bench", .source = file, .log = sk_log_sink_stderr() };
	if (sb_engine_new(&eo, &e, &err) < 0 ||
	    sb_component_prepare(e, (const uint8_t *)bytes, len, &o, &c, &err) < 0) {
		fprintf(stderr, "wasi-http-tool: %s\n", err.message);
		goto out;
	}
	if (c->kind != SB_HANDLER_WASI_HTTP) {
		fprintf(stderr, "wasi-http-tool: %s is a %s handler, not wasi:http/incoming-handler\n", file,
			sb_handler_kind_name(c->kind));
		goto out;
	}
	printf("handler=%s\nfrom_cache=%d\ncompile_ms=%.1f\nrounds=%zu\n", sb_handler_kind_name(c->kind),
	       c->from_cache, c->compile_ms, n);
	v = calloc(n, sizeof(double));
	if (!v) {
		fprintf(stderr, "wasi-http-tool: out of memory\n");
		goto out;
	}
	if (time_rounds(c, v, n / 10, &why) < 0 || time_rounds(c, v, n, &why) < 0) {
		fprintf(stderr, "wasi-http-tool: %s: %s\n", file, why.message);
		goto out;
	}
	qsort(v, n, sizeof(double), cmp_double);
	printf("instantiate_median_us=%.2f\ninstantiate_p99_us=%.2f\n", v[n / 2], v[n * 99 / 100]);
	r = 0;
out:
	sb_component_free(c);
	sb_engine_free(e);
	return r;
}
