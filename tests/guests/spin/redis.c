/* Outbound Redis: fermyon:spin/redis@2.0.0 over HTTP. Opens a connection
 * to ?addr=URL (percent-encoded), then by ?op=:
 *
 *   set&key=K (body)       200 "ok"
 *   get&key=K              200 with the value, 404 "none"
 *   incr&key=K             200 "N"
 *   del&keys=K1,K2         200 "N" (keys removed)
 *   sadd|srem&key=K&members=A,B   200 "N"
 *   smembers&key=K         200, the members one a line, sorted
 *   publish&channel=C (body)      200 "ok"
 *   execute&cmd=X&args=i:5,b:text 200, one line per result: "nil",
 *                          "status:S", "int64:N" or "binary:TEXT"
 *   many&n=N               opens N connections more and answers "opened N",
 *                          or the error of the first that fails
 *
 * A call that fails answers 500 text/plain with "invalid-address",
 * "too-many-connections", "type-error" or "other: MESSAGE". */
#include "http.h"

#define R(name)   fermyon_spin_2_0_0_redis_##name
#define MAX_VALUE (4 * 1024 * 1024)
#define MAX_ITEMS 256

static void fail(own_outparam_t out, R(error_t) * err)
{
	static const char *const cases[] = {"invalid-address", "too-many-connections", "type-error"};
	char text[1200];

	if (err->tag == FERMYON_SPIN_2_0_0_REDIS_ERROR_OTHER)
		snprintf(text, sizeof(text), "other: %.*s\n", (int)err->val.other.len, (const char *)err->val.other.ptr);
	else
		snprintf(text, sizeof(text), "%s\n", err->tag < 3 ? cases[err->tag] : "?");
	R(error_free)(err);
	respond_text(out, 500, text);
}

static guest_string_t str(const char *s)
{
	return (guest_string_t){.ptr = (uint8_t *)(s ? s : ""), .len = s ? strlen(s) : 0};
}

static int read_body(borrow_request_t req, R(payload_t) * value)
{
	struct body_in in;
	guest_list_u8_t chunk;
	size_t cap = 0;
	int r;

	*value = (R(payload_t)){0};
	body_in_open(req, &in);
	while ((r = body_in_read(&in, CHUNK, &chunk)) > 0) {
		if (value->len + chunk.len > MAX_VALUE) {
			guest_list_u8_free(&chunk);
			r = -1;
			break;
		}
		if (value->len + chunk.len > cap) {
			cap = cap ? 2 * cap : CHUNK;
			while (cap < value->len + chunk.len)
				cap *= 2;
			value->ptr = realloc(value->ptr, cap);
			if (!value->ptr)
				die("out of memory (%zu bytes)", cap);
		}
		memcpy(value->ptr + value->len, chunk.ptr, chunk.len);
		value->len += chunk.len;
		guest_list_u8_free(&chunk);
	}
	body_in_finish(&in, NULL);
	if (r < 0) {
		free(value->ptr);
		*value = (R(payload_t)){0};
	}
	return r;
}

static size_t split(char *s, guest_string_t *items)
{
	size_t n = 0;

	for (char *p = s; p && *p && n < MAX_ITEMS;) {
		char *comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		items[n++] = str(p);
		p = comma ? comma + 1 : NULL;
	}
	return n;
}

static int cmp_string(const void *a, const void *b)
{
	const guest_string_t *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->ptr, y->ptr, n);
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

static void number(own_outparam_t out, long long n)
{
	char text[32];

	snprintf(text, sizeof(text), "%lld\n", n);
	respond_text(out, 200, text);
}

static void serve(R(borrow_connection_t) c, borrow_request_t req, own_outparam_t out, const char *path)
{
	char *op = query_param(path, "op"), *key = query_param(path, "key"), *keys = query_param(path, "keys"),
	     *members = query_param(path, "members"), *channel = query_param(path, "channel"),
	     *cmd = query_param(path, "cmd"), *args = query_param(path, "args"), *nstr = query_param(path, "n");
	static guest_string_t items[MAX_ITEMS];
	guest_string_t k = str(key);
	R(error_t) err;
	R(payload_t) value = {0};
	struct body_out b;
	uint32_t n32;
	int64_t n64;

	if (!op) {
		respond_text(out, 400, "?op= is missing\n");
	} else if (!strcmp(op, "set") || !strcmp(op, "publish")) {
		guest_string_t ch = str(channel);
		bool done;
		if (read_body(req, &value) < 0)
			respond_text(out, 413, "over 4 MiB\n");
		else if (!strcmp(op, "set") ? !(done = R(method_connection_set)(c, &k, &value, &err))
		                            : !(done = R(method_connection_publish)(c, &ch, &value, &err)))
			fail(out, &err);
		else
			respond_text(out, 200, "ok\n");
		free(value.ptr);
	} else if (!strcmp(op, "get")) {
		R(option_payload_t) got;
		if (!R(method_connection_get)(c, &k, &got, &err)) {
			fail(out, &err);
		} else if (!got.is_some) {
			respond_text(out, 404, "none\n");
		} else {
			respond(out, 200, fields_of((const char *const[]){"content-type", "application/octet-stream", NULL}), &b);
			if (body_out_write(&b, got.val.ptr, got.val.len) < 0)
				body_out_abandon(&b);
			else
				body_out_finish(&b, NULL);
			R(option_payload_free)(&got);
		}
	} else if (!strcmp(op, "incr")) {
		if (!R(method_connection_incr)(c, &k, &n64, &err))
			fail(out, &err);
		else
			number(out, (long long)n64);
	} else if (!strcmp(op, "del")) {
		guest_list_string_t l = {.ptr = items, .len = split(keys, items)};
		if (!R(method_connection_del)(c, &l, &n32, &err))
			fail(out, &err);
		else
			number(out, n32);
	} else if (!strcmp(op, "sadd") || !strcmp(op, "srem")) {
		guest_list_string_t l = {.ptr = items, .len = split(members, items)};
		bool okay = !strcmp(op, "sadd") ? R(method_connection_sadd)(c, &k, &l, &n32, &err)
		                                 : R(method_connection_srem)(c, &k, &l, &n32, &err);
		if (!okay)
			fail(out, &err);
		else
			number(out, n32);
	} else if (!strcmp(op, "smembers")) {
		guest_list_string_t all;
		if (!R(method_connection_smembers)(c, &k, &all, &err)) {
			fail(out, &err);
		} else {
			qsort(all.ptr, all.len, sizeof(*all.ptr), cmp_string);
			respond(out, 200, fields_of((const char *const[]){"content-type", "text/plain", NULL}), &b);
			for (size_t i = 0; i < all.len; i++)
				body_out_printf(&b, "%.*s\n", (int)all.ptr[i].len, (const char *)all.ptr[i].ptr);
			body_out_finish(&b, NULL);
			guest_list_string_free(&all);
		}
	} else if (!strcmp(op, "execute")) {
		static R(redis_parameter_t) params[MAX_ITEMS];
		guest_string_t command = str(cmd);
		size_t n = split(args, items);
		R(list_redis_parameter_t) pl = {.ptr = params, .len = n};
		R(list_redis_result_t) res;
		for (size_t i = 0; i < n; i++) {
			const char *a = (const char *)items[i].ptr;
			if (items[i].len > 2 && a[0] == 'i' && a[1] == ':') {
				params[i].tag = FERMYON_SPIN_2_0_0_REDIS_REDIS_PARAMETER_INT64;
				params[i].val.int64 = strtoll(a + 2, NULL, 10);
			} else {
				params[i].tag = FERMYON_SPIN_2_0_0_REDIS_REDIS_PARAMETER_BINARY;
				params[i].val.binary = (R(payload_t)){.ptr = (uint8_t *)a + 2, .len = items[i].len > 2 ? items[i].len - 2 : 0};
			}
		}
		if (!R(method_connection_execute)(c, &command, &pl, &res, &err)) {
			fail(out, &err);
		} else {
			respond(out, 200, fields_of((const char *const[]){"content-type", "text/plain", NULL}), &b);
			for (size_t i = 0; i < res.len; i++) {
				R(redis_result_t) *x = &res.ptr[i];
				if (x->tag == FERMYON_SPIN_2_0_0_REDIS_REDIS_RESULT_NIL)
					body_out_printf(&b, "nil\n");
				else if (x->tag == FERMYON_SPIN_2_0_0_REDIS_REDIS_RESULT_STATUS)
					body_out_printf(&b, "status:%.*s\n", (int)x->val.status.len, (const char *)x->val.status.ptr);
				else if (x->tag == FERMYON_SPIN_2_0_0_REDIS_REDIS_RESULT_INT64)
					body_out_printf(&b, "int64:%lld\n", (long long)x->val.int64);
				else
					body_out_printf(&b, "binary:%.*s\n", (int)x->val.binary.len, (const char *)x->val.binary.ptr);
			}
			body_out_finish(&b, NULL);
			R(list_redis_result_free)(&res);
		}
	} else {
		respond_text(out, 400, "unknown ?op=\n");
	}
	free(op);
	free(key);
	free(keys);
	free(members);
	free(channel);
	free(cmd);
	free(args);
	free(nstr);
}

void HANDLE(own_request_t request, own_outparam_t out)
{
	borrow_request_t req = HTTP(borrow_incoming_request)(request);
	char *path = request_path(req), *addr = query_param(path, "addr"), *op = query_param(path, "op"),
	     *nstr = query_param(path, "n");
	guest_string_t a = str(addr);
	R(own_connection_t) conn, more[64];
	R(error_t) err;

	if (!R(static_connection_open)(&a, &conn, &err)) {
		fail(out, &err);
	} else if (op && !strcmp(op, "many")) {
		size_t want = nstr ? (size_t)strtoul(nstr, NULL, 10) : 1, got = 0;
		char text[64];
		if (want > 64)
			want = 64;
		while (got < want && R(static_connection_open)(&a, &more[got], &err))
			got++;
		if (got < want) {
			fail(out, &err);
		} else {
			snprintf(text, sizeof(text), "opened %zu\n", got);
			respond_text(out, 200, text);
		}
		while (got > 0)
			R(connection_drop_own)(more[--got]);
		R(connection_drop_own)(conn);
	} else {
		serve(R(borrow_connection)(conn), req, out, path);
		R(connection_drop_own)(conn);
	}
	free(path);
	free(addr);
	free(op);
	free(nstr);
	HTTP(incoming_request_drop_own)(request);
}
