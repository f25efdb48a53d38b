/* Private to common/toml*.c: TOML's dates, times and numbers. */
#ifndef SPINKUBE_COMMON_TOML_SCALAR_H
#define SPINKUBE_COMMON_TOML_SCALAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Are the n bytes at s all decimal digits? */
bool toml_digits(const char *s, size_t n);

/* YYYY-MM-DD with a real day of that month (leap years included). */
bool toml_valid_date(const char *s, size_t n);

/* Any of TOML's four date/time forms: offset and local date-time, local
 * date, local time. */
bool toml_valid_datetime(const char *s, size_t n);

/* An integer token: 0, -EINVAL (not one), -EDOM (a leading zero) or
 * -ERANGE (past int64). */
int toml_integer(const char *t, size_t n, int64_t *out);

/* A float token ([+-] int [. frac] [e [+-] exp], or [+-] inf / nan):
 * 0, -EINVAL, -ERANGE or -ENOMEM. */
int toml_float(const char *t, size_t n, double *out);

#endif
