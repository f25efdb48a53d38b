/* ttrpc's Request and Response envelope: checked decoding and encoding into
 * caller-owned buffers (see message.h). */
#include "shim-bridge/shim/ttrpc/message.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shim-bridge/shim/ttrpc/frame.h"

const char *sk_rpc_code_name(int code)
{
	static const char *const names[] = {
		"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
		"AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted",
		"OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated",
	};
	if (code < 0 || (size_t)code >= sizeof(names) / sizeof(names[0]))
		return "unknown code";
	return names[code];
}

/* A service or method name: 1..SK_TTRPC_NAME_MAX bytes of printable ASCII
 * without spaces (what protobuf package, service and method names are made
 * of, with room to spare). Returns NULL or what is wrong with it. */
static const char *name_problem(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0)
		return "is empty";
	if (n > SK_TTRPC_NAME_MAX)
		return "is longer than " SK_TTRPC_NAME_MAX_TEXT " bytes";
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return "holds a byte that is not printable ASCII";
	return NULL;
}

int sk_ttrpc_request_decode(const uint8_t *data, size_t len, Ttrpc__Request **out, struct sk_error *err)
{
	Ttrpc__Request *req = ttrpc__request__unpack(NULL, len, data);
	if (!req)
		return sk_err(err, -EBADMSG, "ttrpc request: %zu bytes that are not a ttrpc.Request message", len);
	const char *p;
	int r = 0;
	if ((p = name_problem(req->service)))
		r = sk_err(err, -EINVAL, "ttrpc request: the service name %s", p);
	else if ((p = name_problem(req->method)))
		r = sk_err(err, -EINVAL, "ttrpc request for %s: the method name %s", req->service, p);
	else if (req->timeout_nano < 0)
		r = sk_err(err, -EINVAL, "ttrpc request for %s/%s: negative timeout %lld ns", req->service,
			req->method, (long long)req->timeout_nano);
	else if (req->n_metadata > SK_TTRPC_METADATA_MAX)
		r = sk_err(err, -EINVAL, "ttrpc request for %s/%s: %zu metadata pairs, more than %d", req->service,
			req->method, req->n_metadata, SK_TTRPC_METADATA_MAX);
	if (r < 0) {
		ttrpc__request__free_unpacked(req, NULL);
		return r;
	}
	*out = req;
	return 0;
}

/* Pack msg into a new buffer, refusing what would not fit in one frame. */
static int pack(const ProtobufCMessage *msg, uint8_t **out, size_t *out_len, struct sk_error *err)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	if (n > SK_TTRPC_MAX_PAYLOAD)
		return sk_err(err, -EMSGSIZE, "ttrpc: a %s of %zu bytes is over the frame cap of %u",
			msg->descriptor->short_name, n, SK_TTRPC_MAX_PAYLOAD);
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf)
		return sk_err(err, -ENOMEM, "ttrpc: out of memory for a %s of %zu bytes", msg->descriptor->short_name, n);
	*out_len = protobuf_c_message_pack(msg, buf);
	*out = buf;
	return 0;
}

int sk_ttrpc_request_encode(const char *service, const char *method, const char *const *metadata,
	const uint8_t *payload, size_t len, int64_t timeout_nano, uint8_t **out, size_t *out_len, struct sk_error *err)
{
	Ttrpc__Request req = TTRPC__REQUEST__INIT;
	Ttrpc__KeyValue kv[SK_TTRPC_METADATA_MAX];
	Ttrpc__KeyValue *kvp[SK_TTRPC_METADATA_MAX];
	size_t n = 0;
	for (; metadata && metadata[2 * n]; n++) {
		if (n == SK_TTRPC_METADATA_MAX)
			return sk_err(err, -E2BIG, "ttrpc request for %s/%s: more than %d metadata pairs", service, method,
				SK_TTRPC_METADATA_MAX);
		kv[n] = (Ttrpc__KeyValue)TTRPC__KEY_VALUE__INIT;
		kv[n].key = (char *)(uintptr_t)metadata[2 * n];
		kv[n].value = (char *)(uintptr_t)(metadata[2 * n + 1] ? metadata[2 * n + 1] : "");
		kvp[n] = &kv[n];
	}
	req.metadata = kvp;
	req.n_metadata = n;
	req.service = (char *)(uintptr_t)service;
	req.method = (char *)(uintptr_t)method;
	req.payload.data = (uint8_t *)(uintptr_t)payload;
	req.payload.len = len;
	req.timeout_nano = timeout_nano;
	return pack(&req.base, out, out_len, err);
}

int sk_ttrpc_response_encode(int code, const char *message, const uint8_t *payload, size_t len, uint8_t **out,
	size_t *out_len, struct sk_error *err)
{
	Ttrpc__Response resp = TTRPC__RESPONSE__INIT;
	Google__Rpc__Status status = GOOGLE__RPC__STATUS__INIT;
	if (code != SK_RPC_OK) {
		status.code = code;
		status.message = (char *)(uintptr_t)(message ? message : "");
		resp.status = &status;
	}
	resp.payload.data = (uint8_t *)(uintptr_t)payload;
	resp.payload.len = len;
	return pack(&resp.base, out, out_len, err);
}

int sk_ttrpc_response_decode(const uint8_t *data, size_t len, Ttrpc__Response **out, struct sk_error *err)
{
	Ttrpc__Response *resp = ttrpc__response__unpack(NULL, len, data);
	if (!resp)
		return sk_err(err, -EBADMSG, "ttrpc response: %zu bytes that are not a ttrpc.Response message", len);
	*out = resp;
	return 0;
}
