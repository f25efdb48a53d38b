/* Structured logs for the programs: one line per record on stderr, logfmt
 * (time=... level=... msg="..." key=value ...). Safe to call from several
 * threads.
 *
 * Library code never calls log_at: it returns errors, and what is not an
 * error (a guest's output line, a denied outbound request, a retry) it
 * reports through a struct sk_log_sink the program supplies. A program
 * that wants those records on stderr passes sk_log_sink_stderr(). */
#ifndef SPINKUBE_LOG_H
#define SPINKUBE_LOG_H

/* Longest record written; longer ones are cut (still one line). */
#define LOG_LINE_MAX 8192

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* The level's name as logfmt writes it ("debug" ... "error"). */
const char *log_level_name(enum log_level level);

/* msg is a plain sentence; fmt/... add " key=value" pairs, already formatted
 * by the caller (use log_quote for values with spaces). */
void log_at(enum log_level level, const char *msg, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same record on descriptor fd (a container's log pipe). */
void log_at_fd(int fd, enum log_level level, const char *msg, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define log_info(msg, ...) log_at(LOG_INFO, msg, __VA_ARGS__)
#define log_warn(msg, ...) log_at(LOG_WARN, msg, __VA_ARGS__)
#define log_error(msg, ...) log_at(LOG_ERROR, msg, __VA_ARGS__)

/* Quote s for a logfmt value into buf: '"' and '\\' get a backslash,
 * control characters are escaped as sk_escape() says (common/escape.h).
 * Returns buf. */
const char *log_quote(const char *s, char *buf, unsigned size);

/* Where library code reports a record: fn gets the level, the message (a
 * plain sentence) and the " key=value" pairs already formatted (values
 * quoted with log_quote), and ud. A NULL sink or fn drops the record. The
 * sink may be called from several threads at once. */
struct sk_log_sink {
	void (*fn)(void *ud, enum log_level level, const char *msg, const char *fields);
	void *ud;
};

/* Format fmt/... (the key=value pairs) into a bounded buffer and hand the
 * record to sink; nothing is formatted when the sink drops it. */
void sk_report(const struct sk_log_sink *sink, enum log_level level, const char *msg, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The sink that writes records with log_at (for programs). */
const struct sk_log_sink *sk_log_sink_stderr(void);

#endif
