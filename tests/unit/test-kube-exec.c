/* Exec credential plugins: real plugins (shell scripts in a temporary
 * folder) run through kube_exec_run, and ExecCredential parsing. */
#include <errno.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "controller/kube/config.h"
#include "common/json.h"
#include "tests/tap.h"

#define V1      "client.authentication.k8s.io/v1"
#define V1BETA1 "client.authentication.k8s.io/v1beta1"
#define PBUF    256

#include "tests/unit/test-pem.h"

static char dir[64];
static char kc[96];

static const char *at(char *buf, const char *rel)
{
	(void)snprintf(buf, PBUF, "%s/%s", dir, rel);
	return buf;
}

/* Write an executable shell script dir/name with body. */
static void script(const char *name, const char *body)
{
	char p[PBUF];
	FILE *f = fopen(at(p, name), "w");

	if (!f || fprintf(f, "#!/bin/sh\n%s", body) < 0 || fclose(f) != 0 || chmod(p, 0755) < 0) {
		printf("Bail out! cannot write %s\n", p);
		exit(1);
	}
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

/* A config whose user runs dir/<plugin> through the exec protocol; user_extra
 * adds lines to the exec block (six spaces in), cluster_extra to the cluster. */
static struct kube_config *config_for(const char *command, const char *api, const char *user_extra,
                                      const char *cluster_extra)
{
	struct kube_config *cfg = NULL;
	struct sk_error err = {0};
	char yaml[8192];

	(void)snprintf(yaml, sizeof(yaml),
	               "current-context: a\n"
	               "clusters:\n- name: c\n  cluster:\n    server: https://k.example:6443\n%s"
	               "users:\n- name: ci\n  user:\n    exec:\n      apiVersion: %s\n      command: %s\n%s"
	               "contexts:\n- {name: a, context: {cluster: c, user: ci}}\n",
	               cluster_extra, api, command, user_extra);
	if (kube_config_from_text(yaml, strlen(yaml), kc, NULL, &cfg, &err) < 0)
		printf("# config: %s\n", err.message);
	return cfg;
}

/* Run the plugin of cfg with a timeout; fills *res and err. */
static int run(struct kube_config *cfg, int timeout_ms, struct kube_exec_result *res, struct sk_error *err)
{
	*res = (struct kube_exec_result){0};
	sk_err_clear(err);
	if (!cfg)
		return sk_err(err, -EINVAL, "no config");
	return kube_exec_run(cfg, timeout_ms, res, err);
}

static void test_token(void)
{
	struct kube_exec_result res;
	struct sk_error err = {0};
	struct kube_config *cfg;

	script("token.sh",
	       "cat <<'EOF'\n{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\","
	       "\"status\":{\"token\":\"tok-123\",\"expirationTimestamp\":\"2030-01-02T03:04:05Z\"}}\nEOF\n");
	cfg = config_for("./token.sh", V1, "", "");
	is_int(run(cfg, 5000, &res, &err), 0, "a token plugin runs (%s)", err.message);
	is_str(res.token, "tok-123", "its token");
	is_int((long long)res.expiry, 1893553445LL, "expirationTimestamp as UTC seconds");
	ok(!res.client_cert_pem && !res.client_key_pem, "no certificate");
	kube_exec_result_clear(&res);
	ok(!res.token && res.expiry == 0, "clear empties the result");
	kube_config_free(cfg);
}

static void test_cert(void)
{
	struct kube_exec_result res;
	struct sk_error err = {0};
	struct kube_config *cfg;
	char body[4096];
	char cert_json[2048], key_json[1024];
	size_t k = 0;

	/* PEM inside a JSON string: newlines as \n. */
	for (const char *p = CERT; *p; p++)
		k += (size_t)snprintf(cert_json + k, sizeof(cert_json) - k, *p == '\n' ? "\\n" : "%c", *p);
	k = 0;
	for (const char *p = KEY; *p; p++)
		k += (size_t)snprintf(key_json + k, sizeof(key_json) - k, *p == '\n' ? "\\n" : "%c", *p);
	(void)snprintf(body, sizeof(body),
	               "cat <<'EOF'\n{\"apiVersion\":\"" V1BETA1 "\",\"kind\":\"ExecCredential\",\"status\":"
	               "{\"clientCertificateData\":\"%s\",\"clientKeyData\":\"%s\"}}\nEOF\n",
	               cert_json, key_json);
	script("cert.sh", body);
	cfg = config_for("./cert.sh", V1BETA1, "", "");
	is_int(run(cfg, 5000, &res, &err), 0, "a certificate plugin runs (%s)", err.message);
	is_str(res.client_cert_pem, CERT, "its certificate");
	is_str(res.client_key_pem, KEY, "its key");
	ok(!res.token && res.expiry == 0, "no token, no expiry");
	kube_exec_result_clear(&res);
	kube_config_free(cfg);
}

static void test_failures(void)
{
	struct kube_exec_result res;
	struct sk_error err = {0};
	struct kube_config *cfg;
	char want[1024], p[PBUF];
	struct timespec t0, t1;
	long elapsed_ms;

	script("fail.sh", "echo 'starting' >&2\necho 'auth failed: token expired' >&2\necho\nexit 1\n");
	cfg = config_for("./fail.sh", V1, "", "");
	is_int(run(cfg, 5000, &res, &err), -EIO, "a plugin exiting 1 fails");
	(void)snprintf(
	    want, sizeof(want),
	    "kubeconfig %s: user \"ci\": exec plugin %s: exited with status 1: auth failed: token expired",
	    kc, at(p, "fail.sh"));
	is_str(err.message, want, "with the last line of its stderr");
	ok(res.token == NULL, "and no result");
	kube_config_free(cfg);

	script("sleep.sh", "sleep 30 &\necho $! > \"$(dirname \"$0\")/sleep.pid\"\nwait\n");
	cfg = config_for("./sleep.sh", V1, "", "");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	is_int(run(cfg, 300, &res, &err), -ETIMEDOUT, "a plugin past the timeout fails");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	elapsed_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ok(elapsed_ms >= 250 && elapsed_ms < 3000, "after about the timeout (%ld ms)", elapsed_ms);
	ok(strstr(err.message, "exec plugin") && strstr(err.message, "no answer within 300 ms; killed it"),
	   "and says so: %s", err.message);
	{
		/* The whole process group went: the plugin's own child too. */
		FILE *f = fopen(at(p, "sleep.pid"), "r");
		long pid = 0;
		bool gone = false;

		if (f) {
			if (fscanf(f, "%ld", &pid) != 1)
				pid = 0;
			fclose(f);
		}
		for (int i = 0; pid > 0 && i < 200 && !gone; i++) {
			char stat_path[64], state = 0;
			FILE *s;

			(void)snprintf(stat_path, sizeof(stat_path), "/proc/%ld/stat", pid);
			s = fopen(stat_path, "r");
			gone = !s || (fscanf(s, "%*d %*s %c", &state) == 1 && state == 'Z');
			if (s)
				fclose(s);
			if (!gone)
				usleep(10000);
		}
		ok(pid > 0 && gone, "the plugin's child (pid %ld) was killed with it", pid);
	}
	kube_config_free(cfg);

	script("notjson.sh", "echo 'Error: please log in'\n");
	cfg = config_for("./notjson.sh", V1, "", "");
	is_int(run(cfg, 5000, &res, &err), -EINVAL, "a plugin printing no JSON fails");
	ok(strstr(err.message, "exec plugin") &&
	       strstr(err.message, ": output is not an ExecCredential: invalid JSON"),
	   "and says the output is not an ExecCredential: %s", err.message);
	kube_config_free(cfg);

	script("beta.sh", "echo '{\"apiVersion\":\"" V1BETA1
	                  "\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"t\"}}'\n");
	cfg = config_for("./beta.sh", V1, "", "");
	is_int(run(cfg, 5000, &res, &err), -EINVAL, "an apiVersion other than the kubeconfig's fails");
	ok(strstr(err.message,
	          ": output apiVersion \"" V1BETA1 "\" differs from exec.apiVersion \"" V1 "\"") != NULL,
	   "and names both: %s", err.message);
	kube_config_free(cfg);

	script("alpha.sh",
	       "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1alpha1\",\"kind\":\"ExecCredential\","
	       "\"status\":{\"token\":\"t\"}}'\n");
	cfg = config_for("./alpha.sh", V1, "", "");
	is_int(run(cfg, 5000, &res, &err), -EINVAL, "an unsupported apiVersion fails");
	ok(strstr(err.message, "output apiVersion \"client.authentication.k8s.io/v1alpha1\" is not " V1
	                       " or v1beta1") != NULL,
	   "and says which are supported: %s", err.message);
	kube_config_free(cfg);

	cfg = config_for("/nonexistent/plugin", V1, "", "");
	is_int(run(cfg, 5000, &res, &err), -ENOENT, "a plugin that does not exist");
	ok(strstr(err.message, "exec plugin /nonexistent/plugin: cannot run: No such file or directory") !=
	       NULL,
	   "says it cannot run: %s", err.message);
	kube_config_free(cfg);

	script("flood.sh", "head -c 5000000 /dev/zero\n");
	cfg = config_for("./flood.sh", V1, "", "");
	is_int(run(cfg, 10000, &res, &err), -E2BIG, "a plugin printing past the cap");
	ok(strstr(err.message, "printed more than 4 MiB; killed it") != NULL, "is stopped: %s", err.message);
	kube_config_free(cfg);

	script("signal.sh", "kill -TERM $$\n");
	cfg = config_for("./signal.sh", V1, "", "");
	is_int(run(cfg, 5000, &res, &err), -EIO, "a plugin killed by a signal");
	ok(strstr(err.message, "killed by signal 15") != NULL, "says which: %s", err.message);
	kube_config_free(cfg);
}

static void test_environment(void)
{
	struct kube_exec_result res;
	struct sk_error err = {0};
	struct kube_config *cfg;
	json_object *info = NULL;
	char p[PBUF], cluster[4096], ca_b64[2048];
	char *text = NULL;
	size_t len = 0;

	script("info.sh", "printf '%s' \"$KUBERNETES_EXEC_INFO\" > \"$(dirname \"$0\")/info.json\"\n"
	                  "echo '{\"apiVersion\":\"" V1
	                  "\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"t\"}}'\n");
	(void)EVP_EncodeBlock((unsigned char *)ca_b64, (const unsigned char *)CERT, (int)strlen(CERT));
	(void)snprintf(cluster, sizeof(cluster),
	               "    certificate-authority-data: %s\n    tls-server-name: api.internal\n", ca_b64);
	cfg = config_for("./info.sh", V1, "      provideClusterInfo: true\n", cluster);
	is_int(run(cfg, 5000, &res, &err), 0, "a plugin reading KUBERNETES_EXEC_INFO runs (%s)", err.message);
	kube_exec_result_clear(&res);
	kube_config_free(cfg);
	ok(sk_read_file(at(p, "info.json"), 65536, &text, &len) == 0 && sk_json_parse(text, len, &info, NULL) == 0,
	   "the plugin saw KUBERNETES_EXEC_INFO as JSON");
	is_str(sk_json_str(info, "apiVersion"), V1, "its apiVersion is the kubeconfig's");
	is_str(sk_json_str(info, "kind"), "ExecCredential", "its kind");
	ok(json_object_is_type(sk_json_get(info, "spec.interactive"), json_type_boolean) &&
	       !sk_json_bool(info, "spec.interactive", true),
	   "spec.interactive is false");
	is_str(sk_json_str(info, "spec.cluster.server"), "https://k.example:6443", "spec.cluster.server");
	is_str(sk_json_str(info, "spec.cluster.certificate-authority-data"), ca_b64,
	       "spec.cluster.certificate-authority-data");
	is_str(sk_json_str(info, "spec.cluster.tls-server-name"), "api.internal", "spec.cluster.tls-server-name");
	ok(sk_json_get(info, "spec.cluster.insecure-skip-tls-verify") == NULL,
	   "insecure left out when false, as kubectl");
	json_object_put(info);
	info = NULL;
	free(text);
	text = NULL;

	cfg = config_for("./info.sh", V1BETA1, "", "");
	is_int(run(cfg, 5000, &res, &err), -EINVAL, "(the plugin prints v1 to a v1beta1 config)");
	kube_config_free(cfg);
	ok(sk_read_file(at(p, "info.json"), 65536, &text, &len) == 0 && sk_json_parse(text, len, &info, NULL) == 0,
	   "KUBERNETES_EXEC_INFO without provideClusterInfo");
	is_str(sk_json_str(info, "apiVersion"), V1BETA1, "follows the kubeconfig's apiVersion");
	ok(sk_json_obj(info, "spec") && !sk_json_get(info, "spec.cluster"), "has no spec.cluster");
	json_object_put(info);
	free(text);

	setenv("SPINKUBE_TEST_PARENT", "inherited", 1);
	setenv("SPINKUBE_TEST_OVERRIDE", "parent", 1);
	script("env.sh",
	       "printf '{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\",\"status\":"
	       "{\"token\":\"%s|%s|%s|%s\"}}' \"$FOO\" \"$SPINKUBE_TEST_OVERRIDE\" \"$SPINKUBE_TEST_PARENT\" "
	       "\"$EMPTY\"\n");
	cfg = config_for("./env.sh", V1,
	                 "      env:\n      - {name: FOO, value: \"foo value\"}\n"
	                 "      - {name: SPINKUBE_TEST_OVERRIDE, value: child}\n      - {name: EMPTY}\n",
	                 "");
	is_int(run(cfg, 5000, &res, &err), 0, "a plugin with env entries runs (%s)", err.message);
	is_str(res.token, "foo value|child|inherited|",
	       "env entries set, overriding ours; the rest inherited");
	kube_exec_result_clear(&res);
	kube_config_free(cfg);
	unsetenv("SPINKUBE_TEST_PARENT");
	unsetenv("SPINKUBE_TEST_OVERRIDE");

	script("args.sh", "printf '{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\",\"status\":"
	                  "{\"token\":\"%s|%s|%s\"}}' \"$#\" \"$1\" \"$2\"\n");
	cfg = config_for("./args.sh", V1, "      args: [--flag, \"two words; $(no shell)\"]\n", "");
	is_int(run(cfg, 5000, &res, &err), 0, "a plugin with args runs (%s)", err.message);
	is_str(res.token, "2|--flag|two words; $(no shell)", "args passed as given, no shell in between");
	kube_exec_result_clear(&res);
	kube_config_free(cfg);

	script("stdin.sh", "if read line; then t=read; else t=eof; fi\n"
	                   "echo \"{\\\"apiVersion\\\":\\\"" V1 "\\\",\\\"kind\\\":\\\"ExecCredential\\\","
	                   "\\\"status\\\":{\\\"token\\\":\\\"$t\\\"}}\"\n");
	cfg = config_for("./stdin.sh", V1, "", "");
	is_int(run(cfg, 5000, &res, &err), 0, "a plugin reading stdin runs (%s)", err.message);
	is_str(res.token, "eof", "stdin is empty (never interactive)");
	kube_exec_result_clear(&res);
	kube_config_free(cfg);
}

/* kube_exec_parse of text; returns r and fills *res. */
static int parse(const char *text, struct kube_exec_result *res, struct sk_error *err)
{
	*res = (struct kube_exec_result){0};
	sk_err_clear(err);
	return kube_exec_parse(text, strlen(text), "plugin p", res, err);
}

#define CRED(status) "{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\",\"status\":" status "}"

static void test_parse(void)
{
	struct kube_exec_result res;
	struct sk_error err = {0};

	is_int(parse(CRED("{\"token\":\"a\",\"expirationTimestamp\":\"2030-01-02T05:04:05.123+02:00\"}"),
	             &res, &err),
	       0, "an offset and fractional seconds");
	is_int((long long)res.expiry, 1893553445LL, "the same instant in UTC");
	kube_exec_result_clear(&res);
	is_int(parse(CRED("{\"token\":\"a\",\"expirationTimestamp\":\"2030-01-01T22:04:05-05:00\"}"), &res,
	             &err),
	       0, "a negative offset");
	is_int((long long)res.expiry, 1893553445LL, "the same instant in UTC");
	kube_exec_result_clear(&res);
	is_int(parse(CRED("{\"token\":\"a\",\"expirationTimestamp\":\"2030-02-30T00:00:00Z\"}"), &res, &err),
	       -EINVAL, "February 30 is refused");
	is_str(err.message,
	       "plugin p: status.expirationTimestamp \"2030-02-30T00:00:00Z\" is not an RFC 3339 time",
	       "the message");
	is_int(parse(CRED("{\"token\":\"a\",\"expirationTimestamp\":\"2030-01-02 03:04:05\"}"), &res, &err),
	       -EINVAL, "a time without T and zone is refused");
	is_int(parse(CRED("{}"), &res, &err), -EINVAL, "an empty status");
	is_str(err.message, "plugin p: status has neither token nor clientCertificateData and clientKeyData",
	       "the message");
	is_int(parse("{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\"}", &res, &err), -EINVAL,
	       "no status");
	is_str(err.message, "plugin p: output has no status", "the message");
	is_int(
	    parse("{\"apiVersion\":\"" V1 "\",\"kind\":\"Secret\",\"status\":{\"token\":\"a\"}}", &res, &err),
	    -EINVAL, "another kind");
	is_str(err.message, "plugin p: output kind is \"Secret\", want ExecCredential", "the message");
	is_int(parse(CRED("{\"clientCertificateData\":\"-----BEGIN CERTIFICATE-----\\nx\"}"), &res, &err),
	       -EINVAL, "a certificate without key");
	is_str(err.message, "plugin p: status.clientCertificateData is set but status.clientKeyData is not",
	       "the message");
	is_int(parse(CRED("{\"token\":\"a\\nb\"}"), &res, &err), -EINVAL, "a token with a line break");
	is_int(parse(CRED("{\"token\":5}"), &res, &err), -EINVAL, "a token that is not a string");
	is_str(err.message, "plugin p: status.token must be a string", "the message");
	is_int(parse("{\"apiVersion\":\"" V1BETA1
	             "\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"b\"}}",
	             &res, &err),
	       0, "v1beta1 parses when no version is asked for");
	is_str(res.token, "b", "its token");
	ok(res.expiry == 0, "no expirationTimestamp: never expires");
	kube_exec_result_clear(&res);
	is_int(parse(CRED("{\"token\":\"a\"}") " trailing", &res, &err), -EINVAL, "trailing garbage");
	ok(strstr(err.message, "plugin p: output is not an ExecCredential: ") != NULL, "the message: %s",
	   err.message);
}

int main(void)
{
	struct kube_exec_result res;
	struct sk_error err = {0};

	signal(SIGPIPE, SIG_IGN);
	(void)snprintf(dir, sizeof(dir), "/tmp/spinkube-exec-XXXXXX");
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp failed\n");
		return 1;
	}
	(void)snprintf(kc, sizeof(kc), "%s/kubeconfig", dir);

	test_token();
	test_cert();
	test_failures();
	test_environment();
	test_parse();

	res = (struct kube_exec_result){0};
	is_int(kube_exec_run(NULL, 1000, &res, &err), -EINVAL, "no config: no plugin");
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
