/* SHA-256 through OpenSSL's EVP interface (libcrypto is linked already, by
 * libcurl), for the programs that digest wasm binaries, blobs and cache
 * keys. */
#ifndef SPINKUBE_COMMON_SHA256_H
#define SPINKUBE_COMMON_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sk_sha256 {
	void *ctx;   /* EVP_MD_CTX, owned; NULL before init and after final/free */
	bool failed; /* an update failed: final reports it */
};

/* Start a digest. Returns 0 or -ENOMEM (then *s needs no freeing). */
int sk_sha256_init(struct sk_sha256 *s);

/* Hash len more bytes. A failure is remembered and returned by final. */
void sk_sha256_update(struct sk_sha256 *s, const void *data, size_t len);

/* The 32-byte digest into out; frees the context. Returns 0 or -EIO. */
int sk_sha256_final(struct sk_sha256 *s, uint8_t out[32]);

/* Free a digest given up before final. NULL contexts are fine. */
void sk_sha256_free(struct sk_sha256 *s);

/* Scope cleanup for a digest that may be given up on an error path. */
#define _cleanup_sha256_ __attribute__((cleanup(sk_sha256_free)))

/* A digest as 64 lowercase hex digits and a NUL. */
void sk_sha256_to_hex(const uint8_t md[32], char out[65]);

/* True for an OCI digest of this algorithm: "sha256:" and 64 lowercase
 * hex digits (the only form registries and containerd name blobs by here). */
bool sk_sha256_digest_ok(const char *d);

/* Digest of the file at path as hex, and its size in *size: 0, -EFBIG when
 * it is larger than max bytes, or a negative errno from open/read. */
int sk_sha256_file(const char *path, int64_t max, char out[65], int64_t *size);

/* One-shot digest of data[0..len) as hex. Returns 0, -ENOMEM or -EIO. */
int sk_sha256_hex(const void *data, size_t len, char out[65]);

#endif
