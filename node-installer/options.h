/* spinkube-node-installer's command line. */
#ifndef SPINKUBE_NODE_INSTALLER_OPTIONS_H
#define SPINKUBE_NODE_INSTALLER_OPTIONS_H

#include <stdio.h>

#include "common/err.h"

enum ni_command { NI_CMD_INSTALL, NI_CMD_UNINSTALL, NI_CMD_REQUEST_UNINSTALL, NI_CMD_READY };
enum ni_distro { NI_DISTRO_AUTO, NI_DISTRO_CONTAINERD, NI_DISTRO_K3S, NI_DISTRO_MICROK8S, NI_DISTRO_K0S };
enum ni_restart { NI_RESTART_AUTO, NI_RESTART_SYSTEMD, NI_RESTART_SIGNAL, NI_RESTART_NONE };

/* Strings point into argv or the environment, or are literals. */
struct ni_options {
	enum ni_command command;
	enum ni_distro distro;
	enum ni_restart restart;
	const char *host_root;         /* the host's / as mounted here; "" for none */
	const char *shim_source;       /* the shim in the image */
	const char *bin_dir;           /* host folder for the shim */
	const char *containerd_config; /* plain containerd: the main configuration */
	const char *dropin_dir;        /* plain containerd: the folder of our drop-in */
	const char *socket;            /* containerd's socket (host path), NULL: the distribution's */
	const char *systemd_unit;      /* NULL: the distribution's */
	const char *state_dir;         /* host folder for the restart-pending mark */
	const char *node_name;
	const char *label;      /* the node label's key */
	const char *kubeconfig; /* NULL: in-cluster */
	const char *ready_file;
	long poll_seconds;
	long timeout_seconds;
};

/* Parse argv. 0 ok; 1 when --help or --version printed to out and the
 * program should exit 0; negative with *err for a usage error. */
int ni_options_parse(int argc, char **argv, struct ni_options *o, FILE *out, struct sk_error *err);

const char *ni_distro_name(enum ni_distro d);

#endif
