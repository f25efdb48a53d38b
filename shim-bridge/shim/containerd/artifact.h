/* A Spin app out of containerd's content store: the image the kubelet had
 * containerd pull, read through containerd's images and content services
 * (never its folders), turned into the folder layout `spinkube pull` writes
 * and shim-bridge/app's app_load reads.
 *
 * The folder is node-wide, keyed by the digest of the app's manifest, so
 * every pod of the same app shares one copy and a pod start after the first
 * costs one images.Get (and, for an image index, reading the index):
 *
 *   CACHE/<manifest hex>/locked-app.json          written last, by rename:
 *                                                  there means complete
 *   CACHE/<manifest hex>/blobs/sha256/<hex>       the config and every layer
 *   CACHE/<manifest hex>/blobs/sha256/.tmp-<hex>-* a download in progress
 *
 * Each blob is streamed by content.Read into a temporary file, its size
 * checked against content.Info and the descriptor, and its SHA-256 against
 * the digest, before it is renamed into place; nothing unchecked is ever
 * renamed. Two shims fetching the same app at once are safe (each writes
 * its own temporary files and renames identical, checked content).
 *
 * Which manifest: the image's target, or out of an image index the entry
 * oci_index_pick chooses (wasm on wasip1 or wasi, else linux on this
 * machine's architecture). The manifest is validated by
 * shim-bridge/app/oci.h's oci_manifest_parse, as spinkube pull does. */
#ifndef SPINKUBE_SHIM_CONTAINERD_ARTIFACT_H
#define SPINKUBE_SHIM_CONTAINERD_ARTIFACT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "shim-bridge/shim/containerd/grpc.h"

struct ctrd_app {
	char dir[PATH_MAX];       /* CACHE/<manifest hex>: give it to app_load */
	char manifest_digest[72]; /* "sha256:<hex>" of the app's manifest */
	bool cached;              /* the folder was complete already: nothing was read */
	size_t blobs;             /* blobs the manifest lists (config included) */
	size_t fetched;           /* of those, read from containerd this time */
	int64_t bytes;            /* bytes read from containerd this time */
};

/* Make sure CACHE/<manifest hex> holds the app of image (a name containerd
 * knows it by, as in the pod's container image: "127.0.0.1:5000/apps/x:v1")
 * and say where in *out. CACHE is made if missing (mode 0755).
 *
 * Returns 0; -ENOMEDIUM when the image is an ordinary container image
 * (no Spin layers: run the app from the root file system's spin.toml);
 * -ENOENT when containerd has no such image or a blob is missing from its
 * store; -EINVAL, -E2BIG or -ENOTSUP for a manifest that is not a Spin app
 * we run; -EILSEQ when a blob's bytes do not match its digest; or what the
 * gRPC call or the file system returned. *err is one line, naming the image,
 * for example `image "x" is not a Spin app: no layer of type ...`. */
int ctrd_app_fetch(struct ctrd_client *c, const char *image, const char *cache, struct ctrd_app *out,
                   struct sk_error *err);

/* The same with a client of its own for containerd at address (GRPC_ADDRESS:
 * "unix:///path" or "/path") in namespace ns. */
int ctrd_app_fetch_at(const char *address, const char *ns, const char *image, const char *cache,
                      struct ctrd_app *out, struct sk_error *err);

#endif
