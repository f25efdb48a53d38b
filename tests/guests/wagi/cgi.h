/* What the WAGI test guests share: reading one query parameter and writing
 * whole buffers to stdout. Header-only so that each guest stays one file. */
#ifndef GUESTS_CGI_H
#define GUESTS_CGI_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* query_param copies the percent-decoded value of NAME from QUERY_STRING into
 * BUF (CAP bytes, NUL-terminated, truncated to fit) and returns BUF, or NULL
 * when the parameter is absent. */
static inline const char *query_param(const char *name, char *buf, size_t cap)
{
	const char *q = getenv("QUERY_STRING");
	size_t len = strlen(name);

	if (!q || cap == 0)
		return NULL;
	while (*q) {
		const char *end = strchr(q, '&');
		if (!end)
			end = q + strlen(q);
		if ((size_t)(end - q) > len && strncmp(q, name, len) == 0 && q[len] == '=') {
			size_t n = 0;
			for (const char *p = q + len + 1; p < end && n + 1 < cap; p++) {
				if (*p == '%' && end - p >= 3 && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
					buf[n++] = (char)(hexval(p[1]) * 16 + hexval(p[2]));
					p += 2;
				} else {
					buf[n++] = *p == '+' ? ' ' : *p;
				}
			}
			buf[n] = '\0';
			return buf;
		}
		q = *end ? end + 1 : end;
	}
	return NULL;
}

/* query_long returns the integer value of NAME, or DEF when it is absent or
 * not a non-negative decimal number. */
static inline long query_long(const char *name, long def)
{
	char buf[32], *end;
	long v;

	if (!query_param(name, buf, sizeof(buf)))
		return def;
	v = strtol(buf, &end, 10);
	return (end == buf || *end || v < 0) ? def : v;
}

/* write_all writes LEN bytes to stdout, past short writes; 0 or -1. */
static inline int write_all(const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(STDOUT_FILENO, p, len);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

#endif
