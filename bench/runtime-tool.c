/* runtime-tool: time what spin-bridge does per request, in-process, on one
 * wasm binary (a WAGI module or an inbound-http component):
 *
 *   runtime-tool FILE.wasm|FILE.wat [N]
 *
 * prints, for N rounds (default 20000) after 500 of warm-up:
 *   instantiate_us: fresh store + WASI context + instance + drop (median, p99)
 *   request_us:     the whole handler call on an empty GET (median, p99)
 * and the compile time cold (no cache) and warm (mapped from a fresh cache).
 * The figures go to stdout as key=value lines; bench/runtime collects them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "shim-bridge/runtime/engine.h"
#include "shim-bridge/runtime/handler.h"
#include "shim-bridge/runtime/staging.h"

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

static void report(const char *name, double *v, size_t n)
{
	qsort(v, n, sizeof(double), cmp_double);
	printf("%s_median_us=%.2f\n%s_p99_us=%.2f\n", name, v[n / 2], name, v[n * 99 / 100]);
}

static int request(struct sb_component *c, struct sk_error *why)
{
	if (c->kind == SB_HANDLER_WAGI) {
		const char *argv[] = { "/hello" };
		struct sk_kv env[] = { { "REQUEST_METHOD", "GET" }, { "PATH_INFO", "" } };
		struct sk_buf out = sk_buf_make(0);
		int r = sb_wagi_run(c, argv, 1, env, 2, NULL, 0, &out, why);
		sk_buf_free(&out);
		return r;
	}
	struct sk_kv headers[] = { { "host", "localhost" }, { "spin-full-url", "http://localhost/hello" } };
	struct sb_inbound_request req = { .method = "GET", .uri = "/hello", .headers = headers, .n_headers = 2 };
	struct sb_inbound_response resp;
	int r = sb_inbound_http_call(c, &req, &resp, why);
	if (r == 0)
		sb_inbound_response_free(&resp);
	return r;
}

int main(int argc, char *argv[])
{
	struct sk_error err = { 0 };
	struct sb_engine *e = NULL, *cached = NULL;
	struct sb_component *c = NULL, *c2 = NULL;
	char *bytes = NULL, dir[] = "/tmp/runtime-tool.XXXXXX";
	size_t len = 0, n = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 20000;
	double *v;

	if (argc < 2 || n < 100) {
		fprintf(stderr, "usage: runtime-tool FILE.wasm [N>=100]\n");
		return 2;
	}
	if (sk_read_file(argv[1], SB_WASM_MAX, &bytes, &len) < 0 || !mkdtemp(dir)) {
		fprintf(stderr, "runtime-tool: cannot read %s\n", argv[1]);
		return 1;
	}
	/* A .wat file is turned into its binary first. */
	if (len > 4 && strcmp(argv[1] + strlen(argv[1]) - 4, ".wat") == 0) {
		wasm_byte_vec_t bin;
		wasmtime_error_t *we = wasmtime_wat2wasm(bytes, len, &bin);
		if (we) {
			fprintf(stderr, "runtime-tool: %s is not valid WAT\n", argv[1]);
			return 1;
		}
		free(bytes);
		bytes = malloc(bin.size);
		memcpy(bytes, bin.data, bin.size);
		len = bin.size;
		wasm_byte_vec_delete(&bin);
	}
	struct sb_engine_opts eo = { .max_instances = 8 };
	struct sb_component_opts o = { .id = "bench", .source = argv[1], .log = sk_log_sink_stderr() };
	struct sk_error why = { 0 };
	if (sb_engine_new(&eo, &e, &err) < 0 ||
	    sb_component_prepare(e, (const uint8_t *)bytes, len, &o, &c, &err) < 0) {
		fprintf(stderr, "runtime-tool: %s\n", err.message);
		return 1;
	}
	printf("handler=%s\ncompile_cold_ms=%.1f\n", sb_handler_kind_name(c->kind), c->compile_ms);
	/* Warm start: write the cache once, then map it in a new engine. */
	eo.cache_dir = dir;
	if (sb_engine_new(&eo, &cached, &err) < 0 ||
	    sb_component_prepare(cached, (const uint8_t *)bytes, len, &o, &c2, &err) < 0) {
		fprintf(stderr, "runtime-tool: %s\n", err.message);
		return 1;
	}
	sb_component_free(c2);
	if (sb_component_prepare(cached, (const uint8_t *)bytes, len, &o, &c2, &err) < 0 || !c2->from_cache) {
		fprintf(stderr, "runtime-tool: the cache did not serve the second load\n");
		return 1;
	}
	printf("compile_warm_ms=%.2f\n", c2->compile_ms);
	sb_component_free(c2);
	sb_engine_free(cached);
	sb_remove_tree(dir);

	v = calloc(n, sizeof(double));
	for (size_t i = 0; i < 500; i++)
		if (sb_component_instantiate_once(c, &why) < 0 || request(c, &why) < 0) {
			fprintf(stderr, "runtime-tool: %s\n", why.message);
			return 1;
		}
	for (size_t i = 0; i < n; i++) {
		double t0 = now_us();
		sb_component_instantiate_once(c, &why);
		v[i] = now_us() - t0;
	}
	report("instantiate", v, n);
	for (size_t i = 0; i < n; i++) {
		double t0 = now_us();
		request(c, &why);
		v[i] = now_us() - t0;
	}
	report("request", v, n);
	free(v);
	free(bytes);
	sb_component_free(c);
	sb_engine_free(e);
	return 0;
}
