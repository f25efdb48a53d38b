/* YAML to JSON through libyaml, bounded, for kubeconfig files and manifests.
 *
 * Only the JSON-compatible subset that Kubernetes uses: mappings, sequences,
 * scalars. Plain scalars true/false, null/~ and decimal integers become JSON
 * booleans, null and numbers; everything else, and every quoted scalar, is a
 * string. Aliases are refused (they are how a small file turns into a large
 * tree), as are non-string mapping keys and trees deeper than SK_JSON_MAX_DEPTH.
 * Errors carry the line and column. *out is a new reference the caller puts. */
#ifndef SPINKUBE_KUBE_YAML_H
#define SPINKUBE_KUBE_YAML_H

#include <json-c/json.h>
#include <stddef.h>

#include "common/err.h"

/* Parse the first document of text[0..len). An empty document yields an empty
 * object. */
int kube_yaml_parse(const char *text, size_t len, json_object **out, struct sk_error *err);

#endif

/* libyaml's header is also named yaml.h, and this folder comes first on the
 * include path, so <yaml.h> finds this file. yaml.c defines
 * KUBE_YAML_INCLUDE_LIBYAML and includes <yaml.h>: found here through the
 * search path, #include_next then continues past this folder to libyaml's.
 * (system_header keeps -Wpedantic quiet about the GCC extension.) */
#if defined(KUBE_YAML_INCLUDE_LIBYAML) && !defined(YAML_H)
#pragma GCC system_header
#include_next <yaml.h>
#endif
