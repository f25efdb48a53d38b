/* The OTEL_* environment (see otel-config.h). */
#include "shim-bridge/telemetry/otel-config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/http-field.h"
#include "common/kv.h"

static const char *const sig_upper[TEL_SIGNALS] = { "TRACES", "METRICS", "LOGS" };
static const char *const sig_path[TEL_SIGNALS] = { "/v1/traces", "/v1/metrics", "/v1/logs" };

const char *tel_signal_name(enum tel_signal s)
{
	static const char *const n[TEL_SIGNALS] = { "traces", "metrics", "logs" };
	return (unsigned)s < TEL_SIGNALS ? n[s] : "?";
}

/* OTEL_<prefix>_<SIGNAL>_<what>, or the general OTEL_<prefix>_<what>. */
static const char *env_signal(const char *const *envp, const char *prefix, enum tel_signal s, const char *what,
			      bool *specific)
{
	char name[96];
	const char *v;

	(void)snprintf(name, sizeof(name), "OTEL_%s_%s_%s", prefix, sig_upper[s], what);
	if ((v = sk_env_get(envp, name)) && *v) {
		if (specific)
			*specific = true;
		return v;
	}
	if (specific)
		*specific = false;
	(void)snprintf(name, sizeof(name), "OTEL_%s_%s", prefix, what);
	v = sk_env_get(envp, name);
	return v && *v ? v : NULL;
}

static void warn(const struct sk_log_sink *sink, const char *name, const char *value, const char *why)
{
	char q[TEL_URL_MAX + 8], w[512];

	sk_report(sink, LOG_WARN, "telemetry setting ignored", "name=%s value=%s reason=%s", name,
		  log_quote(value, q, sizeof(q)), log_quote(why, w, sizeof(w)));
}

/* A decimal number of milliseconds or items in [lo, hi]; def otherwise. */
static unsigned env_uint(const struct sk_log_sink *sink, const char *const *envp, const char *name, unsigned def,
			 unsigned lo, unsigned hi)
{
	const char *v = sk_env_get(envp, name);
	char *end;
	unsigned long x;

	if (!v || !*v)
		return def;
	errno = 0;
	x = strtoul(v, &end, 10);
	if (errno || *end || !isdigit((unsigned char)*v) || x < lo || x > hi) {
		char why[96];
		(void)snprintf(why, sizeof(why), "want a whole number from %u to %u; using %u", lo, hi, def);
		warn(sink, name, v, why);
		return def;
	}
	return (unsigned)x;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decode s[0..n) into out (size bytes); -1 on a bad escape, a NUL
 * or a result that does not fit. */
static int pct_decode(const char *s, size_t n, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			int h, l;
			if (i + 2 >= n || (h = hexval(s[i + 1])) < 0 || (l = hexval(s[i + 2])) < 0)
				return -1;
			c = h * 16 + l;
			i += 2;
		}
		if (c == 0 || o + 1 >= size)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

static void trim(const char **s, size_t *n)
{
	while (*n && isspace((unsigned char)**s))
		(*s)++, (*n)--;
	while (*n && isspace((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

/* "k=v,k2=v2": each pair to fn; false (and nothing more) at the first bad one. */
typedef bool (*pair_fn)(void *ud, const char *key, const char *value);
static bool parse_pairs(const char *list, pair_fn fn, void *ud)
{
	const char *p = list;

	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		const char *eq = memchr(p, '=', n);
		char key[TEL_ATTR_MAX], value[TEL_HEADER_MAX];
		const char *k = p, *v;
		size_t kn, vn;

		if (!eq)
			return false;
		kn = (size_t)(eq - p);
		v = eq + 1;
		vn = n - kn - 1;
		trim(&k, &kn);
		trim(&v, &vn);
		if (kn == 0 || pct_decode(k, kn, key, sizeof(key)) < 0 || pct_decode(v, vn, value, sizeof(value)) < 0)
			return false;
		if (!fn(ud, key, value))
			return false;
		p += n;
		if (*p == ',')
			p++;
	}
	return true;
}

struct header_ctx {
	struct tel_signal_config *s;
};

static bool add_header(void *ud, const char *key, const char *value)
{
	struct header_ctx *h = ud;
	struct tel_signal_config *s = h->s;

	if (s->n_headers >= TEL_HEADERS_MAX || !sk_http_token(key, strlen(key)) ||
	    !sk_http_value_strict(value, strlen(value)))
		return false;
	if ((size_t)snprintf(s->headers[s->n_headers], TEL_HEADER_MAX, "%s: %s", key, value) >= TEL_HEADER_MAX)
		return false;
	s->n_headers++;
	return true;
}

static bool add_attr(void *ud, const char *key, const char *value)
{
	struct tel_config *c = ud;

	if (strlen(value) >= TEL_ATTR_MAX)
		return false;
	for (size_t i = 0; i < c->n_resource; i++)
		if (strcmp(c->resource[i].key, key) == 0) {
			memcpy(c->resource[i].value, value, strlen(value) + 1);
			return true;
		}
	if (c->n_resource >= TEL_ATTRS_MAX)
		return false;
	(void)snprintf(c->resource[c->n_resource].key, TEL_ATTR_MAX, "%s", key);
	(void)snprintf(c->resource[c->n_resource].value, TEL_ATTR_MAX, "%s", value);
	c->n_resource++;
	return true;
}

/* http(s)://, then a host: something before the path */
static bool url_ok(const char *u)
{
	size_t at = strncasecmp(u, "http://", 7) == 0 ? 7 : strncasecmp(u, "https://", 8) == 0 ? 8 : 0;

	return at && u[at] && u[at] != '/' && u[at] != '?' && u[at] != '#';
}

static void read_signal(const char *const *envp, const struct sk_log_sink *sink, enum tel_signal s,
			struct tel_signal_config *out)
{
	char name[96];
	bool specific;
	const char *v;

	memset(out, 0, sizeof(*out));
	out->timeout_ms = 10000;
	(void)snprintf(name, sizeof(name), "OTEL_%s_EXPORTER", sig_upper[s]);
	if ((v = sk_env_get(envp, name)) && *v && strcmp(v, "otlp") != 0) {
		if (strcmp(v, "none") != 0)
			warn(sink, name, v, "only otlp and none are known; this signal is not exported");
		return;
	}
	if (!(v = env_signal(envp, "EXPORTER_OTLP", s, "ENDPOINT", &specific)))
		return;
	(void)snprintf(name, sizeof(name), specific ? "OTEL_EXPORTER_OTLP_%s_ENDPOINT" : "OTEL_EXPORTER_OTLP_ENDPOINT",
		       sig_upper[s]);
	if (!url_ok(v)) {
		warn(sink, name, v, "want an http:// or https:// URL with a host; this signal is not exported");
		return;
	}
	if (specific) {
		if (strlen(v) >= sizeof(out->url)) {
			warn(sink, name, v, "the URL is too long; this signal is not exported");
			return;
		}
		memcpy(out->url, v, strlen(v) + 1);
	} else {
		/* one slash between the base and v1/<signal> */
		size_t n = strlen(v);
		if (v[n - 1] == '/')
			n--;
		if ((size_t)snprintf(out->url, sizeof(out->url), "%.*s%s", (int)n, v, sig_path[s]) >= sizeof(out->url)) {
			warn(sink, name, v, "the URL is too long; this signal is not exported");
			return;
		}
	}
	if ((v = env_signal(envp, "EXPORTER_OTLP", s, "PROTOCOL", &specific))) {
		(void)snprintf(name, sizeof(name), specific ? "OTEL_EXPORTER_OTLP_%s_PROTOCOL" : "OTEL_EXPORTER_OTLP_PROTOCOL",
			       sig_upper[s]);
		if (strcmp(v, "http/json") == 0)
			out->json = true;
		else if (strcmp(v, "grpc") == 0) {
			warn(sink, name, v, "OTLP over gRPC is not supported: use http/protobuf (port 4318); this signal is not exported");
			return;
		} else if (strcmp(v, "http/protobuf") != 0) {
			warn(sink, name, v, "want http/protobuf or http/json; this signal is not exported");
			return;
		}
	}
	if ((v = env_signal(envp, "EXPORTER_OTLP", s, "HEADERS", &specific))) {
		struct header_ctx h = { .s = out };
		if (!parse_pairs(v, add_header, &h)) {
			(void)snprintf(name, sizeof(name), specific ? "OTEL_EXPORTER_OTLP_%s_HEADERS" : "OTEL_EXPORTER_OTLP_HEADERS",
				       sig_upper[s]);
			warn(sink, name, "(not shown: it may hold secrets)",
			     "want name=value,... (at most 8, values percent-encoded); sent without headers");
			out->n_headers = 0;
		}
	}
	if (env_signal(envp, "EXPORTER_OTLP", s, "TIMEOUT", &specific)) {
		(void)snprintf(name, sizeof(name), specific ? "OTEL_EXPORTER_OTLP_%s_TIMEOUT" : "OTEL_EXPORTER_OTLP_TIMEOUT",
			       sig_upper[s]);
		out->timeout_ms = env_uint(sink, envp, name, 10000, 1, 600000);
	}
	const char *b = s == TEL_LOGS ? "OTEL_BLRP" : "OTEL_BSP";
	(void)snprintf(name, sizeof(name), "%s_SCHEDULE_DELAY", b);
	out->delay_ms = env_uint(sink, envp, name, s == TEL_LOGS ? 1000 : 5000, 1, 600000);
	(void)snprintf(name, sizeof(name), "%s_MAX_QUEUE_SIZE", b);
	out->max_queue = env_uint(sink, envp, name, 2048, 1, 65536);
	(void)snprintf(name, sizeof(name), "%s_MAX_EXPORT_BATCH_SIZE", b);
	out->max_batch = env_uint(sink, envp, name, 512, 1, 65536);
	if (out->max_batch > out->max_queue)
		out->max_batch = out->max_queue;
	out->on = true;
}

static void read_sampler(const char *const *envp, const struct sk_log_sink *sink, struct tel_config *c)
{
	const char *v = sk_env_get(envp, "OTEL_TRACES_SAMPLER");
	const char *arg = sk_env_get(envp, "OTEL_TRACES_SAMPLER_ARG");

	c->sampler = TEL_SAMPLE_ALWAYS_ON;
	c->parent_based = true;
	c->ratio = 1.0;
	if (!v || !*v)
		return;
	static const struct {
		const char *name;
		enum tel_sampler s;
		bool parent;
	} known[] = {
		{ "always_on", TEL_SAMPLE_ALWAYS_ON, false },
		{ "always_off", TEL_SAMPLE_ALWAYS_OFF, false },
		{ "traceidratio", TEL_SAMPLE_RATIO, false },
		{ "parentbased_always_on", TEL_SAMPLE_ALWAYS_ON, true },
		{ "parentbased_always_off", TEL_SAMPLE_ALWAYS_OFF, true },
		{ "parentbased_traceidratio", TEL_SAMPLE_RATIO, true },
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (strcmp(v, known[i].name) != 0)
			continue;
		c->sampler = known[i].s;
		c->parent_based = known[i].parent;
		if (c->sampler == TEL_SAMPLE_RATIO && arg && *arg) {
			char *end;
			double r = strtod(arg, &end);
			if (*end || !(r >= 0.0 && r <= 1.0))
				warn(sink, "OTEL_TRACES_SAMPLER_ARG", arg, "want a ratio from 0 to 1; using 1");
			else
				c->ratio = r;
		}
		return;
	}
	warn(sink, "OTEL_TRACES_SAMPLER", v,
	     "want always_on, always_off, traceidratio or parentbased_<one of those>; using parentbased_always_on");
}

void tel_config_read(const char *const *envp, const char *default_service, const struct sk_log_sink *sink,
		     struct tel_config *out)
{
	const char *v;

	memset(out, 0, sizeof(*out));
	out->metric_interval_ms = 60000;
	if ((v = sk_env_get(envp, "OTEL_SDK_DISABLED")) && strcasecmp(v, "true") == 0)
		return;
	for (int s = 0; s < TEL_SIGNALS; s++)
		read_signal(envp, sink, (enum tel_signal)s, &out->sig[s]);
	if (!tel_config_any(out))
		return;
	out->metric_interval_ms = env_uint(sink, envp, "OTEL_METRIC_EXPORT_INTERVAL", 60000, 100, 3600000);
	read_sampler(envp, sink, out);
	(void)add_attr(out, "service.name", default_service && *default_service ? default_service : "spin");
	if ((v = sk_env_get(envp, "OTEL_RESOURCE_ATTRIBUTES")) && *v && !parse_pairs(v, add_attr, out))
		warn(sink, "OTEL_RESOURCE_ATTRIBUTES", v,
		     "want name=value,... (at most 16, values percent-encoded); the pairs before the bad one are kept");
	if ((v = sk_env_get(envp, "OTEL_SERVICE_NAME")) && *v) {
		if (strlen(v) >= TEL_ATTR_MAX)
			warn(sink, "OTEL_SERVICE_NAME", v, "longer than 255 bytes; not used");
		else
			(void)add_attr(out, "service.name", v);
	}
	(void)add_attr(out, "telemetry.sdk.name", "spinkube-c");
	(void)add_attr(out, "telemetry.sdk.language", "c");
}

bool tel_config_any(const struct tel_config *c)
{
	for (int s = 0; s < TEL_SIGNALS; s++)
		if (c->sig[s].on)
			return true;
	return false;
}
