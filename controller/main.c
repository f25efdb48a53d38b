/* spin-controller: the SpinKube controller. main() owns the process-wide
 * state; everything it calls takes what it needs as arguments. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "spinkube-version.h"
#include "err.h"
#include "options.h"

int main(int argc, char *argv[])
{
	struct controller_options opts;
	enum controller_action action;
	struct sk_error err = { 0 };

	if (controller_options_parse(argc, (const char *const *)argv, &opts, &action, &err) < 0) {
		fprintf(stderr, "spin-controller: %s\n", err.message);
		return 2;
	}
	switch (action) {
	case CONTROLLER_HELP:
		controller_usage(stdout);
		return 0;
	case CONTROLLER_VERSION:
		printf("spin-controller %s\n", SPINKUBE_VERSION);
		return 0;
	case CONTROLLER_RUN:
		break;
	}
	fprintf(stderr, "spin-controller: this build has no reconciler yet; only --help and --version work\n");
	return 1;
}
