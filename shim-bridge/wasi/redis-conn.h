/* Connections to a Redis server, for the Redis key-value store (kv-redis.h)
 * and outbound Redis: a URL parser and a small bounded pool of links
 * (redis-link.h: our socket, OpenSSL for TLS, hiredis for RESP).
 *
 * URLs: redis://[[user]:password@]host[:port][/db], host a name, an IPv4
 * address or [IPv6], port 6379 by default, db 0 by default; user and
 * password may be percent-encoded. rediss:// is the same over TLS, the
 * server's certificate checked against SSL_CERT_FILE or the system's CA
 * bundle and for the host (redis-link.h). No query part (so no
 * #insecure), no unix sockets.
 *
 * A pool holds at most WH_REDIS_POOL_MAX connections, made on demand with
 * a connect timeout, each with a command timeout, AUTH and SELECT as the
 * URL asks. A connection that fails (the server closed it, a timeout) is
 * dropped; a command on a connection that had been idle in the pool is
 * tried once more on a fresh one, so a restarted server costs no error. */
#ifndef SPINKUBE_WASI_REDIS_CONN_H
#define SPINKUBE_WASI_REDIS_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

#define WH_REDIS_URL_MAX            4096 /* bytes of a URL */
#define WH_REDIS_HOST_MAX           255  /* bytes of the host */
#define WH_REDIS_SECRET_MAX         512  /* bytes of the user or the password, decoded */
#define WH_REDIS_DB_MAX             1000000
#define WH_REDIS_POOL_MAX           8 /* connections per pool */
#define WH_REDIS_CONNECT_TIMEOUT_MS 2000
#define WH_REDIS_COMMAND_TIMEOUT_MS 5000
#define WH_REDIS_WAIT_MS            5000 /* longest wait for a free connection */

struct wh_redis_url {
	char *host; /* without brackets */
	int port;
	int db;
	char *user;     /* NULL: none */
	char *password; /* NULL: none */
	bool tls;       /* rediss:// */
};

/* Parse url into *out (fields new; clear with wh_redis_url_clear), or
 * -EINVAL with a message that quotes the URL without its password. */
int wh_redis_url_parse(const char *url, struct wh_redis_url *out, struct sk_error *err);
void wh_redis_url_clear(struct wh_redis_url *u);

struct wh_redis_pool;
struct redisReply;

/* A pool for u (copied; for rediss:// with the CA certificates loaded from
 * ca_file, NULL: OpenSSL's defaults, else -EIO). what names the pool and
 * its server in messages, e.g. `key-value store "cache"
 * (redis://127.0.0.1:6379/0)` (copied). *out is new (free with
 * wh_redis_pool_free). Nothing connects yet. */
int wh_redis_pool_new(const struct wh_redis_url *u, const char *what, const char *ca_file, struct wh_redis_pool **out,
                      struct sk_error *err);
void wh_redis_pool_free(struct wh_redis_pool *p);

/* Send the commands (each argc[i] arguments argv[i][j] of argvlen[i][j]
 * bytes) in one round trip on a pooled connection, and hand back their
 * replies (replies[i] new: freeReplyObject each). A server that cannot be
 * reached, a timeout or a protocol error is -ECONNREFUSED, -ETIMEDOUT or
 * -EIO with a message starting with the pool's what; an error reply
 * from Redis is not a failure here (the caller reads it). Safe from
 * several threads at once. */
int wh_redis_pipeline(struct wh_redis_pool *p, size_t n, const int *argc, const char **const *argv,
                      const size_t *const *argvlen, struct redisReply **replies, struct sk_error *err);

/* One command: wh_redis_pipeline of one. */
int wh_redis_command(struct wh_redis_pool *p, int argc, const char **argv, const size_t *argvlen,
                     struct redisReply **reply, struct sk_error *err);

#endif
