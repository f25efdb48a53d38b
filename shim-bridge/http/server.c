/* The server's lifecycle, listener, event loop, timers and worker pool.
 * One connection's state machine lives in conn.c. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "shim-bridge/http/server-int.h"

#define MAX_EVENTS 256

/* epoll tags for the descriptors that are neither connections nor sites */
static char tag_wake, tag_shutdown;

void http_server_config_init(struct http_server_config *cfg)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	memset(cfg, 0, sizeof(*cfg));
	cfg->listen_fd = -1;
	cfg->shutdown_fd = -1;
	cfg->workers = cpus > 2 ? (unsigned)cpus * 2 : 4;
	cfg->queue_cap = 1024;
	cfg->max_conns = 10000;
	http_limits_default(&cfg->limits);
	cfg->max_response = 64u * 1024 * 1024;
	cfg->head_timeout_ms = 10000;
	cfg->body_timeout_ms = 30000;
	cfg->idle_timeout_ms = 60000;
	cfg->linger_ms = 2000;
	cfg->retry_after_s = 1;
	cfg->drain_ms = 30000;
}

const char *http_request_body(const struct http_request *req, size_t *len)
{
	return http_parser_body(req->parser_, len);
}

const char *http_request_header(const struct http_request *req, const char *name)
{
	const struct http_header *h = http_header_find(req->headers, req->n_headers, name);

	return h ? h->value : NULL;
}

uint64_t server_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The Date header value, formatted once a second. */
const char *server_date(struct http_server *srv)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	if (ts.tv_sec != srv->date_sec) {
		srv->date_sec = ts.tv_sec;
		gmtime_r(&ts.tv_sec, &tm);
		strftime(srv->date, sizeof(srv->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	}
	return srv->date;
}

void count_response(struct conn *c, int status)
{
	COUNT(c, requests, 1);
	if (status >= 400 && status < 500)
		COUNT(c, r4xx, 1);
	else if (status >= 500)
		COUNT(c, r5xx, 1);
}

/* ---- timers ---- */

void timer_clear(struct http_server *srv, struct conn *c)
{
	struct timer_head *t;

	if (c->timer == TL_NONE)
		return;
	t = &srv->timers[c->timer];
	if (c->tprev)
		c->tprev->tnext = c->tnext;
	else
		t->head = c->tnext;
	if (c->tnext)
		c->tnext->tprev = c->tprev;
	else
		t->tail = c->tprev;
	c->tprev = c->tnext = NULL;
	c->timer = TL_NONE;
}

/* (Re)arm c on list: deadline now + that list's timeout, at the tail. */
void timer_set(struct http_server *srv, struct conn *c, int list)
{
	struct timer_head *t = &srv->timers[list];

	timer_clear(srv, c);
	c->timer = list;
	c->deadline = srv->now_ms + t->timeout_ms;
	c->tprev = t->tail;
	if (t->tail)
		t->tail->tnext = c;
	else
		t->head = c;
	t->tail = c;
}

/* Milliseconds epoll_wait may sleep: until the nearest deadline. */
static int next_timeout(struct http_server *srv)
{
	uint64_t next = UINT64_MAX;

	for (int i = 0; i < TL_COUNT; i++)
		if (srv->timers[i].head && srv->timers[i].head->deadline < next)
			next = srv->timers[i].head->deadline;
	if (srv->draining && srv->drain_deadline < next)
		next = srv->drain_deadline;
	if (srv->closing && !srv->draining && srv->drain_at < next)
		next = srv->drain_at;
	uint64_t sites = site_next_deadline(srv);
	if (sites < next)
		next = sites;
	if (next == UINT64_MAX)
		return -1;
	if (next <= srv->now_ms)
		return 0;
	/* +1: the coarse clock must have passed the deadline when we wake */
	return next - srv->now_ms > 60000 ? 60000 : (int)(next - srv->now_ms) + 1;
}

static void run_timers(struct http_server *srv)
{
	for (int i = 0; i < TL_COUNT; i++) {
		struct conn *c;
		while ((c = srv->timers[i].head) && c->deadline <= srv->now_ms)
			conn_expire(c);
	}
}

int server_epoll_add(struct http_server *srv, int fd, void *tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };

	return epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* ---- queue and workers ---- */

/* Hand c to a worker. -EBUSY when the queue is full, or its site has as
 * many requests in flight as it may. */
int server_enqueue(struct http_server *srv, struct conn *c)
{
	struct http_site *site = c->site;

	if (site->max_in_flight && atomic_load(&site->st.in_flight) >= site->max_in_flight)
		return -EBUSY;
	pthread_mutex_lock(&srv->qlock);
	if (srv->qlen == srv->qcap) {
		pthread_mutex_unlock(&srv->qlock);
		return -EBUSY;
	}
	srv->ring[(srv->qhead + srv->qlen) % srv->qcap] = c;
	srv->qlen++;
	if (srv->idle_workers)
		pthread_cond_signal(&srv->qcond);
	COUNT(c, in_flight, 1); /* before a worker can take it back down */
	pthread_mutex_unlock(&srv->qlock);
	return 0;
}

/* Put a finished job on the done list; wake the network thread only when
 * the list was empty (it drains the whole list per wake-up). */
static void push_done(struct http_server *srv, struct conn *c)
{
	uint64_t one = 1;
	bool was_empty;

	c->done_next = NULL;
	pthread_mutex_lock(&srv->dlock);
	was_empty = srv->done_head == NULL;
	if (srv->done_tail)
		srv->done_tail->done_next = c;
	else
		srv->done_head = c;
	srv->done_tail = c;
	pthread_mutex_unlock(&srv->dlock);
	if (was_empty)
		(void)!write(srv->evfd, &one, sizeof(one));
}

/* Worker: take a request, run the handler, hand the response back. After
 * a forced stop, queued requests get a 503 without running the handler. */
static void *worker_main(void *arg)
{
	struct http_server *srv = arg;

	pthread_mutex_lock(&srv->qlock);
	for (;;) {
		while (srv->qlen == 0 && !srv->workers_stop) {
			srv->idle_workers++;
			pthread_cond_wait(&srv->qcond, &srv->qlock);
			srv->idle_workers--;
		}
		if (srv->qlen == 0)
			break;
		struct conn *c = srv->ring[srv->qhead];
		srv->qhead = (srv->qhead + 1) % srv->qcap;
		srv->qlen--;
		pthread_mutex_unlock(&srv->qlock);
		if (atomic_load(&srv->abort_jobs) || atomic_load(&c->site->abort_jobs))
			(void)response_simple(&c->resp, 503, "the server is shutting down");
		else
			c->site->handler(c->site->user, &c->req, &c->resp);
		push_done(srv, c);
		pthread_mutex_lock(&srv->qlock);
	}
	pthread_mutex_unlock(&srv->qlock);
	return NULL;
}

/* ---- event loop ---- */

/* Write the responses workers handed back. */
static void drain_done(struct http_server *srv)
{
	struct conn *c;

	pthread_mutex_lock(&srv->dlock);
	c = srv->done_head;
	srv->done_head = srv->done_tail = NULL;
	pthread_mutex_unlock(&srv->dlock);
	while (c) {
		struct conn *next = c->done_next;
		conn_job_done(c);
		c = next;
	}
}

static void take_done(struct http_server *srv)
{
	uint64_t v;

	(void)!read(srv->evfd, &v, sizeof(v));
	drain_done(srv);
}

/* Stop accepting and close connections that have nothing in progress. */
static void start_drain(struct http_server *srv, unsigned ms)
{
	if (srv->draining)
		return;
	srv->draining = true;
	srv->drain_deadline = srv->now_ms + ms;
	pthread_mutex_lock(&srv->site_lock);
	srv->sites_closed = true;
	pthread_mutex_unlock(&srv->site_lock);
	for (struct http_site *s = srv->sites; s; s = s->next)
		site_close_listener(s);
	for (struct conn *c = srv->all, *next; c; c = next) {
		next = c->anext;
		if (!c->dead)
			conn_drain(c);
	}
}

static void handle_event(struct http_server *srv, const struct epoll_event *ev)
{
	void *tag = ev->data.ptr;

	if (tag == &tag_wake) {
		take_done(srv);
		site_take_removals(srv);
		if (atomic_load(&srv->drain_requested))
			start_drain(srv, atomic_load(&srv->drain_ms));
	} else if (tag == &tag_shutdown) {
		epoll_ctl(srv->epfd, EPOLL_CTL_DEL, srv->cfg.shutdown_fd, NULL);
		srv->closing = true;
		srv->drain_at = srv->now_ms + srv->cfg.shutdown_delay_ms;
		if (srv->cfg.shutdown_delay_ms == 0)
			start_drain(srv, srv->cfg.drain_ms);
	} else if (*(enum ep_kind *)tag == EP_SITE) {
		site_accept(tag);
	} else {
		struct conn *c = tag;
		if (c->dead)
			return;
		if (ev->events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			c->can_read = true;
		if (ev->events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
			c->can_write = true;
		conn_run(c);
	}
}

/* At the drain deadline: close everything still open. */
static void force_close(struct http_server *srv)
{
	for (struct conn *c = srv->all; c; c = c->anext)
		if (!c->dead)
			conn_close(c);
	atomic_store(&srv->abort_jobs, true);
	srv->result = -ETIMEDOUT;
}

static void *net_main(void *arg)
{
	struct http_server *srv = arg;
	struct epoll_event evs[MAX_EVENTS];

	srv->now_ms = server_now_ms();
	for (;;) {
		int n = epoll_wait(srv->epfd, evs, MAX_EVENTS, next_timeout(srv));
		srv->now_ms = server_now_ms();
		for (int i = 0; i < n; i++)
			handle_event(srv, &evs[i]);
		run_timers(srv);
		if (srv->closing && !srv->draining && srv->now_ms >= srv->drain_at)
			start_drain(srv, srv->cfg.drain_ms);
		site_resume_accepting(srv);
		if (srv->draining && srv->n_conns > 0 && srv->now_ms >= srv->drain_deadline)
			force_close(srv);
		conn_reap(srv);
		site_check_removals(srv);
		/* Done when no connection is left, at a worker included: a site
		 * removed after this has nothing of it in use. */
		if (srv->draining && srv->n_live == 0)
			break;
	}
	pthread_mutex_lock(&srv->site_lock);
	srv->net_done = true;
	pthread_cond_broadcast(&srv->site_cond);
	pthread_mutex_unlock(&srv->site_lock);
	return NULL;
}

/* ---- lifecycle ---- */

static int server_setup(struct http_server *srv, struct sk_error *err)
{
	srv->epfd = epoll_create1(EPOLL_CLOEXEC);
	srv->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (srv->epfd < 0 || srv->evfd < 0)
		return sk_err(err, -errno, "http server: epoll/eventfd: %s", strerror(errno));
	if ((srv->main_site && server_epoll_add(srv, srv->main_site->lfd, srv->main_site) < 0) ||
	    server_epoll_add(srv, srv->evfd, &tag_wake) < 0 ||
	    (srv->cfg.shutdown_fd >= 0 && server_epoll_add(srv, srv->cfg.shutdown_fd, &tag_shutdown) < 0))
		return sk_err(err, -errno, "http server: epoll_ctl: %s", strerror(errno));
	srv->ring = calloc(srv->qcap, sizeof(*srv->ring));
	srv->workers = calloc(srv->n_workers, sizeof(*srv->workers));
	if (!srv->ring || !srv->workers)
		return sk_err(err, -ENOMEM, "http server: out of memory");
	srv->timers[TL_IDLE].timeout_ms = srv->cfg.idle_timeout_ms;
	srv->timers[TL_HEAD].timeout_ms = srv->cfg.head_timeout_ms;
	srv->timers[TL_BODY].timeout_ms = srv->cfg.body_timeout_ms;
	srv->timers[TL_WRITE].timeout_ms = srv->cfg.idle_timeout_ms;
	srv->timers[TL_LINGER].timeout_ms = srv->cfg.linger_ms;
	return 0;
}

static int check_config(const struct http_server_config *cfg, http_handler_fn handler, struct sk_error *err)
{
	if ((cfg->listen || cfg->listen_fd >= 0) && !handler)
		return sk_err(err, -EINVAL, "http server: a listener needs a handler");
	if (!cfg->workers || !cfg->queue_cap || !cfg->max_conns || !cfg->limits.max_head ||
	    !cfg->limits.max_headers)
		return sk_err(err, -EINVAL, "http server: workers, queue_cap, max_conns, max_head and "
					    "max_headers must be at least 1");
	if (!cfg->head_timeout_ms || !cfg->body_timeout_ms || !cfg->idle_timeout_ms)
		return sk_err(err, -EINVAL, "http server: timeouts must be at least 1 ms");
	return 0;
}

int http_server_new(const struct http_server_config *cfg, http_handler_fn handler, void *user,
		    struct http_server **out, struct sk_error *err)
{
	struct http_server *srv;
	int r = check_config(cfg, handler, err);

	if (r < 0)
		return r;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return sk_err(err, -ENOMEM, "http server: out of memory");
	srv->cfg = *cfg;
	srv->epfd = srv->evfd = -1;
	srv->n_workers = cfg->workers;
	srv->qcap = cfg->queue_cap;
	pthread_mutex_init(&srv->qlock, NULL);
	pthread_mutex_init(&srv->dlock, NULL);
	pthread_mutex_init(&srv->stop_lock, NULL);
	pthread_cond_init(&srv->qcond, NULL);
	pthread_mutex_init(&srv->site_lock, NULL);
	pthread_cond_init(&srv->site_cond, NULL);
	srv->listen_copy = cfg->listen ? strdup(cfg->listen) : NULL;
	srv->name_copy = cfg->server_name ? strdup(cfg->server_name) : NULL;
	srv->cfg.listen = srv->listen_copy;
	srv->cfg.server_name = srv->name_copy;
	int lfd = cfg->listen_fd;
	if (lfd < 0 && cfg->listen)
		lfd = r = http_listen(cfg->listen, err);
	if (r >= 0 && lfd >= 0) {
		struct http_site_config sc = { .handler = handler, .user = user, .stream_request = cfg->stream_request };
		r = site_make(srv, lfd, &sc, &srv->main_site, err);
		if (r < 0)
			close(lfd); /* taken over, as on any failure */
		else
			srv->sites = srv->main_site;
	}
	if (r >= 0)
		r = server_setup(srv, err);
	if (r < 0) {
		http_server_free(srv);
		return r;
	}
	*out = srv;
	return 0;
}

unsigned http_server_port(const struct http_server *srv)
{
	return srv->main_site ? srv->main_site->port : 0;
}

int http_server_start(struct http_server *srv, struct sk_error *err)
{
	int r;

	for (; srv->n_started < srv->n_workers; srv->n_started++) {
		r = pthread_create(&srv->workers[srv->n_started], NULL, worker_main, srv);
		if (r)
			return sk_err(err, -r, "http server: starting worker %u: %s", srv->n_started, strerror(r));
	}
	r = pthread_create(&srv->net, NULL, net_main, srv);
	if (r)
		return sk_err(err, -r, "http server: starting the network thread: %s", strerror(r));
	srv->net_started = true;
	return 0;
}

/* Join the network thread (it returns once drained), then the workers. */
static int join_all(struct http_server *srv)
{
	pthread_mutex_lock(&srv->stop_lock);
	if (!srv->joined) {
		if (srv->net_started)
			pthread_join(srv->net, NULL);
		pthread_mutex_lock(&srv->qlock);
		srv->workers_stop = true;
		pthread_cond_broadcast(&srv->qcond);
		pthread_mutex_unlock(&srv->qlock);
		for (unsigned i = 0; i < srv->n_started; i++)
			pthread_join(srv->workers[i], NULL);
		srv->joined = true;
	}
	pthread_mutex_unlock(&srv->stop_lock);
	return srv->result;
}

int http_server_shutdown(struct http_server *srv, unsigned deadline_ms)
{
	uint64_t one = 1;

	if (!atomic_exchange(&srv->drain_requested, true)) {
		atomic_store(&srv->drain_ms, deadline_ms);
		if (srv->evfd >= 0)
			(void)!write(srv->evfd, &one, sizeof(one));
	}
	return join_all(srv);
}

int http_server_wait(struct http_server *srv)
{
	return join_all(srv);
}

void http_server_stats(const struct http_server *srv, struct http_server_stats *o)
{
	struct http_server *s = (struct http_server *)(uintptr_t)srv;

	o->requests = atomic_load(&s->st.requests);
	o->responses_4xx = atomic_load(&s->st.r4xx);
	o->responses_5xx = atomic_load(&s->st.r5xx);
	o->handler_errors = atomic_load(&s->st.herr);
	o->rejected_busy = atomic_load(&s->st.busy);
	o->rejected_conns = atomic_load(&s->st.rconns);
	o->active_conns = atomic_load(&s->st.active);
	o->in_flight = atomic_load(&s->st.in_flight);
}

void http_server_free(struct http_server *srv)
{
	if (!srv)
		return;
	if (srv->net_started)
		(void)http_server_shutdown(srv, 0);
	else
		(void)join_all(srv);
	conn_reap(srv);
	while (srv->all) {
		struct conn *c = srv->all;
		srv->all = c->anext;
		conn_free(c);
	}
	while (srv->pool_n)
		free(srv->pool[--srv->pool_n]);
	while (srv->sites) {
		struct http_site *s = srv->sites;
		srv->sites = s->next;
		site_free(s);
	}
	if (srv->epfd >= 0)
		close(srv->epfd);
	if (srv->evfd >= 0)
		close(srv->evfd);
	pthread_mutex_destroy(&srv->qlock);
	pthread_mutex_destroy(&srv->dlock);
	pthread_mutex_destroy(&srv->stop_lock);
	pthread_cond_destroy(&srv->qcond);
	pthread_mutex_destroy(&srv->site_lock);
	pthread_cond_destroy(&srv->site_cond);
	free(srv->ring);
	free(srv->workers);
	free(srv->listen_copy);
	free(srv->name_copy);
	free(srv);
}
