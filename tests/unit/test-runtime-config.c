/* Spin's runtime config file (shim-bridge/app/runtime-config.c), the
 * variable name rules (shim-bridge/app/vars.c) and the SQLite key-value
 * backend (shim-bridge/wasi/kv-sqlite.c); with SPIN_RC_TEST_HOST, also the
 * Spin host functions of shim-bridge/wasi/spin.c called the way wasmtime
 * calls them. Stores are real SQLite files in a temporary folder. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/escape.h"
#include "shim-bridge/app/runtime-config.h"
#include "shim-bridge/app/vars.h"
#include "shim-bridge/wasi/kv-sqlite.h"
#include "tests/tap.h"

#ifdef SPIN_RC_TEST_HOST
#include "shim-bridge/wasi/host.h"
#endif

static char tmp[PATH_MAX];

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0)
		printf("# cannot write %s\n", path);
}

/* tmp/rel, in one of four rotating buffers. */
static char *path_in(const char *rel)
{
	static char buf[4][PATH_MAX + 64];
	static unsigned i;
	char *b = buf[i++ % 4];

	if ((size_t)snprintf(b, sizeof(buf[0]), "%s/%s", tmp, rel) >= sizeof(buf[0]))
		printf("# path too long: %s/%s\n", tmp, rel);
	return b;
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static struct app_runtime_config *parse(const char *text, const char *dir, struct sk_error *err)
{
	struct app_runtime_config *rc = NULL;

	if (app_runtime_config_parse(text, strlen(text), "rc.toml", dir, &rc, err) < 0)
		return NULL;
	return rc;
}

static void test_names(void)
{
	static const char *const good[] = {"a", "api_key", "x1", "a_b_c", "abc123", "z9_0"};
	static const struct {
		const char *name;
		const char *why;
	} bad[] = {
	    {"", "must not be empty"},
	    {"1a", "must start with a lowercase ASCII letter"},
	    {"_a", "must start with a lowercase ASCII letter"},
	    {"a_", "must end with a lowercase ASCII letter or digit"},
	    {"a__b", "must not contain multiple consecutive underscores"},
	    {"Abc", "invalid character 'A'"},
	    {"a-b", "invalid character '-'"},
	    {"a b", "invalid character (byte 0x20)"},
	    {"caf\xc3\xa9", "invalid character (byte 0xc3)"},
	};
	struct sk_error why = {0};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ok(app_variable_name_check(good[i], strlen(good[i]), &why) == 0,
		   "variable name \"%s\" is valid", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sk_err_clear(&why);
		ok(app_variable_name_check(bad[i].name, strlen(bad[i].name), &why) == -EINVAL &&
		       strstr(why.message, bad[i].why),
		   "variable name \"%s\" refused: %s", bad[i].name, why.message);
	}
	ok(app_variable_name_check("a\0b", 3, NULL) == -EINVAL, "a NUL inside a name is refused (no reason asked)");
}

/* What SpinKube's controller renders, plus what Spin also reads. */
static const char good_rc[] = "state_dir = \"/var/lib/app\"\n"
                              "\n"
                              "[[config_provider]]\n"
                              "type = \"env\"\n"
                              "prefix = \"SPIN_VARIABLE_\"\n"
                              "\n"
                              "[[config_provider]]\n"
                              "type = \"static\"\n"
                              "values = { greeting = \"hi\", token = \"t0k\" }\n"
                              "\n"
                              "[[config_provider]]\n"
                              "type = \"env\"\n"
                              "\n"
                              "[key_value_store.default]\n"
                              "type = \"spin\"\n"
                              "path = \"data/kv.db\"\n"
                              "\n"
                              "[key_value_store.abs]\n"
                              "type = \"spin\"\n"
                              "path = \"/srv/kv.db\"\n"
                              "\n"
                              "[key_value_store.mem]\n"
                              "type = \"spin\"\n"
                              "\n"
                              "[key_value_store.cache]\n"
                              "type = \"redis\"\n"
                              "url = \"redis://:pw@cache.internal:6380/2\"\n"
                              "\n"
                              "[sqlite_database.default]\n"
                              "type = \"spin\"\n"
                              "path = \"data/app.db\"\n"
                              "\n"
                              "[sqlite_database.mem]\n"
                              "type = \"spin\"\n"
                              "\n"
                              "[llm_compute]\n"
                              "type = \"remote_http\"\n"
                              "url = \"https://llm.example.com\"\n";

static void test_parse_good(void)
{
	struct sk_error err = {0};
	struct app_runtime_config *rc = parse(good_rc, "/etc/app", &err);
	const char *v = NULL;

	ok(rc != NULL, "SpinKube-style runtime config parses: %s", err.message);
	if (!rc)
		return;
	ok(rc->has_state_dir && strcmp(rc->state_dir, "/var/lib/app") == 0, "state_dir");
	is_int(rc->n_providers, 3, "three variable providers");
	ok(rc->providers[0].type == APP_RC_PROVIDER_ENV &&
	       strcmp(rc->providers[0].prefix, "SPIN_VARIABLE_") == 0,
	   "env provider with its prefix");
	ok(rc->providers[1].type == APP_RC_PROVIDER_STATIC && rc->providers[1].n_values == 2,
	   "static provider");
	ok(rc->providers[2].type == APP_RC_PROVIDER_ENV && rc->providers[2].prefix == NULL,
	   "env provider without a prefix");
	is_int(rc->n_kv, 4, "four key-value stores");
	is_str(rc->kv[0].label, "default", "store label");
	is_str(rc->kv[0].path, "/etc/app/data/kv.db", "relative path resolved against the config's folder");
	is_str(rc->kv[1].path, "/srv/kv.db", "absolute path kept");
	ok(rc->kv[2].path == NULL && rc->kv[2].url == NULL, "no path: in memory");
	if (rc->n_kv == 4)
		ok(rc->kv[3].path == NULL && rc->kv[3].url && strcmp(rc->kv[3].url, "redis://:pw@cache.internal:6380/2") == 0,
		   "a redis store keeps its url as written");
	is_int(rc->n_sqlite, 2, "two SQLite databases");
	if (rc->n_sqlite == 2) {
		is_str(rc->sqlite[0].label, "default", "database label");
		is_str(rc->sqlite[0].path, "/etc/app/data/app.db",
		       "database path resolved against the config's folder");
		ok(rc->sqlite[1].path == NULL && strcmp(rc->sqlite[1].label, "mem") == 0,
		   "a database without a path: in memory");
	}
	is_int(rc->n_warnings, 1, "one warning: llm_compute (sqlite_database is served)");
	ok(rc->n_warnings == 1 && strstr(rc->warnings[0], "rc.toml:36:") &&
	       strstr(rc->warnings[0], "llm_compute"),
	   "llm_compute warning: %s", rc->n_warnings ? rc->warnings[0] : "");

	/* Provider order: env (SPIN_VARIABLE_ + '_' + NAME), static, env (SPIN_VARIABLE_NAME). */
	const char *envp[] = {"SPIN_VARIABLE__TOKEN=from-env", "SPIN_VARIABLE_GREETING=late",
	                      "SPIN_VARIABLE_ONLY=o", "SPIN_VARIABLE_EMPTY=", NULL};
	ok(app_runtime_config_variable(rc, envp, "token", &v) == 0 && strcmp(v, "from-env") == 0,
	   "first provider wins: SpinKube's prefix looks up SPIN_VARIABLE__TOKEN");
	ok(app_runtime_config_variable(rc, envp, "greeting", &v) == 0 && strcmp(v, "hi") == 0,
	   "static provider before a later env provider");
	ok(app_runtime_config_variable(rc, envp, "only", &v) == 0 && strcmp(v, "o") == 0,
	   "env provider without a prefix reads SPIN_VARIABLE_ONLY");
	ok(app_runtime_config_variable(rc, envp, "empty", &v) == 0 && strcmp(v, "") == 0,
	   "an empty environment value is a value");
	ok(app_runtime_config_variable(rc, envp, "missing", &v) == -ENOENT, "unknown variable: -ENOENT");
	ok(app_runtime_config_variable(NULL, envp, "token", &v) == -ENOENT, "no config: -ENOENT");
	app_runtime_config_free(rc);

	rc = parse("[[variables_provider]]\ntype = \"static\"\n[variables_provider.values]\nx = \"1\"\n",
	           NULL, &err);
	ok(rc && rc->n_providers == 1 && rc->providers[0].n_values == 1,
	   "variables_provider, Spin 3's name: %s", err.message);
	app_runtime_config_free(rc);

	rc = parse("[sqlite_database.a]\ntype = \"spin\"\npath = \"/abs/a.db\"\nurl = \"x\"\n", "/etc", &err);
	ok(rc && rc->n_sqlite == 1 && strcmp(rc->sqlite[0].path, "/abs/a.db") == 0 && rc->n_warnings == 1 &&
	       strstr(rc->warnings[0], "rc.toml:1:") && strstr(rc->warnings[0], "[sqlite_database.a]") &&
	       strstr(rc->warnings[0], "\"url\" is ignored"),
	   "an absolute database path is kept; an unknown key is a warning: %s",
	   rc && rc->n_warnings ? rc->warnings[0] : err.message);
	app_runtime_config_free(rc);

	rc = parse("", NULL, &err);
	ok(rc && rc->n_kv == 0 && rc->n_sqlite == 0 && rc->n_providers == 0 && !rc->has_state_dir,
	   "an empty file is an empty config");
	app_runtime_config_free(rc);

	rc = parse(
	    "state_dir = \"\"\nlog_dir = \"/l\"\n[key_value_store.x]\ntype = \"spin\"\npth = \"typo.db\"\n",
	    NULL, &err);
	ok(rc && rc->has_state_dir && rc->n_warnings == 2 && strstr(rc->warnings[0], "log_dir") &&
	       strstr(rc->warnings[1], "rc.toml:3:") && strstr(rc->warnings[1], "\"pth\""),
	   "log_dir and an unknown store key are warnings, as Spin ignores them: %s",
	   rc && rc->n_warnings > 1 ? rc->warnings[1] : err.message);
	app_runtime_config_free(rc);
}

static void test_parse_bad(void)
{
	static const struct {
		const char *text;
		int code;
		const char *want[3];
	} bad[] = {
	    {"[key_value_store.cache]\ntype = \"redis\"\n",
	     -EINVAL,
	     {"rc.toml:1:", "[key_value_store.cache]: type \"redis\" needs url = \"redis://", NULL}},
	    {"[key_value_store.cache]\ntype = \"redis\"\nurl = 6379\n",
	     -EINVAL,
	     {"[key_value_store.cache]: url must be a non-empty string", NULL}},
	    {"[key_value_store.cache]\ntype = \"redis\"\nurl = \"\"\n", -EINVAL, {"url must be", NULL}},
	    {"\n[key_value_store.c]\ntype = \"azure_cosmos\"\n",
	     -ENOTSUP,
	     {"rc.toml:2:", "azure_cosmos", "spin"}},
	    {"[key_value_store.d]\ntype = \"aws_dynamo\"\n", -ENOTSUP, {"aws_dynamo", "not supported", NULL}},
	    {"[key_value_store.e]\ntype = \"floppy\"\n",
	     -EINVAL,
	     {"\"floppy\" is not a key-value store type", NULL}},
	    {"[key_value_store.f]\npath = \"x.db\"\n",
	     -EINVAL,
	     {"rc.toml:1:", "type is missing", "type = \"spin\""}},
	    {"[key_value_store.g]\ntype = \"spin\"\npath = 3\n",
	     -EINVAL,
	     {"path must be a non-empty string", NULL}},
	    {"[key_value_store.g]\ntype = \"spin\"\npath = \"\"\n",
	     -EINVAL,
	     {"path must be a non-empty string", NULL}},
	    {"[key_value_store]\nx = 1\n", -EINVAL, {"key_value_store.x is an integer", NULL}},
	    {"key_value_store = 1\n", -EINVAL, {"rc.toml:1:", "key_value_store is an integer", NULL}},
	    {"[key_value_store.\"\"]\ntype = \"spin\"\n", -EINVAL, {"label cannot be empty", NULL}},
	    {"[[config_provider]]\ntype = \"env\"\n\n[[config_provider]]\ntype = \"vault\"\nurl = "
	     "\"http://v\"\n",
	     -ENOTSUP,
	     {"rc.toml:4:", "config_provider[1]: variables provider type \"vault\" is not supported",
	      "\"env\" or \"static\""}},
	    {"[[config_provider]]\ntype = \"azure_key_vault\"\n", -ENOTSUP, {"azure_key_vault", NULL}},
	    {"[[config_provider]]\ntype = \"magic\"\n",
	     -EINVAL,
	     {"unknown variables provider type \"magic\"", NULL}},
	    {"[[config_provider]]\nprefix = \"X\"\n", -EINVAL, {"config_provider[0]: type is missing", NULL}},
	    {"[[config_provider]]\ntype = \"env\"\ndotenv_path = \".env\"\n",
	     -ENOTSUP,
	     {"dotenv_path", NULL}},
	    {"[[config_provider]]\ntype = \"env\"\nprefixx = \"A\"\n",
	     -EINVAL,
	     {"unknown key \"prefixx\"", NULL}},
	    {"[[config_provider]]\ntype = \"env\"\nprefix = 1\n", -EINVAL, {"prefix must be a string", NULL}},
	    {"[[config_provider]]\ntype = \"static\"\n", -EINVAL, {"needs values = {", NULL}},
	    {"[[config_provider]]\ntype = \"static\"\nvalues = { a = 1 }\n",
	     -EINVAL,
	     {"values.a must be a string (it is an integer)", NULL}},
	    {"[config_provider]\ntype = \"env\"\n",
	     -EINVAL,
	     {"rc.toml:1:", "write each provider as an array-of-tables", NULL}},
	    {"config_provider = [1]\n", -EINVAL, {"config_provider[0] is an integer", NULL}},
	    {"[[config_provider]]\ntype = \"env\"\n[[variables_provider]]\ntype = \"env\"\n",
	     -EINVAL,
	     {"has both variables_provider and config_provider", NULL}},
	    {"baz = \"/baz\"\n", -EINVAL, {"rc.toml:1:", "unknown key \"baz\"", "known:"}},
	    {"state_dir = 1\n", -EINVAL, {"state_dir must be a string", NULL}},
	    {"[[config_provider]\n", -EINVAL, {"runtime config: rc.toml:1:", NULL}},
	    {"a = \"x\"\na = \"y\"\n", -EINVAL, {"runtime config: rc.toml:2:", NULL}},
	    /* Values that quote control characters stay one line (the fuzz
	     * crash: a provider type written as a multi-line string). */
	    {"[[config_provider]]\ntype = \"\"\"\"\"ite_davider]]\ntype = \"\"\"\"\"\nprefix = \"SPIl)tabttp\"\n",
	     -EINVAL,
	     {"rc.toml:1:", "provider type \"\"\"ite_davider]]\\ntype = \"", NULL}},
	    {"[[config_provider]]\ntype = \"e\\tn\\rv\\u001b[2J\"\n",
	     -EINVAL,
	     {"type \"e\\tn\\rv\\x1b[2J", NULL}},
	    {"[key_value_store.\"a\\nb\"]\ntype = \"floppy\"\n", -EINVAL, {"\"floppy\"", NULL}},
	    {"[key_value_store.x]\ntype = \"\\u0085\\u2028\"\n", -EINVAL, {"\\u0085\\u2028", NULL}},
	    /* [sqlite_database.*] */
	    {"\n[sqlite_database.remote]\ntype = \"libsql\"\nurl = \"https://db.example.com\"\ntoken = "
	     "\"t\"\n",
	     -ENOTSUP,
	     {"rc.toml:2:",
	      "[sqlite_database.remote]: type \"libsql\" (a remote libSQL database) is not supported",
	      "type = \"spin\" with path"}},
	    {"[sqlite_database.a]\ntype = \"postgres\"\n",
	     -EINVAL,
	     {"rc.toml:1:", "type \"postgres\" is not a SQLite database type", "type = \"spin\""}},
	    {"[sqlite_database.a]\npath = \"a.db\"\n",
	     -EINVAL,
	     {"[sqlite_database.a]: type is missing", NULL}},
	    {"[sqlite_database.a]\ntype = 1\n", -EINVAL, {"type must be a string", NULL}},
	    {"[sqlite_database.a]\ntype = \"spin\"\npath = \"\"\n",
	     -EINVAL,
	     {"[sqlite_database.a]: path must be a non-empty string", NULL}},
	    {"[sqlite_database.a]\ntype = \"spin\"\npath = [\"a.db\"]\n",
	     -EINVAL,
	     {"path must be a non-empty string", NULL}},
	    {"[sqlite_database]\na = \"x\"\n",
	     -EINVAL,
	     {"sqlite_database.a is a string", "[sqlite_database.a]"}},
	    {"sqlite_database = 1\n", -EINVAL, {"rc.toml:1:", "sqlite_database is an integer", NULL}},
	    {"[sqlite_database.\"\"]\ntype = \"spin\"\n", -EINVAL, {"database label cannot be empty", NULL}},
	    {"[sqlite_database.\"a\\tb\"]\ntype = \"e\\u001b[2J\"\n", -EINVAL, {"\\x1b[2J", NULL}},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sk_error err = {0};
		struct app_runtime_config *rc = NULL;
		int r =
		    app_runtime_config_parse(bad[i].text, strlen(bad[i].text), "rc.toml", NULL, &rc, &err);
		bool all = true;

		for (size_t j = 0; j < 3 && bad[i].want[j]; j++)
			if (!strstr(err.message, bad[i].want[j]))
				all = false;
		ok(r == bad[i].code && all && rc == NULL, "refused (%d): %s", r, err.message);
		ok(sk_is_one_line(err.message), "... in one line, control characters escaped");
		app_runtime_config_free(rc);
	}
}

static void test_load(void)
{
	struct sk_error err = {0};
	struct app_runtime_config *rc = NULL;
	char *big;
	const char *text = "[key_value_store.data]\ntype = \"spin\"\npath = \"sub/data.db\"\n";

	write_file(path_in("rc.toml"), text, strlen(text));
	ok(app_runtime_config_load(path_in("rc.toml"), true, &rc, &err) == 0, "load a file: %s",
	   err.message);
	if (rc) {
		is_str(rc->dir, tmp, "the config's folder");
		is_str(rc->kv[0].path, path_in("sub/data.db"), "store path relative to the file's folder");
		is_str(rc->path, path_in("rc.toml"), "the file's path");
	}
	app_runtime_config_free(rc);
	rc = NULL;

	ok(app_runtime_config_load(path_in("none.toml"), false, &rc, &err) == 0 && rc && !rc->path &&
	       rc->n_kv == 0,
	   "a missing optional file is an empty config");
	app_runtime_config_free(rc);
	rc = NULL;
	ok(app_runtime_config_load(path_in("none.toml"), true, &rc, &err) == -ENOENT &&
	       strstr(err.message, "none.toml: no such file") && strstr(err.message, "--runtime-config-file"),
	   "a missing named file: %s", err.message);

	big = malloc(1024 * 1024 + 2);
	if (big) {
		memset(big, '#', 1024 * 1024 + 1);
		write_file(path_in("big.toml"), big, 1024 * 1024 + 1);
		free(big);
	}
	ok(app_runtime_config_load(path_in("big.toml"), true, &rc, &err) == -E2BIG &&
	       strstr(err.message, "larger than"),
	   "a file over 1 MiB: %s", err.message);
	ok(app_runtime_config_load(tmp, true, &rc, &err) < 0 && strstr(err.message, tmp), "a folder: %s",
	   err.message);
	text = "[key_value_store.x]\ntype = \"aws_dynamo\"\n";
	write_file(path_in("redis.toml"), text, strlen(text));
	ok(app_runtime_config_load(path_in("redis.toml"), true, &rc, &err) == -ENOTSUP &&
	       strstr(err.message, "redis.toml:1:"),
	   "errors name the file and line: %s", err.message);
}

static void test_state_dir(void)
{
	struct sk_error err = {0};
	struct app_runtime_config *with = parse("state_dir = \"/from/toml\"\n", NULL, &err);
	struct app_runtime_config *empty = parse("state_dir = \"\"\n", NULL, &err);
	struct app_runtime_config *rel = parse("state_dir = \"rel/st\"\n", NULL, &err);
	char cwd[PATH_MAX], want[PATH_MAX + 16];
	char *d = NULL;

	ok(app_runtime_config_state_dir(with, "/flag", "/app", &d, &err) == 0 && d &&
	       strcmp(d, "/flag") == 0,
	   "--state-dir wins");
	free(d);
	ok(app_runtime_config_state_dir(with, NULL, "/app", &d, &err) == 0 && d &&
	       strcmp(d, "/from/toml") == 0,
	   "then the file's state_dir");
	free(d);
	ok(app_runtime_config_state_dir(NULL, NULL, "/app", &d, &err) == 0 && d &&
	       strcmp(d, "/app/.spin") == 0,
	   "then .spin in the app's folder");
	free(d);
	ok(app_runtime_config_state_dir(NULL, NULL, "/", &d, &err) == 0 && d && strcmp(d, "/.spin") == 0,
	   "an app at / (the shim's working folder): /.spin");
	free(d);
	ok(app_runtime_config_state_dir(empty, NULL, "/app", &d, &err) == 0 && d == NULL,
	   "state_dir = \"\": no state folder");
	ok(app_runtime_config_state_dir(with, "", "/app", &d, &err) == 0 && d == NULL,
	   "--state-dir \"\": none");
	ok(app_runtime_config_state_dir(NULL, NULL, NULL, &d, &err) == 0 && d == NULL, "nothing: none");
	if (getcwd(cwd, sizeof(cwd))) {
		(void)snprintf(want, sizeof(want), "%s/rel/st", strcmp(cwd, "/") == 0 ? "" : cwd);
		ok(app_runtime_config_state_dir(rel, NULL, "/app", &d, &err) == 0 && d &&
		       strcmp(d, want) == 0,
		   "a relative state_dir is made absolute: %s", d ? d : "(null)");
		free(d);
	}
	app_runtime_config_free(with);
	app_runtime_config_free(empty);
	app_runtime_config_free(rel);
}

static bool get_is(struct wh_kvdb_store *s, const char *key, size_t klen, const void *want, size_t wlen)
{
	struct sk_error err = {0};
	uint8_t *v = NULL;
	size_t n = 0;
	bool same;

	if (wh_kvdb_get(s, key, klen, &v, &n, &err) < 0) {
		printf("# get: %s\n", err.message);
		return false;
	}
	same = n == wlen && (n == 0 || memcmp(v, want, n) == 0);
	free(v);
	return same;
}

static size_t count_keys(struct wh_kvdb_store *s)
{
	struct sk_error err = {0};
	struct wh_kvdb_key *keys = NULL;
	size_t n = 0;

	if (wh_kvdb_keys(s, &keys, &n, &err) < 0) {
		printf("# keys: %s\n", err.message);
		return (size_t)-1;
	}
	wh_kvdb_keys_free(keys, n);
	return n;
}

static void test_kv_ops(void)
{
	struct sk_error err = {0};
	struct app_runtime_config *rc = NULL;
	struct wh_kvdb *db = NULL;
	struct wh_kvdb_store *s, *other;
	struct wh_kvdb_key *keys = NULL;
	const char *labels[] = {"default", "other"};
	const char *text = "[key_value_store.other]\ntype = \"spin\"\npath = \"stores/other.db\"\n";
	static const uint8_t bin[] = {0, 1, 2, 0xff, 0};
	uint8_t *v = NULL, *large;
	size_t n = 0;
	bool found = true;

	write_file(path_in("kv.toml"), text, strlen(text));
	ok(app_runtime_config_load(path_in("kv.toml"), true, &rc, &err) == 0, "runtime config with a store");
	ok(wh_kvdb_new(rc, path_in("state"), NULL, &db, &err) == 0, "backend: %s", err.message);
	if (!db) {
		app_runtime_config_free(rc);
		return;
	}
	ok(!exists(path_in("state")), "nothing is created before a component needs it");
	ok(wh_kvdb_check_component(db, "web", labels, 2, &err) == 0, "component's stores open: %s",
	   err.message);
	ok(exists(path_in("state/sqlite_key_value.db")), "the default store at <state>/sqlite_key_value.db");
	ok(exists(path_in("stores/other.db")), "a labelled store at its path (folder made)");
	const char *missing[] = {"default", "cache"};
	ok(wh_kvdb_check_component(db, "web", missing, 2, &err) == -ENOENT &&
	       strstr(err.message, "\"web\"") && strstr(err.message, "\"cache\"") &&
	       strstr(err.message, "[key_value_store.cache]"),
	   "an undefined label is a start-up error: %s", err.message);

	s = wh_kvdb_find(db, "default", 7);
	other = wh_kvdb_find(db, "other", 5);
	ok(s && other && !wh_kvdb_find(db, "defaul", 6) && !wh_kvdb_find(db, "nope", 4), "find by label");
	if (!s || !other)
		goto out;
	is_str(wh_kvdb_store_label(s), "default", "label");
	is_str(wh_kvdb_store_path(s), path_in("state/sqlite_key_value.db"), "path");

	ok(wh_kvdb_get(s, "a", 1, &v, &n, &err) == -ENOENT, "get of a missing key: -ENOENT");
	ok(wh_kvdb_exists(s, "a", 1, &found, &err) == 0 && !found, "exists: false");
	ok(wh_kvdb_set(s, "a", 1, (const uint8_t *)"1", 1, &err) == 0, "set: %s", err.message);
	ok(get_is(s, "a", 1, "1", 1), "get what was set");
	ok(wh_kvdb_set(s, "a", 1, (const uint8_t *)"two", 3, &err) == 0 && get_is(s, "a", 1, "two", 3),
	   "set overwrites");
	ok(wh_kvdb_exists(s, "a", 1, &found, &err) == 0 && found, "exists: true");
	ok(wh_kvdb_set(s, "empty", 5, NULL, 0, &err) == 0 && get_is(s, "empty", 5, "", 0),
	   "an empty value is stored (not NULL): %s", err.message);
	ok(wh_kvdb_set(s, "bin", 3, bin, sizeof(bin), &err) == 0 && get_is(s, "bin", 3, bin, sizeof(bin)),
	   "binary values with NUL bytes");
	ok(wh_kvdb_set(s, "k\0ey", 4, (const uint8_t *)"n", 1, &err) == 0 &&
	       get_is(s, "k\0ey", 4, "n", 1) && wh_kvdb_get(s, "k", 1, &v, &n, &err) == -ENOENT,
	   "a key holding U+0000 is its own key");
	ok(wh_kvdb_set(s, "", 0, (const uint8_t *)"e", 1, &err) == 0 && get_is(s, "", 0, "e", 1),
	   "the empty key");
	ok(wh_kvdb_set(s, "\xe2\x98\x83", 3, (const uint8_t *)"s", 1, &err) == 0, "a UTF-8 key");
	ok(wh_kvdb_keys(s, &keys, &n, &err) == 0 && n == 6, "get-keys: %zu keys", n);
	bool saw = false;
	for (size_t i = 0; keys && i < n; i++)
		if (keys[i].n == 4 && memcmp(keys[i].s, "k\0ey", 4) == 0)
			saw = true;
	ok(saw, "get-keys returns keys with their length");
	wh_kvdb_keys_free(keys, n);
	keys = NULL;
	ok(count_keys(other) == 0, "stores are separate");
	ok(wh_kvdb_set(other, "a", 1, (const uint8_t *)"o", 1, &err) == 0 &&
	       get_is(other, "a", 1, "o", 1) && get_is(s, "a", 1, "two", 3),
	   "the same key in two stores");
	ok(wh_kvdb_delete(s, "a", 1, &err) == 0 && wh_kvdb_get(s, "a", 1, &v, &n, &err) == -ENOENT,
	   "delete");
	ok(wh_kvdb_delete(s, "a", 1, &err) == 0, "delete of a missing key is no error");

	large = calloc(1, WH_KV_VALUE_MAX + 1);
	if (large) {
		ok(wh_kvdb_set(s, "big", 3, large, WH_KV_VALUE_MAX, &err) == 0 &&
		       get_is(s, "big", 3, large, WH_KV_VALUE_MAX),
		   "a value of WH_KV_VALUE_MAX bytes");
		ok(wh_kvdb_set(s, "big", 3, large, WH_KV_VALUE_MAX + 1, &err) == -E2BIG &&
		       strstr(err.message, "larger than"),
		   "a larger value: %s", err.message);
		ok(wh_kvdb_get(s, (const char *)large, WH_KV_KEY_MAX + 1, &v, &n, &err) == -E2BIG &&
		       strstr(err.message, "longer than"),
		   "a key over WH_KV_KEY_MAX: %s", err.message);
		free(large);
	}
out:
	wh_kvdb_free(db);
	db = NULL;

	/* Persistence: a new backend on the same files sees the data. */
	ok(wh_kvdb_new(rc, path_in("state"), NULL, &db, &err) == 0, "reopen");
	s = wh_kvdb_find(db, "default", 7);
	other = wh_kvdb_find(db, "other", 5);
	ok(s && get_is(s, "bin", 3, bin, sizeof(bin)) && other && get_is(other, "a", 1, "o", 1),
	   "values persist across reopen");
	wh_kvdb_free(db);
	app_runtime_config_free(rc);
}

/* The file is Spin's: the same table, so Spin's data serves here and ours
 * serves Spin. */
static void test_spin_format(void)
{
	struct sk_error err = {0};
	struct wh_kvdb *db = NULL;
	struct wh_kvdb_store *s;
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	bool row = false;

	if (wh_kvdb_new(NULL, path_in("fmt"), NULL, &db, &err) < 0 || !(s = wh_kvdb_find(db, "default", 7))) {
		ok(0, "backend: %s", err.message);
		return;
	}
	ok(wh_kvdb_set(s, "ours", 4, (const uint8_t *)"v", 1, &err) == 0, "write through the backend");
	if (sqlite3_open(path_in("fmt/sqlite_key_value.db"), &h) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, "SELECT store, key, typeof(value), value FROM spin_key_value", -1, &st,
	                       NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		row = strcmp((const char *)sqlite3_column_text(st, 0), "default") == 0 &&
		      strcmp((const char *)sqlite3_column_text(st, 1), "ours") == 0 &&
		      strcmp((const char *)sqlite3_column_text(st, 2), "blob") == 0 &&
		      sqlite3_column_bytes(st, 3) == 1;
	ok(row, "Spin's table spin_key_value(store, key, value BLOB) with the label in store");
	sqlite3_finalize(st);
	ok(sqlite3_exec(h, "INSERT INTO spin_key_value VALUES ('default', 'spin', x'00ff')", NULL, NULL,
	                NULL) == SQLITE_OK,
	   "a row as Spin writes it");
	sqlite3_close(h);
	ok(get_is(s, "spin", 4, "\0\xff", 2), "is read by the backend");
	wh_kvdb_free(db);

	/* A file with another table of that name is refused at open. */
	mkdir(path_in("foreign"), 0700);
	h = NULL;
	if (sqlite3_open(path_in("foreign/sqlite_key_value.db"), &h) == SQLITE_OK)
		(void)sqlite3_exec(h, "CREATE TABLE spin_key_value (x)", NULL, NULL, NULL);
	sqlite3_close(h);
	const char *labels[] = {"default"};
	db = NULL;
	ok(wh_kvdb_new(NULL, path_in("foreign"), NULL, &db, &err) == 0 &&
	       wh_kvdb_check_component(db, "c", labels, 1, &err) < 0 &&
	       strstr(err.message, "not Spin's key-value table") && strstr(err.message, "component \"c\""),
	   "a foreign table: %s", err.message);
	wh_kvdb_free(db);

	/* An unwritable state folder is a start-up error naming the fix. */
	write_file(path_in("plainfile"), "x", 1);
	db = NULL;
	ok(wh_kvdb_new(NULL, path_in("plainfile/state"), NULL, &db, &err) == 0 &&
	       wh_kvdb_check_component(db, "c", labels, 1, &err) < 0 &&
	       strstr(err.message, "cannot create folder") && strstr(err.message, "--state-dir"),
	   "a state folder that cannot be made: %s", err.message);
	wh_kvdb_free(db);

	/* No state folder: the default store lives in memory. */
	db = NULL;
	ok(wh_kvdb_new(NULL, NULL, NULL, &db, &err) == 0 && (s = wh_kvdb_find(db, "default", 7)) &&
	       wh_kvdb_store_path(s) == NULL &&
	       wh_kvdb_set(s, "m", 1, (const uint8_t *)"1", 1, &err) == 0 && get_is(s, "m", 1, "1", 1),
	   "an in-memory default store");
	wh_kvdb_free(db);
}

struct worker {
	struct wh_kvdb_store *s;
	int id;
	int failures;
};

#define PER_THREAD 100

static void *hammer(void *arg)
{
	struct worker *w = arg;
	struct sk_error err = {0};
	char key[32], val[32];

	for (int i = 0; i < PER_THREAD; i++) {
		int kl = snprintf(key, sizeof(key), "t%d-%d", w->id, i);
		int vl = snprintf(val, sizeof(val), "v%d", i);
		bool found = false;

		if (wh_kvdb_set(w->s, key, (size_t)kl, (const uint8_t *)val, (size_t)vl, &err) < 0 ||
		    !get_is(w->s, key, (size_t)kl, val, (size_t)vl) ||
		    wh_kvdb_exists(w->s, "t0-0", 4, &found, &err) < 0) {
			printf("# worker %d: %s\n", w->id, err.message);
			w->failures++;
		}
	}
	return NULL;
}

/* Two threads on one store (one connection behind a mutex), and two on two
 * backends over the same file (two connections: SQLite's locking and the
 * busy timeout). */
static void test_threads(void)
{
	struct sk_error err = {0};
	struct wh_kvdb *a = NULL, *b = NULL;
	struct worker w[4];
	pthread_t t[4];

	if (wh_kvdb_new(NULL, path_in("threads"), NULL, &a, &err) < 0 ||
	    wh_kvdb_new(NULL, path_in("threads"), NULL, &b, &err) < 0) {
		ok(0, "backends: %s", err.message);
		return;
	}
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){.s = wh_kvdb_find(i < 3 ? a : b, "default", 7), .id = i};
		pthread_create(&t[i], NULL, hammer, &w[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	ok(w[0].failures + w[1].failures + w[2].failures == 0, "three threads on one store");
	ok(w[3].failures == 0, "a fourth on another connection to the same file");
	is_int(count_keys(wh_kvdb_find(a, "default", 7)), 4 * PER_THREAD, "every write is there");
	wh_kvdb_free(a);
	wh_kvdb_free(b);
}

#ifdef SPIN_RC_TEST_HOST
/* The host functions, called as wasmtime calls them. Only functions that
 * need no store context (variables, configs, Spin 1 key-value handles) can
 * be called without an engine; resources are left to the runtime tests. */
static const struct wh_func_def *func(const char *iface, const char *name)
{
	for (size_t i = 0; i < wh_n_spin_ifaces; i++)
		if (strcmp(wh_spin_ifaces[i].name, iface) == 0)
			for (size_t j = 0; j < wh_spin_ifaces[i].n_funcs; j++)
				if (strcmp(wh_spin_ifaces[i].funcs[j].name, name) == 0)
					return &wh_spin_ifaces[i].funcs[j];
	return NULL;
}

/* Call with one string argument (or none when s is NULL); results[0]. */
static bool trapped;

static wasmtime_component_val_t call_in(struct wh_ctx *ctx, wasmtime_context_t *cx, const char *iface,
                                        const char *name, wasmtime_component_val_t *args, size_t nargs,
                                        size_t nresults)
{
	const struct wh_func_def *f = func(iface, name);
	wasmtime_component_val_t res;
	wasmtime_error_t *e;

	wh_val_bool(&res, false);
	trapped = false;
	if (!f) {
		printf("# %s %s: not defined\n", iface, name);
		return res;
	}
	e = f->fn(ctx, cx, args, nargs, &res, nresults);
	if (e) {
		wasm_name_t msg;
		wasmtime_error_message(e, &msg);
		printf("# %s %s trapped: %.*s\n", iface, name, (int)msg.size, msg.data);
		wasm_name_delete(&msg);
		wasmtime_error_delete(e);
		trapped = true;
	}
	for (size_t i = 0; i < nargs; i++)
		wasmtime_component_val_delete(&args[i]);
	return res;
}

static wasmtime_component_val_t call(struct wh_ctx *ctx, const char *iface, const char *name,
                                     wasmtime_component_val_t *args, size_t nargs, size_t nresults)
{
	return call_in(ctx, NULL, iface, name, args, nargs, nresults);
}

static bool is_str_val(const wasmtime_component_val_t *v, const char *s)
{
	return v && v->kind == WASMTIME_COMPONENT_STRING && v->of.string.size == strlen(s) &&
	       memcmp(v->of.string.data, s, v->of.string.size) == 0;
}

/* result is ok and its payload, or err and the variant case (payload's text
 * containing msg when msg is given). */
static bool is_ok(const wasmtime_component_val_t *r)
{
	return r->kind == WASMTIME_COMPONENT_RESULT && r->of.result.is_ok;
}

static bool is_err(const wasmtime_component_val_t *r, const char *case_name, const char *msg)
{
	const wasmtime_component_val_t *v = r->of.result.val;

	if (r->kind != WASMTIME_COMPONENT_RESULT || r->of.result.is_ok || !v ||
	    v->kind != WASMTIME_COMPONENT_VARIANT)
		return false;
	if (v->of.variant.discriminant.size != strlen(case_name) ||
	    memcmp(v->of.variant.discriminant.data, case_name, strlen(case_name)) != 0)
		return false;
	if (!msg)
		return true;
	v = v->of.variant.val;
	return v && v->kind == WASMTIME_COMPONENT_STRING &&
	       memmem(v->of.string.data, v->of.string.size, msg, strlen(msg)) != NULL;
}

static void test_host(void)
{
	const struct sk_kv vars[] = {{"greeting", "hello"}, {"api_key", "s3cret"}, {"raw", "a\xff\xc3" "b"}};
	const char *stores[] = {"default", "ghost"};
	struct sk_error err = {0};
	struct wh_kvdb *db = NULL;
	struct wh_component_env env = {.id = "web",
	                               .vars = vars,
	                               .n_vars = 3,
	                               .kv_stores = stores,
	                               .n_kv_stores = 2};
	struct wh_ctx ctx;
	wasmtime_component_val_t a[3], r;
	const char *V2 = "fermyon:spin/variables@2.0.0", *CFG = "wasi:config/store@0.2.0-draft-2024-09-27",
	           *V1 = "fermyon:spin/config", *KV1 = "fermyon:spin/key-value";
	uint32_t h = 0;

	if (wh_kvdb_new(NULL, NULL, NULL, &db, &err) < 0)
		return;
	env.kvdb = db;
	wh_ctx_init(&ctx, &env, 0);

	wh_val_cstring(&a[0], "greeting");
	r = call(&ctx, V2, "get", a, 1, 1);
	ok(is_ok(&r) && is_str_val(r.of.result.val, "hello"), "variables get");
	wasmtime_component_val_delete(&r);
	wh_val_cstring(&a[0], "nope");
	r = call(&ctx, V2, "get", a, 1, 1);
	ok(is_err(&r, "undefined", "no variable for \"web\".\"nope\""), "variables get: undefined");
	wasmtime_component_val_delete(&r);
	wh_val_cstring(&a[0], "Bad-Name");
	r = call(&ctx, V2, "get", a, 1, 1);
	ok(is_err(&r, "invalid-name", "invalid character 'B'"), "variables get: invalid-name");
	wasmtime_component_val_delete(&r);
	wh_val_cstring(&a[0], "raw");
	r = call(&ctx, V2, "get", a, 1, 1);
	ok(is_ok(&r) && is_str_val(r.of.result.val, "a??b"),
	   "a value that is not UTF-8 reaches the guest as text");
	wasmtime_component_val_delete(&r);
	{
		char name[300];
		memset(name, 'a', sizeof(name));
		for (size_t i = 101; i + 1 < sizeof(name); i += 2)
			memcpy(name + i, "\xc3\xa9", 2); /* é: QUOTE_MAX falls inside one */
		name[sizeof(name) - 1] = '\0';
		wh_val_cstring(&a[0], name);
		r = call(&ctx, V2, "get", a, 1, 1);
		const wasmtime_component_val_t *m =
		    is_err(&r, "invalid-name", NULL) ? r.of.result.val->of.variant.val : NULL;
		ok(m && !memchr(m->of.string.data, '?', m->of.string.size) &&
		       memmem(m->of.string.data, m->of.string.size, "...", 3),
		   "a long invalid name is quoted cut at a character boundary");
		wasmtime_component_val_delete(&r);
	}
	wh_val_cstring(&a[0], "nope");
	r = call(&ctx, V1, "get-config", a, 1, 1);
	ok(is_err(&r, "provider", "nope"), "Spin 1 get-config: undefined is provider(...)");
	wasmtime_component_val_delete(&r);
	wh_val_cstring(&a[0], "x__y");
	r = call(&ctx, V1, "get-config", a, 1, 1);
	ok(is_err(&r, "invalid-key", "consecutive underscores"), "Spin 1 get-config: invalid-key");
	wasmtime_component_val_delete(&r);
	wh_val_cstring(&a[0], "api_key");
	r = call(&ctx, CFG, "get", a, 1, 1);
	ok(is_ok(&r) && r.of.result.val->kind == WASMTIME_COMPONENT_OPTION &&
	       is_str_val(r.of.result.val->of.option, "s3cret"),
	   "wasi:config get: some(value)");
	wasmtime_component_val_delete(&r);
	wh_val_cstring(&a[0], "NOPE");
	r = call(&ctx, CFG, "get", a, 1, 1);
	ok(is_ok(&r) && r.of.result.val->kind == WASMTIME_COMPONENT_OPTION && !r.of.result.val->of.option,
	   "wasi:config get: an invalid key is none");
	wasmtime_component_val_delete(&r);
	r = call(&ctx, CFG, "get-all", a, 0, 1);
	ok(is_ok(&r) && r.of.result.val->kind == WASMTIME_COMPONENT_LIST &&
	       r.of.result.val->of.list.size == 3 &&
	       is_str_val(&r.of.result.val->of.list.data[1].of.tuple.data[1], "s3cret"),
	   "wasi:config get-all");
	wasmtime_component_val_delete(&r);

	wh_val_cstring(&a[0], "secret-store");
	r = call(&ctx, KV1, "open", a, 1, 1);
	ok(is_err(&r, "access-denied", NULL), "open of a store the component may not use: access-denied");
	wasmtime_component_val_delete(&r);
	wh_val_cstring(&a[0], "ghost");
	r = call(&ctx, KV1, "open", a, 1, 1);
	ok(is_err(&r, "no-such-store", NULL), "open of an allowed but undefined store: no-such-store");
	wasmtime_component_val_delete(&r);
	wh_val_cstring(&a[0], "default");
	r = call(&ctx, KV1, "open", a, 1, 1);
	ok(is_ok(&r) && r.of.result.val->kind == WASMTIME_COMPONENT_U32 && (h = r.of.result.val->of.u32) > 0,
	   "open default: a handle");
	wasmtime_component_val_delete(&r);

	wh_val_u32(&a[0], h);
	wh_val_cstring(&a[1], "k");
	wh_val_bytes(&a[2], "v1", 2);
	r = call(&ctx, KV1, "set", a, 3, 1);
	ok(is_ok(&r), "set through the handle");
	wasmtime_component_val_delete(&r);
	wh_val_u32(&a[0], h);
	wh_val_cstring(&a[1], "k");
	r = call(&ctx, KV1, "get", a, 2, 1);
	ok(is_ok(&r) && r.of.result.val->kind == WASMTIME_COMPONENT_LIST &&
	       r.of.result.val->of.list.size == 2 && r.of.result.val->of.list.data[1].of.u8 == '1',
	   "get returns the bytes");
	wasmtime_component_val_delete(&r);
	wh_val_u32(&a[0], h);
	wh_val_cstring(&a[1], "missing");
	r = call(&ctx, KV1, "get", a, 2, 1);
	ok(is_err(&r, "no-such-key", NULL), "Spin 1 get of a missing key: no-such-key");
	wasmtime_component_val_delete(&r);
	wh_val_u32(&a[0], h);
	wh_val_cstring(&a[1], "k");
	r = call(&ctx, KV1, "exists", a, 2, 1);
	ok(is_ok(&r) && r.of.result.val->kind == WASMTIME_COMPONENT_BOOL && r.of.result.val->of.boolean,
	   "exists");
	wasmtime_component_val_delete(&r);
	wh_val_u32(&a[0], h);
	r = call(&ctx, KV1, "get-keys", a, 1, 1);
	ok(is_ok(&r) && r.of.result.val->kind == WASMTIME_COMPONENT_LIST &&
	       r.of.result.val->of.list.size == 1 && is_str_val(&r.of.result.val->of.list.data[0], "k"),
	   "get-keys");
	wasmtime_component_val_delete(&r);
	wh_val_u32(&a[0], h);
	r = call(&ctx, KV1, "close", a, 1, 0);
	wh_val_u32(&a[0], h);
	wh_val_cstring(&a[1], "k");
	r = call(&ctx, KV1, "get", a, 2, 1);
	ok(is_err(&r, "invalid-store", NULL), "a closed handle: invalid-store");
	wasmtime_component_val_delete(&r);

	wh_ctx_release(&ctx);
	wh_kvdb_free(db);
}

/* A store resource of rep for a method's self. A guest passes a borrow,
 * which wasmtime can only make while a guest call is in progress; the host
 * side reads an owned handle the same way (wh_arg_rep, then the table). */
static void handle_of(wasmtime_context_t *cx, uint32_t rep, wasmtime_component_val_t *v)
{
	wasmtime_component_resource_host_t *h = wasmtime_component_resource_host_new(true, rep, WH_KV_STORE);
	wasmtime_component_resource_any_t *any = NULL;
	wasmtime_error_t *e = h ? wasmtime_component_resource_host_to_any(cx, h, &any) : NULL;

	wh_val_bool(v, false);
	if (h)
		wasmtime_component_resource_host_delete(h);
	if (e) {
		wasm_name_t msg;
		wasmtime_error_message(e, &msg);
		printf("# handle: %.*s\n", (int)msg.size, msg.data);
		wasm_name_delete(&msg);
		wasmtime_error_delete(e);
		return;
	}
	if (any) {
		v->kind = WASMTIME_COMPONENT_RESOURCE;
		v->of.resource = any;
	}
}

/* fermyon:spin/key-value@2.0.0: resources need a store context, so these
 * run in a real wasmtime store whose data is the request's context. */
static void test_host_resources(void)
{
	const char *stores[] = {"default"};
	const char *KV = "fermyon:spin/key-value@2.0.0";
	struct sk_error err = {0};
	struct wh_kvdb *db = NULL;
	struct wh_component_env env = {.id = "web", .kv_stores = stores, .n_kv_stores = 1};
	struct wh_ctx ctx;
	wasm_engine_t *engine = wasm_engine_new();
	wasmtime_store_t *store;
	wasmtime_context_t *cx;
	wasmtime_component_val_t a[3], r;
	const wasmtime_component_val_t *p;
	uint32_t rep = 0;

	if (!engine || wh_kvdb_new(NULL, NULL, NULL, &db, &err) < 0) {
		ok(0, "engine and backend");
		return;
	}
	env.kvdb = db;
	wh_ctx_init(&ctx, &env, 0);
	store = wasmtime_store_new(engine, &ctx, NULL);
	cx = wasmtime_store_context(store);

	wh_val_cstring(&a[0], "nope");
	r = call_in(&ctx, cx, KV, "[static]store.open", a, 1, 1);
	ok(is_err(&r, "access-denied", NULL), "store.open of a label not in key_value_stores: access-denied");
	wasmtime_component_val_delete(&r);
	wh_val_cstring(&a[0], "default");
	r = call_in(&ctx, cx, KV, "[static]store.open", a, 1, 1);
	ok(is_ok(&r) && r.of.result.val && r.of.result.val->kind == WASMTIME_COMPONENT_RESOURCE,
	   "store.open: a store resource");
	if (!is_ok(&r) || !r.of.result.val) {
		wasmtime_component_val_delete(&r);
		goto out;
	}
	/* the guest takes the owned handle; its methods then get borrows */
	ok(wh_arg_rep(cx, r.of.result.val, WH_KV_STORE, &rep) == 0 && wh_get(&ctx, rep, WH_KV_STORE),
	   "the resource is the table entry of the open store");
	wasmtime_component_val_delete(&r);

	handle_of(cx, rep, &a[0]);
	wh_val_cstring(&a[1], "k");
	wh_val_bytes(&a[2], "v2", 2);
	r = call_in(&ctx, cx, KV, "[method]store.set", a, 3, 1);
	ok(is_ok(&r) && !r.of.result.val, "store.set: ok(_)");
	wasmtime_component_val_delete(&r);
	handle_of(cx, rep, &a[0]);
	wh_val_cstring(&a[1], "k");
	r = call_in(&ctx, cx, KV, "[method]store.get", a, 2, 1);
	p = is_ok(&r) && r.of.result.val && r.of.result.val->kind == WASMTIME_COMPONENT_OPTION
	        ? r.of.result.val->of.option
	        : NULL;
	ok(p && p->kind == WASMTIME_COMPONENT_LIST && p->of.list.size == 2 && p->of.list.data[0].of.u8 == 'v',
	   "store.get: ok(some(bytes))");
	wasmtime_component_val_delete(&r);
	handle_of(cx, rep, &a[0]);
	wh_val_cstring(&a[1], "missing");
	r = call_in(&ctx, cx, KV, "[method]store.get", a, 2, 1);
	ok(is_ok(&r) && r.of.result.val && r.of.result.val->kind == WASMTIME_COMPONENT_OPTION &&
	       !r.of.result.val->of.option,
	   "store.get of a missing key: ok(none)");
	wasmtime_component_val_delete(&r);
	handle_of(cx, rep, &a[0]);
	wh_val_cstring(&a[1], "k");
	r = call_in(&ctx, cx, KV, "[method]store.exists", a, 2, 1);
	ok(is_ok(&r) && r.of.result.val && r.of.result.val->kind == WASMTIME_COMPONENT_BOOL &&
	       r.of.result.val->of.boolean,
	   "store.exists");
	wasmtime_component_val_delete(&r);
	handle_of(cx, rep, &a[0]);
	r = call_in(&ctx, cx, KV, "[method]store.get-keys", a, 1, 1);
	ok(is_ok(&r) && r.of.result.val && r.of.result.val->kind == WASMTIME_COMPONENT_LIST &&
	       r.of.result.val->of.list.size == 1 && is_str_val(&r.of.result.val->of.list.data[0], "k"),
	   "store.get-keys");
	wasmtime_component_val_delete(&r);

	handle_of(cx, rep, &a[0]);
	wh_val_cstring(&a[1], "big");
	wh_val_list(&a[2], WH_KV_VALUE_MAX + 1);
	for (size_t i = 0; i <= WH_KV_VALUE_MAX; i++)
		wh_val_u8(&a[2].of.list.data[i], 0);
	r = call_in(&ctx, cx, KV, "[method]store.set", a, 3, 1);
	ok(is_err(&r, "other", "larger than spin-bridge allows"), "store.set over the value cap: other(...)");
	wasmtime_component_val_delete(&r);
	{
		char *longkey = malloc(WH_KV_KEY_MAX + 2);
		if (longkey) {
			memset(longkey, 'k', WH_KV_KEY_MAX + 1);
			longkey[WH_KV_KEY_MAX + 1] = '\0';
			handle_of(cx, rep, &a[0]);
			wh_val_cstring(&a[1], longkey);
			r = call_in(&ctx, cx, KV, "[method]store.get", a, 2, 1);
			ok(is_err(&r, "other", "longer than spin-bridge allows"),
			   "a key over the cap: other(...)");
			wasmtime_component_val_delete(&r);
			free(longkey);
		}
	}
	handle_of(cx, rep, &a[0]);
	wh_val_cstring(&a[1], "k");
	r = call_in(&ctx, cx, KV, "[method]store.delete", a, 2, 1);
	ok(is_ok(&r), "store.delete");
	wasmtime_component_val_delete(&r);
	handle_of(cx, rep, &a[0]);
	wh_val_cstring(&a[1], "k");
	r = call_in(&ctx, cx, KV, "[method]store.exists", a, 2, 1);
	ok(is_ok(&r) && r.of.result.val && !r.of.result.val->of.boolean, "gone after delete");
	wasmtime_component_val_delete(&r);

	wh_val_u32(&a[0], 1);
	r = call_in(&ctx, cx, KV, "[method]store.get-keys", a, 1, 1);
	ok(trapped, "a self that is not a store resource traps");
	wasmtime_component_val_delete(&r);
	wh_val_cstring(&a[0], "default");
	r = call_in(&ctx, cx, KV, "[method]store.get-keys", a, 0, 1);
	ok(trapped, "a wrong number of arguments traps");
	wasmtime_component_val_delete(&r);
	wasmtime_component_val_delete(&a[0]);
out:
	wh_ctx_release(&ctx);
	ok(ctx.n_table == 0, "the end of the request forgets the open stores");
	wasmtime_store_delete(store);
	wasm_engine_delete(engine);
	wh_kvdb_free(db);
}
#endif

static void cleanup(void)
{
	char cmd[PATH_MAX + 16];

	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (tmp[0] && system(cmd) != 0)
		printf("# could not remove %s\n", tmp);
}

/* wasi:keyvalue's atomics on a SQLite store in a file: counters as decimal
 * text, the integer limits, compare-and-swap against what a read saw. */
static void test_kv_atomics(void)
{
	struct sk_error err = {0};
	struct wh_kvdb *db = NULL;
	struct wh_kvdb_store *s;
	uint8_t *v = NULL;
	size_t n = 0;
	int64_t out = 0;

	if (wh_kvdb_new(NULL, path_in("atomics"), NULL, &db, &err) < 0) {
		ok(0, "backend: %s", err.message);
		return;
	}
	s = wh_kvdb_find(db, "default", 7);
	ok(wh_kvdb_increment(s, "n", 1, 5, &out, &err) == 0 && out == 5, "increment of a missing key starts at 0: %lld",
	   (long long)out);
	ok(wh_kvdb_increment(s, "n", 1, -12, &out, &err) == 0 && out == -7, "a negative delta: %lld", (long long)out);
	ok(wh_kvdb_get(s, "n", 1, &v, &n, &err) == 0 && n == 2 && memcmp(v, "-7", 2) == 0,
	   "the counter is stored as decimal text");
	free(v);
	v = NULL;
	ok(wh_kvdb_set(s, "m", 1, (const uint8_t *)"9223372036854775807", 19, &err) == 0 &&
	       wh_kvdb_increment(s, "m", 1, 1, &out, &err) == -ERANGE && strstr(err.message, "overflows"),
	   "INT64_MAX + 1: -ERANGE: %s", err.message);
	ok(wh_kvdb_set(s, "m", 1, (const uint8_t *)"-9223372036854775808", 20, &err) == 0 &&
	       wh_kvdb_increment(s, "m", 1, 0, &out, &err) == 0 && out == INT64_MIN,
	   "INT64_MIN reads back");
	ok(wh_kvdb_get(s, "n", 1, &v, &n, &err) == 0 && n == 2 && memcmp(v, "-7", 2) == 0,
	   "a failed increment left the other key alone");
	free(v);
	v = NULL;
	ok(wh_kvdb_set(s, "t", 1, (const uint8_t *)"12x", 3, &err) == 0 &&
	       wh_kvdb_increment(s, "t", 1, 1, &out, &err) == -EINVAL && strstr(err.message, "not a decimal"),
	   "a value that is not a number: -EINVAL: %s", err.message);
	ok(wh_kvdb_set(s, "e", 1, NULL, 0, &err) == 0 && wh_kvdb_increment(s, "e", 1, 1, &out, &err) == -EINVAL,
	   "an empty value is not a number");
	ok(wh_kvdb_swap(s, "c", 1, false, NULL, 0, (const uint8_t *)"a", 1, &err) == 0, "swap of a missing key");
	ok(wh_kvdb_swap(s, "c", 1, false, NULL, 0, (const uint8_t *)"b", 1, &err) == -ESTALE,
	   "swap expecting no key when there is one: -ESTALE");
	ok(wh_kvdb_swap(s, "c", 1, true, (const uint8_t *)"x", 1, (const uint8_t *)"b", 1, &err) == -ESTALE,
	   "swap expecting another value: -ESTALE");
	ok(wh_kvdb_swap(s, "c", 1, true, (const uint8_t *)"a", 1, (const uint8_t *)"b", 1, &err) == 0 &&
	       wh_kvdb_get(s, "c", 1, &v, &n, &err) == 0 && n == 1 && v[0] == 'b',
	   "swap expecting the value there: written");
	free(v);
	ok(wh_kvdb_delete(s, "c", 1, &err) == 0 &&
	       wh_kvdb_swap(s, "c", 1, true, (const uint8_t *)"b", 1, (const uint8_t *)"z", 1, &err) == -ESTALE,
	   "swap after the key was deleted: -ESTALE");
	wh_kvdb_free(db);
}

int main(void)
{
	const char *base = getenv("TMPDIR");
	char *real;

	(void)snprintf(tmp, sizeof(tmp), "%s/test-runtime-config-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmp)) {
		ok(0, "mkdtemp %s", tmp);
		return tap_done();
	}
	if ((real = realpath(tmp, NULL))) {
		(void)snprintf(tmp, sizeof(tmp), "%s", real);
		free(real);
	}
	test_names();
	test_parse_good();
	test_parse_bad();
	test_load();
	test_state_dir();
	test_kv_ops();
	test_kv_atomics();
	test_spin_format();
	test_threads();
#ifdef SPIN_RC_TEST_HOST
	test_host();
	test_host_resources();
#endif
	cleanup();
	return tap_done();
}
