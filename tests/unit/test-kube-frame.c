/* Watch-stream framing: lines cut anywhere, handed over once, bounded. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "controller/kube/frame.h"
#include "tests/tap.h"

struct seen {
	char lines[16][64];
	int n;
	int stop_at; /* return -EINTR on this line number (1-based), 0: never */
};

static int collect(const char *line, size_t len, void *ud)
{
	struct seen *s = ud;

	if (s->n < 16 && len < 64) {
		memcpy(s->lines[s->n], line, len);
		s->lines[s->n][len] = '\0';
	}
	s->n++;
	return s->stop_at && s->n == s->stop_at ? -EINTR : 0;
}

int main(void)
{
	const char *stream = "{\"a\":1}\n{\"b\":2}\r\n\n{\"c\":3}\n";
	size_t len = strlen(stream);

	/* Every way of cutting the stream in two gives the same three lines. */
	int all_same = 1;
	for (size_t cut = 0; cut <= len; cut++) {
		struct kube_framer f;
		struct seen s = { 0 };
		kube_framer_init(&f, 64);
		kube_framer_feed(&f, stream, cut, collect, &s);
		kube_framer_feed(&f, stream + cut, len - cut, collect, &s);
		if (s.n != 3 || strcmp(s.lines[0], "{\"a\":1}") || strcmp(s.lines[1], "{\"b\":2}") ||
		    strcmp(s.lines[2], "{\"c\":3}") || kube_framer_pending(&f) != 0)
			all_same = 0;
		kube_framer_free(&f);
	}
	ok(all_same, "a stream cut at any byte yields the same lines, CR and empty lines dropped");

	{
		/* Byte by byte. */
		struct kube_framer f;
		struct seen s = { 0 };
		kube_framer_init(&f, 64);
		for (size_t i = 0; i < len; i++)
			kube_framer_feed(&f, stream + i, 1, collect, &s);
		is_int(s.n, 3, "fed one byte at a time, three lines");
		kube_framer_free(&f);
	}
	{
		struct kube_framer f;
		struct seen s = { 0 };
		kube_framer_init(&f, 64);
		is_int(kube_framer_feed(&f, "{\"half\":", 8, collect, &s), 0, "a partial line is kept");
		is_int(s.n, 0, "and not handed over");
		is_int((int)kube_framer_pending(&f), 8, "its bytes wait");
		kube_framer_feed(&f, "1}\n", 3, collect, &s);
		is_str(s.lines[0], "{\"half\":1}", "the line is joined across chunks");
		kube_framer_free(&f);
	}
	{
		struct kube_framer f;
		struct seen s = { 0 };
		char big[100];
		memset(big, 'x', sizeof(big));
		kube_framer_init(&f, 16);
		is_int(kube_framer_feed(&f, big, sizeof(big), collect, &s), -E2BIG,
		       "an unfinished line past the cap is -E2BIG");
		is_int((int)kube_framer_pending(&f), 0, "and the framer is reset");
		big[50] = '\n';
		is_int(kube_framer_feed(&f, big, sizeof(big), collect, &s), -E2BIG,
		       "a whole line past the cap inside one chunk is -E2BIG");
		is_int(kube_framer_feed(&f, "ok\n", 3, collect, &s), 0, "the framer works after an error");
		is_str(s.lines[0], "ok", "and hands over the next line");
		kube_framer_free(&f);
	}
	{
		struct kube_framer f;
		struct seen s = { .stop_at = 2 };
		kube_framer_init(&f, 64);
		is_int(kube_framer_feed(&f, "a\nb\nc\n", 6, collect, &s), -EINTR, "a callback's error stops feeding");
		is_int(s.n, 2, "no line after the one that failed");
		kube_framer_free(&f);
	}
	return tap_done();
}
