/* What Stats and Update carry: an app container's cgroup figures as
 * containerd's cgroup v1 Metrics message (type io.containerd.cgroups.v1.Metrics
 * in an Any, which CRI decodes for kubelet's stats), and the OCI
 * LinuxResources JSON an Update request's Any holds, as cgroup limits. */
#ifndef SPINKUBE_SHIM_STATS_H
#define SPINKUBE_SHIM_STATS_H

#include "common/err.h"
#include "shim-bridge/shim/cgroup.h"
#include "shim-bridge/shim/proto/google-protobuf-any.pb-c.h"
#include "shim-bridge/shim/ttrpc/message.h"
#include "shim-bridge/shim/ttrpc/server.h"

/* Pack st as a StatsResponse into reply. */
int shim_stats_reply(const struct shim_cgroup_stats *st, struct sk_ttrpc_reply *reply);

/* Decode an Update's resources (an Any holding LinuxResources JSON, at
 * most 64 KiB) into lim. Returns 0 or -EINVAL naming the field. */
int shim_stats_resources(const Google__Protobuf__Any *any, struct shim_cgroup_limits *lim, struct sk_error *err);

#endif
