/* The node installer's file operations on the host: bounded reads, atomic
 * writes (a .new file, fsync, rename, fsync of the folder), the one backup
 * taken before a file is first edited, and its byte-for-byte restore.
 *
 * Paths are full paths as this process sees them (the host's root mounted
 * at --host-root is already prefixed). Nothing here logs. */
#ifndef SPINKUBE_NODE_INSTALLER_HOST_H
#define SPINKUBE_NODE_INSTALLER_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

/* Suffixes beside an edited file: the original bytes, or a marker that the
 * file did not exist before the installer made it. */
#define NI_BACKUP_SUFFIX  ".spinkube-c.orig"
#define NI_CREATED_SUFFIX ".spinkube-c.created"

/* Read a whole file of at most max bytes (*out NUL-terminated, caller
 * frees). A missing file is *exists = false and 0, with *out NULL. */
int ni_host_read(const char *path, size_t max, char **out, size_t *len, bool *exists, struct sk_error *err);

/* Replace path with data atomically: PATH.new written and fsynced, renamed
 * over path, the folder fsynced. An existing file keeps its mode; a new one
 * gets mode. A crash leaves either the old or the new file, never half. */
int ni_host_write_atomic(const char *path, const char *data, size_t len, mode_t mode, struct sk_error *err);

/* Before the first edit of path: copy it to PATH.spinkube-c.orig, or, when
 * it does not exist, make PATH.spinkube-c.created. Nothing when either is
 * there already (a later edit must not overwrite the original). */
int ni_host_backup_once(const char *path, struct sk_error *err);

/* Undo ni_host_backup_once and the edits since: the original renamed back
 * over path (byte for byte), or path and the marker removed. *restored is
 * false when there was no backup of either kind. */
int ni_host_restore(const char *path, bool *restored, struct sk_error *err);

/* Copy src to dst (mode 0755) atomically unless dst already holds the same
 * bytes; *changed says whether it wrote. The folder is made if missing. */
int ni_host_install_file(const char *src, const char *dst, bool *changed, struct sk_error *err);

/* Make link a symbolic link to target (a name in link's folder), atomically
 * (LINK.new, renamed over link), unless it is one already; *changed says
 * whether it wrote. Whatever link was before is replaced. */
int ni_host_install_link(const char *target, const char *link, bool *changed, struct sk_error *err);

/* Remove path; *removed false when it was not there. The folder is fsynced. */
int ni_host_remove(const char *path, bool *removed, struct sk_error *err);

/* Is there a backup or a made-here marker beside path? */
bool ni_host_exists_backup(const char *path);

/* Does path exist (any type)? */
bool ni_host_exists(const char *path);

#endif
