/* The Prometheus text exposition format, version 0.0.4: what a scrape of
 * /metrics returns. Pure: it writes into a bounded buffer, and the caller
 * decides the order (families by name, series by label values, as
 * client_golang sorts them, so dashboards and diffs see a stable page).
 *
 * A writer carries a sticky error (the first -ENOMEM or -E2BIG of the
 * buffer), so a page is written straight down and checked once at the end.
 * Label values and HELP texts are escaped as the format says: backslash,
 * double quote (label values only) and newline. Numbers are written as Go's
 * strconv 'g' with the shortest precision writes them (1e-08, 0.005, 1000),
 * +Inf, -Inf and NaN by name. */
#ifndef SPINKUBE_CONTROLLER_METRICS_EXPO_H
#define SPINKUBE_CONTROLLER_METRICS_EXPO_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* The content type of a page. */
#define EXPO_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Most buckets a histogram has (controller-runtime's reconcile time has 40). */
#define EXPO_MAX_BUCKETS 48

/* A histogram: fixed upper bounds (ascending, +Inf implied), and per bucket
 * the observations that fell in it (not cumulative; the writer adds up).
 * bounds is borrowed, usually a static table. */
struct expo_hist {
	const double *bounds;
	size_t n;
	uint64_t counts[EXPO_MAX_BUCKETS + 1]; /* counts[n]: above the last bound */
	uint64_t count;
	double sum;
};

/* Make h a histogram over bounds[0..n) (n <= EXPO_MAX_BUCKETS). */
void expo_hist_init(struct expo_hist *h, const double *bounds, size_t n);
/* Count v in the first bucket whose bound is >= v (bounds are inclusive). */
void expo_hist_observe(struct expo_hist *h, double v);

struct expo_label {
	const char *name;
	const char *value;
};

struct expo_writer {
	struct sk_buf *b;
	int err; /* 0, or the first error of the buffer */
};

/* "# HELP name help" and "# TYPE name type" (counter, gauge, histogram). */
void expo_family(struct expo_writer *w, const char *name, const char *help, const char *type);
/* One sample line: name{labels} value. nl may be 0. */
void expo_sample(struct expo_writer *w, const char *name, const struct expo_label *l, size_t nl, double v);
/* The same for a counter: written as an exact integer. */
void expo_sample_u64(struct expo_writer *w, const char *name, const struct expo_label *l, size_t nl,
		     uint64_t v);
/* A histogram's series: name_bucket{labels,le="..."} (cumulative, then
 * le="+Inf"), name_sum and name_count. nl <= 7. */
void expo_histogram(struct expo_writer *w, const char *name, const struct expo_label *l, size_t nl,
		    const struct expo_hist *h);

/* v as the format writes it, into out (size >= 32). Returns its length. */
size_t expo_format_double(char *out, size_t size, double v);

#endif
