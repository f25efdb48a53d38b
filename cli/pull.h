/* spinkube pull: an OCI artifact of a Spin app -> a folder spin-bridge
 * serves: DIR/locked-app.json and DIR/blobs/sha256/<hex> for every layer
 * and the config, each checked against its descriptor's size and digest
 * while it downloads (nothing unchecked is ever renamed into place). */
#ifndef SPINKUBE_CLI_PULL_H
#define SPINKUBE_CLI_PULL_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "cli/ref.h"
#include "cli/registry.h"

struct pull_result {
	char digest[72]; /* the manifest's */
	size_t blobs, downloaded;
};

/* What a manifest lists, validated: every descriptor's media type, digest
 * and size. Owned arrays; free with pull_manifest_free. */
struct pull_desc {
	char media_type[128];
	char digest[72];
	int64_t size;
};
struct pull_manifest {
	struct pull_desc config;
	struct pull_desc *layers;
	size_t n_layers;
	size_t locked; /* index of the MEDIA_LOCKED layer */
};

/* Parse and validate manifest text (at most REG_MANIFEST_MAX bytes). Pure. */
int pull_manifest_parse(const char *text, size_t len, struct pull_manifest *out, struct sk_error *err);
void pull_manifest_free(struct pull_manifest *m);

int pull_app(struct registry *reg, const struct oci_ref *ref, const char *dir, struct pull_result *res,
             struct sk_error *err);

#endif
