/* spin-bridge's command line and environment (shim-bridge/spin-bridge/options.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim-bridge/spin-bridge/options.h"
#include "tests/tap.h"

static int parse(const char *const *argv, const char *const *envp, struct bridge_options *o,
		 enum bridge_action *a, struct sk_error *err)
{
	static char cache[512];
	int argc = 0;

	while (argv[argc])
		argc++;
	return bridge_options_parse(argc, argv, envp, o, a, cache, sizeof(cache), err);
}

int main(void)
{
	struct bridge_options o;
	enum bridge_action a;
	struct sk_error err = { 0 };
	uint64_t v;

	const char *plain[] = { "spin-bridge", "up", "--from", "/app", NULL };
	const char *noenv[] = { "HOME=/home/u", NULL };
	ok(parse(plain, noenv, &o, &a, &err) == 0 && a == BRIDGE_UP, "up --from");
	is_str(o.from, "/app", "from");
	is_str(o.listen, "0.0.0.0:80", "default listen address");
	ok(o.max_instance_memory == 128u << 20, "default memory cap 128 MiB");
	ok(o.timeout_ms == 30000 && o.max_request_body == 32u << 20 && o.max_response_body == 64u << 20,
	   "default timeout and body caps");
	is_str(o.cache_dir, "/home/u/.cache/spin-bridge", "default cache under HOME");
	ok(o.retain == NULL, "nothing retained by default");
	is_str(o.runtime_config, "/runtime-config.toml", "runtime config where SpinKube's shim mounts it");
	ok(!o.runtime_config_required, "... and optional");
	ok(o.state_dir == NULL, "state folder left to Spin's default");

	const char *env[] = { "SPIN_HTTP_LISTEN_ADDR=127.0.0.1:3000", "SPIN_MAX_INSTANCE_MEMORY=1048576",
			      "SPIN_COMPONENTS_TO_RETAIN=a,b", "XDG_CACHE_HOME=/xdg", "HOME=/h", NULL };
	ok(parse(plain, env, &o, &a, &err) == 0, "with the environment");
	is_str(o.listen, "127.0.0.1:3000", "SPIN_HTTP_LISTEN_ADDR");
	ok(o.max_instance_memory == 1048576, "SPIN_MAX_INSTANCE_MEMORY");
	is_str(o.retain, "a,b", "SPIN_COMPONENTS_TO_RETAIN");
	is_str(o.cache_dir, "/xdg/spin-bridge", "XDG_CACHE_HOME wins over HOME");

	const char *rcenv[] = { "SPIN_RUNTIME_CONFIG_FILE=/etc/rc.toml", NULL };
	ok(parse(plain, rcenv, &o, &a, &err) == 0, "SPIN_RUNTIME_CONFIG_FILE");
	is_str(o.runtime_config, "/etc/rc.toml", "SPIN_RUNTIME_CONFIG_FILE names the runtime config");
	ok(o.runtime_config_required, "... which must then exist");
	const char *rcempty[] = { "SPIN_RUNTIME_CONFIG_FILE=", NULL };
	ok(parse(plain, rcempty, &o, &a, &err) == 0 && !o.runtime_config_required &&
		   strcmp(o.runtime_config, "/runtime-config.toml") == 0,
	   "an empty SPIN_RUNTIME_CONFIG_FILE is ignored");
	const char *rcflags[] = { "spin-bridge", "up", "--from", "/app", "--runtime-config-file", "rc.toml",
				  "--state-dir=", NULL };
	ok(parse(rcflags, rcenv, &o, &a, &err) == 0, "--runtime-config-file and --state-dir: %s", err.message);
	is_str(o.runtime_config, "rc.toml", "--runtime-config-file wins over the environment");
	ok(o.runtime_config_required, "... and must exist");
	is_str(o.state_dir, "", "--state-dir \"\" is kept (no state folder: the default store in memory)");

	const char *flags[] = { "spin-bridge", "up", "--from=/x", "--listen", "[::1]:8080", "--max-instance-memory",
				"64Mi", "--timeout", "250", "--max-concurrent", "3", "--max-request-body", "1Mi",
				"--max-response-body=2Mi", "--no-cache", "--drain-timeout", "0", "--head-timeout",
				"500", "--work-dir", "/w", "--log-requests", "--state-dir", "/var/lib/app",
				"--listen-fd", "7", "--shutdown-delay", "2000", NULL };
	ok(parse(flags, env, &o, &a, &err) == 0, "every flag: %s", err.message);
	is_str(o.listen, "[::1]:8080", "--listen wins over the environment");
	ok(o.max_instance_memory == 64u << 20, "--max-instance-memory 64Mi");
	ok(o.timeout_ms == 250 && o.max_concurrent == 3 && o.drain_ms == 0 && o.head_timeout_ms == 500,
	   "numbers");
	ok(o.max_request_body == 1u << 20 && o.max_response_body == 2u << 20, "sizes");
	ok(o.cache_dir == NULL, "--no-cache");
	is_str(o.work_dir, "/w", "--work-dir");
	ok(o.log_requests, "--log-requests");
	is_str(o.state_dir, "/var/lib/app", "--state-dir");
	ok(o.listen_fd == 7 && o.shutdown_delay_ms == 2000, "--listen-fd 7, --shutdown-delay 2000");
	const char *nofd[] = { "spin-bridge", "up", "--from=/x", NULL };
	ok(parse(nofd, env, &o, &a, &err) == 0 && o.listen_fd == -1 && o.shutdown_delay_ms == 0,
	   "by default no inherited socket and no shutdown delay");
	const char *badfd[] = { "spin-bridge", "up", "--from=/x", "--listen-fd", "2", NULL };
	ok(parse(badfd, env, &o, &a, &err) == -EINVAL && strstr(err.message, "--listen-fd"),
	   "--listen-fd below 3 is refused: %s", err.message);
	const char *baddelay[] = { "spin-bridge", "up", "--from=/x", "--shutdown-delay", "soon", NULL };
	ok(parse(baddelay, env, &o, &a, &err) == -EINVAL && strstr(err.message, "--shutdown-delay"),
	   "--shutdown-delay needs milliseconds: %s", err.message);

	const char *help[] = { "spin-bridge", "--help", NULL };
	ok(parse(help, noenv, &o, &a, &err) == 0 && a == BRIDGE_HELP, "--help");
	const char *ver[] = { "spin-bridge", "--version", NULL };
	ok(parse(ver, noenv, &o, &a, &err) == 0 && a == BRIDGE_VERSION, "--version");

	struct {
		const char *argv[6];
		const char *env0;
		const char *want;
	} bad[] = {
		{ { "spin-bridge", "--from", "/x", NULL }, NULL, "no command" },
		{ { "spin-bridge", "up", NULL }, NULL, "up needs --from PATH" },
		{ { "spin-bridge", "up", "--from", NULL }, NULL, "--from needs a value" },
		{ { "spin-bridge", "up", "--from", "/x", "--bogus", NULL }, NULL, "unknown flag --bogus" },
		{ { "spin-bridge", "up", "--from", "/x", "extra", NULL }, NULL, "unexpected argument \"extra\"" },
		{ { "spin-bridge", "up", "--from", "/x", "--timeout=0", NULL }, NULL, "--timeout \"0\"" },
		{ { "spin-bridge", "up", "--from", "/x", "--max-concurrent=-1", NULL }, NULL, "--max-concurrent" },
		{ { "spin-bridge", "up", "--from", "/x", "--max-instance-memory=12", NULL }, NULL, "at least 64Ki" },
		{ { "spin-bridge", "up", "--from", "/x", "--max-request-body=1Ti", NULL }, NULL, "not a size" },
		{ { "spin-bridge", "up", "--from", "/x", NULL }, "SPIN_MAX_INSTANCE_MEMORY=lots", "SPIN_MAX_INSTANCE_MEMORY" },
		{ { "spin-bridge", "up", "--from", "/x", "--listen=", NULL }, NULL, "--listen is empty" },
		{ { "spin-bridge", "up", "--from", "/x", "--runtime-config-file=", NULL }, NULL,
		  "--runtime-config-file is empty" },
		{ { "spin-bridge", "up", "--from", "/x", "--state-dir", NULL }, NULL, "--state-dir needs a value" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *e1[] = { bad[i].env0, NULL };
		int r = parse(bad[i].argv, e1, &o, &a, &err);
		ok(r == -EINVAL && strstr(err.message, bad[i].want) != NULL, "refused: %s -> %s", bad[i].want,
		   err.message);
		ok(strchr(err.message, '\n') == NULL, "... in one line");
	}

	ok(bridge_parse_size("1024", &v) == 0 && v == 1024, "size in bytes");
	ok(bridge_parse_size("2Gi", &v) == 0 && v == 2ull << 30, "size 2Gi");
	ok(bridge_parse_size("3M", &v) == 0 && v == 3000000, "size 3M");
	ok(bridge_parse_size("99999999999999999999", &v) < 0, "overflow refused");
	ok(bridge_parse_size("18446744073709551615Ki", &v) == -ERANGE, "overflow after the unit refused");
	ok(bridge_parse_size("-1", &v) < 0 && bridge_parse_size("", &v) < 0 && bridge_parse_size("1 Mi", &v) < 0,
	   "junk refused");

	/* --help names every flag the parser knows. */
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	bridge_usage(f);
	fclose(f);
	const char *names[] = { "--from", "--listen", "--max-instance-memory", "--timeout", "--max-concurrent",
				"--max-request-body", "--max-response-body", "--head-timeout", "--cache-dir",
				"--no-cache", "--work-dir", "--drain-timeout", "--log-requests", "--help", "--version",
				"SPIN_HTTP_LISTEN_ADDR", "SPIN_MAX_INSTANCE_MEMORY", "SPIN_COMPONENTS_TO_RETAIN",
				"SPIN_VARIABLE_", "SPIN_BRIDGE_CACHE_DIR", "--runtime-config-file", "--state-dir",
				"SPIN_RUNTIME_CONFIG_FILE", "--listen-fd", "--shutdown-delay" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ok(strstr(text, names[i]) != NULL, "--help documents %s", names[i]);
	free(text);
	return tap_done();
}
