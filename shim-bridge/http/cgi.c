/* WAGI's CGI rules; see cgi.h. Everything here is pure: strings in,
 * owned strings out. */
#include "shim-bridge/http/cgi.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "shim-bridge/http/server.h"
#include "common/hex.h"
#include "common/http-field.h"

#define ENV_MAX_VARS 4096

void cgi_strv_free(struct cgi_strv *s)
{
	if (!s->v)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

/* Append an owned string (taken even on failure). */
static int strv_push(struct cgi_strv *s, char *str)
{
	if (!str)
		return -ENOMEM;
	char **v = realloc(s->v, (s->n + 2) * sizeof(*v));
	if (!v) {
		free(str);
		return -ENOMEM;
	}
	s->v = v;
	s->v[s->n++] = str;
	s->v[s->n] = NULL;
	return 0;
}

/* Index of the variable name in env, or -1. */
static long env_find(const struct cgi_strv *env, const char *name, size_t nlen)
{
	for (size_t i = 0; i < env->n; i++)
		if (strncmp(env->v[i], name, nlen) == 0 && env->v[i][nlen] == '=')
			return (long)i;
	return -1;
}

const char *cgi_strv_get(const struct cgi_strv *env, const char *name)
{
	size_t n = strlen(name);
	long i = env_find(env, name, n);

	return i < 0 ? NULL : env->v[i] + n + 1;
}

/* Set NAME=value (value of vlen bytes), replacing an earlier NAME. */
static int env_set_n(struct cgi_strv *env, const char *name, const char *value, size_t vlen)
{
	size_t nlen = strlen(name);
	char *s = malloc(nlen + vlen + 2);

	if (!s)
		return -ENOMEM;
	memcpy(s, name, nlen);
	s[nlen] = '=';
	memcpy(s + nlen + 1, value, vlen);
	s[nlen + 1 + vlen] = '\0';
	long i = env_find(env, name, nlen);
	if (i >= 0) {
		free(env->v[i]);
		env->v[i] = s;
		return 0;
	}
	if (env->n >= ENV_MAX_VARS) {
		free(s);
		return -E2BIG;
	}
	return strv_push(env, s);
}

static int env_set(struct cgi_strv *env, const char *name, const char *value)
{
	value = value ? value : "";
	return env_set_n(env, name, value, strlen(value));
}

__attribute__((format(printf, 3, 4))) static int env_setf(struct cgi_strv *env, const char *name,
							  const char *fmt, ...)
{
	_cleanup_free_ char *v = NULL;
	va_list ap;

	va_start(ap, fmt);
	int n = vasprintf(&v, fmt, ap);
	va_end(ap);
	if (n < 0) {
		v = NULL;
		return -ENOMEM;
	}
	return env_set_n(env, name, v, (size_t)n);
}

/* Percent-decode s into a new string. "%00" and malformed escapes stay as
 * they are (an environment string cannot hold NUL). */
static char *percent_decode(const char *s)
{
	size_t n = strlen(s), j = 0;
	char *d = malloc(n + 1);

	if (!d)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		int hi = s[i] == '%' && i + 2 < n ? sk_hexval(s[i + 1]) : -1;
		int lo = hi >= 0 ? sk_hexval(s[i + 2]) : -1;
		if (lo >= 0 && (hi | lo)) {
			d[j++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			d[j++] = s[i];
		}
	}
	d[j] = '\0';
	return d;
}

/* SERVER_NAME and SERVER_PORT from the Host field ("host", "host:port",
 * "[v6]:port"), else the defaults. */
static int set_server_name_port(struct cgi_strv *env, const struct cgi_request *req, const char *host)
{
	const char *name = req->default_host ? req->default_host : "localhost";
	const char *port = req->default_port ? req->default_port : "80";
	size_t nlen = strlen(name);

	if (host && *host) {
		const char *colon = host[0] == '[' ? strstr(host, "]:") : strchr(host, ':');
		if (colon && host[0] == '[')
			colon++;
		nlen = colon ? (size_t)(colon - host) : strlen(host);
		name = host;
		if (colon && colon[1])
			port = colon + 1;
	}
	int r = env_set_n(env, "SERVER_NAME", name, nlen);
	return r ? r : env_set(env, "SERVER_PORT", port);
}

/* HTTP_<NAME> for one header; a repeated name is joined with ", ". */
static int set_http_header(struct cgi_strv *env, const struct http_header *h)
{
	char name[5 + 256];

	if (h->name_len > 255)
		return 0; /* no client sends such names; not worth an env var */
	memcpy(name, "HTTP_", 5);
	for (size_t i = 0; i < h->name_len; i++)
		name[5 + i] = h->name[i] == '-' ? '_' : (char)toupper((unsigned char)h->name[i]);
	name[5 + h->name_len] = '\0';
	if (strcmp(name, "HTTP_AUTHORIZATION") == 0 || strcmp(name, "HTTP_CONNECTION") == 0)
		return 0;
	const char *old = cgi_strv_get(env, name);
	if (old)
		return env_setf(env, name, "%s, %s", old, h->value);
	return env_set_n(env, name, h->value, h->value_len);
}

struct env_pair {
	const char *name;
	const char *value;
};

static int env_set_all(struct cgi_strv *env, const struct env_pair *pairs, size_t n)
{
	int r = 0;

	for (size_t i = 0; !r && i < n; i++)
		r = env_set(env, pairs[i].name, pairs[i].value);
	return r;
}

/* The CGI/1.1 variables WAGI sets. */
static int set_cgi_vars(struct cgi_strv *env, const struct cgi_request *req, const struct cgi_route *rt)
{
	const struct http_header *ct = http_header_find(req->headers, req->n_headers, "content-type");
	const struct http_header *host = http_header_find(req->headers, req->n_headers, "host");
	_cleanup_free_ char *decoded = percent_decode(rt->path_info ? rt->path_info : "");
	char length[32];

	if (!decoded)
		return -ENOMEM;
	snprintf(length, sizeof(length), "%zu", req->body_len);
	const struct env_pair pairs[] = {
		{ "AUTH_TYPE", "" },
		{ "CONTENT_LENGTH", length },
		{ "CONTENT_TYPE", ct ? ct->value : "" },
		{ "GATEWAY_INTERFACE", "CGI/1.1" },
		{ "QUERY_STRING", req->query },
		{ "REMOTE_ADDR", req->client_ip },
		{ "REMOTE_HOST", req->client_ip },
		{ "REMOTE_USER", "" },
		{ "REQUEST_METHOD", req->method },
		{ "SCRIPT_NAME", rt->script_name },
		{ "PATH_INFO", rt->path_info },
		{ "X_RAW_PATH_INFO", rt->path_info },
		{ "PATH_TRANSLATED", decoded },
		{ "SERVER_PROTOCOL", req->version_minor ? "HTTP/1.1" : "HTTP/1.0" },
		{ "SERVER_SOFTWARE", "WAGI/1" },
	};
	int r = env_set_all(env, pairs, sizeof(pairs) / sizeof(pairs[0]));
	return r ? r : set_server_name_port(env, req, host ? host->value : NULL);
}

/* The X_* variables Spin adds (the WAGI names of its spin-* headers). */
static int set_spin_vars(struct cgi_strv *env, const struct cgi_request *req, const struct cgi_route *rt)
{
	const struct http_header *host = http_header_find(req->headers, req->n_headers, "host");
	int r = env_setf(env, "X_FULL_URL", "http://%s%s%s%s", host ? host->value : "localhost", req->path,
			 req->has_query ? "?" : "", req->has_query ? req->query : "");
	const struct env_pair pairs[] = {
		{ "X_MATCHED_ROUTE", rt->matched_route },
		{ "X_BASE_PATH", rt->base_path ? rt->base_path : "/" },
		{ "X_CLIENT_ADDR", req->client_addr },
	};

	if (!r)
		r = env_set_all(env, pairs, sizeof(pairs) / sizeof(pairs[0]));
	if (!r && rt->raw_component_route)
		r = env_set(env, "X_RAW_COMPONENT_ROUTE", rt->raw_component_route);
	if (!r && rt->component_route)
		r = env_set(env, "X_COMPONENT_ROUTE", rt->component_route);
	for (size_t i = 0; !r && i < rt->n_matches; i++) {
		char name[160];
		int n = snprintf(name, sizeof(name), "X_PATH_MATCH_%s", rt->matches[i].name);
		if (n < 0 || (size_t)n >= sizeof(name))
			continue;
		for (char *p = name; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		r = env_set(env, name, rt->matches[i].value);
	}
	return r;
}

int cgi_build_env(const struct cgi_request *req, const struct cgi_route *route, struct cgi_strv *env,
		  struct sk_error *err)
{
	struct cgi_strv e = { 0 };
	int r = set_cgi_vars(&e, req, route);

	for (size_t i = 0; !r && i < req->n_headers; i++)
		r = set_http_header(&e, &req->headers[i]);
	if (!r)
		r = set_spin_vars(&e, req, route);
	if (r < 0) {
		cgi_strv_free(&e);
		return sk_err(err, r, "WAGI environment for %s %s: %s", req->method, req->path,
			      r == -E2BIG ? "too many variables" : "out of memory");
	}
	*env = e;
	return 0;
}

/* Append s to b with every `from` replaced by `to`. */
static int append_replaced(struct sk_buf *b, const char *s, const char *from, const char *to)
{
	size_t flen = strlen(from), tlen = strlen(to);
	const char *hit;
	int r = 0;

	while (!r && (hit = strstr(s, from))) {
		r = sk_buf_append(b, s, (size_t)(hit - s));
		if (!r)
			r = sk_buf_append(b, to, tlen);
		s = hit + flen;
	}
	return r ? r : sk_buf_append(b, s, strlen(s));
}

/* Split s on single spaces into argv, keeping empty parts. */
static int split_spaces(const char *s, struct cgi_strv *argv)
{
	for (;;) {
		const char *sp = strchr(s, ' ');
		size_t n = sp ? (size_t)(sp - s) : strlen(s);
		int r = strv_push(argv, strndup(s, n));
		if (r < 0)
			return r;
		if (!sp)
			return 0;
		s = sp + 1;
	}
}

int cgi_build_argv(const char *tmpl, const char *path, const char *query, size_t max_len, struct cgi_strv *argv,
		   struct sk_error *err)
{
	struct sk_buf step = sk_buf_make(max_len), out = sk_buf_make(max_len), args = sk_buf_make(max_len);
	struct cgi_strv a = { 0 };
	int r;

	r = append_replaced(&args, query ? query : "", "&", " ");
	if (!r)
		r = append_replaced(&step, tmpl ? tmpl : CGI_DEFAULT_ARGV, "${SCRIPT_NAME}", path);
	if (!r)
		r = append_replaced(&out, step.data ? step.data : "", "${ARGS}", args.data ? args.data : "");
	if (!r)
		r = split_spaces(out.data ? out.data : "", &a);
	sk_buf_free(&step);
	sk_buf_free(&out);
	sk_buf_free(&args);
	if (r < 0) {
		cgi_strv_free(&a);
		return sk_err(err, r, "WAGI argv for %s: %s", path,
			      r == -E2BIG ? "longer than the argv cap; shorten the query string" : "out of memory");
	}
	*argv = a;
	return 0;
}

void cgi_response_free(struct cgi_response *resp)
{
	free(resp->headers);
	free(resp->storage_);
	resp->headers = NULL;
	resp->storage_ = NULL;
	resp->n_headers = 0;
}

/* Find the end of the header section: the first LF that ends an empty line
 * (CRs ignored, as Spin does). Returns the offset just past it, or 0. */
static size_t find_head_end(const char *out, size_t len)
{
	bool line_empty = true;

	for (size_t i = 0; i < len; i++) {
		if (out[i] == '\r')
			continue;
		if (out[i] == '\n') {
			if (line_empty)
				return i + 1;
			line_empty = true;
		} else {
			line_empty = false;
		}
	}
	return 0;
}

/* "NNN reason" -> NNN, or 502 when it is not a status code (as Spin). */
static int parse_status(const char *v)
{
	if (strlen(v) >= 3 && isdigit((unsigned char)v[0]) && isdigit((unsigned char)v[1]) &&
	    isdigit((unsigned char)v[2]) && (v[3] == '\0' || v[3] == ' ')) {
		int s = (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
		if (s >= 100 && s <= 599)
			return s;
	}
	return 502;
}

/* Parse one header line (NUL-terminated, no CR/LF) into resp. Returns 0,
 * or -EBADMSG / -E2BIG; *seen collects Content-Type (1), Location (2),
 * Status (4). */
static int parse_cgi_line(char *line, struct cgi_response *resp, unsigned *seen, struct sk_error *err)
{
	char *colon = strchr(line, ':');
	char *end, *v;

	if (!colon)
		return 0; /* Spin: "corrupt header", skipped */
	end = colon;
	while (end > line && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	while (*line == ' ' || *line == '\t')
		line++;
	if (!sk_http_token(line, (size_t)(end - line)))
		return 0; /* Spin: invalid header name, ignored */
	*end = '\0';
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	size_t vl = strlen(v);
	while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		v[--vl] = '\0';
	if (!sk_http_value_strict(v, vl))
		return sk_err(err, -EBADMSG, "WAGI output: header \"%s\" holds a control character", line);
	if (strcasecmp(line, "status") == 0) {
		*seen |= 4;
		resp->status = parse_status(v);
		return 0;
	}
	if (strcasecmp(line, "content-type") == 0)
		*seen |= 1;
	else if (strcasecmp(line, "location") == 0)
		*seen |= 2;
	if (resp->n_headers >= CGI_MAX_HEADERS)
		return sk_err(err, -E2BIG, "WAGI output: more than %u header lines", CGI_MAX_HEADERS);
	resp->headers[resp->n_headers++] = (struct http_header){ line, v, (size_t)(end - line), vl };
	return 0;
}

/* Copy the header section without CRs and parse it line by line. */
static int parse_cgi_head(const char *out, size_t hlen, struct cgi_response *r, unsigned *seen,
			  struct sk_error *err)
{
	size_t j = 0;
	char *s = malloc(hlen + 1);

	r->storage_ = s;
	r->headers = calloc(CGI_MAX_HEADERS, sizeof(*r->headers));
	if (!s || !r->headers)
		return sk_err(err, -ENOMEM, "WAGI output: out of memory");
	for (size_t i = 0; i < hlen; i++)
		if (out[i] != '\r')
			s[j++] = out[i];
	s[j] = '\0';
	for (char *line = s; *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (*line) {
			int e = parse_cgi_line(line, r, seen, err);
			if (e < 0)
				return e;
		}
		if (!nl)
			break;
		line = nl + 1;
	}
	return 0;
}

int cgi_parse_output(const char *out, size_t len, struct cgi_response *resp, struct sk_error *err)
{
	struct cgi_response r = { .status = 200 };
	size_t scan = len < CGI_MAX_HEAD ? len : CGI_MAX_HEAD;
	size_t hend = find_head_end(out, scan);
	unsigned seen = 0;
	int e;

	if (len == 0)
		return sk_err(err, -EBADMSG, "WAGI output is empty: the module wrote nothing to stdout "
					     "(is it a WAGI module? check the executor in spin.toml)");
	if (hend == 0)
		return len > CGI_MAX_HEAD
			       ? sk_err(err, -E2BIG, "WAGI output: no blank line within the first %u bytes",
					CGI_MAX_HEAD)
			       : sk_err(err, -EBADMSG, "WAGI output: no blank line after the CGI headers; "
						       "print \"Content-Type: ...\" and an empty line first");
	e = parse_cgi_head(out, hend, &r, &seen, err);
	if (e == 0 && !seen)
		e = sk_err(err, -EBADMSG, "WAGI output has none of Content-Type, Location or Status "
					  "in its headers");
	if (e < 0) {
		cgi_response_free(&r);
		return e;
	}
	if ((seen & 2) && !(seen & 4))
		r.status = 302;
	if (r.n_headers == 0) {
		free(r.headers);
		r.headers = NULL;
	}
	r.body = out + hend;
	r.body_len = len - hend;
	*resp = r;
	return 0;
}

/* Fill a cgi_request from a server request (all borrowed from req). */
void cgi_request_from_http(struct cgi_request *out, const struct http_request *req)
{
	size_t blen;

	(void)http_request_body(req, &blen);
	*out = (struct cgi_request){
		.method = req->method, .path = req->path, .query = req->query,
		.has_query = strchr(req->target, '?') != NULL, .version_minor = req->version_minor,
		.headers = req->headers, .n_headers = req->n_headers, .body_len = blen,
		.client_addr = req->client_addr, .client_ip = req->client_ip,
	};
}
