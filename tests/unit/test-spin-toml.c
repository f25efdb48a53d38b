/* TOML 1.0 parser: the value forms, tables and arrays of tables, and the
 * documents TOML 1.0 says are invalid, each with the message it gets. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/tap.h"
#include "common/toml.h"

/* Parse text; NULL on failure with err filled. Caller puts. */
static json_object *parse(const char *text, struct sk_error *err)
{
	json_object *o = NULL;

	sk_err_clear(err);
	if (sk_toml_parse(text, strlen(text), "t.toml", &o, err) < 0)
		return NULL;
	return o;
}

/* The document parses and equals the JSON expected. */
static void same(const char *toml, const char *json, const char *what)
{
	struct sk_error err = { 0 };
	json_object *got = parse(toml, &err), *want = json_tokener_parse(json);
	int eq = got && want && json_object_equal(got, want);

	ok(eq, "%s", what);
	if (!eq)
		printf("#   got %s (%s)\n", got ? json_object_to_json_string(got) : "error", err.message);
	json_object_put(got);
	json_object_put(want);
}

/* The document is refused with a message containing needle. */
static void bad(const char *toml, const char *needle, const char *what)
{
	struct sk_error err = { 0 };
	json_object *got = parse(toml, &err);
	int good = !got && err.code == -EINVAL && strstr(err.message, needle) && !strchr(err.message, '\n') &&
	           strncmp(err.message, "t.toml:", 7) == 0;

	ok(good, "refused: %s", what);
	if (!good)
		printf("#   message \"%s\", wanted \"%s\"\n", err.message, needle);
	json_object_put(got);
}

static void test_keys(void)
{
	same("# comment\nkey = \"value\"\nbare_key = 1\nbare-key = 2\n1234 = 3\n", "{\"key\":\"value\",\"bare_key\":1,\"bare-key\":2,\"1234\":3}",
	     "bare keys");
	same("\"127.0.0.1\" = 1\n\"ʎǝʞ\" = 2\n'quoted \"v\"' = 3\n\"\" = 4\n",
	     "{\"127.0.0.1\":1,\"ʎǝʞ\":2,\"quoted \\\"v\\\"\":3,\"\":4}", "quoted keys, empty key");
	same("name = \"Orange\"\nphysical.color = \"orange\"\nphysical.shape = \"round\"\nsite.\"google.com\" = true\n",
	     "{\"name\":\"Orange\",\"physical\":{\"color\":\"orange\",\"shape\":\"round\"},\"site\":{\"google.com\":true}}",
	     "dotted keys build tables");
	same("a . b . c = 1\n", "{\"a\":{\"b\":{\"c\":1}}}", "whitespace around dots");
	same("a = 1 # trailing comment\n\n\t# indented comment\n", "{\"a\":1}", "comments and blank lines");
	same("a = 1\r\nb = 2\r\n", "{\"a\":1,\"b\":2}", "CRLF line endings");
	same("", "{}", "an empty document");
	bad("a = 1\na = 2\n", "duplicate key \"a\"", "duplicate key");
	bad("a.b = 1\na.b = 2\n", "duplicate key \"b\"", "duplicate dotted key");
	bad("a = 1\na.b = 2\n", "already defined", "dotted key through a value");
	bad("a\n", "expected '='", "key without value");
	bad("= 1\n", "expected a key", "value without key");
	bad("a = \n", "expected a value", "empty value");
	bad("a = 1 b = 2\n", "expected a newline", "two pairs on a line");
	bad("\"\"\"k\"\"\" = 1\n", "multi-line", "multi-line string key");
	bad("\"a\\u0000b\" = 1\n", "NUL", "key with NUL");
	bad("a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z."
	    "a.b.c.d.e.f.g.h.i.j.k.l.m = 1\n",
	    "more than 64 parts", "key with too many parts");
}

static void test_strings(void)
{
	struct sk_error err = { 0 };
	json_object *o;

	same("s = \"tab\\there \\\"q\\\" back\\\\slash \\b\\f\\r\\n\"\n",
	     "{\"s\":\"tab\\there \\\"q\\\" back\\\\slash \\b\\f\\r\\n\"}", "basic escapes");
	same("s = \"\\u00e9\\U0001F600\\u0041\"\n", "{\"s\":\"\xc3\xa9\xf0\x9f\x98\x80" "A\"}", "\\u and \\U escapes");
	same("s = 'C:\\Users\\nodejs'\n", "{\"s\":\"C:\\\\Users\\\\nodejs\"}", "literal string keeps backslashes");
	same("s = \"\"\"\nRoses\nViolets\"\"\"\n", "{\"s\":\"Roses\\nViolets\"}", "multi-line: first newline trimmed");
	same("s = \"\"\"\nThe quick \\\n\n   brown \\\n   fox.\"\"\"\n", "{\"s\":\"The quick brown fox.\"}",
	     "line-ending backslash");
	same("s = \"\"\"a \\   \n  b\"\"\"\n", "{\"s\":\"a b\"}", "line-ending backslash with trailing spaces");
	same("s = \"\"\"Here are two quotation marks: \"\". Simple.\"\"\"\n",
	     "{\"s\":\"Here are two quotation marks: \\\"\\\". Simple.\"}", "quotes inside multi-line");
	same("s = \"\"\"x\"\"\"\"\"\n", "{\"s\":\"x\\\"\\\"\"}", "two quotes before the closing delimiter");
	same("s = '''\nline1\n  line2 \\n'''\n", "{\"s\":\"line1\\n  line2 \\\\n\"}", "multi-line literal");
	same("s = ''''That,' she said'''' \n", "{\"s\":\"'That,' she said'\"}", "quotes in multi-line literal");
	same("s = \"\"\"a\r\nb\"\"\"\n", "{\"s\":\"a\\nb\"}", "CRLF in multi-line becomes LF");
	o = parse("s = \"a\\u0000b\"\n", &err);
	is_int(o ? json_object_get_string_len(json_object_object_get(o, "s")) : -1, 3, "a NUL escape is kept (length 3)");
	json_object_put(o);
	bad("s = \"\\x41\"\n", "invalid escape", "\\x is not TOML 1.0");
	bad("s = \"\\e\"\n", "invalid escape", "\\e is not TOML 1.0");
	bad("s = \"\\uD800\"\n", "not a Unicode scalar value", "surrogate escape");
	bad("s = \"\\U00110000\"\n", "not a Unicode scalar value", "escape past U+10FFFF");
	bad("s = \"\\u12\"\n", "hex digits", "short \\u escape");
	bad("s = \"abc\n", "newline in a one-line string", "newline in a basic string");
	bad("s = 'abc\n", "newline in a one-line literal", "newline in a literal string");
	bad("s = \"abc", "unterminated string", "unterminated string");
	bad("s = \"\"\"abc\"\"\n", "unterminated string", "unterminated multi-line string");
	bad("s = \"a\x01" "b\"\n", "control character U+0001", "raw control character");
	bad("s = 'a\x7f'\n", "control character U+007F", "DEL in a literal string");
	bad("s = \"\xff\"\n", "invalid UTF-8", "invalid UTF-8");
	bad("s = \"\xed\xa0\x80\"\n", "invalid UTF-8", "UTF-8 encoded surrogate");
	bad("s = \"\xc0\xaf\"\n", "invalid UTF-8", "overlong UTF-8");
	bad("s = \"\"\"x\"\"\"\"\"\"\n", "too many quotes", "six quotes at the end");
	bad("s = \"\"\"a \\ b\"\"\"\n", "only whitespace may follow", "backslash before text");
	bad("# comment \x01\n", "control character U+0001 in a comment", "control character in a comment");
	bad("a = 1\rb = 2\n", "expected a newline", "bare carriage return");
}

static void test_numbers(void)
{
	struct sk_error err = { 0 };
	json_object *o;

	same("a = +99\nb = 42\nc = 0\nd = -17\ne = 1_000\nf = 5_349_221\ng = -0\nh = +0\n",
	     "{\"a\":99,\"b\":42,\"c\":0,\"d\":-17,\"e\":1000,\"f\":5349221,\"g\":0,\"h\":0}", "decimal integers");
	same("a = 0xDEADBEEF\nb = 0xdead_beef\nc = 0o755\nd = 0b11010110\ne = 0x0\n",
	     "{\"a\":3735928559,\"b\":3735928559,\"c\":493,\"d\":214,\"e\":0}", "hex, octal, binary");
	same("a = 9223372036854775807\nb = -9223372036854775808\nc = 0x7fffffffffffffff\n",
	     "{\"a\":9223372036854775807,\"b\":-9223372036854775808,\"c\":9223372036854775807}", "int64 limits");
	same("a = 3.14\nb = -0.01\nc = 5e+22\nd = 1e06\ne = -2E-2\nf = 224_617.445_991\ng = 0.0\nh = 1e0_1\n",
	     "{\"a\":3.14,\"b\":-0.01,\"c\":5e22,\"d\":1e6,\"e\":-0.02,\"f\":224617.445991,\"g\":0.0,\"h\":1e1}", "floats");
	o = parse("a = inf\nb = -inf\nc = nan\nd = +nan\ne = +inf\n", &err);
	ok(o && isinf(json_object_get_double(json_object_object_get(o, "a"))) &&
	       json_object_get_double(json_object_object_get(o, "b")) < 0 &&
	       isnan(json_object_get_double(json_object_object_get(o, "c"))) &&
	       isnan(json_object_get_double(json_object_object_get(o, "d"))) &&
	       isinf(json_object_get_double(json_object_object_get(o, "e"))),
	   "inf and nan with signs");
	ok(o && json_object_is_type(json_object_object_get(o, "a"), json_type_double), "inf is a double");
	json_object_put(o);
	same("t = true\nf = false\n", "{\"t\":true,\"f\":false}", "booleans");
	bad("a = 9223372036854775808\n", "does not fit in 64 bits", "integer overflow");
	bad("a = -9223372036854775809\n", "does not fit in 64 bits", "negative overflow");
	bad("a = 0x8000000000000000\n", "does not fit in 64 bits", "hex overflow");
	bad("a = 01\n", "leading zero", "leading zero");
	bad("a = +01\n", "leading zero", "signed leading zero");
	bad("a = 1__0\n", "invalid value", "double underscore");
	bad("a = _1\n", "invalid value", "leading underscore");
	bad("a = 1_\n", "invalid value", "trailing underscore");
	bad("a = 0X1F\n", "invalid value", "uppercase hex prefix");
	bad("a = -0x1\n", "invalid value", "signed hex");
	bad("a = 0b102\n", "invalid value", "bad binary digit");
	bad("a = 1.\n", "invalid value", "float without fraction digits");
	bad("a = .5\n", "invalid value", "float without integer part");
	bad("a = 1e\n", "invalid value", "float without exponent digits");
	bad("a = 1.e5\n", "invalid value", "float with empty fraction before exponent");
	bad("a = 01.5\n", "invalid value", "float with leading zero");
	bad("a = 1.5_\n", "invalid value", "float with trailing underscore");
	bad("a = infinity\n", "invalid value", "infinity is not inf");
	bad("a = truex\n", "invalid value", "a word that is not a boolean");
	bad("a = TRUE\n", "invalid value", "booleans are lowercase");
	bad("a = 1e400\n", "out of range", "float overflow");
}

static void test_datetimes(void)
{
	same("a = 1979-05-27T07:32:00Z\nb = 1979-05-27T00:32:00-07:00\nc = 1979-05-27T00:32:00.999999+07:00\n"
	     "d = 1979-05-27 07:32:00Z\ne = 1979-05-27T07:32:00\nf = 1979-05-27\ng = 07:32:00\nh = 00:32:00.999999\n"
	     "i = 2000-02-29\nj = 1979-05-27t07:32:00z\n",
	     "{\"a\":\"1979-05-27T07:32:00Z\",\"b\":\"1979-05-27T00:32:00-07:00\",\"c\":\"1979-05-27T00:32:00.999999+07:00\","
	     "\"d\":\"1979-05-27 07:32:00Z\",\"e\":\"1979-05-27T07:32:00\",\"f\":\"1979-05-27\",\"g\":\"07:32:00\","
	     "\"h\":\"00:32:00.999999\",\"i\":\"2000-02-29\",\"j\":\"1979-05-27t07:32:00z\"}",
	     "date-times, dates and times become strings");
	bad("a = 1979-13-01\n", "invalid date", "month 13");
	bad("a = 1979-02-30\n", "invalid date", "February 30");
	bad("a = 1900-02-29\n", "invalid date", "not a leap year");
	bad("a = 1979-05-27T25:00:00\n", "invalid date", "hour 25");
	bad("a = 1979-05-27T07:32\n", "invalid date", "time without seconds");
	bad("a = 07:32:00Z\n", "invalid date", "local time with offset");
	bad("a = 1979-05-27T07:32:00+7:00\n", "invalid date", "short offset");
	bad("a = 1979-5-27\n", "invalid value", "short month");
}

static void test_arrays(void)
{
	same("a = [ 1, 2, 3 ]\nb = [ \"red\", 'yellow', \"\"\"green\"\"\" ]\nc = [ [ 1, 2 ], [3, 4, 5] ]\n"
	     "d = [ 0.1, \"x\", { k = 1 }, [] ]\ne = []\n",
	     "{\"a\":[1,2,3],\"b\":[\"red\",\"yellow\",\"green\"],\"c\":[[1,2],[3,4,5]],\"d\":[0.1,\"x\",{\"k\":1},[]],"
	     "\"e\":[]}",
	     "arrays, nested and of mixed types");
	same("a = [\n  1, # one\n  2,\n  # alone\n  3,\n]\n", "{\"a\":[1,2,3]}", "multi-line array with comments and a trailing comma");
	bad("a = [1 2]\n", "expected ',' or ']'", "missing comma");
	bad("a = [1,,2]\n", "expected a value", "double comma");
	bad("a = [1,\n", "expected a value", "unterminated array");
}

static void test_inline_tables(void)
{
	same("name = { first = \"Tom\", last = \"Preston-Werner\" }\npoint = { x = 1, y = 2 }\nanimal = { type.name = \"pug\" }\n"
	     "e = {}\nn = { a = { b = [ { c = 1 } ] } }\n",
	     "{\"name\":{\"first\":\"Tom\",\"last\":\"Preston-Werner\"},\"point\":{\"x\":1,\"y\":2},\"animal\":{\"type\":{\"name\":\"pug\"}},"
	     "\"e\":{},\"n\":{\"a\":{\"b\":[{\"c\":1}]}}}",
	     "inline tables");
	bad("a = { x = 1,\n y = 2 }\n", "one line", "newline inside an inline table");
	bad("a = { x = 1, }\n", "trailing comma", "trailing comma in an inline table");
	bad("a = { x = 1, x = 2 }\n", "duplicate key \"x\"", "duplicate key inside an inline table");
	bad("a = { x = 1 }\n[a]\n", "defined twice", "[table] over an inline table");
	bad("a = { x = 1 }\na.y = 2\n", "dotted key cannot add", "dotted key into an inline table");
	bad("a = { x = 1 }\n[a.b]\n", "already defined as a value", "sub-table of an inline table");
	bad("a = { b = { c = 1 }, b.d = 2 }\n", "dotted key cannot add", "dotted key into a nested inline table");
}

static void test_tables(void)
{
	same("[table-1]\nkey1 = \"some string\"\nkey2 = 123\n\n[table-2]\nkey1 = \"another string\"\n",
	     "{\"table-1\":{\"key1\":\"some string\",\"key2\":123},\"table-2\":{\"key1\":\"another string\"}}", "tables");
	same("[dog.\"tater.man\"]\ntype.name = \"pug\"\n[ j . \"ʞ\" . 'l' ]\n",
	     "{\"dog\":{\"tater.man\":{\"type\":{\"name\":\"pug\"}}},\"j\":{\"ʞ\":{\"l\":{}}}}", "quoted and spaced header keys");
	same("[x.y.z.w]\n[x]\na = 1\n", "{\"x\":{\"y\":{\"z\":{\"w\":{}}},\"a\":1}}", "a super-table defined after its child");
	same("[fruit]\napple.color = \"red\"\napple.taste.sweet = true\n[fruit.apple.texture]\nsmooth = true\n",
	     "{\"fruit\":{\"apple\":{\"color\":\"red\",\"taste\":{\"sweet\":true},\"texture\":{\"smooth\":true}}}}",
	     "a header may add a sub-table to a dotted table");
	same("[[products]]\nname = \"Hammer\"\n[[products]]\n[[products]]\nname = \"Nail\"\n",
	     "{\"products\":[{\"name\":\"Hammer\"},{},{\"name\":\"Nail\"}]}", "array of tables");
	same("[[fruits]]\nname = \"apple\"\n[fruits.physical]\ncolor = \"red\"\n[[fruits.varieties]]\nname = \"red delicious\"\n"
	     "[[fruits.varieties]]\nname = \"granny smith\"\n[[fruits]]\nname = \"banana\"\n[[fruits.varieties]]\nname = \"plantain\"\n",
	     "{\"fruits\":[{\"name\":\"apple\",\"physical\":{\"color\":\"red\"},\"varieties\":[{\"name\":\"red delicious\"},"
	     "{\"name\":\"granny smith\"}]},{\"name\":\"banana\",\"varieties\":[{\"name\":\"plantain\"}]}]}",
	     "nested arrays of tables and sub-tables");
	same("a = 1\n[b]\nc = 2\n", "{\"a\":1,\"b\":{\"c\":2}}", "root keys then a table");
	bad("[a]\nb = 1\n[a]\nc = 2\n", "table \"a\" is defined twice", "table defined twice");
	bad("[a]\nb = 1\n[a.b]\n", "table \"b\" is defined twice", "table header over a value");
	bad("a.b = 1\n[a]\n", "defined twice", "header over a dotted table");
	bad("[fruit]\napple.color = \"red\"\n[fruit.apple]\n", "defined twice", "spec example: header over dotted table");
	bad("[a.b]\nc = 1\n[a]\nb.d = 2\n", "dotted key cannot add", "dotted key into a header-defined table");
	bad("a = []\n[[a]]\n", "not an array of tables", "[[a]] over a static array");
	bad("[[a]]\n[a]\n", "defined twice", "[a] over an array of tables");
	bad("[a]\n[[a]]\n", "not an array of tables", "[[a]] over a table");
	bad("a = [{ b = 1 }]\n[a.c]\n", "already defined as a value", "header into a static array of tables");
	bad("[[a]]\n[a.b]\n[a.b]\n", "defined twice", "sub-table of an array element defined twice");
	bad("[a\n", "expected ']'", "unclosed header");
	bad("[[a]\n", "expected ']]'", "unclosed array-of-tables header");
	bad("[[a] ]\n", "expected ']]'", "space inside ]]");
	bad("[]\n", "expected a key", "empty header");
	bad("[a] b = 1\n", "expected a newline", "key after a header on the same line");
}

static void test_positions_and_bounds(void)
{
	struct sk_error err = { 0 };
	json_object *o;
	char *big, *deep;

	o = parse("a = 1\nbb = @\n", &err);
	is_str(err.message, "t.toml:2:6: expected a value", "message is NAME:LINE:COL: problem");
	json_object_put(o);
	o = parse("a = 1\n\n  [x]\n  [x]\n", &err);
	ok(o == NULL && strstr(err.message, "t.toml:4:6:"), "line and column after the header (%s)", err.message);

	big = malloc(TOML_MAX_INPUT + 2);
	memset(big, '#', TOML_MAX_INPUT + 1);
	big[TOML_MAX_INPUT + 1] = '\0';
	o = parse(big, &err);
	ok(o == NULL && err.code == -E2BIG, "input past 1 MiB is -E2BIG (%s)", err.message);
	big[TOML_MAX_INPUT] = '\0';
	o = parse(big, &err);
	ok(o != NULL, "exactly 1 MiB of comment is fine");
	json_object_put(o);
	free(big);

	deep = malloc(4 + 2 * 66 + 2);
	memcpy(deep, "a = ", 4);
	memset(deep + 4, '[', 64);
	memset(deep + 68, ']', 64);
	memcpy(deep + 132, "\n", 2);
	o = parse(deep, &err);
	ok(o != NULL, "arrays nested 64 deep parse (%s)", err.message);
	json_object_put(o);
	memset(deep + 4, '[', 65);
	memset(deep + 69, ']', 65);
	memcpy(deep + 134, "\n", 2);
	o = parse(deep, &err);
	ok(o == NULL && strstr(err.message, "nested deeper than 64"), "arrays nested 65 deep are refused (%s)", err.message);
	free(deep);

	o = NULL;
	ok(sk_toml_parse("a = 1", 3, "n", &o, &err) < 0, "len bounds the input (\"a =\" is incomplete)");
	ok(sk_toml_parse("a = 1\nzzz", 5, "n", &o, &err) == 0 && o, "bytes past len are ignored");
	json_object_put(o);
	o = NULL;
	ok(sk_toml_parse("a = \"x\0y\"", 9, "n", &o, &err) < 0 && strstr(err.message, "U+0000"), "a raw NUL is refused");
}

int main(void)
{
	test_keys();
	test_strings();
	test_numbers();
	test_datetimes();
	test_arrays();
	test_inline_tables();
	test_tables();
	test_positions_and_bounds();
	return tap_done();
}
