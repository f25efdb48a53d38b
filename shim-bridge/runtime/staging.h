/* A component's mapped files, laid out as the guest sees them.
 *
 * Spin maps files (globs, single files or whole folders) to paths under the
 * guest's "/". spin-bridge builds that view once at start in a staging folder
 * (hard links where possible, else copies) and maps the folder read-only as
 * the guest's "/"; one folder mapped to "/" is used in place. */
#ifndef SPIN_BRIDGE_STAGING_H
#define SPIN_BRIDGE_STAGING_H

#include <stddef.h>

#include "common/err.h"

/* Caps on what one component may map. */
#define SB_FILES_MAX 100000
#define SB_FILES_DEPTH_MAX 64

struct sb_file_map {
	const char *host;  /* file or folder on the host (absolute) */
	const char *guest; /* absolute path in the guest ("/" for the root) */
};

/* Build the guest view of maps under <work_dir>/<id>. *root_out (owned by
 * the caller) is the folder to map as "/", or NULL when there is nothing to
 * map. Errors name the component, the host path and the problem. */
int sb_stage_files(const char *work_dir, const char *id, const struct sb_file_map *maps, size_t n,
		   char **root_out, struct sk_error *err);

/* Remove a folder tree made by sb_stage_files (or the whole work folder).
 * Never follows symbolic links. Returns 0 or a negative errno. */
int sb_remove_tree(const char *path);

#endif
