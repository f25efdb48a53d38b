/* Spin app loading: spin.toml (version 2) and locked-app JSON into the
 * model, the errors each bad input gets, and SPIN_COMPONENTS_TO_RETAIN.
 * Fixtures are written into a fresh temporary directory per case. */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim-bridge/app/app.h"
#include "tests/tap.h"
#include "common/toml.h"

static char *tmpdir(void)
{
	char tmpl[] = "/tmp/spinapp-test-XXXXXX";
	char *d = mkdtemp(tmpl);

	return d ? realpath(d, NULL) : NULL;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void rmtree(char *dir)
{
	if (dir)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

/* Write dir/rel (parents made) with n bytes of data. */
static void write_bytes(const char *dir, const char *rel, const void *data, size_t n)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	for (char *p = path + strlen(dir) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	f = fopen(path, "wb");
	if (f) {
		fwrite(data, 1, n, f);
		fclose(f);
	}
}

static void write_file(const char *dir, const char *rel, const char *text)
{
	write_bytes(dir, rel, text, strlen(text));
}

static void oracle_sha256_hex(const void *data, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned int len = 0;

	EVP_Digest(data, n, md, &len, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* A fresh directory holding app.wasm and a spin.toml of text. */
static char *app_dir(const char *toml)
{
	char *d = tmpdir();

	write_file(d, "app.wasm", "\0asm");
	write_file(d, "spin.toml", toml);
	return d;
}

#define HEAD "spin_manifest_version = 2\n[application]\nname = \"demo\"\n"
#define HELLO "[component.hello]\nsource = \"app.wasm\"\n"
#define ROUTE "[[trigger.http]]\nroute = \"/hello\"\ncomponent = \"hello\"\n"

/* spin.toml text must fail to load with a message containing needle. */
static void toml_bad(const char *toml, const char *needle, const char *what)
{
	char *d = app_dir(toml);
	struct app *app = NULL;
	struct sk_error err = { 0 };
	int r = app_load(d, &app, &err);
	int good = r < 0 && app == NULL && strstr(err.message, needle) && !strchr(err.message, '\n') &&
	           strstr(err.message, "spin.toml");

	ok(good, "manifest refused: %s", what);
	if (!good)
		printf("#   r=%d message \"%s\", wanted \"%s\"\n", r, err.message, needle);
	app_free(app);
	rmtree(d);
}

static const char *full_manifest =
	"spin_manifest_version = 2\n"
	"[application]\nname = \"shop\"\nversion = \"1.2.3\"\ndescription = \"a shop\"\nauthors = [\"me\"]\n"
	"[application.trigger.http]\nbase = \"/base\"\n"
	"[application.trigger.redis]\naddress = \"redis://{{ greeting }}:6379\"\n"
	"[variables]\ngreeting = { default = \"hi\" }\napi_key = { required = true, secret = true }\n"
	"[[trigger.http]]\nid = \"t-home\"\nroute = \"/\"\ncomponent = \"home\"\n"
	"[[trigger.http]]\nroute = \"/static/...\"\ncomponent = \"home\"\n"
	"[[trigger.http]]\nroute = { private = true }\ncomponent = \"home\"\n"
	"[[trigger.http]]\nroute = \"/cgi\"\ncomponent = { source = \"app.wasm\" }\nexecutor = { type = \"wagi\" }\n"
	"[[trigger.http]]\nid = \"named\"\nroute = \"/cgi2\"\ncomponent = { source = \"app.wasm\" }\n"
	"executor = { type = \"wagi\", argv = \"${SCRIPT_NAME} -x ${ARGS}\", entrypoint = \"main\" }\n"
	"[[trigger.redis]]\nchannel = \"c\"\ncomponent = \"home\"\n"
	"[[trigger.redis]]\nid = \"r2\"\nchannel = \"{{ greeting }}-news\"\naddress = \"redis://other:7000\"\n"
	"component = { source = \"app.wasm\" }\n"
	"[[trigger.redis]]\nchannel = \"d\"\ncomponent = { source = \"app.wasm\" }\n"
	"[[trigger.cron]]\ncron_expression = \"* * * * *\"\ncomponent = \"home\"\n"
	"[component.home]\nsource = \"app.wasm\"\ndescription = \"ignored\"\n"
	"files = [\"static/*.html\", \"assets/**/*.css\", { source = \"data\", destination = \"/data\" }]\n"
	"exclude_files = [\"static/secret.html\"]\n"
	"allowed_outbound_hosts = [\"https://example.com\"]\nkey_value_stores = [\"default\"]\n"
	"sqlite_databases = [\"default\", \"db2\"]\n"
	"environment = { MODE = \"prod\", EMPTY = \"\" }\n"
	"[component.home.variables]\nmessage = \"{{ greeting }}, {{api_key}}!\"\n"
	"[component.home.build]\ncommand = \"make\"\n";

static bool has_file(const struct app_component *c, const char *dest)
{
	for (size_t i = 0; i < c->n_files; i++)
		if (strcmp(c->files[i].destination, dest) == 0)
			return true;
	return false;
}

static void test_manifest_full(void)
{
	char *d = tmpdir(), path[PATH_MAX];
	struct app *app = NULL;
	struct sk_error err = { 0 };
	const struct app_component *c;

	write_file(d, "app.wasm", "\0asm");
	write_file(d, "spin.toml", full_manifest);
	write_file(d, "static/index.html", "<p>");
	write_file(d, "static/secret.html", "x");
	write_file(d, "static/notes.txt", "x");
	write_file(d, "assets/site.css", "x");
	write_file(d, "assets/css/deep/a.css", "x");
	write_file(d, "data/file.bin", "x");
	is_int(app_load(d, &app, &err), 0, "a full manifest loads (%s)", err.message);
	if (!app) {
		rmtree(d);
		return;
	}
	is_str(app->name, "shop", "application name");
	is_str(app->version, "1.2.3", "version");
	is_str(app->description, "a shop", "description");
	is_str(app->base, "/base", "[application.trigger.http] base");
	snprintf(path, sizeof(path), "%s/spin.toml", d);
	is_str(app->origin, path, "origin is the manifest's absolute path");
	is_str(app->dir, d, "dir is the manifest's directory");
	is_int(app->n_variables, 2, "two variables");
	ok(!app->variables[0].required && strcmp(app->variables[0].default_value, "hi") == 0, "greeting has a default");
	ok(app->variables[1].required && app->variables[1].secret && !app->variables[1].default_value,
	   "api_key is required and secret");
	is_int(app->n_components, 5, "one named and four inline components");
	c = &app->components[0];
	is_str(c->id, "home", "component id");
	snprintf(path, sizeof(path), "%s/app.wasm", d);
	is_str(c->source, path, "source is resolved to an absolute path");
	ok(has_file(c, "/static/index.html"), "glob static/*.html maps index.html");
	ok(!has_file(c, "/static/secret.html"), "exclude_files removes secret.html");
	ok(!has_file(c, "/static/notes.txt"), "*.html does not match notes.txt");
	ok(has_file(c, "/assets/site.css") && has_file(c, "/assets/css/deep/a.css"), "** matches zero or more directories");
	ok(has_file(c, "/data") && c->files[c->n_files - 1].is_dir, "{ source, destination } maps a directory");
	is_int(c->n_files, 4, "four mounts in all");
	is_int(c->n_allowed_outbound_hosts, 1, "allowed_outbound_hosts");
	is_str(c->key_value_stores[0], "default", "key_value_stores");
	ok(c->n_sqlite_databases == 2 && strcmp(c->sqlite_databases[1], "db2") == 0, "sqlite_databases");
	is_int(c->n_env, 2, "environment");
	is_str(c->env[0].key, "MODE", "environment key");
	is_str(c->variables[0].value, "{{ greeting }}, {{api_key}}!", "component variable template kept");
	is_int(app->n_triggers, 5, "five HTTP triggers");
	is_int(app->n_redis_triggers, 3, "three Redis triggers");
	is_str(app->redis_address, "redis://{{ greeting }}:6379", "[application.trigger.redis] address, template kept");
	ok(app->n_redis_triggers == 3 && strcmp(app->redis_triggers[0].id, "redis-trigger-1") == 0 &&
	       strcmp(app->redis_triggers[0].channel, "c") == 0 && !app->redis_triggers[0].address &&
	       app->redis_triggers[0].component == 0,
	   "a Redis trigger: generated id, channel, the app's address, a named component");
	ok(app->n_redis_triggers == 3 && strcmp(app->redis_triggers[1].id, "r2") == 0 &&
	       strcmp(app->redis_triggers[1].channel, "{{ greeting }}-news") == 0 &&
	       strcmp(app->redis_triggers[1].address, "redis://other:7000") == 0 &&
	       strcmp(app->components[app->redis_triggers[1].component].id, "r2") == 0,
	   "a Redis trigger with its own address and an inline component named after it");
	ok(app->n_redis_triggers == 3 && strcmp(app->components[app->redis_triggers[2].component].id, "shop-redis-2") == 0,
	   "an unnamed inline Redis component: <app>-redis-<index>");
	is_int(app->n_warnings, 1, "one warning, for the cron trigger");
	ok(app->n_warnings && strstr(app->warnings[0], "cron"), "the warning names the trigger type");
	is_str(app->triggers[0].id, "t-home", "trigger id as given");
	is_str(app->triggers[1].id, "trigger-2", "generated trigger id");
	ok(app->triggers[2].is_private && app->triggers[2].route == NULL, "private route");
	is_int(app->triggers[3].kind, APP_HANDLER_WAGI, "wagi executor");
	is_str(app->triggers[3].wagi_argv, "${SCRIPT_NAME} ${ARGS}", "WAGI argv default");
	is_str(app->triggers[3].wagi_entrypoint, "_start", "WAGI entrypoint default");
	is_str(app->components[app->triggers[3].component].id, "shop-3", "inline component id <app>-<index>");
	is_str(app->components[app->triggers[4].component].id, "named", "inline component takes the trigger id");
	is_str(app->triggers[4].wagi_argv, "${SCRIPT_NAME} -x ${ARGS}", "WAGI argv as given");
	is_str(app->triggers[4].wagi_entrypoint, "main", "WAGI entrypoint as given");
	is_int(app->triggers[0].kind, APP_HANDLER_HTTP, "default executor is HTTP");
	app_free(app);

	/* The same manifest given as a file path. */
	snprintf(path, sizeof(path), "%s/spin.toml", d);
	app = NULL;
	is_int(app_load(path, &app, &err), 0, "loading the spin.toml path works too");
	app_free(app);
	rmtree(d);
}

static void test_manifest_errors(void)
{
	toml_bad("spin_manifest_version = \"1\"\nname = \"x\"\n", "migrate the manifest to version 2", "version 1");
	toml_bad("[application]\nname = \"x\"\n", "spin_manifest_version is missing", "no version");
	toml_bad("spin_manifest_version = 3\n", "must be 2", "version 3");
	toml_bad("spin_manifest_version = 2\n", "[application] is missing", "no [application]");
	toml_bad("spin_manifest_version = 2\n[application]\nversion = \"1\"\n", "name is missing", "no name");
	toml_bad(HEAD "colour = 1\n", "application]: unknown key \"colour\"", "unknown application key");
	toml_bad(HEAD HELLO "sorce = \"x\"\n", "component \"hello\": unknown key \"sorce\"", "unknown component key");
	toml_bad("spin_manifest_version = 2\nextra = 1\n[application]\nname = \"x\"\n", "manifest: unknown key \"extra\"",
	         "unknown top-level key");
	toml_bad(HEAD "[component.hello]\nsource = \"missing.wasm\"\n",
	         "spin.toml: component \"hello\": source \"missing.wasm\": no such file (build the app first)", "missing source file");
	toml_bad(HEAD "[component.hello]\nfiles = []\n", "source is missing", "component without source");
	toml_bad(HEAD "[component.Hello_World]\nsource = \"app.wasm\"\n", "must be kebab-case", "component id not kebab-case");
	toml_bad(HEAD "[component.a--b]\nsource = \"app.wasm\"\n", "must be kebab-case", "double hyphen in id");
	toml_bad(HEAD "[variables]\nBad = { default = \"x\" }\n", "variable \"Bad\": variable names use lowercase", "bad variable name");
	toml_bad(HEAD "[variables]\n_x = { default = \"x\" }\n", "variable names use lowercase", "variable name starting with _");
	toml_bad(HEAD "[variables]\nx = { default = \"x\", required = true }\n", "keep one", "default and required");
	toml_bad(HEAD "[variables]\nx = { secret = true }\n", "needs a default", "neither default nor required");
	toml_bad(HEAD "[variables]\nx = \"plain\"\n", "must be a table", "variable not a table");
	toml_bad(HEAD "[variables]\nx = { default = 1 }\n", "default must be a string", "non-string default");
	toml_bad(HEAD HELLO "[[trigger.http]]\nroute = \"/\"\ncomponent = \"nope\"\n",
	         "component \"nope\" is not defined; add [component.nope]", "trigger names an unknown component");
	toml_bad(HEAD HELLO "[[trigger.http]]\nroute = \"/\"\ncomponent = \"no\\npe\\t\\u001b[1m\"\n",
	         "component \"no\\npe\\t\\x1b[1m\" is not defined", "a component name with control characters, escaped");
	toml_bad(HEAD "\"we\\r\\nird\" = 1\n", "unknown key \"we\\r\\nird\"", "an unknown key with CR LF, escaped");
	toml_bad(HEAD HELLO ROUTE ROUTE, "route \"/hello\" is used by triggers", "duplicate route");
	toml_bad(HEAD HELLO ROUTE "[[trigger.http]]\nroute = \"/hello/\"\ncomponent = \"hello\"\n", "is used by triggers",
	         "duplicate route with a trailing slash");
	toml_bad(HEAD HELLO "[[trigger.http]]\nid = \"a\"\nroute = \"/a\"\ncomponent = \"hello\"\n"
	                    "[[trigger.http]]\nid = \"a\"\nroute = \"/b\"\ncomponent = \"hello\"\n",
	         "trigger id \"a\" is used twice", "duplicate trigger id");
	toml_bad(HEAD HELLO "[component.hello.variables]\ngreeting = \"{{ nope }}\"\n" ROUTE,
	         "component \"hello\": variable \"greeting\" (declare it under [variables]): template \"{{ nope }}\" names unknown variable \"nope\"",
	         "template names an unknown variable");
	toml_bad(HEAD "[variables]\nx = { default = \"1\" }\n" HELLO "[component.hello.variables]\ng = \"{{ x \"\n" ROUTE,
	         "without \"}}\"", "unterminated template");
	toml_bad(HEAD "[variables]\nx = { default = \"1\" }\n" HELLO "[component.hello.variables]\ng = \"{{ X-1 }}\"\n" ROUTE,
	         "does not name a variable", "template with a bad name");
	toml_bad(HEAD HELLO "[component.hello.variables]\nBad = \"x\"\n" ROUTE, "variable name \"Bad\" is invalid",
	         "bad component variable name");
	toml_bad(HEAD HELLO "[[trigger.http]]\nroute = \"/w\"\ncomponent = \"hello\"\nexecutor = { type = \"wagi\", argv = \"${NOPE}\" }\n",
	         "unknown placeholder", "bad WAGI placeholder");
	toml_bad(HEAD HELLO "[[trigger.http]]\nroute = \"/w\"\ncomponent = \"hello\"\nexecutor = { type = \"cgi\" }\n",
	         "executor type \"cgi\" is unknown", "unknown executor");
	toml_bad(HEAD HELLO "[[trigger.http]]\nroute = { private = false }\ncomponent = \"hello\"\n",
	         "route must be a string pattern or { private = true }", "private = false");
	toml_bad(HEAD HELLO "[[trigger.http]]\ncomponent = \"hello\"\n", "route is missing", "no route");
	toml_bad(HEAD HELLO "[[trigger.http]]\nroute = \"/a/.../b\"\ncomponent = \"hello\"\n", "wildcard before its end",
	         "wildcard in the middle");
	toml_bad(HEAD HELLO "[[trigger.http]]\nroute = \"/a/:\"\ncomponent = \"hello\"\n", "parameter without a valid name",
	         "empty parameter name");
	toml_bad(HEAD HELLO "[[trigger.http]]\nroute = \"/:a/:a\"\ncomponent = \"hello\"\n", "names parameter :a twice",
	         "repeated parameter");
	toml_bad(HEAD HELLO "[[trigger.http]]\nroute = \"/\"\ncomponent = \"hello\"\nmethod = \"GET\"\n", "unknown key \"method\"",
	         "unknown trigger key");
	toml_bad(HEAD HELLO "[trigger.http]\nroute = \"/\"\n", "must be an array of tables", "[trigger.http] as a table");
	toml_bad(HEAD "[component.hello]\nsource = { url = \"https://x/a.wasm\", digest = \"sha256:" "0000000000000000000000000000000000000000000000000000000000000000\" }\n",
	         "cannot be fetched by this runtime; put the file at", "url source without a blob");
	toml_bad(HEAD "[component.hello]\nsource = { url = \"https://x/a.wasm\", digest = \"md5:00\" }\n",
	         "must be \"sha256:\" and 64 lowercase hex digits", "bad digest");
	toml_bad(HEAD HELLO "allowed_http_hosts = [\"x\"]\n", "allowed_http_hosts is from manifest version 1", "v1 key");
	toml_bad(HEAD HELLO "dependencies = { \"a:b\" = \"1.0\" }\n", "component dependencies are not supported", "dependencies");
	toml_bad(HEAD "[application.trigger.http]\nbase = \"api\"\n", "base \"api\" must start with '/'", "relative base");
	toml_bad(HEAD HELLO "files = [\"../etc/*\"]\n", "must be relative and stay in the app directory", "files escaping the app");
	toml_bad(HEAD HELLO "files = [\"/etc/passwd\"]\n", "must be relative", "absolute files pattern");
	toml_bad(HEAD HELLO "files = [{ source = \"nodir\", destination = \"/x\" }]\n", "files source \"nodir\"",
	         "files mapping without a source directory");
	toml_bad(HEAD HELLO "files = [{ source = \"app.wasm\", destination = \"x\" }]\n", "absolute destination",
	         "files mapping with a relative destination");
	toml_bad(HEAD HELLO "files = [1]\n", "files[0] must be a glob string", "files entry of the wrong type");
	toml_bad(HEAD HELLO "key_value_stores = [1]\n", "key_value_stores[0] must be a string", "kv store not a string");
	toml_bad(HEAD HELLO "sqlite_databases = [\"a\", 2]\n", "sqlite_databases[1] must be a string",
	         "sqlite database not a string");
	toml_bad(HEAD HELLO "environment = { A = 1 }\n", "environment.A must be a string", "environment value not a string");
	/* [[trigger.redis]] and [application.trigger.redis] */
#define RADDR "[application.trigger.redis]\naddress = \"redis://127.0.0.1:6379\"\n"
	toml_bad(HEAD HELLO "[[trigger.redis]]\nchannel = \"c\"\ncomponent = \"hello\"\n",
	         "trigger \"redis-trigger-1\": no Redis address; set address", "a Redis trigger without an address");
	toml_bad(HEAD RADDR HELLO "[[trigger.redis]]\ncomponent = \"hello\"\n", "channel is missing",
	         "a Redis trigger without a channel");
	toml_bad(HEAD RADDR HELLO "[[trigger.redis]]\nchannel = \"\"\ncomponent = \"hello\"\n", "channel is empty",
	         "an empty channel");
	toml_bad(HEAD RADDR HELLO "[[trigger.redis]]\nchannel = \"c\"\ncomponent = \"hello\"\nroute = \"/x\"\n",
	         "unknown key \"route\"", "an unknown key in a Redis trigger");
	toml_bad(HEAD RADDR HELLO "[[trigger.redis]]\nchannel = 5\ncomponent = \"hello\"\n", "channel must be a string",
	         "a channel that is not a string");
	toml_bad(HEAD RADDR HELLO "[[trigger.redis]]\nchannel = \"{{ nope }}\"\ncomponent = \"hello\"\n",
	         "trigger \"redis-trigger-1\": channel", "a channel template naming an undeclared variable");
	toml_bad(HEAD "[application.trigger.redis]\naddress = \"redis://{{ host\"\n" HELLO
	         "[[trigger.redis]]\nchannel = \"c\"\ncomponent = \"hello\"\n",
	         "trigger \"redis-trigger-1\": address", "an address template without its }}");
	toml_bad(HEAD "[application.trigger.redis]\nadress = \"redis://x\"\n" HELLO ROUTE, "unknown key \"adress\"",
	         "a misspelt key under [application.trigger.redis]");
	toml_bad(HEAD RADDR HELLO ROUTE "[[trigger.redis]]\nid = \"trigger-1\"\nchannel = \"c\"\ncomponent = \"hello\"\n",
	         "trigger id \"trigger-1\" is used twice", "a Redis trigger id an HTTP trigger has");
	toml_bad(HEAD RADDR HELLO "[[trigger.redis]]\nchannel = \"c\"\ncomponent = \"nope\"\n",
	         "component \"nope\" is not defined", "a Redis trigger naming no component");
	{
		char big[2 * APP_REDIS_CHANNEL_MAX + 256];
		snprintf(big, sizeof(big), "%s%s%s[[trigger.redis]]\ncomponent = \"hello\"\nchannel = \"%0*d\"\n", HEAD, RADDR,
		         HELLO, APP_REDIS_CHANNEL_MAX + 1, 0);
		toml_bad(big, "channel is longer than 1024 bytes", "a channel over the cap");
	}
	toml_bad(HEAD "name = \"again\"\n", "spin.toml:4:1: duplicate key \"name\"", "TOML errors carry file:line:col");
	toml_bad(HEAD HELLO "[component.hello]\nsource = \"app.wasm\"\n", "defined twice", "component defined twice (TOML)");
	toml_bad(HEAD HELLO "[[trigger.http]]\nid = \"hello\"\nroute = \"/x\"\ncomponent = { source = \"app.wasm\" }\n",
	         "component \"hello\" is defined twice", "inline component id clashes with a named one");
}

static void test_manifest_url_source(void)
{
	char *d = tmpdir(), hex[65], toml[1024], blob[PATH_MAX];
	struct app *app = NULL;
	struct sk_error err = { 0 };

	oracle_sha256_hex("\0asm", 4, hex);
	snprintf(toml, sizeof(toml),
	         HEAD "[component.hello]\nsource = { url = \"https://example.com/a.wasm\", digest = \"sha256:%s\" }\n" ROUTE, hex);
	write_file(d, "spin.toml", toml);
	snprintf(blob, sizeof(blob), "blobs/sha256/%s", hex);
	write_bytes(d, blob, "\0asm", 4);
	is_int(app_load(d, &app, &err), 0, "a url source loads from blobs/sha256 (%s)", err.message);
	ok(app && strstr(app->components[0].source, blob) && strcmp(app->components[0].source_digest + 7, hex) == 0,
	   "source is the blob, digest recorded");
	app_free(app);
	app = NULL;
	write_bytes(d, blob, "\0asn", 4);
	ok(app_load(d, &app, &err) == -EILSEQ && strstr(err.message, "not the sha256:"),
	   "a blob whose digest differs is refused (%s)", err.message);
	rmtree(d);
}

static void test_no_fs(void)
{
	struct sk_error err = { 0 };
	json_object *root = NULL;
	struct app *app = NULL;
	const char *text = HEAD "[component.hello]\nsource = \"nowhere.wasm\"\nfiles = [\"static/**/*\"]\n" ROUTE;

	ok(sk_toml_parse(text, strlen(text), "mem.toml", &root, &err) == 0, "in-memory manifest parses");
	is_int(app_from_manifest(root, "mem.toml", "/nonexistent", APP_LOAD_NO_FS, &app, &err), 0,
	       "NO_FS validates without files (%s)", err.message);
	ok(app && strcmp(app->components[0].source, "/nonexistent/nowhere.wasm") == 0, "source joined to dir");
	ok(app && app->components[0].n_files == 1 && strcmp(app->components[0].files[0].destination, "/static/**/*") == 0,
	   "globs recorded as written");
	app_free(app);
	app = NULL;
	ok(app_from_manifest(root, "mem.toml", "/nonexistent", 0, &app, &err) == -ENOENT, "without NO_FS the file is needed");
	json_object_put(root);
}

static void test_load_paths(void)
{
	struct app *app = NULL;
	struct sk_error err = { 0 };
	char *d = tmpdir();

	ok(app_load("/nonexistent/app", &app, &err) == -ENOENT && strstr(err.message, "/nonexistent/app"),
	   "a missing path names itself (%s)", err.message);
	ok(app_load(d, &app, &err) == -ENOENT && strstr(err.message, "no spin.toml, locked-app.json or spin.lock"),
	   "an empty directory says what it looked for (%s)", err.message);
	app_free(NULL);
	ok(1, "app_free(NULL) is fine");
	rmtree(d);
}

/* A locked app with one file:// component, as Spin writes it (flat content). */
#define LOCKED_FMT \
	"{\"spin_lock_version\": 1, \"must_understand\": [\"host_requirements\"], \"host_requirements\": {},\n" \
	" \"metadata\": {\"name\": \"locked\", \"version\": \"0.1.0\", \"origin\": \"file:///x/spin.toml\",\n" \
	"              \"triggers\": {\"http\": {\"base\": \"/api\"}, \"redis\": {\"address\": \"redis://r:6379\"}}},\n" \
	" \"variables\": {\"token\": {\"secret\": true}, \"greeting\": {\"default\": \"hey\"}},\n" \
	" \"triggers\": [\n" \
	"  {\"id\": \"t1\", \"trigger_type\": \"http\", \"trigger_config\": {\"component\": \"web\", \"route\": \"/...\"}},\n" \
	"  {\"id\": \"t2\", \"trigger_type\": \"http\", \"trigger_config\": {\"component\": \"cgi\", \"route\": \"/cgi\", " \
	"\"executor\": {\"type\": \"wagi\"}}},\n" \
	"  {\"id\": \"t3\", \"trigger_type\": \"http\", \"trigger_config\": {\"component\": \"web\", \"route\": {\"private\": true}}},\n" \
	"  {\"id\": \"t4\", \"trigger_type\": \"redis\", \"trigger_config\": {\"component\": \"web\", \"channel\": \"x\"}},\n" \
	"  {\"id\": \"t5\", \"trigger_type\": \"redis\", \"trigger_config\": {\"component\": \"web\", \"channel\": \"y\", " \
	"\"address\": \"redis://s:1\"}},\n" \
	"  {\"id\": \"t6\", \"trigger_type\": \"cron\", \"trigger_config\": {\"component\": \"web\"}}],\n" \
	" \"components\": [\n" \
	"  {\"id\": \"web\", \"metadata\": {\"allowed_outbound_hosts\": [\"https://a.b\"], \"key_value_stores\": [\"default\"],\n" \
	"   \"databases\": [\"default\"]},\n" \
	"   \"source\": {\"content_type\": \"application/wasm\", \"source\": \"file://%s/app%%2Dx.wasm\"},\n" \
	"   \"env\": {\"A\": \"1\"}, \"files\": [{\"source\": \"file://%s/static\", \"path\": \"/\"}],\n" \
	"   \"config\": {\"msg\": \"{{ greeting }}\"}},\n" \
	"  {\"id\": \"cgi\", \"source\": {\"content_type\": \"application/wasm\", \"inline\": \"AGFzbQ==\"}},\n" \
	"  {\"id\": \"blob\", \"source\": {\"content_type\": \"application/wasm\", \"digest\": \"sha256:%s\"}}]}\n"

static void test_locked(void)
{
	char *d = tmpdir(), hex[65], text[4096], blob[PATH_MAX], path[PATH_MAX];
	struct app *app = NULL;
	struct sk_error err = { 0 };

	write_bytes(d, "app-x.wasm", "\0asm", 4);
	write_file(d, "static/index.html", "hi");
	oracle_sha256_hex("blob!", 5, hex);
	snprintf(blob, sizeof(blob), "blobs/sha256/%s", hex);
	write_bytes(d, blob, "blob!", 5);
	snprintf(text, sizeof(text), LOCKED_FMT, d, d, hex);
	write_file(d, "locked-app.json", text);
	is_int(app_load(d, &app, &err), 0, "a locked app loads from its directory (%s)", err.message);
	if (app) {
		snprintf(path, sizeof(path), "%s/app-x.wasm", d);
		is_str(app->name, "locked", "metadata.name");
		is_str(app->version, "0.1.0", "metadata.version");
		is_str(app->base, "/api", "metadata.triggers.http.base");
		is_int(app->n_variables, 2, "variables");
		ok(app->variables[0].required && app->variables[0].secret, "no default means required");
		is_str(app->variables[1].default_value, "hey", "default kept");
		is_int(app->n_components, 3, "three components");
		is_str(app->components[0].source, path, "file:// source, percent-decoded");
		ok(app->components[0].n_files == 1 && app->components[0].files[0].is_dir &&
		       strcmp(app->components[0].files[0].destination, "/") == 0,
		   "files entry: a directory mounted at /");
		is_str(app->components[0].allowed_outbound_hosts[0], "https://a.b", "metadata.allowed_outbound_hosts");
		is_str(app->components[0].key_value_stores[0], "default", "metadata.key_value_stores");
		ok(app->components[0].n_sqlite_databases == 1 &&
		       strcmp(app->components[0].sqlite_databases[0], "default") == 0,
		   "metadata.databases: the component's SQLite databases");
		is_str(app->components[0].env[0].value, "1", "env");
		is_str(app->components[0].variables[0].value, "{{ greeting }}", "config becomes component variables");
		ok(app->components[1].source == NULL && app->components[1].inline_len == 4 &&
		       memcmp(app->components[1].inline_bytes, "\0asm", 4) == 0,
		   "inline content decoded from base64");
		ok(app->components[2].source && strstr(app->components[2].source, blob), "digest resolved to the blob");
		is_int(app->n_triggers, 3, "three HTTP triggers");
		ok(app->triggers[2].is_private, "private route");
		is_int(app->triggers[1].kind, APP_HANDLER_WAGI, "wagi executor");
		is_str(app->triggers[1].wagi_argv, "${SCRIPT_NAME} ${ARGS}", "WAGI defaults");
		is_int(app->triggers[1].component, 1, "trigger component index");
		ok(app->n_warnings == 1 && strstr(app->warnings[0], "cron"), "a cron trigger ignored with a warning");
		is_str(app->redis_address, "redis://r:6379", "metadata.triggers.redis.address");
		ok(app->n_redis_triggers == 2 && strcmp(app->redis_triggers[0].channel, "x") == 0 &&
		       !app->redis_triggers[0].address && strcmp(app->redis_triggers[1].address, "redis://s:1") == 0,
		   "Redis triggers: channel, and an address of its own");
	}
	app_free(app);
	app = NULL;

	/* Detected by content under another name. */
	write_file(d, "other.json", text);
	snprintf(path, sizeof(path), "%s/other.json", d);
	is_int(app_load(path, &app, &err), 0, "a JSON file of any name is read as a locked app");
	app_free(app);
	app = NULL;

	/* A blob that does not match its digest. */
	write_bytes(d, blob, "blob?", 5);
	ok(app_load(d, &app, &err) == -EILSEQ && strstr(err.message, "component \"blob\"") &&
	       strstr(err.message, "not the sha256:"),
	   "digest mismatch is refused (%s)", err.message);
	rmtree(d);
}

static void locked_bad(const char *json, const char *needle, const char *what)
{
	struct app *app = NULL;
	struct sk_error err = { 0 };
	int r = app_from_locked(json, strlen(json), "lock.json", "/nonexistent", 0, &app, &err);
	int good = r < 0 && !app && strstr(err.message, needle) && !strchr(err.message, '\n');

	ok(good, "locked app refused: %s", what);
	if (!good)
		printf("#   r=%d message \"%s\", wanted \"%s\"\n", r, err.message, needle);
	app_free(app);
}

#define LK_HEAD "{\"spin_lock_version\": 1, \"metadata\": {\"name\": \"x\"}, "
#define LK_COMP "\"components\": [{\"id\": \"c\", \"source\": {\"content_type\": \"application/wasm\", \"inline\": \"AA==\"}}]"

static void test_locked_errors(void)
{
	struct app *app = NULL;
	struct sk_error err = { 0 };
	const char *nested = LK_HEAD "\"triggers\": [], \"components\": [{\"id\": \"c\", \"source\": {\"content_type\": \"a\", "
	                             "\"content\": {\"inline\": \"AGFzbQ\"}}}]}";
	const char *old_meta = "{\"spin_lock_version\": 0, \"metadata\": {\"name\": \"x\", \"trigger\": {\"type\": \"http\", "
	                       "\"base\": \"/old\"}}, \"triggers\": [], " LK_COMP "}";

	is_int(app_from_locked(nested, strlen(nested), "l", "/", 0, &app, &err), 0, "nested content form (%s)", err.message);
	ok(app && app->components[0].inline_len == 4, "unpadded base64 decodes");
	app_free(app);
	app = NULL;
	is_int(app_from_locked(old_meta, strlen(old_meta), "l", "/", 0, &app, &err), 0, "Spin 1 metadata.trigger (%s)",
	       err.message);
	is_str(app ? app->base : NULL, "/old", "base from metadata.trigger");
	app_free(app);

	locked_bad("{\"spin_lock_version\": 2, \"triggers\": [], \"components\": []}", "spin_lock_version 2 is not supported",
	           "version 2");
	locked_bad("{\"triggers\": []}", "spin_lock_version is missing", "no version");
	locked_bad("{\"spin_lock_version\": 1,", "invalid JSON", "truncated JSON");
	locked_bad("{} {}", "one JSON object", "trailing data");
	locked_bad(LK_HEAD "\"triggers\": []}", "needs \"components\" and \"triggers\"", "no components");
	locked_bad("{\"spin_lock_version\": 1, \"triggers\": [], " LK_COMP "}", "metadata.name is missing", "no name");
	locked_bad(LK_HEAD "\"must_understand\": [\"teleport\"], \"triggers\": [], " LK_COMP "}",
	           "needs feature \"teleport\"", "unknown must_understand");
	locked_bad(LK_HEAD "\"host_requirements\": {\"gpu\": \"required\"}, \"triggers\": [], " LK_COMP "}",
	           "requires host feature \"gpu\"", "unknown host requirement");
	locked_bad(LK_HEAD "\"triggers\": [{\"id\": \"t\", \"trigger_type\": \"http\", \"trigger_config\": {\"component\": \"zz\", "
	                   "\"route\": \"/\"}}], " LK_COMP "}",
	           "component \"zz\" is not in the app", "trigger to an unknown component");
	locked_bad(LK_HEAD "\"triggers\": [{\"id\": \"t\", \"trigger_type\": \"http\", \"trigger_config\": {\"component\": \"c\"}}], "
	                   LK_COMP "}",
	           "has no route", "trigger without route");
	locked_bad(LK_HEAD "\"triggers\": [], \"components\": [{\"id\": \"c\", \"source\": {\"content_type\": \"a\", "
	                   "\"source\": \"https://x/y.wasm\"}}]}",
	           "is not a file:// URL", "remote source");
	locked_bad(LK_HEAD "\"triggers\": [], \"components\": [{\"id\": \"c\", \"source\": {\"content_type\": \"a\", "
	                   "\"source\": \"file:///nonexistent/y.wasm\"}}]}",
	           "no such file", "missing file source");
	locked_bad(LK_HEAD "\"triggers\": [], \"components\": [{\"id\": \"c\", \"source\": {\"content_type\": \"a\", "
	                   "\"inline\": \"!!\"}}]}",
	           "not valid base64", "bad base64");
	locked_bad(LK_HEAD "\"triggers\": [], \"components\": [{\"id\": \"c\", \"source\": {\"content_type\": \"a\", "
	                   "\"digest\": \"sha256:" "1111111111111111111111111111111111111111111111111111111111111111\"}}]}",
	           "is not at /nonexistent/blobs/sha256/", "missing blob");
	locked_bad(LK_HEAD "\"triggers\": [], \"components\": [{\"id\": \"c\", \"source\": {\"content_type\": \"a\"}}]}",
	           "content has no source, inline or digest", "empty content");
	locked_bad(LK_HEAD "\"triggers\": [], \"components\": [{\"id\": \"c\", \"dependencies\": {\"a:b\": {}}, "
	                   "\"source\": {\"content_type\": \"a\", \"inline\": \"AA==\"}}]}",
	           "dependencies are not supported", "component dependencies");
	locked_bad(LK_HEAD "\"variables\": {\"Bad\": {}}, \"triggers\": [], " LK_COMP "}", "variable \"Bad\" is invalid",
	           "bad variable name");
	locked_bad(LK_HEAD "\"triggers\": [], \"components\": [{\"id\": \"c\", \"source\": {\"content_type\": \"a\", "
	                   "\"inline\": \"AA==\"}, \"config\": {\"m\": \"{{ nope }}\"}}]}",
	           "names unknown variable \"nope\"", "template naming an unknown variable");
	locked_bad(LK_HEAD "\"triggers\": [], \"components\": [{\"id\": \"c\", \"source\": {\"content_type\": \"a\", "
	                   "\"inline\": \"AA==\"}, \"files\": [{\"inline\": \"AA==\", \"path\": \"/f\"}]}]}",
	           "inline content is not supported here", "inline file content");
}

static const char *retain_manifest = HEAD "[component.a]\nsource = \"app.wasm\"\n[component.b]\nsource = \"app.wasm\"\n"
                                          "[component.c]\nsource = \"app.wasm\"\n"
                                          "[[trigger.http]]\nroute = \"/a\"\ncomponent = \"a\"\n"
                                          "[[trigger.http]]\nroute = \"/b\"\ncomponent = \"b\"\n"
                                          "[[trigger.http]]\nroute = \"/c\"\ncomponent = \"c\"\n"
                                          "[[trigger.http]]\nroute = \"/c2\"\ncomponent = \"c\"\n";

static void test_retain(void)
{
	char *d = app_dir(retain_manifest);
	struct app *app = NULL;
	struct sk_error err = { 0 };

	is_int(app_load(d, &app, &err), 0, "retain fixture loads (%s)", err.message);
	if (!app) {
		rmtree(d);
		return;
	}
	ok(app_retain(app, "a,zz", &err) == -ENOENT && strstr(err.message, "component \"zz\" is not in app \"demo\""),
	   "an unknown id is named (%s)", err.message);
	is_int(app->n_components, 3, "a failed retain leaves the app as it was");
	ok(app_retain(app, " , ", &err) == -EINVAL && strstr(err.message, "names no component"), "an empty list is refused");
	is_int(app_retain(app, " c , a", &err), 0, "retain \" c , a\" (%s)", err.message);
	is_int(app->n_components, 2, "two components kept");
	is_str(app->components[0].id, "a", "manifest order is kept");
	is_str(app->components[1].id, "c", "second kept component");
	is_int(app->n_triggers, 3, "triggers of dropped components are gone");
	ok(app->triggers[0].component == 0 && app->triggers[1].component == 1 && app->triggers[2].component == 1,
	   "trigger component indexes are remapped");
	is_str(app->triggers[1].route, "/c", "the /c trigger stays");
	is_int(app_find_component(app, "b"), -1, "b is gone");
	app_free(app);
	rmtree(d);
}

int main(void)
{
	test_manifest_full();
	test_manifest_errors();
	test_manifest_url_source();
	test_no_fs();
	test_load_paths();
	test_locked();
	test_locked_errors();
	test_retain();
	return tap_done();
}
