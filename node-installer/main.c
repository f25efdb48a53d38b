/* spinkube-node-installer: puts containerd-shim-spin-v2 (and its shared-mode
 * link) on the node it runs on, adds the runtimes "spin" and "spin-shared"
 * to containerd's configuration, restarts
 * containerd and labels the node; uninstall takes it all back. The chart
 * runs `install` in a DaemonSet and `request-uninstall` in a pre-delete
 * hook Job (see options.c's usage for the commands). One log line per
 * action, logfmt on stderr. */
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "controller/kube/client.h"
#include "controller/kube/config.h"
#include "node-installer/config.h"
#include "node-installer/host.h"
#include "node-installer/node.h"
#include "node-installer/options.h"
#include "node-installer/restart.h"

#define VALUE_INSTALLED "installed"
#define VALUE_UNINSTALL "uninstall"
#define MAX_NODES       4096

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

struct ctx {
	const struct ni_options *o;
	enum ni_distro distro;
	struct kube_config *cfg;
	struct kube_client *kube;
	char pending[PATH_MAX]; /* the restart-pending mark, full path */
	bool marked;
	struct sk_error err;
};

/* s quoted for a logfmt value (one buffer: the program is one thread). */
static const char *q(const char *s)
{
	static char buf[2 * SK_ERR_MESSAGE_MAX + PATH_MAX];
	return log_quote(s, buf, sizeof(buf));
}

static void log_path(const char *msg, const char *path)
{
	log_info(msg, "path=%s", q(path));
}

/* Before the first change of a run, note on the host that containerd must
 * restart, so a crash between the write and the restart is finished by the
 * next run. */
static void on_step(void *ud, const char *what, const char *path)
{
	struct ctx *c = ud;

	if (what) {
		log_path(what, path);
		return;
	}
	if (c->marked)
		return;
	char dir[PATH_MAX];
	(void)snprintf(dir, sizeof(dir), "%s%s", c->o->host_root, c->o->state_dir);
	if (sk_mkdir_p(dir, 0700) == 0 && ni_host_write_atomic(c->pending, "", 0, 0600, NULL) == 0)
		c->marked = true;
	else
		log_warn("cannot write the restart-pending mark: if this run is cut short, restart containerd by hand",
		         "path=%s", q(c->pending));
}

/* The socket and the way to restart containerd on this distribution. */
static int restart(struct ctx *c)
{
	const struct ni_options *o = c->o;
	struct ni_restart_req req = {
	    .how = NI_RS_SYSTEMD, .config_arg = o->containerd_config, .timeout_seconds = o->timeout_seconds};
	const char *socket = o->socket;
	char full[PATH_MAX], unitfile[PATH_MAX];
	enum ni_restart how = o->restart;

	switch (c->distro) {
	case NI_DISTRO_K3S:
		(void)snprintf(unitfile, sizeof(unitfile), "%s/etc/systemd/system/k3s-agent.service",
		               o->host_root);
		req.unit = o->systemd_unit ? o->systemd_unit : ni_host_exists(unitfile) ? "k3s-agent" : "k3s";
		socket = socket ? socket : "/run/k3s/containerd/containerd.sock";
		break;
	case NI_DISTRO_MICROK8S:
		if (how == NI_RESTART_AUTO)
			req.how = NI_RS_SNAP;
		req.unit = o->systemd_unit ? o->systemd_unit : "microk8s.daemon-containerd";
		socket = socket ? socket : "/var/snap/microk8s/common/run/containerd.sock";
		break;
	case NI_DISTRO_K0S:
		/* k0s watches containerd.d and restarts its containerd itself. */
		if (how == NI_RESTART_AUTO)
			how = NI_RESTART_NONE;
		req.unit = o->systemd_unit ? o->systemd_unit : "k0sworker";
		socket = socket ? socket : "/run/k0s/containerd.sock";
		break;
	default:
		req.unit = o->systemd_unit ? o->systemd_unit : "containerd";
		socket = socket ? socket : "/run/containerd/containerd.sock";
		break;
	}
	if (how == NI_RESTART_NONE) {
		log_info("containerd not restarted (--restart=none or k0s, which restarts it itself)",
		         "distro=%s", ni_distro_name(c->distro));
		return 0;
	}
	if (how == NI_RESTART_SYSTEMD)
		req.how = NI_RS_SYSTEMD;
	if (how == NI_RESTART_SIGNAL)
		req.how = NI_RS_SIGNAL;
	(void)snprintf(full, sizeof(full), "%s%s", o->host_root, socket);
	req.socket = full;
	int r = ni_restart_containerd(&req, &c->err);
	if (r < 0)
		return r;
	log_info("restarted containerd", "how=%s unit=%s",
	         req.how == NI_RS_SIGNAL ? "signal"
	         : req.how == NI_RS_SNAP ? "snap"
	                                 : "systemd",
	         req.how == NI_RS_SIGNAL ? "-" : req.unit);
	return 0;
}

/* Restart when this run changed the configuration or an earlier one was
 * cut short before its restart; then clear the mark. */
static int restart_if_needed(struct ctx *c, bool changed)
{
	if (!changed && !ni_host_exists(c->pending))
		return 0;
	int r = restart(c);
	if (r < 0)
		return r;
	(void)ni_host_remove(c->pending, &(bool){false}, NULL);
	c->marked = false;
	return 0;
}

static int do_install(struct ctx *c)
{
	char shim_host[PATH_MAX], shim_full[PATH_MAX], link_host[PATH_MAX], link_full[PATH_MAX];
	_cleanup_free_ char *value = NULL;
	bool changed = false;
	int r;

	if (ni_shim_path(c->o, shim_host, sizeof(shim_host)) < 0)
		return sk_err(&c->err, -ENAMETOOLONG, "--bin-dir: path too long");
	(void)snprintf(shim_full, sizeof(shim_full), "%s%s", c->o->host_root, shim_host);
	if ((r = ni_host_install_file(c->o->shim_source, shim_full, &changed, &c->err)) < 0)
		return r;
	log_path(changed ? "installed the shim" : "the shim is installed already", shim_full);
	/* Run it where containerd will: a host without its shared libraries
	 * is refused here, not at the first pod. */
	const char *check[] = {shim_host, "--version", NULL};
	if ((r = ni_run_in_root(c->o->host_root, check, 30, &c->err)) < 0) {
		char why[SK_ERR_MESSAGE_MAX];
		(void)snprintf(why, sizeof(why), "%s", c->err.message);
		return sk_err(&c->err, r,
		              "the shim %s does not run on this host (%s): it needs libcurl 4, json-c 5, "
		              "protobuf-c 1, SQLite 3 and OpenSSL 3 (Debian 12: libcurl4 libjson-c5 "
		              "libprotobuf-c1 libsqlite3-0 libssl3)",
		              shim_host, why);
	}
	log_path("the shim runs on this host", shim_full);
	/* Shared mode: the same program under its link's name. */
	if (ni_shared_link_path(c->o, link_host, sizeof(link_host)) < 0)
		return sk_err(&c->err, -ENAMETOOLONG, "--bin-dir: path too long");
	(void)snprintf(link_full, sizeof(link_full), "%s%s", c->o->host_root, link_host);
	if ((r = ni_host_install_link("containerd-shim-spin-v2", link_full, &changed, &c->err)) < 0)
		return r;
	log_path(changed ? "linked the shim for shared mode" : "the shared-mode link is there already", link_full);
	if ((r = ni_config_install(c->o, c->distro, &changed, on_step, c, &c->err)) < 0)
		return r;
	if (!changed)
		log_info("containerd's configuration has the spin runtime already", "distro=%s",
		         ni_distro_name(c->distro));
	if ((r = restart_if_needed(c, changed)) < 0)
		return r;
	if ((r = ni_label_get(c->kube, c->o->node_name, c->o->label, &value, &c->err)) < 0)
		return r;
	if (!value || strcmp(value, VALUE_INSTALLED) != 0) {
		if ((r = ni_label_set(c->kube, c->o->node_name, c->o->label, VALUE_INSTALLED, &c->err)) < 0)
			return r;
		log_info("labelled the node", "node=%s label=%s=%s", c->o->node_name, c->o->label,
		         VALUE_INSTALLED);
	}
	return 0;
}

static int do_uninstall(struct ctx *c)
{
	char shim_host[PATH_MAX], shim_full[PATH_MAX];
	bool changed = false, removed = false;
	int r;

	if ((r = ni_config_uninstall(c->o, c->distro, &changed, on_step, c, &c->err)) < 0)
		return r;
	if ((r = restart_if_needed(c, changed)) < 0)
		return r;
	if (ni_shim_path(c->o, shim_host, sizeof(shim_host)) < 0)
		return sk_err(&c->err, -ENAMETOOLONG, "--bin-dir: path too long");
	(void)snprintf(shim_full, sizeof(shim_full), "%s%s", c->o->host_root, shim_host);
	if ((r = ni_host_remove(shim_full, &removed, &c->err)) < 0)
		return r;
	if (removed)
		log_path("removed the shim", shim_full);
	if (ni_shared_link_path(c->o, shim_host, sizeof(shim_host)) < 0)
		return sk_err(&c->err, -ENAMETOOLONG, "--bin-dir: path too long");
	(void)snprintf(shim_full, sizeof(shim_full), "%s%s", c->o->host_root, shim_host);
	if ((r = ni_host_remove(shim_full, &removed, &c->err)) < 0)
		return r;
	if (removed)
		log_path("removed the shared-mode link", shim_full);
	/* Our folders go too when nothing else is in them. */
	char dir[PATH_MAX];
	(void)snprintf(dir, sizeof(dir), "%s%s", c->o->host_root, c->o->bin_dir);
	(void)rmdir(dir);
	(void)snprintf(dir, sizeof(dir), "%s%s", c->o->host_root, c->o->state_dir);
	(void)rmdir(dir);
	if ((r = ni_label_set(c->kube, c->o->node_name, c->o->label, NULL, &c->err)) < 0)
		return r;
	log_info("removed the node's label", "node=%s label=%s", c->o->node_name, c->o->label);
	return 0;
}

/* Sleep up to s seconds, waking early on SIGTERM. */
static void nap(long s)
{
	for (long i = 0; i < s * 10 && !stopping; i++) {
		struct timespec ts = {0, 100000000L};
		nanosleep(&ts, NULL);
	}
}

static int make_ready(const struct ni_options *o)
{
	char dir[PATH_MAX];
	(void)snprintf(dir, sizeof(dir), "%s", o->ready_file);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		(void)sk_mkdir_p(dir, 0755);
	}
	return ni_host_write_atomic(o->ready_file, "", 0, 0644, NULL);
}

/* install: converge, then watch the node's label until SIGTERM. */
static int run_install(struct ctx *c)
{
	_cleanup_free_ char *value = NULL;
	bool uninstalled = false;
	int r;

	if ((r = ni_label_get(c->kube, c->o->node_name, c->o->label, &value, &c->err)) < 0)
		return r;
	if (value && strcmp(value, VALUE_UNINSTALL) == 0) {
		/* A run cut short in the middle of an uninstall: finish it. */
		if ((r = do_uninstall(c)) < 0)
			return r;
		uninstalled = true;
	} else if ((r = do_install(c)) < 0) {
		return r;
	}
	(void)make_ready(c->o);
	log_info(uninstalled ? "uninstalled; idle until the DaemonSet goes"
	                     : "installed; watching the node's label",
	         "node=%s", c->o->node_name);
	while (!stopping) {
		nap(c->o->poll_seconds);
		if (stopping || uninstalled)
			continue;
		free(value);
		value = NULL;
		if (ni_label_get(c->kube, c->o->node_name, c->o->label, &value, &c->err) < 0) {
			log_warn("cannot read the node; trying again", "error=%s", q(c->err.message));
			continue;
		}
		if (value && strcmp(value, VALUE_UNINSTALL) == 0) {
			log_info("uninstall requested", "node=%s", c->o->node_name);
			if ((r = do_uninstall(c)) < 0)
				return r;
			uninstalled = true;
			log_info("uninstalled; idle until the DaemonSet goes", "node=%s", c->o->node_name);
		} else if (!value) {
			if (ni_label_set(c->kube, c->o->node_name, c->o->label, VALUE_INSTALLED, &c->err) < 0)
				log_warn("cannot label the node; trying again", "error=%s",
				         q(c->err.message));
			else
				log_info("the node's label was gone; labelled it again", "node=%s",
				         c->o->node_name);
		}
	}
	log_info("stopping on SIGTERM; the node keeps what is installed", "node=%s", c->o->node_name);
	return 0;
}

/* request-uninstall: ask every labelled node's installer to uninstall and
 * wait until their labels are gone (bounded). */
static int run_request_uninstall(struct ctx *c)
{
	char *names[MAX_NODES];
	int n = 0, r;

	if ((r = ni_labelled_nodes(c->kube, c->o->label, names, MAX_NODES, &n, &c->err)) < 0)
		return r;
	for (int i = 0; i < n; i++) {
		if ((r = ni_label_set(c->kube, names[i], c->o->label, VALUE_UNINSTALL, &c->err)) < 0)
			log_warn("cannot ask the node to uninstall", "node=%s error=%s", names[i],
			         q(c->err.message));
		else
			log_info("asked the node to uninstall", "node=%s", names[i]);
		free(names[i]);
	}
	for (long waited = 0; n > 0 && waited < c->o->timeout_seconds && !stopping; waited += 2) {
		nap(2);
		if ((r = ni_labelled_nodes(c->kube, c->o->label, names, MAX_NODES, &n, &c->err)) < 0)
			return r;
		for (int i = 0; i < n; i++) {
			if (waited + 2 >= c->o->timeout_seconds)
				log_warn("the node's installer did not uninstall in time: its shim and "
				         "configuration stay; run the installer's uninstall there by hand",
				         "node=%s", names[i]);
			free(names[i]);
		}
	}
	log_info("uninstall requested from every labelled node", "left=%d", n);
	return 0;
}

int main(int argc, char **argv)
{
	struct ni_options o;
	struct ctx c = {.o = &o};
	int r;

	r = ni_options_parse(argc, argv, &o, stdout, &c.err);
	if (r == 1)
		return 0;
	if (r < 0) {
		fprintf(stderr, "spinkube-node-installer: %s\n", c.err.message);
		return 2;
	}
	if (o.command == NI_CMD_READY)
		return access(o.ready_file, F_OK) == 0 ? 0 : 1;
	struct sigaction sa = {.sa_handler = on_term};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	c.distro = o.distro == NI_DISTRO_AUTO ? ni_detect_distro(o.host_root) : o.distro;
	(void)snprintf(c.pending, sizeof(c.pending), "%s%s/restart-pending", o.host_root, o.state_dir);
	if ((r = ni_kube_open(o.kubeconfig, &c.cfg, &c.kube, &c.err)) < 0)
		goto fail;
	if (o.command != NI_CMD_REQUEST_UNINSTALL)
		log_info("starting", "node=%s distro=%s%s", o.node_name, ni_distro_name(c.distro),
		         o.distro == NI_DISTRO_AUTO ? " detected=true" : "");
	switch (o.command) {
	case NI_CMD_INSTALL:
		r = run_install(&c);
		break;
	case NI_CMD_UNINSTALL:
		r = do_uninstall(&c);
		break;
	default:
		r = run_request_uninstall(&c);
		break;
	}
	if (r < 0)
		goto fail;
	kube_client_free(c.kube);
	kube_config_free(c.cfg);
	return 0;
fail:
	log_error("failed", "error=%s", q(c.err.message));
	kube_client_free(c.kube);
	kube_config_free(c.cfg);
	return 1;
}
