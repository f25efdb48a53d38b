#include "common/base64.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

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

char *sk_base64_encode(const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t outlen, o = 0;
	char *out;

	if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
		return NULL;
	outlen = (len + 2) / 3 * 4;
	if (!(out = malloc(outlen + 1)))
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? alphabet[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

int sk_base64_decode(const char *in, size_t n, unsigned flags, unsigned char **out, size_t *out_len)
{
	size_t chars = 0, pad = 0, o = 0;
	unsigned acc = 0;
	int bits = 0;
	unsigned char *buf;

	/* First pass: validate and count, so the output is allocated once. */
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
	if (!(buf = malloc(chars / 4 * 3 + 3)))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int v = b64val((unsigned char)in[i]);
		if (v < 0)
			continue; /* padding or a skipped newline: validated above */
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	buf[o] = '\0';
	*out = buf;
	*out_len = o;
	return 0;
}
