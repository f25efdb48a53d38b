/* Outbound HTTP for guests: the transfer (see outbound.h). One checked
 * request is one easy handle on its own multi handle: the multi loop here
 * enforces what curl has no option for (the request deadline, the
 * first-byte and between-bytes timeouts) to the millisecond, and nothing is
 * shared between threads. The response's header blocks are parsed as they
 * arrive (capped, 1xx blocks and trailers skipped), the body into a capped
 * sk_buf, and curl's result mapped onto wasi:http's error cases. */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/http-field.h"
#include "common/utf8.h"
#include "shim-bridge/wasi/outbound-internal.h"

/* Longest timeout honoured (a day); longer ones are the same as a day. */
#define TIMEOUT_MS_MAX ((uint64_t)86400000)

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
	wh_out_headers_free(x->headers, x->n_headers);
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
		wh_out_headers_free(x->headers, x->n_headers);
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

/* curl's result as one of ours, the reason in err. */
static enum wh_out_error map_result(CURLcode rc, CURL *e, const struct xfer *x, size_t max_body,
                                    const char *errbuf, const char *what, struct sk_error *err)
{
	const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);

	if (x->fail == XF_BODY_BIG)
		return out_fail(WH_OUT_BODY_TOO_LARGE, err, "%s: the response body is larger than %zu bytes",
		                what, max_body);
	if (x->fail == XF_HEADERS_BIG)
		return out_fail(WH_OUT_PROTOCOL, err,
		                "%s: the response has more than %d headers or %d bytes of them", what,
		                WH_OUT_HEADERS_MAX, WH_OUT_HEADER_BYTES_MAX);
	if (x->fail == XF_HEADERS_BAD)
		return out_fail(WH_OUT_PROTOCOL, err, "%s: a response header line is malformed", what);
	if (x->fail == XF_NOMEM)
		return out_fail(WH_OUT_INTERNAL, err, "%s: out of memory", what);
	switch (rc) {
	case CURLE_OK:
		return WH_OUT_OK;
	case CURLE_COULDNT_RESOLVE_HOST:
		return out_fail(WH_OUT_DNS, err, "%s: %s", what, detail);
	case CURLE_COULDNT_CONNECT:
		return out_fail(WH_OUT_REFUSED, err, "%s: %s", what, detail);
	case CURLE_OPERATION_TIMEDOUT:
		if (!connected(e))
			return out_fail(WH_OUT_CONNECT_TIMEOUT, err, "%s: no connection before the timeout",
			                what);
		return out_fail(WH_OUT_TIMEOUT, err, "%s: %s before the timeout", what,
		                x->first_byte_ns ? "the response stalled" : "no response");
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
		return out_fail(WH_OUT_TLS, err, "%s: TLS certificate: %s", what, detail);
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_USE_SSL_FAILED:
		return out_fail(WH_OUT_TLS_PROTOCOL, err, "%s: TLS: %s", what, detail);
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return out_fail(WH_OUT_URI, err, "%s: %s", what, detail);
	case CURLE_OUT_OF_MEMORY:
		return out_fail(WH_OUT_INTERNAL, err, "%s: out of memory", what);
	default:
		return out_fail(WH_OUT_PROTOCOL, err, "%s: %s", what, detail);
	}
}

/* Set the options of one guest request on e. */
static void set_options(CURL *e, const struct wh_out_request *rq, CURLU *u, struct curl_slist *headers,
                        const char *ca, struct xfer *x, size_t max_body, int64_t deadline_ns, char *errbuf)
{
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
	if (wh_out_has_body(rq)) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, rq->body_len ? (const char *)rq->body : "");
	} else {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, rq->method);
}

enum wh_out_error wh_out_transfer(const struct wh_out_request *rq, CURLU *u, struct curl_slist *headers,
                                  const char *ca_file, int64_t deadline_ns, size_t max_body, const char *what,
                                  struct wh_out_response *rs, struct sk_error *err)
{
	_cleanup_(curl_easy_cleanupp) CURL *e = NULL;
	_cleanup_(curl_multi_cleanupp) CURLM *m = NULL;
	_cleanup_(xfer_release) struct xfer x = {.body = sk_buf_make(max_body)};
	char errbuf[CURL_ERROR_SIZE] = "";
	enum wh_out_error r;
	CURLcode rc;
	long status = 0;

	if (!(e = curl_easy_init()) || !(m = curl_multi_init()))
		return out_fail(WH_OUT_INTERNAL, err, "%s: cannot make a curl handle (out of memory?)", what);
	set_options(e, rq, u, headers, ca_file, &x, max_body, deadline_ns, errbuf);
	rc = drive(m, e, &x, deadline_ns, timeout_ns(rq->first_byte_timeout_ms),
	           timeout_ns(rq->between_bytes_timeout_ms));
	r = map_result(rc, e, &x, max_body, errbuf, what, err);
	if (r != WH_OUT_OK)
		return r;

	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (status < 100 || status > 999)
		return out_fail(WH_OUT_PROTOCOL, err, "%s: no valid status in the response", what);
	if (x.body.len) {
		rs->body = (uint8_t *)sk_buf_steal(&x.body, &rs->body_len);
		if (!rs->body)
			return out_fail(WH_OUT_INTERNAL, err, "%s: out of memory", what);
	}
	rs->status = (unsigned)status;
	rs->headers = TAKE_PTR(x.headers);
	rs->n_headers = x.n_headers;
	x.n_headers = 0;
	return WH_OUT_OK;
}
