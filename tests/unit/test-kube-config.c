/* kubeconfig loading as kubectl does it: fields, merging several files,
 * context selection, relative paths, the precedence of the sources,
 * in-cluster configuration, and one clear message for each broken file. All
 * against real files in a temporary folder. */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controller/kube/config.h"
#include "tests/tap.h"

#include "tests/unit/test-pem.h"

#define PBUF 256  /* paths under dir */
#define WANT 1024 /* expected messages */

static char dir[64]; /* this run's temporary folder */
static char kc[96];  /* dir/kubeconfig: the path kube_config_from_text is given */
static char cert_b64[2048], key_b64[1024];

/* dir/rel, in a buffer of the caller. */
static const char *at(char *buf, const char *rel)
{
	(void)snprintf(buf, PBUF, "%s/%s", dir, rel);
	return buf;
}

/* Write text to dir/rel, creating rel's folder (one level). */
static void put(const char *rel, const char *text)
{
	char p[PBUF];
	const char *slash = strrchr(rel, '/');
	FILE *f;

	if (slash) {
		char sub[PBUF];

		(void)snprintf(sub, sizeof(sub), "%s/%.*s", dir, (int)(slash - rel), rel);
		(void)mkdir(sub, 0755);
	}
	f = fopen(at(p, rel), "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		printf("Bail out! cannot write %s\n", p);
		exit(1);
	}
}

static void b64(const char *in, char *out)
{
	(void)EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in, (int)strlen(in));
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static int from_text(const char *yaml, const char *ctx, struct kube_config **cfg, struct sk_error *err)
{
	*cfg = NULL;
	sk_err_clear(err);
	return kube_config_from_text(yaml, strlen(yaml), kc, ctx, cfg, err);
}

/* kube_config_load / kube_config_in_cluster with *cfg and err reset first. */
static int load(const struct kube_config_opts *opts, struct kube_config **cfg, struct sk_error *err)
{
	*cfg = NULL;
	sk_err_clear(err);
	return kube_config_load(opts, cfg, err);
}

static int in_cluster(const char *host, const char *port, const char *sa, struct kube_config **cfg,
                      struct sk_error *err)
{
	*cfg = NULL;
	sk_err_clear(err);
	return kube_config_in_cluster(host, port, sa, cfg, err);
}

/* A kubeconfig with cluster "c", user "ci", contexts "a" (c, ci) and "b"
 * (c, no user); the bodies of the cluster and the user are given, as lines
 * indented by four spaces. */
static int load_parts(const char *cluster, const char *user, const char *ctx, struct kube_config **cfg,
                      struct sk_error *err)
{
	char yaml[8192];

	(void)snprintf(
	    yaml, sizeof(yaml),
	    "apiVersion: v1\nkind: Config\ncurrent-context: a\n"
	    "clusters:\n- name: c\n  cluster:\n%s"
	    "users:\n- name: ci\n  user:\n%s"
	    "contexts:\n- name: a\n  context: {cluster: c, user: ci}\n- name: b\n  context: {cluster: c}\n",
	    cluster, user);
	return from_text(yaml, ctx, cfg, err);
}

#define SERVER "    server: https://k.example:6443\n"

/* Expect load_parts(cluster, user) to fail with the message
 * "kubeconfig <kc>: <want>". */
static void expect_parts_err(const char *cluster, const char *user, const char *want, const char *name)
{
	struct kube_config *cfg = NULL;
	struct sk_error err = {0};
	char full[WANT];
	int r = load_parts(cluster, user, NULL, &cfg, &err);

	(void)snprintf(full, sizeof(full), "kubeconfig %s: %s", kc, want);
	ok(r < 0 && cfg == NULL, "%s: refused", name);
	is_str(err.message, full, "%s: the message", name);
	kube_config_free(cfg);
}

static void test_fields(void)
{
	struct kube_config *cfg = NULL;
	struct sk_error err = {0};
	char yaml[8192];

	(void)snprintf(
	    yaml, sizeof(yaml),
	    "apiVersion: v1\nkind: Config\ncurrent-context: dev\n"
	    "clusters:\n- name: c\n  cluster:\n    server: https://example.com:6443/\n"
	    "    certificate-authority-data: %s\n"
	    "users:\n- name: ci\n  user:\n    token: abc.def\n"
	    "contexts:\n- name: dev\n  context:\n    cluster: c\n    user: ci\n    namespace: apps\n",
	    cert_b64);
	is_int(from_text(yaml, NULL, &cfg, &err), 0, "a plain kubeconfig loads (%s)", err.message);
	if (!cfg)
		return;
	is_str(cfg->origin, kc, "origin is the file");
	is_str(cfg->context, "dev", "current-context is used");
	is_str(cfg->cluster_name, "c", "its cluster");
	is_str(cfg->user_name, "ci", "its user");
	is_str(cfg->server, "https://example.com:6443", "server without the trailing slash");
	ok(cfg->ca_pem && cfg->ca_pem_len == strlen(CERT) && !memcmp(cfg->ca_pem, CERT, strlen(CERT)),
	   "certificate-authority-data decoded to the PEM, exact length");
	is_str(cfg->token, "abc.def", "token");
	is_str(cfg->namespace, "apps", "the context's namespace");
	ok(!cfg->insecure_skip_tls_verify, "insecure only when set");
	ok(!cfg->tls_server_name && !cfg->proxy_url && !cfg->client_cert_pem && !cfg->client_key_pem &&
	       !cfg->token_file && !cfg->exec,
	   "nothing that was not set");
	kube_config_free(cfg);

	is_int(load_parts(SERVER "    insecure-skip-tls-verify: true\n    tls-server-name: api.internal\n"
	                         "    proxy-url: socks5://proxy:1080\n",
	                  "    token: t\n", NULL, &cfg, &err),
	       0, "insecure, tls-server-name and proxy-url load (%s)", err.message);
	ok(cfg && cfg->insecure_skip_tls_verify, "insecure-skip-tls-verify: true");
	is_str(cfg ? cfg->tls_server_name : NULL, "api.internal", "tls-server-name");
	is_str(cfg ? cfg->proxy_url : NULL, "socks5://proxy:1080", "proxy-url");
	is_str(cfg ? cfg->namespace : NULL, "default", "namespace defaults to \"default\"");
	kube_config_free(cfg);

	is_int(load_parts(SERVER "    insecure-skip-tls-verify: false\n", "    token: t\n", NULL, &cfg, &err),
	       0, "insecure-skip-tls-verify: false loads");
	ok(cfg && !cfg->insecure_skip_tls_verify, "and is false");
	kube_config_free(cfg);

	is_int(load_parts(SERVER, "    token: t\n", "b", &cfg, &err), 0, "a context without user loads");
	ok(cfg && !cfg->user_name && !cfg->token, "with no user and no credentials");
	is_str(cfg ? cfg->context : NULL, "b", "the explicit context overrides current-context");
	kube_config_free(cfg);

	is_int(load_parts("    server: http://127.0.0.1:8080///\n", "", NULL, &cfg, &err), 0,
	       "an http server");
	is_str(cfg ? cfg->server : NULL, "http://127.0.0.1:8080", "every trailing slash stripped");
	kube_config_free(cfg);
}

static void test_certs(void)
{
	struct kube_config *cfg = NULL;
	struct sk_error err = {0};
	char user[4096], cluster[4096], want[PBUF];

	put("pki/ca.crt", CERT);
	put("pki/client.crt", CERT);
	put("pki/client.key", KEY);
	put("pki/token", "file-token\n");
	is_int(load_parts(SERVER "    certificate-authority: pki/ca.crt\n",
	                  "    client-certificate: pki/client.crt\n    client-key: pki/client.key\n"
	                  "    tokenFile: pki/token\n",
	                  NULL, &cfg, &err),
	       0, "files relative to the kubeconfig's folder load (%s)", err.message);
	ok(cfg && cfg->ca_pem && !strcmp(cfg->ca_pem, CERT), "certificate-authority read");
	ok(cfg && cfg->client_cert_pem && cfg->client_cert_pem_len == strlen(CERT) &&
	       !strcmp(cfg->client_cert_pem, CERT),
	   "client-certificate read");
	ok(cfg && cfg->client_key_pem && !strcmp(cfg->client_key_pem, KEY), "client-key read");
	is_str(cfg ? cfg->token_file : NULL, at(want, "pki/token"), "tokenFile kept as an absolute path");
	ok(cfg && !cfg->token, "tokenFile is not turned into a static token");
	kube_config_free(cfg);

	(void)snprintf(cluster, sizeof(cluster),
	               SERVER
	               "    certificate-authority: /nonexistent/ca.crt\n    certificate-authority-data: %s\n",
	               cert_b64);
	(void)snprintf(user, sizeof(user),
	               "    client-certificate: /nonexistent/c.crt\n    client-certificate-data: %s\n"
	               "    client-key: /nonexistent/c.key\n    client-key-data: %s\n",
	               cert_b64, key_b64);
	is_int(load_parts(cluster, user, NULL, &cfg, &err), 0,
	       "-data wins: the named files are not even read (%s)", err.message);
	ok(cfg && cfg->ca_pem && !strcmp(cfg->ca_pem, CERT), "CA from certificate-authority-data");
	ok(cfg && cfg->client_key_pem && cfg->client_key_pem_len == strlen(KEY) &&
	       !strcmp(cfg->client_key_pem, KEY),
	   "key from client-key-data");
	kube_config_free(cfg);

	/* Base64 wrapped over lines, as some tools write it (Go accepts it). */
	{
		char yaml_ca[8192];
		char esc[4096];
		size_t n = strlen(cert_b64), k = 0;

		for (size_t i = 0; i < n; i++) {
			esc[k++] = cert_b64[i];
			if (i % 64 == 63) {
				esc[k++] = '\\';
				esc[k++] = 'n';
			}
		}
		esc[k] = '\0';
		(void)snprintf(yaml_ca, sizeof(yaml_ca), SERVER "    certificate-authority-data: \"%s\"\n",
		               esc);
		is_int(load_parts(yaml_ca, "", NULL, &cfg, &err), 0, "base64 with line breaks loads (%s)",
		       err.message);
		ok(cfg && cfg->ca_pem && !strcmp(cfg->ca_pem, CERT), "and decodes to the same PEM");
		kube_config_free(cfg);
	}
}

static void test_exec_config(void)
{
	struct kube_config *cfg = NULL;
	struct sk_error err = {0};
	char want[PBUF];

	is_int(load_parts(
	           SERVER,
	           "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: ./bin/plug\n"
	           "      args: [get-token, \"two words\"]\n"
	           "      env:\n      - {name: FOO, value: bar}\n      - {name: EMPTY}\n"
	           "      provideClusterInfo: true\n      interactiveMode: Never\n",
	           NULL, &cfg, &err),
	       0, "an exec user loads (%s)", err.message);
	if (cfg && cfg->exec) {
		is_str(cfg->exec->command, at(want, "bin/plug"),
		       "a command with '/' is relative to the kubeconfig");
		is_str(cfg->exec->args[0], "get-token", "args[0]");
		is_str(cfg->exec->args[1], "two words", "args[1] kept whole");
		ok(cfg->exec->args[2] == NULL, "args end with NULL");
		is_str(cfg->exec->env[0], "FOO=bar", "env as NAME=VALUE");
		is_str(cfg->exec->env[1], "EMPTY=", "a missing value is empty");
		ok(cfg->exec->env[2] == NULL, "env ends with NULL");
		is_str(cfg->exec->api_version, "client.authentication.k8s.io/v1", "apiVersion");
		ok(cfg->exec->provide_cluster_info, "provideClusterInfo");
	} else {
		ok(0, "exec is set");
	}
	kube_config_free(cfg);

	is_int(load_parts(SERVER,
	                  "    exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: aws}\n",
	                  NULL, &cfg, &err),
	       0, "a bare command loads");
	is_str(cfg && cfg->exec ? cfg->exec->command : NULL, "aws", "a bare command is left for PATH");
	ok(cfg && cfg->exec && cfg->exec->args && !cfg->exec->args[0] && cfg->exec->env && !cfg->exec->env[0],
	   "no args and no env: empty lists");
	ok(cfg && cfg->exec && !cfg->exec->provide_cluster_info, "provideClusterInfo defaults to false");
	kube_config_free(cfg);
}

static void test_errors(void)
{
	char cluster[4096], user[4096], want[WANT], p[PBUF];
	char bad_pem_b64[64];

	(void)snprintf(user, sizeof(user), "    client-certificate-data: %s\n    client-key-data: \"%s!\"\n",
	               cert_b64, key_b64);
	expect_parts_err(SERVER, user, "user \"ci\": client-key-data is not valid base64", "bad base64");
	(void)snprintf(user, sizeof(user), "    client-certificate-data: %s\n    client-key-data: QQ=A\n",
	               cert_b64);
	expect_parts_err(SERVER, user, "user \"ci\": client-key-data is not valid base64",
	                 "padding in the middle");
	b64("hello", bad_pem_b64);
	(void)snprintf(user, sizeof(user), "    client-certificate-data: %s\n    client-key-data: %s\n",
	               bad_pem_b64, key_b64);
	expect_parts_err(SERVER, user, "user \"ci\": client-certificate-data does not hold a PEM certificate",
	                 "not PEM");
	(void)snprintf(user, sizeof(user), "    client-certificate-data: %s\n    client-key-data: %s\n",
	               key_b64, cert_b64);
	expect_parts_err(SERVER, user, "user \"ci\": client-certificate-data does not hold a PEM certificate",
	                 "a key where the certificate goes");
	(void)snprintf(user, sizeof(user), "    client-certificate-data: %s\n", cert_b64);
	expect_parts_err(SERVER, user,
	                 "user \"ci\": client-certificate is set but client-key is not; set both",
	                 "certificate without key");
	put("only.key", KEY);
	expect_parts_err(SERVER, "    client-key: only.key\n",
	                 "user \"ci\": client-key is set but client-certificate is not; set both",
	                 "key without certificate");

	put("junk.crt", "not a certificate\n");
	(void)snprintf(want, sizeof(want),
	               "cluster \"c\": certificate-authority %s does not hold a PEM certificate",
	               at(p, "junk.crt"));
	expect_parts_err(SERVER "    certificate-authority: junk.crt\n", "", want, "CA file not PEM");
	(void)snprintf(want, sizeof(want),
	               "cluster \"c\": certificate-authority %s: cannot read: No such file or directory",
	               at(p, "missing.crt"));
	expect_parts_err(SERVER "    certificate-authority: missing.crt\n", "", want, "CA file missing");

	expect_parts_err(SERVER "    certificate-authority: /dev/null\n", "",
	                 "cluster \"c\": certificate-authority /dev/null: cannot read: not a regular file",
	                 "a CA that is a device");
	(void)snprintf(want, sizeof(want), "user \"ci\": tokenFile %s: cannot read: Is a directory",
	               at(p, "pki"));
	expect_parts_err(SERVER, "    tokenFile: pki\n", want, "a tokenFile that is a folder");

	expect_parts_err("    insecure-skip-tls-verify: true\n", "",
	                 "cluster \"c\": server is missing (set it to https://HOST:PORT)", "missing server");
	expect_parts_err("    server: k.example:6443\n", "",
	                 "cluster \"c\": server \"k.example:6443\" must start with https:// or http://",
	                 "server without scheme");
	expect_parts_err("    server: https:///api\n", "",
	                 "cluster \"c\": server \"https:///api\" has no host", "server without host");
	expect_parts_err("    server: 6443\n", "", "cluster \"c\": server must be a string",
	                 "server a number");
	expect_parts_err(SERVER "    insecure-skip-tls-verify: yes\n", "",
	                 "cluster \"c\": insecure-skip-tls-verify must be true or false",
	                 "insecure not a boolean");
	expect_parts_err(
	    SERVER "    proxy-url: ftp://p\n", "",
	    "cluster \"c\": proxy-url \"ftp://p\" must start with http://, https:// or socks5://",
	    "proxy with a bad scheme");
	(void)snprintf(cluster, sizeof(cluster),
	               SERVER "    insecure-skip-tls-verify: true\n"
	                      "    certificate-authority-data: %s\n",
	               cert_b64);
	expect_parts_err(
	    cluster, "",
	    "cluster \"c\": insecure-skip-tls-verify cannot be combined with a certificate-authority; "
	    "remove one",
	    "insecure with a CA");

	put("empty-token", " \n\n");
	(void)snprintf(want, sizeof(want), "user \"ci\": tokenFile %s is empty", at(p, "empty-token"));
	expect_parts_err(SERVER, "    tokenFile: empty-token\n", want, "empty tokenFile");
	(void)snprintf(want, sizeof(want),
	               "user \"ci\": tokenFile %s: cannot read: No such file or directory",
	               at(p, "no-token"));
	expect_parts_err(SERVER, "    tokenFile: no-token\n", want, "missing tokenFile");
	expect_parts_err(SERVER, "    token: \"a\\nb\"\n",
	                 "user \"ci\": token holds a control character (a line break?)",
	                 "token with a line break");

	expect_parts_err(
	    SERVER, "    exec: {command: plug}\n",
	    "user \"ci\": exec.apiVersion is missing (set it to client.authentication.k8s.io/v1)",
	    "exec without apiVersion");
	expect_parts_err(
	    SERVER, "    exec: {command: plug, apiVersion: client.authentication.k8s.io/v1alpha1}\n",
	    "user \"ci\": exec.apiVersion \"client.authentication.k8s.io/v1alpha1\" is not supported "
	    "(use client.authentication.k8s.io/v1 or v1beta1)",
	    "exec with v1alpha1");
	expect_parts_err(SERVER, "    exec: {apiVersion: client.authentication.k8s.io/v1}\n",
	                 "user \"ci\": exec.command is missing", "exec without command");
	expect_parts_err(
	    SERVER,
	    "    exec: {command: p, apiVersion: client.authentication.k8s.io/v1, env: [{value: x}]}\n",
	    "user \"ci\": exec.env[0] needs a name without '='", "exec env without name");
	expect_parts_err(SERVER,
	                 "    exec: {command: p, apiVersion: client.authentication.k8s.io/v1, args: [1]}\n",
	                 "user \"ci\": exec.args[0] must be a string", "exec arg not a string");
	expect_parts_err(SERVER, "    auth-provider: {name: gcp}\n",
	                 "user \"ci\": auth-provider is not supported; use an exec plugin (user.exec)",
	                 "auth-provider");
}

static void expect_text_err(const char *yaml, const char *ctx, const char *want, const char *name)
{
	struct kube_config *cfg = NULL;
	struct sk_error err = {0};
	char full[WANT];
	int r = from_text(yaml, ctx, &cfg, &err);

	(void)snprintf(full, sizeof(full), "kubeconfig %s: %s", kc, want);
	ok(r < 0 && !cfg, "%s: refused", name);
	is_str(err.message, full, "%s: the message", name);
	kube_config_free(cfg);
}

static void test_context_errors(void)
{
	const char *base =
	    "clusters:\n- {name: c, cluster: {server: https://k}}\n"
	    "users:\n- {name: ci, user: {token: t}}\n"
	    "contexts:\n- {name: a, context: {cluster: c, user: ci}}\n"
	    "- {name: b, context: {cluster: c, user: ghost}}\n"
	    "- {name: d, context: {cluster: nowhere, user: ci}}\n- {name: e, context: {user: ci}}\n";
	struct kube_config *cfg = NULL;
	struct sk_error err = {0};

	expect_text_err(base, "foo", "context \"foo\" not found (contexts: a, b, d, e)", "unknown context");
	expect_text_err(base, NULL, "no current-context is set (pass --context; contexts: a, b, d, e)",
	                "no current-context");
	expect_text_err(base, "b", "context \"b\": user \"ghost\" not found (users: ci)",
	                "context with a missing user");
	expect_text_err(base, "d", "context \"d\": cluster \"nowhere\" not found (clusters: c)",
	                "context with a missing cluster");
	expect_text_err(base, "e", "context \"e\": cluster is missing", "context without cluster");
	expect_text_err(base, "x\ny\tz\x1b[0m", "context \"x\\ny\\tz\\x1b[0m\" not found (contexts: a, b, d, e)",
	                "a context name with control characters is escaped");
	expect_text_err("clusters:\n- {name: c, cluster: {server: https://k}}\nusers:\n- {name: ci, user: {token: t}}\n"
	                "contexts:\n- {name: a, context: {cluster: c, user: \"gh\\nost\\r\"}}\n",
	                "a", "context \"a\": user \"gh\\nost\\r\" not found (users: ci)",
	                "a user name with control characters from the file is escaped");
	expect_text_err("clusters:\n- {name: c, cluster: {server: https://a}}\n- {name: c, cluster: {server: "
	                "https://b}}\n",
	                "x", "cluster \"c\" is defined twice", "a name twice in one file");
	expect_text_err("users: {ci: {}}\n", NULL, "users must be a list", "users as a mapping");
	expect_text_err("contexts:\n- context: {cluster: c}\n", NULL, "contexts[0]: name is missing",
	                "an entry without name");
	expect_text_err("clusters:\n- {name: c, cluster: {server: https://a}}\n- {name: 7}\n", NULL,
	                "clusters[1]: name must be a string", "a name that is a number");
	expect_text_err("kind: Pod\n", NULL, "kind is not Config", "not a Config");
	expect_text_err("- a\n- b\n", NULL, "not a kubeconfig (the document is not a mapping)",
	                "a list document");
	expect_text_err(
	    "clusters:\n  - name: a\n bad: 1\n", NULL,
	    "invalid YAML at line 3, column 2: did not find expected key (while parsing a block mapping)",
	    "invalid YAML names line and column");
	expect_text_err("a: *x\n", NULL,
	                "invalid YAML at line 1, column 4: aliases (*name) are not supported",
	                "an alias in a kubeconfig");

	is_int(from_text(base, "new\nline", &cfg, &err), -ENOENT, "a context name with a line break");
	ok(!strchr(err.message, '\n'), "still gives a one-line message: %s", err.message);
}

/* A minimal kubeconfig for server, with current-context cur (may be ""). */
static void put_simple(const char *rel, const char *server, const char *cur)
{
	char yaml[1024];

	(void)snprintf(yaml, sizeof(yaml),
	               "current-context: \"%s\"\nclusters:\n- {name: c, cluster: {server: \"%s\"}}\n"
	               "contexts:\n- {name: x, context: {cluster: c}}\n",
	               cur, server);
	put(rel, yaml);
}

static void test_merge(void)
{
	struct kube_config_opts opts = {0};
	struct kube_config *cfg = NULL;
	struct sk_error err = {0};
	char f1[PBUF], f2[PBUF], f3[PBUF], env[8 * PBUF], want[9 * PBUF];

	put("m/one", "current-context: \"\"\n"
	             "clusters:\n- {name: c1, cluster: {server: https://one.example}}\n"
	             "users:\n- {name: u1, user: {token: one}}\n"
	             "contexts:\n- {name: ctx1, context: {cluster: c1, user: u1}}\n");
	put("m/two", "current-context: ctx2\n"
	             "clusters:\n- {name: c1, cluster: {server: https://two.example}}\n"
	             "- {name: c2, cluster: {server: https://c2.example}}\n"
	             "users:\n- {name: u1, user: {token: two}}\n- {name: u2, user: {token: u2}}\n"
	             "contexts:\n- {name: ctx1, context: {cluster: c2, user: u2}}\n"
	             "- {name: ctx2, context: {cluster: c1, user: u1, namespace: ns2}}\n");
	put("m/three", "current-context: ctx1\n");
	at(f1, "m/one");
	at(f2, "m/two");
	at(f3, "m/three");
	(void)snprintf(env, sizeof(env), "%s:%s:%s", f1, f2, f3);
	opts.kubeconfig_env = env;
	is_int(load(&opts, &cfg, &err), 0, "three files merge (%s)", err.message);
	is_str(cfg ? cfg->context : NULL, "ctx2", "the first non-empty current-context wins");
	is_str(cfg ? cfg->server : NULL, "https://one.example", "the first file defining a cluster wins");
	is_str(cfg ? cfg->token : NULL, "one", "the first file defining a user wins");
	is_str(cfg ? cfg->namespace : NULL, "ns2", "the context's namespace");
	(void)snprintf(want, sizeof(want), "%s, %s, %s", f1, f2, f3);
	is_str(cfg ? cfg->origin : NULL, want, "origin lists the files");
	kube_config_free(cfg);

	opts.context = "ctx1";
	is_int(load(&opts, &cfg, &err), 0, "an explicit context");
	is_str(cfg ? cfg->cluster_name : NULL, "c1", "ctx1 from the first file (cluster c1, not c2)");
	is_str(cfg ? cfg->token : NULL, "one", "and its user u1 from the first file");
	is_str(cfg ? cfg->namespace : NULL, "default", "no namespace: default");
	kube_config_free(cfg);

	opts.context = "nope";
	is_int(load(&opts, &cfg, &err), -ENOENT, "an unknown context over several files");
	(void)snprintf(want, sizeof(want),
	               "kubeconfig %s, %s, %s: context \"nope\" not found (contexts: ctx1, ctx2)", f1, f2,
	               f3);
	is_str(err.message, want, "names every file and every context once");
	opts.context = NULL;

	(void)snprintf(env, sizeof(env), ":%s::%s:%s:%s/m/missing:%s:", f1, f2, f1, dir, f3);
	is_int(load(&opts, &cfg, &err), 0, "empty, repeated and missing entries are skipped (%s)",
	       err.message);
	(void)snprintf(want, sizeof(want), "%s, %s, %s", f1, f2, f3);
	is_str(cfg ? cfg->origin : NULL, want, "each file once, the missing one left out");
	kube_config_free(cfg);

	(void)snprintf(env, sizeof(env), "%s/m/missing1:%s/m/missing2", dir, dir);
	is_int(load(&opts, &cfg, &err), -ENOENT, "KUBECONFIG with no existing file");
	(void)snprintf(want, sizeof(want),
	               "KUBECONFIG=%s: none of these files exists (fix KUBECONFIG or unset it)", env);
	is_str(err.message, want, "names KUBECONFIG");

	put("m/broken", "clusters: [\n");
	(void)snprintf(env, sizeof(env), "%s:%s/m/broken", f1, dir);
	is_int(load(&opts, &cfg, &err), -EINVAL, "a broken file among several");
	ok(strstr(err.message, "m/broken: invalid YAML at line 2") != NULL, "names that file: %s",
	   err.message);
}

static void test_precedence(void)
{
	struct kube_config_opts opts = {0};
	struct kube_config *cfg = NULL;
	struct sk_error err = {0};
	char explicit_path[PBUF], env[PBUF], home[PBUF], sa[PBUF], want[WANT];

	put_simple("p/explicit", "https://explicit.example", "x");
	put_simple("p/env", "https://env.example", "x");
	put("p/sa/token", "sa-token\n");
	put("p/sa/ca.crt", CERT);
	opts = (struct kube_config_opts){.explicit_path = at(explicit_path, "p/explicit"),
	                                 .kubeconfig_env = at(env, "p/env"),
	                                 .home = at(home, "p/home"),
	                                 .service_host = "10.0.0.1",
	                                 .service_port = "443",
	                                 .sa_dir = at(sa, "p/sa")};
	/* put() makes one folder level: create p/home/.kube first. */
	(void)mkdir(at(want, "p/home"), 0755);
	(void)mkdir(at(want, "p/home/.kube"), 0755);
	put_simple("p/home/.kube/config", "https://home.example", "x");

	is_int(load(&opts, &cfg, &err), 0, "everything given (%s)", err.message);
	is_str(cfg ? cfg->server : NULL, "https://explicit.example", "--kubeconfig wins");
	kube_config_free(cfg);
	opts.explicit_path = NULL;
	is_int(load(&opts, &cfg, &err), 0, "no --kubeconfig");
	is_str(cfg ? cfg->server : NULL, "https://env.example", "then KUBECONFIG");
	kube_config_free(cfg);
	opts.kubeconfig_env = ":";
	is_int(load(&opts, &cfg, &err), 0, "KUBECONFIG naming no file");
	is_str(cfg ? cfg->server : NULL, "https://home.example", "then ~/.kube/config");
	kube_config_free(cfg);
	opts.kubeconfig_env = NULL;
	opts.home = at(home, "p/nohome");
	is_int(load(&opts, &cfg, &err), 0, "no ~/.kube/config");
	is_str(cfg ? cfg->server : NULL, "https://10.0.0.1:443", "then in-cluster");
	is_str(cfg ? cfg->origin : NULL, "in-cluster", "origin says so");
	kube_config_free(cfg);
	opts.context = "x";
	is_int(load(&opts, &cfg, &err), -EINVAL, "--context with only in-cluster");
	is_str(err.message, "context \"x\" was asked for, but there is no kubeconfig (only in-cluster)",
	       "is an error that says why");
	opts.context = NULL;
	opts.service_host = NULL;
	is_int(load(&opts, &cfg, &err), -ENOENT, "nothing at all");
	(void)snprintf(
	    want, sizeof(want),
	    "no Kubernetes configuration found: pass --kubeconfig, set KUBECONFIG, create %s/.kube/config, "
	    "or run in a cluster (KUBERNETES_SERVICE_HOST/PORT)",
	    home);
	is_str(err.message, want, "says what to set");
	ok(cfg == NULL, "and leaves *out alone");

	opts = (struct kube_config_opts){.explicit_path = at(explicit_path, "p/none"), .kubeconfig_env = env};
	at(env, "p/env");
	is_int(load(&opts, &cfg, &err), -ENOENT, "a missing --kubeconfig file");
	(void)snprintf(
	    want, sizeof(want),
	    "kubeconfig %s: cannot read: No such file or directory (check --kubeconfig or KUBECONFIG)",
	    explicit_path);
	is_str(err.message, want, "is an error even though KUBECONFIG exists");

	/* A relative --kubeconfig: its files resolve against its folder, made absolute. */
	{
		char cwd[PBUF], expect[PBUF + 32];

		put("rel/kc", "current-context: x\nclusters:\n- {name: c, cluster: {server: https://r}}\n"
		              "users:\n- {name: u, user: {tokenFile: tok}}\n"
		              "contexts:\n- {name: x, context: {cluster: c, user: u}}\n");
		put("rel/tok", "t\n");
		if (chdir(dir) == 0 && getcwd(cwd, sizeof(cwd))) {
			opts = (struct kube_config_opts){.explicit_path = "rel/kc"};
			is_int(load(&opts, &cfg, &err), 0, "a relative --kubeconfig (%s)", err.message);
			(void)snprintf(expect, sizeof(expect), "%s/rel/tok", cwd);
			is_str(cfg ? cfg->token_file : NULL, expect,
			       "tokenFile made absolute against its folder");
			kube_config_free(cfg);
		} else {
			ok(0, "chdir to the test folder");
		}
		(void)chdir("/");
	}
}

static void test_in_cluster(void)
{
	struct kube_config *cfg = NULL;
	struct sk_error err = {0};
	char sa[PBUF], want[WANT], p[PBUF];

	put("sa/token", "sa-token\n");
	put("sa/ca.crt", CERT);
	put("sa/namespace", "  apps \n");
	at(sa, "sa");
	is_int(in_cluster("10.96.0.1", "443", sa, &cfg, &err), 0, "in-cluster loads (%s)", err.message);
	is_str(cfg ? cfg->server : NULL, "https://10.96.0.1:443", "server from host and port");
	is_str(cfg ? cfg->token_file : NULL, at(p, "sa/token"), "token_file is the mounted token");
	ok(cfg && !cfg->token, "the token is read by the client, not kept");
	ok(cfg && cfg->ca_pem && !strcmp(cfg->ca_pem, CERT), "ca.crt read");
	is_str(cfg ? cfg->namespace : NULL, "apps", "namespace trimmed");
	is_str(cfg ? cfg->origin : NULL, "in-cluster", "origin");
	ok(cfg && !cfg->context && !cfg->cluster_name && !cfg->user_name, "no kubeconfig names");
	kube_config_free(cfg);

	is_int(in_cluster("fd00::1", "6443", sa, &cfg, &err), 0, "IPv6 host");
	is_str(cfg ? cfg->server : NULL, "https://[fd00::1]:6443", "in brackets");
	kube_config_free(cfg);

	unlink(at(p, "sa/namespace"));
	is_int(in_cluster("10.96.0.1", "443", sa, &cfg, &err), 0, "no namespace file");
	is_str(cfg ? cfg->namespace : NULL, "default", "namespace default");
	kube_config_free(cfg);

	is_int(in_cluster("10.96.0.1", "https", sa, &cfg, &err), -EINVAL, "a port that is not a number");
	is_str(err.message, "in-cluster: KUBERNETES_SERVICE_PORT \"https\" is not a port number",
	       "the message");
	is_int(in_cluster("10.96.0.1", "70000", sa, &cfg, &err), -EINVAL, "a port out of range");

	put("sa/token", "\n");
	is_int(in_cluster("10.96.0.1", "443", sa, &cfg, &err), -ENODATA, "an empty token");
	(void)snprintf(want, sizeof(want), "in-cluster: service account token %s is empty",
	               at(p, "sa/token"));
	is_str(err.message, want, "the message");
	unlink(p);
	is_int(in_cluster("10.96.0.1", "443", sa, &cfg, &err), -ENOENT, "no token");
	(void)snprintf(want, sizeof(want),
	               "in-cluster: service account token %s: cannot read: No such file or directory", p);
	is_str(err.message, want, "the message");
	put("sa/token", "t");
	put("sa/ca.crt", "garbage");
	is_int(in_cluster("10.96.0.1", "443", sa, &cfg, &err), -EINVAL, "a CA that is not PEM");
	(void)snprintf(want, sizeof(want), "in-cluster: %s does not hold a PEM certificate",
	               at(p, "sa/ca.crt"));
	is_str(err.message, want, "the message");
	ok(cfg == NULL, "nothing returned on errors");
}

static void test_token_file(void)
{
	struct sk_error err = {0};
	char p[PBUF], want[WANT];
	char *tok = NULL;

	put("tok/a", "  abc.def \r\n\n");
	is_int(kube_read_token_file(at(p, "tok/a"), &tok, &err), 0, "a token file reads");
	is_str(tok, "abc.def", "whitespace around it removed");
	free(tok);
	tok = NULL;
	put("tok/empty", "\n \t\n");
	is_int(kube_read_token_file(at(p, "tok/empty"), &tok, &err), -ENODATA, "a blank token file");
	(void)snprintf(want, sizeof(want), "token file %s is empty", p);
	is_str(err.message, want, "is an error naming it");
	put("tok/two", "a\nb\n");
	is_int(kube_read_token_file(at(p, "tok/two"), &tok, &err), -EINVAL, "two lines");
	ok(strstr(err.message, "holds control characters") != NULL, "refused: %s", err.message);
	is_int(kube_read_token_file(at(p, "tok/none"), &tok, &err), -ENOENT, "a missing token file");
	{
		char *big = malloc(KUBE_CONFIG_MAX_TOKEN + 2);

		memset(big, 'a', KUBE_CONFIG_MAX_TOKEN + 1);
		big[KUBE_CONFIG_MAX_TOKEN + 1] = '\0';
		put("tok/big", big);
		free(big);
	}
	is_int(kube_read_token_file(at(p, "tok/big"), &tok, &err), -E2BIG, "a token file over the cap");
	ok(tok == NULL, "leaves *out alone on errors");
}

static void test_opts_from_env(void)
{
	struct kube_config_opts opts = {.explicit_path = "/flag", .context = "ctx"};

	setenv("KUBECONFIG", "/a:/b", 1);
	setenv("HOME", "/home/someone", 1);
	setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
	unsetenv("KUBERNETES_SERVICE_PORT");
	kube_config_opts_from_env(&opts);
	is_str(opts.kubeconfig_env, "/a:/b", "KUBECONFIG read");
	is_str(opts.home, "/home/someone", "HOME read");
	is_str(opts.service_host, "10.0.0.1", "KUBERNETES_SERVICE_HOST read");
	ok(opts.service_port == NULL, "an unset variable stays NULL");
	is_str(opts.explicit_path, "/flag", "explicit_path left alone");
	is_str(opts.context, "ctx", "context left alone");
}

int main(void)
{
	struct kube_config *cfg = NULL;
	struct sk_error err = {0};

	(void)snprintf(dir, sizeof(dir), "/tmp/spinkube-kubeconfig-XXXXXX");
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp failed\n");
		return 1;
	}
	(void)snprintf(kc, sizeof(kc), "%s/kubeconfig", dir);
	b64(CERT, cert_b64);
	b64(KEY, key_b64);

	test_fields();
	test_certs();
	test_exec_config();
	test_errors();
	test_context_errors();
	test_merge();
	test_precedence();
	test_in_cluster();
	test_token_file();
	test_opts_from_env();

	is_int(kube_config_from_text("", 0, kc, NULL, &cfg, &err), -ENOENT,
	       "an empty kubeconfig has no context");
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
