/* The node installer's host file operations (see host.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "node-installer/host.h"

/* The shim is some tens of MiB; nothing we install is larger than this. */
#define NI_FILE_MAX (512L * 1024 * 1024)

static int join(char *dst, size_t size, const char *a, const char *b)
{
	int n = snprintf(dst, size, "%s%s", a, b);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* fsync the folder that holds path, so a rename or unlink in it is durable. */
static int sync_dir_of(const char *path)
{
	char tmp[PATH_MAX];
	_cleanup_close_ int fd = -1;

	if (join(tmp, sizeof(tmp), path, "") < 0)
		return -ENAMETOOLONG;
	fd = open(dirname(tmp), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return fsync(fd) < 0 ? -errno : 0;
}

bool ni_host_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

bool ni_host_exists_backup(const char *path)
{
	char orig[PATH_MAX], made[PATH_MAX];

	if (join(orig, sizeof(orig), path, NI_BACKUP_SUFFIX) < 0 ||
	    join(made, sizeof(made), path, NI_CREATED_SUFFIX) < 0)
		return false;
	return ni_host_exists(orig) || ni_host_exists(made);
}

int ni_host_read(const char *path, size_t max, char **out, size_t *len, bool *exists, struct sk_error *err)
{
	int r = sk_read_file(path, max, out, len);

	*exists = true;
	if (r == -ENOENT) {
		*exists = false;
		*out = NULL;
		*len = 0;
		return 0;
	}
	if (r == -E2BIG)
		return sk_err(err, r, "%s is larger than %zu bytes: is it really containerd's configuration?",
		              path, max);
	if (r < 0)
		return sk_err(err, r, "reading %s: %s", path, strerror(-r));
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int ni_host_write_atomic(const char *path, const char *data, size_t len, mode_t mode, struct sk_error *err)
{
	char tmp[PATH_MAX];
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	if (join(tmp, sizeof(tmp), path, ".new") < 0)
		return sk_err(err, -ENAMETOOLONG, "%s: path too long", path);
	if (stat(path, &st) == 0)
		mode = st.st_mode & 07777;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return sk_err(err, -errno, "writing %s: %s: is the host's folder mounted read-write?", tmp,
		              strerror(errno));
	if ((r = write_all(fd, data, len)) < 0 || (fchmod(fd, mode) < 0 && (r = -errno)) ||
	    (fsync(fd) < 0 && (r = -errno))) {
		(void)unlink(tmp);
		return sk_err(err, r, "writing %s: %s", tmp, strerror(-r));
	}
	close(TAKE_FD(fd));
	if (rename(tmp, path) < 0) {
		r = -errno;
		(void)unlink(tmp);
		return sk_err(err, r, "renaming %s to %s: %s", tmp, path, strerror(-r));
	}
	if ((r = sync_dir_of(path)) < 0)
		return sk_err(err, r, "syncing the folder of %s: %s", path, strerror(-r));
	return 0;
}

int ni_host_backup_once(const char *path, struct sk_error *err)
{
	char orig[PATH_MAX], made[PATH_MAX];
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	bool exists = false;
	struct stat st;

	if (join(orig, sizeof(orig), path, NI_BACKUP_SUFFIX) < 0 ||
	    join(made, sizeof(made), path, NI_CREATED_SUFFIX) < 0)
		return sk_err(err, -ENAMETOOLONG, "%s: path too long", path);
	if (ni_host_exists(orig) || ni_host_exists(made))
		return 0;
	int r = ni_host_read(path, NI_FILE_MAX, &data, &len, &exists, err);
	if (r < 0)
		return r;
	if (!exists)
		return ni_host_write_atomic(made, "", 0, 0600, err);
	if (stat(path, &st) < 0)
		return sk_err(err, -errno, "%s: %s", path, strerror(errno));
	/* The copy gets the original's mode, so the restore is exact. */
	return ni_host_write_atomic(orig, data, len, st.st_mode & 07777, err);
}

int ni_host_restore(const char *path, bool *restored, struct sk_error *err)
{
	char orig[PATH_MAX], made[PATH_MAX];

	*restored = false;
	if (join(orig, sizeof(orig), path, NI_BACKUP_SUFFIX) < 0 ||
	    join(made, sizeof(made), path, NI_CREATED_SUFFIX) < 0)
		return sk_err(err, -ENAMETOOLONG, "%s: path too long", path);
	if (ni_host_exists(orig)) {
		if (rename(orig, path) < 0)
			return sk_err(err, -errno, "restoring %s from %s: %s", path, orig, strerror(errno));
		*restored = true;
		return sync_dir_of(path) < 0 ? sk_err(err, -EIO, "syncing the folder of %s", path) : 0;
	}
	if (ni_host_exists(made)) {
		/* The file goes first: a crash in between leaves the marker,
		 * and the next run removes what is left. */
		if (unlink(path) < 0 && errno != ENOENT)
			return sk_err(err, -errno, "removing %s: %s", path, strerror(errno));
		if (unlink(made) < 0 && errno != ENOENT)
			return sk_err(err, -errno, "removing %s: %s", made, strerror(errno));
		*restored = true;
		return sync_dir_of(path) < 0 ? sk_err(err, -EIO, "syncing the folder of %s", path) : 0;
	}
	return 0;
}

/* Do the two files hold the same bytes? */
static int same_file(const char *a, const char *b, bool *same)
{
	_cleanup_fclose_ FILE *fa = fopen(a, "rbe");
	_cleanup_fclose_ FILE *fb = NULL;
	char ba[65536], bb[65536];

	*same = false;
	if (!fa)
		return -errno;
	fb = fopen(b, "rbe");
	if (!fb)
		return errno == ENOENT ? 0 : -errno;
	for (;;) {
		size_t na = fread(ba, 1, sizeof(ba), fa), nb = fread(bb, 1, sizeof(bb), fb);
		if (na != nb || memcmp(ba, bb, na) != 0)
			return 0;
		if (na == 0) {
			*same = !ferror(fa) && !ferror(fb);
			return 0;
		}
	}
}

int ni_host_install_file(const char *src, const char *dst, bool *changed, struct sk_error *err)
{
	char dir[PATH_MAX];
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	bool same = false, exists = false;
	int r;

	*changed = false;
	if ((r = same_file(src, dst, &same)) < 0)
		return sk_err(err, r, "reading %s: %s: is it in the image?", src, strerror(-r));
	if (same)
		return 0;
	if ((r = ni_host_read(src, NI_FILE_MAX, &data, &len, &exists, err)) < 0)
		return r;
	if (!exists)
		return sk_err(err, -ENOENT, "%s is missing: is it in the image?", src);
	if (join(dir, sizeof(dir), dst, "") < 0)
		return sk_err(err, -ENAMETOOLONG, "%s: path too long", dst);
	if ((r = sk_mkdir_p(dirname(dir), 0755)) < 0)
		return sk_err(err, r, "making the folder of %s: %s", dst, strerror(-r));
	if ((r = ni_host_write_atomic(dst, data, len, 0755, err)) < 0)
		return r;
	*changed = true;
	return 0;
}

int ni_host_install_link(const char *target, const char *link, bool *changed, struct sk_error *err)
{
	char cur[PATH_MAX], tmp[PATH_MAX];
	ssize_t n;

	*changed = false;
	n = readlink(link, cur, sizeof(cur) - 1);
	if (n >= 0) {
		cur[n] = '\0';
		if (strcmp(cur, target) == 0)
			return 0;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.new", link) >= (int)sizeof(tmp))
		return sk_err(err, -ENAMETOOLONG, "%s: path too long", link);
	(void)unlink(tmp);
	if (symlink(target, tmp) < 0)
		return sk_err(err, -errno, "making the link %s: %s", tmp, strerror(errno));
	if (rename(tmp, link) < 0) {
		int e = errno;
		(void)unlink(tmp);
		return sk_err(err, -e, "renaming %s to %s: %s", tmp, link, strerror(e));
	}
	*changed = true;
	int r = sync_dir_of(link);
	return r < 0 ? sk_err(err, r, "syncing the folder of %s: %s", link, strerror(-r)) : 0;
}

int ni_host_remove(const char *path, bool *removed, struct sk_error *err)
{
	*removed = false;
	if (unlink(path) < 0) {
		if (errno == ENOENT)
			return 0;
		return sk_err(err, -errno, "removing %s: %s", path, strerror(errno));
	}
	*removed = true;
	int r = sync_dir_of(path);
	return r < 0 ? sk_err(err, r, "syncing the folder of %s: %s", path, strerror(-r)) : 0;
}
