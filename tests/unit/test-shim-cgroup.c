/* shim-bridge/shim/cgroup.c against plain folders laid out like the cgroup
 * roots the kernel mounts: a v1 root (memory, cpu,cpuacct with its cpu and
 * cpuacct symlinks, pids, cpuset) and a v2 root (cgroup.controllers at the
 * top). What the shim writes is read back from the files; what the kernel
 * would report (usage, memory.stat, cpuacct.usage, cpu.stat) is written by
 * the test and read through shim_cgroup_stats. The kernel's files of a new
 * cgroup do not appear in a plain folder: the shim's writes make them (see
 * write_file in cgroup.c), and before a remove the test deletes them, as the
 * kernel does with the folder. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim-bridge/shim/cgroup.h"
#include "tests/tap.h"

/* The pod's and the container's cgroup, and the same without the leading
 * slash (a path under a v2 root). */
#define POD_REL "kubepods/besteffort/pod5b1f0c2e-8d3a-4e6b-9f7c-1a2b3c4d5e6f"
#define CG_REL POD_REL "/8e2d4c6a0b1f3e5d7c9a8b6e4f2d0c1a"
#define POD "/" POD_REL
#define CGPATH "/" CG_REL

static char root[PATH_MAX], outside[PATH_MAX + 16];

/* at("fmt", ...): a path under root, in one of a few rotating buffers. */
__attribute__((format(printf, 1, 2))) static const char *at(const char *fmt, ...)
{
	static char bufs[8][PATH_MAX];
	static int k;
	char *b = bufs[k++ % 8];
	size_t n = (size_t)snprintf(b, PATH_MAX, "%s/", root);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b + n, PATH_MAX - n, fmt, ap);
	va_end(ap);
	return b;
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		printf("Bail out! cannot write %s\n", path);
		exit(1);
	}
}

/* The text of path (static buffer), or NULL when it does not exist. */
static const char *get(const char *path)
{
	static char buf[8][4096];
	static int k;
	char *b = buf[k++ % 8];
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	size_t n = fread(b, 1, 4095, f);
	b[n] = '\0';
	fclose(f);
	return b;
}

static int is_dir(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static void rm_rf(const char *p)
{
	(void)nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Delete the regular files of dir (what the kernel removes with it). */
static void clear_files(const char *dir)
{
	const char *names[] = { "cgroup.procs", "memory.limit_in_bytes", "cpu.shares", "cpu.cfs_period_us",
				"cpu.cfs_quota_us", "pids.max", "cpuset.cpus", "cpuset.mems", "memory.usage_in_bytes",
				"memory.max_usage_in_bytes", "memory.failcnt", "memory.stat", "cpuacct.usage",
				"cpuacct.usage_user", "cpuacct.usage_sys", "pids.current", "memory.max", "cpu.max",
				"cpu.weight", "memory.current", "memory.peak", "cpu.stat" };
	char p[PATH_MAX + 64];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		(void)unlink(p);
	}
}

static void make_root(void)
{
	snprintf(root, sizeof(root), "%s/shim-cgroup-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(root)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		exit(1);
	}
}

static void v1_root(void)
{
	make_root();
	const char *h[] = { "memory", "cpu,cpuacct", "pids", "cpuset" };
	for (size_t i = 0; i < 4; i++) {
		if (mkdir(at("%s", h[i]), 0755) < 0)
			exit(1);
		put(at("%s/cgroup.procs", h[i]), "");
	}
	put(at("cpu,cpuacct/cpu.shares"), "1024\n");
	put(at("cpuset/cpuset.cpus"), "0-1\n");
	put(at("cpuset/cpuset.mems"), "0\n");
	if (symlink("cpu,cpuacct", at("cpu")) < 0 || symlink("cpu,cpuacct", at("cpuacct")) < 0)
		exit(1);
	/* A symlink to a hierarchy-looking folder outside the root: a
	 * symlink is never a hierarchy of its own, so nothing is made
	 * through it. */
	snprintf(outside, sizeof(outside), "%s.outside", root);
	if (mkdir(outside, 0755) < 0 || symlink(outside, at("net_cls")) < 0)
		exit(1);
	char p[PATH_MAX + 32];
	snprintf(p, sizeof(p), "%s/cgroup.procs", outside);
	put(p, "");
	/* A folder without cgroup.procs is not a hierarchy (a stray one). */
	if (mkdir(at("stray"), 0755) < 0)
		exit(1);
}

static void v1_create(void)
{
	struct sk_error e = { 0 };
	struct shim_cgroup_limits lim = {
		.memory_limit = 134217728, .cpu_shares = 102, .cpu_quota = 50000, .cpu_period = 100000, .pids_limit = 0
	};

	v1_root();
	is_int(shim_cgroup_create(root, CGPATH, &lim, &e), 0, "v1 create: succeeds (%s)", e.message);
	ok(is_dir(at("memory" CGPATH)), "v1 create: memory%s made", CGPATH);
	ok(is_dir(at("cpu,cpuacct" CGPATH)), "v1 create: in cpu,cpuacct");
	ok(is_dir(at("pids" CGPATH)), "v1 create: in pids");
	ok(is_dir(at("cpuset" CGPATH)), "v1 create: in cpuset");
	ok(!is_dir(at("net_cls/kubepods")), "v1 create: nothing made through a symlink");
	ok(!is_dir(at("stray/kubepods")), "v1 create: nothing made in a folder without cgroup.procs");
	struct stat st;
	ok(lstat(at("cpu"), &st) == 0 && S_ISLNK(st.st_mode) && lstat(at("cpuacct"), &st) == 0 && S_ISLNK(st.st_mode),
	   "v1 create: the cpu and cpuacct symlinks stay symlinks");

	is_str(get(at("memory" CGPATH "/memory.limit_in_bytes")), "134217728", "v1 create: memory.limit_in_bytes");
	is_str(get(at("memory" POD "/memory.limit_in_bytes")), NULL, "v1 create: the pod's folder keeps its limit");
	is_str(get(at("cpu,cpuacct" CGPATH "/cpu.shares")), "102", "v1 create: cpu.shares");
	is_str(get(at("cpu,cpuacct" CGPATH "/cpu.cfs_period_us")), "100000", "v1 create: cpu.cfs_period_us");
	is_str(get(at("cpu,cpuacct" CGPATH "/cpu.cfs_quota_us")), "50000", "v1 create: cpu.cfs_quota_us");
	is_str(get(at("pids" CGPATH "/pids.max")), NULL, "v1 create: no pids.max without a pids limit");
	is_str(get(at("memory" CGPATH "/cpu.shares")), NULL, "v1 create: no cpu file in the memory hierarchy");
	is_str(get(at("cpu,cpuacct" CGPATH "/memory.limit_in_bytes")), NULL, "v1 create: no memory file in cpu");
	is_str(get(at("cpuset" CGPATH "/cpu.shares")), NULL, "v1 create: no cpu file in cpuset");
	is_str(get(at("cpuset/kubepods/cpuset.cpus")), "0-1\n", "v1 create: the first new cpuset gets the root's CPUs");
	is_str(get(at("cpuset" POD "/cpuset.mems")), "0\n", "v1 create: the pod's cpuset gets the memory nodes");
	is_str(get(at("cpuset" CGPATH "/cpuset.cpus")), "0-1\n", "v1 create: the container's cpuset: CPUs");
	is_str(get(at("cpuset" CGPATH "/cpuset.mems")), "0\n", "v1 create: the container's cpuset: memory nodes");

	/* An existing cpuset keeps what it has (the kubelet set it). */
	put(at("cpuset" POD "/cpuset.cpus"), "1\n");
	is_int(shim_cgroup_create(root, POD "/second", NULL, &e), 0, "v1 create: a second container, no limits");
	is_str(get(at("cpuset" POD "/cpuset.cpus")), "1\n", "v1 create: an existing cpuset is left alone");
	is_str(get(at("cpuset" POD "/second/cpuset.cpus")), "1\n", "v1 create: a new cpuset copies its parent's");
	is_str(get(at("memory" POD "/second/memory.limit_in_bytes")), NULL, "v1 create: no limits, no limit files");

	lim = (struct shim_cgroup_limits){ .memory_limit = 67108864, .pids_limit = 1024 };
	is_int(shim_cgroup_update(root, CGPATH, &lim, &e), 0, "v1 update: succeeds (%s)", e.message);
	is_str(get(at("memory" CGPATH "/memory.limit_in_bytes")), "67108864", "v1 update: memory limit replaced");
	is_str(get(at("pids" CGPATH "/pids.max")), "1024", "v1 update: pids.max written");
	is_str(get(at("cpu,cpuacct" CGPATH "/cpu.shares")), "102", "v1 update: cpu.shares 0 leaves it");

	is_int(shim_cgroup_join(root, CGPATH, 4242, &e), 0, "v1 join: succeeds (%s)", e.message);
	is_str(get(at("memory" CGPATH "/cgroup.procs")), "4242", "v1 join: memory cgroup.procs");
	is_str(get(at("cpu,cpuacct" CGPATH "/cgroup.procs")), "4242", "v1 join: cpu,cpuacct cgroup.procs");
	is_str(get(at("pids" CGPATH "/cgroup.procs")), "4242", "v1 join: pids cgroup.procs");
	is_str(get(at("cpuset" CGPATH "/cgroup.procs")), "4242", "v1 join: cpuset cgroup.procs");
	is_str(get(at("memory" POD "/cgroup.procs")), NULL, "v1 join: only the container's cgroup");
	e.code = 0;
	ok(shim_cgroup_join(root, POD "/nope", 1, &e) == -ENOENT && strstr(e.message, "/nope/cgroup.procs"),
	   "v1 join: a cgroup no hierarchy has is -ENOENT naming it (%s)", e.message);
	/* A pod's cgroup as kubelet makes it: in some hierarchies only. */
	mkdir(at("memory" POD "/partial"), 0755);
	put(at("memory" POD "/partial/cgroup.procs"), "");
	is_int(shim_cgroup_join(root, POD "/partial", 4343, &e), 0,
	       "v1 join: a cgroup only some hierarchies have is joined there (%s)", e.message);
	is_str(get(at("memory" POD "/partial/cgroup.procs")), "4343", "v1 join: ... the memory hierarchy's cgroup.procs");
	is_str(get(at("pids" POD "/partial/cgroup.procs")), NULL, "v1 join: ... and nothing made elsewhere");
}

static void v1_stats(void)
{
	struct sk_error e = { 0 };
	struct shim_cgroup_stats st;

	put(at("memory" CGPATH "/memory.usage_in_bytes"), "1048576\n");
	put(at("memory" CGPATH "/memory.max_usage_in_bytes"), "2097152\n");
	put(at("memory" CGPATH "/memory.failcnt"), "3\n");
	put(at("memory" CGPATH "/memory.stat"), "cache 4096\nrss 8192\nrss_huge 0\nmapped_file 512\n"
						"pgfault 600\npgmajfault 7\ninactive_file 1024\nactive_file 2048\n"
						"total_cache 99\ntotal_inactive_file 1536\n");
	put(at("cpu,cpuacct" CGPATH "/cpuacct.usage"), "123456789\n");
	put(at("cpu,cpuacct" CGPATH "/cpuacct.usage_user"), "100000000\n");
	put(at("cpu,cpuacct" CGPATH "/cpuacct.usage_sys"), "23456789\n");
	put(at("pids" CGPATH "/pids.current"), "3\n");
	put(at("pids" CGPATH "/pids.max"), "max\n");
	memset(&st, 0xff, sizeof(st));
	is_int(shim_cgroup_stats(root, CGPATH, &st, &e), 0, "v1 stats: succeeds (%s)", e.message);
	is_int(st.memory_usage, 1048576, "v1 stats: memory.usage_in_bytes");
	is_int(st.memory_limit, 67108864, "v1 stats: memory.limit_in_bytes");
	is_int(st.memory_max_usage, 2097152, "v1 stats: memory.max_usage_in_bytes");
	is_int(st.memory_failcnt, 3, "v1 stats: memory.failcnt");
	is_int(st.cache, 4096, "v1 stats: memory.stat cache");
	is_int(st.rss, 8192, "v1 stats: memory.stat rss");
	is_int(st.mapped_file, 512, "v1 stats: memory.stat mapped_file");
	is_int(st.inactive_file, 1024, "v1 stats: memory.stat inactive_file");
	is_int(st.active_file, 2048, "v1 stats: memory.stat active_file");
	is_int(st.total_inactive_file, 1536, "v1 stats: memory.stat total_inactive_file");
	is_int(st.pgfault, 600, "v1 stats: memory.stat pgfault");
	is_int(st.pgmajfault, 7, "v1 stats: memory.stat pgmajfault");
	is_int(st.cpu_total_ns, 123456789, "v1 stats: cpuacct.usage");
	is_int(st.cpu_user_ns, 100000000, "v1 stats: cpuacct.usage_user");
	is_int(st.cpu_kernel_ns, 23456789, "v1 stats: cpuacct.usage_sys");
	is_int(st.pids_current, 3, "v1 stats: pids.current");
	is_int(st.pids_limit, 0, "v1 stats: pids.max \"max\" is no limit");
	is_int(st.oom_kills, 0, "v1 stats: what a hierarchy lacks stays 0");

	memset(&st, 0xff, sizeof(st));
	is_int(shim_cgroup_stats(root, POD "/gone", &st, &e), 0, "v1 stats: a missing cgroup reads as zeros");
	ok(st.memory_usage == 0 && st.cpu_total_ns == 0 && st.pids_current == 0, "v1 stats: all zero");
}

static void v1_remove(void)
{
	struct sk_error e = { 0 };
	const char *h[] = { "memory", "cpu,cpuacct", "pids", "cpuset" };

	e.code = 0;
	ok(shim_cgroup_remove(root, CGPATH, &e) == -ENOTEMPTY && strstr(e.message, "cannot remove"),
	   "v1 remove: a folder that is not empty is refused, named (%s)", e.message);
	for (size_t i = 0; i < 4; i++)
		clear_files(at("%s%s", h[i], CGPATH));
	is_int(shim_cgroup_remove(root, CGPATH, &e), 0, "v1 remove: succeeds (%s)", e.message);
	int gone = 1, kept = 1;
	for (size_t i = 0; i < 4; i++) {
		gone &= !is_dir(at("%s%s", h[i], CGPATH));
		kept &= is_dir(at("%s%s", h[i], POD));
	}
	ok(gone, "v1 remove: the container's folder is gone from every hierarchy");
	ok(kept, "v1 remove: the pod's folders stay");
	is_int(shim_cgroup_remove(root, CGPATH, &e), 0, "v1 remove: again: missing is fine");
	rm_rf(root);
	rm_rf(outside);

	e.code = 0;
	ok(shim_cgroup_create(root, CGPATH, NULL, &e) == -ENOENT && strstr(e.message, root),
	   "create under a root that is gone: -ENOENT naming it (%s)", e.message);
}

static void v2(void)
{
	struct sk_error e = { 0 };
	struct shim_cgroup_limits lim = { .memory_limit = 134217728, .cpu_shares = 102, .cpu_quota = 50000,
					  .pids_limit = 512 };
	struct shim_cgroup_stats st;

	make_root();
	put(at("cgroup.controllers"), "cpuset cpu io memory pids\n");
	put(at("cgroup.procs"), "");
	is_int(shim_cgroup_create(root, CGPATH, &lim, &e), 0, "v2 create: succeeds (%s)", e.message);
	ok(is_dir(at(CG_REL)), "v2 create: the nested folder is made");
	is_str(get(at(CG_REL "/memory.max")), "134217728", "v2 create: memory.max");
	is_str(get(at(CG_REL "/cpu.max")), "50000 100000", "v2 create: cpu.max with the default period");
	is_str(get(at(CG_REL "/pids.max")), "512", "v2 create: pids.max");
	is_str(get(at(CG_REL "/cpu.weight")), "4", "v2 create: cpu.shares 102 as cpu.weight 4 (runc's map)");
	is_str(get(at(CG_REL "/memory.limit_in_bytes")), NULL, "v2 create: no v1 files");
	is_str(get(at(POD_REL "/memory.max")), NULL, "v2 create: the pod's folder keeps its limit");

	lim = (struct shim_cgroup_limits){ .cpu_quota = 20000, .cpu_period = 50000 };
	is_int(shim_cgroup_update(root, CGPATH, &lim, &e), 0, "v2 update: succeeds");
	is_str(get(at(CG_REL "/cpu.max")), "20000 50000", "v2 update: cpu.max quota and period");
	is_str(get(at(CG_REL "/memory.max")), "134217728", "v2 update: memory 0 leaves memory.max");
	lim = (struct shim_cgroup_limits){ .cpu_shares = 1024 };
	is_int(shim_cgroup_update(root, CGPATH, &lim, &e), 0, "v2 update: shares");
	is_str(get(at(CG_REL "/cpu.weight")), "39", "v2 update: cpu.shares 1024 as cpu.weight 39");
	lim = (struct shim_cgroup_limits){ .cpu_shares = 262144 };
	is_int(shim_cgroup_update(root, CGPATH, &lim, &e), 0, "v2 update: most shares");
	is_str(get(at(CG_REL "/cpu.weight")), "10000", "v2 update: cpu.shares 262144 as cpu.weight 10000");

	is_int(shim_cgroup_join(root, CGPATH, 777, &e), 0, "v2 join: succeeds (%s)", e.message);
	is_str(get(at(CG_REL "/cgroup.procs")), "777", "v2 join: cgroup.procs");

	put(at(CG_REL "/memory.current"), "5242880\n");
	put(at(CG_REL "/memory.max"), "max\n");
	put(at(CG_REL "/memory.peak"), "6291456\n");
	put(at(CG_REL "/pids.current"), "2\n");
	put(at(CG_REL "/memory.stat"), "anon 3000\nfile 4000\nkernel 50\nfile_mapped 600\n"
						"active_file 700\ninactive_file 800\npgfault 90\npgmajfault 1\n");
	put(at(CG_REL "/cpu.stat"), "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 0\n");
	is_int(shim_cgroup_stats(root, CGPATH, &st, &e), 0, "v2 stats: succeeds (%s)", e.message);
	is_int(st.memory_usage, 5242880, "v2 stats: memory.current");
	is_int(st.memory_limit, 0, "v2 stats: memory.max \"max\" is no limit");
	is_int(st.memory_max_usage, 6291456, "v2 stats: memory.peak");
	is_int(st.rss, 3000, "v2 stats: memory.stat anon as rss");
	is_int(st.cache, 4000, "v2 stats: memory.stat file as cache");
	is_int(st.mapped_file, 600, "v2 stats: memory.stat file_mapped");
	is_int(st.active_file, 700, "v2 stats: memory.stat active_file");
	is_int(st.inactive_file, 800, "v2 stats: memory.stat inactive_file");
	is_int(st.pgfault, 90, "v2 stats: memory.stat pgfault");
	is_int(st.pgmajfault, 1, "v2 stats: memory.stat pgmajfault");
	is_int(st.cpu_total_ns, 1500000, "v2 stats: cpu.stat usage_usec in ns");
	is_int(st.cpu_user_ns, 1000000, "v2 stats: cpu.stat user_usec in ns");
	is_int(st.cpu_kernel_ns, 500000, "v2 stats: cpu.stat system_usec in ns");
	is_int(st.pids_current, 2, "v2 stats: pids.current");
	is_int(st.pids_limit, 512, "v2 stats: pids.max");

	clear_files(at(CG_REL));
	is_int(shim_cgroup_remove(root, CGPATH, &e), 0, "v2 remove: succeeds (%s)", e.message);
	ok(!is_dir(at(CG_REL)) && is_dir(at(POD_REL)), "v2 remove: the leaf goes, the pod stays");
	rm_rf(root);
}

int main(void)
{
	v1_create();
	v1_stats();
	v1_remove();
	v2();
	return tap_done();
}
