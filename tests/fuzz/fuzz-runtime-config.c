/* libFuzzer target: runtime-config.toml text through our TOML parser and
 * the runtime config rules, then the variable lookups, the key-value store
 * table (Redis URLs checked, nothing connects) and the SQLite database
 * table built from whatever came out (no store or database is opened:
 * nothing touches the file system or the network). Nothing may crash, leak or hang, and every
 * error message and warning must be one line. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/escape.h"
#include "shim-bridge/app/runtime-config.h"
#include "shim-bridge/wasi/kv-sqlite.h"
#include "shim-bridge/wasi/sqlite-db.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const struct app_runtime_config *rc)
{
	static const char *const names[] = {"a", "token", "greeting", "x1"};
	const char *envp[] = {"SPIN_VARIABLE_A=1", "SPIN_VARIABLE__TOKEN=t", "X_X1=2", NULL};
	struct sk_error err = {0};
	struct wh_kvdb *db = NULL;
	struct wh_sqldb *sdb = NULL;
	const char *v;
	char *dir = NULL;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (app_runtime_config_variable(rc, envp, names[i], &v) == 0 && !v)
			__builtin_trap();
	for (size_t i = 0; i < rc->n_warnings; i++)
		if (!sk_is_one_line(rc->warnings[i]))
			__builtin_trap();
	if (app_runtime_config_state_dir(rc, NULL, "/app", &dir, &err) == 0)
		free(dir);
	if (wh_kvdb_new(rc, NULL, NULL, &db, &err) == 0) {
		if (!wh_kvdb_find(db, WH_KV_DEFAULT_LABEL, strlen(WH_KV_DEFAULT_LABEL)))
			__builtin_trap(); /* "default" is always defined */
		for (size_t i = 0; i < rc->n_kv; i++) {
			struct wh_kvdb_store *st = wh_kvdb_find(db, rc->kv[i].label, strlen(rc->kv[i].label));
			if (!st || (rc->kv[i].url != NULL) != (wh_kvdb_store_url(st) != NULL))
				__builtin_trap(); /* a redis store keeps its (checked) url */
		}
		wh_kvdb_free(db);
	} else if (err.code >= 0 || !sk_is_one_line(err.message)) {
		__builtin_trap();
	}
	if (wh_sqldb_new(rc, "/state", &sdb, &err) == 0) {
		if (!wh_sqldb_find(sdb, WH_SQL_DEFAULT_LABEL, strlen(WH_SQL_DEFAULT_LABEL)))
			__builtin_trap(); /* "default" is always defined */
		for (size_t i = 0; i < rc->n_sqlite; i++) {
			struct wh_sqldb_database *d =
			    wh_sqldb_find(sdb, rc->sqlite[i].label, strlen(rc->sqlite[i].label));
			if (!d || (rc->sqlite[i].path && (!wh_sqldb_path(d) || rc->sqlite[i].path[0] != '/')))
				__builtin_trap(); /* relative paths resolve against the config's folder */
		}
		wh_sqldb_free(sdb);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sk_error err = {0};
	struct app_runtime_config *rc = NULL;

	if (app_runtime_config_parse((const char *)data, size, "fuzz.toml", "/fuzz", &rc, &err) == 0) {
		exercise(rc);
		app_runtime_config_free(rc);
	}
	if (!sk_is_one_line(err.message))
		__builtin_trap(); /* messages are one line */
	return 0;
}
