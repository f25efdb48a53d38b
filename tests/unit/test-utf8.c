/* common/utf8.c: what RFC 3629 accepts and refuses, at every boundary. */
#include <string.h>

#include "common/utf8.h"
#include "tests/tap.h"

static void valid(const char *s, size_t n, bool want, const char *what)
{
	ok(sk_utf8_valid(s, n) == want, "%s is %s", what, want ? "valid" : "refused");
}

int main(void)
{
	valid("", 0, true, "the empty string");
	valid("plain ascii", 11, true, "ASCII");
	valid("a\0b", 3, true, "a NUL byte");
	valid("\xc2\x80", 2, true, "U+0080 (first 2-byte)");
	valid("\xdf\xbf", 2, true, "U+07FF (last 2-byte)");
	valid("\xe0\xa0\x80", 3, true, "U+0800 (first 3-byte)");
	valid("\xed\x9f\xbf", 3, true, "U+D7FF (before the surrogates)");
	valid("\xee\x80\x80", 3, true, "U+E000 (after the surrogates)");
	valid("\xef\xbf\xbf", 3, true, "U+FFFF");
	valid("\xf0\x90\x80\x80", 4, true, "U+10000 (first 4-byte)");
	valid("\xf4\x8f\xbf\xbf", 4, true, "U+10FFFF (the last code point)");
	valid("\xc0\xaf", 2, false, "an overlong '/' (C0 AF)");
	valid("\xc1\xbf", 2, false, "an overlong 2-byte form (C1)");
	valid("\xe0\x9f\xbf", 3, false, "an overlong 3-byte form");
	valid("\xf0\x8f\xbf\xbf", 4, false, "an overlong 4-byte form");
	valid("\xed\xa0\x80", 3, false, "a high surrogate U+D800");
	valid("\xed\xbf\xbf", 3, false, "a low surrogate U+DFFF");
	valid("\xf4\x90\x80\x80", 4, false, "U+110000");
	valid("\xf5\x80\x80\x80", 4, false, "lead byte F5");
	valid("\xff", 1, false, "byte FF");
	valid("\x80", 1, false, "a lone continuation byte");
	valid("\xe2\x82", 2, false, "a sequence cut by the end");
	valid("\xe2\x28\xa1", 3, false, "a bad continuation byte");

	is_int((int)sk_utf8_invalid_at("ok \xe2\x82\xac then \xff", 13), 12, "invalid_at points at the bad byte");
	is_int((int)sk_utf8_invalid_at("\xe2\x82\xac", 3), 3, "invalid_at is n when all is valid");
	is_int((int)sk_utf8_invalid_at("ab\xe2\x82", 4), 2, "invalid_at points at a cut sequence's lead");
	is_int((int)sk_utf8_seq("\xf0\x9f\x98\x80", 4), 4, "seq: a 4-byte emoji");
	is_int((int)sk_utf8_seq("\xf0\x9f\x98\x80", 3), 0, "seq: the same cut by n");
	is_int((int)sk_utf8_seq("a", 1), 1, "seq: ASCII is 1");
	return tap_done();
}
