/* See unix-socket.h. */
#include "common/unix-socket.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"

static int address(const char *what, const char *path, struct sockaddr_un *sa, struct sk_error *err)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return sk_err(err, -ENAMETOOLONG, "%s: socket path %s is longer than %zu bytes", what, path,
			      sizeof(sa->sun_path) - 1);
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

/* A close-on-exec stream socket and path's address. */
static int open_socket(const char *what, const char *path, struct sockaddr_un *sa, struct sk_error *err)
{
	int r = address(what, path, sa, err);

	if (r < 0)
		return r;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	return fd >= 0 ? fd : sk_err(err, -errno, "%s: socket: %s", what, strerror(errno));
}

int sk_unix_listen(const char *what, const char *path, int backlog, struct sk_error *err)
{
	struct sockaddr_un sa;
	_cleanup_close_ int fd = open_socket(what, path, &sa, err);

	if (fd < 0)
		return TAKE_FD(fd);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return sk_err(err, -errno, "%s: bind %s: %s", what, path, strerror(errno));
	if (listen(fd, backlog) < 0)
		return sk_err(err, -errno, "%s: listen on %s: %s", what, path, strerror(errno));
	return TAKE_FD(fd);
}

int sk_unix_connect(const char *what, const char *path, struct sk_error *err)
{
	struct sockaddr_un sa;
	_cleanup_close_ int fd = open_socket(what, path, &sa, err);

	if (fd < 0)
		return TAKE_FD(fd);
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		if (errno != EINTR)
			return sk_err(err, -errno, "%s: connect to %s: %s", what, path, strerror(errno));
	return TAKE_FD(fd);
}
