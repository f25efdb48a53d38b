/* The app process (see app.h). */
#include "shim-bridge/shim/app.h"

#include <curl/curl.h>
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/fsutil.h"
#include "shim-bridge/http/server.h"
#include "shim-bridge/shim/image.h"
#include "shim-bridge/spin-bridge/bridge.h"
#include "shim-bridge/spin-bridge/options.h"

#define RUNTIME_CONFIG_PATH "/runtime-config.toml"
#define CA_BUNDLE_PATH "/etc/ssl/certs/ca-certificates.crt"
#define TERMINATION_LOG_PATH "/dev/termination-log"
#define SHUTDOWN_DELAY_MS "2000"

/* One line to stderr and to the termination message file. */
static int fail(const struct shim_spec *sp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(const struct shim_spec *sp, const char *fmt, ...)
{
	char line[SK_ERR_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)sk_vformat_line(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "containerd-shim-spin-v2: %s\n", line);
	shim_app_fail_message(sp, line);
	return 1;
}

static bool is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Where the app is: fills from (a folder or a locked-app JSON file). */
static int find_app(const struct shim_app_args *a, const struct shim_spec *sp, char *from, size_t size,
		    struct sk_error *err)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/rootfs/spin.toml", a->bundle);
	if (is_file(p)) {
		snprintf(from, size, "%s/rootfs", a->bundle);
		return 0;
	}
	if (!sp->image_name || !*sp->image_name)
		return sk_err(err, -ENOENT, "the container names no image (annotation %s) and its rootfs has no "
				       "/spin.toml: run a Spin app's OCI artifact or an image holding spin.toml",
			      SHIM_ANN_IMAGE_NAME);
	int r = shim_image_fetch(a->grpc_address, a->ns, sp->image_name, a->state_dir, from, size, err);
	if (r == -ENOMEDIUM)
		return sk_err(err, -ENOENT, "image %s is neither a Spin app (no Spin layers) nor an image holding "
				       "/spin.toml: build it with spinkube push, or add spin.toml to the image",
			      sp->image_name);
	return r;
}

/* After Start: libcurl, the state folders, the app. */
static int prepare(const struct shim_app_args *a, const struct shim_spec *sp, struct shim_app_run *run, struct sk_error *err)
{
	/* Once per process, before the fetch's and the guests' libcurl use. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return sk_err(err, -ENOMEM, "cannot initialise libcurl");
	int r = sk_mkdir_p(a->state_dir, 0755);
	if (r < 0)
		return sk_err(err, r, "cannot make the shim's state folder %s: %s", a->state_dir, strerror(-r));
	if ((r = find_app(a, sp, run->from, sizeof(run->from), err)) < 0)
		return r;
	snprintf(run->cache, sizeof(run->cache), "%s/cache", a->state_dir);
	/* The container's own state (Spin's default key-value store, SQLite
	 * files without a path): ephemeral like a container's rootfs, removed
	 * at Delete (service.c). */
	snprintf(run->state, sizeof(run->state), "%s/containers/%s", a->state_dir, a->id);
	if ((r = sk_mkdir_p(run->state, 0700)) < 0)
		return sk_err(err, r, "cannot make the container's state folder %s: %s", run->state, strerror(-r));
	return 0;
}

#define ARG(x) (run->argv[run->argc++] = (x))

/* spin-bridge's command line for the container's spec. */
static void build_argv(struct shim_app_run *run, const struct shim_spec *sp, bool own_process)
{
	run->argc = 0;
	ARG("spin-bridge");
	ARG("up");
	ARG("--from");
	ARG(run->from);
	ARG("--cache-dir");
	ARG(run->cache);
	ARG("--listen");
	ARG(run->listen);
	ARG("--listen-fd");
	ARG(run->lfd_s);
	ARG("--state-dir");
	ARG(run->state);
	/* kube-proxy takes about a second to drop a terminating pod's endpoint:
	 * requests that still arrive meanwhile are answered, then the drain. */
	ARG("--shutdown-delay");
	ARG(SHUTDOWN_DELAY_MS);
	const char *rc = shim_spec_mount_source(sp, RUNTIME_CONFIG_PATH);
	if (rc && is_file(rc)) {
		ARG("--runtime-config-file");
		ARG(rc);
	}
	/* The pod's CA bundle (the kubelet binds it at the usual place) for
	 * its guests' outbound TLS. */
	const char *ca = shim_spec_mount_source(sp, CA_BUNDLE_PATH);
	run->ca[0] = '\0';
	if (ca && is_file(ca))
		snprintf(run->ca, sizeof(run->ca), "%s", ca);
	if (own_process && run->ca[0])
		setenv("SPIN_OUTBOUND_CA_FILE", run->ca, 1);
	if (sp->memory_limit > 0) {
		uint64_t im = 128ull << 20;
		unsigned conc = 0;
		const char *v = own_process ? getenv("SPIN_MAX_INSTANCE_MEMORY")
					    : shim_spec_env(sp, "SPIN_MAX_INSTANCE_MEMORY");
		if (v && *v && bridge_parse_size(v, &im) < 0)
			im = 128ull << 20; /* spin-bridge reports the bad value */
		shim_spec_fit_memory(sp->memory_limit, &im, &conc);
		snprintf(run->mem_s, sizeof(run->mem_s), "%" PRIu64, im);
		snprintf(run->conc_s, sizeof(run->conc_s), "%u", conc);
		ARG("--max-instance-memory");
		ARG(run->mem_s);
		ARG("--max-concurrent");
		ARG(run->conc_s);
	}
	run->argv[run->argc] = NULL;
}

#undef ARG

int shim_app_plan(const struct shim_app_args *a, const struct shim_spec *sp, const char *listen, int lfd,
		  bool own_process, struct shim_app_run *run, struct sk_error *err)
{
	int r = prepare(a, sp, run, err);

	if (r < 0)
		return r;
	run->listen = listen;
	snprintf(run->lfd_s, sizeof(run->lfd_s), "%d", lfd);
	build_argv(run, sp, own_process);
	return 0;
}

void shim_app_fail_message(const struct shim_spec *sp, const char *line)
{
	const char *tl = sp ? shim_spec_mount_source(sp, TERMINATION_LOG_PATH) : NULL;
	if (tl) {
		FILE *f = fopen(tl, "w");
		if (f) {
			fprintf(f, "%s\n", line);
			fclose(f);
		}
	}
}

static int app_run(const struct shim_app_args *a);

/* A spare (process.c's use_spare): read the container from fd 3 (bundle,
 * id, network namespace, stdout and stderr paths, each NUL-terminated),
 * put stdout and stderr on the log pipes and enter the namespace. */
static int spare_take(struct shim_app_args *a, char *buf, size_t size)
{
	size_t n = 0, fields = 0;

	while (fields < 5) {
		if (n == size)
			return -E2BIG;
		ssize_t r = read(3, buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r != 1)
			return -EPIPE; /* the shim is gone, or never had a container for us */
		if (buf[n++] == '\0')
			fields++;
	}
	const char *f[5];
	f[0] = buf;
	for (size_t i = 1; i < 5; i++)
		f[i] = f[i - 1] + strlen(f[i - 1]) + 1;
	a->bundle = f[0];
	a->id = f[1];
	for (int i = 0; i < 2; i++) {
		const char *p = f[3 + i][0] ? f[3 + i] : "/dev/null";
		int fd = open(p, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		int fl = fcntl(fd, F_GETFL);
		if (fl >= 0)
			(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
		if (dup2(fd, 1 + i) < 0)
			return -errno;
		close(fd);
	}
	if (f[2][0]) {
		int fd = open(f[2], O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
			return -errno;
		close(fd);
	}
	return 0;
}

/* A spare's environment is the container's (a process started for the
 * container got it from execve). */
static void take_env(const struct shim_spec *sp)
{
	clearenv();
	for (size_t i = 0; i < sp->n_env; i++)
		if (strchr(sp->env[i], '='))
			(void)putenv(sp->env[i]);
	if (!getenv("PATH"))
		(void)setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
}

int shim_app_main(const struct shim_app_args *args)
{
	static char spare_buf[5 * PATH_MAX + 8];
	struct shim_app_args av = *args, *a = &av;

	if (a->spare) {
		int r = spare_take(a, spare_buf, sizeof(spare_buf));
		if (r < 0) {
			if (r != -EPIPE)
				fprintf(stderr, "containerd-shim-spin-v2: spare app process: %s\n", strerror(-r));
			return 1;
		}
	}
	return app_run(a);
}

static int app_run(const struct shim_app_args *a)
{
	struct shim_spec sp;
	struct sk_error err = { 0 };
	static struct shim_app_run run;
	char b;
	ssize_t n;
	int r;

	if (shim_spec_load(a->bundle, &sp, &err) < 0)
		return fail(NULL, "%s", err.message);
	if (a->spare)
		take_env(&sp);
	/* Listen before Start, in the pod's network namespace: connections that
	 * arrive while the app loads wait in the backlog instead of being
	 * refused, so a pod is never Ready on a port that is not there. */
	run.listen = getenv("SPIN_HTTP_LISTEN_ADDR");
	if (!run.listen || !*run.listen)
		run.listen = "0.0.0.0:80";
	int lfd = http_listen(run.listen, &err);
	if (lfd < 0) {
		r = fail(&sp, "SPIN_HTTP_LISTEN_ADDR=%s: %s", run.listen, err.message);
		shim_spec_free(&sp);
		return r;
	}
	/* Tell Create that the port is there (fd 4, a pipe: see process.c). */
	struct stat st4;
	if (lfd != 4 && fstat(4, &st4) == 0 && S_ISFIFO(st4.st_mode)) {
		(void)!write(4, "l", 1);
		close(4);
	}
	while ((n = read(3, &b, 1)) < 0 && errno == EINTR) {
	}
	if (n != 1) {
		shim_spec_free(&sp);
		return 1; /* deleted before Start, or the shim is gone */
	}
	close(3);
	if (shim_app_plan(a, &sp, run.listen, lfd, true, &run, &err) < 0) {
		r = fail(&sp, "%s", err.message);
		shim_spec_free(&sp);
		return r;
	}
	fprintf(stderr, "containerd-shim-spin-v2: container %s: serving %s\n", a->id, run.from);
	fflush(stderr);
	struct sk_error failure = { 0 };
	r = bridge_run(run.argc, (char **)(uintptr_t)run.argv, &failure);
	if (r != 0 && failure.message[0])
		(void)fail(&sp, "%s", failure.message);
	shim_spec_free(&sp);
	return r;
}
