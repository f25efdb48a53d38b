/* A minimal TAP producer for the unit tests.
 *
 * Each check prints "ok N - name" or "not ok N - name" with the failing
 * expression and location as a diagnostic; tap_done() prints the plan and
 * returns the process exit status (non-zero when any check failed). */
#ifndef SPINKUBE_TAP_H
#define SPINKUBE_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct tap_state {
	int n;
	int failed;
};
static struct tap_state tap_ = { 0, 0 };

__attribute__((format(printf, 4, 5))) static inline int tap_check(int ok, const char *file, int line,
								    const char *fmt, ...)
{
	va_list ap;

	tap_.n++;
	printf("%sok %d - ", ok ? "" : "not ", tap_.n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!ok) {
		tap_.failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
	return ok;
}

/* ok(expr, "name", ...) */
#define ok(expr, ...) tap_check(!!(expr), __FILE__, __LINE__, __VA_ARGS__)

/* is_int(got, want, "name", ...) shows both values on failure. */
#define is_int(got, want, ...)                                                        \
	do {                                                                           \
		long long g_ = (long long)(got), w_ = (long long)(want);               \
		if (!tap_check(g_ == w_, __FILE__, __LINE__, __VA_ARGS__))              \
			printf("#   got %lld, want %lld\n", g_, w_);                     \
	} while (0)

/* is_str(got, want, "name", ...) compares strings (NULL allowed). */
#define is_str(got, want, ...)                                                        \
	do {                                                                           \
		const char *g_ = (got), *w_ = (want);                                  \
		int same_ = (g_ && w_) ? strcmp(g_, w_) == 0 : g_ == w_;               \
		if (!tap_check(same_, __FILE__, __LINE__, __VA_ARGS__))                 \
			printf("#   got \"%s\", want \"%s\"\n", g_ ? g_ : "(null)",     \
			       w_ ? w_ : "(null)");                                      \
	} while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_.n);
	return tap_.failed ? 1 : 0;
}

#endif
