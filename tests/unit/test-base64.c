/* common/base64.c: RFC 4648 test vectors both ways, and what each flag lets
 * through (padding, line breaks) against what is always refused. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "tests/tap.h"

static void roundtrip(const char *plain, const char *b64)
{
	char *e = sk_base64_encode(plain, strlen(plain));
	unsigned char *d = NULL;
	size_t n = 0;

	is_str(e, b64, "encode \"%s\"", plain);
	is_int(sk_base64_decode(b64, strlen(b64), 0, &d, &n), 0, "decode \"%s\"", b64);
	ok(d && n == strlen(plain) && memcmp(d, plain, n) == 0 && d[n] == '\0', "... gives \"%s\", NUL-terminated", plain);
	free(e);
	free(d);
}

static int dec(const char *s, unsigned flags, char *out, size_t size)
{
	unsigned char *d = NULL;
	size_t n = 0;
	int r = sk_base64_decode(s, strlen(s), flags, &d, &n);

	if (r == 0)
		(void)snprintf(out, size, "%.*s", (int)n, (const char *)d);
	free(d);
	return r;
}

int main(void)
{
	char out[64];

	roundtrip("", "");
	roundtrip("f", "Zg==");
	roundtrip("fo", "Zm8=");
	roundtrip("foo", "Zm9v");
	roundtrip("foob", "Zm9vYg==");
	roundtrip("fooba", "Zm9vYmE=");
	roundtrip("foobar", "Zm9vYmFy");
	roundtrip("user:pa:ss", "dXNlcjpwYTpzcw==");

	is_int(dec("Zg", 0, out, sizeof(out)), -EINVAL, "missing padding is refused by default");
	is_int(dec("Zg", SK_B64_PAD_OPTIONAL, out, sizeof(out)), 0, "... accepted with PAD_OPTIONAL");
	is_str(out, "f", "... as \"f\"");
	is_int(dec("Zm9v\nYmFy\r\n", 0, out, sizeof(out)), -EINVAL, "line breaks are refused by default");
	is_int(dec("Zm9v\nYmFy\r\n", SK_B64_SKIP_NEWLINES, out, sizeof(out)), 0, "... skipped with SKIP_NEWLINES");
	is_str(out, "foobar", "... as \"foobar\"");
	is_int(dec("Zg=a", SK_B64_PAD_OPTIONAL, out, sizeof(out)), -EINVAL, "data after padding");
	is_int(dec("Z===", SK_B64_PAD_OPTIONAL, out, sizeof(out)), -EINVAL, "three padding characters");
	is_int(dec("Zm9v!", SK_B64_PAD_OPTIONAL, out, sizeof(out)), -EINVAL, "a character outside the alphabet");
	is_int(dec("Zm9vY", SK_B64_PAD_OPTIONAL, out, sizeof(out)), -EINVAL, "one character of a group left over");
	is_int(dec("Zm9-", 0, out, sizeof(out)), -EINVAL, "the URL alphabet is not this one");
	return tap_done();
}
