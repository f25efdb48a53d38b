/* Outbound HTTP for guests: allowed_outbound_hosts validation and matching
 * (a table), then real requests through libcurl against a small HTTP server
 * on 127.0.0.1 run by this test (methods, bodies, headers, denial without a
 * connection, refused ports, body caps, the deadline and the first-byte,
 * between-bytes and connect timeouts, redirects, concurrency), HTTPS against
 * `openssl s_server` with a certificate made here (verification on), and
 * fermyon:spin/http's send-request through its host function. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "shim-bridge/wasi/outbound.h"
#include "tests/tap.h"

/* Sends whose return value did not follow their error kind (0 exactly when
 * WH_OUT_OK, else that kind's errno with a message); checked in main. */
static atomic_int send_mismatches;

/* wh_outbound_send with the error's message copied into why, and the error
 * kind returned, as the checks below read best. */
static enum wh_out_error out_send(const struct wh_component_env *env, const struct wh_out_request *rq,
                                  int64_t deadline_ns, size_t max_body, struct wh_out_response *rs,
                                  char why[SK_ERR_MESSAGE_MAX])
{
	struct sk_error err = {0};
	enum wh_out_error kind = WH_OUT_INTERNAL;
	int rc = wh_outbound_send(env, rq, deadline_ns, max_body, rs, &kind, &err);

	if ((rc == 0) != (kind == WH_OUT_OK) || (rc < 0 && (err.code != rc || !err.message[0])) ||
	    (rc == 0 && err.code != 0))
		atomic_fetch_add(&send_mismatches, 1);
	snprintf(why, SK_ERR_MESSAGE_MAX, "%s", err.message);
	return kind;
}

/* --- allow-list table ----------------------------------------------------------- */

struct allow_case {
	const char *entries[3];
	const char *scheme, *authority;
	bool want;
};

static const struct allow_case allow_cases[] = {
    {{"http://127.0.0.1:3000"}, "http", "127.0.0.1:3000", true},
    {{"http://127.0.0.1:3000"}, "http", "127.0.0.1:3001", false},
    {{"http://127.0.0.1:3000"}, "https", "127.0.0.1:3000", false},
    {{"https://example.com"}, "https", "example.com", true},
    {{"https://example.com"}, "https", "example.com:443", true},
    {{"https://example.com"}, "https", "example.com:8443", false},
    {{"https://example.com"}, "http", "example.com", false},
    {{"https://example.com"}, "https", "www.example.com", false},
    {{"http://example.com"}, "http", "example.com:80", true},
    {{"http://example.com"}, "HTTP", "example.com", true},
    {{"https://*.example.com"}, "https", "api.example.com", true},
    {{"https://*.example.com"}, "https", "a.b.example.com", true},
    {{"https://*.example.com"}, "https", "example.com", false},
    {{"https://*.example.com"}, "https", "myexample.com", false},
    {{"https://*.example.com"}, "https", "api.example.com:444", false},
    {{"*://example.com:*"}, "http", "example.com:1234", true},
    {{"*://example.com:*"}, "https", "example.com", true},
    {{"*://example.com:*"}, "https", "other.com", false},
    {{"http://localhost:*"}, "http", "localhost:8080", true},
    {{"http://localhost:*"}, "https", "localhost:8080", false},
    {{"http://localhost"}, "http", "127.0.0.1", false},
    {{"http://127.0.0.1"}, "http", "localhost", false},
    {{"*://*:*"}, "http", "anything.test:1", true},
    {{"*://*:*"}, "https", "[::1]:443", true},
    {{"http://[::1]:8001"}, "http", "[::1]:8001", true},
    {{"http://[::1]:8001"}, "http", "[0:0::1]:8001", true},
    {{"http://[::1]:8001"}, "http", "[::1]:8002", false},
    {{"http://[::1]:8001"}, "http", "127.0.0.1:8001", false},
    {{"https://[2001:db8::1]"}, "https", "[2001:db8::1]", true},
    {{"http://Example.COM"}, "http", "example.com", true},
    {{"HTTP://example.com"}, "http", "EXAMPLE.com", true},
    {{"http://example.com:8000..8002"}, "http", "example.com:8001", true},
    {{"http://example.com:8000..8002"}, "http", "example.com:8002", false},
    {{"*://10.0.0.0/8:80"}, "http", "10.1.2.3", true},
    {{"*://10.0.0.0/8:80"}, "http", "11.0.0.1", false},
    {{"*://10.0.0.0/8:80"}, "http", "ten.example", false},
    {{"*://[fd00::/8]:443"}, "https", "[fd12::1]", true},
    {{"*://fd00::/8:443"}, "https", "[fd12::1]", true},
    {{"*://fd00::/8:443"}, "https", "[fe80::1]", false},
    {{"http://example.com/"}, "http", "example.com", true},
    {{"  https://example.com  "}, "https", "example.com", true},
    {{"https://self"}, "https", "self", false},
    {{"example.com"}, "https", "example.com", false},
    {{"{{ host }}"}, "https", "example.com", false},
    {{"insecure:allow-all"}, "https", "example.com", false},
    {{"http://a.test", "https://b.test"}, "https", "b.test", true},
    {{"http://a.test", "https://b.test"}, "http", "b.test", false},
    {{"bad entry", "https://b.test"}, "https", "b.test", true},
    {{NULL}, "https", "example.com", false},
    /* malformed authorities are never allowed */
    {{"*://*:*"}, "http", "exa mple.com", false},
    {{"*://*:*"}, "http", "user@example.com", false},
    {{"*://*:*"}, "http", "example.com:0", false},
    {{"*://*:*"}, "http", "example.com:99999", false},
    {{"*://*:*"}, "http", "example.com:", false},
    {{"*://*:*"}, "http", "[::1", false},
    {{"*://*:*"}, "http", "::1", false},
    {{"*://*:*"}, "http", "[fe80::1%25eth0]", false},
    {{"*://*:*"}, "http", "", false},
    {{"*://*:*"}, "ftp", "example.com", false},
    {{"https://*.example.com"}, "https", "evil.test#.example.com", false},
    {{"https://*.example.com"}, "https", "evil.test/.example.com", false},
};

static void test_allow_table(void)
{
	for (size_t i = 0; i < sizeof(allow_cases) / sizeof(allow_cases[0]); i++) {
		const struct allow_case *c = &allow_cases[i];
		size_t n = 0;
		while (n < 3 && c->entries[n])
			n++;
		struct wh_component_env env = {.allowed_outbound_hosts = c->entries,
		                               .n_allowed_outbound_hosts = n};
		is_int(wh_outbound_allowed(&env, c->scheme, c->authority), c->want,
		       "allowed [%s%s%s] %s://%s -> %s", c->entries[0] ? c->entries[0] : "",
		       n > 1 ? ", " : "", n > 1 ? c->entries[1] : "", c->scheme, c->authority,
		       c->want ? "yes" : "no");
	}
}

static void test_self(void)
{
	const char *self[] = {"http://self"}, *any[] = {"*://*:*"}, *other[] = {"https://example.com"};

	ok(wh_allowed_hosts_self(self, 1, "http"), "http://self allows relative http requests");
	ok(!wh_allowed_hosts_self(self, 1, "https"), "http://self does not allow relative https requests");
	ok(wh_allowed_hosts_self(any, 1, "https"), "*://*:* allows relative requests");
	ok(!wh_allowed_hosts_self(other, 1, "https"), "a named host does not allow relative requests");
}

struct validate_case {
	const char *entry;
	const char *why; /* NULL: valid; else a part of the message */
};

static const struct validate_case validate_cases[] = {
    {"http://127.0.0.1:3000", NULL},
    {"https://example.com", NULL},
    {"https://*.example.com", NULL},
    {"*://example.com:*", NULL},
    {"http://localhost:*", NULL},
    {"*://*:*", NULL},
    {"http://[::1]:8001", NULL},
    {"http://[::1]", NULL},
    {"*://10.0.0.0/8:80", NULL},
    {"*://fd00::/8:443", NULL},
    {"https://self", NULL},
    {"redis://cache.test", NULL},
    {"http://example.com:8000..9000", NULL},
    {"https://example.com/", NULL},
    {"example.com", "no scheme; write \"https://example.com\""},
    {"example.com:80", "no scheme"},
    {"insecure:allow-all", "*://*:*"},
    {"https://example.com/path", "no path"},
    {"https://example.com:8080/path", "no path"},
    {"*://example.com", "need a port"},
    {"ftp://example.com", "no default port"},
    {"https://ex*ample.com", "wildcard"},
    {"https://*.*.example.com", "wildcard"},
    {"https://example.com:http", "port \"http\""},
    {"https://example.com:70000", "port"},
    {"http://example.com:1..x", "port range"},
    {"https://[::1", "'['"},
    {"https://[1.2.3.4]", "not an IPv6 address"},
    {"http://::1", "brackets"},
    {"http://2001:db8::1:8080", "brackets"},
    {"{{ host }}", "templates"},
    {"https://{{ host }}", "templates"},
    {"https://{a,b}.com", "host lists"},
    {"{http,https}://example.com", "scheme lists"},
    {"h1tp://example.com", "letters"},
    {"://example.com", "no scheme before"},
    {"", "empty"},
    {"   ", "empty"},
    {"https://exa mple.com", "space"},
    {"https://b\xc3\xbc"
     "cher.de",
     "xn--"},
    {"https://", "no host"},
    {"https://:443", "no host"},
    {"https://10.0.0.0/33", "no path"},
    {"https://under_score.test", NULL},
    {"https://bad!name.test", "not a valid host name"},
};

static void test_validate(void)
{
	struct sk_error why, longer_err = {0};
	char longer[WH_ALLOWED_HOST_MAX + 64];

	for (size_t i = 0; i < sizeof(validate_cases) / sizeof(validate_cases[0]); i++) {
		const struct validate_case *c = &validate_cases[i];
		int r;
		why = (struct sk_error){0};
		r = wh_allowed_hosts_validate(c->entry, &why);
		if (!c->why) {
			if (!ok(r == 0 && why.message[0] == '\0', "valid: \"%s\"", c->entry))
				printf("#   %s\n", why.message);
		} else {
			bool good = r == -EINVAL && why.code == -EINVAL && strstr(why.message, c->why) &&
			            !strchr(why.message, '\n');
			if (!ok(good, "invalid: \"%s\" (%s)", c->entry, c->why))
				printf("#   r=%d why=%s\n", r, why.message);
		}
	}
	memset(longer, 'a', sizeof(longer) - 1);
	memcpy(longer, "https://", 8);
	longer[sizeof(longer) - 1] = '\0';
	wh_allowed_hosts_validate(longer, &longer_err);
	ok(strstr(longer_err.message, "longer than 1024 bytes") != NULL, "an entry past the cap is refused: %.60s",
	   longer_err.message);
	is_int(wh_allowed_hosts_validate(NULL, NULL), -EINVAL, "NULL entry, no error to fill");
	is_int(wh_allowed_hosts_validate("example.com", NULL), -EINVAL, "an invalid entry, no error to fill");
	why = (struct sk_error){0};
	wh_allowed_hosts_validate("example.com", &why);
	is_str(why.message, "no scheme; write \"https://example.com\" (or \"*://example.com:PORT\" for any scheme)",
	       "the whole message for an entry without a scheme");
}

static void test_authority_split(void)
{
	char host[WH_HOST_SIZE];
	unsigned port = 0;

	ok(wh_authority_split("https", "example.com", host, sizeof(host), &port) == 0 && port == 443 &&
	       strcmp(host, "example.com") == 0,
	   "authority without port takes the scheme's");
	ok(wh_authority_split("http", "[::1]:8080", host, sizeof(host), &port) == 0 && port == 8080 &&
	       strcmp(host, "::1") == 0,
	   "bracketed IPv6 authority");
	ok(wh_authority_split("http", "example.com", host, 5, &port) == -EINVAL,
	   "a host longer than the buffer");
	ok(wh_authority_split("gopher", "example.com", host, sizeof(host), &port) == -EINVAL,
	   "no default port for an unknown scheme");
}

static void test_error_cases(void)
{
	is_str(wh_out_error_case(WH_OUT_DENIED), "HTTP-request-denied", "denied case");
	is_str(wh_out_error_case(WH_OUT_DNS), "DNS-error", "dns case");
	is_str(wh_out_error_case(WH_OUT_REFUSED), "connection-refused", "refused case");
	is_str(wh_out_error_case(WH_OUT_CONNECT_TIMEOUT), "connection-timeout", "connect timeout case");
	is_str(wh_out_error_case(WH_OUT_TIMEOUT), "connection-read-timeout", "timeout case");
	is_str(wh_out_error_case(WH_OUT_TLS), "TLS-certificate-error", "tls case");
	is_str(wh_out_error_case(WH_OUT_TLS_PROTOCOL), "TLS-protocol-error", "tls protocol case");
	is_str(wh_out_error_case(WH_OUT_BODY_TOO_LARGE), "HTTP-response-body-size", "body size case");
	is_str(wh_out_error_case(WH_OUT_PROTOCOL), "HTTP-protocol-error", "protocol case");
	is_str(wh_out_error_case(WH_OUT_URI), "HTTP-request-URI-invalid", "uri case");
	is_str(wh_out_error_case(WH_OUT_INTERNAL), "internal-error", "internal case");
}

/* --- a small HTTP server ---------------------------------------------------------- */

#define REQ_MAX (1 << 20)

struct server {
	int fd;
	unsigned port;
	pthread_t thread;
	atomic_int accepted;
	atomic_bool stop;
	pthread_mutex_t mu;
	char *last; /* the last request, head and body */
	size_t last_len;
};

struct conn {
	struct server *srv;
	int fd;
};

static int64_t now_ms(void)
{
	return wh_now_ns() / 1000000;
}

/* Sleep up to ms, returning early when the client hangs up. */
static void wait_or_hangup(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char c;
	int64_t end = now_ms() + ms;

	while (now_ms() < end) {
		if (poll(&p, 1, (int)(end - now_ms())) > 0 && recv(fd, &c, 1, MSG_PEEK) <= 0)
			return;
		if (p.revents & (POLLHUP | POLLERR))
			return;
	}
}

static void send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		c += w;
		n -= (size_t)w;
	}
}

static void send_str(int fd, const char *s)
{
	send_all(fd, s, strlen(s));
}

/* Read one request (head and Content-Length body) into buf; its length,
 * the head's length in *head, or -1. */
static ssize_t read_request(int fd, char *buf, size_t cap, size_t *head)
{
	size_t n = 0, want = 0;
	bool have_head = false;

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;
		if (n + 1 >= cap || poll(&p, 1, 5000) <= 0)
			return -1;
		r = read(fd, buf + n, cap - 1 - n);
		if (r <= 0)
			return -1;
		n += (size_t)r;
		buf[n] = '\0';
		if (!have_head) {
			char *end = strstr(buf, "\r\n\r\n"), *cl;
			if (!end)
				continue;
			have_head = true;
			*head = (size_t)(end + 4 - buf);
			*end = '\0';
			cl = strcasestr(buf, "\r\ncontent-length:");
			want = cl ? strtoul(cl + 17, NULL, 10) : 0;
			*end = '\r';
		}
		if (n >= *head + want)
			return (ssize_t)(*head + want);
	}
}

static void respond(int fd, const char *req, size_t len, size_t head)
{
	char method[32] = "", path[512] = "", out[1024];
	const char *body = req + head;
	size_t blen = len - head, n;

	sscanf(req, "%31s %511s", method, path);
	if (strncmp(path, "/echo", 5) == 0) {
		snprintf(out, sizeof(out),
		         "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Method: %s\r\nX-Multi: "
		         "a\r\nX-Multi: b\r\n"
		         "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		         method, blen);
		send_str(fd, out);
		if (strcmp(method, "HEAD") != 0)
			send_all(fd, body, blen);
	} else if (strncmp(path, "/big?", 5) == 0 || strncmp(path, "/chunked?", 9) == 0) {
		bool chunked = path[1] == 'c';
		char chunk[4096];
		n = strtoul(strchr(path, '?') + 1, NULL, 10);
		if (chunked)
			snprintf(out, sizeof(out),
			         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%zx\r\n", n);
		else
			snprintf(out, sizeof(out), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", n);
		send_str(fd, out);
		if (strcmp(method, "HEAD") == 0)
			return;
		memset(chunk, 'x', sizeof(chunk));
		for (size_t left = n; left;) {
			size_t k = left < sizeof(chunk) ? left : sizeof(chunk);
			send_all(fd, chunk, k);
			left -= k;
		}
		if (chunked)
			send_str(fd, "\r\n0\r\n\r\n");
	} else if (strcmp(path, "/slow") == 0) {
		wait_or_hangup(fd, 1500);
		send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlate");
	} else if (strcmp(path, "/stall") == 0) {
		send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
		wait_or_hangup(fd, 3000);
	} else if (strcmp(path, "/hang") == 0) {
		wait_or_hangup(fd, 5000);
	} else if (strcmp(path, "/redirect") == 0) {
		send_str(fd, "HTTP/1.1 302 Found\r\nLocation: /echo\r\nContent-Length: 5\r\n\r\nmoved");
	} else if (strcmp(path, "/many") == 0) {
		send_str(fd, "HTTP/1.1 200 OK\r\n");
		for (int i = 0; i < WH_OUT_HEADERS_MAX + 10; i++) {
			snprintf(out, sizeof(out), "X-H-%d: v\r\n", i);
			send_str(fd, out);
		}
		send_str(fd, "Content-Length: 0\r\n\r\n");
	} else if (strcmp(path, "/early") == 0) {
		send_str(fd, "HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\n"
		             "HTTP/1.1 200 OK\r\nX-Final: 1\r\nContent-Length: 2\r\n\r\nok");
	} else if (strcmp(path, "/fold") == 0) {
		send_str(fd, "HTTP/1.1 200 OK\r\nX-Folded: one\r\n two\r\nContent-Length: 0\r\n\r\n");
	} else if (strcmp(path, "/trailers") == 0) {
		send_str(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Trailer\r\n\r\n"
		             "2\r\nhi\r\n0\r\nX-Trailer: t\r\n\r\n");
	} else if (strcmp(path, "/badutf8") == 0) {
		send_str(fd, "HTTP/1.1 200 OK\r\nX-Bin: \xff\xfe\r\nContent-Length: 0\r\n\r\n");
	} else {
		send_str(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
	}
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	char *buf = malloc(REQ_MAX);
	size_t head = 0;
	ssize_t len = buf ? read_request(c->fd, buf, REQ_MAX, &head) : -1;

	if (len > 0) {
		pthread_mutex_lock(&c->srv->mu);
		free(c->srv->last);
		c->srv->last = malloc((size_t)len + 1);
		if (c->srv->last) {
			memcpy(c->srv->last, buf, (size_t)len);
			c->srv->last[len] = '\0';
			c->srv->last_len = (size_t)len;
		}
		pthread_mutex_unlock(&c->srv->mu);
		respond(c->fd, buf, (size_t)len, head);
	}
	shutdown(c->fd, SHUT_WR);
	close(c->fd);
	free(buf);
	free(c);
	return NULL;
}

static void *server_main(void *arg)
{
	struct server *s = arg;

	while (!atomic_load(&s->stop)) {
		struct pollfd p = {.fd = s->fd, .events = POLLIN};
		struct conn *c;
		pthread_t t;
		int fd;

		if (poll(&p, 1, 50) <= 0)
			continue;
		fd = accept(s->fd, NULL, NULL);
		if (fd < 0)
			continue;
		atomic_fetch_add(&s->accepted, 1);
		c = malloc(sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		*c = (struct conn){s, fd};
		if (pthread_create(&t, NULL, conn_main, c) != 0) {
			close(fd);
			free(c);
			continue;
		}
		pthread_detach(t);
	}
	return NULL;
}

/* A TCP socket bound to 127.0.0.1 on a free port; listening when backlog
 * >= 0. */
static int bind_local(int backlog, unsigned *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    (backlog >= 0 && listen(fd, backlog) < 0) || getsockname(fd, (struct sockaddr *)&a, &al) < 0) {
		perror("bind_local");
		exit(1);
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static void server_start(struct server *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	s->fd = bind_local(64, &s->port);
	if (pthread_create(&s->thread, NULL, server_main, s) != 0)
		exit(1);
}

static void server_stop(struct server *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->thread, NULL);
	close(s->fd);
	free(s->last);
}

/* Does the last request the server saw contain needle? */
static bool saw(struct server *s, const char *needle)
{
	bool r;
	pthread_mutex_lock(&s->mu);
	r = s->last && memmem(s->last, s->last_len, needle, strlen(needle)) != NULL;
	pthread_mutex_unlock(&s->mu);
	return r;
}

static bool saw_header(struct server *s, const char *name)
{
	char n[128];
	bool r;
	snprintf(n, sizeof(n), "\r\n%s:", name);
	pthread_mutex_lock(&s->mu);
	r = s->last && strcasestr(s->last, n) != NULL;
	pthread_mutex_unlock(&s->mu);
	return r;
}

static const char *header(const struct wh_out_response *rs, const char *name, size_t nth)
{
	for (size_t i = 0; i < rs->n_headers; i++)
		if (strcmp(rs->headers[i].name, name) == 0 && nth-- == 0)
			return rs->headers[i].value;
	return NULL;
}

/* --- requests ---------------------------------------------------------------------- */

static char authority[64];
static const char *all_hosts[] = {"*://*:*"};
static const struct wh_component_env open_env = {
    .id = "test", .allowed_outbound_hosts = all_hosts, .n_allowed_outbound_hosts = 1};

static enum wh_out_error get(const struct wh_component_env *env, const char *method, const char *path,
                             int64_t deadline_ns, size_t max_body, struct wh_out_response *rs, char why[SK_ERR_MESSAGE_MAX])
{
	struct wh_out_request rq = {
	    .method = method, .scheme = "http", .authority = authority, .path_query = path};
	return out_send(env, &rq, deadline_ns, max_body, rs, why);
}

static void test_requests(struct server *s)
{
	char n1[] = "X-Test", v1[] = "hello", n2[] = "X-Empty", v2[] = "", n3[] = "Content-Length",
	     v3[] = "999", n4[] = "Connection", v4[] = "x", n5[] = "content-type",
	     v5[] = "application/octet-stream";
	struct wh_out_header hs[] = {{n1, v1, 5}, {n2, v2, 0}, {n3, v3, 3}, {n4, v4, 1}};
	struct wh_out_request rq = {.method = "GET",
	                            .scheme = "http",
	                            .authority = authority,
	                            .path_query = "/echo",
	                            .headers = hs,
	                            .n_headers = 4};
	struct wh_out_response rs = {0};
	char why[SK_ERR_MESSAGE_MAX];
	enum wh_out_error e;

	e = out_send(&open_env, &rq, -1, 1024, &rs, why);
	if (!ok(e == WH_OUT_OK && rs.status == 200, "GET /echo: 200"))
		printf("#   %d %s\n", e, why);
	is_str(header(&rs, "x-method", 0), "GET", "response header names are lower case");
	ok(header(&rs, "x-multi", 0) && header(&rs, "x-multi", 1) && !header(&rs, "x-multi", 2) &&
	       strcmp(header(&rs, "x-multi", 1), "b") == 0,
	   "repeated response headers are kept in order");
	ok(saw(s, "GET /echo HTTP/1.1\r\n") && saw(s, "\r\nX-Test: hello\r\n") && saw(s, "\r\nX-Empty:"),
	   "the server got the method, path and headers (an empty one too)");
	ok(saw(s, "\r\nHost: 127.0.0.1:"), "the Host header is the authority");
	ok(!saw_header(s, "content-length") && !saw(s, "Connection: x") && !saw_header(s, "expect") &&
	       !saw_header(s, "content-type"),
	   "Content-Length, Connection and Expect from the guest are dropped, no Content-Type added");
	wh_out_response_free(&rs);
	ok(rs.headers == NULL && rs.n_headers == 0, "wh_out_response_free empties the response");

	static const uint8_t body[] = {'a', 0, 'b', 0xff};
	struct wh_out_header ct[] = {{n5, v5, 24}};
	rq = (struct wh_out_request){.method = "POST",
	                             .scheme = "HTTP",
	                             .authority = authority,
	                             .path_query = "/echo?x=1",
	                             .headers = ct,
	                             .n_headers = 1,
	                             .body = body,
	                             .body_len = sizeof(body)};
	e = out_send(&open_env, &rq, wh_now_ns() + 5000000000, 1024, &rs, why);
	ok(e == WH_OUT_OK && rs.status == 200 && rs.body_len == sizeof(body) &&
	       memcmp(rs.body, body, sizeof(body)) == 0,
	   "POST: a binary body goes out and comes back");
	ok(saw(s, "POST /echo?x=1 HTTP/1.1\r\n") && saw(s, "\r\nContent-Length: 4\r\n") &&
	       saw(s, "\r\ncontent-type: application/octet-stream\r\n"),
	   "POST: the query, Content-Length and the guest's Content-Type");
	wh_out_response_free(&rs);

	rq = (struct wh_out_request){.method = "POST",
	                             .scheme = "http",
	                             .authority = authority,
	                             .path_query = "/echo",
	                             .body = body,
	                             .body_len = 2};
	e = out_send(&open_env, &rq, -1, 1024, &rs, why);
	ok(e == WH_OUT_OK && !saw_header(s, "content-type"), "POST without Content-Type: curl adds none");
	wh_out_response_free(&rs);

	e = get(&open_env, "PUT", "/echo", -1, 1024, &rs, why);
	ok(e == WH_OUT_OK && saw(s, "PUT /echo HTTP/1.1\r\n") && saw(s, "\r\nContent-Length: 0\r\n"),
	   "PUT without a body sends Content-Length: 0");
	wh_out_response_free(&rs);

	e = get(&open_env, "HEAD", "/echo", -1, 1024, &rs, why);
	ok(e == WH_OUT_OK && rs.status == 200 && rs.body_len == 0 && rs.body == NULL &&
	       saw(s, "HEAD /echo HTTP/1.1"),
	   "HEAD: no body expected or read");
	wh_out_response_free(&rs);

	e = get(&open_env, "PURGE", "/echo", -1, 1024, &rs, why);
	ok(e == WH_OUT_OK && saw(s, "PURGE /echo HTTP/1.1\r\n") &&
	       strcmp(header(&rs, "x-method", 0), "PURGE") == 0,
	   "any method token goes out as it is");
	wh_out_response_free(&rs);

	e = get(&open_env, "GET", "/echo?q=a b\"<>", -1, 1024, &rs, why);
	ok(e == WH_OUT_OK && saw(s, "GET /echo?q=a%20b%22%3C%3E HTTP/1.1"),
	   "path characters URLs may not carry raw are encoded");
	wh_out_response_free(&rs);

	e = get(&open_env, "GET", "?only=query#frag", -1, 1024, &rs, why);
	ok(e == WH_OUT_OK && rs.status == 404 && saw(s, "GET /?only=query HTTP/1.1"),
	   "a bare query gets a '/', the fragment is not sent");
	wh_out_response_free(&rs);

	e = get(&open_env, "GET", NULL, -1, 1024, &rs, why);
	ok(e == WH_OUT_OK && saw(s, "GET / HTTP/1.1"), "no path is \"/\"");
	wh_out_response_free(&rs);

	e = get(&open_env, "GET", "/redirect", -1, 1024, &rs, why);
	ok(e == WH_OUT_OK && rs.status == 302 && header(&rs, "location", 0) &&
	       strcmp(header(&rs, "location", 0), "/echo") == 0 && rs.body_len == 5,
	   "a redirect is returned, not followed");
	wh_out_response_free(&rs);

	e = get(&open_env, "GET", "/early", -1, 1024, &rs, why);
	ok(e == WH_OUT_OK && rs.status == 200 && header(&rs, "x-final", 0) && !header(&rs, "link", 0),
	   "a 103 block before the response is dropped");
	wh_out_response_free(&rs);

	e = get(&open_env, "GET", "/fold", -1, 1024, &rs, why);
	ok(e == WH_OUT_OK && header(&rs, "x-folded", 0) && strcmp(header(&rs, "x-folded", 0), "one two") == 0,
	   "a folded header line joins the value");
	wh_out_response_free(&rs);

	e = get(&open_env, "GET", "/trailers", -1, 1024, &rs, why);
	ok(e == WH_OUT_OK && rs.body_len == 2 && !header(&rs, "x-trailer", 0),
	   "trailers are not response headers");
	wh_out_response_free(&rs);

	e = get(&open_env, "GET", "/many", -1, 1024, &rs, why);
	ok(e == WH_OUT_PROTOCOL && strstr(why, "more than 256 headers"), "too many response headers: %s",
	   why);
	ok(rs.headers == NULL && rs.n_headers == 0, "a failed request leaves the response empty");
}

static void test_limits(struct server *s)
{
	struct wh_out_response rs = {0};
	char why[SK_ERR_MESSAGE_MAX];
	enum wh_out_error e;
	int64_t t0;

	e = get(&open_env, "GET", "/big?1000", -1, 1000, &rs, why);
	ok(e == WH_OUT_OK && rs.body_len == 1000 && rs.body[999] == 'x',
	   "a body of exactly max_body is fine");
	wh_out_response_free(&rs);
	e = get(&open_env, "GET", "/big?5000", -1, 1000, &rs, why);
	ok(e == WH_OUT_BODY_TOO_LARGE && strstr(why, "larger than 1000 bytes"),
	   "Content-Length past max_body: %s", why);
	e = get(&open_env, "HEAD", "/big?5000", -1, 1000, &rs, why);
	ok(e == WH_OUT_OK && rs.status == 200 && rs.body_len == 0, "HEAD of a body past max_body is fine: %s",
	   why);
	wh_out_response_free(&rs);
	e = get(&open_env, "GET", "/chunked?300000", -1, 100000, &rs, why);
	ok(e == WH_OUT_BODY_TOO_LARGE, "a chunked body past max_body: %s", why);
	e = get(&open_env, "GET", "/chunked?5", -1, 0, &rs, why);
	ok(e == WH_OUT_BODY_TOO_LARGE, "max_body 0 allows only empty bodies");

	t0 = now_ms();
	e = get(&open_env, "GET", "/hang", wh_now_ns() + 300000000, 1000, &rs, why);
	ok(e == WH_OUT_TIMEOUT && now_ms() - t0 >= 250 && now_ms() - t0 < 2000,
	   "the deadline ends a request with no response: %s (%lld ms)", why, (long long)(now_ms() - t0));

	struct wh_out_request rq = {.method = "GET",
	                            .scheme = "http",
	                            .authority = authority,
	                            .path_query = "/slow",
	                            .first_byte_timeout_ms = 200};
	t0 = now_ms();
	e = out_send(&open_env, &rq, -1, 1000, &rs, why);
	ok(e == WH_OUT_TIMEOUT && strstr(why, "no response") && now_ms() - t0 < 1200,
	   "first-byte timeout: %s (%lld ms)", why, (long long)(now_ms() - t0));

	rq.path_query = "/stall";
	rq.first_byte_timeout_ms = 0;
	rq.between_bytes_timeout_ms = 200;
	t0 = now_ms();
	e = out_send(&open_env, &rq, -1, 1000, &rs, why);
	ok(e == WH_OUT_TIMEOUT && strstr(why, "stalled") && now_ms() - t0 < 2000,
	   "between-bytes timeout: %s (%lld ms)", why, (long long)(now_ms() - t0));

	rq.path_query = "/slow";
	rq.between_bytes_timeout_ms = 0;
	e = out_send(&open_env, &rq, -1, 1000, &rs, why);
	ok(e == WH_OUT_OK && rs.body_len == 4, "without timeouts the slow response arrives");
	wh_out_response_free(&rs);

	int before = atomic_load(&s->accepted);
	e = get(&open_env, "GET", "/echo", wh_now_ns() - 1, 1000, &rs, why);
	ok(e == WH_OUT_CONNECT_TIMEOUT && strstr(why, "deadline passed"), "a passed deadline: %s", why);
	usleep(100000);
	is_int(atomic_load(&s->accepted), before, "a passed deadline makes no connection");
}

static void test_denied(struct server *s)
{
	char other[64], why[SK_ERR_MESSAGE_MAX];
	const char *entries[1] = {other};
	const char *local[] = {"http://localhost:*"};
	struct wh_component_env env = {.allowed_outbound_hosts = entries, .n_allowed_outbound_hosts = 1};
	struct wh_out_response rs = {0};
	char bn[] = "X-Bad", bv[] = "a\r\nInjected: 1";
	struct wh_out_header bad[] = {{bn, bv, 14}};
	struct wh_out_request rq = {.method = "GET",
	                            .scheme = "http",
	                            .authority = authority,
	                            .path_query = "/echo",
	                            .headers = bad,
	                            .n_headers = 1};
	int before = atomic_load(&s->accepted);
	enum wh_out_error e;

	snprintf(other, sizeof(other), "http://127.0.0.1:%u", s->port + 1 > 65535 ? 1 : s->port + 1);
	e = get(&env, "GET", "/echo", -1, 1000, &rs, why);
	ok(e == WH_OUT_DENIED && strstr(why, "allowed_outbound_hosts") &&
	       strstr(why, "add \"http://127.0.0.1:"),
	   "a host:port not in the list is denied: %s", why);
	env.allowed_outbound_hosts = local;
	e = get(&env, "GET", "/echo", -1, 1000, &rs, why);
	ok(e == WH_OUT_DENIED, "localhost does not allow 127.0.0.1");
	env.n_allowed_outbound_hosts = 0;
	e = get(&env, "GET", "/echo", -1, 1000, &rs, why);
	ok(e == WH_OUT_DENIED, "an empty list denies everything");

	e = get(&open_env, "GE T", "/echo", -1, 1000, &rs, why);
	ok(e == WH_OUT_INTERNAL && strstr(why, "method"), "a method that is not a token: %s", why);
	e = out_send(&open_env, &rq, -1, 1000, &rs, why);
	ok(e == WH_OUT_INTERNAL && strstr(why, "CR, LF or NUL"), "a header value with CRLF: %s", why);
	e = get(&open_env, "GET", "/a\x01", -1, 1000, &rs, why);
	ok(e == WH_OUT_URI, "a control character in the path: %s", why);
	e = get(&open_env, "GET", "echo", -1, 1000, &rs, why);
	ok(e == WH_OUT_URI, "a path without '/': %s", why);
	rq = (struct wh_out_request){.method = "GET", .scheme = "ftp", .authority = authority};
	e = out_send(&open_env, &rq, -1, 1000, &rs, why);
	ok(e == WH_OUT_URI && strstr(why, "scheme"), "scheme ftp: %s", why);
	rq.scheme = "http";
	rq.authority = "user:pw@127.0.0.1";
	e = out_send(&open_env, &rq, -1, 1000, &rs, why);
	ok(e == WH_OUT_URI && strstr(why, "credentials") && !strstr(why, "pw"),
	   "userinfo in the authority: %s", why);
	rq.authority = "127.0.0.1:80/x";
	e = out_send(&open_env, &rq, -1, 1000, &rs, why);
	ok(e == WH_OUT_URI, "a path in the authority");
	rq.authority = "evil\r\nX: y";
	e = out_send(&open_env, &rq, -1, 1000, &rs, why);
	ok(e == WH_OUT_URI && !strpbrk(why, "\r\n"), "control characters never reach the message: %s", why);
	usleep(100000);
	is_int(atomic_load(&s->accepted), before, "no denied or invalid request reached the server");
}

static void test_connect_errors(void)
{
	struct wh_out_response rs = {0};
	struct wh_out_request rq = {.method = "GET", .scheme = "http", .path_query = "/"};
	char auth[64], why[SK_ERR_MESSAGE_MAX];
	unsigned port;
	int closed = bind_local(-1, &port), full, filler[3];
	enum wh_out_error e;
	int64_t t0;

	snprintf(auth, sizeof(auth), "127.0.0.1:%u", port);
	rq.authority = auth;
	e = out_send(&open_env, &rq, -1, 1000, &rs, why);
	ok(e == WH_OUT_REFUSED, "a port nobody listens on is refused: %s", why);
	close(closed);

	/* a listener whose accept queue is full drops new SYNs: connecting hangs */
	full = bind_local(0, &port);
	for (int i = 0; i < 3; i++) {
		struct sockaddr_in a = {.sin_family = AF_INET,
		                        .sin_port = htons((uint16_t)port),
		                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		filler[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		connect(filler[i], (struct sockaddr *)&a, sizeof(a));
	}
	usleep(100000);
	snprintf(auth, sizeof(auth), "127.0.0.1:%u", port);
	rq.connect_timeout_ms = 300;
	t0 = now_ms();
	e = out_send(&open_env, &rq, -1, 1000, &rs, why);
	ok(e == WH_OUT_CONNECT_TIMEOUT && now_ms() - t0 < 2000, "connect timeout: %s (%lld ms)", why,
	   (long long)(now_ms() - t0));
	rq.connect_timeout_ms = 0;
	t0 = now_ms();
	e = out_send(&open_env, &rq, wh_now_ns() + 300000000, 1000, &rs, why);
	ok(e == WH_OUT_CONNECT_TIMEOUT && now_ms() - t0 < 2000, "the deadline while connecting: %s (%lld ms)",
	   why, (long long)(now_ms() - t0));
	for (int i = 0; i < 3; i++)
		close(filler[i]);
	close(full);

	rq.authority = "nonexistent.invalid";
	e = out_send(&open_env, &rq, wh_now_ns() + 10000000000, 1000, &rs, why);
	ok(e == WH_OUT_DNS, "a name that does not resolve: %s", why);
}

struct worker {
	int id, good;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < 5; i++) {
		char body[64], why[SK_ERR_MESSAGE_MAX];
		struct wh_out_response rs = {0};
		int n = snprintf(body, sizeof(body), "worker %d request %d", w->id, i);
		struct wh_out_request rq = {.method = "POST",
		                            .scheme = "http",
		                            .authority = authority,
		                            .path_query = "/echo",
		                            .body = (const uint8_t *)body,
		                            .body_len = (size_t)n};
		if (out_send(&open_env, &rq, wh_now_ns() + 10000000000, 1024, &rs, why) == WH_OUT_OK &&
		    rs.body_len == (size_t)n && memcmp(rs.body, body, (size_t)n) == 0)
			w->good++;
		wh_out_response_free(&rs);
	}
	return NULL;
}

static void test_threads(void)
{
	pthread_t t[8];
	struct worker w[8];
	int good = 0;

	for (int i = 0; i < 8; i++) {
		w[i] = (struct worker){i, 0};
		pthread_create(&t[i], NULL, worker_main, &w[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		good += w[i].good;
	}
	is_int(good, 40, "8 threads x 5 requests at once all get their own body back");
}

/* --- HTTPS against openssl s_server ------------------------------------------------- */

/* Start argv[0] (searched in PATH) with stdin, stdout and stderr on
 * /dev/null; its pid or -1. */
static pid_t spawn(const char *const *argv)
{
	char *v[32];
	size_t n = 0;
	pid_t pid = -1;
	posix_spawn_file_actions_t fa;

	for (; argv[n] && n < 31; n++)
		v[n] = strdup(argv[n]);
	v[n] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, v[0], &fa, NULL, v, environ) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	return pid;
}

/* Run argv to its end: its exit status, or -1. */
static int run(const char *const *argv)
{
	pid_t pid = spawn(argv);
	int st;

	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_tls(void)
{
	char dir[] = "/tmp/test-outbound-XXXXXX", cert[128], key[128], accept_arg[64], auth[64], why[SK_ERR_MESSAGE_MAX];
	struct wh_out_response rs = {0};
	struct wh_out_request rq = {.method = "GET", .scheme = "https", .path_query = "/"};
	unsigned port;
	pid_t server = -1;
	enum wh_out_error e;
	int fd, r = -1;

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	const char *req[] = {"openssl",
	                     "req",
	                     "-x509",
	                     "-newkey",
	                     "ec",
	                     "-pkeyopt",
	                     "ec_paramgen_curve:prime256v1",
	                     "-nodes",
	                     "-keyout",
	                     key,
	                     "-out",
	                     cert,
	                     "-days",
	                     "2",
	                     "-subj",
	                     "/CN=localhost",
	                     "-addext",
	                     "subjectAltName=DNS:localhost",
	                     NULL};
	if (!ok(run(req) == 0, "openssl makes a self-signed certificate for localhost"))
		goto out;

	fd = bind_local(-1, &port); /* a free port for s_server */
	close(fd);
	snprintf(accept_arg, sizeof(accept_arg), "127.0.0.1:%u", port);
	const char *srv[] = {"openssl", "s_server", "-quiet", "-accept", accept_arg, "-cert",
	                     cert,      "-key",     key,      "-www",    NULL};
	server = spawn(srv);
	r = server > 0 ? 0 : -1;
	if (!ok(r == 0, "openssl s_server starts"))
		goto out;
	for (int i = 0; i < 100; i++) { /* wait until it listens */
		struct sockaddr_in a = {.sin_family = AF_INET,
		                        .sin_port = htons((uint16_t)port),
		                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		r = connect(c, (struct sockaddr *)&a, sizeof(a));
		close(c);
		if (r == 0)
			break;
		usleep(50000);
	}
	if (!ok(r == 0, "s_server listens on %s", accept_arg))
		goto out;

	snprintf(auth, sizeof(auth), "localhost:%u", port);
	rq.authority = auth;
	unsetenv("SPIN_OUTBOUND_CA_FILE");
	e = out_send(&open_env, &rq, wh_now_ns() + 10000000000, 1 << 20, &rs, why);
	ok(e == WH_OUT_TLS && strstr(why, "TLS certificate"), "a self-signed server fails verification: %s",
	   why);

	setenv("SPIN_OUTBOUND_CA_FILE", cert, 1);
	e = out_send(&open_env, &rq, wh_now_ns() + 10000000000, 1 << 20, &rs, why);
	if (!ok(e == WH_OUT_OK && rs.status == 200 && rs.body_len > 0,
	        "with SPIN_OUTBOUND_CA_FILE naming its certificate the request succeeds"))
		printf("#   %d %s\n", e, why);
	wh_out_response_free(&rs);

	snprintf(auth, sizeof(auth), "127.0.0.1:%u", port);
	e = out_send(&open_env, &rq, wh_now_ns() + 10000000000, 1 << 20, &rs, why);
	ok(e == WH_OUT_TLS, "a name the certificate does not cover fails: %s", why);

	rq.scheme = "http";
	snprintf(auth, sizeof(auth), "localhost:%u", port);
	e = out_send(&open_env, &rq, wh_now_ns() + 10000000000, 1 << 20, &rs, why);
	ok(e == WH_OUT_PROTOCOL || e == WH_OUT_TIMEOUT, "plain HTTP to a TLS port fails: %s", why);
	unsetenv("SPIN_OUTBOUND_CA_FILE");
out:
	if (server > 0) {
		kill(server, SIGTERM);
		waitpid(server, NULL, 0);
	}
	unlink(cert);
	unlink(key);
	rmdir(dir);
}

/* --- fermyon:spin/http ------------------------------------------------------------------ */

static const wasmtime_component_val_t *rec_field(const wasmtime_component_val_t *rec, const char *name)
{
	if (rec->kind != WASMTIME_COMPONENT_RECORD)
		return NULL;
	for (size_t i = 0; i < rec->of.record.size; i++)
		if (rec->of.record.data[i].name.size == strlen(name) &&
		    memcmp(rec->of.record.data[i].name.data, name, strlen(name)) == 0)
			return &rec->of.record.data[i].val;
	return NULL;
}

static void spin_request(wasmtime_component_val_t *v, const char *method, const char *uri, const char *hname,
                         const char *hvalue, const char *body)
{
	static const char *const names[] = {"method", "uri", "headers", "params", "body"};
	wasmtime_component_valrecord_entry_t *f = wh_val_record(v, names, 5);
	wasmtime_component_val_t *h;

	wh_val_enum(&f[0].val, method);
	wh_val_cstring(&f[1].val, uri);
	h = wh_val_list(&f[2].val, hname ? 1 : 0);
	if (hname) {
		wasmtime_component_val_t *t = wh_val_tuple(&h[0], 2);
		wh_val_cstring(&t[0], hname);
		wh_val_cstring(&t[1], hvalue);
	}
	wh_val_list(&f[3].val, 0);
	if (body) {
		wasmtime_component_val_t b;
		wh_val_bytes(&b, body, strlen(body));
		wh_val_option(&f[4].val, &b);
	} else {
		wh_val_option(&f[4].val, NULL);
	}
}

/* Call send-request; the error case name, "" for ok (then *out holds the
 * response record, which the caller deletes), or "trap". */
static const char *spin_call(struct wh_ctx *ctx, wasmtime_component_val_t *arg, wasmtime_component_val_t *out)
{
	static char name[64];
	const struct wh_func_def *fn = NULL;
	wasmtime_component_val_t res;
	wasmtime_error_t *err;

	for (size_t i = 0; i < wh_n_outbound_ifaces; i++)
		if (strcmp(wh_outbound_ifaces[i].name, "fermyon:spin/http") == 0)
			for (size_t j = 0; j < wh_outbound_ifaces[i].n_funcs; j++)
				if (strcmp(wh_outbound_ifaces[i].funcs[j].name, "send-request") == 0)
					fn = &wh_outbound_ifaces[i].funcs[j];
	if (!fn)
		return "missing";
	wh_val_bool(&res, false);
	err = fn->fn(ctx, NULL, arg, 1, &res, 1);
	wasmtime_component_val_delete(arg);
	if (err) {
		wasmtime_error_delete(err);
		return "trap";
	}
	if (res.kind != WASMTIME_COMPONENT_RESULT || !res.of.result.val) {
		wasmtime_component_val_delete(&res);
		return "bad result";
	}
	if (res.of.result.is_ok) {
		wasmtime_component_val_clone(res.of.result.val, out);
		wasmtime_component_val_delete(&res);
		return "";
	}
	snprintf(name, sizeof(name), "%.*s", (int)res.of.result.val->of.enumeration.size,
	         res.of.result.val->of.enumeration.data);
	wasmtime_component_val_delete(&res);
	return name;
}

static void test_spin_http(struct server *s)
{
	char uri[128], self_uri[] = "http://self";
	const char *self_list[] = {self_uri};
	struct wh_component_env env = open_env;
	struct wh_ctx ctx;
	wasmtime_component_val_t arg, resp;
	const wasmtime_component_val_t *f;
	const char *r;

	wh_ctx_init(&ctx, &env, 10000);
	snprintf(uri, sizeof(uri), "http://%s/echo?via=spin", authority);
	spin_request(&arg, "post", uri, "X-Spin", "v1", "spin body");
	r = spin_call(&ctx, &arg, &resp);
	if (ok(r[0] == '\0', "send-request: ok (%s)", r)) {
		f = rec_field(&resp, "status");
		ok(f && f->kind == WASMTIME_COMPONENT_U16 && f->of.u16 == 200, "status 200");
		f = rec_field(&resp, "body");
		ok(f && f->kind == WASMTIME_COMPONENT_OPTION && f->of.option &&
		       f->of.option->of.list.size == 9 && f->of.option->of.list.data[0].of.u8 == 's',
		   "body is some(the echo)");
		f = rec_field(&resp, "headers");
		bool found = false;
		if (f && f->kind == WASMTIME_COMPONENT_OPTION && f->of.option)
			for (size_t i = 0; i < f->of.option->of.list.size; i++) {
				const wasmtime_component_val_t *t = &f->of.option->of.list.data[i];
				if (t->of.tuple.data[0].of.string.size == 8 &&
				    memcmp(t->of.tuple.data[0].of.string.data, "x-method", 8) == 0 &&
				    t->of.tuple.data[1].of.string.size == 4 &&
				    memcmp(t->of.tuple.data[1].of.string.data, "POST", 4) == 0)
					found = true;
			}
		ok(found, "headers are some(list) with x-method: POST");
		wasmtime_component_val_delete(&resp);
	}
	ok(saw(s, "POST /echo?via=spin HTTP/1.1\r\n") && saw(s, "\r\nX-Spin: v1\r\n") && saw(s, "spin body"),
	   "the server got the v1 request");

	snprintf(uri, sizeof(uri), "http://%s/badutf8", authority);
	spin_request(&arg, "get", uri, NULL, NULL, NULL);
	is_str(spin_call(&ctx, &arg, &resp), "runtime-error", "a response header that is not UTF-8");

	spin_request(&arg, "get", "ftp://example.com/x", NULL, NULL, NULL);
	is_str(spin_call(&ctx, &arg, &resp), "invalid-url", "an ftp URI");
	spin_request(&arg, "get", "example.com/x", NULL, NULL, NULL);
	is_str(spin_call(&ctx, &arg, &resp), "invalid-url", "a URI without a scheme");
	spin_request(&arg, "get", "http:///x", NULL, NULL, NULL);
	is_str(spin_call(&ctx, &arg, &resp), "invalid-url", "a URI without a host");
	spin_request(&arg, "get", "/relative", NULL, NULL, NULL);
	is_str(spin_call(&ctx, &arg, &resp), "invalid-url",
	       "a self request where allowed (no origin to send it to)");
	env.allowed_outbound_hosts = self_list;
	snprintf(uri, sizeof(uri), "http://%s/echo", authority);
	spin_request(&arg, "get", uri, NULL, NULL, NULL);
	is_str(spin_call(&ctx, &arg, &resp), "destination-not-allowed", "a host not in the list");
	env.n_allowed_outbound_hosts = 0;
	spin_request(&arg, "get", "/relative", NULL, NULL, NULL);
	is_str(spin_call(&ctx, &arg, &resp), "destination-not-allowed", "a self request where not allowed");
	env = open_env;

	spin_request(&arg, "get", uri, "bad name", "x", NULL);
	is_str(spin_call(&ctx, &arg, &resp), "runtime-error", "a header name that is not a token");
	env.max_body = 4;
	spin_request(&arg, "post", uri, NULL, NULL, "longer than four");
	is_str(spin_call(&ctx, &arg, &resp), "runtime-error", "a request body past max_body");
	snprintf(uri, sizeof(uri), "http://%s/big?5", authority);
	spin_request(&arg, "get", uri, NULL, NULL, NULL);
	is_str(spin_call(&ctx, &arg, &resp), "runtime-error", "a response body past max_body");
	env = open_env;

	spin_request(&arg, "connect", uri, NULL, NULL, NULL);
	is_str(spin_call(&ctx, &arg, &resp), "trap", "a method outside the enum traps");
	wh_val_u32(&arg, 7);
	is_str(spin_call(&ctx, &arg, &resp), "trap", "an argument that is not a request record traps");

	wh_ctx_release(&ctx);
	wh_ctx_init(&ctx, &env, 200);
	snprintf(uri, sizeof(uri), "http://%s/hang", authority);
	spin_request(&arg, "get", uri, NULL, NULL, NULL);
	is_str(spin_call(&ctx, &arg, &resp), "runtime-error", "the request's deadline ends a v1 request");
	ok(ctx.timed_out, "and marks the request timed out");
	wh_ctx_release(&ctx);
}

static void test_define(void)
{
	wasm_engine_t *engine = wasm_engine_new();
	wasmtime_component_linker_t *l = engine ? wasmtime_component_linker_new(engine) : NULL;
	struct sk_error err = {0};

	ok(l && wh_define(l, wh_outbound_ifaces, wh_n_outbound_ifaces, &err) == 0,
	   "the interfaces define in a linker %s", err.message);
	if (l)
		wasmtime_component_linker_delete(l);
	if (engine)
		wasm_engine_delete(engine);
}

int main(void)
{
	struct server s;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	test_allow_table();
	test_self();
	test_validate();
	test_authority_split();
	test_error_cases();

	server_start(&s);
	snprintf(authority, sizeof(authority), "127.0.0.1:%u", s.port);
	test_requests(&s);
	test_limits(&s);
	test_denied(&s);
	test_connect_errors();
	test_threads();
	test_spin_http(&s);
	server_stop(&s);
	test_tls();
	test_define();
	is_int(atomic_load(&send_mismatches), 0,
	       "wh_outbound_send returns 0 exactly on WH_OUT_OK, else its kind's errno and a message");
	curl_global_cleanup();
	return tap_done();
}
