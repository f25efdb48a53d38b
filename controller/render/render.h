/* Desired state of a SpinApp's children, rendered by pure functions.
 *
 * Given the SpinApp and its SpinAppExecutor as the apiserver returned them
 * (json-c objects, borrowed), and what the reconciler looked up for them, these
 * functions build the objects COMPAT.md section 2 describes: the Deployment,
 * the Service, the runtime-config Secret and the CA Secret. No I/O, no clock,
 * no randomness: the same input always renders the same bytes, which is what
 * the golden-file tests and the no-op detection rely on.
 *
 * Ownership: every json_object ** out parameter receives a new object the
 * caller puts; inputs are borrowed. Strings returned through char ** are the
 * caller's to free. Errors come back as a negative errno (-EINVAL for
 * input that cannot render, -ENOENT for a valueFrom reference that cannot be
 * resolved, -ENOMEM) with a message naming the field and the fix.
 *
 * Key order: every object is built in one fixed order, and maps from the
 * user (labels, annotations, nodeSelector) are copied with sorted keys, so
 * the bytes depend only on what the input says. Pass-through values
 * (volumes, tolerations, affinity, securityContext, resources, valueFrom)
 * are deep copies in the input's order. */
#ifndef SPINKUBE_RENDER_H
#define SPINKUBE_RENDER_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define SPIN_LABEL_APP_NAME "core.spinkube.dev/app-name"
#define SPIN_FIELD_MANAGER "spin-operator"
#define SPIN_FINALIZER "core.spinkube.dev/finalizer"
#define SPIN_RUNTIME_CONFIG_KEY "runtime-config.toml"
#define SPIN_CA_KEY "ca-certificates.crt"
#define SPIN_CA_SECRET_DEFAULT "spin-ca"
/* Annotation on each child with the hash of its rendered form: unchanged hash,
 * nothing to write. */
#define SPIN_ANNOTATION_DESIRED_HASH "core.spinkube.dev/desired-hash"
/* Pod-template annotation with the hash of every Secret and ConfigMap the app
 * references: a change there rolls the pods. */
#define SPIN_ANNOTATION_REFS_HASH "core.spinkube.dev/references-hash"

/* Looks up one key of a Secret (kind "Secret", value already base64-decoded)
 * or ConfigMap (kind "ConfigMap") in the app's namespace. Returns 0 and a
 * string the caller frees, -ENOENT when the object or key is missing. */
typedef int (*render_lookup_fn)(void *ud, const char *kind, const char *name, const char *key, char **value);

/* The ready label of app A: "core.spinkube.dev/app.A.status". Caller frees. */
char *render_ready_label_key(const char *app_name);

/* runtime-config.toml for the app from spec.runtimeConfig (keyValueStores,
 * sqliteDatabases, llmCompute; options with value or valueFrom resolved
 * through lookup). Always starts with the env config provider
 * (prefix SPIN_VARIABLE_). Returns -ENOENT with a message naming the
 * reference when a valueFrom cannot be resolved (a lookup's other errors
 * are passed on; optional: true does not make a missing one acceptable, as
 * upstream), -EINVAL for two stores of one name, an option named "type" or
 * given twice, or a value TOML cannot hold (not UTF-8). Names that are not
 * bare TOML keys are quoted. *toml is the caller's. Not meant to be called
 * when spec.runtimeConfig.loadFromSecret is set (it would render the rest of
 * runtimeConfig all the same). */
int render_runtime_config(json_object *app, render_lookup_fn lookup, void *ud, char **toml, struct sk_error *err);

/* The runtime-config Secret "A-<hash>" (hash: the first 10 hex digits of
 * the SHA-256 of toml, so a change of content is a new Secret and rolls the
 * pods) holding toml base64-encoded under data, type Opaque, labelled with
 * the app name and owned by the app (controller reference). *name_out
 * (optional) gets its name, the caller's. */
int render_runtime_config_secret(json_object *app, const char *toml, json_object **out, char **name_out,
				 struct sk_error *err);

/* What the Deployment needs beside the app and the executor. */
struct render_deployment_input {
	json_object *app;              /* SpinApp */
	json_object *executor;         /* SpinAppExecutor */
	const char *runtime_config_secret; /* the Secret mounted at /runtime-config.toml */
	const char *references_hash;   /* SPIN_ANNOTATION_REFS_HASH value, or NULL */
};

/* The Deployment for the app, as COMPAT.md section 2 lays it out, in both
 * executor modes (runtimeClassName: shim; spinImage: spintainer), with our
 * optional additions (nodeSelector, tolerations, affinity, imagePullPolicy,
 * listen port, securityContext defaulting to the restricted profile).
 *
 * The runtime-config volume is mounted when runtime_config_secret is set
 * (the generated Secret, or spec.runtimeConfig.loadFromSecret). The CA
 * volume, as upstream: the executor's caCertSecret whenever it names one,
 * else spin-ca when installDefaultCACerts. -EINVAL, with the field named,
 * when the executor makes no Deployment (createDeployment false), lacks
 * deploymentConfig or sets both or neither of runtimeClassName/spinImage,
 * and for invalid app input: no spec.image, replicas with autoscaling or
 * below 1, an invocationLimits.memory that is not a byte quantity or is more
 * than the container's memory limit (or request), an app name too long for
 * the ready label (52), a probe without httpGet.path, a user volume named
 * spin-runtime-config or spin-ca. */
int render_deployment(const struct render_deployment_input *in, json_object **out, struct sk_error *err);

/* The Service for the app. */
int render_service(json_object *app, json_object **out, struct sk_error *err);

/* The CA Secret (name from the executor's caCertSecret, else spin-ca) in the
 * app's namespace holding bundle under ca-certificates.crt (base64 under
 * data, type Opaque, label app.kubernetes.io/managed-by: spinkube-c). Not
 * owned by any one app (several apps share it). */
int render_ca_secret(const char *ns, const char *name, const char *bundle, size_t len, json_object **out,
		     struct sk_error *err);

/* Hex SHA-256 of data, first n hex digits (n <= 64); for names and hashes.
 * buf must hold n + 1 bytes. */
void render_hash(const void *data, size_t len, unsigned n, char *buf);

/* The hash of an object's canonical JSON (keys sorted), what
 * SPIN_ANNOTATION_DESIRED_HASH carries: 16 hex digits. buf: 17 bytes. */
void render_object_hash(json_object *obj, char buf[17]);

/* ---- Helpers, exported for the reconciler and the tests ---- */

/* Parse a Kubernetes quantity as a whole number of bytes: a plain number
 * ("1024", "1.5"), decimal SI suffixes k M G T P E, binary Ki Mi Gi Ti Pi Ei,
 * or an exponent ("1e6", "2E+3"); fractions round up as Kubernetes rounds.
 * Suffixes for fractions of a unit (m, u, n) and negative numbers are
 * -EINVAL, a value past INT64_MAX is -ERANGE, each with a message naming the
 * quantity and what is accepted. *bytes is set only on success. */
int render_quantity_bytes(const char *s, int64_t *bytes, struct sk_error *err);

/* The canonical JSON render_object_hash hashes: compact, object keys in byte
 * order at every level, arrays in order, strings with only '"', '\' and
 * control characters escaped. Returns 0 or -ENOMEM / -E2BIG; *out (length in
 * *len when len is not NULL) is the caller's. */
int render_canonical_json(json_object *obj, char **out, size_t *len);

#endif
