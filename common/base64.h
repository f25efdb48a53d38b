/* Standard base64 (RFC 4648 section 4, "+/" alphabet), the one codec every
 * program here uses: Secret data, kubeconfig fields, inline locked-app
 * content, docker config "auth" entries.
 *
 * Decoding is strict about the alphabet; the flags say what else a caller's
 * format allows. */
#ifndef SPINKUBE_BASE64_H
#define SPINKUBE_BASE64_H

#include <stddef.h>

enum {
	SK_B64_PAD_OPTIONAL = 1 << 0,   /* "YQ" is read like "YQ==" */
	SK_B64_SKIP_NEWLINES = 1 << 1,  /* '\r' and '\n' anywhere are ignored (Go's []byte fields) */
};

/* Encode len bytes. Returns a new NUL-terminated string (caller frees), ""
 * for len 0, or NULL on -ENOMEM or when the result would not fit a size_t. */
char *sk_base64_encode(const void *data, size_t len);

/* Decode the n characters at in. On success *out is new (caller frees),
 * NUL-terminated (not counted in *out_len) so text can be read in place.
 * Padding is required unless SK_B64_PAD_OPTIONAL; '=' only at the end, at
 * most two. Returns 0, -EINVAL when not valid base64, or -ENOMEM. */
int sk_base64_decode(const char *in, size_t n, unsigned flags, unsigned char **out, size_t *out_len);

#endif
