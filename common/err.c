#include "common/err.h"

#include "common/escape.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Messages quote values from outside with plain "%s": whatever control
 * characters those hold are escaped here, so every message is one line. */
size_t sk_vformat_line(char *dst, size_t size, const char *fmt, va_list ap)
{
	char raw[SK_ERR_MESSAGE_MAX];

	if (!size)
		return 0;
	if (vsnprintf(raw, sizeof(raw), fmt, ap) < 0)
		raw[0] = '\0';
	return sk_escape(dst, size, raw, strlen(raw), 0);
}

int sk_err(struct sk_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	sk_err_clear(err);
	err->code = code;
	va_start(ap, fmt);
	(void)sk_vformat_line(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return code;
}

int sk_err_prefix(struct sk_error *err, const char *fmt, ...)
{
	char buf[SK_ERR_MESSAGE_MAX];
	size_t n, room;
	va_list ap;
	int w;

	if (!err)
		return -1;
	va_start(ap, fmt);
	w = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (w < 0)
		return err->code;
	/* buf = prefix ": " old-message, cut at the buffer's end. */
	n = strlen(buf);
	if (n + 2 < sizeof(buf)) {
		memcpy(buf + n, ": ", 2);
		n += 2;
		room = sizeof(buf) - n - 1;
		memcpy(buf + n, err->message, strnlen(err->message, room));
		n += strnlen(err->message, room);
	}
	buf[n] = '\0';
	/* The old message is escaped already, and escaping its output again
	 * changes nothing: only the prefix can bring new control characters. */
	(void)sk_escape(err->message, sizeof(err->message), buf, n, 0);
	return err->code;
}

void sk_err_clear(struct sk_error *err)
{
	if (!err)
		return;
	err->code = 0;
	err->http_status = 0;
	err->reason[0] = '\0';
	err->message[0] = '\0';
}
