#include "cli/layers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "cli/registry.h"
#include "common/sha256.h"

static int hex_digest(struct sk_sha256 *h, char out[72])
{
	uint8_t md[32];
	int r = sk_sha256_final(h, md);

	if (r < 0)
		return r;
	memcpy(out, "sha256:", 7);
	sk_sha256_to_hex(md, out + 7);
	return 0;
}

int layers_digest(const void *data, size_t len, char out[72])
{
	memcpy(out, "sha256:", 7);
	return sk_sha256_hex(data, len, out + 7);
}

static struct layer *find(struct layer_set *s, const char *digest)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].digest, digest) == 0)
			return &s->v[i];
	return NULL;
}

/* Append l (taking what it owns), or drop it when its digest is there. */
static int add(struct layer_set *s, struct layer *l, const char *title, const char **digest_out,
               struct sk_error *err)
{
	struct layer *have = find(s, l->digest), *v;

	if (have) {
		free(l->path);
		free(l->mem);
		*digest_out = have->digest;
		return 0;
	}
	if (s->n >= LAYERS_MAX || !(v = realloc(s->v, (s->n + 1) * sizeof(*v))) || (title && !(l->title = strdup(title)))) {
		free(l->path);
		free(l->mem);
		return s->n >= LAYERS_MAX ? sk_err(err, -E2BIG, "the app has more than %d distinct files", LAYERS_MAX)
		                          : sk_err(err, -ENOMEM, "out of memory");
	}
	s->v = v;
	s->v[s->n] = *l;
	*digest_out = s->v[s->n++].digest;
	return 0;
}

int layers_add_file(struct layer_set *s, const char *path, const char *media_type, const char *title,
                    const char **digest_out, struct sk_error *err)
{
	_cleanup_fclose_ FILE *f = fopen(path, "rb");
	struct layer l = { .media_type = media_type };
	_cleanup_sha256_ struct sk_sha256 h = { 0 };
	char buf[65536];
	size_t n;

	if (!f)
		return sk_err(err, -errno, "%s: %s", path, strerror(errno));
	if (sk_sha256_init(&h) < 0)
		return sk_err(err, -ENOMEM, "out of memory");
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		sk_sha256_update(&h, buf, n);
		l.size += (int64_t)n;
		if (l.size > REG_BLOB_MAX)
			return sk_err(err, -E2BIG, "%s: larger than %lld bytes, the most one layer may hold", path,
			              (long long)REG_BLOB_MAX);
	}
	if (ferror(f))
		return sk_err(err, -EIO, "%s: read error", path);
	if (hex_digest(&h, l.digest) < 0)
		return sk_err(err, -EIO, "%s: the SHA-256 digest failed", path);
	if (!(l.path = strdup(path)))
		return sk_err(err, -ENOMEM, "out of memory");
	return add(s, &l, title, digest_out, err);
}

int layers_add_mem(struct layer_set *s, const void *data, size_t len, const char *media_type, const char *title,
                   const char **digest_out, struct sk_error *err)
{
	struct layer l = { .media_type = media_type, .size = (int64_t)len };

	if (layers_digest(data, len, l.digest) < 0)
		return sk_err(err, -ENOMEM, "out of memory");
	if (!(l.mem = malloc(len + 1)))
		return sk_err(err, -ENOMEM, "out of memory");
	memcpy(l.mem, data, len);
	l.mem[len] = '\0';
	return add(s, &l, title, digest_out, err);
}

void layers_free(struct layer_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].path);
		free(s->v[i].mem);
		free(s->v[i].title);
	}
	free(s->v);
	*s = (struct layer_set){ 0 };
}
