/* A Redis connection over our own socket and OpenSSL, hiredis for RESP
 * only (see redis-link.h). */
#include "shim-bridge/wasi/redis-link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"

#define LINK_READ_CHUNK 16384

struct wh_redis_tls {
	SSL_CTX *ctx;
	BIO_METHOD *bio; /* the socket under OpenSSL: send with MSG_NOSIGNAL */
	char *ca_file;   /* the bundle verified against, or NULL: OpenSSL's defaults */
};

struct wh_redis_link {
	int fd;
	SSL *ssl; /* NULL: plain TCP */
	redisReader *reader;
	struct sk_buf out; /* commands not yet written */
	size_t fed;        /* bytes fed to the reader since the last reply */
	bool broken;       /* a read or write failed: no close_notify */
	char *what;
};

/* OpenSSL's first queued error as text (the queue is cleared). */
static const char *ssl_reason(char *buf, size_t size)
{
	unsigned long e = ERR_get_error();

	if (!e)
		(void)snprintf(buf, size, "the connection closed during the handshake");
	else
		ERR_error_string_n(e, buf, size);
	ERR_clear_error();
	return buf;
}

/* OpenSSL's own socket BIO writes with write(2), which raises SIGPIPE on a
 * connection the server closed; this one sends with MSG_NOSIGNAL, so the
 * library needs nothing of the program's signal dispositions. A timeout
 * (SO_RCVTIMEO, SO_SNDTIMEO) is a retry, which SSL_read and SSL_write
 * answer as SSL_ERROR_WANT_READ or _WRITE. */
static int bio_write(BIO *b, const char *buf, int n)
{
	ssize_t w = send((int)(intptr_t)BIO_get_data(b), buf, (size_t)n, MSG_NOSIGNAL);

	BIO_clear_retry_flags(b);
	if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		BIO_set_retry_write(b);
	return (int)w;
}

static int bio_read(BIO *b, char *buf, int n)
{
	ssize_t r = recv((int)(intptr_t)BIO_get_data(b), buf, (size_t)n, 0);

	BIO_clear_retry_flags(b);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		BIO_set_retry_read(b);
	return (int)r;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b, (void)num, (void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

int wh_redis_tls_new(const char *ca_file, struct wh_redis_tls **out, struct sk_error *err)
{
	struct wh_redis_tls *t = calloc(1, sizeof(*t));
	char why[256];

	if (!t)
		return sk_err(err, -ENOMEM, "out of memory");
	if (!(t->ctx = SSL_CTX_new(TLS_client_method()))) {
		free(t);
		return sk_err(err, -ENOMEM, "TLS: %s", ssl_reason(why, sizeof(why)));
	}
	if (!(t->bio = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "redis-link socket")) ||
	    !BIO_meth_set_write(t->bio, bio_write) || !BIO_meth_set_read(t->bio, bio_read) ||
	    !BIO_meth_set_ctrl(t->bio, bio_ctrl) || !BIO_meth_set_create(t->bio, bio_create)) {
		wh_redis_tls_free(t);
		return sk_err(err, -ENOMEM, "out of memory");
	}
	(void)SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	if (ca_file) {
		if (!(t->ca_file = strdup(ca_file))) {
			wh_redis_tls_free(t);
			return sk_err(err, -ENOMEM, "out of memory");
		}
		if (SSL_CTX_load_verify_locations(t->ctx, ca_file, NULL) != 1) {
			int r = sk_err(err, -EIO, "TLS: cannot load the CA bundle %s: %s", ca_file,
			               ssl_reason(why, sizeof(why)));
			wh_redis_tls_free(t);
			return r;
		}
	} else if (SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
		/* SSL_CERT_FILE / SSL_CERT_DIR when set, else the system's CA bundle */
		int r = sk_err(err, -EIO, "TLS: cannot load the CA certificates: %s", ssl_reason(why, sizeof(why)));
		wh_redis_tls_free(t);
		return r;
	}
	*out = t;
	return 0;
}

void wh_redis_tls_free(struct wh_redis_tls *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx);
	BIO_meth_free(t->bio);
	free(t->ca_file);
	free(t);
}

void wh_redis_link_free(struct wh_redis_link *l)
{
	if (!l)
		return;
	if (l->ssl) {
		if (!l->broken)
			(void)SSL_shutdown(l->ssl); /* close_notify, not waiting for the peer's */
		SSL_free(l->ssl);
	}
	if (l->fd >= 0)
		close(l->fd);
	if (l->reader)
		redisReaderFree(l->reader);
	sk_buf_free(&l->out);
	free(l->what);
	free(l);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_timeouts(int fd, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* A connected blocking socket to one of the addresses of host:port, or
 * -errno of the last attempt (-ETIMEDOUT when the deadline passed). */
static int tcp_connect(const char *host, int port, int64_t deadline, char *why, size_t wsize)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
	char service[8];
	int r = -ECONNREFUSED, g;

	(void)snprintf(service, sizeof(service), "%d", port);
	if ((g = getaddrinfo(host, service, &hints, &ai)) != 0) {
		(void)snprintf(why, wsize, "cannot resolve %s: %s", host, gai_strerror(g));
		return -EIO;
	}
	for (struct addrinfo *a = ai; a; a = a->ai_next) {
		int fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), soerr = 0;
		socklen_t sl = sizeof(soerr);
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		int64_t left;

		if (fd < 0) {
			r = -errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) {
			r = -errno;
			close(fd);
			continue;
		}
		left = deadline - now_ms();
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) {
			close(fd);
			r = -ETIMEDOUT;
			break;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
			r = -(soerr ? soerr : errno);
			close(fd);
			continue;
		}
		(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
		freeaddrinfo(ai);
		return fd;
	}
	freeaddrinfo(ai);
	(void)snprintf(why, wsize, "%s", r == -ETIMEDOUT ? "timed out" : strerror(-r));
	return r;
}

/* The TLS handshake on l->fd for host: SNI for a name, the certificate
 * checked for the name or IP address. */
static int tls_handshake(struct wh_redis_link *l, struct wh_redis_tls *tls, const char *host, struct sk_error *err)
{
	unsigned char ip[16];
	bool is_ip = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
	char why[256];
	long v;
	int rc, e;

	BIO *bio;

	if (!(l->ssl = SSL_new(tls->ctx)) || !(bio = BIO_new(tls->bio)))
		return sk_err(err, -ENOMEM, "%s: TLS: %s", l->what, ssl_reason(why, sizeof(why)));
	BIO_set_data(bio, (void *)(intptr_t)l->fd);
	SSL_set_bio(l->ssl, bio, bio); /* l->ssl owns bio */
	if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(l->ssl), host) != 1
	          : SSL_set_tlsext_host_name(l->ssl, host) != 1 || SSL_set1_host(l->ssl, host) != 1)
		return sk_err(err, -EIO, "%s: TLS: cannot check the certificate for %s", l->what, host);
	ERR_clear_error();
	errno = 0;
	if ((rc = SSL_connect(l->ssl)) == 1)
		return 0;
	e = SSL_get_error(l->ssl, rc);
	if ((v = SSL_get_verify_result(l->ssl)) != X509_V_OK)
		return sk_err(err, -EIO,
		              "%s: TLS: the server's certificate is not trusted (%s): its CA must be in %s",
		              l->what, X509_verify_cert_error_string(v),
		              tls->ca_file ? tls->ca_file : "SSL_CERT_FILE or the system's CA bundle");
	if ((e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)) || e == SSL_ERROR_WANT_READ ||
	    e == SSL_ERROR_WANT_WRITE)
		return sk_err(err, -ETIMEDOUT, "%s: TLS handshake: timed out (is the server speaking TLS on this port?)", l->what);
	return sk_err(err, -EIO, "%s: TLS handshake: %s (is the server speaking TLS on this port?)", l->what,
	              ssl_reason(why, sizeof(why)));
}

int wh_redis_link_open(const char *host, int port, struct wh_redis_tls *tls, int connect_ms, int io_ms,
                       const char *what, struct wh_redis_link **out, struct sk_error *err)
{
	struct wh_redis_link *l = calloc(1, sizeof(*l));
	int64_t deadline = now_ms() + connect_ms;
	char why[256];
	int r;

	if (!l)
		return sk_err(err, -ENOMEM, "out of memory");
	l->fd = -1;
	l->out = sk_buf_make(WH_REDIS_REPLY_BYTES_MAX);
	if (!(l->what = strdup(what)) || !(l->reader = redisReaderCreate())) {
		wh_redis_link_free(l);
		return sk_err(err, -ENOMEM, "out of memory");
	}
	if ((l->fd = tcp_connect(host, port, deadline, why, sizeof(why))) < 0) {
		r = sk_err(err, l->fd, "%s: cannot connect: %s", what, why);
		l->fd = -1;
		wh_redis_link_free(l);
		return r;
	}
	if (tls) {
		int64_t left = deadline - now_ms();
		set_timeouts(l->fd, left > 0 ? (int)left : 1);
		if ((r = tls_handshake(l, tls, host, err)) < 0) {
			wh_redis_link_free(l);
			return r;
		}
	}
	set_timeouts(l->fd, io_ms);
	*out = l;
	return 0;
}

int wh_redis_link_append(struct wh_redis_link *l, int argc, const char **argv, const size_t *len,
                         struct sk_error *err)
{
	char *cmd = NULL;
	int n = redisFormatCommandArgv(&cmd, argc, argv, len), r;

	if (n < 0)
		return sk_err(err, -ENOMEM, "out of memory");
	r = sk_buf_append(&l->out, cmd, (size_t)n);
	redisFreeCommand(cmd);
	if (r == -E2BIG)
		return sk_err(err, -E2BIG, "%s: the commands are over %zu bytes", l->what, WH_REDIS_REPLY_BYTES_MAX);
	return r < 0 ? sk_err(err, r, "out of memory") : 0;
}

/* errno after a failed read or write, as a message and code. */
static int io_fail(struct wh_redis_link *l, const char *op, int e, struct sk_error *err)
{
	if (e == EAGAIN || e == EWOULDBLOCK || e == ETIMEDOUT)
		return sk_err(err, -ETIMEDOUT, "%s: %s: timed out", l->what, op);
	return sk_err(err, -EIO, "%s: %s: %s", l->what, op, e ? strerror(e) : "the server closed the connection");
}

int wh_redis_link_flush(struct wh_redis_link *l, struct sk_error *err)
{
	size_t done = 0;

	while (done < l->out.len) {
		ssize_t n;
		if (l->ssl) {
			int w = SSL_write(l->ssl, l->out.data + done, (int)(l->out.len - done > INT32_MAX ? INT32_MAX : l->out.len - done));
			if (w <= 0) {
				int se = SSL_get_error(l->ssl, w), e = errno;
				ERR_clear_error();
				l->broken = true;
				return io_fail(l, "write",
				               se == SSL_ERROR_WANT_WRITE || se == SSL_ERROR_WANT_READ ? EAGAIN
				               : se == SSL_ERROR_SYSCALL                             ? e
				                                                                     : EIO,
				               err);
			}
			n = w;
		} else if ((n = send(l->fd, l->out.data + done, l->out.len - done, MSG_NOSIGNAL)) < 0) {
			if (errno == EINTR)
				continue;
			l->broken = true;
			return io_fail(l, "write", errno, err);
		}
		done += (size_t)n;
	}
	sk_buf_reset(&l->out);
	return 0;
}

/* Read what the server sent into buf: > 0 bytes, or -errno with err set.
 * With again, nothing within the link's timeout is -EAGAIN and leaves the
 * link as it was (OpenSSL keeps a partial record for the next read);
 * without, it is -ETIMEDOUT and the link is broken. */
static ssize_t read_some(struct wh_redis_link *l, char *buf, size_t cap, bool again, struct sk_error *err)
{
	for (;;) {
		ssize_t n;
		if (l->ssl) {
			int rd = SSL_read(l->ssl, buf, (int)(cap > INT32_MAX ? INT32_MAX : cap)), e, saved;
			if (rd > 0)
				return rd;
			e = SSL_get_error(l->ssl, rd);
			saved = errno;
			ERR_clear_error();
			bool timed_out = e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ||
			                 (e == SSL_ERROR_SYSCALL && (saved == EAGAIN || saved == EWOULDBLOCK));
			if (timed_out && again)
				return -EAGAIN;
			l->broken = true;
			if (timed_out)
				return io_fail(l, "read", EAGAIN, err);
			return io_fail(l, "read", e == SSL_ERROR_SYSCALL ? saved : 0, err);
		}
		if ((n = recv(l->fd, buf, cap, 0)) > 0)
			return n;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && again && (errno == EAGAIN || errno == EWOULDBLOCK))
			return -EAGAIN;
		l->broken = true;
		return io_fail(l, "read", n < 0 ? errno : 0, err);
	}
}

int wh_redis_link_fd(const struct wh_redis_link *l)
{
	return l->fd;
}

bool wh_redis_link_pending(const struct wh_redis_link *l)
{
	return l->ssl && SSL_pending(l->ssl) > 0;
}

void wh_redis_link_set_timeout(struct wh_redis_link *l, int io_ms)
{
	set_timeouts(l->fd, io_ms);
}

ssize_t wh_redis_link_read(struct wh_redis_link *l, char *buf, size_t cap, struct sk_error *err)
{
	return read_some(l, buf, cap, true, err);
}

int wh_redis_link_reply(struct wh_redis_link *l, struct redisReply **out, struct sk_error *err)
{
	char buf[LINK_READ_CHUNK];
	void *reply = NULL;
	int r;

	if (l->out.len && (r = wh_redis_link_flush(l, err)) < 0)
		return r;
	for (;;) {
		ssize_t n;
		if (redisReaderGetReply(l->reader, &reply) != REDIS_OK)
			return sk_err(err, -EIO, "%s: bad reply: %s", l->what, l->reader->errstr);
		if (reply) {
			l->fed = 0;
			*out = reply;
			return 0;
		}
		if ((n = read_some(l, buf, sizeof(buf), false, err)) < 0)
			return (int)n;
		if ((l->fed += (size_t)n) > WH_REDIS_REPLY_BYTES_MAX)
			return sk_err(err, -EIO, "%s: a reply of more than %zu bytes", l->what, WH_REDIS_REPLY_BYTES_MAX);
		if (redisReaderFeed(l->reader, buf, (size_t)n) != REDIS_OK)
			return sk_err(err, -ENOMEM, "out of memory");
	}
}
