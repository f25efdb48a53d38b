/* containerd-shim-spin-v2's daemon: the containers of one pod (its sandbox
 * and its app containers, grouped by CRI's sandbox id) and what the task
 * service, the process thread and the event publisher share.
 *
 * Threads: the ttrpc server runs each request on a thread of its own
 * (service.c); one process thread (process.c) forks every app process, so
 * that the kernel's parent-death signal follows the shim and not a request
 * thread that ends, and reaps them (SIGCHLD through a signalfd); one
 * publisher thread (publish.c) sends task events to containerd in order,
 * reconnecting when containerd restarts. The containers are guarded by mu;
 * cond wakes Wait calls when a container stops. */
#ifndef SPINKUBE_SHIM_SHIM_H
#define SPINKUBE_SHIM_SHIM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <protobuf-c/protobuf-c.h>

#include "common/err.h"
#include "shim-bridge/shim/spec.h"
#include "shim-bridge/shim/ttrpc/message.h"
#include "shim-bridge/shim/ttrpc/server.h"

/* containerd.v1.types.Status */
enum shim_status { SHIM_UNKNOWN = 0, SHIM_CREATED = 1, SHIM_RUNNING = 2, SHIM_STOPPED = 3 };

#define SHIM_MAX_CONTAINERS 64

struct shim_container {
	char *id;
	char *bundle;
	char *stdout_path, *stderr_path;
	struct shim_spec spec;
	bool sandbox;
	enum shim_status status;
	pid_t pid;            /* the app process; the shim's own pid for a sandbox */
	int go_fd;            /* write end of the pipe the app process waits on before Start */
	bool rootfs_mounted;  /* BUNDLE/rootfs is ours to unmount */
	char *cgroup;         /* the cgroup its process runs in: its own or the pod's; NULL: none */
	bool cgroup_made;     /* cgroup is the container's own, made here (removed at Delete) */
	int oom_fd;           /* readable when the OOM killer acts in the cgroup, or -1 */
	bool from_spare;      /* its process was the pod's spare (process.c) */
	double t_mount_ms, t_cgroup_ms; /* Create's steps, logged */
	uint32_t exit_status;
	int64_t exited_at_ns; /* CLOCK_REALTIME */
};

struct shim_event; /* publish.c */

/* A child the process thread forked (process.c). */
struct child {
	pid_t pid;
	int go;   /* write end of its fd 3 */
	int up;   /* read end of its fd 4 */
	int sync; /* write end of the pipe it waits on before exec */
};

struct shim {
	char *ns;            /* containerd namespace */
	char *grpc_address;  /* containerd's gRPC socket (the content store) */
	char *ttrpc_address; /* containerd's ttrpc socket (events) */
	char *state_dir;     /* node-wide: compiled-code cache, fetched apps */
	char *cgroup_root;   /* /sys/fs/cgroup */
	char *self;          /* this program, for the app processes */
	struct sk_ttrpc_server *server;

	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct shim_container *c[SHIM_MAX_CONTAINERS];
	size_t n;
	char *pod_netns; /* the sandbox's network namespace path */
	char *pod_cgroup; /* the pod's cgroup (the parent of the sandbox's), or NULL */
	bool exiting;

	/* process.c */
	int proc_wake[2]; /* spawn requests */
	int sigfd;        /* SIGCHLD */
	pthread_t proc_thread;
	struct shim_spawn *spawn_req; /* one at a time, guarded by spawn_mu */
	pthread_mutex_t spawn_mu;
	bool want_spare;              /* guarded by spawn_mu */
	struct child spare;           /* the process thread's own */
	bool spare_in_pod;            /* the spare is in pod_cgroup already */

	/* publish.c: the queue has a lock of its own, so events are queued
	 * with mu held */
	pthread_t pub_thread;
	pthread_mutex_t ev_mu;
	struct shim_event *ev_head, *ev_tail;
	pthread_cond_t ev_cond;
	bool ev_stop;
};

/* Look up id (caller holds mu). */
struct shim_container *shim_find(struct shim *s, const char *id);

/* Nanoseconds since the epoch; and on CLOCK_MONOTONIC, for durations. */
int64_t shim_now_ns(void);
int64_t shim_mono_ns(void);

/* --- process.c -------------------------------------------------------------- */

/* Block SIGCHLD (before any thread starts) and start the process thread. */
int shim_process_start(struct shim *s, struct sk_error *err);

/* Fork and exec the app process of c, stopped before the app until
 * shim_process_release (it waits on a pipe), in c's cgroup and network
 * namespace, with stdout and stderr on c's log paths. Returns once the
 * app process listens on its port (or has exited, or after 10 s), so the
 * port is there when Start returns. Sets c->pid and c->go_fd. Caller does
 * not hold mu. */
int shim_process_spawn(struct shim *s, struct shim_container *c, struct sk_error *err);

/* Have a spare app process exec'd ahead of the pod's app container (called
 * when the sandbox is created); Create hands it the container. */
void shim_process_prespawn(struct shim *s);

/* Make the process thread look at the containers again (a new OOM
 * descriptor to watch, one gone). */
void shim_process_wake(struct shim *s);

/* Let c's process run the app. */
int shim_process_release(struct shim_container *c, struct sk_error *err);

/* --- publish.c -------------------------------------------------------------- */

int shim_publish_start(struct shim *s, struct sk_error *err);

/* Queue event (packed now; msg is not kept) on topic. Never blocks on
 * containerd. */
void shim_publish(struct shim *s, const char *topic, const ProtobufCMessage *msg);

/* Send what is queued (for at most 2 s more), then stop the thread. */
void shim_publish_stop(struct shim *s);

/* --- service.c -------------------------------------------------------------- */

/* Register the task service's methods on s->server. */
int shim_service_register(struct shim *s, struct sk_error *err);

/* Called by the process thread when pid exited with wait status ws. */
void shim_service_exited(struct shim *s, pid_t pid, int ws);

#endif
