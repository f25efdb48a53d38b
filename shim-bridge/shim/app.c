/* The app process (see app.h). */
#include "shim-bridge/shim/app.h"

#include <curl/curl.h>
#include <errno.h>
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
	const char *tl = sp ? shim_spec_mount_source(sp, TERMINATION_LOG_PATH) : NULL;
	if (tl) {
		FILE *f = fopen(tl, "w");
		if (f) {
			fprintf(f, "%s\n", line);
			fclose(f);
		}
	}
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

int shim_app_main(const struct shim_app_args *a)
{
	struct shim_spec sp;
	struct sk_error err = { 0 };
	char b, from[PATH_MAX], cache[PATH_MAX], state[PATH_MAX], mem_s[32], conc_s[16], lfd_s[16];
	ssize_t n;

	if (shim_spec_load(a->bundle, &sp, &err) < 0)
		return fail(NULL, "%s", err.message);
	/* Listen before Start, in the pod's network namespace: connections that
	 * arrive while the app loads wait in the backlog instead of being
	 * refused, so a pod is never Ready on a port that is not there. */
	const char *listen = getenv("SPIN_HTTP_LISTEN_ADDR");
	if (!listen || !*listen)
		listen = "0.0.0.0:80";
	int lfd = http_listen(listen, &err);
	if (lfd < 0) {
		int r = fail(&sp, "SPIN_HTTP_LISTEN_ADDR=%s: %s", listen, err.message);
		shim_spec_free(&sp);
		return r;
	}
	snprintf(lfd_s, sizeof(lfd_s), "%d", lfd);
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
	/* Once per process, before the fetch's and the guests' libcurl use. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		int r = fail(&sp, "cannot initialise libcurl");
		shim_spec_free(&sp);
		return r;
	}
	int mk = sk_mkdir_p(a->state_dir, 0755);
	if (mk < 0) {
		int r = fail(&sp, "cannot make the shim's state folder %s: %s", a->state_dir, strerror(-mk));
		shim_spec_free(&sp);
		return r;
	}
	if (find_app(a, &sp, from, sizeof(from), &err) < 0) {
		int r = fail(&sp, "%s", err.message);
		shim_spec_free(&sp);
		return r;
	}
	snprintf(cache, sizeof(cache), "%s/cache", a->state_dir);
	/* The container's own state (Spin's default key-value store, SQLite
	 * files without a path): ephemeral like a container's rootfs, removed
	 * at Delete (service.c). */
	snprintf(state, sizeof(state), "%s/containers/%s", a->state_dir, a->id);
	int mr = sk_mkdir_p(state, 0700);
	if (mr < 0) {
		int r = fail(&sp, "cannot make the container's state folder %s: %s", state, strerror(-mr));
		shim_spec_free(&sp);
		return r;
	}
	const char *argv[24];
	int argc = 0;
	argv[argc++] = "spin-bridge";
	argv[argc++] = "up";
	argv[argc++] = "--from";
	argv[argc++] = from;
	argv[argc++] = "--cache-dir";
	argv[argc++] = cache;
	argv[argc++] = "--listen";
	argv[argc++] = listen;
	argv[argc++] = "--listen-fd";
	argv[argc++] = lfd_s;
	/* kube-proxy takes about a second to drop a terminating pod's endpoint:
	 * requests that still arrive meanwhile are answered, then the drain. */
	argv[argc++] = "--state-dir";
	argv[argc++] = state;
	argv[argc++] = "--shutdown-delay";
	argv[argc++] = SHUTDOWN_DELAY_MS;
	const char *rc = shim_spec_mount_source(&sp, RUNTIME_CONFIG_PATH);
	if (rc && is_file(rc)) {
		argv[argc++] = "--runtime-config-file";
		argv[argc++] = rc;
	}
	const char *ca = shim_spec_mount_source(&sp, CA_BUNDLE_PATH);
	if (ca && is_file(ca))
		setenv("SPIN_OUTBOUND_CA_FILE", ca, 1);
	if (sp.memory_limit > 0) {
		uint64_t im = 128ull << 20;
		unsigned conc = 0;
		const char *v = getenv("SPIN_MAX_INSTANCE_MEMORY");
		if (v && *v && bridge_parse_size(v, &im) < 0)
			im = 128ull << 20; /* spin-bridge reports the bad value */
		shim_spec_fit_memory(sp.memory_limit, &im, &conc);
		snprintf(mem_s, sizeof(mem_s), "%" PRIu64, im);
		snprintf(conc_s, sizeof(conc_s), "%u", conc);
		argv[argc++] = "--max-instance-memory";
		argv[argc++] = mem_s;
		argv[argc++] = "--max-concurrent";
		argv[argc++] = conc_s;
	}
	argv[argc] = NULL;
	fprintf(stderr, "containerd-shim-spin-v2: container %s: serving %s\n", a->id, from);
	fflush(stderr);
	struct sk_error failure = { 0 };
	int r = bridge_run(argc, (char **)(uintptr_t)argv, &failure);
	if (r != 0 && failure.message[0])
		(void)fail(&sp, "%s", failure.message);
	shim_spec_free(&sp);
	return r;
}
