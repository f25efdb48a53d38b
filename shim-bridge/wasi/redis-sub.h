/* A Redis pub/sub subscription for the Redis trigger: one connection
 * (hiredis connects it, formats the commands and parses the replies) that
 * authenticates as the URL says (redis-conn.h), subscribes to a set of
 * channels and then hands over messages one at a time.
 *
 * Every byte from the server passes a gate first (wh_redis_gate): a bulk
 * string longer than the message cap is never buffered; its bytes are
 * dropped as they arrive and the parser sees a nil in its place, so an
 * oversized message is refused (reported with its size) and the
 * subscription goes on. Reads wait with poll(2) on the connection and on a
 * stop descriptor, so a subscriber thread can be told to end at any time.
 * Library code: nothing here logs. */
#ifndef SPINKUBE_WASI_REDIS_SUB_H
#define SPINKUBE_WASI_REDIS_SUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "shim-bridge/wasi/redis-conn.h"

#define WH_REDIS_SUB_CHANNELS_MAX 1024 /* channels on one connection */
#define WH_REDIS_GATE_LINE_MAX    4096 /* longest RESP line (+, -, :, $ or * and its text) */

/* The gate's state between chunks. Start it zeroed with cap set. */
struct wh_redis_gate {
	size_t cap;      /* largest bulk string let through, in bytes */
	int state;       /* private */
	uint64_t left;   /* private: bytes of the current bulk still to pass or drop */
	size_t n_line;   /* private */
	char line[WH_REDIS_GATE_LINE_MAX];
	uint64_t refused;      /* bulks dropped so far */
	uint64_t last_refused; /* the size of the last one */
};

/* Pass in[0..n) through the gate: what the parser may see is appended to
 * out (at most n + 5 bytes more than the gate held; out must have room for
 * n + WH_REDIS_GATE_LINE_MAX + 8). *out_n is set to the bytes written.
 * -EPROTO when a line is longer than WH_REDIS_GATE_LINE_MAX or a bulk
 * length is not a number. Pure: no I/O. */
int wh_redis_gate_feed(struct wh_redis_gate *g, const char *in, size_t n, char *out, size_t *out_n);

struct wh_redis_sub;

/* One message. channel and payload are new (free with wh_redis_msg_clear);
 * payload is NULL and refused_len its size when the gate refused it. */
struct wh_redis_msg {
	char *channel;
	size_t channel_len;
	uint8_t *payload;
	size_t len;
	bool refused;
	uint64_t refused_len;
};
void wh_redis_msg_clear(struct wh_redis_msg *m);

struct wh_redis_tls;

/* Connect to u (connect timeout WH_REDIS_CONNECT_TIMEOUT_MS) through
 * redis-link.h, with TLS over tls for a rediss:// address (tls may be NULL
 * for redis://), AUTH when it has a password, SUBSCRIBE to channels[0..n)
 * and wait for every confirmation (each wait bounded by
 * WH_REDIS_COMMAND_TIMEOUT_MS, or ended early with -ECANCELED by stop_fd
 * becoming readable). Messages larger than max_message bytes will be
 * refused. what names the server in messages. *out is new
 * (wh_redis_sub_free). Errors: -ECONNREFUSED (cannot connect), -EIO (TLS
 * failed: the certificate check names itself), -EACCES (AUTH refused),
 * -EPROTO, -ETIMEDOUT, -ECONNRESET, with one line. */
int wh_redis_sub_open(const struct wh_redis_url *u, struct wh_redis_tls *tls, const char *what,
                      const char *const *channels, size_t n, size_t max_message, int stop_fd,
                      struct wh_redis_sub **out, struct sk_error *err);

/* Wait for the next message until stop_fd becomes readable. 1 with *msg
 * filled, 0 when stopped, or a negative errno when the connection is gone
 * or spoke out of turn (-ECONNRESET, -EPROTO), with one line. */
int wh_redis_sub_next(struct wh_redis_sub *s, int stop_fd, struct wh_redis_msg *msg, struct sk_error *err);

void wh_redis_sub_free(struct wh_redis_sub *s);

#endif
