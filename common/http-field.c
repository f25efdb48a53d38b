#include "common/http-field.h"

#include <string.h>
#include <strings.h>

bool sk_http_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

bool sk_http_token(const char *s, size_t n)
{
	if (n == 0 || n > SK_HTTP_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!sk_http_tchar((unsigned char)s[i]))
			return false;
	return true;
}

bool sk_http_value_ok(const void *v, size_t n)
{
	const unsigned char *p = v;

	for (size_t i = 0; i < n; i++)
		if (p[i] == '\r' || p[i] == '\n' || p[i] == '\0')
			return false;
	return true;
}

bool sk_http_value_strict(const void *v, size_t n)
{
	const unsigned char *p = v;

	for (size_t i = 0; i < n; i++)
		if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
			return false;
	return true;
}

static const struct {
	const char *name;
	unsigned classes;
} owned[] = {
	{ "connection", SK_HTTP_HOP_BY_HOP },
	{ "content-length", SK_HTTP_FRAMING },
	{ "expect", SK_HTTP_EXPECT },
	{ "http2-settings", SK_HTTP_HOP_BY_HOP },
	{ "keep-alive", SK_HTTP_HOP_BY_HOP },
	{ "proxy-connection", SK_HTTP_HOP_BY_HOP },
	{ "te", SK_HTTP_HOP_BY_HOP },
	{ "transfer-encoding", SK_HTTP_HOP_BY_HOP | SK_HTTP_FRAMING },
	{ "upgrade", SK_HTTP_HOP_BY_HOP },
};

unsigned sk_http_owned(const char *name, size_t n)
{
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
		if (strlen(owned[i].name) == n && strncasecmp(owned[i].name, name, n) == 0)
			return owned[i].classes;
	return 0;
}
