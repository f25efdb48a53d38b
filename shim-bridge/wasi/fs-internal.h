/* What the wasi:filesystem host's files share (fs.c: descriptors and the
 * tables; fs-dir.c: directory entry streams; fs-resolve.c: paths beneath a
 * descriptor). Not for other modules: they use host.h's wh_fs_ifaces. */
#ifndef SPIN_BRIDGE_WASI_FS_INTERNAL_H
#define SPIN_BRIDGE_WASI_FS_INTERNAL_H

#include <stdbool.h>
#include <sys/types.h>

#include "shim-bridge/wasi/host.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* An open file or directory. Owns fd. */
struct fs_desc {
	int fd;
	bool dir;
};

/* res = err(error-code for the negative errno neg); returns NULL. (fs.c) */
wasmtime_error_t *wh_fs_fail(wasmtime_component_val_t *res, int neg);
/* The descriptor a borrow<descriptor> argument names, or NULL. (fs.c) */
struct fs_desc *wh_fs_desc_arg(struct wh_ctx *ctx, wasmtime_context_t *cx, const wasmtime_component_val_t *v);
/* The descriptor-type case of a file mode. (fs.c) */
const char *wh_fs_type_name(mode_t m);

/* The parameters of every callback (wh_fn). */
#define FS_ARGS                                                                                              \
	struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a, size_t na,                  \
	    wasmtime_component_val_t *res, size_t nr

/* Every descriptor method starts here: `need` arguments (the descriptor
 * first) and one result, or a trap. */
#define DESC_OR_TRAP(d, need, what)                                                                          \
	do {                                                                                                 \
		if (na < (need) || nr < 1 || !((d) = wh_fs_desc_arg(ctx, cx, &a[0])))                              \
			return wh_trap("descriptor.%s: bad arguments", what);                                \
	} while (0)

/* Copy a guest path into buf (PATH_MAX, NUL-terminated). 0, or the error
 * the guest gets: name-too-long, invalid (an embedded NUL), not-permitted
 * (absolute: only relative paths stay beneath a descriptor), no-entry
 * (empty). (fs-resolve.c) */
int wh_fs_path_copy(const char *s, size_t n, char *buf);
/* Open path (relative, NUL-terminated, modified) beneath dirfd with open(2)
 * flags; the last component is followed when `follow`. The fd, or -errno:
 * an escape is -EPERM. (fs-resolve.c) */
int wh_fs_open_beneath(int dirfd, char *path, int flags, bool follow);

/* descriptor.read-directory and directory-entry-stream.read-directory-entry
 * (fs-dir.c). */
wasmtime_error_t *wh_fs_read_directory(FS_ARGS);
wasmtime_error_t *wh_fs_read_directory_entry(FS_ARGS);

#endif
