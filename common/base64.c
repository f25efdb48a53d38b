#include "common/base64.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock do the coding; what they do not
 * do is checked here first. EVP_DecodeBlock takes lengths as int, skips
 * leading and trailing blanks, and counts padding as zero bytes in what it
 * returns: so the input is validated and copied without line breaks and with
 * its padding completed, and the padding is taken off the length after. */
#define CHUNK_MAX ((size_t)INT_MAX / 4 * 3)

char *sk_base64_encode(const void *data, size_t len)
{
	char *out;

	if (len > CHUNK_MAX)
		return NULL;
	if (!(out = malloc((len + 2) / 3 * 4 + 1)))
		return NULL;
	(void)EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

int sk_base64_decode(const char *in, size_t n, unsigned flags, unsigned char **out, size_t *out_len)
{
	size_t chars = 0, pad = 0;
	unsigned char *text, *buf;
	int got;

	if (n > CHUNK_MAX)
		return -EINVAL;
	/* Validate and count, so both buffers are allocated once. */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if ((flags & SK_B64_SKIP_NEWLINES) && (c == '\r' || c == '\n'))
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad || b64val(c) < 0)
			return -EINVAL; /* data after padding, or outside the alphabet */
		chars++;
	}
	if (pad > 2 || chars % 4 == 1 || (pad && (chars + pad) % 4 && !(flags & SK_B64_PAD_OPTIONAL)) ||
	    (!pad && chars % 4 && !(flags & SK_B64_PAD_OPTIONAL)))
		return -EINVAL;
	size_t full = (chars + 3) / 4 * 4;
	if (!(text = malloc(full + 1)))
		return -ENOMEM;
	size_t t = 0;
	for (size_t i = 0; i < n; i++)
		if (b64val((unsigned char)in[i]) >= 0)
			text[t++] = (unsigned char)in[i];
	while (t < full)
		text[t++] = '=';
	if (!(buf = malloc(full / 4 * 3 + 1))) {
		free(text);
		return -ENOMEM;
	}
	got = full ? EVP_DecodeBlock(buf, text, (int)full) : 0;
	free(text);
	if (got < 0) {
		free(buf);
		return -EINVAL;
	}
	size_t len = (size_t)got - (full - chars); /* the padding decoded as zero bytes */
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	return 0;
}
