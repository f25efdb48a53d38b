/* spin-bridge's command line and environment, parsed by a pure function so
 * the unit tests see exactly what the program sees. */
#ifndef SPIN_BRIDGE_OPTIONS_H
#define SPIN_BRIDGE_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"

enum bridge_action { BRIDGE_UP, BRIDGE_HELP, BRIDGE_VERSION };

struct bridge_options {
	const char *from;              /* app folder, spin.toml or locked-app JSON */
	const char *listen;            /* host:port */
	int listen_fd;                 /* --listen-fd: a listening socket already open, or -1 */
	const char *cache_dir;         /* compiled-code cache, NULL: none */
	const char *retain;            /* SPIN_COMPONENTS_TO_RETAIN, or NULL */
	const char *work_dir;          /* where mapped files are staged */
	const char *runtime_config;    /* Spin runtime-config.toml to read */
	bool runtime_config_required;  /* named by flag or environment: must exist */
	const char *state_dir;         /* --state-dir; NULL: Spin's default, "": none */
	uint64_t max_instance_memory;  /* bytes */
	uint64_t timeout_ms;           /* per-request CPU time */
	uint64_t max_request_body;     /* bytes */
	uint64_t max_response_body;    /* bytes */
	unsigned max_concurrent;       /* instances at once */
	unsigned drain_ms;             /* SIGTERM: time to finish requests */
	unsigned shutdown_delay_ms;    /* SIGTERM: keep accepting this long first */
	unsigned head_timeout_ms;      /* a request head must arrive within */
	bool log_requests;             /* one log line per request */
};

/* Parse argv (argv[0] is the program) with the environment envp. Strings in
 * *o point into argv, envp or static storage; *o is valid while they are.
 * Returns 0, or -EINVAL with one line in err naming the flag and the fix.
 * cache_home is where the default cache lives (from XDG_CACHE_HOME/HOME);
 * it is computed from envp into the caller's buffer. */
int bridge_options_parse(int argc, const char *const *argv, const char *const *envp, struct bridge_options *o,
			 enum bridge_action *action, char *cache_buf, size_t cache_buf_size, struct sk_error *err);

/* Parse a byte size: "1048576", "64Mi", "1Gi", "512Ki" (also K/M/G, kB/MB/GB
 * as powers of ten). */
int bridge_parse_size(const char *s, uint64_t *out);

/* The --help text. */
void bridge_usage(FILE *f);

#endif
