/* Structured logs for the programs: one line per record on stderr, logfmt
 * (time=... level=... msg="..." key=value ...). Library code never logs; it
 * returns errors that programs log. Safe to call from several threads. */
#ifndef SPINKUBE_LOG_H
#define SPINKUBE_LOG_H

/* Longest record written; longer ones are cut (still one line). */
#define LOG_LINE_MAX 8192

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* msg is a plain sentence; fmt/... add " key=value" pairs, already formatted
 * by the caller (use log_quote for values with spaces). */
void log_at(enum log_level level, const char *msg, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_info(msg, ...) log_at(LOG_INFO, msg, __VA_ARGS__)
#define log_warn(msg, ...) log_at(LOG_WARN, msg, __VA_ARGS__)
#define log_error(msg, ...) log_at(LOG_ERROR, msg, __VA_ARGS__)

/* Quote s for a logfmt value into buf: '"' and '\\' get a backslash,
 * control characters are escaped as sk_escape() says (common/escape.h).
 * Returns buf. */
const char *log_quote(const char *s, char *buf, unsigned size);

#endif
