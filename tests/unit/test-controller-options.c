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
	return tap_done();
}
