/* One writer for both OTLP encodings: the binary protobuf of
 * OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf and the JSON mapping of
 * http/json. The encoders of telemetry.c and metrics.c say each field once,
 * with its protobuf field number and its JSON name, and the writer emits
 * whichever form it was made for:
 *
 *   protobuf: tag and wire type per field; nested messages length-delimited
 *             (the length is patched in when the message ends); repeated
 *             fields repeat the tag; packed numbers for bucket counts and
 *             bounds.
 *   JSON:     lowerCamelCase names, arrays for repeated fields, trace and
 *             span ids as hex, 64-bit integers as decimal strings, enums as
 *             numbers (the OTLP/JSON rules).
 *
 * Strings are made valid UTF-8 (an invalid byte becomes U+FFFD), because a
 * receiver rejects the whole batch over one bad string. Errors (out of
 * memory, the buffer's max, nesting deeper than OTW_DEPTH_MAX) stick: the
 * calls after one do nothing and otw_finish returns it. */
#ifndef SPIN_BRIDGE_TELEMETRY_OTLP_WRITE_H
#define SPIN_BRIDGE_TELEMETRY_OTLP_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/buf.h"

#define OTW_DEPTH_MAX 16

struct otw_level {
	size_t start;   /* protobuf: where the message's bytes begin */
	uint32_t field; /* protobuf: the array's field number */
	bool array;     /* JSON: inside [ ] */
	bool first;     /* JSON: nothing written at this level yet */
};

struct otw {
	struct sk_buf *b;
	bool json;
	int depth;
	int err;
	struct otw_level lv[OTW_DEPTH_MAX];
};

/* Start writing one message (the root: no tag, no length) into b. */
void otw_init(struct otw *w, struct sk_buf *b, bool json);
/* End the root message. 0, or the first error (-ENOMEM, -E2BIG, -EOVERFLOW). */
int otw_finish(struct otw *w);

/* A nested message (a field of message type, or the next element of the
 * array open at this level: then field and name are not used). */
void otw_msg_begin(struct otw *w, uint32_t field, const char *name);
void otw_msg_end(struct otw *w);
/* A repeated message field: elements follow with otw_msg_begin or otw_raw. */
void otw_array_begin(struct otw *w, uint32_t field, const char *name);
void otw_array_end(struct otw *w);
/* An element already encoded by a writer of the same kind (a whole message
 * body, as otw_init/otw_finish made it), into the array open here. */
void otw_raw(struct otw *w, const char *data, size_t len);

void otw_str(struct otw *w, uint32_t field, const char *name, const char *s, size_t len);
static inline void otw_cstr(struct otw *w, uint32_t field, const char *name, const char *s)
{
	otw_str(w, field, name, s, strlen(s));
}
/* bytes shown as hex in JSON: trace and span ids */
void otw_id(struct otw *w, uint32_t field, const char *name, const uint8_t *p, size_t n);
/* a varint: enums and uint32 (JSON number) */
void otw_enum(struct otw *w, uint32_t field, const char *name, uint64_t v);
/* int64 as a varint (JSON string) */
void otw_int64(struct otw *w, uint32_t field, const char *name, int64_t v);
/* fixed64 / sfixed64 (JSON string) */
void otw_fixed64(struct otw *w, uint32_t field, const char *name, uint64_t v);
/* fixed32 (JSON number) */
void otw_fixed32(struct otw *w, uint32_t field, const char *name, uint32_t v);
void otw_double(struct otw *w, uint32_t field, const char *name, double v);
void otw_bool(struct otw *w, uint32_t field, const char *name, bool v);
/* packed repeated fixed64 (JSON array of strings) and double (of numbers) */
void otw_packed_fixed64(struct otw *w, uint32_t field, const char *name, const uint64_t *v, size_t n);
void otw_packed_double(struct otw *w, uint32_t field, const char *name, const double *v, size_t n);

/* KeyValue helpers: an element of an "attributes" array (field numbers of
 * common.proto's KeyValue and AnyValue). */
void otw_kv_str(struct otw *w, const char *key, const char *value);
void otw_kv_int(struct otw *w, const char *key, int64_t value);

#endif
