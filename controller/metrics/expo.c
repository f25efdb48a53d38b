/* The text exposition format (see expo.h). */
#include "controller/metrics/expo.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void expo_hist_init(struct expo_hist *h, const double *bounds, size_t n)
{
	memset(h, 0, sizeof(*h));
	h->bounds = bounds;
	h->n = n < EXPO_MAX_BUCKETS ? n : EXPO_MAX_BUCKETS;
}

void expo_hist_observe(struct expo_hist *h, double v)
{
	size_t lo = 0, hi = h->n;

	/* the first bound >= v, by bisection: 40 bounds, 6 steps */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (h->bounds[mid] >= v)
			hi = mid;
		else
			lo = mid + 1;
	}
	h->counts[lo]++;
	h->count++;
	h->sum += v;
}

static void put(struct expo_writer *w, const char *s, size_t n)
{
	if (w->err)
		return;
	int r = sk_buf_append(w->b, s, n);
	if (r < 0)
		w->err = r;
}

static void puts_(struct expo_writer *w, const char *s)
{
	put(w, s, strlen(s));
}

/* s with backslash and newline escaped, and the double quote too in a label
 * value. */
static void put_escaped(struct expo_writer *w, const char *s, int quote)
{
	const char *run = s;

	for (; *s; s++) {
		const char *esc = NULL;
		if (*s == '\\')
			esc = "\\\\";
		else if (*s == '\n')
			esc = "\\n";
		else if (*s == '"' && quote)
			esc = "\\\"";
		if (!esc)
			continue;
		put(w, run, (size_t)(s - run));
		puts_(w, esc);
		run = s + 1;
	}
	put(w, run, (size_t)(s - run));
}

size_t expo_format_double(char *out, size_t size, double v)
{
	char e[40];
	int p, exp, n;

	if (isnan(v))
		return (size_t)snprintf(out, size, "NaN");
	if (isinf(v))
		return (size_t)snprintf(out, size, v > 0 ? "+Inf" : "-Inf");
	if (v == 0)
		return (size_t)snprintf(out, size, "0");
	/* the fewest significant digits that read back as v */
	for (p = 0; p < 17; p++) {
		snprintf(e, sizeof(e), "%.*e", p, v);
		if (strtod(e, NULL) == v)
			break;
	}
	const char *ep = strchr(e, 'e');
	exp = ep ? (int)strtol(ep + 1, NULL, 10) : 0;
	/* Go's 'g' with the shortest precision: exponent form below 1e-4 and
	 * from 1e+06 on, plain decimals between */
	if (exp < -4 || exp >= 6)
		n = snprintf(out, size, "%.*e", p, v);
	else
		n = snprintf(out, size, "%.*f", p - exp > 0 ? p - exp : 0, v);
	return n < 0 ? 0 : (size_t)n;
}

static void put_labels(struct expo_writer *w, const struct expo_label *l, size_t nl, const char *le)
{
	if (nl == 0 && !le)
		return;
	puts_(w, "{");
	for (size_t i = 0; i < nl; i++) {
		if (i)
			puts_(w, ",");
		puts_(w, l[i].name);
		puts_(w, "=\"");
		put_escaped(w, l[i].value ? l[i].value : "", 1);
		puts_(w, "\"");
	}
	if (le) {
		puts_(w, nl ? ",le=\"" : "le=\"");
		puts_(w, le);
		puts_(w, "\"");
	}
	puts_(w, "}");
}

void expo_family(struct expo_writer *w, const char *name, const char *help, const char *type)
{
	puts_(w, "# HELP ");
	puts_(w, name);
	puts_(w, " ");
	put_escaped(w, help, 0);
	puts_(w, "\n# TYPE ");
	puts_(w, name);
	puts_(w, " ");
	puts_(w, type);
	puts_(w, "\n");
}

static void sample_text(struct expo_writer *w, const char *name, const char *suffix, const struct expo_label *l,
			size_t nl, const char *le, const char *value)
{
	puts_(w, name);
	if (suffix)
		puts_(w, suffix);
	put_labels(w, l, nl, le);
	puts_(w, " ");
	puts_(w, value);
	puts_(w, "\n");
}

void expo_sample(struct expo_writer *w, const char *name, const struct expo_label *l, size_t nl, double v)
{
	char num[40];

	expo_format_double(num, sizeof(num), v);
	sample_text(w, name, NULL, l, nl, NULL, num);
}

void expo_sample_u64(struct expo_writer *w, const char *name, const struct expo_label *l, size_t nl,
		     uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRIu64, v);
	sample_text(w, name, NULL, l, nl, NULL, num);
}

void expo_histogram(struct expo_writer *w, const char *name, const struct expo_label *l, size_t nl,
		    const struct expo_hist *h)
{
	char le[40], num[40];
	uint64_t cum = 0;

	for (size_t i = 0; i <= h->n; i++) {
		cum += h->counts[i];
		if (i < h->n)
			expo_format_double(le, sizeof(le), h->bounds[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		snprintf(num, sizeof(num), "%" PRIu64, cum);
		sample_text(w, name, "_bucket", l, nl, le, num);
	}
	expo_format_double(num, sizeof(num), h->sum);
	sample_text(w, name, "_sum", l, nl, NULL, num);
	snprintf(num, sizeof(num), "%" PRIu64, h->count);
	sample_text(w, name, "_count", l, nl, NULL, num);
}
