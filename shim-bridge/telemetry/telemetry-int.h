/* What telemetry.c, metrics.c and export.c share. */
#ifndef SPIN_BRIDGE_TELEMETRY_INT_H
#define SPIN_BRIDGE_TELEMETRY_INT_H

#include <pthread.h>
#include <stdint.h>

#include "common/buf.h"
#include "shim-bridge/telemetry/otlp-write.h"
#include "shim-bridge/telemetry/telemetry.h"

/* Largest request body sent in one export; items are cut into batches
 * below it. */
#define TEL_BODY_MAX ((size_t)4 << 20)
/* Largest encoded span or log record kept. */
#define TEL_ITEM_MAX ((size_t)32 << 10)

struct tel_item {
	size_t len;
	char data[]; /* one encoded Span or LogRecord message */
};

struct tel_queue {
	struct tel_item **items; /* ring of max_queue */
	size_t head, len;
	uint64_t dropped, dropped_reported;
	uint64_t last_ns; /* of the last export */
};

/* Metric series: one per (component, method, route, status). */
#define TEL_SERIES_MAX 128
#define TEL_BUCKETS    14
struct tel_series {
	char component[128], method[16], route[256];
	unsigned status;
	uint64_t count;
	uint64_t buckets[TEL_BUCKETS + 1];
	double sum, min, max;
};

struct tel_export {
	void *curl;      /* one libcurl easy handle, reused (keep-alive) */
	bool failing[TEL_SIGNALS];
};

struct tel {
	struct tel_config cfg;
	const struct sk_log_sink *sink;
	uint64_t start_ns; /* the metrics' start time */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stopping;
	pthread_t thread;
	struct tel_queue q[TEL_SIGNALS]; /* traces and logs */
	size_t n_series;
	bool series_full_reported;
	struct tel_series series[TEL_SERIES_MAX];
	uint64_t metrics_last_ns;
	struct tel_export ex;
};

uint64_t tel_now_ns(void);
/* An export request's frame: Export*ServiceRequest { resource_<x> 1 {
 * resource 1, scope_<x> 2 { scope 1, <items> 2 [ ... ] } } }, with names the
 * JSON names of those three repeated fields. tel_write_open leaves the items'
 * array open; tel_write_close closes everything and returns otw_finish's. */
void tel_write_open(struct otw *w, struct sk_buf *out, bool json, const struct tel_config *c,
		    const char *const names[3]);
int tel_write_close(struct otw *w);

/* metrics.c: record one request (mu held), and encode the whole
 * ExportMetricsServiceRequest of every series (mu held). */
void tel_metrics_record(struct tel *t, const char *component, const char *method, const char *route, unsigned status,
			double seconds);
int tel_metrics_encode(struct tel *t, uint64_t now_ns, struct sk_buf *out);

/* export.c: POST body to the signal's URL. 0 when the collector took it
 * (2xx); else a negative errno with one line in err. Retries 429, 502,
 * 503, 504 and connection failures twice, within the timeout. */
int tel_post(struct tel *t, enum tel_signal s, const char *body, size_t len, struct sk_error *err);
void tel_export_free(struct tel_export *ex);

#endif
