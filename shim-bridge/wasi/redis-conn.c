/* Redis URLs and a bounded connection pool (see redis-conn.h). */
#include "shim-bridge/wasi/redis-conn.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/hex.h"
#include "shim-bridge/wasi/redis-link.h"

/* --- URLs ---------------------------------------------------------------------------- */

void wh_redis_url_clear(struct wh_redis_url *u)
{
	if (!u)
		return;
	free(u->host);
	free(u->user);
	if (u->password)
		memset(u->password, 0, strlen(u->password));
	free(u->password);
	*u = (struct wh_redis_url){0};
}

/* s[0..n) percent-decoded into a new string, or NULL (*bad set when the
 * text holds a bad escape, a NUL or is over WH_REDIS_SECRET_MAX). */
static char *pct_decode(const char *s, size_t n, bool *bad)
{
	char *out = malloc(n + 1);
	size_t k = 0;

	*bad = false;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			int hi = i + 2 < n ? sk_hexval(s[i + 1]) : -1;
			int lo = i + 2 < n ? sk_hexval(s[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				*bad = true;
				break;
			}
			c = hi << 4 | lo;
			i += 2;
		}
		if (c == 0) {
			*bad = true;
			break;
		}
		out[k++] = (char)c;
	}
	if (*bad || k > WH_REDIS_SECRET_MAX) {
		*bad = true;
		free(out);
		return NULL;
	}
	out[k] = '\0';
	return out;
}

/* Characters a host name or IPv4 address may hold. */
static bool host_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.' || c == '_';
}

/* A decimal number in s[0..n) within [lo, hi], or -1. */
static long number(const char *s, size_t n, long lo, long hi)
{
	long v = 0;

	if (n == 0 || n > 9)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v < lo || v > hi ? -1 : v;
}

/* The URL as it may appear in a message: scheme and host part, and
 * nothing before the last '@' anywhere (a password holding '/' or '@'
 * unencoded must not show either). */
static void url_for_message(const char *url, char *out, size_t size)
{
	const char *rest = strstr(url, "://"), *at;
	size_t scheme;

	rest = rest ? rest + 3 : url;
	scheme = (size_t)(rest - url) > 16 ? 16 : (size_t)(rest - url);
	if ((at = strrchr(rest, '@')))
		(void)snprintf(out, size, "%.*s***@%.*s", (int)scheme, url,
		               (int)strcspn(at + 1, "/?#") > 300 ? 300 : (int)strcspn(at + 1, "/?#"), at + 1);
	else
		(void)snprintf(out, size, "%.*s%.*s", (int)scheme, url,
		               (int)strcspn(rest, "/?#") > 300 ? 300 : (int)strcspn(rest, "/?#"), rest);
}

int wh_redis_url_parse(const char *url, struct wh_redis_url *out, struct sk_error *err)
{
	_cleanup_(wh_redis_url_clear) struct wh_redis_url u = {0};
	const char *p, *auth_end, *host, *host_end, *end;
	char shown[400];
	size_t len = strnlen(url, WH_REDIS_URL_MAX + 1);
	bool bad = false;
	long v;

	if (len > WH_REDIS_URL_MAX)
		return sk_err(err, -EINVAL, "redis url is longer than %d bytes", WH_REDIS_URL_MAX);
	url_for_message(url, shown, sizeof(shown));
	if (strncmp(url, "rediss://", 9) == 0) {
		u.tls = true;
	} else if (strncmp(url, "redis://", 8) != 0) {
		/* quote the scheme only: what follows may hold a password */
		const char *sep = strstr(url, "://");
		int n = sep && sep - url <= 16 && !memchr(url, '@', (size_t)(sep - url))
		            ? (int)(sep - url) + 3
		            : 0;
		return sk_err(err, -EINVAL,
		              "redis url \"%.*s...\": must start with redis:// or rediss:// (TLS), as in "
		              "redis://127.0.0.1:6379",
		              n, url);
	}
	p = url + (u.tls ? 9 : 8);
	end = url + len;
	if (strpbrk(p, "?#"))
		return sk_err(err, -EINVAL, "redis url %s: a query or fragment is not supported: remove it",
		              shown);
	auth_end = NULL;
	for (const char *q = p; q < end && *q != '/'; q++)
		if (*q == '@')
			auth_end = q;
	if (auth_end) {
		const char *colon = memchr(p, ':', (size_t)(auth_end - p));
		if (colon) {
			if (colon > p && !(u.user = pct_decode(p, (size_t)(colon - p), &bad)) && !bad)
				return sk_err(err, -ENOMEM, "out of memory");
			if (!bad &&
			    !(u.password = pct_decode(colon + 1, (size_t)(auth_end - colon - 1), &bad)) &&
			    !bad)
				return sk_err(err, -ENOMEM, "out of memory");
		} else if (auth_end > p && !(u.user = pct_decode(p, (size_t)(auth_end - p), &bad)) && !bad) {
			return sk_err(err, -ENOMEM, "out of memory");
		}
		if (bad)
			return sk_err(
			    err, -EINVAL,
			    "redis url %s: the user or password has a bad %%-escape, a NUL or is longer "
			    "than %d bytes",
			    shown, WH_REDIS_SECRET_MAX);
		/* a user with no password means a password to Redis (AUTH pass) */
		if (u.user && !u.password) {
			u.password = u.user;
			u.user = NULL;
		}
		p = auth_end + 1;
	}
	if (*p == '[') {
		host = p + 1;
		if (!(host_end = memchr(host, ']', (size_t)(end - host))))
			return sk_err(err, -EINVAL, "redis url %s: an IPv6 address needs its closing ]",
			              shown);
		for (const char *q = host; q < host_end; q++)
			if (!(sk_hexval(*q) >= 0 || *q == ':' || *q == '.'))
				return sk_err(err, -EINVAL, "redis url %s: bad IPv6 address", shown);
		p = host_end + 1;
	} else {
		host = p;
		while (p < end && host_char((unsigned char)*p))
			p++;
		host_end = p;
	}
	if (host_end == host || host_end - host > WH_REDIS_HOST_MAX)
		return sk_err(err, -EINVAL, "redis url %s: the host is missing or longer than %d bytes",
		              shown, WH_REDIS_HOST_MAX);
	if (!(u.host = strndup(host, (size_t)(host_end - host))))
		return sk_err(err, -ENOMEM, "out of memory");
	u.port = 6379;
	if (*p == ':') {
		const char *port = ++p;
		while (p < end && *p != '/')
			p++;
		if ((v = number(port, (size_t)(p - port), 1, 65535)) < 0)
			return sk_err(err, -EINVAL, "redis url %s: the port must be a number from 1 to 65535",
			              shown);
		u.port = (int)v;
	}
	if (*p == '/' && p + 1 < end) {
		if ((v = number(p + 1, (size_t)(end - p - 1), 0, WH_REDIS_DB_MAX)) < 0)
			return sk_err(err, -EINVAL,
			              "redis url %s: the database after / must be a number from 0 to %d",
			              shown, WH_REDIS_DB_MAX);
		u.db = (int)v;
	} else if (*p != '\0' && !(*p == '/' && p + 1 == end)) {
		/* name the character only: what follows may be a password */
		return sk_err(err, -EINVAL,
		              "redis url %s: unexpected character 0x%02x after the host (a host is letters, "
		              "digits, '-', '.', '_' or [IPv6])",
		              shown, (unsigned char)*p);
	}
	*out = u;
	u = (struct wh_redis_url){0};
	return 0;
}

/* --- the pool ------------------------------------------------------------------------ */

struct wh_redis_pool {
	struct wh_redis_url url;
	char *what;
	struct wh_redis_tls *tls; /* rediss:// only */
	pthread_mutex_t mu;
	pthread_cond_t freed;
	struct wh_redis_link *idle[WH_REDIS_POOL_MAX]; /* connected, not in use */
	size_t n_idle;
	size_t n_out; /* connections handed out (or being made) */
};

void wh_redis_pool_free(struct wh_redis_pool *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_idle; i++)
		wh_redis_link_free(p->idle[i]);
	wh_redis_tls_free(p->tls);
	pthread_cond_destroy(&p->freed);
	pthread_mutex_destroy(&p->mu);
	wh_redis_url_clear(&p->url);
	free(p->what);
	free(p);
}

int wh_redis_pool_new(const struct wh_redis_url *u, const char *what, const char *ca_file, struct wh_redis_pool **out,
                      struct sk_error *err)
{
	struct wh_redis_pool *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return sk_err(err, -ENOMEM, "out of memory");
	if (pthread_mutex_init(&p->mu, NULL) != 0) {
		free(p);
		return sk_err(err, -ENOMEM, "out of memory");
	}
	if (pthread_cond_init(&p->freed, NULL) != 0) {
		pthread_mutex_destroy(&p->mu);
		free(p);
		return sk_err(err, -ENOMEM, "out of memory");
	}
	p->url.port = u->port;
	p->url.db = u->db;
	p->url.tls = u->tls;
	if (!(p->what = strdup(what)) || !(p->url.host = strdup(u->host)) ||
	    (u->user && !(p->url.user = strdup(u->user))) ||
	    (u->password && !(p->url.password = strdup(u->password)))) {
		wh_redis_pool_free(p);
		return sk_err(err, -ENOMEM, "out of memory");
	}
	if (u->tls && (r = wh_redis_tls_new(ca_file, &p->tls, err)) < 0) {
		sk_err_prefix(err, "%s", what);
		wh_redis_pool_free(p);
		return r;
	}
	*out = p;
	return 0;
}

/* One command on l, checking that its reply is not an error: for AUTH and
 * SELECT at connect. */
static int setup_command(struct wh_redis_pool *p, struct wh_redis_link *l, int argc, const char **argv,
                         const size_t *len, struct sk_error *err)
{
	redisReply *reply = NULL;
	int r;

	if ((r = wh_redis_link_append(l, argc, argv, len, err)) < 0 ||
	    (r = wh_redis_link_reply(l, &reply, err)) < 0)
		return r;
	if (reply->type == REDIS_REPLY_ERROR)
		r = sk_err(err,
		           strncmp(reply->str, "WRONGPASS", 9) == 0 || strncmp(reply->str, "NOAUTH", 6) == 0
		               ? -EACCES
		               : -EIO,
		           "%s: %s: %.200s", p->what, argv[0], reply->str);
	freeReplyObject(reply);
	return r;
}

/* A new connection, authenticated and on the URL's database. */
static int connect_one(struct wh_redis_pool *p, struct wh_redis_link **out, struct sk_error *err)
{
	struct wh_redis_link *l = NULL;
	char db[16];
	int r;

	if ((r = wh_redis_link_open(p->url.host, p->url.port, p->tls, WH_REDIS_CONNECT_TIMEOUT_MS,
	                            WH_REDIS_COMMAND_TIMEOUT_MS, p->what, &l, err)) < 0)
		return r;
	if (p->url.password) {
		const char *argv[3] = {"AUTH", p->url.user ? p->url.user : p->url.password, p->url.password};
		size_t len[3] = {4, strlen(argv[1]), strlen(argv[2])};
		if ((r = setup_command(p, l, p->url.user ? 3 : 2, argv, len, err)) < 0) {
			wh_redis_link_free(l);
			return r;
		}
	}
	if (p->url.db) {
		const char *argv[2] = {"SELECT", db};
		size_t len[2] = {6, (size_t)snprintf(db, sizeof(db), "%d", p->url.db)};
		if ((r = setup_command(p, l, 2, argv, len, err)) < 0) {
			wh_redis_link_free(l);
			return r;
		}
	}
	*out = l;
	return 0;
}

/* A connection from the pool: an idle one (*reused true) or a new one,
 * waiting at most WH_REDIS_WAIT_MS when all are in use. */
static int acquire(struct wh_redis_pool *p, struct wh_redis_link **out, bool *reused, struct sk_error *err)
{
	struct timespec deadline;
	int r;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += WH_REDIS_WAIT_MS / 1000;
	pthread_mutex_lock(&p->mu);
	while (p->n_idle == 0 && p->n_out >= WH_REDIS_POOL_MAX)
		if (pthread_cond_timedwait(&p->freed, &p->mu, &deadline) == ETIMEDOUT) {
			pthread_mutex_unlock(&p->mu);
			return sk_err(err, -ETIMEDOUT, "%s: all %d connections stayed busy for %d ms",
			              p->what, WH_REDIS_POOL_MAX, WH_REDIS_WAIT_MS);
		}
	p->n_out++;
	if (p->n_idle) {
		*out = p->idle[--p->n_idle];
		*reused = true;
		pthread_mutex_unlock(&p->mu);
		return 0;
	}
	pthread_mutex_unlock(&p->mu);
	*reused = false;
	if ((r = connect_one(p, out, err)) < 0) {
		pthread_mutex_lock(&p->mu);
		p->n_out--;
		pthread_cond_signal(&p->freed);
		pthread_mutex_unlock(&p->mu);
	}
	return r;
}

/* Give l back (NULL: it failed and was freed). */
static void release(struct wh_redis_pool *p, struct wh_redis_link *l)
{
	pthread_mutex_lock(&p->mu);
	p->n_out--;
	if (l)
		p->idle[p->n_idle++] = l;
	pthread_cond_signal(&p->freed);
	pthread_mutex_unlock(&p->mu);
}

/* The pipeline on l; on failure every reply is freed and l is broken. */
static int run(struct wh_redis_link *l, size_t n, const int *argc, const char **const *argv,
               const size_t *const *argvlen, redisReply **replies, struct sk_error *err)
{
	size_t got = 0;
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i++)
		r = wh_redis_link_append(l, argc[i], argv[i], argvlen[i], err);
	for (; r == 0 && got < n; got++)
		r = wh_redis_link_reply(l, &replies[got], err);
	if (r == 0)
		return 0;
	while (got > 0)
		freeReplyObject(replies[--got]);
	return r;
}

/* Close every idle connection: after one failed, the others were most
 * likely cut by the same server restart, and a retry must not take one. */
static void drop_idle(struct wh_redis_pool *p)
{
	pthread_mutex_lock(&p->mu);
	while (p->n_idle)
		wh_redis_link_free(p->idle[--p->n_idle]);
	pthread_mutex_unlock(&p->mu);
}

int wh_redis_pipeline(struct wh_redis_pool *p, size_t n, const int *argc, const char **const *argv,
                      const size_t *const *argvlen, struct redisReply **replies, struct sk_error *err)
{
	struct wh_redis_link *l = NULL;
	bool reused = false;
	int r;

	for (int attempt = 0; attempt < 2; attempt++) {
		if ((r = acquire(p, &l, &reused, err)) < 0)
			return r;
		if ((r = run(l, n, argc, argv, argvlen, replies, err)) == 0) {
			release(p, l);
			return 0;
		}
		wh_redis_link_free(l);
		release(p, NULL);
		/* an idle connection may have been closed by the server meanwhile */
		if (!reused || r == -ETIMEDOUT || r == -E2BIG)
			break;
		drop_idle(p);
	}
	return r;
}
int wh_redis_command(struct wh_redis_pool *p, int argc, const char **argv, const size_t *argvlen,
                     struct redisReply **reply, struct sk_error *err)
{
	return wh_redis_pipeline(p, 1, &argc, &argv, &argvlen, reply, err);
}
