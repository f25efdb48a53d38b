/* "serve" (see main.c): the pod's shim daemon, or with -shared the node's. It serves the task service
 * on the listening socket start handed it (fd 3) until Shutdown finds no
 * container left (or is told to stop now), SIGTERM, or the socket fails;
 * then it kills what is still running, removes its socket and exits. Its
 * own log lines go to stderr, the bundle's log pipe containerd reads. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "shim-bridge/shim/commands.h"
#include "shim-bridge/shim/shim.h"

static struct sk_ttrpc_server *the_server;

static void on_term(int sig)
{
	(void)sig;
	if (the_server)
		sk_ttrpc_server_shutdown(the_server);
}

static char *dup_env(const char *name, const char *def)
{
	const char *v = getenv(name);
	return strdup(v && *v ? v : def);
}

static void drop_remaining(struct shim *s)
{
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->n; i++)
		if (!s->c[i]->sandbox && !s->c[i]->app && s->c[i]->pid > 0 && s->c[i]->status != SHIM_STOPPED)
			kill(s->c[i]->pid, SIGKILL);
	pthread_mutex_unlock(&s->mu);
}

int shim_cmd_serve(const struct shim_cmd *cmd)
{
	static struct shim s;
	struct sk_error err = { 0 };
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n < 0 || !cmd->socket) {
		fprintf(stderr, "containerd-shim-spin-v2: serve needs -socket and /proc/self/exe\n");
		return 2;
	}
	self[n] = '\0';
	signal(SIGPIPE, SIG_IGN);
	pthread_mutex_init(&s.mu, NULL);
	pthread_cond_init(&s.cond, NULL);
	s.ns = strdup(cmd->ns);
	s.grpc_address = dup_env("GRPC_ADDRESS", cmd->address);
	s.ttrpc_address = dup_env("TTRPC_ADDRESS", "");
	s.state_dir = strdup(cmd->state_dir);
	s.cgroup_root = strdup("/sys/fs/cgroup");
	s.self = strdup(self);
	if (strncmp(s.grpc_address, "unix://", 7) == 0)
		memmove(s.grpc_address, s.grpc_address + 7, strlen(s.grpc_address + 7) + 1);
	if (strncmp(s.ttrpc_address, "unix://", 7) == 0)
		memmove(s.ttrpc_address, s.ttrpc_address + 7, strlen(s.ttrpc_address + 7) + 1);

	s.shared = cmd->shared;
	/* containerd keeps a connection per task: in shared mode, one per
	 * container of the node, and a Wait in flight on each. */
	struct sk_ttrpc_server_config cfg = { .log = *sk_log_sink_stderr(),
					      .max_conns = s.shared ? 2 * SHIM_MAX_SHARED_CONTAINERS + 64 : 0 };
	int r = shim_process_start(&s, &err);
	if (r == 0 && s.shared)
		r = shim_shared_start(&s, &err);
	if (r == 0)
		r = shim_publish_start(&s, &err);
	if (r == 0)
		r = sk_ttrpc_server_new(&cfg, &s.server, &err);
	if (r == 0)
		r = shim_service_register(&s, &err);
	if (r < 0) {
		log_error("cannot start", "error=\"%s\"", err.message);
		return 1;
	}
	sk_ttrpc_server_listen_fd(s.server, 3);
	the_server = s.server;
	struct sigaction sa = { 0 };
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	log_info("serving", "socket=%s namespace=%s pid=%d mode=%s", cmd->socket, s.ns, (int)getpid(),
		 s.shared ? "shared" : "pod");
	r = sk_ttrpc_server_serve(s.server, &err);
	if (r < 0)
		log_error("serve failed", "error=\"%s\"", err.message);
	drop_remaining(&s);
	(void)unlink(cmd->socket);
	shim_shared_stop(&s);
	shim_publish_stop(&s);
	log_info("exit", "containers=%zu", s.n);
	return r < 0 ? 1 : 0;
}
