/* libFuzzer target: allowed_outbound_hosts entries (from spin.toml, outside
 * input) and request authorities (from guests) through the allow-list rules.
 * The input is split at the first newline: an entry, then an authority.
 * Nothing may crash or hang; an entry refused by validation must allow
 * nothing, and a refusal is one line. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shim-bridge/wasi/allowed-hosts.h"
#include "common/escape.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in, *nl, *entry, *authority;
	struct sk_error why = {0};
	char host[WH_HOST_SIZE];
	unsigned port = 0;
	int valid;

	if (size > 4096)
		return 0;
	in = malloc(size + 1);
	if (!in)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	nl = strchr(in, '\n');
	entry = in;
	authority = nl ? nl + 1 : (char *)"example.com:80";
	if (nl)
		*nl = '\0';
	valid = wh_allowed_hosts_validate(entry, &why);
	if (valid < 0 && (why.code != valid || why.message[0] == '\0' || !sk_is_one_line(why.message)))
		__builtin_trap();
	{
		const char *const entries[] = { entry };
		static const char *const schemes[] = { "http", "https" };
		for (size_t s = 0; s < 2; s++) {
			if (wh_authority_split(schemes[s], authority, host, sizeof(host), &port) == 0) {
				bool m = wh_allowed_hosts_match(entries, 1, schemes[s], host, port);
				if (m && valid < 0)
					__builtin_trap(); /* an invalid entry allowed something */
			}
			(void)wh_allowed_hosts_self(entries, 1, schemes[s]);
		}
	}
	free(in);
	return 0;
}
