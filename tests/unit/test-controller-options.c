/* spin-controller's command line: what it accepts, what it refuses and how it
 * says so. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "controller/options.h"
#include "tests/tap.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

int main(void)
{
	struct controller_options o;
	enum controller_action act;
	struct sk_error err = { 0 };

	{
		const char *argv[] = { "spin-controller" };
		is_int(controller_options_parse(ARGC(argv), argv, &o, &act, &err), 0, "no arguments parse");
		is_int(act, CONTROLLER_RUN, "no arguments means run");
		ok(o.kubeconfig == NULL, "no --kubeconfig leaves the default precedence");
	}
	{
		const char *argv[] = { "spin-controller", "--kubeconfig", "/tmp/k" };
		is_int(controller_options_parse(ARGC(argv), argv, &o, &act, &err), 0, "--kubeconfig PATH parses");
		is_str(o.kubeconfig, "/tmp/k", "--kubeconfig PATH is taken");
	}
	{
		const char *argv[] = { "spin-controller", "--kubeconfig=/etc/k.yaml" };
		is_int(controller_options_parse(ARGC(argv), argv, &o, &act, &err), 0, "--kubeconfig=PATH parses");
		is_str(o.kubeconfig, "/etc/k.yaml", "--kubeconfig=PATH is taken");
	}
	{
		const char *argv[] = { "spin-controller", "--kubeconfig" };
		is_int(controller_options_parse(ARGC(argv), argv, &o, &act, &err), -EINVAL,
		       "--kubeconfig without a value is refused");
		ok(strstr(err.message, "--kubeconfig needs a value") != NULL, "the message names the flag: %s",
		   err.message);
	}
	{
		const char *argv[] = { "spin-controller", "--kubeconfig=" };
		is_int(controller_options_parse(ARGC(argv), argv, &o, &act, &err), -EINVAL,
		       "an empty --kubeconfig= is refused");
	}
	{
		const char *argv[] = { "spin-controller", "--kubeconfigx" };
		is_int(controller_options_parse(ARGC(argv), argv, &o, &act, &err), -EINVAL,
		       "a flag that only starts like --kubeconfig is refused");
		ok(strstr(err.message, "'--kubeconfigx'") != NULL, "the message quotes the argument: %s",
		   err.message);
	}
	{
		const char *argv[] = { "spin-controller", "--kubeconfig", "k", "--help", "--bogus" };
		is_int(controller_options_parse(ARGC(argv), argv, &o, &act, &err), 0, "--help parses");
		is_int(act, CONTROLLER_HELP, "--help wins over what follows");
	}
	{
		const char *argv[] = { "spin-controller", "--version" };
		is_int(controller_options_parse(ARGC(argv), argv, &o, &act, &err), 0, "--version parses");
		is_int(act, CONTROLLER_VERSION, "--version asks for the version");
	}
	{
		const char *argv[] = { "spin-controller", "--context", "kind-a", "--kubeconfig=/k" };
		is_int(controller_options_parse(ARGC(argv), argv, &o, &act, &err), 0, "--context NAME parses");
		is_str(o.context, "kind-a", "--context is taken");
		is_str(o.kubeconfig, "/k", "beside --kubeconfig");
	}
	{
		char buf[4096] = { 0 };
		FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

		controller_usage(f);
		fclose(f);
		ok(strstr(buf, "--kubeconfig PATH") != NULL, "--help documents --kubeconfig");
		ok(strstr(buf, "--version") != NULL, "--help documents --version");
		ok(strstr(buf, "--context NAME") != NULL, "--help documents --context");
		ok(strstr(buf, "KUBECONFIG") != NULL, "--help documents KUBECONFIG");
	}
	{
		const char *argv[] = { "spin-controller" };
		controller_options_parse(ARGC(argv), argv, &o, &act, &err);
		ok(!o.leader_elect && strcmp(o.leader_election_id, "spin-controller.spinkube.dev") == 0 &&
		       o.leader_election_ns == NULL && o.lease_ms == 15000 && o.renew_deadline_ms == 10000 && o.retry_ms == 2000,
		   "leader election: off by default, controller-runtime's durations (15s, 10s, 2s)");
	}
	{
		const char *argv[] = { "spin-controller", "--leader-elect", "--leader-election-id=my.lease",
				       "--leader-election-namespace", "ops", "--leader-elect-lease-duration=1m",
				       "--leader-elect-renew-deadline", "1500ms", "--leader-elect-retry-period=0.5" };
		is_int(controller_options_parse(ARGC(argv), argv, &o, &act, &err), 0, "the leader election flags parse");
		ok(o.leader_elect && strcmp(o.leader_election_id, "my.lease") == 0 && strcmp(o.leader_election_ns, "ops") == 0 &&
		       o.lease_ms == 60000 && o.renew_deadline_ms == 1500 && o.retry_ms == 500,
		   "... durations in m, ms and plain seconds");
	}
	{
		const char *argv[] = { "spin-controller", "--leader-elect=false" };
		controller_options_parse(ARGC(argv), argv, &o, &act, &err);
		ok(!o.leader_elect, "--leader-elect=false turns it off");
	}
	{
		const char *argv[] = { "spin-controller", "--leader-elect=yes" };
		is_int(controller_options_parse(ARGC(argv), argv, &o, &act, &err), -EINVAL, "--leader-elect=yes is refused");
		is_str(err.message, "--leader-elect 'yes': give true or false", "... in one line");
	}
	{
		const char *argv[] = { "spin-controller", "--leader-elect-retry-period", "2h" };
		is_int(controller_options_parse(ARGC(argv), argv, &o, &act, &err), -EINVAL, "a duration over 1h is refused");
		is_str(err.message, "--leader-elect-retry-period '2h': give a duration such as 15s or 500ms (1ms to 1h)",
		       "... naming the flag and the form");
	}
	{
		const char *argv[] = { "spin-controller" };
		controller_options_parse(ARGC(argv), argv, &o, &act, &err);
		ok(strcmp(o.metrics_addr, ":8080") == 0 && o.metrics_secure && o.metrics_cert_dir == NULL &&
		       strcmp(o.health_addr, ":8082") == 0,
		   "metrics on :8080 over HTTPS, probes on :8082 by default (controller-runtime's, SpinKube's)");
	}
	{
		const char *argv[] = { "spin-controller", "--metrics-bind-address", "127.0.0.1:9000", "--metrics-secure=false",
				       "--health-probe-bind-address=[::1]:0", "--metrics-cert-path", "/certs" };
		is_int(controller_options_parse(ARGC(argv), argv, &o, &act, &err), 0, "the metrics and probe flags parse");
		ok(strcmp(o.metrics_addr, "127.0.0.1:9000") == 0 && !o.metrics_secure && strcmp(o.health_addr, "[::1]:0") == 0 &&
		       strcmp(o.metrics_cert_dir, "/certs") == 0,
		   "... host:port, [v6]:port, --metrics-secure=false, a cert dir");
	}
	{
		const char *argv[] = { "spin-controller", "--metrics-bind-address=0", "--health-probe-bind-address", "0" };
		is_int(controller_options_parse(ARGC(argv), argv, &o, &act, &err), 0, "0 turns either endpoint off");
		ok(strcmp(o.metrics_addr, "0") == 0 && strcmp(o.health_addr, "0") == 0, "... and is kept as 0");
	}
	{
		const char *bad[] = { "8080", ":http", ":70000", "::1:80", "[::1]80", ":", "[::1" };
		int refused = 0;
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			const char *argv[] = { "spin-controller", "--metrics-bind-address", bad[i] };
			refused += controller_options_parse(ARGC(argv), argv, &o, &act, &err) == -EINVAL;
		}
		is_int(refused, 7, "addresses without host:port or with a bad port are refused");
		is_str(err.message,
		       "--metrics-bind-address '[::1': give host:port such as :8080, 127.0.0.1:8080 or [::1]:8080, or 0 to turn it off",
		       "... naming the flag and the forms");
	}
	{
		const char *argv[] = { "spin-controller", "--metrics-secure=no" };
		is_int(controller_options_parse(ARGC(argv), argv, &o, &act, &err), -EINVAL, "--metrics-secure=no is refused");
	}
	{
		const char *argv[] = { "spin-controller", "--kubeconfig", "/k", "--release-executors",
				       "app.kubernetes.io/instance=spinkube" };
		is_int(controller_options_parse(ARGC(argv), argv, &o, &act, &err), 0, "--release-executors SELECTOR parses");
		is_int(act, CONTROLLER_RELEASE_EXECUTORS, "... and releases executors instead of running");
		is_str(o.release_selector, "app.kubernetes.io/instance=spinkube", "... with that selector");
	}
	{
		const char *argv[] = { "spin-controller", "--release-executors=" };
		is_int(controller_options_parse(ARGC(argv), argv, &o, &act, &err), -EINVAL,
		       "--release-executors with an empty selector is refused");
	}
	{
		char buf[8192] = "";
		FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
		controller_usage(f);
		fclose(f);
		ok(strstr(buf, "--metrics-bind-address ADDR") && strstr(buf, "--metrics-secure") &&
		       strstr(buf, "--metrics-cert-path DIR") && strstr(buf, "--health-probe-bind-address ADDR"),
		   "--help documents the metrics and probe flags");
		ok(strstr(buf, "--release-executors SELECTOR") != NULL, "... and --release-executors");
	}
	return tap_done();
}
