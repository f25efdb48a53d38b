/* common/escape.c and its users: every message and logged value that quotes
 * text from outside stays on one line, whatever control characters the text
 * holds, and the escapes say which characters they were. */
#include <errno.h>
#include <string.h>

#include "common/err.h"
#include "common/escape.h"
#include "common/log.h"
#include "tests/tap.h"

static void esc_is(const char *in, size_t len, int quote, const char *want, const char *name)
{
	char out[128];
	size_t n = sk_escape(out, sizeof(out), in, len, quote);

	is_str(out, want, "sk_escape: %s", name);
	is_int(n, strlen(want), "sk_escape: %s: the length returned", name);
}

static void test_escape(void)
{
	esc_is("plain text", 10, 0, "plain text", "text without controls is unchanged");
	esc_is("a\nb", 3, 0, "a\\nb", "newline");
	esc_is("a\r\nb", 4, 0, "a\\r\\nb", "CR LF");
	esc_is("a\tb", 3, 0, "a\\tb", "tab");
	esc_is("a\0b", 3, 0, "a\\0b", "NUL inside the given length");
	esc_is("\x1b[31mred\x1b[0m", 12, 0, "\\x1b[31mred\\x1b[0m", "a terminal escape sequence");
	esc_is("\x7f\x01\x1f", 3, 0, "\\x7f\\x01\\x1f", "DEL and other C0 controls");
	esc_is("a\xc2\x85z", 4, 0, "a\\u0085z", "NEL (U+0085, UTF-8 C2 85)");
	esc_is("\xc2\x9b" "2J", 4, 0, "\\u009b2J", "CSI (U+009B)");
	esc_is("x\xe2\x80\xa8y\xe2\x80\xa9", 8, 0, "x\\u2028y\\u2029", "LINE and PARAGRAPH SEPARATOR");
	esc_is("caf\xc3\xa9 \xe2\x82\xac", 9, 0, "caf\xc3\xa9 \xe2\x82\xac", "other UTF-8 is kept");
	esc_is("a\"b\\c", 5, 0, "a\"b\\c", "quotes and backslashes kept without quote");
	esc_is("a\"b\\c\n", 6, 1, "a\\\"b\\\\c\\n", "quotes and backslashes escaped with quote");
	esc_is("\xc2", 1, 0, "\xc2", "a lone lead byte at the end is not read past");

	char small[5];
	is_int(sk_escape(small, sizeof(small), "ab\ncd", 5, 0), 4, "an escape that does not fit is left out whole");
	is_str(small, "ab\\n", "... the copy ends before it");
	is_int(sk_escape(small, sizeof(small), "abc\n", 4, 0), 3, "never half an escape");
	is_str(small, "abc", "... 'abc' and not 'abc\\'");
	is_int(sk_escape(small, 1, "abc", 3, 0), 0, "a one-byte buffer holds the terminator only");

	char once[64], twice[64];
	sk_escape(once, sizeof(once), "a\n\t\x1b\xc2\x85", 6, 0);
	sk_escape(twice, sizeof(twice), once, strlen(once), 0);
	is_str(twice, once, "escaping an escaped text changes nothing (without quote)");
	ok(sk_is_one_line(once), "sk_is_one_line: the escaped text");
	ok(!sk_is_one_line("a\nb"), "sk_is_one_line: a newline");
	ok(!sk_is_one_line("a\xe2\x80\xa8"), "sk_is_one_line: U+2028");
	ok(sk_is_one_line("tab\\t and \"quotes\""), "sk_is_one_line: plain text with backslashes and quotes");
}

static void test_err(void)
{
	struct sk_error err = {0};

	is_int(sk_err(&err, -EINVAL, "provider type \"%s\" is unknown", "\"\"\"ite\ntype = \"\"\""), -EINVAL,
	       "sk_err returns the code");
	is_str(err.message, "provider type \"\"\"\"ite\\ntype = \"\"\"\" is unknown",
	       "sk_err escapes a multi-line value (the fuzz crash of the runtime config)");
	sk_err(&err, -EINVAL, "bad\tvalue \x1b]0;title\x07");
	is_str(err.message, "bad\\tvalue \\x1b]0;title\\x07", "sk_err escapes tabs, ESC and BEL");
	sk_err_prefix(&err, "file %s", "a\rb.toml");
	is_str(err.message, "file a\\rb.toml: bad\\tvalue \\x1b]0;title\\x07",
	       "sk_err_prefix escapes the prefix and keeps the message as it was");
	ok(sk_is_one_line(err.message), "the message is one line");

	char big[SK_ERR_MESSAGE_MAX * 2];
	memset(big, '\n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	sk_err(&err, -EINVAL, "%s", big);
	ok(strlen(err.message) < SK_ERR_MESSAGE_MAX && sk_is_one_line(err.message) &&
	       strncmp(err.message, "\\n\\n", 4) == 0,
	   "an over-long message of newlines is cut, escaped, within the cap");
}

static void test_log_quote(void)
{
	char q[64];

	is_str(log_quote("GET /a\nb \"c\"", q, sizeof(q)), "\"GET /a\\nb \\\"c\\\"\"",
	       "log_quote escapes a newline instead of dropping it, and quotes");
	is_str(log_quote(NULL, q, sizeof(q)), "\"\"", "log_quote of NULL is an empty value");
	char tiny[7];
	is_str(log_quote("abc\n\n\n", tiny, sizeof(tiny)), "\"abc\"", "log_quote cuts before an escape that does not fit");
}

int main(void)
{
	test_escape();
	test_err();
	test_log_quote();
	return tap_done();
}
