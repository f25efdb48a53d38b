/* The metrics and health server on the controller's loop (see server.h):
 * listeners, connections (plain or TLS, non-blocking), one request each
 * parsed by common/http-parser.c, the routes, and the token reviews. */
#include "controller/metrics/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/http-parser.h"
#include "common/json.h"
#include "common/sha256.h"
#include "controller/metrics/review-cache.h"

enum listener_kind { L_METRICS, L_HEALTH };

struct listener {
	struct metrics_server *s;
	enum listener_kind kind;
	int fd;
	char addr[80];
};

enum conn_state { C_HANDSHAKE, C_READ, C_REVIEW, C_WRITE };

struct conn {
	struct metrics_server *s;
	struct listener *l;
	int fd;
	SSL *ssl;
	enum conn_state st;
	struct http_parser p;
	struct sk_buf out;
	size_t out_off;
	int64_t deadline_ms;
	int64_t review_id;   /* the TokenReview or SubjectAccessReview in flight, 0 none */
	uint8_t token_key[32];
	bool head_only;      /* HEAD: the headers without the body */
	bool in_start;       /* inside kube_client_do: a failure is answered by the caller */
	bool start_failed;
	struct conn *prev, *next;
};

struct metrics_server {
	struct kube_client *c;
	struct metrics_server_opts o;
	struct listener metrics, health;
	SSL_CTX *tls;
	struct conn *conns;
	size_t nconns;
	int64_t sweep_timer;
	struct review_cache cache;
};

/* --- addresses ----------------------------------------------------------------------- */

int metrics_bind_parse(const char *flag, const char *addr, char *host, size_t hsize, int *port,
		       struct sk_error *err)
{
	const char *colon, *h = addr;
	size_t hl;
	char *end = NULL;
	long p;

	if (strcmp(addr, "0") == 0)
		return 1;
	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');
		if (!close || close[1] != ':')
			goto bad;
		h = addr + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon || memchr(addr, ':', (size_t)(colon - addr)))
			goto bad;
		hl = (size_t)(colon - addr);
	}
	if (hl >= hsize)
		goto bad;
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (!colon[1] || errno || *end || p < 0 || p > 65535)
		goto bad;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (int)p;
	return 0;
bad:
	return sk_err(err, -EINVAL, "%s '%s': give host:port such as :8080, 127.0.0.1:8080 or [::1]:8080, or 0 to turn it off",
		      flag, addr);
}

/* A non-blocking listening socket on host:port (host empty: every IPv6 and
 * IPv4 address, else what it resolves to first). */
static int listen_on(const char *flag, const char *addr, struct listener *l, struct sk_error *err)
{
	char host[256], port_s[8], shown[64];
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int port, r, one = 1, zero = 0;
	_cleanup_close_ int fd = -1;

	if ((r = metrics_bind_parse(flag, addr, host, sizeof(host), &port, err)) != 0)
		return r < 0 ? r : 0;
	snprintf(port_s, sizeof(port_s), "%d", port);
	if (!host[0])
		hints.ai_family = AF_INET6;
	r = getaddrinfo(host[0] ? host : NULL, port_s, &hints, &ai);
	if (r != 0 && !host[0]) {
		hints.ai_family = AF_INET; /* no IPv6 here */
		r = getaddrinfo(NULL, port_s, &hints, &ai);
	}
	if (r != 0)
		return sk_err(err, -EADDRNOTAVAIL, "%s %s: %s", flag, addr, gai_strerror(r));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6 && !host[0])
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	}
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0) {
		r = -errno;
		freeaddrinfo(ai);
		return sk_err(err, r, "%s %s: cannot listen: %s", flag, addr, strerror(-r));
	}
	freeaddrinfo(ai);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &a->sin6_addr, shown, sizeof(shown));
			snprintf(l->addr, sizeof(l->addr), "[%s]:%u", shown, ntohs(a->sin6_port));
		} else {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &a->sin_addr, shown, sizeof(shown));
			snprintf(l->addr, sizeof(l->addr), "%s:%u", shown, ntohs(a->sin_port));
		}
	}
	l->fd = TAKE_FD(fd);
	return 0;
}

/* --- connections --------------------------------------------------------------------- */

static void on_listener(int fd, short revents, void *ud);
static void on_conn(int fd, short revents, void *ud);

/* Poll the listeners while there is room for a connection. */
static void watch_listeners(struct metrics_server *s)
{
	short ev = s->nconns < METRICS_MAX_CONNS ? POLLIN : 0;

	if (s->metrics.fd >= 0)
		kube_client_watch_fd(s->c, s->metrics.fd, ev, on_listener, &s->metrics);
	if (s->health.fd >= 0)
		kube_client_watch_fd(s->c, s->health.fd, ev, on_listener, &s->health);
}

static void conn_close(struct conn *k)
{
	struct metrics_server *s = k->s;

	if (k->review_id)
		kube_client_cancel(s->c, k->review_id);
	kube_client_unwatch_fd(s->c, k->fd);
	if (k->ssl) {
		if (k->st == C_WRITE)
			(void)SSL_shutdown(k->ssl); /* best effort: one try, no wait */
		SSL_free(k->ssl);
		ERR_clear_error();
	}
	close(k->fd);
	http_parser_free(&k->p);
	sk_buf_free(&k->out);
	if (k->prev)
		k->prev->next = k->next;
	else
		s->conns = k->next;
	if (k->next)
		k->next->prev = k->prev;
	s->nconns--;
	free(k);
	watch_listeners(s);
}

/* Close connections past their deadline; again in a second while any is open. */
static void sweep(void *ud)
{
	struct metrics_server *s = ud;
	int64_t now = kube_now_ms();

	s->sweep_timer = 0;
	for (struct conn *k = s->conns, *next; k; k = next) {
		next = k->next;
		if (now >= k->deadline_ms)
			conn_close(k);
	}
	if (s->nconns) {
		int64_t id = kube_client_timer(s->c, 1000, sweep, s);
		s->sweep_timer = id > 0 ? id : 0;
	}
}

static void on_listener(int fd, short revents, void *ud)
{
	struct listener *l = ud;
	struct metrics_server *s = l->s;
	/* a GET has no body; 1 KiB of one is read and ignored */
	struct http_limits lim = { .max_head = METRICS_MAX_HEAD, .max_headers = 64, .max_body = 1024 };

	(void)revents;
	while (s->nconns < METRICS_MAX_CONNS) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0)
			break; /* EAGAIN, or a connection that went away: poll again */
		struct conn *k = calloc(1, sizeof(*k));
		if (!k) {
			close(cfd);
			break;
		}
		k->s = s;
		k->l = l;
		k->fd = cfd;
		k->deadline_ms = kube_now_ms() + METRICS_CONN_TIMEOUT_MS;
		k->out = sk_buf_make(METRICS_PAGE_MAX + 1024);
		http_parser_init(&k->p, &lim);
		k->st = C_READ;
		if (l->kind == L_METRICS && s->tls) {
			k->ssl = SSL_new(s->tls);
			if (!k->ssl || SSL_set_fd(k->ssl, cfd) != 1) {
				SSL_free(k->ssl);
				http_parser_free(&k->p);
				close(cfd);
				free(k);
				ERR_clear_error();
				break;
			}
			k->st = C_HANDSHAKE;
		}
		k->next = s->conns;
		if (s->conns)
			s->conns->prev = k;
		s->conns = k;
		s->nconns++;
		if (kube_client_watch_fd(s->c, cfd, POLLIN, on_conn, k) < 0) {
			conn_close(k);
			break;
		}
		if (!s->sweep_timer) {
			int64_t id = kube_client_timer(s->c, 1000, sweep, s);
			s->sweep_timer = id > 0 ? id : 0;
		}
	}
	watch_listeners(s);
}

/* --- responses ----------------------------------------------------------------------- */

static const char *reason_of(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Content Too Large";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

static void conn_write(struct conn *k);

/* Queue the response and start writing it; the connection closes after. */
static void respond(struct conn *k, int status, const char *type, const char *body, size_t len)
{
	char head[512];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n",
			 status, reason_of(status), type, len, status == 401 ? "WWW-Authenticate: Bearer\r\n" : "");

	sk_buf_reset(&k->out);
	k->out_off = 0;
	if (sk_buf_append(&k->out, head, (size_t)n) < 0 ||
	    (!k->head_only && len && sk_buf_append(&k->out, body, len) < 0)) {
		conn_close(k);
		return;
	}
	k->st = C_WRITE;
	conn_write(k);
}

static void respond_text(struct conn *k, int status, const char *text)
{
	respond(k, status, "text/plain; charset=utf-8", text, strlen(text));
}

static void serve_metrics(struct conn *k)
{
	struct metrics_server *s = k->s;
	struct sk_buf page = sk_buf_make(METRICS_PAGE_MAX);

	if (s->o.collect)
		s->o.collect(s->o.ud, s->o.metrics);
	if (ctrl_metrics_render(s->o.metrics, ctrl_metrics_now_ns(), &page) < 0) {
		sk_buf_free(&page);
		respond_text(k, 500, "the metrics page does not fit\n");
		return;
	}
	respond(k, 200, EXPO_CONTENT_TYPE, page.data ? page.data : "", page.len);
	sk_buf_free(&page);
}

/* Answer a metrics request with the review's outcome. */
static void review_outcome(struct conn *k, int status)
{
	if (status == 200)
		serve_metrics(k);
	else if (status == 401)
		respond_text(k, 401, "Unauthorized\n");
	else
		respond_text(k, 403, "Forbidden: the user may not get /metrics\n");
}

/* --- reviews ------------------------------------------------------------------------- */

/* Start a review request for k; done answers it. Returns 0 or negative
 * (nothing answered yet) when it could not start. */
static int start_review(struct conn *k, const char *path, json_object *o, kube_done_fn done)
{
	const char *body = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	struct kube_request req = { .method = "POST", .path = path, .body = body, .body_len = strlen(body) };

	/* kube_client_do calls done at once when the request cannot start */
	k->in_start = true;
	k->start_failed = false;
	int64_t id = kube_client_do(k->s->c, &req, done, k);
	k->in_start = false;
	if (id < 0 || k->start_failed)
		return id < 0 ? (int)id : -EIO;
	k->review_id = id;
	k->st = C_REVIEW;
	kube_client_watch_fd(k->s->c, k->fd, 0, on_conn, k);
	return 0;
}

/* The common start of both done callbacks: false when the caller answers. */
static bool review_returned(struct conn *k, int rc)
{
	k->review_id = 0;
	if (k->in_start) {
		k->start_failed = rc < 0;
		return false;
	}
	return true;
}

static void sar_done(int rc, struct kube_response *r, const struct sk_error *err, void *ud)
{
	struct conn *k = ud;

	if (!review_returned(k, rc))
		return;
	if (rc < 0 || !r->json) {
		respond_text(k, 500, "cannot review the token's access (SubjectAccessReview failed)\n");
		(void)err;
		return;
	}
	int status = sk_json_bool(r->json, "status.allowed", false) ? 200 : 403;
	review_cache_put(&k->s->cache, k->token_key, status, kube_now_ms());
	review_outcome(k, status);
}

/* The SubjectAccessReview of the user a TokenReview named. */
static int start_sar(struct conn *k, json_object *user)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	json_object *spec = json_object_new_object(), *nr = json_object_new_object(), *v;

	if (!o || !spec || !nr) {
		json_object_put(spec);
		json_object_put(nr);
		return -ENOMEM;
	}
	json_object_object_add(o, "apiVersion", json_object_new_string("authorization.k8s.io/v1"));
	json_object_object_add(o, "kind", json_object_new_string("SubjectAccessReview"));
	json_object_object_add(o, "spec", spec);
	if (json_object_object_get_ex(user, "username", &v))
		json_object_object_add(spec, "user", json_object_get(v));
	if (json_object_object_get_ex(user, "uid", &v))
		json_object_object_add(spec, "uid", json_object_get(v));
	if (json_object_object_get_ex(user, "groups", &v))
		json_object_object_add(spec, "groups", json_object_get(v));
	if (json_object_object_get_ex(user, "extra", &v))
		json_object_object_add(spec, "extra", json_object_get(v));
	json_object_object_add(nr, "path", json_object_new_string("/metrics"));
	json_object_object_add(nr, "verb", json_object_new_string("get"));
	json_object_object_add(spec, "nonResourceAttributes", nr);
	return start_review(k, "/apis/authorization.k8s.io/v1/subjectaccessreviews", o, sar_done);
}

static void tr_done(int rc, struct kube_response *r, const struct sk_error *err, void *ud)
{
	struct conn *k = ud;
	json_object *user;

	(void)err;
	if (!review_returned(k, rc))
		return;
	if (rc < 0 || !r->json) {
		respond_text(k, 500, "cannot review the token (TokenReview failed)\n");
		return;
	}
	if (!sk_json_bool(r->json, "status.authenticated", false) || !(user = sk_json_obj(r->json, "status.user"))) {
		review_cache_put(&k->s->cache, k->token_key, 401, kube_now_ms());
		review_outcome(k, 401);
		return;
	}
	if (start_sar(k, user) < 0)
		respond_text(k, 500, "cannot review the token's access\n");
}

/* The bearer token of the request, or NULL. */
static const char *bearer_token(const struct http_parsed *h, size_t *len)
{
	const struct http_header *a = http_header_find(h->headers, h->n_headers, "Authorization");

	if (!a || a->value_len < 8 || strncasecmp(a->value, "Bearer ", 7) != 0)
		return NULL;
	const char *t = a->value + 7;
	while (*t == ' ')
		t++;
	*len = strlen(t);
	return *len ? t : NULL;
}

static void authorize_and_serve(struct conn *k)
{
	struct metrics_server *s = k->s;
	size_t tlen = 0;
	const char *token = bearer_token(&k->p.parsed, &tlen);
	_cleanup_json_ json_object *o = NULL;
	json_object *spec;
	int cached;

	if (!token) {
		review_outcome(k, 401);
		return;
	}
	{
		struct sk_sha256 h;
		if (sk_sha256_init(&h) < 0) {
			respond_text(k, 500, "out of memory\n");
			return;
		}
		sk_sha256_update(&h, token, tlen);
		if (sk_sha256_final(&h, k->token_key) < 0) {
			respond_text(k, 500, "cannot digest the token\n");
			return;
		}
	}
	if ((cached = review_cache_get(&s->cache, k->token_key, kube_now_ms()))) {
		review_outcome(k, cached);
		return;
	}
	o = json_object_new_object();
	spec = json_object_new_object();
	if (!o || !spec) {
		json_object_put(spec);
		respond_text(k, 500, "out of memory\n");
		return;
	}
	json_object_object_add(o, "apiVersion", json_object_new_string("authentication.k8s.io/v1"));
	json_object_object_add(o, "kind", json_object_new_string("TokenReview"));
	json_object_object_add(o, "spec", spec);
	json_object_object_add(spec, "token", json_object_new_string_len(token, (int)tlen));
	if (start_review(k, "/apis/authentication.k8s.io/v1/tokenreviews", o, tr_done) < 0)
		respond_text(k, 500, "cannot review the token\n");
}

/* --- routes -------------------------------------------------------------------------- */

static bool path_is(const char *path, const char *a, const char *b)
{
	return strcmp(path, a) == 0 || (b && strcmp(path, b) == 0);
}

static void route(struct conn *k)
{
	struct metrics_server *s = k->s;
	const struct http_parsed *h = &k->p.parsed;

	k->head_only = strcmp(h->method, "HEAD") == 0;
	if (strcmp(h->method, "GET") != 0 && !k->head_only) {
		respond_text(k, 405, "use GET\n");
		return;
	}
	if (k->l->kind == L_HEALTH) {
		if (path_is(h->path, "/healthz", "/healthz/ping")) {
			bool ok = !s->o.healthy || s->o.healthy(s->o.ud);
			respond_text(k, ok ? 200 : 500, ok ? "ok" : "not healthy: the lease was lost\n");
		} else if (path_is(h->path, "/readyz", "/readyz/ping")) {
			bool ok = !s->o.ready || s->o.ready(s->o.ud);
			respond_text(k, ok ? 200 : 503, ok ? "ok" : "not ready: the informers have not synced\n");
		} else {
			respond_text(k, 404, "404 page not found\n");
		}
		return;
	}
	if (strcmp(h->path, "/metrics") != 0) {
		respond_text(k, 404, "404 page not found\n");
		return;
	}
	if (s->o.secure)
		authorize_and_serve(k);
	else
		serve_metrics(k);
}

/* --- I/O ----------------------------------------------------------------------------- */

/* TLS wants to read or write before it can go on: poll for that. */
static void want(struct conn *k, int ssl_err)
{
	kube_client_watch_fd(k->s->c, k->fd, ssl_err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, on_conn, k);
}

static void conn_write(struct conn *k)
{
	while (k->out_off < k->out.len) {
		size_t left = k->out.len - k->out_off;
		ssize_t n;
		if (k->ssl) {
			int w = SSL_write(k->ssl, k->out.data + k->out_off, left > INT32_MAX ? INT32_MAX : (int)left);
			if (w <= 0) {
				int e = SSL_get_error(k->ssl, w);
				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
					want(k, e);
					return;
				}
				conn_close(k);
				return;
			}
			n = w;
		} else {
			n = send(k->fd, k->out.data + k->out_off, left, MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR) {
					kube_client_watch_fd(k->s->c, k->fd, POLLOUT, on_conn, k);
					return;
				}
				conn_close(k);
				return;
			}
		}
		k->out_off += (size_t)n;
	}
	conn_close(k);
}

/* Read what is there and feed the parser; route a complete request. */
static void conn_read(struct conn *k)
{
	char buf[4096];

	for (;;) {
		ssize_t n;
		if (k->ssl) {
			int r = SSL_read(k->ssl, buf, sizeof(buf));
			if (r <= 0) {
				int e = SSL_get_error(k->ssl, r);
				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
					want(k, e);
					return;
				}
				conn_close(k);
				return;
			}
			n = r;
		} else {
			n = recv(k->fd, buf, sizeof(buf), 0);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			if (n <= 0) {
				conn_close(k);
				return;
			}
		}
		size_t used = 0;
		enum http_parse_event ev = http_parser_feed(&k->p, buf, (size_t)n, &used);
		if (ev == HTTP_PARSE_HEAD)
			ev = http_parser_feed(&k->p, buf + used, (size_t)n - used, &used);
		if (ev == HTTP_PARSE_ERROR) {
			respond_text(k, k->p.status ? k->p.status : 400, k->p.reason ? k->p.reason : "bad request");
			return;
		}
		if (ev == HTTP_PARSE_DONE) {
			route(k);
			return;
		}
	}
}

static void on_conn(int fd, short revents, void *ud)
{
	struct conn *k = ud;

	(void)fd;
	(void)revents;
	if (k->st == C_HANDSHAKE) {
		int r = SSL_accept(k->ssl);
		if (r != 1) {
			int e = SSL_get_error(k->ssl, r);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				want(k, e);
			else
				conn_close(k);
			return;
		}
		k->st = C_READ;
		kube_client_watch_fd(k->s->c, k->fd, POLLIN, on_conn, k);
	}
	if (k->st == C_READ)
		conn_read(k);
	else if (k->st == C_WRITE)
		conn_write(k);
}

/* --- the server ---------------------------------------------------------------------- */

int metrics_server_new(struct kube_client *c, const struct metrics_server_opts *o, struct metrics_server **out,
		       struct sk_error *err)
{
	struct metrics_server *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return sk_err(err, -ENOMEM, "out of memory");
	s->c = c;
	s->o = *o;
	s->metrics = (struct listener){ .s = s, .kind = L_METRICS, .fd = -1 };
	s->health = (struct listener){ .s = s, .kind = L_HEALTH, .fd = -1 };
	if (o->metrics_addr && strcmp(o->metrics_addr, "0") != 0) {
		if (o->secure && (r = metrics_tls_context(o->cert_dir, &s->tls, err)) < 0)
			goto fail;
		if ((r = listen_on("--metrics-bind-address", o->metrics_addr, &s->metrics, err)) < 0)
			goto fail;
	}
	if (o->health_addr && strcmp(o->health_addr, "0") != 0 &&
	    (r = listen_on("--health-probe-bind-address", o->health_addr, &s->health, err)) < 0)
		goto fail;
	watch_listeners(s);
	*out = s;
	return 0;
fail:
	metrics_server_free(s);
	return r;
}

void metrics_server_free(struct metrics_server *s)
{
	if (!s)
		return;
	while (s->conns)
		conn_close(s->conns);
	if (s->sweep_timer)
		kube_client_timer_cancel(s->c, s->sweep_timer);
	if (s->metrics.fd >= 0) {
		kube_client_unwatch_fd(s->c, s->metrics.fd);
		close(s->metrics.fd);
	}
	if (s->health.fd >= 0) {
		kube_client_unwatch_fd(s->c, s->health.fd);
		close(s->health.fd);
	}
	SSL_CTX_free(s->tls);
	free(s);
}

void metrics_server_addr(const struct metrics_server *s, bool health, char *out, size_t size)
{
	const struct listener *l = health ? &s->health : &s->metrics;

	snprintf(out, size, "%s", l->fd >= 0 ? l->addr : "");
}
