/* libFuzzer target: a manifest as a registry sends it to spinkube pull
 * (cli/pull.c oci_manifest_parse) must never crash, leak or hang; what it
 * accepts has valid digests, bounded sizes and exactly one locked-app layer,
 * and every refusal is one line. */
#include <stdint.h>
#include <string.h>

#include "common/escape.h"
#include "cli/layers.h"
#include "cli/pull.h"
#include "common/sha256.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oci_manifest m;
	struct sk_error err = { 0 };

	if (oci_manifest_parse((const char *)data, size, &m, &err) < 0) {
		if (!sk_is_one_line(err.message))
			__builtin_trap();
		return 0;
	}
	if (m.locked >= m.n_layers || strcmp(m.layers[m.locked].media_type, MEDIA_LOCKED) != 0 ||
	    !sk_sha256_digest_ok(m.config.digest))
		__builtin_trap();
	for (size_t i = 0; i < m.n_layers; i++)
		if (!sk_sha256_digest_ok(m.layers[i].digest) || m.layers[i].size < 0 || m.layers[i].size > REG_BLOB_MAX)
			__builtin_trap();
	oci_manifest_free(&m);
	return 0;
}
