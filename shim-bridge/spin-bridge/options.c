#include "shim-bridge/spin-bridge/options.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/kv.h"

int bridge_parse_size(const char *s, uint64_t *out)
{
	static const struct {
		const char *suffix;
		uint64_t mult;
	} units[] = {
		{ "", 1 },		     { "Ki", 1ull << 10 },   { "Mi", 1ull << 20 },    { "Gi", 1ull << 30 },
		{ "K", 1000 },	     { "M", 1000000 },	     { "G", 1000000000 },     { "kB", 1000 },
		{ "KB", 1000 },	     { "MB", 1000000 },	     { "GB", 1000000000 },    { "B", 1 },
	};
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix) != 0)
			continue;
		if (v > UINT64_MAX / units[i].mult)
			return -ERANGE;
		*out = v * units[i].mult;
		return 0;
	}
	return -EINVAL;
}

static int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

void bridge_usage(FILE *f)
{
	fputs("Usage: spin-bridge up --from PATH [OPTIONS]\n"
	      "       spin-bridge --help | --version\n"
	      "\n"
	      "Serve a Spin app on wasmtime: a fresh WebAssembly instance per HTTP request or\n"
	      "Redis message.\n"
	      "\n"
	      "PATH is a folder holding spin.toml (or, without one, spin.lock or locked-app.json),\n"
	      "a spin.toml file (manifest version 2), or a locked-app JSON file.\n"
	      "\n"
	      "Options:\n"
	      "  --from PATH                  the app to serve (required)\n"
	      "  --listen ADDR                address to listen on, host:port or [v6]:port\n"
	      "                               (default: $SPIN_HTTP_LISTEN_ADDR, else 0.0.0.0:80)\n"
	      "  --max-instance-memory SIZE   linear memory cap per instance, e.g. 134217728, 128Mi\n"
	      "                               (default: $SPIN_MAX_INSTANCE_MEMORY, else 128Mi)\n"
	      "  --timeout MS                 time (wall clock) a request may run before it is stopped\n"
	      "                               with a 500 (default 30000)\n"
	      "  --max-concurrent N           instances running at once; more requests wait in a\n"
	      "                               queue, and a full queue answers 503 (default 2 x CPUs,\n"
	      "                               at least 4)\n"
	      "  --max-request-body SIZE      larger request bodies get 413 (default 32Mi)\n"
	      "  --max-response-body SIZE     larger responses or WAGI output give 500 (default 64Mi)\n"
	      "  --head-timeout MS            a request head must arrive within this, else 408\n"
	      "                               (default 10000)\n"
	      "  --cache-dir DIR              compiled-code cache (default: $SPIN_BRIDGE_CACHE_DIR,\n"
	      "                               else $XDG_CACHE_HOME/spin-bridge, else ~/.cache/spin-bridge)\n"
	      "  --no-cache                   compile at every start, write nothing\n"
	      "  --work-dir DIR               where component files are staged (default: a new\n"
	      "                               folder under $TMPDIR or /tmp, removed at exit)\n"
	      "  --runtime-config-file FILE   Spin runtime config: key-value stores, SQLite databases\n"
	      "                               and variable providers (default:\n"
	      "                               $SPIN_RUNTIME_CONFIG_FILE, else /runtime-config.toml\n"
	      "                               when it exists)\n"
	      "  --state-dir DIR              where the default key-value store and SQLite database\n"
	      "                               keep sqlite_key_value.db and sqlite_db.db (default:\n"
	      "                               state_dir from the runtime config, else .spin in the\n"
	      "                               app's folder; \"\" keeps them in memory)\n"
	      "  --drain-timeout MS           on SIGTERM or SIGINT, time given to requests in progress\n"
	      "                               before exiting (default 10000)\n"
	      "  --listen-fd N                serve on the listening socket N, already open (what\n"
	      "                               --listen names is then only logged)\n"
	      "  --shutdown-delay MS          on SIGTERM or SIGINT, keep accepting requests this long\n"
	      "                               first (answers close their connections), while load\n"
	      "                               balancers drop this server (default 0)\n"
	      "  --log-requests               one log line per request\n"
	      "  -h, --help                   this text\n"
	      "  --version                    the version\n"
	      "\n",
	      f);
	/* two strings: each under the 4095 bytes C99 promises */
	fputs("Environment:\n"
	      "  SPIN_HTTP_LISTEN_ADDR        default for --listen\n"
	      "  SPIN_MAX_INSTANCE_MEMORY     default for --max-instance-memory (bytes)\n"
	      "  SPIN_COMPONENTS_TO_RETAIN    comma-separated component ids: serve only these and\n"
	      "                               the routes that use them\n"
	      "  SPIN_VARIABLE_<NAME>         value of application variable <name> (also a plain\n"
	      "                               <NAME> variable); else the manifest's default\n"
	      "  SPIN_BRIDGE_CACHE_DIR        default for --cache-dir\n"
	      "  SPIN_RUNTIME_CONFIG_FILE     default for --runtime-config-file\n"
	      "  SPIN_OUTBOUND_CA_FILE        CA bundle for guests' outbound TLS (HTTPS, MySQL,\n"
	      "                               PostgreSQL, Redis) and for rediss:// key-value stores\n"
	      "                               and Redis triggers, instead of SSL_CERT_FILE or the\n"
	      "                               system's (a private CA)\n"
	      "  OTEL_EXPORTER_OTLP_ENDPOINT  export traces, metrics and logs over OTLP/HTTP to\n"
	      "                               this base URL (+ /v1/traces ...); also the per-signal\n"
	      "                               OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_ENDPOINT and\n"
	      "                               the OpenTelemetry SDK's other OTEL_* settings\n"
	      "                               (_PROTOCOL http/protobuf or http/json, _HEADERS,\n"
	      "                               _TIMEOUT, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,\n"
	      "                               OTEL_TRACES_SAMPLER, OTEL_BSP_*, OTEL_SDK_DISABLED)\n"
	      "\n"
	      "Logs: logfmt records on stderr; guest stdout and stderr are forwarded line by line\n"
	      "with the component id. A trap, a timeout or a malformed response answers 500 and\n"
	      "logs one line with the component id and the reason.\n",
	      f);
	fputs("\n"
	      "Redis trigger: each [[trigger.redis]] channel is subscribed to at its address (the\n"
	      "trigger's, else [application.trigger.redis] address; {{ variable }} templates\n"
	      "allowed), one connection per address, and each message calls the component's\n"
	      "fermyon:spin/inbound-redis handle-message on a fresh instance. At most\n"
	      "--max-concurrent messages are in flight (in an app with HTTP triggers too, HTTP\n"
	      "requests and Redis messages share that many instances); past that the socket is not\n"
	      "read until one ends. A message over 1 MiB is refused and logged; a failed handler is\n"
	      "logged with its component and channel. A lost connection is made again after 100 ms,\n"
	      "doubling to 5 s. On SIGTERM or SIGINT the subscribers stop at once and messages in\n"
	      "flight get --drain-timeout (after the HTTP drain). An app with Redis triggers only\n"
	      "opens no HTTP listener (--listen and --listen-fd are then unused; a socket passed\n"
	      "with --listen-fd is closed). A rediss:// address subscribes over TLS, the server's\n"
	      "certificate checked against SPIN_OUTBOUND_CA_FILE, else SSL_CERT_FILE, else the\n"
	      "system's CA bundle.\n",
	      f);
}

/* Flags that take a value. */
static bool known_flag(const char *a, size_t n)
{
	static const char *const flags[] = { "--from", "--listen", "--cache-dir", "--work-dir",
					     "--max-instance-memory", "--max-request-body", "--max-response-body",
					     "--timeout", "--head-timeout", "--drain-timeout", "--max-concurrent", "--shutdown-delay", "--listen-fd",
					     "--runtime-config-file", "--state-dir" };
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (strlen(flags[i]) == n && strncmp(a, flags[i], n) == 0)
			return true;
	return false;
}

static void defaults(struct bridge_options *o, const char *const *envp, char *cache_buf, size_t cache_size)
{
	const char *v;

	memset(o, 0, sizeof(*o));
	o->listen_fd = -1;
	o->listen = sk_env_get(envp, "SPIN_HTTP_LISTEN_ADDR");
	if (!o->listen || !*o->listen)
		o->listen = "0.0.0.0:80";
	o->max_instance_memory = 128ull << 20;
	o->timeout_ms = 30000;
	o->max_request_body = 32ull << 20;
	o->max_response_body = 64ull << 20;
	o->drain_ms = 10000;
	o->head_timeout_ms = 10000;
	/* SpinKube's shim mounts the app's runtime config here; it is
	 * optional unless named. */
	o->runtime_config = "/runtime-config.toml";
	if ((v = sk_env_get(envp, "SPIN_RUNTIME_CONFIG_FILE")) && *v) {
		o->runtime_config = v;
		o->runtime_config_required = true;
	}
	o->retain = sk_env_get(envp, "SPIN_COMPONENTS_TO_RETAIN");
	if (o->retain && !*o->retain)
		o->retain = NULL;
	cache_buf[0] = '\0';
	if ((v = sk_env_get(envp, "SPIN_BRIDGE_CACHE_DIR")) && *v)
		snprintf(cache_buf, cache_size, "%s", v);
	else if ((v = sk_env_get(envp, "XDG_CACHE_HOME")) && *v)
		snprintf(cache_buf, cache_size, "%s/spin-bridge", v);
	else if ((v = sk_env_get(envp, "HOME")) && *v)
		snprintf(cache_buf, cache_size, "%s/.cache/spin-bridge", v);
	o->cache_dir = cache_buf[0] ? cache_buf : NULL;
}

/* Set the flag a[0..nlen) (a known flag that takes a value) to val. */
static int set_flag(struct bridge_options *o, const char *a, size_t nlen, const char *val, struct sk_error *err)
{
	uint64_t u;

#define FLAG(name) (nlen == strlen(name) && strncmp(a, name, nlen) == 0)
	if (FLAG("--from")) {
		o->from = val;
	} else if (FLAG("--listen")) {
		o->listen = val;
	} else if (FLAG("--cache-dir")) {
		o->cache_dir = val;
	} else if (FLAG("--work-dir")) {
		o->work_dir = val;
	} else if (FLAG("--runtime-config-file")) {
		if (!*val)
			return sk_err(err, -EINVAL, "--runtime-config-file is empty (name a runtime-config.toml)");
		o->runtime_config = val;
		o->runtime_config_required = true;
	} else if (FLAG("--state-dir")) {
		o->state_dir = val;
	} else if (FLAG("--max-instance-memory")) {
		if (bridge_parse_size(val, &o->max_instance_memory) < 0 || o->max_instance_memory < (1u << 16))
			return sk_err(err, -EINVAL, "--max-instance-memory \"%s\": not a size of at least 64Ki", val);
	} else if (FLAG("--max-request-body")) {
		if (bridge_parse_size(val, &o->max_request_body) < 0)
			return sk_err(err, -EINVAL, "--max-request-body \"%s\": not a size (e.g. 32Mi)", val);
	} else if (FLAG("--max-response-body")) {
		if (bridge_parse_size(val, &o->max_response_body) < 0 || o->max_response_body < 1024)
			return sk_err(err, -EINVAL, "--max-response-body \"%s\": not a size of at least 1Ki", val);
	} else if (FLAG("--timeout")) {
		if (parse_uint(val, 1, 86400000, &o->timeout_ms) < 0)
			return sk_err(err, -EINVAL, "--timeout \"%s\": milliseconds from 1 to 86400000", val);
	} else if (FLAG("--head-timeout")) {
		if (parse_uint(val, 1, 3600000, &u) < 0)
			return sk_err(err, -EINVAL, "--head-timeout \"%s\": milliseconds from 1 to 3600000", val);
		o->head_timeout_ms = (unsigned)u;
	} else if (FLAG("--drain-timeout")) {
		if (parse_uint(val, 0, 3600000, &u) < 0)
			return sk_err(err, -EINVAL, "--drain-timeout \"%s\": milliseconds from 0 to 3600000", val);
		o->drain_ms = (unsigned)u;
	} else if (FLAG("--listen-fd")) {
		if (parse_uint(val, 3, 65535, &u) < 0)
			return sk_err(err, -EINVAL, "--listen-fd \"%s\": a descriptor number from 3 up", val);
		o->listen_fd = (int)u;
	} else if (FLAG("--shutdown-delay")) {
		if (parse_uint(val, 0, 600000, &u) < 0)
			return sk_err(err, -EINVAL, "--shutdown-delay \"%s\": milliseconds from 0 to 600000", val);
		o->shutdown_delay_ms = (unsigned)u;
	} else if (FLAG("--max-concurrent")) {
		if (parse_uint(val, 1, 4096, &u) < 0)
			return sk_err(err, -EINVAL, "--max-concurrent \"%s\": a number from 1 to 4096", val);
		o->max_concurrent = (unsigned)u;
	} else {
		return sk_err(err, -EINVAL, "unknown flag %.*s (see --help)", (int)nlen, a);
	}
#undef FLAG
	return 0;
}

int bridge_options_parse(int argc, const char *const *argv, const char *const *envp, struct bridge_options *o,
			 enum bridge_action *action, char *cache_buf, size_t cache_buf_size, struct sk_error *err)
{
	const char *v;
	bool up = false;

	defaults(o, envp, cache_buf, cache_buf_size);
	if ((v = sk_env_get(envp, "SPIN_MAX_INSTANCE_MEMORY")) && *v &&
	    (bridge_parse_size(v, &o->max_instance_memory) < 0 || o->max_instance_memory < (1u << 16)))
		return sk_err(err, -EINVAL, "SPIN_MAX_INSTANCE_MEMORY=\"%s\": not a size of at least 64Ki "
					    "(bytes, or a number with Ki, Mi or Gi)", v);
	*action = BRIDGE_UP;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = NULL;
		size_t nlen = strlen(a);
		const char *eq = strchr(a, '=');

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			*action = BRIDGE_HELP;
			return 0;
		}
		if (strcmp(a, "--version") == 0) {
			*action = BRIDGE_VERSION;
			return 0;
		}
		if (strcmp(a, "up") == 0 && !up) {
			up = true;
			continue;
		}
		if (strcmp(a, "--no-cache") == 0) {
			o->cache_dir = NULL;
			continue;
		}
		if (strcmp(a, "--log-requests") == 0) {
			o->log_requests = true;
			continue;
		}
		if (strncmp(a, "--", 2) != 0)
			return sk_err(err, -EINVAL, "unexpected argument \"%s\" (usage: spin-bridge up --from PATH; "
						    "see --help)", a);
		if (eq)
			nlen = (size_t)(eq - a);
		if (!known_flag(a, nlen))
			return sk_err(err, -EINVAL, "unknown flag %.*s (see --help)", (int)nlen, a);
		if (eq) {
			val = eq + 1;
		} else if (i + 1 < argc) {
			val = argv[++i];
		} else {
			return sk_err(err, -EINVAL, "%s needs a value (see --help)", a);
		}
		int r = set_flag(o, a, nlen, val, err);
		if (r < 0)
			return r;
	}
	if (!up)
		return sk_err(err, -EINVAL, "no command: use \"spin-bridge up --from PATH\" (see --help)");
	if (!o->from || !*o->from)
		return sk_err(err, -EINVAL, "up needs --from PATH (a folder with spin.toml, a spin.toml, or a "
					    "locked-app JSON file)");
	if (!*o->listen)
		return sk_err(err, -EINVAL, "--listen is empty (use host:port, e.g. 0.0.0.0:3000)");
	return 0;
}
