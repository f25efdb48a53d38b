/* wasi:filesystem paths: a guest path resolved beneath the descriptor it is
 * relative to, so nothing outside the component's files folder can be
 * reached: absolute paths, ".." above the descriptor and symlinks leading
 * out are refused with not-permitted. Resolution uses
 * openat2(RESOLVE_BENEATH), which the kernel enforces and which follows
 * symlinks that stay inside; where openat2 is missing (old kernels, seccomp
 * filters) the path is walked a component at a time with O_NOFOLLOW, and
 * symlinks along the way are refused instead. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
/* -DWH_FS_NO_OPENAT2 builds the component walk alone (its tests use it) */
#if defined(SYS_openat2) && !defined(WH_FS_NO_OPENAT2)
#define HAVE_OPENAT2 1
#include <linux/openat2.h>
#endif

#include "common/cleanup.h"
#include "shim-bridge/wasi/fs-internal.h"

/* Copy a guest path into buf (PATH_MAX, NUL-terminated). 0, or the error
 * the guest gets: name-too-long, invalid (an embedded NUL), not-permitted
 * (absolute: only relative paths stay beneath a descriptor), no-entry
 * (empty). */
int wh_fs_path_copy(const char *s, size_t n, char *buf)
{
	if (n >= PATH_MAX)
		return -ENAMETOOLONG;
	if (memchr(s, '\0', n))
		return -EINVAL;
	if (n == 0)
		return -ENOENT;
	if (s[0] == '/')
		return -EPERM;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return 0;
}

/* Walk path beneath dirfd a component at a time, never following a
 * symlink: intermediate components are opened O_PATH|O_DIRECTORY|O_NOFOLLOW,
 * ".." pops back to the previous directory and is refused at the top.
 * path is modified. A symlink that would have to be followed (along the
 * way, or last with `follow`) is refused with -EPERM, as openat2 refuses
 * links leading out; a last one not to be followed is -ELOOP as usual. */
static int walk_beneath(int dirfd, char *path, int flags, bool follow)
{
	size_t len = strlen(path), depth = 0;
	bool dir_only = len && path[len - 1] == '/';
	_cleanup_free_ int *stack = calloc(len / 2 + 2, sizeof(*stack));
	char *p = path, *last = NULL;
	int r = 0;

	if (!stack)
		return -ENOMEM;
	for (;;) {
		char *c = p, *slash = strchr(p, '/');
		char *next = slash ? slash + 1 : NULL;
		int cur = depth ? stack[depth - 1] : dirfd, fd;
		struct stat st;

		if (slash)
			*slash = '\0';
		while (next && *next == '/')
			next++;
		if (next && !*next)
			next = NULL;
		last = NULL;
		if (*c == '\0' || strcmp(c, ".") == 0) {
			/* nothing */
		} else if (strcmp(c, "..") == 0) {
			if (!depth) {
				r = -EPERM;
				goto out;
			}
			close(stack[--depth]);
		} else if (!next) {
			last = c;
		} else {
			fd = openat(cur, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0) {
				r = -errno;
				if ((r == -ENOTDIR || r == -ELOOP) &&
				    fstatat(cur, c, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
					r = -EPERM;
				goto out;
			}
			stack[depth++] = fd;
		}
		if (!next)
			break;
		p = next;
	}
	{
		int cur = depth ? stack[depth - 1] : dirfd;
		struct stat st;
		r = openat(cur, last ? last : ".",
		           flags | O_NOFOLLOW | O_CLOEXEC | (dir_only ? O_DIRECTORY : 0));
		if (r < 0) {
			r = -errno;
			if (r == -ELOOP && follow) /* O_NOFOLLOW met a link */
				r = -EPERM;
		} else if (follow && (flags & O_PATH) && (fstat(r, &st) < 0 || S_ISLNK(st.st_mode))) {
			close(r);
			r = -EPERM;
		}
	}
out:
	while (depth)
		close(stack[--depth]);
	return r;
}

/* Open path (relative, NUL-terminated, modified) beneath dirfd with open(2)
 * flags; the last component is followed when `follow`. The fd, or -errno:
 * an escape is -EPERM. */
int wh_fs_open_beneath(int dirfd, char *path, int flags, bool follow)
{
#ifdef HAVE_OPENAT2
	struct open_how how = {
	    .flags = (unsigned int)(flags | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW)),
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	if (fd >= 0)
		return (int)fd;
	if (errno == EXDEV)
		return -EPERM; /* RESOLVE_BENEATH: the path leads out */
	if (errno != ENOSYS && errno != EPERM)
		return -errno;
		/* no openat2 here (or a seccomp filter refuses it): the walk is
		 * stricter, so falling back on a real EPERM is safe too */
#endif
	return walk_beneath(dirfd, path, flags, follow);
}
