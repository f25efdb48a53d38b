/* spin-bridge: serve one Spin HTTP app on wasmtime.
 *
 * bridge_main() owns the process-wide state: the engine, the app host on it
 * (host.c: the loaded app, one prepared handler per component, the router)
 * and the HTTP server whose workers run the host's handler. SIGTERM and
 * SIGINT start a drain: no new connections, requests in progress finish,
 * then the process exits 0. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "shim-bridge/app/app.h"
#include "shim-bridge/http/server.h"
#include "shim-bridge/runtime/engine.h"
#include "shim-bridge/spin-bridge/bridge.h"
#include "shim-bridge/spin-bridge/host.h"
#include "shim-bridge/spin-bridge/options.h"
#include "shim-bridge/spin-bridge/redis-trigger.h"
#include "shim-bridge/telemetry/telemetry.h"
#include "spinkube-version.h"

struct bridge {
	struct bridge_options opts;
	struct sb_engine *engine;
	struct sb_host *host;
	struct http_server *server; /* NULL when the app has no HTTP triggers */
	struct sb_redis *redis;     /* NULL when it has no Redis triggers */
};

static int signal_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
	int saved = errno;
	char c = (char)sig;

	if (write(signal_pipe[1], &c, 1) < 0) {
		/* nothing to do: the pipe is full, a drain is already due */
	}
	errno = saved;
}
static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The engine, the app on it, the HTTP server with the app's handler when
 * it has HTTP triggers, and its Redis trigger when it has Redis ones. */
static int start(struct bridge *b, struct sk_error *err)
{
	struct sb_engine_opts eo = {
		.max_instance_memory = b->opts.max_instance_memory,
		.max_instances = b->opts.max_concurrent + 2,
		.timeout_ms = b->opts.timeout_ms,
		.cache_dir = b->opts.cache_dir,
	};
	struct http_server_config cfg;
	int r;

	r = sb_engine_new(&eo, &b->engine, err);
	if (r < 0)
		return r;
	r = sb_host_load(&b->opts, b->engine, NULL, &b->host, err);
	if (r < 0)
		return r;
	/* Redis messages and HTTP requests share the instances (host.h). */
	struct sb_redis_opts ro = {
		.max_in_flight = b->opts.max_concurrent > SB_REDIS_IN_FLIGHT_MAX ? SB_REDIS_IN_FLIGHT_MAX
										 : b->opts.max_concurrent,
		.log = sk_log_sink_stderr(),
	};
	r = sb_redis_start(b->host, &ro, &b->redis, err);
	if (r < 0)
		return r;
	if (!sb_host_serves_http(b->host)) {
		/* No HTTP listener at all: a socket handed over is closed. */
		if (b->opts.listen_fd >= 0)
			close(b->opts.listen_fd);
		return 0;
	}

	http_server_config_init(&cfg);
	cfg.listen = b->opts.listen;
	cfg.listen_fd = b->opts.listen_fd;
	cfg.workers = b->opts.max_concurrent;
	cfg.limits.max_body = (size_t)b->opts.max_request_body;
	cfg.max_response = (size_t)b->opts.max_response_body;
	cfg.head_timeout_ms = b->opts.head_timeout_ms;
	cfg.shutdown_fd = signal_pipe[0];
	cfg.drain_ms = b->opts.drain_ms;
	cfg.shutdown_delay_ms = b->opts.shutdown_delay_ms;
	cfg.stream_request = sb_host_wants_stream;
	r = http_server_new(&cfg, sb_host_handle, b->host, &b->server, err);
	if (r < 0)
		return sk_err_prefix(err, "--listen %s", b->opts.listen);
	return http_server_start(b->server, err);
}

/* OTEL_* from the environment (the pod's, in the shim's app process). A
 * setting that cannot be used is a warning; telemetry never stops the app. */
static void start_telemetry(struct bridge *b)
{
	struct tel_config *cfg = malloc(sizeof(*cfg));
	struct sk_error err = { 0 };

	if (!cfg) {
		log_warn("telemetry off", "reason=\"out of memory\"");
		return;
	}
	tel_config_read((const char *const *)environ, sb_host_app(b->host)->name, sk_log_sink_stderr(), cfg);
	if (tel_config_any(cfg) && tel_start(cfg, sk_log_sink_stderr(), &err) < 0) {
		char q[1024];
		log_warn("telemetry off", "reason=%s", log_quote(err.message, q, sizeof(q)));
	}
	free(cfg);
}

/* A Redis-only app: wait for SIGTERM or SIGINT. */
static void wait_signal(void)
{
	struct pollfd p = { .fd = signal_pipe[0], .events = POLLIN };

	while (poll(&p, 1, -1) < 0 && errno == EINTR) {
	}
}

static void bridge_free(struct bridge *b)
{
	(void)sb_redis_stop(b->redis, 0); /* first, with the server: both use the host */
	b->redis = NULL;
	http_server_free(b->server); /* first: its workers use the host */
	sb_host_free(b->host);
	sb_engine_free(b->engine);
}

static int setup_signals(void)
{
	struct sigaction sa;

	if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int bridge_run(int argc, char *argv[], struct sk_error *failure)
{
	struct bridge b = { 0 };
	struct sk_error err = { 0 };
	enum bridge_action action;
	char cache[4096];
	double t0 = now_ms();
	int r;

	if (bridge_options_parse(argc, (const char *const *)argv, (const char *const *)environ, &b.opts, &action,
				 cache, sizeof(cache), &err) < 0) {
		fprintf(stderr, "spin-bridge: %s\n", err.message);
		if (failure)
			*failure = err;
		return 2;
	}
	if (action == BRIDGE_HELP) {
		bridge_usage(stdout);
		return 0;
	}
	if (action == BRIDGE_VERSION) {
		printf("spin-bridge %s (wasmtime %s)\n", SPINKUBE_VERSION, WASMTIME_VERSION);
		return 0;
	}
	if (b.opts.max_concurrent == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		b.opts.max_concurrent = cpus > 2 ? (unsigned)(2 * cpus) : 4;
	}
	if (setup_signals() < 0) {
		fprintf(stderr, "spin-bridge: cannot set up signal handling: %s\n", strerror(errno));
		return 1;
	}
	/* outbound HTTP for guests (shim-bridge/wasi/outbound.c) */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "spin-bridge: cannot initialise libcurl\n");
		return 1;
	}
	r = start(&b, &err);
	if (r < 0) {
		char q[1024];
		log_error("cannot start", "error=%s", log_quote(err.message, q, sizeof(q)));
		fprintf(stderr, "spin-bridge: %s\n", err.message);
		if (failure)
			*failure = err;
		bridge_free(&b);
		curl_global_cleanup();
		return 1;
	}
	start_telemetry(&b);
	sb_host_log_routes(b.host);
	const struct sb_redis_route *routes;
	size_t n_redis = sb_host_redis_routes(b.host, &routes);
	if (!b.server) {
		log_info("serving", "app=%s listen=none redis_triggers=%zu components=%zu concurrency=%u start_ms=%.1f",
			 sb_host_app(b.host)->name, n_redis, sb_host_app(b.host)->n_components, b.opts.max_concurrent,
			 now_ms() - t0);
		wait_signal();
	} else {
		log_info("serving", "app=%s listen=%s port=%u redis_triggers=%zu components=%zu concurrency=%u start_ms=%.1f",
			 sb_host_app(b.host)->name, b.opts.listen, http_server_port(b.server), n_redis,
			 sb_host_app(b.host)->n_components, b.opts.max_concurrent, now_ms() - t0);
		r = http_server_wait(b.server);
		struct http_server_stats st;
		http_server_stats(b.server, &st);
		log_info("stopped", "requests=%llu errors=%llu drain=%s", (unsigned long long)st.requests,
			 (unsigned long long)st.handler_errors, r == 0 ? "complete" : "cut off at the deadline");
	}
	if (b.redis) {
		unsigned dropped = sb_redis_stop(b.redis, b.opts.drain_ms);
		b.redis = NULL;
		log_info("redis trigger stopped", "dropped=%u drain=%s", dropped, dropped ? "cut off at the deadline" : "complete");
	}
	tel_stop(); /* sends what is queued: the server's threads are done */
	bridge_free(&b);
	curl_global_cleanup();
	return 0;
}

int bridge_main(int argc, char *argv[])
{
	return bridge_run(argc, argv, NULL);
}
