/* libFuzzer target: the test server's connection state machine
 * (tests/images/httpd.c) fed a byte stream over a socketpair, cut into
 * pieces whose size the first byte picks. What the server writes must start
 * with a status line, the buffers must never pass their caps, and the
 * connection must end closed after the timeout. */
#define HTTPD_FUZZING
#include "tests/images/httpd.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* drain: read all the server wrote. It writes whole answers while the socket
 * buffer has room, so what is there starts with a status line. */
static void drain(int fd)
{
	char buf[4096];
	bool first = true;
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (first && (n < 9 || memcmp(buf, "HTTP/1.1 ", 9) != 0))
			abort();
		first = false;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct server s;
	int sv[2];

	/* Referenced so that the functions only main uses count as used. */
	(void)on_stop;
	(void)usage;
	(void)parse_listen;
	(void)serve;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
		return 0;
	memset(&s.conns[0], 0, sizeof(s.conns[0]));
	s.log_fd = -1;
	s.timeout_ms = 1000;
	snprintf(s.hostname, sizeof(s.hostname), "fuzz\n");
	s.nconns = 1;
	struct conn *c = &s.conns[0];
	c->fd = sv[0];
	c->state = CONN_READ;
	snprintf(c->peer, sizeof(c->peer), "fuzz");

	size_t step = size ? (size_t)data[0] % 97 + 1 : 1;
	for (size_t off = size ? 1 : 0; off < size && c->state != CONN_FREE; off += step) {
		size_t n = size - off < step ? size - off : step;
		if (send(sv[1], data + off, n, MSG_NOSIGNAL) < 0)
			break;
		if (c->state == CONN_WRITE)
			conn_advance(&s, c);
		else
			conn_readable(&s, c);
		if (c->state != CONN_FREE && c->in_len > sizeof(c->in))
			abort();
		if (c->state != CONN_FREE && c->out_len > sizeof(c->out))
			abort();
		drain(sv[1]);
	}
	/* The client stops sending: the timeout answers or closes. */
	if (c->state != CONN_FREE)
		conn_expired(&s, c);
	drain(sv[1]);
	if (c->state != CONN_FREE)
		conn_close(&s, c);
	if (s.nconns != 0)
		abort();
	close(sv[1]);
	return 0;
}
