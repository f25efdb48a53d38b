/* Where each distribution keeps containerd's configuration, and the
 * install and uninstall of our runtime there (edit.c's edits, host.c's
 * writes). Nothing here logs: each step that changed something is handed
 * to the caller's step callback as one line. */
#ifndef SPINKUBE_NODE_INSTALLER_CONFIG_H
#define SPINKUBE_NODE_INSTALLER_CONFIG_H

#include <stdbool.h>

#include "common/err.h"
#include "node-installer/options.h"

/* What was done, one sentence and the file it concerns. Called with what
 * NULL just before a file is changed, so the caller can note that
 * containerd must restart before anything is written. */
typedef void (*ni_step_fn)(void *ud, const char *what, const char *path);

/* The distribution from the host's files (below root). */
enum ni_distro ni_detect_distro(const char *root);

/* The host path of the installed shim (bin_dir/containerd-shim-spin-v2). */
int ni_shim_path(const struct ni_options *o, char *buf, size_t size);

/* The host path of its shared-mode link (bin_dir/containerd-shim-spin-shared-v2,
 * the runtime "spin-shared"'s runtime_path). */
int ni_shared_link_path(const struct ni_options *o, char *buf, size_t size);

/* Add the runtime to distro's configuration; *changed when a file changed
 * (containerd must restart then). */
int ni_config_install(const struct ni_options *o, enum ni_distro d, bool *changed, ni_step_fn step, void *ud,
                      struct sk_error *err);

/* Undo ni_config_install: edited files restored from their backups byte
 * for byte, files it made removed. */
int ni_config_uninstall(const struct ni_options *o, enum ni_distro d, bool *changed, ni_step_fn step,
                        void *ud, struct sk_error *err);

#endif
