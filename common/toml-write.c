/* TOML written: strings and keys quoted as TOML 1.0 reads them back (the
 * renderers of runtime-config.toml use these). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/toml.h"
#include "common/utf8.h"

int sk_toml_append_string(struct sk_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t start = 0, i = 0, len = strlen(s);
	int r;

	if ((r = sk_buf_append(b, "\"", 1)) < 0)
		return r;
	while (p[i]) {
		size_t n = sk_utf8_seq(p + i, len - i);
		char esc[8];

		if (n == 0)
			return -EILSEQ;
		if (n > 1 || (p[i] >= 0x20 && p[i] != 0x7f && p[i] != '"' && p[i] != '\\')) {
			i += n;
			continue;
		}
		if ((r = sk_buf_append(b, s + start, i - start)) < 0)
			return r;
		if (p[i] == '"' || p[i] == '\\')
			(void)snprintf(esc, sizeof(esc), "\\%c", p[i]);
		else
			(void)snprintf(esc, sizeof(esc), "\\u%04X", p[i]);
		if ((r = sk_buf_append(b, esc, strlen(esc))) < 0)
			return r;
		start = ++i;
	}
	if ((r = sk_buf_append(b, s + start, i - start)) < 0)
		return r;
	return sk_buf_append(b, "\"", 1);
}

static bool toml_bare_key(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

int sk_toml_append_key(struct sk_buf *b, const char *s)
{
	if (toml_bare_key(s))
		return sk_buf_append(b, s, strlen(s));
	return sk_toml_append_string(b, s);
}

int sk_toml_quote(const char *s, char **out)
{
	struct sk_buf b = sk_buf_make(TOML_MAX_INPUT);

	return sk_buf_finish(&b, sk_toml_append_string(&b, s), out);
}

int sk_toml_key(const char *s, char **out)
{
	struct sk_buf b = sk_buf_make(TOML_MAX_INPUT);

	return sk_buf_finish(&b, sk_toml_append_key(&b, s), out);
}
