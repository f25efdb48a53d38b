/* cli/pull.c oci_manifest_parse and cli/push.c push_build: what push writes
 * pull reads back (the test app in a temporary folder), and every manifest
 * pull must refuse before downloading anything. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim-bridge/app/app.h"
#include "cli/layers.h"
#include "cli/pull.h"
#include "cli/push.h"
#include "tests/tap.h"

#define D1 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define CFG "{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D1 "\",\"size\":10}"
#define LOCK "{\"mediaType\":\"" MEDIA_LOCKED "\",\"digest\":\"" D1 "\",\"size\":5}"

static int parse(const char *text, struct oci_manifest *m, struct sk_error *err)
{
	sk_err_clear(err);
	return oci_manifest_parse(text, strlen(text), m, err);
}

static void refused(const char *text, int code, const char *words)
{
	struct oci_manifest m;
	struct sk_error err = { 0 };
	int r = parse(text, &m, &err);

	ok(r == code && strstr(err.message, words), "refused (%d): %s", code, words);
	if (r != code || !strstr(err.message, words))
		printf("#   got %d: %s\n", r, err.message);
	if (r == 0)
		oci_manifest_free(&m);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* A one-component app with a folder of two files, through push_build. */
static void test_roundtrip(void)
{
	char dir[] = "/tmp/test-cli-manifest.XXXXXX", path[256];
	struct app *app = NULL;
	struct layer_set layers = { 0 };
	struct oci_manifest m;
	struct sk_error err = { 0 };
	char *manifest = NULL;

	if (!ok(mkdtemp(dir) != NULL, "a temporary folder"))
		return;
	(void)snprintf(path, sizeof(path), "%s/spin.toml", dir);
	write_file(path, "spin_manifest_version = 2\n[application]\nname = \"t\"\nversion = \"1.2.3\"\n"
	                 "[application.trigger.redis]\naddress = \"redis://{{ h }}:6379\"\n"
	                 "[variables]\nh = { default = \"r\" }\n"
	                 "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"c\"\n"
	                 "[[trigger.redis]]\nchannel = \"jobs\"\ncomponent = \"c\"\n"
	                 "[[trigger.redis]]\nid = \"own\"\nchannel = \"x\"\naddress = \"redis://s:1\"\ncomponent = \"c\"\n"
	                 "[component.c]\nsource = \"c.wasm\"\nfiles = [{ source = \"static\", destination = \"/s\" }]\n"
	                 "sqlite_databases = [\"default\", \"other\"]\n");
	(void)snprintf(path, sizeof(path), "%s/c.wasm", dir);
	write_file(path, "\0asm"); /* the loader does not parse wasm */
	(void)snprintf(path, sizeof(path), "%s/static", dir);
	mkdir(path, 0755);
	(void)snprintf(path, sizeof(path), "%s/static/b.txt", dir);
	write_file(path, "same");
	(void)snprintf(path, sizeof(path), "%s/static/a.txt", dir);
	write_file(path, "same");
	if (!ok(app_load(dir, &app, &err) == 0, "the app loads")) {
		printf("#   %s\n", err.message);
		return;
	}
	is_int(push_build(app, &layers, &manifest, &err), 0, "push_build");
	is_int(layers.n, 4, "wasm, one data layer for two equal files, the locked app, the config");
	is_str(layers.v[1].title, "/s/a.txt", "files are walked in name order; the first title is kept");
	is_int(parse(manifest, &m, &err), 0, "pull reads what push wrote");
	is_int(m.n_layers, 3, "... three layers");
	is_str(m.layers[m.locked].media_type, MEDIA_LOCKED, "... the locked app found");
	ok(strstr(layers.v[m.locked].mem, "\"path\":\"/s/a.txt\"") && strstr(layers.v[m.locked].mem, "\"path\":\"/s/b.txt\""),
	   "the locked app lists both files by guest path");
	ok(strstr(layers.v[m.locked].mem, "\"databases\":[\"default\",\"other\"]") != NULL,
	   "the locked app names the component's sqlite_databases as Spin does (metadata.databases)");
	struct app *back = NULL;
	const char *lk = layers.v[m.locked].mem;
	is_int(app_from_locked(lk, strlen(lk), "locked", dir, APP_LOAD_NO_FS, &back, &err), 0,
	       "the locked app loads again (%s)", err.message);
	ok(back && back->redis_address && strcmp(back->redis_address, "redis://{{ h }}:6379") == 0 &&
	       back->n_redis_triggers == 2 && strcmp(back->redis_triggers[0].channel, "jobs") == 0 &&
	       !back->redis_triggers[0].address && strcmp(back->redis_triggers[1].id, "own") == 0 &&
	       strcmp(back->redis_triggers[1].address, "redis://s:1") == 0,
	   "... with its Redis triggers, their own address and the app's, templates as written");
	app_free(back);
	oci_manifest_free(&m);
	free(manifest);
	layers_free(&layers);
	app_free(app);
	char cmd[300];
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
}

int main(void)
{
	struct oci_manifest m;
	struct sk_error err = { 0 };

	test_roundtrip();
	is_int(parse("{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[" LOCK "]}", &m, &err), 0, "a minimal Spin manifest");
	oci_manifest_free(&m);
	refused("{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[]}", -EINVAL, "not a Spin app: no layer of type " MEDIA_LOCKED);
	refused("{\"schemaVersion\":1,\"config\":" CFG ",\"layers\":[" LOCK "]}", -EINVAL, "schemaVersion must be 2");
	refused("{\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[]}", -ENOTSUP, "image index");
	refused("{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[" LOCK "," LOCK "]}", -EINVAL, "more than one layer");
	refused("{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" D1 "\",\"size\":1}]}",
	        -ENOMEDIUM, "not a Spin app: a container image");
	refused("{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[{\"mediaType\":\"" MEDIA_LOCKED "\",\"digest\":\"sha256:ABC\",\"size\":1}]}",
	        -EINVAL, "64 lowercase hex");
	refused("{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[{\"mediaType\":\"" MEDIA_LOCKED "\",\"digest\":\"" D1 "\",\"size\":-1}]}",
	        -E2BIG, "is not between 0 and");
	refused("{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[{\"mediaType\":\"" MEDIA_LOCKED "\",\"digest\":\"" D1 "\",\"size\":99999999999}]}",
	        -E2BIG, "is not between 0 and");
	refused("{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[{\"mediaType\":\"" MEDIA_LOCKED "\",\"digest\":\"" D1 "\",\"size\":70000000}]}",
	        -E2BIG, "locked app layer is larger");
	refused("{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[{\"mediaType\":\"" MEDIA_LOCKED "\",\"digest\":\"" D1 "\"}]}",
	        -EINVAL, "integer size");
	refused("{\"schemaVersion\":2,\"layers\":[" LOCK "]}", -EINVAL, "no config");
	refused("{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[" LOCK "]} x", -EINVAL, "not one JSON object");
	refused("[]", -EINVAL, "not one JSON object");
	refused("{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[" LOCK "],\"x\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}", -EINVAL,
	        "not one JSON object");
	return tap_done();
}
