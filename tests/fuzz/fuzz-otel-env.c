/* libFuzzer target: the OTEL_* environment (from the pod spec, outside
 * input), an incoming traceparent header (from any client) and the OTLP
 * writer's strings (guest output lines, request paths). The input's first
 * line is a traceparent value, the rest "NAME=value" lines of an
 * environment. Nothing may crash or hang, and:
 *   - a traceparent that parses formats back to one that parses the same;
 *   - every exported signal has an http(s) URL and headers "Name: value"
 *     without CR or LF;
 *   - every warning is one line;
 *   - the writer's JSON and protobuf strings of the input are valid UTF-8,
 *     the JSON without a raw control character. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/escape.h"
#include "common/utf8.h"
#include "shim-bridge/telemetry/otel-config.h"
#include "shim-bridge/telemetry/otlp-write.h"
#include "shim-bridge/telemetry/telemetry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ENV_MAX 64

static void on_warn(void *ud, enum log_level level, const char *msg, const char *fields)
{
	(void)ud;
	(void)level;
	if (!sk_is_one_line(msg) || !sk_is_one_line(fields))
		__builtin_trap();
}

static void traceparent(const char *v, size_t n)
{
	struct tel_ctx c, again;
	char out[TEL_TRACEPARENT_LEN + 1];

	if (tel_traceparent_parse(v, n, &c) < 0)
		return;
	tel_traceparent_format(&c, out);
	if (strlen(out) != TEL_TRACEPARENT_LEN || tel_traceparent_parse(out, strlen(out), &again) < 0 ||
	    memcmp(&c, &again, sizeof(c)) != 0 || !tel_ctx_valid(&c))
		__builtin_trap();
}

static void writer(const char *s, size_t n, bool json)
{
	struct sk_buf b = sk_buf_make(1 << 20);
	struct otw w;

	otw_init(&w, &b, json);
	otw_str(&w, 1, "s", s, n);
	if (otw_finish(&w) == 0) {
		size_t at = 0;
		if (!json) { /* past the tag and the length: the string's bytes */
			at = 1;
			while (at < b.len && ((unsigned char)b.data[at] & 0x80))
				at++;
			at++;
		}
		if (at > b.len || !sk_utf8_valid(b.data + at, b.len - at))
			__builtin_trap();
		for (size_t i = 0; json && i < b.len; i++)
			if ((unsigned char)b.data[i] < 0x20)
				__builtin_trap();
	}
	sk_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct sk_log_sink sink = { on_warn, NULL };
	static struct tel_config cfg;
	const char *env[ENV_MAX + 1];
	size_t n_env = 0;
	char *in;

	if (size > 16384 || !(in = malloc(size + 1)))
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	char *nl = memchr(in, '\n', size);
	size_t first = nl ? (size_t)(nl - in) : size;
	traceparent(in, first);
	writer(in, size, true);
	writer(in, size, false);
	for (char *p = nl ? nl + 1 : in + size; p < in + size && n_env < ENV_MAX;) {
		char *e = strchr(p, '\n');
		if (e)
			*e = '\0';
		env[n_env++] = p;
		p = e ? e + 1 : in + size;
	}
	env[n_env] = NULL;
	tel_config_read(env, "app", &sink, &cfg);
	for (int s = 0; s < TEL_SIGNALS; s++) {
		const struct tel_signal_config *c = &cfg.sig[s];
		if (!c->on)
			continue;
		if (strncasecmp(c->url, "http://", 7) != 0 && strncasecmp(c->url, "https://", 8) != 0)
			__builtin_trap();
		if (c->n_headers > TEL_HEADERS_MAX || c->max_batch > c->max_queue || c->max_queue == 0)
			__builtin_trap();
		for (size_t i = 0; i < c->n_headers; i++)
			if (strpbrk(c->headers[i], "\r\n") || !strstr(c->headers[i], ": "))
				__builtin_trap();
	}
	if (cfg.n_resource > TEL_ATTRS_MAX)
		__builtin_trap();
	free(in);
	return 0;
}
