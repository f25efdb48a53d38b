/* libFuzzer target: a watch stream in arbitrary chunks. The framer must hand
 * over exactly the lines a one-shot split would, never more than the cap, and
 * each line must go through the same JSON decoding the watch uses, without a
 * crash, a leak or unbounded memory. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "controller/kube/frame.h"
#include "common/json.h"

#define MAX_LINE 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct tally {
	size_t lines, bytes;
};

static int on_line(const char *line, size_t len, void *ud)
{
	struct tally *t = ud;
	json_object *ev = NULL;

	if (len > MAX_LINE || memchr(line, '\n', len))
		abort();
	t->lines++;
	t->bytes += len;
	if (sk_json_parse(line, len, &ev, NULL) == 0) {
		(void)sk_json_str(ev, "type");
		(void)sk_json_str(ev, "object.metadata.resourceVersion");
		json_object_put(ev);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kube_framer whole, chunked;
	struct tally a = { 0 }, b = { 0 };
	size_t step, off = 0;
	int ra, rb = 0;

	if (size < 1)
		return 0;
	/* The first byte picks the chunk size for the second pass. */
	step = (size_t)data[0] % 64 + 1;
	data++;
	size--;
	kube_framer_init(&whole, MAX_LINE);
	kube_framer_init(&chunked, MAX_LINE);
	ra = kube_framer_feed(&whole, (const char *)data, size, on_line, &a);
	while (off < size && rb == 0) {
		size_t n = size - off < step ? size - off : step;
		rb = kube_framer_feed(&chunked, (const char *)data + off, n, on_line, &b);
		off += n;
	}
	/* Without an over-long line, chunking must not change what is seen. */
	if (ra == 0 && rb == 0 && (a.lines != b.lines || a.bytes != b.bytes ||
				   kube_framer_pending(&whole) != kube_framer_pending(&chunked)))
		abort();
	if (kube_framer_pending(&chunked) > MAX_LINE)
		abort();
	kube_framer_free(&whole);
	kube_framer_free(&chunked);
	return 0;
}
