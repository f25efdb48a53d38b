/* inbound-http echo: reports the request as the runtime handed it over, one
 * item per line, so that tests can parse it (200, text/plain):
 *
 *   method NAME             GET, POST, PUT, DELETE, PATCH, HEAD or OPTIONS
 *   uri URI
 *   header NAME: VALUE      for each header, in the order given (spin-* too)
 *   param NAME=VALUE        for each param, in the order given
 *   env NAME=VALUE          for each environment variable, sorted by name
 *   body-option none|some   whether the body option was set
 *   body-bytes N            its length
 *   body-fnv1a64 HEX        FNV-1a 64 of it (16 lowercase hex digits)
 *   body                    marker; exactly N bytes of body follow
 */
#include <wasi/libc-environ.h>

#include "guest.h"

static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_env(struct buf *out)
{
	char **environ = __wasilibc_get_environ();
	size_t n = 0;

	while (environ && environ[n])
		n++;
	char **env = xrealloc(NULL, (n + 1) * sizeof(*env));
	memcpy(env, environ, n * sizeof(*env));
	qsort(env, n, sizeof(*env), cmp_str);
	for (size_t i = 0; i < n; i++)
		buf_printf(out, "env %s\n", env[i]);
	free(env);
}

void exports_fermyon_spin_inbound_http_handle_request(request_t *req, response_t *ret)
{
	static const char *const headers[] = {"content-type", "text/plain", NULL};
	struct buf out = {0};
	const fermyon_spin_http_types_body_t *body = &req->body.val;
	uint64_t h = 14695981039346656037ull;
	size_t len = req->body.is_some ? body->len : 0;

	buf_printf(&out, "method %s\n", req->method < 7 ? methods[req->method] : "?");
	buf_printf(&out, "uri %.*s\n", (int)req->uri.len, (const char *)req->uri.ptr);
	for (size_t i = 0; i < req->headers.len; i++) {
		inbound_http_guest_tuple2_string_string_t *kv = &req->headers.ptr[i];
		buf_printf(&out, "header %.*s: %.*s\n", (int)kv->f0.len, (const char *)kv->f0.ptr,
		           (int)kv->f1.len, (const char *)kv->f1.ptr);
	}
	for (size_t i = 0; i < req->params.len; i++) {
		inbound_http_guest_tuple2_string_string_t *kv = &req->params.ptr[i];
		buf_printf(&out, "param %.*s=%.*s\n", (int)kv->f0.len, (const char *)kv->f0.ptr,
		           (int)kv->f1.len, (const char *)kv->f1.ptr);
	}
	add_env(&out);
	for (size_t i = 0; i < len; i++) {
		h ^= body->ptr[i];
		h *= 1099511628211ull;
	}
	buf_printf(&out, "body-option %s\nbody-bytes %zu\nbody-fnv1a64 %016llx\nbody\n",
	           req->body.is_some ? "some" : "none", len, (unsigned long long)h);
	buf_add(&out, len ? body->ptr : NULL, len);
	exports_fermyon_spin_inbound_http_request_free(req);
	respond(ret, 200, headers, &out);
}
