#include "controller/kube/frame.h"

#include <errno.h>
#include <string.h>

/* The most a framer keeps allocated between lines. */
#define FRAMER_KEEP (64u << 10)

static int emit(const char *line, size_t len, kube_line_fn fn, void *ud)
{
	if (len && line[len - 1] == '\r')
		len--;
	return len ? fn(line, len, ud) : 0;
}

int kube_framer_feed(struct kube_framer *f, const char *data, size_t len, kube_line_fn fn, void *userdata)
{
	const char *p = data, *end = data + len;
	int r;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl) {
			/* An unfinished line: keep it for the next chunk. */
			r = sk_buf_append(&f->partial, p, (size_t)(end - p));
			if (r < 0)
				kube_framer_reset(f);
			return r;
		}
		if (f->partial.len) {
			r = sk_buf_append(&f->partial, p, (size_t)(nl - p));
			if (r < 0) {
				kube_framer_reset(f);
				return r;
			}
			r = emit(f->partial.data, f->partial.len, fn, userdata);
			/* A long line (a CA bundle Secret: hundreds of KiB) must
			 * not keep its buffer for the life of the watch. */
			if (f->partial.cap > FRAMER_KEEP)
				sk_buf_free(&f->partial);
			else
				kube_framer_reset(f);
		} else {
			if ((size_t)(nl - p) > f->partial.max)
				return -E2BIG;
			r = emit(p, (size_t)(nl - p), fn, userdata);
		}
		if (r < 0)
			return r;
		p = nl + 1;
	}
	return 0;
}
