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

/* The log pipe (a FIFO containerd reads) or /dev/null. */
static int open_log(const char *path, struct sk_error *err)
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

static int do_spawn(struct shim *s, struct shim_container *c, int *listen_fd, struct sk_error *err)
{
	_cleanup_close_ int out = -1, errfd = -1, ns_fd = -1, devnull = -1;
	int go[2] = { -1, -1 }, sync_[2] = { -1, -1 }, up[2] = { -1, -1 };
	_cleanup_free_ const char **env = build_env(c);
	char nsbuf[64];
	const char *ns = netns_path(s, c, nsbuf, sizeof(nsbuf));
	const char *argv[] = { s->self, "app", "--bundle", c->bundle, "--id", c->id, "--namespace", s->ns,
			       "--address", s->grpc_address, "--state-dir", s->state_dir, NULL };
	int r;

	if (!env)
		return sk_err(err, -ENOMEM, "out of memory");
	if ((out = open_log(c->stdout_path, err)) < 0)
		return out;
	if ((errfd = open_log(c->stderr_path, err)) < 0)
		return errfd;
	if ((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
		return sk_err(err, -errno, "cannot open /dev/null: %s", strerror(errno));
	if (ns && (ns_fd = open(ns, O_RDONLY | O_CLOEXEC)) < 0)
		return sk_err(err, -errno, "cannot open the pod's network namespace %s: %s", ns, strerror(errno));
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
		if (dup2(devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0 || dup2(go[0], 3) < 0 ||
		    dup2(up[1], 4) < 0)
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
	up[1] = -1;
	c->pid = pid;
	r = 0;
	if (c->cgroup_made)
		r = shim_cgroup_join(s->cgroup_root, c->spec.cgroups_path, pid, err);
	if (r == 0 && write(sync_[1], "g", 1) != 1)
		r = sk_err(err, -errno, "cannot release the app process: %s", strerror(errno));
	close(sync_[1]);
	if (r < 0) {
		kill(pid, SIGKILL);
		close(go[1]);
		close(up[0]);
		return r;
	}
	c->go_fd = go[1];
	*listen_fd = up[0];
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

static void reap(struct shim *s)
{
	struct signalfd_siginfo si;
	int ws;
	pid_t pid;

	while (read(s->sigfd, &si, sizeof(si)) == sizeof(si)) {
	}
	while ((pid = waitpid(-1, &ws, WNOHANG)) > 0)
		shim_service_exited(s, pid, ws);
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
		for (size_t i = 0; i < s->n; i++)
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
