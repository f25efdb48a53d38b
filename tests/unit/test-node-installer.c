/* The node installer's configuration edits (node-installer/edit.c) against
 * the golden files in tests/golden/node-installer/<case>/ (see its
 * README.md), and the whole install and uninstall of each distribution
 * (node-installer/config.c, host.c) on a host root made in a temporary
 * folder: install twice changes nothing the second time, uninstall gives
 * back every file byte for byte and removes what the install made.
 *
 * Usage: test-node-installer GOLDEN_DIR (SPINKUBE_UPDATE_GOLDEN=1 rewrites
 * the expected files). */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/toml.h"
#include "node-installer/config.h"
#include "node-installer/edit.h"
#include "node-installer/host.h"
#include "tests/tap.h"

#define SHIM   "/opt/spinkube/bin/containerd-shim-spin-v2"
#define DROPIN "/etc/containerd/conf.d/spinkube-c-spin.toml"

static const char *golden;
static int update;

static char *slurp(const char *path, size_t *len)
{
	char *data = NULL;
	size_t n = 0;
	if (sk_read_file(path, 4 * 1024 * 1024, &data, &n) < 0)
		return NULL;
	if (len)
		*len = n;
	return data;
}

static void spit(const char *path, const char *data)
{
	FILE *f = fopen(path, "we");
	if (f) {
		fputs(data, f);
		fclose(f);
	}
}

/* Compare got with the golden file (or rewrite it); NULL got means "the
 * file must not exist". */
static void golden_is(const char *c, const char *file, const char *got)
{
	char path[4096];
	(void)snprintf(path, sizeof(path), "%s/%s/%s", golden, c, file);
	if (update) {
		if (got)
			spit(path, got);
		else
			unlink(path);
		ok(1, "%s/%s rewritten", c, file);
		return;
	}
	_cleanup_free_ char *want = slurp(path, NULL);
	if (!got) {
		ok(!want, "%s: no %s (the input stays as it is)", c, file);
		return;
	}
	int same = want && strcmp(want, got) == 0;
	ok(same, "%s: %s as in the golden file", c, file);
	if (!same)
		printf("# got:\n%s\n", got);
}

static int count(const char *s, const char *what)
{
	int n = 0;
	for (const char *p = s; (p = strstr(p, what)); p++)
		n++;
	return n;
}

static int valid_toml(const char *text)
{
	json_object *tree = NULL;
	int r = sk_toml_parse(text, strlen(text), "t", &tree, NULL);
	json_object_put(tree);
	return r == 0;
}

static void case_containerd(const char *c, int want_version)
{
	char path[4096];
	(void)snprintf(path, sizeof(path), "%s/%s/input", golden, c);
	_cleanup_free_ char *in = slurp(path, NULL);
	_cleanup_free_ char *out = NULL;
	_cleanup_free_ char *again = NULL;
	_cleanup_free_ char *dropin = NULL;
	struct sk_error err = {0};
	int version = 0;

	if (!ok(in != NULL, "%s: input readable", c))
		return;
	ok(ni_containerd_main(in, strlen(in), c, DROPIN, &version, &out, &err) == 0,
	   "%s: the main file is edited (%s)", c, err.message);
	ok(version == want_version, "%s: config version %d", c, version);
	golden_is(c, "expected", out);
	if (out) {
		ok(valid_toml(out), "%s: the result is valid TOML", c);
		ok(ni_containerd_main(out, strlen(out), c, DROPIN, &version, &again, &err) == 0 && !again,
		   "%s: a second install changes nothing", c);
		_cleanup_free_ char *back = NULL;
		_cleanup_free_ char *twice = NULL;
		ok(ni_containerd_unimport(out, strlen(out), c, DROPIN, &back, &err) == 0 && back &&
		       valid_toml(back) && !strstr(back, DROPIN) &&
		       ni_containerd_unimport(back, strlen(back), c, DROPIN, &twice, &err) == 0 && !twice,
		   "%s: without its backup the drop-in comes out of imports again (%s)", c, err.message);
	}
	ok(ni_dropin(version, SHIM, &dropin, &err) == 0, "%s: the drop-in", c);
	golden_is(c, "dropin", dropin);
	ok(dropin && valid_toml(dropin), "%s: the drop-in is valid TOML", c);
}

static void case_appended(const char *c, enum ni_format fmt, int version)
{
	char path[4096];
	(void)snprintf(path, sizeof(path), "%s/%s/input", golden, c);
	_cleanup_free_ char *in = slurp(path, NULL);
	_cleanup_free_ char *out = NULL;
	_cleanup_free_ char *again = NULL;
	_cleanup_free_ char *back = NULL;
	struct sk_error err = {0};

	if (!ok(in != NULL, "%s: input readable", c))
		return;
	ok(ni_append_section(in, strlen(in), c, fmt, version, SHIM, &out, &err) == 0 && out,
	   "%s: the block is appended (%s)", c, err.message);
	golden_is(c, "expected", out);
	if (!out)
		return;
	if (fmt == NI_FORMAT_TOML)
		ok(valid_toml(out), "%s: the result is valid TOML", c);
	ok(ni_append_section(out, strlen(out), c, fmt, version, SHIM, &again, &err) == 0 && !again,
	   "%s: a second install changes nothing", c);
	ok(ni_remove_section(out, strlen(out), c, &back, &err) == 0 && back && strcmp(back, in) == 0,
	   "%s: taking the block out gives the input back byte for byte", c);
	/* Another shim path: the block is brought up to date, not doubled. */
	_cleanup_free_ char *moved = NULL;
	ok(ni_append_section(out, strlen(out), c, fmt, version, "/usr/local/bin/containerd-shim-spin-v2",
	                     &moved, &err) == 0 &&
	       moved && strstr(moved, "/usr/local/bin/") && !strstr(moved, SHIM) &&
	       count(moved, NI_MARK_BEGIN) == 1,
	   "%s: a new shim path replaces the block's", c);
}

static void test_goldens(void)
{
	case_containerd("containerd-v3", 3);
	case_containerd("containerd-v2", 2);
	case_containerd("containerd-v3-imports", 3);
	case_containerd("containerd-v3-glob", 3);
	case_appended("microk8s", NI_FORMAT_TOML, 0);
	case_appended("k3s-template", NI_FORMAT_TEMPLATE, 2);
	case_appended("k3s-v3-template", NI_FORMAT_TEMPLATE, 3);

	_cleanup_free_ char *k3s = NULL;
	_cleanup_free_ char *k0s = NULL;
	struct sk_error err = {0};
	ok(ni_k3s_template(2, SHIM, &k3s, &err) == 0, "k3s: a new template");
	golden_is("k3s-new", "expected", k3s);
	ok(ni_dropin(2, SHIM, &k0s, &err) == 0, "k0s: the drop-in");
	golden_is("k0s", "expected", k0s);
}

/* An error: rc and a message naming the file and saying what to do. */
static void refused(int rc, int want, const struct sk_error *err, const char *says, const char *name)
{
	ok(rc == want, "%s: refused with %d (got %d)", name, want, rc);
	ok(strstr(err->message, says) != NULL, "%s: the message says \"%s\" (%s)", name, says, err->message);
	ok(strchr(err->message, '\n') == NULL, "%s: the message is one line", name);
}

static void test_errors(void)
{
	struct sk_error err = {0};
	char *out = NULL;
	int v = 0;

	static const char foreign_v3[] =
	    "version = 3\n[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.spin]\n"
	    "runtime_type = 'io.containerd.spin.v2'\nruntime_path = '/usr/bin/containerd-shim-spin-v2'\n";
	static const char foreign_v2[] =
	    "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.spin]\n"
	    "runtime_type = \"io.containerd.spin.v2\"\n";
	refused(ni_containerd_main(foreign_v3, strlen(foreign_v3), "/etc/containerd/config.toml", DROPIN, &v,
	                           &out, &err),
	        -EEXIST, &err, "/usr/bin/containerd-shim-spin-v2", "a spin runtime of another path (v3)");
	ok(strstr(err.message, "remove that table") != NULL, "... and the fix");
	refused(
	    ni_append_section(foreign_v2, strlen(foreign_v2), "tmpl", NI_FORMAT_TOML, 0, SHIM, &out, &err),
	    -EEXIST, &err, "already defines a containerd runtime \"spin\"",
	    "a spin runtime in MicroK8s' template");
	refused(ni_append_section(foreign_v2, strlen(foreign_v2), "tmpl", NI_FORMAT_TEMPLATE, 2, SHIM, &out,
	                          &err),
	        -EEXIST, &err, "already defines", "a spin runtime in a k3s template");
	static const char foreign_shared[] =
	    "version = 3\n[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.spin-shared]\n"
	    "runtime_type = 'io.containerd.spin.v2'\nruntime_path = '/usr/bin/containerd-shim-spin-shared-v2'\n";
	refused(ni_containerd_main(foreign_shared, strlen(foreign_shared), "c.toml", DROPIN, &v, &out, &err),
	        -EEXIST, &err, "runtime \"spin-shared\"", "a spin-shared runtime of another path");
	refused(ni_append_section(foreign_shared, strlen(foreign_shared), "tmpl", NI_FORMAT_TOML, 0, SHIM, &out,
	                          &err),
	        -EEXIST, &err, "/usr/bin/containerd-shim-spin-shared-v2", "a spin-shared runtime in MicroK8s' template");
	refused(ni_append_section(foreign_shared, strlen(foreign_shared), "tmpl", NI_FORMAT_TEMPLATE, 3, SHIM,
	                          &out, &err),
	        -EEXIST, &err, "spin-shared", "a spin-shared runtime in a k3s template");

	static const char v1[] = "root = \"/var/lib/containerd\"\n";
	refused(ni_containerd_main(v1, strlen(v1), "c.toml", DROPIN, &v, &out, &err), -EINVAL, &err,
	        "containerd config migrate", "a version 1 file");
	static const char v4[] = "version = 4\n";
	refused(ni_config_version(v4, strlen(v4), "c.toml", &v, &err), -EINVAL, &err, "config version 4",
	        "version 4");
	static const char bad[] = "version = 3\n[plugins\nx = 1\n";
	refused(ni_containerd_main(bad, strlen(bad), "c.toml", DROPIN, &v, &out, &err), -EINVAL, &err,
	        "c.toml:2:", "malformed TOML");
	ok(strstr(err.message, "fix the file first") != NULL, "... says to fix the file");
	refused(ni_append_section(bad, strlen(bad), "m.toml", NI_FORMAT_TOML, 0, SHIM, &out, &err), -EINVAL,
	        &err, "m.toml:2:", "malformed MicroK8s template");

	size_t big = NI_CONFIG_MAX + 1;
	_cleanup_free_ char *huge = malloc(big + 1);
	memset(huge, '#', big);
	huge[big] = '\0';
	refused(ni_containerd_main(huge, big, "c.toml", DROPIN, &v, &out, &err), -E2BIG, &err, "more than",
	        "an oversize file");
	refused(ni_append_section(huge, big, "t", NI_FORMAT_TEMPLATE, 2, SHIM, &out, &err), -E2BIG, &err,
	        "more than", "an oversize template");

	static const char inline_rt[] =
	    "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd]\n"
	    "runtimes = { runc = { runtime_type = \"io.containerd.runc.v2\" } }\n";
	refused(
	    ni_append_section(inline_rt, strlen(inline_rt), "m.toml", NI_FORMAT_TOML, 0, SHIM, &out, &err),
	    -EINVAL, &err, "not inline", "runtimes as an inline table");
	static const char imports_bad[] = "version = 3\nimports = 'x'\n";
	refused(ni_containerd_main(imports_bad, strlen(imports_bad), "c.toml", DROPIN, &v, &out, &err),
	        -EINVAL, &err, "not an array", "imports that is not an array");
	static const char nul[] = "{{ template \"base\" . }}\0x";
	refused(ni_append_section(nul, sizeof(nul) - 1, "t", NI_FORMAT_TEMPLATE, 2, SHIM, &out, &err),
	        -EINVAL, &err, "NUL byte", "a template with a NUL byte");
	refused(ni_section(3, "relative/shim", &out, &err), -EINVAL, &err, "absolute",
	        "a relative shim path");
	refused(ni_section(3, "/opt/a\nb", &out, &err), -EINVAL, &err, "control character",
	        "a shim path with a newline");
	static const char half[] = "version = 2\n\n" NI_MARK_BEGIN "\n[x]\n";
	refused(ni_remove_section(half, strlen(half), "t", &out, &err), -EINVAL, &err, "backup",
	        "a begin marker without its end");

	/* Two blocks (a file edited by hand): both come out, and an install
	 * leaves exactly one. */
	_cleanup_free_ char *sec = NULL;
	_cleanup_free_ char *two = NULL;
	_cleanup_free_ char *none = NULL;
	_cleanup_free_ char *one = NULL;
	ni_section(2, SHIM, &sec, &err);
	if (asprintf(&two, "{{ template \"base\" . }}\n\n%s\n%s", sec, sec) > 0) {
		ok(ni_remove_section(two, strlen(two), "t", &none, &err) == 0 && none &&
		       strcmp(none, "{{ template \"base\" . }}\n") == 0,
		   "two blocks: both are taken out");
		ok(ni_append_section(two, strlen(two), "t", NI_FORMAT_TEMPLATE, 2, SHIM, &one, &err) == 0 && one &&
		       count(one, NI_MARK_BEGIN) == 1,
		   "two blocks: an install leaves one");
	}

	/* A path that needs quoting is quoted, and still valid TOML. */
	_cleanup_free_ char *q = NULL;
	ok(ni_dropin(3, "/opt/sp\"in \\kube/shim", &q, &err) == 0 && valid_toml(q) &&
	       strstr(q, "runtime_path = \"/opt/sp\\\"in \\\\kube/shim\""),
	   "a shim path with quotes and backslashes is quoted");
	/* imports written on one line after the version, no version: before the first table. */
	static const char nover_tables[] = "root = \"/x\"\n[grpc]\naddress = \"/s\"\n";
	_cleanup_free_ char *noimp = NULL;
	refused(ni_containerd_main(nover_tables, strlen(nover_tables), "c.toml", DROPIN, &v, &noimp, &err),
	        -EINVAL, &err, "version 1", "no version at all");
	static const char noend[] = "version = 3";
	_cleanup_free_ char *ne = NULL;
	ok(ni_containerd_main(noend, strlen(noend), "c.toml", DROPIN, &v, &ne, &err) == 0 && ne &&
	       strcmp(ne, "version = 3\nimports = [\"" DROPIN "\"]\n") == 0,
	   "a file without a final newline gets one before the imports line");
}

/* ------------------------------------------------- whole installs on a fake host */

static char root[256];

static void mk(const char *rel, const char *text)
{
	char p[8192], d[8192];
	(void)snprintf(p, sizeof(p), "%s%s", root, rel);
	(void)snprintf(d, sizeof(d), "%s", p);
	*strrchr(d, '/') = '\0';
	sk_mkdir_p(d, 0755);
	spit(p, text);
}

static char *host(const char *rel)
{
	char p[8192];
	(void)snprintf(p, sizeof(p), "%s%s", root, rel);
	return slurp(p, NULL);
}

static int exists(const char *rel)
{
	char p[8192];
	(void)snprintf(p, sizeof(p), "%s%s", root, rel);
	return access(p, F_OK) == 0;
}

static int steps, prepares;
static void count_step(void *ud, const char *what, const char *path)
{
	(void)ud;
	(void)path;
	if (what)
		steps++;
	else
		prepares++;
}

/* Install twice, check, uninstall, and every file in files[] is back byte for byte. */
static void roundtrip(const char *name, enum ni_distro d, const char *const *files, const char *edited,
                      const char *made)
{
	struct ni_options o = {
	    .host_root = root,
	    .bin_dir = "/opt/spinkube/bin",
	    .containerd_config = "/etc/containerd/config.toml",
	    .dropin_dir = "/etc/containerd/conf.d",
	};
	struct sk_error err = {0};
	char *before[8] = {NULL};
	bool changed = false;

	for (int i = 0; files[i]; i++)
		before[i] = host(files[i]);
	steps = prepares = 0;
	ok(ni_config_install(&o, d, &changed, count_step, NULL, &err) == 0 && changed, "%s: installed (%s)",
	   name, err.message);
	ok(prepares > 0 && steps > 0, "%s: each change reported, after a warning before it", name);
	_cleanup_free_ char *text = host(edited);
	ok(text && strstr(text, SHIM) && strstr(text, "io.containerd.spin.v2"), "%s: %s has the spin runtime",
	   name, edited);
	if (made)
		ok(exists(made), "%s: %s made", name, made);
	ok(ni_config_install(&o, d, &changed, count_step, NULL, &err) == 0 && !changed,
	   "%s: a second install changes nothing", name);
	/* Someone edits the file after the install: uninstall still gives back the original. */
	ok(ni_config_uninstall(&o, d, &changed, count_step, NULL, &err) == 0 && changed,
	   "%s: uninstalled (%s)", name, err.message);
	for (int i = 0; files[i]; i++) {
		_cleanup_free_ char *after = host(files[i]);
		if (before[i])
			ok(after && strcmp(after, before[i]) == 0, "%s: %s restored byte for byte", name,
			   files[i]);
		else
			ok(!after, "%s: %s, which the install made, is gone", name, files[i]);
		char bk[1024];
		(void)snprintf(bk, sizeof(bk), "%s%s", files[i], NI_BACKUP_SUFFIX);
		ok(!exists(bk), "%s: no backup left beside %s", name, files[i]);
		free(before[i]);
	}
	if (made)
		ok(!exists(made), "%s: %s removed", name, made);
	ok(ni_config_uninstall(&o, d, &changed, count_step, NULL, &err) == 0 && !changed,
	   "%s: a second uninstall changes nothing", name);
}

static void test_hosts(void)
{
	(void)snprintf(root, sizeof(root), "/tmp/test-node-installer-XXXXXX");
	if (!ok(mkdtemp(root) != NULL, "a temporary host root"))
		return;
	char p[4096];
	(void)snprintf(p, sizeof(p), "%s/containerd-v3/input", golden);
	_cleanup_free_ char *v3 = slurp(p, NULL);
	mk("/etc/containerd/config.toml", v3 ? v3 : "");
	const char *const plain[] = {"/etc/containerd/config.toml", DROPIN, NULL};
	roundtrip("containerd", NI_DISTRO_CONTAINERD, plain, DROPIN, NULL);

	(void)snprintf(p, sizeof(p), "%s/microk8s/input", golden);
	_cleanup_free_ char *mk8s = slurp(p, NULL);
	mk("/var/snap/microk8s/current/args/containerd-template.toml", mk8s ? mk8s : "");
	const char *const micro[] = {"/var/snap/microk8s/current/args/containerd-template.toml", NULL};
	roundtrip("microk8s", NI_DISTRO_MICROK8S, micro, micro[0], NULL);

	/* k3s without a template of its own: the installer makes one and removes it. */
	mk("/var/lib/rancher/k3s/agent/etc/containerd/config.toml", "# k3s writes this one itself\n");
	const char *const k3s[] = {"/var/lib/rancher/k3s/agent/etc/containerd/config.toml.tmpl",
	                           "/var/lib/rancher/k3s/agent/etc/containerd/config.toml", NULL};
	roundtrip("k3s without a template", NI_DISTRO_K3S, k3s, k3s[0], NULL);
	ok(ni_detect_distro(root) == NI_DISTRO_K3S, "k3s detected from /var/lib/rancher/k3s");
	/* k3s with a user's template. */
	mk("/var/lib/rancher/k3s/agent/etc/containerd/config.toml.tmpl",
	   "{{ template \"base\" . }}\n# mine\n");
	roundtrip("k3s with a template", NI_DISTRO_K3S, k3s, k3s[0], NULL);

	const char *const k0s[] = {"/etc/k0s/containerd.d/spinkube-c-spin.toml", NULL};
	roundtrip("k0s", NI_DISTRO_K0S, k0s, k0s[0], NULL);

	/* Crash between the backup and the write: the next install converges,
	 * the uninstall still restores the very first bytes. */
	struct ni_options o = {.host_root = root,
	                       .bin_dir = "/opt/spinkube/bin",
	                       .containerd_config = "/etc/containerd/config.toml",
	                       .dropin_dir = "/etc/containerd/conf.d"};
	struct sk_error err = {0};
	bool changed = false;
	char cfg[4096];
	(void)snprintf(cfg, sizeof(cfg), "%s/etc/containerd/config.toml", root);
	_cleanup_free_ char *orig = host("/etc/containerd/config.toml");
	ok(ni_host_backup_once(cfg, &err) == 0, "a backup taken, then a crash");
	mk("/etc/containerd/config.toml.new", "half a fi");
	ok(ni_config_install(&o, NI_DISTRO_CONTAINERD, &changed, count_step, NULL, &err) == 0 && changed,
	   "the next install converges (%s)", err.message);
	ok(ni_config_uninstall(&o, NI_DISTRO_CONTAINERD, &changed, count_step, NULL, &err) == 0,
	   "and uninstall");
	_cleanup_free_ char *now = host("/etc/containerd/config.toml");
	ok(orig && now && strcmp(orig, now) == 0, "the file is as it was before the first install");

	/* The backup lost: uninstall takes the import out instead, so containerd
	 * never imports a missing drop-in. */
	ok(ni_config_install(&o, NI_DISTRO_CONTAINERD, &changed, count_step, NULL, &err) == 0 && changed,
	   "installed again");
	char orig_path[4200];
	(void)snprintf(orig_path, sizeof(orig_path), "%s%s", cfg, NI_BACKUP_SUFFIX);
	unlink(orig_path);
	ok(ni_config_uninstall(&o, NI_DISTRO_CONTAINERD, &changed, count_step, NULL, &err) == 0 && changed,
	   "uninstalled without the backup (%s)", err.message);
	_cleanup_free_ char *lost = host("/etc/containerd/config.toml");
	ok(lost && !strstr(lost, "spinkube-c-spin.toml") && valid_toml(lost) && !exists(DROPIN),
	   "the main file no longer imports the drop-in, which is gone");

	/* The binary: copied once, skipped when the same. */
	char src[4096], dst[4096];
	(void)snprintf(src, sizeof(src), "%s/shim-src", root);
	(void)snprintf(dst, sizeof(dst), "%s/opt/spinkube/bin/containerd-shim-spin-v2", root);
	spit(src, "#!/bin/false\nbinary\n");
	ok(ni_host_install_file(src, dst, &changed, &err) == 0 && changed, "the shim is copied");
	struct stat st;
	ok(stat(dst, &st) == 0 && (st.st_mode & 0777) == 0755, "mode 0755");
	ok(ni_host_install_file(src, dst, &changed, &err) == 0 && !changed,
	   "an identical shim is not written again");
	spit(src, "#!/bin/false\nbinary v2\n");
	ok(ni_host_install_file(src, dst, &changed, &err) == 0 && changed, "a different one is");
	bool removed = false;
	ok(ni_host_remove(dst, &removed, &err) == 0 && removed, "removed");
	ok(ni_host_remove(dst, &removed, &err) == 0 && !removed, "removing it again is fine");
	ok(ni_host_install_file("/nonexistent/shim", dst, &changed, &err) < 0 && strstr(err.message, "image"),
	   "a missing source: %s", err.message);

	/* The shared-mode link: made once, put right when it points elsewhere. */
	char link[4096], to[4096];
	(void)snprintf(link, sizeof(link), "%s/opt/spinkube/bin/containerd-shim-spin-shared-v2", root);
	ok(ni_host_install_link("containerd-shim-spin-v2", link, &changed, &err) == 0 && changed,
	   "the shared-mode link is made");
	ssize_t n = readlink(link, to, sizeof(to) - 1);
	ok(n > 0 && (to[n] = '\0', strcmp(to, "containerd-shim-spin-v2") == 0), "naming the shim next to it");
	ok(ni_host_install_link("containerd-shim-spin-v2", link, &changed, &err) == 0 && !changed,
	   "an existing one is left alone");
	ok(symlink("elsewhere", dst) == 0 && rename(dst, link) == 0, "a link to something else");
	ok(ni_host_install_link("containerd-shim-spin-v2", link, &changed, &err) == 0 && changed &&
	       (n = readlink(link, to, sizeof(to) - 1)) > 0 && (to[n] = '\0', strcmp(to, "containerd-shim-spin-v2") == 0),
	   "is replaced");
	ok(ni_host_remove(link, &removed, &err) == 0 && removed && !ni_host_exists(link), "the link is removed");

	/* A main config that is missing. */
	char missing[300];
	(void)snprintf(missing, sizeof(missing), "%s/empty", root);
	sk_mkdir_p(missing, 0755);
	o.host_root = missing;
	ok(ni_config_install(&o, NI_DISTRO_CONTAINERD, &changed, count_step, NULL, &err) == -ENOENT &&
	       strstr(err.message, "containerd config default"),
	   "no containerd config: %s", err.message);
	ok(ni_detect_distro(missing) == NI_DISTRO_CONTAINERD,
	   "plain containerd detected when nothing else is there");

	char cmd[400];
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	(void)!system(cmd);
}

int main(int argc, char **argv)
{
	golden = argc > 1 ? argv[1] : "tests/golden/node-installer";
	update = getenv("SPINKUBE_UPDATE_GOLDEN") && strcmp(getenv("SPINKUBE_UPDATE_GOLDEN"), "1") == 0;
	test_goldens();
	test_errors();
	test_hosts();
	return tap_done();
}
