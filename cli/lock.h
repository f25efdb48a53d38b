/* The locked app `spinkube push` ships: the app as shim-bridge/app loaded
 * it, written back as Spin's locked-app JSON (spin_lock_version 1) with
 * every component source and every file named by digest, their content
 * added to the layer set (wasm as MEDIA_WASM, files as MEDIA_DATA titled
 * with their guest path). Folders mounted whole are walked, in name order,
 * so the same app always makes the same JSON and the same digests. */
#ifndef SPINKUBE_CLI_LOCK_H
#define SPINKUBE_CLI_LOCK_H

#include <json-c/json.h>

#include "shim-bridge/app/app.h"
#include "common/err.h"
#include "cli/layers.h"

#define LOCK_WALK_DEPTH_MAX 64

/* *out is a new json-c reference (caller puts). */
int lock_build(const struct app *app, struct layer_set *layers, json_object **out, struct sk_error *err);

#endif
