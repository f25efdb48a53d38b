/* The process_* figures from /proc, read the way client_golang's process
 * collector reads them (see metrics.h). */
#include "controller/metrics/metrics.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"

#define PROC_FILE_MAX (64u * 1024)

/* Fields 14 (utime), 15 (stime), 22 (starttime), 23 (vsize) and 24 (rss)
 * of /proc/self/stat; the second field, the command, may hold spaces and
 * parentheses, so counting starts after its last ')'. */
static int read_stat(const char *proc, struct cm_process *out, double *start_ticks)
{
	char path[512];
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	unsigned long long utime = 0, stime = 0, start = 0, vsize = 0;
	long long rss = 0;
	int r;

	snprintf(path, sizeof(path), "%s/self/stat", proc);
	if ((r = sk_read_file(path, PROC_FILE_MAX, &text, &len)) < 0)
		return r;
	const char *p = strrchr(text, ')');
	if (!p)
		return -EINVAL;
	/* after ") ": state (3), then fields 4.. */
	if (sscanf(p + 2,
		   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu %llu %lld",
		   &utime, &stime, &start, &vsize, &rss) != 5)
		return -EINVAL;
	long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	if (tck <= 0)
		tck = 100;
	if (page <= 0)
		page = 4096;
	out->cpu_seconds = (double)(utime + stime) / (double)tck;
	out->virtual_bytes = (double)vsize;
	out->resident_bytes = (double)rss * (double)page;
	*start_ticks = (double)start / (double)tck;
	return 0;
}

/* The boot time (btime of /proc/stat), in seconds since the epoch. */
static int read_btime(const char *proc, double *out)
{
	char path[512];
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r;

	snprintf(path, sizeof(path), "%s/stat", proc);
	if ((r = sk_read_file(path, PROC_FILE_MAX, &text, &len)) < 0)
		return r;
	const char *b = strstr(text, "\nbtime ");
	if (!b)
		return -EINVAL;
	*out = strtod(b + 7, NULL);
	return 0;
}

static int count_fds(const char *proc, double *out)
{
	char path[512];
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *e;
	long n = 0;

	snprintf(path, sizeof(path), "%s/self/fd", proc);
	if (!(d = opendir(path)))
		return -errno;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	*out = (double)(n > 0 ? n - 1 : 0); /* less the one opendir holds */
	return 0;
}

int cm_process_read(const char *proc, struct cm_process *out)
{
	struct cm_process p = { 0 };
	struct rlimit rl;
	double start_ticks = 0, btime = 0;
	int r;

	if ((r = read_stat(proc, &p, &start_ticks)) < 0 || (r = read_btime(proc, &btime)) < 0 ||
	    (r = count_fds(proc, &p.open_fds)) < 0)
		return r;
	p.start_time_seconds = btime + start_ticks;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		p.max_fds = rl.rlim_cur == RLIM_INFINITY ? 0 : (double)rl.rlim_cur;
	*out = p;
	return 0;
}
