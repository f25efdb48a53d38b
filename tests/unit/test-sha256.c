/* common/sha256.c against the FIPS 180-4 test vectors and against OpenSSL for
 * every length up to 300 bytes, fed whole and in uneven pieces. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sha256.h"
#include "tests/tap.h"

static void hex(const uint8_t *md, char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int main(void)
{
	char got[65], want[65];
	static uint8_t buf[1000000];
	int mismatches = 0;

	sha256_hex("", 0, got);
	is_str(got, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "empty input");
	sha256_hex("abc", 3, got);
	is_str(got, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "\"abc\"");
	sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, got);
	is_str(got, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "the two-block vector");
	memset(buf, 'a', sizeof(buf));
	sha256_hex(buf, sizeof(buf), got);
	is_str(got, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "a million 'a'");

	srand(7);
	for (size_t i = 0; i < 300; i++)
		buf[i] = (uint8_t)rand();
	for (size_t len = 0; len <= 300; len++) {
		unsigned char md[32];
		unsigned mdlen = 0;
		struct sha256 s;
		uint8_t mine[32];
		EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL);
		hex(md, want);
		sha256_hex(buf, len, got);
		if (strcmp(got, want) != 0)
			mismatches++;
		/* In pieces of 1, 7, 63 and 64 bytes, cycling. */
		static const size_t pieces[] = { 1, 7, 63, 64 };
		sha256_init(&s);
		for (size_t off = 0, k = 0; off < len; k++) {
			size_t n = pieces[k % 4] < len - off ? pieces[k % 4] : len - off;
			sha256_update(&s, buf + off, n);
			off += n;
		}
		sha256_final(&s, mine);
		hex(mine, got);
		if (strcmp(got, want) != 0)
			mismatches++;
	}
	is_int(mismatches, 0, "every length 0..300, whole and in pieces, equals OpenSSL's SHA-256");
	return tap_done();
}
