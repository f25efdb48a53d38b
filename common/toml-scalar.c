/* TOML's bare values that are not keys or booleans: the four date/time
 * forms, integers (decimal, 0x, 0o, 0b, with underscores) and floats, read
 * from a token the parser (toml.c) has already cut out. */
#include "common/toml-scalar.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/hex.h"

bool toml_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static int num2(const char *s)
{
	return (s[0] - '0') * 10 + (s[1] - '0');
}

/* YYYY-MM-DD with a real day of that month. */
bool toml_valid_date(const char *s, size_t n)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d;

	if (n < 10 || !toml_digits(s, 4) || s[4] != '-' || !toml_digits(s + 5, 2) || s[7] != '-' ||
	    !toml_digits(s + 8, 2))
		return false;
	y = num2(s) * 100 + num2(s + 2), m = num2(s + 5), d = num2(s + 8);
	if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return false;
	return !(m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
}

/* HH:MM:SS[.frac]; *used gets its length. */
static bool valid_time(const char *s, size_t n, size_t *used)
{
	size_t i = 8;

	if (n < 8 || !toml_digits(s, 2) || s[2] != ':' || !toml_digits(s + 3, 2) || s[5] != ':' ||
	    !toml_digits(s + 6, 2))
		return false;
	if (num2(s) > 23 || num2(s + 3) > 59 || num2(s + 6) > 60)
		return false;
	if (i < n && s[i] == '.') {
		size_t start = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == start)
			return false;
	}
	*used = i;
	return true;
}

/* Z, z or +HH:MM / -HH:MM, and nothing after it. */
static bool valid_offset(const char *s, size_t n)
{
	if (n == 1 && (s[0] == 'Z' || s[0] == 'z'))
		return true;
	return n == 6 && (s[0] == '+' || s[0] == '-') && toml_digits(s + 1, 2) && s[3] == ':' &&
	       toml_digits(s + 4, 2) && num2(s + 1) <= 23 && num2(s + 4) <= 59;
}

/* Any of TOML's four date/time forms. */
bool toml_valid_datetime(const char *s, size_t n)
{
	size_t used;

	if (n >= 10 && s[4] == '-') {
		if (!toml_valid_date(s, n))
			return false;
		if (n == 10)
			return true;
		if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
			return false;
		if (!valid_time(s + 11, n - 11, &used))
			return false;
		return 11 + used == n || valid_offset(s + 11 + used, n - 11 - used);
	}
	return valid_time(s, n, &used) && used == n;
}

static bool is_digit_of(int c, int base)
{
	if (base == 16)
		return sk_hexval(c) >= 0;
	return c >= '0' && c < '0' + base;
}

/* Digits of base with single underscores between digits; true when s[0..n)
 * is that and not empty. */
static bool digit_run_ok(const char *s, size_t n, int base)
{
	if (n == 0 || !is_digit_of(s[0], base) || !is_digit_of(s[n - 1], base))
		return false;
	for (size_t i = 1; i < n; i++)
		if (s[i] == '_' ? !is_digit_of(s[i + 1], base) : !is_digit_of(s[i], base))
			return false;
	return true;
}

int toml_integer(const char *t, size_t n, int64_t *out)
{
	int base = 10;
	bool neg = false;
	uint64_t v = 0, limit;
	size_t i = 0;

	if (n > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'o' || t[1] == 'b')) {
		base = t[1] == 'x' ? 16 : t[1] == 'o' ? 8 : 2;
		i = 2;
	} else if (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-';
		i = 1;
	}
	if (!digit_run_ok(t + i, n - i, base))
		return -EINVAL;
	if (base == 10 && t[i] == '0' && n - i > 1)
		return -EDOM;
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < n; i++) {
		uint64_t d;
		if (t[i] == '_')
			continue;
		d = (uint64_t)sk_hexval(t[i]);
		if (v > (limit - d) / (uint64_t)base)
			return -ERANGE;
		v = v * (uint64_t)base + d;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

int toml_float(const char *t, size_t n, double *out)
{
	_cleanup_free_ char *clean = NULL;
	size_t i = (t[0] == '+' || t[0] == '-') ? 1 : 0, start, o = 0;
	double v;
	char *end;

	if (n - i == 3 && (memcmp(t + i, "inf", 3) == 0 || memcmp(t + i, "nan", 3) == 0)) {
		v = t[i] == 'i' ? INFINITY : NAN;
		*out = t[0] == '-' ? -v : v;
		return 0;
	}
	start = i;
	while (i < n && t[i] != '.' && t[i] != 'e' && t[i] != 'E')
		i++;
	if (!digit_run_ok(t + start, i - start, 10) || (t[start] == '0' && i - start > 1))
		return -EINVAL;
	if (i < n && t[i] == '.') {
		start = ++i;
		while (i < n && t[i] != 'e' && t[i] != 'E')
			i++;
		if (!digit_run_ok(t + start, i - start, 10))
			return -EINVAL;
	}
	if (i < n) {
		start = ++i;
		if (i < n && (t[i] == '+' || t[i] == '-'))
			start = ++i;
		if (!digit_run_ok(t + start, n - start, 10))
			return -EINVAL;
	}
	if (!(clean = malloc(n + 1)))
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (t[i] != '_')
			clean[o++] = t[i];
	clean[o] = '\0';
	errno = 0;
	v = strtod(clean, &end);
	if (*end || (errno == ERANGE && isinf(v)))
		return -ERANGE;
	*out = v;
	return 0;
}
