/* One connection to a Redis server, plain TCP or TLS, speaking RESP through
 * hiredis's protocol layer only: commands are encoded with
 * redisFormatCommandArgv and replies decoded by a redisReader fed from our
 * own socket (OpenSSL on it for rediss://). Debian's libhiredis 0.14 has
 * no TLS of its own; this is the one place the transport lives, for the
 * pool of redis-conn.h and anything else that talks to Redis.
 *
 * TLS (TLS 1.2 or newer) checks the server's certificate against the CA
 * bundle its settings name (the app's: wh_ca_file), else OpenSSL's default
 * CA locations: the files SSL_CERT_FILE and SSL_CERT_DIR name when set, else
 * the system bundle; and its name (or IP address) against the
 * URL's host, which also goes as SNI. Each read or write waits at most the
 * link's timeout. */
#ifndef SPINKUBE_WASI_REDIS_LINK_H
#define SPINKUBE_WASI_REDIS_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

#define WH_REDIS_REPLY_BYTES_MAX ((size_t)64 * 1024 * 1024) /* bytes read for one reply */

struct wh_redis_link;
struct wh_redis_tls; /* the TLS settings links share (an SSL_CTX) */
struct redisReply;

/* TLS settings for links to servers (new; free with wh_redis_tls_free,
 * after every link made with it), verifying against the PEM bundle ca_file
 * (NULL: OpenSSL's defaults). -ENOMEM, or -EIO when the bundle cannot be
 * read, naming it. */
int wh_redis_tls_new(const char *ca_file, struct wh_redis_tls **out, struct sk_error *err);
void wh_redis_tls_free(struct wh_redis_tls *t);

/* Connect to host:port within connect_ms (each address the name resolves
 * to in turn), then, with tls set, the TLS handshake; reads and writes
 * afterwards wait at most io_ms each. what starts every message. *out is
 * new (free with wh_redis_link_free). -ECONNREFUSED, -ETIMEDOUT, -EIO
 * (a TLS failure: the certificate check names itself) or -ENOMEM. */
int wh_redis_link_open(const char *host, int port, struct wh_redis_tls *tls, int connect_ms, int io_ms,
                       const char *what, struct wh_redis_link **out, struct sk_error *err);
void wh_redis_link_free(struct wh_redis_link *l);

/* Send one command (argc arguments argv[i] of len[i] bytes), buffered
 * until wh_redis_link_flush or the next reply read. */
int wh_redis_link_append(struct wh_redis_link *l, int argc, const char **argv, const size_t *len,
                         struct sk_error *err);
int wh_redis_link_flush(struct wh_redis_link *l, struct sk_error *err);

/* The next reply (new: freeReplyObject), flushing what is buffered first.
 * An error reply from Redis is a reply, not a failure. -ETIMEDOUT, -EIO
 * (closed, a protocol error, over WH_REDIS_REPLY_BYTES_MAX), -ENOMEM: the
 * link is then broken and only good for wh_redis_link_free. */
int wh_redis_link_reply(struct wh_redis_link *l, struct redisReply **out, struct sk_error *err);

/* For a reader of its own (the Redis trigger's subscriber, which screens
 * what comes before hiredis parses it): the socket to poll, whether
 * OpenSSL holds bytes already (poll would not see them), the read and
 * write timeout from now on, and one read of raw bytes past the link's
 * own reply reader: > 0 bytes; -EAGAIN when nothing came within the
 * timeout (the link stays good); -ETIMEDOUT never; -EIO when closed or
 * failed (then only good for wh_redis_link_free). */
int wh_redis_link_fd(const struct wh_redis_link *l);
bool wh_redis_link_pending(const struct wh_redis_link *l);
void wh_redis_link_set_timeout(struct wh_redis_link *l, int io_ms);
ssize_t wh_redis_link_read(struct wh_redis_link *l, char *buf, size_t cap, struct sk_error *err);

#endif
