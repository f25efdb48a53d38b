/* The project's one error convention.
 *
 * A function that can fail returns int: 0 on success, a negative errno on
 * failure. Where a message helps the caller, it also takes an optional
 * `struct sk_error *` and fills it through sk_err(), so that each failure
 * site is one line:
 *
 *     return sk_err(err, -EINVAL, "kubeconfig %s: user \"%s\": token is empty", path, user);
 *
 * Values from outside are quoted with plain "%s": sk_err() escapes the
 * control characters they may hold (common/escape.h), so a message is always
 * one line. A message names the thing and the fix. API failures also carry the HTTP
 * status and the decoded metav1.Status reason. The struct is plain data owned
 * by the caller; nothing in it needs freeing. */
#ifndef SPINKUBE_ERR_H
#define SPINKUBE_ERR_H

#include <stdarg.h>
#include <stddef.h>

#define SK_ERR_MESSAGE_MAX 512
#define SK_ERR_REASON_MAX 64

struct sk_error {
	int code;       /* negative errno, 0 when no error was recorded */
	long http_status; /* HTTP status of a failed API call, else 0 */
	char reason[SK_ERR_REASON_MAX];   /* metav1.Status reason, else "" */
	char message[SK_ERR_MESSAGE_MAX]; /* one line, no trailing newline */
};

/* Record an error in *err (when err is not NULL) and return code, which must
 * be negative. The message is truncated to fit; it never fails. */
int sk_err(struct sk_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Format like vsnprintf into dst (size bytes; at most SK_ERR_MESSAGE_MAX - 1
 * characters before escaping), then escape it as sk_err() does: for one-line
 * texts that are not errors (warnings). Returns the length written. */
size_t sk_vformat_line(char *dst, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* Prefix the message already in *err with "<prefix>: ". Returns err->code. */
int sk_err_prefix(struct sk_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Reset *err to "no error". */
void sk_err_clear(struct sk_error *err);

#endif
