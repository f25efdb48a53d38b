/* Task events published to containerd: an event message (TaskCreate,
 * TaskStart, TaskExit, TaskDelete, TaskOOM of events/task.proto) wrapped
 * in a types.Envelope (time, namespace, topic, the event as an Any) and sent
 * with containerd.services.events.ttrpc.v1.Events/Forward over a ttrpc
 * client connected to TTRPC_ADDRESS, as containerd's own shims do. */
#ifndef SPINKUBE_SHIM_EVENTS_H
#define SPINKUBE_SHIM_EVENTS_H

#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "common/err.h"
#include "shim-bridge/shim/ttrpc/client.h"

#define SK_EVENTS_SERVICE "containerd.services.events.ttrpc.v1.Events"
#define SK_EVENTS_FORWARD "Forward"

/* The topics containerd's runtime v2 shims publish task events on. */
#define SK_TOPIC_TASK_CREATE "/tasks/create"
#define SK_TOPIC_TASK_START "/tasks/start"
#define SK_TOPIC_TASK_EXIT "/tasks/exit"
#define SK_TOPIC_TASK_DELETE "/tasks/delete"
#define SK_TOPIC_TASK_OOM "/tasks/oom"

/* The ttrpc metadata key containerd reads the namespace from. */
#define SK_TTRPC_NAMESPACE_KEY "containerd-namespace-ttrpc"

/* Forward event (any generated message; its type URL is its full protobuf
 * name, "containerd.events.TaskCreate", as containerd's typeurl makes it)
 * on topic in namespace ns, stamped time_ns (nanoseconds since the epoch),
 * waiting up to timeout_ms for containerd's answer. Returns 0 or what
 * sk_ttrpc_client_call returns (-EINVAL for an empty namespace or topic). */
int sk_events_forward(struct sk_ttrpc_client *c, const char *ns, const char *topic, const ProtobufCMessage *event,
	int64_t time_ns, int timeout_ms, struct sk_error *err);

/* The same for an event already packed: value[0..n) is a message of the
 * protobuf type type_name. */
int sk_events_forward_packed(struct sk_ttrpc_client *c, const char *ns, const char *topic, const char *type_name,
	const uint8_t *value, size_t n, int64_t time_ns, int timeout_ms, struct sk_error *err);

#endif
