/* wasi:clocks, wasi:random and wasi:cli 0.2 for HTTP components: the
 * component's environment, no arguments, an empty stdin, stdout and stderr
 * to the log line by line (with the component id), no terminals, and exit
 * as the end of the request. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "shim-bridge/wasi/host.h"
#include "shim-bridge/wasi/guest-log.h"


/* --- clocks -------------------------------------------------------------------- */

static wasmtime_error_t *mono_now(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a, size_t na,
				  wasmtime_component_val_t *res, size_t nr)
{
	(void)ctx, (void)cx, (void)a, (void)na;
	if (nr < 1)
		return wh_trap("monotonic-clock.now: bad results");
	wh_val_u64(&res[0], (uint64_t)wh_now_ns());
	return NULL;
}

static wasmtime_error_t *mono_resolution(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
					 size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct timespec ts;
	(void)ctx, (void)cx, (void)a, (void)na;
	if (nr < 1)
		return wh_trap("monotonic-clock.resolution: bad results");
	clock_getres(CLOCK_MONOTONIC, &ts);
	wh_val_u64(&res[0], (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
	return NULL;
}

struct timer {
	int64_t at;
};

static bool timer_ready(struct wh_ctx *ctx, void *src)
{
	(void)ctx;
	return wh_now_ns() >= ((struct timer *)src)->at;
}

static int timer_wait(struct wh_ctx *ctx, void *src, short *events, int64_t *deadline)
{
	(void)ctx, (void)events;
	*deadline = ((struct timer *)src)->at;
	return -1;
}

static const struct wh_poll_ops timer_ops = { timer_ready, timer_wait };

static wasmtime_error_t *subscribe_at(struct wh_ctx *ctx, wasmtime_context_t *cx, int64_t at,
				      wasmtime_component_val_t *res)
{
	struct timer *t = malloc(sizeof(*t));
	uint32_t prep;
	if (!t)
		return wh_trap("out of memory");
	t->at = at;
	prep = wh_pollable_new_owned(ctx, &timer_ops, t);
	if (!prep || wh_val_resource(cx, &res[0], prep, WH_POLLABLE) < 0)
		return wh_trap("too many resources");
	return NULL;
}

static wasmtime_error_t *mono_sub_instant(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
					  size_t na, wasmtime_component_val_t *res, size_t nr)
{
	uint64_t when;
	if (na < 1 || nr < 1 || wh_arg_u64(&a[0], &when) < 0)
		return wh_trap("subscribe-instant: bad arguments");
	return subscribe_at(ctx, cx, when > INT64_MAX ? INT64_MAX : (int64_t)when, res);
}

static wasmtime_error_t *mono_sub_duration(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
					   size_t na, wasmtime_component_val_t *res, size_t nr)
{
	uint64_t d;
	int64_t now = wh_now_ns();
	if (na < 1 || nr < 1 || wh_arg_u64(&a[0], &d) < 0)
		return wh_trap("subscribe-duration: bad arguments");
	return subscribe_at(ctx, cx, d > (uint64_t)(INT64_MAX - now) ? INT64_MAX : now + (int64_t)d, res);
}

static void datetime(wasmtime_component_val_t *v, uint64_t s, uint32_t ns)
{
	static const char *const names[] = { "seconds", "nanoseconds" };
	wasmtime_component_valrecord_entry_t *f = wh_val_record(v, names, 2);
	wh_val_u64(&f[0].val, s);
	wh_val_u32(&f[1].val, ns);
}

static wasmtime_error_t *wall_now(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a, size_t na,
				  wasmtime_component_val_t *res, size_t nr)
{
	struct timespec ts;
	(void)ctx, (void)cx, (void)a, (void)na;
	if (nr < 1)
		return wh_trap("wall-clock.now: bad results");
	clock_gettime(CLOCK_REALTIME, &ts);
	datetime(&res[0], (uint64_t)ts.tv_sec, (uint32_t)ts.tv_nsec);
	return NULL;
}

static wasmtime_error_t *wall_resolution(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
					 size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct timespec ts;
	(void)ctx, (void)cx, (void)a, (void)na;
	if (nr < 1)
		return wh_trap("wall-clock.resolution: bad results");
	clock_getres(CLOCK_REALTIME, &ts);
	datetime(&res[0], (uint64_t)ts.tv_sec, (uint32_t)ts.tv_nsec);
	return NULL;
}

/* --- random ---------------------------------------------------------------------- */

static void fill_random(uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = getrandom(p, n, 0);
		if (r <= 0)
			continue; /* EINTR; the kernel's pool is always ready after boot */
		p += r;
		n -= (size_t)r;
	}
}

static wasmtime_error_t *random_bytes(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				      size_t na, wasmtime_component_val_t *res, size_t nr)
{
	uint64_t len;
	uint8_t *buf;
	(void)ctx, (void)cx;
	if (na < 1 || nr < 1 || wh_arg_u64(&a[0], &len) < 0)
		return wh_trap("get-random-bytes: bad arguments");
	if (len > WH_CHUNK_MAX)
		return wh_trap("get-random-bytes: %llu bytes asked, at most %zu per call", (unsigned long long)len,
			       WH_CHUNK_MAX);
	buf = malloc(len ? len : 1);
	if (!buf)
		return wh_trap("out of memory");
	fill_random(buf, len);
	wh_val_bytes(&res[0], buf, len);
	free(buf);
	return NULL;
}

static wasmtime_error_t *random_u64(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				    size_t na, wasmtime_component_val_t *res, size_t nr)
{
	uint64_t x;
	(void)ctx, (void)cx, (void)a, (void)na;
	if (nr < 1)
		return wh_trap("get-random-u64: bad results");
	fill_random((uint8_t *)&x, sizeof(x));
	wh_val_u64(&res[0], x);
	return NULL;
}

static wasmtime_error_t *insecure_seed(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				       size_t na, wasmtime_component_val_t *res, size_t nr)
{
	uint64_t x[2];
	wasmtime_component_val_t *t;
	(void)ctx, (void)cx, (void)a, (void)na;
	if (nr < 1)
		return wh_trap("insecure-seed: bad results");
	fill_random((uint8_t *)x, sizeof(x));
	t = wh_val_tuple(&res[0], 2);
	wh_val_u64(&t[0], x[0]);
	wh_val_u64(&t[1], x[1]);
	return NULL;
}

/* --- cli --------------------------------------------------------------------------- */

static wasmtime_error_t *get_environment(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
					 size_t na, wasmtime_component_val_t *res, size_t nr)
{
	const struct wh_component_env *env = ctx->env;
	size_t n = env ? env->n_env : 0;
	wasmtime_component_val_t *l;
	(void)cx, (void)a, (void)na;
	if (nr < 1)
		return wh_trap("get-environment: bad results");
	l = wh_val_list(&res[0], n);
	for (size_t i = 0; i < n; i++) {
		wasmtime_component_val_t *t = wh_val_tuple(&l[i], 2);
		wh_val_cstring(&t[0], env->env[i].key);
		wh_val_cstring(&t[1], env->env[i].value);
	}
	return NULL;
}

static wasmtime_error_t *get_arguments(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				       size_t na, wasmtime_component_val_t *res, size_t nr)
{
	(void)ctx, (void)cx, (void)a, (void)na;
	if (nr < 1)
		return wh_trap("get-arguments: bad results");
	wh_val_list(&res[0], 0);
	return NULL;
}

static wasmtime_error_t *initial_cwd(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				     size_t na, wasmtime_component_val_t *res, size_t nr)
{
	wasmtime_component_val_t s;
	(void)cx, (void)a, (void)na;
	if (nr < 1)
		return wh_trap("initial-cwd: bad results");
	if (ctx->env && ctx->env->files_dir) {
		wh_val_cstring(&s, "/");
		wh_val_option(&res[0], &s);
	} else
		wh_val_option(&res[0], NULL);
	return NULL;
}

static wasmtime_error_t *cli_exit(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a, size_t na,
				  wasmtime_component_val_t *res, size_t nr)
{
	bool ok = na >= 1 && a[0].kind == WASMTIME_COMPONENT_RESULT && a[0].of.result.is_ok;
	(void)cx, (void)res, (void)nr;
	snprintf(ctx->why, sizeof(ctx->why), "guest called exit(%s)", ok ? "ok" : "err");
	return wh_trap("%s", ctx->why);
}

static wasmtime_error_t *cli_exit_code(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				       size_t na, wasmtime_component_val_t *res, size_t nr)
{
	(void)cx, (void)res, (void)nr;
	snprintf(ctx->why, sizeof(ctx->why), "guest called exit with code %u",
		 na >= 1 && a[0].kind == WASMTIME_COMPONENT_U8 ? a[0].of.u8 : 0);
	return wh_trap("%s", ctx->why);
}

/* stdout/stderr: to the program's log sink, a record per line. */
static ssize_t glog_check_write(void *s)
{
	(void)s;
	return 65536;
}

static ssize_t glog_write(void *s, const void *buf, size_t n)
{
	wh_guest_log_write(s, buf, n);
	return (ssize_t)n;
}

static void glog_close(struct wh_ctx *ctx, void *s)
{
	(void)ctx;
	wh_guest_log_flush(s);
	free(s);
}

static const struct wh_stream_ops glog_ops = {
	.check_write = glog_check_write,
	.write = glog_write,
	.close = glog_close,
};

static wasmtime_error_t *get_log_stream(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *res,
					size_t nr, const char *name)
{
	struct wh_guest_log *g;
	uint32_t rep;
	if (nr < 1)
		return wh_trap("get-%s: bad results", name);
	g = malloc(sizeof(*g));
	if (!g)
		return wh_trap("out of memory");
	wh_guest_log_init(g, ctx->env ? ctx->env->log : NULL, ctx->env ? ctx->env->id : NULL, name);
	rep = wh_output_stream_new(ctx, &glog_ops, g);
	if (!rep || wh_val_resource(cx, &res[0], rep, WH_OUTPUT_STREAM) < 0)
		return wh_trap("too many resources");
	return NULL;
}

static wasmtime_error_t *get_stdout(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				    size_t na, wasmtime_component_val_t *res, size_t nr)
{
	(void)a, (void)na;
	return get_log_stream(ctx, cx, res, nr, "stdout");
}

static wasmtime_error_t *get_stderr(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				    size_t na, wasmtime_component_val_t *res, size_t nr)
{
	(void)a, (void)na;
	return get_log_stream(ctx, cx, res, nr, "stderr");
}

static ssize_t empty_read(void *s, void *buf, size_t cap, int timeout_ms)
{
	(void)s, (void)buf, (void)cap, (void)timeout_ms;
	return 0;
}

static const struct wh_stream_ops empty_ops = { .read = empty_read };

static wasmtime_error_t *get_stdin(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a, size_t na,
				   wasmtime_component_val_t *res, size_t nr)
{
	uint32_t rep;
	(void)a, (void)na;
	if (nr < 1)
		return wh_trap("get-stdin: bad results");
	rep = wh_input_stream_new(ctx, &empty_ops, NULL);
	if (!rep || wh_val_resource(cx, &res[0], rep, WH_INPUT_STREAM) < 0)
		return wh_trap("too many resources");
	return NULL;
}

static wasmtime_error_t *no_terminal(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				     size_t na, wasmtime_component_val_t *res, size_t nr)
{
	(void)ctx, (void)cx, (void)a, (void)na;
	if (nr < 1)
		return wh_trap("get-terminal: bad results");
	wh_val_option(&res[0], NULL);
	return NULL;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))
static const struct wh_func_def mono_funcs[] = {
	{ "now", mono_now },
	{ "resolution", mono_resolution },
	{ "subscribe-instant", mono_sub_instant },
	{ "subscribe-duration", mono_sub_duration },
};
static const struct wh_func_def wall_funcs[] = { { "now", wall_now }, { "resolution", wall_resolution } };
static const struct wh_func_def random_funcs[] = {
	{ "get-random-bytes", random_bytes },
	{ "get-random-u64", random_u64 },
};
static const struct wh_func_def insecure_funcs[] = {
	{ "get-insecure-random-bytes", random_bytes },
	{ "get-insecure-random-u64", random_u64 },
};
static const struct wh_func_def seed_funcs[] = { { "insecure-seed", insecure_seed } };
static const struct wh_func_def env_funcs[] = {
	{ "get-environment", get_environment },
	{ "get-arguments", get_arguments },
	{ "initial-cwd", initial_cwd },
};
static const struct wh_func_def exit_funcs[] = { { "exit", cli_exit }, { "exit-with-code", cli_exit_code } };
static const struct wh_func_def stdin_funcs[] = { { "get-stdin", get_stdin } };
static const struct wh_func_def stdout_funcs[] = { { "get-stdout", get_stdout } };
static const struct wh_func_def stderr_funcs[] = { { "get-stderr", get_stderr } };
static const struct wh_resource_def tin_res[] = { { "terminal-input", WH_TERMINAL_INPUT } };
static const struct wh_resource_def tout_res[] = { { "terminal-output", WH_TERMINAL_OUTPUT } };
static const struct wh_func_def tstdin_funcs[] = { { "get-terminal-stdin", no_terminal } };
static const struct wh_func_def tstdout_funcs[] = { { "get-terminal-stdout", no_terminal } };
static const struct wh_func_def tstderr_funcs[] = { { "get-terminal-stderr", no_terminal } };

const struct wh_iface_def wh_base_ifaces[] = {
	{ "wasi:clocks/monotonic-clock@0.2.6", NULL, 0, mono_funcs, N(mono_funcs) },
	{ "wasi:clocks/wall-clock@0.2.6", NULL, 0, wall_funcs, N(wall_funcs) },
	{ "wasi:random/random@0.2.6", NULL, 0, random_funcs, N(random_funcs) },
	{ "wasi:random/insecure@0.2.6", NULL, 0, insecure_funcs, N(insecure_funcs) },
	{ "wasi:random/insecure-seed@0.2.6", NULL, 0, seed_funcs, N(seed_funcs) },
	{ "wasi:cli/environment@0.2.6", NULL, 0, env_funcs, N(env_funcs) },
	{ "wasi:cli/exit@0.2.6", NULL, 0, exit_funcs, N(exit_funcs) },
	{ "wasi:cli/stdin@0.2.6", NULL, 0, stdin_funcs, N(stdin_funcs) },
	{ "wasi:cli/stdout@0.2.6", NULL, 0, stdout_funcs, N(stdout_funcs) },
	{ "wasi:cli/stderr@0.2.6", NULL, 0, stderr_funcs, N(stderr_funcs) },
	{ "wasi:cli/terminal-input@0.2.6", tin_res, 1, NULL, 0 },
	{ "wasi:cli/terminal-output@0.2.6", tout_res, 1, NULL, 0 },
	{ "wasi:cli/terminal-stdin@0.2.6", NULL, 0, tstdin_funcs, N(tstdin_funcs) },
	{ "wasi:cli/terminal-stdout@0.2.6", NULL, 0, tstdout_funcs, N(tstdout_funcs) },
	{ "wasi:cli/terminal-stderr@0.2.6", NULL, 0, tstderr_funcs, N(tstderr_funcs) },
};
const size_t wh_n_base_ifaces = N(wh_base_ifaces);
