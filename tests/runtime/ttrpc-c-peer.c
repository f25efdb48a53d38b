/* Our side of tests/runtime/ttrpc.sh, against the real Go ttrpc:
 *
 *   runtime-ttrpc-peer serve SOCKET    a ttrpc server with the task service's
 *                                      State (a test answer: the namespace
 *                                      from the metadata as the bundle) and Shutdown
 *                                      (stops the server); prints "serving"
 *   runtime-ttrpc-peer forward SOCKET  publish TaskCreate, TaskStart,
 *                                      TaskExit and TaskDelete to the events
 *                                      service at SOCKET, one line each
 *
 * Exit 0 on success, 1 with one line on stderr on failure. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "shim-bridge/shim/events.h"
#include "shim-bridge/shim/proto/events-task.pb-c.h"
#include "shim-bridge/shim/proto/runtime-task-v2-shim.pb-c.h"
#include "shim-bridge/shim/ttrpc/message.h"
#include "shim-bridge/shim/ttrpc/server.h"

#define TASK "containerd.task.v2.Task"

static int state(void *ud, const struct sk_ttrpc_call *call, struct sk_ttrpc_reply *reply)
{
	Containerd__Task__V2__StateRequest *req = containerd__task__v2__state_request__unpack(NULL, call->len, call->payload);
	if (!req)
		return sk_ttrpc_fail(reply, SK_RPC_INVALID_ARGUMENT, "State: %zu bytes that are not a StateRequest", call->len);
	Containerd__Task__V2__StateResponse resp = CONTAINERD__TASK__V2__STATE_RESPONSE__INIT;
	resp.id = req->id;
	/* A test answer: the namespace the client sent, where the bundle goes. */
	const char *ns = sk_ttrpc_call_metadata(call, SK_TTRPC_NAMESPACE_KEY);
	resp.bundle = (char *)(uintptr_t)(ns ? ns : "");
	resp.pid = 42;
	resp.status = CONTAINERD__V1__TYPES__STATUS__RUNNING;
	int code = sk_ttrpc_reply_pack(reply, &resp.base);
	containerd__task__v2__state_request__free_unpacked(req, NULL);
	return code;
}

static int shutdown_method(void *ud, const struct sk_ttrpc_call *call, struct sk_ttrpc_reply *reply)
{
	sk_ttrpc_server_shutdown(ud);
	return SK_RPC_OK;
}

static int serve(const char *path)
{
	struct sk_ttrpc_server_config cfg = { .log = *sk_log_sink_stderr() };
	struct sk_ttrpc_server *srv = NULL;
	struct sk_error e = { 0 };
	int r = sk_ttrpc_server_new(&cfg, &srv, &e);
	if (r == 0)
		r = sk_ttrpc_server_register(srv, TASK, "State", state, NULL, &e);
	if (r == 0)
		r = sk_ttrpc_server_register(srv, TASK, "Shutdown", shutdown_method, srv, &e);
	if (r == 0)
		r = sk_ttrpc_server_listen(srv, path, &e);
	if (r == 0) {
		printf("serving\n");
		fflush(stdout);
		r = sk_ttrpc_server_serve(srv, &e);
	}
	sk_ttrpc_server_free(srv);
	if (r < 0)
		fprintf(stderr, "runtime-ttrpc-peer: %s\n", e.message);
	return r < 0;
}

static int forward(const char *path)
{
	struct sk_ttrpc_client *c = NULL;
	struct sk_error e = { 0 };
	if (sk_ttrpc_client_connect(path, &c, &e) < 0) {
		fprintf(stderr, "runtime-ttrpc-peer: %s\n", e.message);
		return 1;
	}
	char id[] = "app-1", bundle[] = "/run/containerd/io.containerd.runtime.v2.task/k8s.io/app-1";
	const int64_t t0 = 1700000000123456789LL;
	Containerd__Events__TaskCreate create = CONTAINERD__EVENTS__TASK_CREATE__INIT;
	create.container_id = id;
	create.bundle = bundle;
	create.pid = 4242;
	Containerd__Events__TaskStart start = CONTAINERD__EVENTS__TASK_START__INIT;
	start.container_id = id;
	start.pid = 4242;
	Google__Protobuf__Timestamp at = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	at.seconds = 1700000060;
	at.nanos = 5;
	Containerd__Events__TaskExit exit_ev = CONTAINERD__EVENTS__TASK_EXIT__INIT;
	exit_ev.container_id = id;
	exit_ev.id = id;
	exit_ev.pid = 4242;
	exit_ev.exit_status = 137;
	exit_ev.exited_at = &at;
	Containerd__Events__TaskDelete del = CONTAINERD__EVENTS__TASK_DELETE__INIT;
	del.container_id = id;
	del.pid = 4242;
	del.exit_status = 137;
	del.exited_at = &at;
	const struct {
		const char *topic;
		const ProtobufCMessage *msg;
	} evs[] = {
		{ SK_TOPIC_TASK_CREATE, &create.base },
		{ SK_TOPIC_TASK_START, &start.base },
		{ SK_TOPIC_TASK_EXIT, &exit_ev.base },
		{ SK_TOPIC_TASK_DELETE, &del.base },
	};
	int failed = 0;
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		int r = sk_events_forward(c, "k8s.io", evs[i].topic, evs[i].msg, t0 + (int64_t)i, 5000, &e);
		if (r < 0) {
			fprintf(stderr, "runtime-ttrpc-peer: %s\n", e.message);
			failed = 1;
			break;
		}
		printf("forwarded %s\n", evs[i].topic);
	}
	sk_ttrpc_client_free(c);
	return failed;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "serve") == 0)
		return serve(argv[2]);
	if (argc == 3 && strcmp(argv[1], "forward") == 0)
		return forward(argv[2]);
	fprintf(stderr, "usage: runtime-ttrpc-peer serve SOCKET | forward SOCKET\n");
	return 2;
}
