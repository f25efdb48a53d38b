/* The Spin app of an image CRI pulled, read through containerd's content
 * store into the node's app folder (STATE/apps/...), as spinkube pull lays
 * it out: the shim's one call into shim-bridge/shim/containerd/. */
#ifndef SPINKUBE_SHIM_IMAGE_H
#define SPINKUBE_SHIM_IMAGE_H

#include <stddef.h>

#include "common/err.h"

/* Fetch image ref (in containerd namespace ns, over the gRPC socket
 * grpc_address) and write the path spin-bridge loads (the locked-app JSON)
 * into from. Returns 0; -ENOMEDIUM for an image that is no Spin app (an
 * ordinary image: the caller looks at its rootfs); else a negative errno
 * with one line in err. */
int shim_image_fetch(const char *grpc_address, const char *ns, const char *ref, const char *state_dir, char *from,
		     size_t size, struct sk_error *err);

#endif
