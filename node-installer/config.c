/* Each distribution's containerd configuration (see config.h).
 *
 *   containerd  the main config imports our drop-in DROPIN_DIR/spinkube-c-spin.toml
 *               (the imports line added when absent), in the main file's version
 *   k3s         /var/lib/rancher/k3s/agent/etc/containerd/config-v3.toml.tmpl when
 *               it exists (version 3 names), else config.toml.tmpl (made from
 *               {{ template "base" . }} when absent; version 2 names, the base
 *               k3s renders that file with); our block appended
 *   microk8s    /var/snap/microk8s/current/args/containerd-template.toml, our
 *               block appended in the file's own version
 *   k0s         the drop-in /etc/k0s/containerd.d/spinkube-c-spin.toml (version 2),
 *               which k0s merges into the containerd configuration it manages */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "node-installer/config.h"
#include "node-installer/edit.h"
#include "node-installer/host.h"

#define DROPIN_NAME       "spinkube-c-spin.toml"
#define K3S_DIR           "/var/lib/rancher/k3s/agent/etc/containerd"
#define MICROK8S_TEMPLATE "/var/snap/microk8s/current/args/containerd-template.toml"
#define K0S_DROPIN_DIR    "/etc/k0s/containerd.d"

/* root + path into buf. */
static int on_host(const char *root, const char *path, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s%s", root, path);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

enum ni_distro ni_detect_distro(const char *root)
{
	char p[PATH_MAX];

	if (on_host(root, "/var/lib/rancher/k3s", p, sizeof(p)) == 0 && ni_host_exists(p))
		return NI_DISTRO_K3S;
	if (on_host(root, MICROK8S_TEMPLATE, p, sizeof(p)) == 0 && ni_host_exists(p))
		return NI_DISTRO_MICROK8S;
	if (on_host(root, "/etc/k0s", p, sizeof(p)) == 0 && ni_host_exists(p))
		return NI_DISTRO_K0S;
	return NI_DISTRO_CONTAINERD;
}

int ni_shim_path(const struct ni_options *o, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/containerd-shim-spin-v2", o->bin_dir);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int ni_shared_link_path(const struct ni_options *o, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s", o->bin_dir, NI_SHARED_LINK_NAME);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Write text to the file full unless it holds it already; take the
 * one-time backup first when backup is true. */
static int put(const char *full, const char *text, bool backup, bool *changed, ni_step_fn step, void *ud,
               const char *what, struct sk_error *err)
{
	_cleanup_free_ char *cur = NULL;
	size_t len = 0;
	bool exists = false;
	int r;

	if ((r = ni_host_read(full, NI_CONFIG_MAX, &cur, &len, &exists, err)) < 0)
		return r;
	if (exists && len == strlen(text) && memcmp(cur, text, len) == 0)
		return 0;
	step(ud, NULL, full);
	if (backup && (r = ni_host_backup_once(full, err)) < 0)
		return r;
	if ((r = ni_host_write_atomic(full, text, strlen(text), 0644, err)) < 0)
		return r;
	*changed = true;
	step(ud, what, full);
	return 0;
}

/* Write a drop-in of our own (no backup: the file is ours) in dir. */
static int put_dropin(const char *root, const char *dir, int version, const char *shim, bool *changed,
                      ni_step_fn step, void *ud, struct sk_error *err)
{
	char full[PATH_MAX], d[PATH_MAX];
	_cleanup_free_ char *text = NULL;
	int r;

	if (on_host(root, dir, d, sizeof(d)) < 0 ||
	    snprintf(full, sizeof(full), "%s/%s", d, DROPIN_NAME) >= (int)sizeof(full))
		return sk_err(err, -ENAMETOOLONG, "%s: path too long", dir);
	if ((r = ni_dropin(version, shim, &text, err)) < 0)
		return r;
	if ((r = sk_mkdir_p(d, 0755)) < 0)
		return sk_err(err, r, "making %s: %s", d, strerror(-r));
	return put(full, text, false, changed, step, ud, "wrote the drop-in with the spin runtime", err);
}

static int install_containerd(const struct ni_options *o, const char *shim, bool *changed, ni_step_fn step,
                              void *ud, struct sk_error *err)
{
	char main_full[PATH_MAX], dropin[PATH_MAX];
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ char *edited = NULL;
	size_t len = 0;
	bool exists = false;
	int version = 0, r;

	if (on_host(o->host_root, o->containerd_config, main_full, sizeof(main_full)) < 0 ||
	    snprintf(dropin, sizeof(dropin), "%s/%s", o->dropin_dir, DROPIN_NAME) >= (int)sizeof(dropin))
		return sk_err(err, -ENAMETOOLONG, "%s: path too long", o->containerd_config);
	if ((r = ni_host_read(main_full, NI_CONFIG_MAX, &text, &len, &exists, err)) < 0)
		return r;
	if (!exists)
		return sk_err(err, -ENOENT,
		              "containerd's configuration %s does not exist: write one (containerd config "
		              "default > %s) or name it with --containerd-config",
		              o->containerd_config, o->containerd_config);
	if ((r = ni_containerd_main(text, len, main_full, dropin, &version, &edited, err)) < 0)
		return r;
	/* The drop-in first, so the main file never imports a missing file. */
	if ((r = put_dropin(o->host_root, o->dropin_dir, version, shim, changed, step, ud, err)) < 0)
		return r;
	if (edited)
		return put(main_full, edited, true, changed, step, ud, "added the drop-in to imports", err);
	return 0;
}

/* A file we append our block to (k3s' and MicroK8s' templates). */
static int install_appended(const char *full, enum ni_format fmt, int version, const char *shim,
                            bool *changed, ni_step_fn step, void *ud, struct sk_error *err)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ char *edited = NULL;
	size_t len = 0;
	bool exists = false;
	int r;

	if ((r = ni_host_read(full, NI_CONFIG_MAX, &text, &len, &exists, err)) < 0)
		return r;
	if (!exists) {
		if (fmt != NI_FORMAT_TEMPLATE)
			return sk_err(err, -ENOENT,
			              "%s does not exist: is this a MicroK8s node? (give --distro)", full);
		if ((r = ni_k3s_template(version, shim, &edited, err)) < 0)
			return r;
		return put(full, edited, true, changed, step, ud,
		           "wrote k3s' containerd template with the spin runtime", err);
	}
	if ((r = ni_append_section(text, len, full, fmt, version, shim, &edited, err)) < 0)
		return r;
	if (edited)
		return put(full, edited, true, changed, step, ud, "added the spin runtime", err);
	return 0;
}

/* k3s: which template, and its version. */
static int k3s_template(const char *root, char *full, size_t size, int *version)
{
	if (on_host(root, K3S_DIR "/config-v3.toml.tmpl", full, size) < 0)
		return -ENAMETOOLONG;
	if (ni_host_exists(full)) {
		*version = 3;
		return 0;
	}
	*version = 2;
	return on_host(root, K3S_DIR "/config.toml.tmpl", full, size);
}

int ni_config_install(const struct ni_options *o, enum ni_distro d, bool *changed, ni_step_fn step, void *ud,
                      struct sk_error *err)
{
	char shim[PATH_MAX], full[PATH_MAX];
	int version = 0;

	*changed = false;
	if (ni_shim_path(o, shim, sizeof(shim)) < 0)
		return sk_err(err, -ENAMETOOLONG, "--bin-dir: path too long");
	switch (d) {
	case NI_DISTRO_K3S:
		if (k3s_template(o->host_root, full, sizeof(full), &version) < 0)
			return sk_err(err, -ENAMETOOLONG, "--host-root: path too long");
		return install_appended(full, NI_FORMAT_TEMPLATE, version, shim, changed, step, ud, err);
	case NI_DISTRO_MICROK8S:
		if (on_host(o->host_root, MICROK8S_TEMPLATE, full, sizeof(full)) < 0)
			return sk_err(err, -ENAMETOOLONG, "--host-root: path too long");
		return install_appended(full, NI_FORMAT_TOML, 0, shim, changed, step, ud, err);
	case NI_DISTRO_K0S:
		return put_dropin(o->host_root, K0S_DROPIN_DIR, 2, shim, changed, step, ud, err);
	default:
		return install_containerd(o, shim, changed, step, ud, err);
	}
}

/* Put an edited file back: from its backup, else by taking our block out. */
static int restore(const char *full, bool *changed, ni_step_fn step, void *ud, struct sk_error *err)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ char *rest = NULL;
	size_t len = 0;
	bool restored = false, exists = false;
	int r;

	if (ni_host_exists_backup(full))
		step(ud, NULL, full);
	if ((r = ni_host_restore(full, &restored, err)) < 0)
		return r;
	if (restored) {
		*changed = true;
		step(ud, "restored the file as it was before the install", full);
		return 0;
	}
	if ((r = ni_host_read(full, NI_CONFIG_MAX, &text, &len, &exists, err)) < 0 || !exists)
		return r;
	if ((r = ni_remove_section(text, len, full, &rest, err)) < 0 || !rest)
		return r;
	step(ud, NULL, full);
	if ((r = ni_host_write_atomic(full, rest, strlen(rest), 0644, err)) < 0)
		return r;
	*changed = true;
	step(ud, "no backup: took the spin runtime block out", full);
	return 0;
}

static int remove_dropin(const char *root, const char *dir, bool *changed, ni_step_fn step, void *ud,
                         struct sk_error *err)
{
	char full[PATH_MAX];
	bool removed = false;
	int n = snprintf(full, sizeof(full), "%s%s/%s", root, dir, DROPIN_NAME), r;

	if (n < 0 || (size_t)n >= sizeof(full))
		return sk_err(err, -ENAMETOOLONG, "%s: path too long", dir);
	if (ni_host_exists(full))
		step(ud, NULL, full);
	if ((r = ni_host_remove(full, &removed, err)) < 0)
		return r;
	if (removed) {
		*changed = true;
		step(ud, "removed the drop-in", full);
	}
	return 0;
}

/* No backup of the main file: take our drop-in out of its imports, so that
 * removing the drop-in cannot leave containerd importing a missing file. */
static int unimport(const struct ni_options *o, const char *full, bool *changed, ni_step_fn step, void *ud,
                    struct sk_error *err)
{
	char dropin[PATH_MAX];
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ char *rest = NULL;
	size_t len = 0;
	bool exists = false;
	int r;

	if (snprintf(dropin, sizeof(dropin), "%s/%s", o->dropin_dir, DROPIN_NAME) >= (int)sizeof(dropin))
		return sk_err(err, -ENAMETOOLONG, "%s: path too long", o->dropin_dir);
	if ((r = ni_host_read(full, NI_CONFIG_MAX, &text, &len, &exists, err)) < 0 || !exists)
		return r;
	if ((r = ni_containerd_unimport(text, len, full, dropin, &rest, err)) < 0 || !rest)
		return r;
	step(ud, NULL, full);
	if ((r = ni_host_write_atomic(full, rest, strlen(rest), 0644, err)) < 0)
		return r;
	*changed = true;
	step(ud, "no backup: took the drop-in out of imports", full);
	return 0;
}

int ni_config_uninstall(const struct ni_options *o, enum ni_distro d, bool *changed, ni_step_fn step,
                        void *ud, struct sk_error *err)
{
	char full[PATH_MAX];
	int version = 0, r;

	*changed = false;
	switch (d) {
	case NI_DISTRO_K3S:
		if (k3s_template(o->host_root, full, sizeof(full), &version) < 0)
			return sk_err(err, -ENAMETOOLONG, "--host-root: path too long");
		return restore(full, changed, step, ud, err);
	case NI_DISTRO_MICROK8S:
		if (on_host(o->host_root, MICROK8S_TEMPLATE, full, sizeof(full)) < 0)
			return sk_err(err, -ENAMETOOLONG, "--host-root: path too long");
		return restore(full, changed, step, ud, err);
	case NI_DISTRO_K0S:
		return remove_dropin(o->host_root, K0S_DROPIN_DIR, changed, step, ud, err);
	default:
		/* The import first, so containerd never imports a missing file. */
		if (on_host(o->host_root, o->containerd_config, full, sizeof(full)) < 0)
			return sk_err(err, -ENAMETOOLONG, "%s: path too long", o->containerd_config);
		bool restored = false;
		if (ni_host_exists_backup(full))
			step(ud, NULL, full);
		if ((r = ni_host_restore(full, &restored, err)) < 0)
			return r;
		if (restored) {
			*changed = true;
			step(ud, "restored the file as it was before the install", full);
		} else if ((r = unimport(o, full, changed, step, ud, err)) < 0) {
			return r;
		}
		if ((r = remove_dropin(o->host_root, o->dropin_dir, changed, step, ud, err)) < 0)
			return r;
		return 0;
	}
}
