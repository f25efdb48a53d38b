#include "common/log.h"

#include "common/escape.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const level_names[] = { "debug", "info", "warn", "error" };

const char *log_level_name(enum log_level level)
{
	return (unsigned)level < sizeof(level_names) / sizeof(level_names[0]) ? level_names[level] : "error";
}

const char *log_quote(const char *s, char *buf, unsigned size)
{
	size_t n;

	if (size < 3) {
		if (size)
			buf[0] = '\0';
		return buf;
	}
	buf[0] = '"';
	n = 1 + sk_escape(buf + 1, size - 2, s ? s : "", s ? strlen(s) : 0, 1);
	buf[n++] = '"';
	buf[n] = '\0';
	return buf;
}

/* The record is formatted into one buffer and written with one write(2), so
 * records from several threads never interleave; an over-long record is cut
 * at LOG_LINE_MAX and still ends with a newline. */
static void vlog_fd(int fd, enum log_level level, const char *msg, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
static void vlog_fd(int fd, enum log_level level, const char *msg, const char *fmt, va_list ap)
{
	char ts[40], q[1024], line[LOG_LINE_MAX];
	struct timespec now;
	struct tm tm;
	int n;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "time=%s.%03ldZ level=%s msg=%s", ts, now.tv_nsec / 1000000,
		     log_level_name(level), log_quote(msg, q, sizeof(q)));
	if (n < 0)
		return;
	if ((size_t)n < sizeof(line) - 2 && fmt && *fmt) {
		line[n++] = ' ';
		int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
		if (m > 0)
			n += m;
		else
			n--; /* nothing after the space */
	}
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (fd == STDERR_FILENO)
		fflush(stderr);
	for (size_t off = 0; off < (size_t)n;) {
		ssize_t w = write(fd, line + off, (size_t)n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
}

void log_at(enum log_level level, const char *msg, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_fd(STDERR_FILENO, level, msg, fmt, ap);
	va_end(ap);
}

void log_at_fd(int fd, enum log_level level, const char *msg, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_fd(fd, level, msg, fmt, ap);
	va_end(ap);
}

void sk_report(const struct sk_log_sink *sink, enum log_level level, const char *msg, const char *fmt, ...)
{
	char fields[LOG_LINE_MAX]; /* a record as long as log_at writes: guest lines are up to 4 KiB quoted */
	va_list ap;

	if (!sink || !sink->fn)
		return;
	fields[0] = '\0';
	if (fmt && *fmt) {
		va_start(ap, fmt);
		(void)vsnprintf(fields, sizeof(fields), fmt, ap);
		va_end(ap);
	}
	sink->fn(sink->ud, level, msg, fields);
}

static void stderr_sink(void *ud, enum log_level level, const char *msg, const char *fields)
{
	(void)ud;
	log_at(level, msg, "%s", fields);
}

const struct sk_log_sink *sk_log_sink_stderr(void)
{
	static const struct sk_log_sink sink = { stderr_sink, NULL };
	return &sink;
}
