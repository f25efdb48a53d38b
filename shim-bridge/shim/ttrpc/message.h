/* ttrpc's envelope: the Request a client sends (service, method, payload,
 * timeout, metadata) and the Response a server answers with (a
 * google.rpc.Status and a payload), as protobuf-c messages generated from
 * ttrpc's request.proto (shim-bridge/shim/proto), decoded with bounds and
 * checks and encoded into buffers the caller owns. Also the google.rpc.Code
 * values a Status carries. */
#ifndef SPINKUBE_SHIM_TTRPC_MESSAGE_H
#define SPINKUBE_SHIM_TTRPC_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "shim-bridge/shim/proto/request.pb-c.h"

/* google.rpc.Code (googleapis google/rpc/code.proto), as ttrpc's Go peers
 * read them through grpc's status package. */
enum sk_rpc_code {
	SK_RPC_OK = 0,
	SK_RPC_CANCELLED = 1,
	SK_RPC_UNKNOWN = 2,
	SK_RPC_INVALID_ARGUMENT = 3,
	SK_RPC_DEADLINE_EXCEEDED = 4,
	SK_RPC_NOT_FOUND = 5,
	SK_RPC_ALREADY_EXISTS = 6,
	SK_RPC_PERMISSION_DENIED = 7,
	SK_RPC_RESOURCE_EXHAUSTED = 8,
	SK_RPC_FAILED_PRECONDITION = 9,
	SK_RPC_ABORTED = 10,
	SK_RPC_OUT_OF_RANGE = 11,
	SK_RPC_UNIMPLEMENTED = 12,
	SK_RPC_INTERNAL = 13,
	SK_RPC_UNAVAILABLE = 14,
	SK_RPC_DATA_LOSS = 15,
	SK_RPC_UNAUTHENTICATED = 16,
};

/* The code's name as grpc spells it ("InvalidArgument"); "Code(N)" names
 * are not made: unknown codes are "unknown code". Static storage. */
const char *sk_rpc_code_name(int code);

/* Longest service or method name accepted, and most metadata pairs. */
#define SK_TTRPC_NAME_MAX 256
#define SK_TTRPC_NAME_MAX_TEXT "256"
#define SK_TTRPC_METADATA_MAX 64

/* Decode the data of a request frame into *out (caller frees with
 * ttrpc__request__free_unpacked(*out, NULL)). Returns 0; -EBADMSG when it is
 * not a ttrpc Request; -EINVAL when the service or method is empty, longer
 * than SK_TTRPC_NAME_MAX or holds a byte outside printable ASCII, the
 * timeout is negative, or there are more than SK_TTRPC_METADATA_MAX metadata
 * pairs. The message says which. */
int sk_ttrpc_request_decode(const uint8_t *data, size_t len, Ttrpc__Request **out, struct sk_error *err);

/* Encode a Request for service/method with payload (len bytes, may be NULL
 * when 0), timeout_nano (0: none) and metadata (NULL, or key, value, ...,
 * NULL: at most SK_TTRPC_METADATA_MAX pairs) into *out (malloc, caller
 * frees) and *out_len. Returns 0, -EMSGSIZE when over a frame's cap, -E2BIG
 * for too many pairs, or -ENOMEM. */
int sk_ttrpc_request_encode(const char *service, const char *method, const char *const *metadata,
	const uint8_t *payload, size_t len, int64_t timeout_nano, uint8_t **out, size_t *out_len, struct sk_error *err);

/* Encode a Response: status code and message (code SK_RPC_OK: no status
 * at all, as ttrpc's Go server sends it; message may be NULL) and payload.
 * Same returns as sk_ttrpc_request_encode. */
int sk_ttrpc_response_encode(int code, const char *message, const uint8_t *payload, size_t len, uint8_t **out,
	size_t *out_len, struct sk_error *err);

/* Decode the data of a response frame into *out (caller frees with
 * ttrpc__response__free_unpacked(*out, NULL)). Returns 0 or -EBADMSG. */
int sk_ttrpc_response_decode(const uint8_t *data, size_t len, Ttrpc__Response **out, struct sk_error *err);

#endif
