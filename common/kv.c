/* Name/value pairs (see kv.h): lookup and release. */
#include "common/kv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const char *sk_kv_get(const struct sk_kv *kv, size_t n, const char *key, size_t len)
{
	for (size_t i = 0; kv && i < n; i++)
		if (strlen(kv[i].key) == len && memcmp(kv[i].key, key, len) == 0)
			return kv[i].value;
	return NULL;
}

void sk_kv_free(struct sk_kv *kv, size_t n)
{
	/* The strings of an owned array were malloc'd; const is for borrowers. */
	for (size_t i = 0; kv && i < n; i++) {
		free((void *)(uintptr_t)kv[i].key);
		free((void *)(uintptr_t)kv[i].value);
	}
	free(kv);
}

const char *sk_env_get(const char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp && *envp; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}
