/* TOML 1.0 -> json-c, written from the TOML 1.0 specification.
 *
 * A recursive-descent parser over the whole input held in memory. Table
 * states that TOML needs for its redefinition rules are kept in json-c's
 * per-object userdata while parsing (a small flag word, no allocation) and
 * cleared before the tree is handed out. */
#include "common/toml.h"

#include <errno.h>
#include <json-c/json_object_iterator.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/hex.h"
#include "common/toml-scalar.h"
#include "common/utf8.h"

/* Table and array states (json-c userdata while parsing). */
enum {
	TF_IMPLICIT = 1, /* made on the way to a [header] */
	TF_EXPLICIT = 2, /* defined by a [header] */
	TF_DOTTED = 4,   /* made by a dotted key */
	TF_SEALED = 8,   /* inline table or static array: closed */
	TF_AOT = 16,     /* array of tables */
};

struct tp {
	const char *s;
	size_t len;
	size_t pos;
	const char *name;
	struct sk_error *err;
	json_object *root;
	json_object *cur; /* table that key/values go to; borrowed from root */
	int depth;
};

struct tkey {
	char *parts[TOML_MAX_DEPTH];
	size_t n;
};

static void tkey_free(struct tkey *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->parts[i]);
	k->n = 0;
}

static void jputp(json_object **o)
{
	if (*o)
		json_object_put(*o);
}
#define _cleanup_jo_ _cleanup_(jputp)

static int tflags(json_object *o)
{
	return (int)(uintptr_t)json_object_get_userdata(o);
}

static void tset(json_object *o, int f)
{
	json_object_set_userdata(o, (void *)(uintptr_t)f, NULL);
}

/* An error at the current position: "NAME:LINE:COL: problem". */
__attribute__((format(printf, 2, 3))) static int perr(struct tp *p, const char *fmt, ...)
{
	char msg[320];
	size_t line = 1, col = 1;
	va_list ap;

	for (size_t i = 0; i < p->pos && i < p->len; i++) {
		if (p->s[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sk_err(p->err, -EINVAL, "%s:%zu:%zu: %s", p->name, line, col, msg);
}

static int nomem(struct tp *p)
{
	return sk_err(p->err, -ENOMEM, "%s: out of memory", p->name);
}

/* A key made safe for a one-line message: printable ASCII only, cut at 48
 * bytes. out must hold 64 bytes. */
static const char *showkey(const char *key, char out[64])
{
	size_t o = 0;

	for (size_t i = 0; key[i] && o < 60; i++) {
		unsigned char c = (unsigned char)key[i];
		if (o == 48) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	out[o] = '\0';
	return out;
}

static int peek(const struct tp *p)
{
	return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static int peek_at(const struct tp *p, size_t off)
{
	return p->pos + off < p->len ? (unsigned char)p->s[p->pos + off] : -1;
}

static bool at_str(const struct tp *p, const char *lit)
{
	size_t n = strlen(lit);
	return p->len - p->pos >= n && memcmp(p->s + p->pos, lit, n) == 0;
}

static void skip_ws(struct tp *p)
{
	while (peek(p) == ' ' || peek(p) == '\t')
		p->pos++;
}

/* Consume one newline ("\n" or "\r\n"); false when there is none here. */
static bool eat_newline(struct tp *p)
{
	if (peek(p) == '\n') {
		p->pos++;
		return true;
	}
	if (peek(p) == '\r' && peek_at(p, 1) == '\n') {
		p->pos += 2;
		return true;
	}
	return false;
}

static bool is_control(int c)
{
	return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7f;
}

/* Skip a comment when one starts here, up to (not including) its newline. */
static int skip_comment(struct tp *p)
{
	if (peek(p) != '#')
		return 0;
	p->pos++;
	while (p->pos < p->len && peek(p) != '\n') {
		if (peek(p) == '\r' && peek_at(p, 1) == '\n')
			break;
		if (is_control(peek(p)))
			return perr(p, "control character U+%04X in a comment", (unsigned)peek(p));
		p->pos++;
	}
	return 0;
}

/* After a key/value or a header: optional whitespace and comment, then a
 * newline or the end. */
static int expect_eol(struct tp *p)
{
	int r;

	skip_ws(p);
	r = skip_comment(p);
	if (r < 0)
		return r;
	if (p->pos >= p->len || eat_newline(p))
		return 0;
	return perr(p, "expected a newline, found '%c'", peek(p) >= 0x20 && peek(p) < 0x7f ? peek(p) : '?');
}

/* Whitespace, newlines and comments, as allowed between array elements. */
static int skip_ws_nl(struct tp *p)
{
	for (;;) {
		int r;
		skip_ws(p);
		r = skip_comment(p);
		if (r < 0)
			return r;
		if (!eat_newline(p))
			return 0;
	}
}

static int append(struct tp *p, struct sk_buf *b, const void *d, size_t n)
{
	int r = sk_buf_append(b, d, n);
	if (r == -ENOMEM)
		return nomem(p);
	if (r < 0)
		return perr(p, "string longer than the input");
	return 0;
}

/* \uXXXX or \UXXXXXXXX (p->pos on the u/U): append the code point as UTF-8. */
static int unicode_escape(struct tp *p, struct sk_buf *b)
{
	unsigned digits = peek(p) == 'u' ? 4 : 8;
	uint32_t cp = 0;
	unsigned char u[4];
	size_t n;

	p->pos++;
	for (unsigned i = 0; i < digits; i++) {
		int h = sk_hexval(peek(p));
		if (h < 0)
			return perr(p, "\\%c escape needs %u hex digits", digits == 4 ? 'u' : 'U', digits);
		cp = (cp << 4) | (uint32_t)h;
		p->pos++;
	}
	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return perr(p, "escape U+%04X is not a Unicode scalar value", (unsigned)cp);
	if (cp < 0x80) {
		u[0] = (unsigned char)cp, n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | (cp >> 6)), u[1] = (unsigned char)(0x80 | (cp & 0x3f)), n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | (cp >> 12)), u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f)), n = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | (cp >> 18)), u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f)), u[3] = (unsigned char)(0x80 | (cp & 0x3f)), n = 4;
	}
	return append(p, b, u, n);
}

/* One escape sequence in a basic string; p->pos is on the backslash. */
static int escape(struct tp *p, bool multi, struct sk_buf *b)
{
	static const char from[] = "btnfr\"\\", to[] = "\b\t\n\f\r\"\\";
	int e = peek_at(p, 1);
	const char *hit;

	p->pos++;
	if (e == 'u' || e == 'U')
		return unicode_escape(p, b);
	if (e > 0 && (hit = strchr(from, e)) != NULL) {
		p->pos++;
		return append(p, b, &to[hit - from], 1);
	}
	if (multi && (e == ' ' || e == '\t' || e == '\n' || e == '\r')) {
		/* Line-ending backslash: eat whitespace up to and over newlines. */
		skip_ws(p);
		if (!eat_newline(p))
			return perr(p, "only whitespace may follow a line-ending backslash");
		for (;;) {
			skip_ws(p);
			if (!eat_newline(p))
				return 0;
		}
	}
	return perr(p, "invalid escape '\\%c'", e >= 0x20 && e < 0x7f ? e : '?');
}

/* A string body after its opening delimiter q (" or '), into b. Handles the
 * four kinds: basic or literal (escapes only in basic), one-line or
 * multi-line (multi: the delimiter is three q's). */
static int string_body(struct tp *p, char q, bool multi, struct sk_buf *b)
{
	const char *what = q == '"' ? "string" : "literal string";

	if (multi)
		(void)eat_newline(p); /* a newline right after the delimiter is trimmed */
	for (;;) {
		int c = peek(p), r = 0;
		if (c < 0)
			return perr(p, "unterminated %s", what);
		if (c == q && !multi) {
			p->pos++;
			return 0;
		}
		if (c == q) {
			size_t n = 0;
			while (peek_at(p, n) == q && n < 6)
				n++;
			if (n >= 3) {
				if (n > 5)
					return perr(p, "too many quotes at the end of a multi-line %s", what);
				p->pos += n;
				return append(p, b, p->s + p->pos - n, n - 3);
			}
			r = append(p, b, p->s + p->pos, n);
			p->pos += n;
		} else if (c == '\\' && q == '"') {
			r = escape(p, multi, b);
		} else if (c == '\n' || c == '\r') {
			if (!multi)
				return perr(p, "newline in a one-line %s", what);
			if (!eat_newline(p))
				return perr(p, "carriage return without a newline");
			r = append(p, b, "\n", 1);
		} else if (is_control(c)) {
			return perr(p, "control character U+%04X in a %s; write it as an escape", (unsigned)c, what);
		} else {
			r = append(p, b, p->s + p->pos, 1);
			p->pos++;
		}
		if (r < 0)
			return r;
	}
}

/* A string of any kind starting here, into b (NUL-terminated). */
static int parse_string(struct tp *p, struct sk_buf *b, bool allow_multi)
{
	char q = (char)peek(p);
	bool multi = at_str(p, q == '"' ? "\"\"\"" : "'''");

	if (multi && !allow_multi)
		return perr(p, "a key cannot be a multi-line string");
	p->pos += multi ? 3 : 1;
	return string_body(p, q, multi, b);
}

static bool is_bare(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* One part of a key (bare or quoted), as a new string. */
static int parse_simple_key(struct tp *p, char **out)
{
	struct sk_buf b = sk_buf_make(p->len);
	int c = peek(p), r;

	if (c == '"' || c == '\'') {
		r = parse_string(p, &b, false);
		if (r < 0)
			goto fail;
		if (b.data && memchr(b.data, 0, b.len)) {
			r = perr(p, "a key cannot contain a NUL character");
			goto fail;
		}
	} else {
		size_t start = p->pos;
		while (is_bare(peek(p)))
			p->pos++;
		if (p->pos == start)
			return perr(p, "expected a key");
		r = append(p, &b, p->s + start, p->pos - start);
		if (r < 0)
			goto fail;
	}
	*out = sk_buf_steal(&b, NULL);
	return *out ? 0 : nomem(p);
fail:
	sk_buf_free(&b);
	return r;
}

/* A dotted key: simple keys joined by '.', whitespace allowed around dots. */
static int parse_key(struct tp *p, struct tkey *k)
{
	for (;;) {
		int r;
		skip_ws(p);
		if (k->n == TOML_MAX_DEPTH)
			return perr(p, "key has more than %d parts", TOML_MAX_DEPTH);
		r = parse_simple_key(p, &k->parts[k->n]);
		if (r < 0)
			return r;
		k->n++;
		skip_ws(p);
		if (peek(p) != '.')
			return 0;
		p->pos++;
	}
}

static int parse_value(struct tp *p, json_object **out);

/* An integer token, with the message for each way it can be wrong. */
static int parse_integer(struct tp *p, const char *t, size_t n, json_object **out)
{
	int64_t v;
	int r = toml_integer(t, n, &v);
	int w = (int)(n > 40 ? 40 : n);

	if (r == -EDOM)
		return perr(p, "integer '%.*s' has a leading zero", w, t);
	if (r == -ERANGE)
		return perr(p, "integer '%.*s' does not fit in 64 bits", w, t);
	if (r < 0)
		return perr(p, "invalid value '%.*s'", w, t);
	*out = json_object_new_int64(v);
	return *out ? 0 : nomem(p);
}

/* A float token, likewise. */
static int parse_float(struct tp *p, const char *t, size_t n, json_object **out)
{
	double v;
	int r = toml_float(t, n, &v);
	int w = (int)(n > 40 ? 40 : n);

	if (r == -ENOMEM)
		return nomem(p);
	if (r == -ERANGE)
		return perr(p, "float '%.*s' is out of range", w, t);
	if (r < 0)
		return perr(p, "invalid value '%.*s'", w, t);
	*out = json_object_new_double(v);
	return *out ? 0 : nomem(p);
}

static bool is_token(int c)
{
	return is_bare(c) || c == '+' || c == '.' || c == ':';
}

/* A bare value: boolean, number or date/time. */
static int parse_scalar(struct tp *p, json_object **out)
{
	size_t start = p->pos, n;
	const char *t = p->s + start;

	while (is_token(peek(p)))
		p->pos++;
	/* "1979-05-27 07:32:00": a date, a space, then a time. */
	if (p->pos - start == 10 && toml_valid_date(t, 10) && peek(p) == ' ' && peek_at(p, 1) >= '0' &&
	    peek_at(p, 1) <= '9') {
		p->pos++;
		while (is_token(peek(p)))
			p->pos++;
	}
	n = p->pos - start;
	if (n == 0)
		return perr(p, "expected a value");
	if ((n == 4 && memcmp(t, "true", 4) == 0) || (n == 5 && memcmp(t, "false", 5) == 0)) {
		*out = json_object_new_boolean(n == 4);
		return *out ? 0 : nomem(p);
	}
	if ((n >= 10 && toml_digits(t, 4) && t[4] == '-') || (n >= 3 && toml_digits(t, 2) && t[2] == ':')) {
		if (!toml_valid_datetime(t, n))
			return perr(p, "invalid date or time '%.*s'", (int)(n > 40 ? 40 : n), t);
		*out = json_object_new_string_len(t, (int)n);
		return *out ? 0 : nomem(p);
	}
	if (n > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'o' || t[1] == 'b'))
		return parse_integer(p, t, n, out);
	if (memchr(t, '.', n) || memchr(t, 'e', n) || memchr(t, 'E', n) || memchr(t, 'i', n) ||
	    memchr(t, 'n', n))
		return parse_float(p, t, n, out);
	return parse_integer(p, t, n, out);
}

/* [ value, value, ... ] with newlines, comments and a trailing comma. */
static int parse_array(struct tp *p, json_object **out)
{
	_cleanup_jo_ json_object *arr = json_object_new_array();
	int r;

	if (!arr)
		return nomem(p);
	p->pos++;
	for (;;) {
		json_object *v = NULL;
		if ((r = skip_ws_nl(p)) < 0)
			return r;
		if (peek(p) == ']')
			break;
		if ((r = parse_value(p, &v)) < 0)
			return r;
		if (json_object_array_add(arr, v) < 0) {
			json_object_put(v);
			return nomem(p);
		}
		if ((r = skip_ws_nl(p)) < 0)
			return r;
		if (peek(p) == ']')
			break;
		if (peek(p) != ',')
			return perr(p, "expected ',' or ']' in an array");
		p->pos++;
	}
	p->pos++;
	tset(arr, TF_SEALED);
	*out = TAKE_PTR(arr);
	return 0;
}

/* Walk the first k->n - 1 parts of a dotted key from t, creating dotted
 * tables as needed; *last gets the table the final part goes in. */
static int walk_dotted(struct tp *p, json_object *t, const struct tkey *k, json_object **last)
{
	char show[64];

	for (size_t i = 0; i + 1 < k->n; i++) {
		json_object *next;
		if (json_object_object_get_ex(t, k->parts[i], &next)) {
			if (!json_object_is_type(next, json_type_object) || !(tflags(next) & TF_DOTTED) ||
			    (tflags(next) & TF_SEALED))
				return perr(p, "key \"%s\" is already defined; a dotted key cannot add to it",
				            showkey(k->parts[i], show));
		} else {
			next = json_object_new_object();
			if (!next)
				return nomem(p);
			tset(next, TF_DOTTED);
			if (json_object_object_add(t, k->parts[i], next) < 0)
				return nomem(p);
		}
		t = next;
	}
	*last = t;
	return 0;
}

/* key = value, into table t. */
static int parse_keyval(struct tp *p, json_object *t)
{
	_cleanup_(tkey_free) struct tkey k = { .n = 0 };
	_cleanup_jo_ json_object *v = NULL;
	json_object *dest = NULL;
	char show[64];
	size_t at, end;
	int r;

	skip_ws(p);
	at = p->pos; /* errors about the key point at it */
	if ((r = parse_key(p, &k)) < 0)
		return r;
	if (peek(p) != '=')
		return perr(p, "expected '=' after key \"%s\"", showkey(k.parts[k.n - 1], show));
	p->pos++;
	skip_ws(p);
	if ((r = parse_value(p, &v)) < 0)
		return r;
	end = p->pos;
	p->pos = at;
	if ((r = walk_dotted(p, t, &k, &dest)) < 0)
		return r;
	if (json_object_object_get_ex(dest, k.parts[k.n - 1], NULL))
		return perr(p, "duplicate key \"%s\"", showkey(k.parts[k.n - 1], show));
	if (json_object_object_add(dest, k.parts[k.n - 1], v) < 0)
		return nomem(p);
	v = NULL;
	p->pos = end;
	return 0;
}

/* { key = value, ... } on one line, no trailing comma (TOML 1.0). */
static int parse_inline_table(struct tp *p, json_object **out)
{
	_cleanup_jo_ json_object *t = json_object_new_object();
	int r;

	if (!t)
		return nomem(p);
	p->pos++;
	skip_ws(p);
	if (peek(p) != '}') {
		for (;;) {
			if (peek(p) == '\n' || peek(p) == '\r')
				return perr(p, "an inline table must stay on one line");
			if ((r = parse_keyval(p, t)) < 0)
				return r;
			skip_ws(p);
			if (peek(p) == '}')
				break;
			if (peek(p) != ',')
				return perr(p, "expected ',' or '}' in an inline table (it must stay on one line)");
			p->pos++;
			skip_ws(p);
			if (peek(p) == '}')
				return perr(p, "trailing comma in an inline table");
		}
	}
	p->pos++;
	tset(t, TF_SEALED);
	*out = TAKE_PTR(t);
	return 0;
}

static int parse_value(struct tp *p, json_object **out)
{
	int c = peek(p), r;

	if (c == '"' || c == '\'') {
		struct sk_buf b = sk_buf_make(p->len);
		r = parse_string(p, &b, true);
		if (r == 0) {
			*out = json_object_new_string_len(b.data ? b.data : "", (int)b.len);
			r = *out ? 0 : nomem(p);
		}
		sk_buf_free(&b);
		return r;
	}
	if (c != '[' && c != '{')
		return parse_scalar(p, out);
	if (p->depth >= TOML_MAX_DEPTH)
		return perr(p, "arrays and inline tables nested deeper than %d", TOML_MAX_DEPTH);
	p->depth++;
	r = c == '[' ? parse_array(p, out) : parse_inline_table(p, out);
	p->depth--;
	return r;
}

/* Step from t into the table named part on the way to a [header]: the last
 * element of an array of tables, or a table (made implicitly when absent). */
static int header_step(struct tp *p, json_object *t, const char *part, json_object **next)
{
	char show[64];
	json_object *n;

	if (!json_object_object_get_ex(t, part, &n)) {
		n = json_object_new_object();
		if (!n)
			return nomem(p);
		tset(n, TF_IMPLICIT);
		if (json_object_object_add(t, part, n) < 0)
			return nomem(p);
	} else if (json_object_is_type(n, json_type_array) && (tflags(n) & TF_AOT)) {
		n = json_object_array_get_idx(n, json_object_array_length(n) - 1);
	} else if (!json_object_is_type(n, json_type_object) || (tflags(n) & TF_SEALED)) {
		return perr(p, "key \"%s\" is already defined as a value; a table header cannot extend it",
		            showkey(part, show));
	}
	*next = n;
	return 0;
}

/* The final table of [a.b.c]: new, or one only made implicitly so far. */
static int header_table(struct tp *p, json_object *t, const char *part)
{
	char show[64];
	json_object *n;

	if (json_object_object_get_ex(t, part, &n)) {
		if (!json_object_is_type(n, json_type_object) || (tflags(n) & ~TF_IMPLICIT))
			return perr(p, "table \"%s\" is defined twice", showkey(part, show));
		tset(n, TF_EXPLICIT);
	} else {
		n = json_object_new_object();
		if (!n)
			return nomem(p);
		tset(n, TF_EXPLICIT);
		if (json_object_object_add(t, part, n) < 0)
			return nomem(p);
	}
	p->cur = n;
	return 0;
}

/* A new element of [[a.b.c]]. */
static int header_aot(struct tp *p, json_object *t, const char *part)
{
	char show[64];
	json_object *arr, *n;

	if (json_object_object_get_ex(t, part, &arr)) {
		if (!json_object_is_type(arr, json_type_array) || !(tflags(arr) & TF_AOT))
			return perr(p, "\"%s\" is already defined and is not an array of tables",
			            showkey(part, show));
	} else {
		arr = json_object_new_array();
		if (!arr)
			return nomem(p);
		tset(arr, TF_AOT);
		if (json_object_object_add(t, part, arr) < 0)
			return nomem(p);
	}
	n = json_object_new_object();
	if (!n)
		return nomem(p);
	tset(n, TF_EXPLICIT);
	if (json_object_array_add(arr, n) < 0) {
		json_object_put(n);
		return nomem(p);
	}
	p->cur = n;
	return 0;
}

/* [table] or [[array.of.tables]]. */
static int parse_header(struct tp *p)
{
	_cleanup_(tkey_free) struct tkey k = { .n = 0 };
	bool aot = at_str(p, "[[");
	json_object *t = p->root;
	int r;

	p->pos += aot ? 2 : 1;
	if ((r = parse_key(p, &k)) < 0)
		return r;
	if (!at_str(p, aot ? "]]" : "]"))
		return perr(p, "expected '%s' to close the table header", aot ? "]]" : "]");
	p->pos += aot ? 2 : 1;
	for (size_t i = 0; i + 1 < k.n; i++)
		if ((r = header_step(p, t, k.parts[i], &t)) < 0)
			return r;
	return aot ? header_aot(p, t, k.parts[k.n - 1]) : header_table(p, t, k.parts[k.n - 1]);
}

/* Drop the parse-time flags so the tree handed out is plain json-c. */
static void clear_flags(json_object *o)
{
	if (json_object_is_type(o, json_type_object)) {
		json_object_set_userdata(o, NULL, NULL);
		struct json_object_iterator it = json_object_iter_begin(o), end = json_object_iter_end(o);
		for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it))
			clear_flags(json_object_iter_peek_value(&it));
	} else if (json_object_is_type(o, json_type_array)) {
		json_object_set_userdata(o, NULL, NULL);
		for (size_t i = 0; i < json_object_array_length(o); i++)
			clear_flags(json_object_array_get_idx(o, i));
	}
}

static int parse_document(struct tp *p)
{
	while (p->pos < p->len) {
		int c, r;
		skip_ws(p);
		c = peek(p);
		if (c == '[')
			r = parse_header(p);
		else if (c != '#' && c != '\n' && c != '\r' && c >= 0)
			r = parse_keyval(p, p->cur);
		else
			r = 0;
		if (r < 0)
			return r;
		if ((r = expect_eol(p)) < 0)
			return r;
	}
	return 0;
}

int sk_toml_parse(const char *data, size_t len, const char *name, json_object **out, struct sk_error *err)
{
	struct tp p = { .s = data, .len = len, .name = name ? name : "<toml>", .err = err };
	size_t bad;
	int r;

	if (len > TOML_MAX_INPUT)
		return sk_err(err, -E2BIG, "%s: %zu bytes is more than the %d allowed for TOML", p.name, len,
		              TOML_MAX_INPUT);
	if (len > INT32_MAX)
		return sk_err(err, -E2BIG, "%s: too large", p.name);
	bad = sk_utf8_invalid_at((const unsigned char *)data, len);
	if (bad != len) {
		p.pos = bad;
		return perr(&p, "invalid UTF-8");
	}
	p.root = json_object_new_object();
	if (!p.root)
		return nomem(&p);
	p.cur = p.root;
	r = parse_document(&p);
	if (r < 0) {
		json_object_put(p.root);
		return r;
	}
	clear_flags(p.root);
	*out = p.root;
	return 0;
}
