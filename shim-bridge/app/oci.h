/* A Spin app as an OCI artifact, the one home of its rules: the media types
 * `spin registry push` and `spinkube push` write, and the validation of a
 * manifest (and the choice of a manifest in an image index) before anything
 * it lists is fetched. spinkube pull (cli/pull.c, from a registry) and the
 * shim (shim-bridge/shim/containerd/artifact.c, from containerd's content
 * store) both read an artifact through these functions. Pure: no I/O.
 *
 * Caps: a manifest or index of at most OCI_MANIFEST_MAX bytes, nested at
 * most 16 deep, at most OCI_LAYERS_MAX layers, each blob at most
 * OCI_BLOB_MAX bytes, all blobs together at most OCI_TOTAL_MAX, the
 * locked-app layer at most APP_LOCKED_MAX (shim-bridge/app/app.h). */
#ifndef SPINKUBE_APP_OCI_H
#define SPINKUBE_APP_OCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define OCI_MEDIA_WASM            "application/vnd.wasm.content.layer.v1+wasm"
#define OCI_MEDIA_WASM_PLAIN      "application/wasm"
#define OCI_MEDIA_DATA            "application/vnd.wasm.content.layer.v1+data"
#define OCI_MEDIA_BUNDLE          "application/vnd.wasm.content.bundle.v1.tar+gzip"
#define OCI_MEDIA_LOCKED          "application/vnd.fermyon.spin.application.v1+config"
#define OCI_MEDIA_CONFIG          "application/vnd.oci.image.config.v1+json"
#define OCI_MEDIA_MANIFEST        "application/vnd.oci.image.manifest.v1+json"
#define OCI_MEDIA_INDEX           "application/vnd.oci.image.index.v1+json"
#define OCI_MEDIA_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define OCI_MEDIA_DOCKER_LIST     "application/vnd.docker.distribution.manifest.list.v2+json"

#define OCI_MANIFEST_MAX (4 * 1024 * 1024)
#define OCI_BLOB_MAX     ((int64_t)1 << 32)  /* one blob: 4 GiB */
#define OCI_TOTAL_MAX    ((int64_t)16 << 30) /* all blobs of one artifact: 16 GiB */
#define OCI_LAYERS_MAX   100000
#define OCI_INDEX_MAX    1024 /* manifests in one index */

/* What a manifest lists, validated: every descriptor's media type, digest
 * ("sha256:" and 64 lowercase hex digits) and size. */
struct oci_desc {
	char media_type[128];
	char digest[72];
	int64_t size;
};
struct oci_manifest {
	struct oci_desc config;
	struct oci_desc *layers; /* owned; free with oci_manifest_free */
	size_t n_layers;
	size_t locked; /* index of the OCI_MEDIA_LOCKED layer */
};

/* True for the media types of an OCI image index and a Docker manifest list. */
bool oci_is_index(const char *media_type);
/* True for the media types of an OCI and a Docker image manifest. */
bool oci_is_manifest(const char *media_type);

/* Parse and validate manifest text (len bytes, not NUL-terminated). Returns
 * 0 with *out (free with oci_manifest_free); -ENOMEDIUM when it is a valid
 * manifest of an ordinary container image (layers, none of a Spin type:
 * the shim then runs the app from the image's root file system); -ENOTSUP
 * for an index or a layer type Spin apps may have but we do not read (tar
 * bundles); -EINVAL or -E2BIG otherwise. Messages are one line; the ones
 * saying the image is no Spin app start with "not a Spin app: ". */
int oci_manifest_parse(const char *text, size_t len, struct oci_manifest *out, struct sk_error *err);
void oci_manifest_free(struct oci_manifest *m);

/* From image index text, the manifest to run: the first whose platform is
 * architecture wasm on os wasip1 or wasi (what Spin and wasm toolchains
 * write), else the first for linux on this machine's architecture (then an
 * ordinary image, or a Spin app pushed with a Linux platform). Returns 0
 * with *out; -ENOENT when none fits (the message lists what is there);
 * -EINVAL or -E2BIG for a malformed or oversized index. */
int oci_index_pick(const char *text, size_t len, struct oci_desc *out, struct sk_error *err);

#endif
