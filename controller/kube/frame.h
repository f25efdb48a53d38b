/* Newline framing of a watch stream, incrementally, over a bounded buffer.
 *
 * Bytes arrive in arbitrary chunks; each complete line (one JSON watch event)
 * is handed to the callback exactly once. Lines that lie whole inside a chunk
 * are handed over in place, without a copy; only a line cut by a chunk border
 * is buffered (its buffer given back after a line over 64 KiB), and a line
 * longer than max is an error (-E2BIG), never an allocation without end. Empty lines are skipped; a trailing '\r' is dropped. */
#ifndef SPINKUBE_KUBE_FRAME_H
#define SPINKUBE_KUBE_FRAME_H

#include <stddef.h>

#include "common/buf.h"

/* Return 0 to go on, negative to stop feeding (returned by kube_framer_feed). */
typedef int (*kube_line_fn)(const char *line, size_t len, void *userdata);

struct kube_framer {
	struct sk_buf partial; /* the start of a line cut by a chunk border */
};

static inline void kube_framer_init(struct kube_framer *f, size_t max_line)
{
	f->partial = sk_buf_make(max_line);
}

/* Feed a chunk. Returns 0, -E2BIG when a line passes the cap (the framer is
 * reset; the rest of the chunk is not read), -ENOMEM, or what a callback
 * returned. */
int kube_framer_feed(struct kube_framer *f, const char *data, size_t len, kube_line_fn fn, void *userdata);

/* Bytes held for an unfinished line. */
static inline size_t kube_framer_pending(const struct kube_framer *f)
{
	return f->partial.len;
}

static inline void kube_framer_reset(struct kube_framer *f)
{
	sk_buf_reset(&f->partial);
}

static inline void kube_framer_free(struct kube_framer *f)
{
	sk_buf_free(&f->partial);
}

#endif
