/* wasi:filesystem directory entry streams: read-directory opens its own
 * stream over the directory (its position is its own), and
 * read-directory-entry yields each entry but "." and "..", with its type
 * (from d_type, or a stat where the filesystem leaves it unknown) and its
 * name, which must be UTF-8. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/utf8.h"
#include "shim-bridge/wasi/fs-internal.h"

static void dir_stream_drop(struct wh_ctx *ctx, void *obj)
{
	(void)ctx;
	if (obj)
		closedir(obj);
}

/* read-directory() -> result<directory-entry-stream, error-code>: over a
 * fresh open of the directory, so its position is its own. */
wasmtime_error_t *wh_fs_read_directory(FS_ARGS)
{
	struct fs_desc *d;
	DIR *dir;
	uint32_t rep;
	wasmtime_component_val_t v;
	_cleanup_close_ int fd = -1;

	DESC_OR_TRAP(d, 1, "read-directory");
	if (!d->dir)
		return wh_fs_fail(res, -ENOTDIR);
	fd = openat(d->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return wh_fs_fail(res, -errno);
	dir = fdopendir(fd);
	if (!dir)
		return wh_fs_fail(res, -errno);
	fd = -1; /* the DIR owns it now */
	rep = wh_add(ctx, WH_DIR_ENTRY_STREAM, dir, dir_stream_drop);
	if (!rep || wh_val_resource(cx, &v, rep, WH_DIR_ENTRY_STREAM) < 0)
		return wh_trap("too many resources");
	wh_val_result(res, true, &v);
	return NULL;
}

static const char *dirent_type(DIR *dir, const struct dirent *e)
{
	struct stat st;
	switch (e->d_type) {
	case DT_REG:
		return "regular-file";
	case DT_DIR:
		return "directory";
	case DT_LNK:
		return "symbolic-link";
	case DT_BLK:
		return "block-device";
	case DT_CHR:
		return "character-device";
	case DT_FIFO:
		return "fifo";
	case DT_SOCK:
		return "socket";
	default:
		/* some filesystems do not fill d_type */
		if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return wh_fs_type_name(st.st_mode);
		return "unknown";
	}
}

/* read-directory-entry() -> result<option<directory-entry>, error-code>:
 * the next entry but "." and "..", none at the end. */
wasmtime_error_t *wh_fs_read_directory_entry(FS_ARGS)
{
	static const char *const names[] = {"type", "name"};
	uint32_t rep;
	DIR *dir;
	struct dirent *e;
	wasmtime_component_val_t entry, opt;
	wasmtime_component_valrecord_entry_t *f;

	if (na < 1 || nr < 1 || wh_arg_rep(cx, &a[0], WH_DIR_ENTRY_STREAM, &rep) < 0 ||
	    !(dir = wh_get(ctx, rep, WH_DIR_ENTRY_STREAM)))
		return wh_trap("directory-entry-stream.read-directory-entry: bad arguments");
	do {
		errno = 0;
		e = readdir(dir);
	} while (e && (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0));
	if (!e) {
		if (errno)
			return wh_fs_fail(res, -errno);
		wh_val_option(&opt, NULL);
		wh_val_result(res, true, &opt);
		return NULL;
	}
	if (!sk_utf8_valid((const unsigned char *)e->d_name, strlen(e->d_name)))
		return wh_fs_fail(res, -EILSEQ);
	f = wh_val_record(&entry, names, 2);
	wh_val_enum(&f[0].val, dirent_type(dir, e));
	wh_val_cstring(&f[1].val, e->d_name);
	wh_val_option(&opt, &entry);
	wh_val_result(res, true, &opt);
	return NULL;
}
