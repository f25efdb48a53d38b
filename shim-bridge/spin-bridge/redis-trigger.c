/* The Redis trigger (see redis-trigger.h). */
#include "shim-bridge/spin-bridge/redis-trigger.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "shim-bridge/runtime/handler.h"
#include "shim-bridge/spin-bridge/host.h"
#include "shim-bridge/wasi/redis-conn.h"
#include "shim-bridge/wasi/redis-link.h"
#include "shim-bridge/wasi/redis-sub.h"

/* One message for one trigger. */
struct job {
	const struct sb_redis_route *route;
	uint8_t *payload;
	size_t len;
};

/* One subscriber: an address and the distinct channels of its triggers. */
struct sub {
	struct sb_redis *rt;
	const char *address, *shown; /* borrowed from the first route */
	const char **channels;
	size_t n_channels;
	pthread_t thread;
	bool started;
};

struct sb_redis {
	struct sb_host *host;
	const struct sk_log_sink *log;
	const struct sb_redis_route *routes;
	size_t n_routes;
	size_t max_message;
	unsigned cap;
	struct sub *subs;
	size_t n_subs;
	pthread_t *workers;
	unsigned n_workers;
	int stop_pipe[2];

	pthread_mutex_t mu; /* guards what follows */
	pthread_cond_t cond; /* a job queued, a slot freed, the last job done, stopping */
	struct job *queue;  /* ring of cap */
	size_t head, n_queued;
	unsigned in_flight; /* queued + running */
	bool stopping;      /* no more jobs are taken from the sockets */
	bool drop;          /* the drain time is over: queued jobs are dropped */
	unsigned dropped;
};

static void rlog(struct sb_redis *rt, enum log_level level, const char *msg, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void rlog(struct sb_redis *rt, enum log_level level, const char *msg, const char *fmt, ...)
{
	char fields[2048];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(fields, sizeof(fields), fmt, ap);
	va_end(ap);
	sk_report(rt->log, level, msg, "%s", fields);
}

/* --- the handler threads ---------------------------------------------------------- */

static void run_job(struct sb_redis *rt, struct job *j)
{
	struct sk_error err = { 0 };
	char q[1024], ch[300];

	sb_host_slot_take(rt->host);
	int r = sb_inbound_redis_call(j->route->component, j->payload, j->len, &err);
	sb_host_slot_give(rt->host);
	if (r < 0)
		rlog(rt, LOG_ERROR, "redis message failed", "trigger=%s component=%s channel=%s reason=%s",
		     j->route->trigger_id, j->route->component_id, log_quote(j->route->channel, ch, sizeof(ch)),
		     log_quote(err.message, q, sizeof(q)));
}

static void *worker_main(void *arg)
{
	struct sb_redis *rt = arg;

	pthread_mutex_lock(&rt->mu);
	for (;;) {
		while (!rt->n_queued && !(rt->stopping && rt->in_flight == 0))
			pthread_cond_wait(&rt->cond, &rt->mu);
		if (!rt->n_queued)
			break; /* stopping and nothing left */
		struct job j = rt->queue[rt->head];
		rt->head = (rt->head + 1) % rt->cap;
		rt->n_queued--;
		bool drop = rt->drop;
		if (drop)
			rt->dropped++;
		pthread_mutex_unlock(&rt->mu);
		if (!drop)
			run_job(rt, &j);
		free(j.payload);
		pthread_mutex_lock(&rt->mu);
		rt->in_flight--;
		pthread_cond_broadcast(&rt->cond);
	}
	pthread_mutex_unlock(&rt->mu);
	return NULL;
}

/* Queue j, waiting while cap jobs are in flight (the subscriber does not
 * read its socket meanwhile). false when stopping (j not taken). */
static bool enqueue(struct sb_redis *rt, struct job *j)
{
	pthread_mutex_lock(&rt->mu);
	while (rt->in_flight >= rt->cap && !rt->stopping)
		pthread_cond_wait(&rt->cond, &rt->mu);
	if (rt->stopping) {
		pthread_mutex_unlock(&rt->mu);
		return false;
	}
	rt->queue[(rt->head + rt->n_queued) % rt->cap] = *j;
	rt->n_queued++;
	rt->in_flight++;
	pthread_cond_broadcast(&rt->cond);
	pthread_mutex_unlock(&rt->mu);
	return true;
}

/* --- the subscribers ----------------------------------------------------------------- */

/* Sleep ms unless told to stop; true when stopping. */
static bool pause_or_stop(struct sb_redis *rt, unsigned ms)
{
	struct pollfd p = { .fd = rt->stop_pipe[0], .events = POLLIN };

	while (poll(&p, 1, (int)ms) < 0 && errno == EINTR) {
	}
	return p.revents & POLLIN;
}

/* One message: a job for every trigger of this address on its channel. */
static void dispatch(struct sub *s, struct wh_redis_msg *m)
{
	struct sb_redis *rt = s->rt;
	char ch[300];

	if (m->refused) {
		rlog(rt, LOG_WARN, "redis message refused",
		     "address=%s channel=%s bytes=%llu reason=\"larger than the %zu bytes a message may have\"", s->shown,
		     log_quote(m->channel, ch, sizeof(ch)), (unsigned long long)m->refused_len, rt->max_message);
		return;
	}
	for (size_t i = 0; i < rt->n_routes; i++) {
		const struct sb_redis_route *rr = &rt->routes[i];
		if (strcmp(rr->address, s->address) != 0 || strlen(rr->channel) != m->channel_len ||
		    memcmp(rr->channel, m->channel, m->channel_len) != 0)
			continue;
		struct job j = { .route = rr, .len = m->len, .payload = malloc(m->len ? m->len : 1) };
		if (!j.payload) {
			rlog(rt, LOG_ERROR, "redis message dropped", "trigger=%s reason=\"out of memory\"", rr->trigger_id);
			continue;
		}
		memcpy(j.payload, m->payload, m->len);
		if (!enqueue(rt, &j)) {
			free(j.payload);
			return;
		}
	}
}

static void *sub_main(void *arg)
{
	struct sub *s = arg;
	struct sb_redis *rt = s->rt;
	unsigned backoff = 0;
	char what[400];

	struct wh_redis_tls *tls = NULL; /* made at the first rediss:// connect, kept for the reconnects */

	snprintf(what, sizeof(what), "redis trigger (%s)", s->shown);
	while (!rt->stopping) {
		_cleanup_(wh_redis_url_clear) struct wh_redis_url u = { 0 };
		struct wh_redis_sub *conn = NULL;
		struct sk_error err = { 0 };
		char q[1024];
		int r;

		if (backoff && pause_or_stop(rt, backoff))
			break;
		backoff = !backoff ? SB_REDIS_BACKOFF_MIN_MS
				   : backoff * 2 > SB_REDIS_BACKOFF_MAX_MS ? SB_REDIS_BACKOFF_MAX_MS : backoff * 2;
		r = wh_redis_url_parse(s->address, &u, &err);
		if (r == 0 && u.tls && !tls)
			r = wh_redis_tls_new(sb_host_ca_file(rt->host), &tls, &err);
		if (r == 0)
			r = wh_redis_sub_open(&u, tls, what, s->channels, s->n_channels, rt->max_message, rt->stop_pipe[0],
					      &conn, &err);
		if (r == -ECANCELED || rt->stopping)
			break;
		if (r < 0) {
			rlog(rt, LOG_WARN, "redis trigger cannot subscribe", "address=%s retry_ms=%u reason=%s", s->shown,
			     backoff, log_quote(err.message, q, sizeof(q)));
			continue;
		}
		rlog(rt, LOG_INFO, "redis subscribed", "address=%s channels=%zu", s->shown, s->n_channels);
		backoff = 0;
		for (;;) {
			struct wh_redis_msg m;
			r = wh_redis_sub_next(conn, rt->stop_pipe[0], &m, &err);
			if (r <= 0)
				break;
			dispatch(s, &m);
			wh_redis_msg_clear(&m);
		}
		wh_redis_sub_free(conn);
		if (r < 0 && !rt->stopping) {
			backoff = SB_REDIS_BACKOFF_MIN_MS;
			rlog(rt, LOG_WARN, "redis connection lost", "address=%s retry_ms=%u reason=%s", s->shown, backoff,
			     log_quote(err.message, q, sizeof(q)));
		}
	}
	wh_redis_tls_free(tls);
	return NULL;
}

/* --- start and stop ---------------------------------------------------------------------- */

/* Group the routes by address, one sub each, with distinct channels. */
static int plan_subs(struct sb_redis *rt, struct sk_error *err)
{
	if (!(rt->subs = calloc(rt->n_routes, sizeof(*rt->subs))))
		return sk_err(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < rt->n_routes; i++) {
		const struct sb_redis_route *rr = &rt->routes[i];
		struct sub *s = NULL;
		bool have = false;

		for (size_t k = 0; k < rt->n_subs && !s; k++)
			if (strcmp(rt->subs[k].address, rr->address) == 0)
				s = &rt->subs[k];
		if (!s) {
			if (rt->n_subs == SB_REDIS_ADDRESSES_MAX)
				return sk_err(err, -E2BIG, "the app's Redis triggers name more than %d addresses",
					      SB_REDIS_ADDRESSES_MAX);
			s = &rt->subs[rt->n_subs++];
			*s = (struct sub){ .rt = rt, .address = rr->address, .shown = rr->shown };
		}
		for (size_t k = 0; k < s->n_channels && !have; k++)
			have = strcmp(s->channels[k], rr->channel) == 0;
		if (have)
			continue;
		if (s->n_channels == WH_REDIS_SUB_CHANNELS_MAX)
			return sk_err(err, -E2BIG, "more than %d Redis channels on %s", WH_REDIS_SUB_CHANNELS_MAX, rr->shown);
		const char **v = realloc(s->channels, (s->n_channels + 1) * sizeof(*v));
		if (!v)
			return sk_err(err, -ENOMEM, "out of memory");
		s->channels = v;
		s->channels[s->n_channels++] = rr->channel;
	}
	return 0;
}

static void rt_free(struct sb_redis *rt)
{
	for (size_t i = 0; rt->subs && i < rt->n_subs; i++)
		free(rt->subs[i].channels);
	free(rt->subs);
	free(rt->workers);
	free(rt->queue);
	if (rt->stop_pipe[0] >= 0)
		close(rt->stop_pipe[0]);
	if (rt->stop_pipe[1] >= 0)
		close(rt->stop_pipe[1]);
	pthread_mutex_destroy(&rt->mu);
	pthread_cond_destroy(&rt->cond);
	free(rt);
}

int sb_redis_start(struct sb_host *host, const struct sb_redis_opts *o, struct sb_redis **out, struct sk_error *err)
{
	struct sb_redis *rt;
	int r;

	*out = NULL;
	if (o->max_in_flight < 1 || o->max_in_flight > SB_REDIS_IN_FLIGHT_MAX)
		return sk_err(err, -EINVAL, "Redis trigger: %u messages at once (1 to %d)", o->max_in_flight,
			      SB_REDIS_IN_FLIGHT_MAX);
	if (!(rt = calloc(1, sizeof(*rt))))
		return sk_err(err, -ENOMEM, "out of memory");
	rt->stop_pipe[0] = rt->stop_pipe[1] = -1;
	pthread_mutex_init(&rt->mu, NULL);
	pthread_cond_init(&rt->cond, NULL);
	rt->host = host;
	rt->log = o->log;
	rt->cap = o->max_in_flight;
	rt->max_message = o->max_message ? o->max_message : SB_REDIS_MESSAGE_MAX;
	rt->n_routes = sb_host_redis_routes(host, &rt->routes);
	if (!rt->n_routes) {
		rt_free(rt);
		return 0;
	}
	if (pipe2(rt->stop_pipe, O_CLOEXEC) < 0) {
		r = sk_err(err, -errno, "cannot make a pipe: %s", strerror(errno));
		rt_free(rt);
		return r;
	}
	if (!(rt->queue = calloc(rt->cap, sizeof(*rt->queue))) || !(rt->workers = calloc(rt->cap, sizeof(*rt->workers)))) {
		rt_free(rt);
		return sk_err(err, -ENOMEM, "out of memory");
	}
	if ((r = plan_subs(rt, err)) < 0) {
		rt_free(rt);
		return r;
	}
	for (unsigned i = 0; i < rt->cap; i++) {
		if ((r = pthread_create(&rt->workers[i], NULL, worker_main, rt)) != 0)
			break;
		rt->n_workers++;
	}
	for (size_t i = 0; r == 0 && i < rt->n_subs; i++) {
		if ((r = pthread_create(&rt->subs[i].thread, NULL, sub_main, &rt->subs[i])) == 0)
			rt->subs[i].started = true;
	}
	if (r) {
		(void)sb_redis_stop(rt, 0);
		return sk_err(err, -r, "cannot start a thread: %s", strerror(r));
	}
	for (size_t i = 0; i < rt->n_routes; i++) {
		char ch[300];
		rlog(rt, LOG_INFO, "redis trigger", "trigger=%s address=%s channel=%s component=%s", rt->routes[i].trigger_id,
		     rt->routes[i].shown, log_quote(rt->routes[i].channel, ch, sizeof(ch)), rt->routes[i].component_id);
	}
	*out = rt;
	return 0;
}

unsigned sb_redis_stop(struct sb_redis *rt, unsigned drain_ms)
{
	struct timespec until;
	unsigned dropped;

	if (!rt)
		return 0;
	pthread_mutex_lock(&rt->mu);
	rt->stopping = true;
	pthread_cond_broadcast(&rt->cond);
	pthread_mutex_unlock(&rt->mu);
	if (rt->stop_pipe[1] >= 0)
		(void)!write(rt->stop_pipe[1], "s", 1);
	for (size_t i = 0; i < rt->n_subs; i++)
		if (rt->subs[i].started)
			pthread_join(rt->subs[i].thread, NULL);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += drain_ms / 1000;
	until.tv_nsec += (long)(drain_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&rt->mu);
	while (rt->in_flight && pthread_cond_timedwait(&rt->cond, &rt->mu, &until) != ETIMEDOUT) {
	}
	rt->drop = true; /* what has not started by now is not run */
	pthread_cond_broadcast(&rt->cond);
	pthread_mutex_unlock(&rt->mu);
	for (unsigned i = 0; i < rt->n_workers; i++)
		pthread_join(rt->workers[i], NULL);
	dropped = rt->dropped;
	rt_free(rt);
	return dropped;
}
