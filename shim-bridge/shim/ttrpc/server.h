/* A ttrpc server on a unix socket: accepts connections, reads request
 * frames, dispatches "service/method" to the handlers registered before
 * serving, and answers each with a Response frame (a google.rpc.Status on
 * errors: Unimplemented for a method nobody registered, InvalidArgument for
 * an envelope that does not decode).
 *
 * Each connection has a reader thread; each request runs its handler on a
 * thread of its own, so a handler may block (the task service's Wait does)
 * while the connection carries other calls. Bounds: frames of at most
 * SK_TTRPC_MAX_PAYLOAD bytes, max_streams requests in flight per connection
 * (one more is answered ResourceExhausted), max_conns connections (one more
 * is closed at once). A frame that breaks the protocol (oversized, unknown
 * type or flags, an even or re-used stream id, data or response frames from
 * a client) closes its connection with one record through the log sink, the
 * other connections go on. The server does not log anything else. */
#ifndef SPINKUBE_SHIM_TTRPC_SERVER_H
#define SPINKUBE_SHIM_TTRPC_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "common/err.h"
#include "common/log.h"
#include "shim-bridge/shim/proto/request.pb-c.h"

/* One call as its handler sees it; everything is borrowed for the
 * duration of the handler. */
struct sk_ttrpc_call {
	const char *service;
	const char *method;
	const uint8_t *payload; /* the request message, not yet decoded */
	size_t len;
	int64_t timeout_nano; /* 0: none */
	uint32_t stream;
	Ttrpc__KeyValue *const *metadata; /* the request's pairs */
	size_t n_metadata;
};

/* The first value of metadata key in call (borrowed), or NULL: how a task
 * service handler reads its namespace (key "containerd-namespace-ttrpc"). */
const char *sk_ttrpc_call_metadata(const struct sk_ttrpc_call *call, const char *key);

/* What a handler answers: a payload (the response message) when code is
 * SK_RPC_OK, else a status code and message. Start: all zero. */
struct sk_ttrpc_reply {
	uint8_t *payload; /* malloc'd, the server frees it */
	size_t len;
	int code; /* enum sk_rpc_code */
	char message[SK_ERR_MESSAGE_MAX];
};

/* A handler returns reply->code: SK_RPC_OK with the payload set (or none,
 * for an empty message), or an error code set with sk_ttrpc_fail. It runs
 * on a thread of its own; ud is what was registered with it. */
typedef int (*sk_ttrpc_handler_fn)(void *ud, const struct sk_ttrpc_call *call, struct sk_ttrpc_reply *reply);

/* Set reply's error code and one-line message (values escaped as sk_err
 * does); returns code, so a handler fails in one line. */
int sk_ttrpc_fail(struct sk_ttrpc_reply *reply, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Pack msg into reply's payload. Returns SK_RPC_OK, or SK_RPC_INTERNAL (with
 * the message set) when out of memory or over the frame cap. */
int sk_ttrpc_reply_pack(struct sk_ttrpc_reply *reply, const ProtobufCMessage *msg);

struct sk_ttrpc_server_config {
	struct sk_log_sink log; /* where a closed connection's reason goes */
	unsigned max_streams;   /* requests in flight per connection; 0: 32 */
	unsigned max_conns;     /* connections at once; 0: 64 */
};

struct sk_ttrpc_server;

/* A new server with no methods and no socket (caller frees with
 * sk_ttrpc_server_free). Returns 0 or -ENOMEM. */
int sk_ttrpc_server_new(const struct sk_ttrpc_server_config *cfg, struct sk_ttrpc_server **out,
	struct sk_error *err);

/* Register fn for service/method (names copied). Only before serving.
 * Returns 0, -EEXIST for a pair already registered, -EINVAL for a name
 * sk_ttrpc_request_decode would refuse, -ENOMEM. */
int sk_ttrpc_server_register(struct sk_ttrpc_server *srv, const char *service, const char *method,
	sk_ttrpc_handler_fn fn, void *ud, struct sk_error *err);

/* Bind and listen on the unix socket path (the file must not exist: who
 * owns a stale socket is the caller's decision). Returns 0,
 * -ENAMETOOLONG, or a negative errno from socket/bind/listen. */
int sk_ttrpc_server_listen(struct sk_ttrpc_server *srv, const char *path, struct sk_error *err);

/* Serve on fd, a listening socket (the server takes it). */
void sk_ttrpc_server_listen_fd(struct sk_ttrpc_server *srv, int fd);

/* Accept and serve connections until sk_ttrpc_server_shutdown; then close
 * the connections, wait for running handlers and return 0. Returns a
 * negative errno when there is no socket or accepting fails for good. */
int sk_ttrpc_server_serve(struct sk_ttrpc_server *srv, struct sk_error *err);

/* Serve the one connected socket fd (the server takes it) on the calling
 * thread until the peer closes it (0) or breaks the protocol (the negative
 * errno, the reason logged and in *err). For tests and for a caller that
 * accepts its own connections. */
int sk_ttrpc_server_serve_conn(struct sk_ttrpc_server *srv, int fd, struct sk_error *err);

/* Make sk_ttrpc_server_serve return. Safe from any thread, a handler or a
 * signal handler (it writes one byte to a pipe). */
void sk_ttrpc_server_shutdown(struct sk_ttrpc_server *srv);

/* Close the socket and free the server; NULL is fine. Not while serving. */
void sk_ttrpc_server_free(struct sk_ttrpc_server *srv);

#endif
