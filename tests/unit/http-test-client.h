/* A small blocking HTTP/1.1 client on 127.0.0.1 for the server's tests
 * (test-http-server.c, test-http-sites.c): one response at a time, with
 * Content-Length bodies. */
#ifndef SPINKUBE_TESTS_HTTP_TEST_CLIENT_H
#define SPINKUBE_TESTS_HTTP_TEST_CLIENT_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

struct client {
	int fd;
	char *buf;
	size_t len, cap;
};

struct resp {
	int status;
	char head[4096];
	char *body;
	size_t body_len;
};

static inline int client_open(unsigned port, struct client *c)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = 10 };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	c->len = 0;
	c->cap = 1 << 16;
	c->buf = malloc(c->cap);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return connect(c->fd, (struct sockaddr *)&a, sizeof(a));
}

static inline void client_close(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
}

static inline int send_all(struct client *c, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static inline int send_str(struct client *c, const char *s)
{
	return send_all(c, s, strlen(s));
}

/* Read more into the buffer; 0 on EOF, -1 on error or timeout. */
static inline ssize_t fill(struct client *c)
{
	if (c->len == c->cap) {
		c->cap *= 2;
		c->buf = realloc(c->buf, c->cap);
	}
	ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
	if (n > 0)
		c->len += (size_t)n;
	return n;
}

/* Read one response. no_body: it answers HEAD. Returns 0, or -1 on EOF /
 * timeout / garbage. */
static inline int read_resp(struct client *c, struct resp *r, int no_body)
{
	char *end;
	size_t cl = 0;

	memset(r, 0, sizeof(*r));
	while (!(end = memmem(c->buf, c->len, "\r\n\r\n", 4)))
		if (fill(c) <= 0)
			return -1;
	size_t hl = (size_t)(end - c->buf) + 4;
	snprintf(r->head, sizeof(r->head), "%.*s", (int)hl, c->buf);
	if (sscanf(r->head, "HTTP/1.1 %d", &r->status) != 1)
		return -1;
	const char *h = strcasestr(r->head, "\r\ncontent-length:");
	if (h)
		cl = strtoul(h + 17, NULL, 10);
	if (no_body || r->status == 100 || r->status == 204 || r->status == 304)
		cl = 0;
	while (c->len < hl + cl)
		if (fill(c) <= 0)
			return -1;
	r->body = malloc(cl + 1);
	memcpy(r->body, c->buf + hl, cl);
	r->body[cl] = '\0';
	r->body_len = cl;
	memmove(c->buf, c->buf + hl + cl, c->len - hl - cl);
	c->len -= hl + cl;
	return 0;
}

/* True when the server closed the connection (EOF or reset) in time. */
static inline int sees_eof(struct client *c)
{
	char b[256];
	for (;;) {
		ssize_t n = recv(c->fd, b, sizeof(b), 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return 1;
		if (n < 0)
			return 0;
	}
}

static inline int request(unsigned port, const char *raw, struct resp *r)
{
	struct client c;
	int rc = client_open(port, &c) == 0 && send_str(&c, raw) == 0 ? read_resp(&c, r, 0) : -1;
	client_close(&c);
	return rc;
}

#endif
