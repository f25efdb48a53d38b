/* Restarting containerd (see restart.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "node-installer/restart.h"

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Fork and run argv, entering the host first: its mount namespace (PID 1's,
 * for systemctl, which refuses to work in a chroot) when root is NULL, else
 * a chroot into root ("" runs it as it is). Waits at most timeout_seconds. */
static int run(const char *root, const char *const *argv, long timeout_seconds, struct sk_error *err)
{
	pid_t pid = fork();
	int status = 0;

	if (pid < 0)
		return sk_err(err, -errno, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (!root) {
			int fd = open("/proc/1/ns/mnt", O_RDONLY | O_CLOEXEC);
			if (fd < 0 || setns(fd, CLONE_NEWNS) < 0) {
				fprintf(stderr,
				        "spinkube-node-installer: entering the host's mount namespace: %s: "
				        "run the pod with hostPID and privileged\n",
				        strerror(errno));
				_exit(126);
			}
		} else if (*root && chroot(root) < 0) {
			fprintf(stderr, "spinkube-node-installer: chroot %s: %s: run the pod privileged\n",
			        root, strerror(errno));
			_exit(126);
		}
		if (chdir("/") < 0)
			_exit(126);
		/* execvpe wants writable strings: copies, in the child only. */
		char *args[8] = {NULL};
		/* Only the caller's stderr: stdout is for the command's answer, which nobody reads. */
		int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (devnull >= 0)
			dup2(devnull, 1);
		for (int i = 0; i < 7 && argv[i]; i++)
			args[i] = strdup(argv[i]);
		char *envp[] = {
		    strdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/snap/bin"),
		    NULL};
		execvpe(args[0], args, envp);
		fprintf(stderr, "spinkube-node-installer: running %s on the host: %s\n", argv[0],
		        strerror(errno));
		_exit(127);
	}
	long deadline = now_ms() + timeout_seconds * 1000;
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return sk_err(err, -errno, "waiting for %s: %s", argv[0], strerror(errno));
		if (now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return sk_err(err, -ETIMEDOUT,
			              "%s %s did not finish in %ld s: look at the host's journal", argv[0],
			              argv[1] ? argv[1] : "", timeout_seconds);
		}
		nap_ms(100);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return sk_err(err, -ENOENT, "%s is not on the host or cannot start there", argv[0]);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 126)
		return sk_err(err, -EPERM,
		              "cannot enter the host to run %s: run the pod with hostPID and privileged",
		              argv[0]);
	return sk_err(err, -EIO, "%s %s %s failed (status %d)", argv[0], argv[1] ? argv[1] : "",
	              argv[1] && argv[2] ? argv[2] : "",
	              WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

int ni_run_on_host(const char *const *argv, long timeout_seconds, struct sk_error *err)
{
	return run(NULL, argv, timeout_seconds, err);
}

int ni_run_in_root(const char *root, const char *const *argv, long timeout_seconds, struct sk_error *err)
{
	return run(root, argv, timeout_seconds, err);
}

/* Does /proc/PID/cmdline belong to a containerd that names config? */
static bool is_our_containerd(pid_t pid, const char *config)
{
	char path[64], buf[8192];
	_cleanup_close_ int fd = -1;

	(void)snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	if (strcmp(buf, "containerd\n") != 0)
		return false;
	close(TAKE_FD(fd));
	(void)snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1) {
		const char *a = buf + i;
		if (strcmp(a, config) == 0)
			return true;
		if (strncmp(a, "--config=", 9) == 0 && strcmp(a + 9, config) == 0)
			return true;
	}
	return false;
}

/* The pid of the containerd that runs with config; 0 when none, -EEXIST
 * when more than one. */
static pid_t find_containerd(const char *config)
{
	_cleanup_closedir_ DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char *end = NULL;
		long pid = strtol(e->d_name, &end, 10);
		if (!end || *end || pid <= 0)
			continue;
		if (is_our_containerd((pid_t)pid, config)) {
			if (found)
				return -EEXIST;
			found = (pid_t)pid;
		}
	}
	return found;
}

/* Wait until the unix socket at path accepts a connection. */
static int wait_socket(const char *path, long deadline, struct sk_error *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	if (strlen(path) >= sizeof(sa.sun_path))
		return sk_err(err, -ENAMETOOLONG, "socket path %s is too long for a unix socket", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	for (;;) {
		_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return 0;
		if (now_ms() > deadline)
			return sk_err(err, -ETIMEDOUT,
			              "containerd's socket %s does not answer after the restart: look at "
			              "containerd's log; give --socket if it listens elsewhere",
			              path);
		nap_ms(200);
	}
}

static int restart_by_signal(const struct ni_restart_req *req, long deadline, struct sk_error *err)
{
	pid_t pid = find_containerd(req->config_arg);

	if (pid == -EEXIST)
		return sk_err(err, -EEXIST,
		              "more than one containerd runs with --config %s: restart it by hand",
		              req->config_arg);
	if (pid <= 0)
		return sk_err(err, -ESRCH,
		              "no containerd process runs with --config %s (is the pod's hostPID on? is that "
		              "its configuration?): give --containerd-config or another --restart",
		              req->config_arg);
	if (kill(pid, SIGTERM) < 0)
		return sk_err(err, -errno, "SIGTERM to containerd (pid %d): %s", (int)pid, strerror(errno));
	/* Gone, then a new one from the supervisor. */
	while (kill(pid, 0) == 0 && find_containerd(req->config_arg) == pid) {
		if (now_ms() > deadline)
			return sk_err(err, -ETIMEDOUT,
			              "containerd (pid %d) did not stop after SIGTERM in %ld s", (int)pid,
			              req->timeout_seconds);
		nap_ms(100);
	}
	for (;;) {
		pid_t np = find_containerd(req->config_arg);
		if (np > 0 && np != pid)
			return 0;
		if (now_ms() > deadline)
			return sk_err(
			    err, -ETIMEDOUT,
			    "containerd did not come back after SIGTERM: --restart=signal needs a supervisor "
			    "that starts it again (hack/node.sh has one); start it by hand");
		nap_ms(200);
	}
}

int ni_restart_containerd(const struct ni_restart_req *req, struct sk_error *err)
{
	long deadline = now_ms() + req->timeout_seconds * 1000;
	int r;

	switch (req->how) {
	case NI_RS_SYSTEMD: {
		const char *argv[] = {"systemctl", "restart", req->unit, NULL};
		r = ni_run_on_host(argv, req->timeout_seconds, err);
		if (r < 0)
			sk_err_prefix(
			    err, "restarting containerd (look at the host's journal; or give --restart)");
		break;
	}
	case NI_RS_SNAP: {
		const char *argv[] = {"snap", "restart", req->unit, NULL};
		r = ni_run_on_host(argv, req->timeout_seconds, err);
		break;
	}
	default:
		r = restart_by_signal(req, deadline, err);
		break;
	}
	if (r < 0)
		return r;
	return req->socket ? wait_socket(req->socket, deadline, err) : 0;
}
