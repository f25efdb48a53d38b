/* TOML for every program: a bounded TOML 1.0 parser that produces a json-c
 * tree, and the quoting that writes strings and keys. Hand-written: Debian 12
 * packages no maintained C TOML 1.0 library.
 *
 * Mapping: tables and inline tables -> objects, arrays and arrays of tables
 * -> arrays, strings -> strings (may hold NUL bytes: use
 * json_object_get_string_len), integers -> int64, floats -> double (inf and
 * nan included), booleans -> boolean, offset/local date-times, dates and
 * times -> strings exactly as written (after validation).
 *
 * What is refused, as TOML 1.0 says: duplicate keys, a table defined twice,
 * a [table] header for a table made by dotted keys, dotted keys into a
 * table defined by a header, anything added to an inline table or a static
 * array after it was written, invalid UTF-8, control characters, escapes
 * other than TOML 1.0's, surrogate code points, integers outside int64.
 *
 * Bounds: input of at most TOML_MAX_INPUT bytes; inline tables and arrays
 * nested at most TOML_MAX_DEPTH deep; keys of at most TOML_MAX_DEPTH parts.
 * Strings can never be longer than the input. */
#ifndef SPINKUBE_TOML_H
#define SPINKUBE_TOML_H

#include <json-c/json.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/err.h"

#define TOML_MAX_INPUT (1024 * 1024)
#define TOML_MAX_DEPTH 64

/* Parse data[0..len) (need not be NUL-terminated). name is used in error
 * messages, which read "NAME:LINE:COL: problem" (one line, 1-based line and
 * column, column counted in bytes). On success *out is a new reference to
 * the root object (caller puts); on failure *out is untouched and the return
 * is -EINVAL (bad TOML), -E2BIG (input too large) or -ENOMEM. */
int sk_toml_parse(const char *data, size_t len, const char *name, json_object **out, struct sk_error *err);

/* Append s as a TOML basic string to b: '"' and '\\' escaped, control
 * characters (U+0000..U+001F, U+007F) as \uXXXX, everything else as it is.
 * -EILSEQ when s is not valid UTF-8 (TOML cannot hold it), -E2BIG past the
 * buffer's cap, -ENOMEM. */
int sk_toml_append_string(struct sk_buf *b, const char *s);

/* Append s as a key: as it is when it is a valid bare key (A-Za-z0-9_-),
 * else quoted as sk_toml_append_string does. Same returns. */
int sk_toml_append_key(struct sk_buf *b, const char *s);

/* The same two as new strings in *out (caller frees; untouched on error). */
int sk_toml_quote(const char *s, char **out);
int sk_toml_key(const char *s, char **out);

#endif
