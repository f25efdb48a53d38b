/* Exec credential plugins: the client.authentication.k8s.io ExecCredential
 * protocol (see config.h).
 *
 * The plugin runs without a shell through posix_spawnp, in a process group of
 * its own so that a timeout kills whatever it started too. Its stdin is
 * /dev/null (we are never interactive), its stdout is read up to
 * KUBE_CONFIG_MAX_FILE bytes and parsed, and the tail of its stderr is kept so
 * that a failure can quote the plugin's last word. */
#include "controller/kube/config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/base64.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/json.h"

#define API_V1        "client.authentication.k8s.io/v1"
#define API_V1BETA1   "client.authentication.k8s.io/v1beta1"
#define INFO_VAR      "KUBERNETES_EXEC_INFO"
#define STDERR_KEEP   4096 /* bytes of the plugin's stderr kept for messages */
#define LAST_LINE_MAX 200

static void free_secret(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

void kube_exec_result_clear(struct kube_exec_result *r)
{
	if (!r)
		return;
	free_secret(r->token);
	free(r->client_cert_pem);
	free_secret(r->client_key_pem);
	*r = (struct kube_exec_result){0};
}

/* n decimal digits at s into *out. */
static bool digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* The zone of an RFC 3339 time at p ("Z" or "+hh:mm"/"-hh:mm", ending the
 * string) as seconds east of UTC. */
static bool parse_zone(const char *p, long *off)
{
	int hh, mm;

	if (!strcmp(p, "Z")) {
		*off = 0;
		return true;
	}
	if ((p[0] != '+' && p[0] != '-') || !digits(p + 1, 2, &hh) || p[3] != ':' || !digits(p + 4, 2, &mm) ||
	    p[6] || hh > 23 || mm > 59)
		return false;
	*off = (p[0] == '-' ? -1L : 1L) * (hh * 3600L + mm * 60L);
	return true;
}

/* An RFC 3339 time ("2006-01-02T15:04:05Z", fractions and offsets allowed)
 * into *out, UTC. Impossible dates (February 30) are refused. */
static bool parse_rfc3339(const char *s, time_t *out)
{
	struct tm tm = {0}, back;
	int y, mo, d, h, mi, sec;
	const char *p = s + 19;
	long off;
	time_t t;

	if (strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !digits(s + 8, 2, &d) || s[10] != 'T' || !digits(s + 11, 2, &h) || s[13] != ':' ||
	    !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec))
		return false;
	if (*p == '.') {
		if (p[1] < '0' || p[1] > '9')
			return false;
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	}
	if (!parse_zone(p, &off) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59)
		return false;
	tm = (struct tm){
	    .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = sec};
	t = timegm(&tm);
	if (!gmtime_r(&t, &back) || back.tm_mday != d || back.tm_mon != mo - 1)
		return false;
	*out = t - off;
	return true;
}

/* The string at status.key: 0 with *out borrowed (NULL when missing or ""),
 * or an error when it is not a string. */
static int status_str(json_object *status, const char *key, const char *what, const char **out,
                      struct sk_error *err)
{
	json_object *v = NULL;

	*out = NULL;
	if (!json_object_object_get_ex(status, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return sk_err(err, -EINVAL, "%s: status.%s must be a string", what, key);
	if (strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v))
		return sk_err(err, -EINVAL, "%s: status.%s holds a NUL character", what, key);
	*out = json_object_get_string(v)[0] ? json_object_get_string(v) : NULL;
	return 0;
}

/* Check apiVersion and kind of an ExecCredential. */
static int check_type(json_object *doc, const char *what, const char *want_api, struct sk_error *err)
{
	const char *api = sk_json_str(doc, "apiVersion"), *kind = sk_json_str(doc, "kind");

	if (!json_object_is_type(doc, json_type_object))
		return sk_err(err, -EINVAL, "%s: output is not an ExecCredential (not a JSON object)", what);
	if (!kind || strcmp(kind, "ExecCredential"))
		return sk_err(err, -EINVAL, "%s: output kind is \"%s\", want ExecCredential", what,
		              kind ? kind : "");
	if (!api || (strcmp(api, API_V1) && strcmp(api, API_V1BETA1)))
		return sk_err(err, -EINVAL, "%s: output apiVersion \"%s\" is not " API_V1 " or v1beta1", what,
		              api ? api : "");
	if (want_api && strcmp(api, want_api))
		return sk_err(err, -EINVAL,
		              "%s: output apiVersion \"%s\" differs from exec.apiVersion \"%s\"", what, api,
		              want_api);
	return 0;
}

/* Check the credential in status: a token, or a certificate with its key. */
static int check_status(const char *what, const char *token, const char *cert, const char *key,
                        struct sk_error *err)
{
	if (!token && !cert && !key)
		return sk_err(err, -EINVAL,
		              "%s: status has neither token nor clientCertificateData and clientKeyData",
		              what);
	if (!cert != !key)
		return sk_err(err, -EINVAL, "%s: status.%s is set but status.%s is not", what,
		              cert ? "clientCertificateData" : "clientKeyData",
		              cert ? "clientKeyData" : "clientCertificateData");
	if (cert && !strstr(cert, "-----BEGIN CERTIFICATE-----"))
		return sk_err(err, -EINVAL,
		              "%s: status.clientCertificateData does not hold a PEM certificate", what);
	if (key && (!strstr(key, "-----BEGIN ") || !strstr(key, "PRIVATE KEY-----")))
		return sk_err(err, -EINVAL, "%s: status.clientKeyData does not hold a PEM private key", what);
	if (token && strlen(token) > KUBE_CONFIG_MAX_TOKEN)
		return sk_err(err, -E2BIG, "%s: status.token is longer than %u KiB", what,
		              KUBE_CONFIG_MAX_TOKEN >> 10);
	for (const char *p = token; p && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return sk_err(err, -EINVAL, "%s: status.token holds a control character", what);
	return 0;
}

/* kube_exec_parse, also checking apiVersion against want_api (NULL: any
 * supported version). */
static int exec_parse(const char *text, size_t len, const char *what, const char *want_api,
                      struct kube_exec_result *out, struct sk_error *err)
{
	_cleanup_json_ json_object *doc = NULL;
	struct kube_exec_result res = {0};
	const char *token, *cert, *key, *expiry;
	json_object *status;
	int r;

	if ((r = sk_json_parse(text, len, &doc, err)) < 0)
		return sk_err_prefix(err, "%s: output is not an ExecCredential", what);
	if ((r = check_type(doc, what, want_api, err)) < 0)
		return r;
	status = sk_json_obj(doc, "status");
	if (!status)
		return sk_err(err, -EINVAL, "%s: output has no status", what);
	if ((r = status_str(status, "token", what, &token, err)) < 0 ||
	    (r = status_str(status, "clientCertificateData", what, &cert, err)) < 0 ||
	    (r = status_str(status, "clientKeyData", what, &key, err)) < 0 ||
	    (r = status_str(status, "expirationTimestamp", what, &expiry, err)) < 0 ||
	    (r = check_status(what, token, cert, key, err)) < 0)
		return r;
	if (expiry && !parse_rfc3339(expiry, &res.expiry))
		return sk_err(err, -EINVAL, "%s: status.expirationTimestamp \"%s\" is not an RFC 3339 time",
		              what, expiry);
	res.token = token ? strdup(token) : NULL;
	res.client_cert_pem = cert ? strdup(cert) : NULL;
	res.client_key_pem = key ? strdup(key) : NULL;
	if ((token && !res.token) || (cert && !res.client_cert_pem) || (key && !res.client_key_pem)) {
		kube_exec_result_clear(&res);
		return sk_err(err, -ENOMEM, "out of memory");
	}
	*out = res;
	return 0;
}

int kube_exec_parse(const char *json, size_t len, const char *what, struct kube_exec_result *out,
                    struct sk_error *err)
{
	return exec_parse(json, len, what ? what : "exec plugin", NULL, out, err);
}

/* spec.cluster of KUBERNETES_EXEC_INFO (provideClusterInfo), into spec.
 * Optional fields are left out when empty, as kubectl does. */
static int exec_info_cluster(const struct kube_config *cfg, json_object *spec)
{
	json_object *cluster = sk_json_ensure_obj(spec, "cluster");
	_cleanup_free_ char *ca = NULL;

	if (!cluster || sk_json_set_str(cluster, "server", cfg->server) < 0)
		return -ENOMEM;
	if (cfg->tls_server_name && sk_json_set_str(cluster, "tls-server-name", cfg->tls_server_name) < 0)
		return -ENOMEM;
	if (cfg->insecure_skip_tls_verify && sk_json_set_bool(cluster, "insecure-skip-tls-verify", true) < 0)
		return -ENOMEM;
	if (cfg->proxy_url && sk_json_set_str(cluster, "proxy-url", cfg->proxy_url) < 0)
		return -ENOMEM;
	if (!cfg->ca_pem)
		return 0;
	ca = sk_base64_encode(cfg->ca_pem, cfg->ca_pem_len);
	if (!ca || sk_json_set_str(cluster, "certificate-authority-data", ca) < 0)
		return -ENOMEM;
	return 0;
}

/* "KUBERNETES_EXEC_INFO=<ExecCredential JSON>" for the plugin's environment,
 * a new string in *out (caller frees). */
static int exec_info(const struct kube_config *cfg, char **out)
{
	_cleanup_json_ json_object *info = json_object_new_object();
	json_object *spec = info ? sk_json_ensure_obj(info, "spec") : NULL;
	const char *text;
	size_t len;

	if (!spec || sk_json_set_str(info, "apiVersion", cfg->exec->api_version) < 0 ||
	    sk_json_set_str(info, "kind", "ExecCredential") < 0 || sk_json_set_bool(spec, "interactive", false) < 0)
		return -ENOMEM;
	if (cfg->exec->provide_cluster_info && exec_info_cluster(cfg, spec) < 0)
		return -ENOMEM;
	text = sk_json_to_string(info, &len);
	*out = malloc(sizeof(INFO_VAR "=") + len);
	if (!text || !*out)
		return -ENOMEM;
	memcpy(*out, INFO_VAR "=", sizeof(INFO_VAR "=") - 1);
	memcpy(*out + sizeof(INFO_VAR "=") - 1, text, len + 1);
	return 0;
}

/* Do the "NAME=..." entries a and b set the same variable? */
static bool same_name(const char *a, const char *b)
{
	size_t n = strcspn(a, "=");

	return n == strcspn(b, "=") && !strncmp(a, b, n);
}

/* The plugin's environment: ours without the variables the kubeconfig sets,
 * then exec.env, then info. A new array in *out (caller frees the array
 * only; the strings are borrowed). */
static int exec_env(const struct kube_exec_config *ex, char *info, char ***out)
{
	size_t n_own = 0, n_cfg = 0, k = 0;
	char **v;

	while (environ && environ[n_own])
		n_own++;
	while (ex->env && ex->env[n_cfg])
		n_cfg++;
	v = calloc(n_own + n_cfg + 2, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n_own; i++) {
		bool replaced = same_name(environ[i], info);

		for (size_t j = 0; j < n_cfg && !replaced; j++)
			replaced = same_name(environ[i], ex->env[j]);
		if (!replaced)
			v[k++] = environ[i];
	}
	for (size_t j = 0; j < n_cfg; j++)
		v[k++] = ex->env[j];
	v[k] = info;
	*out = v;
	return 0;
}

/* The plugin's argv: the command, then exec.args. A new array (caller frees
 * the array only; the strings are borrowed from ex), NULL on -ENOMEM. */
static char **exec_argv(const struct kube_exec_config *ex)
{
	size_t n = 0;
	char **argv;

	while (ex->args && ex->args[n])
		n++;
	argv = calloc(n + 2, sizeof(*argv));
	if (!argv)
		return NULL;
	argv[0] = ex->command;
	if (n)
		memcpy(argv + 1, ex->args, n * sizeof(*argv));
	return argv;
}

/* How the plugin starts: stdin on /dev/null, stdout and stderr on the write
 * ends of our pipes, a process group of its own, no blocked signals and
 * default dispositions (we may ignore SIGPIPE; it should not). Returns 0 or
 * a positive errno. */
static int spawn_setup(posix_spawn_file_actions_t *fa, posix_spawnattr_t *attr, int out_w, int err_w)
{
	short flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
	sigset_t none, dfl;
	int r;

	sigemptyset(&none);
	sigemptyset(&dfl);
	for (int s = 1; s < 32; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaddset(&dfl, s);
	if ((r = posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0)) ||
	    (r = posix_spawn_file_actions_adddup2(fa, out_w, 1)) ||
	    (r = posix_spawn_file_actions_adddup2(fa, err_w, 2)) ||
	    (r = posix_spawnattr_setflags(attr, flags)) || (r = posix_spawnattr_setpgroup(attr, 0)) ||
	    (r = posix_spawnattr_setsigmask(attr, &none)))
		return r;
	return posix_spawnattr_setsigdefault(attr, &dfl);
}

/* Start the plugin with stdout and stderr on new pipes whose read ends go
 * to *out_fd and *err_fd (the caller's). Returns 0 or the positive errno of
 * what failed, the exec itself included. */
static int exec_spawn(const struct kube_exec_config *ex, char **envp, pid_t *pid, int *out_fd, int *err_fd)
{
	_cleanup_close_ int out_r = -1, out_w = -1, err_r = -1, err_w = -1;
	_cleanup_free_ char **argv = exec_argv(ex);
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int p[2], r;

	if (!argv)
		return ENOMEM;
	if (pipe2(p, O_CLOEXEC) < 0)
		return errno;
	out_r = p[0], out_w = p[1];
	if (pipe2(p, O_CLOEXEC) < 0)
		return errno;
	err_r = p[0], err_w = p[1];
	if ((r = posix_spawn_file_actions_init(&fa)))
		return r;
	if ((r = posix_spawnattr_init(&attr))) {
		posix_spawn_file_actions_destroy(&fa);
		return r;
	}
	r = spawn_setup(&fa, &attr, out_w, err_w);
	if (!r)
		r = posix_spawnp(pid, ex->command, &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (r)
		return r;
	*out_fd = out_r;
	*err_fd = err_r;
	out_r = err_r = -1;
	return 0;
}

/* What one run of the plugin gave. */
struct exec_run {
	pid_t pid;
	struct sk_buf out;  /* stdout, capped */
	struct sk_buf tail; /* the end of stderr */
	int status;         /* from waitpid */
	bool timed_out;
	bool too_long; /* stdout passed the cap */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int ms_left(int64_t deadline)
{
	int64_t left = deadline - now_ms();

	return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

/* Read what fd has into run; false at end of file or on error. */
static bool drain(struct exec_run *run, int fd, bool is_out)
{
	char chunk[16384];
	ssize_t n = read(fd, chunk, sizeof(chunk));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	if (is_out) {
		if (sk_buf_append(&run->out, chunk, (size_t)n) < 0)
			run->too_long = true;
		return !run->too_long;
	}
	if ((size_t)n > STDERR_KEEP) {
		memmove(chunk, chunk + n - STDERR_KEEP, STDERR_KEEP);
		n = STDERR_KEEP;
	}
	if (run->tail.len + (size_t)n > STDERR_KEEP)
		sk_buf_consume(&run->tail, run->tail.len + (size_t)n - STDERR_KEEP);
	return sk_buf_append(&run->tail, chunk, (size_t)n) == 0;
}

/* Read stdout and stderr until both close, the deadline passes or stdout
 * passes its cap. */
static void read_output(struct exec_run *run, int out_fd, int err_fd, int64_t deadline)
{
	struct pollfd pfd[2] = {{.fd = out_fd, .events = POLLIN}, {.fd = err_fd, .events = POLLIN}};

	while ((pfd[0].fd >= 0 || pfd[1].fd >= 0) && !run->too_long) {
		int left = ms_left(deadline), n;

		if (left == 0) {
			run->timed_out = true;
			return;
		}
		n = poll(pfd, 2, left);
		if (n < 0 && errno != EINTR)
			return;
		for (int i = 0; n > 0 && i < 2; i++)
			if (pfd[i].fd >= 0 && pfd[i].revents && !drain(run, pfd[i].fd, i == 0))
				pfd[i].fd = -1;
	}
}

/* Wait for the plugin to exit by the deadline; kill its process group when
 * it is late or printed too much. (Should SIGCHLD be ignored, the child is
 * gone without a status: run->status stays 0 and its output decides.) */
static void reap(struct exec_run *run, int64_t deadline)
{
	while (!run->timed_out && !run->too_long) {
		pid_t w = waitpid(run->pid, &run->status, WNOHANG);

		if (w == run->pid || (w < 0 && errno != EINTR))
			return;
		if (ms_left(deadline) == 0)
			run->timed_out = true;
		else
			(void)nanosleep(&(struct timespec){.tv_nsec = 5 * 1000 * 1000}, NULL);
	}
	(void)kill(-run->pid, SIGKILL);
	while (waitpid(run->pid, &run->status, 0) < 0 && errno == EINTR)
		;
}

/* The last non-empty line of the plugin's stderr, cut to LAST_LINE_MAX;
 * borrowed from run->tail (which it modifies), "" when there is none. */
static const char *last_line(struct exec_run *run)
{
	char *s = run->tail.data, *nl;
	size_t n = run->tail.len;

	if (!s)
		return "";
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	s[n] = '\0';
	nl = memrchr(s, '\n', n);
	if (nl)
		s = nl + 1;
	if (strlen(s) > LAST_LINE_MAX)
		s[LAST_LINE_MAX] = '\0';
	return s;
}

/* Turn a finished run into the result or an error naming what went wrong. */
static int exec_outcome(struct exec_run *run, const char *what, const char *api, int timeout_ms,
                        struct kube_exec_result *out, struct sk_error *err)
{
	const char *line;

	if (run->timed_out)
		return sk_err(err, -ETIMEDOUT, "%s: no answer within %d ms; killed it", what, timeout_ms);
	if (run->too_long)
		return sk_err(err, -E2BIG, "%s: printed more than %u MiB; killed it", what,
		              KUBE_CONFIG_MAX_FILE >> 20);
	line = last_line(run);
	if (WIFSIGNALED(run->status))
		return sk_err(err, -EIO, "%s: killed by signal %d%s%s", what, WTERMSIG(run->status),
		              line[0] ? ": " : "", line);
	if (!WIFEXITED(run->status) || WEXITSTATUS(run->status) != 0)
		return sk_err(err, -EIO, "%s: exited with status %d: %s", what, WEXITSTATUS(run->status),
		              line[0] ? line : "(nothing on stderr)");
	return exec_parse(run->out.data ? run->out.data : "", run->out.len, what, api, out, err);
}

/* Start the plugin and collect its output into run. */
static int exec_start_and_wait(const struct kube_config *cfg, const char *what, int timeout_ms,
                               struct exec_run *run, struct sk_error *err)
{
	_cleanup_free_ char *info = NULL;
	_cleanup_free_ char **envp = NULL;
	_cleanup_close_ int out_fd = -1, err_fd = -1;
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int r;

	if (exec_info(cfg, &info) < 0 || exec_env(cfg->exec, info, &envp) < 0)
		return sk_err(err, -ENOMEM, "out of memory");
	/* posix_spawnp reports a failed exec only where the C library spawns
	 * with vfork semantics (glibc, musl; not under valgrind): check paths
	 * first so the message is the same everywhere. */
	r = strchr(cfg->exec->command, '/') && access(cfg->exec->command, X_OK) < 0 ? errno : 0;
	if (!r)
		r = exec_spawn(cfg->exec, envp, &run->pid, &out_fd, &err_fd);
	if (r)
		return sk_err(err, -r, "%s: cannot run: %s (install it or fix user.exec.command)", what,
		              strerror(r));
	read_output(run, out_fd, err_fd, deadline);
	reap(run, deadline);
	return 0;
}

int kube_exec_run(const struct kube_config *cfg, int timeout_ms, struct kube_exec_result *out,
                  struct sk_error *err)
{
	struct exec_run run = {
	    .pid = -1, .out = sk_buf_make(KUBE_CONFIG_MAX_FILE), .tail = sk_buf_make(STDERR_KEEP)};
	char what[SK_ERR_MESSAGE_MAX / 2];
	int r;

	if (!cfg || !cfg->exec)
		return sk_err(err, -EINVAL, "no exec credential plugin is configured");
	if (cfg->user_name)
		(void)snprintf(what, sizeof(what), "kubeconfig %s: user \"%s\": exec plugin %s", cfg->origin,
		               cfg->user_name, cfg->exec->command);
	else
		(void)snprintf(what, sizeof(what), "%s: exec plugin %s", cfg->origin, cfg->exec->command);
	r = exec_start_and_wait(cfg, what, timeout_ms, &run, err);
	if (r == 0)
		r = exec_outcome(&run, what, cfg->exec->api_version, timeout_ms, out, err);
	if (run.out.data)
		explicit_bzero(run.out.data, run.out.len);
	sk_buf_free(&run.out);
	sk_buf_free(&run.tail);
	return r;
}
