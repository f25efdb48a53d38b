/* common/log.c: the sink library code reports through (what reaches it,
 * what is dropped), level names, and log_at's one-line logfmt records on
 * stderr (captured through a pipe). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "tests/tap.h"

struct seen {
	int calls;
	enum log_level level;
	char msg[128], fields[256];
};

static void record(void *ud, enum log_level level, const char *msg, const char *fields)
{
	struct seen *s = ud;

	s->calls++;
	s->level = level;
	snprintf(s->msg, sizeof(s->msg), "%s", msg);
	snprintf(s->fields, sizeof(s->fields), "%s", fields);
}

/* Run log_at (or, with a sink, sk_report through it) with stderr on a pipe
 * and return what it wrote. */
static void capture(char *out, size_t size, const struct sk_log_sink *sink, enum log_level level, const char *msg,
		    const char *value)
{
	int p[2], saved = dup(STDERR_FILENO);
	ssize_t n;

	if (pipe(p) < 0 || saved < 0)
		abort();
	dup2(p[1], STDERR_FILENO);
	if (sink)
		sk_report(sink, level, msg, "key=%s", value);
	else
		log_at(level, msg, "key=%s", value);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(p[1]);
	n = read(p[0], out, size - 1);
	out[n > 0 ? n : 0] = '\0';
	close(p[0]);
}

int main(void)
{
	struct seen s = { 0 };
	struct sk_log_sink sink = { record, &s };
	char line[LOG_LINE_MAX + 64], q[64];

	sk_report(&sink, LOG_WARN, "outbound request denied", "component=%s port=%d", "api", 8080);
	is_int(s.calls, 1, "a sink gets the record");
	is_int((int)s.level, LOG_WARN, "... at its level");
	is_str(s.msg, "outbound request denied", "... with its message");
	is_str(s.fields, "component=api port=8080", "... and the formatted fields");
	sk_report(&sink, LOG_INFO, "no fields", NULL);
	is_str(s.fields, "", "a record without fields gets \"\"");
	sk_report(NULL, LOG_ERROR, "dropped", "x=%d", 1);
	struct sk_log_sink none = { NULL, NULL };
	sk_report(&none, LOG_ERROR, "dropped", "x=%d", 1);
	is_int(s.calls, 2, "a NULL sink, or one without fn, drops the record");

	is_str(log_level_name(LOG_DEBUG), "debug", "level name debug");
	is_str(log_level_name(LOG_INFO), "info", "level name info");
	is_str(log_level_name(LOG_WARN), "warn", "level name warn");
	is_str(log_level_name(LOG_ERROR), "error", "level name error");

	capture(line, sizeof(line), NULL, LOG_INFO, "guest output", log_quote("two\nlines", q, sizeof(q)));
	ok(strstr(line, " level=info msg=\"guest output\" key=\"two\\nlines\"\n") != NULL,
	   "log_at writes one logfmt line with the value escaped: %s", line);
	ok(strchr(line, '\n') == line + strlen(line) - 1, "... and exactly one newline");
	capture(line, sizeof(line), NULL, LOG_WARN, "empty", "");
	ok(strstr(line, "msg=\"empty\" key=\n") != NULL, "an empty value ends the line cleanly: %s", line);

	capture(line, sizeof(line), sk_log_sink_stderr(), LOG_ERROR, "through the sink", "v");
	ok(strstr(line, " level=error msg=\"through the sink\" key=v\n") != NULL,
	   "the stderr sink writes the record as log_at does: %s", line);
	return tap_done();
}
