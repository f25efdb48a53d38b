/* containerd-shim-spin-v2: containerd's runtime v2 shim for Spin apps.
 *
 * containerd runs it as
 *   containerd-shim-spin-v2 -namespace NS -address ADDR -publish-binary BIN -id ID start
 * in the container's bundle folder. "start" finds the shim of the
 * container's pod (one per pod, keyed by CRI's sandbox id) or starts one,
 * and prints its ttrpc address; "delete" cleans up after a container whose
 * shim is gone and prints a DeleteResponse. Two more commands are the
 * shim's own: "serve" is the daemon "start" launches (daemon.c), "app" is
 * one container's app process (app.c). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim-bridge/shim/app.h"
#include "shim-bridge/shim/commands.h"
#include "spinkube-version.h"

static void usage(FILE *f)
{
	fputs("usage: containerd-shim-spin-v2 -namespace NS -address ADDR -id ID [-bundle DIR] [-debug]\n"
	      "                               [-publish-binary BIN] start|delete\n"
	      "\n"
	      "containerd's runtime v2 shim for Spin apps (runtime type io.containerd.spin.v2).\n"
	      "containerd runs it; it is not meant to be run by hand.\n"
	      "\n"
	      "  start   start the pod's shim (or find it) and print its ttrpc address\n"
	      "  delete  clean up a container whose shim is gone; print a DeleteResponse\n"
	      "\n"
	      "Environment (from containerd): TTRPC_ADDRESS (events), GRPC_ADDRESS (the content store),\n"
	      "NAMESPACE. Of the shim: SPIN_SHIM_STATE_DIR, the node-wide folder for the compiled-code\n"
	      "cache and the apps read from containerd (default /var/lib/spinkube-c/shim).\n"
	      "\n"
	      "Modes: per pod (a daemon per pod, an app process per container: isolation), or shared\n"
	      "(one daemon per containerd namespace serving every Spin pod of the node on one engine:\n"
	      "density). Shared when run as containerd-shim-spin-shared-v2 (a link to this program) or\n"
	      "with SPIN_SHIM_MODE=shared; SPIN_SHIM_MODE=pod forces per pod. Shared mode reads\n"
	      "SPIN_SHIM_WORKERS (requests at once, node-wide; default 2 x CPUs, at least 4),\n"
	      "SPIN_MAX_INSTANCE_MEMORY (the largest instance memory; default 128Mi) and\n"
	      "SPIN_SHIM_MAX_CONNS (open connections, node-wide; default 65536).\n"
	      "\n"
	      "  --help     this text\n"
	      "  --version  the version\n",
	      f);
}

/* "-info": containerd asks a runtime about itself and decodes stdout as a
 * containerd.types.RuntimeInfo. Ours names the runtime (field 1) and its
 * Version (field 2: version = 1), encoded by hand: two length-delimited
 * fields need no generated code. Options on stdin are not read. */
static int print_info(void)
{
	static const char name[] = "io.containerd.spin.v2";
	const size_t nl = sizeof(name) - 1, vl = strlen(SPINKUBE_VERSION);
	uint8_t buf[128];
	size_t n = 0;

	buf[n++] = 0x0a; /* field 1, length-delimited */
	buf[n++] = (uint8_t)nl;
	memcpy(buf + n, name, nl);
	n += nl;
	buf[n++] = 0x12; /* field 2: Version */
	buf[n++] = (uint8_t)(vl + 2);
	buf[n++] = 0x0a; /* Version.version */
	buf[n++] = (uint8_t)vl;
	memcpy(buf + n, SPINKUBE_VERSION, vl);
	n += vl;
	return fwrite(buf, 1, n, stdout) == n && fflush(stdout) == 0 ? 0 : 1;
}

/* Go's flag package takes -name value, --name value and -name=value. */
static int parse(int argc, char **argv, struct shim_cmd *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-') {
			if (cmd->action) {
				fprintf(stderr, "containerd-shim-spin-v2: unexpected argument \"%s\" (see --help)\n", a);
				return -EINVAL;
			}
			cmd->action = a;
			continue;
		}
		const char *name = a + (a[1] == '-' ? 2 : 1);
		const char *eq = strchr(name, '=');
		size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
#define IS(s) (nlen == strlen(s) && strncmp(name, s, nlen) == 0)
		if (IS("help") || IS("h")) {
			cmd->action = "help";
			return 0;
		}
		if (IS("version") || IS("v")) {
			cmd->action = "version";
			return 0;
		}
		if (IS("info")) {
			cmd->action = "info";
			return 0;
		}
		if (IS("spare")) {
			cmd->spare = true;
			continue;
		}
		if (IS("shared")) {
			cmd->shared = true;
			continue;
		}
		if (IS("debug")) {
			cmd->debug = true;
			continue;
		}
		/* Which flag first, then its value: an unknown flag is named
		 * as unknown, not as one that needs a value. */
		const char **dst = IS("namespace") ? &cmd->ns
				   : IS("address") ? &cmd->address
				   : IS("publish-binary") ? &cmd->publish_binary
				   : IS("id") ? &cmd->id
				   : IS("bundle") ? &cmd->bundle
				   : IS("socket") ? &cmd->socket
				   : IS("state-dir") ? &cmd->state_dir
				   : NULL;
		if (!dst) {
			fprintf(stderr, "containerd-shim-spin-v2: unknown flag -%.*s (see --help)\n", (int)nlen, name);
			return -EINVAL;
		}
		const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
		if (!val) {
			fprintf(stderr, "containerd-shim-spin-v2: -%.*s needs a value (see --help)\n", (int)nlen, name);
			return -EINVAL;
		}
		*dst = val;
#undef IS
	}
	return 0;
}

/* Shared mode when the program runs under the name
 * containerd-shim-spin-shared-v2 (a link containerd's runtime_path names),
 * or SPIN_SHIM_MODE=shared; SPIN_SHIM_MODE=pod forces per-pod mode. */
static bool shared_mode(const char *argv0)
{
	const char *mode = getenv("SPIN_SHIM_MODE");
	const char *base = strrchr(argv0, '/');

	if (mode && strcmp(mode, "shared") == 0)
		return true;
	if (mode && strcmp(mode, "pod") == 0)
		return false;
	return strcmp(base ? base + 1 : argv0, "containerd-shim-spin-shared-v2") == 0;
}

int main(int argc, char **argv)
{
	struct shim_cmd cmd;

	if (parse(argc, argv, &cmd) < 0)
		return 2;
	if (argc > 0 && shared_mode(argv[0]))
		cmd.shared = true;
	if (!cmd.action) {
		usage(stderr);
		return 2;
	}
	if (strcmp(cmd.action, "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd.action, "info") == 0)
		return print_info();
	if (strcmp(cmd.action, "version") == 0) {
		printf("containerd-shim-spin-v2 %s (runtime io.containerd.spin.v2, task API v2)\n", SPINKUBE_VERSION);
		return 0;
	}
	if (!cmd.state_dir) {
		const char *v = getenv("SPIN_SHIM_STATE_DIR");
		cmd.state_dir = v && *v ? v : "/var/lib/spinkube-c/shim";
	}
	if (strcmp(cmd.action, "app") == 0) {
		struct shim_app_args a = { cmd.bundle, cmd.id, cmd.ns, cmd.address, cmd.state_dir, cmd.spare };
		if ((!cmd.spare && (!a.bundle || !a.id)) || !a.ns || !a.grpc_address) {
			fprintf(stderr, "containerd-shim-spin-v2: app needs -bundle, -id, -namespace and -address\n");
			return 2;
		}
		return shim_app_main(&a);
	}
	if (!cmd.ns || !*cmd.ns || !cmd.id || !*cmd.id || !cmd.address || !*cmd.address) {
		fprintf(stderr, "containerd-shim-spin-v2: %s needs -namespace, -id and -address (containerd passes "
				"them; see --help)\n", cmd.action);
		return 2;
	}
	if (strcmp(cmd.action, "start") == 0)
		return shim_cmd_start(&cmd);
	if (strcmp(cmd.action, "delete") == 0)
		return shim_cmd_delete(&cmd);
	if (strcmp(cmd.action, "serve") == 0)
		return shim_cmd_serve(&cmd);
	fprintf(stderr, "containerd-shim-spin-v2: unknown command \"%s\" (start or delete; see --help)\n", cmd.action);
	return 2;
}
