/* Where and how to reach a Kubernetes API server: kubeconfig files (merged as
 * kubectl merges them) or the in-cluster service account.
 *
 * kube_config_load() follows kubectl's precedence: an explicit path (the
 * --kubeconfig flag), else KUBECONFIG (colon-separated, merged), else
 * ~/.kube/config, else in-cluster (KUBERNETES_SERVICE_HOST/PORT and the
 * service-account files). The result is a resolved, self-contained struct:
 * every file a kubeconfig names has been read (certificates, keys) except
 * tokenFile, which is re-read when it changes so that rotated tokens are used.
 *
 * Every error names the file, the entry and the field, and says what to fix:
 *   kubeconfig /home/a/.kube/config: user "ci": client-key-data is not valid base64
 *
 * Ownership: kube_config_load returns a config the caller frees with
 * kube_config_free; all strings inside are owned by it. */
#ifndef SPINKUBE_KUBE_CONFIG_H
#define SPINKUBE_KUBE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "common/err.h"

/* Caps on what is read from outside. */
#define KUBE_CONFIG_MAX_FILE (4u << 20)     /* one kubeconfig file */
#define KUBE_CONFIG_MAX_PEM (1u << 20)      /* one CA bundle, certificate or key */
#define KUBE_CONFIG_MAX_TOKEN (64u << 10)   /* one bearer token */
#define KUBE_CONFIG_MAX_FILES 64            /* entries in KUBECONFIG */

/* users[].user.exec: a client.authentication.k8s.io ExecCredential plugin. */
struct kube_exec_config {
	char *command;      /* as written; relative paths with a '/' resolved against the kubeconfig's folder */
	char **args;        /* NULL-terminated, may be empty */
	char **env;         /* "NAME=VALUE", NULL-terminated, may be empty */
	char *api_version;  /* e.g. client.authentication.k8s.io/v1 */
	bool provide_cluster_info;
};

struct kube_config {
	char *origin;          /* for messages: the kubeconfig file(s) or "in-cluster" */
	char *context;         /* context used (NULL in-cluster) */
	char *cluster_name;    /* cluster entry used (NULL in-cluster) */
	char *user_name;       /* user entry used (NULL in-cluster) */

	char *server;          /* https://host:port, maybe with a path prefix; no trailing '/' */
	char *tls_server_name; /* clusters[].cluster.tls-server-name, or NULL */
	bool insecure_skip_tls_verify; /* only when the file says so */
	char *proxy_url;       /* clusters[].cluster.proxy-url, or NULL */
	char *ca_pem;          /* CA bundle (PEM) from -data or the file; NULL: system CAs */
	size_t ca_pem_len;

	char *client_cert_pem; /* client certificate (PEM), or NULL */
	size_t client_cert_pem_len;
	char *client_key_pem;  /* its key (PEM), or NULL */
	size_t client_key_pem_len;

	char *token;           /* static bearer token, or NULL */
	char *token_file;      /* bearer token file, re-read on change, or NULL */
	struct kube_exec_config *exec; /* exec credential plugin, or NULL */

	char *namespace;       /* context's namespace, the in-cluster namespace, or "default" */
};

/* Inputs to kube_config_load. NULL members mean "not given". Tests set the
 * environment-derived fields explicitly; programs use kube_config_opts_from_env. */
struct kube_config_opts {
	const char *explicit_path;  /* --kubeconfig */
	const char *context;        /* --context: overrides current-context */
	const char *kubeconfig_env; /* $KUBECONFIG */
	const char *home;           /* $HOME, for ~/.kube/config */
	const char *service_host;   /* $KUBERNETES_SERVICE_HOST */
	const char *service_port;   /* $KUBERNETES_SERVICE_PORT */
	const char *sa_dir;         /* service-account folder; NULL: /var/run/secrets/kubernetes.io/serviceaccount */
};

/* Fill opts from the process environment (explicit_path and context stay as
 * they are). */
void kube_config_opts_from_env(struct kube_config_opts *opts);

/* Resolve the configuration as kubectl does (see the top of this file). */
int kube_config_load(const struct kube_config_opts *opts, struct kube_config **out, struct sk_error *err);

/* Load from kubeconfig text already in memory (for tests and fuzzing); path is
 * used for messages and to resolve relative file names. */
int kube_config_from_text(const char *text, size_t len, const char *path, const char *context,
			  struct kube_config **out, struct sk_error *err);

/* In-cluster configuration from the service host/port and the folder holding
 * token, ca.crt and namespace. */
int kube_config_in_cluster(const char *host, const char *port, const char *sa_dir, struct kube_config **out,
			   struct sk_error *err);

void kube_config_free(struct kube_config *cfg);

/* Exec credential plugins.
 *
 * kube_exec_run runs the plugin (no shell; env added to the process
 * environment; KUBERNETES_EXEC_INFO set as the protocol asks), reads at most
 * KUBE_CONFIG_MAX_FILE bytes of stdout within timeout_ms, and parses the
 * ExecCredential. On success it fills the token or the client certificate and
 * key (caller frees each) and *expiry (0 when the credential does not expire). */
struct kube_exec_result {
	char *token;
	char *client_cert_pem;
	char *client_key_pem;
	time_t expiry;
};
int kube_exec_run(const struct kube_config *cfg, int timeout_ms, struct kube_exec_result *out,
		  struct sk_error *err);
void kube_exec_result_clear(struct kube_exec_result *r);

/* Parse an ExecCredential document (JSON). Exposed for tests and fuzzing. */
int kube_exec_parse(const char *json, size_t len, const char *what, struct kube_exec_result *out,
		    struct sk_error *err);

/* Read a bearer token file (whitespace around it removed, as client-go does;
 * blank is -ENODATA, a line break or control character inside is -EINVAL, a
 * file that is not a regular file is -EINVAL too). *out is the caller's and
 * is set only on success. */
int kube_read_token_file(const char *path, char **out, struct sk_error *err);

#endif
