/* Restarting the host's containerd so that it reads its configuration
 * again (containerd does not reload it on SIGHUP). Running containers
 * survive: their shims are processes of their own.
 *
 *   systemd  `systemctl restart UNIT` run in the host's mount namespace
 *            (setns into /proc/1/ns/mnt; the pod has hostPID)
 *   snap     `snap restart microk8s.daemon-containerd`, the same way
 *   signal   SIGTERM to the containerd process whose command line names the
 *            configuration file, found in /proc (hostPID); whatever
 *            supervises it (hack/node.sh's loop) starts it again
 *
 * Each waits (bounded) until containerd's socket accepts a connection. */
#ifndef SPINKUBE_NODE_INSTALLER_RESTART_H
#define SPINKUBE_NODE_INSTALLER_RESTART_H

#include "common/err.h"

struct ni_restart_req {
	enum { NI_RS_SYSTEMD, NI_RS_SNAP, NI_RS_SIGNAL } how;
	const char *unit;       /* systemd: the unit; snap: the service */
	const char *config_arg; /* signal: the host path containerd's --config names */
	const char *socket;     /* full path (below the host root) to wait for */
	long timeout_seconds;
};

int ni_restart_containerd(const struct ni_restart_req *req, struct sk_error *err);

/* Run argv in the host's mount namespace and wait (bounded); 0 when it
 * exited 0. */
int ni_run_on_host(const char *const *argv, long timeout_seconds, struct sk_error *err);

/* The same in a chroot into root, the host's / as mounted here ("": run it
 * as it is): enough to see whether a host binary finds its libraries. */
int ni_run_in_root(const char *root, const char *const *argv, long timeout_seconds, struct sk_error *err);

#endif
