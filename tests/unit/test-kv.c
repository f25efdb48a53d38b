/* common/kv.h: lookup by a counted key and release of owned arrays (leaks
 * show under the sanitizer build). */
#include <stdlib.h>
#include <string.h>

#include "common/kv.h"
#include "tests/tap.h"

int main(void)
{
	const struct sk_kv view[] = { { "a", "1" }, { "ab", "2" }, { "a", "3" } };
	struct sk_kv *owned = calloc(2, sizeof(*owned));

	ok(sk_kv_get(view, 3, "a", 1) && strcmp(sk_kv_get(view, 3, "a", 1), "1") == 0, "first match wins");
	ok(sk_kv_get(view, 3, "abc", 2) && strcmp(sk_kv_get(view, 3, "abc", 2), "2") == 0,
	   "the key is key[0..len), not a prefix match");
	ok(!sk_kv_get(view, 3, "b", 1), "a missing key is NULL");
	ok(!sk_kv_get(NULL, 0, "a", 1), "an empty array has nothing");
	ok(owned != NULL, "owned array allocated");
	if (owned) {
		owned[0] = (struct sk_kv){ strdup("k"), strdup("v") };
		owned[1] = (struct sk_kv){ strdup("x"), NULL };
	}
	sk_kv_free(owned, 2);
	sk_kv_free(NULL, 3);
	ok(1, "owned arrays and NULL are freed");
	return tap_done();
}
