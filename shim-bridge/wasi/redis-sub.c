/* A Redis pub/sub subscription behind a gate on bulk sizes (see redis-sub.h). */
#include "shim-bridge/wasi/redis-sub.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "shim-bridge/wasi/redis-link.h"

/* Arrays a subscribed connection is sent have 2 or 3 elements: anything
 * much larger is not Redis speaking pub/sub. */
#define GATE_ARRAY_MAX 64
#define READ_CHUNK     16384
/* Once subscribed, a read waits this long at most before the subscriber
 * polls its socket and stop_fd again: over TLS, a readable socket may hold
 * only a record that is no message (a session ticket). */
#define SUB_READ_WAIT_MS 200

enum { G_LINE, G_PASS, G_DROP };

/* The number after the type byte of a complete line "Xnnn\r\n", or -EPROTO. */
static int line_number(const char *line, size_t n, long long *out)
{
	char *end;
	char num[32];

	if (n < 4 || line[n - 2] != '\r' || n - 3 >= sizeof(num))
		return -EPROTO;
	memcpy(num, line + 1, n - 3);
	num[n - 3] = '\0';
	errno = 0;
	*out = strtoll(num, &end, 10);
	if (errno || end == num || *end || *out < -1)
		return -EPROTO;
	return 0;
}

int wh_redis_gate_feed(struct wh_redis_gate *g, const char *in, size_t n, char *out, size_t *out_n)
{
	size_t o = 0;
	long long v;

	for (size_t i = 0; i < n;) {
		if (g->state != G_LINE) {
			size_t k = (uint64_t)(n - i) < g->left ? n - i : (size_t)g->left;
			if (g->state == G_PASS)
				memcpy(out + o, in + i, k), o += k;
			i += k;
			g->left -= k;
			if (!g->left)
				g->state = G_LINE;
			continue;
		}
		if (g->n_line == sizeof(g->line))
			return -EPROTO;
		g->line[g->n_line++] = in[i++];
		if (g->line[g->n_line - 1] != '\n')
			continue;
		if (g->line[0] == '$' || g->line[0] == '*') {
			if (line_number(g->line, g->n_line, &v) < 0 || (g->line[0] == '*' && v > GATE_ARRAY_MAX))
				return -EPROTO;
			if (g->line[0] == '$' && v >= 0 && (uint64_t)v > g->cap) {
				memcpy(out + o, "$-1\r\n", 5), o += 5;
				g->state = G_DROP;
				g->left = (uint64_t)v + 2;
				g->refused++;
				g->last_refused = (uint64_t)v;
				g->n_line = 0;
				continue;
			}
			if (g->line[0] == '$' && v >= 0) {
				g->state = G_PASS;
				g->left = (uint64_t)v + 2;
			}
		}
		memcpy(out + o, g->line, g->n_line), o += g->n_line;
		g->n_line = 0;
	}
	*out_n = o;
	return 0;
}

struct wh_redis_sub {
	struct wh_redis_link *l;
	redisReader *rd;
	struct wh_redis_gate gate;
	char *what;
	char in[READ_CHUNK];
	char out[READ_CHUNK + WH_REDIS_GATE_LINE_MAX + 8];
};

void wh_redis_msg_clear(struct wh_redis_msg *m)
{
	if (!m)
		return;
	free(m->channel);
	free(m->payload);
	*m = (struct wh_redis_msg){ 0 };
}

void wh_redis_sub_free(struct wh_redis_sub *s)
{
	if (!s)
		return;
	wh_redis_link_free(s->l);
	if (s->rd)
		redisReaderFree(s->rd);
	free(s->what);
	free(s);
}

/* The next reply (1, *out new: freeReplyObject), 0 when stop_fd became
 * readable, or an error; timeout_ms -1 waits for ever. */
static int next_reply(struct wh_redis_sub *s, int stop_fd, int timeout_ms, redisReply **out, struct sk_error *err)
{
	int fd = wh_redis_link_fd(s->l);

	for (;;) {
		void *rep = NULL;
		struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = stop_fd, .events = POLLIN } };
		size_t gn;
		ssize_t k;
		int pr;

		if (redisReaderGetReply(s->rd, &rep) != REDIS_OK)
			return sk_err(err, -EPROTO, "%s: protocol error: %s", s->what, s->rd->errstr);
		if (rep) {
			*out = rep;
			return 1;
		}
		if (!wh_redis_link_pending(s->l)) {
			pr = poll(p, stop_fd >= 0 ? 2 : 1, timeout_ms);
			if (pr < 0 && errno == EINTR)
				continue;
			if (pr < 0)
				return sk_err(err, -errno, "%s: poll: %s", s->what, strerror(errno));
			if (pr == 0)
				return sk_err(err, -ETIMEDOUT, "%s: no reply within %d ms", s->what, timeout_ms);
			if (stop_fd >= 0 && (p[1].revents & POLLIN))
				return 0;
		}
		k = wh_redis_link_read(s->l, s->in, sizeof(s->in), err);
		if (k == -EAGAIN)
			continue;
		if (k < 0) {
			err->code = -ECONNRESET; /* the link's message says why */
			return -ECONNRESET;
		}
		if (wh_redis_gate_feed(&s->gate, s->in, (size_t)k, s->out, &gn) < 0)
			return sk_err(err, -EPROTO, "%s: the server sent something that is not a pub/sub reply", s->what);
		if (gn && redisReaderFeed(s->rd, s->out, gn) != REDIS_OK)
			return sk_err(err, -ENOMEM, "out of memory");
	}
}

static bool is_str(const redisReply *r, const char *s)
{
	return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) && r->len == strlen(s) &&
	       strncasecmp(r->str, s, r->len) == 0;
}

/* AUTH through the link's own reply reader (nothing else is on the wire yet). */
static int auth(struct wh_redis_sub *s, const struct wh_redis_url *u, struct sk_error *err)
{
	const char *argv[3] = { "AUTH", u->user ? u->user : u->password, u->password };
	size_t len[3] = { 4, strlen(argv[1]), strlen(argv[2]) };
	redisReply *rep = NULL;
	int r = wh_redis_link_append(s->l, u->user ? 3 : 2, argv, len, err);

	if (r == 0)
		r = wh_redis_link_reply(s->l, &rep, err);
	if (r < 0)
		return sk_err(err, r == -ENOMEM ? -ENOMEM : -ECONNRESET, "%s: AUTH: %s", s->what, err->message);
	if (rep->type == REDIS_REPLY_ERROR)
		r = sk_err(err, -EACCES, "%s: AUTH: %.200s", s->what, rep->str);
	freeReplyObject(rep);
	return r;
}

/* SUBSCRIBE to every channel and wait for each confirmation. */
static int subscribe(struct wh_redis_sub *s, const char *const *channels, size_t n, int stop_fd, struct sk_error *err)
{
	const char **argv = calloc(n + 1, sizeof(*argv));
	size_t *len = calloc(n + 1, sizeof(*len));
	int r = 0;

	if (!argv || !len) {
		r = sk_err(err, -ENOMEM, "out of memory");
		goto out;
	}
	argv[0] = "SUBSCRIBE", len[0] = 9;
	for (size_t i = 0; i < n; i++)
		argv[i + 1] = channels[i], len[i + 1] = strlen(channels[i]);
	if ((r = wh_redis_link_append(s->l, (int)n + 1, argv, len, err)) < 0 ||
	    (r = wh_redis_link_flush(s->l, err)) < 0) {
		if (r != -ENOMEM)
			r = sk_err(err, -ECONNRESET, "%s: cannot send SUBSCRIBE: %s", s->what, err->message);
		goto out;
	}
	for (size_t got = 0; got < n;) {
		redisReply *rep = NULL;
		r = next_reply(s, stop_fd, WH_REDIS_COMMAND_TIMEOUT_MS, &rep, err);
		if (r == 0)
			r = sk_err(err, -ECANCELED, "%s: stopped while subscribing", s->what);
		if (r < 0)
			goto out;
		r = 0;
		if (rep->type == REDIS_REPLY_ERROR)
			r = sk_err(err, -EPROTO, "%s: SUBSCRIBE: %.200s", s->what, rep->str);
		else if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 3 && is_str(rep->element[0], "subscribe"))
			got++;
		freeReplyObject(rep);
		if (r < 0)
			goto out;
	}
out:
	free(argv);
	free(len);
	return r;
}

int wh_redis_sub_open(const struct wh_redis_url *u, struct wh_redis_tls *tls, const char *what,
                      const char *const *channels, size_t n, size_t max_message, int stop_fd,
                      struct wh_redis_sub **out, struct sk_error *err)
{
	struct wh_redis_sub *s;
	int r;

	if (n == 0 || n > WH_REDIS_SUB_CHANNELS_MAX)
		return sk_err(err, -EINVAL, "%s: %zu channels (1 to %d on one connection)", what, n, WH_REDIS_SUB_CHANNELS_MAX);
	if (u->tls && !tls)
		return sk_err(err, -EINVAL, "%s: a rediss:// address needs TLS settings", what);
	if (!(s = calloc(1, sizeof(*s))) || !(s->what = strdup(what)) || !(s->rd = redisReaderCreate())) {
		wh_redis_sub_free(s);
		return sk_err(err, -ENOMEM, "out of memory");
	}
	s->gate.cap = max_message;
	r = wh_redis_link_open(u->host, u->port, u->tls ? tls : NULL, WH_REDIS_CONNECT_TIMEOUT_MS,
	                       WH_REDIS_COMMAND_TIMEOUT_MS, what, &s->l, err);
	if (r < 0) {
		wh_redis_sub_free(s);
		err->code = r == -ENOMEM ? r : r == -EIO && u->tls ? -EIO : -ECONNREFUSED;
		return err->code;
	}
	/* Keepalive finds a server that vanished without closing the connection. */
	(void)setsockopt(wh_redis_link_fd(s->l), SOL_SOCKET, SO_KEEPALIVE, &(int){ 1 }, sizeof(int));
	if ((u->password && (r = auth(s, u, err)) < 0) || (r = subscribe(s, channels, n, stop_fd, err)) < 0) {
		wh_redis_sub_free(s);
		return r;
	}
	wh_redis_link_set_timeout(s->l, SUB_READ_WAIT_MS);
	*out = s;
	return 0;
}

/* A reply's string element as a new string (NUL-terminated copy). */
static int take_string(const redisReply *e, char **out, size_t *len)
{
	if (!(*out = malloc(e->len + 1)))
		return -ENOMEM;
	memcpy(*out, e->str, e->len);
	(*out)[e->len] = '\0';
	*len = e->len;
	return 0;
}

int wh_redis_sub_next(struct wh_redis_sub *s, int stop_fd, struct wh_redis_msg *msg, struct sk_error *err)
{
	*msg = (struct wh_redis_msg){ 0 };
	for (;;) {
		redisReply *rep = NULL;
		int r = next_reply(s, stop_fd, -1, &rep, err);

		if (r <= 0)
			return r;
		if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 3 && is_str(rep->element[0], "message") &&
		    rep->element[1]->type == REDIS_REPLY_STRING) {
			const redisReply *p = rep->element[2];
			r = take_string(rep->element[1], &msg->channel, &msg->channel_len);
			if (r == 0 && p->type == REDIS_REPLY_STRING)
				r = take_string(p, (char **)&msg->payload, &msg->len);
			else if (r == 0) {
				msg->refused = true;
				msg->refused_len = s->gate.last_refused;
			}
			freeReplyObject(rep);
			if (r < 0) {
				wh_redis_msg_clear(msg);
				return sk_err(err, -ENOMEM, "out of memory");
			}
			return 1;
		}
		bool error = rep->type == REDIS_REPLY_ERROR;
		if (error)
			r = sk_err(err, -EPROTO, "%s: %.200s", s->what, rep->str);
		freeReplyObject(rep);
		if (error)
			return r;
		/* confirmations and anything else a subscribed connection may hear */
	}
}
