/* UTF-8 validation as RFC 3629 has it, the one rule for every text the
 * project checks (TOML, guest strings, header values, file names): shortest
 * forms only, no surrogates (U+D800..U+DFFF), nothing past U+10FFFF. NUL is
 * valid UTF-8; callers that refuse it say so themselves. */
#ifndef SPINKUBE_COMMON_UTF8_H
#define SPINKUBE_COMMON_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length (1..4) of the valid sequence starting at s[0] of the n bytes at s,
 * or 0 when it is not one (bad lead or continuation byte, overlong form,
 * surrogate, past U+10FFFF, or cut short by n). n must be at least 1. */
size_t sk_utf8_seq(const void *s, size_t n);

/* Offset of the first byte of s[0..n) that does not start a valid sequence,
 * or n when all of it is valid UTF-8. */
size_t sk_utf8_invalid_at(const void *s, size_t n);

/* Is s[0..n) valid UTF-8? */
bool sk_utf8_valid(const void *s, size_t n);

#endif
