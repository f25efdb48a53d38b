/* A gRPC client for containerd's own API (GRPC_ADDRESS, a unix socket):
 * HTTP/2 with prior knowledge through libcurl, unary and server-streaming
 * calls, one at a time, each on a connection of its own (libcurl 7.88 breaks
 * a re-used HTTP/2 prior-knowledge connection; a unix socket connects in
 * microseconds). Every request carries `containerd-namespace: NS`.
 *
 * What is checked on every answer: HTTP status 200, content-type
 * application/grpc, the message framing (grpc-frame.h; each message at most
 * the call's cap), a grpc-status in the headers or trailers, and, for a
 * unary call, exactly one message. A failed call is one line in *err:
 * "containerd SOCKET: METHOD: Code: message" for an error status, or what
 * went wrong with the connection and the fix. The caller owns libcurl's
 * global initialisation (curl_global_init once, in main). */
#ifndef SPINKUBE_SHIM_CONTAINERD_GRPC_H
#define SPINKUBE_SHIM_CONTAINERD_GRPC_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "shim-bridge/shim/containerd/grpc-frame.h"

/* A unix socket path is at most 107 bytes; a namespace is a containerd
 * identifier (at most 76 characters). */
#define CTRD_NAMESPACE_MAX    76
#define CTRD_UNARY_TIMEOUT_MS 30000
/* A stream call fails when no byte arrives for this long. */
#define CTRD_STREAM_IDLE_S 30

struct ctrd_client;

/* A client for the socket at address ("unix:///path" or "/path") in
 * namespace ns (letters, digits, '.', '_', '-'). Connects lazily, on the first
 * call. Returns 0 with *out (free with ctrd_client_free), -EINVAL or
 * -ENAMETOOLONG for a bad address or namespace, -ENOMEM. */
int ctrd_client_new(const char *address, const char *ns, struct ctrd_client **out, struct sk_error *err);

/* The socket path the client talks to (borrowed). */
const char *ctrd_client_socket(const struct ctrd_client *c);

void ctrd_client_free(struct ctrd_client *c);

/* Call method ("/containerd.services.images.v1.Images/Get") with the
 * encoded request req (len bytes); the one answer, at most resp_max bytes,
 * goes to *resp (caller frees; never NULL on success, "" for an empty
 * message) and *resp_len. Waits at most CTRD_UNARY_TIMEOUT_MS. Returns 0;
 * the errno of grpc_code_errno for an error status (-ENOENT for NotFound,
 * ...); -ECONNREFUSED when nothing listens; -ETIMEDOUT; -EPROTO or
 * -EMSGSIZE for an answer that breaks the rules above. */
int ctrd_call_unary(struct ctrd_client *c, const char *method, const uint8_t *req, size_t len,
                    size_t resp_max, uint8_t **resp, size_t *resp_len, struct sk_error *err);

/* Call a server-streaming method and hand each message (at most msg_max
 * bytes, borrowed during the call) to fn as it arrives; fn's negative
 * return stops the call and is returned (its message in *err, if it set
 * one). Fails when the server is silent for CTRD_STREAM_IDLE_S. Returns
 * as ctrd_call_unary does. */
int ctrd_call_stream(struct ctrd_client *c, const char *method, const uint8_t *req, size_t len,
                     size_t msg_max, grpc_msg_fn fn, void *ud, struct sk_error *err);

#endif
