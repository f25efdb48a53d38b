/* common/http-field.c: the token and value rules and the server-owned table
 * every HTTP side of the runtime uses. */
#include <string.h>

#include "common/http-field.h"
#include "tests/tap.h"

int main(void)
{
	char longname[SK_HTTP_NAME_MAX + 2];

	ok(sk_http_token("content-type", 12), "a plain name is a token");
	ok(sk_http_token("X-!#$%&'*+-.^_`|~09", 19), "every tchar punctuation mark is allowed");
	ok(!sk_http_token("", 0), "the empty name is refused");
	ok(!sk_http_token("bad name", 8), "a space is refused");
	ok(!sk_http_token("a:b", 3), "a colon is refused");
	ok(!sk_http_token("a\0b", 3), "a NUL is refused");
	ok(!sk_http_token("caf\xc3\xa9", 5), "non-ASCII is refused");
	memset(longname, 'a', sizeof(longname));
	ok(sk_http_token(longname, SK_HTTP_NAME_MAX), "a name of SK_HTTP_NAME_MAX bytes is allowed");
	ok(!sk_http_token(longname, SK_HTTP_NAME_MAX + 1), "one byte more is refused");

	ok(sk_http_value_ok("text/plain; q=1\t\x80", 17), "a value with tabs and obs-text is allowed");
	ok(sk_http_value_ok("", 0), "an empty value is allowed");
	ok(!sk_http_value_ok("a\rb", 3), "CR is refused");
	ok(!sk_http_value_ok("a\nb", 3), "LF is refused");
	ok(!sk_http_value_ok("a\0b", 3), "NUL is refused");

	ok(sk_http_value_strict("text/plain; q=1\t\x80\xff", 18), "strict: tabs, spaces and obs-text are allowed");
	ok(!sk_http_value_strict("a\x01b", 3), "strict: a control character is refused");
	ok(!sk_http_value_strict("a\x7f", 2), "strict: DEL is refused");
	ok(!sk_http_value_strict("a\rb", 3), "strict: CR is refused");

	is_int((int)sk_http_owned("Connection", 10), SK_HTTP_HOP_BY_HOP, "connection is hop-by-hop, in any case");
	is_int((int)sk_http_owned("transfer-encoding", 17), SK_HTTP_HOP_BY_HOP | SK_HTTP_FRAMING,
	       "transfer-encoding is hop-by-hop and framing");
	is_int((int)sk_http_owned("CONTENT-LENGTH", 14), SK_HTTP_FRAMING, "content-length is framing only");
	is_int((int)sk_http_owned("expect", 6), SK_HTTP_EXPECT, "expect is the client side's");
	const char *hop[] = { "keep-alive", "proxy-connection", "te", "upgrade", "http2-settings" };
	for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		ok(sk_http_owned(hop[i], strlen(hop[i])) == SK_HTTP_HOP_BY_HOP, "%s is hop-by-hop", hop[i]);
	is_int((int)sk_http_owned("content-type", 12), 0, "content-type is the guest's");
	is_int((int)sk_http_owned("connectionx", 11), 0, "a longer name does not match a prefix");
	is_int((int)sk_http_owned("connection", 9), 0, "a shorter length does not match either");
	return tap_done();
}
