/* The spin-bridge program as a function: parse argv and the environment
 * (shim-bridge/spin-bridge/options.h), load the app, serve it until SIGTERM
 * or SIGINT, drain, return the exit code. spin-bridge's main() is this call;
 * containerd-shim-spin-v2 runs it in each app container's process. */
#ifndef SPIN_BRIDGE_BRIDGE_H
#define SPIN_BRIDGE_BRIDGE_H

#include "common/err.h"

/* Returns 0 after a drain, 1 when the app cannot start, 2 for bad usage. */
int bridge_main(int argc, char *argv[]);

/* The same; when the app cannot start, the reason also goes to *failure
 * (when not NULL). */
int bridge_run(int argc, char *argv[], struct sk_error *failure);

#endif
