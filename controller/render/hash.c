/* Hashes and encodings of rendered objects: content hashes for names, the
 * canonical JSON behind SPIN_ANNOTATION_DESIRED_HASH, base64 for Secret data. */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json_object_iterator.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/sha256.h"
#include "controller/render/render-private.h"
#include "controller/render/render.h"

/* Canonical JSON of a rendered object never gets near this; it bounds the
 * buffer as every buffer here is bounded. */
#define CANONICAL_MAX (64u * 1024 * 1024)

void render_hash(const void *data, size_t len, unsigned n, char *buf)
{
	char hex[65];

	if (n > 64)
		n = 64;
	if (sk_sha256_hex(data, len, hex) < 0) {
		/* Only on allocation failure inside OpenSSL: an empty hash never
		 * matches a stored one, so the caller errs on writing. */
		buf[0] = '\0';
		return;
	}
	memcpy(buf, hex, n);
	buf[n] = '\0';
}

/* Where canonical JSON goes: a bounded buffer, or straight into a digest so
 * hashing a large object needs no copy of it. */
struct cwriter {
	struct sk_buf *buf;
	struct sk_sha256 *md;
};

static int cw_put(struct cwriter *w, const void *p, size_t n)
{
	if (w->md) {
		sk_sha256_update(w->md, p, n); /* a failure shows in sk_sha256_final */
		return 0;
	}
	return sk_buf_append(w->buf, p, n);
}

static int cw_puts(struct cwriter *w, const char *s)
{
	return cw_put(w, s, strlen(s));
}

/* A JSON string: only '"', '\' and control characters are escaped, every
 * other byte is written as it is, so the form does not depend on json-c's
 * escaping choices. */
static int cw_string(struct cwriter *w, const char *s, size_t len)
{
	size_t start = 0;
	int r;

	if ((r = cw_put(w, "\"", 1)) < 0)
		return r;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		if ((r = cw_put(w, s + start, i - start)) < 0)
			return r;
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			esc[2] = '\0';
		} else {
			(void)snprintf(esc, sizeof(esc), "\\u%04x", c);
		}
		if ((r = cw_puts(w, esc)) < 0)
			return r;
		start = i + 1;
	}
	if ((r = cw_put(w, s + start, len - start)) < 0)
		return r;
	return cw_put(w, "\"", 1);
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cw_value(struct cwriter *w, json_object *o);

/* An object with its keys in byte order; the key array borrows the keys. */
static int cw_object(struct cwriter *w, json_object *o)
{
	_cleanup_free_ const char **keys = NULL;
	size_t n = (size_t)json_object_object_length(o), i = 0;
	int r;

	if (n) {
		keys = calloc(n, sizeof(*keys));
		if (!keys)
			return -ENOMEM;
	}
	for (struct json_object_iterator it = json_object_iter_begin(o), end = json_object_iter_end(o);
	     !json_object_iter_equal(&it, &end) && i < n; json_object_iter_next(&it))
		keys[i++] = json_object_iter_peek_name(&it);
	qsort(keys, i, sizeof(*keys), cmp_keys);
	if ((r = cw_put(w, "{", 1)) < 0)
		return r;
	for (size_t j = 0; j < i; j++) {
		if (j && (r = cw_put(w, ",", 1)) < 0)
			return r;
		if ((r = cw_string(w, keys[j], strlen(keys[j]))) < 0 || (r = cw_put(w, ":", 1)) < 0)
			return r;
		if ((r = cw_value(w, json_object_object_get(o, keys[j]))) < 0)
			return r;
	}
	return cw_put(w, "}", 1);
}

static int cw_value(struct cwriter *w, json_object *o)
{
	char num[64];
	int r;

	switch (json_object_get_type(o)) {
	case json_type_null:
		return cw_puts(w, "null");
	case json_type_boolean:
		return cw_puts(w, json_object_get_boolean(o) ? "true" : "false");
	case json_type_int: {
		int64_t v = json_object_get_int64(o);
		if (v == INT64_MAX)
			(void)snprintf(num, sizeof(num), "%" PRIu64, json_object_get_uint64(o));
		else
			(void)snprintf(num, sizeof(num), "%" PRId64, v);
		return cw_puts(w, num);
	}
	case json_type_double:
		(void)snprintf(num, sizeof(num), "%.17g", json_object_get_double(o));
		return cw_puts(w, num);
	case json_type_string:
		return cw_string(w, json_object_get_string(o), (size_t)json_object_get_string_len(o));
	case json_type_array: {
		size_t n = json_object_array_length(o);
		if ((r = cw_put(w, "[", 1)) < 0)
			return r;
		for (size_t i = 0; i < n; i++) {
			if (i && (r = cw_put(w, ",", 1)) < 0)
				return r;
			if ((r = cw_value(w, json_object_array_get_idx(o, i))) < 0)
				return r;
		}
		return cw_put(w, "]", 1);
	}
	case json_type_object:
		return cw_object(w, o);
	}
	return -EINVAL;
}

int render_canonical_json(json_object *obj, char **out, size_t *len)
{
	struct sk_buf b = sk_buf_make(CANONICAL_MAX);
	struct cwriter w = {.buf = &b, .md = NULL};
	char *s;
	int r;

	r = cw_value(&w, obj);
	if (r < 0) {
		sk_buf_free(&b);
		return r;
	}
	s = sk_buf_steal(&b, len);
	if (!s)
		return -ENOMEM;
	*out = s;
	return 0;
}

void render_object_hash(json_object *obj, char buf[17])
{
	struct sk_sha256 s;
	struct cwriter w = {.buf = NULL, .md = &s};
	uint8_t md[32];
	char hex[65];

	buf[0] = '\0';
	if (sk_sha256_init(&s) < 0)
		return;
	if (cw_value(&w, obj) < 0) {
		sk_sha256_free(&s);
		return;
	}
	if (sk_sha256_final(&s, md) < 0)
		return; /* empty: never equal to a stored hash, so the caller writes */
	sk_sha256_to_hex(md, hex);
	memcpy(buf, hex, 16);
	buf[16] = '\0';
}

int render_arr_add(json_object *arr, json_object *value)
{
	if (!value)
		return -ENOMEM;
	if (json_object_array_add(arr, value) < 0) {
		json_object_put(value);
		return -ENOMEM;
	}
	return 0;
}
