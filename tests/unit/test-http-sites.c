/* Several sites on one HTTP server, against real sockets on 127.0.0.1: each
 * listener answers with its own handler, counters are kept per site, a
 * site's caps hold for it alone, and removing one (idle, busy, past its
 * deadline, while others serve and while sites come and go from another
 * thread) leaves the others untouched and never calls its handler again. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shim-bridge/http/server.h"
#include "tests/tap.h"
#include "tests/unit/http-test-client.h"

/* What a site's handler knows: its name and how often it ran. */
struct app {
	const char *name;
	atomic_int calls;
	atomic_int running;
};

/* "/" answers the app's name; "/sleep?N" sleeps N ms first. */
static void app_handler(void *user, const struct http_request *req, struct http_response *resp)
{
	struct app *a = user;

	atomic_fetch_add(&a->calls, 1);
	atomic_fetch_add(&a->running, 1);
	if (strcmp(req->path, "/sleep") == 0)
		usleep((useconds_t)atol(req->query) * 1000);
	http_response_append(resp, a->name, strlen(a->name));
	atomic_fetch_sub(&a->running, 1);
}

static int listen_any(void)
{
	struct sk_error err = { 0 };
	int fd = http_listen("127.0.0.1:0", &err);

	if (fd < 0)
		printf("# listen: %s\n", err.message);
	return fd;
}

static struct http_site *add(struct http_server *srv, struct app *a, unsigned max_conns, unsigned max_in_flight)
{
	struct sk_error err = { 0 };
	struct http_site *site = NULL;
	struct http_site_config sc = { .listen_fd = listen_any(), .handler = app_handler, .user = a,
				       .max_conns = max_conns, .max_in_flight = max_in_flight };

	if (http_server_add_site(srv, &sc, &site, &err) < 0) {
		printf("# add site: %s\n", err.message);
		exit(1);
	}
	return site;
}

static struct http_server *start_sites_only(void)
{
	struct http_server_config cfg;
	struct http_server *srv = NULL;
	struct sk_error err = { 0 };

	http_server_config_init(&cfg);
	cfg.workers = 4;
	cfg.idle_timeout_ms = 5000;
	if (http_server_new(&cfg, NULL, NULL, &srv, &err) < 0 || http_server_start(srv, &err) < 0) {
		printf("# server: %s\n", err.message);
		exit(1);
	}
	return srv;
}

/* GET path on port, one connection; the body, or "" when it failed. */
static const char *get(unsigned port, const char *path, char *out, size_t size, int *status)
{
	char raw[256];
	struct resp r;

	snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
	out[0] = '\0';
	*status = 0;
	if (request(port, raw, &r) == 0) {
		snprintf(out, size, "%s", r.body);
		*status = r.status;
		free(r.body);
	}
	return out;
}

static int refused(unsigned port)
{
	struct client c;
	int r = client_open(port, &c);
	int e = errno;

	client_close(&c);
	return r < 0 && e == ECONNREFUSED;
}

static void test_own_handlers(void)
{
	struct http_server *srv = start_sites_only();
	struct app a = { .name = "app-a" }, b = { .name = "app-b" };
	char body[64];
	int st;

	is_int(http_server_port(srv), 0, "a server without a listener of its own has no port");
	struct http_site *sa = add(srv, &a, 0, 0), *sb = add(srv, &b, 0, 0);
	ok(http_site_port(sa) != http_site_port(sb), "each site listens on a port of its own");
	is_str(get(http_site_port(sa), "/", body, sizeof(body), &st), "app-a", "site a answers with its handler");
	is_str(get(http_site_port(sb), "/", body, sizeof(body), &st), "app-b", "site b answers with its handler");
	(void)get(http_site_port(sb), "/", body, sizeof(body), &st);

	struct http_server_stats s1, s2, all;
	http_site_stats(sa, &s1);
	http_site_stats(sb, &s2);
	http_server_stats(srv, &all);
	ok(s1.requests == 1 && s2.requests == 2, "requests are counted per site (1 and 2)");
	ok(all.requests == 3, "the server's count is the sum over its sites");
	is_int(http_site_remove(sa, 1000), 0, "removing an idle site succeeds");
	is_int(http_site_remove(sb, 1000), 0, "removing the other one too");
	http_server_free(srv);
}

static void test_remove_leaves_others(void)
{
	struct http_server *srv = start_sites_only();
	struct app a = { .name = "app-a" }, b = { .name = "app-b" };
	struct http_site *sa = add(srv, &a, 0, 0), *sb = add(srv, &b, 0, 0);
	unsigned pa = http_site_port(sa), pb = http_site_port(sb);
	struct client ka, kb;
	struct resp r;
	char body[64];
	int st;

	/* A kept connection on each, one request answered. */
	client_open(pa, &ka);
	client_open(pb, &kb);
	send_str(&ka, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	send_str(&kb, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	ok(read_resp(&ka, &r, 0) == 0, "a kept connection to site a");
	free(r.body);
	ok(read_resp(&kb, &r, 0) == 0, "a kept connection to site b");
	free(r.body);

	is_int(http_site_remove(sa, 2000), 0, "site a is removed");
	ok(sees_eof(&ka), "site a's idle kept connection is closed");
	ok(refused(pa), "site a's port refuses new connections");
	int calls = atomic_load(&a.calls);
	send_str(&kb, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	ok(read_resp(&kb, &r, 0) == 0 && strcmp(r.body, "app-b") == 0, "site b's kept connection still serves");
	free(r.body);
	is_str(get(pb, "/", body, sizeof(body), &st), "app-b", "site b takes new connections");
	is_int(atomic_load(&a.calls), calls, "site a's handler is not called after its removal");
	client_close(&ka);
	client_close(&kb);
	http_server_free(srv); /* frees site b with it */
}

struct slow_req {
	unsigned port;
	const char *path;
	int status;
	char body[64];
	char head[4096];
};

static void *slow_get(void *arg)
{
	struct slow_req *q = arg;
	char raw[256];
	struct resp r;

	snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", q->path);
	if (request(q->port, raw, &r) == 0) {
		q->status = r.status;
		snprintf(q->body, sizeof(q->body), "%s", r.body);
		snprintf(q->head, sizeof(q->head), "%s", r.head);
		free(r.body);
	}
	return NULL;
}

static void wait_running(struct app *a, int n)
{
	for (int i = 0; i < 500 && atomic_load(&a->running) < n; i++)
		usleep(2000);
}

static void test_remove_busy(void)
{
	struct http_server *srv = start_sites_only();
	struct app a = { .name = "app-a" }, b = { .name = "app-b" };
	struct http_site *sa = add(srv, &a, 0, 0), *sb = add(srv, &b, 0, 0);
	struct slow_req q = { .port = http_site_port(sa), .path = "/sleep?300" };
	pthread_t t;
	char body[64];
	int st;

	pthread_create(&t, NULL, slow_get, &q);
	wait_running(&a, 1);
	is_int(http_site_remove(sa, 5000), 0, "removing a site with a request in progress waits for it");
	is_int(atomic_load(&a.running), 0, "when removal returns, no handler of the site runs");
	pthread_join(t, NULL);
	ok(q.status == 200 && strcmp(q.body, "app-a") == 0, "the request in progress got its answer");
	ok(strcasestr(q.head, "connection: close") != NULL, "that answer says Connection: close");
	is_str(get(http_site_port(sb), "/", body, sizeof(body), &st), "app-b", "the other site serves meanwhile");

	/* Past the deadline: the connection is cut, removal says so. */
	struct app c = { .name = "app-c" };
	struct http_site *sc = add(srv, &c, 0, 0);
	struct slow_req q2 = { .port = http_site_port(sc), .path = "/sleep?600" };
	pthread_create(&t, NULL, slow_get, &q2);
	wait_running(&c, 1);
	is_int(http_site_remove(sc, 50), -ETIMEDOUT, "a removal past its deadline reports -ETIMEDOUT");
	is_int(atomic_load(&c.running), 0, "and still returns only once its handler is done");
	pthread_join(t, NULL);
	ok(q2.status == 0, "the cut-off client sees no answer");
	http_server_free(srv);
}

static void test_site_caps(void)
{
	struct http_server *srv = start_sites_only();
	struct app a = { .name = "app-a" }, b = { .name = "app-b" };
	struct http_site *sa = add(srv, &a, 0, 1), *sb = add(srv, &b, 2, 0);
	struct slow_req q = { .port = http_site_port(sa), .path = "/sleep?300" };
	pthread_t t;
	char body[64];
	int st;

	pthread_create(&t, NULL, slow_get, &q);
	wait_running(&a, 1);
	(void)get(http_site_port(sa), "/", body, sizeof(body), &st);
	is_int(st, 503, "a site at its max_in_flight answers 503");
	is_str(get(http_site_port(sb), "/", body, sizeof(body), &st), "app-b", "while another site serves");
	pthread_join(t, NULL);
	is_int(q.status, 200, "the request in flight was answered");

	struct http_server_stats s;
	http_site_stats(sa, &s);
	is_int((int)s.rejected_busy, 1, "the 503 is counted on its site");

	/* max_conns 2 on site b: a third connection is closed at accept. */
	struct client c1, c2, c3;
	client_open(http_site_port(sb), &c1);
	client_open(http_site_port(sb), &c2);
	usleep(100000);
	client_open(http_site_port(sb), &c3);
	ok(sees_eof(&c3), "a site's third connection over its max_conns 2 is closed");
	http_site_stats(sb, &s);
	is_int((int)s.rejected_conns, 1, "counted on its site");
	is_str(get(http_site_port(sa), "/", body, sizeof(body), &st), "app-a", "the other site takes connections");
	client_close(&c1);
	client_close(&c2);
	client_close(&c3);
	http_server_free(srv);
}

static void test_errors(void)
{
	struct http_server *srv = start_sites_only();
	struct app a = { .name = "app-a" };
	struct sk_error err = { 0 };
	struct http_site *site = NULL;
	int fds[2];

	socketpair(AF_UNIX, SOCK_DGRAM, 0, fds);
	struct http_site_config bad = { .listen_fd = fds[0], .handler = app_handler, .user = &a };
	ok(http_server_add_site(srv, &bad, &site, &err) == -EINVAL && strstr(err.message, "stream socket"),
	   "a descriptor that is not a stream socket is refused: %s", err.message);
	struct http_site_config none = { .listen_fd = listen_any(), .user = &a };
	ok(http_server_add_site(srv, &none, &site, &err) == -EINVAL, "a site without a handler is refused");
	close(none.listen_fd);
	close(fds[0]);
	close(fds[1]);

	struct http_site *live = add(srv, &a, 0, 0);
	(void)live;
	is_int(http_server_shutdown(srv, 1000), 0, "the server drains with a site on it");
	int lfd = listen_any();
	struct http_site_config late = { .listen_fd = lfd, .handler = app_handler, .user = &a };
	ok(http_server_add_site(srv, &late, &site, &err) == -ESHUTDOWN, "no site is added once it drains: %s",
	   err.message);
	close(lfd);
	is_int(http_site_remove(live, 100), 0, "a site removed after the server stopped is just freed");
	http_server_free(srv);
}

/* Sites come and go from another thread while a client uses a steady one. */
struct churn {
	struct http_server *srv;
	int rounds, ok;
};

static void *churn_main(void *arg)
{
	struct churn *ch = arg;
	struct app apps[8];
	char name[8][16], body[64];
	int st;

	for (int r = 0; r < ch->rounds; r++) {
		struct http_site *s[8];
		for (int i = 0; i < 8; i++) {
			snprintf(name[i], sizeof(name[i]), "c%d-%d", r, i);
			apps[i] = (struct app){ .name = name[i] };
			s[i] = add(ch->srv, &apps[i], 0, 0);
		}
		for (int i = 0; i < 8; i++)
			if (strcmp(get(http_site_port(s[i]), "/", body, sizeof(body), &st), name[i]) == 0)
				ch->ok++;
		for (int i = 0; i < 8; i++)
			(void)http_site_remove(s[i], 1000);
	}
	return NULL;
}

static void test_churn(void)
{
	struct http_server *srv = start_sites_only();
	struct app steady = { .name = "steady" };
	struct http_site *s = add(srv, &steady, 0, 0);
	struct churn ch = { .srv = srv, .rounds = 25 };
	pthread_t t;
	struct client k;
	struct resp r;
	int good = 0;

	pthread_create(&t, NULL, churn_main, &ch);
	client_open(http_site_port(s), &k);
	for (int i = 0; i < 200; i++) {
		send_str(&k, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
		if (read_resp(&k, &r, 0) == 0) {
			good += strcmp(r.body, "steady") == 0;
			free(r.body);
		}
	}
	pthread_join(t, NULL);
	is_int(ch.ok, 200, "200 sites added, each answering with its own handler, then removed");
	is_int(good, 200, "a kept connection to a steady site answered all 200 requests meanwhile");
	client_close(&k);
	is_int(http_site_remove(s, 1000), 0, "the steady site is removed at the end");
	http_server_free(srv);
}

int main(void)
{
	test_own_handlers();
	test_remove_leaves_others();
	test_remove_busy();
	test_site_caps();
	test_errors();
	test_churn();
	return tap_done();
}
