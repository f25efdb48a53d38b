/* See image.h: the app folder comes from shim-bridge/shim/containerd's
 * fetch, into STATE/apps (node-wide, keyed by the manifest digest). */
#include "shim-bridge/shim/image.h"

#include <errno.h>
#include <stdio.h>

#include "shim-bridge/shim/containerd/artifact.h"

int shim_image_fetch(const char *grpc_address, const char *ns, const char *ref, const char *state_dir, char *from,
		     size_t size, struct sk_error *err)
{
	char cache[4096];
	struct ctrd_app app;

	if ((size_t)snprintf(cache, sizeof(cache), "%s/apps", state_dir) >= sizeof(cache))
		return sk_err(err, -ENAMETOOLONG, "the shim's state folder %s is too long", state_dir);
	int r = ctrd_app_fetch_at(grpc_address, ns, ref, cache, &app, err);
	if (r < 0)
		return r;
	if ((size_t)snprintf(from, size, "%s/locked-app.json", app.dir) >= size)
		return sk_err(err, -ENAMETOOLONG, "the app folder %s is too long", app.dir);
	fprintf(stderr, "containerd-shim-spin-v2: image %s: app %s %s (%zu blobs, %zu read, %lld bytes)\n", ref,
		app.manifest_digest, app.cached ? "cached" : "fetched", app.blobs, app.fetched, (long long)app.bytes);
	return 0;
}
