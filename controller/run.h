/* The controller's main loop. */
#ifndef SPINKUBE_CONTROLLER_RUN_H
#define SPINKUBE_CONTROLLER_RUN_H

#include <signal.h>

#include "controller/options.h"

/* Connect with opts, reconcile SpinApps and SpinAppExecutors, and run until
 * *stop becomes non-zero (set from a signal handler, which should also call
 * controller_wakeup). When *dump_stats becomes non-zero (SIGUSR1), log the
 * counters once and reset the flag. Returns the process exit status. */
int controller_run(const struct controller_options *opts, volatile sig_atomic_t *stop,
		   volatile sig_atomic_t *dump_stats);

/* Wake the loop from a signal handler. */
void controller_wakeup(void);

#endif
