/* libFuzzer target: an OCI bundle's config.json through shim_spec_parse,
 * then the lookups the shim makes on what came out (mount sources, env, the
 * pod's grouping id) and the instance memory fit under its memory limit.
 * Nothing may crash or leak, every error is one line with its code, and
 * everything the parser accepts keeps the promises of spec.h. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/escape.h"
#include "shim-bridge/shim/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const struct shim_spec *s)
{
	static const char *const dests[] = { "/runtime-config.toml", "/etc/ssl/certs/ca-certificates.crt",
					     "/dev/termination-log", "/" };
	static const char *const names[] = { "PATH", "SPIN_HTTP_LISTEN_ADDR", "A", "" };

	if (s->n_args > SHIM_SPEC_MAX_ITEMS || s->n_env > SHIM_SPEC_MAX_ITEMS || s->n_mounts > SHIM_SPEC_MAX_ITEMS)
		__builtin_trap();
	for (size_t i = 0; i < s->n_mounts; i++)
		if (!s->mounts[i].destination || s->mounts[i].destination[0] != '/')
			__builtin_trap(); /* every destination is absolute */
	if (s->netns && (s->netns[0] != '/' || s->own_netns))
		__builtin_trap();
	if (s->cgroups_path && strstr(s->cgroups_path, ".."))
		__builtin_trap();
	if (s->sandbox_id && (!*s->sandbox_id || strchr(s->sandbox_id, '/')))
		__builtin_trap();
	if (s->memory_limit < 0 || s->cpu_quota < 0 || s->pids_limit < 0)
		__builtin_trap();
	for (size_t i = 0; i < sizeof(dests) / sizeof(dests[0]); i++)
		(void)shim_spec_mount_source(s, dests[i]);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		(void)shim_spec_env(s, names[i]);
	for (size_t i = 0; i < s->n_env; i++) {
		const char *eq = strchr(s->env[i], '=');
		if (eq && eq != s->env[i]) {
			char name[256];
			size_t n = (size_t)(eq - s->env[i]);
			if (n < sizeof(name)) {
				memcpy(name, s->env[i], n);
				name[n] = '\0';
				if (!shim_spec_env(s, name))
					__builtin_trap(); /* a name that is there is found */
			}
		}
	}
	if (!shim_spec_group(s, "ctr"))
		__builtin_trap();
	uint64_t im = 128ull << 20;
	unsigned n = 0;
	shim_spec_fit_memory(s->memory_limit, &im, &n);
	if (s->memory_limit > 0 && (n < 1 || im < (1u << 16)))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct shim_spec s;
	struct sk_error err = { 0 };
	int r = shim_spec_parse((const char *)data, size, &s, &err);

	if (r == 0)
		exercise(&s);
	else if (r != -EINVAL && r != -ENOMEM && r != -E2BIG)
		__builtin_trap(); /* only the documented codes */
	else if (err.code != r || !err.message[0] || !sk_is_one_line(err.message))
		__builtin_trap();
	shim_spec_free(&s);
	return 0;
}
