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

static int mkdir_one(const char *path, struct sk_error *err)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return sk_err(err, -errno, "pull: cannot make %s: %s", path, strerror(errno));
	return 0;
}

/* Download one blob to <dir>/blobs/sha256/<hex> through a temporary file
 * renamed only once size and digest are right. 1 when downloaded, 0 when a
 * right copy was there already. */
static int fetch_blob(struct registry *reg, const char *dir, const struct oci_desc *d, struct sk_error *err)
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
static int write_locked(const char *dir, const struct oci_desc *d, struct sk_error *err)
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
	struct oci_manifest m = { 0 };
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
	if ((r = oci_manifest_parse(body.data ? body.data : "", body.len, &m, err)) < 0)
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
		const struct oci_desc *d = i < m.n_layers ? &m.layers[i] : &m.config;
		if ((r = fetch_blob(reg, dir, d, err)) < 0)
			goto done;
		out.downloaded += (size_t)r;
	}
	if ((r = write_locked(dir, &m.layers[m.locked], err)) < 0)
		goto done;
	*res = out;
	r = 0;
done:
	oci_manifest_free(&m);
	sk_buf_free(&body);
	return r;
}
