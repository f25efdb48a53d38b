/* containerd-shim-spin-v2's commands (see main.c): start and delete, which
 * containerd runs, and serve, the daemon start launches. */
#ifndef SPINKUBE_SHIM_COMMANDS_H
#define SPINKUBE_SHIM_COMMANDS_H

#include <stdbool.h>

struct shim_cmd {
	const char *action;
	const char *ns, *address, *publish_binary, *id, *bundle;
	const char *socket;    /* serve: the socket path (the listening socket is fd 3) */
	const char *state_dir;
	bool debug;
	bool spare;            /* app: a spare, told its container on fd 3 */
	bool shared;           /* shared mode: one daemon for the node's pods (shim.h) */
};

int shim_cmd_start(const struct shim_cmd *cmd);  /* start.c */
int shim_cmd_delete(const struct shim_cmd *cmd); /* delete.c */
int shim_cmd_serve(const struct shim_cmd *cmd);  /* daemon.c */

#endif
