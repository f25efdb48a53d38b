/* spin-controller --release-executors: the chart's pre-delete hook (see
 * release.c). */
#ifndef SPINKUBE_CONTROLLER_RELEASE_H
#define SPINKUBE_CONTROLLER_RELEASE_H

#include "controller/options.h"

/* Delete every SpinAppExecutor opts->release_selector matches and take the
 * controller's finalizer off each, within 60 s. Returns the exit status. */
int controller_release_executors(const struct controller_options *opts);

#endif
