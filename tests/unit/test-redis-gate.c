/* The Redis trigger's gate (shim-bridge/wasi/redis-sub.c): what the RESP
 * parser is let see of a subscribed connection's bytes, whatever the
 * chunking, and a bulk over the cap replaced by a nil without being kept. */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#include "shim-bridge/wasi/redis-sub.h"
#include "tap.h"

/* Feed text through a gate of cap in chunks of step bytes; the output in
 * out (cap outsz), its length in *n. The gate's final state in *g. */
static int feed(const char *text, size_t len, size_t cap, size_t step, char *out, size_t outsz, size_t *n,
		struct wh_redis_gate *g)
{
	static char buf[1 << 16];
	size_t got;

	memset(g, 0, sizeof(*g));
	g->cap = cap;
	*n = 0;
	for (size_t i = 0; i < len; i += step) {
		size_t k = len - i < step ? len - i : step;
		int r = wh_redis_gate_feed(g, text + i, k, buf, &got);
		if (r < 0)
			return r;
		if (*n + got > outsz)
			return -E2BIG;
		memcpy(out + *n, buf, got);
		*n += got;
	}
	return 0;
}

#define MSG(ch, payload) "*3\r\n$7\r\nmessage\r\n$" #ch "\r\n" payload

int main(void)
{
	static char big[4096], out[8192];
	const char *plain = "*3\r\n$9\r\nsubscribe\r\n$4\r\njobs\r\n:1\r\n*3\r\n$7\r\nmessage\r\n$4\r\njobs\r\n$5\r\nhello\r\n";
	struct wh_redis_gate g;
	size_t n;
	bool same = true;

	is_int(feed(plain, strlen(plain), 1024, strlen(plain), out, sizeof(out), &n, &g), 0, "a subscribe reply and a message pass");
	ok(n == strlen(plain) && memcmp(out, plain, n) == 0, "... unchanged");
	for (size_t step = 1; step < 40; step++) {
		feed(plain, strlen(plain), 1024, step, out, sizeof(out), &n, &g);
		same = same && n == strlen(plain) && memcmp(out, plain, n) == 0;
	}
	ok(same, "the same bytes out for every chunking from 1 byte up");

	/* a payload of 20 bytes with a cap of 10, then a message that fits */
	const char *over = "*3\r\n$7\r\nmessage\r\n$4\r\njobs\r\n$20\r\n01234567890123456789\r\n"
			   "*3\r\n$7\r\nmessage\r\n$4\r\njobs\r\n$2\r\nok\r\n";
	const char *want = "*3\r\n$7\r\nmessage\r\n$4\r\njobs\r\n$-1\r\n*3\r\n$7\r\nmessage\r\n$4\r\njobs\r\n$2\r\nok\r\n";
	same = true;
	for (size_t step = 1; step <= strlen(over); step++) {
		feed(over, strlen(over), 10, step, out, sizeof(out), &n, &g);
		same = same && n == strlen(want) && memcmp(out, want, n) == 0 && g.refused == 1 && g.last_refused == 20;
	}
	ok(same, "a bulk over the cap becomes a nil, its bytes dropped, the next message intact (every chunking)");
	feed(over, strlen(over), 20, 7, out, sizeof(out), &n, &g);
	ok(n == strlen(over) && g.refused == 0, "a bulk of exactly the cap passes");

	/* what hiredis makes of the gate's output */
	redisReader *rd = redisReaderCreate();
	void *rep = NULL;
	feed(over, strlen(over), 10, 5, out, sizeof(out), &n, &g);
	redisReaderFeed(rd, out, n);
	ok(redisReaderGetReply(rd, &rep) == REDIS_OK && rep && ((redisReply *)rep)->type == REDIS_REPLY_ARRAY &&
	       ((redisReply *)rep)->elements == 3 && ((redisReply *)rep)->element[2]->type == REDIS_REPLY_NIL,
	   "hiredis reads the refused message as [message, channel, nil]");
	freeReplyObject(rep);
	rep = NULL;
	ok(redisReaderGetReply(rd, &rep) == REDIS_OK && rep && ((redisReply *)rep)->element[2]->len == 2,
	   "... and the next one whole");
	freeReplyObject(rep);
	redisReaderFree(rd);

	/* a refused bulk of a size far past memory is never buffered */
	const char *huge = "*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$500000000000\r\nxxxx";
	is_int(feed(huge, strlen(huge), 1 << 20, 3, out, sizeof(out), &n, &g), 0, "a 500 GB bulk header is taken");
	ok(g.refused == 1 && g.last_refused == 500000000000ull && g.left == 500000000002ull - 4,
	   "... and its bytes would be dropped as they come");

	/* refusals */
	is_int(feed("*65\r\n", 5, 10, 5, out, sizeof(out), &n, &g), -EPROTO, "an array of more than 64 elements");
	is_int(feed("$x1\r\n", 5, 10, 5, out, sizeof(out), &n, &g), -EPROTO, "a bulk length that is no number");
	is_int(feed("$-5\r\n", 5, 10, 5, out, sizeof(out), &n, &g), -EPROTO, "a negative bulk length other than -1");
	is_int(feed("$5\n", 3, 10, 5, out, sizeof(out), &n, &g), -EPROTO, "a line without its CR");
	memset(big, 'a', sizeof(big));
	big[0] = '+';
	is_int(feed(big, sizeof(big), 10, 100, out, sizeof(out), &n, &g), 0, "a status line of 4096 bytes is held");
	is_int(feed(big, sizeof(big), 10, 100, out, sizeof(out), &n, &g) == 0 &&
		       wh_redis_gate_feed(&g, "a", 1, out, &n) == -EPROTO,
	       1, "... one byte more and it is refused");
	return tap_done();
}
