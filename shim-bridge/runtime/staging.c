#include "shim-bridge/runtime/staging.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"


struct stage {
	const char *id;
	size_t files;
	struct sk_error *err;
};

static int copy_file(const char *from, const char *to)
{
	_cleanup_close_ int in = open(from, O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int out = -1;
	char buf[65536];
	ssize_t n;

	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0)
		return -errno;
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return -errno;
			off += w;
		}
	}
	return 0;
}

/* Put one host file at dest (its parent folders made): a hard link when the
 * file system allows, else a copy. */
static int place_file(struct stage *st, const char *host, const char *dest)
{
	char parent[PATH_MAX];
	char *slash;
	int r;

	if (++st->files > SB_FILES_MAX)
		return sk_err(st->err, -E2BIG, "component \"%s\": more than %d mapped files", st->id, SB_FILES_MAX);
	if (snprintf(parent, sizeof(parent), "%s", dest) >= (int)sizeof(parent))
		return sk_err(st->err, -ENAMETOOLONG, "component \"%s\": path too long: %s", st->id, dest);
	slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		r = sk_mkdir_p(parent, 0755);
		if (r < 0)
			return sk_err(st->err, r, "component \"%s\": cannot create %s: %s", st->id, parent, strerror(-r));
	}
	unlink(dest);
	if (link(host, dest) == 0)
		return 0;
	r = copy_file(host, dest);
	if (r < 0)
		return sk_err(st->err, r, "component \"%s\": cannot map file %s: %s", st->id, host, strerror(-r));
	return 0;
}

/* Map the folder host at dest, recursively; symbolic links are followed for
 * files only when they resolve to regular files, and special files are
 * skipped. */
static int place_tree(struct stage *st, const char *host, const char *dest, int depth)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	char hp[PATH_MAX], dp[PATH_MAX];
	int r;

	if (depth > SB_FILES_DEPTH_MAX)
		return sk_err(st->err, -ELOOP, "component \"%s\": %s is nested more than %d folders deep", st->id, host,
			      SB_FILES_DEPTH_MAX);
	if (snprintf(dp, sizeof(dp), "%s", dest) >= (int)sizeof(dp) || (r = sk_mkdir_p(dp, 0755)) < 0)
		return sk_err(st->err, -EINVAL, "component \"%s\": cannot create %s", st->id, dest);
	d = opendir(host);
	if (!d)
		return sk_err(st->err, -errno, "component \"%s\": files: cannot read folder %s: %s", st->id, host,
			      strerror(errno));
	while ((de = readdir(d))) {
		struct stat sb;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (snprintf(hp, sizeof(hp), "%s/%s", host, de->d_name) >= (int)sizeof(hp) ||
		    snprintf(dp, sizeof(dp), "%s/%s", dest, de->d_name) >= (int)sizeof(dp))
			return sk_err(st->err, -ENAMETOOLONG, "component \"%s\": path too long under %s", st->id, host);
		if (lstat(hp, &sb) < 0)
			continue;
		if (S_ISLNK(sb.st_mode) && (stat(hp, &sb) < 0 || !S_ISREG(sb.st_mode)))
			continue;
		if (S_ISDIR(sb.st_mode))
			r = place_tree(st, hp, dp, depth + 1);
		else if (S_ISREG(sb.st_mode))
			r = place_file(st, hp, dp);
		else
			continue;
		if (r < 0)
			return r;
	}
	return 0;
}

/* A guest path must be absolute and must not climb out of "/". */
static bool guest_path_ok(const char *g)
{
	const char *p = g;

	if (*g != '/')
		return false;
	while (*p) {
		while (*p == '/')
			p++;
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if ((n == 2 && p[0] == '.' && p[1] == '.') || (n == 1 && p[0] == '.'))
			return false;
		p += n;
	}
	return true;
}

int sb_stage_files(const char *work_dir, const char *id, const struct sb_file_map *maps, size_t n,
		   char **root_out, struct sk_error *err)
{
	struct stage st = { .id = id, .err = err };
	_cleanup_free_ char *root = NULL;
	struct stat sb;
	int r;

	*root_out = NULL;
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!guest_path_ok(maps[i].guest))
			return sk_err(err, -EINVAL, "component \"%s\": files: destination \"%s\" must be an absolute "
						    "path without . or .. parts", id, maps[i].guest);
		if (stat(maps[i].host, &sb) < 0)
			return sk_err(err, -errno, "component \"%s\": files: %s: %s", id, maps[i].host,
				      strerror(errno));
	}
	/* One folder mapped at "/": the guest sees it in place. */
	if (n == 1 && strspn(maps[0].guest, "/") == strlen(maps[0].guest) && stat(maps[0].host, &sb) == 0 &&
	    S_ISDIR(sb.st_mode)) {
		*root_out = realpath(maps[0].host, NULL);
		return *root_out ? 0 : sk_err(err, -errno, "component \"%s\": files: %s: %s", id, maps[0].host,
					      strerror(errno));
	}
	if (asprintf(&root, "%s/%s", work_dir, id) < 0) {
		root = NULL;
		return sk_err(err, -ENOMEM, "out of memory");
	}
	(void)sb_remove_tree(root);
	if ((r = sk_mkdir_p(root, 0755)) < 0)
		return sk_err(err, r, "component \"%s\": cannot create the staging folder %s: %s", id, root,
			      strerror(-r));
	for (size_t i = 0; i < n; i++) {
		char dest[PATH_MAX];
		if (snprintf(dest, sizeof(dest), "%s%s", root, maps[i].guest) >= (int)sizeof(dest))
			return sk_err(err, -ENAMETOOLONG, "component \"%s\": files: destination too long", id);
		while (strlen(dest) > strlen(root) && dest[strlen(dest) - 1] == '/')
			dest[strlen(dest) - 1] = '\0';
		if (stat(maps[i].host, &sb) < 0)
			return sk_err(err, -errno, "component \"%s\": files: %s: %s", id, maps[i].host,
				      strerror(errno));
		r = S_ISDIR(sb.st_mode) ? place_tree(&st, maps[i].host, dest, 0) : place_file(&st, maps[i].host, dest);
		if (r < 0)
			return r;
	}
	*root_out = TAKE_PTR(root);
	return 0;
}

static int remove_at(int at, const char *name, int depth)
{
	struct stat sb;

	if (fstatat(at, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISDIR(sb.st_mode) && depth < SB_FILES_DEPTH_MAX + 2) {
		int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		struct dirent *de;
		if (!d) {
			if (fd >= 0)
				close(fd);
			return -errno;
		}
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
				(void)remove_at(dirfd(d), de->d_name, depth + 1);
		closedir(d);
		return unlinkat(at, name, AT_REMOVEDIR) < 0 ? -errno : 0;
	}
	return unlinkat(at, name, 0) < 0 ? -errno : 0;
}

int sb_remove_tree(const char *path)
{
	return remove_at(AT_FDCWD, path, 0);
}
