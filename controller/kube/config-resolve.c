/* Resolving a kubeconfig: the context in use (the override or the first
 * current-context), the cluster and user it names, each field checked and
 * every file it names read, into a self-contained struct kube_config; and
 * freeing one. Messages name the file, the entry and the field. */
#include "controller/kube/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/cleanup.h"
#include "common/json.h"
#include "controller/kube/config-internal.h"

#define API_V1         "client.authentication.k8s.io/v1"
#define API_V1BETA1    "client.authentication.k8s.io/v1beta1"

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

bool kc_looks_like_pem(const char *data, size_t len, bool key)
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

	r = kc_read_regular(path, KUBE_CONFIG_MAX_PEM, &data, len);
	if (r == -E2BIG)
		return entry_err(err, r, e, "%s %s is larger than %u KiB", key, path,
		                 KUBE_CONFIG_MAX_PEM >> 10);
	if (r < 0)
		return entry_err(err, r, e, "%s %s: cannot read: %s", key, path, kc_read_error(r));
	if (!kc_looks_like_pem(data, *len, key_pem))
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
		path = kc_path_in(e->file->dir, file);
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
	if (!kc_looks_like_pem(data, *len, key_pem))
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
	if (kc_has_control(url) || strchr(url, ' '))
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
		v[i] = kc_str3(name, "=", value ? value : "");
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
	ex->command = (strchr(command, '/') ? kc_path_in(x->file->dir, command) : strdup(command));
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
	if (token && kc_has_control(token))
		return entry_err(err, -EINVAL, e, "token holds a control character (a line break?)");
	if (token && !(cfg->token = strdup(token)))
		return sk_err(err, -ENOMEM, "out of memory");
	if (!file)
		return 0;
	cfg->token_file = kc_path_in(e->file->dir, file);
	if (!cfg->token_file)
		return sk_err(err, -ENOMEM, "out of memory");
	r = kc_read_token(cfg->token_file, "tokenFile", &check, err);
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

int kc_resolve(const struct kc_set *set, const char *override, struct kube_config **out,
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
