/* A Spin app's OCI manifest and image index, validated (see oci.h). */
#include "shim-bridge/app/oci.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sha256.h"
#include "shim-bridge/app/app.h"

#define OCI_DEPTH_MAX 16

#if defined(__x86_64__)
#define NATIVE_ARCH "amd64"
#elif defined(__aarch64__)
#define NATIVE_ARCH "arm64"
#else
#define NATIVE_ARCH "unknown"
#endif

bool oci_is_index(const char *mt)
{
	return mt && (strcmp(mt, OCI_MEDIA_INDEX) == 0 || strcmp(mt, OCI_MEDIA_DOCKER_LIST) == 0);
}

bool oci_is_manifest(const char *mt)
{
	return mt && (strcmp(mt, OCI_MEDIA_MANIFEST) == 0 || strcmp(mt, OCI_MEDIA_DOCKER_MANIFEST) == 0);
}

static bool is_spin_layer(const char *mt)
{
	return strcmp(mt, OCI_MEDIA_WASM) == 0 || strcmp(mt, OCI_MEDIA_WASM_PLAIN) == 0 ||
	       strcmp(mt, OCI_MEDIA_DATA) == 0 || strcmp(mt, OCI_MEDIA_LOCKED) == 0;
}

/* One JSON object out of text, or NULL (bounded depth, nothing after it). */
static json_object *parse_object(const char *text, size_t len)
{
	json_tokener *tok = json_tokener_new_ex(OCI_DEPTH_MAX);
	json_object *root;

	if (!tok)
		return NULL;
	root = json_tokener_parse_ex(tok, text, (int)len);
	bool good =
	    json_tokener_get_error(tok) == json_tokener_success && json_tokener_get_parse_end(tok) == len;
	json_tokener_free(tok);
	if (!good || !json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return NULL;
	}
	return root;
}

static int desc_parse(json_object *d, const char *what, const char *where, struct oci_desc *out,
                      struct sk_error *err)
{
	json_object *mt, *dg, *sz;

	if (!json_object_is_type(d, json_type_object) || !json_object_object_get_ex(d, "mediaType", &mt) ||
	    !json_object_is_type(mt, json_type_string) || !json_object_object_get_ex(d, "digest", &dg) ||
	    !json_object_is_type(dg, json_type_string) || !json_object_object_get_ex(d, "size", &sz) ||
	    !json_object_is_type(sz, json_type_int))
		return sk_err(err, -EINVAL, "%s: %s needs string mediaType and digest and an integer size",
		              what, where);
	if (!sk_sha256_digest_ok(json_object_get_string(dg)))
		return sk_err(err, -EINVAL,
		              "%s: %s: digest \"%.80s\" is not sha256: and 64 lowercase hex digits", what,
		              where, json_object_get_string(dg));
	if (json_object_get_string_len(mt) >= (int)sizeof(out->media_type))
		return sk_err(err, -EINVAL, "%s: %s: mediaType is longer than %zu characters", what, where,
		              sizeof(out->media_type) - 1);
	out->size = json_object_get_int64(sz);
	if (out->size < 0 || out->size > OCI_BLOB_MAX)
		return sk_err(err, -E2BIG, "%s: %s: size %lld is not between 0 and %lld", what, where,
		              (long long)out->size, (long long)OCI_BLOB_MAX);
	memcpy(out->digest, json_object_get_string(dg), 72);
	memcpy(out->media_type, json_object_get_string(mt), (size_t)json_object_get_string_len(mt) + 1);
	return 0;
}

void oci_manifest_free(struct oci_manifest *m)
{
	free(m->layers);
	*m = (struct oci_manifest){ 0 };
}

/* Read the layers array into m, finding the locked-app layer and counting
 * the layers of Spin's types. */
static int layers_parse(json_object *layers, struct oci_manifest *m, size_t *n_spin, struct sk_error *err)
{
	int r;

	if (!json_object_is_type(layers, json_type_array) ||
	    json_object_array_length(layers) > OCI_LAYERS_MAX)
		return sk_err(err, -EINVAL, "manifest: layers must be an array of at most %d",
		              OCI_LAYERS_MAX);
	m->n_layers = json_object_array_length(layers);
	if (!(m->layers = calloc(m->n_layers + 1, sizeof(*m->layers))))
		return sk_err(err, -ENOMEM, "out of memory");
	*n_spin = 0;
	for (size_t i = 0; i < m->n_layers; i++) {
		char where[32];
		(void)snprintf(where, sizeof(where), "layers[%zu]", i);
		if ((r = desc_parse(json_object_array_get_idx(layers, i), "manifest", where, &m->layers[i],
		                    err)) < 0)
			return r;
		const char *mt = m->layers[i].media_type;
		*n_spin += is_spin_layer(mt);
		if (strcmp(mt, OCI_MEDIA_LOCKED) != 0)
			continue;
		if (m->locked != SIZE_MAX)
			return sk_err(err, -EINVAL, "manifest: more than one layer of type %s",
			              OCI_MEDIA_LOCKED);
		m->locked = i;
	}
	return 0;
}

/* With the descriptors read: is this a Spin app we can run? */
static int spin_checks(const struct oci_manifest *m, size_t n_spin, struct sk_error *err)
{
	if (m->n_layers > 0 && n_spin == 0)
		return sk_err(
		    err, -ENOMEDIUM,
		    "not a Spin app: a container image (no layer of a Spin type; layers[0] is %.100s)",
		    m->layers[0].media_type);
	for (size_t i = 0; i < m->n_layers; i++)
		if (!is_spin_layer(m->layers[i].media_type))
			return sk_err(err, -ENOTSUP,
			              "manifest: layers[%zu] has media type \"%.100s\", which is not read "
			              "(only wasm, data and the locked app)",
			              i, m->layers[i].media_type);
	if (strcmp(m->config.media_type, OCI_MEDIA_CONFIG) != 0)
		return sk_err(err, -EINVAL, "not a Spin app: the config has media type \"%.100s\", not %s",
		              m->config.media_type, OCI_MEDIA_CONFIG);
	if (m->locked == SIZE_MAX)
		return sk_err(
		    err, -EINVAL,
		    "not a Spin app: no layer of type %s (spin registry push or spinkube push make one)",
		    OCI_MEDIA_LOCKED);
	if (m->layers[m->locked].size > APP_LOCKED_MAX)
		return sk_err(err, -E2BIG, "manifest: the locked app layer is larger than %d bytes",
		              APP_LOCKED_MAX);
	int64_t total = m->config.size;
	for (size_t i = 0; i < m->n_layers; i++)
		if ((total += m->layers[i].size) > OCI_TOTAL_MAX)
			return sk_err(
			    err, -E2BIG,
			    "manifest: the blobs add up to more than %lld bytes, the most one app may have",
			    (long long)OCI_TOTAL_MAX);
	return 0;
}

int oci_manifest_parse(const char *text, size_t len, struct oci_manifest *out, struct sk_error *err)
{
	struct oci_manifest m = { .locked = SIZE_MAX };
	json_object *root, *v;
	size_t n_spin = 0;
	int r;

	if (len > OCI_MANIFEST_MAX)
		return sk_err(err, -E2BIG, "manifest: larger than %d bytes", OCI_MANIFEST_MAX);
	if (!(root = parse_object(text, len)))
		return sk_err(err, -EINVAL, "manifest: not one JSON object");
	if ((json_object_object_get_ex(root, "mediaType", &v) && oci_is_index(json_object_get_string(v))) ||
	    json_object_object_get_ex(root, "manifests", &v)) {
		r = sk_err(err, -ENOTSUP,
		           "manifest: it is an image index, not a Spin app's manifest; pull the app's own "
		           "reference");
		goto out;
	}
	if (!json_object_object_get_ex(root, "schemaVersion", &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int(v) != 2) {
		r = sk_err(err, -EINVAL, "manifest: schemaVersion must be 2");
		goto out;
	}
	if (!json_object_object_get_ex(root, "config", &v)) {
		r = sk_err(err, -EINVAL, "manifest: there is no config");
		goto out;
	}
	if ((r = desc_parse(v, "manifest", "config", &m.config, err)) < 0)
		goto out;
	if (!json_object_object_get_ex(root, "layers", &v)) {
		r = sk_err(err, -EINVAL, "manifest: layers must be an array of at most %d", OCI_LAYERS_MAX);
		goto out;
	}
	if ((r = layers_parse(v, &m, &n_spin, err)) < 0)
		goto out;
	r = spin_checks(&m, n_spin, err);
out:
	json_object_put(root);
	if (r < 0) {
		oci_manifest_free(&m);
		return r;
	}
	*out = m;
	return 0;
}

/* The platform of an index entry: 2 for wasm on wasip1 or wasi, 1 for
 * linux on this machine's architecture, 0 for anything else. */
static int platform_rank(json_object *entry)
{
	json_object *p, *os, *arch;

	if (!json_object_object_get_ex(entry, "platform", &p) || !json_object_object_get_ex(p, "os", &os) ||
	    !json_object_object_get_ex(p, "architecture", &arch))
		return 0;
	const char *o = json_object_get_string(os), *a = json_object_get_string(arch);
	if (!o || !a)
		return 0;
	if (strcmp(a, "wasm") == 0 && (strcmp(o, "wasip1") == 0 || strcmp(o, "wasi") == 0))
		return 2;
	return strcmp(o, "linux") == 0 && strcmp(a, NATIVE_ARCH) == 0 ? 1 : 0;
}

int oci_index_pick(const char *text, size_t len, struct oci_desc *out, struct sk_error *err)
{
	json_object *root, *list;
	struct oci_desc d;
	int r = 0, best = 0;
	size_t n, pick = 0;

	if (len > OCI_MANIFEST_MAX)
		return sk_err(err, -E2BIG, "image index: larger than %d bytes", OCI_MANIFEST_MAX);
	if (!(root = parse_object(text, len)))
		return sk_err(err, -EINVAL, "image index: not one JSON object");
	if (!json_object_object_get_ex(root, "manifests", &list) ||
	    !json_object_is_type(list, json_type_array) ||
	    (n = json_object_array_length(list)) > OCI_INDEX_MAX) {
		json_object_put(root);
		return sk_err(err, -EINVAL, "image index: manifests must be an array of at most %d",
		              OCI_INDEX_MAX);
	}
	for (size_t i = 0; i < n; i++) {
		int rank = platform_rank(json_object_array_get_idx(list, i));
		if (rank > best) {
			best = rank;
			pick = i;
		}
	}
	if (best == 0)
		r = sk_err(
		    err, -ENOENT,
		    "image index: none of its %zu manifests is for wasm (os wasip1 or wasi) or linux/%s", n,
		    NATIVE_ARCH);
	else if ((r = desc_parse(json_object_array_get_idx(list, pick), "image index", "the chosen manifest",
	                         &d, err)) == 0 &&
	         !oci_is_manifest(d.media_type))
		r = sk_err(err, -ENOTSUP,
		           "image index: the chosen entry has media type \"%.100s\", not an image manifest",
		           d.media_type);
	json_object_put(root);
	if (r == 0)
		*out = d;
	return r;
}
