/* What the pieces of the wasi:http host share: the resources' structs
 * (fields, the exchange of one incoming request and its response, outgoing
 * responses, requests and bodies, incoming bodies), the helpers more than
 * one piece calls, and the host functions the tables in http.c list. Not
 * for other modules: they use http.h. */
#ifndef SPIN_BRIDGE_WASI_HTTP_INTERNAL_H
#define SPIN_BRIDGE_WASI_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"
#include "shim-bridge/http/server.h"
#include "shim-bridge/wasi/host.h"
#include "shim-bridge/wasi/http.h"
#include "shim-bridge/wasi/outbound.h"

#define FIELDS_MAX_ENTRIES 1024
#define FIELDS_MAX_BYTES ((size_t)256 << 10)
/* Bytes an outgoing request's body may hold (it is sent whole). */
#define OUT_REQUEST_BODY_MAX ((size_t)64 << 20)

/* --- fields (http-fields.c) --------------------------------------------------- */

struct field {
	char *name; /* lower-case */
	uint8_t *value;
	size_t value_len;
};

struct fields {
	unsigned refs;
	bool immutable;
	size_t n, cap, bytes;
	struct field *v;
};


/* A new, empty, mutable fields object with one reference; NULL when out of
 * memory. */
struct fields *wh_http_fields_new(void);
/* Drop one reference; the last frees. NULL is fine. */
void wh_http_fields_unref(struct fields *f);
/* Append name (lower-cased) and value, copied, within the caps: 0, -E2BIG
 * or -ENOMEM. No other checks. */
int wh_http_fields_push(struct fields *f, const char *name, size_t nlen, const uint8_t *val, size_t vlen);
/* s (n bytes) lower-cased into a new string (caller frees); NULL: no memory. */
char *wh_http_lower_dup(const char *s, size_t n);
/* Immutable fields holding n parsed headers (one reference); NULL: no memory. */
struct fields *wh_http_fields_of_headers(const struct http_header *h, size_t n);
/* Hand f (one reference moved in; NULL means out of memory) to the guest
 * as the resource *res. */
wasmtime_error_t *wh_http_give_fields(struct wh_ctx *ctx, wasmtime_context_t *cx, struct fields *f,
				      wasmtime_component_val_t *res);
/* Take an own<fields> argument: the guest gives it up; the caller now holds
 * its reference. NULL when v is not a fields resource. */
struct fields *wh_http_take_fields(struct wh_ctx *ctx, wasmtime_context_t *cx, const wasmtime_component_val_t *v);

/* --- the exchange and the outgoing side's objects ------------------------------- */

/* One incoming request and its response: the incoming-request and
 * response-outparam resources both point here; http.c owns it (ctx->http). */
struct exchange {
	const struct http_request *req;
	const struct sk_kv *headers;
	size_t n_headers;
	struct http_response *resp;
	bool consumed;     /* incoming-request.consume called */
	bool body_streamed; /* incoming-body.stream called */
	bool req_done;     /* request body read to its end */
	int req_error;     /* a read failed */
	bool outparam_set;
	char error_case[64]; /* response-outparam set to an error */
	struct out_response *response;
	bool started, finished, aborted;
	bool client_gone; /* a body write failed: the client closed */
	int64_t content_length;
	uint64_t written;
	char why[200];
};

struct out_body;

/* outgoing-response: refcounted by its table entry, its body and the
 * exchange it was set on. */
struct out_response {
	unsigned refs;
	uint16_t status;
	struct fields *headers;
	struct out_body *body; /* taken body while the guest holds it */
	bool body_taken;
	bool body_finished;       /* finished before the response was set */
	struct fields *finish_trailers;
	struct sk_buf pending; /* body written before the response was set (WH_PRESET_BODY_MAX) */
	struct exchange *ex; /* after response-outparam.set */
};

enum body_kind { BODY_RESPONSE, BODY_REQUEST };

/* outgoing-body: of a response (streams to the client) or of an outgoing
 * request (buffered up to max_body, then sent). */
struct out_body {
	enum body_kind kind;
	struct out_response *response;
	struct out_request *request;
	bool stream_taken, finished, failed;
};

/* outgoing-request: refcounted by its table entry, its body and the
 * future-incoming-response that sends it. */
struct out_request {
	unsigned refs;
	char *method;
	char *scheme; /* NULL: none set */
	char *authority;
	char *path;
	struct fields *headers;
	struct sk_buf body; /* buffered, at most OUT_REQUEST_BODY_MAX */
	bool body_taken, body_finished, body_failed;
};

/* incoming-body: of the request (streams from the client) or of an
 * outgoing request's response (held in memory, bounded). */
struct in_body {
	struct exchange *ex;      /* request body */
	struct wh_out_response *r; /* response body */
	size_t off;
	bool stream_taken;
};

/* --- helpers ------------------------------------------------------------------ */

/* Add obj to the table as a resource of type (drop releases it) and write
 * the handle into *v. (http.c) */
wasmtime_error_t *wh_http_give(struct wh_ctx *ctx, wasmtime_context_t *cx, uint32_t type, void *obj, wh_drop_fn drop,
			       wasmtime_component_val_t *v);
/* A drop that only frees obj. (http.c) */
void wh_http_free_drop(struct wh_ctx *ctx, void *obj);
/* The wasi:http method variant of an upper-case method name. (http.c) */
void wh_http_method_val(wasmtime_component_val_t *v, const char *m);
/* Drop of an incoming-body resource. (http-request.c) */
void wh_http_in_body_drop(struct wh_ctx *ctx, void *obj);
/* Drop one reference of an outgoing-response. (http-response.c) */
void wh_http_response_unref(struct out_response *r);
/* End the response body: trailers, the last chunk; a length mismatch cuts
 * it (ex->why says why). 0 or -errno. (http-response.c) */
int wh_http_finish_response(struct exchange *ex, struct fields *trailers);
/* Drop of an outgoing-body resource. (http-response.c) */
void wh_http_out_body_drop(struct wh_ctx *ctx, void *obj);
/* An error-code variant value; payloads get their "unknown" form, and
 * internal-error carries msg (may be NULL). (http-response.c) */
void wh_http_error_code_val(wasmtime_component_val_t *v, const char *case_name, const char *msg);
/* Drop one reference of an outgoing-request. (http-client.c) */
void wh_http_request_unref(struct out_request *r);
/* The output-stream of an outgoing request's body: buffered, bounded.
 * (http-client.c) */
ssize_t wh_http_reqbody_check_write(void *s);
ssize_t wh_http_reqbody_write(void *s, const void *buf, size_t n);

/* --- host functions, listed by http.c's tables --------------------------------- */

typedef wasmtime_error_t *wh_http_fn(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				     size_t na, wasmtime_component_val_t *res, size_t nr);

/* fields (http-fields.c) */
wh_http_fn wh_http_fields_ctor;
wh_http_fn wh_http_fields_from_list;
wh_http_fn wh_http_fields_get;
wh_http_fn wh_http_fields_has;
wh_http_fn wh_http_fields_set;
wh_http_fn wh_http_fields_del;
wh_http_fn wh_http_fields_append;
wh_http_fn wh_http_fields_entries;
wh_http_fn wh_http_fields_clone_fn;

/* incoming-request, incoming-body, future-trailers (http-request.c) */
wh_http_fn wh_http_ireq_method;
wh_http_fn wh_http_ireq_path;
wh_http_fn wh_http_ireq_scheme;
wh_http_fn wh_http_ireq_authority;
wh_http_fn wh_http_ireq_headers;
wh_http_fn wh_http_ireq_consume;
wh_http_fn wh_http_ibody_stream;
wh_http_fn wh_http_ibody_finish;
wh_http_fn wh_http_trailers_subscribe;
wh_http_fn wh_http_trailers_get;

/* outgoing-response, outgoing-body, response-outparam, error-code (http-response.c) */
wh_http_fn wh_http_outparam_informational;
wh_http_fn wh_http_outparam_set;
wh_http_fn wh_http_oresp_ctor;
wh_http_fn wh_http_oresp_status;
wh_http_fn wh_http_oresp_set_status;
wh_http_fn wh_http_oresp_headers;
wh_http_fn wh_http_oresp_body;
wh_http_fn wh_http_obody_write;
wh_http_fn wh_http_obody_finish;
wh_http_fn wh_http_http_error_code;

/* outgoing-request, request-options, outgoing-handler, future-incoming-response, incoming-response (http-client.c) */
wh_http_fn wh_http_oreq_ctor;
wh_http_fn wh_http_oreq_body;
wh_http_fn wh_http_oreq_method;
wh_http_fn wh_http_oreq_set_method;
wh_http_fn wh_http_oreq_path;
wh_http_fn wh_http_oreq_set_path;
wh_http_fn wh_http_oreq_scheme;
wh_http_fn wh_http_oreq_set_scheme;
wh_http_fn wh_http_oreq_authority;
wh_http_fn wh_http_oreq_set_authority;
wh_http_fn wh_http_oreq_headers;
wh_http_fn wh_http_ropt_ctor;
wh_http_fn wh_http_ropt_connect;
wh_http_fn wh_http_ropt_set_connect;
wh_http_fn wh_http_ropt_first;
wh_http_fn wh_http_ropt_set_first;
wh_http_fn wh_http_ropt_between;
wh_http_fn wh_http_ropt_set_between;
wh_http_fn wh_http_iresp_status;
wh_http_fn wh_http_iresp_headers;
wh_http_fn wh_http_iresp_consume;
wh_http_fn wh_http_future_subscribe;
wh_http_fn wh_http_future_get;
wh_http_fn wh_http_outgoing_handle;

#endif
