/* Listeners: binding "host:port", accepting, and the sites a server serves
 * (added while it runs, removed one at a time without disturbing the
 * others). The network thread owns every site once it is linked; removal
 * is a request it takes from the removal list and answers by setting
 * `removed` under site_lock. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "shim-bridge/http/server-int.h"

#define ACCEPT_PAUSE_MS 100

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

/* Accept every pending connection of site. Over the server's or the site's
 * max_conns: close at once. Out of descriptors: stop listening on this site
 * for ACCEPT_PAUSE_MS instead of spinning. */
void site_accept(struct http_site *site)
{
	struct http_server *srv = site->srv;

	if (srv->draining || site->removing || site->lfd < 0)
		return;
	for (;;) {
		int fd = accept4(site->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				epoll_ctl(srv->epfd, EPOLL_CTL_DEL, site->lfd, NULL);
				site->accept_paused = true;
				site->accept_resume_ms = srv->now_ms + ACCEPT_PAUSE_MS;
				srv->n_paused++;
			}
			return;
		}
		if (srv->n_conns >= srv->cfg.max_conns || (site->max_conns && site->n_conns >= site->max_conns) ||
		    !conn_new(site, fd)) {
			atomic_fetch_add(&srv->st.rconns, 1);
			atomic_fetch_add(&site->st.rconns, 1);
			close(fd);
		}
	}
}

/* Listen again on the sites whose pause is over. */
void site_resume_accepting(struct http_server *srv)
{
	if (!srv->n_paused)
		return;
	for (struct http_site *s = srv->sites; s; s = s->next)
		if (s->accept_paused && srv->now_ms >= s->accept_resume_ms &&
		    server_epoll_add(srv, s->lfd, s) == 0) {
			s->accept_paused = false;
			srv->n_paused--;
		}
}

/* Close site's listening socket (drain or removal). */
void site_close_listener(struct http_site *site)
{
	struct http_server *srv = site->srv;

	if (site->lfd < 0)
		return;
	if (!site->accept_paused)
		epoll_ctl(srv->epfd, EPOLL_CTL_DEL, site->lfd, NULL);
	else
		srv->n_paused--;
	site->accept_paused = false;
	close(site->lfd);
	site->lfd = -1;
}

/* The earliest moment a paused listener resumes or a removal's deadline
 * passes; UINT64_MAX when none. */
uint64_t site_next_deadline(struct http_server *srv)
{
	uint64_t next = UINT64_MAX;

	if (!srv->n_paused && !srv->n_removing)
		return next;
	for (struct http_site *s = srv->sites; s; s = s->next) {
		if (s->accept_paused && s->accept_resume_ms < next)
			next = s->accept_resume_ms;
		if (s->removing && s->remove_deadline < next)
			next = s->remove_deadline;
	}
	return next;
}

/* Start the removals asked for (network thread): no more accepting, idle
 * connections closed, the others closed when their exchange ends. */
void site_take_removals(struct http_server *srv)
{
	pthread_mutex_lock(&srv->site_lock);
	struct http_site *list = srv->rm_head;
	srv->rm_head = NULL;
	pthread_mutex_unlock(&srv->site_lock);
	for (struct http_site *s = list, *next; s; s = next) {
		next = s->rm_next;
		s->removing = true;
		s->remove_deadline = srv->now_ms + s->rm_ms;
		srv->n_removing++;
		site_close_listener(s);
		for (struct conn *c = srv->all; c; c = c->anext)
			if (c->site == s && !c->dead)
				conn_drain(c);
	}
}

/* Finish the removals whose connections are all gone (freed: none is at a
 * worker); past a removal's deadline, close what is left of it first. */
void site_check_removals(struct http_server *srv)
{
	if (!srv->n_removing)
		return;
	for (struct http_site *s = srv->sites, *next; s; s = next) {
		next = s->next;
		if (!s->removing)
			continue;
		if (atomic_load(&s->cut_now) && s->n_live > 0)
			atomic_store(&s->abort_jobs, true);
		if (atomic_load(&s->cut_now))
			s->remove_deadline = 0;
		if (s->n_conns > 0 && srv->now_ms >= s->remove_deadline) {
			for (struct conn *c = srv->all; c; c = c->anext)
				if (c->site == s && !c->dead)
					conn_close(c);
			atomic_store(&s->abort_jobs, true);
			s->result = -ETIMEDOUT;
		}
		if (s->n_live > 0)
			continue;
		pthread_mutex_lock(&srv->site_lock);
		if (s->prev)
			s->prev->next = s->next;
		else
			srv->sites = s->next;
		if (s->next)
			s->next->prev = s->prev;
		s->prev = s->next = NULL;
		s->removing = false;
		srv->n_removing--;
		s->removed = true;
		pthread_cond_broadcast(&srv->site_cond);
		pthread_mutex_unlock(&srv->site_lock);
	}
}

/* A site for lfd (made non-blocking; taken over only on success), not yet
 * linked or watched. */
int site_make(struct http_server *srv, int lfd, const struct http_site_config *cfg, struct http_site **out,
	      struct sk_error *err)
{
	int type = 0;
	socklen_t tl = sizeof(type);

	if (lfd < 0 || getsockopt(lfd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_STREAM)
		return sk_err(err, -EINVAL, "http server: the site's descriptor is not a stream socket");
	if (fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK) < 0)
		return sk_err(err, -errno, "http server: listening descriptor: %s", strerror(errno));
	struct http_site *s = calloc(1, sizeof(*s));
	if (!s)
		return sk_err(err, -ENOMEM, "http server: out of memory");
	s->kind = EP_SITE;
	s->srv = srv;
	s->lfd = lfd;
	s->port = local_port(lfd);
	s->handler = cfg->handler;
	s->user = cfg->user;
	s->stream_request = cfg->stream_request;
	s->max_conns = cfg->max_conns;
	s->max_in_flight = cfg->max_in_flight;
	*out = s;
	return 0;
}

void site_free(struct http_site *site)
{
	if (!site)
		return;
	if (site->lfd >= 0)
		close(site->lfd);
	free(site);
}

int http_server_add_site(struct http_server *srv, const struct http_site_config *cfg, struct http_site **out,
			 struct sk_error *err)
{
	struct http_site *s;

	if (!cfg->handler)
		return sk_err(err, -EINVAL, "http server: a site needs a handler");
	int r = site_make(srv, cfg->listen_fd, cfg, &s, err);
	if (r < 0)
		return r;
	pthread_mutex_lock(&srv->site_lock);
	if (srv->sites_closed) {
		pthread_mutex_unlock(&srv->site_lock);
		s->lfd = -1; /* not taken over */
		site_free(s);
		return sk_err(err, -ESHUTDOWN, "http server: draining; no new sites");
	}
	s->next = srv->sites;
	if (srv->sites)
		srv->sites->prev = s;
	srv->sites = s;
	/* After linking: the network thread may see its events at once. */
	r = server_epoll_add(srv, s->lfd, s);
	if (r < 0) {
		srv->sites = s->next;
		if (s->next)
			s->next->prev = NULL;
		pthread_mutex_unlock(&srv->site_lock);
		s->lfd = -1;
		site_free(s);
		return sk_err(err, r, "http server: epoll_ctl: %s", strerror(-r));
	}
	pthread_mutex_unlock(&srv->site_lock);
	*out = s;
	return 0;
}

unsigned http_site_port(const struct http_site *site)
{
	return site->port;
}

void http_site_stats(const struct http_site *site, struct http_server_stats *o)
{
	struct counters *st = (struct counters *)(uintptr_t)&site->st;

	o->requests = atomic_load(&st->requests);
	o->responses_4xx = atomic_load(&st->r4xx);
	o->responses_5xx = atomic_load(&st->r5xx);
	o->handler_errors = atomic_load(&st->herr);
	o->rejected_busy = atomic_load(&st->busy);
	o->rejected_conns = atomic_load(&st->rconns);
	o->active_conns = atomic_load(&st->active);
	o->in_flight = atomic_load(&st->in_flight);
}

int http_site_remove(struct http_site *site, unsigned deadline_ms)
{
	struct http_server *srv = site->srv;
	uint64_t one = 1;
	bool wait = true;

	pthread_mutex_lock(&srv->site_lock);
	if (!srv->net_started || srv->net_done) {
		/* No network thread to hand it to: nothing of it is live. */
		if (site->prev)
			site->prev->next = site->next;
		else if (srv->sites == site)
			srv->sites = site->next;
		if (site->next)
			site->next->prev = site->prev;
		wait = false;
	} else if (!site->rm_queued) {
		site->rm_queued = true;
		site->rm_ms = deadline_ms;
		site->rm_next = srv->rm_head;
		srv->rm_head = site;
		(void)!write(srv->evfd, &one, sizeof(one));
	}
	while (wait && !site->removed && !srv->net_done)
		pthread_cond_wait(&srv->site_cond, &srv->site_lock);
	if (wait && !site->removed) {
		/* The server stopped first; its connections are gone. */
		if (site->prev)
			site->prev->next = site->next;
		else if (srv->sites == site)
			srv->sites = site->next;
		if (site->next)
			site->next->prev = site->prev;
	}
	if (srv->main_site == site)
		srv->main_site = NULL;
	pthread_mutex_unlock(&srv->site_lock);
	int result = site->result;
	site_free(site);
	return result;
}

void http_site_cut(struct http_site *site)
{
	uint64_t one = 1;

	atomic_store(&site->cut_now, true);
	(void)!write(site->srv->evfd, &one, sizeof(one));
}
