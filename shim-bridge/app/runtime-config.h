/* Spin's runtime configuration file (runtime-config.toml): the app's
 * configuration beside its manifest. This module parses it into plain data;
 * the key-value stores it defines are served by shim-bridge/wasi/kv-sqlite.h,
 * the SQLite databases by shim-bridge/wasi/sqlite-db.h.
 *
 * The file, as Spin reads it and as SpinKube's controller renders it into the
 * app's runtime-config Secret (mounted at /runtime-config.toml):
 *
 *   [[config_provider]]            # or [[variables_provider]]; in order,
 *   type = "env"                   #   before Spin's own SPIN_VARIABLE_ lookup
 *   prefix = "SPIN_VARIABLE_"      # looks up <prefix>_<NAME>, as Spin does
 *   [[config_provider]]
 *   type = "static"
 *   values = { name = "value" }
 *   [key_value_store.<label>]
 *   type = "spin"                  # SQLite
 *   path = "data/kv.db"            # relative to the file's folder; none: in memory
 *   [key_value_store.<label>]
 *   type = "redis"                 # a Redis server (shim-bridge/wasi/kv-redis.h)
 *   url = "redis://host:6379/0"
 *   [sqlite_database.<label>]
 *   type = "spin"                  # local SQLite; "libsql" (remote) is refused
 *   path = "data/app.db"           # relative to the file's folder; none: in memory
 *   state_dir = "/var/lib/app"     # where the default store and database live
 *
 * llm_compute, client_tls, outbound_http, blob_store and log_dir tables are
 * accepted and reported in warnings (spin-bridge does not serve those
 * interfaces); any other top-level key is refused, as Spin does.
 * Unsupported store, database or provider types (azure_cosmos,
 * aws_dynamo, libsql, vault, azure_key_vault...) are start-up errors naming
 * the table, the type and what is supported. */
#ifndef SPINKUBE_APP_RUNTIME_CONFIG_H
#define SPINKUBE_APP_RUNTIME_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

/* Where SpinKube's shim mounts the file, and where spin-bridge looks when no
 * file is named. */
#define APP_RC_DEFAULT_PATH "/runtime-config.toml"
/* Spin's state folder name (under the app's folder). */
#define APP_STATE_DIR_NAME   ".spin"
/* Caps on the file: tables, providers and static values. */
#define APP_RC_MAX_ITEMS 1000

struct app_rc_value {
	char *name;
	char *value;
};

enum app_rc_provider_type {
	APP_RC_PROVIDER_ENV,    /* environment variables <prefix>_<NAME> */
	APP_RC_PROVIDER_STATIC, /* a fixed table of values */
};

struct app_rc_provider {
	enum app_rc_provider_type type;
	char *prefix;                 /* env: NULL means Spin's default, "SPIN_VARIABLE" */
	struct app_rc_value *values; /* static: name -> value */
	size_t n_values;
};

/* Longest url of a [key_value_store.X] of type "redis". */
#define APP_RC_URL_MAX 4096

struct app_rc_kv_store {
	char *label;
	char *path; /* type "spin": SQLite file (absolute when the config had a folder); NULL: in memory */
	char *url;  /* type "redis": the server, redis://[user:pass@]host[:port][/db] (checked by
	             * shim-bridge/wasi/kv-redis.h at start); NULL for type "spin" */
};

struct app_rc_sqlite_db {
	char *label;
	char *path; /* SQLite file (absolute when the config had a folder); NULL: in memory */
};

/* A parsed runtime config. Plain data, owned by the struct; free with
 * app_runtime_config_free. */
struct app_runtime_config {
	char *path;         /* the file read, NULL when there was none */
	char *dir;          /* its folder (absolute), NULL when none */
	char *state_dir;    /* the file's state_dir as written ("" = none) */
	bool has_state_dir; /* the file sets state_dir */
	struct app_rc_kv_store *kv;
	size_t n_kv;
	struct app_rc_sqlite_db *sqlite; /* [sqlite_database.*], in the file's order */
	size_t n_sqlite;
	struct app_rc_provider *providers; /* in the file's order */
	size_t n_providers;
	char **warnings; /* what the file configures that spin-bridge ignores, one line each */
	size_t n_warnings;
};

/* Read the runtime config at path. When the file does not exist and
 * must_exist is false, *out is an empty config (no stores, no providers,
 * path NULL). On success *out is new (caller frees). Errors are one line
 * naming the file and line and the fix: -ENOENT (missing and must_exist),
 * -EINVAL (bad TOML or content), -ENOTSUP (a store, database or provider type
 * spin-bridge does not serve), -E2BIG, -ENOMEM, or the read's errno. */
int app_runtime_config_load(const char *path, bool must_exist, struct app_runtime_config **out,
                             struct sk_error *err);

/* Parse text[0..len) as a runtime config. name is used in messages; dir is
 * the folder relative store paths resolve against (NULL: they stay
 * relative, to the working directory). Same errors as load. */
int app_runtime_config_parse(const char *text, size_t len, const char *name, const char *dir,
                              struct app_runtime_config **out, struct sk_error *err);

/* NULL and half-built configs are fine. */
void app_runtime_config_free(struct app_runtime_config *rc);

/* The value the config's variable providers give app variable name (a
 * valid variable name), asking them in order: env providers look up
 * <prefix>_<NAME> in envp (NULL-terminated "K=V", borrowed), static ones
 * their table. Returns 0 with *value borrowed from envp or rc, or -ENOENT
 * when no provider has it; the caller then falls back to Spin's own
 * SPIN_VARIABLE_<NAME> and the default. rc may be NULL. */
int app_runtime_config_variable(const struct app_runtime_config *rc, const char *const *envp,
                                 const char *name, const char **value);

/* The state folder, resolved as Spin does: flag_dir (--state-dir) when not
 * NULL, else the file's state_dir when it sets one, else
 * <app_dir>/.spin when app_dir is not NULL. An empty string at any step
 * means "no state folder". Relative paths are made absolute against the
 * working directory. *out is new (caller frees), or NULL for no state
 * folder (the default store is then kept in memory). rc may be NULL. */
int app_runtime_config_state_dir(const struct app_runtime_config *rc, const char *flag_dir,
                                  const char *app_dir, char **out, struct sk_error *err);

#endif
