#include "common/utf8.h"

size_t sk_utf8_seq(const void *p, size_t n)
{
	const unsigned char *s = p;
	unsigned cp;
	size_t k;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		k = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		k = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		k = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (k > n)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k;
}

size_t sk_utf8_invalid_at(const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i = 0;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		size_t k = sk_utf8_seq(s + i, n - i);
		if (!k)
			return i;
		i += k;
	}
	return n;
}

bool sk_utf8_valid(const void *s, size_t n)
{
	return sk_utf8_invalid_at(s, n) == n;
}
