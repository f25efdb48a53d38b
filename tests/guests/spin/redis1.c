/* Outbound Redis through Spin 1.x's fermyon:spin/redis (the address on
 * every call) over HTTP, to ?addr=URL by ?op=:
 *
 *   set&key=K (body)   200 "ok"
 *   get&key=K          200 with the value (empty for a missing key)
 *   incr&key=K         200 "N"
 *   del&key=K          200 "N"
 *   execute&cmd=X&key=K  200, one line per result ("nil", "status:S",
 *                      "int64:N", "binary:TEXT"), with K as the argument
 *
 * A call that fails answers 500 "error". */
#include "http.h"

#define R1(name) fermyon_spin_redis_##name

static guest_string_t str(const char *s)
{
	return (guest_string_t){.ptr = (uint8_t *)(s ? s : ""), .len = s ? strlen(s) : 0};
}

void HANDLE(own_request_t request, own_outparam_t out)
{
	borrow_request_t req = HTTP(borrow_incoming_request)(request);
	char *path = request_path(req), *addr = query_param(path, "addr"), *op = query_param(path, "op"),
	     *key = query_param(path, "key"), *cmd = query_param(path, "cmd");
	guest_string_t a = str(addr), k = str(key);
	R1(error_t) err;
	struct body_out b;
	char text[64];

	if (!op) {
		respond_text(out, 400, "?op= is missing\n");
	} else if (!strcmp(op, "set")) {
		struct body_in in;
		guest_list_u8_t chunk;
		R1(payload_t) value = {0};
		body_in_open(req, &in);
		while (body_in_read(&in, CHUNK, &chunk) > 0) {
			value.ptr = realloc(value.ptr, value.len + chunk.len);
			memcpy(value.ptr + value.len, chunk.ptr, chunk.len);
			value.len += chunk.len;
			guest_list_u8_free(&chunk);
		}
		body_in_finish(&in, NULL);
		if (R1(set)(&a, &k, &value, &err))
			respond_text(out, 200, "ok\n");
		else
			respond_text(out, 500, "error\n");
		free(value.ptr);
	} else if (!strcmp(op, "get")) {
		R1(payload_t) value;
		if (!R1(get)(&a, &k, &value, &err)) {
			respond_text(out, 500, "error\n");
		} else {
			respond(out, 200, fields_of((const char *const[]){"content-type", "application/octet-stream", NULL}), &b);
			if (body_out_write(&b, value.ptr, value.len) < 0)
				body_out_abandon(&b);
			else
				body_out_finish(&b, NULL);
			free(value.ptr);
		}
	} else if (!strcmp(op, "incr") || !strcmp(op, "del")) {
		int64_t n;
		guest_list_string_t keys = {.ptr = &k, .len = 1};
		bool okay = !strcmp(op, "incr") ? R1(incr)(&a, &k, &n, &err) : R1(del)(&a, &keys, &n, &err);
		if (!okay) {
			respond_text(out, 500, "error\n");
		} else {
			snprintf(text, sizeof(text), "%lld\n", (long long)n);
			respond_text(out, 200, text);
		}
	} else if (!strcmp(op, "execute")) {
		guest_string_t c = str(cmd);
		R1(redis_parameter_t) p = {.tag = FERMYON_SPIN_REDIS_TYPES_REDIS_PARAMETER_BINARY,
		                           .val.binary = {.ptr = k.ptr, .len = k.len}};
		R1(list_redis_parameter_t) pl = {.ptr = &p, .len = key ? 1 : 0};
		R1(list_redis_result_t) res;
		if (!R1(execute)(&a, &c, &pl, &res, &err)) {
			respond_text(out, 500, "error\n");
		} else {
			respond(out, 200, fields_of((const char *const[]){"content-type", "text/plain", NULL}), &b);
			for (size_t i = 0; i < res.len; i++) {
				if (res.ptr[i].tag == FERMYON_SPIN_REDIS_TYPES_REDIS_RESULT_NIL)
					body_out_printf(&b, "nil\n");
				else if (res.ptr[i].tag == FERMYON_SPIN_REDIS_TYPES_REDIS_RESULT_STATUS)
					body_out_printf(&b, "status:%.*s\n", (int)res.ptr[i].val.status.len,
					                (const char *)res.ptr[i].val.status.ptr);
				else if (res.ptr[i].tag == FERMYON_SPIN_REDIS_TYPES_REDIS_RESULT_INT64)
					body_out_printf(&b, "int64:%lld\n", (long long)res.ptr[i].val.int64);
				else
					body_out_printf(&b, "binary:%.*s\n", (int)res.ptr[i].val.binary.len,
					                (const char *)res.ptr[i].val.binary.ptr);
			}
			body_out_finish(&b, NULL);
			R1(list_redis_result_free)(&res);
		}
	} else {
		respond_text(out, 400, "unknown ?op=\n");
	}
	free(path);
	free(addr);
	free(op);
	free(key);
	free(cmd);
	HTTP(incoming_request_drop_own)(request);
}
