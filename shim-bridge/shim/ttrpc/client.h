/* A ttrpc client on a unix socket: unary calls, one at a time, each on the
 * next odd stream id, waiting at most a timeout for its Response. What the
 * shim uses to publish task events to containerd (shim-bridge/shim/events.h).
 *
 * Responses are checked like the server checks requests (frame cap, type,
 * flags, the stream of the call); a bad frame or a timeout leaves the
 * connection broken (every later call fails with -ENOTCONN: connect anew). */
#ifndef SPINKUBE_SHIM_TTRPC_CLIENT_H
#define SPINKUBE_SHIM_TTRPC_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct sk_ttrpc_client;

/* Connect to the unix socket path. Returns 0 with *out (caller frees with
 * sk_ttrpc_client_free), -ENAMETOOLONG, or a negative errno from connect. */
int sk_ttrpc_client_connect(const char *path, struct sk_ttrpc_client **out, struct sk_error *err);

/* A client on fd, a connected stream socket (the client takes it). */
int sk_ttrpc_client_from_fd(int fd, struct sk_ttrpc_client **out, struct sk_error *err);

/* Call service/method with metadata (NULL, or key, value, ..., NULL), the
 * encoded request message req (len bytes), and
 * wait up to timeout_ms (> 0) for the answer (the socket's send and
 * receive timeout: each write and read waits at most that long); the timeout
 * also goes to the server in the request. Returns 0 with *resp (the response message,
 * caller frees; NULL when empty) and *resp_len; -EREMOTEIO when the server
 * answered with an error status (*status_code set when not NULL, *err
 * says "service/method: Code: message"); -ETIMEDOUT; -ENOTCONN on a broken
 * connection; -EPROTO, -EMSGSIZE, -ECONNRESET for bad or missing frames. */
int sk_ttrpc_client_call(struct sk_ttrpc_client *c, const char *service, const char *method,
	const char *const *metadata, const uint8_t *req, size_t len, int timeout_ms, uint8_t **resp, size_t *resp_len, int *status_code, struct sk_error *err);

/* Close the connection and free c; NULL is fine. */
void sk_ttrpc_client_free(struct sk_ttrpc_client *c);

#endif
