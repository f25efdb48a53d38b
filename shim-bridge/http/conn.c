/* One connection's state machine, run on the network thread.
 *
 * Sockets are registered once, edge-triggered, for input and output; the
 * connection remembers readiness it has not used up (can_read, can_write),
 * so pausing input while a request is at a worker costs no epoll_ctl. A
 * connection holds at most one request in progress: pipelined requests wait
 * in the staging buffer and are answered in order.
 *
 * A streaming request (stream.h) is dispatched at its head; while it is at
 * the worker, which then does the socket I/O, the events of its socket are
 * ignored. Back here, a response the worker started is already on the wire;
 * what the handler left of the body is discarded (bounded) before the next
 * request, or the connection closes. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shim-bridge/http/server-int.h"
#include "shim-bridge/http/stream.h"

static void staging_put(struct conn *c);

/* Format a socket address as "ip:port" / "[ip]:port", and the bare ip. */
static unsigned format_addr(const struct sockaddr_storage *ss, char *hostport, size_t hp_len, char *ip,
			    size_t ip_len)
{
	char tmp[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &a->sin_addr, tmp, sizeof(tmp));
		port = ntohs(a->sin_port);
		snprintf(hostport, hp_len, "%s:%u", tmp, port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &a->sin6_addr, tmp, sizeof(tmp));
		port = ntohs(a->sin6_port);
		snprintf(hostport, hp_len, "[%s]:%u", tmp, port);
	} else {
		snprintf(hostport, hp_len, "unknown:0");
	}
	if (ip)
		snprintf(ip, ip_len, "%s", tmp);
	return port;
}

/* Allocate the connection for an accepted socket and register it. On
 * failure returns NULL and the caller still owns fd. */
struct conn *conn_new(struct http_site *site, int fd)
{
	struct http_server *srv = site->srv;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct conn *c = calloc(1, sizeof(*c));
	int one = 1;

	if (!c)
		return NULL;
	c->kind = EP_CONN;
	c->srv = srv;
	c->site = site;
	c->fd = fd;
	c->timer = TL_NONE;
	http_parser_init(&c->parser, &srv->cfg.limits);
	response_init(&c->resp, srv->cfg.max_response);
	c->out = sk_buf_make(RESP_MAX_HEAD + 1024);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
		format_addr(&ss, c->client_addr, sizeof(c->client_addr), c->client_ip, sizeof(c->client_ip));
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		c->local_port = format_addr(&ss, c->local_addr, sizeof(c->local_addr), NULL, 0);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c };
	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		c->fd = -1;
		conn_free(c);
		return NULL;
	}
	c->anext = srv->all;
	if (srv->all)
		srv->all->aprev = c;
	srv->all = c;
	srv->n_conns++;
	srv->n_live++;
	site->n_conns++;
	site->n_live++;
	COUNT(c, active, 1);
	c->phase = CONN_IDLE;
	timer_set(srv, c, TL_IDLE);
	return c;
}

/* Release the memory of a connection that is off every list. */
void conn_free(struct conn *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	http_parser_free(&c->parser);
	response_free(&c->resp);
	sk_buf_free(&c->out);
	staging_put(c);
	free(c);
}

static void unlink_all(struct conn *c)
{
	struct http_server *srv = c->srv;

	if (c->aprev)
		c->aprev->anext = c->anext;
	else if (srv->all == c)
		srv->all = c->anext;
	if (c->anext)
		c->anext->aprev = c->aprev;
	c->aprev = c->anext = NULL;
}

/* Close the socket. The memory stays until conn_reap() at the end of the
 * event-loop round (callers up the stack may still look at c->dead), or,
 * for a request at a worker, until the worker hands it back. */
void conn_close(struct conn *c)
{
	struct http_server *srv = c->srv;

	if (c->dead)
		return;
	timer_clear(srv, c);
	if (c->fd >= 0 && c->at_worker && c->req.streaming_) {
		/* Its worker still polls the socket: wake it with EOF and
		 * errors, and close only when it hands the connection back. */
		shutdown(c->fd, SHUT_RDWR);
	} else if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	c->dead = true;
	srv->n_conns--;
	c->site->n_conns--;
	UNCOUNT(c, active, 1);
	if (!c->at_worker) {
		c->gnext = srv->graveyard;
		srv->graveyard = c;
	}
}

/* Free the connections closed during this round. */
void conn_reap(struct http_server *srv)
{
	while (srv->graveyard) {
		struct conn *c = srv->graveyard;
		srv->graveyard = c->gnext;
		unlink_all(c);
		srv->n_live--;
		c->site->n_live--;
		conn_free(c);
	}
}

/* Staging buffers come from a per-server pool (network thread only): a
 * connection holds one only while it has unparsed input or a request in
 * progress, so idle keep-alive connections stay small and the busy ones do
 * not malloc per request. */
static bool staging_get(struct conn *c)
{
	struct http_server *srv = c->srv;

	if (c->in)
		return true;
	c->in = srv->pool_n ? srv->pool[--srv->pool_n] : malloc(CONN_IN_CAP);
	c->in_off = c->in_len = 0;
	return c->in != NULL;
}

/* Give the staging buffer back (it must hold nothing unparsed). */
static void staging_put(struct conn *c)
{
	struct http_server *srv = c->srv;

	if (!c->in)
		return;
	if (srv->pool_n < STAGING_POOL_MAX)
		srv->pool[srv->pool_n++] = c->in;
	else
		free(c->in);
	c->in = NULL;
	c->in_off = c->in_len = 0;
}

/* Read what the socket has into the staging buffer. Returns bytes read,
 * 0 when nothing new (would block or buffer full), -1 on EOF or error
 * (c->peer_eof set on EOF). */
static ssize_t conn_read(struct conn *c)
{
	if (c->peer_eof)
		return -1;
	if (!c->can_read)
		return 0;
	if (!staging_get(c)) {
		c->peer_eof = true;
		return -1;
	}
	if (c->in_off == c->in_len)
		c->in_off = c->in_len = 0;
	if (c->in_len == CONN_IN_CAP && c->in_off > 0) {
		memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
		c->in_len -= c->in_off;
		c->in_off = 0;
	}
	size_t room = CONN_IN_CAP - c->in_len;
	if (room == 0)
		return 0;
	for (;;) {
		ssize_t n = read(c->fd, c->in + c->in_len, room);
		if (n > 0) {
			c->in_len += (size_t)n;
			/* A short read drained the socket; the next arrival is a new edge. */
			if ((size_t)n < room)
				c->can_read = false;
			return n;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			c->can_read = false;
			return 0;
		}
		c->peer_eof = true;
		c->can_read = false;
		return -1;
	}
}

/* Write out, then the body. Returns 1 when everything went, 0 when the
 * socket is full (wait for EPOLLOUT), -1 on error. */
static int conn_flush(struct conn *c)
{
	while (c->out_off < c->out.len || c->wbody_off < c->wbody_len) {
		struct iovec iov[2];
		int n_iov = 0;
		if (c->out_off < c->out.len)
			iov[n_iov++] = (struct iovec){ c->out.data + c->out_off, c->out.len - c->out_off };
		if (c->wbody_off < c->wbody_len)
			iov[n_iov++] = (struct iovec){ (void *)(uintptr_t)(c->wbody + c->wbody_off),
						       c->wbody_len - c->wbody_off };
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n_iov };
		ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			c->can_write = false;
			return 0;
		}
		if (n < 0)
			return -1;
		size_t w = (size_t)n, a = c->out.len - c->out_off;
		if (w <= a) {
			c->out_off += w;
		} else {
			c->out_off = c->out.len;
			c->wbody_off += w - a;
		}
		if (c->timer == TL_WRITE)
			timer_set(c->srv, c, TL_WRITE); /* progress: push the stall deadline */
	}
	sk_buf_reset(&c->out);
	c->out_off = 0;
	return 1;
}

/* Queue a response in c->resp for writing and switch to CONN_WRITE. */
static void start_write(struct conn *c)
{
	struct http_server *srv = c->srv;
	struct response_meta m = {
		.version_minor = c->parser.parsed.method ? c->parser.parsed.version_minor : 1,
		.keep_alive = c->keep_alive && !c->close_after && !srv->draining && !srv->closing && !c->site->removing,
		.head_method = c->head_method,
		.date = server_date(srv),
		.server_name = srv->cfg.server_name,
	};
	size_t body = 0;

	if (!m.keep_alive)
		c->close_after = true;
	if (response_serialize(&c->out, &c->resp, &m, &body) < 0) {
		conn_close(c);
		return;
	}
	if (c->resp.server_error)
		COUNT(c, herr, 1);
	count_response(c, c->resp.status);
	c->wbody = c->resp.body_.data;
	c->wbody_len = body;
	c->wbody_off = 0;
	c->phase = CONN_WRITE;
	timer_clear(srv, c);
}

/* Answer from the network thread (parser rejection, 408, 503) and close
 * afterwards unless keep is set. */
static void send_error(struct conn *c, int status, const char *reason, bool keep)
{
	if (response_simple(&c->resp, status, reason) < 0) {
		conn_close(c);
		return;
	}
	if (status == 503 && c->srv->cfg.retry_after_s) {
		char v[16];
		snprintf(v, sizeof(v), "%u", c->srv->cfg.retry_after_s);
		(void)http_response_add_header(&c->resp, "Retry-After", v);
	}
	c->close_after = !keep;
	if (!keep)
		c->head_method = false; /* not about the previous request */
	start_write(c);
}

/* Fill c->req from what the parser has (the head at least). */
static void fill_request(struct conn *c, bool streaming)
{
	const struct http_parsed *p = &c->parser.parsed;

	c->req = (struct http_request){
		.method = p->method, .target = p->target, .path = p->path, .query = p->query,
		.version_minor = p->version_minor, .headers = p->headers, .n_headers = p->n_headers,
		.trailers = p->trailers, .n_trailers = p->n_trailers, .client_addr = c->client_addr,
		.client_ip = c->client_ip, .local_addr = c->local_addr, .local_port = c->local_port,
		.parser_ = &c->parser, .streaming_ = streaming,
	};
}

/* Ask config.stream_request whether the request whose head was just parsed
 * goes to a worker in streaming mode. */
static bool wants_stream(struct conn *c)
{
	struct http_site *site = c->site;

	if (!site->stream_request)
		return false;
	fill_request(c, false);
	return site->stream_request(site->user, &c->req);
}

/* Hand the request to a worker (503 when the queue is full): complete when
 * buffered; when streaming, as soon as the head is parsed. */
static void dispatch(struct conn *c, bool streaming)
{
	const struct http_parsed *p = &c->parser.parsed;

	fill_request(c, streaming);
	c->keep_alive = p->keep_alive;
	c->head_method = strcmp(p->method, "HEAD") == 0;
	response_reset(&c->resp);
	if (streaming)
		stream_begin(c);
	timer_clear(c->srv, c);
	c->phase = CONN_BUSY;
	c->at_worker = true;
	if (server_enqueue(c->srv, c) < 0) {
		c->at_worker = false;
		COUNT(c, busy, 1);
		send_error(c, 503, "the server is busy; retry later", true);
	}
}

/* Ready for the next request on a kept connection. */
static void next_request(struct conn *c)
{
	http_parser_reset(&c->parser);
	response_reset(&c->resp);
	if (c->in_off == c->in_len)
		staging_put(c);
	c->close_after = false;
	c->phase = CONN_IDLE;
	timer_set(c->srv, c, TL_IDLE);
}

/* Half-close after a response and read what still comes until EOF, so the
 * client gets the response before a reset. */
static void linger(struct conn *c)
{
	shutdown(c->fd, SHUT_WR);
	c->phase = CONN_LINGER;
	timer_set(c->srv, c, TL_LINGER);
}

/* Ask for the body with "100 Continue" (before any body byte arrived). */
static void send_continue(struct conn *c)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

	if (sk_buf_append(&c->out, cont, sizeof(cont) - 1) == 0)
		(void)conn_flush(c);
}

/* Feed staged input to the parser and act on its events. Returns true when
 * the connection can take more input, false when it moved on (dispatched,
 * error reply) or closed. */
static bool conn_parse(struct conn *c)
{
	struct http_server *srv = c->srv;

	while (c->in_off < c->in_len) {
		size_t used;
		bool at_head = c->parser.state == HP_HEAD;
		bool discarding = http_parser_discarding(&c->parser);
		enum http_parse_event e =
			http_parser_feed(&c->parser, c->in + c->in_off, c->in_len - c->in_off, &used);
		c->in_off += used;
		if (c->phase == CONN_IDLE && http_parser_started(&c->parser)) {
			c->phase = CONN_HEAD;
			timer_set(srv, c, TL_HEAD);
		}
		/* Discarding runs on the linger timer: a total, not a pause. */
		if (used && c->phase == CONN_BODY && !discarding)
			timer_set(srv, c, TL_BODY);
		switch (e) {
		case HTTP_PARSE_AGAIN:
			return true;
		case HTTP_PARSE_HEAD:
			if (wants_stream(c)) {
				dispatch(c, true);
				return false;
			}
			c->phase = CONN_BODY;
			timer_set(srv, c, TL_BODY);
			if (c->parser.parsed.expect_continue && c->in_off == c->in_len)
				send_continue(c);
			continue;
		case HTTP_PARSE_DONE:
			if (discarding) {
				/* The rest of a streamed body is gone; on to the next. */
				if (srv->draining || c->site->removing) {
					conn_close(c);
					return false;
				}
				next_request(c);
				continue;
			}
			/* A request without a body can stream its response. */
			dispatch(c, at_head && wants_stream(c));
			return false;
		case HTTP_PARSE_ERROR:
			if (discarding) {
				linger(c); /* the response went out already */
				return false;
			}
			send_error(c, c->parser.status, c->parser.reason, false);
			return false;
		}
	}
	return true;
}

/* After a streamed request: what the handler left of its body keeps the
 * connection from being reused (a framing error, a failed read, a client
 * that may hold the body back for a "100 Continue" never sent). */
static bool body_blocks_reuse(const struct conn *c)
{
	if (c->parser.state == HP_ERROR)
		return true;
	return http_parser_in_body(&c->parser) && !stream_body_discardable(c);
}

/* The response went out: close, or get ready for the next request. A
 * streamed request body the handler did not read to its end is discarded
 * first, up to STREAM_DISCARD_MAX bytes and linger_ms, when that is safe. */
static void finish_response(struct conn *c)
{
	struct http_server *srv = c->srv;
	bool body_left = http_parser_in_body(&c->parser);

	if (body_blocks_reuse(c))
		c->close_after = true;
	if (c->close_after || srv->draining || srv->closing || c->site->removing) {
		/* Readiness we have not used up may be stale (a streaming
		 * worker read the socket): look before lingering for nothing. */
		if (c->can_read && c->parser.state != HP_ERROR && !body_left)
			(void)conn_read(c);
		if (c->parser.state == HP_ERROR || body_left || c->in_off < c->in_len || c->can_read) {
			linger(c); /* unread input */
			return;
		}
		conn_close(c);
		return;
	}
	if (body_left) {
		http_parser_discard_body(&c->parser, STREAM_DISCARD_MAX);
		c->phase = CONN_BODY;
		timer_set(srv, c, TL_LINGER);
		return;
	}
	next_request(c);
}

/* Discard input until EOF (then close) or the socket is drained. */
static void linger_read(struct conn *c)
{
	for (;;) {
		c->in_off = c->in_len = 0;
		if (c->peer_eof) {
			conn_close(c);
			return;
		}
		ssize_t n = conn_read(c);
		if (n < 0) {
			conn_close(c);
			return;
		}
		if (n == 0)
			return;
	}
}

/* Reading phases: parse what is staged, read more, until blocked or the
 * connection moved on (request dispatched, error reply, closed). */
static void run_reading(struct conn *c)
{
	for (;;) {
		if (!conn_parse(c))
			return;
		ssize_t n = conn_read(c);
		if (n < 0) {
			conn_close(c); /* EOF or error before a complete request */
			return;
		}
		if (n == 0)
			return;
	}
}

/* Drive the connection as far as it goes without blocking. Called on
 * readiness and whenever a worker hands a response back. */
void conn_run(struct conn *c)
{
	for (;;) {
		switch (c->phase) {
		case CONN_IDLE:
		case CONN_HEAD:
		case CONN_BODY:
			run_reading(c);
			if (c->dead || c->phase <= CONN_BODY)
				return;
			break;
		case CONN_BUSY:
			/* Stage pipelined input; notice EOF early but still answer.
			 * A streaming request's worker owns the socket. */
			if (!c->req.streaming_)
				(void)conn_read(c);
			return;
		case CONN_WRITE: {
			int r = conn_flush(c);
			if (r < 0) {
				conn_close(c);
				return;
			}
			if (r == 0) {
				if (c->timer != TL_WRITE)
					timer_set(c->srv, c, TL_WRITE);
				return;
			}
			finish_response(c);
			break;
		}
		case CONN_LINGER:
			linger_read(c);
			return;
		}
		if (c->dead)
			return;
	}
}

/* A worker finished c's request: write the response, or, when the worker
 * streamed it, go on with the connection (closing it when the response did
 * not end cleanly: the client must see it truncated). */
void conn_job_done(struct conn *c)
{
	struct http_server *srv = c->srv;

	UNCOUNT(c, in_flight, 1);
	c->at_worker = false;
	if (c->dead) {
		/* Freed at the end of the round: events of this round may
		 * still name it (a streaming socket stays open until now). */
		c->gnext = srv->graveyard;
		srv->graveyard = c;
		return;
	}
	if (c->req.streaming_) {
		/* The worker used up readiness we cannot know about. */
		c->can_read = c->can_write = true;
	}
	if (stream_response_started(c)) {
		if (c->resp.server_error)
			COUNT(c, herr, 1);
		if (!stream_response_complete(c))
			c->close_after = true;
		sk_buf_reset(&c->out);
		c->out_off = 0;
		c->wbody = NULL;
		c->wbody_len = c->wbody_off = 0;
		c->phase = CONN_WRITE; /* nothing left to write: straight to finish_response */
	} else {
		/* A buffered answer to a streamed request whose body cannot be
		 * skipped says Connection: close. */
		if (body_blocks_reuse(c))
			c->close_after = true;
		start_write(c);
	}
	conn_run(c);
}

/* A timer ran out. */
void conn_expire(struct conn *c)
{
	switch (c->timer) {
	case TL_HEAD:
	case TL_BODY:
		timer_clear(c->srv, c);
		send_error(c, 408, "the request did not arrive in time", false);
		conn_run(c);
		return;
	default:
		conn_close(c);
		return;
	}
}

/* Drain started: close c when it has nothing in progress. */
void conn_drain(struct conn *c)
{
	if (c->phase == CONN_IDLE && c->in_off == c->in_len)
		conn_close(c);
}
