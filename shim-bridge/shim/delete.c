/* "delete" (see main.c): containerd runs it in a bundle whose shim is gone
 * (killed, or never started). The app process died with the shim (its
 * parent-death signal); what is left is cleaned up here: any process still
 * in the container's cgroup is killed, the cgroup removed and the rootfs
 * unmounted. Prints a DeleteResponse (exit status 137: killed) on stdout. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "shim-bridge/shim/cgroup.h"
#include "shim-bridge/shim/commands.h"
#include "shim-bridge/shim/proto/runtime-task-v2-shim.pb-c.h"
#include "shim-bridge/shim/spec.h"

static void kill_cgroup(const char *path)
{
	char procs[PATH_MAX];
	snprintf(procs, sizeof(procs), "/sys/fs/cgroup/memory/%s/cgroup.procs", path[0] == '/' ? path + 1 : path);
	if (access(procs, F_OK) < 0)
		snprintf(procs, sizeof(procs), "/sys/fs/cgroup/%s/cgroup.procs", path[0] == '/' ? path + 1 : path);
	for (int round = 0; round < 50; round++) {
		_cleanup_free_ char *text = NULL;
		size_t len = 0;
		if (sk_read_file(procs, 1 << 20, &text, &len) < 0 || len == 0)
			return;
		for (char *p = strtok(text, "\n"); p; p = strtok(NULL, "\n")) {
			long pid = strtol(p, NULL, 10);
			if (pid > 1)
				kill((pid_t)pid, SIGKILL);
		}
		struct timespec ts = { 0, 20 * 1000000L };
		nanosleep(&ts, NULL);
	}
}

int shim_cmd_delete(const struct shim_cmd *cmd)
{
	struct shim_spec sp;
	struct sk_error err = { 0 };
	const char *bundle = cmd->bundle ? cmd->bundle : ".";
	char rootfs[PATH_MAX];

	if (shim_spec_load(bundle, &sp, &err) == 0 && sp.cgroups_path && *sp.cgroups_path && !sp.sandbox) {
		kill_cgroup(sp.cgroups_path);
		if (shim_cgroup_remove("/sys/fs/cgroup", sp.cgroups_path, &err) < 0)
			fprintf(stderr, "containerd-shim-spin-v2: delete %s: %s\n", cmd->id, err.message);
	}
	shim_spec_free(&sp);
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", bundle);
	if (umount2(rootfs, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		fprintf(stderr, "containerd-shim-spin-v2: delete %s: umount %s: %s\n", cmd->id, rootfs, strerror(errno));

	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	ts.seconds = now.tv_sec;
	ts.nanos = (int32_t)now.tv_nsec;
	Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
	resp.exit_status = 137;
	resp.exited_at = &ts;
	uint8_t buf[128];
	size_t n = protobuf_c_message_pack(&resp.base, buf);
	if (fwrite(buf, 1, n, stdout) != n || fflush(stdout) != 0)
		return 1;
	return 0;
}
