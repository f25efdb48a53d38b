/* Command-line options of spin-controller. Parsing is pure: it reads argv and
 * fills a struct whose strings are borrowed from argv (argv outlives them). */
#ifndef SPINKUBE_CONTROLLER_OPTIONS_H
#define SPINKUBE_CONTROLLER_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>

#include "common/err.h"

enum controller_action {
	CONTROLLER_RUN,
	CONTROLLER_HELP,
	CONTROLLER_VERSION,
	CONTROLLER_RELEASE_EXECUTORS, /* --release-executors SELECTOR */
};

struct controller_options {
	const char *kubeconfig; /* --kubeconfig; NULL: KUBECONFIG, ~/.kube/config, in-cluster */
	const char *context;    /* --context; NULL: the kubeconfig's current-context */
	double qps;             /* --kube-api-qps; default 200 */
	long burst;             /* --kube-api-burst; default 400 */
	long concurrency;       /* --concurrent-reconciles; default 32 */
	long resync_seconds;    /* --resync-period; default 600, 0 off */
	/* leader election (controller-runtime's flags and defaults) */
	bool leader_elect;                  /* --leader-elect; default false */
	const char *leader_election_id;     /* --leader-election-id */
	const char *leader_election_ns;     /* --leader-election-namespace; NULL: the pod's */
	long lease_ms, renew_deadline_ms, retry_ms; /* 15 s, 10 s, 2 s */
	/* metrics and probes (controller-runtime's flags and defaults) */
	const char *metrics_addr;   /* --metrics-bind-address; default ":8080", "0" off */
	bool metrics_secure;        /* --metrics-secure; default true */
	const char *metrics_cert_dir; /* --metrics-cert-path; NULL: self-signed */
	const char *health_addr;    /* --health-probe-bind-address; default ":8082", "0" off */
	/* --release-executors: delete the executors this label selector
	 * matches, take the finalizer off them, and exit (the chart's
	 * pre-delete hook) */
	const char *release_selector;
};

/* The default --leader-election-id: the Lease's name. */
#define CONTROLLER_LEADER_ID_DEFAULT "spin-controller.spinkube.dev"

/* Parse argv[1..argc-1]. On success fills *opts and *action and returns 0; on a
 * bad argument returns -EINVAL with a message naming the argument and the fix.
 * --help and --version win over everything after them. */
int controller_options_parse(int argc, const char *const argv[], struct controller_options *opts,
			     enum controller_action *action, struct sk_error *err);

/* Print the --help text. */
void controller_usage(FILE *out);

#endif
