/* A guest's output, line by line, to the program's log sink (see
 * guest-log.h). */
#include "shim-bridge/wasi/guest-log.h"

#include <string.h>

void wh_guest_log_init(struct wh_guest_log *g, const struct sk_log_sink *sink, const char *component,
		       const char *stream)
{
	g->sink = sink;
	g->component = component ? component : "";
	g->stream = stream;
	g->len = 0;
	const struct tel_ctx *c = tel_current();
	if (c)
		g->trace = *c;
	else
		memset(&g->trace, 0, sizeof(g->trace));
}

void wh_guest_log_flush(struct wh_guest_log *g)
{
	char q[WH_GUEST_LINE_MAX + 64];

	if (g->len == 0)
		return;
	g->line[g->len] = '\0';
	tel_log_guest(&g->trace, g->component, g->stream, g->line, g->len);
	sk_report(g->sink, LOG_INFO, "guest output", "component=%s stream=%s line=%s", g->component, g->stream,
		  log_quote(g->line, q, sizeof(q)));
	g->len = 0;
}

void wh_guest_log_write(struct wh_guest_log *g, const void *buf, size_t n)
{
	const char *p = buf;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			wh_guest_log_flush(g);
			continue;
		}
		if (g->len == sizeof(g->line) - 1)
			wh_guest_log_flush(g);
		g->line[g->len++] = p[i];
	}
}
