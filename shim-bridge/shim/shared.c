/* Shared mode (see shim.h): one daemon serves the app containers of every
 * Spin pod of the node (per containerd namespace) in its own process, on
 * one engine, one compiled-code cache, one instance pool and one HTTP
 * server whose sites are the pods' listeners.
 *
 * Create opens the app's listening socket in its pod's network namespace
 * (a short thread enters it, so no other thread ever changes namespace) and
 * its log pipes. Start finds and loads the app (shim_app_plan, then an app
 * host on the shared engine, with the container's environment and its log
 * pipe as the sink) and adds its site; a pod's memory limit becomes its
 * instance memory and its cap on requests in flight. A failure to load is
 * what an app process's exit 1 is in per-pod mode: the line on the
 * container's stderr and in its termination message, then the task exits
 * with status 1. Kill starts a stopper thread: after the shutdown delay the
 * site drains and the task exits 0. SIGKILL is an exit with 137 at once; the
 * stopper then closes the site's connections and frees the app when no
 * request of it runs any more. Delete frees what the stopper left, or
 * leaves the app to it. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "shim-bridge/app/app.h"
#include "shim-bridge/http/server.h"
#include "shim-bridge/runtime/engine.h"
#include "shim-bridge/shim/app.h"
#include "shim-bridge/shim/cgroup.h"
#include "shim-bridge/shim/shim.h"
#include "shim-bridge/spin-bridge/host.h"
#include "shim-bridge/spin-bridge/options.h"
#include "shim-bridge/spin-bridge/redis-trigger.h"

#define DEFAULT_LISTEN "0.0.0.0:80"
/* Redis messages one app handles at once without a memory or CPU limit,
 * and the instances the engine keeps for all apps' Redis messages beyond
 * the HTTP workers' (past them a message fails to instantiate, logged). */
#define REDIS_IN_FLIGHT  4
#define REDIS_INSTANCES  16

struct shim_app {
	struct shim *s;
	char *id;
	int lfd;            /* listening in the pod's namespace until the site takes it */
	int out_fd, err_fd; /* the container's log pipes */
	struct sk_log_sink sink;
	char listen[256];
	struct shim_app_run run;
	struct bridge_options opts;
	char opt_cache[PATH_MAX];
	const char **env; /* the container's environment, NULL-terminated (borrowed strings) */
	struct sb_host *host;
	struct http_site *site;  /* NULL for an app without HTTP triggers */
	struct sb_redis *redis;  /* its Redis trigger, or NULL */
	atomic_uint_fast64_t cpu_ns; /* CPU time its requests took on the workers */

	pthread_mutex_t mu; /* guards the stopper's state below */
	pthread_cond_t cond;
	pthread_t stopper;
	bool stopper_started, kill_now;
	bool loading;  /* Start is loading the app: the stopper waits */
	bool stopped;  /* the stopper is done with the app */
	bool orphaned; /* Delete came first: the stopper frees the app */
	uint32_t exit_status;
};

/* --- the sink: one line per record on the container's stderr -------------- */

static void sink_fn(void *ud, enum log_level level, const char *msg, const char *fields)
{
	struct shim_app *a = ud;

	log_at_fd(a->err_fd >= 0 ? a->err_fd : 2, level, msg, "%s", fields);
}

/* A line for the container (kubectl logs) and its termination message. */
static void app_failed(struct shim_app *a, const struct shim_spec *sp, const char *line)
{
	char buf[SK_ERR_MESSAGE_MAX + 64];
	int n = snprintf(buf, sizeof(buf), "containerd-shim-spin-v2: %s\n", line);

	if (n > 0)
		(void)!write(a->err_fd >= 0 ? a->err_fd : 2, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
	shim_app_fail_message(sp, line);
}

/* Close the container's log pipes: containerd reads them to their end
 * before it deletes the task, as it would after an app process exits.
 * Only once no request of the app runs (nothing writes to them). */
static void close_logs(struct shim_app *a)
{
	if (a->out_fd >= 0)
		close(a->out_fd);
	if (a->err_fd >= 0)
		close(a->err_fd);
	a->out_fd = a->err_fd = -1;
}

/* --- the daemon's shared parts --------------------------------------------- */

static unsigned env_unsigned(const char *name, unsigned def, unsigned max)
{
	const char *v = getenv(name);
	char *end;

	if (!v || !*v)
		return def;
	unsigned long n = strtoul(v, &end, 10);
	return *end || n == 0 || n > max ? def : (unsigned)n;
}

int shim_shared_start(struct shim *s, struct sk_error *err)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned workers = env_unsigned("SPIN_SHIM_WORKERS", cpus > 2 ? (unsigned)cpus * 2 : 4, 1024);
	char cache[PATH_MAX];
	uint64_t mem = 128ull << 20;
	const char *v = getenv("SPIN_MAX_INSTANCE_MEMORY");

	if (v && *v && bridge_parse_size(v, &mem) < 0)
		return sk_err(err, -EINVAL, "SPIN_MAX_INSTANCE_MEMORY=%s: not a size (e.g. 128Mi)", v);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return sk_err(err, -ENOMEM, "cannot initialise libcurl");
	/* Three descriptors per app (its listener and log pipes) and one per
	 * connection: the soft limit goes up to the hard one. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	snprintf(cache, sizeof(cache), "%s/cache", s->state_dir);
	/* Every worker may hold an instance, and loading an app checks one. */
	struct sb_engine_opts eo = { .max_instance_memory = mem, .max_instances = workers + 8 + REDIS_INSTANCES,
				     .cache_dir = cache };
	int r = sb_engine_new(&eo, &s->engine, err);
	if (r < 0)
		return r;
	struct http_server_config cfg;
	http_server_config_init(&cfg);
	cfg.workers = workers;
	cfg.max_conns = env_unsigned("SPIN_SHIM_MAX_CONNS", 65536, 1u << 20);
	r = http_server_new(&cfg, NULL, NULL, &s->http, err);
	if (r == 0)
		r = http_server_start(s->http, err);
	if (r < 0)
		return r;
	log_info("shared mode", "workers=%u instances=%u instance_memory_mib=%" PRIu64, workers, workers + 8,
		 mem >> 20);
	return 0;
}

void shim_shared_stop(struct shim *s)
{
	if (s->http)
		(void)http_server_shutdown(s->http, 0);
}

/* --- Create ------------------------------------------------------------------ */

struct ns_listen {
	const char *netns, *spec;
	int fd;
	struct sk_error err;
};

/* On a thread of its own: enter the namespace, listen, and end (the
 * namespace goes with the thread). */
static void *listen_in_ns(void *arg)
{
	struct ns_listen *l = arg;

	if (l->netns) {
		int nfd = open(l->netns, O_RDONLY | O_CLOEXEC);
		if (nfd < 0 || setns(nfd, CLONE_NEWNET) < 0) {
			l->fd = sk_err(&l->err, -errno, "cannot enter the pod's network namespace %s: %s", l->netns,
				       strerror(errno));
			if (nfd >= 0)
				close(nfd);
			return NULL;
		}
		close(nfd);
	}
	l->fd = http_listen(l->spec, &l->err);
	return NULL;
}

/* The network namespace of c's pod: the sandbox's own path when the spec
 * names the sandbox by our pid (every sandbox here has this process's pid),
 * else the path itself. Caller holds s->mu. */
static const char *pod_netns(struct shim *s, const struct shim_container *c)
{
	char self[64];

	if (!c->spec.netns)
		return NULL;
	snprintf(self, sizeof(self), "/proc/%d/ns/net", (int)getpid());
	if (strcmp(c->spec.netns, self) != 0)
		return c->spec.netns;
	for (size_t i = 0; i < s->n; i++) {
		const struct shim_container *p = s->c[i];
		if (p->sandbox && c->spec.sandbox_id && strcmp(p->id, c->spec.sandbox_id) == 0)
			return p->spec.netns;
	}
	return NULL;
}

static void shared_app_free(struct shim_app *a)
{
	if (!a)
		return;
	if (a->lfd >= 0)
		close(a->lfd);
	if (a->out_fd >= 0)
		close(a->out_fd);
	if (a->err_fd >= 0)
		close(a->err_fd);
	(void)sb_redis_stop(a->redis, 0); /* before the host it uses */
	sb_host_free(a->host);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cond);
	free(a->env);
	free(a->id);
	free(a);
}

int shim_shared_create(struct shim *s, struct shim_container *c, struct sk_error *err)
{
	struct shim_app *a = calloc(1, sizeof(*a));
	char netns[PATH_MAX] = "";

	if (!a || !(a->id = strdup(c->id))) {
		free(a);
		return sk_err(err, -ENOMEM, "out of memory");
	}
	a->s = s;
	a->lfd = a->out_fd = a->err_fd = -1;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cond, NULL);
	a->sink = (struct sk_log_sink){ sink_fn, a };
	const char *spec = shim_spec_env(&c->spec, "SPIN_HTTP_LISTEN_ADDR");
	snprintf(a->listen, sizeof(a->listen), "%s", spec && *spec ? spec : DEFAULT_LISTEN);
	pthread_mutex_lock(&s->mu);
	const char *ns = pod_netns(s, c);
	if (ns)
		snprintf(netns, sizeof(netns), "%s", ns);
	pthread_mutex_unlock(&s->mu);
	if (c->spec.netns && !netns[0]) {
		shared_app_free(a);
		return sk_err(err, -ENOENT, "container %s: its pod's sandbox %s is not on this shim: delete the pod "
				       "and let it be made again", c->id, c->spec.sandbox_id ? c->spec.sandbox_id : "?");
	}
	int r = shim_open_log(c->stdout_path, err);
	if (r >= 0) {
		a->out_fd = r;
		r = shim_open_log(c->stderr_path, err);
	}
	if (r < 0) {
		shared_app_free(a);
		return r;
	}
	a->err_fd = r;
	/* Listen now, so the port is there when Start returns and connections
	 * that come while the app loads wait in the backlog. */
	struct ns_listen l = { .netns = netns[0] ? netns : NULL, .spec = a->listen, .fd = -1 };
	pthread_t t;
	r = pthread_create(&t, NULL, listen_in_ns, &l);
	if (r) {
		shared_app_free(a);
		return sk_err(err, -r, "cannot start a thread: %s", strerror(r));
	}
	pthread_join(t, NULL);
	if (l.fd < 0) {
		*err = l.err;
		shared_app_free(a);
		return sk_err_prefix(err, "SPIN_HTTP_LISTEN_ADDR=%s", a->listen);
	}
	a->lfd = l.fd;
	a->env = calloc(c->spec.n_env + 1, sizeof(*a->env));
	if (!a->env) {
		shared_app_free(a);
		return sk_err(err, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < c->spec.n_env; i++)
		a->env[i] = c->spec.env[i];
	c->app = a;
	c->pid = getpid();
	return 0;
}

/* --- Start ------------------------------------------------------------------- */

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The app's handler, with the worker's CPU time counted for Stats. */
static void app_handle(void *user, const struct http_request *req, struct http_response *resp)
{
	struct shim_app *a = user;
	uint64_t t0 = thread_cpu_ns();

	sb_host_handle(a->host, req, resp);
	atomic_fetch_add_explicit(&a->cpu_ns, thread_cpu_ns() - t0, memory_order_relaxed);
}

static bool app_wants_stream(void *user, const struct http_request *req)
{
	struct shim_app *a = user;

	return sb_host_wants_stream(a->host, req);
}

/* Requests in flight a CPU limit allows: two per core of the quota (a
 * request waiting on I/O leaves its core to another), at least one; 0 with
 * no limit. */
static unsigned cpu_in_flight(const struct shim_spec *sp)
{
	if (sp->cpu_quota <= 0 || sp->cpu_period == 0)
		return 0;
	uint64_t n = (2 * (uint64_t)sp->cpu_quota + sp->cpu_period - 1) / sp->cpu_period;
	return n < 1 ? 1 : n > 4096 ? 4096 : (unsigned)n;
}

/* Load the app and serve it. Caller does not hold s->mu. */
static int load_and_serve(struct shim *s, struct shim_container *c, struct shim_app *a, struct sk_error *err)
{
	struct shim_app_args args = { .bundle = c->bundle, .id = c->id, .ns = s->ns,
				      .grpc_address = s->grpc_address, .state_dir = s->state_dir };
	enum bridge_action action;
	int r = shim_app_plan(&args, &c->spec, a->listen, a->lfd, false, &a->run, err);

	if (r < 0)
		return r;
	r = bridge_options_parse(a->run.argc, a->run.argv, a->env, &a->opts, &action, a->opt_cache,
				 sizeof(a->opt_cache), err);
	if (r < 0)
		return r;
	struct sb_host_env henv = { .environ = a->env, .log = &a->sink, .cancellable = true };
	struct sb_host *host;
	r = sb_host_load(&a->opts, s->engine, &henv, &host, err);
	if (r < 0)
		return r;
	pthread_mutex_lock(&a->mu);
	a->host = host;
	if (a->kill_now)
		sb_host_cancel(host);
	pthread_mutex_unlock(&a->mu);
	/* Under a memory limit, shim_app_plan set the instance count that
	 * fits: that many requests at a time, the others answered 503. */
	unsigned in_flight = c->spec.memory_limit > 0 ? a->opts.max_concurrent : 0;
	unsigned cpu = cpu_in_flight(&c->spec);
	if (cpu && (!in_flight || cpu < in_flight))
		in_flight = cpu;
	struct sb_redis_opts ro = { .max_in_flight = in_flight ? in_flight : REDIS_IN_FLIGHT, .log = &a->sink };
	struct sb_redis *redis;
	if (ro.max_in_flight > SB_REDIS_IN_FLIGHT_MAX)
		ro.max_in_flight = SB_REDIS_IN_FLIGHT_MAX;
	r = sb_redis_start(a->host, &ro, &redis, err);
	if (r < 0)
		return r;
	pthread_mutex_lock(&a->mu);
	a->redis = redis;
	pthread_mutex_unlock(&a->mu);
	if (!sb_host_serves_http(a->host)) {
		/* A Redis-only app: no site, no listener. */
		close(a->lfd);
		a->lfd = -1;
		sk_report(&a->sink, LOG_INFO, "serving", "app=%s listen=none shared=yes", sb_host_app(a->host)->name);
		return 0;
	}
	struct http_site_config sc = {
		.listen_fd = a->lfd,
		.handler = app_handle,
		.user = a,
		.stream_request = app_wants_stream,
		.max_in_flight = in_flight,
	};
	r = http_server_add_site(s->http, &sc, &a->site, err);
	if (r < 0)
		return r;
	a->lfd = -1; /* the site's now */
	sb_host_log_routes(a->host);
	sk_report(&a->sink, LOG_INFO, "serving", "app=%s listen=%s shared=yes", sb_host_app(a->host)->name,
		  a->listen);
	return 0;
}

int shim_shared_run(struct shim *s, struct shim_container *c, struct sk_error *err)
{
	struct shim_app *a = c->app;

	if (!a)
		return sk_err(err, -EINVAL, "container %s: not created in shared mode", c->id);
	pthread_mutex_lock(&a->mu);
	a->loading = true;
	pthread_mutex_unlock(&a->mu);
	int r = load_and_serve(s, c, a, err);
	if (r < 0) {
		app_failed(a, &c->spec, err->message);
		pthread_mutex_lock(&a->mu);
		struct sb_host *host = a->host;
		struct sb_redis *redis = a->redis;
		a->host = NULL;
		a->redis = NULL;
		pthread_mutex_unlock(&a->mu);
		(void)sb_redis_stop(redis, 0);
		sb_host_free(host);
		close_logs(a);
		a->exit_status = 1;
	}
	pthread_mutex_lock(&a->mu);
	a->loading = false;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->mu);
	return r;
}

/* --- Kill, Delete -------------------------------------------------------------- */

/* Drain (after the shutdown delay, unless killed) and mark the task exited;
 * after SIGKILL the task has exited already and this only cleans up (a
 * request at a worker runs to its end, at most its time limit). Runs
 * detached; frees the app when Delete came first. */
static void *stopper_main(void *arg)
{
	struct shim_app *a = arg;
	struct shim *s = a->s;
	struct timespec until;

	pthread_mutex_lock(&a->mu);
	while (a->loading)
		pthread_cond_wait(&a->cond, &a->mu);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += a->opts.shutdown_delay_ms / 1000;
	until.tv_nsec += (long)(a->opts.shutdown_delay_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (!a->kill_now && pthread_cond_timedwait(&a->cond, &a->mu, &until) != ETIMEDOUT) {
	}
	bool killed = a->kill_now;
	struct http_site *site = a->site;
	pthread_mutex_unlock(&a->mu);
	if (site) {
		if (killed)
			http_site_cut(site);
		(void)http_site_remove(site, killed ? 0 : a->opts.drain_ms);
	}
	pthread_mutex_lock(&a->mu);
	struct sb_redis *redis = a->redis;
	a->redis = NULL;
	killed = a->kill_now;
	pthread_mutex_unlock(&a->mu);
	(void)sb_redis_stop(redis, killed ? 0 : a->opts.drain_ms);
	/* No request or message of the app runs any more: its host can go now. */
	pthread_mutex_lock(&a->mu);
	a->site = NULL;
	killed = a->kill_now;
	struct sb_host *host = a->host;
	a->host = NULL;
	pthread_mutex_unlock(&a->mu);
	sb_host_free(host);
	close_logs(a);
	if (!killed) {
		pthread_mutex_lock(&s->mu);
		struct shim_container *c = shim_find(s, a->id);
		if (c && c->app == a && c->status != SHIM_STOPPED) {
			log_info("exited", "container=%s status=0 shared=yes", a->id);
			shim_service_stopped(s, c, 0);
		}
		pthread_mutex_unlock(&s->mu);
	}
	pthread_mutex_lock(&a->mu);
	a->stopped = true;
	bool orphaned = a->orphaned;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->mu);
	if (orphaned)
		shared_app_free(a);
	return NULL;
}

int shim_shared_signal(struct shim *s, struct shim_container *c, int sig)
{
	struct shim_app *a = c->app;

	if (!a)
		return 0;
	/* Signals that would end a process with default handling end the app;
	 * the rest (SIGUSR1, SIGCHLD, SIGWINCH, ...) mean nothing to it. */
	bool ends = sig == SIGTERM || sig == SIGINT || sig == SIGQUIT || sig == SIGHUP || sig == SIGKILL;
	if (!ends)
		return 0;
	pthread_mutex_lock(&a->mu);
	if (sig == SIGKILL) {
		/* As a killed process: gone now. What is left is cleaned up. */
		a->kill_now = true;
		pthread_cond_broadcast(&a->cond);
		if (a->host)
			sb_host_cancel(a->host); /* its running guests end too */
		if (a->site && a->stopper_started)
			http_site_cut(a->site);
		if (c->status != SHIM_STOPPED) {
			log_info("exited", "container=%s status=137 shared=yes", c->id);
			shim_service_stopped(s, c, 137);
		}
	}
	int r = 0;
	if (!a->stopper_started) {
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		r = -pthread_create(&a->stopper, &at, stopper_main, a);
		pthread_attr_destroy(&at);
		a->stopper_started = r == 0;
	}
	pthread_mutex_unlock(&a->mu);
	return r;
}

void shim_shared_release(struct shim_container *c)
{
	struct shim_app *a = c->app;

	if (!a)
		return;
	c->app = NULL;
	pthread_mutex_lock(&a->mu);
	if (a->stopper_started && !a->stopped) {
		a->orphaned = true; /* the stopper frees it */
		pthread_mutex_unlock(&a->mu);
		return;
	}
	pthread_mutex_unlock(&a->mu);
	if (a->site)
		(void)http_site_remove(a->site, 0);
	(void)sb_redis_stop(a->redis, 0);
	a->redis = NULL;
	shared_app_free(a);
}

void shim_shared_stats(const struct shim_container *c, struct shim_cgroup_stats *st)
{
	const struct shim_app *a = c->app;

	memset(st, 0, sizeof(*st));
	if (!a)
		return;
	/* What the app's requests cost on the node runtime's workers. Its
	 * memory is the node runtime's, shared: not counted per app. */
	st->cpu_total_ns = atomic_load_explicit(&a->cpu_ns, memory_order_relaxed);
	st->cpu_user_ns = st->cpu_total_ns;
}
