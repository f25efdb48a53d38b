/* wasi:filesystem 0.2 (types and preopens), read-only: the descriptor
 * resource and its methods, file input-streams, stat values, and the
 * tables. Directory entry streams are in fs-dir.c, path resolution in
 * fs-resolve.c.
 *
 * A Spin component's files are staged into a host folder (env->files_dir)
 * that the guest sees as "/" through one preopen. Every descriptor is a host
 * fd; every path the guest names is resolved beneath the descriptor it is
 * relative to (fs-resolve.c), so nothing outside files_dir can be reached.
 *
 * Nothing here writes: opening for write, create or truncate and every
 * mutating function return read-only. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "shim-bridge/wasi/fs-internal.h"
#include "shim-bridge/wasi/host.h"
#include "common/utf8.h"

/* An input stream over a file: its own fd (a dup, so it outlives the
 * descriptor it came from) and its own offset. */
struct file_stream {
	int fd;
	uint64_t off;
	int err; /* errno of the last failed read, or 0 */
};

/* --- errors --------------------------------------------------------------------- */

/* errno to error-code, as wasmtime maps them (EOPNOTSUPP is ENOTSUP on Linux). */
static const struct {
	int e;
	const char *code;
} errno_codes[] = {
    {EACCES, "access"},
    {EAGAIN, "would-block"},
    {EALREADY, "already"},
    {EBADF, "bad-descriptor"},
    {EBUSY, "busy"},
    {EDEADLK, "deadlock"},
    {EDQUOT, "quota"},
    {EEXIST, "exist"},
    {EFBIG, "file-too-large"},
    {EILSEQ, "illegal-byte-sequence"},
    {EINPROGRESS, "in-progress"},
    {EINTR, "interrupted"},
    {EINVAL, "invalid"},
    {EIO, "io"},
    {EISDIR, "is-directory"},
    {ELOOP, "loop"},
    {EMLINK, "too-many-links"},
    {EMSGSIZE, "message-size"},
    {ENAMETOOLONG, "name-too-long"},
    {ENODEV, "no-device"},
    {ENOENT, "no-entry"},
    {ENOLCK, "no-lock"},
    {ENOMEM, "insufficient-memory"},
    {ENOSPC, "insufficient-space"},
    {ENOTDIR, "not-directory"},
    {ENOTEMPTY, "not-empty"},
    {ENOTRECOVERABLE, "not-recoverable"},
    {ENOTSUP, "unsupported"},
    {ENOTTY, "no-tty"},
    {ENXIO, "no-such-device"},
    {EOVERFLOW, "overflow"},
    {EPERM, "not-permitted"},
    {EPIPE, "pipe"},
    {EROFS, "read-only"},
    {ESPIPE, "invalid-seek"},
    {ETXTBSY, "text-file-busy"},
    {EXDEV, "cross-device"},
};

/* The error-code case for an errno; io for anything unlisted. */
static const char *errno_code(int e)
{
	for (size_t i = 0; i < sizeof(errno_codes) / sizeof(errno_codes[0]); i++)
		if (errno_codes[i].e == e)
			return errno_codes[i].code;
	return "io";
}

/* res = err(error-code for -neg) */
wasmtime_error_t *wh_fs_fail(wasmtime_component_val_t *res, int neg)
{
	wasmtime_component_val_t code;
	wh_val_enum(&code, errno_code(-neg));
	wh_val_result(res, false, &code);
	return NULL;
}

/* --- arguments ---------------------------------------------------------------- */

struct fs_desc *wh_fs_desc_arg(struct wh_ctx *ctx, wasmtime_context_t *cx, const wasmtime_component_val_t *v)
{
	uint32_t rep;
	if (wh_arg_rep(cx, v, WH_DESCRIPTOR, &rep) < 0)
		return NULL;
	return wh_get(ctx, rep, WH_DESCRIPTOR);
}

/* A flags argument as a bit mask over names[] (bit i for names[i]);
 * -EINVAL when v is not flags or names a flag not in names[]. */
static int flags_arg(const wasmtime_component_val_t *v, const char *const *names, size_t n, uint32_t *out)
{
	uint32_t mask = 0;
	if (v->kind != WASMTIME_COMPONENT_FLAGS)
		return -EINVAL;
	for (size_t i = 0; i < v->of.flags.size; i++) {
		const wasm_name_t *f = &v->of.flags.data[i];
		size_t j;
		for (j = 0; j < n; j++)
			if (strlen(names[j]) == f->size && memcmp(names[j], f->data, f->size) == 0)
				break;
		if (j == n)
			return -EINVAL;
		mask |= 1u << j;
	}
	*out = mask;
	return 0;
}

static const char *const path_flag_names[] = {"symlink-follow"};
enum { PF_FOLLOW = 1 << 0 };

static const char *const open_flag_names[] = {"create", "directory", "exclusive", "truncate"};
enum { OF_CREATE = 1 << 0, OF_DIRECTORY = 1 << 1, OF_EXCLUSIVE = 1 << 2, OF_TRUNCATE = 1 << 3 };

static const char *const desc_flag_names[] = {
    "read", "write", "file-integrity-sync", "data-integrity-sync", "requested-write-sync", "mutate-directory",
};
enum {
	DF_READ = 1 << 0,
	DF_WRITE = 1 << 1,
	DF_FILE_SYNC = 1 << 2,
	DF_DATA_SYNC = 1 << 3,
	DF_REQ_SYNC = 1 << 4,
	DF_MUTATE_DIR = 1 << 5,
};

static int follow_arg(const wasmtime_component_val_t *v, bool *follow)
{
	uint32_t m;
	if (flags_arg(v, path_flag_names, N(path_flag_names), &m) < 0)
		return -EINVAL;
	*follow = m & PF_FOLLOW;
	return 0;
}

/* Open the guest path in argument v beneath directory d; fd or -errno. */
static int open_arg_path(const struct fs_desc *d, const wasmtime_component_val_t *v, int flags, bool follow,
                         bool *bad_arg)
{
	char buf[PATH_MAX];
	const char *s;
	size_t n;
	int r;

	*bad_arg = false;
	if (wh_arg_string(v, &s, &n) < 0) {
		*bad_arg = true;
		return -EINVAL;
	}
	if (!d->dir)
		return -ENOTDIR;
	r = wh_fs_path_copy(s, n, buf);
	if (r < 0)
		return r;
	return wh_fs_open_beneath(d->fd, buf, flags, follow);
}

/* --- values ------------------------------------------------------------------- */

const char *wh_fs_type_name(mode_t m)
{
	if (S_ISREG(m))
		return "regular-file";
	if (S_ISDIR(m))
		return "directory";
	if (S_ISLNK(m))
		return "symbolic-link";
	if (S_ISBLK(m))
		return "block-device";
	if (S_ISCHR(m))
		return "character-device";
	if (S_ISFIFO(m))
		return "fifo";
	if (S_ISSOCK(m))
		return "socket";
	return "unknown";
}

/* option<datetime>: none for times before the epoch, which datetime cannot say. */
static void datetime_opt(wasmtime_component_val_t *v, struct timespec ts)
{
	static const char *const names[] = {"seconds", "nanoseconds"};
	wasmtime_component_val_t dt;
	wasmtime_component_valrecord_entry_t *f;

	if (ts.tv_sec < 0) {
		wh_val_option(v, NULL);
		return;
	}
	f = wh_val_record(&dt, names, 2);
	wh_val_u64(&f[0].val, (uint64_t)ts.tv_sec);
	wh_val_u32(&f[1].val, (uint32_t)ts.tv_nsec);
	wh_val_option(v, &dt);
}

static void stat_val(wasmtime_component_val_t *v, const struct stat *st)
{
	static const char *const names[] = {
	    "type",
	    "link-count",
	    "size",
	    "data-access-timestamp",
	    "data-modification-timestamp",
	    "status-change-timestamp",
	};
	wasmtime_component_valrecord_entry_t *f = wh_val_record(v, names, N(names));
	wh_val_enum(&f[0].val, wh_fs_type_name(st->st_mode));
	wh_val_u64(&f[1].val, (uint64_t)st->st_nlink);
	wh_val_u64(&f[2].val, st->st_size < 0 ? 0 : (uint64_t)st->st_size);
	datetime_opt(&f[3].val, st->st_atim);
	datetime_opt(&f[4].val, st->st_mtim);
	datetime_opt(&f[5].val, st->st_ctim);
}

/* A 64-bit mix (splitmix64's finaliser). */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9u;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebu;
	x ^= x >> 31;
	return x;
}

/* metadata-hash-value from the file's identity (dev, ino). Like wasmtime:
 * 64 bits of hash in lower, and upper the same xor a constant (pi's IEEE
 * double bits) so the halves never look equal. */
static void hash_val(wasmtime_component_val_t *v, const struct stat *st)
{
	static const char *const names[] = {"lower", "upper"};
	wasmtime_component_valrecord_entry_t *f = wh_val_record(v, names, 2);
	uint64_t lower = mix64(mix64((uint64_t)st->st_dev) ^ (uint64_t)st->st_ino);
	wh_val_u64(&f[0].val, lower);
	wh_val_u64(&f[1].val, lower ^ 4614256656552045848u);
}

/* --- descriptors ----------------------------------------------------------------- */

static void desc_drop(struct wh_ctx *ctx, void *obj)
{
	struct fs_desc *d = obj;
	(void)ctx;
	if (d->fd >= 0)
		close(d->fd);
	free(d);
}

/* A descriptor resource over fd (taken: closed on any failure) in *v. */
static wasmtime_error_t *desc_new(struct wh_ctx *ctx, wasmtime_context_t *cx, int fd, bool dir,
                                  wasmtime_component_val_t *v)
{
	struct fs_desc *d = malloc(sizeof(*d));
	uint32_t rep;
	if (!d) {
		close(fd);
		return wh_trap("out of memory");
	}
	d->fd = fd;
	d->dir = dir;
	rep = wh_add(ctx, WH_DESCRIPTOR, d, desc_drop);
	if (!rep || wh_val_resource(cx, v, rep, WH_DESCRIPTOR) < 0)
		return wh_trap("too many resources");
	return NULL;
}

/* get-directories: () -> list<tuple<descriptor, string>> */
static wasmtime_error_t *get_directories(FS_ARGS)
{
	const char *dir = ctx->env ? ctx->env->files_dir : NULL;
	wasmtime_component_val_t *l, *t;
	wasmtime_error_t *e;
	int fd;

	(void)a, (void)na;
	if (nr < 1)
		return wh_trap("get-directories: bad results");
	if (!dir) {
		wh_val_list(&res[0], 0);
		return NULL;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return wh_trap("get-directories: the component's files folder %s cannot be opened: %s", dir,
		               strerror(errno));
	l = wh_val_list(&res[0], 1);
	t = wh_val_tuple(&l[0], 2);
	e = desc_new(ctx, cx, fd, true, &t[0]);
	if (e)
		return e;
	wh_val_cstring(&t[1], "/");
	return NULL;
}

/* open-at(path-flags, path, open-flags, descriptor-flags) -> result<descriptor, error-code>.
 * Only reads: create, truncate, exclusive, write and mutate-directory are
 * read-only; the sync flags unsupported (as in wasmtime). */
static wasmtime_error_t *open_at(FS_ARGS)
{
	struct fs_desc *d;
	uint32_t of, df;
	bool follow, bad;
	struct stat st;
	wasmtime_component_val_t v;
	wasmtime_error_t *e;
	_cleanup_close_ int fd = -1;
	int flags = O_RDONLY | O_NOCTTY | O_NONBLOCK;

	DESC_OR_TRAP(d, 5, "open-at");
	if (follow_arg(&a[1], &follow) < 0 ||
	    flags_arg(&a[3], open_flag_names, N(open_flag_names), &of) < 0 ||
	    flags_arg(&a[4], desc_flag_names, N(desc_flag_names), &df) < 0 ||
	    a[2].kind != WASMTIME_COMPONENT_STRING)
		return wh_trap("descriptor.open-at: bad arguments");
	if (!d->dir)
		return wh_fs_fail(res, -ENOTDIR);
	if (df & (DF_FILE_SYNC | DF_DATA_SYNC | DF_REQ_SYNC))
		return wh_fs_fail(res, -ENOTSUP);
	if ((of & OF_DIRECTORY) && (of & (OF_CREATE | OF_EXCLUSIVE | OF_TRUNCATE)))
		return wh_fs_fail(res, -EINVAL);
	if ((of & (OF_CREATE | OF_EXCLUSIVE | OF_TRUNCATE)) || (df & (DF_WRITE | DF_MUTATE_DIR)))
		return wh_fs_fail(res, -EROFS);
	if (of & OF_DIRECTORY)
		flags |= O_DIRECTORY;
	fd = open_arg_path(d, &a[2], flags, follow, &bad);
	if (fd < 0)
		return wh_fs_fail(res, fd);
	/* O_NONBLOCK only kept a FIFO from blocking the open; reads are pread */
	if (fstat(fd, &st) < 0)
		return wh_fs_fail(res, -errno);
	e = desc_new(ctx, cx, TAKE_FD(fd), S_ISDIR(st.st_mode), &v);
	if (e)
		return e;
	wh_val_result(res, true, &v);
	return NULL;
}

/* read(length, offset) -> result<tuple<list<u8>, bool>, error-code>: up to
 * length bytes (capped at WH_CHUNK_MAX) at offset; the bool says the end of
 * the file was reached. */
static wasmtime_error_t *desc_read(FS_ARGS)
{
	struct fs_desc *d;
	uint64_t len, off;
	_cleanup_free_ uint8_t *buf = NULL;
	size_t got = 0;
	wasmtime_component_val_t v, *t;

	DESC_OR_TRAP(d, 3, "read");
	if (wh_arg_u64(&a[1], &len) < 0 || wh_arg_u64(&a[2], &off) < 0)
		return wh_trap("descriptor.read: bad arguments");
	if (d->dir)
		return wh_fs_fail(res, -EBADF);
	if (off > INT64_MAX)
		return wh_fs_fail(res, -EINVAL);
	if (len > WH_CHUNK_MAX)
		len = WH_CHUNK_MAX;
	buf = malloc(len ? len : 1);
	if (!buf)
		return wh_trap("out of memory");
	while (got < len) {
		ssize_t n = pread(d->fd, buf + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return wh_fs_fail(res, -errno);
		if (n == 0)
			break;
		got += (size_t)n;
	}
	t = wh_val_tuple(&v, 2);
	wh_val_bytes(&t[0], buf, got);
	wh_val_bool(&t[1], got < len);
	wh_val_result(res, true, &v);
	return NULL;
}

static ssize_t fstream_read(void *s, void *buf, size_t cap, int timeout_ms)
{
	struct file_stream *f = s;
	ssize_t n;
	(void)timeout_ms;
	if (f->off > INT64_MAX)
		return 0;
	do
		n = pread(f->fd, buf, cap, (off_t)f->off);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		f->err = errno;
		return -f->err;
	}
	f->off += (uint64_t)n;
	return n;
}

/* Files are always ready: a read never waits for more data. */
static int fstream_wait_fd(void *s, short *events, int64_t *deadline_ns)
{
	(void)s, (void)events;
	*deadline_ns = -1;
	return -1;
}

static void fstream_close(struct wh_ctx *ctx, void *s)
{
	struct file_stream *f = s;
	(void)ctx;
	close(f->fd);
	free(f);
}

static const char *fstream_error(void *s)
{
	struct file_stream *f = s;
	return strerror(f->err ? f->err : EIO);
}

static const struct wh_stream_ops fstream_ops = {
    .read = fstream_read,
    .wait_fd = fstream_wait_fd,
    .close = fstream_close,
    .error = fstream_error,
};

/* read-via-stream(offset) -> result<input-stream, error-code> */
static wasmtime_error_t *read_via_stream(FS_ARGS)
{
	struct fs_desc *d;
	struct file_stream *f;
	uint64_t off;
	uint32_t rep;
	wasmtime_component_val_t v;
	_cleanup_close_ int fd = -1;

	DESC_OR_TRAP(d, 2, "read-via-stream");
	if (wh_arg_u64(&a[1], &off) < 0)
		return wh_trap("descriptor.read-via-stream: bad arguments");
	if (d->dir)
		return wh_fs_fail(res, -EISDIR);
	fd = fcntl(d->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return wh_fs_fail(res, -errno);
	f = malloc(sizeof(*f));
	if (!f)
		return wh_trap("out of memory");
	*f = (struct file_stream){.fd = TAKE_FD(fd), .off = off};
	rep = wh_input_stream_new(ctx, &fstream_ops, f);
	if (!rep || wh_val_resource(cx, &v, rep, WH_INPUT_STREAM) < 0)
		return wh_trap("too many resources");
	wh_val_result(res, true, &v);
	return NULL;
}

/* stat() -> result<descriptor-stat, error-code> */
static wasmtime_error_t *desc_stat(FS_ARGS)
{
	struct fs_desc *d;
	struct stat st;
	wasmtime_component_val_t v;

	DESC_OR_TRAP(d, 1, "stat");
	if (fstat(d->fd, &st) < 0)
		return wh_fs_fail(res, -errno);
	stat_val(&v, &st);
	wh_val_result(res, true, &v);
	return NULL;
}

/* fstat the file at the path in a[2] (path-flags in a[1]) beneath d. */
static int stat_path(struct fs_desc *d, const wasmtime_component_val_t *a, struct stat *st, bool *bad)
{
	bool follow;
	_cleanup_close_ int fd = -1;

	*bad = false;
	if (follow_arg(&a[1], &follow) < 0) {
		*bad = true;
		return -EINVAL;
	}
	fd = open_arg_path(d, &a[2], O_PATH, follow, bad);
	if (fd < 0)
		return fd;
	return fstat(fd, st) < 0 ? -errno : 0;
}

/* stat-at(path-flags, path) -> result<descriptor-stat, error-code> */
static wasmtime_error_t *stat_at(FS_ARGS)
{
	struct fs_desc *d;
	struct stat st;
	bool bad;
	wasmtime_component_val_t v;
	int r;

	DESC_OR_TRAP(d, 3, "stat-at");
	r = stat_path(d, a, &st, &bad);
	if (bad)
		return wh_trap("descriptor.stat-at: bad arguments");
	if (r < 0)
		return wh_fs_fail(res, r);
	stat_val(&v, &st);
	wh_val_result(res, true, &v);
	return NULL;
}

/* get-type() -> result<descriptor-type, error-code> */
static wasmtime_error_t *get_type(FS_ARGS)
{
	struct fs_desc *d;
	struct stat st;
	wasmtime_component_val_t v;

	DESC_OR_TRAP(d, 1, "get-type");
	if (fstat(d->fd, &st) < 0)
		return wh_fs_fail(res, -errno);
	wh_val_enum(&v, wh_fs_type_name(st.st_mode));
	wh_val_result(res, true, &v);
	return NULL;
}

/* get-flags() -> result<descriptor-flags, error-code>: always just read. */
static wasmtime_error_t *get_flags(FS_ARGS)
{
	struct fs_desc *d;
	wasmtime_component_val_t v;

	DESC_OR_TRAP(d, 1, "get-flags");
	v.kind = WASMTIME_COMPONENT_FLAGS;
	wasmtime_component_valflags_new_uninit(&v.of.flags, 1);
	wasm_name_new(&v.of.flags.data[0], 4, "read");
	wh_val_result(res, true, &v);
	return NULL;
}

/* metadata-hash() -> result<metadata-hash-value, error-code> */
static wasmtime_error_t *metadata_hash(FS_ARGS)
{
	struct fs_desc *d;
	struct stat st;
	wasmtime_component_val_t v;

	DESC_OR_TRAP(d, 1, "metadata-hash");
	if (fstat(d->fd, &st) < 0)
		return wh_fs_fail(res, -errno);
	hash_val(&v, &st);
	wh_val_result(res, true, &v);
	return NULL;
}

/* metadata-hash-at(path-flags, path) -> result<metadata-hash-value, error-code> */
static wasmtime_error_t *metadata_hash_at(FS_ARGS)
{
	struct fs_desc *d;
	struct stat st;
	bool bad;
	wasmtime_component_val_t v;
	int r;

	DESC_OR_TRAP(d, 3, "metadata-hash-at");
	r = stat_path(d, a, &st, &bad);
	if (bad)
		return wh_trap("descriptor.metadata-hash-at: bad arguments");
	if (r < 0)
		return wh_fs_fail(res, r);
	hash_val(&v, &st);
	wh_val_result(res, true, &v);
	return NULL;
}

/* is-same-object(other: borrow<descriptor>) -> bool: same device and inode. */
static wasmtime_error_t *is_same_object(FS_ARGS)
{
	struct fs_desc *d, *o;
	struct stat s1, s2;

	DESC_OR_TRAP(d, 2, "is-same-object");
	if (!(o = wh_fs_desc_arg(ctx, cx, &a[1])))
		return wh_trap("descriptor.is-same-object: bad arguments");
	wh_val_bool(&res[0], fstat(d->fd, &s1) == 0 && fstat(o->fd, &s2) == 0 && s1.st_dev == s2.st_dev &&
	                         s1.st_ino == s2.st_ino);
	return NULL;
}

/* readlink-at(path) -> result<string, error-code>: the link's text, never
 * followed (it may name anything; resolving it goes through open-at). */
static wasmtime_error_t *readlink_at(FS_ARGS)
{
	struct fs_desc *d;
	char target[PATH_MAX];
	wasmtime_component_val_t v;
	bool bad;
	ssize_t n;
	_cleanup_close_ int fd = -1;

	DESC_OR_TRAP(d, 2, "readlink-at");
	fd = open_arg_path(d, &a[1], O_PATH, false, &bad);
	if (bad)
		return wh_trap("descriptor.readlink-at: bad arguments");
	if (fd < 0)
		return wh_fs_fail(res, fd);
	n = readlinkat(fd, "", target, sizeof(target));
	if (n < 0) /* "" on anything but a link is ENOENT: not a link */
		return wh_fs_fail(res, errno == ENOENT ? -EINVAL : -errno);
	if ((size_t)n >= sizeof(target))
		return wh_fs_fail(res, -ENAMETOOLONG);
	if (!sk_utf8_valid((const unsigned char *)target, (size_t)n))
		return wh_fs_fail(res, -EILSEQ);
	wh_val_string(&v, target, (size_t)n);
	wh_val_result(res, true, &v);
	return NULL;
}

/* advise(offset, length, advice) -> result<_, error-code>: a hint; files
 * only, as in wasmtime. */
static wasmtime_error_t *advise(FS_ARGS)
{
	struct fs_desc *d;
	uint64_t off, len;

	DESC_OR_TRAP(d, 4, "advise");
	if (wh_arg_u64(&a[1], &off) < 0 || wh_arg_u64(&a[2], &len) < 0 ||
	    a[3].kind != WASMTIME_COMPONENT_ENUM)
		return wh_trap("descriptor.advise: bad arguments");
	if (d->dir)
		return wh_fs_fail(res, -EBADF);
	wh_val_ok(res);
	return NULL;
}

/* sync and sync-data: nothing was written, so nothing to sync. */
static wasmtime_error_t *desc_sync(FS_ARGS)
{
	struct fs_desc *d;
	DESC_OR_TRAP(d, 1, "sync");
	wh_val_ok(res);
	return NULL;
}

/* Every mutating method: the descriptor is checked, then read-only. */
static wasmtime_error_t *read_only(FS_ARGS)
{
	struct fs_desc *d;
	DESC_OR_TRAP(d, 1, "(mutating method)");
	return wh_fs_fail(res, -EROFS);
}

/* filesystem-error-code(borrow<error>) -> option<error-code>: stream errors
 * here carry only text, so none. */
static wasmtime_error_t *filesystem_error_code(FS_ARGS)
{
	(void)ctx, (void)cx, (void)a, (void)na;
	if (nr < 1)
		return wh_trap("filesystem-error-code: bad results");
	wh_val_option(&res[0], NULL);
	return NULL;
}

static const struct wh_resource_def types_res[] = {
    {"descriptor", WH_DESCRIPTOR},
    {"directory-entry-stream", WH_DIR_ENTRY_STREAM},
};
static const struct wh_func_def types_funcs[] = {
    {"[method]descriptor.read-via-stream", read_via_stream},
    {"[method]descriptor.write-via-stream", read_only},
    {"[method]descriptor.append-via-stream", read_only},
    {"[method]descriptor.advise", advise},
    {"[method]descriptor.sync-data", desc_sync},
    {"[method]descriptor.get-flags", get_flags},
    {"[method]descriptor.get-type", get_type},
    {"[method]descriptor.set-size", read_only},
    {"[method]descriptor.set-times", read_only},
    {"[method]descriptor.read", desc_read},
    {"[method]descriptor.write", read_only},
    {"[method]descriptor.read-directory", wh_fs_read_directory},
    {"[method]descriptor.sync", desc_sync},
    {"[method]descriptor.create-directory-at", read_only},
    {"[method]descriptor.stat", desc_stat},
    {"[method]descriptor.stat-at", stat_at},
    {"[method]descriptor.set-times-at", read_only},
    {"[method]descriptor.link-at", read_only},
    {"[method]descriptor.open-at", open_at},
    {"[method]descriptor.readlink-at", readlink_at},
    {"[method]descriptor.remove-directory-at", read_only},
    {"[method]descriptor.rename-at", read_only},
    {"[method]descriptor.symlink-at", read_only},
    {"[method]descriptor.unlink-file-at", read_only},
    {"[method]descriptor.is-same-object", is_same_object},
    {"[method]descriptor.metadata-hash", metadata_hash},
    {"[method]descriptor.metadata-hash-at", metadata_hash_at},
    {"[method]directory-entry-stream.read-directory-entry", wh_fs_read_directory_entry},
    {"filesystem-error-code", filesystem_error_code},
};
static const struct wh_func_def preopens_funcs[] = {{"get-directories", get_directories}};

const struct wh_iface_def wh_fs_ifaces[] = {
    {"wasi:filesystem/types@0.2.6", types_res, N(types_res), types_funcs, N(types_funcs)},
    {"wasi:filesystem/preopens@0.2.6", NULL, 0, preopens_funcs, N(preopens_funcs)},
};
const size_t wh_n_fs_ifaces = N(wh_fs_ifaces);
