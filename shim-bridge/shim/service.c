/* The task service, containerd.task.v2.Task (see shim.h): the methods
 * containerd and its CRI call for each container of the pod.
 *
 * A sandbox container runs no process: the shim itself stands in for the
 * pause process (its pid is the sandbox's pid), keeps the pod's network
 * namespace path from the sandbox's spec and enters it for each app
 * process. An app container is one app process (process.c) running the
 * Spin app (app.c). Exec, ResizePty, Pause, Resume and Checkpoint answer
 * Unimplemented with the reason. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "shim-bridge/runtime/staging.h"
#include "shim-bridge/shim/cgroup.h"
#include "shim-bridge/shim/events.h"
#include "shim-bridge/shim/proto/events-task.pb-c.h"
#include "shim-bridge/shim/proto/google-protobuf-empty.pb-c.h"
#include "shim-bridge/shim/proto/runtime-task-v2-shim.pb-c.h"
#include "shim-bridge/shim/shim.h"
#include "shim-bridge/shim/stats.h"
#include "spinkube-version.h"

#define TASK_SERVICE "containerd.task.v2.Task"

int64_t shim_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct shim_container *shim_find(struct shim *s, const char *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->c[i]->id, id) == 0)
			return s->c[i];
	return NULL;
}

/* Room for more containers (caller holds mu). */
static int grow(struct shim *s)
{
	size_t cap = s->cap ? s->cap * 2 : 16;
	struct shim_container **c = realloc(s->c, cap * sizeof(*c));

	if (!c)
		return -ENOMEM;
	s->c = c;
	s->cap = cap;
	return 0;
}

static void container_free(struct shim_container *c)
{
	if (!c)
		return;
	if (c->go_fd >= 0)
		close(c->go_fd);
	if (c->oom_fd >= 0)
		close(c->oom_fd);
	shim_spec_free(&c->spec);
	free(c->cgroup);
	free(c->id);
	free(c->bundle);
	free(c->stdout_path);
	free(c->stderr_path);
	free(c);
}

/* Decode the request of type T (its descriptor d) into a local m, or answer
 * InvalidArgument. */
#define DECODE(T, d, m)                                                                                       \
	_cleanup_(proto_freep) T *m = (T *)protobuf_c_message_unpack(&(d), NULL, call->len, call->payload);    \
	if (!m)                                                                                               \
		return sk_ttrpc_fail(reply, SK_RPC_INVALID_ARGUMENT, "%s: the request does not decode", call->method)

static void proto_freep(void *p)
{
	ProtobufCMessage **m = p;
	if (*m)
		protobuf_c_message_free_unpacked(*m, NULL);
}

static Google__Protobuf__Timestamp stamp(int64_t ns)
{
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	ts.seconds = ns / 1000000000;
	ts.nanos = (int32_t)(ns % 1000000000);
	return ts;
}

static int empty_reply(struct sk_ttrpc_reply *reply)
{
	Google__Protobuf__Empty e = GOOGLE__PROTOBUF__EMPTY__INIT;
	return sk_ttrpc_reply_pack(reply, &e.base);
}

static int not_found(struct sk_ttrpc_reply *reply, const char *id)
{
	return sk_ttrpc_fail(reply, SK_RPC_NOT_FOUND, "container %s: not found", id);
}

/* Lock mu and find id: the container with mu held, or NULL (mu released)
 * with reply set to NotFound. */
static struct shim_container *lock_find(struct shim *s, const char *id, struct sk_ttrpc_reply *reply)
{
	pthread_mutex_lock(&s->mu);
	struct shim_container *c = shim_find(s, id);
	if (!c) {
		pthread_mutex_unlock(&s->mu);
		(void)not_found(reply, id);
	}
	return c;
}

/* --- Create ------------------------------------------------------------------- */

static int mount_rootfs(struct shim_container *c, Containerd__Types__Mount **m, size_t n, struct sk_error *err)
{
	char target[PATH_MAX], data[8192];
	unsigned long flags = 0;
	size_t len = 0;

	if (n == 0)
		return 0;
	if (n > 1)
		return sk_err(err, -EINVAL, "container %s: %zu rootfs mounts (the shim takes one)", c->id, n);
	snprintf(target, sizeof(target), "%s/rootfs", c->bundle);
	if (mkdir(target, 0711) < 0 && errno != EEXIST)
		return sk_err(err, -errno, "cannot make %s: %s", target, strerror(errno));
	data[0] = '\0';
	for (size_t i = 0; i < m[0]->n_options; i++) {
		const char *o = m[0]->options[i];
		if (strcmp(o, "ro") == 0)
			flags |= MS_RDONLY;
		else if (strcmp(o, "rbind") == 0)
			flags |= MS_BIND | MS_REC;
		else if (strcmp(o, "bind") == 0)
			flags |= MS_BIND;
		else if (strcmp(o, "rw") != 0) {
			int w = snprintf(data + len, sizeof(data) - len, "%s%s", len ? "," : "", o);
			if (w < 0 || (size_t)w >= sizeof(data) - len)
				return sk_err(err, -E2BIG, "container %s: rootfs mount options too long", c->id);
			len += (size_t)w;
		}
	}
	const char *type = strcmp(m[0]->type, "bind") == 0 ? NULL : m[0]->type;
	if (mount(m[0]->source, target, type, flags, len ? data : NULL) < 0)
		return sk_err(err, -errno, "container %s: cannot mount its rootfs (%s): %s", c->id, m[0]->type,
			      strerror(errno));
	c->rootfs_mounted = true;
	return 0;
}

static void unmount_rootfs(struct shim_container *c)
{
	char target[PATH_MAX];

	if (!c->rootfs_mounted)
		return;
	snprintf(target, sizeof(target), "%s/rootfs", c->bundle);
	if (umount2(target, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		log_warn("rootfs", "container=%s error=\"umount %s: %s\"", c->id, target, strerror(errno));
	c->rootfs_mounted = false;
}

/* Milliseconds since t0_ns (CLOCK_MONOTONIC): the handlers' own time, logged. */
static double since_ms(int64_t t0_ns)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)((int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec - t0_ns) / 1e6;
}

int64_t shim_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int create_app(struct shim *s, struct shim_container *c, Containerd__Task__V2__CreateTaskRequest *m,
		      struct sk_error *err)
{
	int64_t t0 = shim_mono_ns();
	int r = mount_rootfs(c, m->rootfs, m->n_rootfs, err);

	if (r < 0)
		return r;
	c->t_mount_ms = since_ms(t0);
	if (s->shared)
		return shim_shared_create(s, c, err);
	/* The process and its cgroup (process.c), then its OOM kills watched. */
	if ((r = shim_process_spawn(s, c, err)) < 0)
		return r;
	if (c->cgroup) {
		int fd = shim_cgroup_oom_fd(s->cgroup_root, c->cgroup, err);
		if (fd < 0 && fd != -ENOTSUP)
			return fd;
		c->oom_fd = fd >= 0 ? fd : -1;
	}
	return 0;
}

static void cleanup_container(struct shim *s, struct shim_container *c)
{
	struct sk_error err = { 0 };

	unmount_rootfs(c);
	if (c->cgroup_made && shim_cgroup_remove(s->cgroup_root, c->cgroup, &err) < 0)
		log_warn("cgroup", "container=%s error=\"%s\"", c->id, err.message);
	c->cgroup_made = false;
	char state[PATH_MAX];
	if ((size_t)snprintf(state, sizeof(state), "%s/containers/%s", s->state_dir, c->id) < sizeof(state))
		(void)sb_remove_tree(state);
}

static int h_create(void *ud, const struct sk_ttrpc_call *call, struct sk_ttrpc_reply *reply)
{
	struct shim *s = ud;
	int64_t t0 = shim_mono_ns();
	struct sk_error err = { 0 };
	DECODE(Containerd__Task__V2__CreateTaskRequest, containerd__task__v2__create_task_request__descriptor, m);
	struct shim_container *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return sk_ttrpc_fail(reply, SK_RPC_RESOURCE_EXHAUSTED, "out of memory");
	c->go_fd = -1;
	c->oom_fd = -1;
	c->id = strdup(m->id);
	c->bundle = strdup(m->bundle);
	c->stdout_path = strdup(m->stdout);
	c->stderr_path = strdup(m->stderr);
	if (!c->id || !c->bundle || !c->stdout_path || !c->stderr_path) {
		container_free(c);
		return sk_ttrpc_fail(reply, SK_RPC_RESOURCE_EXHAUSTED, "out of memory");
	}
	if (m->terminal) {
		container_free(c);
		return sk_ttrpc_fail(reply, SK_RPC_INVALID_ARGUMENT, "container %s: a terminal (tty: true) is not "
					     "supported by Spin apps: remove tty from the container", m->id);
	}
	r = shim_spec_load(m->bundle, &c->spec, &err);
	if (r < 0) {
		container_free(c);
		return sk_ttrpc_fail(reply, SK_RPC_INVALID_ARGUMENT, "%s", err.message);
	}
	c->sandbox = c->spec.sandbox;
	pthread_mutex_lock(&s->mu);
	size_t max = s->shared ? SHIM_MAX_SHARED_CONTAINERS : SHIM_MAX_CONTAINERS;
	if (shim_find(s, c->id) || s->n == max || (s->n == s->cap && grow(s) < 0)) {
		bool dup = shim_find(s, c->id) != NULL;
		pthread_mutex_unlock(&s->mu);
		container_free(c);
		if (dup)
			return sk_ttrpc_fail(reply, SK_RPC_ALREADY_EXISTS, "container %s: already exists", m->id);
		if (s->n < max)
			return sk_ttrpc_fail(reply, SK_RPC_RESOURCE_EXHAUSTED, "out of memory");
		return sk_ttrpc_fail(reply, SK_RPC_RESOURCE_EXHAUSTED, s->shared ?
				     "a shared node runtime holds at most %zu containers: run more pods with the "
				     "per-pod runtime" : "a pod holds at most %zu containers", max);
	}
	if (c->sandbox) {
		free(s->pod_netns);
		s->pod_netns = c->spec.netns ? strdup(c->spec.netns) : NULL;
		free(s->pod_cgroup);
		s->pod_cgroup = NULL;
		if (c->spec.cgroups_path && strrchr(c->spec.cgroups_path, '/') &&
		    (s->pod_cgroup = strdup(c->spec.cgroups_path)))
			*strrchr(s->pod_cgroup, '/') = '\0';
		c->pid = getpid();
	}
	c->status = SHIM_CREATED;
	s->c[s->n++] = c;
	pthread_mutex_unlock(&s->mu);

	if (!c->sandbox && (r = create_app(s, c, m, &err)) < 0) {
		pthread_mutex_lock(&s->mu);
		for (size_t i = 0; i < s->n; i++)
			if (s->c[i] == c)
				s->c[i] = s->c[--s->n];
		pthread_mutex_unlock(&s->mu);
		shim_shared_release(c);
		cleanup_container(s, c);
		container_free(c);
		log_error("create failed", "container=%s error=\"%s\"", m->id, err.message);
		return sk_ttrpc_fail(reply, SK_RPC_FAILED_PRECONDITION, "%s", err.message);
	}
	if (c->oom_fd >= 0)
		shim_process_wake(s);
	if (c->sandbox && !s->shared)
		shim_process_prespawn(s);
	if (c->sandbox)
		log_info("created", "container=%s sandbox=yes pid=%d ms=%.3f", c->id, (int)c->pid, since_ms(t0));
	else
		log_info("created", "container=%s sandbox=no pid=%d ms=%.3f mount_ms=%.3f cgroup_ms=%.3f spare=%s",
			 c->id, (int)c->pid, since_ms(t0), c->t_mount_ms, c->t_cgroup_ms, c->from_spare ? "yes" : "no");

	Containerd__Events__TaskIO io = CONTAINERD__EVENTS__TASK_IO__INIT;
	io.stdin = m->stdin;
	io.stdout = m->stdout;
	io.stderr = m->stderr;
	Containerd__Events__TaskCreate ev = CONTAINERD__EVENTS__TASK_CREATE__INIT;
	ev.container_id = m->id;
	ev.bundle = m->bundle;
	ev.n_rootfs = m->n_rootfs;
	ev.rootfs = m->rootfs;
	ev.io = &io;
	ev.pid = (uint32_t)c->pid;
	shim_publish(s, SK_TOPIC_TASK_CREATE, &ev.base);

	Containerd__Task__V2__CreateTaskResponse resp = CONTAINERD__TASK__V2__CREATE_TASK_RESPONSE__INIT;
	resp.pid = (uint32_t)c->pid;
	return sk_ttrpc_reply_pack(reply, &resp.base);
}

/* --- Start, State, Wait, Pids, Connect ---------------------------------------- */

static int h_start(void *ud, const struct sk_ttrpc_call *call, struct sk_ttrpc_reply *reply)
{
	struct shim *s = ud;
	int64_t t0 = shim_mono_ns();
	struct sk_error err = { 0 };
	DECODE(Containerd__Task__V2__StartRequest, containerd__task__v2__start_request__descriptor, m);

	if (m->exec_id[0])
		return sk_ttrpc_fail(reply, SK_RPC_NOT_FOUND, "exec %s: not found (the shim runs no execs)", m->exec_id);
	struct shim_container *c = lock_find(s, m->id, reply);
	if (!c)
		return reply->code;
	if (c->status != SHIM_CREATED) {
		pthread_mutex_unlock(&s->mu);
		return sk_ttrpc_fail(reply, SK_RPC_FAILED_PRECONDITION, "container %s: not in the created state", m->id);
	}
	bool in_process = c->app != NULL;
	int r = c->sandbox || in_process ? 0 : shim_process_release(c, &err);
	if (r == 0)
		c->status = SHIM_RUNNING;
	uint32_t pid = (uint32_t)c->pid;
	pthread_mutex_unlock(&s->mu);
	if (r < 0)
		return sk_ttrpc_fail(reply, SK_RPC_FAILED_PRECONDITION, "%s", err.message);
	/* Shared mode: the app loads now, as an app process's would after
	 * Start; a failure is its exit with status 1, after the start event. */
	int load = in_process ? shim_shared_run(s, c, &err) : 0;
	log_info("started", "container=%s pid=%u ms=%.3f", m->id, pid, since_ms(t0));
	Containerd__Events__TaskStart ev = CONTAINERD__EVENTS__TASK_START__INIT;
	ev.container_id = m->id;
	ev.pid = pid;
	shim_publish(s, SK_TOPIC_TASK_START, &ev.base);
	if (load < 0) {
		log_error("app failed", "container=%s error=\"%s\"", m->id, err.message);
		pthread_mutex_lock(&s->mu);
		if ((c = shim_find(s, m->id)) && c->status == SHIM_RUNNING)
			shim_service_stopped(s, c, 1);
		pthread_mutex_unlock(&s->mu);
	}
	Containerd__Task__V2__StartResponse resp = CONTAINERD__TASK__V2__START_RESPONSE__INIT;
	resp.pid = pid;
	return sk_ttrpc_reply_pack(reply, &resp.base);
}

static int h_state(void *ud, const struct sk_ttrpc_call *call, struct sk_ttrpc_reply *reply)
{
	struct shim *s = ud;
	DECODE(Containerd__Task__V2__StateRequest, containerd__task__v2__state_request__descriptor, m);

	if (m->exec_id[0])
		return sk_ttrpc_fail(reply, SK_RPC_NOT_FOUND, "exec %s: not found", m->exec_id);
	struct shim_container *c = lock_find(s, m->id, reply);
	if (!c)
		return reply->code;
	Containerd__Task__V2__StateResponse resp = CONTAINERD__TASK__V2__STATE_RESPONSE__INIT;
	Google__Protobuf__Timestamp ts = stamp(c->exited_at_ns);
	resp.id = c->id;
	resp.bundle = c->bundle;
	resp.pid = (uint32_t)c->pid;
	resp.status = (Containerd__V1__Types__Status)c->status;
	resp.stdout = c->stdout_path;
	resp.stderr = c->stderr_path;
	resp.exit_status = c->exit_status;
	if (c->status == SHIM_STOPPED)
		resp.exited_at = &ts;
	int r = sk_ttrpc_reply_pack(reply, &resp.base);
	pthread_mutex_unlock(&s->mu);
	return r;
}

static int h_wait(void *ud, const struct sk_ttrpc_call *call, struct sk_ttrpc_reply *reply)
{
	struct shim *s = ud;
	DECODE(Containerd__Task__V2__WaitRequest, containerd__task__v2__wait_request__descriptor, m);

	if (m->exec_id[0])
		return sk_ttrpc_fail(reply, SK_RPC_NOT_FOUND, "exec %s: not found", m->exec_id);
	pthread_mutex_lock(&s->mu);
	struct shim_container *c;
	while ((c = shim_find(s, m->id)) && c->status != SHIM_STOPPED)
		pthread_cond_wait(&s->cond, &s->mu);
	if (!c) {
		pthread_mutex_unlock(&s->mu);
		return not_found(reply, m->id);
	}
	Containerd__Task__V2__WaitResponse resp = CONTAINERD__TASK__V2__WAIT_RESPONSE__INIT;
	Google__Protobuf__Timestamp ts = stamp(c->exited_at_ns);
	resp.exit_status = c->exit_status;
	resp.exited_at = &ts;
	pthread_mutex_unlock(&s->mu);
	return sk_ttrpc_reply_pack(reply, &resp.base);
}

static int h_pids(void *ud, const struct sk_ttrpc_call *call, struct sk_ttrpc_reply *reply)
{
	struct shim *s = ud;
	DECODE(Containerd__Task__V2__PidsRequest, containerd__task__v2__pids_request__descriptor, m);

	struct shim_container *c = lock_find(s, m->id, reply);
	if (!c)
		return reply->code;
	Containerd__V1__Types__ProcessInfo pi = CONTAINERD__V1__TYPES__PROCESS_INFO__INIT;
	Containerd__V1__Types__ProcessInfo *list[1] = { &pi };
	Containerd__Task__V2__PidsResponse resp = CONTAINERD__TASK__V2__PIDS_RESPONSE__INIT;
	pi.pid = (uint32_t)c->pid;
	if (c->status != SHIM_STOPPED) {
		resp.n_processes = 1;
		resp.processes = list;
	}
	pthread_mutex_unlock(&s->mu);
	return sk_ttrpc_reply_pack(reply, &resp.base);
}

static int h_connect(void *ud, const struct sk_ttrpc_call *call, struct sk_ttrpc_reply *reply)
{
	struct shim *s = ud;
	DECODE(Containerd__Task__V2__ConnectRequest, containerd__task__v2__connect_request__descriptor, m);
	Containerd__Task__V2__ConnectResponse resp = CONTAINERD__TASK__V2__CONNECT_RESPONSE__INIT;

	resp.shim_pid = (uint32_t)getpid();
	resp.version = (char *)(uintptr_t)SPINKUBE_VERSION;
	pthread_mutex_lock(&s->mu);
	struct shim_container *c = shim_find(s, m->id);
	if (c)
		resp.task_pid = (uint32_t)c->pid;
	pthread_mutex_unlock(&s->mu);
	return sk_ttrpc_reply_pack(reply, &resp.base);
}

/* --- Kill, Delete, exits ------------------------------------------------------ */

void shim_service_stopped(struct shim *s, struct shim_container *c, uint32_t status)
{
	c->status = SHIM_STOPPED;
	c->exit_status = status;
	c->exited_at_ns = shim_now_ns();
	pthread_cond_broadcast(&s->cond);
	Google__Protobuf__Timestamp ts = stamp(c->exited_at_ns);
	Containerd__Events__TaskExit ev = CONTAINERD__EVENTS__TASK_EXIT__INIT;
	ev.container_id = c->id;
	ev.id = c->id;
	ev.pid = (uint32_t)c->pid;
	ev.exit_status = status;
	ev.exited_at = &ts;
	shim_publish(s, SK_TOPIC_TASK_EXIT, &ev.base);
}

void shim_service_exited(struct shim *s, pid_t pid, int ws)
{
	uint32_t status = WIFEXITED(ws) ? (uint32_t)WEXITSTATUS(ws) : 128u + (uint32_t)WTERMSIG(ws);

	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->n; i++) {
		struct shim_container *c = s->c[i];
		if (c->sandbox || c->pid != pid || c->status == SHIM_STOPPED)
			continue;
		log_info("exited", "container=%s pid=%d status=%u", c->id, (int)pid, status);
		shim_service_stopped(s, c, status);
	}
	pthread_mutex_unlock(&s->mu);
}

static int h_kill(void *ud, const struct sk_ttrpc_call *call, struct sk_ttrpc_reply *reply)
{
	struct shim *s = ud;
	DECODE(Containerd__Task__V2__KillRequest, containerd__task__v2__kill_request__descriptor, m);

	if (m->exec_id[0])
		return sk_ttrpc_fail(reply, SK_RPC_NOT_FOUND, "exec %s: not found", m->exec_id);
	if (m->signal == 0 || m->signal >= 65)
		return sk_ttrpc_fail(reply, SK_RPC_INVALID_ARGUMENT, "signal %u is not a signal", m->signal);
	struct shim_container *c = lock_find(s, m->id, reply);
	if (!c)
		return reply->code;
	if (c->status != SHIM_STOPPED) {
		if (c->sandbox) {
			/* The pod's stand-in ends at the first signal that would end a pause process. */
			if (m->signal == SIGKILL || m->signal == SIGTERM || m->signal == SIGINT)
				shim_service_stopped(s, c, 128u + m->signal);
		} else if (c->app) {
			int r = shim_shared_signal(s, c, (int)m->signal);
			if (r < 0) {
				pthread_mutex_unlock(&s->mu);
				return sk_ttrpc_fail(reply, SK_RPC_INTERNAL, "container %s: kill: %s", m->id,
						     strerror(-r));
			}
		} else if (kill(c->pid, (int)m->signal) < 0 && errno != ESRCH) {
			int e = errno;
			pthread_mutex_unlock(&s->mu);
			return sk_ttrpc_fail(reply, SK_RPC_INTERNAL, "container %s: kill: %s", m->id, strerror(e));
		}
	}
	pthread_mutex_unlock(&s->mu);
	log_info("kill", "container=%s signal=%u", m->id, m->signal);
	return empty_reply(reply);
}

static int h_delete(void *ud, const struct sk_ttrpc_call *call, struct sk_ttrpc_reply *reply)
{
	struct shim *s = ud;
	DECODE(Containerd__Task__V2__DeleteRequest, containerd__task__v2__delete_request__descriptor, m);

	if (m->exec_id[0])
		return sk_ttrpc_fail(reply, SK_RPC_NOT_FOUND, "exec %s: not found", m->exec_id);
	struct shim_container *c = lock_find(s, m->id, reply);
	if (!c)
		return reply->code;
	if (c->status == SHIM_RUNNING) {
		pthread_mutex_unlock(&s->mu);
		return sk_ttrpc_fail(reply, SK_RPC_FAILED_PRECONDITION, "container %s: still running (kill it first)",
				     m->id);
	}
	if (c->status == SHIM_CREATED) {
		/* Never started: its process waits on the start pipe; closing it ends that. */
		if (!c->sandbox && !c->app && c->pid > 0)
			kill(c->pid, SIGKILL);
		c->exit_status = 137;
		c->exited_at_ns = shim_now_ns();
	}
	for (size_t i = 0; i < s->n; i++)
		if (s->c[i] == c)
			s->c[i] = s->c[--s->n];
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
	shim_process_wake(s);
	shim_shared_release(c);
	cleanup_container(s, c);

	Google__Protobuf__Timestamp ts = stamp(c->exited_at_ns);
	Containerd__Events__TaskDelete ev = CONTAINERD__EVENTS__TASK_DELETE__INIT;
	ev.container_id = c->id;
	ev.pid = (uint32_t)c->pid;
	ev.exit_status = c->exit_status;
	ev.exited_at = &ts;
	ev.id = c->id;
	shim_publish(s, SK_TOPIC_TASK_DELETE, &ev.base);
	log_info("deleted", "container=%s status=%u", c->id, c->exit_status);

	Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
	resp.pid = (uint32_t)c->pid;
	resp.exit_status = c->exit_status;
	resp.exited_at = &ts;
	int r = sk_ttrpc_reply_pack(reply, &resp.base);
	container_free(c);
	return r;
}

static int h_shutdown(void *ud, const struct sk_ttrpc_call *call, struct sk_ttrpc_reply *reply)
{
	struct shim *s = ud;
	DECODE(Containerd__Task__V2__ShutdownRequest, containerd__task__v2__shutdown_request__descriptor, m);

	pthread_mutex_lock(&s->mu);
	bool done = s->n == 0 || m->now;
	if (done)
		s->exiting = true;
	pthread_mutex_unlock(&s->mu);
	if (done) {
		log_info("shutdown", "containers=%zu", s->n);
		sk_ttrpc_server_shutdown(s->server);
	}
	return empty_reply(reply);
}

/* --- CloseIO, Update, Stats, and what a Spin app does not do ------------------ */

static int h_close_io(void *ud, const struct sk_ttrpc_call *call, struct sk_ttrpc_reply *reply)
{
	struct shim *s = ud;
	DECODE(Containerd__Task__V2__CloseIORequest, containerd__task__v2__close_iorequest__descriptor, m);

	pthread_mutex_lock(&s->mu);
	bool found = shim_find(s, m->id) != NULL;
	pthread_mutex_unlock(&s->mu);
	/* The app's stdin is /dev/null: there is nothing to close. */
	return found ? empty_reply(reply) : not_found(reply, m->id);
}

static int h_update(void *ud, const struct sk_ttrpc_call *call, struct sk_ttrpc_reply *reply)
{
	struct shim *s = ud;
	struct sk_error err = { 0 };
	DECODE(Containerd__Task__V2__UpdateTaskRequest, containerd__task__v2__update_task_request__descriptor, m);
	struct shim_cgroup_limits lim;

	if (m->resources && shim_stats_resources(m->resources, &lim, &err) < 0)
		return sk_ttrpc_fail(reply, SK_RPC_INVALID_ARGUMENT, "container %s: %s", m->id, err.message);
	struct shim_container *c = lock_find(s, m->id, reply);
	if (!c)
		return reply->code;
	int r = 0;
	/* Only a cgroup of its own: the pod's is the kubelet's to size. */
	if (m->resources && c->cgroup_made)
		r = shim_cgroup_update(s->cgroup_root, c->cgroup, &lim, &err);
	pthread_mutex_unlock(&s->mu);
	if (r < 0)
		return sk_ttrpc_fail(reply, SK_RPC_INTERNAL, "container %s: %s", m->id, err.message);
	return empty_reply(reply);
}

static int h_stats(void *ud, const struct sk_ttrpc_call *call, struct sk_ttrpc_reply *reply)
{
	struct shim *s = ud;
	struct sk_error err = { 0 };
	DECODE(Containerd__Task__V2__StatsRequest, containerd__task__v2__stats_request__descriptor, m);
	char path[1100] = "";

	struct shim_container *c = lock_find(s, m->id, reply);
	if (!c)
		return reply->code;
	if (c->app) {
		struct shim_cgroup_stats st;
		shim_shared_stats(c, &st);
		pthread_mutex_unlock(&s->mu);
		return shim_stats_reply(&st, reply);
	}
	if (c->cgroup) {
		snprintf(path, sizeof(path), "%s", c->cgroup);
	} else if (c->sandbox && c->spec.cgroups_path && strrchr(c->spec.cgroups_path, '/')) {
		/* The sandbox has no process of its own: its figures are the pod's,
		 * the cgroup its path names the parent of. */
		snprintf(path, sizeof(path), "%s", c->spec.cgroups_path);
		*strrchr(path, '/') = '\0';
	}
	pthread_mutex_unlock(&s->mu);
	struct shim_cgroup_stats st = { 0 };
	if (path[0] && shim_cgroup_stats(s->cgroup_root, path, &st, &err) < 0)
		return sk_ttrpc_fail(reply, SK_RPC_INTERNAL, "container %s: %s", m->id, err.message);
	return shim_stats_reply(&st, reply);
}

static int h_unsupported(void *ud, const struct sk_ttrpc_call *call, struct sk_ttrpc_reply *reply)
{
	(void)ud;
	return sk_ttrpc_fail(reply, SK_RPC_UNIMPLEMENTED,
			     "%s is not supported by containerd-shim-spin-v2: a Spin app runs as one Wasm runtime "
			     "process, with no shell to exec into, no terminal and no checkpoints",
			     call->method);
}

int shim_service_register(struct shim *s, struct sk_error *err)
{
	static const struct {
		const char *name;
		sk_ttrpc_handler_fn fn;
	} methods[] = {
		{ "State", h_state },	      { "Create", h_create },	{ "Start", h_start },
		{ "Delete", h_delete },	      { "Pids", h_pids },	{ "Kill", h_kill },
		{ "Wait", h_wait },	      { "Stats", h_stats },	{ "Connect", h_connect },
		{ "Shutdown", h_shutdown },   { "CloseIO", h_close_io }, { "Update", h_update },
		{ "Exec", h_unsupported },    { "ResizePty", h_unsupported }, { "Pause", h_unsupported },
		{ "Resume", h_unsupported },  { "Checkpoint", h_unsupported },
	};
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		int r = sk_ttrpc_server_register(s->server, TASK_SERVICE, methods[i].name, methods[i].fn, s, err);
		if (r < 0)
			return r;
	}
	return 0;
}
