/* The process's telemetry: spans, log records, their queues and the
 * exporter thread (see telemetry.h). */
#include "shim-bridge/telemetry/telemetry.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "shim-bridge/telemetry/telemetry-int.h"
#include "spinkube-version.h"

static _Atomic(struct tel *) g_tel;
static __thread struct tel_span *g_current;

uint64_t tel_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool tel_on(enum tel_signal s)
{
	struct tel *t = atomic_load_explicit(&g_tel, memory_order_acquire);
	return t && (unsigned)s < TEL_SIGNALS && t->cfg.sig[s].on;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Trace and span ids: a per-thread xoshiro256** generator seeded once from
 * getrandom (ids must be unique and unpredictable enough to not collide,
 * not secret; a system call per id would cost the request path). */
static __thread uint64_t rng[4];
static __thread bool rng_seeded;

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(void)
{
	if (!rng_seeded) {
		if (getrandom(rng, sizeof(rng), 0) != (ssize_t)sizeof(rng)) {
			/* no entropy source: the clock and the thread's address */
			uint64_t x = mono_ns() ^ tel_now_ns() ^ (uint64_t)(uintptr_t)&rng;
			for (int i = 0; i < 4; i++) {
				x += 0x9e3779b97f4a7c15u;
				uint64_t z = x;
				z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
				z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
				rng[i] = z ^ (z >> 31);
			}
		}
		if ((rng[0] | rng[1] | rng[2] | rng[3]) == 0)
			rng[0] = 1;
		rng_seeded = true;
	}
	uint64_t r = rotl(rng[1] * 5, 7) * 9, t = rng[1] << 17;
	rng[2] ^= rng[0];
	rng[3] ^= rng[1];
	rng[1] ^= rng[2];
	rng[0] ^= rng[3];
	rng[2] ^= t;
	rng[3] = rotl(rng[3], 45);
	return r;
}

static void random_bytes(uint8_t *p, size_t n)
{
	while (n > 0) {
		uint64_t r = rng_next();
		size_t k = n < 8 ? n : 8;
		memcpy(p, &r, k);
		p += k;
		n -= k;
	}
}

/* ---- W3C trace context ----------------------------------------------------- */

static int hexnib(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int hex_in(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int h = hexnib(s[2 * i]), l = hexnib(s[2 * i + 1]);
		if (h < 0 || l < 0)
			return -EINVAL;
		out[i] = (uint8_t)(h << 4 | l);
	}
	return 0;
}

int tel_traceparent_parse(const char *v, size_t n, struct tel_ctx *out)
{
	uint8_t ver, flags;

	while (n > 0 && (*v == ' ' || *v == '\t'))
		v++, n--;
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n < TEL_TRACEPARENT_LEN || hex_in(v, &ver, 1) < 0 || ver == 0xff || v[2] != '-' || v[35] != '-' ||
	    v[52] != '-')
		return -EINVAL;
	if (ver == 0 && n != TEL_TRACEPARENT_LEN)
		return -EINVAL;
	if (n > TEL_TRACEPARENT_LEN && v[TEL_TRACEPARENT_LEN] != '-')
		return -EINVAL;
	if (hex_in(v + 3, out->trace_id, 16) < 0 || hex_in(v + 36, out->span_id, 8) < 0 || hex_in(v + 53, &flags, 1) < 0)
		return -EINVAL;
	if (all_zero(out->trace_id, 16) || all_zero(out->span_id, 8))
		return -EINVAL;
	out->flags = flags & 1;
	return 0;
}

void tel_traceparent_format(const struct tel_ctx *c, char *out)
{
	static const char hex[] = "0123456789abcdef";
	char *p = out;

	*p++ = '0', *p++ = '0', *p++ = '-';
	for (int i = 0; i < 16; i++)
		*p++ = hex[c->trace_id[i] >> 4], *p++ = hex[c->trace_id[i] & 15];
	*p++ = '-';
	for (int i = 0; i < 8; i++)
		*p++ = hex[c->span_id[i] >> 4], *p++ = hex[c->span_id[i] & 15];
	*p++ = '-';
	*p++ = '0';
	*p++ = (c->flags & 1) ? '1' : '0';
	*p = '\0';
}

/* ---- spans -------------------------------------------------------------------- */

static bool sample_root(const struct tel_config *c, const uint8_t *trace_id)
{
	if (c->sampler == TEL_SAMPLE_ALWAYS_ON)
		return true;
	if (c->sampler == TEL_SAMPLE_ALWAYS_OFF)
		return false;
	/* traceidratio: the low 8 bytes of the id against ratio * 2^64 */
	uint64_t x = 0;
	for (int i = 8; i < 16; i++)
		x = x << 8 | trace_id[i];
	return c->ratio >= 1.0 || (double)x < c->ratio * 18446744073709551616.0;
}

void tel_span_begin(struct tel_span *s, const char *name, enum tel_kind kind, const struct tel_ctx *parent)
{
	struct tel *t = atomic_load_explicit(&g_tel, memory_order_acquire);

	s->recording = false;
	s->entered = false;
	s->n_attrs = 0;
	s->text_len = 0;
	s->error = false;
	s->status[0] = '\0';
	s->outer = NULL;
	memset(&s->ctx, 0, sizeof(s->ctx));
	if (!t || !t->cfg.sig[TEL_TRACES].on)
		return;
	if (!parent && g_current)
		parent = &g_current->ctx;
	s->has_parent = parent && !all_zero(parent->trace_id, 16);
	bool sampled;
	if (s->has_parent) {
		memcpy(s->ctx.trace_id, parent->trace_id, 16);
		memcpy(s->parent_id, parent->span_id, 8);
		sampled = t->cfg.parent_based ? (parent->flags & 1) != 0 : sample_root(&t->cfg, s->ctx.trace_id);
	} else {
		do
			random_bytes(s->ctx.trace_id, 16);
		while (all_zero(s->ctx.trace_id, 16));
		sampled = sample_root(&t->cfg, s->ctx.trace_id);
	}
	do
		random_bytes(s->ctx.span_id, 8);
	while (all_zero(s->ctx.span_id, 8));
	s->ctx.flags = sampled ? 1 : 0;
	s->recording = sampled;
	s->kind = kind;
	s->start_ns = tel_now_ns();
	(void)snprintf(s->name, sizeof(s->name), "%s", name);
}

static struct tel_span_attr *attr_slot(struct tel_span *s, const char *key)
{
	if (!s->recording || s->n_attrs >= TEL_SPAN_ATTRS_MAX)
		return NULL;
	struct tel_span_attr *a = &s->attrs[s->n_attrs];
	a->key = key;
	return a;
}

void tel_span_attr_str(struct tel_span *s, const char *key, const char *value)
{
	struct tel_span_attr *a = attr_slot(s, key);
	size_t n;

	if (!a)
		return;
	n = strlen(value);
	if (n >= sizeof(s->text) - s->text_len)
		n = sizeof(s->text) - s->text_len - 1; /* cut (the writer mends a cut UTF-8 sequence) */
	if (n == 0 && *value)
		return;
	a->is_int = false;
	a->off = s->text_len;
	memcpy(s->text + s->text_len, value, n);
	s->text[s->text_len + n] = '\0';
	s->text_len += n + 1;
	s->n_attrs++;
}

void tel_span_attr_int(struct tel_span *s, const char *key, int64_t value)
{
	struct tel_span_attr *a = attr_slot(s, key);

	if (!a)
		return;
	a->is_int = true;
	a->i = value;
	s->n_attrs++;
}

void tel_span_fail(struct tel_span *s, const char *why)
{
	if (!s->recording)
		return;
	s->error = true;
	(void)snprintf(s->status, sizeof(s->status), "%s", why ? why : "");
}

void tel_span_enter(struct tel_span *s)
{
	if (s->entered || all_zero(s->ctx.trace_id, 16))
		return;
	s->outer = g_current;
	g_current = s;
	s->entered = true;
}

void tel_span_leave(struct tel_span *s)
{
	if (!s->entered)
		return;
	g_current = s->outer;
	s->entered = false;
}

const struct tel_ctx *tel_current(void)
{
	return g_current ? &g_current->ctx : NULL;
}

static void enqueue(struct tel *t, enum tel_signal sig, struct sk_buf *b)
{
	struct tel_queue *q = &t->q[sig];
	const struct tel_signal_config *c = &t->cfg.sig[sig];
	struct tel_item *it;

	if (b->len == 0 || b->len > TEL_ITEM_MAX || !(it = malloc(sizeof(*it) + b->len))) {
		pthread_mutex_lock(&t->mu);
		q->dropped++;
		pthread_mutex_unlock(&t->mu);
		return;
	}
	it->len = b->len;
	memcpy(it->data, b->data, b->len);
	pthread_mutex_lock(&t->mu);
	if (q->len >= c->max_queue || t->stopping) {
		q->dropped++;
		pthread_mutex_unlock(&t->mu);
		free(it);
		return;
	}
	q->items[(q->head + q->len) % c->max_queue] = it;
	q->len++;
	if (q->len == c->max_batch)
		pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

/* trace.proto: Span { trace_id 1, span_id 2, parent_span_id 4, name 5,
 * kind 6, start 7, end 8, attributes 9, status 15 { message 2, code 3 } } */
void tel_span_end(struct tel_span *s)
{
	struct tel *t = atomic_load_explicit(&g_tel, memory_order_acquire);
	struct sk_buf b = { .data = NULL, .max = TEL_ITEM_MAX };
	struct otw w;

	tel_span_leave(s);
	if (!s->recording || !t)
		return;
	s->recording = false;
	otw_init(&w, &b, t->cfg.sig[TEL_TRACES].json);
	otw_id(&w, 1, "traceId", s->ctx.trace_id, 16);
	otw_id(&w, 2, "spanId", s->ctx.span_id, 8);
	if (s->has_parent)
		otw_id(&w, 4, "parentSpanId", s->parent_id, 8);
	otw_cstr(&w, 5, "name", s->name);
	otw_enum(&w, 6, "kind", (uint64_t)s->kind);
	otw_fixed64(&w, 7, "startTimeUnixNano", s->start_ns);
	otw_fixed64(&w, 8, "endTimeUnixNano", tel_now_ns());
	otw_array_begin(&w, 9, "attributes");
	for (size_t i = 0; i < s->n_attrs; i++) {
		if (s->attrs[i].is_int)
			otw_kv_int(&w, s->attrs[i].key, s->attrs[i].i);
		else
			otw_kv_str(&w, s->attrs[i].key, s->text + s->attrs[i].off);
	}
	otw_array_end(&w);
	if (s->error) {
		otw_msg_begin(&w, 15, "status");
		if (s->status[0])
			otw_cstr(&w, 2, "message", s->status);
		otw_enum(&w, 3, "code", 2); /* STATUS_CODE_ERROR */
		otw_msg_end(&w);
	}
	if (otw_finish(&w) == 0)
		enqueue(t, TEL_TRACES, &b);
	else {
		pthread_mutex_lock(&t->mu);
		t->q[TEL_TRACES].dropped++;
		pthread_mutex_unlock(&t->mu);
	}
	sk_buf_free(&b);
}

/* ---- logs ----------------------------------------------------------------------- */

/* logs.proto: LogRecord { time 1, severity_number 2, severity_text 3,
 * body 5, attributes 6, trace_id 9, span_id 10, observed_time 11 } */
void tel_log_guest(const struct tel_ctx *ctx, const char *component, const char *stream, const char *line,
		   size_t len)
{
	struct tel *t = atomic_load_explicit(&g_tel, memory_order_acquire);
	struct sk_buf b = { .data = NULL, .max = TEL_ITEM_MAX };
	struct otw w;
	bool err = strcmp(stream, "stderr") == 0;
	uint64_t now;

	if (!t || !t->cfg.sig[TEL_LOGS].on)
		return;
	if (len > TEL_ITEM_MAX / 2)
		len = TEL_ITEM_MAX / 2;
	now = tel_now_ns();
	otw_init(&w, &b, t->cfg.sig[TEL_LOGS].json);
	otw_fixed64(&w, 1, "timeUnixNano", now);
	otw_fixed64(&w, 11, "observedTimeUnixNano", now);
	otw_enum(&w, 2, "severityNumber", err ? 13 : 9); /* WARN, INFO */
	otw_cstr(&w, 3, "severityText", err ? "WARN" : "INFO");
	otw_msg_begin(&w, 5, "body");
	otw_str(&w, 1, "stringValue", line, len);
	otw_msg_end(&w);
	otw_array_begin(&w, 6, "attributes");
	otw_kv_str(&w, "component_id", component ? component : "");
	otw_kv_str(&w, "log.iostream", stream);
	otw_array_end(&w);
	if (tel_ctx_valid(ctx)) {
		otw_id(&w, 9, "traceId", ctx->trace_id, 16);
		otw_id(&w, 10, "spanId", ctx->span_id, 8);
	}
	if (otw_finish(&w) == 0)
		enqueue(t, TEL_LOGS, &b);
	sk_buf_free(&b);
}

/* ---- metrics -------------------------------------------------------------------- */

void tel_request_done(const char *component, const char *method, const char *route, unsigned status,
		      double seconds)
{
	struct tel *t = atomic_load_explicit(&g_tel, memory_order_acquire);

	if (!t || !t->cfg.sig[TEL_METRICS].on)
		return;
	pthread_mutex_lock(&t->mu);
	tel_metrics_record(t, component, method, route, status, seconds);
	pthread_mutex_unlock(&t->mu);
}

/* ---- export requests ------------------------------------------------------------ */

/* resource.proto: Resource { attributes 1 } */
static void write_resource(struct otw *w, const struct tel_config *c)
{
	otw_msg_begin(w, 1, "resource");
	otw_array_begin(w, 1, "attributes");
	for (size_t i = 0; i < c->n_resource; i++)
		otw_kv_str(w, c->resource[i].key, c->resource[i].value);
	otw_kv_str(w, "telemetry.sdk.version", SPINKUBE_VERSION);
	otw_array_end(w);
	otw_msg_end(w);
}

/* common.proto: InstrumentationScope { name 1, version 2 } (field 1 of
 * ScopeSpans, ScopeLogs and ScopeMetrics) */
static void write_scope(struct otw *w)
{
	otw_msg_begin(w, 1, "scope");
	otw_cstr(w, 1, "name", "spinkube-c");
	otw_cstr(w, 2, "version", SPINKUBE_VERSION);
	otw_msg_end(w);
}

void tel_write_open(struct otw *w, struct sk_buf *out, bool json, const struct tel_config *c,
		    const char *const names[3])
{
	otw_init(w, out, json);
	otw_array_begin(w, 1, names[0]);
	otw_msg_begin(w, 0, NULL);
	write_resource(w, c);
	otw_array_begin(w, 2, names[1]);
	otw_msg_begin(w, 0, NULL);
	write_scope(w);
	otw_array_begin(w, 2, names[2]);
}

int tel_write_close(struct otw *w)
{
	otw_array_end(w);
	otw_msg_end(w);
	otw_array_end(w);
	otw_msg_end(w);
	otw_array_end(w);
	return otw_finish(w);
}

/* Export{Trace,Logs}ServiceRequest of the encoded items. */
static int encode_batch(struct tel *t, enum tel_signal sig, struct tel_item **items, size_t n, struct sk_buf *out)
{
	static const char *const names[TEL_SIGNALS][3] = {
		{ "resourceSpans", "scopeSpans", "spans" },
		{ "", "", "" },
		{ "resourceLogs", "scopeLogs", "logRecords" },
	};
	struct otw w;

	tel_write_open(&w, out, t->cfg.sig[sig].json, &t->cfg, names[sig]);
	for (size_t i = 0; i < n; i++)
		otw_raw(&w, items[i]->data, items[i]->len);
	return tel_write_close(&w);
}

static void report(struct tel *t, enum tel_signal sig, int r, const struct sk_error *err)
{
	char q[SK_ERR_MESSAGE_MAX + 8], u[TEL_URL_MAX + 8];

	if (r < 0 && !t->ex.failing[sig])
		sk_report(t->sink, LOG_WARN, "telemetry export failed", "signal=%s url=%s error=%s", tel_signal_name(sig),
			  log_quote(t->cfg.sig[sig].url, u, sizeof(u)), log_quote(err->message, q, sizeof(q)));
	else if (r == 0 && t->ex.failing[sig])
		sk_report(t->sink, LOG_INFO, "telemetry export works again", "signal=%s", tel_signal_name(sig));
	t->ex.failing[sig] = r < 0;
}

/* Send one batch of sig's queue (mu held; released while sending). Returns
 * how many items were taken. */
static size_t export_queue(struct tel *t, enum tel_signal sig)
{
	struct tel_queue *q = &t->q[sig];
	const struct tel_signal_config *c = &t->cfg.sig[sig];
	struct tel_item *batch[512];
	size_t n = 0, bytes = 0;
	uint64_t dropped;

	while (n < q->len && n < c->max_batch && n < sizeof(batch) / sizeof(batch[0])) {
		struct tel_item *it = q->items[(q->head + n) % c->max_queue];
		if (n > 0 && bytes + it->len + 16 > TEL_BODY_MAX)
			break;
		batch[n++] = it;
		bytes += it->len + 16;
	}
	q->head = (q->head + n) % c->max_queue;
	q->len -= n;
	q->last_ns = mono_ns();
	dropped = q->dropped - q->dropped_reported;
	q->dropped_reported = q->dropped;
	pthread_mutex_unlock(&t->mu);

	if (dropped)
		sk_report(t->sink, LOG_WARN, "telemetry dropped", "signal=%s count=%llu reason=\"queue full or item too large\"",
			  tel_signal_name(sig), (unsigned long long)dropped);
	if (n > 0) {
		struct sk_buf body = sk_buf_make(TEL_BODY_MAX + 65536);
		struct sk_error err = { 0 };
		int r = encode_batch(t, sig, batch, n, &body);
		if (r < 0)
			(void)sk_err(&err, r, "cannot encode %zu items: %s", n, strerror(-r));
		else
			r = tel_post(t, sig, body.data, body.len, &err);
		report(t, sig, r, &err);
		sk_buf_free(&body);
		for (size_t i = 0; i < n; i++)
			free(batch[i]);
	}
	pthread_mutex_lock(&t->mu);
	return n;
}

static void export_metrics(struct tel *t)
{
	struct sk_buf body = sk_buf_make(TEL_BODY_MAX);
	struct sk_error err = { 0 };
	int r = tel_metrics_encode(t, tel_now_ns(), &body);

	t->metrics_last_ns = mono_ns();
	pthread_mutex_unlock(&t->mu);
	if (r < 0) {
		(void)sk_err(&err, r, "cannot encode the metrics: %s", strerror(-r));
		report(t, TEL_METRICS, r, &err);
	} else if (body.len > 0) {
		r = tel_post(t, TEL_METRICS, body.data, body.len, &err);
		report(t, TEL_METRICS, r, &err);
	}
	sk_buf_free(&body);
	pthread_mutex_lock(&t->mu);
}

/* At stop: every queue to the end (what is left once the collector fails
 * is dropped), then the metrics once. mu held. */
static void flush_all(struct tel *t)
{
	const enum tel_signal batched[] = { TEL_TRACES, TEL_LOGS };

	for (size_t i = 0; i < 2; i++) {
		enum tel_signal s = batched[i];
		struct tel_queue *q = &t->q[s];
		const struct tel_signal_config *c = &t->cfg.sig[s];
		while (c->on && q->len > 0) {
			(void)export_queue(t, s);
			if (t->ex.failing[s])
				while (q->len > 0) {
					free(q->items[q->head]);
					q->head = (q->head + 1) % c->max_queue;
					q->len--;
				}
		}
	}
	if (t->cfg.sig[TEL_METRICS].on)
		export_metrics(t);
}

static void *exporter(void *arg)
{
	struct tel *t = arg;
	const enum tel_signal batched[] = { TEL_TRACES, TEL_LOGS };

	pthread_mutex_lock(&t->mu);
	while (!t->stopping) {
		uint64_t now = mono_ns(), next = now + 1000000000ull * 3600;
		for (size_t i = 0; i < 2; i++) {
			enum tel_signal s = batched[i];
			struct tel_queue *q = &t->q[s];
			const struct tel_signal_config *c = &t->cfg.sig[s];
			uint64_t delay = (uint64_t)c->delay_ms * 1000000u;
			if (!c->on)
				continue;
			if (q->len > 0 && (q->len >= c->max_batch || now >= q->last_ns + delay)) {
				(void)export_queue(t, s);
				now = mono_ns();
			}
			uint64_t due = q->len == 0 ? now + delay : q->len >= c->max_batch ? now : q->last_ns + delay;
			if (due < next)
				next = due;
		}
		if (t->cfg.sig[TEL_METRICS].on) {
			uint64_t every = (uint64_t)t->cfg.metric_interval_ms * 1000000u;
			if (now >= t->metrics_last_ns + every) {
				export_metrics(t);
				now = mono_ns();
			}
			if (t->metrics_last_ns + every < next)
				next = t->metrics_last_ns + every;
		}
		if (t->stopping || next <= now)
			continue;
		struct timespec ts;
		uint64_t at = next;
		ts.tv_sec = (time_t)(at / 1000000000u);
		ts.tv_nsec = (long)(at % 1000000000u);
		(void)pthread_cond_timedwait(&t->cv, &t->mu, &ts);
	}
	flush_all(t);
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

static void tel_free(struct tel *t)
{
	for (int s = 0; s < TEL_SIGNALS; s++) {
		struct tel_queue *q = &t->q[s];
		for (size_t i = 0; i < q->len; i++)
			free(q->items[(q->head + i) % t->cfg.sig[s].max_queue]);
		free(q->items);
	}
	tel_export_free(&t->ex);
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

int tel_start(const struct tel_config *cfg, const struct sk_log_sink *sink, struct sk_error *err)
{
	struct tel *t;
	pthread_condattr_t ca;
	int r;

	if (!tel_config_any(cfg) || atomic_load(&g_tel))
		return 0;
	if (!(t = calloc(1, sizeof(*t))))
		return sk_err(err, -ENOMEM, "telemetry: out of memory");
	t->cfg = *cfg;
	t->sink = sink;
	t->start_ns = tel_now_ns();
	t->metrics_last_ns = mono_ns();
	pthread_mutex_init(&t->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cv, &ca);
	pthread_condattr_destroy(&ca);
	for (int s = 0; s < TEL_SIGNALS; s++) {
		t->q[s].last_ns = mono_ns();
		if (s != TEL_METRICS && cfg->sig[s].on &&
		    !(t->q[s].items = calloc(cfg->sig[s].max_queue, sizeof(*t->q[s].items)))) {
			tel_free(t);
			return sk_err(err, -ENOMEM, "telemetry: out of memory");
		}
	}
	if ((r = pthread_create(&t->thread, NULL, exporter, t)) != 0) {
		tel_free(t);
		return sk_err(err, -r, "telemetry: cannot start the exporter thread: %s", strerror(r));
	}
	atomic_store_explicit(&g_tel, t, memory_order_release);
	char sigs[64] = "";
	for (int s = 0; s < TEL_SIGNALS; s++)
		if (cfg->sig[s].on)
			(void)snprintf(sigs + strlen(sigs), sizeof(sigs) - strlen(sigs), "%s%s", sigs[0] ? "," : "",
				       tel_signal_name((enum tel_signal)s));
	sk_report(sink, LOG_INFO, "telemetry on", "signals=%s service=%s", sigs, cfg->resource[0].value);
	return 0;
}

/* Called when no request thread runs any more (after the server stopped). */
void tel_stop(void)
{
	struct tel *t = atomic_exchange(&g_tel, NULL);

	if (!t)
		return;
	pthread_mutex_lock(&t->mu);
	t->stopping = true;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->thread, NULL);
	tel_free(t);
}
