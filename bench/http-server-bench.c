/* Requests per second of shim-bridge/http with a trivial handler, measured
 * with wrk at 1 and 64 keep-alive connections.
 *
 *   http-server-bench [-w WORKERS] [-d SECONDS] [-u URL]
 *
 * Without -u it starts the server on 127.0.0.1 (an ephemeral port) with a
 * handler answering "hello" and runs wrk against it; with -u it runs the
 * same wrk commands against URL instead (e.g. an nginx for comparison).
 * Prints each wrk command and its Requests/sec. */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim-bridge/http/server.h"

static void hello(void *user, const struct http_request *req, struct http_response *resp)
{
	(void)user;
	(void)req;
	http_response_add_header(resp, "Content-Type", "text/plain");
	http_response_append(resp, "hello", 5);
}

/* Run wrk with the given connection count; print the command and the
 * Requests/sec line. */
static int run_wrk(const char *url, int conns, int secs)
{
	char prog[] = "wrk", c[16], d[16], t[16], u[256], cmd[512];
	int p[2];
	pid_t pid;
	posix_spawn_file_actions_t fa;

	snprintf(c, sizeof(c), "-c%d", conns);
	snprintf(d, sizeof(d), "-d%ds", secs);
	snprintf(t, sizeof(t), "-t%d", conns > 1 ? 2 : 1);
	snprintf(u, sizeof(u), "%s", url);
	char *argv[] = { prog, t, c, d, u, NULL };
	snprintf(cmd, sizeof(cmd), "wrk %s %s %s %s", t, c, d, url);
	if (pipe(p) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addclose(&fa, p[0]);
	int r = posix_spawnp(&pid, "wrk", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (r) {
		fprintf(stderr, "http-server-bench: cannot run wrk: %s (install wrk)\n", strerror(r));
		close(p[0]);
		return -r;
	}
	FILE *f = fdopen(p[0], "r");
	char line[200], rps[128] = "?", errs[512] = "";
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Requests/sec:", 13) == 0)
			snprintf(rps, sizeof(rps), "%.100s", line + 13 + strspn(line + 13, " "));
		else if (strstr(line, "Non-2xx") || strstr(line, "Socket errors"))
			snprintf(errs + strlen(errs), sizeof(errs) - strlen(errs), " %.200s", line);
	}
	if (f)
		fclose(f);
	waitpid(pid, NULL, 0);
	rps[strcspn(rps, "\n")] = '\0';
	printf("%-45s %12s req/s%s\n", cmd, rps, errs);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	struct http_server_config cfg;
	struct http_server *srv = NULL;
	struct sk_error err = { 0 };
	const char *url = NULL;
	char own[64];
	int secs = 10, opt;

	http_server_config_init(&cfg);
	cfg.listen = "127.0.0.1:0";
	while ((opt = getopt(argc, argv, "w:d:u:")) != -1) {
		if (opt == 'w')
			cfg.workers = (unsigned)strtoul(optarg, NULL, 10);
		else if (opt == 'd')
			secs = (int)strtol(optarg, NULL, 10);
		else if (opt == 'u')
			url = optarg;
		else {
			fprintf(stderr, "usage: %s [-w WORKERS] [-d SECONDS] [-u URL]\n", argv[0]);
			return 2;
		}
	}
	if (!url) {
		if (http_server_new(&cfg, hello, NULL, &srv, &err) < 0 || http_server_start(srv, &err) < 0) {
			fprintf(stderr, "http-server-bench: %s\n", err.message);
			return 1;
		}
		snprintf(own, sizeof(own), "http://127.0.0.1:%u/", http_server_port(srv));
		url = own;
		printf("# spinhttp, %u workers, handler answers \"hello\"\n", cfg.workers);
	} else {
		printf("# %s\n", url);
	}
	run_wrk(url, 1, secs);
	run_wrk(url, 64, secs);
	if (srv) {
		struct http_server_stats st;
		http_server_stats(srv, &st);
		printf("# served %llu requests, %llu 5xx\n", (unsigned long long)st.requests,
		       (unsigned long long)st.responses_5xx);
		http_server_free(srv);
	}
	return 0;
}
