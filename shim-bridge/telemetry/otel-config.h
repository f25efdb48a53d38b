/* The OTEL_* environment, read the way OpenTelemetry SDKs read it, for the
 * parts the runtime exports (traces, metrics and logs over OTLP/HTTP):
 *
 *   OTEL_SDK_DISABLED=true                  everything off
 *   OTEL_EXPORTER_OTLP_ENDPOINT             base URL; /v1/traces, /v1/metrics
 *                                           and /v1/logs are added to it
 *   OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_ENDPOINT   one signal's URL, as is
 *   OTEL_EXPORTER_OTLP[_<SIGNAL>]_PROTOCOL  http/protobuf (default), http/json
 *   OTEL_EXPORTER_OTLP[_<SIGNAL>]_HEADERS   k=v,k2=v2 (values percent-decoded)
 *   OTEL_EXPORTER_OTLP[_<SIGNAL>]_TIMEOUT   milliseconds per export (10000)
 *   OTEL_{TRACES,METRICS,LOGS}_EXPORTER     "otlp" (default) or "none"
 *   OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES (k=v,...)
 *   OTEL_TRACES_SAMPLER (+ _ARG)            always_on, always_off, traceidratio,
 *                                           parentbased_* (default parentbased_always_on)
 *   OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
 *   OTEL_BLRP_* the same for logs, OTEL_METRIC_EXPORT_INTERVAL
 *
 * A signal is exported when it has an endpoint and its exporter is not
 * "none". A value that cannot be used (grpc, a URL that is not http(s), a
 * number out of range) is reported as one warning line through the sink and
 * the default is used, or that signal is left off, as the OpenTelemetry
 * specification says of invalid settings: telemetry never stops the app. */
#ifndef SPIN_BRIDGE_TELEMETRY_OTEL_CONFIG_H
#define SPIN_BRIDGE_TELEMETRY_OTEL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "common/log.h"

#define TEL_URL_MAX     2048
#define TEL_HEADERS_MAX 8
#define TEL_HEADER_MAX  512  /* "Name: value" */
#define TEL_ATTRS_MAX   16
#define TEL_ATTR_MAX    256  /* key or value */

enum tel_signal { TEL_TRACES, TEL_METRICS, TEL_LOGS, TEL_SIGNALS };
enum tel_sampler { TEL_SAMPLE_ALWAYS_ON, TEL_SAMPLE_ALWAYS_OFF, TEL_SAMPLE_RATIO };

struct tel_signal_config {
	bool on;
	bool json;             /* http/json, else http/protobuf */
	char url[TEL_URL_MAX];
	unsigned timeout_ms;
	size_t n_headers;
	char headers[TEL_HEADERS_MAX][TEL_HEADER_MAX]; /* "Name: value", for libcurl */
	/* batching (traces and logs) */
	unsigned delay_ms, max_queue, max_batch;
};

struct tel_attr {
	char key[TEL_ATTR_MAX];
	char value[TEL_ATTR_MAX];
};

struct tel_config {
	struct tel_signal_config sig[TEL_SIGNALS];
	unsigned metric_interval_ms;
	enum tel_sampler sampler;
	bool parent_based;
	double ratio;
	size_t n_resource;
	struct tel_attr resource[TEL_ATTRS_MAX]; /* service.name first */
};

/* Read envp (NULL-terminated "NAME=value" strings). default_service is the
 * service.name when neither OTEL_SERVICE_NAME nor OTEL_RESOURCE_ATTRIBUTES
 * names one (the app's name). Warnings go to warn (may be NULL). Never
 * fails: what cannot be used is off. */
void tel_config_read(const char *const *envp, const char *default_service, const struct sk_log_sink *warn,
		     struct tel_config *out);

/* Is any signal on? */
bool tel_config_any(const struct tel_config *c);

const char *tel_signal_name(enum tel_signal s);

#endif
