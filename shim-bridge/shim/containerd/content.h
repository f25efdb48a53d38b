/* containerd's images and content services, the calls the shim needs to
 * read an image out of containerd's content store (never its folders):
 * images.Get (a name -> its target descriptor), content.Info (a digest ->
 * its size) and content.Read (a digest's bytes, streamed to a sink).
 * Messages are the api module's (shim-bridge/shim/proto), encoded and
 * decoded here; everything the server says is checked before use. */
#ifndef SPINKUBE_SHIM_CONTAINERD_CONTENT_H
#define SPINKUBE_SHIM_CONTAINERD_CONTENT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "shim-bridge/shim/containerd/grpc.h"

/* A descriptor as containerd keeps it. Plain data. */
struct ctrd_desc {
	char media_type[128];
	char digest[72]; /* "sha256:" and 64 lowercase hex digits */
	int64_t size;
};

/* The target of image name ("127.0.0.1:5000/apps/x:v1"). Returns 0 with
 * *target; -ENOENT when containerd has no such image (the message says to
 * pull it); -EPROTO for a target whose digest is not sha256 or whose media
 * type or size are out of range; or what the call returned. */
int ctrd_image_get(struct ctrd_client *c, const char *name, struct ctrd_desc *target, struct sk_error *err);

/* The size of the blob digest in the content store. -ENOENT when absent. */
int ctrd_content_info(struct ctrd_client *c, const char *digest, int64_t *size, struct sk_error *err);

/* Bytes of a blob, in order; borrowed during the call. A negative return
 * stops the read and is returned (the sink may fill the err it was given). */
typedef int (*ctrd_sink_fn)(void *ud, const uint8_t *data, size_t len);

/* Read size bytes (> 0) of blob digest from offset and hand them to sink
 * as they arrive. Every piece must continue where the last ended and the
 * total must be exactly size, else -EPROTO. -ENOENT when the blob is absent. */
int ctrd_content_read(struct ctrd_client *c, const char *digest, int64_t offset, int64_t size,
                      ctrd_sink_fn sink, void *ud, struct sk_error *err);

#endif
