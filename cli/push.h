/* spinkube push: a loaded Spin app -> an OCI artifact in a registry, as
 * `spin registry push` lays it out (COMPAT.md section 3). */
#ifndef SPINKUBE_CLI_PUSH_H
#define SPINKUBE_CLI_PUSH_H

#include "shim-bridge/app/app.h"
#include "common/err.h"
#include "cli/layers.h"
#include "cli/ref.h"
#include "cli/registry.h"

struct push_result {
	char digest[72];        /* the manifest's digest */
	size_t blobs;           /* distinct blobs (layers and config) */
	size_t uploaded;        /* of which were uploaded */
	int64_t uploaded_bytes;
};

/* Build the artifact's blobs and manifest from app (borrowed) and push them
 * to reg: each blob the registry lacks (HEAD first), then the manifest under
 * ref's tag (or digest, which must then be the manifest's). */
int push_app(struct registry *reg, const struct oci_ref *ref, const struct app *app, struct push_result *res,
             struct sk_error *err);

/* The same artifact without a registry: the manifest JSON (*manifest, caller
 * frees) and its blobs (*layers, caller frees with layers_free; the config
 * blob is the last). For tests and --dry-run. */
int push_build(const struct app *app, struct layer_set *layers, char **manifest, struct sk_error *err);

#endif
