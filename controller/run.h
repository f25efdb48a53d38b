/* The controller's main loop. */
#ifndef SPINKUBE_CONTROLLER_RUN_H
#define SPINKUBE_CONTROLLER_RUN_H

#include <signal.h>

#include "options.h"

/* Connect with opts, watch SpinApps and SpinAppExecutors, and run until *stop
 * becomes non-zero (set from a signal handler, which should also call
 * controller_wakeup). Returns the process exit status. */
int controller_run(const struct controller_options *opts, volatile sig_atomic_t *stop);

/* Wake the loop from a signal handler. */
void controller_wakeup(void);

#endif
