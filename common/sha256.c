#include "common/sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <string.h>

#include <openssl/evp.h>

int sk_sha256_init(struct sk_sha256 *s)
{
	s->failed = false;
	if (!(s->ctx = EVP_MD_CTX_new()))
		return -ENOMEM;
	if (EVP_DigestInit_ex(s->ctx, EVP_sha256(), NULL) != 1) {
		sk_sha256_free(s);
		return -ENOMEM;
	}
	return 0;
}

void sk_sha256_update(struct sk_sha256 *s, const void *data, size_t len)
{
	if (!s->ctx || EVP_DigestUpdate(s->ctx, data, len) != 1)
		s->failed = true;
}

int sk_sha256_final(struct sk_sha256 *s, uint8_t out[32])
{
	unsigned int n = 0;
	int r = s->ctx && !s->failed && EVP_DigestFinal_ex(s->ctx, out, &n) == 1 && n == 32 ? 0 : -EIO;

	sk_sha256_free(s);
	return r;
}

void sk_sha256_free(struct sk_sha256 *s)
{
	EVP_MD_CTX_free(s->ctx);
	s->ctx = NULL;
}

void sk_sha256_to_hex(const uint8_t md[32], char out[65])
{
	static const char digits[] = "0123456789abcdef";

	for (unsigned i = 0; i < 32; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[64] = '\0';
}

int sk_sha256_hex(const void *data, size_t len, char out[65])
{
	uint8_t md[32];
	unsigned int n = 0;

	if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return -ENOMEM;
	sk_sha256_to_hex(md, out);
	return 0;
}

bool sk_sha256_digest_ok(const char *d)
{
	if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71)
		return false;
	for (const char *p = d + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

int sk_sha256_file(const char *path, int64_t max, char out[65], int64_t *size)
{
	struct sk_sha256 s;
	uint8_t buf[65536], md[32];
	int64_t total = 0;
	ssize_t n;
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if ((r = sk_sha256_init(&s)) < 0) {
		close(fd);
		return r;
	}
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (total += n) > max) {
			r = n < 0 ? -errno : -EFBIG;
			close(fd);
			sk_sha256_free(&s);
			return r;
		}
		sk_sha256_update(&s, buf, (size_t)n);
	}
	close(fd);
	if ((r = sk_sha256_final(&s, md)) < 0)
		return r;
	sk_sha256_to_hex(md, out);
	*size = total;
	return 0;
}
