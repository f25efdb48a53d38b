/* ttrpc's frame codec: header encode/decode with its checks, and whole
 * frames read from and written to a socket (see frame.h). */
#include "shim-bridge/shim/ttrpc/frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/cleanup.h"

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void sk_ttrpc_header_encode(uint8_t *out, const struct sk_ttrpc_header *h)
{
	put_be32(out, h->length);
	put_be32(out + 4, h->stream);
	out[8] = h->type;
	out[9] = h->flags;
}

/* The flags each message type defines (PROTOCOL.md): a request is unary (0),
 * remote closed or remote open, never both; a response has none; data may be
 * remote closed and may carry no data. */
static int flags_ok(uint8_t type, uint8_t flags)
{
	switch (type) {
	case SK_TTRPC_REQUEST:
		return (flags & ~(SK_TTRPC_FLAG_REMOTE_CLOSED | SK_TTRPC_FLAG_REMOTE_OPEN)) == 0 &&
		       flags != (SK_TTRPC_FLAG_REMOTE_CLOSED | SK_TTRPC_FLAG_REMOTE_OPEN);
	case SK_TTRPC_RESPONSE:
		return flags == 0;
	case SK_TTRPC_DATA:
		return (flags & ~(SK_TTRPC_FLAG_REMOTE_CLOSED | SK_TTRPC_FLAG_NO_DATA)) == 0;
	default:
		return 0;
	}
}

int sk_ttrpc_header_decode(const uint8_t *in, size_t max_payload, struct sk_ttrpc_header *h, struct sk_error *err)
{
	h->length = get_be32(in);
	h->stream = get_be32(in + 4);
	h->type = in[8];
	h->flags = in[9];
	if (max_payload > SK_TTRPC_MAX_PAYLOAD)
		max_payload = SK_TTRPC_MAX_PAYLOAD;
	if (h->length > max_payload)
		return sk_err(err, -EMSGSIZE, "ttrpc frame on stream %u: %u bytes of data, over the cap of %zu",
			h->stream, h->length, max_payload);
	if (h->type < SK_TTRPC_REQUEST || h->type > SK_TTRPC_DATA)
		return sk_err(err, -EPROTO, "ttrpc frame on stream %u: unknown message type %u", h->stream, h->type);
	if (!flags_ok(h->type, h->flags))
		return sk_err(err, -EPROTO, "ttrpc frame on stream %u: flags 0x%02x are not defined for message type %u",
			h->stream, h->flags, h->type);
	if (h->stream == 0)
		return sk_err(err, -EPROTO, "ttrpc frame of type %u on stream 0 (stream ids start at 1)", h->type);
	return 0;
}

int sk_ttrpc_frame_parse(const uint8_t *buf, size_t len, size_t max_payload, struct sk_ttrpc_header *h,
	const uint8_t **payload, size_t *used, struct sk_error *err)
{
	if (len < SK_TTRPC_HEADER_LEN)
		return 0;
	int r = sk_ttrpc_header_decode(buf, max_payload, h, err);
	if (r < 0)
		return r;
	if (len - SK_TTRPC_HEADER_LEN < h->length)
		return 0;
	*payload = buf + SK_TTRPC_HEADER_LEN;
	*used = SK_TTRPC_HEADER_LEN + (size_t)h->length;
	return 1;
}

/* Read exactly n bytes. Returns n, fewer when the peer closed first, or a
 * negative errno (-ETIMEDOUT for an expired SO_RCVTIMEO). */
static ssize_t read_full(int fd, uint8_t *p, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k = read(fd, p + got, n - got);
		if (k == 0)
			break;
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		}
		got += (size_t)k;
	}
	return (ssize_t)got;
}

int sk_ttrpc_frame_read(int fd, size_t max_payload, struct sk_ttrpc_header *h, uint8_t **payload,
	struct sk_error *err)
{
	uint8_t head[SK_TTRPC_HEADER_LEN];
	ssize_t k = read_full(fd, head, sizeof(head));
	if (k < 0)
		return sk_err(err, (int)k, "ttrpc: reading a frame header: %s", strerror((int)-k));
	if (k == 0)
		return 1;
	if ((size_t)k < sizeof(head))
		return sk_err(err, -ECONNRESET, "ttrpc: the peer closed the connection inside a frame header (%zd of %d bytes)",
			k, SK_TTRPC_HEADER_LEN);
	int r = sk_ttrpc_header_decode(head, max_payload, h, err);
	if (r < 0)
		return r;
	_cleanup_free_ uint8_t *data = NULL;
	if (h->length > 0) {
		data = malloc(h->length);
		if (!data)
			return sk_err(err, -ENOMEM, "ttrpc: out of memory for a frame of %u bytes", h->length);
		k = read_full(fd, data, h->length);
		if (k < 0)
			return sk_err(err, (int)k, "ttrpc: reading %u bytes of data on stream %u: %s", h->length,
				h->stream, strerror((int)-k));
		if ((size_t)k < h->length)
			return sk_err(err, -ECONNRESET,
				"ttrpc: the peer closed the connection inside the data of stream %u (%zd of %u bytes)",
				h->stream, k, h->length);
	}
	*payload = TAKE_PTR(data);
	return 0;
}

int sk_ttrpc_frame_write(int fd, const struct sk_ttrpc_header *h, const void *payload, struct sk_error *err)
{
	if (h->length > SK_TTRPC_MAX_PAYLOAD)
		return sk_err(err, -EMSGSIZE, "ttrpc: a message of %u bytes on stream %u is over the cap of %u",
			h->length, h->stream, SK_TTRPC_MAX_PAYLOAD);
	uint8_t head[SK_TTRPC_HEADER_LEN];
	sk_ttrpc_header_encode(head, h);
	struct iovec iov[2] = {
		{ .iov_base = head, .iov_len = sizeof(head) },
		{ .iov_base = (void *)(uintptr_t)payload, .iov_len = h->length },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = h->length > 0 ? 2 : 1 };
	while (msg.msg_iovlen > 0) {
		ssize_t k = sendmsg(fd, &msg, MSG_NOSIGNAL);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			return sk_err(err, -e, "ttrpc: writing a frame on stream %u: %s", h->stream, strerror(e));
		}
		size_t n = (size_t)k;
		while (msg.msg_iovlen > 0 && n >= msg.msg_iov[0].iov_len) {
			n -= msg.msg_iov[0].iov_len;
			msg.msg_iov++;
			msg.msg_iovlen--;
		}
		if (msg.msg_iovlen > 0) {
			msg.msg_iov[0].iov_base = (uint8_t *)msg.msg_iov[0].iov_base + n;
			msg.msg_iov[0].iov_len -= n;
		}
	}
	return 0;
}
