#include "options.h"

#include <errno.h>
#include <string.h>

void controller_usage(FILE *out)
{
	fputs("Usage: spin-controller [OPTIONS]\n"
	      "\n"
	      "Watches SpinApp and SpinAppExecutor resources (core.spinkube.dev/v1alpha1)\n"
	      "through the kube-apiserver and logs what it sees, one logfmt line per\n"
	      "event on stderr. Reconciling them into Deployments, Services and\n"
	      "runtime-config Secrets is not built yet. Stops cleanly on SIGTERM or SIGINT.\n"
	      "\n"
	      "Options:\n"
	      "  --kubeconfig PATH  kubeconfig file to use. Without it, the KUBECONFIG\n"
	      "                     environment variable, then ~/.kube/config, then the\n"
	      "                     in-cluster service account, as kubectl does.\n"
	      "  --context NAME     kubeconfig context to use instead of current-context\n"
	      "  --version          print the version and exit\n"
	      "  -h, --help         print this help and exit\n"
	      "\n"
	      "Environment:\n"
	      "  KUBECONFIG         colon-separated kubeconfig files, used when --kubeconfig\n"
	      "                     is not given\n",
	      out);
}

/* Take the value of an option written as "--name VALUE" or "--name=VALUE".
 * Returns 1 when argv[*i] is this option (advancing *i past a separate value),
 * 0 when it is another option, negative on a missing or empty value. */
static int option_value(int argc, const char *const argv[], int *i, const char *name,
			const char **value, struct sk_error *err)
{
	const char *arg = argv[*i];
	size_t n = strlen(name);

	if (strncmp(arg, name, n) != 0)
		return 0;
	if (arg[n] == '=') {
		*value = arg + n + 1;
	} else if (arg[n] == '\0') {
		if (*i + 1 >= argc)
			return sk_err(err, -EINVAL, "%s needs a value", name);
		*value = argv[++*i];
	} else {
		return 0;
	}
	if (**value == '\0')
		return sk_err(err, -EINVAL, "%s needs a non-empty value", name);
	return 1;
}

int controller_options_parse(int argc, const char *const argv[], struct controller_options *opts,
			     enum controller_action *action, struct sk_error *err)
{
	struct controller_options o = { 0 };
	int r;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			*action = CONTROLLER_HELP;
			return 0;
		}
		if (strcmp(arg, "--version") == 0) {
			*action = CONTROLLER_VERSION;
			return 0;
		}
		r = option_value(argc, argv, &i, "--kubeconfig", &o.kubeconfig, err);
		if (r == 0)
			r = option_value(argc, argv, &i, "--context", &o.context, err);
		if (r < 0)
			return r;
		if (r > 0)
			continue;
		return sk_err(err, -EINVAL, "unknown argument '%s' (see spin-controller --help)", arg);
	}
	*opts = o;
	*action = CONTROLLER_RUN;
	return 0;
}
