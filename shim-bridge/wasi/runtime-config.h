/* Spin's runtime configuration file (runtime-config.toml) and the key-value
 * stores it defines.
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
 *   type = "spin"                  # SQLite; the only type spin-bridge serves
 *   path = "data/kv.db"            # relative to the file's folder; none: in memory
 *   state_dir = "/var/lib/app"     # where the default store lives
 *
 * sqlite_database, llm_compute, client_tls, outbound_http, blob_store and
 * log_dir tables are accepted and reported in warnings (spin-bridge does not
 * serve those interfaces); any other top-level key is refused, as Spin does.
 * Unsupported store or provider types (redis, azure_cosmos, aws_dynamo,
 * vault, azure_key_vault...) are start-up errors naming the table, the type
 * and what is supported.
 *
 * Key-value backend (struct spin_kvdb): one per app, shared by every
 * component and worker thread. Each labelled store is one SQLite connection
 * behind a mutex, opened on first use, in Spin's own file format: table
 * spin_key_value(store TEXT, key TEXT, value BLOB, PRIMARY KEY(store, key)),
 * the label in the store column. Store "default" is always defined: unless
 * the runtime config defines it, it lives at <state dir>/sqlite_key_value.db,
 * or in memory when there is no state dir. */
#ifndef SPIN_BRIDGE_WASI_RUNTIME_CONFIG_H
#define SPIN_BRIDGE_WASI_RUNTIME_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Where SpinKube's shim mounts the file, and where spin-bridge looks when no
 * file is named. */
#define SPIN_RC_DEFAULT_PATH "/runtime-config.toml"
/* Spin's state folder name (under the app's folder) and its default store. */
#define SPIN_STATE_DIR_NAME   ".spin"
#define SPIN_KV_DEFAULT_FILE  "sqlite_key_value.db"
#define SPIN_KV_DEFAULT_LABEL "default"

/* Caps on what a guest may store or fetch in one call. A value crosses
 * wasmtime's C API as one 32-byte value per byte, so a value is capped at
 * the host's list<u8> limit (WH_CHUNK_MAX, 1 MiB: 32 MiB on the host side). */
#define SPIN_KV_KEY_MAX   ((size_t)64 * 1024)        /* bytes of one key */
#define SPIN_KV_VALUE_MAX ((size_t)1024 * 1024)      /* bytes of one value */
#define SPIN_KV_KEYS_MAX  ((size_t)32 * 1024 * 1024) /* get-keys: key bytes + 64 per key */
/* Caps on the file: tables, providers and static values. */
#define SPIN_RC_MAX_ITEMS 1000

struct spin_rc_value {
	char *name;
	char *value;
};

enum spin_rc_provider_type {
	SPIN_RC_PROVIDER_ENV,    /* environment variables <prefix>_<NAME> */
	SPIN_RC_PROVIDER_STATIC, /* a fixed table of values */
};

struct spin_rc_provider {
	enum spin_rc_provider_type type;
	char *prefix;                 /* env: NULL means Spin's default, "SPIN_VARIABLE" */
	struct spin_rc_value *values; /* static: name -> value */
	size_t n_values;
};

struct spin_rc_kv_store {
	char *label;
	char *path; /* SQLite file (absolute when the config had a folder); NULL: in memory */
};

/* A parsed runtime config. Plain data, owned by the struct; free with
 * spin_runtime_config_free. */
struct spin_runtime_config {
	char *path;         /* the file read, NULL when there was none */
	char *dir;          /* its folder (absolute), NULL when none */
	char *state_dir;    /* the file's state_dir as written ("" = none) */
	bool has_state_dir; /* the file sets state_dir */
	struct spin_rc_kv_store *kv;
	size_t n_kv;
	struct spin_rc_provider *providers; /* in the file's order */
	size_t n_providers;
	char **warnings; /* what the file configures that spin-bridge ignores, one line each */
	size_t n_warnings;
};

/* Read the runtime config at path. When the file does not exist and
 * must_exist is false, *out is an empty config (no stores, no providers,
 * path NULL). On success *out is new (caller frees). Errors are one line
 * naming the file and line and the fix: -ENOENT (missing and must_exist),
 * -EINVAL (bad TOML or content), -ENOTSUP (a store or provider type
 * spin-bridge does not serve), -E2BIG, -ENOMEM, or the read's errno. */
int spin_runtime_config_load(const char *path, bool must_exist, struct spin_runtime_config **out,
                             struct sk_error *err);

/* Parse text[0..len) as a runtime config. name is used in messages; dir is
 * the folder relative store paths resolve against (NULL: they stay
 * relative, to the working directory). Same errors as load. */
int spin_runtime_config_parse(const char *text, size_t len, const char *name, const char *dir,
                              struct spin_runtime_config **out, struct sk_error *err);

/* NULL and half-built configs are fine. */
void spin_runtime_config_free(struct spin_runtime_config *rc);

/* The value the config's variable providers give app variable name (a
 * valid variable name), asking them in order: env providers look up
 * <prefix>_<NAME> in envp (NULL-terminated "K=V", borrowed), static ones
 * their table. Returns 0 with *value borrowed from envp or rc, or -ENOENT
 * when no provider has it; the caller then falls back to Spin's own
 * SPIN_VARIABLE_<NAME> and the default. rc may be NULL. */
int spin_runtime_config_variable(const struct spin_runtime_config *rc, const char *const *envp,
                                 const char *name, const char **value);

/* The state folder, resolved as Spin does: flag_dir (--state-dir) when not
 * NULL, else the file's state_dir when it sets one, else
 * <app_dir>/.spin when app_dir is not NULL. An empty string at any step
 * means "no state folder". Relative paths are made absolute against the
 * working directory. *out is new (caller frees), or NULL for no state
 * folder (the default store is then kept in memory). rc may be NULL. */
int spin_runtime_config_state_dir(const struct spin_runtime_config *rc, const char *flag_dir,
                                  const char *app_dir, char **out, struct sk_error *err);

/* True when name[0..len) is a valid Spin variable name: lowercase ASCII
 * letters, digits and single underscores, starting with a letter and
 * ending with a letter or digit. Otherwise false, with the reason (as Spin
 * words it) in why when why is not NULL. */
bool spin_variable_name_check(const char *name, size_t len, char *why, size_t why_size);

/* --- key-value backend ------------------------------------------------------- */

struct spin_kvdb;
struct spin_kvdb_store;

struct spin_kvdb_key {
	char *s; /* not NUL-free: keys are strings that may hold U+0000 */
	size_t n;
};

/* The app's stores: every [key_value_store.*] of rc (may be NULL) plus the
 * default store at <state_dir>/sqlite_key_value.db (in memory when
 * state_dir is NULL) unless rc defines "default". Nothing is opened yet.
 * On success *out is new (free with spin_kvdb_free once no request uses it). */
int spin_kvdb_new(const struct spin_runtime_config *rc, const char *state_dir, struct spin_kvdb **out,
                  struct sk_error *err);

/* Close every connection. NULL is fine. */
void spin_kvdb_free(struct spin_kvdb *db);

/* Check at start that every label a component lists in key_value_stores is
 * defined, and open those stores (creating folders and files), so that a
 * missing store or an unwritable folder is a start-up error naming the
 * component, the label, the file and the fix. */
int spin_kvdb_check_component(struct spin_kvdb *db, const char *component_id, const char *const *labels,
                              size_t n, struct sk_error *err);

/* The store with this label (label[0..len)), borrowed from db; NULL when
 * none is defined. */
struct spin_kvdb_store *spin_kvdb_find(struct spin_kvdb *db, const char *label, size_t len);

/* The store's label, and its file (NULL: in memory); borrowed. */
const char *spin_kvdb_store_label(const struct spin_kvdb_store *s);
const char *spin_kvdb_store_path(const struct spin_kvdb_store *s);

/* Store operations; safe from several threads at once. Keys are
 * key[0..klen), at most SPIN_KV_KEY_MAX bytes; values at most
 * SPIN_KV_VALUE_MAX. Failures return a negative errno with a one-line
 * message in err naming the store (-E2BIG over a cap, -EIO from SQLite).
 *
 * get: 0 with *val (malloc'd, NULL when the value is empty; caller frees)
 * and *vlen, or -ENOENT when the key does not exist. */
int spin_kvdb_get(struct spin_kvdb_store *s, const char *key, size_t klen, uint8_t **val, size_t *vlen,
                  struct sk_error *err);
int spin_kvdb_set(struct spin_kvdb_store *s, const char *key, size_t klen, const uint8_t *val, size_t vlen,
                  struct sk_error *err);
/* No error when the key did not exist. */
int spin_kvdb_delete(struct spin_kvdb_store *s, const char *key, size_t klen, struct sk_error *err);
int spin_kvdb_exists(struct spin_kvdb_store *s, const char *key, size_t klen, bool *out,
                     struct sk_error *err);
/* Every key of the store, in no particular order: *out is new (free with
 * spin_kvdb_keys_free), NULL when there are none. -E2BIG past
 * SPIN_KV_KEYS_MAX bytes in all. */
int spin_kvdb_keys(struct spin_kvdb_store *s, struct spin_kvdb_key **out, size_t *n, struct sk_error *err);
void spin_kvdb_keys_free(struct spin_kvdb_key *keys, size_t n);

#endif
