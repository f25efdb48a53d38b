/* Spin key-value: fermyon:spin/key-value@2.0.0 over HTTP. Opens the store
 * ?store=LABEL (default "default"), then:
 *
 *   GET ?key=K           200 with the value (application/octet-stream),
 *                        404 "no such key" when K is not there
 *   PUT or POST ?key=K   sets K to the request body (at most 4 MiB, else
 *                        413): 200 "ok"
 *   DELETE ?key=K        200 "ok", also when K was not there
 *   GET ?exists=K        200 "true" or "false"
 *   GET ?keys            200, the keys one per line, sorted
 *
 * A call that fails (open included) answers 500 text/plain with the error
 * case and a newline: "store-table-full", "no-such-store", "access-denied" or
 * "other: MESSAGE". Anything else: 400, or 405 for another method. */
#include "http.h"

#define KV(name)  fermyon_spin_2_0_0_key_value_##name
#define MAX_VALUE (4 * 1024 * 1024)

static const char *const kv_errors[] = {
    [FERMYON_SPIN_2_0_0_KEY_VALUE_ERROR_STORE_TABLE_FULL] = "store-table-full",
    [FERMYON_SPIN_2_0_0_KEY_VALUE_ERROR_NO_SUCH_STORE] = "no-such-store",
    [FERMYON_SPIN_2_0_0_KEY_VALUE_ERROR_ACCESS_DENIED] = "access-denied",
};

/* fail answers 500 with the case of ERR, which it frees. */
static void fail(own_outparam_t out, KV(error_t) * err)
{
	char text[1024];

	if (err->tag == FERMYON_SPIN_2_0_0_KEY_VALUE_ERROR_OTHER)
		snprintf(text, sizeof(text), "other: %.*s\n", (int)err->val.other.len,
		         (const char *)err->val.other.ptr);
	else
		snprintf(text, sizeof(text), "%s\n", err->tag < 3 ? kv_errors[err->tag] : "?");
	KV(error_free)(err);
	respond_text(out, 500, text);
}

/* read_body reads REQ's body into *VALUE (malloc'd); -1 when it is over
 * MAX_VALUE or breaks off. */
static int read_body(borrow_request_t req, guest_list_u8_t *value)
{
	struct body_in in;
	guest_list_u8_t chunk;
	size_t cap = 0;
	int r;

	*value = (guest_list_u8_t){0};
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
		*value = (guest_list_u8_t){0};
	}
	return r;
}

static int cmp_string(const void *a, const void *b)
{
	const guest_string_t *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->ptr, y->ptr, n);
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* serve runs one operation on STORE; METHOD and PATH say which. */
static void serve(KV(borrow_store_t) store, borrow_request_t req, own_outparam_t out, const char *method,
                  const char *path)
{
	char *key = query_param(path, "key"), *exists = query_param(path, "exists"),
	     *keys = query_param(path, "keys");
	int get = !strcmp(method, "GET"), set = !strcmp(method, "PUT") || !strcmp(method, "POST");
	KV(error_t) err;
	struct body_out b;

	if (get && key) {
		guest_string_t k = {.ptr = (uint8_t *)key, .len = strlen(key)};
		guest_option_list_u8_t value;
		if (!KV(method_store_get)(store, &k, &value, &err)) {
			fail(out, &err);
		} else if (!value.is_some) {
			respond_text(out, 404, "no such key\n");
		} else {
			respond(out, 200,
			        fields_of(
			            (const char *const[]){"content-type", "application/octet-stream", NULL}),
			        &b);
			if (body_out_write(&b, value.val.ptr, value.val.len) < 0)
				body_out_abandon(&b);
			else
				body_out_finish(&b, NULL);
			guest_option_list_u8_free(&value);
		}
	} else if (set && key) {
		guest_string_t k = {.ptr = (uint8_t *)key, .len = strlen(key)};
		guest_list_u8_t value;
		if (read_body(req, &value) < 0)
			respond_text(out, 413, "the value is over 4 MiB or broke off\n");
		else if (!KV(method_store_set)(store, &k, &value, &err))
			fail(out, &err);
		else
			respond_text(out, 200, "ok\n");
		free(value.ptr);
	} else if (!strcmp(method, "DELETE") && key) {
		guest_string_t k = {.ptr = (uint8_t *)key, .len = strlen(key)};
		if (!KV(method_store_delete)(store, &k, &err))
			fail(out, &err);
		else
			respond_text(out, 200, "ok\n");
	} else if (get && exists) {
		guest_string_t k = {.ptr = (uint8_t *)exists, .len = strlen(exists)};
		bool yes;
		if (!KV(method_store_exists)(store, &k, &yes, &err))
			fail(out, &err);
		else
			respond_text(out, 200, yes ? "true\n" : "false\n");
	} else if (get && keys) {
		guest_list_string_t all;
		if (!KV(method_store_get_keys)(store, &all, &err)) {
			fail(out, &err);
		} else {
			qsort(all.ptr, all.len, sizeof(*all.ptr), cmp_string);
			respond(out, 200,
			        fields_of((const char *const[]){"content-type", "text/plain", NULL}), &b);
			for (size_t i = 0; i < all.len; i++)
				body_out_printf(&b, "%.*s\n", (int)all.ptr[i].len,
				                (const char *)all.ptr[i].ptr);
			body_out_finish(&b, NULL);
			guest_list_string_free(&all);
		}
	} else if (get || set || !strcmp(method, "DELETE")) {
		respond_text(out, 400,
		             "usage: GET|PUT|POST|DELETE ?key=K, GET ?exists=K, GET ?keys; &store=LABEL\n");
	} else {
		respond_text(out, 405, "GET, PUT, POST or DELETE\n");
	}
	free(key);
	free(exists);
	free(keys);
}

void HANDLE(own_request_t request, own_outparam_t out)
{
	borrow_request_t req = HTTP(borrow_incoming_request)(request);
	char *method = request_method(req), *path = request_path(req), *label = query_param(path, "store");
	guest_string_t l = {.ptr = (uint8_t *)(label ? label : "default"),
	                    .len = strlen(label ? label : "default")};
	KV(own_store_t) store;
	KV(error_t) err;

	if (!KV(static_store_open)(&l, &store, &err)) {
		fail(out, &err);
	} else {
		serve(KV(borrow_store)(store), req, out, method, path);
		KV(store_drop_own)(store);
	}
	free(method);
	free(path);
	free(label);
	HTTP(incoming_request_drop_own)(request);
}
