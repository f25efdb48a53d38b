/* The HTTP server against real sockets on 127.0.0.1: keep-alive, HTTP/1.0,
 * pipelining, large chunked uploads, caps, timeouts, a busy queue, slow
 * handlers next to fast ones, HEAD, 100-continue and graceful shutdown;
 * then streaming mode: 100 MiB echoed both ways in bounded memory,
 * trailers, truncated responses, non-blocking reads, keep-alive and
 * pipelining around streamed exchanges, limits, disconnects, shutdown. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "shim-bridge/http/server.h"
#include "tests/tap.h"
#include "tests/unit/http-test-client.h"

static atomic_int concurrent, max_concurrent;

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* /hello: "hello"; /sleep?N: sleep N ms; /echo: body length and sum;
 * /info: what the server told us; /fail: a 500 marked as server error. */
static void handler(void *user, const struct http_request *req, struct http_response *resp)
{
	char out[512];
	size_t blen;
	const char *body = http_request_body(req, &blen);
	int cur = atomic_fetch_add(&concurrent, 1) + 1;

	(void)user;
	for (int m = atomic_load(&max_concurrent); cur > m && !atomic_compare_exchange_weak(&max_concurrent, &m, cur);)
		;
	http_response_add_header(resp, "Content-Type", "text/plain");
	if (strcmp(req->path, "/sleep") == 0) {
		usleep((useconds_t)atol(req->query) * 1000);
		snprintf(out, sizeof(out), "slept %s", req->query);
	} else if (strcmp(req->path, "/echo") == 0) {
		unsigned long sum = 0;
		for (size_t i = 0; i < blen; i++)
			sum = sum * 31 + (unsigned char)body[i];
		snprintf(out, sizeof(out), "len=%zu sum=%lu", blen, sum);
	} else if (strcmp(req->path, "/info") == 0) {
		const char *ua = http_request_header(req, "user-agent");
		snprintf(out, sizeof(out), "%s %s %s q=%s 1.%d ua=%s client=%s ip=%s local=%s port=%u trailers=%zu",
			 req->method, req->target, req->path, req->query, req->version_minor, ua ? ua : "-",
			 req->client_addr, req->client_ip, req->local_addr, req->local_port, req->n_trailers);
	} else if (strcmp(req->path, "/fail") == 0) {
		resp->status = 500;
		resp->server_error = true;
		snprintf(out, sizeof(out), "failed");
	} else if (strcmp(req->path, "/readbuf") == 0) {
		/* buffered mode through the streaming calls */
		char got[64];
		size_t n = 0;
		ssize_t r;
		while ((r = http_request_read(req, got + n, n + 4 < sizeof(got) ? 4 : sizeof(got) - n - 1, -1)) > 0)
			n += (size_t)r;
		snprintf(out, sizeof(out), "streaming=%d read=%.*s end=%zd fd=%d start=%d trailer=%d",
			 http_request_streaming(req), (int)n, got, r, http_request_poll_fd(req),
			 http_response_start(resp, -1), http_response_add_trailer(resp, "X-T", "1"));
	} else if (strcmp(req->path, "/headers") == 0) {
		resp->status = 201;
		http_response_add_header(resp, "X-Multi", "1");
		http_response_add_header(resp, "X-Multi", "2");
		http_response_add_header(resp, "Content-Length", "999"); /* the server's: ignored */
		ok(http_response_add_header(resp, "Bad Name", "x") < 0, "a header name with a space is refused");
		ok(http_response_add_header(resp, "X-Inject", "a\r\nb: c") < 0, "a header value with CRLF is refused");
		snprintf(out, sizeof(out), "h");
	} else {
		snprintf(out, sizeof(out), "hello");
	}
	http_response_append(resp, out, strlen(out));
	atomic_fetch_sub(&concurrent, 1);
}

static struct http_server *start(struct http_server_config *cfg)
{
	struct http_server *srv = NULL;
	struct sk_error err = { 0 };

	if (http_server_new(cfg, handler, NULL, &srv, &err) < 0 || http_server_start(srv, &err) < 0) {
		printf("# server: %s\n", err.message);
		exit(1);
	}
	return srv;
}

static void base_config(struct http_server_config *cfg)
{
	http_server_config_init(cfg);
	cfg->listen = "127.0.0.1:0";
	cfg->workers = 4;
	cfg->head_timeout_ms = 400;
	cfg->body_timeout_ms = 400;
	cfg->idle_timeout_ms = 3000;
	cfg->linger_ms = 500;
	cfg->limits.max_body = 16u * 1024 * 1024;
}

/* ---- tests on the main server ---- */

static void test_keep_alive(unsigned port)
{
	struct client c;
	struct resp r1, r2;

	client_open(port, &c);
	send_str(&c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	ok(read_resp(&c, &r1, 0) == 0 && r1.status == 200 && strcmp(r1.body, "hello") == 0, "GET answered");
	ok(strstr(r1.head, "Content-Length: 5\r\n") && strstr(r1.head, "\r\nDate: ") &&
		   !strstr(r1.head, "Connection: close"),
	   "Content-Length and Date, no Connection: close");
	send_str(&c, "GET /info?a=1 HTTP/1.1\r\nHost: t\r\nUser-Agent: tap\r\n\r\n");
	ok(read_resp(&c, &r2, 0) == 0 && r2.status == 200, "second request on the same connection");
	char want[128];
	snprintf(want, sizeof(want), "GET /info?a=1 /info q=a=1 1.1 ua=tap client=127.0.0.1:");
	ok(strncmp(r2.body, want, strlen(want)) == 0, "the handler sees method, target, path, query, headers: %s",
	   r2.body);
	snprintf(want, sizeof(want), "local=127.0.0.1:%u port=%u", port, port);
	ok(strstr(r2.body, want) && strstr(r2.body, "ip=127.0.0.1 "), "and client and local addresses");
	free(r1.body);
	free(r2.body);
	client_close(&c);
}

static void test_http10(unsigned port)
{
	struct client c;
	struct resp r;

	client_open(port, &c);
	send_str(&c, "GET /hello HTTP/1.0\r\n\r\n");
	ok(read_resp(&c, &r, 0) == 0 && r.status == 200 && strstr(r.head, "Connection: close\r\n"),
	   "HTTP/1.0 gets Connection: close");
	ok(sees_eof(&c), "and the connection is closed");
	free(r.body);
	client_close(&c);
	client_open(port, &c);
	send_str(&c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /hello HTTP/1.0\r\n\r\n");
	ok(read_resp(&c, &r, 0) == 0 && strstr(r.head, "Connection: keep-alive\r\n"),
	   "HTTP/1.0 keep-alive is answered with Connection: keep-alive");
	free(r.body);
	ok(read_resp(&c, &r, 0) == 0 && r.status == 200, "and a second request follows");
	free(r.body);
	client_close(&c);
}

static void test_pipelining(unsigned port)
{
	struct client c;
	struct resp r;
	int in_order = 1;

	client_open(port, &c);
	send_str(&c, "GET /sleep?150 HTTP/1.1\r\nHost: t\r\n\r\nGET /sleep?1 HTTP/1.1\r\nHost: t\r\n\r\n"
		     "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabcGET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	const char *want[] = { "slept 150", "slept 1", "len=3 sum=96354", "hello" };
	for (int i = 0; i < 4; i++) {
		if (read_resp(&c, &r, 0) < 0 || strcmp(r.body, want[i]) != 0) {
			in_order = 0;
			printf("# response %d: %s\n", i, r.body ? r.body : "(none)");
		}
		free(r.body);
	}
	ok(in_order, "four pipelined requests answered in order (a slow first one does not reorder)");
	client_close(&c);
}

static void test_chunked_upload(unsigned port)
{
	struct client c;
	struct resp r;
	size_t total = 10u * 1024 * 1024, chunk = 65536;
	char *data = malloc(chunk);
	unsigned long sum = 0;
	char line[64];

	for (size_t i = 0; i < total; i++)
		sum = sum * 31 + (unsigned char)('a' + i % 26);
	client_open(port, &c);
	send_str(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (size_t off = 0; off < total; off += chunk) {
		for (size_t i = 0; i < chunk; i++)
			data[i] = (char)('a' + (off + i) % 26);
		snprintf(line, sizeof(line), "%zx\r\n", chunk);
		send_str(&c, line);
		send_all(&c, data, chunk);
		send_str(&c, "\r\n");
	}
	send_str(&c, "0\r\nX-Check: 1\r\n\r\n");
	char want[64];
	snprintf(want, sizeof(want), "len=%zu sum=%lu", total, sum);
	int rc = read_resp(&c, &r, 0);
	ok(rc == 0 && strcmp(r.body, want) == 0, "a 10 MiB chunked upload arrives whole (%s)", rc ? "-" : r.body);
	free(r.body);
	client_close(&c);
	free(data);
}

static void test_body_cap(unsigned port)
{
	struct client c;
	struct resp r;
	char big[65536];

	client_open(port, &c);
	send_str(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 20000000\r\n\r\n");
	memset(big, 'x', sizeof(big));
	send_all(&c, big, sizeof(big));
	ok(read_resp(&c, &r, 0) == 0 && r.status == 413 && strstr(r.head, "Connection: close"),
	   "a body over the cap gets 413 and Connection: close");
	free(r.body);
	ok(sees_eof(&c), "then the connection closes");
	client_close(&c);
}

struct trickle {
	unsigned port;
	int status;
	long took_ms;
};

static void *trickler(void *arg)
{
	struct trickle *t = arg;
	struct client c;
	struct resp r;
	const char *req = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n";
	long start = now_ms();

	client_open(t->port, &c);
	for (size_t i = 0; i < strlen(req) && now_ms() - start < 2000; i++) {
		if (send_all(&c, req + i, 1) < 0)
			break;
		usleep(50 * 1000);
		struct pollfd pfd = { .fd = c.fd, .events = POLLIN };
		if (poll(&pfd, 1, 0) > 0)
			break; /* the server answered already */
	}
	t->status = read_resp(&c, &r, 0) == 0 ? r.status : -1;
	t->took_ms = now_ms() - start;
	free(r.body);
	client_close(&c);
	return NULL;
}

static void test_slow_client(unsigned port)
{
	struct trickle t = { .port = port };
	pthread_t th;
	struct resp r;

	pthread_create(&th, NULL, trickler, &t);
	usleep(100 * 1000);
	long s = now_ms();
	ok(request(port, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r) == 0 && r.status == 200 && now_ms() - s < 200,
	   "another client is served while one trickles its head");
	free(r.body);
	pthread_join(th, NULL);
	is_int(t.status, 408, "the trickling client gets 408");
	ok(t.took_ms >= 350 && t.took_ms < 1500, "after the head timeout (%ld ms)", t.took_ms);

	struct client c;
	client_open(port, &c);
	send_str(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
	s = now_ms();
	ok(read_resp(&c, &r, 0) == 0 && r.status == 408 && now_ms() - s >= 300,
	   "a body that stalls gets 408 after the body timeout");
	free(r.body);
	client_close(&c);
}

struct bg {
	unsigned port;
	const char *raw;
	struct resp r;
	int rc;
	long done_ms;
};

static void *bg_request(void *arg)
{
	struct bg *b = arg;
	b->rc = request(b->port, b->raw, &b->r);
	b->done_ms = now_ms();
	return NULL;
}

static void test_slow_handler(unsigned port)
{
	struct bg slow = { .port = port, .raw = "GET /sleep?2000 HTTP/1.1\r\nHost: t\r\n\r\n" };
	pthread_t th;
	struct resp r;

	pthread_create(&th, NULL, bg_request, &slow);
	usleep(100 * 1000);
	long s = now_ms();
	ok(request(port, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r) == 0 && r.status == 200, "second connection answered");
	long took = now_ms() - s;
	ok(took < 500, "while a handler sleeps 2 s on another connection (%ld ms)", took);
	free(r.body);
	pthread_join(th, NULL);
	ok(slow.rc == 0 && strcmp(slow.r.body, "slept 2000") == 0, "and the slow one finishes too");
	free(slow.r.body);
}

static void test_head_and_continue(unsigned port)
{
	struct client c;
	struct resp r;

	client_open(port, &c);
	send_str(&c, "HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	ok(read_resp(&c, &r, 1) == 0 && r.status == 200 && strstr(r.head, "Content-Length: 5\r\n"),
	   "HEAD: Content-Length of the GET body");
	free(r.body);
	ok(read_resp(&c, &r, 0) == 0 && strcmp(r.body, "hello") == 0, "but no body (the next response follows directly)");
	free(r.body);

	send_str(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
	ok(read_resp(&c, &r, 0) == 0 && r.status == 100, "Expect: 100-continue gets 100 Continue");
	free(r.body);
	send_str(&c, "abc");
	ok(read_resp(&c, &r, 0) == 0 && r.status == 200 && strcmp(r.body, "len=3 sum=96354") == 0,
	   "then the final response after the body");
	free(r.body);

	send_str(&c, "GET /headers HTTP/1.1\r\nHost: t\r\n\r\n");
	ok(read_resp(&c, &r, 0) == 0 && r.status == 201 && strstr(r.head, "X-Multi: 1\r\nX-Multi: 2\r\n") &&
		   strstr(r.head, "Content-Length: 1\r\n") && !strstr(r.head, "999"),
	   "handler headers pass, repeated ones too; Content-Length is the server's");
	free(r.body);
	send_str(&c, "GET /fail HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\n\r\n");
	ok(read_resp(&c, &r, 0) == 0 && r.status == 500, "a handler's 500 is sent");
	free(r.body);
	int rc = read_resp(&c, &r, 0);
	ok(rc == 0 && r.status == 400 && strstr(r.body, "Host"), "a bad request gets 400 with the reason: %.*s",
	   rc ? 1 : (int)strcspn(r.body, "\n"), rc ? "-" : r.body);
	free(r.body);
	ok(sees_eof(&c), "and the connection closes");
	client_close(&c);
}

static void test_idle_timeout(void)
{
	struct http_server_config cfg;
	struct client c;
	struct resp r;

	base_config(&cfg);
	cfg.idle_timeout_ms = 300;
	struct http_server *srv = start(&cfg);
	client_open(http_server_port(srv), &c);
	send_str(&c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	ok(read_resp(&c, &r, 0) == 0, "a request before going idle");
	free(r.body);
	long s = now_ms();
	ok(sees_eof(&c) && now_ms() - s >= 250, "an idle keep-alive connection is closed after the idle timeout");
	client_close(&c);
	http_server_free(srv);
}

static void test_queue_full(void)
{
	struct http_server_config cfg;
	struct bg a, b;
	pthread_t ta, tb;
	struct resp r;
	struct http_server_stats st;

	base_config(&cfg);
	cfg.workers = 1;
	cfg.queue_cap = 1;
	cfg.retry_after_s = 2;
	struct http_server *srv = start(&cfg);
	unsigned port = http_server_port(srv);
	a = (struct bg){ .port = port, .raw = "GET /sleep?600 HTTP/1.1\r\nHost: t\r\n\r\n" };
	b = (struct bg){ .port = port, .raw = "GET /sleep?1 HTTP/1.1\r\nHost: t\r\n\r\n" };
	pthread_create(&ta, NULL, bg_request, &a);
	usleep(150 * 1000);
	pthread_create(&tb, NULL, bg_request, &b);
	usleep(150 * 1000);
	ok(request(port, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r) == 0 && r.status == 503 &&
		   strstr(r.head, "Retry-After: 2\r\n"),
	   "worker busy and queue full: 503 with Retry-After");
	free(r.body);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	ok(a.rc == 0 && a.r.status == 200 && b.rc == 0 && b.r.status == 200, "the running and the queued request finish");
	free(a.r.body);
	free(b.r.body);
	http_server_stats(srv, &st);
	ok(st.rejected_busy == 1 && st.responses_5xx == 1 && st.requests == 3, "stats count it (%llu requests)",
	   (unsigned long long)st.requests);
	http_server_free(srv);
}

static void test_conn_cap_and_fd(void)
{
	struct http_server_config cfg;
	struct client c1, c2, c3;
	struct resp r;
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	int one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	bind(lfd, (struct sockaddr *)&a, sizeof(a));
	listen(lfd, 16);
	getsockname(lfd, (struct sockaddr *)&a, &al);
	base_config(&cfg);
	cfg.listen = NULL;
	cfg.listen_fd = lfd;
	cfg.max_conns = 2;
	struct http_server *srv = start(&cfg);
	is_int(http_server_port(srv), ntohs(a.sin_port), "an open listening descriptor is taken over");
	client_open(http_server_port(srv), &c1);
	client_open(http_server_port(srv), &c2);
	send_str(&c1, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	ok(read_resp(&c1, &r, 0) == 0 && r.status == 200, "served through it");
	free(r.body);
	client_open(http_server_port(srv), &c3);
	ok(sees_eof(&c3), "a connection over max_conns is closed");
	send_str(&c2, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	ok(read_resp(&c2, &r, 0) == 0 && r.status == 200, "the ones under the cap still work");
	free(r.body);
	struct http_server_stats st;
	http_server_stats(srv, &st);
	ok(st.rejected_conns == 1 && st.active_conns == 2, "stats: 1 rejected, 2 active");
	client_close(&c1);
	client_close(&c2);
	client_close(&c3);
	http_server_free(srv);
}

static void test_listen_errors(void)
{
	struct http_server_config cfg;
	struct http_server *srv = NULL;
	struct sk_error err = { 0 };

	base_config(&cfg);
	cfg.listen = "nonsense";
	ok(http_server_new(&cfg, handler, NULL, &srv, &err) == -EINVAL && strstr(err.message, "host:port"),
	   "a listen address without a port is refused: %s", err.message);
	cfg.listen = "[::1]:0";
	if (http_server_new(&cfg, handler, NULL, &srv, &err) == 0) {
		ok(http_server_port(srv) > 0, "[::1]:0 listens on IPv6");
		http_server_free(srv);
	} else {
		ok(1, "# SKIP no IPv6 loopback: %s", err.message);
	}
}

static void test_shutdown(void)
{
	struct http_server_config cfg;
	struct client idle, busy;
	struct resp r;

	base_config(&cfg);
	struct http_server *srv = start(&cfg);
	unsigned port = http_server_port(srv);
	client_open(port, &idle);
	send_str(&idle, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	read_resp(&idle, &r, 0);
	free(r.body);
	client_open(port, &busy);
	send_str(&busy, "GET /sleep?500 HTTP/1.1\r\nHost: t\r\n\r\n");
	usleep(100 * 1000);
	long s = now_ms();
	int rc = http_server_shutdown(srv, 5000);
	long took = now_ms() - s;
	is_int(rc, 0, "shutdown drains in time");
	ok(took >= 300 && took < 2000, "it waited for the in-flight request (%ld ms)", took);
	ok(read_resp(&busy, &r, 0) == 0 && r.status == 200 && strcmp(r.body, "slept 500") == 0 &&
		   strstr(r.head, "Connection: close"),
	   "the in-flight request got its response, with Connection: close");
	free(r.body);
	ok(sees_eof(&busy), "then its connection closed");
	ok(sees_eof(&idle), "the idle connection was closed");
	struct client late;
	ok(client_open(port, &late) < 0, "the listener is closed");
	client_close(&late);
	client_close(&idle);
	client_close(&busy);
	http_server_free(srv);

	/* a deadline that cuts a request off */
	srv = start(&cfg);
	client_open(http_server_port(srv), &busy);
	send_str(&busy, "GET /sleep?800 HTTP/1.1\r\nHost: t\r\n\r\n");
	usleep(100 * 1000);
	is_int(http_server_shutdown(srv, 100), -ETIMEDOUT, "a drain past its deadline reports -ETIMEDOUT");
	ok(sees_eof(&busy), "and closed the connection");
	client_close(&busy);
	http_server_free(srv);
}

static void test_shutdown_fd(void)
{
	struct http_server_config cfg;
	int p[2];

	base_config(&cfg);
	if (pipe(p) < 0)
		return;
	cfg.shutdown_fd = p[0];
	cfg.drain_ms = 1000;
	struct http_server *srv = start(&cfg);
	(void)!write(p[1], "x", 1);
	is_int(http_server_wait(srv), 0, "a write to shutdown_fd drains and stops the server");
	http_server_free(srv);
	close(p[0]);
	close(p[1]);

	/* shutdown_delay_ms: after shutdown_fd the server still accepts for the
	 * delay, answering with Connection: close, then drains. */
	if (pipe(p) < 0)
		return;
	cfg.shutdown_fd = p[0];
	cfg.shutdown_delay_ms = 600;
	srv = start(&cfg);
	unsigned port = http_server_port(srv);
	struct client kept, late;
	struct resp r;
	client_open(port, &kept);
	send_str(&kept, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	ok(read_resp(&kept, &r, 0) == 0 && r.status == 200 && !strstr(r.head, "Connection: close"),
	   "before the shutdown a connection is kept alive");
	free(r.body);
	long t0 = now_ms();
	(void)!write(p[1], "x", 1);
	usleep(200 * 1000);
	ok(client_open(port, &late) == 0, "during the shutdown delay a new connection is accepted");
	send_str(&late, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	ok(read_resp(&late, &r, 0) == 0 && r.status == 200 && strstr(r.head, "Connection: close"),
	   "and answered, with Connection: close");
	free(r.body);
	ok(sees_eof(&late), "then closed");
	send_str(&kept, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	ok(read_resp(&kept, &r, 0) == 0 && r.status == 200 && strstr(r.head, "Connection: close"),
	   "a kept-alive connection's next answer closes it too");
	free(r.body);
	is_int(http_server_wait(srv), 0, "then the server drains and stops");
	long took = now_ms() - t0;
	ok(took >= 550, "not before the delay (%ld ms)", took);
	client_close(&kept);
	client_close(&late);
	http_server_free(srv);
	close(p[0]);
	close(p[1]);
}


/* ---- streaming mode ---- */

static atomic_long stream_result; /* what /s/count saw, + 1000000 once set */

/* config.stream_request: paths under /s/ stream. */
static bool pick(void *user, const struct http_request *req)
{
	(void)user;
	return strncmp(req->path, "/s/", 3) == 0;
}

/* The body byte at offset i of the big test bodies. */
static unsigned char pattern(uint64_t i)
{
	return (unsigned char)(i ^ (i >> 11) ^ (i >> 19));
}

/* /s/echo: read a first piece, start (Content-Length when the request has
 * one, else chunked), write back everything as it comes, add trailers that
 * report the request's. */
static void s_echo(const struct http_request *req, struct http_response *resp)
{
	static _Thread_local char buf[65536];
	const char *cl = http_request_header(req, "content-length");
	ssize_t n = http_request_read(req, buf, sizeof(buf), -1);
	size_t early = req->n_trailers;
	char v[256];

	if (n < 0) {
		resp->status = 400;
		snprintf(v, sizeof(v), "read %zd", n);
		http_response_append(resp, v, strlen(v));
		return;
	}
	http_response_add_header(resp, "X-Streaming", http_request_streaming(req) ? "1" : "0");
	if (http_response_start(resp, cl ? strtoll(cl, NULL, 10) : -1) < 0)
		return;
	while (n > 0) {
		if (http_response_write(resp, buf, (size_t)n) != n)
			return;
		n = http_request_read(req, buf, sizeof(buf), -1);
	}
	if (n < 0)
		return;
	snprintf(v, sizeof(v), "%zu", early);
	http_response_add_trailer(resp, "X-Early-Trailers", v);
	for (size_t i = 0; i < req->n_trailers; i++) {
		snprintf(v, sizeof(v), "X-Got-%s", req->trailers[i].name);
		http_response_add_trailer(resp, v, req->trailers[i].value);
	}
	http_response_finish(resp);
}

/* /s/again: a read that must not wait, then poll on the descriptor, then the
 * body; and a read with a timeout that runs out. Buffered answer. */
static void s_again(const struct http_request *req, struct http_response *resp)
{
	char buf[64], out[256];
	long t0 = now_ms();
	ssize_t timed = http_request_read(req, buf, sizeof(buf), 150);
	long took = now_ms() - t0;
	ssize_t first = http_request_read(req, buf, sizeof(buf), 0);
	int fd = http_request_poll_fd(req);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int pr = fd >= 0 ? poll(&pfd, 1, 3000) : -1;
	ssize_t n = 0, r;
	while ((r = http_request_read(req, buf + n, sizeof(buf) - 1 - (size_t)n, 0)) > 0)
		n += r;
	snprintf(out, sizeof(out), "timed=%zd took=%s first=%zd fd=%s poll=%d body=%.*s end=%zd fd_after=%d", timed,
		 took >= 140 && took < 1000 ? "ok" : "bad", first, fd >= 0 ? "ok" : "none", pr, (int)n, buf, r,
		 http_request_poll_fd(req));
	http_response_append(resp, out, strlen(out));
}

/* /s/count: read everything, report the total and how it ended. */
static void s_count(const struct http_request *req, struct http_response *resp)
{
	char buf[4096], out[128];
	size_t total = 0;
	ssize_t r;

	while ((r = http_request_read(req, buf, sizeof(buf), -1)) > 0)
		total += (size_t)r;
	atomic_store(&stream_result, 1000000 + r);
	snprintf(out, sizeof(out), "end=%zd total=%zu", r, total);
	http_response_append(resp, out, strlen(out));
}

static void stream_handler(void *user, const struct http_request *req, struct http_response *resp)
{
	if (strcmp(req->path, "/s/echo") == 0) {
		s_echo(req, resp);
	} else if (strcmp(req->path, "/s/again") == 0) {
		s_again(req, resp);
	} else if (strcmp(req->path, "/s/count") == 0) {
		s_count(req, resp);
	} else if (strcmp(req->path, "/s/truncate") == 0) {
		resp->server_error = true; /* the guest trapped midway */
		http_response_start(resp, -1);
		http_response_write(resp, "partial", 7);
	} else if (strcmp(req->path, "/s/short") == 0) {
		http_response_start(resp, 10);
		http_response_write(resp, "abc", 3);
		char v[32];
		snprintf(v, sizeof(v), "%d", http_response_finish(resp));
		atomic_store(&stream_result, 1000000 + atol(v));
	} else if (strcmp(req->path, "/s/gen") == 0) {
		/* start(-1), two writes, a trailer; a HEAD gets none of the body */
		int e = http_response_start(resp, -1);
		int again = http_response_start(resp, -1);
		ssize_t big = http_response_write(resp, "x", 0);
		http_response_write(resp, "abc", 3);
		http_response_write(resp, "def", 3);
		int t = http_response_add_trailer(resp, "X-Done", "yes");
		int h = http_response_add_header(resp, "X-Late", "1");
		char v[64];
		snprintf(v, sizeof(v), "%d %d %zd %d %d", e, again, big, t, h);
		atomic_store(&stream_result, 1000000 + (e == 0 && again == -EALREADY && big == 0 && h == -EALREADY));
		http_response_finish(resp);
	} else if (strcmp(req->path, "/s/ignore") == 0) {
		resp->status = 404; /* never reads the body: a buffered answer */
		http_response_append(resp, "not here", 8);
	} else if (strcmp(req->path, "/s/limits") == 0) {
		int over = http_response_start(resp, (int64_t)1 << 40);
		http_response_start(resp, 4);
		ssize_t w = http_response_write(resp, "hello", 5);
		http_response_write(resp, "hel", 3);
		ssize_t w2 = http_response_write(resp, "lo", 2);
		/* before the last byte: the client may look as soon as it has it */
		atomic_store(&stream_result, 1000000 + (over == -E2BIG && w == -E2BIG && w2 == -E2BIG));
		http_response_write(resp, "l", 1);
		http_response_finish(resp);
	} else {
		handler(user, req, resp);
	}
}

static struct http_server *start_stream(struct http_server_config *cfg)
{
	struct http_server *srv = NULL;
	struct sk_error err = { 0 };

	cfg->stream_request = pick;
	if (http_server_new(cfg, stream_handler, NULL, &srv, &err) < 0 || http_server_start(srv, &err) < 0) {
		printf("# server: %s\n", err.message);
		exit(1);
	}
	return srv;
}

/* What a response body held: its length, whether it matched pattern() (when
 * checked), its first bytes as text and its trailer lines. */
struct body_check {
	int use_pattern;
	uint64_t len, bad;
	char text[256];
	char trailers[512];
};

static void check_bytes(struct body_check *b, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (b->use_pattern && (unsigned char)p[i] != pattern(b->len + i))
			b->bad++;
		if (b->len + i < sizeof(b->text) - 1)
			b->text[b->len + i] = p[i];
	}
	b->len += n;
}

static void consume(struct client *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

/* Read a response head (left in r->head, bytes after it stay buffered).
 * 0, or -1 on EOF or garbage. */
static int read_head(struct client *c, struct resp *r)
{
	char *end;

	memset(r, 0, sizeof(*r));
	while (!(end = memmem(c->buf, c->len, "\r\n\r\n", 4)))
		if (fill(c) <= 0)
			return -1;
	size_t hl = (size_t)(end - c->buf) + 4;
	snprintf(r->head, sizeof(r->head), "%.*s", (int)hl, c->buf);
	consume(c, hl);
	return sscanf(r->head, "HTTP/1.1 %d", &r->status) == 1 ? 0 : -1;
}

/* Take body bytes: n of them, or, with n == UINT64_MAX, up to EOF. */
static int take_body(struct client *c, uint64_t n, struct body_check *b)
{
	while (n) {
		if (c->len == 0) {
			ssize_t got = fill(c);
			if (got == 0 && n == UINT64_MAX)
				return 0;
			if (got <= 0)
				return -1;
		}
		size_t k = c->len < n ? c->len : (size_t)n;
		check_bytes(b, c->buf, k);
		consume(c, k);
		if (n != UINT64_MAX)
			n -= k;
	}
	return 0;
}

/* A CRLF-terminated line (without it) into line[0..n). */
static int take_line(struct client *c, char *line, size_t n)
{
	char *nl;

	while (!(nl = memmem(c->buf, c->len, "\r\n", 2)))
		if (fill(c) <= 0)
			return -1;
	size_t ll = (size_t)(nl - c->buf);
	snprintf(line, n, "%.*s", (int)ll, c->buf);
	consume(c, ll + 2);
	return 0;
}

/* Read the body the head r frames: chunked (then trailers), Content-Length,
 * or up to EOF. 0 when complete, -1 when the connection ended first. */
static int read_body(struct client *c, const struct resp *r, int no_body, struct body_check *b)
{
	char line[512];

	if (no_body)
		return 0;
	if (strcasestr(r->head, "\r\ntransfer-encoding: chunked\r\n")) {
		for (;;) {
			if (take_line(c, line, sizeof(line)) < 0)
				return -1;
			uint64_t size = strtoull(line, NULL, 16);
			if (size == 0)
				break;
			if (take_body(c, size, b) < 0 || take_line(c, line, sizeof(line)) < 0 || line[0])
				return -1;
		}
		for (;;) {
			if (take_line(c, line, sizeof(line)) < 0)
				return -1;
			if (!line[0])
				return 0;
			size_t tl = strlen(b->trailers);
			snprintf(b->trailers + tl, sizeof(b->trailers) - tl, "%s;", line);
		}
	}
	const char *h = strcasestr(r->head, "\r\ncontent-length:");
	return take_body(c, h ? strtoull(h + 17, NULL, 10) : UINT64_MAX, b);
}

/* Send a body of total pattern() bytes, chunked (varying chunk sizes, then
 * trailer) or raw, after head. Runs in its own thread so that the test
 * reads the echo at the same time. */
struct sender {
	struct client *c;
	const char *head;
	uint64_t total;
	int chunked;
	const char *trailer;
	int rc;
};

static void *send_body(void *arg)
{
	static const size_t sizes[] = { 65536, 1, 4097, 30000, 16384, 7 };
	struct sender *s = arg;
	char *buf = malloc(65536);
	uint64_t off = 0;
	unsigned k = 0;

	s->rc = send_str(s->c, s->head);
	while (s->rc == 0 && off < s->total) {
		size_t n = sizes[k++ % 6];
		if (n > s->total - off)
			n = (size_t)(s->total - off);
		for (size_t i = 0; i < n; i++)
			buf[i] = (char)pattern(off + i);
		char line[32];
		snprintf(line, sizeof(line), "%zx\r\n", n);
		if (s->chunked)
			s->rc = send_str(s->c, line);
		if (s->rc == 0)
			s->rc = send_all(s->c, buf, n);
		if (s->rc == 0 && s->chunked)
			s->rc = send_str(s->c, "\r\n");
		off += n;
	}
	if (s->rc == 0 && s->chunked)
		s->rc = send_str(s->c, s->trailer ? s->trailer : "0\r\n\r\n");
	free(buf);
	return NULL;
}

/* A /proc/self/status field in kB, or -1. */
static long status_kb(const char *field)
{
	char line[256];
	long v = -1;
	size_t fl = strlen(field);
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, fl) == 0 && line[fl] == ':')
			v = strtol(line + fl + 1, NULL, 10);
	fclose(f);
	return v;
}

/* Forget the peak RSS so far (Linux: "5" into clear_refs); false if not. */
static int reset_peak_rss(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");

	if (!f)
		return 0;
	int okay = fputs("5", f) >= 0;
	return fclose(f) == 0 && okay;
}

static void test_stream_big(unsigned port, int chunked)
{
	const uint64_t total = 100ull << 20;
	struct client c;
	struct resp r;
	struct body_check b = { .use_pattern = 1 };
	char head[256];
	pthread_t th;

	if (chunked)
		snprintf(head, sizeof(head), "POST /s/echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
	else
		snprintf(head, sizeof(head), "POST /s/echo HTTP/1.1\r\nHost: t\r\nContent-Length: %llu\r\n\r\n",
			 (unsigned long long)total);
	struct sender s = { .head = head, .total = total, .chunked = chunked, .trailer = "0\r\nX-Check: 42\r\n\r\n" };
	int reset = reset_peak_rss();
	long hwm0 = status_kb(reset ? "VmRSS" : "VmHWM");
	long t0 = now_ms();
	client_open(port, &c);
	s.c = &c;
	pthread_create(&th, NULL, send_body, &s);
	int rh = read_head(&c, &r);
	int rb = rh == 0 ? read_body(&c, &r, 0, &b) : -1;
	pthread_join(th, NULL);
	long took = now_ms() - t0;
	long hwm1 = status_kb("VmHWM");
	const char *kind = chunked ? "chunked request -> chunked response" : "Content-Length -> Content-Length";
	ok(rh == 0 && r.status == 200 && s.rc == 0 && rb == 0 && b.len == total && b.bad == 0,
	   "100 MiB streamed and echoed whole, %s (%llu bytes, %llu wrong, %ld ms)", kind,
	   (unsigned long long)b.len, (unsigned long long)b.bad, took);
	if (chunked)
		ok(strstr(r.head, "Transfer-Encoding: chunked\r\n") && !strcasestr(r.head, "content-length") &&
			   strstr(r.head, "\r\nDate: ") && strstr(r.head, "\r\nServer: spin-bridge-test\r\n") &&
			   strstr(r.head, "X-Streaming: 1\r\n"),
		   "a streamed response is chunked and carries Date, Server and the handler's headers");
	else
		ok(strstr(r.head, "Content-Length: 104857600\r\n") && !strcasestr(r.head, "transfer-encoding"),
		   "with the Content-Length the handler gave");
	ok(hwm0 > 0 && hwm1 > 0 && hwm1 - hwm0 < 16 * 1024,
	   "peak RSS grew %ld kB (< 16 MiB) while 100 MiB went through (%s)", hwm1 - hwm0,
	   reset ? "peak reset before" : "peak since start");
	if (chunked)
		ok(strstr(b.trailers, "X-Early-Trailers: 0;") && strstr(b.trailers, "X-Got-X-Check: 42;"),
		   "request trailers reach the handler after read returns 0, response trailers the client: %s",
		   b.trailers);
	/* keep-alive after it */
	send_str(&c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	ok(read_resp(&c, &r, 0) == 0 && strcmp(r.body, "hello") == 0, "the connection serves the next request");
	free(r.body);
	client_close(&c);
}

static void test_stream_exchanges(unsigned port)
{
	struct client c;
	struct resp r;
	struct body_check b;

	/* two streamed requests and a pipelined buffered one on one connection */
	client_open(port, &c);
	send_str(&c, "POST /s/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
	b = (struct body_check){ 0 };
	ok(read_head(&c, &r) == 0 && r.status == 200 && read_body(&c, &r, 0, &b) == 0 && strcmp(b.text, "hello") == 0,
	   "a streamed echo with Content-Length");
	send_str(&c, "POST /s/echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n"
		     "X-A: 1\r\n\r\nPOST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabcGET /hello HTTP/1.1\r\n"
		     "Host: t\r\n\r\n");
	b = (struct body_check){ 0 };
	ok(read_head(&c, &r) == 0 && read_body(&c, &r, 0, &b) == 0 && strcmp(b.text, "abcde") == 0 &&
		   strstr(b.trailers, "X-Got-X-A: 1;"),
	   "a second streamed request on the same connection, chunked with a trailer");
	ok(read_resp(&c, &r, 0) == 0 && strcmp(r.body, "len=3 sum=96354") == 0,
	   "a buffered request pipelined after it is answered");
	free(r.body);
	ok(read_resp(&c, &r, 0) == 0 && strcmp(r.body, "hello") == 0, "and the one after that");
	free(r.body);

	/* HEAD with start(-1): no body, no framing header, the next response follows */
	send_str(&c, "HEAD /s/gen HTTP/1.1\r\nHost: t\r\n\r\nGET /s/gen HTTP/1.1\r\nHost: t\r\n\r\n");
	ok(read_head(&c, &r) == 0 && r.status == 200 && !strcasestr(r.head, "transfer-encoding") &&
		   !strcasestr(r.head, "content-length"),
	   "HEAD with start(-1): a head without a framing header");
	b = (struct body_check){ 0 };
	ok(read_head(&c, &r) == 0 && read_body(&c, &r, 0, &b) == 0 && strcmp(b.text, "abcdef") == 0 &&
		   strstr(b.trailers, "X-Done: yes;"),
	   "and no body: the GET's chunked response follows directly (%s)", b.text);
	ok(atomic_load(&stream_result) == 1000001,
	   "start twice is -EALREADY, an empty write sends nothing, headers after start are -EALREADY");

	/* a handler that does not read the body and answers buffered */
	send_str(&c, "POST /s/ignore HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n");
	char filler[1000];
	memset(filler, 'z', sizeof(filler));
	send_all(&c, filler, sizeof(filler));
	send_str(&c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	ok(read_resp(&c, &r, 0) == 0 && r.status == 404 && !strstr(r.head, "Connection: close"),
	   "a streaming handler can still answer buffered (404)");
	free(r.body);
	ok(read_resp(&c, &r, 0) == 0 && strcmp(r.body, "hello") == 0,
	   "the unread body is discarded and the connection kept");
	free(r.body);

	/* the buffered API in buffered mode */
	send_str(&c, "POST /readbuf HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n0123456789");
	int rc = read_resp(&c, &r, 0);
	ok(rc == 0 && strcmp(r.body, "streaming=0 read=0123456789 end=0 fd=-1 start=-95 trailer=-95") == 0,
	   "buffered mode: http_request_read returns the buffered body, no streaming response: %s", rc ? "-" : r.body);
	free(r.body);
	client_close(&c);

	/* an unread body over the discard bound: answered, then closed */
	client_open(port, &c);
	send_str(&c, "POST /s/ignore HTTP/1.1\r\nHost: t\r\nContent-Length: 1048576\r\n\r\n");
	char *mib = calloc(1, 1 << 20);
	send_all(&c, mib, 1 << 20);
	free(mib);
	ok(read_resp(&c, &r, 0) == 0 && r.status == 404, "an unread 1 MiB body: the answer arrives");
	free(r.body);
	ok(sees_eof(&c), "then the connection closes (over the discard bound)");
	client_close(&c);

	/* truncated: started, never finished */
	client_open(port, &c);
	send_str(&c, "GET /s/truncate HTTP/1.1\r\nHost: t\r\n\r\n");
	b = (struct body_check){ 0 };
	ok(read_head(&c, &r) == 0 && r.status == 200 && read_body(&c, &r, 0, &b) < 0 && strcmp(b.text, "partial") == 0,
	   "started but not finished: the client gets the bytes written, then EOF without the last chunk");
	client_close(&c);

	/* short Content-Length */
	client_open(port, &c);
	atomic_store(&stream_result, 0);
	send_str(&c, "GET /s/short HTTP/1.1\r\nHost: t\r\n\r\n");
	b = (struct body_check){ 0 };
	ok(read_head(&c, &r) == 0 && strstr(r.head, "Content-Length: 10\r\n") && read_body(&c, &r, 0, &b) < 0 &&
		   b.len == 3,
	   "finishing under the Content-Length closes the connection (3 of 10 bytes)");
	is_int(atomic_load(&stream_result), 1000000 - EPROTO, "and finish says -EPROTO");
	client_close(&c);

	/* limits on the response */
	client_open(port, &c);
	atomic_store(&stream_result, 0);
	send_str(&c, "GET /s/limits HTTP/1.1\r\nHost: t\r\n\r\n");
	b = (struct body_check){ 0 };
	ok(read_head(&c, &r) == 0 && read_body(&c, &r, 0, &b) == 0 && strcmp(b.text, "hell") == 0 &&
		   atomic_load(&stream_result) == 1000001,
	   "a length over max_response and writes past the Content-Length are -E2BIG, nothing extra sent");
	client_close(&c);

	/* HTTP/1.0: close-delimited */
	client_open(port, &c);
	send_str(&c, "GET /s/gen HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	b = (struct body_check){ 0 };
	ok(read_head(&c, &r) == 0 && strstr(r.head, "Connection: close\r\n") && !strcasestr(r.head, "transfer-encoding") &&
		   read_body(&c, &r, 0, &b) == 0 && strcmp(b.text, "abcdef") == 0,
	   "HTTP/1.0 with start(-1): the body ends with the connection");
	client_close(&c);
}

static void test_stream_continue_and_again(unsigned port)
{
	struct client c;
	struct resp r;
	struct body_check b = { 0 };

	client_open(port, &c);
	send_str(&c, "POST /s/echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
	ok(read_head(&c, &r) == 0 && r.status == 100, "streaming: 100 Continue when the handler reads");
	send_str(&c, "hello");
	ok(read_head(&c, &r) == 0 && r.status == 200 && read_body(&c, &r, 0, &b) == 0 && strcmp(b.text, "hello") == 0,
	   "then the streamed response");

	send_str(&c, "POST /s/again HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n");
	usleep(300 * 1000);
	send_str(&c, "world");
	int rc = read_resp(&c, &r, 0);
	ok(rc == 0 && strcmp(r.body, "timed=-11 took=ok first=-11 fd=ok poll=1 body=world end=0 fd_after=-1") == 0,
	   "a read with a timeout ends -EAGAIN in time, timeout 0 is -EAGAIN, poll on the descriptor wakes "
	   "for the body: %s", rc ? "-" : r.body);
	free(r.body);
	client_close(&c);
}

static void test_stream_errors(void)
{
	struct http_server_config cfg;
	struct client c;
	struct resp r;

	base_config(&cfg);
	cfg.limits.max_body = 64 * 1024;
	struct http_server *srv = start_stream(&cfg);
	unsigned port = http_server_port(srv);

	client_open(port, &c);
	send_str(&c, "POST /s/count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
	char *big = calloc(1, 100 * 1024);
	send_str(&c, "19000\r\n");
	send_all(&c, big, 100 * 1024);
	free(big);
	int rc = read_resp(&c, &r, 0);
	ok(rc == 0 && strcmp(r.body, "end=-7 total=0") == 0 && strstr(r.head, "Connection: close"),
	   "a chunk past max_body: read is -E2BIG, the answer says Connection: close: %s", rc ? "-" : r.body);
	free(r.body);
	ok(sees_eof(&c), "and the connection closes");
	client_close(&c);

	client_open(port, &c);
	send_str(&c, "POST /s/count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcdeXX\r\n");
	rc = read_resp(&c, &r, 0);
	ok(rc == 0 && strcmp(r.body, "end=-74 total=5") == 0, "malformed chunk framing: -EBADMSG: %s", rc ? "-" : r.body);
	free(r.body);
	client_close(&c);

	client_open(port, &c);
	atomic_store(&stream_result, 0);
	send_str(&c, "POST /s/count HTTP/1.1\r\nHost: t\r\nContent-Length: 50000\r\n\r\nabc");
	usleep(100 * 1000);
	client_close(&c);
	for (int i = 0; i < 200 && !atomic_load(&stream_result); i++)
		usleep(10 * 1000);
	is_int(atomic_load(&stream_result) - 1000000, -ECONNRESET, "the client leaving mid-body: -ECONNRESET");

	client_open(port, &c);
	long t0 = now_ms();
	send_str(&c, "POST /s/count HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
	rc = read_resp(&c, &r, 0);
	long took = now_ms() - t0;
	ok(rc == 0 && strcmp(r.body, "end=-110 total=3") == 0 && took >= 350,
	   "a body that stalls: -ETIMEDOUT after body_timeout (%ld ms): %s", took, rc ? "-" : r.body);
	free(r.body);
	ok(sees_eof(&c), "then the connection closes");
	client_close(&c);
	ok(request(port, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r) == 0 && r.status == 200,
	   "the server goes on");
	free(r.body);

	struct http_server_stats st;
	http_server_stats(srv, &st);
	ok(st.requests == 5 && st.in_flight == 0, "stats count streamed requests (%llu)", (unsigned long long)st.requests);
	http_server_free(srv);
}

struct later {
	struct client *c;
	const char *data;
	unsigned delay_ms;
};

static void *send_later(void *arg)
{
	struct later *l = arg;
	usleep(l->delay_ms * 1000);
	send_str(l->c, l->data);
	return NULL;
}

static void test_stream_shutdown(void)
{
	struct http_server_config cfg;
	struct client c;
	struct resp r;
	struct body_check b = { 0 };
	pthread_t th;

	base_config(&cfg);
	cfg.body_timeout_ms = 3000;
	struct http_server *srv = start_stream(&cfg);
	client_open(http_server_port(srv), &c);
	send_str(&c, "POST /s/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n");
	usleep(100 * 1000);
	struct later l = { &c, "hello", 400 };
	pthread_create(&th, NULL, send_later, &l);
	long t0 = now_ms();
	int rc = http_server_shutdown(srv, 5000);
	long took = now_ms() - t0;
	pthread_join(th, NULL);
	ok(rc == 0 && took >= 300, "shutdown waits for a streaming handler (%ld ms)", took);
	ok(read_head(&c, &r) == 0 && strstr(r.head, "Connection: close\r\n") && read_body(&c, &r, 0, &b) == 0 &&
		   strcmp(b.text, "hello") == 0,
	   "which streams its response, with Connection: close");
	client_close(&c);
	http_server_free(srv);

	/* a deadline cuts a streaming handler off: its socket is shut, it returns */
	srv = start_stream(&cfg);
	client_open(http_server_port(srv), &c);
	atomic_store(&stream_result, 0);
	send_str(&c, "POST /s/count HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n");
	usleep(100 * 1000);
	t0 = now_ms();
	rc = http_server_shutdown(srv, 100);
	took = now_ms() - t0;
	ok(rc == -ETIMEDOUT && took < 1500 && atomic_load(&stream_result) == 1000000 - ECONNRESET,
	   "a drain deadline wakes a handler waiting for the body (-ECONNRESET, %ld ms)", took);
	ok(sees_eof(&c), "and closes its connection");
	client_close(&c);
	http_server_free(srv);
}

static void test_streaming(void)
{
	struct http_server_config cfg;

	base_config(&cfg);
	cfg.server_name = "spin-bridge-test";
	cfg.limits.max_body = 128u << 20;
	cfg.max_response = 128u << 20;
	cfg.body_timeout_ms = 5000;
	cfg.idle_timeout_ms = 10000;
	struct http_server *srv = start_stream(&cfg);
	unsigned port = http_server_port(srv);

	test_stream_big(port, 1);
	test_stream_big(port, 0);
	test_stream_exchanges(port);
	test_stream_continue_and_again(port);
	struct http_server_stats st;
	http_server_stats(srv, &st);
	ok(st.handler_errors == 1 && st.responses_4xx == 2 && st.in_flight == 0,
	   "stats: the truncated response is a handler error, the 404s are 4xx (%llu requests)",
	   (unsigned long long)st.requests);
	http_server_free(srv);
	test_stream_errors();
	test_stream_shutdown();
}

int main(void)
{
	struct http_server_config cfg;

	/* first, while the peak RSS is low */
	test_streaming();

	base_config(&cfg);
	cfg.server_name = "spin-bridge-test";
	struct http_server *srv = start(&cfg);
	unsigned port = http_server_port(srv);

	test_keep_alive(port);
	test_http10(port);
	test_pipelining(port);
	test_chunked_upload(port);
	test_body_cap(port);
	test_slow_client(port);
	test_slow_handler(port);
	test_head_and_continue(port);
	struct http_server_stats st;
	http_server_stats(srv, &st);
	ok(st.requests > 20 && st.responses_4xx >= 3 && st.handler_errors == 1,
	   "stats: %llu requests, %llu 4xx, %llu handler errors", (unsigned long long)st.requests,
	   (unsigned long long)st.responses_4xx, (unsigned long long)st.handler_errors);
	ok(atomic_load(&max_concurrent) >= 2, "handlers ran concurrently");
	http_server_free(srv);

	test_idle_timeout();
	test_queue_full();
	test_conn_cap_and_fd();
	test_listen_errors();
	test_shutdown();
	test_shutdown_fd();
	return tap_done();
}
