/* ttrpc's frame codec: the 10-byte header every message starts with, and
 * whole frames read from and written to a stream socket, bounded.
 *
 * The wire format is github.com/containerd/ttrpc's PROTOCOL.md: a big-endian
 * u32 data length, a big-endian u32 stream id, a u8 message type (1 request,
 * 2 response, 3 data) and u8 flags, then the data. The data is at most
 * SK_TTRPC_MAX_PAYLOAD bytes (ttrpc's own cap), so the first byte of a frame
 * is always zero. Nothing here allocates more than the header allows. */
#ifndef SPINKUBE_SHIM_TTRPC_FRAME_H
#define SPINKUBE_SHIM_TTRPC_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define SK_TTRPC_HEADER_LEN 10
/* ttrpc's messageLengthMax: 4 MiB of data per frame. */
#define SK_TTRPC_MAX_PAYLOAD (4u << 20)

enum sk_ttrpc_type {
	SK_TTRPC_REQUEST = 1,
	SK_TTRPC_RESPONSE = 2,
	SK_TTRPC_DATA = 3,
};

/* Request and data flags (PROTOCOL.md); responses have none. */
#define SK_TTRPC_FLAG_REMOTE_CLOSED 0x01
#define SK_TTRPC_FLAG_REMOTE_OPEN 0x02
#define SK_TTRPC_FLAG_NO_DATA 0x04

struct sk_ttrpc_header {
	uint32_t length; /* bytes of data after the header */
	uint32_t stream; /* odd from clients, never 0 */
	uint8_t type;    /* enum sk_ttrpc_type */
	uint8_t flags;
};

/* Write h into out[SK_TTRPC_HEADER_LEN]. */
void sk_ttrpc_header_encode(uint8_t *out, const struct sk_ttrpc_header *h);

/* Decode the header in in[SK_TTRPC_HEADER_LEN] and check it: data length at
 * most max_payload (-EMSGSIZE), a known type and only the flags that type
 * defines, a non-zero stream id (-EPROTO). *h is filled even on -EMSGSIZE
 * and -EPROTO, so the caller can name the stream in its message. */
int sk_ttrpc_header_decode(const uint8_t *in, size_t max_payload, struct sk_ttrpc_header *h, struct sk_error *err);

/* Find one whole frame at the start of buf (len bytes). Returns 1 when it is
 * there: *h is its header, *payload points at its data inside buf (borrowed)
 * and *used is SK_TTRPC_HEADER_LEN + h->length; 0 when buf holds only part
 * of a frame (read more); a negative errno from sk_ttrpc_header_decode. */
int sk_ttrpc_frame_parse(const uint8_t *buf, size_t len, size_t max_payload, struct sk_ttrpc_header *h,
	const uint8_t **payload, size_t *used, struct sk_error *err);

/* Read one frame from the blocking descriptor fd. Returns 0 with *h and
 * *payload (h->length bytes, caller frees; NULL when the length is 0); 1 when
 * the peer closed the connection between frames; -ECONNRESET when it closed
 * inside one; -ETIMEDOUT when a receive timeout (SO_RCVTIMEO) expired; the
 * header errors of sk_ttrpc_header_decode (the data is not read); -ENOMEM;
 * another negative errno from read. */
int sk_ttrpc_frame_read(int fd, size_t max_payload, struct sk_ttrpc_header *h, uint8_t **payload,
	struct sk_error *err);

/* Write the header h and its h->length bytes of payload to fd, all of it
 * (no SIGPIPE). Returns 0, -EMSGSIZE when h->length is over
 * SK_TTRPC_MAX_PAYLOAD, or a negative errno from the write (-EPIPE when the
 * peer went away). */
int sk_ttrpc_frame_write(int fd, const struct sk_ttrpc_header *h, const void *payload, struct sk_error *err);

#endif
