/* Streamed exchanges, worker side: reading a request body off the socket
 * as the handler asks for it, and sending a response as the handler
 * produces it. See stream.h for who owns what when.
 *
 * The socket stays non-blocking; waiting is poll(2) with the server's
 * timeouts (body_timeout for a body that stops arriving, idle_timeout for a
 * client that stops reading). The request body goes through the
 * connection's staging buffer (CONN_IN_CAP) and the parser's streaming mode
 * into the caller's buffer; response bytes go from the caller's buffer to
 * the kernel with writev, chunk framing around them. Nothing grows with the
 * size of either body. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "shim-bridge/http/stream.h"

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The connection a request or response belongs to: both live inside
 * struct conn, the only place the server makes them. */
static struct conn *req_conn(const struct http_request *req)
{
	return (struct conn *)((uintptr_t)req - offsetof(struct conn, req));
}

static struct conn *resp_conn(const struct http_response *resp)
{
	return (struct conn *)((uintptr_t)resp - offsetof(struct conn, resp));
}

/* Wait until fd is ready for events or the monotonic deadline passes.
 * Returns 1 ready (or hung up: the next call on fd tells), 0 timed out,
 * -errno when poll itself fails. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	for (;;) {
		uint64_t now = mono_ms();
		if (now >= deadline)
			return 0;
		uint64_t left = deadline - now;
		int r = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR && errno != EAGAIN)
			return -errno;
	}
}

/* Send iov[0..n) whole (the array is consumed). Blocks in poll while the
 * socket is full; fails when no byte went out for idle_timeout. Returns 0,
 * -ECONNRESET, -EPIPE (client gone) or -ETIMEDOUT. */
static int send_all(struct conn *c, struct iovec *iov, int n)
{
	uint64_t stall = c->srv->cfg.idle_timeout_ms;

	while (n > 0) {
		if (iov->iov_len == 0) {
			iov++;
			n--;
			continue;
		}
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n };
		ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			int r = wait_fd(c->fd, POLLOUT, mono_ms() + stall);
			if (r == 0)
				return -ETIMEDOUT;
			if (r < 0)
				return -EPIPE;
			continue;
		}
		if (w < 0)
			return errno == ECONNRESET ? -ECONNRESET : -EPIPE;
		size_t left = (size_t)w;
		while (n > 0 && left >= iov->iov_len) {
			left -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + left;
			iov->iov_len -= left;
		}
	}
	return 0;
}

/* ---- network thread hooks ---- */

void stream_begin(struct conn *c)
{
	struct http_stream_ *s = &c->resp.stream_;

	/* Bytes after the head already came: the client is not waiting for
	 * "100 Continue" (the network thread's rule for buffered bodies too). */
	s->continue_done = !c->parser.parsed.expect_continue || !http_parser_in_body(&c->parser) ||
			   c->in_off < c->in_len;
	s->progress_ms = 0;
}

bool stream_response_started(const struct conn *c)
{
	return c->resp.stream_.started;
}

bool stream_response_complete(const struct conn *c)
{
	const struct http_stream_ *s = &c->resp.stream_;

	return s->started && s->finished && !s->write_err;
}

bool stream_body_discardable(const struct conn *c)
{
	const struct http_stream_ *s = &c->resp.stream_;

	return !s->read_err && !c->peer_eof && (s->continue_done || !c->parser.parsed.expect_continue);
}

/* ---- request body ---- */

bool http_request_streaming(const struct http_request *req)
{
	return req->streaming_;
}

/* A parser rejection as the errno http_request_read promises. */
static int parse_errno(int status)
{
	if (status == 413 || status == 431)
		return -E2BIG;
	if (status == 500)
		return -ENOMEM;
	return -EBADMSG;
}

/* The body ended: the request now shows its trailers. */
static void body_done(struct conn *c)
{
	c->req.trailers = c->parser.parsed.trailers;
	c->req.n_trailers = c->parser.parsed.n_trailers;
}

/* Buffered mode: hand out the buffered body from where the last call left. */
static ssize_t read_buffered(struct conn *c, void *buf, size_t cap)
{
	struct http_stream_ *s = &c->resp.stream_;
	size_t len;
	const char *body = http_parser_body(&c->parser, &len);
	size_t n = len - s->read_off < cap ? len - s->read_off : cap;

	memcpy(buf, body + s->read_off, n);
	s->read_off += n;
	return (ssize_t)n;
}

/* Read what the socket has into the staging buffer, whose contents were all
 * used. Returns 1 when bytes arrived, 0 when none yet, -ECONNRESET on EOF
 * or a socket error. */
static int stage_read(struct conn *c)
{
	if (!c->in)
		return -ECONNRESET; /* cannot happen: the head came through it */
	c->in_off = c->in_len = 0;
	for (;;) {
		ssize_t n = read(c->fd, c->in, CONN_IN_CAP);
		if (n > 0) {
			c->in_len = (size_t)n;
			return 1;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		c->peer_eof = true;
		return -ECONNRESET;
	}
}

/* Ask for the body with "100 Continue" (once: before the first read that
 * would wait, or just before a 2xx head; never after the final response
 * started). */
static int send_continue(struct conn *c)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	struct iovec iov = { (void *)(uintptr_t)cont, sizeof(cont) - 1 };

	c->resp.stream_.continue_done = true;
	return send_all(c, &iov, 1);
}

ssize_t http_request_read(const struct http_request *req, void *buf, size_t cap, int timeout_ms)
{
	struct conn *c = req_conn(req);
	struct http_stream_ *s = &c->resp.stream_;
	uint64_t start = mono_ms(), deadline = timeout_ms > 0 ? start + (uint64_t)timeout_ms : UINT64_MAX;

	if (cap == 0 || cap > SSIZE_MAX)
		return -EINVAL;
	if (!req->streaming_)
		return read_buffered(c, buf, cap);
	if (!s->progress_ms)
		s->progress_ms = start;
	for (;;) {
		if (c->parser.state == HP_DONE) {
			body_done(c);
			return 0;
		}
		if (c->parser.state == HP_ERROR)
			return parse_errno(c->parser.status);
		if (s->read_err)
			return s->read_err;
		if (c->in_off < c->in_len) {
			size_t used, got;
			const char *in = c->in + c->in_off;
			enum http_parse_event e =
				http_parser_feed_body(&c->parser, in, c->in_len - c->in_off, &used, buf, cap, &got);
			c->in_off += used;
			if (e == HTTP_PARSE_DONE)
				body_done(c);
			if (got)
				return (ssize_t)got;
			continue;
		}
		if (!s->continue_done && !s->started) {
			int e = send_continue(c);
			if (e < 0) {
				s->read_err = e == -ETIMEDOUT ? -ETIMEDOUT : -ECONNRESET;
				return s->read_err;
			}
			s->progress_ms = mono_ms();
		}
		int r = stage_read(c);
		if (r > 0) {
			s->progress_ms = mono_ms();
			s->continue_done = true;
			continue;
		}
		if (r < 0) {
			s->read_err = r;
			return r;
		}
		uint64_t now = mono_ms(), body_deadline = s->progress_ms + c->srv->cfg.body_timeout_ms;
		if (now >= body_deadline) {
			s->read_err = -ETIMEDOUT;
			return -ETIMEDOUT;
		}
		if (timeout_ms == 0 || now >= deadline)
			return -EAGAIN;
		if (wait_fd(c->fd, POLLIN, deadline < body_deadline ? deadline : body_deadline) < 0) {
			s->read_err = -ECONNRESET;
			return -ECONNRESET;
		}
	}
}

int http_request_poll_fd(const struct http_request *req)
{
	if (!req->streaming_)
		return -1;
	struct conn *c = req_conn(req);
	const struct http_stream_ *s = &c->resp.stream_;
	if (c->parser.state == HP_DONE || c->parser.state == HP_ERROR || s->read_err ||
	    c->in_off < c->in_len || (!s->continue_done && !s->started))
		return -1;
	return c->fd;
}

/* ---- response ---- */

/* The Date header value; the network thread's cached one is not ours. */
static void format_date(char *out, size_t n)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	if (strftime(out, n, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
		out[0] = '\0';
}

int http_response_start(struct http_response *resp, int64_t content_length)
{
	struct http_stream_ *s = &resp->stream_;
	struct conn *c = resp_conn(resp);
	struct http_server *srv = c->srv;
	enum response_framing framing;
	char date[48];

	if (s->started)
		return -EALREADY;
	if (!c->req.streaming_)
		return -ENOTSUP;
	if (content_length < -1)
		return -EINVAL;
	if (content_length > 0 && (uint64_t)content_length > srv->cfg.max_response)
		return -E2BIG;
	if (resp->status < 200 || resp->status > 599) {
		resp->status = 500;
		resp->server_error = true;
	}
	/* A success while the client still waits for "100 Continue": the
	 * handler answers as it reads (an echo, a transform), so ask for the
	 * body now instead of leaving the client to its expect timeout. Error
	 * answers do not ask; the body is then discarded or the connection
	 * closed as for any unread body. */
	if (!s->continue_done && resp->status < 300 && c->parser.state != HP_DONE && c->parser.state != HP_ERROR) {
		int e = send_continue(c);
		if (e < 0)
			return e;
	}
	bool no_body = c->head_method || resp->status == 204 || resp->status == 304;
	if (resp->status == 204 || resp->status == 304)
		framing = FRAMING_NONE;
	else if (content_length >= 0)
		framing = FRAMING_LENGTH;
	else if (c->head_method || c->req.version_minor == 0)
		framing = FRAMING_NONE; /* HEAD: unknown length; HTTP/1.0: close-delimited */
	else
		framing = FRAMING_CHUNKED;
	bool close_delimited = framing == FRAMING_NONE && !no_body;
	bool keep = c->keep_alive && !close_delimited && !atomic_load(&srv->drain_requested);
	/* (a site being removed: its connections close when the exchange ends) */
	format_date(date, sizeof(date));
	struct response_meta m = {
		.version_minor = c->req.version_minor,
		.keep_alive = keep,
		.head_method = c->head_method,
		.date = date[0] ? date : NULL,
		.server_name = srv->cfg.server_name,
	};
	sk_buf_reset(&c->out);
	int e = response_head(&c->out, resp, &m, framing, content_length >= 0 ? (uint64_t)content_length : 0);
	if (e < 0) {
		sk_buf_reset(&c->out);
		return e;
	}
	if (!keep)
		c->close_after = true;
	s->started = true;
	s->has_length = content_length >= 0;
	s->length = s->has_length ? (uint64_t)content_length : 0;
	s->chunked = framing == FRAMING_CHUNKED && !no_body;
	s->no_body = no_body;
	count_response(c, resp->status);
	struct iovec iov = { c->out.data, c->out.len };
	e = send_all(c, &iov, 1);
	sk_buf_reset(&c->out);
	if (e < 0)
		s->write_err = e;
	return e;
}

ssize_t http_response_write(struct http_response *resp, const void *data, size_t len)
{
	struct http_stream_ *s = &resp->stream_;

	if (!s->started || s->finished || len > SSIZE_MAX)
		return -EINVAL;
	if (s->write_err)
		return s->write_err;
	if (len == 0 || s->no_body)
		return (ssize_t)len; /* an empty chunk would end the body */
	struct conn *c = resp_conn(resp);
	uint64_t cap = s->has_length ? s->length : c->srv->cfg.max_response;
	if (s->sent > cap || len > cap - s->sent)
		return -E2BIG;
	char line[24];
	struct iovec iov[3];
	int n = 0;
	if (s->chunked) {
		int ll = snprintf(line, sizeof(line), "%zx\r\n", len);
		iov[n++] = (struct iovec){ line, (size_t)ll };
	}
	iov[n++] = (struct iovec){ (void *)(uintptr_t)data, len };
	if (s->chunked)
		iov[n++] = (struct iovec){ (void *)(uintptr_t)"\r\n", 2 };
	int e = send_all(c, iov, n);
	if (e < 0) {
		s->write_err = e;
		return e;
	}
	s->sent += len;
	return (ssize_t)len;
}

int http_response_add_trailer(struct http_response *resp, const char *name, const char *value)
{
	struct http_stream_ *s = &resp->stream_;

	if (s->finished)
		return -EINVAL;
	if (!resp_conn(resp)->req.streaming_ || (s->started && !s->chunked))
		return -ENOTSUP;
	int e = response_field(&s->trailers, &s->n_trailers, name, value);
	return e < 0 ? e : 0;
}

int http_response_finish(struct http_response *resp)
{
	struct http_stream_ *s = &resp->stream_;

	if (!s->started)
		return -EINVAL;
	if (s->finished)
		return -EALREADY;
	if (s->write_err)
		return s->write_err;
	struct conn *c = resp_conn(resp);
	if (!s->no_body && s->has_length && s->sent < s->length) {
		/* The client is owed bytes we will never send: only closing
		 * the connection tells it. */
		s->write_err = -EPROTO;
		c->close_after = true;
		return -EPROTO;
	}
	if (s->chunked) {
		struct iovec iov[3] = {
			{ (void *)(uintptr_t)"0\r\n", 3 },
			{ s->trailers.data, s->trailers.len },
			{ (void *)(uintptr_t)"\r\n", 2 },
		};
		int e = send_all(c, iov, 3);
		if (e < 0) {
			s->write_err = e;
			return e;
		}
	}
	s->finished = true;
	return 0;
}
