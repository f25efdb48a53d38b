/* Outbound HTTP for guests: the request side (see outbound.h). A guest's
 * request is checked here before anything leaves the host: the method, the
 * authority and path built into one URL, the headers, and the allow-list.
 * The URL is parsed once, by curl's URL API, and the host and port curl will
 * connect to are checked against the allow-list as well as the authority the
 * guest gave, so no difference between two parsers can let a request
 * through. outbound-transfer.c then runs it. */
#include "shim-bridge/wasi/outbound.h"
#include "shim-bridge/telemetry/telemetry.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/http-field.h"
#include "shim-bridge/wasi/outbound-internal.h"

/* --- errors and responses ---------------------------------------------------- */

const char *wh_out_error_case(enum wh_out_error e)
{
	switch (e) {
	case WH_OUT_DENIED:
		return "HTTP-request-denied";
	case WH_OUT_DNS:
		return "DNS-error";
	case WH_OUT_REFUSED:
		return "connection-refused";
	case WH_OUT_CONNECT_TIMEOUT:
		return "connection-timeout";
	case WH_OUT_TIMEOUT:
		return "connection-read-timeout";
	case WH_OUT_TLS:
		return "TLS-certificate-error";
	case WH_OUT_TLS_PROTOCOL:
		return "TLS-protocol-error";
	case WH_OUT_BODY_TOO_LARGE:
		return "HTTP-response-body-size";
	case WH_OUT_PROTOCOL:
		return "HTTP-protocol-error";
	case WH_OUT_URI:
		return "HTTP-request-URI-invalid";
	case WH_OUT_OK:
	case WH_OUT_INTERNAL:
		break;
	}
	return "internal-error";
}

void wh_out_headers_free(struct wh_out_header *h, size_t n)
{
	for (size_t i = 0; h && i < n; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
}

void wh_out_response_free(struct wh_out_response *r)
{
	if (!r)
		return;
	wh_out_headers_free(r->headers, r->n_headers);
	free(r->body);
	*r = (struct wh_out_response){0};
}

/* --- the request --------------------------------------------------------------- */

bool wh_out_has_body(const struct wh_out_request *rq)
{
	if (strcmp(rq->method, "HEAD") == 0)
		return false;
	return rq->body_len > 0 || strcmp(rq->method, "POST") == 0 || strcmp(rq->method, "PUT") == 0 ||
	       strcmp(rq->method, "PATCH") == 0;
}

/* The header list curl sends: the guest's, checked, without those curl
 * owns; no "Expect: 100-continue" wait, and no Content-Type that the guest
 * did not set (curl would add a form type to bodies). */
/* trace: the client span whose context goes on as `traceparent` (W3C Trace
 * Context), unless the guest sent one itself; NULL or not valid: none. */
static enum wh_out_error build_headers(const struct wh_out_request *rq, const struct tel_ctx *trace,
                                       struct curl_slist **out, struct sk_error *err)
{
	_cleanup_(curl_slist_free_allp) struct curl_slist *list = NULL;
	struct curl_slist *l;
	size_t bytes = 0;
	bool content_type = false;

	if (rq->n_headers > WH_OUT_HEADERS_MAX)
		return out_fail(WH_OUT_INTERNAL, err, "the request has %zu headers, more than %d",
		                rq->n_headers, WH_OUT_HEADERS_MAX);
	for (size_t i = 0; i < rq->n_headers; i++) {
		const struct wh_out_header *h = &rq->headers[i];
		_cleanup_free_ char *line = NULL;
		size_t nl = h->name ? strlen(h->name) : 0, vl = h->value ? h->value_len : 0;

		if (!sk_http_token(h->name, nl))
			return out_fail(WH_OUT_INTERNAL, err, "request header %zu: the name is not a token",
			                i + 1);
		if (vl && !sk_http_value_ok(h->value, vl))
			return out_fail(WH_OUT_INTERNAL, err,
			                "request header %.64s: the value holds CR, LF or NUL", h->name);
		bytes += nl + vl + 4;
		if (bytes > WH_OUT_HEADER_BYTES_MAX)
			return out_fail(WH_OUT_INTERNAL, err, "the request headers are larger than %d bytes",
			                WH_OUT_HEADER_BYTES_MAX);
		if (sk_http_owned(h->name, strlen(h->name)))
			continue;
		if (strcasecmp(h->name, "content-type") == 0)
			content_type = true;
		if (strcasecmp(h->name, "traceparent") == 0)
			trace = NULL;
		/* "Name;" is curl's way to send a header with an empty value */
		if (asprintf(&line, vl ? "%s: %.*s" : "%s;", h->name, (int)vl, vl ? h->value : "") < 0) {
			line = NULL; /* undefined after a failure */
			return out_fail(WH_OUT_INTERNAL, err, "out of memory");
		}
		if (!(l = curl_slist_append(list, line)))
			return out_fail(WH_OUT_INTERNAL, err, "out of memory");
		list = l;
	}
	if (tel_ctx_valid(trace)) {
		char tp[sizeof("traceparent: ") + TEL_TRACEPARENT_LEN];
		memcpy(tp, "traceparent: ", 13);
		tel_traceparent_format(trace, tp + 13);
		if (!(l = curl_slist_append(list, tp)))
			return out_fail(WH_OUT_INTERNAL, err, "out of memory");
		list = l;
	}
	if (!(l = curl_slist_append(list, "Expect:")))
		return out_fail(WH_OUT_INTERNAL, err, "out of memory");
	list = l;
	if (!content_type && wh_out_has_body(rq)) {
		if (!(l = curl_slist_append(list, "Content-Type:")))
			return out_fail(WH_OUT_INTERNAL, err, "out of memory");
		list = l;
	}
	*out = TAKE_PTR(list);
	return WH_OUT_OK;
}

/* Characters a path may not carry raw; percent-encoded, as URL parsers do. */
static bool encode_in_path(unsigned char c)
{
	return c == ' ' || c >= 0x80 || (c && strchr("\"<>\\^`{|}", c));
}

/* url = scheme://authority + path_query, the path percent-encoded where
 * needed and cut at a fragment. The authority is checked strictly and
 * split into host and port. */
static enum wh_out_error build_url(const struct wh_out_request *rq, const char *scheme, char *url,
                                   size_t size, char *host, size_t host_size, unsigned *port,
                                   struct sk_error *err)
{
	const char *pq = rq->path_query && rq->path_query[0] ? rq->path_query : "/";
	size_t n;
	int w;

	if (strchr(rq->authority, '@'))
		return out_fail(WH_OUT_URI, err,
		                "credentials in the URL are not supported; send an Authorization header");
	if (wh_authority_split(scheme, rq->authority, host, host_size, port) < 0)
		return out_fail(WH_OUT_URI, err,
		                "the authority is not host[:port] (a name, an IPv4 address or [IPv6], port 1-65535)");
	if (pq[0] != '/' && pq[0] != '?')
		return out_fail(WH_OUT_URI, err, "the path does not start with '/'");
	w = snprintf(url, size, "%s://%s%s", scheme, rq->authority, pq[0] == '?' ? "/" : "");
	if (w < 0 || (size_t)w >= size)
		return out_fail(WH_OUT_URI, err, "the URL is longer than %zu bytes", size - 1);
	n = (size_t)w;
	for (const unsigned char *c = (const unsigned char *)pq; *c && *c != '#'; c++) {
		if (*c < 0x20 || *c == 0x7f)
			return out_fail(WH_OUT_URI, err, "the path holds a control character");
		if (n + 4 > size)
			return out_fail(WH_OUT_URI, err, "the URL is longer than %zu bytes", size - 1);
		if (encode_in_path(*c)) {
			snprintf(url + n, 4, "%%%02X", *c);
			n += 3;
		} else {
			url[n++] = (char)*c;
		}
	}
	url[n] = '\0';
	return WH_OUT_OK;
}

/* "METHOD scheme://authority" for messages, with bytes that are not
 * printable ASCII shown as '?'. */
static void describe(char *out, size_t size, const char *method, const char *scheme, const char *authority)
{
	snprintf(out, size, "%.64s %s://%.200s", method, scheme, authority);
	for (char *c = out; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
}

bool wh_outbound_allowed(const struct wh_component_env *env, const char *scheme, const char *authority)
{
	char host[WH_HOST_SIZE];
	unsigned port;

	if (!env || !scheme || !authority ||
	    wh_authority_split(scheme, authority, host, sizeof(host), &port) < 0)
		return false;
	return wh_allowed_hosts_match(env->allowed_outbound_hosts, env->n_allowed_outbound_hosts, scheme,
	                              host, port);
}

/* Parse url with curl's URL API into *out and check that the host and port
 * curl will connect to are allowed too (see the top of this file). */
static enum wh_out_error parse_and_check(const struct wh_component_env *env, const char *scheme,
                                         const char *url, const char *host, unsigned port, CURLU **out,
                                         struct sk_error *err)
{
	_cleanup_(curl_url_cleanupp) CURLU *u = curl_url();
	_cleanup_(curl_freep) char *chost = NULL;
	_cleanup_(curl_freep) char *cport = NULL;
	const char *const *allowed = env->allowed_outbound_hosts;
	size_t n = env->n_allowed_outbound_hosts, hl;
	char *end = NULL;
	long p;

	if (!u)
		return out_fail(WH_OUT_INTERNAL, err, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &chost, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &cport, CURLU_DEFAULT_PORT) != CURLUE_OK)
		return out_fail(WH_OUT_URI, err, "the URL is not valid");
	hl = strlen(chost);
	if (hl >= 2 && chost[0] == '[' && chost[hl - 1] == ']') {
		memmove(chost, chost + 1, hl - 2);
		chost[hl - 2] = '\0';
	}
	errno = 0;
	p = strtol(cport, &end, 10);
	if (errno || *end || p <= 0 || p > 65535)
		return out_fail(WH_OUT_URI, err, "the URL's port is not valid");
	if (!wh_allowed_hosts_match(allowed, n, scheme, host, port) ||
	    !wh_allowed_hosts_match(allowed, n, scheme, chost, (unsigned)p)) {
		const char *lb = strchr(host, ':') ? "[" : "", *rb = *lb ? "]" : "";
		return out_fail(WH_OUT_DENIED, err,
		                "%s://%s%s%s:%u is not in the component's allowed_outbound_hosts; add "
		                "\"%s://%s%s%s:%u\" to allow it",
		                scheme, lb, host, rb, port, scheme, lb, host, rb, port);
	}
	*out = TAKE_PTR(u);
	return WH_OUT_OK;
}

/* The checks and the transfer; each failure names the request. */
static enum wh_out_error send_request(const struct wh_component_env *env, const struct wh_out_request *rq,
                                      int64_t deadline_ns, size_t max_body, struct wh_out_response *rs,
                                      struct tel_span *span, struct sk_error *err)
{
	_cleanup_(curl_slist_free_allp) struct curl_slist *headers = NULL;
	_cleanup_(curl_url_cleanupp) CURLU *u = NULL;
	char url[WH_OUT_URL_MAX + 1], host[WH_HOST_SIZE], what[320];
	const char *scheme;
	unsigned port;
	enum wh_out_error r;

	if (!rs)
		return out_fail(WH_OUT_INTERNAL, err, "no response to fill");
	*rs = (struct wh_out_response){0};
	if (!env || !rq || !rq->method || !rq->scheme || !rq->authority)
		return out_fail(WH_OUT_INTERNAL, err, "incomplete outbound request");
	if (strlen(rq->method) > WH_OUT_METHOD_MAX || !sk_http_token(rq->method, strlen(rq->method)))
		return out_fail(WH_OUT_INTERNAL, err, "the method of an outbound request is not an HTTP token");
	if (strcasecmp(rq->scheme, "http") == 0)
		scheme = "http";
	else if (strcasecmp(rq->scheme, "https") == 0)
		scheme = "https";
	else
		return out_fail(WH_OUT_URI, err, "%s: the scheme of an outbound request is not http or https",
		                rq->method);
	/* never put credentials ("user:pw@host", refused below) or control
	 * characters in a message */
	describe(what, sizeof(what), rq->method, scheme,
	         strrchr(rq->authority, '@') ? strrchr(rq->authority, '@') + 1 : rq->authority);

	r = build_url(rq, scheme, url, sizeof(url), host, sizeof(host), &port, err);
	if (r == WH_OUT_OK)
		r = parse_and_check(env, scheme, url, host, port, &u, err);
	if (r == WH_OUT_OK) {
		tel_span_attr_str(span, "url.full", url);
		tel_span_attr_str(span, "server.address", host);
		tel_span_attr_int(span, "server.port", port);
		r = build_headers(rq, &span->ctx, &headers, err);
	}
	if (r != WH_OUT_OK) {
		(void)sk_err_prefix(err, "%s", what); /* the request, then the reason */
		return r;
	}
	if (deadline_ns >= 0 && wh_now_ns() >= deadline_ns)
		return out_fail(WH_OUT_CONNECT_TIMEOUT, err,
		                "%s: the request's deadline passed before it was sent", what);
	return wh_out_transfer(rq, u, headers, wh_outbound_ca_file(env), deadline_ns, max_body, what, rs, err);
}

const char *wh_ca_file(const char *own)
{
	const char *ca = own && own[0] ? own : getenv("SPIN_OUTBOUND_CA_FILE");

	return ca && ca[0] ? ca : NULL;
}

const char *wh_outbound_ca_file(const struct wh_component_env *env)
{
	return wh_ca_file(env ? env->ca_file : NULL);
}

int wh_outbound_send(const struct wh_component_env *env, const struct wh_out_request *rq, int64_t deadline_ns,
                     size_t max_body, struct wh_out_response *rs, enum wh_out_error *kind, struct sk_error *err)
{
	struct tel_span span;
	const char *method = rq && rq->method && sk_http_token(rq->method, strlen(rq->method)) &&
	                             strlen(rq->method) <= WH_OUT_METHOD_MAX
	                         ? rq->method
	                         : "HTTP";

	/* a client span, child of the request's; the server's status on it */
	tel_span_begin(&span, method, TEL_SPAN_CLIENT, NULL);
	tel_span_attr_str(&span, "http.request.method", method);
	enum wh_out_error k = send_request(env, rq, deadline_ns, max_body, rs, &span, err);
	if (k == WH_OUT_OK) {
		tel_span_attr_int(&span, "http.response.status_code", rs->status);
		if (rs->status >= 400)
			tel_span_fail(&span, NULL);
	} else {
		tel_span_attr_str(&span, "error.type", wh_out_error_case(k));
		tel_span_fail(&span, err ? err->message : wh_out_error_case(k));
	}
	tel_span_end(&span);
	if (kind)
		*kind = k;
	return wh_out_errno(k);
}
