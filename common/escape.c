#include "common/escape.h"

#include <stdio.h>
#include <string.h>

/* The escape for the character at s (n bytes left), written into out (at
 * least 7 bytes), and how many input bytes it stands for; 0 when the byte
 * needs none. */
static size_t escape_one(const unsigned char *s, size_t n, int quote, char *out, size_t *used)
{
	unsigned char c = s[0];

	*used = 1;
	switch (c) {
	case '\n': memcpy(out, "\\n", 3); return 2;
	case '\r': memcpy(out, "\\r", 3); return 2;
	case '\t': memcpy(out, "\\t", 3); return 2;
	case '\0': memcpy(out, "\\0", 3); return 2;
	case '"':
	case '\\':
		if (!quote)
			return 0;
		out[0] = '\\';
		out[1] = (char)c;
		out[2] = '\0';
		return 2;
	default:
		break;
	}
	if (c < 0x20 || c == 0x7f) {
		(void)snprintf(out, 7, "\\x%02x", c);
		return 4;
	}
	/* U+0080..U+009F are C2 80..C2 9F; U+2028 and U+2029 are E2 80 A8/A9. */
	if (c == 0xc2 && n >= 2 && s[1] >= 0x80 && s[1] <= 0x9f) {
		*used = 2;
		(void)snprintf(out, 7, "\\u%04x", s[1]);
		return 6;
	}
	if (c == 0xe2 && n >= 3 && s[1] == 0x80 && (s[2] == 0xa8 || s[2] == 0xa9)) {
		*used = 3;
		(void)snprintf(out, 7, "\\u20%02x", s[2] - 0x80);
		return 6;
	}
	return 0;
}

size_t sk_escape(char *dst, size_t size, const char *src, size_t len, int quote)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0, i = 0;
	char esc[8];

	if (!size)
		return 0;
	while (i < len) {
		size_t used, w = escape_one(s + i, len - i, quote, esc, &used);
		if (w == 0) {
			if (o + 1 >= size)
				break;
			dst[o++] = (char)s[i++];
			continue;
		}
		if (o + w >= size)
			break;
		memcpy(dst + o, esc, w);
		o += w;
		i += used;
	}
	dst[o] = '\0';
	return o;
}

int sk_is_one_line(const char *s)
{
	size_t n = strlen(s), used;
	char esc[8];

	for (size_t i = 0; i < n; i++)
		if (escape_one((const unsigned char *)s + i, n - i, 0, esc, &used))
			return 0;
	return 1;
}
