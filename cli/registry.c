/* The registry client: requests, authentication, uploads, downloads. */
#include "cli/registry.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/sha256.h"
#include "spinkube-version.h"

#define TOKEN_MAX (64 * 1024)
#define URL_MAX 4096

/* One request and what came back. */
struct req {
	const char *step; /* what we were doing, for messages: "HEAD blob sha256:..." */
	const char *method;
	char url[URL_MAX];
	const char *content_type; /* of the body sent, or NULL */
	const char *accept;       /* Accept header, or NULL */
	const char *content_range;
	/* The body sent: size bytes from f at off, or from mem. */
	FILE *in;
	const char *mem;
	int64_t in_off, in_len, in_pos;
	bool has_body;
	/* The body received: into out (hashed, at most out_max bytes) when the
	 * status is 2xx and out is set, else into body (bounded). */
	FILE *out;
	struct sk_sha256 hash;
	int64_t out_max, out_got;
	bool out_over;
	struct sk_buf body;
	/* Headers kept. */
	long status;
	char location[URL_MAX];
	char www_auth[REG_HEADER_MAX];
	char content_type_in[256];
	int64_t content_length;
	bool header_over;
	CURL *curl;
};

static void req_free(struct req *q)
{
	sk_buf_free(&q->body);
	sk_sha256_free(&q->hash);
}

/* Header line "Name: value\r\n" -> value into dst when the name matches. */
static bool header_value(const char *line, size_t n, const char *name, char *dst, size_t size)
{
	size_t k = strlen(name);

	if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
		return false;
	const char *v = line + k + 1, *end = line + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	size_t len = (size_t)(end - v);
	if (len >= size)
		return false; /* too long to keep: the caller treats it as absent or refuses it */
	memcpy(dst, v, len);
	dst[len] = '\0';
	return true;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct req *q = userdata;
	size_t n = size * nmemb;
	char num[32];

	if (n > REG_HEADER_MAX) {
		q->header_over = true;
		return 0; /* aborts the transfer */
	}
	if (n > 5 && strncmp(data, "HTTP/", 5) == 0) {
		/* A new response (after a redirect or 100): forget the last one's. */
		q->location[0] = q->www_auth[0] = q->content_type_in[0] = '\0';
		q->content_length = -1;
		return n;
	}
	if (n > 9 && strncasecmp(data, "Location:", 9) == 0 && n - 9 >= sizeof(q->location)) {
		q->header_over = true;
		return 0;
	}
	if (!header_value(data, n, "Location", q->location, sizeof(q->location)) &&
	    !header_value(data, n, "WWW-Authenticate", q->www_auth, sizeof(q->www_auth)) &&
	    !header_value(data, n, "Content-Type", q->content_type_in, sizeof(q->content_type_in)) &&
	    header_value(data, n, "Content-Length", num, sizeof(num))) {
		char *end;
		errno = 0;
		long long v = strtoll(num, &end, 10);
		q->content_length = errno || *end || v < 0 ? -1 : v;
	}
	return n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct req *q = userdata;
	size_t n = size * nmemb;
	long status = 0;

	curl_easy_getinfo(q->curl, CURLINFO_RESPONSE_CODE, &status);
	if (q->out && status >= 200 && status < 300) {
		if ((int64_t)n > q->out_max - q->out_got) {
			q->out_over = true;
			return 0;
		}
		sk_sha256_update(&q->hash, data, n);
		q->out_got += (int64_t)n;
		return fwrite(data, 1, n, q->out) == n ? n : 0;
	}
	return sk_buf_append(&q->body, data, n) == 0 ? n : 0;
}

static size_t on_read(char *dst, size_t size, size_t nmemb, void *userdata)
{
	struct req *q = userdata;
	size_t want = size * nmemb;
	int64_t left = q->in_len - q->in_pos;

	if ((int64_t)want > left)
		want = (size_t)left;
	if (want == 0)
		return 0;
	if (q->mem) {
		memcpy(dst, q->mem + q->in_off + q->in_pos, want);
	} else {
		if (fseeko(q->in, (off_t)(q->in_off + q->in_pos), SEEK_SET) < 0 || fread(dst, 1, want, q->in) != want)
			return CURL_READFUNC_ABORT;
	}
	q->in_pos += (int64_t)want;
	return want;
}

/* The registry's own words from an error body: errors[0].code and .message. */
static void registry_message(const struct req *q, char *dst, size_t size)
{
	json_object *root, *errs, *e, *v;

	dst[0] = '\0';
	if (!q->body.data || !(root = json_tokener_parse(q->body.data)))
		return;
	if (json_object_object_get_ex(root, "errors", &errs) && json_object_is_type(errs, json_type_array) &&
	    json_object_array_length(errs) > 0 && (e = json_object_array_get_idx(errs, 0))) {
		const char *code = json_object_object_get_ex(e, "code", &v) ? json_object_get_string(v) : NULL;
		const char *msg = json_object_object_get_ex(e, "message", &v) ? json_object_get_string(v) : NULL;
		(void)snprintf(dst, size, ": %.64s%s%.300s", code ? code : "", code && msg ? ": " : "", msg ? msg : "");
	}
	json_object_put(root);
}

static const char *status_fix(long status)
{
	switch (status) {
	case 401:
		return "give credentials: a docker config ($DOCKER_CONFIG or ~/.docker/config.json, docker login) or --username with --password-stdin";
	case 403:
		return "the credentials have no access to this repository; use an account that may push or pull it";
	case 404:
		return "check the reference: the repository or the tag does not exist there";
	case 413:
		return "the registry refuses a blob this large; raise its limit";
	case 429:
		return "the registry limits requests; wait and retry";
	default:
		return status >= 500 ? "the registry failed; retry, or read its log" : "check the registry and the reference";
	}
}

static int http_fail(struct registry *reg, struct req *q, struct sk_error *err)
{
	char msg[400];
	int code = q->status == 401 || q->status == 403 ? -EACCES : q->status == 404 ? -ENOENT : -EPROTO;

	registry_message(q, msg, sizeof(msg));
	int r = sk_err(err, code, "%s: HTTP %ld from %s%s; %s", q->step, q->status, reg->base, msg, status_fix(q->status));
	if (err)
		err->http_status = q->status;
	return r;
}

/* An absolute URL for a Location answer: relative ones resolve against the
 * registry; absolute ones must stay on it (credentials go nowhere else). */
static int resolve_location(struct registry *reg, const char *loc, char *dst, size_t size, const char *step,
                            struct sk_error *err)
{
	size_t bl = strlen(reg->base);
	int n;

	if (loc[0] == '/')
		n = snprintf(dst, size, "%s%s", reg->base, loc);
	else if (strncmp(loc, reg->base, bl) == 0 && loc[bl] == '/')
		n = snprintf(dst, size, "%s", loc);
	else
		return sk_err(err, -EPROTO, "%s: the registry sent the upload to \"%.200s\", not to %s; uploads to another host are not supported",
		              step, loc, reg->base);
	if (n < 0 || (size_t)n >= size)
		return sk_err(err, -E2BIG, "%s: the registry's Location is longer than %zu characters", step, size - 1);
	for (const char *p = dst; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return sk_err(err, -EPROTO, "%s: the registry's Location holds spaces or control characters", step);
	return 0;
}

/* https:// anywhere; http:// only to loopback hosts. */
static bool url_is_plain_ok(const char *url)
{
	char host[OCI_HOST_MAX];
	const char *p;
	size_t n;

	if (strncmp(url, "https://", 8) == 0)
		return true;
	if (strncmp(url, "http://", 7) != 0)
		return false;
	p = url + 7;
	n = strcspn(p, "/?#");
	if (n >= sizeof(host))
		return false;
	memcpy(host, p, n);
	host[n] = '\0';
	return oci_host_is_loopback(host);
}

static void common_options(struct registry *reg, struct req *q, const char *url)
{
	CURL *c = reg->curl;

	curl_easy_reset(c);
	q->curl = c;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "spinkube/" SPINKUBE_VERSION);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#endif
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, q);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, q);
	if (reg->opt.ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, reg->opt.ca_file);
	if (strncmp(url, "http://", 7) == 0 || strstr(url, "://127.") || strstr(url, "://localhost") ||
	    strstr(url, "://[::1]"))
		curl_easy_setopt(c, CURLOPT_NOPROXY, "127.0.0.1,localhost,::1");
}

static int curl_fail(struct registry *reg, struct req *q, CURLcode rc, const char *errbuf, struct sk_error *err)
{
	if (q->header_over)
		return sk_err(err, -E2BIG, "%s: a response header line from %s is longer than %d bytes", q->step, reg->base,
		              REG_HEADER_MAX);
	if (q->out_over)
		return sk_err(err, -EILSEQ, "%s: %s sent more than the %lld bytes the manifest gives", q->step, reg->base,
		              (long long)q->out_max);
	if (rc == CURLE_WRITE_ERROR && q->body.len == q->body.max)
		return sk_err(err, -E2BIG, "%s: the answer from %s is larger than %zu bytes", q->step, reg->base, q->body.max);
	bool tls = rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_SSL_CACERT_BADFILE;
	return sk_err(err, -EIO, "%s: %s: %s; %s", q->step, reg->base, errbuf[0] ? errbuf : curl_easy_strerror(rc),
	              tls ? "give the registry's CA with --ca-file" : "is the registry running and reachable?");
}

/* Fetch a bearer token for the challenge, with the Basic credentials when
 * there are any. */
static int fetch_token(struct registry *reg, const struct auth_challenge *ch, const char *step, struct sk_error *err)
{
	struct req q = { .step = step, .body = sk_buf_make(REG_BODY_MAX), .content_length = -1 };
	char url[URL_MAX], errbuf[CURL_ERROR_SIZE] = "";
	_cleanup_free_ char *service = NULL, *scope = NULL;
	json_object *root = NULL, *tok = NULL;
	int n, r = 0;

	if (!url_is_plain_ok(ch->realm))
		return sk_err(err, -EPROTO, "%s: the token realm \"%.200s\" is not https:// (plain http only on loopback)",
		              step, ch->realm);
	service = curl_easy_escape(reg->curl, ch->service, 0);
	scope = curl_easy_escape(reg->curl, ch->scope, 0);
	if (!service || !scope)
		return sk_err(err, -ENOMEM, "%s: out of memory", step);
	n = snprintf(url, sizeof(url), "%s%cservice=%s%s%s", ch->realm, strchr(ch->realm, '?') ? '&' : '?', service,
	             ch->scope[0] ? "&scope=" : "", scope);
	if (n < 0 || (size_t)n >= sizeof(url))
		return sk_err(err, -E2BIG, "%s: the token URL would be longer than %zu characters", step, sizeof(url) - 1);
	common_options(reg, &q, url);
	curl_easy_setopt(reg->curl, CURLOPT_ERRORBUFFER, errbuf);
	if (reg->cred.username) {
		curl_easy_setopt(reg->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(reg->curl, CURLOPT_USERNAME, reg->cred.username);
		curl_easy_setopt(reg->curl, CURLOPT_PASSWORD, reg->cred.password ? reg->cred.password : "");
	}
	CURLcode rc = curl_easy_perform(reg->curl);
	curl_easy_getinfo(reg->curl, CURLINFO_RESPONSE_CODE, &q.status);
	if (rc != CURLE_OK) {
		r = curl_fail(reg, &q, rc, errbuf, err);
	} else if (q.status != 200) {
		r = sk_err(err, q.status == 401 ? -EACCES : -EPROTO, "%s: the token server %.200s answered HTTP %ld; %s", step,
		           ch->realm, q.status, status_fix(q.status == 403 ? 403 : 401));
	} else if (!q.body.data || !(root = json_tokener_parse(q.body.data)) ||
	           !((json_object_object_get_ex(root, "token", &tok) && json_object_is_type(tok, json_type_string)) ||
	             (json_object_object_get_ex(root, "access_token", &tok) && json_object_is_type(tok, json_type_string)))) {
		r = sk_err(err, -EPROTO, "%s: the token server %.200s answered no \"token\" string", step, ch->realm);
	} else {
		const char *t = json_object_get_string(tok);
		size_t tl = strlen(t);
		if (tl == 0 || tl > TOKEN_MAX ||
		    strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=") != tl)
			r = sk_err(err, -EPROTO, "%s: the token from %.200s is empty, longer than %d or not token68 text", step,
			           ch->realm, TOKEN_MAX);
		else {
			free(reg->token);
			if (!(reg->token = strdup(t)))
				r = sk_err(err, -ENOMEM, "%s: out of memory", step);
		}
	}
	json_object_put(root);
	req_free(&q);
	return r;
}

/* Answer a 401: Basic (when there are credentials) or a bearer token.
 * 0 means "try again". */
static int answer_challenge(struct registry *reg, struct req *q, struct sk_error *err)
{
	struct auth_challenge *ch = calloc(1, sizeof(*ch));
	int r;

	if (!ch)
		return sk_err(err, -ENOMEM, "%s: out of memory", q->step);
	if (!q->www_auth[0] || auth_challenge_parse(q->www_auth, ch) < 0 || ch->scheme == AUTH_NONE) {
		free(ch);
		return http_fail(reg, q, err);
	}
	if (ch->scheme == AUTH_BASIC) {
		r = reg->cred.username && !reg->basic ? 0 : http_fail(reg, q, err);
		reg->basic = true;
	} else {
		r = fetch_token(reg, ch, q->step, err);
	}
	free(ch);
	return r;
}

/* Run q, answering one authentication challenge. 0 for any HTTP status
 * (the caller judges it), or a transport error. */
static int perform(struct registry *reg, struct req *q, struct sk_error *err)
{
	for (int attempt = 0;; attempt++) {
		char errbuf[CURL_ERROR_SIZE] = "", auth[TOKEN_MAX + 32];
		struct curl_slist *h = NULL, *t;
		char line[300];
		bool oom = false;

		common_options(reg, q, q->url);
		CURL *c = reg->curl;
		curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
		sk_buf_reset(&q->body);
		q->status = 0, q->in_pos = 0, q->out_got = 0, q->content_length = -1;
		q->location[0] = q->www_auth[0] = q->content_type_in[0] = '\0';
		if (q->out) {
			sk_sha256_free(&q->hash);
			if (sk_sha256_init(&q->hash) < 0)
				return sk_err(err, -ENOMEM, "%s: out of memory", q->step);
			if (fseeko(q->out, 0, SEEK_SET) < 0 || ftruncate(fileno(q->out), 0) < 0)
				return sk_err(err, -errno, "%s: cannot rewrite the download file: %s", q->step, strerror(errno));
		}
		if (strcmp(q->method, "HEAD") == 0) {
			curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
		} else if (strcmp(q->method, "GET") == 0) {
			curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
			curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
		} else if (q->has_body) {
			curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
			curl_easy_setopt(c, CURLOPT_READDATA, q);
			curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->in_len);
			if (strcmp(q->method, "PUT") != 0)
				curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
		} else {
			curl_easy_setopt(c, CURLOPT_POST, 1L);
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
			if (strcmp(q->method, "POST") != 0)
				curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
		}
		/* Headers: no 100-continue round trip; the bearer token or Basic. */
		oom |= !(t = curl_slist_append(h, "Expect:")) || !(h = t);
		if (q->content_type) {
			(void)snprintf(line, sizeof(line), "Content-Type: %s", q->content_type);
			oom |= !(t = curl_slist_append(h, line)) || !(h = t);
		}
		if (q->content_range) {
			(void)snprintf(line, sizeof(line), "Content-Range: %s", q->content_range);
			oom |= !(t = curl_slist_append(h, line)) || !(h = t);
		}
		if (q->accept) {
			(void)snprintf(line, sizeof(line), "Accept: %s", q->accept);
			oom |= !(t = curl_slist_append(h, line)) || !(h = t);
		}
		if (reg->token) {
			(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s", reg->token);
			oom |= !(t = curl_slist_append(h, auth)) || !(h = t);
		} else if (reg->basic && reg->cred.username) {
			curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
			curl_easy_setopt(c, CURLOPT_USERNAME, reg->cred.username);
			curl_easy_setopt(c, CURLOPT_PASSWORD, reg->cred.password ? reg->cred.password : "");
		}
		if (oom) {
			curl_slist_free_all(h);
			return sk_err(err, -ENOMEM, "%s: out of memory", q->step);
		}
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		CURLcode rc = curl_easy_perform(c);
		curl_slist_free_all(h);
		explicit_bzero(auth, sizeof(auth));
		if (rc != CURLE_OK)
			return curl_fail(reg, q, rc, errbuf, err);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &q->status);
		if (q->status != 401 || attempt > 0)
			return 0;
		int r = answer_challenge(reg, q, err);
		if (r < 0)
			return r;
	}
}

static int set_url(struct registry *reg, struct req *q, struct sk_error *err, const char *fmt, const char *a)
{
	int n = snprintf(q->url, sizeof(q->url), "%s/v2/%s/%s%s", reg->base, reg->repo, fmt, a);

	if (n < 0 || (size_t)n >= sizeof(q->url))
		return sk_err(err, -E2BIG, "%s: the URL would be longer than %zu characters", q->step, sizeof(q->url) - 1);
	return 0;
}

int reg_open(struct registry *reg, const struct oci_ref *ref, const struct reg_options *opt,
             struct auth_cred *cred, struct sk_error *err)
{
	bool loop = oci_host_is_loopback(ref->api_host);
	bool https = opt->tls || !loop;

	*reg = (struct registry){ .opt = *opt };
	if (!https && !loop)
		return sk_err(err, -EPERM, "registry %s: plain HTTP is only for loopback hosts", ref->api_host);
	(void)snprintf(reg->base, sizeof(reg->base), "%s://%s", https ? "https" : "http", ref->api_host);
	memcpy(reg->repo, ref->repo, sizeof(reg->repo));
	if (!(reg->curl = curl_easy_init()))
		return sk_err(err, -ENOMEM, "registry %s: cannot start libcurl", ref->api_host);
	reg->cred = *cred;
	*cred = (struct auth_cred){ 0 };
	return 0;
}

void reg_close(struct registry *reg)
{
	if (reg->curl)
		curl_easy_cleanup(reg->curl);
	auth_cred_clear(&reg->cred);
	if (reg->token) {
		explicit_bzero(reg->token, strlen(reg->token));
		free(reg->token);
	}
	*reg = (struct registry){ 0 };
}

int reg_blob_exists(struct registry *reg, const char *digest, int64_t *size, struct sk_error *err)
{
	char step[128];
	struct req q = { .step = step, .method = "HEAD", .body = sk_buf_make(REG_BODY_MAX) };
	int r;

	(void)snprintf(step, sizeof(step), "check blob %.80s (HEAD)", digest);
	if ((r = set_url(reg, &q, err, "blobs/", digest)) < 0 || (r = perform(reg, &q, err)) < 0)
		goto out;
	if (q.status == 200) {
		if (size)
			*size = q.content_length;
		r = 1;
	} else if (q.status == 404) {
		r = 0;
	} else {
		r = http_fail(reg, &q, err);
	}
out:
	req_free(&q);
	return r;
}

/* PUT (the last chunk or the whole blob) with ?digest=, expecting 201. */
static int upload_finish(struct registry *reg, struct req *q, const char *location, const char *digest,
                         struct sk_error *err)
{
	int n = snprintf(q->url, sizeof(q->url), "%s%cdigest=%s", location, strchr(location, '?') ? '&' : '?', digest);
	int r;

	if (n < 0 || (size_t)n >= sizeof(q->url))
		return sk_err(err, -E2BIG, "%s: the upload URL is too long", q->step);
	q->method = "PUT";
	q->content_type = "application/octet-stream";
	q->content_range = NULL;
	if ((r = perform(reg, q, err)) < 0)
		return r;
	reg->puts++;
	return q->status == 201 ? 0 : http_fail(reg, q, err);
}

int reg_blob_upload(struct registry *reg, const char *digest, FILE *f, const void *mem, int64_t size,
                    struct sk_error *err)
{
	char step[128], location[URL_MAX], range[64];
	struct req q = { .step = step, .method = "POST", .body = sk_buf_make(REG_BODY_MAX), .in = f, .mem = mem };
	int r;

	(void)snprintf(step, sizeof(step), "upload blob %.80s (POST)", digest);
	if ((r = set_url(reg, &q, err, "blobs/uploads/", "")) < 0 || (r = perform(reg, &q, err)) < 0)
		goto out;
	reg->posts++;
	if (q.status != 202) {
		r = http_fail(reg, &q, err);
		goto out;
	}
	if (!q.location[0]) {
		r = sk_err(err, -EPROTO, "%s: the registry answered 202 without a Location", step);
		goto out;
	}
	if ((r = resolve_location(reg, q.location, location, sizeof(location), step, err)) < 0)
		goto out;
	q.has_body = true;
	if (reg->opt.chunk_size == 0 || size <= (int64_t)reg->opt.chunk_size) {
		(void)snprintf(step, sizeof(step), "upload blob %.80s (PUT)", digest);
		q.in_off = 0, q.in_len = size;
		r = upload_finish(reg, &q, location, digest, err);
		goto out;
	}
	for (int64_t off = 0; off < size; off += (int64_t)reg->opt.chunk_size) {
		int64_t len = size - off < (int64_t)reg->opt.chunk_size ? size - off : (int64_t)reg->opt.chunk_size;
		(void)snprintf(step, sizeof(step), "upload blob %.80s (PATCH at %lld)", digest, (long long)off);
		(void)snprintf(range, sizeof(range), "%lld-%lld", (long long)off, (long long)(off + len - 1));
		(void)snprintf(q.url, sizeof(q.url), "%s", location);
		q.method = "PATCH", q.content_type = "application/octet-stream", q.content_range = range;
		q.in_off = off, q.in_len = len;
		if ((r = perform(reg, &q, err)) < 0)
			goto out;
		reg->patches++;
		if (q.status != 202) {
			r = http_fail(reg, &q, err);
			goto out;
		}
		if (q.location[0] && (r = resolve_location(reg, q.location, location, sizeof(location), step, err)) < 0)
			goto out;
	}
	(void)snprintf(step, sizeof(step), "upload blob %.80s (PUT)", digest);
	q.has_body = true, q.in_off = 0, q.in_len = 0;
	r = upload_finish(reg, &q, location, digest, err);
out:
	req_free(&q);
	return r;
}

int reg_blob_get(struct registry *reg, const char *digest, int64_t size, FILE *f, struct sk_error *err)
{
	char step[128], hex[65];
	uint8_t md[32];
	struct req q = { .step = step, .method = "GET", .body = sk_buf_make(REG_BODY_MAX), .out = f, .out_max = size };
	int r;

	(void)snprintf(step, sizeof(step), "download blob %.80s", digest);
	if ((r = set_url(reg, &q, err, "blobs/", digest)) < 0 || (r = perform(reg, &q, err)) < 0)
		goto out;
	if (q.status != 200) {
		r = http_fail(reg, &q, err);
		goto out;
	}
	if (sk_sha256_final(&q.hash, md) < 0) {
		r = sk_err(err, -EIO, "%s: the SHA-256 digest failed", step);
		goto out;
	}
	sk_sha256_to_hex(md, hex);
	if (q.out_got != size)
		r = sk_err(err, -EILSEQ, "%s: got %lld bytes, the manifest says %lld; the registry's copy is damaged", step,
		           (long long)q.out_got, (long long)size);
	else if (strcmp(hex, digest + 7) != 0)
		r = sk_err(err, -EILSEQ, "%s: the content hashes to sha256:%s; the registry's copy is damaged, push the app again",
		           step, hex);
	else if (fflush(f) != 0)
		r = sk_err(err, -EIO, "%s: cannot write the file: %s", step, strerror(errno));
out:
	req_free(&q);
	return r;
}

int reg_manifest_put(struct registry *reg, const char *target, const char *media_type, const char *body,
                     size_t len, struct sk_error *err)
{
	char step[192];
	struct req q = { .step = step, .method = "PUT", .body = sk_buf_make(REG_BODY_MAX), .mem = body,
		         .in_len = (int64_t)len, .has_body = true, .content_type = media_type };
	int r;

	(void)snprintf(step, sizeof(step), "put manifest %.130s", target);
	if ((r = set_url(reg, &q, err, "manifests/", target)) < 0 || (r = perform(reg, &q, err)) < 0)
		goto out;
	r = q.status == 201 || q.status == 200 ? 0 : http_fail(reg, &q, err);
out:
	req_free(&q);
	return r;
}

int reg_manifest_get(struct registry *reg, const char *target, struct sk_buf *out, char *media_type, size_t size,
                     struct sk_error *err)
{
	char step[192];
	struct req q = { .step = step, .method = "GET", .body = sk_buf_make(REG_MANIFEST_MAX),
		         .accept = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json" };
	int r;

	(void)snprintf(step, sizeof(step), "get manifest %.130s", target);
	if ((r = set_url(reg, &q, err, "manifests/", target)) < 0 || (r = perform(reg, &q, err)) < 0)
		goto out;
	if (q.status != 200) {
		r = http_fail(reg, &q, err);
		goto out;
	}
	(void)snprintf(media_type, size, "%s", q.content_type_in);
	*out = q.body;
	q.body = sk_buf_make(0);
out:
	req_free(&q);
	return r;
}
