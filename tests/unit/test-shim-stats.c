/* shim-bridge/shim/stats.c: a Stats reply decoded as containerd decodes it
 * (a StatsResponse whose Any holds io.containerd.cgroups.v1.Metrics) back to
 * the figures given, and an Update's LinuxResources JSON as cgroup limits,
 * with bad, non-object, empty and oversized payloads refused. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shim-bridge/shim/proto/cgroup1-stats-metrics.pb-c.h"
#include "shim-bridge/shim/proto/runtime-task-v2-shim.pb-c.h"
#include "shim-bridge/shim/stats.h"
#include "tests/tap.h"

#define RESOURCES_URL "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources"

static void reply(void)
{
	struct shim_cgroup_stats st = {
		.memory_usage = 1048576, .memory_limit = 134217728, .memory_max_usage = 2097152, .memory_failcnt = 3,
		.rss = 8192, .cache = 4096, .mapped_file = 512, .inactive_file = 1024, .active_file = 2048,
		.total_inactive_file = 1536, .pgfault = 600, .pgmajfault = 7,
		.cpu_total_ns = 123456789, .cpu_user_ns = 100000000, .cpu_kernel_ns = 23456789,
		.pids_current = 3, .pids_limit = 1024,
	};
	struct sk_ttrpc_reply r = { 0 };

	is_int(shim_stats_reply(&st, &r), SK_RPC_OK, "reply: packs");
	ok(r.payload && r.len > 0, "reply: a payload of %zu bytes", r.len);
	Containerd__Task__V2__StatsResponse *resp = containerd__task__v2__stats_response__unpack(NULL, r.len, r.payload);
	ok(resp != NULL, "reply: decodes as a StatsResponse");
	if (!resp) {
		free(r.payload);
		return;
	}
	ok(resp->stats != NULL, "reply: with stats");
	is_str(resp->stats ? resp->stats->type_url : NULL, "io.containerd.cgroups.v1.Metrics",
	       "reply: the Any's type is cgroup v1 Metrics");
	Io__Containerd__Cgroups__V1__Metrics *m =
		resp->stats ? io__containerd__cgroups__v1__metrics__unpack(NULL, resp->stats->value.len,
									    resp->stats->value.data)
			    : NULL;
	ok(m != NULL, "reply: the Any's value decodes as Metrics");
	if (m) {
		ok(m->memory && m->memory->usage, "reply: memory with usage");
		if (m->memory && m->memory->usage) {
			is_int(m->memory->usage->usage, 1048576, "reply: memory usage");
			is_int(m->memory->usage->limit, 134217728, "reply: memory limit");
			is_int(m->memory->usage->max, 2097152, "reply: memory max usage");
			is_int(m->memory->usage->failcnt, 3, "reply: memory failcnt");
			is_int(m->memory->rss, 8192, "reply: rss");
			is_int(m->memory->cache, 4096, "reply: cache");
			is_int(m->memory->mapped_file, 512, "reply: mapped_file");
			is_int(m->memory->inactive_file, 1024, "reply: inactive_file");
			is_int(m->memory->active_file, 2048, "reply: active_file");
			is_int(m->memory->total_inactive_file, 1536, "reply: total_inactive_file");
			is_int(m->memory->pg_fault, 600, "reply: pgfault");
			is_int(m->memory->pg_maj_fault, 7, "reply: pgmajfault");
		}
		ok(m->cpu && m->cpu->usage, "reply: cpu with usage");
		if (m->cpu && m->cpu->usage) {
			is_int(m->cpu->usage->total, 123456789, "reply: cpu total ns");
			is_int(m->cpu->usage->user, 100000000, "reply: cpu user ns");
			is_int(m->cpu->usage->kernel, 23456789, "reply: cpu kernel ns");
		}
		ok(m->pids, "reply: pids");
		if (m->pids) {
			is_int(m->pids->current, 3, "reply: pids current");
			is_int(m->pids->limit, 1024, "reply: pids limit");
		}
		io__containerd__cgroups__v1__metrics__free_unpacked(m, NULL);
	}
	containerd__task__v2__stats_response__free_unpacked(resp, NULL);
	free(r.payload);

	/* v2 has no total_inactive_file: kubelet's working set then uses
	 * inactive_file. */
	struct shim_cgroup_stats v2 = { .memory_usage = 10, .inactive_file = 4 };
	r = (struct sk_ttrpc_reply){ 0 };
	is_int(shim_stats_reply(&v2, &r), SK_RPC_OK, "reply (v2 figures): packs");
	resp = containerd__task__v2__stats_response__unpack(NULL, r.len, r.payload);
	m = resp && resp->stats ? io__containerd__cgroups__v1__metrics__unpack(NULL, resp->stats->value.len,
									       resp->stats->value.data)
				: NULL;
	ok(m && m->memory && m->memory->total_inactive_file == 4 && m->memory->usage &&
		   m->memory->usage->usage == 10,
	   "reply (v2 figures): total_inactive_file falls back to inactive_file");
	if (m)
		io__containerd__cgroups__v1__metrics__free_unpacked(m, NULL);
	if (resp)
		containerd__task__v2__stats_response__free_unpacked(resp, NULL);
	free(r.payload);
}

static int resources(const char *json, size_t len, struct shim_cgroup_limits *lim, struct sk_error *e)
{
	Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
	any.type_url = (char *)(uintptr_t)RESOURCES_URL;
	any.value.data = (uint8_t *)(uintptr_t)json;
	any.value.len = len;
	sk_err_clear(e);
	return shim_stats_resources(&any, lim, e);
}

static void resources_ok(void)
{
	struct shim_cgroup_limits lim;
	struct sk_error e;
	static const char full[] = "{\"memory\":{\"limit\":268435456,\"swap\":268435456},"
				   "\"cpu\":{\"shares\":512,\"quota\":150000,\"period\":100000},"
				   "\"pids\":{\"limit\":2048},\"devices\":[]}";

	is_int(resources(full, strlen(full), &lim, &e), 0, "resources: parse (%s)", e.message);
	is_int(lim.memory_limit, 268435456, "resources: memory.limit");
	is_int(lim.cpu_shares, 512, "resources: cpu.shares");
	is_int(lim.cpu_quota, 150000, "resources: cpu.quota");
	is_int(lim.cpu_period, 100000, "resources: cpu.period");
	is_int(lim.pids_limit, 2048, "resources: pids.limit");

	static const char some[] = "{\"cpu\":{\"quota\":-1,\"period\":null},\"memory\":{}}";
	memset(&lim, 0xff, sizeof(lim));
	is_int(resources(some, strlen(some), &lim, &e), 0, "resources: partial");
	ok(lim.memory_limit == 0 && lim.cpu_shares == 0 && lim.cpu_quota == 0 && lim.cpu_period == 0 &&
		   lim.pids_limit == 0,
	   "resources: what is missing or -1 is 0 (leave / no limit)");

	static const char empty_obj[] = "{}";
	is_int(resources(empty_obj, 2, &lim, &e), 0, "resources: {} is no change");

	/* Exactly 64 KiB: accepted. */
	size_t cap = 64 * 1024;
	char *big = malloc(cap + 1);
	if (big) {
		memset(big, ' ', cap + 1);
		memcpy(big, full, strlen(full));
		is_int(resources(big, cap, &lim, &e), 0, "resources: 64 KiB: accepted (%s)", e.message);
		is_int(lim.memory_limit, 268435456, "resources: 64 KiB: parsed");
		int r = resources(big, cap + 1, &lim, &e);
		is_int(r, -EINVAL, "resources: 64 KiB + 1: refused");
		ok(strstr(e.message, "65537 bytes (at most 65536)") != NULL, "resources: over the cap: says so (%s)",
		   e.message);
	}
	free(big);
}

static void resources_bad(void)
{
	static const struct {
		const char *name, *json, *msg;
	} cases[] = {
		{ "bad JSON", "{\"memory\":", "are not LinuxResources JSON" },
		{ "not JSON", "memory=1", "are not LinuxResources JSON" },
		{ "trailing data", "{} {}", "are not LinuxResources JSON" },
		{ "an array", "[{\"memory\":{\"limit\":1}}]", "are not a JSON object" },
		{ "a string", "\"memory\"", "are not a JSON object" },
		{ "null", "null ", "are not a JSON object" },
		{ "empty", "", "are not LinuxResources JSON" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct shim_cgroup_limits lim;
		struct sk_error e;
		int r = resources(cases[i].json, strlen(cases[i].json), &lim, &e);
		is_int(r, -EINVAL, "resources, %s: -EINVAL", cases[i].name);
		ok(strstr(e.message, cases[i].msg) && strstr(e.message, RESOURCES_URL) && !strchr(e.message, '\n'),
		   "resources, %s: one line naming the type (%s)", cases[i].name, e.message);
	}
	static const struct {
		const char *json, *field;
	} fields[] = {
		{ "{\"memory\":{\"limit\":\"1Gi\"}}", "the resources' memory.limit is not an integer" },
		{ "{\"cpu\":{\"shares\":1.5}}", "the resources' cpu.shares is not an integer" },
		{ "{\"cpu\":{\"shares\":2,\"quota\":true}}", "the resources' cpu.quota is not an integer" },
		{ "{\"cpu\":{\"period\":[]}}", "the resources' cpu.period is not an integer" },
		{ "{\"memory\":{\"limit\":1},\"pids\":{\"limit\":{}}}", "the resources' pids.limit is not an integer" },
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		struct shim_cgroup_limits lim;
		struct sk_error e;
		int r = resources(fields[i].json, strlen(fields[i].json), &lim, &e);
		is_int(r, -EINVAL, "resources %s: -EINVAL", fields[i].json);
		is_str(e.message, fields[i].field, "resources %s: names the field", fields[i].json);
		ok(lim.memory_limit == 0 && lim.cpu_shares == 0, "resources %s: no limits handed out", fields[i].json);
	}
	/* An Any with no value bytes at all (data NULL), as protobuf-c gives. */
	Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
	struct shim_cgroup_limits lim;
	is_int(shim_stats_resources(&any, &lim, NULL), -EINVAL, "resources: an empty Any: -EINVAL");
}

int main(void)
{
	reply();
	resources_ok();
	resources_bad();
	return tap_done();
}
