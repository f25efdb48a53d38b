/* OTLP's two encodings from one set of calls (see otlp-write.h). */
#include "shim-bridge/telemetry/otlp-write.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include "common/utf8.h"

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

static void put(struct otw *w, const void *p, size_t n)
{
	int r;

	if (w->err == 0 && n > 0 && (r = sk_buf_append(w->b, p, n)) < 0)
		w->err = r;
}

static void put_varint(struct otw *w, uint64_t v)
{
	uint8_t b[10];
	size_t n = 0;

	do {
		b[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			b[n] |= 0x80;
		n++;
	} while (v);
	put(w, b, n);
}

static void put_le(struct otw *w, uint64_t v, size_t n)
{
	uint8_t b[8];

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	put(w, b, n);
}

static void put_tag(struct otw *w, uint32_t field, unsigned wt)
{
	put_varint(w, ((uint64_t)field << 3) | wt);
}

/* protobuf: the bytes from start on become a length-delimited value. */
static void patch_len(struct otw *w, size_t start)
{
	uint8_t v[10];
	size_t n = 0, len;

	if (w->err)
		return;
	len = w->b->len - start;
	for (uint64_t x = len;; x >>= 7) {
		v[n] = (uint8_t)(x & 0x7f);
		if (x >> 7)
			v[n] |= 0x80;
		n++;
		if (!(x >> 7))
			break;
	}
	put(w, v, n); /* grow by n, then shift the value right */
	if (w->err)
		return;
	memmove(w->b->data + start + n, w->b->data + start, len);
	memcpy(w->b->data + start, v, n);
}

/* JSON: the separator and the key of the next value at this level. */
static void json_key(struct otw *w, const char *name)
{
	struct otw_level *l = &w->lv[w->depth];

	if (!l->first)
		put(w, ",", 1);
	l->first = false;
	if (!l->array) {
		put(w, "\"", 1);
		put(w, name, strlen(name));
		put(w, "\":", 2);
	}
}

/* protobuf: the field number of the next value (an array's own). */
static uint32_t pb_field(const struct otw *w, uint32_t field)
{
	return w->lv[w->depth].array ? w->lv[w->depth].field : field;
}

static void push(struct otw *w, bool array, uint32_t field, size_t start)
{
	if (w->err)
		return;
	if (w->depth + 1 >= OTW_DEPTH_MAX) {
		w->err = -EOVERFLOW;
		return;
	}
	w->depth++;
	w->lv[w->depth] = (struct otw_level){ .start = start, .field = field, .array = array, .first = true };
}

void otw_init(struct otw *w, struct sk_buf *b, bool json)
{
	*w = (struct otw){ .b = b, .json = json };
	w->lv[0] = (struct otw_level){ .start = b->len, .first = true };
	if (json)
		put(w, "{", 1);
}

int otw_finish(struct otw *w)
{
	if (w->err == 0 && w->depth != 0)
		w->err = -EINVAL;
	if (w->json)
		put(w, "}", 1);
	return w->err;
}

void otw_msg_begin(struct otw *w, uint32_t field, const char *name)
{
	if (w->err)
		return;
	if (w->json) {
		json_key(w, name);
		put(w, "{", 1);
		push(w, false, 0, 0);
	} else {
		put_tag(w, pb_field(w, field), WT_LEN);
		push(w, false, 0, w->b->len);
	}
}

void otw_msg_end(struct otw *w)
{
	if (w->err)
		return;
	if (w->depth == 0 || w->lv[w->depth].array) {
		w->err = -EINVAL;
		return;
	}
	if (w->json)
		put(w, "}", 1);
	else
		patch_len(w, w->lv[w->depth].start);
	w->depth--;
}

void otw_array_begin(struct otw *w, uint32_t field, const char *name)
{
	if (w->err)
		return;
	if (w->json) {
		json_key(w, name);
		put(w, "[", 1);
	}
	push(w, true, field, 0);
}

void otw_array_end(struct otw *w)
{
	if (w->err)
		return;
	if (!w->lv[w->depth].array) {
		w->err = -EINVAL;
		return;
	}
	if (w->json)
		put(w, "]", 1);
	w->depth--;
}

void otw_raw(struct otw *w, const char *data, size_t len)
{
	if (w->err)
		return;
	if (!w->lv[w->depth].array) {
		w->err = -EINVAL;
		return;
	}
	if (w->json) {
		json_key(w, NULL);
	} else {
		put_tag(w, w->lv[w->depth].field, WT_LEN);
		put_varint(w, len);
	}
	put(w, data, len);
}

/* s[0..len) as valid UTF-8 (U+FFFD for each bad byte), JSON-escaped when
 * json is set. */
static void put_text(struct otw *w, const char *s, size_t len, bool json)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0;

	while (i < len && w->err == 0) {
		size_t run = i;
		/* the longest stretch needing nothing */
		while (run < len) {
			unsigned char c = (unsigned char)s[run];
			if (c < 0x80) {
				if (json && (c < 0x20 || c == '"' || c == '\\'))
					break;
				run++;
				continue;
			}
			size_t q = sk_utf8_seq(s + run, len - run);
			if (q == 0)
				break;
			run += q;
		}
		put(w, s + i, run - i);
		if (run >= len)
			break;
		unsigned char c = (unsigned char)s[run];
		if (c >= 0x80) {
			put(w, "\xef\xbf\xbd", 3); /* U+FFFD in place of the bad byte */
		} else if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			put(w, e, 2);
		} else {
			char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			put(w, e, 6);
		}
		i = run + 1;
	}
}

void otw_str(struct otw *w, uint32_t field, const char *name, const char *s, size_t len)
{
	if (w->err)
		return;
	if (w->json) {
		json_key(w, name);
		put(w, "\"", 1);
		put_text(w, s, len, true);
		put(w, "\"", 1);
	} else {
		put_tag(w, pb_field(w, field), WT_LEN);
		size_t start = w->b->len;
		put_text(w, s, len, false);
		patch_len(w, start);
	}
}

void otw_id(struct otw *w, uint32_t field, const char *name, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	if (w->err)
		return;
	if (w->json) {
		json_key(w, name);
		put(w, "\"", 1);
		for (size_t i = 0; i < n; i++) {
			char h[2] = { hex[p[i] >> 4], hex[p[i] & 15] };
			put(w, h, 2);
		}
		put(w, "\"", 1);
	} else {
		put_tag(w, pb_field(w, field), WT_LEN);
		put_varint(w, n);
		put(w, p, n);
	}
}

static void json_number(struct otw *w, const char *name, const char *text, bool quoted)
{
	json_key(w, name);
	if (quoted)
		put(w, "\"", 1);
	put(w, text, strlen(text));
	if (quoted)
		put(w, "\"", 1);
}

void otw_enum(struct otw *w, uint32_t field, const char *name, uint64_t v)
{
	char t[24];

	if (w->err)
		return;
	if (w->json) {
		(void)snprintf(t, sizeof(t), "%" PRIu64, v);
		json_number(w, name, t, false);
	} else {
		put_tag(w, pb_field(w, field), WT_VARINT);
		put_varint(w, v);
	}
}

void otw_int64(struct otw *w, uint32_t field, const char *name, int64_t v)
{
	char t[24];

	if (w->err)
		return;
	if (w->json) {
		(void)snprintf(t, sizeof(t), "%" PRId64, v);
		json_number(w, name, t, true);
	} else {
		put_tag(w, pb_field(w, field), WT_VARINT);
		put_varint(w, (uint64_t)v);
	}
}

void otw_fixed64(struct otw *w, uint32_t field, const char *name, uint64_t v)
{
	char t[24];

	if (w->err)
		return;
	if (w->json) {
		(void)snprintf(t, sizeof(t), "%" PRIu64, v);
		json_number(w, name, t, true);
	} else {
		put_tag(w, pb_field(w, field), WT_I64);
		put_le(w, v, 8);
	}
}

void otw_fixed32(struct otw *w, uint32_t field, const char *name, uint32_t v)
{
	char t[16];

	if (w->err)
		return;
	if (w->json) {
		(void)snprintf(t, sizeof(t), "%" PRIu32, v);
		json_number(w, name, t, false);
	} else {
		put_tag(w, pb_field(w, field), WT_I32);
		put_le(w, v, 4);
	}
}

static uint64_t double_bits(double v)
{
	uint64_t u;

	memcpy(&u, &v, sizeof(u));
	return u;
}

/* JSON has no NaN or infinity: those are written as 0. */
static void json_double(char *t, size_t size, double v)
{
	(void)snprintf(t, size, "%.17g", isfinite(v) ? v : 0.0);
}

void otw_double(struct otw *w, uint32_t field, const char *name, double v)
{
	char t[40];

	if (w->err)
		return;
	if (w->json) {
		json_double(t, sizeof(t), v);
		json_number(w, name, t, false);
	} else {
		put_tag(w, pb_field(w, field), WT_I64);
		put_le(w, double_bits(v), 8);
	}
}

void otw_bool(struct otw *w, uint32_t field, const char *name, bool v)
{
	if (w->err)
		return;
	if (w->json) {
		json_number(w, name, v ? "true" : "false", false);
	} else {
		put_tag(w, pb_field(w, field), WT_VARINT);
		put_varint(w, v ? 1 : 0);
	}
}

/* A packed repeated 8-byte field: each element's bits for protobuf and its
 * JSON text from one callback. */
typedef uint64_t (*packed_elem)(const void *v, size_t i, char *text, size_t size);

static void packed(struct otw *w, uint32_t field, const char *name, const void *v, size_t n, packed_elem elem)
{
	char t[48];

	if (w->err)
		return;
	if (w->json) {
		json_key(w, name);
		put(w, "[", 1);
		for (size_t i = 0; i < n; i++) {
			if (i)
				put(w, ",", 1);
			(void)elem(v, i, t, sizeof(t));
			put(w, t, strlen(t));
		}
		put(w, "]", 1);
	} else if (n > 0) {
		put_tag(w, field, WT_LEN);
		put_varint(w, 8 * n);
		for (size_t i = 0; i < n; i++)
			put_le(w, elem(v, i, NULL, 0), 8);
	}
}

static uint64_t fixed64_elem(const void *v, size_t i, char *text, size_t size)
{
	uint64_t x = ((const uint64_t *)v)[i];

	if (text)
		(void)snprintf(text, size, "\"%" PRIu64 "\"", x);
	return x;
}

static uint64_t double_elem(const void *v, size_t i, char *text, size_t size)
{
	double x = ((const double *)v)[i];

	if (text)
		json_double(text, size, x);
	return double_bits(x);
}

void otw_packed_fixed64(struct otw *w, uint32_t field, const char *name, const uint64_t *v, size_t n)
{
	packed(w, field, name, v, n, fixed64_elem);
}

void otw_packed_double(struct otw *w, uint32_t field, const char *name, const double *v, size_t n)
{
	packed(w, field, name, v, n, double_elem);
}

/* common.proto: KeyValue { key = 1; value = 2 }, AnyValue { string_value =
 * 1; int_value = 3 } */
void otw_kv_str(struct otw *w, const char *key, const char *value)
{
	otw_msg_begin(w, 0, NULL);
	otw_cstr(w, 1, "key", key);
	otw_msg_begin(w, 2, "value");
	otw_cstr(w, 1, "stringValue", value);
	otw_msg_end(w);
	otw_msg_end(w);
}

void otw_kv_int(struct otw *w, const char *key, int64_t value)
{
	otw_msg_begin(w, 0, NULL);
	otw_cstr(w, 1, "key", key);
	otw_msg_begin(w, 2, "value");
	otw_int64(w, 3, "intValue", value);
	otw_msg_end(w);
	otw_msg_end(w);
}
