/* The ttrpc client: connect, one unary call at a time, the answer matched
 * to its stream and checked (see client.h). */
#include "shim-bridge/shim/ttrpc/client.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/unix-socket.h"
#include "shim-bridge/shim/ttrpc/frame.h"
#include "shim-bridge/shim/ttrpc/message.h"

struct sk_ttrpc_client {
	int fd;
	int broken;
	uint32_t next_stream; /* odd */
	pthread_mutex_t mu;   /* one call at a time */
};

int sk_ttrpc_client_from_fd(int fd, struct sk_ttrpc_client **out, struct sk_error *err)
{
	struct sk_ttrpc_client *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return sk_err(err, -ENOMEM, "ttrpc client: out of memory");
	}
	c->fd = fd;
	c->next_stream = 1;
	pthread_mutex_init(&c->mu, NULL);
	*out = c;
	return 0;
}

int sk_ttrpc_client_connect(const char *path, struct sk_ttrpc_client **out, struct sk_error *err)
{
	int fd = sk_unix_connect("ttrpc client", path, err);

	if (fd < 0)
		return fd;
	return sk_ttrpc_client_from_fd(fd, out, err);
}

static int set_timeout(int fd, int timeout_ms)
{
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	return 0;
}

/* Read frames until the Response of stream (responses to earlier streams,
 * from calls that timed out, cannot come: a timeout breaks the client).
 * Returns 0 with *out (caller frees) or a negative errno. */
static int read_response(struct sk_ttrpc_client *c, uint32_t stream, Ttrpc__Response **out, struct sk_error *err)
{
	struct sk_ttrpc_header h;
	_cleanup_free_ uint8_t *data = NULL;
	int r = sk_ttrpc_frame_read(c->fd, SK_TTRPC_MAX_PAYLOAD, &h, &data, err);
	if (r == 1)
		return sk_err(err, -ECONNRESET, "ttrpc client: the server closed the connection before answering stream %u",
			stream);
	if (r < 0)
		return r;
	if (h.type != SK_TTRPC_RESPONSE)
		return sk_err(err, -EPROTO, "ttrpc client: a frame of type %u on stream %u, not a response", h.type,
			h.stream);
	if (h.stream != stream)
		return sk_err(err, -EPROTO, "ttrpc client: a response on stream %u while waiting for stream %u", h.stream,
			stream);
	r = sk_ttrpc_response_decode(data, h.length, out, err);
	return r;
}

/* Send the request and wait for its Response; returns what
 * sk_ttrpc_client_call does, *out set on 0. Breaks the client on failure. */
static int round_trip(struct sk_ttrpc_client *c, const char *service, const char *method,
	const char *const *metadata, const uint8_t *req, size_t len, int timeout_ms, Ttrpc__Response **out, struct sk_error *err)
{
	_cleanup_free_ uint8_t *data = NULL;
	size_t n = 0;
	int r = sk_ttrpc_request_encode(service, method, metadata, req, len, (int64_t)timeout_ms * 1000000, &data, &n, err);
	if (r < 0)
		return r;
	if (c->next_stream > UINT32_MAX - 2)
		return sk_err(err, -ENOTCONN, "ttrpc client: stream ids used up on this connection (connect anew)");
	uint32_t stream = c->next_stream;
	c->next_stream += 2;
	c->broken = 1;
	if ((r = set_timeout(c->fd, timeout_ms)) < 0)
		return sk_err(err, r, "ttrpc client: setting the timeout: %s", strerror(-r));
	struct sk_ttrpc_header h = { .length = (uint32_t)n, .stream = stream, .type = SK_TTRPC_REQUEST };
	if ((r = sk_ttrpc_frame_write(c->fd, &h, data, err)) < 0)
		return r == -EAGAIN ? sk_err(err, -ETIMEDOUT, "ttrpc client: %s/%s: no room to send within %d ms",
					      service, method, timeout_ms)
				    : r;
	if ((r = read_response(c, stream, out, err)) < 0)
		return r == -ETIMEDOUT ? sk_err(err, r, "ttrpc client: %s/%s: no answer within %d ms", service, method,
					     timeout_ms)
				       : r;
	c->broken = 0;
	return 0;
}

int sk_ttrpc_client_call(struct sk_ttrpc_client *c, const char *service, const char *method,
	const char *const *metadata, const uint8_t *req, size_t len, int timeout_ms, uint8_t **resp, size_t *resp_len, int *status_code, struct sk_error *err)
{
	if (timeout_ms <= 0)
		return sk_err(err, -EINVAL, "ttrpc client: %s/%s: the timeout must be positive", service, method);
	pthread_mutex_lock(&c->mu);
	Ttrpc__Response *r_msg = NULL;
	int r = c->broken ? sk_err(err, -ENOTCONN, "ttrpc client: %s/%s: the connection is broken by an earlier failure",
				    service, method)
			  : round_trip(c, service, method, metadata, req, len, timeout_ms, &r_msg, err);
	pthread_mutex_unlock(&c->mu);
	if (r < 0)
		return r;
	int code = r_msg->status ? r_msg->status->code : SK_RPC_OK;
	if (status_code)
		*status_code = code;
	if (code != SK_RPC_OK) {
		r = sk_err(err, -EREMOTEIO, "%s/%s: %s: %s", service, method, sk_rpc_code_name(code),
			r_msg->status->message ? r_msg->status->message : "");
		ttrpc__response__free_unpacked(r_msg, NULL);
		return r;
	}
	uint8_t *p = NULL;
	if (r_msg->payload.len > 0) {
		p = malloc(r_msg->payload.len);
		if (!p) {
			ttrpc__response__free_unpacked(r_msg, NULL);
			return sk_err(err, -ENOMEM, "ttrpc client: out of memory");
		}
		memcpy(p, r_msg->payload.data, r_msg->payload.len);
	}
	*resp = p;
	*resp_len = r_msg->payload.len;
	ttrpc__response__free_unpacked(r_msg, NULL);
	return 0;
}

void sk_ttrpc_client_free(struct sk_ttrpc_client *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	pthread_mutex_destroy(&c->mu);
	free(c);
}
