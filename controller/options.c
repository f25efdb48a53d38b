#include "controller/options.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "controller/metrics/server.h"

void controller_usage(FILE *out)
{
	fputs("Usage: spin-controller [OPTIONS]\n"
	      "\n"
	      "Reconciles SpinApp and SpinAppExecutor resources (core.spinkube.dev/v1alpha1)\n"
	      "into Deployments, Services and runtime-config Secrets, and keeps their status\n"
	      "(Ready, Available, Progressing) current. Logs one logfmt line per event on\n"
	      "stderr. Stops cleanly on SIGTERM or SIGINT; SIGUSR1 logs its counters\n"
	      "(reconciles, writes, events).\n"
	      "\n"
	      "Options:\n"
	      "  --kubeconfig PATH  kubeconfig file to use. Without it, the KUBECONFIG\n"
	      "                     environment variable, then ~/.kube/config, then the\n"
	      "                     in-cluster service account, as kubectl does.\n"
	      "  --context NAME     kubeconfig context to use instead of current-context\n"
	      "  --kube-api-qps N   requests per second to the apiserver (default 200)\n"
	      "  --kube-api-burst N requests the rate limiter lets through at once\n"
	      "                     (default 400)\n"
	      "  --concurrent-reconciles N\n"
	      "                     SpinApps reconciled at the same time (default 32)\n"
	      "  --resync-period SECONDS\n"
	      "                     look at every SpinApp again this often; nothing is\n"
	      "                     written when nothing changed (default 600, 0 off)\n"
	      "  --leader-elect[=true|false]\n"
	      "                     elect one active controller through a Lease; the others\n"
	      "                     stand by without writing (default false)\n"
	      "  --leader-election-id NAME\n"
	      "                     the Lease's name (default " CONTROLLER_LEADER_ID_DEFAULT ")\n"
	      "  --leader-election-namespace NS\n"
	      "                     the Lease's namespace (default: the pod's, from\n"
	      "                     POD_NAMESPACE or the service account)\n"
	      "  --leader-elect-lease-duration D, --leader-elect-renew-deadline D,\n"
	      "  --leader-elect-retry-period D\n"
	      "                     durations such as 15s or 500ms (defaults 15s, 10s, 2s)\n"
	      "  --metrics-bind-address ADDR\n"
	      "                     serve Prometheus metrics on /metrics at ADDR (host:port;\n"
	      "                     default :8080, 0 off)\n"
	      "  --metrics-secure[=true|false]\n"
	      "                     HTTPS, and only for bearer tokens whose user may get\n"
	      "                     /metrics (TokenReview, SubjectAccessReview); false:\n"
	      "                     plain HTTP for anyone (default true)\n"
	      "  --metrics-cert-path DIR\n"
	      "                     tls.crt and tls.key for the metrics endpoint (default: a\n"
	      "                     self-signed certificate made at start)\n"
	      "  --health-probe-bind-address ADDR\n"
	      "                     serve /healthz and /readyz over HTTP at ADDR (default\n"
	      "                     :8082, 0 off)\n"
	      "  --release-executors SELECTOR\n"
	      "                     instead of running: delete the SpinAppExecutors of every\n"
	      "                     namespace that the label SELECTOR matches, take the\n"
	      "                     controller's finalizer off them, and exit once they are\n"
	      "                     gone (at most 60 s; the Helm chart's pre-delete hook)\n"
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

/* A number option in [min, max]. Same return convention as option_value. */
static int option_number(int argc, const char *const argv[], int *i, const char *name, long min, long max,
			 long *out, struct sk_error *err)
{
	const char *v = NULL;
	char *end = NULL;
	long n;
	int r = option_value(argc, argv, i, name, &v, err);

	if (r <= 0)
		return r;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || !end || *end || n < min || n > max)
		return sk_err(err, -EINVAL, "%s '%s': give a whole number from %ld to %ld", name, v, min, max);
	*out = n;
	return 1;
}

/* A duration option: "15s", "500ms", "1m" or plain seconds, in [1 ms, 1 h]. */
static int option_duration(int argc, const char *const argv[], int *i, const char *name, long *out_ms,
			   struct sk_error *err)
{
	const char *v = NULL;
	char *end = NULL;
	double x;
	int r = option_value(argc, argv, i, name, &v, err);

	if (r <= 0)
		return r;
	errno = 0;
	x = strtod(v, &end);
	if (errno == 0 && end != v) {
		if (strcmp(end, "ms") == 0)
			x /= 1000;
		else if (strcmp(end, "m") == 0)
			x *= 60;
		else if (*end && strcmp(end, "s") != 0)
			x = -1;
		if (x >= 0.001 && x <= 3600) {
			*out_ms = (long)(x * 1000 + 0.5);
			return 1;
		}
	}
	return sk_err(err, -EINVAL, "%s '%s': give a duration such as 15s or 500ms (1ms to 1h)", name, v);
}

/* An address to listen on: host:port, or "0" for none. */
static int option_bind(int argc, const char *const argv[], int *i, const char *name, const char **out,
		       struct sk_error *err)
{
	const char *v = NULL;
	char host[256];
	int port, r = option_value(argc, argv, i, name, &v, err);

	if (r <= 0)
		return r;
	if ((r = metrics_bind_parse(name, v, host, sizeof(host), &port, err)) < 0)
		return r;
	*out = v;
	return 1;
}

/* --name, --name=true or --name=false. */
static int option_bool(const char *arg, const char *name, bool *out, struct sk_error *err)
{
	size_t n = strlen(name);

	if (strncmp(arg, name, n) != 0 || (arg[n] != '\0' && arg[n] != '='))
		return 0;
	if (arg[n] == '\0' || strcmp(arg + n + 1, "true") == 0)
		*out = true;
	else if (strcmp(arg + n + 1, "false") == 0)
		*out = false;
	else
		return sk_err(err, -EINVAL, "%s '%s': give true or false", name, arg + n + 1);
	return 1;
}

int controller_options_parse(int argc, const char *const argv[], struct controller_options *opts,
			     enum controller_action *action, struct sk_error *err)
{
	struct controller_options o = { .qps = 200,
					.burst = 400,
					.concurrency = 32,
					.resync_seconds = 600,
					.leader_election_id = CONTROLLER_LEADER_ID_DEFAULT,
					.lease_ms = 15000,
					.renew_deadline_ms = 10000,
					.retry_ms = 2000,
					.metrics_addr = ":8080",
					.metrics_secure = true,
					.health_addr = ":8082" };
	long qps = 200;
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
		if (r == 0)
			r = option_number(argc, argv, &i, "--kube-api-qps", 1, 100000, &qps, err);
		if (r == 0)
			r = option_number(argc, argv, &i, "--kube-api-burst", 1, 100000, &o.burst, err);
		if (r == 0)
			r = option_number(argc, argv, &i, "--concurrent-reconciles", 1, 1024, &o.concurrency, err);
		if (r == 0)
			r = option_number(argc, argv, &i, "--resync-period", 0, 86400 * 7, &o.resync_seconds, err);
		if (r == 0)
			r = option_bool(arg, "--leader-elect", &o.leader_elect, err);
		if (r == 0)
			r = option_value(argc, argv, &i, "--leader-election-id", &o.leader_election_id, err);
		if (r == 0)
			r = option_value(argc, argv, &i, "--leader-election-namespace", &o.leader_election_ns, err);
		if (r == 0)
			r = option_duration(argc, argv, &i, "--leader-elect-lease-duration", &o.lease_ms, err);
		if (r == 0)
			r = option_duration(argc, argv, &i, "--leader-elect-renew-deadline", &o.renew_deadline_ms, err);
		if (r == 0)
			r = option_duration(argc, argv, &i, "--leader-elect-retry-period", &o.retry_ms, err);
		if (r == 0)
			r = option_bind(argc, argv, &i, "--metrics-bind-address", &o.metrics_addr, err);
		if (r == 0)
			r = option_bool(arg, "--metrics-secure", &o.metrics_secure, err);
		if (r == 0)
			r = option_value(argc, argv, &i, "--metrics-cert-path", &o.metrics_cert_dir, err);
		if (r == 0)
			r = option_bind(argc, argv, &i, "--health-probe-bind-address", &o.health_addr, err);
		if (r == 0)
			r = option_value(argc, argv, &i, "--release-executors", &o.release_selector, err);
		if (r < 0)
			return r;
		if (r > 0)
			continue;
		return sk_err(err, -EINVAL, "unknown argument '%s' (see spin-controller --help)", arg);
	}
	o.qps = (double)qps;
	*opts = o;
	*action = o.release_selector ? CONTROLLER_RELEASE_EXECUTORS : CONTROLLER_RUN;
	return 0;
}
