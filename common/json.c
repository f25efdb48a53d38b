#include "common/json.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

int sk_json_parse(const char *buf, size_t len, json_object **out, struct sk_error *err)
{
	json_tokener *tok;
	json_object *obj;
	enum json_tokener_error jerr;
	size_t used;

	if (len > INT32_MAX)
		return sk_err(err, -E2BIG, "JSON document of %zu bytes is too large", len);
	tok = json_tokener_new_ex(SK_JSON_MAX_DEPTH);
	if (!tok)
		return sk_err(err, -ENOMEM, "out of memory");
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr != json_tokener_success) {
		json_object_put(obj);
		if (jerr == json_tokener_continue)
			return sk_err(err, -EINVAL, "JSON document ends early");
		return sk_err(err, -EINVAL, "invalid JSON at byte %zu: %s", used, json_tokener_error_desc(jerr));
	}
	while (used < len && strchr(" \t\r\n", buf[used]))
		used++;
	if (used != len) {
		json_object_put(obj);
		return sk_err(err, -EINVAL, "invalid JSON: trailing data at byte %zu", used);
	}
	*out = obj;
	return 0;
}

json_object *sk_json_get(json_object *root, const char *path)
{
	json_object *cur = root;
	const char *p = path;

	while (cur && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		char key[256];

		if (n == 0 || n >= sizeof(key) || !json_object_is_type(cur, json_type_object))
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		if (!json_object_object_get_ex(cur, key, &cur))
			return NULL;
		p += n + (dot ? 1 : 0);
	}
	return cur;
}

json_object *sk_json_getv(json_object *root, ...)
{
	json_object *cur = root;
	const char *key;
	va_list ap;

	va_start(ap, root);
	while (cur && (key = va_arg(ap, const char *))) {
		if (!json_object_is_type(cur, json_type_object) || !json_object_object_get_ex(cur, key, &cur))
			cur = NULL;
	}
	va_end(ap);
	return cur;
}

const char *sk_json_str(json_object *root, const char *path)
{
	json_object *o = sk_json_get(root, path);

	return json_object_is_type(o, json_type_string) ? json_object_get_string(o) : NULL;
}

json_object *sk_json_obj(json_object *root, const char *path)
{
	json_object *o = sk_json_get(root, path);

	return json_object_is_type(o, json_type_object) ? o : NULL;
}

json_object *sk_json_arr(json_object *root, const char *path)
{
	json_object *o = sk_json_get(root, path);

	return json_object_is_type(o, json_type_array) ? o : NULL;
}

int sk_json_int64(json_object *root, const char *path, int64_t *out)
{
	json_object *o = sk_json_get(root, path);

	if (!o)
		return -ENOENT;
	if (!json_object_is_type(o, json_type_int))
		return -EINVAL;
	errno = 0;
	*out = json_object_get_int64(o);
	return 0;
}

bool sk_json_bool(json_object *root, const char *path, bool def)
{
	json_object *o = sk_json_get(root, path);

	return json_object_is_type(o, json_type_boolean) ? json_object_get_boolean(o) : def;
}

int sk_json_set(json_object *obj, const char *key, json_object *value)
{
	if (!value)
		return -ENOMEM;
	if (json_object_object_add(obj, key, value) < 0) {
		json_object_put(value);
		return -ENOMEM;
	}
	return 0;
}

int sk_json_set_str(json_object *obj, const char *key, const char *value)
{
	return sk_json_set(obj, key, json_object_new_string(value));
}

int sk_json_set_int64(json_object *obj, const char *key, int64_t value)
{
	return sk_json_set(obj, key, json_object_new_int64(value));
}

int sk_json_set_bool(json_object *obj, const char *key, bool value)
{
	return sk_json_set(obj, key, json_object_new_boolean(value));
}

json_object *sk_json_ensure_obj(json_object *obj, const char *key)
{
	json_object *o;

	if (json_object_object_get_ex(obj, key, &o))
		return json_object_is_type(o, json_type_object) ? o : NULL;
	o = json_object_new_object();
	if (sk_json_set(obj, key, o) < 0)
		return NULL;
	return o;
}

const char *sk_json_to_string(json_object *obj, size_t *len)
{
	return json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
						  len);
}
