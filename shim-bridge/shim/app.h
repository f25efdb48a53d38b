/* "containerd-shim-spin-v2 app": the app process of one container (see
 * process.c for how it is started). It listens on SPIN_HTTP_LISTEN_ADDR,
 * says so on fd 4 (Create waits for that), waits on fd 3 for Start, finds the
 * Spin app (the OCI Wasm artifact CRI pulled, read through containerd's
 * content store, or the rootfs of an ordinary image holding spin.toml),
 * sets up what the container's spec asks (runtime-config.toml, the CA
 * bundle, the memory limit as instance memory and instance count) and runs
 * spin-bridge's server (shim-bridge/spin-bridge/bridge.h) with the
 * container's environment. A failure is one line on stderr (kubectl logs)
 * and in the termination message (kubectl describe), and exit status 1. */
#ifndef SPINKUBE_SHIM_APP_H
#define SPINKUBE_SHIM_APP_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

#include "shim-bridge/shim/spec.h"

struct shim_app_args {
	const char *bundle, *id, *ns, *grpc_address, *state_dir;
	bool spare; /* bundle, id, network namespace and log pipes come on fd 3 */
};

int shim_app_main(const struct shim_app_args *a);

/* What one run of the app needs: spin-bridge's command line (argv points
 * into it), and the CA bundle the spec binds in ("" when none). */
struct shim_app_run {
	const char *listen;
	char ca[PATH_MAX];
	char from[PATH_MAX], cache[PATH_MAX], state[PATH_MAX], mem_s[32], conc_s[16], lfd_s[16];
	const char *argv[24];
	int argc;
};

/* Find the app of the container sp describes (fetching it from
 * containerd's content store into the state folder), make its state
 * folders, and fill run with spin-bridge's command line: listen names
 * SPIN_HTTP_LISTEN_ADDR, lfd the socket already listening there, the memory
 * limit becomes instance memory and count. own_process: the app has the
 * process to itself (its environment is the process's; the CA bundle the
 * spec binds in goes to SPIN_OUTBOUND_CA_FILE); else the spec's
 * environment is read instead and the process's is left alone (the
 * caller hands run->ca to the app's host). */
int shim_app_plan(const struct shim_app_args *a, const struct shim_spec *sp, const char *listen, int lfd,
		  bool own_process, struct shim_app_run *run, struct sk_error *err);

/* Write line to the container's termination message file, when the spec
 * binds one in (kubectl describe shows it). */
void shim_app_fail_message(const struct shim_spec *sp, const char *line);

#endif
