/* Stats and Update payloads (see stats.h). */
#include "shim-bridge/shim/stats.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "shim-bridge/shim/proto/cgroup1-stats-metrics.pb-c.h"
#include "shim-bridge/shim/proto/runtime-task-v2-shim.pb-c.h"

#define RESOURCES_MAX (64 * 1024)

int shim_stats_reply(const struct shim_cgroup_stats *st, struct sk_ttrpc_reply *reply)
{
	Io__Containerd__Cgroups__V1__MemoryEntry usage = IO__CONTAINERD__CGROUPS__V1__MEMORY_ENTRY__INIT;
	usage.usage = st->memory_usage;
	usage.limit = st->memory_limit;
	usage.max = st->memory_max_usage;
	usage.failcnt = st->memory_failcnt;
	Io__Containerd__Cgroups__V1__MemoryStat mem = IO__CONTAINERD__CGROUPS__V1__MEMORY_STAT__INIT;
	mem.usage = &usage;
	mem.rss = st->rss;
	mem.cache = st->cache;
	mem.mapped_file = st->mapped_file;
	mem.inactive_file = st->inactive_file;
	mem.active_file = st->active_file;
	mem.total_inactive_file = st->total_inactive_file ? st->total_inactive_file : st->inactive_file;
	mem.pg_fault = st->pgfault;
	mem.pg_maj_fault = st->pgmajfault;
	Io__Containerd__Cgroups__V1__CPUUsage cu = IO__CONTAINERD__CGROUPS__V1__CPUUSAGE__INIT;
	cu.total = st->cpu_total_ns;
	cu.user = st->cpu_user_ns;
	cu.kernel = st->cpu_kernel_ns;
	Io__Containerd__Cgroups__V1__CPUStat cpu = IO__CONTAINERD__CGROUPS__V1__CPUSTAT__INIT;
	cpu.usage = &cu;
	Io__Containerd__Cgroups__V1__PidsStat pids = IO__CONTAINERD__CGROUPS__V1__PIDS_STAT__INIT;
	pids.current = st->pids_current;
	pids.limit = st->pids_limit;
	Io__Containerd__Cgroups__V1__Metrics m = IO__CONTAINERD__CGROUPS__V1__METRICS__INIT;
	m.memory = &mem;
	m.cpu = &cpu;
	m.pids = &pids;

	size_t n = protobuf_c_message_get_packed_size(&m.base);
	uint8_t *buf = malloc(n + 1);
	if (!buf)
		return sk_ttrpc_fail(reply, SK_RPC_RESOURCE_EXHAUSTED, "out of memory");
	protobuf_c_message_pack(&m.base, buf);
	Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
	any.type_url = (char *)(uintptr_t)m.base.descriptor->name;
	any.value.data = buf;
	any.value.len = n;
	Containerd__Task__V2__StatsResponse resp = CONTAINERD__TASK__V2__STATS_RESPONSE__INIT;
	resp.stats = &any;
	int r = sk_ttrpc_reply_pack(reply, &resp.base);
	free(buf);
	return r;
}

/* o.key as a limit: 0 when missing, null or negative (-1: unlimited);
 * anything but an integer is refused, naming obj.key. */
static int num(json_object *o, const char *obj, const char *key, int64_t *out, struct sk_error *err)
{
	json_object *v = json_object_object_get(o, key);

	*out = 0;
	if (!v || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return sk_err(err, -EINVAL, "the resources' %s.%s is not an integer", obj, key);
	int64_t x = json_object_get_int64(v);
	*out = x > 0 ? x : 0;
	return 0;
}

int shim_stats_resources(const Google__Protobuf__Any *any, struct shim_cgroup_limits *lim, struct sk_error *err)
{
	json_object *root = NULL;

	memset(lim, 0, sizeof(*lim));
	if (any->value.len > RESOURCES_MAX)
		return sk_err(err, -EINVAL, "the resources are %zu bytes (at most %d)", any->value.len, RESOURCES_MAX);
	int r = sk_json_parse((const char *)any->value.data, any->value.len, &root, err);
	if (r < 0)
		return sk_err(err, -EINVAL, "the resources (%s) are not LinuxResources JSON", any->type_url);
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return sk_err(err, -EINVAL, "the resources (%s) are not a JSON object", any->type_url);
	}
	json_object *mem = sk_json_obj(root, "memory"), *cpu = sk_json_obj(root, "cpu"), *pids = sk_json_obj(root, "pids");
	int64_t shares = 0, period = 0;
	r = 0;
	if (mem)
		r = num(mem, "memory", "limit", &lim->memory_limit, err);
	if (r == 0 && cpu && (r = num(cpu, "cpu", "shares", &shares, err)) == 0 &&
	    (r = num(cpu, "cpu", "quota", &lim->cpu_quota, err)) == 0)
		r = num(cpu, "cpu", "period", &period, err);
	if (r == 0 && pids)
		r = num(pids, "pids", "limit", &lim->pids_limit, err);
	json_object_put(root);
	if (r < 0) {
		memset(lim, 0, sizeof(*lim));
		return r;
	}
	lim->cpu_shares = (uint64_t)shares;
	lim->cpu_period = (uint64_t)period;
	return 0;
}
