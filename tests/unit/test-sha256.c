/* common/sha256.c: the FIPS 180-4 test vectors one-shot and streamed in
 * uneven pieces, the hex form, and a digest given up before its end (no leak
 * under ASan). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sha256.h"
#include "tests/tap.h"

static const struct {
	const char *in;
	size_t repeat;
	const char *hex;
} vectors[] = {
	{ "", 1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ "abc", 1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	{ "a", 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0" },
};

int main(void)
{
	static uint8_t buf[1000000];
	char got[65];

	for (size_t v = 0; v < sizeof(vectors) / sizeof(vectors[0]); v++) {
		size_t unit = strlen(vectors[v].in), len = unit * vectors[v].repeat;
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)vectors[v].in[i % unit];
		is_int(sk_sha256_hex(buf, len, got), 0, "vector %zu one-shot", v);
		is_str(got, vectors[v].hex, "... digest");
		/* In pieces of 1, 7, 63 and 64 bytes, cycling. */
		static const size_t pieces[] = { 1, 7, 63, 64 };
		struct sk_sha256 s;
		uint8_t md[32];
		is_int(sk_sha256_init(&s), 0, "vector %zu streamed: init", v);
		for (size_t off = 0, k = 0; off < len; k++) {
			size_t n = pieces[k % 4] < len - off ? pieces[k % 4] : len - off;
			sk_sha256_update(&s, buf + off, n);
			off += n;
		}
		is_int(sk_sha256_final(&s, md), 0, "... final");
		ok(s.ctx == NULL, "... final frees the context");
		sk_sha256_to_hex(md, got);
		is_str(got, vectors[v].hex, "... same digest in pieces");
	}

	{
		_cleanup_sha256_ struct sk_sha256 s = { 0 };
		is_int(sk_sha256_init(&s), 0, "a digest given up: init");
		sk_sha256_update(&s, "half", 4);
	} /* freed here by the cleanup attribute; ASan reports a leak otherwise */

	struct sk_sha256 f = { 0 };
	uint8_t md[32];
	sk_sha256_update(&f, "x", 1);
	is_int(sk_sha256_final(&f, md), -EIO, "update and final without init report -EIO");
	return tap_done();
}
