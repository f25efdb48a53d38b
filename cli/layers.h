/* The blobs of an artifact being pushed: each with its digest, size, media
 * type and optional title annotation, deduplicated by digest (the first
 * title is kept). The set owns every path, buffer and title in it. */
#ifndef SPINKUBE_CLI_LAYERS_H
#define SPINKUBE_CLI_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "shim-bridge/app/oci.h"

/* The media types push writes: shim-bridge/app/oci.h is their one home. */
#define MEDIA_WASM OCI_MEDIA_WASM
#define MEDIA_DATA OCI_MEDIA_DATA
#define MEDIA_LOCKED OCI_MEDIA_LOCKED
#define MEDIA_CONFIG OCI_MEDIA_CONFIG
#define MEDIA_MANIFEST OCI_MEDIA_MANIFEST
#define ANNOTATION_TITLE "org.opencontainers.image.title"
/* The image config label that names the locked app's digest, as Spin writes it. */
#define CONFIG_LABEL_LOCKED_DIGEST "com.fermyon.spin.lockedAppDigest"
#define ANNOTATION_VERSION "org.opencontainers.image.version"

#define LAYERS_MAX OCI_LAYERS_MAX

struct layer {
	char digest[72];        /* "sha256:<hex>" */
	int64_t size;
	const char *media_type; /* one of the MEDIA_ constants */
	char *path;             /* the content's file, or NULL when in mem */
	char *mem;
	char *title;            /* ANNOTATION_TITLE, or NULL */
};

struct layer_set {
	struct layer *v;
	size_t n;
};

/* Add the file at path (at most max bytes, hashed as it is read). When a
 * layer of that digest is already there nothing is added. *digest_out
 * (borrowed from the set) names the layer either way. */
int layers_add_file(struct layer_set *s, const char *path, const char *media_type, const char *title,
                    const char **digest_out, struct sk_error *err);

/* Add len bytes (copied). Same rules. */
int layers_add_mem(struct layer_set *s, const void *data, size_t len, const char *media_type, const char *title,
                   const char **digest_out, struct sk_error *err);

void layers_free(struct layer_set *s);

/* "sha256:" and the hex digest of len bytes into out (72 bytes). */
int layers_digest(const void *data, size_t len, char out[72]);

#endif
