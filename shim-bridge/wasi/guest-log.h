/* A guest's stdout or stderr, cut into lines and reported one record per
 * line ("guest output", component=, stream=, line=) through the log sink the
 * program supplies (common/log.h), and as an OpenTelemetry log record when
 * logs are exported (telemetry.h). A line is bounded: one longer than
 * WH_GUEST_LINE_MAX - 1 bytes is reported in pieces. Used by the WASI
 * streams of wasi:http components (base.c) and by the wasmtime WASI of WAGI
 * and inbound-http ones (shim-bridge/runtime/). Plain data: no allocation,
 * one per stream, not shared between threads. */
#ifndef SPINKUBE_WASI_GUEST_LOG_H
#define SPINKUBE_WASI_GUEST_LOG_H

#include <stddef.h>

#include "common/log.h"
#include "shim-bridge/telemetry/telemetry.h"

#define WH_GUEST_LINE_MAX 4096

struct wh_guest_log {
	const struct sk_log_sink *sink; /* borrowed; NULL drops the output */
	const char *component;          /* borrowed, for the record */
	const char *stream;             /* "stdout" or "stderr" */
	struct tel_ctx trace;           /* the span current at init: log records' context */
	size_t len;
	char line[WH_GUEST_LINE_MAX];
};

/* Start an empty line buffer; the strings and the sink must outlive it.
 * The calling thread's current span (telemetry.h) is kept as the context of
 * the lines' log records: wasmtime may write a guest's output from another
 * thread. */
void wh_guest_log_init(struct wh_guest_log *g, const struct sk_log_sink *sink, const char *component,
		       const char *stream);

/* Take n bytes of output: each '\n' ends a record (not reported itself). */
void wh_guest_log_write(struct wh_guest_log *g, const void *buf, size_t n);

/* Report what is left of an unterminated line, if anything. */
void wh_guest_log_flush(struct wh_guest_log *g);

#endif
