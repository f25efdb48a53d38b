/* shim-bridge/telemetry/: the OTLP writer's two encodings byte for byte,
 * the OTEL_* environment as OpenTelemetry SDKs read it, and W3C
 * traceparent. (The whole export path runs against the real collector in
 * tests/runtime/telemetry.sh.) */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "shim-bridge/telemetry/otel-config.h"
#include "shim-bridge/telemetry/otlp-write.h"
#include "shim-bridge/telemetry/telemetry.h"
#include "tests/tap.h"

/* ---- the writer ---- */

static char hexout[8192];

static const char *hex(const struct sk_buf *b)
{
	size_t o = 0;

	for (size_t i = 0; i < b->len && o + 3 < sizeof(hexout); i++)
		o += (size_t)snprintf(hexout + o, sizeof(hexout) - o, "%02x", (unsigned char)b->data[i]);
	hexout[o] = '\0';
	return hexout;
}

/* A small message of every kind of field, in either encoding. */
static int sample(struct sk_buf *b, bool json)
{
	static const uint8_t id[4] = { 0xde, 0xad, 0xbe, 0xef };
	static const uint64_t counts[2] = { 1, 2 };
	static const double bounds[1] = { 0.5 };
	struct otw w;

	otw_init(&w, b, json);
	otw_cstr(&w, 1, "name", "a\"b\n");
	otw_id(&w, 2, "spanId", id, 4);
	otw_enum(&w, 3, "kind", 2);
	otw_int64(&w, 4, "big", -1);
	otw_fixed64(&w, 5, "t", 258);
	otw_array_begin(&w, 6, "attributes");
	otw_kv_str(&w, "k", "v");
	otw_kv_int(&w, "n", 7);
	otw_array_end(&w);
	otw_msg_begin(&w, 7, "status");
	otw_enum(&w, 3, "code", 2);
	otw_msg_end(&w);
	otw_bool(&w, 8, "mono", true);
	otw_packed_fixed64(&w, 9, "counts", counts, 2);
	otw_packed_double(&w, 10, "bounds", bounds, 1);
	otw_fixed32(&w, 11, "flags", 1);
	return otw_finish(&w);
}

static void writer(void)
{
	struct sk_buf b = sk_buf_make(1 << 16);

	is_int(sample(&b, true), 0, "JSON: the sample message is written");
	is_str(b.data,
	       "{\"name\":\"a\\\"b\\u000a\",\"spanId\":\"deadbeef\",\"kind\":2,\"big\":\"-1\",\"t\":\"258\","
	       "\"attributes\":[{\"key\":\"k\",\"value\":{\"stringValue\":\"v\"}},{\"key\":\"n\",\"value\":{\"intValue\":\"7\"}}],"
	       "\"status\":{\"code\":2},\"mono\":true,\"counts\":[\"1\",\"2\"],\"bounds\":[0.5],\"flags\":1}",
	       "JSON: OTLP's mapping (camelCase names, ids in hex, 64-bit integers as strings, escapes)");
	sk_buf_free(&b);

	b = sk_buf_make(1 << 16);
	is_int(sample(&b, false), 0, "protobuf: the sample message is written");
	is_str(hex(&b),
	       "0a04612262" "0a"                      /* 1: "a\"b\n" */
	       "1204deadbeef"                         /* 2: bytes */
	       "1802"                                 /* 3: varint 2 */
	       "20ffffffffffffffffff01"               /* 4: int64 -1, ten bytes */
	       "290201000000000000"                   /* 5: fixed64 258 */
	       "3208" "0a016b" "1203" "0a0176"        /* 6: KeyValue k = "v" */
	       "3207" "0a016e" "1202" "1807"          /* 6: KeyValue n = 7 */
	       "3a02" "1802"                          /* 7: { 3: 2 } */
	       "4001"                                 /* 8: true */
	       "4a10" "0100000000000000" "0200000000000000" /* 9: packed fixed64 */
	       "5208" "000000000000e03f"              /* 10: packed double 0.5 */
	       "5d01000000",                          /* 11: fixed32 1 */
	       "protobuf: tags, wire types and lengths as protobuf encodes them");
	sk_buf_free(&b);

	/* a nested message over 127 bytes: a two-byte length patched in */
	char big[200];
	memset(big, 'x', sizeof(big));
	struct otw w;
	b = sk_buf_make(1 << 16);
	otw_init(&w, &b, false);
	otw_msg_begin(&w, 1, "m");
	otw_str(&w, 1, "s", big, sizeof(big));
	otw_msg_end(&w);
	is_int(otw_finish(&w), 0, "protobuf: a message of 203 bytes is written");
	is_int((int)b.len, 206, "... 1 tag + 2 length bytes + 203");
	ok((unsigned char)b.data[1] == 0xcb && (unsigned char)b.data[2] == 0x01 && (unsigned char)b.data[4] == 0xc8 &&
	       (unsigned char)b.data[5] == 0x01,
	   "... with the lengths 203 and 200 as two-byte varints");
	sk_buf_free(&b);

	/* invalid UTF-8 becomes U+FFFD, in both encodings */
	b = sk_buf_make(1 << 16);
	otw_init(&w, &b, true);
	otw_str(&w, 1, "s", "ok\xff\xe2\x82", 5);
	otw_finish(&w);
	is_str(b.data, "{\"s\":\"ok\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"}", "JSON: each bad byte becomes U+FFFD");
	sk_buf_free(&b);
	b = sk_buf_make(1 << 16);
	otw_init(&w, &b, false);
	otw_str(&w, 1, "s", "\xc3\xa9\xc3", 3);
	otw_finish(&w);
	is_str(hex(&b), "0a05c3a9efbfbd", "protobuf: a valid sequence is kept, a cut one replaced");
	sk_buf_free(&b);

	/* errors stick */
	b = sk_buf_make(8);
	otw_init(&w, &b, true);
	otw_cstr(&w, 1, "name", "longer than eight bytes");
	otw_cstr(&w, 2, "more", "x");
	is_int(otw_finish(&w), -E2BIG, "a message past the buffer's max fails with -E2BIG");
	sk_buf_free(&b);
	b = sk_buf_make(1 << 16);
	otw_init(&w, &b, false);
	for (int i = 0; i < OTW_DEPTH_MAX + 1; i++)
		otw_msg_begin(&w, 1, "m");
	is_int(otw_finish(&w), -EOVERFLOW, "nesting past OTW_DEPTH_MAX fails with -EOVERFLOW");
	sk_buf_free(&b);
	b = sk_buf_make(1 << 16);
	otw_init(&w, &b, false);
	otw_msg_begin(&w, 1, "m");
	is_int(otw_finish(&w), -EINVAL, "a message left open fails with -EINVAL");
	sk_buf_free(&b);

	/* raw elements: pre-encoded messages joined into an array */
	struct sk_buf e = sk_buf_make(64);
	otw_init(&w, &e, true);
	otw_cstr(&w, 5, "name", "s");
	otw_finish(&w);
	b = sk_buf_make(256);
	otw_init(&w, &b, true);
	otw_array_begin(&w, 2, "spans");
	otw_raw(&w, e.data, e.len);
	otw_raw(&w, e.data, e.len);
	otw_array_end(&w);
	otw_finish(&w);
	is_str(b.data, "{\"spans\":[{\"name\":\"s\"},{\"name\":\"s\"}]}", "JSON: raw elements joined with commas");
	sk_buf_free(&b);
	sk_buf_free(&e);
	e = sk_buf_make(64);
	otw_init(&w, &e, false);
	otw_cstr(&w, 5, "name", "s");
	otw_finish(&w);
	b = sk_buf_make(256);
	otw_init(&w, &b, false);
	otw_array_begin(&w, 2, "spans");
	otw_raw(&w, e.data, e.len);
	otw_array_end(&w);
	otw_finish(&w);
	is_str(hex(&b), "1203" "2a0173", "protobuf: a raw element is a length-delimited field of the array's number");
	sk_buf_free(&b);
	sk_buf_free(&e);
}

/* ---- OTEL_* ---- */

static char warned[4096];
static int n_warned;

static void on_warn(void *ud, enum log_level level, const char *msg, const char *fields)
{
	(void)ud;
	(void)level;
	n_warned++;
	(void)snprintf(warned + strlen(warned), sizeof(warned) - strlen(warned), "%s%s", msg, fields);
}

static const struct sk_log_sink warn_sink = { on_warn, NULL };
static struct tel_config cfg;

static void read_env(const char *const *env)
{
	warned[0] = '\0';
	n_warned = 0;
	tel_config_read(env, "myapp", &warn_sink, &cfg);
}

static const char *resource(const char *key)
{
	for (size_t i = 0; i < cfg.n_resource; i++)
		if (strcmp(cfg.resource[i].key, key) == 0)
			return cfg.resource[i].value;
	return "(none)";
}

static void config(void)
{
	const char *none[] = { "PATH=/bin", NULL };
	read_env(none);
	ok(!tel_config_any(&cfg) && n_warned == 0, "no endpoint: everything off, nothing said");

	const char *base[] = { "OTEL_EXPORTER_OTLP_ENDPOINT=http://col:4318/", NULL };
	read_env(base);
	is_str(cfg.sig[TEL_TRACES].url, "http://col:4318/v1/traces", "the base endpoint gets /v1/traces (one slash)");
	is_str(cfg.sig[TEL_METRICS].url, "http://col:4318/v1/metrics", "... /v1/metrics");
	is_str(cfg.sig[TEL_LOGS].url, "http://col:4318/v1/logs", "... /v1/logs");
	ok(!cfg.sig[TEL_TRACES].json && cfg.sig[TEL_TRACES].timeout_ms == 10000, "http/protobuf and 10 s by default");
	ok(cfg.sig[TEL_TRACES].delay_ms == 5000 && cfg.sig[TEL_LOGS].delay_ms == 1000 && cfg.sig[TEL_TRACES].max_queue == 2048 &&
	       cfg.sig[TEL_TRACES].max_batch == 512 && cfg.metric_interval_ms == 60000,
	   "the SDK defaults for batching and the metric interval");
	is_str(resource("service.name"), "myapp", "service.name is the app's name by default");
	ok(cfg.sampler == TEL_SAMPLE_ALWAYS_ON && cfg.parent_based, "parentbased_always_on by default");

	const char *mixed[] = { "OTEL_EXPORTER_OTLP_ENDPOINT=http://col:4318",
				"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=https://traces.example/api/t",
				"OTEL_EXPORTER_OTLP_PROTOCOL=http/json",
				"OTEL_EXPORTER_OTLP_LOGS_PROTOCOL=http/protobuf",
				"OTEL_METRICS_EXPORTER=none",
				"OTEL_EXPORTER_OTLP_HEADERS=x-api-key=s%3Dcret, tenant = a%20b",
				"OTEL_EXPORTER_OTLP_LOGS_TIMEOUT=2500",
				"OTEL_SERVICE_NAME=svc",
				"OTEL_RESOURCE_ATTRIBUTES=service.name=ignored,env=prod",
				"OTEL_TRACES_SAMPLER=traceidratio",
				"OTEL_TRACES_SAMPLER_ARG=0.25",
				NULL };
	read_env(mixed);
	is_str(cfg.sig[TEL_TRACES].url, "https://traces.example/api/t", "a signal's own endpoint is used as it is");
	ok(cfg.sig[TEL_TRACES].json && !cfg.sig[TEL_LOGS].json, "the general protocol, overridden per signal");
	ok(!cfg.sig[TEL_METRICS].on && cfg.sig[TEL_LOGS].on, "OTEL_METRICS_EXPORTER=none turns metrics off only");
	is_int((int)cfg.sig[TEL_LOGS].n_headers, 2, "two headers");
	is_str(cfg.sig[TEL_LOGS].headers[0], "x-api-key: s=cret", "... percent-decoded");
	is_str(cfg.sig[TEL_LOGS].headers[1], "tenant: a b", "... spaces around the pair trimmed");
	ok(cfg.sig[TEL_LOGS].timeout_ms == 2500 && cfg.sig[TEL_TRACES].timeout_ms == 10000, "a signal's own timeout");
	is_str(resource("service.name"), "svc", "OTEL_SERVICE_NAME wins over OTEL_RESOURCE_ATTRIBUTES");
	is_str(resource("env"), "prod", "... whose other pairs are kept");
	ok(cfg.sampler == TEL_SAMPLE_RATIO && !cfg.parent_based && cfg.ratio == 0.25, "traceidratio 0.25");
	is_int(n_warned, 0, "... and nothing to warn of");

	const char *bad[] = { "OTEL_EXPORTER_OTLP_ENDPOINT=http://col:4318",
			      "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc",
			      "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT=col:4318",
			      "OTEL_EXPORTER_OTLP_METRICS_HEADERS=no-equals-sign",
			      "OTEL_BSP_SCHEDULE_DELAY=-5",
			      "OTEL_TRACES_SAMPLER=sometimes",
			      NULL };
	read_env(bad);
	ok(!cfg.sig[TEL_TRACES].on, "grpc: that signal is off");
	ok(strstr(warned, "name=OTEL_EXPORTER_OTLP_TRACES_PROTOCOL value=\"grpc\" reason=\"OTLP over gRPC is not supported: use http/protobuf") != NULL,
	   "... with one warning naming the setting and the fix");
	ok(!cfg.sig[TEL_LOGS].on && strstr(warned, "name=OTEL_EXPORTER_OTLP_LOGS_ENDPOINT value=\"col:4318\" reason=\"want an http:// or https:// URL") != NULL,
	   "an endpoint that is not a URL: off, one warning");
	ok(cfg.sig[TEL_METRICS].on && cfg.sig[TEL_METRICS].n_headers == 0 &&
	       strstr(warned, "OTEL_EXPORTER_OTLP_METRICS_HEADERS value=\"(not shown: it may hold secrets)\"") != NULL,
	   "bad headers: sent without them, and the value is not logged");
	ok(strstr(warned, "name=OTEL_BSP_SCHEDULE_DELAY value=\"-5\" reason=\"want a whole number from 1 to 600000; using 5000\"") != NULL,
	   "a bad number: the default, one warning");
	ok(cfg.sampler == TEL_SAMPLE_ALWAYS_ON && cfg.parent_based && strstr(warned, "OTEL_TRACES_SAMPLER value=\"sometimes\"") != NULL,
	   "an unknown sampler: the default, one warning");
	is_int(n_warned, 5, "one warning per bad setting");

	const char *off[] = { "OTEL_EXPORTER_OTLP_ENDPOINT=http://col:4318", "OTEL_SDK_DISABLED=true", NULL };
	read_env(off);
	ok(!tel_config_any(&cfg), "OTEL_SDK_DISABLED=true: everything off");
}

/* ---- traceparent ---- */

static void traceparent(void)
{
	struct tel_ctx c;
	char out[TEL_TRACEPARENT_LEN + 1];
	const char *v = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

	is_int(tel_traceparent_parse(v, strlen(v), &c), 0, "a traceparent is parsed");
	ok(c.trace_id[0] == 0x0a && c.trace_id[15] == 0x9c && c.span_id[0] == 0xb7 && c.flags == 1, "... ids and sampled flag");
	tel_traceparent_format(&c, out);
	is_str(out, v, "... and formatted back the same");
	ok(tel_ctx_valid(&c), "... a valid context");
	const char *bad[] = {
		"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",     /* short */
		"00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",  /* upper case */
		"00-00000000000000000000000000000000-b7ad6b7169203331-01",  /* zero trace id */
		"00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",  /* zero span id */
		"ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  /* version ff */
		"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x", /* 00 with more */
		"00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  /* separator */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(tel_traceparent_parse(bad[i], strlen(bad[i]), &c), -EINVAL, "refused: %s", bad[i]);
	const char *later = "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00-more";
	is_int(tel_traceparent_parse(later, strlen(later), &c), 0, "a later version with more fields is read as 00");
	ok(c.flags == 0, "... not sampled");
	struct tel_span s;
	tel_span_begin(&s, "x", TEL_SPAN_SERVER, NULL);
	ok(!s.recording && !tel_ctx_valid(&s.ctx), "telemetry not started: a span records nothing and has no context");
	tel_span_end(&s);
}

int main(void)
{
	writer();
	config();
	traceparent();
	return tap_done();
}
