/* Making text from outside safe to show on one line.
 *
 * Error messages and log records quote what users and peers send: TOML
 * values, manifest keys, kubeconfig entries, HTTP paths. A raw newline, tab,
 * carriage return or escape sequence in such a value would split a message
 * over several lines or drive the reader's terminal. sk_escape() is the one
 * place that decides how such characters are shown; sk_err() runs every
 * message through it and log_quote() every logged value, so callers quote
 * values with plain "%s". */
#ifndef SPINKUBE_ESCAPE_H
#define SPINKUBE_ESCAPE_H

#include <stddef.h>

/* Copy the len bytes at src into dst (size bytes, size >= 1), escaping what
 * would break one line: \n, \r and \t as those two-character escapes, NUL as
 * \0, other C0 controls and DEL as \xNN, the UTF-8 forms of the C1 controls
 * (U+0080..U+009F, NEL among them) and of U+2028/U+2029 as \uNNNN. With
 * quote set, '"' and '\\' are escaped with a backslash too (a logfmt value).
 * An escape is never cut in half: the copy stops where the next one would not
 * fit. dst is always NUL-terminated; returns the bytes written before it. */
size_t sk_escape(char *dst, size_t size, const char *src, size_t len, int quote);

/* 1 when the NUL-terminated s holds nothing sk_escape() would change (with
 * quote unset): the check the fuzz targets make of every message. */
int sk_is_one_line(const char *s);

#endif
