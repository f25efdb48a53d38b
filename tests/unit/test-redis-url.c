/* Redis URLs (shim-bridge/wasi/redis-conn.c): what the runtime config's
 * [key_value_store.X] url may say, and what is refused with which words. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shim-bridge/wasi/redis-conn.h"
#include "tap.h"

static void good(const char *url, const char *host, int port, int db, const char *user, const char *pass)
{
	struct wh_redis_url u = {0};
	struct sk_error err = {0};
	int r = wh_redis_url_parse(url, &u, &err);

	ok(r == 0 && strcmp(u.host, host) == 0 && u.port == port && u.db == db &&
	       (user ? u.user && strcmp(u.user, user) == 0 : !u.user) &&
	       (pass ? u.password && strcmp(u.password, pass) == 0 : !u.password),
	   "%s: host %s port %d db %d user %s password %s (%s)", url, r == 0 ? u.host : "-", u.port, u.db,
	   u.user ? u.user : "none", u.password ? u.password : "none", err.message);
	wh_redis_url_clear(&u);
}

static void bad(const char *url, int code, const char *want)
{
	struct wh_redis_url u = {0};
	struct sk_error err = {0};
	int r = wh_redis_url_parse(url, &u, &err);

	ok(r == code && strstr(err.message, want) && !strstr(err.message, "hunter2") && u.host == NULL,
	   "%.60s: %d, %s", url, r, err.message);
	wh_redis_url_clear(&u);
}

int main(void)
{
	char *big;

	good("redis://127.0.0.1", "127.0.0.1", 6379, 0, NULL, NULL);
	good("redis://127.0.0.1/", "127.0.0.1", 6379, 0, NULL, NULL);
	good("redis://cache.internal:6380/2", "cache.internal", 6380, 2, NULL, NULL);
	good("redis://:hunter2@h:1/15", "h", 1, 15, NULL, "hunter2");
	good("redis://alice:hunter2@h", "h", 6379, 0, "alice", "hunter2");
	good("redis://hunter2@h", "h", 6379, 0, NULL,
	     "hunter2"); /* one part: a password, as redis-cli -u reads it */
	good("redis://al%40ce:p%3Aw%2f@h", "h", 6379, 0, "al@ce", "p:w/");
	good("redis://:p@ss@h", "h", 6379, 0, NULL, "p@ss"); /* the last @ ends the password */
	good("redis://[::1]:7000/1", "::1", 7000, 1, NULL, NULL);
	good("redis://h:65535/1000000", "h", 65535, 1000000, NULL, NULL);

	good("rediss://:hunter2@h:6380/2", "h", 6380, 2, NULL, "hunter2");
	{
		struct wh_redis_url u = {0};
		ok(wh_redis_url_parse("rediss://h", &u, NULL) == 0 && u.tls && u.port == 6379, "rediss:// is TLS");
		wh_redis_url_clear(&u);
		ok(wh_redis_url_parse("redis://h", &u, NULL) == 0 && !u.tls, "redis:// is not");
		wh_redis_url_clear(&u);
	}
	bad("rediss://:hunter2@h:6380/#insecure", -EINVAL, "rediss://***@h:6380: a query or fragment");
	bad("http://h", -EINVAL, "url \"http://...\": must start with redis://");
	bad("redis:/:hunter2@h", -EINVAL, "url \"...\": must start with redis://");
	bad("redis+unix:///tmp/s", -EINVAL, "\"redis+unix://...\": must start");
	bad("redis://", -EINVAL, "the host is missing");
	bad("redis://:6379", -EINVAL, "the host is missing");
	bad("redis://h:0", -EINVAL, "port must be a number from 1 to 65535");
	bad("redis://h:65536", -EINVAL, "port must be a number from 1 to 65535");
	bad("redis://h:-1", -EINVAL, "port must be");
	bad("redis://h:", -EINVAL, "port must be");
	bad("redis://h:99999999999999999999", -EINVAL, "port must be");
	bad("redis://h/x", -EINVAL, "database after / must be a number");
	bad("redis://h/1000001", -EINVAL, "database after / must be a number");
	bad("redis://h/1/2", -EINVAL, "database after / must be a number");
	bad("redis://h?protocol=resp3", -EINVAL, "a query or fragment is not supported");
	bad("redis://h#x", -EINVAL, "a query or fragment");
	bad("redis://h h", -EINVAL, "unexpected character 0x20 after the host");
	bad("redis://:hunter2%zz@h", -EINVAL, "bad %-escape");
	bad("redis://:hunter2%00@h", -EINVAL, "a NUL");
	bad("redis://:hunter2%4@h", -EINVAL, "bad %-escape");
	bad("redis://:hun/ter2@h", -EINVAL, "redis url redis://***@h: the host is missing");
	bad("redis://[::1", -EINVAL, "closing ]");
	bad("redis://[::g]", -EINVAL, "bad IPv6 address");

	big = malloc(WH_REDIS_URL_MAX + 2);
	if (big) {
		memset(big, 'a', WH_REDIS_URL_MAX + 1);
		memcpy(big, "redis://", 8);
		big[WH_REDIS_URL_MAX + 1] = '\0';
		bad(big, -EINVAL, "longer than 4096 bytes");
		big[300] = '\0';
		bad(big, -EINVAL, "longer than 255 bytes");
		free(big);
	}
	return tap_done();
}
