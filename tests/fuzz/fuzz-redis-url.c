/* libFuzzer target: the url of a [key_value_store.X] of type "redis" (from
 * the runtime config, outside input) through wh_redis_url_parse. Nothing
 * may crash, leak or hang; a URL taken has a host within the cap and a
 * port and database in range; a refusal is one line with a negative code,
 * and no message of a redis:// or rediss:// URL quotes a password (before
 * the last '@'). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/escape.h"
#include "shim-bridge/wasi/redis-conn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wh_redis_url u = {0};
	struct sk_error err = {0};
	const char *secret, *at;
	char *in;
	int r;

	if (size > WH_REDIS_URL_MAX + 16 || !(in = malloc(size + 1)))
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	r = wh_redis_url_parse(in, &u, &err);
	if (r == 0) {
		size_t hl = strlen(u.host);
		if (hl == 0 || hl > WH_REDIS_HOST_MAX || u.port < 1 || u.port > 65535 || u.db < 0 ||
		    u.db > WH_REDIS_DB_MAX || (u.user && !u.password))
			__builtin_trap();
	} else if (r != err.code || err.message[0] == '\0' || !sk_is_one_line(err.message)) {
		__builtin_trap();
	} else if ((strncmp(in, "redis://", 8) == 0 || strncmp(in, "rediss://", 9) == 0) &&
	           (at = strrchr(in, '@')) && !strstr(at, "s3cr3t") && (secret = strstr(in, "s3cr3t")) &&
	           secret < at && strstr(err.message, "s3cr3t")) {
		__builtin_trap(); /* a password (before the last '@') quoted back */
	}
	wh_redis_url_clear(&u);
	free(in);
	return 0;
}
