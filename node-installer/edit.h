/* The node installer's edits of containerd's configuration: pure functions
 * from the text of a file to its new text, no I/O, no clock.
 *
 * What is added is always the same two TOML tables, the runtimes "spin"
 * (per-pod mode) and "spin-shared" (shared mode: the shim run under the
 * name of its link next to it) of containerd's CRI plugin:
 *
 *     [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.spin]   (config version 2)
 *     [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.spin] (config version 3)
 *       runtime_type = "io.containerd.spin.v2"
 *       runtime_path = "<the installed shim>"
 *     [plugins."...".containerd.runtimes.spin-shared]
 *       runtime_type = "io.containerd.spin.v2"
 *       runtime_path = "<its folder>/containerd-shim-spin-shared-v2"
 *
 * either as a drop-in file of its own (plain containerd, k0s) or appended to
 * a file between two marker comments (MicroK8s' template, k3s' template).
 * The input must be valid TOML (checked with common/toml.h; k3s' template is
 * a Go template and is only scanned as text) of at most NI_CONFIG_MAX bytes,
 * and every TOML result is parsed again before it is handed out, so an edit
 * can never produce a file containerd would refuse.
 *
 * A runtime "spin" or "spin-shared" that the file defines outside our
 * markers is refused (-EEXIST): two installers owning one runtime name would undo each other.
 *
 * Ownership: every char **out is the caller's to free; on error it is left
 * untouched. "Unchanged" is *out == NULL with a return of 0. */
#ifndef SPINKUBE_NODE_INSTALLER_EDIT_H
#define SPINKUBE_NODE_INSTALLER_EDIT_H

#include <stddef.h>

#include "common/err.h"

#define NI_RUNTIME_NAME "spin"
#define NI_RUNTIME_TYPE "io.containerd.spin.v2"
#define NI_SHARED_RUNTIME_NAME "spin-shared"
#define NI_SHARED_LINK_NAME    "containerd-shim-spin-shared-v2"
#define NI_CONFIG_MAX   (1024 * 1024)
#define NI_PATH_MAX     1024

#define NI_MARK_BEGIN "# >>> spinkube-c node installer: the spin runtime (removed on uninstall)"
#define NI_MARK_END   "# <<< spinkube-c node installer"

/* How a file appended to is checked: TOML is parsed before and after;
 * a Go template (k3s) is only scanned as text. */
enum ni_format { NI_FORMAT_TOML, NI_FORMAT_TEMPLATE };

/* The config version of a containerd configuration (its top-level
 * `version`): 2 or 3. 1 and a missing version are refused with the fix
 * (containerd config migrate). name is for messages. */
int ni_config_version(const char *text, size_t len, const char *name, int *version, struct sk_error *err);

/* Our marked block for config version 2 or 3 and the shim's path (absolute,
 * at most NI_PATH_MAX bytes, no control characters): both runtimes, the
 * shared one naming NI_SHARED_LINK_NAME in the shim's folder. */
int ni_section(int version, const char *shim_path, char **out, struct sk_error *err);

/* A whole drop-in file: `version = V` and the block. */
int ni_dropin(int version, const char *shim_path, char **out, struct sk_error *err);

/* k3s' template when there is none yet: k3s' own base template, then the
 * block (version 2 names: the template k3s renders config.toml.tmpl with). */
int ni_k3s_template(int version, const char *shim_path, char **out, struct sk_error *err);

/* Plain containerd's main configuration: make its top-level `imports` name
 * dropin_path (or a glob that matches it), adding the key when there is
 * none. *version gets the file's config version (for the drop-in). The file
 * must not define a runtime "spin" itself. *out NULL: already imported. */
int ni_containerd_main(const char *text, size_t len, const char *name, const char *dropin_path, int *version,
                       char **out, struct sk_error *err);

/* The way back when the backup of the main configuration is lost: the
 * same file with dropin_path taken out of `imports` (the rest of the file
 * as it is). *out NULL: it does not import it. Removing the drop-in while
 * the main file still names it would stop containerd from starting. */
int ni_containerd_unimport(const char *text, size_t len, const char *name, const char *dropin_path,
                           char **out, struct sk_error *err);

/* Append (or bring up to date) our block in a file that is containerd's
 * whole configuration (MicroK8s' template: NI_FORMAT_TOML, its version read
 * from the file when version is 0) or a k3s template (NI_FORMAT_TEMPLATE,
 * version given). Refuses a runtime "spin" outside the block. *out NULL:
 * the block is there as it should be. */
int ni_append_section(const char *text, size_t len, const char *name, enum ni_format fmt, int version,
                      const char *shim_path, char **out, struct sk_error *err);

/* The text without our block (when a backup is lost, uninstall takes it out
 * this way). *out NULL: there was none. A begin marker without its end is
 * -EINVAL. */
int ni_remove_section(const char *text, size_t len, const char *name, char **out, struct sk_error *err);

#endif
