/* Spin variables: GET /?name=X reads the component's variable X twice, with
 * fermyon:spin/variables@2.0.0 get and with wasi:config/store get
 * (wasi:config@0.2.0-draft-2024-09-27), and answers 200 text/plain, one line
 * each:
 *
 *   spin=VALUE        or  spin-error=CASE: MESSAGE
 *                         (CASE: invalid-name, undefined, provider, other)
 *   config=VALUE      or  config-none             (ok, but no value)
 *                     or  config-error=CASE: MESSAGE  (CASE: upstream, io)
 *
 * GET /?all answers wasi:config/store get-all instead: "all NAME=VALUE" per
 * variable, sorted by name (or one config-error line). Anything else: 400. */
#include "http.h"

static const char *const spin_errors[] = {
    [FERMYON_SPIN_2_0_0_VARIABLES_ERROR_INVALID_NAME] = "invalid-name",
    [FERMYON_SPIN_2_0_0_VARIABLES_ERROR_UNDEFINED] = "undefined",
    [FERMYON_SPIN_2_0_0_VARIABLES_ERROR_PROVIDER] = "provider",
    [FERMYON_SPIN_2_0_0_VARIABLES_ERROR_OTHER] = "other",
};
static const char *const config_errors[] = {
    [WASI_CONFIG_STORE_ERROR_UPSTREAM] = "upstream",
    [WASI_CONFIG_STORE_ERROR_IO] = "io",
};

/* Every case of both error variants carries a string, at the same place. */
#define CASE(names, tag) ((tag) < sizeof(names) / sizeof(*(names)) ? (names)[tag] : "?")

static void spin_get(struct body_out *b, const char *name)
{
	guest_string_t key = {.ptr = (uint8_t *)name, .len = strlen(name)}, value;
	fermyon_spin_2_0_0_variables_error_t err;

	if (fermyon_spin_2_0_0_variables_get(&key, &value, &err)) {
		body_out_printf(b, "spin=%.*s\n", (int)value.len, (const char *)value.ptr);
		guest_string_free(&value);
	} else {
		body_out_printf(b, "spin-error=%s: %.*s\n", CASE(spin_errors, err.tag),
		                (int)err.val.other.len, (const char *)err.val.other.ptr);
		fermyon_spin_2_0_0_variables_error_free(&err);
	}
}

static void config_get(struct body_out *b, const char *name)
{
	guest_string_t key = {.ptr = (uint8_t *)name, .len = strlen(name)};
	guest_option_string_t value;
	wasi_config_store_error_t err;

	if (!wasi_config_store_get(&key, &value, &err)) {
		body_out_printf(b, "config-error=%s: %.*s\n", CASE(config_errors, err.tag),
		                (int)err.val.io.len, (const char *)err.val.io.ptr);
		wasi_config_store_error_free(&err);
	} else if (!value.is_some) {
		body_out_printf(b, "config-none\n");
	} else {
		body_out_printf(b, "config=%.*s\n", (int)value.val.len, (const char *)value.val.ptr);
		guest_option_string_free(&value);
	}
}

static int cmp_pair(const void *a, const void *b)
{
	const guest_tuple2_string_string_t *x = a, *y = b;
	size_t n = x->f0.len < y->f0.len ? x->f0.len : y->f0.len;
	int c = memcmp(x->f0.ptr, y->f0.ptr, n);
	return c ? c : (x->f0.len > y->f0.len) - (x->f0.len < y->f0.len);
}

static void config_all(struct body_out *b)
{
	guest_list_tuple2_string_string_t all;
	wasi_config_store_error_t err;

	if (!wasi_config_store_get_all(&all, &err)) {
		body_out_printf(b, "config-error=%s: %.*s\n", CASE(config_errors, err.tag),
		                (int)err.val.io.len, (const char *)err.val.io.ptr);
		wasi_config_store_error_free(&err);
		return;
	}
	qsort(all.ptr, all.len, sizeof(*all.ptr), cmp_pair);
	for (size_t i = 0; i < all.len; i++)
		body_out_printf(b, "all %.*s=%.*s\n", (int)all.ptr[i].f0.len, (const char *)all.ptr[i].f0.ptr,
		                (int)all.ptr[i].f1.len, (const char *)all.ptr[i].f1.ptr);
	guest_list_tuple2_string_string_free(&all);
}

void HANDLE(own_request_t request, own_outparam_t out)
{
	char *path = request_path(HTTP(borrow_incoming_request)(request));
	char *name = query_param(path, "name"), *all = query_param(path, "all");
	struct body_out b;

	HTTP(incoming_request_drop_own)(request);
	if (!name && !all) {
		respond_text(out, 400, "usage: ?name=VARIABLE or ?all\n");
	} else {
		respond(out, 200, fields_of((const char *const[]){"content-type", "text/plain", NULL}), &b);
		if (name) {
			spin_get(&b, name);
			config_get(&b, name);
		} else {
			config_all(&b);
		}
		body_out_finish(&b, NULL);
	}
	free(path);
	free(name);
	free(all);
}
