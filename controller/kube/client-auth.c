/* The REST client's credentials: the bearer token of each request (from the
 * exec plugin, run again before its credential expires; from the token file,
 * re-read when it changes, as service-account tokens rotate; or the static
 * token), the client certificate and key, and dropping what is cached after
 * a 401 so the retry fetches new ones. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/cleanup.h"
#include "controller/kube/client-internal.h"
#include "controller/kube/config.h"

/* Re-read the token file when it changed (service-account tokens rotate). */
static int refresh_token_file(struct kube_client *c, struct sk_error *err)
{
	struct stat st;
	char *tok = NULL;
	int r;

	if (stat(c->cfg->token_file, &st) < 0)
		return sk_err(err, -errno, "token file %s: %s", c->cfg->token_file, strerror(errno));
	if (c->token && st.st_ino == c->token_ino && st.st_size == c->token_size &&
	    st.st_mtim.tv_sec == c->token_mtime.tv_sec && st.st_mtim.tv_nsec == c->token_mtime.tv_nsec)
		return 0;
	r = kube_read_token_file(c->cfg->token_file, &tok, err);
	if (r < 0)
		return r;
	free(c->token);
	c->token = tok;
	c->token_ino = st.st_ino;
	c->token_size = st.st_size;
	c->token_mtime = st.st_mtim;
	return 0;
}

/* Run the exec plugin when there is no credential or it expires within 10s. */
static int refresh_exec(struct kube_client *c, struct sk_error *err)
{
	time_t now = time(NULL);
	int r;

	if (c->exec_valid && (c->exec.expiry == 0 || c->exec.expiry - 10 > now))
		return 0;
	kube_exec_result_clear(&c->exec);
	c->exec_valid = false;
	r = kube_exec_run(c->cfg, 30000, &c->exec, err);
	if (r < 0)
		return r;
	c->exec_valid = true;
	return 0;
}

bool kube_client_invalidate_credentials(struct kube_client *c)
{
	if (c->cfg->exec) {
		kube_exec_result_clear(&c->exec);
		c->exec_valid = false;
		return true;
	}
	if (c->cfg->token_file) {
		free(c->token);
		c->token = NULL;
		return true;
	}
	return false;
}

int kube_client_apply_credentials(struct kube_client *c, struct kube_req *q, struct sk_error *err)
{
	const char *bearer = NULL;
	const char *cert = c->cfg->client_cert_pem, *key = c->cfg->client_key_pem;
	size_t cert_len = c->cfg->client_cert_pem_len, key_len = c->cfg->client_key_pem_len;
	int r;

	if (c->cfg->exec) {
		r = refresh_exec(c, err);
		if (r < 0)
			return r;
		if (c->exec.token)
			bearer = c->exec.token;
		if (c->exec.client_cert_pem && c->exec.client_key_pem) {
			cert = c->exec.client_cert_pem;
			cert_len = strlen(cert);
			key = c->exec.client_key_pem;
			key_len = strlen(key);
		}
	}
	if (!bearer && c->cfg->token_file) {
		r = refresh_token_file(c, err);
		if (r < 0)
			return r;
		bearer = c->token;
	}
	if (!bearer)
		bearer = c->cfg->token;
	if (bearer) {
		_cleanup_free_ char *h = NULL;
		if (asprintf(&h, "Authorization: Bearer %s", bearer) < 0)
			return -ENOMEM;
		struct curl_slist *l = curl_slist_append(q->headers, h);
		if (!l)
			return -ENOMEM;
		q->headers = l;
	}
	if (cert && key) {
		struct curl_blob cb = { .data = (void *)(uintptr_t)cert, .len = cert_len, .flags = CURL_BLOB_COPY };
		struct curl_blob kb = { .data = (void *)(uintptr_t)key, .len = key_len, .flags = CURL_BLOB_COPY };
		curl_easy_setopt(q->easy, CURLOPT_SSLCERT_BLOB, &cb);
		curl_easy_setopt(q->easy, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(q->easy, CURLOPT_SSLKEY_BLOB, &kb);
		curl_easy_setopt(q->easy, CURLOPT_SSLKEYTYPE, "PEM");
	}
	return 0;
}
