/* The process thread (see shim.h): forks app processes and reaps them.
 *
 * An app process is this program run as "containerd-shim-spin-v2 app"
 * (app.c). Between fork and exec the child only makes system calls: it
 * asks for SIGKILL when the shim dies, waits until the shim has moved it
 * into its cgroup, puts its stdio on the container's log pipes and the
 * start pipe on fd 3, the listening pipe on fd 4, enters the pod's network
 * namespace and execs. The exec'd program listens, says so on fd 4 (Create
 * waits for that, so the port is there when Start returns), then waits on
 * fd 3 for Start before it loads the app. */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "shim-bridge/shim/cgroup.h"
#include "shim-bridge/shim/events.h"
#include "shim-bridge/shim/proto/events-task.pb-c.h"
#include "shim-bridge/shim/shim.h"

#define SPAWN_MAX_ENV (SHIM_SPEC_MAX_ITEMS + 4)

struct shim_spawn {
	struct shim_container *c;
	int r;
	struct sk_error err;
	bool done;
	pthread_cond_t cond;
	int listen_fd; /* read end of the app process's fd 4 */
};

int shim_open_log(const char *path, struct sk_error *err)
{
	const char *p = path && *path ? path : "/dev/null";
	int fd = open(p, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return sk_err(err, -errno, "cannot open the container's log %s: %s", p, strerror(errno));
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}

/* The network namespace the app process enters: the pod's when the spec
 * names the sandbox by our own pid (CRI writes /proc/<sandbox pid>/ns/net,
 * and a sandbox's pid here is the shim's), else the path itself. */
static const char *netns_path(struct shim *s, const struct shim_container *c, char *buf, size_t size)
{
	const char *p = c->spec.netns;

	if (!p)
		return NULL;
	snprintf(buf, size, "/proc/%d/ns/net", (int)getpid());
	if (strcmp(p, buf) == 0)
		return s->pod_netns;
	return p;
}

static const char **build_env(const struct shim_container *c)
{
	const char **env = calloc(c->spec.n_env + 2, sizeof(*env));
	size_t n = 0;
	bool has_path = false;

	if (!env)
		return NULL;
	for (size_t i = 0; i < c->spec.n_env; i++) {
		env[n++] = c->spec.env[i];
		has_path |= strncmp(c->spec.env[i], "PATH=", 5) == 0;
	}
	if (!has_path)
		env[n++] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	return env;
}

/* A struct child (shim.h) is, between fork and exec, blocked on sync until
 * the caller releases it (after moving it into its cgroup). */

static void child_close(struct child *ch)
{
	if (ch->go >= 0)
		close(ch->go);
	if (ch->up >= 0)
		close(ch->up);
	if (ch->sync >= 0)
		close(ch->sync);
	*ch = (struct child){ .pid = 0, .go = -1, .up = -1, .sync = -1 };
}

/* Fork a child that, once released, puts /dev/null, out and errfd on its
 * stdio, the start pipe on fd 3 and the listening pipe on fd 4, enters the
 * network namespace ns_fd (-1: stays) and execs argv with env. */
static int fork_child(struct shim *s, const char *const *argv, const char *const *env, int out, int errfd, int ns_fd,
		      struct child *ch, struct sk_error *err)
{
	int go[2] = { -1, -1 }, sync_[2] = { -1, -1 }, up[2] = { -1, -1 };
	_cleanup_close_ int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	int r;

	*ch = (struct child){ .pid = 0, .go = -1, .up = -1, .sync = -1 };
	if (devnull < 0)
		return sk_err(err, -errno, "cannot open /dev/null: %s", strerror(errno));
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(sync_, O_CLOEXEC) < 0 || pipe2(up, O_CLOEXEC) < 0) {
		r = -errno;
		goto fail;
	}
	pid_t ppid = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		r = -errno;
		goto fail;
	}
	if (pid == 0) {
		sigset_t all;
		char b;
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != ppid)
			_exit(126);
		if (read(sync_[0], &b, 1) != 1)
			_exit(126);
		if (dup2(devnull, 0) < 0 || dup2(out >= 0 ? out : devnull, 1) < 0 ||
		    dup2(errfd >= 0 ? errfd : devnull, 2) < 0 || dup2(go[0], 3) < 0 || dup2(up[1], 4) < 0)
			_exit(126);
		if (ns_fd >= 0 && setns(ns_fd, CLONE_NEWNET) < 0)
			_exit(125);
		syscall(SYS_close_range, 5U, ~0U, 0U);
		if (chdir("/") < 0 || setsid() < 0)
			_exit(126);
		execve(s->self, (char *const *)(uintptr_t)argv, (char *const *)(uintptr_t)env);
		_exit(127);
	}
	close(go[0]);
	close(sync_[0]);
	close(up[1]);
	*ch = (struct child){ .pid = pid, .go = go[1], .up = up[0], .sync = sync_[1] };
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (up[i] >= 0)
			close(up[i]);
		if (go[i] >= 0)
			close(go[i]);
		if (sync_[i] >= 0)
			close(sync_[i]);
	}
	return sk_err(err, r, "cannot start the app process: %s", strerror(-r));
}

/* Let a forked child exec. */
static int child_release(struct child *ch, struct sk_error *err)
{
	int r = write(ch->sync, "g", 1) == 1 ? 0 : sk_err(err, -errno, "cannot release the app process: %s", strerror(errno));
	close(ch->sync);
	ch->sync = -1;
	return r;
}

/* The spare app process: exec'd ahead of time (when the pod's sandbox is
 * created, while CRI pulls the image), so that the app container's Create
 * only hands it the container (app.c's --spare). */
static void spawn_spare(struct shim *s)
{
	struct sk_error err = { 0 };
	const char *argv[] = { s->self, "app", "--spare", "--namespace", s->ns, "--address", s->grpc_address,
			       "--state-dir", s->state_dir, NULL };

	if (s->spare.pid > 0)
		return;
	s->spare_in_pod = false;
	if (fork_child(s, argv, (const char *const *)environ, -1, -1, -1, &s->spare, &err) < 0 ||
	    child_release(&s->spare, &err) < 0) {
		log_warn("spare app process", "error=\"%s\"", err.message);
		if (s->spare.pid > 0)
			kill(s->spare.pid, SIGKILL);
		child_close(&s->spare);
		return;
	}
	/* Into the pod's cgroup now, while nothing waits on it. */
	if (s->pod_cgroup && shim_cgroup_join(s->cgroup_root, s->pod_cgroup, s->spare.pid, &err) == 0)
		s->spare_in_pod = true;
	else if (s->pod_cgroup)
		log_warn("spare app process", "error=\"%s\"", err.message);
}

/* Hand the spare to c: move it into c's cgroup, then tell it its bundle,
 * id, network namespace and log pipes on fd 3 (NUL-terminated fields; the
 * Start byte follows on the same pipe); in_pod: it runs in the pod's cgroup,
 * where it is already. 0, or -EPIPE when it is gone. */
static int use_spare(struct shim *s, struct shim_container *c, const char *ns, bool in_pod, int *listen_fd,
		     struct sk_error *err)
{
	char cmd[5 * PATH_MAX + 8];
	const char *f[] = { c->bundle, c->id, ns ? ns : "", c->stdout_path, c->stderr_path };
	size_t n = 0;

	for (size_t i = 0; i < 5; i++) {
		size_t l = strlen(f[i]);
		if (l >= PATH_MAX || n + l + 1 > sizeof(cmd))
			return sk_err(err, -ENAMETOOLONG, "container %s: a path is too long", c->id);
		memcpy(cmd + n, f[i], l + 1);
		n += l + 1;
	}
	if (c->cgroup && !in_pod) {
		int r = shim_cgroup_join(s->cgroup_root, c->cgroup, s->spare.pid, err);
		if (r < 0)
			return r;
	}
	for (size_t off = 0; off < n;) {
		ssize_t w = write(s->spare.go, cmd + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -EPIPE;
		off += (size_t)w;
	}
	c->pid = s->spare.pid;
	c->from_spare = true;
	c->go_fd = s->spare.go;
	*listen_fd = s->spare.up;
	s->spare = (struct child){ .pid = 0, .go = -1, .up = -1, .sync = -1 };
	return 0;
}

/* Whether c is the pod's only app container that has not stopped. */
static bool alone(struct shim *s, const struct shim_container *c)
{
	bool only = true;

	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->n; i++)
		if (s->c[i] != c && !s->c[i]->sandbox && s->c[i]->status != SHIM_STOPPED)
			only = false;
	pthread_mutex_unlock(&s->mu);
	return only;
}

/* The cgroup c's process runs in. The pod's own when c is its only app
 * container and the spare waits there already: no cgroup to make and no
 * process to move (a move costs cgroup v1 an RCU grace period, most of a
 * Create's time); the pod's limits are then the container's, kubelet's sum
 * of its containers'. Else a cgroup of its own with the spec's limits. */
static int pick_cgroup(struct shim *s, struct shim_container *c, bool *in_pod, struct sk_error *err)
{
	*in_pod = false;
	if (!c->spec.cgroups_path || !*c->spec.cgroups_path)
		return 0;
	if (s->spare.pid > 0 && s->spare_in_pod && s->pod_cgroup && alone(s, c)) {
		*in_pod = true;
		c->cgroup = strdup(s->pod_cgroup);
		return c->cgroup ? 0 : sk_err(err, -ENOMEM, "out of memory");
	}
	struct shim_cgroup_limits lim = { .memory_limit = c->spec.memory_limit, .cpu_shares = c->spec.cpu_shares,
					  .cpu_quota = c->spec.cpu_quota, .cpu_period = c->spec.cpu_period,
					  .pids_limit = c->spec.pids_limit };
	int r = shim_cgroup_create(s->cgroup_root, c->spec.cgroups_path, &lim, err);
	if (r < 0)
		return r;
	c->cgroup_made = true;
	c->cgroup = strdup(c->spec.cgroups_path);
	return c->cgroup ? 0 : sk_err(err, -ENOMEM, "out of memory");
}

static int do_spawn(struct shim *s, struct shim_container *c, int *listen_fd, struct sk_error *err)
{
	_cleanup_close_ int out = -1, errfd = -1, ns_fd = -1;
	_cleanup_free_ const char **env = build_env(c);
	char nsbuf[64];
	const char *ns = netns_path(s, c, nsbuf, sizeof(nsbuf));
	const char *argv[] = { s->self, "app", "--bundle", c->bundle, "--id", c->id, "--namespace", s->ns,
			       "--address", s->grpc_address, "--state-dir", s->state_dir, NULL };
	struct child ch;
	bool in_pod;
	int64_t t0 = shim_mono_ns();
	int r = pick_cgroup(s, c, &in_pod, err);

	c->t_cgroup_ms = (double)(shim_mono_ns() - t0) / 1e6;
	if (r < 0)
		return r;
	if (s->spare.pid > 0) {
		r = use_spare(s, c, ns, in_pod, listen_fd, err);
		if (r != -EPIPE)
			return r;
		kill(s->spare.pid, SIGKILL); /* gone or going: the slow way */
		child_close(&s->spare);
	}
	if (!env)
		return sk_err(err, -ENOMEM, "out of memory");
	if ((out = shim_open_log(c->stdout_path, err)) < 0)
		return out;
	if ((errfd = shim_open_log(c->stderr_path, err)) < 0)
		return errfd;
	if (ns && (ns_fd = open(ns, O_RDONLY | O_CLOEXEC)) < 0)
		return sk_err(err, -errno, "cannot open the pod's network namespace %s: %s", ns, strerror(errno));
	if ((r = fork_child(s, argv, env, out, errfd, ns_fd, &ch, err)) < 0)
		return r;
	c->pid = ch.pid;
	if (c->cgroup)
		r = shim_cgroup_join(s->cgroup_root, c->cgroup, ch.pid, err);
	if (r == 0)
		r = child_release(&ch, err);
	if (r < 0) {
		kill(ch.pid, SIGKILL);
		child_close(&ch);
		return r;
	}
	c->go_fd = ch.go;
	*listen_fd = ch.up;
	return 0;
}

static void reap(struct shim *s)
{
	struct signalfd_siginfo si;
	int ws;
	pid_t pid;

	while (read(s->sigfd, &si, sizeof(si)) == sizeof(si)) {
	}
	while ((pid = waitpid(-1, &ws, WNOHANG)) > 0) {
		if (pid == s->spare.pid) {
			log_warn("spare app process", "pid=%d error=\"exited before use\"", (int)pid);
			child_close(&s->spare);
			continue;
		}
		shim_service_exited(s, pid, ws);
	}
}

/* Each container's OOM eventfd that fired: a TaskOOM event. */
static void oom_events(struct shim *s, const int *fds, size_t n, const struct pollfd *p)
{
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < n; i++) {
		uint64_t count;
		if (!p[i].revents)
			continue;
		/* Only a descriptor a container still owns is read (a closed one's
		 * number may be reused by now). */
		for (size_t j = 0; j < s->n; j++) {
			if (s->c[j]->oom_fd != fds[i] || read(fds[i], &count, sizeof(count)) != sizeof(count))
				continue;
			log_warn("oom", "container=%s", s->c[j]->id);
			Containerd__Events__TaskOOM ev = CONTAINERD__EVENTS__TASK_OOM__INIT;
			ev.container_id = s->c[j]->id;
			shim_publish(s, SK_TOPIC_TASK_OOM, &ev.base);
		}
	}
	pthread_mutex_unlock(&s->mu);
}

static void *proc_main(void *ud)
{
	struct shim *s = ud;

	for (;;) {
		struct pollfd p[2 + SHIM_MAX_CONTAINERS] = { { s->proc_wake[0], POLLIN, 0 }, { s->sigfd, POLLIN, 0 } };
		int oom[SHIM_MAX_CONTAINERS];
		size_t n_oom = 0;
		pthread_mutex_lock(&s->mu);
		for (size_t i = 0; i < s->n && n_oom < SHIM_MAX_CONTAINERS; i++)
			if (s->c[i]->oom_fd >= 0) {
				oom[n_oom] = s->c[i]->oom_fd;
				p[2 + n_oom++] = (struct pollfd){ s->c[i]->oom_fd, POLLIN, 0 };
			}
		pthread_mutex_unlock(&s->mu);
		if (poll(p, (nfds_t)(2 + n_oom), -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("process thread", "error=\"poll: %s\"", strerror(errno));
			return NULL;
		}
		/* OOM first: the kill it reports is reaped right after. */
		oom_events(s, oom, n_oom, p + 2);
		if (p[1].revents)
			reap(s);
		if (!p[0].revents)
			continue;
		char b[16];
		if (read(s->proc_wake[0], b, sizeof(b)) < 0 && errno != EAGAIN)
			log_warn("process thread", "error=\"read: %s\"", strerror(errno));
		pthread_mutex_lock(&s->spawn_mu);
		if (s->want_spare) {
			s->want_spare = false;
			spawn_spare(s);
		}
		struct shim_spawn *q = s->spawn_req;
		if (q && !q->done) {
			q->r = do_spawn(s, q->c, &q->listen_fd, &q->err);
			q->done = true;
			pthread_cond_signal(&q->cond);
		}
		pthread_mutex_unlock(&s->spawn_mu);
	}
	return NULL;
}

void shim_process_prespawn(struct shim *s)
{
	pthread_mutex_lock(&s->spawn_mu);
	s->want_spare = true;
	pthread_mutex_unlock(&s->spawn_mu);
	shim_process_wake(s);
}

void shim_process_wake(struct shim *s)
{
	if (write(s->proc_wake[1], "w", 1) < 0 && errno != EAGAIN)
		log_warn("process thread", "error=\"wake: %s\"", strerror(errno));
}

int shim_process_start(struct shim *s, struct sk_error *err)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return sk_err(err, -EINVAL, "cannot block SIGCHLD");
	s->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s->sigfd < 0)
		return sk_err(err, -errno, "signalfd: %s", strerror(errno));
	if (pipe2(s->proc_wake, O_CLOEXEC | O_NONBLOCK) < 0)
		return sk_err(err, -errno, "pipe: %s", strerror(errno));
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1);
	pthread_mutex_init(&s->spawn_mu, NULL);
	s->spare = (struct child){ .pid = 0, .go = -1, .up = -1, .sync = -1 };
	int r = pthread_create(&s->proc_thread, NULL, proc_main, s);
	return r ? sk_err(err, -r, "cannot start the process thread: %s", strerror(r)) : 0;
}

int shim_process_spawn(struct shim *s, struct shim_container *c, struct sk_error *err)
{
	static pthread_mutex_t serial = PTHREAD_MUTEX_INITIALIZER; /* one request at a time */
	struct shim_spawn q = { .c = c, .listen_fd = -1 };

	pthread_cond_init(&q.cond, NULL);
	pthread_mutex_lock(&serial);
	pthread_mutex_lock(&s->spawn_mu);
	s->spawn_req = &q;
	if (write(s->proc_wake[1], "s", 1) < 0 && errno != EAGAIN) {
		s->spawn_req = NULL;
		pthread_mutex_unlock(&s->spawn_mu);
		pthread_mutex_unlock(&serial);
		return sk_err(err, -errno, "cannot wake the process thread: %s", strerror(errno));
	}
	while (!q.done)
		pthread_cond_wait(&q.cond, &s->spawn_mu);
	s->spawn_req = NULL;
	pthread_mutex_unlock(&s->spawn_mu);
	pthread_mutex_unlock(&serial);
	pthread_cond_destroy(&q.cond);
	if (q.r < 0 && err)
		*err = q.err;
	if (q.listen_fd >= 0) {
		/* Until the app process listens (a byte) or exits before that
		 * (end of file: Start then finds it gone, or its exit is
		 * reported as usual), at most 10 s. */
		struct pollfd p = { q.listen_fd, POLLIN, 0 };
		char b;
		while (poll(&p, 1, 10000) < 0 && errno == EINTR) {
		}
		if (p.revents)
			(void)!read(q.listen_fd, &b, 1);
		close(q.listen_fd);
	}
	return q.r;
}

int shim_process_release(struct shim_container *c, struct sk_error *err)
{
	if (c->go_fd < 0)
		return sk_err(err, -EINVAL, "container %s has no process waiting to start", c->id);
	ssize_t n = write(c->go_fd, "s", 1);
	int e = errno;
	close(c->go_fd);
	c->go_fd = -1;
	if (n != 1)
		return sk_err(err, -e, "container %s: its process is gone before Start (%s)", c->id, strerror(e));
	return 0;
}
