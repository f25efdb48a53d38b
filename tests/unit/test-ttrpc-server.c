/* shim-bridge/shim/ttrpc/server.c, client.c and events.c over socket pairs
 * and a unix socket in a temporary folder: dispatch to a registered handler,
 * Unimplemented for unknown methods and services and for streaming
 * requests, InvalidArgument for an envelope or a payload that does not
 * decode, the streams-in-flight cap, each protocol break closing the
 * connection with one logged reason, the client's errors and timeout, the
 * accept loop and its shutdown, and an event forwarded through Events/Forward. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shim-bridge/shim/events.h"
#include "shim-bridge/shim/proto/events-task.pb-c.h"
#include "shim-bridge/shim/proto/runtime-task-v2-shim.pb-c.h"
#include "shim-bridge/shim/proto/services-ttrpc-events-v1-events.pb-c.h"
#include "shim-bridge/shim/ttrpc/client.h"
#include "shim-bridge/shim/ttrpc/frame.h"
#include "shim-bridge/shim/ttrpc/message.h"
#include "shim-bridge/shim/ttrpc/server.h"
#include "tests/tap.h"

#define TASK "containerd.task.v2.Task"

struct logged {
	pthread_mutex_t mu;
	int records;
	char fields[1024];
};

static void record(void *ud, enum log_level level, const char *msg, const char *fields)
{
	struct logged *l = ud;
	pthread_mutex_lock(&l->mu);
	l->records++;
	snprintf(l->fields, sizeof(l->fields), "%s %s", msg, fields);
	pthread_mutex_unlock(&l->mu);
}

static int echo(void *ud, const struct sk_ttrpc_call *call, struct sk_ttrpc_reply *reply)
{
	const char *ns = sk_ttrpc_call_metadata(call, SK_TTRPC_NAMESPACE_KEY);
	if (ns && strcmp(ns, "k8s.io") != 0)
		return sk_ttrpc_fail(reply, SK_RPC_FAILED_PRECONDITION, "namespace %s", ns);
	reply->payload = malloc(call->len + 1);
	if (!reply->payload)
		return sk_ttrpc_fail(reply, SK_RPC_RESOURCE_EXHAUSTED, "out of memory");
	if (call->len)
		memcpy(reply->payload, call->payload, call->len);
	reply->len = call->len;
	return SK_RPC_OK;
}

/* Task/State: decodes its StateRequest, answers for that id. */
static int state(void *ud, const struct sk_ttrpc_call *call, struct sk_ttrpc_reply *reply)
{
	Containerd__Task__V2__StateRequest *req = containerd__task__v2__state_request__unpack(NULL, call->len, call->payload);
	if (!req)
		return sk_ttrpc_fail(reply, SK_RPC_INVALID_ARGUMENT, "State: %zu bytes that are not a StateRequest", call->len);
	Containerd__Task__V2__StateResponse resp = CONTAINERD__TASK__V2__STATE_RESPONSE__INIT;
	resp.id = req->id;
	resp.pid = 42;
	resp.status = CONTAINERD__V1__TYPES__STATUS__RUNNING;
	int code = sk_ttrpc_reply_pack(reply, &resp.base);
	containerd__task__v2__state_request__free_unpacked(req, NULL);
	return code;
}

/* Blocks until released: the streams-in-flight cap. */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_open, gate_waiting;
static int gate(void *ud, const struct sk_ttrpc_call *call, struct sk_ttrpc_reply *reply)
{
	pthread_mutex_lock(&gate_mu);
	gate_waiting++;
	pthread_cond_broadcast(&gate_cv);
	while (!gate_open)
		pthread_cond_wait(&gate_cv, &gate_mu);
	pthread_mutex_unlock(&gate_mu);
	return SK_RPC_OK;
}

static int slow(void *ud, const struct sk_ttrpc_call *call, struct sk_ttrpc_reply *reply)
{
	usleep(300 * 1000);
	return SK_RPC_OK;
}

static struct logged logs = { .mu = PTHREAD_MUTEX_INITIALIZER };

static struct sk_ttrpc_server *new_server(unsigned max_streams)
{
	struct sk_ttrpc_server_config cfg = { .log = { record, &logs }, .max_streams = max_streams };
	struct sk_ttrpc_server *srv = NULL;
	if (sk_ttrpc_server_new(&cfg, &srv, NULL) < 0 ||
		sk_ttrpc_server_register(srv, "test.Echo", "Echo", echo, NULL, NULL) < 0 ||
		sk_ttrpc_server_register(srv, TASK, "State", state, NULL, NULL) < 0 ||
		sk_ttrpc_server_register(srv, "test.Echo", "Gate", gate, NULL, NULL) < 0 ||
		sk_ttrpc_server_register(srv, "test.Echo", "Slow", slow, NULL, NULL) < 0)
		abort();
	return srv;
}

struct conn_run {
	struct sk_ttrpc_server *srv;
	int fd;
	int result;
	struct sk_error err;
	pthread_t t;
};

static void *conn_main(void *arg)
{
	struct conn_run *cr = arg;
	cr->result = sk_ttrpc_server_serve_conn(cr->srv, cr->fd, &cr->err);
	return NULL;
}

/* Serve one end of a socket pair on a thread; returns the other end. */
static int start(struct conn_run *cr, struct sk_ttrpc_server *srv)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	*cr = (struct conn_run){ .srv = srv, .fd = sv[1] };
	pthread_create(&cr->t, NULL, conn_main, cr);
	return sv[0];
}

static void send_request(int fd, uint32_t stream, uint8_t flags, const char *service, const char *method,
	const void *payload, size_t len)
{
	uint8_t *b = NULL;
	size_t n = 0;
	if (sk_ttrpc_request_encode(service, method, NULL, payload, len, 0, &b, &n, NULL) < 0)
		abort();
	struct sk_ttrpc_header h = { .length = (uint32_t)n, .stream = stream, .type = SK_TTRPC_REQUEST, .flags = flags };
	if (sk_ttrpc_frame_write(fd, &h, b, NULL) < 0)
		abort();
	free(b);
}

static void send_raw(int fd, uint32_t length, uint32_t stream, uint8_t type, uint8_t flags, const void *data)
{
	struct sk_ttrpc_header h = { .length = length, .stream = stream, .type = type, .flags = flags };
	uint8_t b[SK_TTRPC_HEADER_LEN];
	sk_ttrpc_header_encode(b, &h);
	if (write(fd, b, sizeof(b)) != (ssize_t)sizeof(b) || (data && write(fd, data, length) != (ssize_t)length))
		abort();
}

/* Read one response: its stream, status code and payload (caller frees). */
static Ttrpc__Response *recv_response(int fd, uint32_t *stream)
{
	struct sk_ttrpc_header h;
	uint8_t *data = NULL;
	Ttrpc__Response *r = NULL;
	if (sk_ttrpc_frame_read(fd, SK_TTRPC_MAX_PAYLOAD, &h, &data, NULL) != 0 || h.type != SK_TTRPC_RESPONSE ||
		sk_ttrpc_response_decode(data, h.length, &r, NULL) < 0) {
		free(data);
		return NULL;
	}
	free(data);
	*stream = h.stream;
	return r;
}

static int code_of(const Ttrpc__Response *r)
{
	return !r ? -1 : r->status ? r->status->code : 0;
}

static void dispatching(void)
{
	struct sk_ttrpc_server *srv = new_server(0);
	struct conn_run cr;
	int fd = start(&cr, srv);
	uint32_t s = 0;

	send_request(fd, 1, 0, "test.Echo", "Echo", "ping", 4);
	Ttrpc__Response *r = recv_response(fd, &s);
	ok(r && s == 1 && code_of(r) == 0 && r->payload.len == 4 && memcmp(r->payload.data, "ping", 4) == 0,
		"Echo: answered on stream 1 with its payload, no status");
	ttrpc__response__free_unpacked(r, NULL);

	Containerd__Task__V2__StateRequest sreq = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
	char id[] = "app-1";
	sreq.id = id;
	uint8_t sb[64];
	size_t sn = containerd__task__v2__state_request__pack(&sreq, sb);
	send_request(fd, 3, 0, TASK, "State", sb, sn);
	r = recv_response(fd, &s);
	Containerd__Task__V2__StateResponse *st =
		r ? containerd__task__v2__state_response__unpack(NULL, r->payload.len, r->payload.data) : NULL;
	ok(st && strcmp(st->id, "app-1") == 0 && st->pid == 42 && st->status == CONTAINERD__V1__TYPES__STATUS__RUNNING,
		"Task/State: a StateResponse for app-1, pid 42, running");
	if (st)
		containerd__task__v2__state_response__free_unpacked(st, NULL);
	ttrpc__response__free_unpacked(r, NULL);

	send_request(fd, 5, 0, TASK, "State", "\xff\xff\xff", 3);
	r = recv_response(fd, &s);
	is_int(code_of(r), SK_RPC_INVALID_ARGUMENT, "Task/State with protobuf garbage: InvalidArgument (%s)",
		r && r->status ? r->status->message : "");
	ttrpc__response__free_unpacked(r, NULL);

	send_request(fd, 7, 0, TASK, "Pause", NULL, 0);
	r = recv_response(fd, &s);
	is_int(code_of(r), SK_RPC_UNIMPLEMENTED, "Task/Pause, not registered: Unimplemented (%s)",
		r && r->status ? r->status->message : "");
	ttrpc__response__free_unpacked(r, NULL);

	send_request(fd, 9, 0, "no.Such", "Thing", NULL, 0);
	r = recv_response(fd, &s);
	ok(code_of(r) == SK_RPC_UNIMPLEMENTED && strstr(r->status->message, "service no.Such"),
		"unknown service: Unimplemented, naming it");
	ttrpc__response__free_unpacked(r, NULL);

	static const uint8_t garbage[] = { 0x0a, 0x64, 'x' };
	send_raw(fd, sizeof(garbage), 11, SK_TTRPC_REQUEST, 0, garbage);
	r = recv_response(fd, &s);
	ok(code_of(r) == SK_RPC_INVALID_ARGUMENT && s == 11, "an envelope that is not a ttrpc.Request: InvalidArgument");
	ttrpc__response__free_unpacked(r, NULL);

	send_request(fd, 13, SK_TTRPC_FLAG_REMOTE_OPEN, "test.Echo", "Echo", NULL, 0);
	r = recv_response(fd, &s);
	is_int(code_of(r), SK_RPC_UNIMPLEMENTED, "a streaming request: Unimplemented");
	ttrpc__response__free_unpacked(r, NULL);

	send_request(fd, 15, 0, "test.Echo", "Echo", "still", 5);
	r = recv_response(fd, &s);
	ok(code_of(r) == 0 && s == 15, "the connection still serves after those answers");
	ttrpc__response__free_unpacked(r, NULL);

	close(fd);
	pthread_join(cr.t, NULL);
	is_int(cr.result, 0, "the client closing is a clean end");
	sk_ttrpc_server_free(srv);
}

static void stream_cap(void)
{
	struct sk_ttrpc_server *srv = new_server(2);
	struct conn_run cr;
	int fd = start(&cr, srv);
	uint32_t s = 0;
	gate_open = 0;
	gate_waiting = 0;
	send_request(fd, 1, 0, "test.Echo", "Gate", NULL, 0);
	send_request(fd, 3, 0, "test.Echo", "Gate", NULL, 0);
	pthread_mutex_lock(&gate_mu);
	while (gate_waiting < 2)
		pthread_cond_wait(&gate_cv, &gate_mu);
	pthread_mutex_unlock(&gate_mu);
	send_request(fd, 5, 0, "test.Echo", "Echo", NULL, 0);
	Ttrpc__Response *r = recv_response(fd, &s);
	ok(code_of(r) == SK_RPC_RESOURCE_EXHAUSTED && s == 5,
		"a third request with two in flight and a cap of 2: ResourceExhausted at once (%s)",
		r && r->status ? r->status->message : "");
	ttrpc__response__free_unpacked(r, NULL);
	pthread_mutex_lock(&gate_mu);
	gate_open = 1;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
	uint32_t s1 = 0, s2 = 0;
	Ttrpc__Response *r1 = recv_response(fd, &s1), *r2 = recv_response(fd, &s2);
	ok(code_of(r1) == 0 && code_of(r2) == 0 && s1 + s2 == 4, "the two held calls answer when released");
	ttrpc__response__free_unpacked(r1, NULL);
	ttrpc__response__free_unpacked(r2, NULL);
	send_request(fd, 7, 0, "test.Echo", "Echo", NULL, 0);
	r = recv_response(fd, &s);
	ok(code_of(r) == 0 && s == 7, "below the cap again: served");
	ttrpc__response__free_unpacked(r, NULL);
	close(fd);
	pthread_join(cr.t, NULL);
	sk_ttrpc_server_free(srv);
}

/* Each protocol break: serve_conn returns want, one record says why, the
 * peer sees the connection closed. */
static void breaks(void)
{
	static const struct {
		const char *name;
		uint32_t length, stream;
		uint8_t type, flags;
		int want;
		const char *reason;
	} cases[] = {
		{ "oversized frame", SK_TTRPC_MAX_PAYLOAD + 1, 1, 1, 0, -EMSGSIZE, "over the cap" },
		{ "unknown type 9", 0, 1, 9, 0, -EPROTO, "unknown message type 9" },
		{ "request flags 0x03", 0, 1, 1, 3, -EPROTO, "flags 0x03" },
		{ "stream 0", 0, 0, 1, 0, -EPROTO, "stream 0" },
		{ "even stream", 0, 2, 1, 0, -EPROTO, "even stream id 2" },
		{ "data frame", 0, 1, 3, 0, -EPROTO, "a data frame" },
		{ "response frame", 0, 1, 2, 0, -EPROTO, "a response frame" },
	};
	struct sk_ttrpc_server *srv = new_server(0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conn_run cr;
		int fd = start(&cr, srv);
		int before = logs.records;
		send_raw(fd, cases[i].length, cases[i].stream, cases[i].type, cases[i].flags, NULL);
		pthread_join(cr.t, NULL);
		is_int(cr.result, cases[i].want, "%s: the connection closes (%s)", cases[i].name, cr.err.message);
		ok(logs.records == before + 1 && strstr(logs.fields, cases[i].reason),
			"%s: one record with the reason: %s", cases[i].name, logs.fields);
		char c;
		ok(read(fd, &c, 1) == 0, "%s: the client reads the end", cases[i].name);
		close(fd);
	}
	/* A re-used stream id, after a good call. */
	struct conn_run cr;
	int fd = start(&cr, srv);
	uint32_t s;
	send_request(fd, 5, 0, "test.Echo", "Echo", NULL, 0);
	Ttrpc__Response *r = recv_response(fd, &s);
	ttrpc__response__free_unpacked(r, NULL);
	send_request(fd, 5, 0, "test.Echo", "Echo", NULL, 0);
	pthread_join(cr.t, NULL);
	ok(cr.result == -EPROTO && strstr(logs.fields, "not above the last one (5)"), "a re-used stream id closes: %s",
		logs.fields);
	close(fd);
	/* Closed mid-frame. */
	fd = start(&cr, srv);
	send_raw(fd, 20, 1, 1, 0, NULL);
	if (write(fd, "abc", 3) != 3)
		abort();
	close(fd);
	pthread_join(cr.t, NULL);
	ok(cr.result == -ECONNRESET && strstr(logs.fields, "inside the data of stream 1"),
		"a client gone mid-frame: -ECONNRESET, logged: %s", logs.fields);
	sk_ttrpc_server_free(srv);
}

static void client(void)
{
	struct sk_ttrpc_server *srv = new_server(0);
	struct conn_run cr;
	int fd = start(&cr, srv);
	struct sk_ttrpc_client *c = NULL;
	struct sk_error e = { 0 };
	is_int(sk_ttrpc_client_from_fd(fd, &c, &e), 0, "client on a socket");
	uint8_t *resp = NULL;
	size_t n = 0;
	int code = -1;
	is_int(sk_ttrpc_client_call(c, "test.Echo", "Echo", NULL, (const uint8_t *)"abc", 3, 1000, &resp, &n, &code, &e), 0,
		"client: Echo");
	ok(n == 3 && resp && memcmp(resp, "abc", 3) == 0 && code == 0, "client: Echo's payload back");
	free(resp);
	resp = NULL;
	is_int(sk_ttrpc_client_call(c, TASK, "Pause", NULL, NULL, 0, 1000, &resp, &n, &code, &e), -EREMOTEIO,
		"client: Pause is -EREMOTEIO (%s)", e.message);
	ok(code == SK_RPC_UNIMPLEMENTED && strstr(e.message, "Task/Pause: Unimplemented: "), "client: with code 12 named");
	is_int(sk_ttrpc_client_call(c, "test.Echo", "Echo", NULL, NULL, 0, 1000, &resp, &n, NULL, &e), 0,
		"client: an error answer leaves the connection usable");
	const char *const good_md[] = { "other", "x", SK_TTRPC_NAMESPACE_KEY, "k8s.io", NULL };
	const char *const bad_md[] = { SK_TTRPC_NAMESPACE_KEY, "default", NULL };
	is_int(sk_ttrpc_client_call(c, "test.Echo", "Echo", good_md, NULL, 0, 1000, &resp, &n, NULL, &e), 0,
		"metadata: the handler finds the namespace among the pairs");
	is_int(sk_ttrpc_client_call(c, "test.Echo", "Echo", bad_md, NULL, 0, 1000, &resp, &n, &code, &e), -EREMOTEIO,
		"metadata: another namespace reaches the handler too (%s)", e.message);
	ok(resp == NULL && n == 0, "client: an empty answer is NULL, 0");
	is_int(sk_ttrpc_client_call(c, "test.Echo", "Slow", NULL, NULL, 0, 50, &resp, &n, NULL, &e), -ETIMEDOUT,
		"client: no answer within 50 ms is -ETIMEDOUT (%s)", e.message);
	is_int(sk_ttrpc_client_call(c, "test.Echo", "Echo", NULL, NULL, 0, 1000, &resp, &n, NULL, &e), -ENOTCONN,
		"client: then the connection is broken (%s)", e.message);
	sk_ttrpc_client_free(c);
	pthread_join(cr.t, NULL);
	sk_ttrpc_server_free(srv);
}

/* Events/Forward: the server side decodes the ForwardRequest. */
static char fwd_seen[512];
static int forward(void *ud, const struct sk_ttrpc_call *call, struct sk_ttrpc_reply *reply)
{
	Containerd__Services__Events__Ttrpc__V1__ForwardRequest *f =
		containerd__services__events__ttrpc__v1__forward_request__unpack(NULL, call->len, call->payload);
	if (!f || !f->envelope || !f->envelope->event || !f->envelope->timestamp)
		return sk_ttrpc_fail(reply, SK_RPC_INVALID_ARGUMENT, "not a ForwardRequest with an envelope");
	const Containerd__Types__Envelope *env = f->envelope;
	Containerd__Events__TaskCreate *tc =
		containerd__events__task_create__unpack(NULL, env->event->value.len, env->event->value.data);
	snprintf(fwd_seen, sizeof(fwd_seen), "ns=%s topic=%s type=%s id=%s pid=%u t=%lld.%09d", env->namespace_,
		env->topic, env->event->type_url, tc ? tc->container_id : "?", tc ? tc->pid : 0,
		(long long)env->timestamp->seconds, env->timestamp->nanos);
	if (tc)
		containerd__events__task_create__free_unpacked(tc, NULL);
	containerd__services__events__ttrpc__v1__forward_request__free_unpacked(f, NULL);
	return SK_RPC_OK;
}

struct serve_run {
	struct sk_ttrpc_server *srv;
	int result;
};

static void *serve_main(void *arg)
{
	struct serve_run *sr = arg;
	sr->result = sk_ttrpc_server_serve(sr->srv, NULL);
	return NULL;
}

static void listen_and_events(void)
{
	char dir[] = "/tmp/test-ttrpc.XXXXXX";
	if (!mkdtemp(dir))
		abort();
	char path[128];
	snprintf(path, sizeof(path), "%s/events.sock", dir);
	struct sk_ttrpc_server *srv = new_server(0);
	struct sk_error e = { 0 };
	is_int(sk_ttrpc_server_register(srv, SK_EVENTS_SERVICE, SK_EVENTS_FORWARD, forward, NULL, &e), 0,
		"register Events/Forward");
	is_int(sk_ttrpc_server_register(srv, SK_EVENTS_SERVICE, SK_EVENTS_FORWARD, forward, NULL, &e), -EEXIST,
		"twice: -EEXIST");
	is_int(sk_ttrpc_server_register(srv, "a/b", "c", forward, NULL, &e), -EINVAL, "a service with '/': -EINVAL");
	is_int(sk_ttrpc_server_serve(srv, &e), -EBADF, "serve before listen: -EBADF");
	is_int(sk_ttrpc_server_listen(srv, path, &e), 0, "listen on %s", path);
	struct sk_ttrpc_server *other = new_server(0);
	is_int(sk_ttrpc_server_listen(other, path, &e), -EADDRINUSE, "a second listen on it: -EADDRINUSE");
	sk_ttrpc_server_free(other);
	struct serve_run sr = { .srv = srv, .result = 1 };
	pthread_t t;
	pthread_create(&t, NULL, serve_main, &sr);

	struct sk_ttrpc_client *c = NULL;
	is_int(sk_ttrpc_client_connect(path, &c, &e), 0, "client connects");
	Containerd__Events__TaskCreate tc = CONTAINERD__EVENTS__TASK_CREATE__INIT;
	char id[] = "app-1", bundle[] = "/run/bundle";
	tc.container_id = id;
	tc.bundle = bundle;
	tc.pid = 4242;
	is_int(sk_events_forward(c, "k8s.io", SK_TOPIC_TASK_CREATE, &tc.base, 1700000000123456789LL, 1000, &e), 0,
		"Forward a TaskCreate (%s)", e.message);
	is_str(fwd_seen, "ns=k8s.io topic=/tasks/create type=containerd.events.TaskCreate id=app-1 pid=4242 t=1700000000.123456789",
		"the server got the envelope and the event");
	is_int(sk_events_forward(c, "", SK_TOPIC_TASK_CREATE, &tc.base, 0, 1000, &e), -EINVAL, "no namespace: -EINVAL");
	/* A second client while the first is open. */
	struct sk_ttrpc_client *c2 = NULL;
	uint8_t *resp = NULL;
	size_t n = 0;
	is_int(sk_ttrpc_client_connect(path, &c2, &e), 0, "a second client connects");
	is_int(sk_ttrpc_client_call(c2, "test.Echo", "Echo", NULL, (const uint8_t *)"2", 1, 1000, &resp, &n, NULL, &e), 0,
		"and is served");
	free(resp);
	sk_ttrpc_server_shutdown(srv);
	pthread_join(t, NULL);
	is_int(sr.result, 0, "shutdown: serve returns 0 with clients still connected");
	int r = sk_ttrpc_client_call(c, "test.Echo", "Echo", NULL, NULL, 0, 1000, &resp, &n, NULL, &e);
	ok(r == -EPIPE || r == -ECONNRESET, "a client after shutdown: -EPIPE or -ECONNRESET (%s)", e.message);
	sk_ttrpc_client_free(c);
	sk_ttrpc_client_free(c2);
	sk_ttrpc_server_free(srv);
	char longp[200];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	is_int(sk_ttrpc_client_connect(longp, &c, &e), -ENAMETOOLONG, "a socket path too long: -ENAMETOOLONG");
	is_int(sk_ttrpc_client_connect(path, &c, &e), -ECONNREFUSED, "nobody listening: -ECONNREFUSED (%s)", e.message);
	unlink(path);
	rmdir(dir);
}

/* max_conns 1: a second connection is closed at once, with a record. */
static void conn_cap(void)
{
	char dir[] = "/tmp/test-ttrpc.XXXXXX";
	if (!mkdtemp(dir))
		abort();
	char path[128];
	snprintf(path, sizeof(path), "%s/cap.sock", dir);
	/* A logger of its own: records of the other tests' servers, which may
	 * still be closing their connections, cannot reach it. */
	static struct logged mine = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct sk_ttrpc_server_config cfg = { .log = { record, &mine }, .max_conns = 1 };
	struct sk_ttrpc_server *srv = NULL;
	struct sk_error e = { 0 };
	if (sk_ttrpc_server_new(&cfg, &srv, NULL) < 0 || sk_ttrpc_server_register(srv, "test.Echo", "Echo", echo, NULL, NULL) < 0 ||
		sk_ttrpc_server_listen(srv, path, &e) < 0)
		abort();
	struct serve_run sr = { .srv = srv, .result = 1 };
	pthread_t t;
	pthread_create(&t, NULL, serve_main, &sr);
	struct sk_ttrpc_client *c1 = NULL, *c2 = NULL;
	uint8_t *resp = NULL;
	size_t n = 0;
	sk_ttrpc_client_connect(path, &c1, &e);
	is_int(sk_ttrpc_client_call(c1, "test.Echo", "Echo", NULL, NULL, 0, 1000, &resp, &n, NULL, &e), 0,
		"max_conns 1: the first connection is served");
	int before = mine.records;
	sk_ttrpc_client_connect(path, &c2, &e);
	int r = sk_ttrpc_client_call(c2, "test.Echo", "Echo", NULL, NULL, 0, 1000, &resp, &n, NULL, &e);
	ok(r == -ECONNRESET || r == -EPIPE, "max_conns 1: a second one is closed (%s)", e.message);
	/* The server may log just after it closed the socket: wait for it (2 s at most). */
	for (int i = 0; i < 200; i++) {
		pthread_mutex_lock(&mine.mu);
		int got = mine.records;
		pthread_mutex_unlock(&mine.mu);
		if (got > before)
			break;
		usleep(10000);
	}
	pthread_mutex_lock(&mine.mu);
	ok(mine.records == before + 1 && strstr(mine.fields, "1 connections are open"), "with one record: %s",
		mine.fields);
	pthread_mutex_unlock(&mine.mu);
	sk_ttrpc_client_free(c2);
	sk_ttrpc_client_free(c1);
	/* The slot is free again once the first client is gone. */
	for (int i = 0; i < 100; i++) {
		c1 = NULL;
		sk_ttrpc_client_connect(path, &c1, &e);
		r = sk_ttrpc_client_call(c1, "test.Echo", "Echo", NULL, NULL, 0, 1000, &resp, &n, NULL, &e);
		sk_ttrpc_client_free(c1);
		if (r == 0)
			break;
		usleep(10 * 1000);
	}
	is_int(r, 0, "max_conns 1: after the first closes, a new connection is served");
	sk_ttrpc_server_shutdown(srv);
	pthread_join(t, NULL);
	sk_ttrpc_server_free(srv);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	dispatching();
	stream_cap();
	breaks();
	client();
	listen_and_events();
	conn_cap();
	return tap_done();
}
