/* cgroup v1 and v2 for app containers (see cgroup.h). */
#include "shim-bridge/shim/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"

static bool is_v2(const char *root)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/cgroup.controllers", root);
	return access(p, F_OK) == 0;
}

/* Write value to dir/file as `echo value > file` does (O_CREAT|O_TRUNC).
 * On cgroupfs that changes nothing: the kernel's files exist, and one
 * that does not cannot be made (EACCES, reported as the ENOENT it is). In
 * a plain folder standing in for a cgroup root (the unit tests) the file is
 * made, so what would reach the kernel can be read back. */
static int write_file(const char *dir, const char *file, const char *value, struct sk_error *err)
{
	char p[PATH_MAX];
	int fd, r = 0;

	if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, file) >= sizeof(p))
		return sk_err(err, -ENAMETOOLONG, "cgroup path %s is too long", dir);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EACCES && access(p, F_OK) < 0)
		errno = ENOENT;
	if (fd < 0)
		return sk_err(err, -errno, "cgroup: cannot open %s: %s", p, strerror(errno));
	size_t n = strlen(value);
	if (write(fd, value, n) != (ssize_t)n)
		r = sk_err(err, -errno, "cgroup: cannot write \"%s\" to %s: %s", value, p, strerror(errno));
	close(fd);
	return r;
}

static int read_u64(const char *dir, const char *file, uint64_t *out)
{
	char p[PATH_MAX];
	_cleanup_free_ char *text = NULL;
	size_t len;

	*out = 0;
	snprintf(p, sizeof(p), "%s/%s", dir, file);
	if (sk_read_file(p, 4096, &text, &len) < 0)
		return -ENOENT;
	if (strncmp(text, "max", 3) == 0)
		return 0;
	*out = strtoull(text, NULL, 10);
	return 0;
}

/* mkdir -p base/path; a new cpuset cgroup gets its parent's CPUs and memory
 * nodes (v1 leaves them empty, and an empty cpuset takes no process). */
static int make_dirs(const char *base, const char *path, bool cpuset, struct sk_error *err)
{
	char p[PATH_MAX];
	size_t n = (size_t)snprintf(p, sizeof(p), "%s/%s", base, path[0] == '/' ? path + 1 : path);

	if (n >= sizeof(p))
		return sk_err(err, -ENAMETOOLONG, "cgroup path %s/%s is too long", base, path);
	for (char *s = p + strlen(base) + 1;; s++) {
		bool end = *s == '\0';
		if (*s != '/' && !end)
			continue;
		*s = '\0';
		int made = mkdir(p, 0755) == 0 ? 0 : errno;
		if (made == 0 && cpuset) {
			char parent[PATH_MAX], v[4096];
			snprintf(parent, sizeof(parent), "%s", p);
			*strrchr(parent, '/') = '\0';
			for (int i = 0; i < 2; i++) {
				const char *f = i == 0 ? "cpuset.cpus" : "cpuset.mems";
				char fp[PATH_MAX + 16];
				_cleanup_free_ char *text = NULL;
				size_t len;
				snprintf(fp, sizeof(fp), "%s/%s", parent, f);
				if (sk_read_file(fp, sizeof(v) - 1, &text, &len) == 0 && len > 0)
					(void)write_file(p, f, text, NULL);
			}
		} else if (made != 0 && made != EEXIST && access(p, F_OK) != 0) {
			return sk_err(err, -made, "cgroup: cannot make %s: %s", p, strerror(made));
		}
		if (end)
			break;
		*s = '/';
	}
	return 0;
}

/* Call fn for each v1 hierarchy under root (real folders, not the
 * symlinks that name combined ones), or for root itself on v2. */
static int each_hierarchy(const char *root, int (*fn)(void *ud, const char *dir, const char *name), void *ud)
{
	if (is_v2(root))
		return fn(ud, root, "");
	_cleanup_closedir_ DIR *d = opendir(root);
	struct dirent *e;
	int r = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char p[PATH_MAX], procs[PATH_MAX + 16];
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", root, e->d_name);
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", p);
		if (lstat(p, &st) < 0 || !S_ISDIR(st.st_mode) || access(procs, F_OK) < 0)
			continue;
		if ((r = fn(ud, p, e->d_name)) < 0)
			break;
	}
	return r;
}

struct walk {
	const char *path;
	const struct shim_cgroup_limits *lim;
	pid_t pid;
	struct shim_cgroup_stats *st;
	struct sk_error *err;
	unsigned joined;
};

static void sub(char *out, size_t size, const char *dir, const char *path)
{
	snprintf(out, size, "%s/%s", dir, path[0] == '/' ? path + 1 : path);
}

/* Write lim into the cgroup dir of the hierarchy mounted at hier (named
 * name; "" on v2). */
static int apply(const char *hier, const char *dir, const char *name, bool v2, const struct shim_cgroup_limits *lim,
		 struct sk_error *err)
{
	char v[64];
	int r = 0;

	if (v2) {
		if (lim->memory_limit > 0) {
			snprintf(v, sizeof(v), "%" PRId64, lim->memory_limit);
			r = write_file(dir, "memory.max", v, err);
		}
		if (r == 0 && lim->cpu_shares > 0) {
			/* v2 has weights (1..10000), not shares (2..262144): the
			 * same linear map runc and crun use, so a pod's CPU
			 * request counts as it does under them. */
			uint64_t sh = lim->cpu_shares < 2 ? 2 : lim->cpu_shares > 262144 ? 262144 : lim->cpu_shares;
			snprintf(v, sizeof(v), "%" PRIu64, 1 + ((sh - 2) * 9999) / 262142);
			r = write_file(dir, "cpu.weight", v, err);
		}
		if (r == 0 && lim->cpu_quota > 0) {
			snprintf(v, sizeof(v), "%" PRId64 " %" PRIu64, lim->cpu_quota, lim->cpu_period ? lim->cpu_period : 100000);
			r = write_file(dir, "cpu.max", v, err);
		}
		if (r == 0 && lim->pids_limit > 0) {
			snprintf(v, sizeof(v), "%" PRId64, lim->pids_limit);
			r = write_file(dir, "pids.max", v, err);
		}
		return r;
	}
	if (strcmp(name, "memory") == 0 && lim->memory_limit > 0) {
		snprintf(v, sizeof(v), "%" PRId64, lim->memory_limit);
		r = write_file(dir, "memory.limit_in_bytes", v, err);
	}
	if (strstr(name, "cpu") && strcmp(name, "cpuset") != 0) {
		/* The hierarchy has the cpu controller (not cpuacct alone) when
		 * its root has cpu.shares: every cgroup in it has the same files. */
		char f[PATH_MAX + 16];
		snprintf(f, sizeof(f), "%s/cpu.shares", hier);
		if (r == 0 && lim->cpu_shares > 0 && access(f, F_OK) == 0) {
			snprintf(v, sizeof(v), "%" PRIu64, lim->cpu_shares);
			r = write_file(dir, "cpu.shares", v, err);
		}
		if (r == 0 && lim->cpu_period > 0 && access(f, F_OK) == 0) {
			snprintf(v, sizeof(v), "%" PRIu64, lim->cpu_period);
			r = write_file(dir, "cpu.cfs_period_us", v, err);
		}
		if (r == 0 && lim->cpu_quota > 0 && access(f, F_OK) == 0) {
			snprintf(v, sizeof(v), "%" PRId64, lim->cpu_quota);
			r = write_file(dir, "cpu.cfs_quota_us", v, err);
		}
	}
	if (r == 0 && strcmp(name, "pids") == 0 && lim->pids_limit > 0) {
		snprintf(v, sizeof(v), "%" PRId64, lim->pids_limit);
		r = write_file(dir, "pids.max", v, err);
	}
	return r;
}

static int create_one(void *ud, const char *dir, const char *name)
{
	struct walk *w = ud;
	char p[PATH_MAX];
	int r = make_dirs(dir, w->path, strcmp(name, "cpuset") == 0, w->err);

	if (r < 0 || !w->lim)
		return r;
	sub(p, sizeof(p), dir, w->path);
	return apply(dir, p, name, name[0] == '\0', w->lim, w->err);
}

int shim_cgroup_create(const char *root, const char *path, const struct shim_cgroup_limits *lim, struct sk_error *err)
{
	struct walk w = { .path = path, .lim = lim, .err = err };
	int r = each_hierarchy(root, create_one, &w);

	return r < 0 && err && !err->code ? sk_err(err, r, "cgroup: cannot read %s: %s", root, strerror(-r)) : r;
}

static int update_one(void *ud, const char *dir, const char *name)
{
	struct walk *w = ud;
	char p[PATH_MAX];

	sub(p, sizeof(p), dir, w->path);
	return apply(dir, p, name, name[0] == '\0', w->lim, w->err);
}

int shim_cgroup_update(const char *root, const char *path, const struct shim_cgroup_limits *lim, struct sk_error *err)
{
	struct walk w = { .path = path, .lim = lim, .err = err };

	return each_hierarchy(root, update_one, &w);
}

static int join_one(void *ud, const char *dir, const char *name)
{
	struct walk *w = ud;
	char p[PATH_MAX], v[32];

	(void)name;
	sub(p, sizeof(p), dir, w->path);
	/* A hierarchy without the cgroup is left as it is: kubelet makes a
	 * pod's cgroup only in the hierarchies it manages. */
	if (access(p, F_OK) < 0 && errno == ENOENT)
		return 0;
	snprintf(v, sizeof(v), "%d", (int)w->pid);
	int r = write_file(p, "cgroup.procs", v, w->err);
	w->joined += r == 0;
	return r;
}

int shim_cgroup_join(const char *root, const char *path, pid_t pid, struct sk_error *err)
{
	struct walk w = { .path = path, .pid = pid, .err = err };
	int r = each_hierarchy(root, join_one, &w);

	if (r == 0 && w.joined == 0)
		return sk_err(err, -ENOENT, "cgroup: no hierarchy under %s has %s (%s/cgroup.procs)", root, path, path);
	return r;
}

/* Call fn for each "key value" line of dir/file (memory.stat, cpu.stat). */
static void read_stat(const char *dir, const char *file, void (*fn)(struct shim_cgroup_stats *st, const char *key,
								     unsigned long long v),
		      struct shim_cgroup_stats *st)
{
	char p[PATH_MAX + 32];
	_cleanup_free_ char *text = NULL;
	size_t len;

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	if (sk_read_file(p, 65536, &text, &len) < 0)
		return;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char key[64];
		unsigned long long v;
		if (sscanf(line, "%63s %llu", key, &v) == 2)
			fn(st, key, v);
	}
}

/* memory.stat, v1 names and their v2 equivalents. */
static void memory_key(struct shim_cgroup_stats *st, const char *key, unsigned long long v)
{
	if (strcmp(key, "rss") == 0 || strcmp(key, "anon") == 0)
		st->rss = v;
	else if (strcmp(key, "cache") == 0 || strcmp(key, "file") == 0)
		st->cache = v;
	else if (strcmp(key, "mapped_file") == 0 || strcmp(key, "file_mapped") == 0)
		st->mapped_file = v;
	else if (strcmp(key, "inactive_file") == 0)
		st->inactive_file = v;
	else if (strcmp(key, "active_file") == 0)
		st->active_file = v;
	else if (strcmp(key, "total_inactive_file") == 0)
		st->total_inactive_file = v;
	else if (strcmp(key, "pgfault") == 0)
		st->pgfault = v;
	else if (strcmp(key, "pgmajfault") == 0)
		st->pgmajfault = v;
}

/* v2's cpu.stat, in microseconds. */
static void cpu_key_v2(struct shim_cgroup_stats *st, const char *key, unsigned long long v)
{
	if (strcmp(key, "usage_usec") == 0)
		st->cpu_total_ns = v * 1000;
	else if (strcmp(key, "user_usec") == 0)
		st->cpu_user_ns = v * 1000;
	else if (strcmp(key, "system_usec") == 0)
		st->cpu_kernel_ns = v * 1000;
}

static int stats_one(void *ud, const char *dir, const char *name)
{
	struct walk *w = ud;
	struct shim_cgroup_stats *st = w->st;
	char p[PATH_MAX];

	sub(p, sizeof(p), dir, w->path);
	if (name[0] == '\0') {
		(void)read_u64(p, "memory.current", &st->memory_usage);
		(void)read_u64(p, "memory.max", &st->memory_limit);
		(void)read_u64(p, "memory.peak", &st->memory_max_usage);
		(void)read_u64(p, "pids.current", &st->pids_current);
		(void)read_u64(p, "pids.max", &st->pids_limit);
		read_stat(p, "memory.stat", memory_key, st);
		read_stat(p, "cpu.stat", cpu_key_v2, st);
		return 0;
	}
	if (strcmp(name, "memory") == 0) {
		(void)read_u64(p, "memory.usage_in_bytes", &st->memory_usage);
		(void)read_u64(p, "memory.limit_in_bytes", &st->memory_limit);
		(void)read_u64(p, "memory.max_usage_in_bytes", &st->memory_max_usage);
		(void)read_u64(p, "memory.failcnt", &st->memory_failcnt);
		read_stat(p, "memory.stat", memory_key, st);
	} else if (strcmp(name, "cpuacct") == 0 || (strstr(name, "cpuacct") && !st->cpu_total_ns)) {
		uint64_t user = 0, sys = 0;
		(void)read_u64(p, "cpuacct.usage", &st->cpu_total_ns);
		(void)read_u64(p, "cpuacct.usage_user", &user);
		(void)read_u64(p, "cpuacct.usage_sys", &sys);
		st->cpu_user_ns = user;
		st->cpu_kernel_ns = sys;
	} else if (strcmp(name, "pids") == 0) {
		(void)read_u64(p, "pids.current", &st->pids_current);
		(void)read_u64(p, "pids.max", &st->pids_limit);
	}
	return 0;
}

int shim_cgroup_stats(const char *root, const char *path, struct shim_cgroup_stats *st, struct sk_error *err)
{
	struct walk w = { .path = path, .st = st, .err = err };

	memset(st, 0, sizeof(*st));
	int r = each_hierarchy(root, stats_one, &w);
	return r < 0 ? sk_err(err, r, "cgroup: cannot read %s: %s", root, strerror(-r)) : 0;
}

static int remove_one(void *ud, const char *dir, const char *name)
{
	struct walk *w = ud;
	char p[PATH_MAX];

	(void)name;
	sub(p, sizeof(p), dir, w->path);
	if (rmdir(p) < 0 && errno != ENOENT)
		return sk_err(w->err, -errno, "cgroup: cannot remove %s: %s", p, strerror(errno));
	return 0;
}

int shim_cgroup_remove(const char *root, const char *path, struct sk_error *err)
{
	struct walk w = { .path = path, .err = err };

	return each_hierarchy(root, remove_one, &w);
}

int shim_cgroup_oom_fd(const char *root, const char *path, struct sk_error *err)
{
	char dir[PATH_MAX], p[PATH_MAX + 32], v[32];

	if (is_v2(root))
		return -ENOTSUP;
	snprintf(dir, sizeof(dir), "%s/memory/%s", root, path[0] == '/' ? path + 1 : path);
	snprintf(p, sizeof(p), "%s/memory.oom_control", dir);
	_cleanup_close_ int ctl = open(p, O_RDONLY | O_CLOEXEC);
	if (ctl < 0)
		return errno == ENOENT ? -ENOTSUP : sk_err(err, -errno, "cgroup: cannot open %s: %s", p, strerror(errno));
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0)
		return sk_err(err, -errno, "eventfd: %s", strerror(errno));
	snprintf(v, sizeof(v), "%d %d", efd, ctl);
	int r = write_file(dir, "cgroup.event_control", v, err);
	if (r < 0) {
		close(efd);
		return r;
	}
	return efd;
}
