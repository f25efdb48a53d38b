/* libFuzzer target: bytes a Redis server sends a subscribed connection,
 * through the Redis trigger's gate (wh_redis_gate_feed) and hiredis'
 * parser, in chunks whose sizes come from the input's first byte. Nothing
 * may crash, leak or hang; the gate never writes more than the bound it
 * promises, and no bulk string the parser returns is over the cap. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>

#include "shim-bridge/wasi/redis-sub.h"

#define CAP 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* No string in r (or its elements) is longer than CAP. */
static void check(const redisReply *r, int depth)
{
	if (depth > 16)
		__builtin_trap();
	if (r->type == REDIS_REPLY_STRING && r->len > CAP)
		__builtin_trap();
	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
		check(r->element[i], depth + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[4096 + WH_REDIS_GATE_LINE_MAX + 8];
	struct wh_redis_gate g = { .cap = CAP };
	redisReader *rd;
	size_t step;

	if (size < 1 || size > (1 << 16) || !(rd = redisReaderCreate()))
		return 0;
	step = (size_t)data[0] % 64 + 1;
	for (size_t i = 1; i < size; i += step) {
		size_t k = size - i < step ? size - i : step, n = 0;
		void *rep = NULL;
		if (wh_redis_gate_feed(&g, (const char *)data + i, k, out, &n) < 0)
			break;
		if (n > k + WH_REDIS_GATE_LINE_MAX + 5)
			__builtin_trap();
		if (n && redisReaderFeed(rd, out, n) != REDIS_OK)
			break;
		while (redisReaderGetReply(rd, &rep) == REDIS_OK && rep) {
			check(rep, 0);
			freeReplyObject(rep);
			rep = NULL;
		}
		if (rd->err)
			break;
	}
	redisReaderFree(rd);
	return 0;
}
