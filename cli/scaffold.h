/* spinkube scaffold: the SpinApp YAML `spin kube scaffold` prints, from the
 * same flags, plus a few of ours (--listen-port, --node-selector,
 * --variable, --component are rendered as our CRD spells them).
 *
 * scaffold_render is pure: options in, text out (no I/O, no clock), so
 * golden files pin its output; scaffold_main is the command around it. */
#ifndef SPINKUBE_CLI_SCAFFOLD_H
#define SPINKUBE_CLI_SCAFFOLD_H

#include <stddef.h>

#include "common/buf.h"
#include "common/err.h"

#define SCAFFOLD_LIST_MAX 128          /* entries of each repeated flag */
#define SCAFFOLD_RUNTIME_CONFIG_MAX (1024 * 1024)
#define SCAFFOLD_OUTPUT_MAX (4 * 1024 * 1024)

struct scaffold_kv {
	const char *key, *value; /* borrowed */
};

struct scaffold_options {
	const char *from;            /* required: the image reference */
	long replicas;               /* default 2; the minimum with an autoscaler */
	long max_replicas;           /* default 3 */
	const char *executor;        /* default "containerd-shim-spin" */
	const char *autoscaler;      /* NULL, "hpa" or "keda" */
	long target_cpu, target_memory; /* utilization percentages, default 60 */
	const char *cpu_limit, *memory_limit, *cpu_request, *memory_request;
	const char *pull_secrets[SCAFFOLD_LIST_MAX];
	size_t n_pull_secrets;
	struct scaffold_kv variables[SCAFFOLD_LIST_MAX];
	size_t n_variables;
	const char *components[SCAFFOLD_LIST_MAX];
	size_t n_components;
	struct scaffold_kv node_selector[SCAFFOLD_LIST_MAX];
	size_t n_node_selector;
	long listen_port;            /* 0: not set */
	const char *scale_target;    /* NULL or "deployment" (upstream), or "spinapp": the
	                              * autoscaler drives the SpinApp's scale subresource */
	const char *runtime_config;  /* the file's bytes (borrowed), or NULL */
	size_t runtime_config_len;
};

/* The defaults upstream has. */
void scaffold_defaults(struct scaffold_options *o);

/* Check the flags as upstream does (and what our CRD's rules would refuse),
 * then render the YAML documents into *out (an sk_buf the caller frees).
 * Errors are one line naming the flag and what is allowed. */
int scaffold_render(const struct scaffold_options *o, struct sk_buf *out, struct sk_error *err);

/* The command: argv[0] is "scaffold". Returns the exit code. */
int scaffold_main(int argc, char **argv);

#endif
