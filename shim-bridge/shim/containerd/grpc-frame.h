/* gRPC over HTTP/2, the parts that need no socket: the 5-byte message
 * framing (u8 compressed flag, big-endian u32 length, then the message), a
 * deframer that turns a response body fed in pieces into whole messages,
 * the grpc-status and grpc-message header fields (in the headers of a
 * trailers-only answer or in the trailers), and gRPC codes as errno values.
 *
 * Every length is bounded: a message longer than the deframer's max is a
 * clean -EMSGSIZE before anything is buffered, and grpc-message is kept to
 * GRPC_MESSAGE_MAX bytes after percent-decoding. Pure: no I/O, no clock. */
#ifndef SPINKUBE_SHIM_CONTAINERD_GRPC_FRAME_H
#define SPINKUBE_SHIM_CONTAINERD_GRPC_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

#define GRPC_PREFIX_LEN 5
/* The most a peer may send in one message: gRPC's default receive cap. */
#define GRPC_MSG_MAX (4u << 20)
/* grpc-message as kept (decoded), and the longest header line looked at. */
#define GRPC_MESSAGE_MAX     1024
#define GRPC_HEADER_LINE_MAX 8192

/* Write the prefix of an uncompressed message of len bytes into out. */
void grpc_prefix_encode(uint8_t out[GRPC_PREFIX_LEN], uint32_t len);

/* Called with each whole message (borrowed: valid during the call only).
 * A negative return stops the feed and is returned from it. */
typedef int (*grpc_msg_fn)(void *ud, const uint8_t *msg, size_t len);

struct grpc_deframer {
	uint8_t prefix[GRPC_PREFIX_LEN];
	size_t prefix_len; /* bytes of the prefix seen so far */
	uint32_t want;     /* length of the message being read */
	struct sk_buf msg; /* its bytes so far (owned) */
	size_t messages;   /* whole messages delivered */
};

/* A deframer accepting messages of at most max bytes (<= GRPC_MSG_MAX). */
void grpc_deframer_init(struct grpc_deframer *d, size_t max);

/* Feed len more body bytes, calling fn for every message they complete.
 * Returns 0, -EMSGSIZE (a message over max), -EPROTO (a compressed message:
 * we never ask for compression, or a flag byte other than 0 and 1), -ENOMEM,
 * or what fn returned. */
int grpc_deframer_feed(struct grpc_deframer *d, const uint8_t *data, size_t len, grpc_msg_fn fn, void *ud,
                       struct sk_error *err);

/* True when the body ended between messages (no partial prefix or message). */
bool grpc_deframer_idle(const struct grpc_deframer *d);

void grpc_deframer_free(struct grpc_deframer *d);

/* The call's outcome as the server gave it. */
struct grpc_status {
	bool have;                      /* a grpc-status field was seen */
	int code;                       /* 0 OK ... 16 Unauthenticated */
	char message[GRPC_MESSAGE_MAX]; /* grpc-message, percent-decoded, "" when none */
	bool grpc_type;                 /* content-type was application/grpc (or +proto) */
};

/* Look at one header or trailer line as libcurl hands it ("name: value"
 * with CRLF, any case) and record grpc-status, grpc-message and the
 * content-type in *st. Other lines are ignored. Returns 0, or -EPROTO for
 * a grpc-status that is not a number from 0 to 16 (no longer than the
 * line cap, which bounds everything read). */
int grpc_status_header(struct grpc_status *st, const char *line, size_t len);

/* A gRPC code's name ("NotFound"), or "Unknown" for codes out of range. */
const char *grpc_code_name(int code);

/* The negative errno a gRPC code maps to: NotFound -ENOENT, AlreadyExists
 * -EEXIST, InvalidArgument and OutOfRange -EINVAL, PermissionDenied and
 * Unauthenticated -EACCES, DeadlineExceeded -ETIMEDOUT, Unavailable
 * -ECONNREFUSED, Unimplemented -ENOSYS, ResourceExhausted -ENOSPC,
 * Cancelled and Aborted -ECANCELED, FailedPrecondition -EPERM, the rest
 * -EIO; 0 for OK. */
int grpc_code_errno(int code);

#endif
