/* What the shim checks before and while it writes a Spin app out of
 * containerd's content store: shim-bridge/app/oci.c's manifest and index
 * rules (oversized, wrong config and layer media types, no locked-app
 * layer, an ordinary container image, the total cap; the platform an index
 * entry is chosen for) and shim-bridge/shim/containerd/blob.c's checked
 * write (the right bytes renamed into place; a digest mismatch, too many
 * and too few bytes leave nothing behind), in a temporary folder. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/escape.h"
#include "common/sha256.h"
#include "shim-bridge/app/oci.h"
#include "shim-bridge/shim/containerd/blob.h"
#include "tests/tap.h"

#define D1                       "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define DESC(mt, size)           "{\"mediaType\":\"" mt "\",\"digest\":\"" D1 "\",\"size\":" #size "}"
#define CFG                      DESC(OCI_MEDIA_CONFIG, 10)
#define LOCK                     DESC(OCI_MEDIA_LOCKED, 5)
#define WASM                     DESC(OCI_MEDIA_WASM, 100)
#define MANIFEST(config, layers) "{\"schemaVersion\":2,\"config\":" config ",\"layers\":[" layers "]}"

static void refused(const char *text, int code, const char *words, const char *name)
{
	struct oci_manifest m;
	struct sk_error err = { 0 };
	int r = oci_manifest_parse(text, strlen(text), &m, &err);

	ok(r == code && strstr(err.message, words) && sk_is_one_line(err.message), "%s: %d, \"%s\"", name,
	   code, words);
	if (r != code || !strstr(err.message, words))
		printf("#   got %d: %s\n", r, err.message);
	if (r == 0)
		oci_manifest_free(&m);
}

static void test_manifest(void)
{
	struct oci_manifest m;
	struct sk_error err = { 0 };
	const char *good = MANIFEST(CFG, WASM "," LOCK "," DESC(OCI_MEDIA_DATA, 3));

	is_int(oci_manifest_parse(good, strlen(good), &m, &err), 0, "a Spin app's manifest");
	is_int(m.n_layers, 3, "... three layers");
	is_int(m.locked, 1, "... the locked app is layers[1]");
	oci_manifest_free(&m);
	refused(MANIFEST(DESC("application/vnd.docker.container.image.v1+json", 10), WASM "," LOCK), -EINVAL,
	        "not a Spin app: the config has media type", "wrong config media type");
	refused(MANIFEST(DESC(OCI_MEDIA_LOCKED, 10), WASM "," LOCK), -EINVAL,
	        "not a Spin app: the config has media type",
	        "the locked app as the config (pre-OCI-config Spin)");
	refused(MANIFEST(CFG, WASM), -EINVAL, "not a Spin app: no layer of type " OCI_MEDIA_LOCKED,
	        "no locked-app layer");
	refused(MANIFEST(DESC("application/vnd.docker.container.image.v1+json", 10),
	                 DESC("application/vnd.docker.image.rootfs.diff.tar.gzip", 100)),
	        -ENOMEDIUM, "not a Spin app: a container image",
	        "an ordinary (Docker) image is the fallback code");
	refused(MANIFEST(CFG, DESC("application/vnd.oci.image.layer.v1.tar+gzip",
	                           100) "," DESC("application/vnd.oci.image.layer.v1.tar", 1)),
	        -ENOMEDIUM, "a container image", "an ordinary OCI image too");
	refused(MANIFEST(CFG, WASM "," LOCK "," DESC(OCI_MEDIA_BUNDLE, 9)), -ENOTSUP,
	        "layers[2] has media type", "a tar bundle in a Spin app is not read");
	refused(MANIFEST(CFG, WASM "," LOCK "," DESC("application/vnd.oci.image.layer.v1.tar+gzip", 9)),
	        -ENOTSUP, "is not read", "a container layer in a Spin app");
	refused(MANIFEST(CFG, LOCK "," LOCK), -EINVAL, "more than one layer of type",
	        "two locked-app layers");
	refused(MANIFEST(CFG, DESC(OCI_MEDIA_LOCKED, 70000000)), -E2BIG, "locked app layer is larger",
	        "a locked app over its cap");
	refused(MANIFEST(CFG, LOCK
	                 "," DESC(OCI_MEDIA_WASM, 4294967296) "," DESC(OCI_MEDIA_WASM, 4294967296) "," DESC(
	                     OCI_MEDIA_WASM, 4294967296) "," DESC(OCI_MEDIA_WASM,
	                                                          4294967296) "," DESC(OCI_MEDIA_WASM,
	                                                                               4294967296)),
	        -E2BIG, "add up to more than", "blobs over the total cap");
	refused(MANIFEST(CFG, DESC(OCI_MEDIA_WASM, 4294967297)), -E2BIG, "is not between 0 and",
	        "one blob over its cap");
	refused("{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[{\"mediaType\":\"" OCI_MEDIA_WASM
	        "\",\"digest\":\"sha512:00\",\"size\":1}]}",
	        -EINVAL, "is not sha256:", "a digest of another algorithm");
	refused("{\"schemaVersion\":2,\"mediaType\":\"" OCI_MEDIA_INDEX "\",\"manifests\":[]}", -ENOTSUP,
	        "image index", "an index where a manifest belongs");
	refused("{\"schemaVersion\":\"2\",\"config\":" CFG ",\"layers\":[" LOCK "]}", -EINVAL,
	        "schemaVersion must be 2", "schemaVersion as a string");

	/* Oversized: one byte over the cap, refused before parsing. */
	size_t n = OCI_MANIFEST_MAX + 1;
	char *big = malloc(n);
	if (big) {
		memset(big, ' ', n);
		big[0] = '{';
		big[n - 1] = '}';
		is_int(oci_manifest_parse(big, n, &m, &err), -E2BIG, "a manifest over %d bytes is refused",
		       OCI_MANIFEST_MAX);
		is_int(oci_index_pick(big, n, &m.config, &err), -E2BIG, "... and so is an index");
		free(big);
	}
}

#define ENTRY(mt, os, arch)                                                                                  \
	"{\"mediaType\":\"" mt "\",\"digest\":\"" D1 "\",\"size\":9,\"platform\":{\"os\":\"" os              \
	"\",\"architecture\":\"" arch "\"}}"
#define INDEX(entries)                                                                                       \
	"{\"schemaVersion\":2,\"mediaType\":\"" OCI_MEDIA_INDEX "\",\"manifests\":[" entries "]}"

static void test_index(void)
{
	struct oci_desc d = { .size = -7 };
	struct sk_error err = { 0 };
	const char *t;

	t = INDEX(ENTRY(OCI_MEDIA_MANIFEST, "linux", "amd64") "," DESC(OCI_MEDIA_MANIFEST, 77) "," ENTRY(
	    OCI_MEDIA_MANIFEST, "wasip1", "wasm"));
	is_int(oci_index_pick(t, strlen(t), &d, &err), 0,
	       "an index with linux/amd64, no platform and wasip1/wasm");
	is_int(d.size, 9, "... the wasm entry is chosen");
	t = INDEX(ENTRY(OCI_MEDIA_MANIFEST, "wasi", "wasm"));
	is_int(oci_index_pick(t, strlen(t), &d, &err), 0, "wasi/wasm (upstream Spin artifacts) is taken");
#if defined(__x86_64__)
	t = INDEX(ENTRY(OCI_MEDIA_DOCKER_MANIFEST, "linux", "arm64") "," ENTRY(OCI_MEDIA_DOCKER_MANIFEST,
	                                                                       "linux", "amd64"));
	is_int(oci_index_pick(t, strlen(t), &d, &err), 0, "linux/amd64 when there is no wasm entry");
	is_str(d.media_type, OCI_MEDIA_DOCKER_MANIFEST, "... a Docker manifest is fine");
#endif
	t = INDEX(ENTRY(OCI_MEDIA_MANIFEST, "windows", "amd64") "," ENTRY(OCI_MEDIA_MANIFEST, "unknown",
	                                                                  "unknown"));
	d.size = -7;
	is_int(oci_index_pick(t, strlen(t), &d, &err), -ENOENT, "no entry for wasm or linux: -ENOENT");
	ok(strstr(err.message, "none of its 2 manifests"), "... saying what was looked for: %s", err.message);
	is_int(d.size, -7, "... and *out untouched");
	t = INDEX(ENTRY(OCI_MEDIA_INDEX, "wasip1", "wasm"));
	is_int(oci_index_pick(t, strlen(t), &d, &err), -ENOTSUP, "a nested index is not followed");
	t = INDEX("{\"mediaType\":\"" OCI_MEDIA_MANIFEST "\",\"digest\":\"sha256:x\",\"size\":1,\"platform\":"
	                                                 "{\"os\":\"wasip1\",\"architecture\":\"wasm\"}}");
	is_int(oci_index_pick(t, strlen(t), &d, &err), -EINVAL,
	       "a chosen entry with a bad digest is refused");
	is_int(oci_index_pick("[]", 2, &d, &err), -EINVAL, "an index that is no object");

	/* More entries than the cap. */
	size_t cap = 64 + (size_t)(OCI_INDEX_MAX + 1) * 4;
	char *many = malloc(cap);
	if (many) {
		size_t n = (size_t)snprintf(many, cap, "{\"manifests\":[");
		for (int i = 0; i <= OCI_INDEX_MAX; i++)
			n += (size_t)snprintf(many + n, cap - n, "%s{}", i ? "," : "");
		n += (size_t)snprintf(many + n, cap - n, "]}");
		is_int(oci_index_pick(many, n, &d, &err), -EINVAL,
		       "an index of more than %d entries is refused", OCI_INDEX_MAX);
		free(many);
	}
}

static int count_files(const char *dir)
{
	char cmd[300];
	(void)snprintf(cmd, sizeof(cmd), "test $(find '%s' -type f | wc -l) -eq 0", dir);
	return system(cmd) == 0 ? 0 : 1;
}

static void test_blob(void)
{
	char dir[] = "/tmp/test-containerd-artifact.XXXXXX", sub[128], hex[65], path[256];
	struct oci_desc d = { .media_type = OCI_MEDIA_WASM };
	struct ctrd_blob b;
	struct sk_error err = { 0 };
	const char *data = "some wasm bytes";

	if (!ok(mkdtemp(dir) != NULL, "a temporary folder"))
		return;
	(void)snprintf(sub, sizeof(sub), "%s/blobs", dir);
	mkdir(sub, 0755);
	(void)snprintf(sub, sizeof(sub), "%s/blobs/sha256", dir);
	mkdir(sub, 0755);
	(void)sk_sha256_hex(data, strlen(data), hex);
	(void)snprintf(d.digest, sizeof(d.digest), "sha256:%s", hex);
	d.size = (int64_t)strlen(data);
	(void)snprintf(path, sizeof(path), "%s/%s", sub, hex);

	/* Too many bytes: refused as they come. */
	is_int(ctrd_blob_begin(&b, dir, &d, &err), 0, "begin");
	is_int(ctrd_blob_write(&b, data, strlen(data), &err), 0, "the right number of bytes is taken");
	is_int(ctrd_blob_write(&b, "x", 1, &err), -E2BIG, "one byte more is refused");
	ctrd_blob_abort(&b);
	is_int(count_files(sub), 0, "... abort leaves nothing");

	/* Too few. */
	(void)ctrd_blob_begin(&b, dir, &d, &err);
	(void)ctrd_blob_write(&b, data, 4, &err);
	is_int(ctrd_blob_commit(&b, &err), -EILSEQ, "too few bytes fail the commit");
	ok(strstr(err.message, "4 bytes came"), "... saying how many: %s", err.message);
	is_int(count_files(sub), 0, "... and nothing is left");

	/* Same size, other bytes: the digest catches it. */
	(void)ctrd_blob_begin(&b, dir, &d, &err);
	(void)ctrd_blob_write(&b, "SOME wasm bytes", strlen(data), &err);
	is_int(ctrd_blob_commit(&b, &err), -EILSEQ, "a digest mismatch fails the commit");
	ok(strstr(err.message, "hash to sha256:") && sk_is_one_line(err.message),
	   "... one line naming both digests: %s", err.message);
	is_int(count_files(sub), 0, "... and nothing unchecked is renamed into place");
	ok(!ctrd_blob_present(dir, &d), "the blob is not present");

	/* The right bytes, in two pieces. */
	(void)ctrd_blob_begin(&b, dir, &d, &err);
	(void)ctrd_blob_write(&b, data, 5, &err);
	(void)ctrd_blob_write(&b, data + 5, strlen(data) - 5, &err);
	is_int(ctrd_blob_commit(&b, &err), 0, "the right bytes commit");
	ok(ctrd_blob_present(dir, &d), "... and the blob is present, checked");
	FILE *f = fopen(path, "r+");
	if (f) {
		fputc('X', f);
		fclose(f);
	}
	ok(!ctrd_blob_present(dir, &d), "a damaged copy in the folder is not taken as present");
	char cmd[300];
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
}

int main(void)
{
	test_manifest();
	test_index();
	test_blob();
	return tap_done();
}
