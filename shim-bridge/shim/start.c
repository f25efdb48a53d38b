/* "start" (see main.c): one shim per pod, or in shared mode one per
 * containerd namespace. The socket of a pod's shim is
 * named by a digest of the namespace and the pod's sandbox id, in the
 * folder "s" beside containerd's socket (containerd's own shim socket
 * folder when its state is the default /run/containerd). If a shim answers
 * there, its address is printed; else this command binds the socket,
 * launches the daemon ("serve") with the listening socket as fd 3, its
 * stderr on the bundle's log pipe, and prints the address. A lock file
 * beside the socket keeps two starts of one pod from racing. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/sha256.h"
#include "common/unix-socket.h"
#include "shim-bridge/shim/commands.h"
#include "shim-bridge/shim/spec.h"

static int socket_path(const struct shim_cmd *cmd, const char *group, char *out, size_t size)
{
	char dir[PATH_MAX], hex[65];
	const char *addr = cmd->address;

	if (strncmp(addr, "unix://", 7) == 0)
		addr += 7;
	snprintf(dir, sizeof(dir), "%s", addr);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), "/run/containerd");
	else
		*slash = '\0';
	char key[512];
	int k = snprintf(key, sizeof(key), "%s/%s", cmd->ns, group);
	if (k < 0 || (size_t)k >= sizeof(key) || sk_sha256_hex(key, (size_t)k, hex) < 0)
		return -ENAMETOOLONG;
	int n = snprintf(out, size, "%s/s/%.48s", dir, hex);
	if (n < 0 || (size_t)n >= size || (size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

static int connect_to(const char *path)
{
	int fd = sk_unix_connect("shim", path, NULL);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

static int listen_on(const char *path)
{
	(void)unlink(path);
	int fd = sk_unix_listen("shim", path, 64, NULL);
	if (fd >= 0 && chmod(path, 0600) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

static int launch(const struct shim_cmd *cmd, const char *path, int lfd)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n < 0)
		return -errno;
	self[n] = '\0';
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0)
		return 0; /* the daemon re-parents to init (or containerd's subreaper) when we exit */
	int devnull = open("/dev/null", O_RDWR);
	int logfd = open("log", O_WRONLY | O_NONBLOCK);
	if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(logfd >= 0 ? logfd : devnull, 2) < 0 ||
	    dup2(lfd, 3) < 0)
		_exit(126);
	syscall(SYS_close_range, 4U, ~0U, 0U);
	if (setsid() < 0 || chdir("/") < 0)
		_exit(126);
	const char *argv[] = { self, "-namespace", cmd->ns, "-address", cmd->address, "-id", cmd->id,
			       "-socket", path, "serve", NULL, NULL };
	if (cmd->shared) {
		argv[9] = "-shared";
		argv[10] = "serve";
	}
	execv(self, (char *const *)(uintptr_t)argv);
	_exit(127);
}

int shim_cmd_start(const struct shim_cmd *cmd)
{
	struct shim_spec sp;
	struct sk_error err = { 0 };
	char path[PATH_MAX], lock[PATH_MAX + 8];

	if (shim_spec_load(".", &sp, &err) < 0) {
		fprintf(stderr, "containerd-shim-spin-v2: %s\n", err.message);
		return 1;
	}
	/* Shared mode: one daemon per containerd namespace ("shared" is no
	 * sandbox id: those are 64 hex digits). */
	int r = socket_path(cmd, cmd->shared ? "shared" : shim_spec_group(&sp, cmd->id), path, sizeof(path));
	shim_spec_free(&sp);
	if (r < 0) {
		fprintf(stderr, "containerd-shim-spin-v2: the shim socket path beside %s is too long (at most 107 "
				"bytes): give containerd a shorter state folder\n", cmd->address);
		return 1;
	}
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	if (mkdir(dir, 0711) < 0 && errno != EEXIST) {
		fprintf(stderr, "containerd-shim-spin-v2: cannot make %s: %s\n", dir, strerror(errno));
		return 1;
	}
	snprintf(lock, sizeof(lock), "%s.lock", path);
	_cleanup_close_ int lfd_lock = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lfd_lock < 0 || flock(lfd_lock, LOCK_EX) < 0) {
		fprintf(stderr, "containerd-shim-spin-v2: cannot lock %s: %s\n", lock, strerror(errno));
		return 1;
	}
	if (connect_to(path) < 0) {
		int lfd = listen_on(path);
		if (lfd < 0) {
			fprintf(stderr, "containerd-shim-spin-v2: cannot listen on %s: %s\n", path, strerror(-lfd));
			return 1;
		}
		r = launch(cmd, path, lfd);
		close(lfd);
		if (r < 0) {
			(void)unlink(path);
			fprintf(stderr, "containerd-shim-spin-v2: cannot start the shim: %s\n", strerror(-r));
			return 1;
		}
	}
	printf("unix://%s\n", path);
	return 0;
}
