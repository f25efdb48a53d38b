/* OpenTelemetry for the runtime: traces, metrics and logs exported over
 * OTLP/HTTP as the OTEL_* environment says (otel-config.h). One per process
 * (spin-bridge, or one app process of containerd-shim-spin-v2).
 *
 * What is recorded:
 *   traces   a server span per request ("GET /route/..."), a child span
 *            "execute_wasm_component <id>" around the guest, and a client
 *            span per outbound HTTP request, which carries the W3C
 *            `traceparent` header on; an incoming `traceparent` is the
 *            server span's parent
 *   metrics  spin.request_count (a counter by component, status) and
 *            http.server.request.duration (a histogram in seconds)
 *   logs     each line a guest writes to stdout or stderr, with the trace
 *            and span of the component run it belongs to
 *
 * Spans and log records are encoded when they end and queued; one exporter
 * thread sends them in batches (OTEL_BSP_*, OTEL_BLRP_*) and the metrics
 * every OTEL_METRIC_EXPORT_INTERVAL. Queues are bounded: when full, new
 * items are dropped and counted. A collector that is down or slow costs the
 * requests nothing: sending happens on the exporter thread only, and its
 * failures are one warning line (and one when it works again). tel_stop
 * sends what is queued, then the metrics, each bounded by its timeout.
 *
 * When telemetry is off (no endpoint) every call below is a no-op that
 * costs a branch. The span functions may be called from any thread; the
 * current span (the parent of new ones, the context of log records) is per
 * thread, which is right because a request runs on one worker thread. */
#ifndef SPIN_BRIDGE_TELEMETRY_TELEMETRY_H
#define SPIN_BRIDGE_TELEMETRY_TELEMETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/log.h"
#include "shim-bridge/telemetry/otel-config.h"

/* A span context: what traceparent carries. Valid when the trace id is not
 * all zeroes. flags bit 0: sampled. */
struct tel_ctx {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t flags;
};

static inline bool tel_ctx_valid(const struct tel_ctx *c)
{
	uint8_t any = 0;
	if (!c)
		return false;
	for (int i = 0; i < 16; i++)
		any |= c->trace_id[i];
	return any != 0;
}

enum tel_kind { TEL_SPAN_INTERNAL = 1, TEL_SPAN_SERVER = 2, TEL_SPAN_CLIENT = 3 };

#define TEL_SPAN_ATTRS_MAX 12
#define TEL_SPAN_TEXT_MAX  1536
#define TEL_SPAN_NAME_MAX  160
#define TEL_TRACEPARENT_LEN 55 /* "00-" 32 "-" 16 "-" 2 */

struct tel_span_attr {
	const char *key; /* a string literal */
	bool is_int;
	int64_t i;
	size_t off; /* of the NUL-terminated value in text */
};

/* Plain data on the caller's stack, begun and ended on one thread. */
struct tel_span {
	bool recording; /* sampled and traces on: it will be exported */
	bool entered;
	struct tel_ctx ctx;
	uint8_t parent_id[8];
	bool has_parent;
	enum tel_kind kind;
	uint64_t start_ns;
	char name[TEL_SPAN_NAME_MAX];
	size_t n_attrs;
	struct tel_span_attr attrs[TEL_SPAN_ATTRS_MAX];
	size_t text_len;
	char text[TEL_SPAN_TEXT_MAX];
	bool error;
	char status[256];
	struct tel_span *outer; /* the thread's current span before this one */
};

/* Start the process's telemetry from cfg (copied). Returns 0 (also when
 * every signal is off: then nothing runs), or -ENOMEM / a pthread error
 * with one line in err. Warnings later go to sink (may be NULL). */
int tel_start(const struct tel_config *cfg, const struct sk_log_sink *sink, struct sk_error *err);
/* Send what is queued and the metrics, then stop. Safe when not started. */
void tel_stop(void);
bool tel_on(enum tel_signal s);

/* Begin a span. parent: an explicit parent (an incoming traceparent), or
 * NULL for the thread's current span (or none: a new trace). */
void tel_span_begin(struct tel_span *s, const char *name, enum tel_kind kind, const struct tel_ctx *parent);
void tel_span_attr_str(struct tel_span *s, const char *key, const char *value);
void tel_span_attr_int(struct tel_span *s, const char *key, int64_t value);
/* Mark the span failed with a one-line description. */
void tel_span_fail(struct tel_span *s, const char *why);
/* Make s the thread's current span, and undo that. */
void tel_span_enter(struct tel_span *s);
void tel_span_leave(struct tel_span *s);
/* End it (leaving it first if entered): encoded and queued when recording. */
void tel_span_end(struct tel_span *s);
/* The thread's current span's context, or NULL. */
const struct tel_ctx *tel_current(void);

/* W3C Trace Context: parse a traceparent value (version 00, or a higher
 * one read as 00 says); -EINVAL when it is not one. Format one into out
 * (TEL_TRACEPARENT_LEN + 1 bytes). */
int tel_traceparent_parse(const char *v, size_t n, struct tel_ctx *out);
void tel_traceparent_format(const struct tel_ctx *c, char *out);

/* A log record: a guest's output line (stream "stdout" or "stderr"), in
 * the span ctx (NULL or not valid: none). */
void tel_log_guest(const struct tel_ctx *ctx, const char *component, const char *stream, const char *line,
		   size_t len);

/* One request served: counts and times it. */
void tel_request_done(const char *component, const char *method, const char *route, unsigned status,
		      double seconds);

#endif
