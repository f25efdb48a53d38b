/* world: redis-guest
 *
 * A Redis trigger handler (fermyon:spin/inbound-redis, the unversioned
 * interface Spin's SDKs export). Each message is one command; TAG is the
 * component's variable "tag", and outbound Redis goes to its variable
 * "redis_url" (fermyon:spin/redis@2.0.0):
 *
 *   set KEY VALUE   key-value store "default": TAG:KEY = VALUE
 *   pub CHANNEL TEXT  publish "TAG:TEXT" on CHANNEL
 *   hold            INCR TAG:in (the messages in flight), SET TAG:seen:N
 *                   for the count N it saw, wait (10 ms steps, at most 20 s)
 *                   until the key TAG:release exists, DECR TAG:in, INCR
 *                   TAG:done
 *   trap            traps
 *   fail            returns the error case
 *   anything else   key-value "default": TAG:last = the payload, and
 *                   TAG:len = its length in decimal */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_guest.h"

__attribute__((weak)) void __component_type_object_force_link_redis_guest(void)
{
}

#define R(name)  fermyon_spin_2_0_0_redis_##name
#define KV(name) fermyon_spin_2_0_0_key_value_##name

static redis_guest_string_t str(const char *s)
{
	return (redis_guest_string_t){ .ptr = (uint8_t *)s, .len = strlen(s) };
}

/* A component variable, or "" (the string is the caller's to free). */
static char *var(const char *name)
{
	redis_guest_string_t key = str(name), value;
	fermyon_spin_2_0_0_variables_error_t err;
	char *out;

	if (!fermyon_spin_2_0_0_variables_get(&key, &value, &err)) {
		fermyon_spin_2_0_0_variables_error_free(&err);
		return strdup("");
	}
	out = strndup((const char *)value.ptr, value.len);
	redis_guest_string_free(&value);
	return out;
}

static void die(const char *what)
{
	fprintf(stderr, "redis-handler: %s\n", what);
	abort();
}

static void kv_set(const char *key, const uint8_t *v, size_t n)
{
	redis_guest_string_t label = str("default"), k = str(key);
	redis_guest_list_u8_t value = { .ptr = (uint8_t *)v, .len = n };
	KV(own_store_t) store;
	KV(error_t) err;

	if (!KV(static_store_open)(&label, &store, &err))
		die("key-value open failed");
	if (!KV(method_store_set)(KV(borrow_store)(store), &k, &value, &err))
		die("key-value set failed");
	KV(store_drop_own)(store);
}

static R(own_connection_t) redis_open(void)
{
	char *url = var("redis_url");
	redis_guest_string_t addr = str(url);
	R(own_connection_t) c;
	R(error_t) err;

	if (!R(static_connection_open)(&addr, &c, &err))
		die("redis open failed");
	free(url);
	return c;
}

static int64_t incr(R(own_connection_t) c, const char *key)
{
	redis_guest_string_t k = str(key);
	R(error_t) err;
	int64_t n;

	if (!R(method_connection_incr)(R(borrow_connection)(c), &k, &n, &err))
		die("incr failed");
	return n;
}

static void set(R(own_connection_t) c, const char *key, const char *v)
{
	redis_guest_string_t k = str(key);
	R(payload_t) p = { .ptr = (uint8_t *)v, .len = strlen(v) };
	R(error_t) err;

	if (!R(method_connection_set)(R(borrow_connection)(c), &k, &p, &err))
		die("set failed");
}

static bool exists(R(own_connection_t) c, const char *key)
{
	redis_guest_string_t k = str(key);
	R(option_payload_t) v;
	R(error_t) err;
	bool some;

	if (!R(method_connection_get)(R(borrow_connection)(c), &k, &v, &err))
		die("get failed");
	some = v.is_some;
	R(option_payload_free)(&v);
	return some;
}

static void decr(R(own_connection_t) c, const char *key)
{
	redis_guest_string_t cmd = str("DECR");
	R(redis_parameter_t) arg = { .tag = FERMYON_SPIN_2_0_0_REDIS_REDIS_PARAMETER_BINARY,
				      .val.binary = { .ptr = (uint8_t *)key, .len = strlen(key) } };
	R(list_redis_parameter_t) args = { .ptr = &arg, .len = 1 };
	R(list_redis_result_t) res;
	R(error_t) err;

	if (!R(method_connection_execute)(R(borrow_connection)(c), &cmd, &args, &res, &err))
		die("decr failed");
	R(list_redis_result_free)(&res);
}

static void sleep_ms(uint64_t ms)
{
	wasi_io_0_2_6_poll_own_pollable_t p = wasi_clocks_0_2_6_monotonic_clock_subscribe_duration(ms * 1000000u);

	wasi_io_0_2_6_poll_method_pollable_block(wasi_io_0_2_6_poll_borrow_pollable(p));
	wasi_io_0_2_6_poll_pollable_drop_own(p);
}

static void hold(const char *tag)
{
	R(own_connection_t) c = redis_open();
	char key[256], seen[300];

	snprintf(key, sizeof(key), "%s:in", tag);
	snprintf(seen, sizeof(seen), "%s:seen:%lld", tag, (long long)incr(c, key));
	set(c, seen, "1");
	snprintf(seen, sizeof(seen), "%s:release", tag);
	for (int i = 0; i < 2000 && !exists(c, seen); i++)
		sleep_ms(10);
	decr(c, key);
	snprintf(key, sizeof(key), "%s:done", tag);
	incr(c, key);
	R(connection_drop_own)(c);
}

static void publish(const char *tag, const char *rest)
{
	const char *sp = strchr(rest, ' ');
	char channel[256], text[4096];
	R(own_connection_t) c;
	R(error_t) err;

	if (!sp || (size_t)(sp - rest) >= sizeof(channel))
		die("pub CHANNEL TEXT");
	snprintf(channel, sizeof(channel), "%.*s", (int)(sp - rest), rest);
	snprintf(text, sizeof(text), "%s:%s", tag, sp + 1);
	redis_guest_string_t ch = str(channel);
	R(payload_t) p = { .ptr = (uint8_t *)text, .len = strlen(text) };
	c = redis_open();
	if (!R(method_connection_publish)(R(borrow_connection)(c), &ch, &p, &err))
		die("publish failed");
	R(connection_drop_own)(c);
}

bool exports_fermyon_spin_inbound_redis_handle_message(exports_fermyon_spin_inbound_redis_payload_t *message,
						       exports_fermyon_spin_inbound_redis_error_t *err)
{
	char *tag = var("tag"), *msg = strndup((const char *)message->ptr, message->len > 8192 ? 8192 : message->len);
	char key[512];
	bool ok = true;

	if (strncmp(msg, "set ", 4) == 0 && strchr(msg + 4, ' ')) {
		char *v = strchr(msg + 4, ' ');
		*v++ = '\0';
		snprintf(key, sizeof(key), "%s:%s", tag, msg + 4);
		kv_set(key, (const uint8_t *)v, strlen(v));
	} else if (strncmp(msg, "pub ", 4) == 0) {
		publish(tag, msg + 4);
	} else if (strcmp(msg, "hold") == 0) {
		hold(tag);
	} else if (strcmp(msg, "trap") == 0) {
		die("asked to trap");
	} else if (strcmp(msg, "fail") == 0) {
		*err = FERMYON_SPIN_REDIS_TYPES_ERROR_ERROR;
		ok = false;
	} else {
		char len[32];
		snprintf(key, sizeof(key), "%s:last", tag);
		kv_set(key, message->ptr, message->len);
		snprintf(key, sizeof(key), "%s:len", tag);
		snprintf(len, sizeof(len), "%zu", message->len);
		kv_set(key, (const uint8_t *)len, strlen(len));
	}
	free(msg);
	free(tag);
	exports_fermyon_spin_inbound_redis_payload_free(message);
	return ok;
}
