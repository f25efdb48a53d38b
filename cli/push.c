#include "cli/push.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "cli/layers.h"
#include "cli/lock.h"

static void json_putp(json_object **o)
{
	json_object_put(*o);
}

static json_object *descriptor(const struct layer *l, const char *media_type)
{
	json_object *d = json_object_new_object(), *ann;

	if (!d)
		return NULL;
	json_object_object_add(d, "mediaType", json_object_new_string(media_type));
	json_object_object_add(d, "digest", json_object_new_string(l->digest));
	json_object_object_add(d, "size", json_object_new_int64(l->size));
	if (l->title && (ann = json_object_new_object())) {
		json_object_object_add(ann, ANNOTATION_TITLE, json_object_new_string(l->title));
		json_object_object_add(d, "annotations", ann);
	}
	return d;
}

/* Serialize without escaping '/', so paths and media types read as written. */
static char *to_text(json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

	return s ? strdup(s) : NULL;
}

int push_build(const struct app *app, struct layer_set *layers, char **manifest, struct sk_error *err)
{
	_cleanup_(json_putp) json_object *lock = NULL, *config = NULL, *man = NULL;
	_cleanup_free_ char *lock_text = NULL, *config_text = NULL;
	json_object *rootfs, *diffs, *arr, *ann;
	const char *digest;
	size_t n_layers;
	int r;

	if ((r = lock_build(app, layers, &lock, err)) < 0)
		return r;
	if (!(lock_text = to_text(lock)))
		return sk_err(err, -ENOMEM, "out of memory");
	if ((r = layers_add_mem(layers, lock_text, strlen(lock_text), MEDIA_LOCKED, NULL, &digest, err)) < 0)
		return r;
	n_layers = layers->n;
	/* The image config: a wasm "platform" and no rootfs layers (containerd
	 * unpacks none of Spin's media types, and a container's snapshot is
	 * made from the config's diff_ids: they must be empty for CRI to run
	 * it), with the locked app's digest as a label so that two apps never
	 * share a config, which is containerd's image id. */
	config = json_object_new_object();
	rootfs = json_object_new_object();
	diffs = json_object_new_array();
	json_object *cfg = json_object_new_object(), *labels = json_object_new_object();
	if (!config || !rootfs || !diffs || !cfg || !labels) {
		json_object_put(rootfs);
		json_object_put(diffs);
		json_object_put(cfg);
		json_object_put(labels);
		return sk_err(err, -ENOMEM, "out of memory");
	}
	json_object_object_add(config, "architecture", json_object_new_string("wasm"));
	json_object_object_add(config, "os", json_object_new_string("wasip1"));
	json_object_object_add(labels, CONFIG_LABEL_LOCKED_DIGEST, json_object_new_string(digest));
	json_object_object_add(cfg, "Labels", labels);
	json_object_object_add(config, "config", cfg);
	json_object_object_add(rootfs, "type", json_object_new_string("layers"));
	json_object_object_add(rootfs, "diff_ids", diffs);
	json_object_object_add(config, "rootfs", rootfs);
	if (!(config_text = to_text(config)))
		return sk_err(err, -ENOMEM, "out of memory");
	/* A config identical to a layer would be deduplicated away: impossible
	 * here, the config names the locked app's digest, which no file holds. */
	if ((r = layers_add_mem(layers, config_text, strlen(config_text), MEDIA_CONFIG, NULL, &digest, err)) < 0)
		return r;
	if (layers->n != n_layers + 1)
		return sk_err(err, -EINVAL, "the image config equals one of the app's files; rename or change that file");
	man = json_object_new_object();
	arr = json_object_new_array();
	ann = json_object_new_object();
	if (!man || !arr || !ann) {
		json_object_put(arr);
		json_object_put(ann);
		return sk_err(err, -ENOMEM, "out of memory");
	}
	json_object_object_add(man, "schemaVersion", json_object_new_int(2));
	json_object_object_add(man, "mediaType", json_object_new_string(MEDIA_MANIFEST));
	json_object_object_add(man, "config", descriptor(&layers->v[n_layers], MEDIA_CONFIG));
	for (size_t i = 0; i < n_layers; i++)
		json_object_array_add(arr, descriptor(&layers->v[i], layers->v[i].media_type));
	json_object_object_add(man, "layers", arr);
	json_object_object_add(ann, ANNOTATION_TITLE, json_object_new_string(app->name));
	if (app->version)
		json_object_object_add(ann, ANNOTATION_VERSION, json_object_new_string(app->version));
	json_object_object_add(man, "annotations", ann);
	if (!(*manifest = to_text(man)))
		return sk_err(err, -ENOMEM, "out of memory");
	return 0;
}

/* One blob: HEAD, then upload when missing. 1 when uploaded. */
static int push_blob(struct registry *reg, const struct layer *l, struct sk_error *err)
{
	_cleanup_fclose_ FILE *f = NULL;
	int64_t have = -1;
	int r = reg_blob_exists(reg, l->digest, &have, err);

	if (r < 0)
		return r;
	if (r == 1 && (have < 0 || have == l->size))
		return 0;
	if (l->path && !(f = fopen(l->path, "rb")))
		return sk_err(err, -errno, "%s: %s", l->path, strerror(errno));
	if ((r = reg_blob_upload(reg, l->digest, f, l->mem, l->size, err)) < 0)
		return r;
	return 1;
}

int push_app(struct registry *reg, const struct oci_ref *ref, const struct app *app, struct push_result *res,
             struct sk_error *err)
{
	struct layer_set layers = { 0 };
	_cleanup_free_ char *manifest = NULL;
	struct push_result out = { 0 };
	int r;

	if ((r = push_build(app, &layers, &manifest, err)) < 0)
		goto done;
	if ((r = layers_digest(manifest, strlen(manifest), out.digest)) < 0) {
		r = sk_err(err, r, "push: out of memory");
		goto done;
	}
	if (ref->digest[0] && strcmp(ref->digest, out.digest) != 0) {
		r = sk_err(err, -EINVAL, "push: the reference names digest %s, but the artifact is %s; push to a tag", ref->digest,
		           out.digest);
		goto done;
	}
	out.blobs = layers.n;
	for (size_t i = 0; i < layers.n; i++) {
		if ((r = push_blob(reg, &layers.v[i], err)) < 0)
			goto done;
		if (r == 1) {
			out.uploaded++;
			out.uploaded_bytes += layers.v[i].size;
		}
	}
	if ((r = reg_manifest_put(reg, oci_ref_target(ref), MEDIA_MANIFEST, manifest, strlen(manifest), err)) < 0)
		goto done;
	*res = out;
	r = 0;
done:
	layers_free(&layers);
	return r;
}
