/* Outbound HTTP for guests over libcurl, and fermyon:spin/http on top of it
 * (see outbound.h).
 *
 * One request is one easy handle on its own multi handle: the multi loop
 * here enforces what curl has no option for (the request deadline, the
 * first-byte and between-bytes timeouts) to the millisecond, and nothing is
 * shared between threads. The URL is parsed once, by curl's URL API, and
 * the host and port curl will connect to are checked against the
 * allow-list as well as the authority the guest gave, so no difference
 * between two parsers can let a request through. */
#include "shim-bridge/wasi/outbound.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/utf8.h"
#include "common/http-field.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
/* Longest timeout honoured (a day); longer ones are the same as a day. */
#define TIMEOUT_MS_MAX ((uint64_t)86400000)

static inline void curl_easy_cleanupp(CURL **p)
{
	if (*p)
		curl_easy_cleanup(*p);
}

static inline void curl_multi_cleanupp(CURLM **p)
{
	if (*p)
		curl_multi_cleanup(*p);
}

static inline void curl_slist_free_allp(struct curl_slist **p)
{
	curl_slist_free_all(*p);
}

static inline void curl_url_cleanupp(CURLU **p)
{
	if (*p)
		curl_url_cleanup(*p);
}

static inline void curl_freep(char **p)
{
	curl_free(*p);
}

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

static void headers_free(struct wh_out_header *h, size_t n)
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
	headers_free(r->headers, r->n_headers);
	free(r->body);
	*r = (struct wh_out_response){0};
}

/* Fill why (when given) and return e, so each failure site is one line. */
__attribute__((format(printf, 4, 5))) static enum wh_out_error fail(enum wh_out_error e, char *why,
                                                                    size_t why_size, const char *fmt, ...)
{
	va_list ap;

	if (why && why_size) {
		va_start(ap, fmt);
		(void)sk_vformat_line(why, why_size, fmt, ap);
		va_end(ap);
	}
	return e;
}

/* --- the request --------------------------------------------------------------- */

/* Does the request carry a body (curl's POSTFIELDS)? POST, PUT and PATCH
 * always do, so an empty one is sent as "Content-Length: 0". */
static bool has_body(const struct wh_out_request *rq)
{
	if (strcmp(rq->method, "HEAD") == 0)
		return false;
	return rq->body_len > 0 || strcmp(rq->method, "POST") == 0 || strcmp(rq->method, "PUT") == 0 ||
	       strcmp(rq->method, "PATCH") == 0;
}

/* The header list curl sends: the guest's, checked, without those curl
 * owns; no "Expect: 100-continue" wait, and no Content-Type that the guest
 * did not set (curl would add a form type to bodies). */
static enum wh_out_error build_headers(const struct wh_out_request *rq, struct curl_slist **out, char *why,
                                       size_t why_size)
{
	_cleanup_(curl_slist_free_allp) struct curl_slist *list = NULL;
	struct curl_slist *l;
	size_t bytes = 0;
	bool content_type = false;

	if (rq->n_headers > WH_OUT_HEADERS_MAX)
		return fail(WH_OUT_INTERNAL, why, why_size, "the request has %zu headers, more than %d",
		            rq->n_headers, WH_OUT_HEADERS_MAX);
	for (size_t i = 0; i < rq->n_headers; i++) {
		const struct wh_out_header *h = &rq->headers[i];
		_cleanup_free_ char *line = NULL;
		size_t nl = h->name ? strlen(h->name) : 0, vl = h->value ? h->value_len : 0;

		if (!sk_http_token(h->name, nl))
			return fail(WH_OUT_INTERNAL, why, why_size,
			            "request header %zu: the name is not a token", i + 1);
		if (vl &&
		    (memchr(h->value, '\r', vl) || memchr(h->value, '\n', vl) || memchr(h->value, '\0', vl)))
			return fail(WH_OUT_INTERNAL, why, why_size,
			            "request header %.64s: the value holds CR, LF or NUL", h->name);
		bytes += nl + vl + 4;
		if (bytes > WH_OUT_HEADER_BYTES_MAX)
			return fail(WH_OUT_INTERNAL, why, why_size,
			            "the request headers are larger than %d bytes", WH_OUT_HEADER_BYTES_MAX);
		if (sk_http_owned(h->name, strlen(h->name)))
			continue;
		if (strcasecmp(h->name, "content-type") == 0)
			content_type = true;
		/* "Name;" is curl's way to send a header with an empty value */
		if (asprintf(&line, vl ? "%s: %.*s" : "%s;", h->name, (int)vl, vl ? h->value : "") < 0) {
			line = NULL; /* undefined after a failure */
			return fail(WH_OUT_INTERNAL, why, why_size, "out of memory");
		}
		if (!(l = curl_slist_append(list, line)))
			return fail(WH_OUT_INTERNAL, why, why_size, "out of memory");
		list = l;
	}
	if (!(l = curl_slist_append(list, "Expect:")))
		return fail(WH_OUT_INTERNAL, why, why_size, "out of memory");
	list = l;
	if (!content_type && has_body(rq)) {
		if (!(l = curl_slist_append(list, "Content-Type:")))
			return fail(WH_OUT_INTERNAL, why, why_size, "out of memory");
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
                                   size_t size, char *host, size_t host_size, unsigned *port, char *why,
                                   size_t why_size)
{
	const char *pq = rq->path_query && rq->path_query[0] ? rq->path_query : "/";
	size_t n;
	int w;

	if (strchr(rq->authority, '@'))
		return fail(WH_OUT_URI, why, why_size,
		            "credentials in the URL are not supported; send an Authorization header");
	if (wh_authority_split(scheme, rq->authority, host, host_size, port) < 0)
		return fail(
		    WH_OUT_URI, why, why_size,
		    "the authority is not host[:port] (a name, an IPv4 address or [IPv6], port 1-65535)");
	if (pq[0] != '/' && pq[0] != '?')
		return fail(WH_OUT_URI, why, why_size, "the path does not start with '/'");
	w = snprintf(url, size, "%s://%s%s", scheme, rq->authority, pq[0] == '?' ? "/" : "");
	if (w < 0 || (size_t)w >= size)
		return fail(WH_OUT_URI, why, why_size, "the URL is longer than %zu bytes", size - 1);
	n = (size_t)w;
	for (const unsigned char *c = (const unsigned char *)pq; *c && *c != '#'; c++) {
		if (*c < 0x20 || *c == 0x7f)
			return fail(WH_OUT_URI, why, why_size, "the path holds a control character");
		if (n + 4 > size)
			return fail(WH_OUT_URI, why, why_size, "the URL is longer than %zu bytes", size - 1);
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
                                         char *why, size_t why_size)
{
	_cleanup_(curl_url_cleanupp) CURLU *u = curl_url();
	_cleanup_(curl_freep) char *chost = NULL;
	_cleanup_(curl_freep) char *cport = NULL;
	const char *const *allowed = env->allowed_outbound_hosts;
	size_t n = env->n_allowed_outbound_hosts, hl;
	char *end = NULL;
	long p;

	if (!u)
		return fail(WH_OUT_INTERNAL, why, why_size, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &chost, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &cport, CURLU_DEFAULT_PORT) != CURLUE_OK)
		return fail(WH_OUT_URI, why, why_size, "the URL is not valid");
	hl = strlen(chost);
	if (hl >= 2 && chost[0] == '[' && chost[hl - 1] == ']') {
		memmove(chost, chost + 1, hl - 2);
		chost[hl - 2] = '\0';
	}
	errno = 0;
	p = strtol(cport, &end, 10);
	if (errno || *end || p <= 0 || p > 65535)
		return fail(WH_OUT_URI, why, why_size, "the URL's port is not valid");
	if (!wh_allowed_hosts_match(allowed, n, scheme, host, port) ||
	    !wh_allowed_hosts_match(allowed, n, scheme, chost, (unsigned)p)) {
		const char *lb = strchr(host, ':') ? "[" : "", *rb = *lb ? "]" : "";
		return fail(
		    WH_OUT_DENIED, why, why_size,
		    "%s://%s%s%s:%u is not in the component's allowed_outbound_hosts; add \"%s://%s%s%s:%u\" "
		    "to allow it",
		    scheme, lb, host, rb, port, scheme, lb, host, rb, port);
	}
	*out = TAKE_PTR(u);
	return WH_OUT_OK;
}

/* --- the transfer ------------------------------------------------------------- */

enum xfer_fail { XF_NONE, XF_BODY_BIG, XF_HEADERS_BIG, XF_HEADERS_BAD, XF_NOMEM };

struct xfer {
	struct sk_buf body;
	struct wh_out_header *headers; /* of the last header block */
	size_t n_headers, cap_headers, header_bytes;
	bool interim;      /* the block being read is a 1xx one */
	bool headers_done; /* the final block ended: what follows is trailers */
	enum xfer_fail fail;
	int64_t first_byte_ns, last_byte_ns;
};

static void xfer_release(struct xfer *x)
{
	headers_free(x->headers, x->n_headers);
	x->headers = NULL;
	x->n_headers = x->cap_headers = x->header_bytes = 0;
	sk_buf_free(&x->body);
}

static void seen_bytes(struct xfer *x)
{
	x->last_byte_ns = wh_now_ns();
	if (!x->first_byte_ns)
		x->first_byte_ns = x->last_byte_ns;
}

static enum xfer_fail add_header(struct xfer *x, const char *name, size_t nl, const char *value, size_t vl)
{
	struct wh_out_header *h;

	if (x->n_headers == WH_OUT_HEADERS_MAX || x->header_bytes + nl + vl > WH_OUT_HEADER_BYTES_MAX)
		return XF_HEADERS_BIG;
	if (x->n_headers == x->cap_headers) {
		size_t cap = x->cap_headers ? x->cap_headers * 2 : 16;
		if (!(h = realloc(x->headers, cap * sizeof(*h))))
			return XF_NOMEM;
		x->headers = h;
		x->cap_headers = cap;
	}
	h = &x->headers[x->n_headers];
	h->name = malloc(nl + 1);
	h->value = malloc(vl + 1);
	if (!h->name || !h->value) {
		free(h->name);
		free(h->value);
		return XF_NOMEM;
	}
	for (size_t i = 0; i < nl; i++)
		h->name[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] | 0x20) : name[i];
	h->name[nl] = '\0';
	memcpy(h->value, value, vl);
	h->value[vl] = '\0';
	h->value_len = vl;
	x->n_headers++;
	x->header_bytes += nl + vl;
	return XF_NONE;
}

/* An obsolete folded line continues the previous header's value. */
static enum xfer_fail fold_header(struct xfer *x, const char *more, size_t n)
{
	struct wh_out_header *h;
	char *v;

	if (x->n_headers == 0)
		return XF_HEADERS_BAD;
	if (x->header_bytes + n + 1 > WH_OUT_HEADER_BYTES_MAX)
		return XF_HEADERS_BIG;
	h = &x->headers[x->n_headers - 1];
	if (!(v = realloc(h->value, h->value_len + n + 2)))
		return XF_NOMEM;
	v[h->value_len] = ' ';
	memcpy(v + h->value_len + 1, more, n);
	h->value = v;
	h->value_len += n + 1;
	h->value[h->value_len] = '\0';
	x->header_bytes += n + 1;
	return XF_NONE;
}

static void trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n &&
	       ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r' || (*s)[*n - 1] == '\n'))
		(*n)--;
}

/* curl's header callback: one line at a time, status lines included. Only
 * the last block is kept (1xx blocks come before it); trailers are dropped. */
static size_t on_header(char *data, size_t size, size_t nitems, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nitems, len = n;
	const char *line = data, *colon, *value;
	size_t vl;

	seen_bytes(x);
	if (x->headers_done)
		return n;
	while (len && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
		/* a new block: 1xx ones are interim, the one after them is final */
		const char *sp = memchr(line, ' ', len);
		headers_free(x->headers, x->n_headers);
		x->headers = NULL;
		x->n_headers = x->cap_headers = x->header_bytes = 0;
		x->interim = sp && (size_t)(sp - line) + 1 < len && sp[1] == '1';
		return n;
	}
	if (len == 0) {
		if (!x->interim)
			x->headers_done = true;
		return n;
	}
	if (line[0] == ' ' || line[0] == '\t') {
		trim(&line, &len);
		x->fail = fold_header(x, line, len);
		return x->fail ? 0 : n;
	}
	colon = memchr(line, ':', len);
	if (!colon || !sk_http_token(line, (size_t)(colon - line))) {
		x->fail = XF_HEADERS_BAD;
		return 0;
	}
	value = colon + 1;
	vl = len - (size_t)(value - line);
	trim(&value, &vl);
	x->fail = add_header(x, line, (size_t)(colon - line), value, vl);
	return x->fail ? 0 : n;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;
	int r;

	seen_bytes(x);
	x->headers_done = true;
	r = sk_buf_append(&x->body, data, n);
	if (r < 0) {
		x->fail = r == -E2BIG ? XF_BODY_BIG : XF_NOMEM;
		return 0;
	}
	return n;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static int64_t timeout_ns(uint64_t ms)
{
	if (ms == 0)
		ms = WH_OUT_DEFAULT_TIMEOUT_MS;
	if (ms > TIMEOUT_MS_MAX)
		ms = TIMEOUT_MS_MAX;
	return (int64_t)ms * 1000000;
}

/* Has the connection been made (TLS included) and the request started? */
static bool connected(CURL *e)
{
	curl_off_t t = 0;
	return curl_easy_getinfo(e, CURLINFO_PRETRANSFER_TIME_T, &t) == CURLE_OK && t > 0;
}

/* Run the transfer to its end. Returns curl's result, or
 * CURLE_OPERATION_TIMEDOUT when the deadline (< 0: none) or the
 * first-byte or between-bytes timeout passed first. */
static CURLcode drive(CURLM *m, CURL *e, struct xfer *x, int64_t deadline_ns, int64_t first_ns,
                      int64_t between_ns)
{
	CURLcode rc = CURLE_OPERATION_TIMEDOUT;
	int64_t sent_ns = 0;
	int running = 1, queued;

	if (curl_multi_add_handle(m, e) != CURLM_OK)
		return CURLE_OUT_OF_MEMORY;
	for (;;) {
		int64_t now, limit = deadline_ns < 0 ? INT64_MAX : deadline_ns;
		CURLMsg *msg;

		if (curl_multi_perform(m, &running) != CURLM_OK) {
			rc = CURLE_OUT_OF_MEMORY;
			break;
		}
		if (!running) {
			rc = CURLE_RECV_ERROR; /* if curl reports no result */
			while ((msg = curl_multi_info_read(m, &queued)))
				if (msg->msg == CURLMSG_DONE && msg->easy_handle == e)
					rc = msg->data.result;
			break;
		}
		now = wh_now_ns();
		if (x->first_byte_ns) {
			limit = min64(limit, x->last_byte_ns + between_ns);
		} else {
			if (!sent_ns && connected(e))
				sent_ns = now;
			if (sent_ns)
				limit = min64(limit, sent_ns + first_ns);
		}
		if (now >= limit)
			break;
		/* wake at least every 200 ms to notice that the request went out */
		curl_multi_poll(m, NULL, 0, (int)min64((limit - now + 999999) / 1000000, 200), NULL);
	}
	curl_multi_remove_handle(m, e);
	return rc;
}

/* curl's result as one of ours, with why. */
static enum wh_out_error map_result(CURLcode rc, CURL *e, const struct xfer *x, size_t max_body,
                                    const char *errbuf, const char *what, char *why, size_t why_size)
{
	const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);

	if (x->fail == XF_BODY_BIG)
		return fail(WH_OUT_BODY_TOO_LARGE, why, why_size,
		            "%s: the response body is larger than %zu bytes", what, max_body);
	if (x->fail == XF_HEADERS_BIG)
		return fail(WH_OUT_PROTOCOL, why, why_size,
		            "%s: the response has more than %d headers or %d bytes of them", what,
		            WH_OUT_HEADERS_MAX, WH_OUT_HEADER_BYTES_MAX);
	if (x->fail == XF_HEADERS_BAD)
		return fail(WH_OUT_PROTOCOL, why, why_size, "%s: a response header line is malformed", what);
	if (x->fail == XF_NOMEM)
		return fail(WH_OUT_INTERNAL, why, why_size, "%s: out of memory", what);
	switch (rc) {
	case CURLE_OK:
		return WH_OUT_OK;
	case CURLE_COULDNT_RESOLVE_HOST:
		return fail(WH_OUT_DNS, why, why_size, "%s: %s", what, detail);
	case CURLE_COULDNT_CONNECT:
		return fail(WH_OUT_REFUSED, why, why_size, "%s: %s", what, detail);
	case CURLE_OPERATION_TIMEDOUT:
		if (!connected(e))
			return fail(WH_OUT_CONNECT_TIMEOUT, why, why_size,
			            "%s: no connection before the timeout", what);
		return fail(WH_OUT_TIMEOUT, why, why_size, "%s: %s before the timeout", what,
		            x->first_byte_ns ? "the response stalled" : "no response");
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
		return fail(WH_OUT_TLS, why, why_size, "%s: TLS certificate: %s", what, detail);
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_USE_SSL_FAILED:
		return fail(WH_OUT_TLS_PROTOCOL, why, why_size, "%s: TLS: %s", what, detail);
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return fail(WH_OUT_URI, why, why_size, "%s: %s", what, detail);
	case CURLE_OUT_OF_MEMORY:
		return fail(WH_OUT_INTERNAL, why, why_size, "%s: out of memory", what);
	default:
		return fail(WH_OUT_PROTOCOL, why, why_size, "%s: %s", what, detail);
	}
}

/* Set the options of one guest request on e. */
static void set_options(CURL *e, const struct wh_out_request *rq, CURLU *u, struct curl_slist *headers,
                        struct xfer *x, size_t max_body, int64_t deadline_ns, char *errbuf)
{
	const char *ca = getenv("SPIN_OUTBOUND_CA_FILE");
	int64_t connect_ns = timeout_ns(rq->connect_timeout_ms);

	if (deadline_ns >= 0)
		connect_ns = min64(connect_ns, deadline_ns - wh_now_ns());
	curl_easy_setopt(e, CURLOPT_CURLU, u);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca && ca[0])
		curl_easy_setopt(e, CURLOPT_CAINFO, ca);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	                 (long)(connect_ns > 1000000 ? connect_ns / 1000000 : 1));
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	/* no CURLOPT_MAXFILESIZE: curl would refuse a HEAD or 304 response
	 * whose Content-Length is past it; on_write enforces max_body */
	if (strcmp(rq->method, "HEAD") == 0) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
		return;
	}
	if (has_body(rq)) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, rq->body_len ? (const char *)rq->body : "");
	} else {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, rq->method);
}

enum wh_out_error wh_outbound_send(const struct wh_component_env *env, const struct wh_out_request *rq,
                                   int64_t deadline_ns, size_t max_body, struct wh_out_response *rs,
                                   char *why, size_t why_size)
{
	_cleanup_(curl_easy_cleanupp) CURL *e = NULL;
	_cleanup_(curl_multi_cleanupp) CURLM *m = NULL;
	_cleanup_(curl_slist_free_allp) struct curl_slist *headers = NULL;
	_cleanup_(curl_url_cleanupp) CURLU *u = NULL;
	_cleanup_(xfer_release) struct xfer x = {.body = sk_buf_make(max_body)};
	char url[WH_OUT_URL_MAX + 1], host[WH_HOST_SIZE], what[320], errbuf[CURL_ERROR_SIZE] = "";
	const char *scheme;
	unsigned port;
	enum wh_out_error r;
	CURLcode rc;
	long status = 0;

	if (why && why_size)
		why[0] = '\0';
	if (!rs)
		return fail(WH_OUT_INTERNAL, why, why_size, "no response to fill");
	*rs = (struct wh_out_response){0};
	if (!env || !rq || !rq->method || !rq->scheme || !rq->authority)
		return fail(WH_OUT_INTERNAL, why, why_size, "incomplete outbound request");
	if (strlen(rq->method) > WH_OUT_METHOD_MAX || !sk_http_token(rq->method, strlen(rq->method)))
		return fail(WH_OUT_INTERNAL, why, why_size,
		            "the method of an outbound request is not an HTTP token");
	if (strcasecmp(rq->scheme, "http") == 0)
		scheme = "http";
	else if (strcasecmp(rq->scheme, "https") == 0)
		scheme = "https";
	else
		return fail(WH_OUT_URI, why, why_size,
		            "%s: the scheme of an outbound request is not http or https", rq->method);
	/* never put credentials ("user:pw@host", refused below) or control
	 * characters in a message */
	describe(what, sizeof(what), rq->method, scheme,
	         strrchr(rq->authority, '@') ? strrchr(rq->authority, '@') + 1 : rq->authority);

	r = build_url(rq, scheme, url, sizeof(url), host, sizeof(host), &port, why, why_size);
	if (r == WH_OUT_OK)
		r = parse_and_check(env, scheme, url, host, port, &u, why, why_size);
	if (r == WH_OUT_OK)
		r = build_headers(rq, &headers, why, why_size);
	if (r != WH_OUT_OK) {
		/* prefix the request to the reason */
		char reason[256];
		snprintf(reason, sizeof(reason), "%s", why ? why : "");
		return fail(r, why, why_size, "%s: %s", what, reason);
	}
	if (deadline_ns >= 0 && wh_now_ns() >= deadline_ns)
		return fail(WH_OUT_CONNECT_TIMEOUT, why, why_size,
		            "%s: the request's deadline passed before it was sent", what);

	if (!(e = curl_easy_init()) || !(m = curl_multi_init()))
		return fail(WH_OUT_INTERNAL, why, why_size, "%s: cannot make a curl handle (out of memory?)",
		            what);
	set_options(e, rq, u, headers, &x, max_body, deadline_ns, errbuf);
	rc = drive(m, e, &x, deadline_ns, timeout_ns(rq->first_byte_timeout_ms),
	           timeout_ns(rq->between_bytes_timeout_ms));
	r = map_result(rc, e, &x, max_body, errbuf, what, why, why_size);
	if (r != WH_OUT_OK)
		return r;

	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (status < 100 || status > 999)
		return fail(WH_OUT_PROTOCOL, why, why_size, "%s: no valid status in the response", what);
	if (x.body.len) {
		rs->body = (uint8_t *)sk_buf_steal(&x.body, &rs->body_len);
		if (!rs->body)
			return fail(WH_OUT_INTERNAL, why, why_size, "%s: out of memory", what);
	}
	rs->status = (unsigned)status;
	rs->headers = TAKE_PTR(x.headers);
	rs->n_headers = x.n_headers;
	x.n_headers = 0;
	return WH_OUT_OK;
}

/* --- fermyon:spin/http --------------------------------------------------------
 * Spin's v1 outbound HTTP: send-request(request) -> result<response,
 * http-error>, over the client above. As Spin does: params are ignored
 * (deprecated), a relative URI is a "self" request (not supported here: the
 * runtime has no origin to resolve it against), a refused destination is
 * destination-not-allowed, a URL that is not absolute http(s) is
 * invalid-url, everything else runtime-error; response header names are
 * lower case and headers and body are always present. Unlike Spin (whose
 * client follows up to 10 redirects), redirects reach the guest. */

struct spin_req {
	struct wh_out_request rq;
	struct wh_out_header *headers;
	size_t n_headers;
	uint8_t *body;
	char scheme[8];
	char *authority;
	char *path;
	bool relative; /* uri starts with '/' */
	bool bad_uri;
};

static void spin_req_release(struct spin_req *q)
{
	headers_free(q->headers, q->n_headers);
	free(q->body);
	free(q->authority);
	free(q->path);
}

static const wasmtime_component_val_t *field(const wasmtime_component_val_t *rec, const char *name)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i < rec->of.record.size; i++) {
		const wasmtime_component_valrecord_entry_t *f = &rec->of.record.data[i];
		if (f->name.size == nl && memcmp(f->name.data, name, nl) == 0)
			return &f->val;
	}
	return NULL;
}

/* The method enum's case as an HTTP method; NULL when unknown. */
static const char *spin_method(const wasmtime_component_val_t *v)
{
	static const char *const m[][2] = {{"get", "GET"},        {"post", "POST"},   {"put", "PUT"},
	                                   {"delete", "DELETE"},  {"patch", "PATCH"}, {"head", "HEAD"},
	                                   {"options", "OPTIONS"}};

	if (!v || v->kind != WASMTIME_COMPONENT_ENUM)
		return NULL;
	for (size_t i = 0; i < N(m); i++)
		if (v->of.enumeration.size == strlen(m[i][0]) &&
		    memcmp(v->of.enumeration.data, m[i][0], v->of.enumeration.size) == 0)
			return m[i][1];
	return NULL;
}

/* uri (n bytes) as scheme, authority and path-with-query: an absolute http
 * or https URI, else relative or bad_uri is set. */
static int spin_split_uri(const char *uri, size_t n, struct spin_req *q)
{
	const char *sep, *auth, *end, *p;

	if (!uri || n == 0) {
		q->bad_uri = true;
		return 0;
	}
	end = uri + n;
	if (uri[0] == '/') {
		q->relative = true;
		return 0;
	}
	sep = n >= 3 ? memmem(uri, n, "://", 3) : NULL;
	if (!sep || memchr(uri, '\0', n) || (size_t)(sep - uri) >= sizeof(q->scheme)) {
		q->bad_uri = true;
		return 0;
	}
	for (size_t i = 0; i < (size_t)(sep - uri); i++)
		q->scheme[i] = (char)((uri[i] >= 'A' && uri[i] <= 'Z') ? uri[i] | 0x20 : uri[i]);
	q->scheme[sep - uri] = '\0';
	if (strcmp(q->scheme, "http") != 0 && strcmp(q->scheme, "https") != 0) {
		q->bad_uri = true;
		return 0;
	}
	auth = sep + 3;
	for (p = auth; p < end && *p != '/' && *p != '?' && *p != '#'; p++)
		;
	q->authority = strndup(auth, (size_t)(p - auth));
	q->path = strndup(p, (size_t)(end - p));
	if (!q->authority || !q->path)
		return -ENOMEM;
	if (!q->authority[0])
		q->bad_uri = true;
	return 0;
}

/* headers: list<tuple<string, string>> into q->headers. -EINVAL on a value
 * of the wrong shape, -E2BIG past the caps, -EILSEQ on a NUL in a name. */
static int spin_headers(const wasmtime_component_val_t *v, struct spin_req *q)
{
	size_t n;

	if (!v || v->kind != WASMTIME_COMPONENT_LIST)
		return -EINVAL;
	n = v->of.list.size;
	if (n > WH_OUT_HEADERS_MAX)
		return -E2BIG;
	if (n && !(q->headers = calloc(n, sizeof(*q->headers))))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const wasmtime_component_val_t *t = &v->of.list.data[i];
		const char *name, *value;
		size_t nl, vl;

		if (t->kind != WASMTIME_COMPONENT_TUPLE || t->of.tuple.size != 2 ||
		    wh_arg_string(&t->of.tuple.data[0], &name, &nl) < 0 ||
		    wh_arg_string(&t->of.tuple.data[1], &value, &vl) < 0)
			return -EINVAL;
		if (nl + vl > WH_OUT_HEADER_BYTES_MAX)
			return -E2BIG;
		if (memchr(name, '\0', nl))
			return -EILSEQ;
		q->headers[i].name = strndup(name, nl);
		q->headers[i].value = malloc(vl + 1);
		q->n_headers = i + 1;
		if (!q->headers[i].name || !q->headers[i].value)
			return -ENOMEM;
		memcpy(q->headers[i].value, value, vl);
		q->headers[i].value[vl] = '\0';
		q->headers[i].value_len = vl;
	}
	return 0;
}

/* The request record into q. -EINVAL when it does not have the shape of
 * fermyon:spin/http-types.request; -E2BIG, -EILSEQ when it is past the caps
 * or unusable; -ENOMEM. */
static int spin_parse_request(const wasmtime_component_val_t *rec, size_t max_body, struct spin_req *q)
{
	const wasmtime_component_val_t *uri_v, *params, *body_v, *inner = NULL;
	const char *uri;
	size_t un;
	int r;

	if (rec->kind != WASMTIME_COMPONENT_RECORD)
		return -EINVAL;
	q->rq.method = spin_method(field(rec, "method"));
	uri_v = field(rec, "uri");
	params = field(rec, "params");
	body_v = field(rec, "body");
	if (!q->rq.method || !uri_v || wh_arg_string(uri_v, &uri, &un) < 0 || !params ||
	    params->kind != WASMTIME_COMPONENT_LIST || !body_v || wh_arg_option(body_v, &inner) < 0)
		return -EINVAL;
	if ((r = spin_headers(field(rec, "headers"), q)) < 0)
		return r;
	if (inner && (r = wh_arg_bytes(inner, max_body, &q->body, &q->rq.body_len)) < 0)
		return r;
	if (un > WH_OUT_URL_MAX)
		q->bad_uri = true;
	else if ((r = spin_split_uri(uri, un, q)) < 0)
		return r;
	q->rq.scheme = q->scheme;
	q->rq.authority = q->authority;
	q->rq.path_query = q->path;
	q->rq.headers = q->headers;
	q->rq.n_headers = q->n_headers;
	q->rq.body = q->body;
	return 0;
}

static void spin_error(wasmtime_component_val_t *res, const char *case_name)
{
	wasmtime_component_val_t e;

	wh_val_enum(&e, case_name);
	wh_val_result(res, false, &e);
}

/* ok(response) into res; -EILSEQ (res untouched) when a header value is
 * not UTF-8, which a WIT string must be. */
static int spin_response(wasmtime_component_val_t *res, const struct wh_out_response *rs)
{
	static const char *const names[] = {"status", "headers", "body"};
	wasmtime_component_val_t resp, list, body;
	wasmtime_component_valrecord_entry_t *f;
	wasmtime_component_val_t *items;

	for (size_t i = 0; i < rs->n_headers; i++)
		if (!sk_utf8_valid((const unsigned char *)rs->headers[i].value, rs->headers[i].value_len))
			return -EILSEQ;
	f = wh_val_record(&resp, names, N(names));
	wh_val_u16(&f[0].val, (uint16_t)rs->status);
	items = wh_val_list(&list, rs->n_headers);
	for (size_t i = 0; i < rs->n_headers; i++) {
		wasmtime_component_val_t *t = wh_val_tuple(&items[i], 2);
		wh_val_cstring(&t[0], rs->headers[i].name);
		wh_val_string(&t[1], rs->headers[i].value, rs->headers[i].value_len);
	}
	wh_val_option(&f[1].val, &list);
	wh_val_bytes(&body, rs->body, rs->body_len);
	wh_val_option(&f[2].val, &body);
	wh_val_result(res, true, &resp);
	return 0;
}

static wasmtime_error_t *spin_send_request(struct wh_ctx *ctx, wasmtime_context_t *cx,
                                           wasmtime_component_val_t *a, size_t na,
                                           wasmtime_component_val_t *res, size_t nr)
{
	_cleanup_(spin_req_release) struct spin_req q = {0};
	_cleanup_(wh_out_response_free) struct wh_out_response rs = {0};
	const struct wh_component_env *env = ctx->env;
	size_t cap = env && env->max_body ? env->max_body : WH_OUT_MAX_BODY_DEFAULT;
	enum wh_out_error e;
	char why[256];
	int r;

	(void)cx;
	if (na != 1 || nr != 1)
		return wh_trap("fermyon:spin/http send-request: %zu arguments and %zu results, want 1 and 1",
		               na, nr);
	r = spin_parse_request(&a[0], cap, &q);
	if (r == -EINVAL)
		return wh_trap(
		    "fermyon:spin/http send-request: the argument is not a fermyon:spin/http-types request");
	if (r == -ENOMEM)
		return wh_trap("fermyon:spin/http send-request: out of memory");
	if (r < 0) {
		spin_error(res, "runtime-error");
		return NULL;
	}
	if (q.relative) {
		bool self = env && (wh_allowed_hosts_self(env->allowed_outbound_hosts,
		                                          env->n_allowed_outbound_hosts, "http") ||
		                    wh_allowed_hosts_self(env->allowed_outbound_hosts,
		                                          env->n_allowed_outbound_hosts, "https"));
		spin_error(res, self ? "invalid-url" : "destination-not-allowed");
		return NULL;
	}
	if (q.bad_uri) {
		spin_error(res, "invalid-url");
		return NULL;
	}
	e = wh_outbound_send(env, &q.rq, ctx->deadline_ns, cap, &rs, why, sizeof(why));
	if (e == WH_OUT_OK) {
		if (spin_response(res, &rs) < 0)
			spin_error(res, "runtime-error");
		return NULL;
	}
	if ((e == WH_OUT_TIMEOUT || e == WH_OUT_CONNECT_TIMEOUT) && ctx->deadline_ns >= 0 &&
	    wh_now_ns() >= ctx->deadline_ns)
		ctx->timed_out = true;
	spin_error(res, e == WH_OUT_DENIED ? "destination-not-allowed"
	                : e == WH_OUT_URI  ? "invalid-url"
	                                   : "runtime-error");
	return NULL;
}

static const struct wh_func_def spin_http_funcs[] = {{"send-request", spin_send_request}};

/* fermyon:spin/http-types holds only types, but a component that imports
 * fermyon:spin/http imports it as an instance too. */
const struct wh_iface_def wh_outbound_ifaces[] = {
    {"fermyon:spin/http-types", NULL, 0, NULL, 0},
    {"fermyon:spin/http", NULL, 0, spin_http_funcs, N(spin_http_funcs)},
};
const size_t wh_n_outbound_ifaces = N(wh_outbound_ifaces);
