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
#define ACCEPT_PAUSE_MS 100

/* epoll tags for the descriptors that are not connections */
static char tag_listen, tag_wake, tag_shutdown;

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

static uint64_t mono_ms(void)
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

void server_count_response(struct http_server *srv, int status)
{
	atomic_fetch_add_explicit(&srv->st_requests, 1, memory_order_relaxed);
	if (status >= 400 && status < 500)
		atomic_fetch_add_explicit(&srv->st_4xx, 1, memory_order_relaxed);
	else if (status >= 500)
		atomic_fetch_add_explicit(&srv->st_5xx, 1, memory_order_relaxed);
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
	if (srv->accept_paused && srv->accept_resume_ms < next)
		next = srv->accept_resume_ms;
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

/* ---- listener ---- */

/* Split "host:port" / "[v6]:port" / ":port". host is "" for any address. */
static int split_hostport(const char *s, char *host, size_t hlen, char *port, size_t plen, struct sk_error *err)
{
	const char *colon, *h = s;
	size_t n;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb[1] != ':')
			return sk_err(err, -EINVAL, "listen address \"%s\": expected [ipv6]:port", s);
		h = s + 1;
		n = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return sk_err(err, -EINVAL, "listen address \"%s\": expected host:port, e.g. 0.0.0.0:80", s);
		n = (size_t)(colon - s);
	}
	if (n >= hlen || strlen(colon + 1) >= plen || !colon[1])
		return sk_err(err, -EINVAL, "listen address \"%s\": host or port missing or too long", s);
	memcpy(host, h, n);
	host[n] = '\0';
	memcpy(port, colon + 1, strlen(colon + 1) + 1);
	return 0;
}

int http_listen(const char *spec, struct sk_error *err)
{
	char host[256], port[32];
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *res = NULL;
	int r = split_hostport(spec, host, sizeof(host), port, sizeof(port), err), last = 0;

	if (r < 0)
		return r;
	r = getaddrinfo(host[0] && strcmp(host, "*") ? host : NULL, port, &hints, &res);
	if (r != 0)
		return sk_err(err, -EINVAL, "listen address \"%s\": %s", spec, gai_strerror(r));
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		_cleanup_close_ int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int one = 1;
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 4096) < 0) {
			last = errno;
			continue;
		}
		freeaddrinfo(res);
		return TAKE_FD(fd);
	}
	freeaddrinfo(res);
	return sk_err(err, -last, "listen on %s: %s (is the port in use, or below 1024 without privilege?)", spec,
		      strerror(last));
}

static unsigned local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

/* Accept every pending connection. Over max_conns: close at once. Out of
 * descriptors: stop listening for ACCEPT_PAUSE_MS instead of spinning. */
static void accept_all(struct http_server *srv)
{
	for (;;) {
		int fd = accept4(srv->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				epoll_ctl(srv->epfd, EPOLL_CTL_DEL, srv->lfd, NULL);
				srv->accept_paused = true;
				srv->accept_resume_ms = srv->now_ms + ACCEPT_PAUSE_MS;
			}
			return;
		}
		if (srv->n_conns >= srv->cfg.max_conns || !conn_new(srv, fd)) {
			atomic_fetch_add(&srv->st_rconns, 1);
			close(fd);
		}
	}
}

static int epoll_add(struct http_server *srv, int fd, void *tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };

	return epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* ---- queue and workers ---- */

/* Hand c to a worker. -EBUSY when the queue is full. */
int server_enqueue(struct http_server *srv, struct conn *c)
{
	pthread_mutex_lock(&srv->qlock);
	if (srv->qlen == srv->qcap) {
		pthread_mutex_unlock(&srv->qlock);
		return -EBUSY;
	}
	srv->ring[(srv->qhead + srv->qlen) % srv->qcap] = c;
	srv->qlen++;
	if (srv->idle_workers)
		pthread_cond_signal(&srv->qcond);
	pthread_mutex_unlock(&srv->qlock);
	atomic_fetch_add(&srv->st_in_flight, 1);
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
		if (atomic_load(&srv->abort_jobs))
			(void)response_simple(&c->resp, 503, "the server is shutting down");
		else
			srv->handler(srv->user, &c->req, &c->resp);
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
	if (srv->lfd >= 0) {
		if (!srv->accept_paused)
			epoll_ctl(srv->epfd, EPOLL_CTL_DEL, srv->lfd, NULL);
		close(srv->lfd);
		srv->lfd = -1;
	}
	srv->accept_paused = false;
	for (struct conn *c = srv->all, *next; c; c = next) {
		next = c->anext;
		if (!c->dead)
			conn_drain(c);
	}
}

static void handle_event(struct http_server *srv, const struct epoll_event *ev)
{
	void *tag = ev->data.ptr;

	if (tag == &tag_listen) {
		if (!srv->draining)
			accept_all(srv);
	} else if (tag == &tag_wake) {
		take_done(srv);
		if (atomic_load(&srv->drain_requested))
			start_drain(srv, atomic_load(&srv->drain_ms));
	} else if (tag == &tag_shutdown) {
		epoll_ctl(srv->epfd, EPOLL_CTL_DEL, srv->cfg.shutdown_fd, NULL);
		srv->closing = true;
		srv->drain_at = srv->now_ms + srv->cfg.shutdown_delay_ms;
		if (srv->cfg.shutdown_delay_ms == 0)
			start_drain(srv, srv->cfg.drain_ms);
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

	srv->now_ms = mono_ms();
	for (;;) {
		int n = epoll_wait(srv->epfd, evs, MAX_EVENTS, next_timeout(srv));
		srv->now_ms = mono_ms();
		for (int i = 0; i < n; i++)
			handle_event(srv, &evs[i]);
		run_timers(srv);
		if (srv->closing && !srv->draining && srv->now_ms >= srv->drain_at)
			start_drain(srv, srv->cfg.drain_ms);
		if (srv->accept_paused && srv->now_ms >= srv->accept_resume_ms && epoll_add(srv, srv->lfd, &tag_listen) == 0)
			srv->accept_paused = false;
		if (srv->draining && srv->n_conns > 0 && srv->now_ms >= srv->drain_deadline)
			force_close(srv);
		conn_reap(srv);
		if (srv->draining && srv->n_conns == 0)
			break;
	}
	return NULL;
}

/* ---- lifecycle ---- */

static int server_setup(struct http_server *srv, struct sk_error *err)
{
	srv->epfd = epoll_create1(EPOLL_CLOEXEC);
	srv->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (srv->epfd < 0 || srv->evfd < 0)
		return sk_err(err, -errno, "http server: epoll/eventfd: %s", strerror(errno));
	if (srv->lfd >= 0 && fcntl(srv->lfd, F_SETFL, fcntl(srv->lfd, F_GETFL) | O_NONBLOCK) < 0)
		return sk_err(err, -errno, "http server: listening descriptor: %s", strerror(errno));
	if ((srv->lfd >= 0 && epoll_add(srv, srv->lfd, &tag_listen) < 0) || epoll_add(srv, srv->evfd, &tag_wake) < 0 ||
	    (srv->cfg.shutdown_fd >= 0 && epoll_add(srv, srv->cfg.shutdown_fd, &tag_shutdown) < 0))
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

static int check_config(const struct http_server_config *cfg, struct sk_error *err)
{
	if (!cfg->listen && cfg->listen_fd < 0)
		return sk_err(err, -EINVAL, "http server: set listen (\"host:port\") or listen_fd");
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
	int r = check_config(cfg, err);

	if (r < 0)
		return r;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return sk_err(err, -ENOMEM, "http server: out of memory");
	srv->cfg = *cfg;
	srv->lfd = cfg->listen_fd;
	srv->epfd = srv->evfd = -1;
	srv->handler = handler;
	srv->user = user;
	srv->n_workers = cfg->workers;
	srv->qcap = cfg->queue_cap;
	pthread_mutex_init(&srv->qlock, NULL);
	pthread_mutex_init(&srv->dlock, NULL);
	pthread_mutex_init(&srv->stop_lock, NULL);
	pthread_cond_init(&srv->qcond, NULL);
	srv->listen_copy = cfg->listen ? strdup(cfg->listen) : NULL;
	srv->name_copy = cfg->server_name ? strdup(cfg->server_name) : NULL;
	srv->cfg.listen = srv->listen_copy;
	srv->cfg.server_name = srv->name_copy;
	if (srv->lfd < 0) {
		r = http_listen(cfg->listen, err);
		srv->lfd = r;
	}
	if (r >= 0)
		r = server_setup(srv, err);
	if (r < 0) {
		http_server_free(srv);
		return r;
	}
	srv->port = local_port(srv->lfd);
	*out = srv;
	return 0;
}

unsigned http_server_port(const struct http_server *srv)
{
	return srv->port;
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

	o->requests = atomic_load(&s->st_requests);
	o->responses_4xx = atomic_load(&s->st_4xx);
	o->responses_5xx = atomic_load(&s->st_5xx);
	o->handler_errors = atomic_load(&s->st_herr);
	o->rejected_busy = atomic_load(&s->st_busy);
	o->rejected_conns = atomic_load(&s->st_rconns);
	o->active_conns = atomic_load(&s->st_active);
	o->in_flight = atomic_load(&s->st_in_flight);
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
	if (srv->lfd >= 0)
		close(srv->lfd);
	if (srv->epfd >= 0)
		close(srv->epfd);
	if (srv->evfd >= 0)
		close(srv->evfd);
	pthread_mutex_destroy(&srv->qlock);
	pthread_mutex_destroy(&srv->dlock);
	pthread_mutex_destroy(&srv->stop_lock);
	pthread_cond_destroy(&srv->qcond);
	free(srv->ring);
	free(srv->workers);
	free(srv->listen_copy);
	free(srv->name_copy);
	free(srv);
}
