/* What the outbound client's files share (outbound.c builds and checks a
 * request, outbound-transfer.c runs it over curl and reads the response,
 * outbound-spin.c is fermyon:spin/http on top): curl cleanup helpers, the
 * errno of each error kind and the one-line failure helper. Not for other
 * modules: they use outbound.h. */
#ifndef SPIN_BRIDGE_WASI_OUTBOUND_INTERNAL_H
#define SPIN_BRIDGE_WASI_OUTBOUND_INTERNAL_H

#include <curl/curl.h>
#include <errno.h>

#include "common/err.h"
#include "shim-bridge/wasi/outbound.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

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
/* The negative errno wh_outbound_send returns for kind (see outbound.h). */
static inline int wh_out_errno(enum wh_out_error kind)
{
	switch (kind) {
	case WH_OUT_OK:
		return 0;
	case WH_OUT_DENIED:
		return -EACCES;
	case WH_OUT_DNS:
		return -EHOSTUNREACH;
	case WH_OUT_REFUSED:
		return -ECONNREFUSED;
	case WH_OUT_CONNECT_TIMEOUT:
	case WH_OUT_TIMEOUT:
		return -ETIMEDOUT;
	case WH_OUT_TLS:
		return -EKEYREJECTED;
	case WH_OUT_TLS_PROTOCOL:
		return -EPROTO;
	case WH_OUT_BODY_TOO_LARGE:
		return -EFBIG;
	case WH_OUT_PROTOCOL:
		return -EBADMSG;
	case WH_OUT_URI:
		return -EINVAL;
	case WH_OUT_INTERNAL:
		break;
	}
	return -EIO;
}

/* Record a failure of kind in err (may be NULL) with sk_err and evaluate
 * to kind, so each failure site is one line. */
#define out_fail(kind, err, ...) ((void)sk_err((err), wh_out_errno(kind), __VA_ARGS__), (kind))

/* Free n response or request headers and the array. NULL is fine. */
void wh_out_headers_free(struct wh_out_header *h, size_t n);

/* Does the request carry a body (curl's POSTFIELDS)? POST, PUT and PATCH
 * always do, so an empty one is sent as "Content-Length: 0". */
bool wh_out_has_body(const struct wh_out_request *rq);

/* Send rq, already checked, to the URL u (borrowed) with the header list
 * headers (borrowed), and buffer the response into *rs (filled only on
 * WH_OUT_OK; the caller frees it). what names the request in messages
 * ("GET https://host"); ca_file, when set, the PEM bundle TLS is verified
 * against. Blocks until done or deadline_ns (< 0: none). */
enum wh_out_error wh_out_transfer(const struct wh_out_request *rq, CURLU *u, struct curl_slist *headers,
                                  const char *ca_file, int64_t deadline_ns, size_t max_body, const char *what,
                                  struct wh_out_response *rs, struct sk_error *err);

#endif
