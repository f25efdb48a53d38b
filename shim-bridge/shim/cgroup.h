/* An app container's cgroup: made under the path the OCI spec names
 * (linux.cgroupsPath, the cgroupfs form kubelet's cgroupfs driver passes:
 * "/kubepods/<qos>/pod<uid>/<container id>"), in every cgroup v1 hierarchy
 * mounted under the root (or the one v2 hierarchy), with the spec's memory,
 * CPU and pids limits; the process joins it before it runs any app code,
 * Stats reads it, Update changes its limits, Delete removes it.
 * The root is /sys/fs/cgroup unless a test names another. */
#ifndef SPINKUBE_SHIM_CGROUP_H
#define SPINKUBE_SHIM_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

struct shim_cgroup_limits {
	int64_t memory_limit; /* bytes; 0: none */
	uint64_t cpu_shares;  /* 0: leave */
	int64_t cpu_quota;    /* microseconds; 0: none */
	uint64_t cpu_period;  /* microseconds; 0: leave */
	int64_t pids_limit;   /* 0: none */
};

struct shim_cgroup_stats {
	uint64_t memory_usage, memory_limit, memory_max_usage, memory_failcnt;
	uint64_t rss, cache, mapped_file, inactive_file, active_file, total_inactive_file, pgfault, pgmajfault;
	uint64_t cpu_total_ns, cpu_user_ns, cpu_kernel_ns;
	uint64_t pids_current, pids_limit;
	uint64_t oom_kills;
};

/* Make path (relative to each hierarchy's root) and apply lim. Returns 0 or
 * a negative errno with the file that refused in err. */
int shim_cgroup_create(const char *root, const char *path, const struct shim_cgroup_limits *lim, struct sk_error *err);

/* Apply lim to an existing cgroup (the Update method). */
int shim_cgroup_update(const char *root, const char *path, const struct shim_cgroup_limits *lim, struct sk_error *err);

/* Move pid into path in every hierarchy that has it (kubelet makes a pod's
 * cgroup only in the hierarchies it manages; shim_cgroup_create makes one in
 * every hierarchy). -ENOENT when no hierarchy has it. */
int shim_cgroup_join(const char *root, const char *path, pid_t pid, struct sk_error *err);

/* Read what Stats reports. Fields that a hierarchy lacks stay 0. */
int shim_cgroup_stats(const char *root, const char *path, struct shim_cgroup_stats *st, struct sk_error *err);

/* An eventfd that becomes readable each time the kernel's OOM killer acts
 * in path (cgroup v1: memory.oom_control through cgroup.event_control).
 * Returns the descriptor (caller closes), or -ENOTSUP on cgroup v2 or
 * without a memory hierarchy, or another negative errno. */
int shim_cgroup_oom_fd(const char *root, const char *path, struct sk_error *err);

/* Remove path from every hierarchy (it must hold no process). Missing is
 * fine. */
int shim_cgroup_remove(const char *root, const char *path, struct sk_error *err);

#endif
