/* The string map under the informer store and the queue. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "common/strmap.h"
#include "tests/tap.h"

static int drop_odd(struct strmap_entry *e, void *ud)
{
	(void)ud;
	return (int)(((intptr_t)e->value) % 2);
}

int main(void)
{
	struct strmap m = { 0 };
	char key[32];
	void *old = (void *)1;
	int all = 1;

	for (long i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "ns-%ld/obj-%ld", i % 7, i);
		if (!strmap_put(&m, key, (void *)(intptr_t)i, NULL))
			all = 0;
	}
	is_int((int)m.size, 10000, "10000 keys stored");
	for (long i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "ns-%ld/obj-%ld", i % 7, i);
		if ((long)(intptr_t)strmap_get(&m, key) != i)
			all = 0;
	}
	ok(all, "each key maps to its value");
	strmap_put(&m, "ns-0/obj-0", (void *)(intptr_t)42, &old);
	ok(old == (void *)0, "replacing returns the old value (0 here)");
	is_int((int)m.size, 10000, "replacing does not add");
	ok(strmap_get(&m, "nope") == NULL, "a missing key is NULL");
	ok(strmap_remove(&m, "ns-1/obj-1") == (void *)1, "remove returns the value");
	ok(strmap_get(&m, "ns-1/obj-1") == NULL, "and the key is gone");
	strmap_filter(&m, drop_odd, NULL);
	is_int((int)m.size, 5000, "filter removed the odd half");
	size_t bytes = strmap_bytes(&m), keys = 0;
	for (long i = 0; i < 10000; i += 2) {
		snprintf(key, sizeof(key), "ns-%ld/obj-%ld", i % 7, i);
		keys += strlen(key) + 1;
	}
	ok((bytes - keys) / m.size <= 64, "bookkeeping per entry beyond its key stays within 64 bytes (%zu)",
	   (bytes - keys) / m.size);
	strmap_clear(&m);
	is_int((int)m.size, 0, "clear empties the map");
	return tap_done();
}
