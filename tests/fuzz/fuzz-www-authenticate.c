/* libFuzzer target: a WWW-Authenticate value (cli/auth.c
 * auth_challenge_parse) must never crash or read past its end, and what it
 * keeps is NUL-terminated within its fields, free of control characters, and
 * a bearer challenge always has its realm. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_field(const char *f)
{
	size_t n = strnlen(f, AUTH_FIELD_MAX);

	if (n >= AUTH_FIELD_MAX)
		__builtin_trap();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)f[i] < 0x20 || f[i] == 0x7f)
			__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth_challenge *ch = malloc(sizeof(*ch));
	char *text = malloc(size + 1);

	if (!ch || !text) {
		free(ch);
		free(text);
		return 0;
	}
	memcpy(text, data, size);
	text[size] = '\0'; /* header values reach the parser as C strings */
	if (auth_challenge_parse(text, ch) == 0) {
		check_field(ch->realm);
		check_field(ch->service);
		check_field(ch->scope);
		if (ch->scheme == AUTH_BEARER && !ch->realm[0])
			__builtin_trap();
	}
	free(ch);
	free(text);
	return 0;
}
