/* Task events wrapped in an Envelope and sent with Events/Forward (see
 * events.h). */
#include "shim-bridge/shim/events.h"

#include <errno.h>
#include <stdlib.h>

#include "common/cleanup.h"
#include "shim-bridge/shim/proto/services-ttrpc-events-v1-events.pb-c.h"
#include "shim-bridge/shim/proto/types-event.pb-c.h"
#include "shim-bridge/shim/ttrpc/frame.h"

int sk_events_forward(struct sk_ttrpc_client *c, const char *ns, const char *topic, const ProtobufCMessage *event,
	int64_t time_ns, int timeout_ms, struct sk_error *err)
{
	size_t n = protobuf_c_message_get_packed_size(event);
	if (n > SK_TTRPC_MAX_PAYLOAD)
		return sk_err(err, -EMSGSIZE, "event %s: %zu bytes, over the frame cap", event->descriptor->name, n);
	_cleanup_free_ uint8_t *value = malloc(n ? n : 1);
	if (!value)
		return sk_err(err, -ENOMEM, "event %s: out of memory", event->descriptor->name);
	protobuf_c_message_pack(event, value);
	return sk_events_forward_packed(c, ns, topic, event->descriptor->name, value, n, time_ns, timeout_ms, err);
}

int sk_events_forward_packed(struct sk_ttrpc_client *c, const char *ns, const char *topic, const char *type_name,
	const uint8_t *value, size_t n, int64_t time_ns, int timeout_ms, struct sk_error *err)
{
	if (!ns || !*ns || !topic || !*topic)
		return sk_err(err, -EINVAL, "event %s: the namespace and the topic must not be empty", type_name);
	Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
	any.type_url = (char *)(uintptr_t)type_name;
	any.value.data = (uint8_t *)(uintptr_t)value;
	any.value.len = n;
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	ts.seconds = time_ns / 1000000000;
	ts.nanos = (int32_t)(time_ns % 1000000000);
	Containerd__Types__Envelope env = CONTAINERD__TYPES__ENVELOPE__INIT;
	env.timestamp = &ts;
	env.namespace_ = (char *)(uintptr_t)ns;
	env.topic = (char *)(uintptr_t)topic;
	env.event = &any;
	Containerd__Services__Events__Ttrpc__V1__ForwardRequest fwd =
		CONTAINERD__SERVICES__EVENTS__TTRPC__V1__FORWARD_REQUEST__INIT;
	fwd.envelope = &env;

	size_t len = protobuf_c_message_get_packed_size(&fwd.base);
	if (len > SK_TTRPC_MAX_PAYLOAD)
		return sk_err(err, -EMSGSIZE, "event %s: %zu bytes, over the frame cap", type_name, len);
	_cleanup_free_ uint8_t *req = malloc(len);
	if (!req)
		return sk_err(err, -ENOMEM, "event %s: out of memory", type_name);
	protobuf_c_message_pack(&fwd.base, req);

	const char *const md[] = { SK_TTRPC_NAMESPACE_KEY, ns, NULL };
	_cleanup_free_ uint8_t *resp = NULL;
	size_t resp_len = 0;
	int r = sk_ttrpc_client_call(c, SK_EVENTS_SERVICE, SK_EVENTS_FORWARD, md, req, len, timeout_ms, &resp,
		&resp_len, NULL, err);
	if (r < 0)
		return sk_err_prefix(err, "event %s on %s", type_name, topic);
	return 0;
}
