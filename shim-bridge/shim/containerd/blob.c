/* A checked blob write into an app folder (see blob.h). */
#include "shim-bridge/shim/containerd/blob.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool ctrd_blob_present(const char *dir, const struct oci_desc *d)
{
	char path[PATH_MAX + 128], hex[65];
	int64_t size;

	if (snprintf(path, sizeof(path), "%s/blobs/sha256/%s", dir, d->digest + 7) >= (int)sizeof(path))
		return false;
	return sk_sha256_file(path, d->size, hex, &size) == 0 && size == d->size &&
	       strcmp(hex, d->digest + 7) == 0;
}

int ctrd_blob_begin(struct ctrd_blob *b, const char *dir, const struct oci_desc *d, struct sk_error *err)
{
	*b = (struct ctrd_blob){ .desc = *d, .fd = -1 };
	if (snprintf(b->path, sizeof(b->path), "%s/blobs/sha256/%s", dir, d->digest + 7) >=
	    (int)sizeof(b->path))
		return sk_err(err, -ENAMETOOLONG, "app folder %s: the name is too long", dir);
	(void)snprintf(b->tmp, sizeof(b->tmp), "%s/blobs/sha256/.tmp-%s-XXXXXX", dir, d->digest + 7);
	if (sk_sha256_init(&b->sha) < 0)
		return sk_err(err, -ENOMEM, "out of memory");
	if ((b->fd = mkostemp(b->tmp, O_CLOEXEC)) < 0) {
		int e = errno;
		sk_sha256_free(&b->sha);
		return sk_err(err, -e, "cannot make a file in %s/blobs/sha256: %s", dir, strerror(e));
	}
	return 0;
}

int ctrd_blob_write(struct ctrd_blob *b, const void *data, size_t len, struct sk_error *err)
{
	const uint8_t *p = data;

	if ((int64_t)len > b->desc.size - b->written)
		return sk_err(err, -E2BIG, "blob %s: more than the %lld bytes its descriptor says",
		              b->desc.digest, (long long)b->desc.size);
	sk_sha256_update(&b->sha, data, len);
	b->written += (int64_t)len;
	while (len > 0) {
		ssize_t n = write(b->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sk_err(err, -errno, "cannot write %s: %s", b->tmp, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void ctrd_blob_abort(struct ctrd_blob *b)
{
	if (b->fd >= 0) {
		close(b->fd);
		b->fd = -1;
		unlink(b->tmp);
	}
	sk_sha256_free(&b->sha);
}

int ctrd_blob_commit(struct ctrd_blob *b, struct sk_error *err)
{
	uint8_t md[32];
	char hex[65];
	int r;

	if (b->written != b->desc.size) {
		r = sk_err(err, -EILSEQ, "blob %s: %lld bytes came, its descriptor says %lld", b->desc.digest,
		           (long long)b->written, (long long)b->desc.size);
		goto fail;
	}
	if ((r = sk_sha256_final(&b->sha, md)) < 0) {
		r = sk_err(err, r, "SHA-256 failed");
		goto fail;
	}
	sk_sha256_to_hex(md, hex);
	if (strcmp(hex, b->desc.digest + 7) != 0) {
		r = sk_err(err, -EILSEQ, "the bytes of %s hash to sha256:%s", b->desc.digest, hex);
		goto fail;
	}
	int e = fchmod(b->fd, 0644) < 0 ? errno : 0;
	if (close(b->fd) < 0 && e == 0)
		e = errno;
	b->fd = -1;
	if (e) {
		unlink(b->tmp);
		return sk_err(err, -e, "cannot write %s: %s", b->tmp, strerror(e));
	}
	if (rename(b->tmp, b->path) < 0) {
		r = sk_err(err, -errno, "cannot put %s in place: %s", b->path, strerror(errno));
		unlink(b->tmp);
		return r;
	}
	return 0;
fail:
	ctrd_blob_abort(b);
	return r;
}
