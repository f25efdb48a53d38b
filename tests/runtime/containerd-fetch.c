/* The runtime test's driver of shim-bridge/shim/containerd/artifact.h:
 * fetch an image's Spin app out of a real containerd into a cache folder,
 * then load it with the runtime's loader (shim-bridge/app).
 *
 *   runtime-containerd-fetch ADDRESS NAMESPACE IMAGE CACHE
 *
 * Prints one line on stdout on success:
 *   dir=D digest=sha256:... cached=0|1 blobs=N fetched=N bytes=N components=N
 * and exits 0. On failure the error is one line on stderr and the exit
 * status says which: 3 for an ordinary container image (-ENOMEDIUM: the
 * shim falls back to the rootfs), 2 when app_load refuses the folder, 1
 * for everything else. */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>

#include "shim-bridge/app/app.h"
#include "shim-bridge/shim/containerd/artifact.h"

int main(int argc, char **argv)
{
	struct sk_error err = { 0 };
	struct ctrd_app got;
	struct app *app = NULL;
	int r;

	if (argc != 5) {
		fprintf(stderr, "usage: %s ADDRESS NAMESPACE IMAGE CACHE\n", argv[0]);
		return 1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "curl_global_init failed\n");
		return 1;
	}
	r = ctrd_app_fetch_at(argv[1], argv[2], argv[3], argv[4], &got, &err);
	if (r < 0) {
		fprintf(stderr, "%s\n", err.message);
		curl_global_cleanup();
		return r == -ENOMEDIUM ? 3 : 1;
	}
	if (app_load(got.dir, &app, &err) < 0) {
		fprintf(stderr, "app_load %s: %s\n", got.dir, err.message);
		curl_global_cleanup();
		return 2;
	}
	printf("dir=%s digest=%s cached=%d blobs=%zu fetched=%zu bytes=%lld components=%zu\n", got.dir,
	       got.manifest_digest, got.cached, got.blobs, got.fetched, (long long)got.bytes,
	       app->n_components);
	app_free(app);
	curl_global_cleanup();
	return 0;
}
