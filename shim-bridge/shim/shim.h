/* containerd-shim-spin-v2's daemon: the containers of one pod (its sandbox
 * and its app containers, grouped by CRI's sandbox id), or in shared mode
 * those of every Spin pod of the node in one containerd namespace, and what
 * the task service, the process thread and the event publisher share.
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

#define SHIM_MAX_CONTAINERS 64          /* per pod */
#define SHIM_MAX_SHARED_CONTAINERS 16384 /* per node, shared mode */

struct shim_app;   /* shared.c: an app served in this process */
struct sb_engine;
struct http_server;

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
	struct shim_app *app; /* shared mode: the app this process serves for it */
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

	bool shared;         /* shared mode: every pod of the node (shared.c) */
	struct sb_engine *engine;  /* shared mode: the one engine */
	struct http_server *http;  /* shared mode: the one server, a site per app */

	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct shim_container **c; /* cap: SHIM_MAX_CONTAINERS, shared SHIM_MAX_SHARED_CONTAINERS */
	size_t n, cap;
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

/* Open a container's log pipe (a FIFO containerd reads; "" or NULL:
 * /dev/null) for blocking writes. */
int shim_open_log(const char *path, struct sk_error *err);

/* --- shared.c: shared mode ----------------------------------------------------- */

/* The engine and the HTTP server every app of the node shares. */
int shim_shared_start(struct shim *s, struct sk_error *err);
void shim_shared_stop(struct shim *s);

/* Create an app container: its listening socket in its pod's network
 * namespace, its log pipes. Sets c->app and c->pid (this process). */
int shim_shared_create(struct shim *s, struct shim_container *c, struct sk_error *err);

/* Start: load the app and serve it. On failure the line is on the
 * container's stderr and in its termination message; the caller reports
 * the task exited with status 1. Caller does not hold mu. */
int shim_shared_run(struct shim *s, struct shim_container *c, struct sk_error *err);

/* Kill: a signal that ends a process drains the app (SIGKILL at once);
 * the task exits when it is done. Caller holds mu. */
int shim_shared_signal(struct shim *s, struct shim_container *c, int sig);

/* Delete: wait for the drain and free the app. Caller does not hold mu. */
void shim_shared_release(struct shim_container *c);

/* Stats of an app container: the CPU time its requests took, its share of
 * the compiled code as its memory, the pod's memory limit. Caller holds
 * mu. */
struct shim_cgroup_stats;
void shim_shared_stats(const struct shim_container *c, struct shim_cgroup_stats *st);

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

/* Mark c stopped with status and publish its exit. Caller holds mu. */
void shim_service_stopped(struct shim *s, struct shim_container *c, uint32_t status);

#endif
