#include "cli/pull.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "shim-bridge/app/app.h"
#include "cli/layers.h"

#define MANIFEST_DEPTH_MAX 16
#define PULL_TOTAL_MAX ((int64_t)16 << 30) /* all blobs of one artifact: 16 GiB */

static int desc_parse(json_object *d, const char *where, struct pull_desc *out, struct sk_error *err)
{
	json_object *mt, *dg, *sz;

	if (!json_object_is_type(d, json_type_object) || !json_object_object_get_ex(d, "mediaType", &mt) ||
	    !json_object_is_type(mt, json_type_string) || !json_object_object_get_ex(d, "digest", &dg) ||
	    !json_object_is_type(dg, json_type_string) || !json_object_object_get_ex(d, "size", &sz) ||
	    !json_object_is_type(sz, json_type_int))
		return sk_err(err, -EINVAL, "manifest: %s needs string mediaType and digest and an integer size", where);
	if (!oci_digest_ok(json_object_get_string(dg)))
		return sk_err(err, -EINVAL, "manifest: %s: digest \"%.80s\" is not sha256: and 64 lowercase hex digits", where,
		              json_object_get_string(dg));
	if (json_object_get_string_len(mt) >= (int)sizeof(out->media_type))
		return sk_err(err, -EINVAL, "manifest: %s: mediaType is longer than %zu characters", where,
		              sizeof(out->media_type) - 1);
	out->size = json_object_get_int64(sz);
	if (out->size < 0 || out->size > REG_BLOB_MAX)
		return sk_err(err, -E2BIG, "manifest: %s: size %lld is not between 0 and %lld", where, (long long)out->size,
		              (long long)REG_BLOB_MAX);
	memcpy(out->digest, json_object_get_string(dg), 72);
	memcpy(out->media_type, json_object_get_string(mt), (size_t)json_object_get_string_len(mt) + 1);
	return 0;
}

void pull_manifest_free(struct pull_manifest *m)
{
	free(m->layers);
	*m = (struct pull_manifest){ 0 };
}

int pull_manifest_parse(const char *text, size_t len, struct pull_manifest *out, struct sk_error *err)
{
	struct pull_manifest m = { .locked = SIZE_MAX };
	json_tokener *tok;
	json_object *root, *v, *layers;
	int r = 0;

	if (len > REG_MANIFEST_MAX)
		return sk_err(err, -E2BIG, "manifest: larger than %d bytes", REG_MANIFEST_MAX);
	if (!(tok = json_tokener_new_ex(MANIFEST_DEPTH_MAX)))
		return sk_err(err, -ENOMEM, "out of memory");
	root = json_tokener_parse_ex(tok, text, (int)len);
	bool good = json_tokener_get_error(tok) == json_tokener_success && json_tokener_get_parse_end(tok) == len;
	json_tokener_free(tok);
	if (!good || !json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return sk_err(err, -EINVAL, "manifest: not one JSON object");
	}
	if (json_object_object_get_ex(root, "mediaType", &v)) {
		const char *mt = json_object_get_string(v);
		if (mt && (strstr(mt, "index") || strstr(mt, "manifest.list"))) {
			r = sk_err(err, -ENOTSUP, "manifest: it is an image index (%.100s), not a Spin app's manifest; pull the app's own reference",
			           mt);
			goto out;
		}
	}
	if (!json_object_object_get_ex(root, "schemaVersion", &v) || json_object_get_int(v) != 2) {
		r = sk_err(err, -EINVAL, "manifest: schemaVersion must be 2");
		goto out;
	}
	if (!json_object_object_get_ex(root, "config", &v) || (r = desc_parse(v, "config", &m.config, err)) < 0) {
		r = r < 0 ? r : sk_err(err, -EINVAL, "manifest: there is no config");
		goto out;
	}
	if (!json_object_object_get_ex(root, "layers", &layers) || !json_object_is_type(layers, json_type_array) ||
	    json_object_array_length(layers) > LAYERS_MAX) {
		r = sk_err(err, -EINVAL, "manifest: layers must be an array of at most %d", LAYERS_MAX);
		goto out;
	}
	m.n_layers = json_object_array_length(layers);
	if (!(m.layers = calloc(m.n_layers + 1, sizeof(*m.layers)))) {
		r = sk_err(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < m.n_layers; i++) {
		char where[32];
		(void)snprintf(where, sizeof(where), "layers[%zu]", i);
		if ((r = desc_parse(json_object_array_get_idx(layers, i), where, &m.layers[i], err)) < 0)
			goto out;
		const char *mt = m.layers[i].media_type;
		if (strcmp(mt, MEDIA_LOCKED) == 0) {
			if (m.locked != SIZE_MAX) {
				r = sk_err(err, -EINVAL, "manifest: more than one layer of type %s", MEDIA_LOCKED);
				goto out;
			}
			m.locked = i;
		} else if (strcmp(mt, MEDIA_WASM) != 0 && strcmp(mt, MEDIA_DATA) != 0 && strcmp(mt, "application/wasm") != 0) {
			r = sk_err(err, -ENOTSUP, "manifest: %s has media type \"%.100s\", which spinkube pull does not read (only wasm, data and the locked app)",
			           where, mt);
			goto out;
		}
	}
	int64_t total = m.config.size;
	for (size_t i = 0; i < m.n_layers && r == 0; i++)
		if ((total += m.layers[i].size) > PULL_TOTAL_MAX)
			r = sk_err(err, -E2BIG, "manifest: the blobs add up to more than %lld bytes, the most spinkube pull fetches",
			           (long long)PULL_TOTAL_MAX);
	if (r < 0)
		goto out;
	if (m.locked == SIZE_MAX)
		r = sk_err(err, -EINVAL, "manifest: no layer of type %s: this is not a Spin app (spin registry push or spinkube push make one)",
		           MEDIA_LOCKED);
	else if (m.layers[m.locked].size > APP_LOCKED_MAX)
		r = sk_err(err, -E2BIG, "manifest: the locked app layer is larger than %d bytes", APP_LOCKED_MAX);
out:
	json_object_put(root);
	if (r < 0) {
		pull_manifest_free(&m);
		return r;
	}
	*out = m;
	return 0;
}

static int mkdir_one(const char *path, struct sk_error *err)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return sk_err(err, -errno, "pull: cannot make %s: %s", path, strerror(errno));
	return 0;
}

/* Download one blob to <dir>/blobs/sha256/<hex> through a temporary file
 * renamed only once size and digest are right. 1 when downloaded, 0 when a
 * right copy was there already. */
static int fetch_blob(struct registry *reg, const char *dir, const struct pull_desc *d, struct sk_error *err)
{
	char path[4096], tmp[4200];
	_cleanup_fclose_ FILE *f = NULL;
	int fd, r;

	if (snprintf(path, sizeof(path), "%s/blobs/sha256/%s", dir, d->digest + 7) >= (int)sizeof(path))
		return sk_err(err, -ENAMETOOLONG, "pull: the folder name is too long");
	if (access(path, F_OK) == 0) {
		struct layer_set s = { 0 };
		const char *got;
		struct sk_error e2 = { 0 };
		r = layers_add_file(&s, path, MEDIA_DATA, NULL, &got, &e2);
		bool same = r == 0 && strcmp(got, d->digest) == 0 && s.v[0].size == d->size;
		layers_free(&s);
		if (same)
			return 0;
	}
	(void)snprintf(tmp, sizeof(tmp), "%s/blobs/sha256/.tmp-%s-XXXXXX", dir, d->digest + 7);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		return sk_err(err, -errno, "pull: cannot make a file in %s/blobs/sha256: %s", dir, strerror(errno));
	if (!(f = fdopen(fd, "w+b"))) {
		r = -errno;
		close(fd);
		unlink(tmp);
		return sk_err(err, r, "pull: %s: %s", tmp, strerror(-r));
	}
	if ((r = reg_blob_get(reg, d->digest, d->size, f, err)) < 0) {
		unlink(tmp);
		return r;
	}
	if (fchmod(fd, 0644) < 0 || rename(tmp, path) < 0) {
		r = -errno;
		unlink(tmp);
		return sk_err(err, r, "pull: cannot put %s in place: %s", path, strerror(-r));
	}
	return 1;
}

/* Copy the locked app blob to <dir>/locked-app.json (through a rename). */
static int write_locked(const char *dir, const struct pull_desc *d, struct sk_error *err)
{
	char src[4096], dst[4096], tmp[4200];
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	(void)snprintf(src, sizeof(src), "%s/blobs/sha256/%s", dir, d->digest + 7);
	(void)snprintf(dst, sizeof(dst), "%s/locked-app.json", dir);
	(void)snprintf(tmp, sizeof(tmp), "%s/.locked-app.json.tmp", dir);
	if ((r = sk_read_file(src, APP_LOCKED_MAX, &text, &len)) < 0)
		return sk_err(err, r, "pull: %s: %s", src, strerror(-r));
	_cleanup_fclose_ FILE *f = fopen(tmp, "wb");
	if (!f || fwrite(text, 1, len, f) != len || fflush(f) != 0)
		return sk_err(err, -EIO, "pull: cannot write %s: %s", tmp, strerror(errno));
	if (rename(tmp, dst) < 0)
		return sk_err(err, -errno, "pull: cannot write %s: %s", dst, strerror(errno));
	return 0;
}

int pull_app(struct registry *reg, const struct oci_ref *ref, const char *dir, struct pull_result *res,
             struct sk_error *err)
{
	struct sk_buf body = sk_buf_make(0);
	struct pull_manifest m = { 0 };
	struct pull_result out = { 0 };
	char media[256], sub[4096];
	int r;

	if ((r = reg_manifest_get(reg, oci_ref_target(ref), &body, media, sizeof(media), err)) < 0)
		return r;
	if ((r = layers_digest(body.data ? body.data : "", body.len, out.digest)) < 0) {
		r = sk_err(err, r, "pull: out of memory");
		goto done;
	}
	if (ref->digest[0] && strcmp(ref->digest, out.digest) != 0) {
		r = sk_err(err, -EILSEQ, "pull: the manifest hashes to %s, not %s as the reference says", out.digest, ref->digest);
		goto done;
	}
	if ((r = pull_manifest_parse(body.data ? body.data : "", body.len, &m, err)) < 0)
		goto done;
	if ((r = mkdir_one(dir, err)) < 0)
		goto done;
	(void)snprintf(sub, sizeof(sub), "%s/blobs", dir);
	if ((r = mkdir_one(sub, err)) < 0)
		goto done;
	(void)snprintf(sub, sizeof(sub), "%s/blobs/sha256", dir);
	if ((r = mkdir_one(sub, err)) < 0)
		goto done;
	out.blobs = m.n_layers + 1;
	for (size_t i = 0; i <= m.n_layers; i++) {
		const struct pull_desc *d = i < m.n_layers ? &m.layers[i] : &m.config;
		if ((r = fetch_blob(reg, dir, d, err)) < 0)
			goto done;
		out.downloaded += (size_t)r;
	}
	if ((r = write_locked(dir, &m.layers[m.locked], err)) < 0)
		goto done;
	*res = out;
	r = 0;
done:
	pull_manifest_free(&m);
	sk_buf_free(&body);
	return r;
}
