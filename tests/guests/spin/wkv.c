/* wasi:keyvalue@0.2.0-draft2 over HTTP: store, atomics and batch on the
 * bucket ?store=LABEL (default "default"):
 *
 *   GET ?key=K            200 with the value, 404 "none" when K is not there
 *   PUT ?key=K            sets K to the body (at most 4 MiB): 200 "ok"
 *   DELETE ?key=K         200 "ok"
 *   GET ?exists=K         200 "true" or "false"
 *   GET ?keys             200, the keys of list-keys one a line, sorted, then
 *                         "cursor none" or "cursor C"; &cursor=C passes C
 *   POST ?incr=K&by=N     increment by N (a signed decimal): 200 "N"
 *   POST ?cas=K           cas.new, then swap to the body: 200 "swapped";
 *                         with &race=V the key is set to V between cas.new
 *                         and swap, so the swap fails: 200 "cas-failed
 *                         current=VALUE" and, swapping again on the cas it
 *                         got back, "swapped on retry"
 *   POST ?get-many=K1,K2  200, "K=VALUE" or "K none" a line
 *   POST ?set-many=K1=V1,K2=V2    200 "ok"
 *   POST ?delete-many=K1,K2       200 "ok"
 *
 * A call that fails answers 500 text/plain: "no-such-store",
 * "access-denied" or "other: MESSAGE" (a swap's store error:
 * "store-error other: MESSAGE"). */
#include "http.h"

#define ST(name)  wasi_keyvalue_store_##name
#define AT(name)  wasi_keyvalue_atomics_##name
#define BA(name)  wasi_keyvalue_batch_##name
#define MAX_VALUE (4 * 1024 * 1024)
#define MAX_ITEMS 2000

static void error_text(const ST(error_t) * err, const char *prefix, char *text, size_t size)
{
	if (err->tag == WASI_KEYVALUE_STORE_ERROR_OTHER)
		snprintf(text, size, "%sother: %.*s\n", prefix, (int)err->val.other.len, (const char *)err->val.other.ptr);
	else
		snprintf(text, size, "%s%s\n", prefix,
		         err->tag == WASI_KEYVALUE_STORE_ERROR_NO_SUCH_STORE ? "no-such-store" : "access-denied");
}

/* fail answers 500 with the case of ERR, which it frees. */
static void fail(own_outparam_t out, ST(error_t) * err)
{
	char text[1200];

	error_text(err, "", text, sizeof(text));
	ST(error_free)(err);
	respond_text(out, 500, text);
}

static guest_string_t str(const char *s)
{
	return (guest_string_t){.ptr = (uint8_t *)s, .len = strlen(s)};
}

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

/* split S (modified) at commas into at most MAX_ITEMS strings. */
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

static void text_200(own_outparam_t out, struct body_out *b)
{
	respond(out, 200, fields_of((const char *const[]){"content-type", "text/plain", NULL}), b);
}

static void do_cas(ST(borrow_bucket_t) bucket, borrow_request_t req, own_outparam_t out, const char *key,
                   const char *race)
{
	guest_string_t k = str(key);
	guest_list_u8_t value;
	AT(own_cas_t) cas;
	AT(cas_error_t) cerr;
	ST(error_t) err;
	struct body_out b;
	char text[1200];

	if (read_body(req, &value) < 0) {
		respond_text(out, 413, "the value is over 4 MiB or broke off\n");
		return;
	}
	if (!AT(static_cas_new)(bucket, &k, &cas, &err)) {
		free(value.ptr);
		fail(out, &err);
		return;
	}
	if (race) {
		guest_list_u8_t other = {.ptr = (uint8_t *)race, .len = strlen(race)};
		if (!ST(method_bucket_set)(bucket, &k, &other, &err)) {
			AT(cas_drop_own)(cas);
			free(value.ptr);
			fail(out, &err);
			return;
		}
	}
	if (AT(swap)(cas, &value, &cerr)) {
		respond_text(out, 200, "swapped\n");
	} else if (cerr.tag == WASI_KEYVALUE_ATOMICS_CAS_ERROR_STORE_ERROR) {
		error_text(&cerr.val.store_error, "store-error ", text, sizeof(text));
		AT(error_free)(&cerr.val.store_error);
		respond_text(out, 500, text);
	} else {
		AT(own_cas_t) again = cerr.val.cas_failed;
		guest_option_list_u8_t cur;
		text_200(out, &b);
		if (!AT(method_cas_current)(AT(borrow_cas)(again), &cur, &err)) {
			body_out_printf(&b, "cas-failed current: error\n");
			ST(error_free)(&err);
			AT(cas_drop_own)(again);
		} else {
			body_out_printf(&b, "cas-failed current=%.*s\n", cur.is_some ? (int)cur.val.len : 4,
			                cur.is_some ? (const char *)cur.val.ptr : "none");
			guest_option_list_u8_free(&cur);
			if (AT(swap)(again, &value, &cerr)) {
				body_out_printf(&b, "swapped on retry\n");
			} else {
				body_out_printf(&b, "retry failed\n");
				if (cerr.tag == WASI_KEYVALUE_ATOMICS_CAS_ERROR_CAS_FAILED)
					AT(cas_drop_own)(cerr.val.cas_failed);
				else
					AT(error_free)(&cerr.val.store_error);
			}
		}
		body_out_finish(&b, NULL);
	}
	free(value.ptr);
}

static void do_batch(ST(borrow_bucket_t) bucket, own_outparam_t out, char *get_many, char *set_many,
                     char *delete_many)
{
	static guest_string_t items[MAX_ITEMS];
	ST(error_t) err;
	struct body_out b;
	size_t n = split(get_many ? get_many : set_many ? set_many : delete_many, items);

	if (get_many) {
		guest_list_string_t keys = {.ptr = items, .len = n};
		guest_list_tuple2_string_option_list_u8_t got;
		if (!BA(get_many)(bucket, &keys, &got, &err)) {
			fail(out, &err);
			return;
		}
		text_200(out, &b);
		for (size_t i = 0; i < got.len; i++) {
			guest_tuple2_string_option_list_u8_t *t = &got.ptr[i];
			if (t->f1.is_some)
				body_out_printf(&b, "%.*s=%.*s\n", (int)t->f0.len, (const char *)t->f0.ptr,
				                (int)t->f1.val.len, (const char *)t->f1.val.ptr);
			else
				body_out_printf(&b, "%.*s none\n", (int)t->f0.len, (const char *)t->f0.ptr);
		}
		body_out_finish(&b, NULL);
		guest_list_tuple2_string_option_list_u8_free(&got);
	} else if (set_many) {
		static guest_tuple2_string_list_u8_t kv[MAX_ITEMS];
		guest_list_tuple2_string_list_u8_t list = {.ptr = kv, .len = n};
		for (size_t i = 0; i < n; i++) {
			char *eq = memchr(items[i].ptr, '=', items[i].len);
			size_t kl = eq ? (size_t)(eq - (char *)items[i].ptr) : items[i].len;
			kv[i].f0 = (guest_string_t){.ptr = items[i].ptr, .len = kl};
			kv[i].f1 = (guest_list_u8_t){.ptr = eq ? (uint8_t *)eq + 1 : NULL,
			                             .len = eq ? items[i].len - kl - 1 : 0};
		}
		if (!BA(set_many)(bucket, &list, &err))
			fail(out, &err);
		else
			respond_text(out, 200, "ok\n");
	} else {
		guest_list_string_t keys = {.ptr = items, .len = n};
		if (!BA(delete_many)(bucket, &keys, &err))
			fail(out, &err);
		else
			respond_text(out, 200, "ok\n");
	}
}

static void serve(ST(borrow_bucket_t) bucket, borrow_request_t req, own_outparam_t out, const char *method,
                  const char *path)
{
	char *key = query_param(path, "key"), *exists = query_param(path, "exists"), *keys = query_param(path, "keys"),
	     *cursor = query_param(path, "cursor"), *incr = query_param(path, "incr"), *by = query_param(path, "by"),
	     *cas = query_param(path, "cas"), *race = query_param(path, "race"),
	     *gm = query_param(path, "get-many"), *sm = query_param(path, "set-many"),
	     *dm = query_param(path, "delete-many");
	int get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
	ST(error_t) err;
	struct body_out b;

	if (get && key) {
		guest_string_t k = str(key);
		guest_option_list_u8_t value;
		if (!ST(method_bucket_get)(bucket, &k, &value, &err)) {
			fail(out, &err);
		} else if (!value.is_some) {
			respond_text(out, 404, "none\n");
		} else {
			respond(out, 200,
			        fields_of((const char *const[]){"content-type", "application/octet-stream", NULL}), &b);
			if (body_out_write(&b, value.val.ptr, value.val.len) < 0)
				body_out_abandon(&b);
			else
				body_out_finish(&b, NULL);
			guest_option_list_u8_free(&value);
		}
	} else if (!strcmp(method, "PUT") && key) {
		guest_string_t k = str(key);
		guest_list_u8_t value;
		if (read_body(req, &value) < 0)
			respond_text(out, 413, "the value is over 4 MiB or broke off\n");
		else if (!ST(method_bucket_set)(bucket, &k, &value, &err))
			fail(out, &err);
		else
			respond_text(out, 200, "ok\n");
		free(value.ptr);
	} else if (!strcmp(method, "DELETE") && key) {
		guest_string_t k = str(key);
		if (!ST(method_bucket_delete)(bucket, &k, &err))
			fail(out, &err);
		else
			respond_text(out, 200, "ok\n");
	} else if (get && exists) {
		guest_string_t k = str(exists);
		bool yes;
		if (!ST(method_bucket_exists)(bucket, &k, &yes, &err))
			fail(out, &err);
		else
			respond_text(out, 200, yes ? "true\n" : "false\n");
	} else if (get && keys) {
		guest_string_t c = cursor ? str(cursor) : (guest_string_t){0};
		ST(key_response_t) resp;
		if (!ST(method_bucket_list_keys)(bucket, cursor ? &c : NULL, &resp, &err)) {
			fail(out, &err);
		} else {
			qsort(resp.keys.ptr, resp.keys.len, sizeof(*resp.keys.ptr), cmp_string);
			text_200(out, &b);
			for (size_t i = 0; i < resp.keys.len; i++)
				body_out_printf(&b, "%.*s\n", (int)resp.keys.ptr[i].len, (const char *)resp.keys.ptr[i].ptr);
			if (resp.cursor.is_some)
				body_out_printf(&b, "cursor %.*s\n", (int)resp.cursor.val.len,
				                (const char *)resp.cursor.val.ptr);
			else
				body_out_printf(&b, "cursor none\n");
			body_out_finish(&b, NULL);
			guest_list_string_free(&resp.keys);
			guest_option_string_free(&resp.cursor);
		}
	} else if (post && incr) {
		guest_string_t k = str(incr);
		int64_t delta = by ? strtoll(by, NULL, 10) : 1, v;
		char text[32];
		if (!AT(increment)(bucket, &k, delta, &v, &err)) {
			fail(out, &err);
		} else {
			snprintf(text, sizeof(text), "%lld\n", (long long)v);
			respond_text(out, 200, text);
		}
	} else if (post && cas) {
		do_cas(bucket, req, out, cas, race);
	} else if (post && (gm || sm || dm)) {
		do_batch(bucket, out, gm, sm, dm);
	} else {
		respond_text(out, 400, "see tests/guests/spin/wkv.c for the requests this guest answers\n");
	}
	free(key);
	free(exists);
	free(keys);
	free(cursor);
	free(incr);
	free(by);
	free(cas);
	free(race);
	free(gm);
	free(sm);
	free(dm);
}

void HANDLE(own_request_t request, own_outparam_t out)
{
	borrow_request_t req = HTTP(borrow_incoming_request)(request);
	char *method = request_method(req), *path = request_path(req), *label = query_param(path, "store");
	guest_string_t l = str(label ? label : "default");
	ST(own_bucket_t) bucket;
	ST(error_t) err;

	if (!ST(open)(&l, &bucket, &err)) {
		fail(out, &err);
	} else {
		serve(ST(borrow_bucket)(bucket), req, out, method, path);
		ST(bucket_drop_own)(bucket);
	}
	free(method);
	free(path);
	free(label);
	HTTP(incoming_request_drop_own)(request);
}
