/* A Spin app out of containerd's content store into a cache folder (see
 * artifact.h). */
#include "shim-bridge/shim/containerd/artifact.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/sha256.h"
#include "shim-bridge/app/app.h"
#include "shim-bridge/app/oci.h"
#include "shim-bridge/shim/containerd/blob.h"
#include "shim-bridge/shim/containerd/content.h"

/* ---- reading blobs --------------------------------------------------------- */

/* content.Info first, so that a missing or different blob is told before
 * anything is read. */
static int check_info(struct ctrd_client *c, const struct oci_desc *d, struct sk_error *err)
{
	int64_t have;
	int r;

	if ((r = ctrd_content_info(c, d->digest, &have, err)) < 0)
		return r;
	if (have != d->size)
		return sk_err(
		    err, -EILSEQ,
		    "containerd %s holds %lld bytes for %s, the manifest says %lld: pull the image again",
		    ctrd_client_socket(c), (long long)have, d->digest, (long long)d->size);
	return 0;
}

/* Where a small blob's bytes go while content.Read streams them. */
struct mem_sink {
	struct sk_sha256 sha;
	struct sk_buf buf;
	struct sk_error *err;
};

static int mem_write(void *ud, const uint8_t *data, size_t len)
{
	struct mem_sink *s = ud;

	sk_sha256_update(&s->sha, data, len);
	return sk_buf_append(&s->buf, data, len) < 0 ? sk_err(s->err, -ENOMEM, "out of memory") : 0;
}

/* A small blob (a manifest, an index) into memory, its digest checked:
 * *text, caller frees. */
static int read_small(struct ctrd_client *c, const struct oci_desc *d, char **text, size_t *len,
                      struct sk_error *err)
{
	struct mem_sink s = { .buf = sk_buf_make(OCI_MANIFEST_MAX), .err = err };
	uint8_t md[32];
	char hex[65];
	int r;

	if (d->size > OCI_MANIFEST_MAX)
		return sk_err(err, -E2BIG, "%s is %lld bytes, more than the %d a manifest may have",
		              d->digest, (long long)d->size, OCI_MANIFEST_MAX);
	if ((r = check_info(c, d, err)) < 0)
		return r;
	if (sk_sha256_init(&s.sha) < 0)
		return sk_err(err, -ENOMEM, "out of memory");
	if (d->size > 0 && (r = ctrd_content_read(c, d->digest, 0, d->size, mem_write, &s, err)) < 0) {
		sk_sha256_free(&s.sha);
		sk_buf_free(&s.buf);
		return r;
	}
	if ((r = sk_sha256_final(&s.sha, md)) < 0) {
		sk_buf_free(&s.buf);
		return sk_err(err, r, "SHA-256 failed");
	}
	sk_sha256_to_hex(md, hex);
	if (strcmp(hex, d->digest + 7) != 0) {
		sk_buf_free(&s.buf);
		return sk_err(err, -EILSEQ,
		              "containerd %s: the bytes of %s hash to sha256:%s: the content store is "
		              "damaged, pull the image again",
		              ctrd_client_socket(c), d->digest, hex);
	}
	if (!(*text = sk_buf_steal(&s.buf, len)))
		return sk_err(err, -ENOMEM, "out of memory");
	return 0;
}

/* ---- the folder -------------------------------------------------------------- */

static int mkdir_one(const char *path, struct sk_error *err)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return sk_err(err, -errno, "cannot make %s: %s", path, strerror(errno));
	return 0;
}

struct file_sink {
	struct ctrd_blob *blob;
	struct sk_error *err;
};

static int file_write(void *ud, const uint8_t *data, size_t len)
{
	struct file_sink *s = ud;

	return ctrd_blob_write(s->blob, data, len, s->err);
}

/* Blob d into DIR/blobs/sha256/<hex>, checked (blob.h). 1 when read from
 * containerd, 0 when a right copy was there. */
static int fetch_blob(struct ctrd_client *c, const char *dir, const struct oci_desc *d, struct sk_error *err)
{
	struct ctrd_blob b;
	struct file_sink s = { .blob = &b, .err = err };
	int r;

	if (ctrd_blob_present(dir, d))
		return 0;
	if ((r = check_info(c, d, err)) < 0 || (r = ctrd_blob_begin(&b, dir, d, err)) < 0)
		return r;
	if (d->size > 0 && (r = ctrd_content_read(c, d->digest, 0, d->size, file_write, &s, err)) < 0) {
		ctrd_blob_abort(&b);
		return r;
	}
	if ((r = ctrd_blob_commit(&b, err)) < 0) {
		if (r == -EILSEQ)
			(void)sk_err_prefix(
			    err, "containerd %s: the content store is damaged, pull the image again",
			    ctrd_client_socket(c));
		return r;
	}
	return 1;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The locked-app blob (checked) to DIR/locked-app.json, by rename: the
 * last step, whose file says the folder is complete. */
static int write_locked(const char *dir, const struct oci_desc *d, struct sk_error *err)
{
	char src[PATH_MAX + 128], dst[PATH_MAX + 32], tmp[PATH_MAX + 48];
	_cleanup_free_ char *text = NULL;
	size_t len;
	int fd, r;

	(void)snprintf(src, sizeof(src), "%s/blobs/sha256/%s", dir, d->digest + 7);
	(void)snprintf(dst, sizeof(dst), "%s/locked-app.json", dir);
	(void)snprintf(tmp, sizeof(tmp), "%s/.locked-app.json.XXXXXX", dir);
	if ((r = sk_read_file(src, APP_LOCKED_MAX, &text, &len)) < 0)
		return sk_err(err, r, "cannot read %s: %s", src, strerror(-r));
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		return sk_err(err, -errno, "cannot make a file in %s: %s", dir, strerror(errno));
	r = write_all(fd, text, len);
	if (r == 0 && fchmod(fd, 0644) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, dst) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return sk_err(err, r, "cannot write %s: %s", dst, strerror(-r));
	}
	return 0;
}

/* ---- the image ----------------------------------------------------------------- */

/* The descriptor of the manifest to run: the image's target, or the entry an
 * image index picks. */
static int resolve(struct ctrd_client *c, const char *image, struct oci_desc *out, struct sk_error *err)
{
	struct ctrd_desc t;
	struct oci_desc d = { 0 };
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	if ((r = ctrd_image_get(c, image, &t, err)) < 0)
		return r;
	memcpy(d.media_type, t.media_type, sizeof(d.media_type));
	memcpy(d.digest, t.digest, sizeof(d.digest));
	d.size = t.size;
	if (oci_is_index(d.media_type)) {
		if ((r = read_small(c, &d, &text, &len, err)) < 0 ||
		    (r = oci_index_pick(text, len, &d, err)) < 0) {
			(void)sk_err_prefix(err, "image \"%s\"", image);
			return r;
		}
	} else if (!oci_is_manifest(d.media_type)) {
		return sk_err(err, -ENOTSUP,
		              "image \"%s\": its target has media type \"%.100s\", neither an image manifest "
		              "nor an index",
		              image, d.media_type);
	}
	*out = d;
	return 0;
}

/* A refusal of the manifest, with the image named: "image X is not a Spin
 * app: ..." or "image X: manifest: ...". Returns r. */
static int refuse(struct sk_error *err, int r, const char *image)
{
	char msg[SK_ERR_MESSAGE_MAX];

	if (!err)
		return r;
	memcpy(msg, err->message, sizeof(msg));
	if (strncmp(msg, "not a Spin app: ", 16) == 0)
		return sk_err(err, r, "image \"%s\" is %s", image, msg);
	return sk_err(err, r, "image \"%s\": %s", image, msg);
}

/* DIR/blobs/sha256, each level made if missing. */
static int make_folders(const char *cache, const char *dir, struct sk_error *err)
{
	char sub[PATH_MAX + 32];
	int r;

	if ((r = mkdir_one(cache, err)) < 0 || (r = mkdir_one(dir, err)) < 0)
		return r;
	(void)snprintf(sub, sizeof(sub), "%s/blobs", dir);
	if ((r = mkdir_one(sub, err)) < 0)
		return r;
	(void)snprintf(sub, sizeof(sub), "%s/blobs/sha256", dir);
	return mkdir_one(sub, err);
}

/* Read the manifest, validate it, fetch what it lists into out->dir. */
static int fetch_manifest(struct ctrd_client *c, const char *image, const char *cache,
                          const struct oci_desc *md, struct ctrd_app *out, struct sk_error *err)
{
	struct oci_manifest m = { 0 };
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	if ((r = read_small(c, md, &text, &len, err)) < 0) {
		(void)sk_err_prefix(err, "image \"%s\"", image);
		return r;
	}
	if ((r = oci_manifest_parse(text, len, &m, err)) < 0)
		return refuse(err, r, image);
	if ((r = make_folders(cache, out->dir, err)) < 0)
		goto done;
	out->blobs = m.n_layers + 1;
	for (size_t i = 0; i <= m.n_layers; i++) {
		const struct oci_desc *d = i < m.n_layers ? &m.layers[i] : &m.config;
		if ((r = fetch_blob(c, out->dir, d, err)) < 0) {
			(void)sk_err_prefix(err, "image \"%s\"", image);
			goto done;
		}
		out->fetched += (size_t)r;
		out->bytes += r ? d->size : 0;
	}
	r = write_locked(out->dir, &m.layers[m.locked], err);
done:
	oci_manifest_free(&m);
	return r;
}

int ctrd_app_fetch(struct ctrd_client *c, const char *image, const char *cache, struct ctrd_app *out,
                   struct sk_error *err)
{
	struct ctrd_app app = { 0 };
	struct oci_desc md;
	char done[PATH_MAX + 32];
	int r;

	if ((r = resolve(c, image, &md, err)) < 0)
		return r;
	if (snprintf(app.dir, sizeof(app.dir), "%s/%s", cache, md.digest + 7) >= (int)sizeof(app.dir))
		return sk_err(err, -ENAMETOOLONG, "app cache folder %s: the name is too long", cache);
	memcpy(app.manifest_digest, md.digest, sizeof(app.manifest_digest));
	(void)snprintf(done, sizeof(done), "%s/locked-app.json", app.dir);
	if (access(done, F_OK) == 0) {
		app.cached = true;
		*out = app;
		return 0;
	}
	if ((r = fetch_manifest(c, image, cache, &md, &app, err)) < 0)
		return r;
	*out = app;
	return 0;
}

int ctrd_app_fetch_at(const char *address, const char *ns, const char *image, const char *cache,
                      struct ctrd_app *out, struct sk_error *err)
{
	struct ctrd_client *c = NULL;
	int r;

	if ((r = ctrd_client_new(address, ns, &c, err)) < 0)
		return r;
	r = ctrd_app_fetch(c, image, cache, out, err);
	ctrd_client_free(c);
	return r;
}
