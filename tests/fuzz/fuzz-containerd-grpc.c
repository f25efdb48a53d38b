/* libFuzzer target: a gRPC response body from containerd as the shim reads
 * it. The first byte picks how the body is cut into the pieces libcurl
 * would hand over; the rest goes through the deframer
 * (shim-bridge/shim/containerd/grpc-frame.c) with a small message cap, and
 * each whole message through what the shim does with a blob's text: the
 * manifest check and the index choice (shim-bridge/app/oci.c). The bytes
 * also go through grpc_status_header as one header line. No crash, leak or
 * hang; no message past the cap; every refusal one line; what the manifest
 * check accepts has a locked-app layer and valid digests. */
#include <stdint.h>
#include <string.h>

#include "common/escape.h"
#include "common/sha256.h"
#include "shim-bridge/app/oci.h"
#include "shim-bridge/shim/containerd/grpc-frame.h"

#define FUZZ_MSG_MAX 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_message(void *ud, const uint8_t *msg, size_t len)
{
	struct oci_manifest m;
	struct oci_desc d;
	struct sk_error err = { 0 };

	(void)ud;
	if (len > FUZZ_MSG_MAX)
		__builtin_trap();
	if (oci_manifest_parse((const char *)msg, len, &m, &err) == 0) {
		if (m.locked >= m.n_layers || strcmp(m.layers[m.locked].media_type, OCI_MEDIA_LOCKED) != 0 ||
		    strcmp(m.config.media_type, OCI_MEDIA_CONFIG) != 0 ||
		    !sk_sha256_digest_ok(m.config.digest))
			__builtin_trap();
		for (size_t i = 0; i < m.n_layers; i++)
			if (!sk_sha256_digest_ok(m.layers[i].digest) || m.layers[i].size < 0 ||
			    m.layers[i].size > OCI_BLOB_MAX)
				__builtin_trap();
		oci_manifest_free(&m);
	} else if (!sk_is_one_line(err.message)) {
		__builtin_trap();
	}
	sk_err_clear(&err);
	if (oci_index_pick((const char *)msg, len, &d, &err) == 0) {
		if (!sk_sha256_digest_ok(d.digest) || !oci_is_manifest(d.media_type))
			__builtin_trap();
	} else if (!sk_is_one_line(err.message)) {
		__builtin_trap();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct grpc_deframer d;
	struct grpc_status st = { 0 };
	struct sk_error err = { 0 };

	if (size == 0)
		return 0;
	size_t piece = (size_t)data[0] + 1;
	data++;
	size--;
	(void)grpc_status_header(&st, (const char *)data, size);
	if (strlen(st.message) >= sizeof(st.message) || (st.have && (st.code < 0 || st.code > 16)))
		__builtin_trap();
	grpc_deframer_init(&d, FUZZ_MSG_MAX);
	for (size_t off = 0; off < size; off += piece) {
		size_t n = size - off < piece ? size - off : piece;
		if (grpc_deframer_feed(&d, data + off, n, on_message, NULL, &err) < 0) {
			if (!sk_is_one_line(err.message))
				__builtin_trap();
			break;
		}
	}
	grpc_deframer_free(&d);
	return 0;
}
