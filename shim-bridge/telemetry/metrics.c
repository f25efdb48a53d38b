/* The runtime's two metrics, aggregated in memory and encoded as one
 * ExportMetricsServiceRequest with cumulative temporality (see
 * telemetry.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "shim-bridge/telemetry/telemetry-int.h"

/* http.server.request.duration's buckets (seconds), as OpenTelemetry's
 * HTTP semantic conventions advise. */
static const double bounds[TEL_BUCKETS] = { 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
					     0.5,   0.75, 1,     2.5,  5,     7.5, 10 };

void tel_metrics_record(struct tel *t, const char *component, const char *method, const char *route, unsigned status,
			double seconds)
{
	struct tel_series *s = NULL;

	for (size_t i = 0; i < t->n_series; i++) {
		struct tel_series *x = &t->series[i];
		if (x->status == status && strcmp(x->component, component) == 0 && strcmp(x->method, method) == 0 &&
		    strcmp(x->route, route) == 0) {
			s = x;
			break;
		}
	}
	if (!s) {
		if (t->n_series >= TEL_SERIES_MAX) {
			if (!t->series_full_reported)
				sk_report(t->sink, LOG_WARN, "telemetry: too many metric series",
					  "max=%d reason=\"requests of new component/method/route/status sets are not counted\"",
					  TEL_SERIES_MAX);
			t->series_full_reported = true;
			return;
		}
		s = &t->series[t->n_series++];
		memset(s, 0, sizeof(*s));
		(void)snprintf(s->component, sizeof(s->component), "%s", component);
		/* an unknown method is one series, as the conventions say (_OTHER) */
		static const char *const known[] = { "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH" };
		const char *m = "_OTHER";
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strcmp(method, known[i]) == 0)
				m = known[i];
		(void)snprintf(s->method, sizeof(s->method), "%s", m);
		(void)snprintf(s->route, sizeof(s->route), "%s", route);
		s->status = status;
		s->min = seconds;
		s->max = seconds;
	}
	if (!isfinite(seconds) || seconds < 0)
		seconds = 0;
	size_t b = 0;
	while (b < TEL_BUCKETS && seconds > bounds[b])
		b++;
	s->buckets[b]++;
	s->count++;
	s->sum += seconds;
	if (seconds < s->min)
		s->min = seconds;
	if (seconds > s->max)
		s->max = seconds;
}

/* metrics.proto: Metric { name 1, description 2, unit 3, sum 7 { data_points 1,
 * aggregation_temporality 2, is_monotonic 3 }, histogram 9 { data_points 1,
 * aggregation_temporality 2 } }; NumberDataPoint { start 2, time 3, as_int 6,
 * attributes 7 }; HistogramDataPoint { start 2, time 3, count 4, sum 5,
 * bucket_counts 6, explicit_bounds 7, attributes 9, min 11, max 12 } */
int tel_metrics_encode(struct tel *t, uint64_t now_ns, struct sk_buf *out)
{
	struct otw w;

	if (t->n_series == 0)
		return 0;
	static const char *const names[3] = { "resourceMetrics", "scopeMetrics", "metrics" };
	tel_write_open(&w, out, t->cfg.sig[TEL_METRICS].json, &t->cfg, names);

	otw_msg_begin(&w, 0, NULL);
	otw_cstr(&w, 1, "name", "spin.request_count");
	otw_cstr(&w, 2, "description", "Requests served, by component and status");
	otw_cstr(&w, 3, "unit", "{request}");
	otw_msg_begin(&w, 7, "sum");
	otw_array_begin(&w, 1, "dataPoints");
	for (size_t i = 0; i < t->n_series; i++) {
		const struct tel_series *s = &t->series[i];
		otw_msg_begin(&w, 0, NULL);
		otw_array_begin(&w, 7, "attributes");
		otw_kv_str(&w, "trigger_type", "http");
		otw_kv_str(&w, "app_id", t->cfg.resource[0].value);
		otw_kv_str(&w, "component_id", s->component);
		otw_kv_int(&w, "status", s->status);
		otw_kv_str(&w, "http.route", s->route);
		otw_kv_str(&w, "http.request.method", s->method);
		otw_array_end(&w);
		otw_fixed64(&w, 2, "startTimeUnixNano", t->start_ns);
		otw_fixed64(&w, 3, "timeUnixNano", now_ns);
		otw_fixed64(&w, 6, "asInt", s->count);
		otw_msg_end(&w);
	}
	otw_array_end(&w);
	otw_enum(&w, 2, "aggregationTemporality", 2); /* CUMULATIVE */
	otw_bool(&w, 3, "isMonotonic", true);
	otw_msg_end(&w);
	otw_msg_end(&w);

	otw_msg_begin(&w, 0, NULL);
	otw_cstr(&w, 1, "name", "http.server.request.duration");
	otw_cstr(&w, 2, "description", "Duration of HTTP server requests");
	otw_cstr(&w, 3, "unit", "s");
	otw_msg_begin(&w, 9, "histogram");
	otw_array_begin(&w, 1, "dataPoints");
	for (size_t i = 0; i < t->n_series; i++) {
		const struct tel_series *s = &t->series[i];
		otw_msg_begin(&w, 0, NULL);
		otw_array_begin(&w, 9, "attributes");
		otw_kv_str(&w, "http.request.method", s->method);
		otw_kv_str(&w, "http.route", s->route);
		otw_kv_int(&w, "http.response.status_code", s->status);
		otw_kv_str(&w, "component_id", s->component);
		otw_array_end(&w);
		otw_fixed64(&w, 2, "startTimeUnixNano", t->start_ns);
		otw_fixed64(&w, 3, "timeUnixNano", now_ns);
		otw_fixed64(&w, 4, "count", s->count);
		otw_double(&w, 5, "sum", s->sum);
		otw_packed_fixed64(&w, 6, "bucketCounts", s->buckets, TEL_BUCKETS + 1);
		otw_packed_double(&w, 7, "explicitBounds", bounds, TEL_BUCKETS);
		otw_double(&w, 11, "min", s->min);
		otw_double(&w, 12, "max", s->max);
		otw_msg_end(&w);
	}
	otw_array_end(&w);
	otw_enum(&w, 2, "aggregationTemporality", 2);
	otw_msg_end(&w);
	otw_msg_end(&w);
	return tel_write_close(&w);
}
