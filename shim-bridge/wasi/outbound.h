/* Outbound HTTP for guests: one blocking request over libcurl, checked
 * against the component's allowed_outbound_hosts, and the fermyon:spin/http
 * interface (Spin's v1 send-request) on top of it. wasi:http's
 * outgoing-handler is wired to wh_outbound_send by the wasi:http host.
 *
 * Every call makes its own curl handles, so any number of threads may send
 * at once; curl_global_init must have run (spin-bridge's main does it).
 * TLS is verified against the system CA bundle, or against a PEM file
 * instead: the component's own (env->ca_file: its pod's bundle in the
 * shim's shared mode), else the one the environment variable
 * SPIN_OUTBOUND_CA_FILE names (for private CAs and tests). Redirects are returned to the guest,
 * never followed; proxies from the environment are not used. */
#ifndef SPIN_BRIDGE_WASI_OUTBOUND_H
#define SPIN_BRIDGE_WASI_OUTBOUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "shim-bridge/wasi/allowed-hosts.h"
#include "shim-bridge/wasi/host.h"

/* Caps on the response header section (the request's too). */
#define WH_OUT_HEADERS_MAX      256
#define WH_OUT_HEADER_BYTES_MAX (64 * 1024)
/* Longest scheme://authority/path?query, and longest method. */
#define WH_OUT_URL_MAX    8192
#define WH_OUT_METHOD_MAX 64
/* What a zero timeout in a request means (wasmtime-wasi-http's defaults);
 * the deadline bounds everything anyway. */
#define WH_OUT_DEFAULT_TIMEOUT_MS 600000
/* Response body cap of fermyon:spin/http when env->max_body is 0. */
#define WH_OUT_MAX_BODY_DEFAULT ((size_t)8 << 20)

/* name: NUL-terminated token; value: value_len bytes (NUL-terminated too
 * in responses). In a response, names are lower case. */
struct wh_out_header {
	char *name;
	char *value;
	size_t value_len;
};

struct wh_out_request {
	const char *method;     /* "GET", any token */
	const char *scheme;     /* "http" or "https" */
	const char *authority;  /* "host:port" or "host" */
	const char *path_query; /* "/x?y", NULL = "/" */
	const struct wh_out_header *headers;
	size_t n_headers;
	const uint8_t *body; /* buffered (bounded by the caller) */
	size_t body_len;
	uint64_t connect_timeout_ms, first_byte_timeout_ms, between_bytes_timeout_ms; /* 0 = defaults */
};

/* Owned by whoever received it from wh_outbound_send; release with
 * wh_out_response_free. body may be NULL when body_len is 0. */
struct wh_out_response {
	unsigned status;
	struct wh_out_header *headers;
	size_t n_headers;
	uint8_t *body;
	size_t body_len;
};

/* Free what r holds and leave it empty. NULL and empty responses are fine. */
void wh_out_response_free(struct wh_out_response *r);

/* Error kinds map onto wasi:http's error-code cases; the wasi:http host turns
 * them into the variant (wh_out_error_case names the case). */
enum wh_out_error {
	WH_OUT_OK,
	WH_OUT_DENIED,          /* HTTP-request-denied: not in allowed_outbound_hosts */
	WH_OUT_DNS,             /* DNS-error */
	WH_OUT_REFUSED,         /* connection-refused (also unreachable hosts) */
	WH_OUT_CONNECT_TIMEOUT, /* connection-timeout: no connection by the connect timeout or deadline */
	WH_OUT_TIMEOUT,         /* connection-read-timeout: first byte, between bytes or deadline */
	WH_OUT_TLS,             /* TLS-certificate-error: verification failed */
	WH_OUT_BODY_TOO_LARGE,  /* HTTP-response-body-size: past max_body */
	WH_OUT_PROTOCOL,        /* HTTP-protocol-error: malformed or oversized response, reset */
	WH_OUT_URI,             /* HTTP-request-URI-invalid: scheme, authority or path */
	WH_OUT_INTERNAL,        /* internal-error: out of memory, bad request header or method */
	WH_OUT_TLS_PROTOCOL,    /* TLS-protocol-error: handshake failed otherwise */
};

/* The wasi:http error-code case name of e, e.g. "HTTP-request-denied";
 * "internal-error" for WH_OUT_OK and unknown values. Static string. */
const char *wh_out_error_case(enum wh_out_error e);

/* Is scheme://authority allowed by env->allowed_outbound_hosts? authority
 * as in struct wh_out_request; a malformed one is not allowed. */
bool wh_outbound_allowed(const struct wh_component_env *env, const char *scheme, const char *authority);

/* The PEM bundle outbound TLS of env's component is verified against:
 * env->ca_file, else $SPIN_OUTBOUND_CA_FILE, else NULL (the system's).
 * Borrowed. Every client that verifies a server (HTTPS, MySQL, PostgreSQL,
 * Redis) takes its bundle from here or from wh_ca_file. */
const char *wh_outbound_ca_file(const struct wh_component_env *env);
/* The same for a caller that holds the app's own bundle (own, its pod's in
 * the shim's shared mode; NULL or "" for none) rather than a component env. */
const char *wh_ca_file(const char *own);

/* Perform rq: validate it (WH_OUT_URI, WH_OUT_INTERNAL), check the
 * allow-list before any connection or name lookup (WH_OUT_DENIED), then
 * send it and buffer the response, whose body may hold at most max_body
 * bytes. Blocks until done or deadline_ns (CLOCK_MONOTONIC, < 0: none).
 * Returns 0 with *rs the response (the caller frees it), or a negative
 * errno with *rs left empty and err (may be NULL) holding one line naming
 * the request and the cause. *kind (may be NULL) receives the wasi:http
 * error kind, WH_OUT_OK on success; the errno follows from it: DENIED
 * -EACCES, DNS -EHOSTUNREACH, REFUSED -ECONNREFUSED, CONNECT_TIMEOUT and
 * TIMEOUT -ETIMEDOUT, TLS -EKEYREJECTED, TLS_PROTOCOL -EPROTO,
 * BODY_TOO_LARGE -EFBIG, PROTOCOL -EBADMSG, URI -EINVAL, INTERNAL -EIO.
 * Thread-safe. */
int wh_outbound_send(const struct wh_component_env *env, const struct wh_out_request *rq, int64_t deadline_ns,
                     size_t max_body, struct wh_out_response *rs, enum wh_out_error *kind, struct sk_error *err);

#endif
