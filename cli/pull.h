/* spinkube pull: an OCI artifact of a Spin app -> a folder spin-bridge
 * serves: DIR/locked-app.json and DIR/blobs/sha256/<hex> for every layer
 * and the config, each checked against its descriptor's size and digest
 * while it downloads (nothing unchecked is ever renamed into place). */
#ifndef SPINKUBE_CLI_PULL_H
#define SPINKUBE_CLI_PULL_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "cli/ref.h"
#include "cli/registry.h"

struct pull_result {
	char digest[72]; /* the manifest's */
	size_t blobs, downloaded;
};

/* The manifest is checked by shim-bridge/app/oci.h's oci_manifest_parse,
 * the rules the shim applies too. */
int pull_app(struct registry *reg, const struct oci_ref *ref, const char *dir, struct pull_result *res,
             struct sk_error *err);

#endif
