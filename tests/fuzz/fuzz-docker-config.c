/* libFuzzer target: docker config.json text looked up for a registry host
 * (cli/auth.c auth_config_lookup) must never crash, leak or hang, and every
 * message stays one line. The first byte picks the host, so Docker Hub's
 * index keys and plain hosts are both explored. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cli/auth.h"
#include "common/escape.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const hosts[] = { "127.0.0.1:5000", "docker.io", "ghcr.io", "localhost" };
	struct auth_cred c = { 0 };
	struct sk_error err = { 0 };
	const char *host = hosts[size ? data[0] % 4 : 0];

	if (size > 0)
		data++, size--;
	if (auth_config_lookup((const char *)data, size, "config.json", host, &c, &err) == 0) {
		if (c.username && !c.password)
			__builtin_trap(); /* a user always comes with a password */
		auth_cred_clear(&c);
	} else if (!sk_is_one_line(err.message)) {
		__builtin_trap();
	}
	return 0;
}
