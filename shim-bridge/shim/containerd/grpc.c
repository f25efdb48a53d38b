/* gRPC calls to containerd over HTTP/2 on its unix socket, with libcurl
 * (see grpc.h). */
#include "shim-bridge/shim/containerd/grpc.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "common/buf.h"
#include "common/cleanup.h"

struct ctrd_client {
	CURL *curl;
	struct curl_slist *headers;
	char socket[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char ns[CTRD_NAMESPACE_MAX + 1];
};

/* One call in flight: what the callbacks fill. */
struct call {
	struct grpc_deframer deframer;
	struct grpc_status status;
	grpc_msg_fn fn;
	void *ud;
	int failed;           /* the negative errno that stopped the body */
	struct sk_error *err; /* where the body's failure is described */
	bool bad_status;      /* a grpc-status line that did not parse */
	bool not_grpc;        /* the body came with a status or type not gRPC's */
	CURL *curl;
};

static bool ns_ok(const char *ns)
{
	size_t n = strlen(ns);

	if (n == 0 || n > CTRD_NAMESPACE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = ns[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

int ctrd_client_new(const char *address, const char *ns, struct ctrd_client **out, struct sk_error *err)
{
	const char *path = strncmp(address, "unix://", 7) == 0 ? address + 7 : address;
	char line[32 + CTRD_NAMESPACE_MAX];

	if (path[0] != '/')
		return sk_err(err, -EINVAL,
		              "containerd address \"%s\" is not a unix socket path (unix:///PATH or /PATH)",
		              address);
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return sk_err(err, -ENAMETOOLONG,
		              "containerd socket %s: the path is longer than a unix socket allows", path);
	if (!ns_ok(ns))
		return sk_err(err, -EINVAL,
		              "containerd namespace \"%s\" must be 1 to %d letters, digits, '.', '_' or '-'",
		              ns, CTRD_NAMESPACE_MAX);
	_cleanup_free_ struct ctrd_client *c = calloc(1, sizeof(*c));
	if (!c)
		return sk_err(err, -ENOMEM, "out of memory");
	memcpy(c->socket, path, strlen(path) + 1);
	memcpy(c->ns, ns, strlen(ns) + 1);
	(void)snprintf(line, sizeof(line), "containerd-namespace: %s", ns);
	const char *fixed[] = {"content-type: application/grpc",
	                       "te: trailers",
	                       "user-agent: spinkube-c",
	                       "Accept:",
	                       "Expect:",
	                       line};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		struct curl_slist *l = curl_slist_append(c->headers, fixed[i]);
		if (!l) {
			curl_slist_free_all(c->headers);
			return sk_err(err, -ENOMEM, "out of memory");
		}
		c->headers = l;
	}
	if (!(c->curl = curl_easy_init())) {
		curl_slist_free_all(c->headers);
		return sk_err(err, -ENOMEM, "out of memory (curl_easy_init)");
	}
	*out = TAKE_PTR(c);
	return 0;
}

const char *ctrd_client_socket(const struct ctrd_client *c)
{
	return c->socket;
}

void ctrd_client_free(struct ctrd_client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->curl);
	curl_slist_free_all(c->headers);
	free(c);
}

static size_t on_body(char *data, size_t size, size_t n, void *p)
{
	struct call *k = p;
	long http = 0;

	/* The headers are all in before the first body byte: a body that is
	 * not gRPC's is never fed to the deframer. */
	(void)curl_easy_getinfo(k->curl, CURLINFO_RESPONSE_CODE, &http);
	if (http != 200 || !k->status.grpc_type) {
		k->not_grpc = true;
		return 0;
	}
	int r = grpc_deframer_feed(&k->deframer, (const uint8_t *)data, size * n, k->fn, k->ud, k->err);

	if (r < 0) {
		k->failed = r;
		return 0; /* libcurl stops the transfer */
	}
	return size * n;
}

static size_t on_header(char *line, size_t size, size_t n, void *p)
{
	struct call *k = p;

	if (grpc_status_header(&k->status, line, size * n) < 0)
		k->bad_status = true;
	return size * n;
}

/* The transfer ended: turn its outcome into 0 or one error line. */
static int call_result(struct ctrd_client *c, const char *method, struct call *k, CURLcode cr,
                       const char *errbuf, struct sk_error *err)
{
	long http = 0;

	(void)curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &http);
	if (k->not_grpc || (cr == CURLE_OK && (http != 200 || !k->status.grpc_type)))
		return sk_err(err, -EPROTO,
		              "containerd %s: %s: answered HTTP %ld%s, not a gRPC answer: is this "
		              "containerd's gRPC socket (not its ttrpc one)?",
		              c->socket, method, http,
		              k->status.grpc_type ? "" : " without content-type application/grpc");
	if (k->failed < 0) {
		/* The framing's own refusals say "gRPC: ..." and need the call
		 * named; the callback's name their thing already. */
		if (!err || err->code != k->failed)
			return sk_err(err, k->failed, "containerd %s: %s: the answer was refused", c->socket,
			              method);
		if (strncmp(err->message, "gRPC: ", 6) == 0)
			(void)sk_err_prefix(err, "containerd %s: %s", c->socket, method);
		return k->failed;
	}
	if (cr == CURLE_COULDNT_CONNECT)
		return sk_err(err, -ECONNREFUSED,
		              "containerd %s: cannot connect (%s): is containerd running, and is "
		              "GRPC_ADDRESS its socket?",
		              c->socket, errbuf[0] ? errbuf : curl_easy_strerror(cr));
	if (cr == CURLE_OPERATION_TIMEDOUT)
		return sk_err(err, -ETIMEDOUT, "containerd %s: %s: no answer in time (%s)", c->socket, method,
		              errbuf);
	if (cr != CURLE_OK)
		return sk_err(err, -EIO, "containerd %s: %s: %s", c->socket, method,
		              errbuf[0] ? errbuf : curl_easy_strerror(cr));
	if (k->bad_status || !k->status.have)
		return sk_err(err, -EPROTO, "containerd %s: %s: the answer has %s grpc-status", c->socket,
		              method, k->bad_status ? "a malformed" : "no");
	if (k->status.code != 0)
		return sk_err(err, grpc_code_errno(k->status.code), "containerd %s: %s: %s: %s", c->socket,
		              method, grpc_code_name(k->status.code),
		              k->status.message[0] ? k->status.message : "(no message)");
	if (!grpc_deframer_idle(&k->deframer))
		return sk_err(err, -EPROTO, "containerd %s: %s: the answer ends inside a message", c->socket,
		              method);
	return 0;
}

/* Run one call: POST the framed request, feed the body to fn. */
static int call_run(struct ctrd_client *c, const char *method, const uint8_t *req, size_t len, size_t msg_max,
                    bool unary, grpc_msg_fn fn, void *ud, struct sk_error *err)
{
	char url[256], errbuf[CURL_ERROR_SIZE] = "";
	struct call k = { .fn = fn, .ud = ud, .err = err, .curl = c->curl };
	CURL *h = c->curl;

	if (len > GRPC_MSG_MAX)
		return sk_err(err, -EMSGSIZE, "containerd %s: %s: the request is larger than %u bytes",
		              c->socket, method, GRPC_MSG_MAX);
	if (snprintf(url, sizeof(url), "http://containerd%s", method) >= (int)sizeof(url))
		return sk_err(err, -ENAMETOOLONG, "gRPC method name %.64s... is too long", method);
	_cleanup_free_ uint8_t *body = malloc(GRPC_PREFIX_LEN + len);
	if (!body)
		return sk_err(err, -ENOMEM, "out of memory");
	grpc_prefix_encode(body, (uint32_t)len);
	if (len)
		memcpy(body + GRPC_PREFIX_LEN, req, len);
	grpc_deframer_init(&k.deframer, msg_max);
	curl_easy_reset(h);
	/* A fresh connection per call: libcurl 7.88 (bookworm) fails the second
	 * request on a re-used HTTP/2 prior-knowledge connection with "Error in
	 * the HTTP2 framing layer". Connecting to a unix socket costs little
	 * next to what a call does. */
	(void)curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
	(void)curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
	(void)curl_easy_setopt(h, CURLOPT_URL, url);
	(void)curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->socket);
	(void)curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	(void)curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers);
	(void)curl_easy_setopt(h, CURLOPT_POST, 1L);
	(void)curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)body);
	(void)curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(GRPC_PREFIX_LEN + len));
	(void)curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	(void)curl_easy_setopt(h, CURLOPT_WRITEDATA, &k);
	(void)curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	(void)curl_easy_setopt(h, CURLOPT_HEADERDATA, &k);
	(void)curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	(void)curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	(void)curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
	if (unary) {
		(void)curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)CTRD_UNARY_TIMEOUT_MS);
	} else {
		(void)curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		(void)curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)CTRD_STREAM_IDLE_S);
	}
	CURLcode cr = curl_easy_perform(h);
	int r = call_result(c, method, &k, cr, errbuf, err);
	if (r == 0 && unary && k.deframer.messages != 1)
		r = sk_err(err, -EPROTO, "containerd %s: %s: %zu messages in a unary answer, not 1",
		           c->socket, method, k.deframer.messages);
	grpc_deframer_free(&k.deframer);
	return r;
}

int ctrd_call_stream(struct ctrd_client *c, const char *method, const uint8_t *req, size_t len,
                     size_t msg_max, grpc_msg_fn fn, void *ud, struct sk_error *err)
{
	return call_run(c, method, req, len, msg_max, false, fn, ud, err);
}

/* A unary answer: the first message is kept; a second fails the call. */
struct one {
	struct sk_buf b;
	bool got;
	const char *socket, *method;
	struct sk_error *err;
};

static int keep_one(void *ud, const uint8_t *msg, size_t len)
{
	struct one *o = ud;

	if (o->got)
		return sk_err(o->err, -EPROTO, "containerd %s: %s: more than one message in a unary answer",
		              o->socket, o->method);
	o->got = true;
	if (sk_buf_append(&o->b, msg, len) < 0)
		return sk_err(o->err, -ENOMEM, "out of memory");
	return 0;
}

int ctrd_call_unary(struct ctrd_client *c, const char *method, const uint8_t *req, size_t len,
                    size_t resp_max, uint8_t **resp, size_t *resp_len, struct sk_error *err)
{
	struct one o = { .b = sk_buf_make(resp_max), .socket = c->socket, .method = method, .err = err };
	int r = call_run(c, method, req, len, resp_max, true, keep_one, &o, err);

	if (r < 0) {
		sk_buf_free(&o.b);
		return r;
	}
	size_t n = 0;
	char *data = sk_buf_steal(&o.b, &n);
	if (!data)
		return sk_err(err, -ENOMEM, "out of memory");
	*resp_len = n;
	*resp = (uint8_t *)data;
	return 0;
}
