/* Packed JSON: the compact JSON the informers' caches keep of each object
 * (an app's whole spec and slim status, a Deployment's conditions),
 * deflated against a dictionary of the words every such object repeats
 * (field names, condition types and reasons), so that a few thousand apps
 * cost a few hundred bytes each instead of a kilobyte. One allocation per
 * object; the same text always packs to the same bytes, so two packed
 * copies are equal exactly when their texts are. Not thread-safe: the
 * controller's loop is one thread. */
#ifndef SPINKUBE_CONTROLLER_PACKED_H
#define SPINKUBE_CONTROLLER_PACKED_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct packed {
	uint32_t len;     /* bytes in data */
	uint32_t raw_len; /* bytes of the text, without its NUL */
	unsigned char data[];
};

/* Pack text (len bytes; at most PACKED_MAX). NULL when out of memory or
 * too long. Caller frees with free(). */
#define PACKED_MAX (64u << 20)
struct packed *packed_new(const char *text, size_t len);

/* The text again, NUL-terminated, into *out (the caller's, free()); -ENOMEM,
 * or -EINVAL when p is not what packed_new made. */
int packed_text(const struct packed *p, char **out);

/* The text parsed into a new JSON object (*out, the caller's); -EINVAL when
 * it does not unpack or is not JSON. */
int packed_parse(const struct packed *p, json_object **out);

bool packed_equal(const struct packed *a, const struct packed *b);

/* Bytes p takes, its header included. */
size_t packed_size(const struct packed *p);

/* Free the codec's streams (about 40 KiB; made again on next use). */
void packed_codec_free(void);

#endif
