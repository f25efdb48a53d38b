/* libFuzzer target: the payload of a task service call as the shim's
 * handlers decode it (service.c's DECODE), for every request type it
 * serves; an UpdateTaskRequest's resources then go through
 * shim_stats_resources as Update does; whatever decodes is freed. Nothing
 * may crash or leak, and a refused resources payload is one line. (No
 * pack-and-decode-again check: protobuf-c takes a tag 0 written as the
 * two-byte varint 80 00 as an unknown field, then refuses what it packs
 * from it. The shim never packs a request again.) */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "common/escape.h"
#include "shim-bridge/shim/proto/runtime-task-v2-shim.pb-c.h"
#include "shim-bridge/shim/stats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const ProtobufCMessageDescriptor *const requests[] = {
	&containerd__task__v2__create_task_request__descriptor,
	&containerd__task__v2__start_request__descriptor,
	&containerd__task__v2__state_request__descriptor,
	&containerd__task__v2__wait_request__descriptor,
	&containerd__task__v2__pids_request__descriptor,
	&containerd__task__v2__kill_request__descriptor,
	&containerd__task__v2__delete_request__descriptor,
	&containerd__task__v2__shutdown_request__descriptor,
	&containerd__task__v2__close_iorequest__descriptor,
	&containerd__task__v2__update_task_request__descriptor,
	&containerd__task__v2__stats_request__descriptor,
	&containerd__task__v2__connect_request__descriptor,
};

static void update(const Containerd__Task__V2__UpdateTaskRequest *u)
{
	struct shim_cgroup_limits lim;
	struct sk_error err = { 0 };

	if (!u->resources)
		return;
	int r = shim_stats_resources(u->resources, &lim, &err);
	if (r == 0) {
		if (lim.memory_limit < 0 || lim.cpu_quota < 0 || lim.pids_limit < 0)
			__builtin_trap(); /* negative figures are "none", never passed on */
	} else if (r != -EINVAL || err.code != r || !sk_is_one_line(err.message)) {
		__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
		ProtobufCMessage *m = protobuf_c_message_unpack(requests[i], NULL, size, data);
		if (!m)
			continue;
		if (requests[i] == &containerd__task__v2__update_task_request__descriptor)
			update((const Containerd__Task__V2__UpdateTaskRequest *)m);
		protobuf_c_message_free_unpacked(m, NULL);
	}
	return 0;
}
