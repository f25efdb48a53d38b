/* The in-cluster configuration: the apiserver from KUBERNETES_SERVICE_HOST
 * and _PORT, the service account's token (its path kept, re-read later),
 * CA certificate and namespace. */
#include "controller/kube/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "controller/kube/config-internal.h"

#define SA_DIR_DEFAULT "/var/run/secrets/kubernetes.io/serviceaccount"

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
	if (kc_has_control(host) || strpbrk(host, " /@?#"))
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
	_cleanup_free_ char *path = kc_path_in(sa, "namespace");
	int r;

	if (!path)
		return sk_err(err, -ENOMEM, "out of memory");
	r = kc_read_token(path, "namespace file", out, err);
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
	if (!cfg || !(cfg->origin = strdup("in-cluster")) || !(cfg->token_file = kc_path_in(sa, "token")) ||
	    !(ca = kc_path_in(sa, "ca.crt")))
		return sk_err(err, -ENOMEM, "out of memory");
	if ((r = in_cluster_server(host, port, &cfg->server, err)) < 0)
		return r;
	if ((r = kc_read_token(cfg->token_file, "service account token", &check, err)) < 0)
		return sk_err_prefix(err, "in-cluster");
	explicit_bzero(check, strlen(check));
	r = kc_read_regular(ca, KUBE_CONFIG_MAX_PEM, &cfg->ca_pem, &cfg->ca_pem_len);
	if (r == -E2BIG)
		return sk_err(err, r, "in-cluster: %s is larger than %u KiB", ca, KUBE_CONFIG_MAX_PEM >> 10);
	if (r < 0)
		return sk_err(err, r, "in-cluster: %s: cannot read: %s", ca, kc_read_error(r));
	if (!kc_looks_like_pem(cfg->ca_pem, cfg->ca_pem_len, false))
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
