/* libFuzzer target: a ttrpc byte stream as a server reads it. Frames are
 * taken off the front with sk_ttrpc_frame_parse until the bytes run out or
 * a header is refused; each request frame goes through the envelope checks
 * and, when it passes, its payload through the task service decoders the
 * shim's handlers use; a decoded request must encode and decode back to the
 * same service, method and payload. No crash, no leak, nothing past the cap. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shim-bridge/shim/proto/runtime-task-v2-shim.pb-c.h"
#include "shim-bridge/shim/ttrpc/frame.h"
#include "shim-bridge/shim/ttrpc/message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(const Ttrpc__Request *req)
{
	uint8_t *b = NULL;
	size_t n = 0;
	if (sk_ttrpc_request_encode(req->service, req->method, NULL, req->payload.data, req->payload.len,
		    req->timeout_nano, &b, &n, NULL) < 0)
		return;
	Ttrpc__Request *again = NULL;
	if (sk_ttrpc_request_decode(b, n, &again, NULL) < 0)
		abort();
	if (strcmp(again->service, req->service) != 0 || strcmp(again->method, req->method) != 0 ||
		again->payload.len != req->payload.len ||
		(req->payload.len && memcmp(again->payload.data, req->payload.data, req->payload.len) != 0))
		abort();
	ttrpc__request__free_unpacked(again, NULL);
	free(b);
}

static void payloads(const Ttrpc__Request *req)
{
	Containerd__Task__V2__StateRequest *st =
		containerd__task__v2__state_request__unpack(NULL, req->payload.len, req->payload.data);
	if (st)
		containerd__task__v2__state_request__free_unpacked(st, NULL);
	Containerd__Task__V2__CreateTaskRequest *cr =
		containerd__task__v2__create_task_request__unpack(NULL, req->payload.len, req->payload.data);
	if (cr)
		containerd__task__v2__create_task_request__free_unpacked(cr, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	while (off < size) {
		struct sk_ttrpc_header h;
		const uint8_t *payload = NULL;
		size_t used = 0;
		int r = sk_ttrpc_frame_parse(data + off, size - off, SK_TTRPC_MAX_PAYLOAD, &h, &payload, &used, NULL);
		if (r <= 0)
			break;
		if (used > size - off || h.length > SK_TTRPC_MAX_PAYLOAD || used != SK_TTRPC_HEADER_LEN + h.length)
			abort();
		if (h.type == SK_TTRPC_REQUEST) {
			Ttrpc__Request *req = NULL;
			if (sk_ttrpc_request_decode(payload, h.length, &req, NULL) == 0) {
				round_trip(req);
				payloads(req);
				ttrpc__request__free_unpacked(req, NULL);
			}
		} else if (h.type == SK_TTRPC_RESPONSE) {
			Ttrpc__Response *resp = NULL;
			if (sk_ttrpc_response_decode(payload, h.length, &resp, NULL) == 0)
				ttrpc__response__free_unpacked(resp, NULL);
		}
		off += used;
	}
	return 0;
}
