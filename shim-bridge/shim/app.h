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

#include <stdbool.h>
#include <stdint.h>

#include "shim-bridge/shim/spec.h"

struct shim_app_args {
	const char *bundle, *id, *ns, *grpc_address, *state_dir;
	bool spare; /* bundle, id, network namespace and log pipes come on fd 3 */
};

int shim_app_main(const struct shim_app_args *a);

#endif
