/*
 * httpd: the tiny HTTP/1.1 server that the real-node e2e tests run in pods.
 *
 *   httpd [--timeout SECONDS] [[ADDR:]PORT]
 *
 * GET / answers the host name and a newline (a pod's name, so a test sees
 * which replica answered), GET /healthz answers "ok", anything else 404; HEAD
 * works the same without a body; other methods get 405. The port comes from
 * the argument, else $PORT, else 8080, on 0.0.0.0 unless ADDR is given; port 0
 * takes a free one (the start line on stderr says which).
 *
 * One thread and one ppoll loop serve up to MAX_CONNS connections with
 * keep-alive and pipelining. A request head is at most HEAD_MAX bytes (else
 * 431); a connection that sends no complete head, or does not read our
 * answer, within the timeout (default 10 s) gets 408 or is closed, so no
 * client can hold the server. Requests with a body are answered and the
 * connection closed (this server reads no bodies). One line per request goes
 * to stdout; SIGTERM or SIGINT closes everything and exits 0.
 *
 * Built static by hack/images/build; it uses nothing but the C library.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX 8192
#define OUT_MAX 1024
#define MAX_CONNS 256
#define LINGER_MS 2000

enum conn_state {
	CONN_FREE,
	CONN_READ,  /* waiting for (the rest of) a request head */
	CONN_WRITE, /* flushing an answer */
	CONN_DRAIN, /* answered, write side shut: discarding input until EOF */
};

struct conn {
	int fd;
	enum conn_state state;
	bool close_after; /* close once the answer is flushed */
	int64_t deadline; /* monotonic ms */
	char peer[INET6_ADDRSTRLEN + 8];
	size_t in_len, out_len, out_off;
	char in[HEAD_MAX];
	char out[OUT_MAX];
};

struct server {
	int lfd;
	int log_fd; /* request lines go here: stdout */
	int timeout_ms;
	char hostname[HOST_NAME_MAX + 2];
	struct conn conns[MAX_CONNS];
	size_t nconns;
};

struct request {
	char method[16];
	char target[256]; /* cut for logging; routing only needs the path */
	bool target_cut;
	int minor; /* HTTP/1.minor */
	bool keep_alive;
	bool has_body;
};

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* write_all: best effort for log lines; stdout may be a pipe. */
static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void logf_fd(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_fd(int fd, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	write_all(fd, line, (size_t)n);
}

/* parse_listen: "[ADDR:]PORT" into an IPv4 address; 0 ok, -1 with a message. */
static int parse_listen(const char *s, struct sockaddr_in *sa)
{
	char addr[64] = "0.0.0.0";
	const char *colon = strrchr(s, ':');
	const char *port = s;
	if (colon) {
		size_t n = (size_t)(colon - s);
		if (n == 0 || n >= sizeof(addr)) {
			fprintf(stderr, "httpd: bad address in '%s' (want ADDR:PORT, ADDR an IPv4 address)\n", s);
			return -1;
		}
		memcpy(addr, s, n);
		addr[n] = '\0';
		port = colon + 1;
	}
	char *end;
	errno = 0;
	long p = strtol(port, &end, 10);
	if (errno || end == port || *end || p < 0 || p > 65535) {
		fprintf(stderr, "httpd: bad port '%s' (want 0 to 65535)\n", port);
		return -1;
	}
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)p);
	if (inet_pton(AF_INET, addr, &sa->sin_addr) != 1) {
		fprintf(stderr, "httpd: bad address '%s' (want an IPv4 address such as 127.0.0.1)\n", addr);
		return -1;
	}
	return 0;
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 431: return "Request Header Fields Too Large";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

/* respond: put a whole answer in c->out (it always fits: the bodies are ours
 * and the host name is bounded) and log the request line. */
static void respond(struct server *s, struct conn *c, const struct request *rq, int status, const char *body,
		    bool head_only)
{
	size_t blen = strlen(body);
	int n = snprintf(c->out, sizeof(c->out),
			 "HTTP/1.1 %d %s\r\n"
			 "Content-Type: text/plain; charset=utf-8\r\n"
			 "Content-Length: %zu\r\n"
			 "%s"
			 "Connection: %s\r\n"
			 "\r\n"
			 "%s",
			 status, reason(status), blen, status == 405 ? "Allow: GET, HEAD\r\n" : "",
			 c->close_after ? "close" : "keep-alive", head_only ? "" : body);
	if (n < 0 || (size_t)n >= sizeof(c->out)) {
		n = snprintf(c->out, sizeof(c->out),
			     "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
		c->close_after = true;
	}
	c->out_len = (size_t)n;
	c->out_off = 0;
	c->state = CONN_WRITE;
	c->deadline = now_ms() + s->timeout_ms;
	if (rq)
		logf_fd(s->log_fd, "%s \"%s %s%s HTTP/1.%d\" %d %zu", c->peer, rq->method, rq->target,
			rq->target_cut ? "..." : "", rq->minor, status, head_only ? 0 : blen);
	else
		logf_fd(s->log_fd, "%s \"-\" %d %zu", c->peer, status, blen);
}

/* header_has_token: does a comma-separated header value contain TOKEN? */
static bool header_has_token(const char *v, size_t vlen, const char *token)
{
	size_t tlen = strlen(token), i = 0;
	while (i < vlen) {
		while (i < vlen && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t start = i;
		while (i < vlen && v[i] != ',')
			i++;
		size_t end = i;
		while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
			end--;
		if (end - start == tlen && strncasecmp(v + start, token, tlen) == 0)
			return true;
	}
	return false;
}

/* parse_head: the request line and the few headers we care about, from a head
 * of LEN bytes ending in CRLF CRLF. Returns 0, or the status to answer. */
static int parse_head(const char *h, size_t len, struct request *rq)
{
	memset(rq, 0, sizeof(*rq));
	const char *end = h + len;
	const char *eol = memmem(h, len, "\r\n", 2);
	const char *sp1 = memchr(h, ' ', (size_t)(eol - h));
	if (!sp1 || sp1 == h || (size_t)(sp1 - h) >= sizeof(rq->method))
		return 400;
	for (const char *p = h; p < sp1; p++)
		if (*p < 'A' || *p > 'Z')
			return 400;
	memcpy(rq->method, h, (size_t)(sp1 - h));
	const char *t = sp1 + 1;
	const char *sp2 = memchr(t, ' ', (size_t)(eol - t));
	if (!sp2 || sp2 == t || *t != '/')
		return 400;
	size_t tlen = (size_t)(sp2 - t);
	for (size_t i = 0; i < tlen; i++)
		if ((unsigned char)t[i] <= ' ' || (unsigned char)t[i] >= 0x7f)
			return 400;
	if (tlen >= sizeof(rq->target)) {
		tlen = sizeof(rq->target) - 1;
		rq->target_cut = true;
	}
	memcpy(rq->target, t, tlen);
	const char *ver = sp2 + 1;
	size_t vlen = (size_t)(eol - ver);
	if (vlen != 8 || memcmp(ver, "HTTP/", 5) != 0)
		return 400;
	if (memcmp(ver, "HTTP/1.", 7) != 0 || (ver[7] != '0' && ver[7] != '1'))
		return 505;
	rq->minor = ver[7] - '0';
	rq->keep_alive = rq->minor == 1;

	for (const char *line = eol + 2; line < end - 2;) {
		const char *le = memmem(line, (size_t)(end - line), "\r\n", 2);
		const char *colon = memchr(line, ':', (size_t)(le - line));
		if (!colon || colon == line || *line == ' ' || *line == '\t')
			return 400; /* no name, or obsolete line folding */
		size_t nlen = (size_t)(colon - line);
		const char *v = colon + 1;
		size_t vl = (size_t)(le - v);
		if (nlen == 10 && strncasecmp(line, "connection", 10) == 0) {
			if (header_has_token(v, vl, "close"))
				rq->keep_alive = false;
			else if (header_has_token(v, vl, "keep-alive"))
				rq->keep_alive = true;
		} else if (nlen == 14 && strncasecmp(line, "content-length", 14) == 0) {
			for (size_t i = 0; i < vl; i++)
				if (v[i] >= '1' && v[i] <= '9')
					rq->has_body = true;
		} else if (nlen == 17 && strncasecmp(line, "transfer-encoding", 17) == 0) {
			rq->has_body = true;
		}
		line = le + 2;
	}
	return 0;
}

/* serve_head: answer the complete head of HLEN bytes at the start of c->in. */
static void serve_head(struct server *s, struct conn *c, size_t hlen)
{
	struct request rq;
	int status = parse_head(c->in, hlen, &rq);
	if (status) {
		c->close_after = true;
		respond(s, c, NULL, status, status == 505 ? "HTTP/1.0 or HTTP/1.1 only\n" : "bad request\n", false);
		return;
	}
	/* A body would have to be read past; we read none, so we close after. */
	c->close_after = !rq.keep_alive || rq.has_body;
	bool head_only = strcmp(rq.method, "HEAD") == 0;
	if (!head_only && strcmp(rq.method, "GET") != 0) {
		respond(s, c, &rq, 405, "method not allowed\n", false);
		return;
	}
	size_t plen = strcspn(rq.target, "?#");
	if (plen == 1 && rq.target[0] == '/')
		respond(s, c, &rq, 200, s->hostname, head_only);
	else if (plen == 8 && memcmp(rq.target, "/healthz", 8) == 0)
		respond(s, c, &rq, 200, "ok\n", head_only);
	else
		respond(s, c, &rq, 404, "not found\n", head_only);
}

static void conn_close(struct server *s, struct conn *c)
{
	close(c->fd);
	c->fd = -1;
	c->state = CONN_FREE;
	s->nconns--;
}

/* conn_advance: move a connection on as far as it goes without blocking:
 * flush the answer, then take the next pipelined head from the buffer. */
static void conn_advance(struct server *s, struct conn *c)
{
	for (;;) {
		if (c->state == CONN_WRITE) {
			while (c->out_off < c->out_len) {
				ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
				if (w < 0 && errno == EINTR)
					continue;
				if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
					return;
				if (w <= 0) {
					conn_close(s, c);
					return;
				}
				c->out_off += (size_t)w;
			}
			c->out_len = c->out_off = 0;
			if (c->close_after) {
				/* Shut our side and read what the client still sends,
				 * so that closing does not reset the answer away. */
				shutdown(c->fd, SHUT_WR);
				c->state = CONN_DRAIN;
				c->in_len = 0;
				c->deadline = now_ms() + LINGER_MS;
				return;
			}
			c->state = CONN_READ;
			c->deadline = now_ms() + s->timeout_ms;
		}
		if (c->state != CONN_READ)
			return;
		char *e = memmem(c->in, c->in_len, "\r\n\r\n", 4);
		if (!e) {
			if (c->in_len == sizeof(c->in)) {
				c->close_after = true;
				respond(s, c, NULL, 431, "request head too large\n", false);
				continue;
			}
			return;
		}
		size_t hlen = (size_t)(e - c->in) + 4;
		serve_head(s, c, hlen);
		memmove(c->in, c->in + hlen, c->in_len - hlen);
		c->in_len -= hlen;
	}
}

static void conn_readable(struct server *s, struct conn *c)
{
	char sink[4096];
	char *buf = c->state == CONN_DRAIN ? sink : c->in + c->in_len;
	size_t room = c->state == CONN_DRAIN ? sizeof(sink) : sizeof(c->in) - c->in_len;
	ssize_t n = read(c->fd, buf, room);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(s, c);
		return;
	}
	if (c->state == CONN_DRAIN)
		return;
	c->in_len += (size_t)n;
	conn_advance(s, c);
}

static void conn_expired(struct server *s, struct conn *c)
{
	if (c->state == CONN_READ && c->in_len > 0) {
		c->close_after = true;
		respond(s, c, NULL, 408, "request timeout\n", false);
		conn_advance(s, c);
		return;
	}
	conn_close(s, c); /* idle keep-alive, a client not reading, or lingering */
}

static void accept_all(struct server *s)
{
	while (s->nconns < MAX_CONNS) {
		struct sockaddr_in6 sa;
		socklen_t slen = sizeof(sa);
		int fd = accept4(s->lfd, (struct sockaddr *)&sa, &slen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				logf_fd(2, "httpd: accept: %s", strerror(errno));
			return;
		}
		struct conn *c = NULL;
		for (size_t i = 0; i < MAX_CONNS; i++)
			if (s->conns[i].state == CONN_FREE) {
				c = &s->conns[i];
				break;
			}
		if (!c) { /* cannot happen while nconns counts the used slots */
			close(fd);
			return;
		}
		c->fd = fd;
		c->state = CONN_READ;
		c->close_after = false;
		c->in_len = c->out_len = c->out_off = 0;
		c->deadline = now_ms() + s->timeout_ms;
		snprintf(c->peer, sizeof(c->peer), "-");
		if (((struct sockaddr *)&sa)->sa_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&sa;
			char a[INET_ADDRSTRLEN];
			if (inet_ntop(AF_INET, &in->sin_addr, a, sizeof(a)))
				snprintf(c->peer, sizeof(c->peer), "%s:%u", a, ntohs(in->sin_port));
		}
		s->nconns++;
	}
}

/* serve: the loop; returns when SIGTERM or SIGINT arrives. */
static void serve(struct server *s, const sigset_t *waitmask)
{
	struct pollfd fds[MAX_CONNS + 1];
	while (!stop_signal) {
		int64_t now = now_ms(), next = -1;
		fds[0].fd = s->nconns < MAX_CONNS ? s->lfd : -1;
		fds[0].events = POLLIN;
		for (size_t i = 0; i < MAX_CONNS; i++) {
			struct conn *c = &s->conns[i];
			fds[i + 1].fd = c->state == CONN_FREE ? -1 : c->fd;
			fds[i + 1].events = c->state == CONN_WRITE ? POLLOUT : POLLIN;
			fds[i + 1].revents = 0;
			if (c->state != CONN_FREE && (next < 0 || c->deadline < next))
				next = c->deadline;
		}
		struct timespec ts, *tsp = NULL;
		if (next >= 0) {
			int64_t wait = next > now ? next - now : 0;
			ts.tv_sec = wait / 1000;
			ts.tv_nsec = (wait % 1000) * 1000000;
			tsp = &ts;
		}
		/* The stop signals are blocked except inside ppoll: no lost wake-up. */
		int n = ppoll(fds, MAX_CONNS + 1, tsp, waitmask);
		if (n < 0) {
			if (errno != EINTR)
				logf_fd(2, "httpd: ppoll: %s", strerror(errno));
			continue;
		}
		now = now_ms();
		for (size_t i = 0; i < MAX_CONNS; i++) {
			struct conn *c = &s->conns[i];
			if (c->state == CONN_FREE || fds[i + 1].fd < 0)
				continue;
			short re = fds[i + 1].revents;
			if (re & POLLOUT || (re & (POLLHUP | POLLERR) && c->state == CONN_WRITE))
				conn_advance(s, c);
			else if (re & (POLLIN | POLLHUP | POLLERR))
				conn_readable(s, c);
			if (c->state != CONN_FREE && c->deadline <= now)
				conn_expired(s, c);
		}
		if (fds[0].revents & POLLIN)
			accept_all(s);
	}
}

static void usage(FILE *f)
{
	fputs("usage: httpd [--timeout SECONDS] [[ADDR:]PORT]\n"
	      "  GET / answers the host name, GET /healthz answers ok, anything else 404.\n"
	      "  PORT defaults to $PORT, else 8080; ADDR to 0.0.0.0; port 0 takes a free port.\n"
	      "  --timeout: seconds a connection may take to send a request head or read\n"
	      "  the answer, and stay idle between requests (default 10).\n",
	      f);
}

/* tests/fuzz/fuzz-httpd.c includes this file and drives the connections
 * itself, without main. */
#ifndef HTTPD_FUZZING
int main(int argc, char **argv)
{
	static struct server s;
	const char *listen_arg = NULL;
	s.log_fd = 1;
	s.timeout_ms = 10000;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			char *end;
			errno = 0;
			long t = strtol(argv[++i], &end, 10);
			if (errno || end == argv[i] || *end || t < 1 || t > 3600) {
				fprintf(stderr, "httpd: bad --timeout '%s' (want 1 to 3600 seconds)\n", argv[i]);
				return 2;
			}
			s.timeout_ms = (int)t * 1000;
		} else if (argv[i][0] == '-' || listen_arg) {
			fprintf(stderr, "httpd: unexpected argument '%s' (see httpd --help)\n", argv[i]);
			return 2;
		} else {
			listen_arg = argv[i];
		}
	}
	if (!listen_arg)
		listen_arg = getenv("PORT") && *getenv("PORT") ? getenv("PORT") : "8080";
	struct sockaddr_in sa;
	if (parse_listen(listen_arg, &sa) != 0)
		return 2;

	if (gethostname(s.hostname, sizeof(s.hostname) - 2) != 0)
		snprintf(s.hostname, sizeof(s.hostname), "unknown");
	s.hostname[sizeof(s.hostname) - 2] = '\0';
	size_t hl = strlen(s.hostname);
	s.hostname[hl] = '\n';
	s.hostname[hl + 1] = '\0';

	/* SIGTERM and SIGINT are blocked except while ppoll waits. */
	signal(SIGPIPE, SIG_IGN);
	struct sigaction act = {.sa_handler = on_stop};
	sigemptyset(&act.sa_mask);
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	sigset_t block, waitmask;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);

	s.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (s.lfd < 0 || setsockopt(s.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(s.lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(s.lfd, 128) != 0) {
		fprintf(stderr, "httpd: cannot listen on %s: %s\n", listen_arg, strerror(errno));
		return 1;
	}
	socklen_t slen = sizeof(sa);
	getsockname(s.lfd, (struct sockaddr *)&sa, &slen);
	char a[INET_ADDRSTRLEN] = "?";
	inet_ntop(AF_INET, &sa.sin_addr, a, sizeof(a));
	logf_fd(2, "httpd: listening on %s:%u", a, ntohs(sa.sin_port));

	for (size_t i = 0; i < MAX_CONNS; i++)
		s.conns[i].fd = -1;
	serve(&s, &waitmask);

	logf_fd(2, "httpd: stopping on %s", stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
	for (size_t i = 0; i < MAX_CONNS; i++)
		if (s.conns[i].state != CONN_FREE)
			conn_close(&s, &s.conns[i]);
	close(s.lfd);
	return 0;
}
#endif
