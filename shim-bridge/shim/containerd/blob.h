/* One blob written into an app folder's DIR/blobs/sha256/<hex>, checked:
 * the bytes go to a temporary file in the same folder, hashed as they come,
 * and only a file whose size and SHA-256 match the descriptor is renamed
 * into place. More bytes than the descriptor's size are refused as they
 * arrive. Nothing here knows where the bytes come from (containerd's
 * content.Read for the shim). */
#ifndef SPINKUBE_SHIM_CONTAINERD_BLOB_H
#define SPINKUBE_SHIM_CONTAINERD_BLOB_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/sha256.h"
#include "shim-bridge/app/oci.h"

struct ctrd_blob {
	struct oci_desc desc;
	struct sk_sha256 sha;
	int64_t written;
	int fd;                    /* the temporary file, -1 when none */
	char tmp[PATH_MAX + 160];  /* its name */
	char path[PATH_MAX + 128]; /* where it goes */
};

/* Is DIR/blobs/sha256/<hex> there already with d's size and digest? */
bool ctrd_blob_present(const char *dir, const struct oci_desc *d);

/* Start writing blob d into DIR/blobs/sha256 (which must exist). */
int ctrd_blob_begin(struct ctrd_blob *b, const char *dir, const struct oci_desc *d, struct sk_error *err);

/* Append len bytes. -E2BIG (and nothing written) past the descriptor's size. */
int ctrd_blob_write(struct ctrd_blob *b, const void *data, size_t len, struct sk_error *err);

/* All bytes are in: check size and digest, then rename into place. -EILSEQ
 * for a digest or size that does not match (the temporary file is
 * removed). Either way b holds nothing afterwards. */
int ctrd_blob_commit(struct ctrd_blob *b, struct sk_error *err);

/* Give up: remove the temporary file. Fine on a blob never begun, or done. */
void ctrd_blob_abort(struct ctrd_blob *b);

#endif
