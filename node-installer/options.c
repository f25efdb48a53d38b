/* spinkube-node-installer's command line (see options.h). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "node-installer/options.h"
#include "spinkube-version.h"

static const char usage[] =
    "usage: spinkube-node-installer [OPTIONS] install|uninstall|request-uninstall|ready\n"
    "\n"
    "Installs containerd-shim-spin-v2 on the node it runs on, with its shared-mode\n"
    "link containerd-shim-spin-shared-v2 beside it, adds the runtimes \"spin\" and\n"
    "\"spin-shared\" (io.containerd.spin.v2; RuntimeClass handlers) to containerd's\n"
    "configuration, restarts containerd and labels the node LABEL=installed;\n"
    "uninstall reverses each step.\n"
    "\n"
    "  install            install, then stay running: every --poll-seconds read the\n"
    "                     node, and when its label says \"uninstall\" uninstall and idle\n"
    "                     (SIGTERM exits 0 and changes nothing)\n"
    "  uninstall          restore containerd's configuration byte for byte from the\n"
    "                     backup taken before the first edit, restart containerd,\n"
    "                     remove the shim, its link and the label, and exit\n"
    "  request-uninstall  set LABEL=uninstall on every node that has LABEL and wait\n"
    "                     (at most --timeout) until their installers removed it\n"
    "                     (the chart's pre-delete hook); exits 0 when none is left\n"
    "  ready              exit 0 when --ready-file exists (the readiness probe)\n"
    "\n"
    "Options (environment variable in brackets):\n"
    "  --distro auto|containerd|k3s|microk8s|k0s  [NODE_INSTALLER_DISTRO] default auto:\n"
    "                     k3s when /var/lib/rancher/k3s exists, microk8s when its\n"
    "                     containerd-template.toml does, k0s when /etc/k0s does, else containerd\n"
    "  --host-root DIR    where the host's / is mounted (default /host; \"\" for /)\n"
    "  --shim-source PATH the shim to install (default /containerd-shim-spin-v2)\n"
    "  --bin-dir DIR      host folder for the shim and its link (default\n"
    "                     /opt/spinkube/bin)\n"
    "  --containerd-config PATH  containerd's main configuration (containerd;\n"
    "                     default /etc/containerd/config.toml)\n"
    "  --dropin-dir DIR   folder of the drop-in the main configuration imports\n"
    "                     (containerd; default /etc/containerd/conf.d)\n"
    "  --socket PATH      containerd's socket, waited for after a restart (default:\n"
    "                     the distribution's)\n"
    "  --restart auto|systemd|signal|none  how to restart containerd (default auto:\n"
    "                     systemd for containerd and k3s, snap for microk8s, none for\n"
    "                     k0s, which restarts it itself); signal sends SIGTERM to the\n"
    "                     containerd running with --containerd-config, for a supervisor\n"
    "                     to start again\n"
    "  --systemd-unit NAME  the unit to restart (default containerd; k3s: k3s or k3s-agent)\n"
    "  --state-dir DIR    host folder for the restart-pending mark\n"
    "                     (default /var/lib/spinkube-c/node-installer)\n"
    "  --node-name NAME   [NODE_NAME] this node\n"
    "  --label KEY        the node label (default spinkube.dev/containerd-shim-spin)\n"
    "  --kubeconfig FILE  default: the pod's service account\n"
    "  --ready-file PATH  made once installed (default /run/spinkube-node-installer/ready)\n"
    "  --poll-seconds N   how often install reads its node (default 5)\n"
    "  --timeout SECONDS  request-uninstall's wait, and each wait for containerd (default 120)\n"
    "  --help, --version\n";

const char *ni_distro_name(enum ni_distro d)
{
	switch (d) {
	case NI_DISTRO_CONTAINERD:
		return "containerd";
	case NI_DISTRO_K3S:
		return "k3s";
	case NI_DISTRO_MICROK8S:
		return "microk8s";
	case NI_DISTRO_K0S:
		return "k0s";
	default:
		return "auto";
	}
}

static int parse_distro(const char *s, enum ni_distro *d, struct sk_error *err)
{
	static const enum ni_distro all[] = {NI_DISTRO_AUTO, NI_DISTRO_CONTAINERD, NI_DISTRO_K3S,
	                                     NI_DISTRO_MICROK8S, NI_DISTRO_K0S};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(s, ni_distro_name(all[i])) == 0) {
			*d = all[i];
			return 0;
		}
	return sk_err(err, -EINVAL, "--distro \"%s\": give auto, containerd, k3s, microk8s or k0s", s);
}

static int parse_long(const char *flag, const char *s, long min, long max, long *out, struct sk_error *err)
{
	char *end = NULL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return sk_err(err, -EINVAL, "%s \"%s\": give a whole number from %ld to %ld", flag, s, min,
		              max);
	*out = v;
	return 0;
}

/* A host path option: absolute, bounded. */
static int check_abs(const char *flag, const char *s, struct sk_error *err)
{
	if (s[0] != '/' || strlen(s) > 1024)
		return sk_err(err, -EINVAL, "%s \"%s\": give an absolute path of at most 1024 bytes", flag,
		              s);
	return 0;
}

int ni_options_parse(int argc, char **argv, struct ni_options *o, FILE *out, struct sk_error *err)
{
	enum {
		O_DISTRO = 256,
		O_HOST_ROOT,
		O_SHIM,
		O_BIN,
		O_CONFIG,
		O_DROPIN,
		O_SOCKET,
		O_RESTART,
		O_UNIT,
		O_STATE,
		O_NODE,
		O_LABEL,
		O_KUBECONFIG,
		O_READY,
		O_POLL,
		O_TIMEOUT,
		O_HELP,
		O_VERSION
	};
	static const struct option longopts[] = {
	    {"distro", required_argument, NULL, O_DISTRO},
	    {"host-root", required_argument, NULL, O_HOST_ROOT},
	    {"shim-source", required_argument, NULL, O_SHIM},
	    {"bin-dir", required_argument, NULL, O_BIN},
	    {"containerd-config", required_argument, NULL, O_CONFIG},
	    {"dropin-dir", required_argument, NULL, O_DROPIN},
	    {"socket", required_argument, NULL, O_SOCKET},
	    {"restart", required_argument, NULL, O_RESTART},
	    {"systemd-unit", required_argument, NULL, O_UNIT},
	    {"state-dir", required_argument, NULL, O_STATE},
	    {"node-name", required_argument, NULL, O_NODE},
	    {"label", required_argument, NULL, O_LABEL},
	    {"kubeconfig", required_argument, NULL, O_KUBECONFIG},
	    {"ready-file", required_argument, NULL, O_READY},
	    {"poll-seconds", required_argument, NULL, O_POLL},
	    {"timeout", required_argument, NULL, O_TIMEOUT},
	    {"help", no_argument, NULL, O_HELP},
	    {"version", no_argument, NULL, O_VERSION},
	    {NULL, 0, NULL, 0},
	};
	const char *env;
	int c, r;

	*o = (struct ni_options){
	    .distro = NI_DISTRO_AUTO,
	    .restart = NI_RESTART_AUTO,
	    .host_root = "/host",
	    .shim_source = "/containerd-shim-spin-v2",
	    .bin_dir = "/opt/spinkube/bin",
	    .containerd_config = "/etc/containerd/config.toml",
	    .dropin_dir = "/etc/containerd/conf.d",
	    .state_dir = "/var/lib/spinkube-c/node-installer",
	    .label = "spinkube.dev/containerd-shim-spin",
	    .ready_file = "/run/spinkube-node-installer/ready",
	    .poll_seconds = 5,
	    .timeout_seconds = 120,
	};
	o->node_name = getenv("NODE_NAME");
	if ((env = getenv("NODE_INSTALLER_DISTRO")) && *env && (r = parse_distro(env, &o->distro, err)) < 0)
		return sk_err_prefix(err, "NODE_INSTALLER_DISTRO");
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (c) {
		case O_DISTRO:
			if ((r = parse_distro(optarg, &o->distro, err)) < 0)
				return r;
			break;
		case O_HOST_ROOT:
			if (*optarg && (r = check_abs("--host-root", optarg, err)) < 0)
				return r;
			o->host_root = optarg;
			break;
		case O_SHIM:
			o->shim_source = optarg;
			break;
		case O_BIN:
			if ((r = check_abs("--bin-dir", optarg, err)) < 0)
				return r;
			o->bin_dir = optarg;
			break;
		case O_CONFIG:
			if ((r = check_abs("--containerd-config", optarg, err)) < 0)
				return r;
			o->containerd_config = optarg;
			break;
		case O_DROPIN:
			if ((r = check_abs("--dropin-dir", optarg, err)) < 0)
				return r;
			o->dropin_dir = optarg;
			break;
		case O_SOCKET:
			if ((r = check_abs("--socket", optarg, err)) < 0)
				return r;
			o->socket = optarg;
			break;
		case O_STATE:
			if ((r = check_abs("--state-dir", optarg, err)) < 0)
				return r;
			o->state_dir = optarg;
			break;
		case O_RESTART:
			if (strcmp(optarg, "auto") == 0)
				o->restart = NI_RESTART_AUTO;
			else if (strcmp(optarg, "systemd") == 0)
				o->restart = NI_RESTART_SYSTEMD;
			else if (strcmp(optarg, "signal") == 0)
				o->restart = NI_RESTART_SIGNAL;
			else if (strcmp(optarg, "none") == 0)
				o->restart = NI_RESTART_NONE;
			else
				return sk_err(err, -EINVAL,
				              "--restart \"%s\": give auto, systemd, signal or none", optarg);
			break;
		case O_UNIT:
			o->systemd_unit = optarg;
			break;
		case O_NODE:
			o->node_name = optarg;
			break;
		case O_LABEL:
			if (!*optarg || strlen(optarg) > 316 ||
			    strspn(optarg,
			           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./") !=
			        strlen(optarg))
				return sk_err(err, -EINVAL,
				              "--label \"%s\": give a label key such as "
				              "spinkube.dev/containerd-shim-spin",
				              optarg);
			o->label = optarg;
			break;
		case O_KUBECONFIG:
			o->kubeconfig = optarg;
			break;
		case O_READY:
			o->ready_file = optarg;
			break;
		case O_POLL:
			if ((r = parse_long("--poll-seconds", optarg, 1, 3600, &o->poll_seconds, err)) < 0)
				return r;
			break;
		case O_TIMEOUT:
			if ((r = parse_long("--timeout", optarg, 1, 3600, &o->timeout_seconds, err)) < 0)
				return r;
			break;
		case O_HELP:
			fputs(usage, out);
			return 1;
		case O_VERSION:
			fprintf(out, "spinkube-node-installer %s\n", SPINKUBE_VERSION);
			return 1;
		default:
			return sk_err(err, -EINVAL, "unknown or incomplete option \"%s\" (see --help)",
			              argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return sk_err(
		    err, -EINVAL,
		    "give one command: install, uninstall, request-uninstall or ready (see --help)");
	const char *cmd = argv[optind];
	if (strcmp(cmd, "install") == 0)
		o->command = NI_CMD_INSTALL;
	else if (strcmp(cmd, "uninstall") == 0)
		o->command = NI_CMD_UNINSTALL;
	else if (strcmp(cmd, "request-uninstall") == 0)
		o->command = NI_CMD_REQUEST_UNINSTALL;
	else if (strcmp(cmd, "ready") == 0)
		o->command = NI_CMD_READY;
	else
		return sk_err(err, -EINVAL,
		              "unknown command \"%s\": give install, uninstall, request-uninstall or ready",
		              cmd);
	if ((o->command == NI_CMD_INSTALL || o->command == NI_CMD_UNINSTALL) &&
	    (!o->node_name || !*o->node_name))
		return sk_err(
		    err, -EINVAL,
		    "no node name: set NODE_NAME (the chart sets it from spec.nodeName) or give --node-name");
	return 0;
}
