/* The top level of a TOML text, as far as the node installer's edits need
 * it (see scan.h). */
#include <stdbool.h>
#include <string.h>

#include "node-installer/scan.h"

/* Index just past the string that starts at t[i] (a quote). */
static size_t skip_string(const char *t, size_t len, size_t i)
{
	char q = t[i];
	bool multi = i + 2 < len && t[i + 1] == q && t[i + 2] == q;

	i += multi ? 3 : 1;
	while (i < len) {
		if (q == '"' && t[i] == '\\') {
			i += 2;
			continue;
		}
		if (t[i] == q) {
			if (!multi)
				return i + 1;
			if (i + 2 < len && t[i + 1] == q && t[i + 2] == q) {
				i += 3;
				/* """"" : up to two more quotes belong to the content. */
				for (int extra = 0; extra < 2 && i < len && t[i] == q; extra++)
					i++;
				return i;
			}
		}
		i++;
	}
	return len;
}

static size_t skip_to_eol(const char *t, size_t len, size_t i)
{
	while (i < len && t[i] != '\n')
		i++;
	return i;
}

/* Index just past the value that starts at t[i]. */
static size_t skip_value(const char *t, size_t len, size_t i)
{
	if (i < len && (t[i] == '"' || t[i] == '\''))
		return skip_string(t, len, i);
	if (i < len && (t[i] == '[' || t[i] == '{')) {
		int depth = 0;
		while (i < len) {
			char c = t[i];
			if (c == '"' || c == '\'') {
				i = skip_string(t, len, i);
				continue;
			}
			if (c == '#') {
				i = skip_to_eol(t, len, i);
				continue;
			}
			if (c == '[' || c == '{')
				depth++;
			else if (c == ']' || c == '}') {
				if (--depth == 0)
					return i + 1;
			}
			i++;
		}
		return len;
	}
	size_t e = i;
	while (e < len && t[e] != '\n' && t[e] != '#' && t[e] != '\r')
		e++;
	while (e > i && (t[e - 1] == ' ' || t[e - 1] == '\t'))
		e--;
	return e;
}

static bool key_is(const char *k, size_t n, const char *want)
{
	size_t w = strlen(want);
	if (n == w && memcmp(k, want, w) == 0)
		return true;
	return n == w + 2 && (k[0] == '"' || k[0] == '\'') && k[n - 1] == k[0] && memcmp(k + 1, want, w) == 0;
}

void ni_scan_toplevel(const char *t, size_t len, struct ni_toplevel *tl)
{
	size_t i = 0;

	*tl = (struct ni_toplevel){.first_header = len};
	while (i < len) {
		size_t line = i;
		while (i < len && (t[i] == ' ' || t[i] == '\t'))
			i++;
		if (i >= len)
			break;
		if (t[i] == '\n' || t[i] == '\r') {
			i++;
			continue;
		}
		if (t[i] == '#') {
			i = skip_to_eol(t, len, i);
			continue;
		}
		if (t[i] == '[') {
			tl->first_header = line;
			return;
		}
		size_t ks = i;
		while (i < len && t[i] != '=') {
			if (t[i] == '"' || t[i] == '\'')
				i = skip_string(t, len, i);
			else
				i++;
		}
		size_t ke = i;
		while (ke > ks && (t[ke - 1] == ' ' || t[ke - 1] == '\t'))
			ke--;
		i++; /* '=' */
		while (i < len && (t[i] == ' ' || t[i] == '\t'))
			i++;
		size_t vs = i, ve = skip_value(t, len, i);
		i = skip_to_eol(t, len, ve);
		if (key_is(t + ks, ke - ks, "imports")) {
			tl->has_imports = true;
			tl->imports_start = vs;
			tl->imports_end = ve;
		} else if (key_is(t + ks, ke - ks, "version")) {
			tl->has_version = true;
			tl->version_next = i < len ? i + 1 : len;
		}
	}
}
