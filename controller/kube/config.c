/* kubeconfig files and the in-cluster service account (see config.h).
 *
 * Loading parses every file into a JSON tree (kc_file) and keeps them in
 * KUBECONFIG order (kc_set). Nothing is merged eagerly: a lookup by name walks
 * the files in order and the first definition wins, which is kubectl's rule.
 * Only the context in use, its cluster and its user are then resolved into a
 * self-contained struct kube_config; broken entries nobody uses do not stop a
 * load (kubectl does the same), broken structure does. */
#include "controller/kube/config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/base64.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/json.h"
#include "controller/kube/yaml.h"

#define SA_DIR_DEFAULT "/var/run/secrets/kubernetes.io/serviceaccount"
#define API_V1         "client.authentication.k8s.io/v1"
#define API_V1BETA1    "client.authentication.k8s.io/v1beta1"

/* One parsed kubeconfig file; owns everything. */
struct kc_file {
	char *path;        /* as given, for messages */
	char *dir;         /* absolute folder, for relative file names */
	json_object *root; /* the document, an object */
};

/* The files of one load in KUBECONFIG order; owns the files. */
struct kc_set {
	struct kc_file files[KUBE_CONFIG_MAX_FILES];
	size_t n;
	char *origin; /* the paths joined with ", " */
};

/* One named entry (or its exec block); everything borrowed from a kc_set. */
struct kc_entry {
	const char *kind; /* "cluster", "user" or "context" */
	const char *name;
	json_object *body;  /* the cluster/user/context mapping; NULL when absent */
	const char *prefix; /* "" or "exec.": how fields are named in messages */
	const struct kc_file *file;
};

/* clusters[].cluster, users[].user, contexts[].context */
struct kc_section {
	const char *list;
	const char *kind;
};
static const struct kc_section SEC_CLUSTERS = {"clusters", "cluster"};
static const struct kc_section SEC_USERS = {"users", "user"};
static const struct kc_section SEC_CONTEXTS = {"contexts", "context"};

static void kube_config_freep(struct kube_config **p)
{
	kube_config_free(*p);
}
#define _cleanup_config_ _cleanup_(kube_config_freep)

/* The error of entry e: `kubeconfig FILE: KIND "NAME": <fmt>`. */
__attribute__((format(printf, 4, 5))) static int entry_err(struct sk_error *err, int code,
                                                           const struct kc_entry *e, const char *fmt, ...)
{
	char msg[SK_ERR_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sk_err(err, code, "kubeconfig %s: %s \"%s\": %s", e->file->path, e->kind, e->name, msg);
}

/* a b c concatenated; a new string the caller frees, NULL on -ENOMEM. */
static char *str3(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	char *s = malloc(la + lb + lc + 1);

	if (!s)
		return NULL;
	memcpy(s, a, la);
	memcpy(s + la, b, lb);
	memcpy(s + la + lb, c, lc + 1);
	return s;
}

/* name as an absolute path: unchanged when absolute, else under dir (with
 * leading "./" dropped). New string, NULL on -ENOMEM. */
static char *path_in(const char *dir, const char *name)
{
	if (name[0] == '/')
		return strdup(name);
	while (name[0] == '.' && name[1] == '/')
		for (name += 2; name[0] == '/'; name++)
			;
	return str3(dir, strcmp(dir, "/") ? "/" : "", name);
}

/* The absolute folder of path into *out (caller frees); relative paths are
 * taken from the working directory, symbolic links are left alone, as
 * kubectl does. */
static int dir_of(const char *path, char **out)
{
	const char *slash = strrchr(path, '/');
	_cleanup_free_ char *cwd = NULL, *rel = NULL;

	if (path[0] == '/') {
		*out = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
	} else {
		cwd = getcwd(NULL, 0);
		if (!cwd)
			return -errno;
		if (!slash) {
			*out = cwd;
			cwd = NULL;
		} else {
			rel = strndup(path, (size_t)(slash - path));
			*out = rel ? path_in(cwd, rel) : NULL;
		}
	}
	return *out ? 0 : -ENOMEM;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* sk_read_file for the files a kubeconfig or a service account names:
 * regular files only (never a terminal, a FIFO or a device that blocks or
 * never ends). Not a regular file is -EINVAL; read_error() words it. */
static int read_regular(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	return sk_read_file(path, max, out, len);
}

static const char *read_error(int r)
{
	return r == -EINVAL ? "not a regular file" : strerror(-r);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* kube_read_token_file, naming the file "<label> <path>" in messages. An
 * empty file is -ENODATA. */
static int read_token(const char *path, const char *label, char **out, struct sk_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0, start = 0;
	int r;

	r = read_regular(path, KUBE_CONFIG_MAX_TOKEN, &text, &len);
	if (r == -E2BIG)
		return sk_err(err, r, "%s %s is larger than %u KiB", label, path,
		              KUBE_CONFIG_MAX_TOKEN >> 10);
	if (r < 0)
		return sk_err(err, r, "%s %s: cannot read: %s", label, path, read_error(r));
	while (len > 0 && is_blank(text[len - 1]))
		len--;
	while (start < len && is_blank(text[start]))
		start++;
	text[len] = '\0';
	if (start == len)
		return sk_err(err, -ENODATA, "%s %s is empty", label, path);
	if (strlen(text + start) != len - start || has_control(text + start))
		return sk_err(err, -EINVAL, "%s %s holds control characters (one token expected)", label,
		              path);
	memmove(text, text + start, len - start + 1);
	*out = text;
	text = NULL;
	return 0;
}

/* Is data[0..len) PEM holding the block we want? Certificates must be
 * CERTIFICATE blocks (what Go's x509 pool accepts); keys any PRIVATE KEY. */
static bool looks_like_pem(const char *data, size_t len, bool key)
{
	const char *tag = key ? "PRIVATE KEY-----" : "-----BEGIN CERTIFICATE-----";

	return memmem(data, len, "-----BEGIN ", 11) && memmem(data, len, tag, strlen(tag));
}

/* Decode standard base64 as Go's decoder reads []byte fields: padding
 * required, line breaks ignored, nothing else allowed. *out is
 * NUL-terminated (caller frees). Empty text is -EINVAL here: a field given
 * as "" is not a certificate or key. */
static int b64_decode(const char *in, size_t n, char **out, size_t *out_len)
{
	unsigned char *dec = NULL;
	int r = sk_base64_decode(in, n, SK_B64_SKIP_NEWLINES, &dec, out_len);

	if (r < 0)
		return r;
	if (*out_len == 0) {
		free(dec);
		return -EINVAL;
	}
	*out = (char *)dec;
	return 0;
}

/* Field key of e as a string: *out borrowed, NULL when missing, null or "".
 * Anything but a string is an error naming the field. */
static int field_str(const struct kc_entry *e, const char *key, const char **out, struct sk_error *err)
{
	json_object *v = NULL;
	const char *s;

	*out = NULL;
	if (!e->body || !json_object_object_get_ex(e->body, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return entry_err(err, -EINVAL, e, "%s%s must be a string", e->prefix, key);
	s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v))
		return entry_err(err, -EINVAL, e, "%s%s holds a NUL character", e->prefix, key);
	*out = s[0] ? s : NULL;
	return 0;
}

/* Field key of e as a boolean: false when missing or null. */
static int field_bool(const struct kc_entry *e, const char *key, bool *out, struct sk_error *err)
{
	json_object *v = NULL;

	*out = false;
	if (!e->body || !json_object_object_get_ex(e->body, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return entry_err(err, -EINVAL, e, "%s%s must be true or false", e->prefix, key);
	*out = json_object_get_boolean(v);
	return 0;
}

/* Field key of e as a list (borrowed), NULL when missing or null. */
static int field_list(const struct kc_entry *e, const char *key, json_object **out, struct sk_error *err)
{
	json_object *v = NULL;

	*out = NULL;
	if (!e->body || !json_object_object_get_ex(e->body, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_array))
		return entry_err(err, -EINVAL, e, "%s%s must be a list", e->prefix, key);
	*out = v;
	return 0;
}

/* Read the file a kubeconfig names (key, at path) into *pem, capped at
 * KUBE_CONFIG_MAX_PEM. */
static int read_pem_file(const struct kc_entry *e, const char *key, const char *path, bool key_pem,
                         char **pem, size_t *len, struct sk_error *err)
{
	_cleanup_free_ char *data = NULL;
	int r;

	r = read_regular(path, KUBE_CONFIG_MAX_PEM, &data, len);
	if (r == -E2BIG)
		return entry_err(err, r, e, "%s %s is larger than %u KiB", key, path,
		                 KUBE_CONFIG_MAX_PEM >> 10);
	if (r < 0)
		return entry_err(err, r, e, "%s %s: cannot read: %s", key, path, read_error(r));
	if (!looks_like_pem(data, *len, key_pem))
		return entry_err(err, -EINVAL, e, "%s %s does not hold a PEM %s", key, path,
		                 key_pem ? "private key" : "certificate");
	*pem = data;
	data = NULL;
	return 0;
}

/* A PEM block of entry e, inline (data_key, base64) or from a file (file_key,
 * relative to the kubeconfig's folder); inline data wins and the file is then
 * not read. *pem (caller frees) stays NULL when neither is set. */
static int load_pem(const struct kc_entry *e, const char *data_key, const char *file_key, bool key_pem,
                    char **pem, size_t *len, struct sk_error *err)
{
	_cleanup_free_ char *data = NULL, *path = NULL;
	const char *b64, *file;
	int r;

	if ((r = field_str(e, data_key, &b64, err)) < 0 || (r = field_str(e, file_key, &file, err)) < 0)
		return r;
	if (!b64 && !file)
		return 0;
	if (!b64) {
		path = path_in(e->file->dir, file);
		if (!path)
			return sk_err(err, -ENOMEM, "out of memory");
		return read_pem_file(e, file_key, path, key_pem, pem, len, err);
	}
	r = b64_decode(b64, strlen(b64), &data, len);
	if (r == -ENOMEM)
		return sk_err(err, r, "out of memory");
	if (r < 0)
		return entry_err(err, -EINVAL, e, "%s is not valid base64", data_key);
	if (*len > KUBE_CONFIG_MAX_PEM)
		return entry_err(err, -E2BIG, e, "%s is larger than %u KiB", data_key,
		                 KUBE_CONFIG_MAX_PEM >> 10);
	if (!looks_like_pem(data, *len, key_pem))
		return entry_err(err, -EINVAL, e, "%s does not hold a PEM %s", data_key,
		                 key_pem ? "private key" : "certificate");
	*pem = data;
	data = NULL;
	return 0;
}

/* Check one URL-valued field: one of the schemes, a host, no blanks. */
static int check_url(const struct kc_entry *e, const char *key, const char *url, const char *const *schemes,
                     const char *want, struct sk_error *err)
{
	size_t n = 0;

	for (; *schemes; schemes++)
		if (!strncmp(url, *schemes, strlen(*schemes)))
			n = strlen(*schemes);
	if (n == 0)
		return entry_err(err, -EINVAL, e, "%s \"%s\" must start with %s", key, url, want);
	if (url[n] == '\0' || url[n] == '/')
		return entry_err(err, -EINVAL, e, "%s \"%s\" has no host", key, url);
	if (has_control(url) || strchr(url, ' '))
		return entry_err(err, -EINVAL, e, "%s \"%s\" holds a blank or control character", key, url);
	return 0;
}

/* clusters[].cluster into cfg: server, TLS settings, proxy. */
static int fill_cluster(struct kube_config *cfg, const struct kc_entry *e, struct sk_error *err)
{
	static const char *const server_schemes[] = {"https://", "http://", NULL};
	static const char *const proxy_schemes[] = {"https://", "http://", "socks5://", NULL};
	const char *server, *sni, *proxy;
	size_t n;
	int r;

	if ((r = field_str(e, "server", &server, err)) < 0 ||
	    (r = field_str(e, "tls-server-name", &sni, err)) < 0 ||
	    (r = field_str(e, "proxy-url", &proxy, err)) < 0 ||
	    (r = field_bool(e, "insecure-skip-tls-verify", &cfg->insecure_skip_tls_verify, err)) < 0)
		return r;
	if (!server)
		return entry_err(err, -EINVAL, e, "server is missing (set it to https://HOST:PORT)");
	if ((r = check_url(e, "server", server, server_schemes, "https:// or http://", err)) < 0)
		return r;
	if (proxy &&
	    (r = check_url(e, "proxy-url", proxy, proxy_schemes, "http://, https:// or socks5://", err)) < 0)
		return r;
	r = load_pem(e, "certificate-authority-data", "certificate-authority", false, &cfg->ca_pem,
	             &cfg->ca_pem_len, err);
	if (r < 0)
		return r;
	if (cfg->insecure_skip_tls_verify && cfg->ca_pem)
		return entry_err(
		    err, -EINVAL, e,
		    "insecure-skip-tls-verify cannot be combined with a certificate-authority; remove one");
	n = strlen(server);
	while (n > 0 && server[n - 1] == '/')
		n--;
	cfg->server = strndup(server, n);
	cfg->tls_server_name = sni ? strdup(sni) : NULL;
	cfg->proxy_url = proxy ? strdup(proxy) : NULL;
	if (!cfg->server || (sni && !cfg->tls_server_name) || (proxy && !cfg->proxy_url))
		return sk_err(err, -ENOMEM, "out of memory");
	return 0;
}

/* A NULL-terminated copy of list (strings only) into *out (caller frees
 * each and the array). */
static int string_list(const struct kc_entry *e, const char *key, json_object *list, char ***out,
                       struct sk_error *err)
{
	size_t n = list ? json_object_array_length(list) : 0;
	char **v = calloc(n + 1, sizeof(*v));

	if (!v)
		return sk_err(err, -ENOMEM, "out of memory");
	*out = v;
	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(list, i);

		if (!json_object_is_type(s, json_type_string))
			return entry_err(err, -EINVAL, e, "%s%s[%zu] must be a string", e->prefix, key, i);
		v[i] = strdup(json_object_get_string(s));
		if (!v[i])
			return sk_err(err, -ENOMEM, "out of memory");
	}
	return 0;
}

/* exec.env [{name, value}] as a NULL-terminated "NAME=VALUE" array in *out
 * (caller frees each and the array). */
static int env_list(const struct kc_entry *e, json_object *list, char ***out, struct sk_error *err)
{
	size_t n = list ? json_object_array_length(list) : 0;
	char **v = calloc(n + 1, sizeof(*v));

	if (!v)
		return sk_err(err, -ENOMEM, "out of memory");
	*out = v;
	for (size_t i = 0; i < n; i++) {
		struct kc_entry item = *e;
		const char *name, *value;
		char prefix[48];
		int r;

		(void)snprintf(prefix, sizeof(prefix), "exec.env[%zu].", i);
		item.prefix = prefix;
		item.body = json_object_array_get_idx(list, i);
		if (!json_object_is_type(item.body, json_type_object))
			return entry_err(err, -EINVAL, e,
			                 "exec.env[%zu] must be a mapping with name and value", i);
		if ((r = field_str(&item, "name", &name, err)) < 0 ||
		    (r = field_str(&item, "value", &value, err)) < 0)
			return r;
		if (!name || strchr(name, '='))
			return entry_err(err, -EINVAL, e, "exec.env[%zu] needs a name without '='", i);
		v[i] = str3(name, "=", value ? value : "");
		if (!v[i])
			return sk_err(err, -ENOMEM, "out of memory");
	}
	return 0;
}

/* Check exec.apiVersion and exec.interactiveMode. */
static int check_exec_modes(const struct kc_entry *x, const char *api, struct sk_error *err)
{
	const char *mode;
	int r;

	if (!api)
		return entry_err(err, -EINVAL, x, "exec.apiVersion is missing (set it to " API_V1 ")");
	if (strcmp(api, API_V1) && strcmp(api, API_V1BETA1))
		return entry_err(err, -EINVAL, x,
		                 "exec.apiVersion \"%s\" is not supported (use " API_V1 " or v1beta1)", api);
	if ((r = field_str(x, "interactiveMode", &mode, err)) < 0)
		return r;
	if (mode && !strcmp(mode, "Always"))
		return entry_err(
		    err, -EINVAL, x,
		    "exec.interactiveMode Always needs a terminal, which a controller has not; use Never");
	if (mode && strcmp(mode, "Never") && strcmp(mode, "IfAvailable"))
		return entry_err(err, -EINVAL, x,
		                 "exec.interactiveMode \"%s\" is not Never, IfAvailable or Always", mode);
	return 0;
}

/* users[].user.exec into cfg->exec (present: x.body is its mapping). */
static int fill_exec(struct kube_config *cfg, const struct kc_entry *x, struct sk_error *err)
{
	struct kube_exec_config *ex;
	const char *command, *api;
	json_object *args, *env;
	int r;

	if ((r = field_str(x, "command", &command, err)) < 0 ||
	    (r = field_str(x, "apiVersion", &api, err)) < 0 || (r = field_list(x, "args", &args, err)) < 0 ||
	    (r = field_list(x, "env", &env, err)) < 0)
		return r;
	if (!command)
		return entry_err(err, -EINVAL, x, "exec.command is missing");
	if ((r = check_exec_modes(x, api, err)) < 0)
		return r;
	ex = cfg->exec = calloc(1, sizeof(*cfg->exec));
	if (!ex)
		return sk_err(err, -ENOMEM, "out of memory");
	if ((r = field_bool(x, "provideClusterInfo", &ex->provide_cluster_info, err)) < 0 ||
	    (r = string_list(x, "args", args, &ex->args, err)) < 0 ||
	    (r = env_list(x, env, &ex->env, err)) < 0)
		return r;
	/* kubectl: a command with a '/' is a path, relative to the kubeconfig;
	 * a bare name is looked up in PATH when run. */
	ex->command = (strchr(command, '/') ? path_in(x->file->dir, command) : strdup(command));
	ex->api_version = strdup(api);
	if (!ex->command || !ex->api_version)
		return sk_err(err, -ENOMEM, "out of memory");
	return 0;
}

/* user.token and user.tokenFile into cfg. The file must hold a token now; it
 * is re-read later, so only its absolute path is kept. */
static int fill_token(struct kube_config *cfg, const struct kc_entry *e, struct sk_error *err)
{
	_cleanup_free_ char *check = NULL;
	const char *token, *file;
	int r;

	if ((r = field_str(e, "token", &token, err)) < 0 || (r = field_str(e, "tokenFile", &file, err)) < 0)
		return r;
	if (token && strlen(token) > KUBE_CONFIG_MAX_TOKEN)
		return entry_err(err, -E2BIG, e, "token is longer than %u KiB", KUBE_CONFIG_MAX_TOKEN >> 10);
	if (token && has_control(token))
		return entry_err(err, -EINVAL, e, "token holds a control character (a line break?)");
	if (token && !(cfg->token = strdup(token)))
		return sk_err(err, -ENOMEM, "out of memory");
	if (!file)
		return 0;
	cfg->token_file = path_in(e->file->dir, file);
	if (!cfg->token_file)
		return sk_err(err, -ENOMEM, "out of memory");
	r = read_token(cfg->token_file, "tokenFile", &check, err);
	if (r < 0)
		return sk_err_prefix(err, "kubeconfig %s: user \"%s\"", e->file->path, e->name);
	explicit_bzero(check, strlen(check));
	return 0;
}

/* users[].user into cfg: client certificate, tokens, exec plugin. */
static int fill_user(struct kube_config *cfg, const struct kc_entry *e, struct sk_error *err)
{
	struct kc_entry x = *e;
	json_object *v = NULL;
	int r;

	r = load_pem(e, "client-certificate-data", "client-certificate", false, &cfg->client_cert_pem,
	             &cfg->client_cert_pem_len, err);
	if (r < 0 || (r = load_pem(e, "client-key-data", "client-key", true, &cfg->client_key_pem,
	                           &cfg->client_key_pem_len, err)) < 0)
		return r;
	if (cfg->client_cert_pem && !cfg->client_key_pem)
		return entry_err(err, -EINVAL, e,
		                 "client-certificate is set but client-key is not; set both");
	if (!cfg->client_cert_pem && cfg->client_key_pem)
		return entry_err(err, -EINVAL, e,
		                 "client-key is set but client-certificate is not; set both");
	if ((r = fill_token(cfg, e, err)) < 0)
		return r;
	if (e->body && json_object_object_get_ex(e->body, "auth-provider", &v) && v)
		return entry_err(err, -ENOTSUP, e,
		                 "auth-provider is not supported; use an exec plugin (user.exec)");
	if (e->body && ((json_object_object_get_ex(e->body, "username", &v) && v) ||
	                (json_object_object_get_ex(e->body, "password", &v) && v)))
		return entry_err(
		    err, -ENOTSUP, e,
		    "username/password is not supported; use a token, a client certificate or exec");
	if (!e->body || !json_object_object_get_ex(e->body, "exec", &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_object))
		return entry_err(err, -EINVAL, e, "exec must be a mapping");
	x.body = v;
	x.prefix = "exec.";
	return fill_exec(cfg, &x, err);
}

/* Check one of clusters/users/contexts of file f: a list of mappings, each
 * with a string name (unique in the file, as kubectl demands) and its body
 * a mapping. */
static int check_section(const struct kc_file *f, const struct kc_section *sec, struct sk_error *err)
{
	_cleanup_json_ json_object *seen = NULL;
	json_object *list = NULL;
	size_t n;

	if (!json_object_object_get_ex(f->root, sec->list, &list) || !list)
		return 0;
	if (!json_object_is_type(list, json_type_array))
		return sk_err(err, -EINVAL, "kubeconfig %s: %s must be a list", f->path, sec->list);
	seen = json_object_new_object();
	if (!seen)
		return sk_err(err, -ENOMEM, "out of memory");
	n = json_object_array_length(list);
	for (size_t i = 0; i < n; i++) {
		json_object *item = json_object_array_get_idx(list, i), *body = NULL;
		const char *name = sk_json_str(item, "name");

		if (!json_object_is_type(item, json_type_object))
			return sk_err(err, -EINVAL,
			              "kubeconfig %s: %s[%zu] must be a mapping with name and %s", f->path,
			              sec->list, i, sec->kind);
		if (!name && sk_json_get(item, "name"))
			return sk_err(err, -EINVAL, "kubeconfig %s: %s[%zu]: name must be a string", f->path,
			              sec->list, i);
		if (!name || !name[0])
			return sk_err(err, -EINVAL, "kubeconfig %s: %s[%zu]: name is missing", f->path,
			              sec->list, i);
		if (json_object_object_get_ex(item, sec->kind, &body) && body &&
		    !json_object_is_type(body, json_type_object))
			return sk_err(err, -EINVAL, "kubeconfig %s: %s \"%s\": %s must be a mapping", f->path,
			              sec->kind, name, sec->kind);
		if (json_object_object_get_ex(seen, name, NULL))
			return sk_err(err, -EINVAL, "kubeconfig %s: %s \"%s\" is defined twice", f->path,
			              sec->kind, name);
		if (json_object_object_add(seen, name, NULL) < 0)
			return sk_err(err, -ENOMEM, "out of memory");
	}
	return 0;
}

/* The top level of file f: a mapping, kind Config when given, the three
 * named lists well formed, current-context a string. */
static int check_file(const struct kc_file *f, struct sk_error *err)
{
	json_object *v = NULL;
	const char *kind = sk_json_str(f->root, "kind");
	int r;

	if (!json_object_is_type(f->root, json_type_object))
		return sk_err(err, -EINVAL, "kubeconfig %s: not a kubeconfig (the document is not a mapping)",
		              f->path);
	if (json_object_object_get_ex(f->root, "kind", &v) && v && (!kind || strcmp(kind, "Config")))
		return sk_err(err, -EINVAL, "kubeconfig %s: kind is not Config", f->path);
	if (json_object_object_get_ex(f->root, "current-context", &v) && v &&
	    !json_object_is_type(v, json_type_string))
		return sk_err(err, -EINVAL, "kubeconfig %s: current-context must be a string", f->path);
	if ((r = check_section(f, &SEC_CLUSTERS, err)) < 0 || (r = check_section(f, &SEC_USERS, err)) < 0 ||
	    (r = check_section(f, &SEC_CONTEXTS, err)) < 0)
		return r;
	return 0;
}

static void kc_file_clear(struct kc_file *f)
{
	free(f->path);
	free(f->dir);
	if (f->root)
		json_object_put(f->root);
	*f = (struct kc_file){0};
}

/* Parse text as the kubeconfig at path into f (cleared by the caller with
 * kc_file_clear, also on failure). */
static int kc_file_parse(struct kc_file *f, const char *text, size_t len, const char *path,
                         struct sk_error *err)
{
	int r;

	f->path = strdup(path);
	if (!f->path)
		return sk_err(err, -ENOMEM, "out of memory");
	r = dir_of(path, &f->dir);
	if (r < 0)
		return sk_err(err, r, "kubeconfig %s: cannot find its folder: %s", path, strerror(-r));
	r = kube_yaml_parse(text, len, &f->root, err);
	if (r < 0)
		return sk_err_prefix(err, "kubeconfig %s", path);
	return check_file(f, err);
}

static void kc_set_clear(struct kc_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		kc_file_clear(&set->files[i]);
	set->n = 0;
	free(set->origin);
	set->origin = NULL;
}
#define _cleanup_set_ _cleanup_(kc_set_clear)

/* Read and parse the kubeconfig at path as the set's next file. Returns 1
 * when added, 0 when it does not exist and skip_missing, or an error. */
static int kc_set_add(struct kc_set *set, const char *path, bool skip_missing, struct sk_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r;

	r = sk_read_file(path, KUBE_CONFIG_MAX_FILE, &text, &len);
	if (r == -ENOENT && skip_missing)
		return 0;
	if (r == -E2BIG)
		return sk_err(err, r, "kubeconfig %s: larger than %u MiB", path, KUBE_CONFIG_MAX_FILE >> 20);
	if (r < 0)
		return sk_err(err, r, "kubeconfig %s: cannot read: %s (check --kubeconfig or KUBECONFIG)",
		              path, strerror(-r));
	if (set->n == KUBE_CONFIG_MAX_FILES)
		return sk_err(err, -E2BIG, "more than %d kubeconfig files", KUBE_CONFIG_MAX_FILES);
	r = kc_file_parse(&set->files[set->n], text, len, path, err);
	if (r < 0) {
		kc_file_clear(&set->files[set->n]);
		return r;
	}
	set->n++;
	return 1;
}

/* set->origin: the loaded paths joined with ", ". */
static int kc_set_origin(struct kc_set *set, struct sk_error *err)
{
	struct sk_buf b = sk_buf_make(SIZE_MAX / 2);

	for (size_t i = 0; i < set->n; i++) {
		if ((i && sk_buf_append(&b, ", ", 2) < 0) ||
		    sk_buf_append(&b, set->files[i].path, strlen(set->files[i].path)) < 0) {
			sk_buf_free(&b);
			return sk_err(err, -ENOMEM, "out of memory");
		}
	}
	set->origin = sk_buf_steal(&b, NULL);
	return set->origin ? 0 : sk_err(err, -ENOMEM, "out of memory");
}

/* Find the entry called name in sec: the first file that defines it wins.
 * Returns 0 with *e filled (borrowed from set) or -ENOENT. */
static int kc_find(const struct kc_set *set, const struct kc_section *sec, const char *name,
                   struct kc_entry *e)
{
	for (size_t i = 0; i < set->n; i++) {
		json_object *list = sk_json_arr(set->files[i].root, sec->list);
		size_t n = list ? json_object_array_length(list) : 0;

		for (size_t j = 0; j < n; j++) {
			json_object *item = json_object_array_get_idx(list, j), *body = NULL;
			const char *item_name = sk_json_str(item, "name");

			if (!item_name || strcmp(item_name, name))
				continue;
			json_object_object_get_ex(item, sec->kind, &body);
			*e = (struct kc_entry){.kind = sec->kind,
			                       .name = item_name,
			                       .body = body,
			                       .prefix = "",
			                       .file = &set->files[i]};
			return 0;
		}
	}
	return -ENOENT;
}

/* The names defined in sec over all files, for messages: "a, b, ..." cut
 * past 200 characters, "none" when empty. New string, NULL on -ENOMEM. */
static char *kc_names(const struct kc_set *set, const struct kc_section *sec)
{
	_cleanup_json_ json_object *seen = json_object_new_object();
	struct sk_buf b = sk_buf_make(256);
	bool full = false;
	int r = seen ? 0 : -ENOMEM;

	for (size_t i = 0; !r && !full && i < set->n; i++) {
		json_object *list = sk_json_arr(set->files[i].root, sec->list);
		size_t n = list ? json_object_array_length(list) : 0;

		for (size_t j = 0; !r && !full && j < n; j++) {
			const char *name = sk_json_str(json_object_array_get_idx(list, j), "name");

			if (!name || json_object_object_get_ex(seen, name, NULL))
				continue;
			if (b.len + strlen(name) + 2 > 200) {
				full = true;
				r = sk_buf_append(&b, ", ...", 5);
				break;
			}
			if ((b.len && (r = sk_buf_append(&b, ", ", 2)) < 0) ||
			    (r = sk_buf_append(&b, name, strlen(name))) < 0 ||
			    (r = json_object_object_add(seen, name, NULL)) < 0)
				break;
		}
	}
	if (!r && b.len == 0)
		r = sk_buf_append(&b, "none", 4);
	if (r < 0) {
		sk_buf_free(&b);
		return NULL;
	}
	return sk_buf_steal(&b, NULL);
}

/* The context to use: the override, else the first non-empty
 * current-context (borrowed), else NULL. */
static const char *kc_current_context(const struct kc_set *set, const char *override)
{
	if (override && override[0])
		return override;
	for (size_t i = 0; i < set->n; i++) {
		const char *s = sk_json_str(set->files[i].root, "current-context");

		if (s && s[0])
			return s;
	}
	return NULL;
}

/* The context, cluster and (maybe NULL) user entries to resolve. */
struct kc_choice {
	struct kc_entry context, cluster, user;
	const char *namespace;
	bool has_user;
};

/* Pick the context and find the entries it names. */
static int kc_choose(const struct kc_set *set, const char *override, struct kc_choice *c,
                     struct sk_error *err)
{
	_cleanup_free_ char *names = NULL;
	const char *name = kc_current_context(set, override), *cluster, *user;
	int r;

	if (!name || kc_find(set, &SEC_CONTEXTS, name, &c->context) < 0) {
		names = kc_names(set, &SEC_CONTEXTS);
		if (!name)
			return sk_err(
			    err, -ENOENT,
			    "kubeconfig %s: no current-context is set (pass --context; contexts: %s)",
			    set->origin, names ? names : "?");
		return sk_err(err, -ENOENT, "kubeconfig %s: context \"%s\" not found (contexts: %s)",
		              set->origin, name, names ? names : "?");
	}
	if ((r = field_str(&c->context, "cluster", &cluster, err)) < 0 ||
	    (r = field_str(&c->context, "user", &user, err)) < 0 ||
	    (r = field_str(&c->context, "namespace", &c->namespace, err)) < 0)
		return r;
	if (!cluster)
		return entry_err(err, -EINVAL, &c->context, "cluster is missing");
	if (kc_find(set, &SEC_CLUSTERS, cluster, &c->cluster) < 0) {
		names = kc_names(set, &SEC_CLUSTERS);
		return entry_err(err, -ENOENT, &c->context, "cluster \"%s\" not found (clusters: %s)",
		                 cluster, names ? names : "?");
	}
	c->has_user = user != NULL;
	if (user && kc_find(set, &SEC_USERS, user, &c->user) < 0) {
		names = kc_names(set, &SEC_USERS);
		return entry_err(err, -ENOENT, &c->context, "user \"%s\" not found (users: %s)", user,
		                 names ? names : "?");
	}
	return 0;
}

/* Resolve the loaded files into a new config in *out (caller frees). */
static int kc_resolve(const struct kc_set *set, const char *override, struct kube_config **out,
                      struct sk_error *err)
{
	_cleanup_config_ struct kube_config *cfg = NULL;
	struct kc_choice c = {0};
	int r;

	if ((r = kc_choose(set, override, &c, err)) < 0)
		return r;
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return sk_err(err, -ENOMEM, "out of memory");
	cfg->origin = strdup(set->origin);
	cfg->context = strdup(c.context.name);
	cfg->cluster_name = strdup(c.cluster.name);
	cfg->user_name = c.has_user ? strdup(c.user.name) : NULL;
	cfg->namespace = strdup(c.namespace ? c.namespace : "default");
	if (!cfg->origin || !cfg->context || !cfg->cluster_name || (c.has_user && !cfg->user_name) ||
	    !cfg->namespace)
		return sk_err(err, -ENOMEM, "out of memory");
	if ((r = fill_cluster(cfg, &c.cluster, err)) < 0 ||
	    (c.has_user && (r = fill_user(cfg, &c.user, err)) < 0))
		return r;
	*out = cfg;
	cfg = NULL;
	return 0;
}

int kube_config_from_text(const char *text, size_t len, const char *path, const char *context,
                          struct kube_config **out, struct sk_error *err)
{
	_cleanup_set_ struct kc_set set = {.n = 0};
	int r;

	if (len > KUBE_CONFIG_MAX_FILE)
		return sk_err(err, -E2BIG, "kubeconfig %s: larger than %u MiB", path,
		              KUBE_CONFIG_MAX_FILE >> 20);
	r = kc_file_parse(&set.files[0], text, len, path, err);
	set.n = 1; /* cleared on every path */
	if (r < 0 || (r = kc_set_origin(&set, err)) < 0)
		return r;
	return kc_resolve(&set, context, out, err);
}

/* Load the files of KUBECONFIG (colon-separated; empty entries and repeats
 * skipped, missing files too, but not all of them). Returns 0, or 1 when
 * the variable names no file at all. */
static int load_env_files(struct kc_set *set, const char *env, struct sk_error *err)
{
	_cleanup_json_ json_object *seen = json_object_new_object();
	size_t listed = 0;

	if (!seen)
		return sk_err(err, -ENOMEM, "out of memory");
	for (const char *p = env; *p;) {
		const char *colon = strchrnul(p, ':');
		_cleanup_free_ char *path = strndup(p, (size_t)(colon - p));
		int r;

		p = *colon ? colon + 1 : colon;
		if (!path)
			return sk_err(err, -ENOMEM, "out of memory");
		if (!path[0] || json_object_object_get_ex(seen, path, NULL))
			continue;
		if (++listed > KUBE_CONFIG_MAX_FILES)
			return sk_err(err, -E2BIG, "KUBECONFIG lists more than %d files",
			              KUBE_CONFIG_MAX_FILES);
		if (json_object_object_add(seen, path, NULL) < 0)
			return sk_err(err, -ENOMEM, "out of memory");
		if ((r = kc_set_add(set, path, true, err)) < 0)
			return r;
	}
	if (listed == 0)
		return 1;
	if (set->n == 0)
		return sk_err(err, -ENOENT,
		              "KUBECONFIG=%s: none of these files exists (fix KUBECONFIG or unset it)", env);
	return 0;
}

/* Fill set from kubectl's sources in order; returns 1 when none applies. */
static int load_files(struct kc_set *set, const struct kube_config_opts *opts, struct sk_error *err)
{
	_cleanup_free_ char *home_config = NULL;
	struct stat st;
	int r;

	if (opts->explicit_path && opts->explicit_path[0]) {
		r = kc_set_add(set, opts->explicit_path, false, err);
		return r < 0 ? r : 0;
	}
	if (opts->kubeconfig_env && (r = load_env_files(set, opts->kubeconfig_env, err)) <= 0)
		return r;
	if (!opts->home || !opts->home[0])
		return 1;
	home_config = path_in(opts->home, ".kube/config");
	if (!home_config)
		return sk_err(err, -ENOMEM, "out of memory");
	if (stat(home_config, &st) < 0 && errno == ENOENT)
		return 1;
	r = kc_set_add(set, home_config, false, err);
	return r < 0 ? r : 0;
}

static int load(const struct kube_config_opts *opts, struct kube_config **out, struct sk_error *err)
{
	_cleanup_set_ struct kc_set set = {.n = 0};
	bool in_cluster =
	    opts->service_host && opts->service_host[0] && opts->service_port && opts->service_port[0];
	int r;

	r = load_files(&set, opts, err);
	if (r < 0)
		return r;
	if (r == 0) {
		if ((r = kc_set_origin(&set, err)) < 0)
			return r;
		return kc_resolve(&set, opts->context, out, err);
	}
	if (!in_cluster)
		return sk_err(err, -ENOENT,
		              "no Kubernetes configuration found: pass --kubeconfig, set KUBECONFIG, create "
		              "%s/.kube/config, or run in a cluster (KUBERNETES_SERVICE_HOST/PORT)",
		              opts->home && opts->home[0] ? opts->home : "~");
	if (opts->context && opts->context[0])
		return sk_err(err, -EINVAL,
		              "context \"%s\" was asked for, but there is no kubeconfig (only in-cluster)",
		              opts->context);
	return kube_config_in_cluster(opts->service_host, opts->service_port, opts->sa_dir, out, err);
}

int kube_config_load(const struct kube_config_opts *opts, struct kube_config **out, struct sk_error *err)
{
	return load(opts, out, err);
}

void kube_config_opts_from_env(struct kube_config_opts *opts)
{
	opts->kubeconfig_env = getenv("KUBECONFIG");
	opts->home = getenv("HOME");
	opts->service_host = getenv("KUBERNETES_SERVICE_HOST");
	opts->service_port = getenv("KUBERNETES_SERVICE_PORT");
}

/* https://HOST:PORT with IPv6 hosts in brackets, into *out (caller frees). */
static int in_cluster_server(const char *host, const char *port, char **out, struct sk_error *err)
{
	bool v6 = strchr(host, ':') && host[0] != '[';
	char *end = NULL;
	long p;
	int n;

	errno = 0;
	p = strtol(port, &end, 10);
	if (errno || end == port || *end || p < 1 || p > 65535)
		return sk_err(err, -EINVAL, "in-cluster: KUBERNETES_SERVICE_PORT \"%s\" is not a port number",
		              port);
	if (has_control(host) || strpbrk(host, " /@?#"))
		return sk_err(err, -EINVAL,
		              "in-cluster: KUBERNETES_SERVICE_HOST \"%s\" is not a host name or address",
		              host);
	n = snprintf(NULL, 0, "https://%s%s%s:%ld", v6 ? "[" : "", host, v6 ? "]" : "", p);
	if (n < 0 || !(*out = malloc((size_t)n + 1)))
		return sk_err(err, -ENOMEM, "out of memory");
	(void)snprintf(*out, (size_t)n + 1, "https://%s%s%s:%ld", v6 ? "[" : "", host, v6 ? "]" : "", p);
	return 0;
}

/* The namespace file of the service account: trimmed, "default" when
 * missing or empty. *out is the caller's. */
static int in_cluster_namespace(const char *sa, char **out, struct sk_error *err)
{
	_cleanup_free_ char *path = path_in(sa, "namespace");
	int r;

	if (!path)
		return sk_err(err, -ENOMEM, "out of memory");
	r = read_token(path, "namespace file", out, err);
	if (r == -ENOENT || r == -ENODATA)
		*out = strdup("default");
	else if (r < 0)
		return sk_err_prefix(err, "in-cluster");
	return *out ? 0 : sk_err(err, -ENOMEM, "out of memory");
}

static int in_cluster(const char *host, const char *port, const char *sa_dir, struct kube_config **out,
                      struct sk_error *err)
{
	_cleanup_config_ struct kube_config *cfg = NULL;
	_cleanup_free_ char *check = NULL, *ca = NULL;
	const char *sa = sa_dir ? sa_dir : SA_DIR_DEFAULT;
	int r;

	if (!host || !host[0] || !port || !port[0])
		return sk_err(err, -EINVAL,
		              "in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg || !(cfg->origin = strdup("in-cluster")) || !(cfg->token_file = path_in(sa, "token")) ||
	    !(ca = path_in(sa, "ca.crt")))
		return sk_err(err, -ENOMEM, "out of memory");
	if ((r = in_cluster_server(host, port, &cfg->server, err)) < 0)
		return r;
	if ((r = read_token(cfg->token_file, "service account token", &check, err)) < 0)
		return sk_err_prefix(err, "in-cluster");
	explicit_bzero(check, strlen(check));
	r = read_regular(ca, KUBE_CONFIG_MAX_PEM, &cfg->ca_pem, &cfg->ca_pem_len);
	if (r == -E2BIG)
		return sk_err(err, r, "in-cluster: %s is larger than %u KiB", ca, KUBE_CONFIG_MAX_PEM >> 10);
	if (r < 0)
		return sk_err(err, r, "in-cluster: %s: cannot read: %s", ca, read_error(r));
	if (!looks_like_pem(cfg->ca_pem, cfg->ca_pem_len, false))
		return sk_err(err, -EINVAL, "in-cluster: %s does not hold a PEM certificate", ca);
	if ((r = in_cluster_namespace(sa, &cfg->namespace, err)) < 0)
		return r;
	*out = cfg;
	cfg = NULL;
	return 0;
}

int kube_config_in_cluster(const char *host, const char *port, const char *sa_dir, struct kube_config **out,
                           struct sk_error *err)
{
	return in_cluster(host, port, sa_dir, out, err);
}

int kube_read_token_file(const char *path, char **out, struct sk_error *err)
{
	return read_token(path, "token file", out, err);
}

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* Free a secret after wiping it. */
static void free_secret(char *s, size_t len)
{
	if (s)
		explicit_bzero(s, len);
	free(s);
}

void kube_config_free(struct kube_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->origin);
	free(cfg->context);
	free(cfg->cluster_name);
	free(cfg->user_name);
	free(cfg->server);
	free(cfg->tls_server_name);
	free(cfg->proxy_url);
	free(cfg->ca_pem);
	free(cfg->client_cert_pem);
	free_secret(cfg->client_key_pem, cfg->client_key_pem_len);
	free_secret(cfg->token, cfg->token ? strlen(cfg->token) : 0);
	free(cfg->token_file);
	if (cfg->exec) {
		free(cfg->exec->command);
		free_strv(cfg->exec->args);
		free_strv(cfg->exec->env);
		free(cfg->exec->api_version);
		free(cfg->exec);
	}
	free(cfg->namespace);
	free(cfg);
}
