/* A name/value pair of NUL-terminated strings: the one pair type from a
 * component's settings in the app (environment, variables) through the
 * runtime's options to the host interfaces a guest calls, and for the
 * request headers, CGI variables and route parameters handed to a guest.
 *
 * It lives in common/ because app/ (which loads and owns the pairs),
 * runtime/ and wasi/ (which borrow them for a component's life or one
 * call) all use it, and none of those layers should depend on another just
 * for a pair.
 *
 * Ownership belongs to whoever holds the array and is said there: an array
 * the app loaded owns its strings (sk_kv_free releases them); a view made
 * for one call borrows them. The members are const so a borrowed view needs
 * no casts. */
#ifndef SPINKUBE_KV_H
#define SPINKUBE_KV_H

#include <stddef.h>

struct sk_kv {
	const char *key;
	const char *value;
};

/* The value of the first pair whose key is key[0..len), borrowed from kv;
 * NULL when there is none. */
const char *sk_kv_get(const struct sk_kv *kv, size_t n, const char *key, size_t len);

/* The value of name in an environment array (NULL-terminated "NAME=value"
 * strings, as environ is), borrowed; NULL when it is not set. */
const char *sk_env_get(const char *const *envp, const char *name);

/* Free an array of n owned pairs and their strings. NULL is fine. */
void sk_kv_free(struct sk_kv *kv, size_t n);

#endif
