/* The Spin application model the node runtime serves, and its loaders.
 *
 * Two inputs make the same model:
 *   - a spin.toml manifest, version 2 (COMPAT.md section 3), and
 *   - Spin's locked-app JSON (spin_lock_version 0 or 1), as an OCI image's
 *     config layer carries it.
 *
 * Everything in the model is plain data owned by the struct app; it is
 * built once at start, read by the runtime, and released with
 * app_free(). Paths in it are absolute host paths. */
#ifndef SPINKUBE_APP_APP_H
#define SPINKUBE_APP_APP_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "common/kv.h"

/* Caps on what is read from outside. */
#define APP_MANIFEST_MAX (1024 * 1024)     /* spin.toml */
#define APP_LOCKED_MAX (64 * 1024 * 1024)  /* locked-app JSON (inline content counts) */
#define APP_MAX_ITEMS 10000                /* components, triggers, files, ... per list */
#define APP_REDIS_ADDRESS_MAX 4096         /* bytes of a Redis trigger's address, as written */
#define APP_REDIS_CHANNEL_MAX 1024         /* bytes of a Redis trigger's channel, as written */

enum app_handler_kind {
	APP_HANDLER_HTTP, /* wasi:http or fermyon:spin/inbound-http: the runtime tells which */
	APP_HANDLER_WAGI, /* a WASI command speaking CGI */
};

/* A host file or directory made visible to the guest. */
struct app_file_mount {
	char *source;      /* absolute host path */
	char *destination; /* absolute guest path */
	bool is_dir;       /* source is a directory mounted at destination */
};

struct app_component {
	char *id;
	/* Where the Wasm comes from: a file (source, absolute path), or bytes
	 * held here (inline, from a locked app). Exactly one is set. */
	char *source;
	unsigned char *inline_bytes;
	size_t inline_len;
	char *source_digest; /* "sha256:<hex>" when the input named one, else NULL */
	struct sk_kv *env; /* owned pairs (common/kv.h) */
	size_t n_env;
	struct app_file_mount *files;
	size_t n_files;
	char **allowed_outbound_hosts;
	size_t n_allowed_outbound_hosts;
	char **key_value_stores;
	size_t n_key_value_stores;
	char **sqlite_databases; /* databases it may open (locked apps: metadata.databases) */
	size_t n_sqlite_databases;
	struct sk_kv *variables; /* name -> template ("{{ var }}" allowed) */
	size_t n_variables;
};

struct app_trigger {
	char *id;
	char *route;     /* as written ("/x", "/x/:p", "/x/..."); NULL when private */
	bool is_private; /* { private = true }: reachable only by service chaining */
	size_t component; /* index into app->components */
	enum app_handler_kind kind;
	char *wagi_argv;       /* WAGI only: default "${SCRIPT_NAME} ${ARGS}" */
	char *wagi_entrypoint; /* WAGI only: default "_start" */
};

/* A [[trigger.redis]]: each message published on channel at the address
 * goes to the component. channel and address are as written: "{{ var }}"
 * templates naming app variables are expanded at start (vars.h). */
struct app_redis_trigger {
	char *id;
	char *channel;
	char *address;    /* its own address, or NULL: the app's redis_address */
	size_t component; /* index into app->components */
};

struct app_variable {
	char *name;
	char *default_value; /* NULL when there is none */
	bool required;       /* no default: a value must be provided at start */
	bool secret;
};

struct app {
	char *name;
	char *version;     /* NULL when not given */
	char *description; /* NULL when not given */
	char *base;        /* HTTP base path, "/" by default */
	char *origin;      /* the file the app was loaded from (absolute) */
	char *dir;         /* directory relative paths were resolved against */
	struct app_variable *variables;
	size_t n_variables;
	struct app_component *components;
	size_t n_components;
	struct app_trigger *triggers; /* HTTP triggers only */
	size_t n_triggers;
	char *redis_address; /* [application.trigger.redis] address, NULL when not given */
	struct app_redis_trigger *redis_triggers;
	size_t n_redis_triggers;
	char **warnings; /* things ignored while loading (trigger types other than http and redis), one line each */
	size_t n_warnings;
};

/* Load flags. */
enum {
	/* Do not touch the file system: source files are not checked, file
	 * globs are not expanded (each pattern is recorded as one mount of
	 * itself), digests are not verified. For fuzzing and dry validation. */
	APP_LOAD_NO_FS = 1 << 0,
};

/* Load the app at path, which is
 *   - a directory: its spin.toml, else its locked-app.json, else its spin.lock;
 *   - a spin.toml file (anything that is not a locked app);
 *   - a locked-app JSON file (detected by content: a JSON object with
 *     spin_lock_version).
 * On success *out is a new app (caller frees with app_free). Errors are
 * one line naming the file, the key and the fix. */
int app_load(const char *path, struct app **out, struct sk_error *err);

/* Build the app from a parsed manifest tree (sk_toml_parse's result, borrowed).
 * name is the file name used in messages; dir is the directory relative
 * paths resolve against (absolute, or made so). */
int app_from_manifest(json_object *root, const char *name, const char *dir, unsigned flags,
                           struct app **out, struct sk_error *err);

/* Build the app from locked-app JSON text. name is used in messages; dir is
 * where blobs/sha256/<hex> are looked up for digest-only content. */
int app_from_locked(const char *json, size_t len, const char *name, const char *dir, unsigned flags,
                         struct app **out, struct sk_error *err);

/* Keep only the components listed in list (comma-separated ids, as in
 * SPIN_COMPONENTS_TO_RETAIN) and the triggers (HTTP and Redis) that use them. An id the app
 * does not have is -ENOENT naming it; the app is unchanged on failure. */
int app_retain(struct app *app, const char *list, struct sk_error *err);

/* Index of the component with this id, or -1. */
long app_find_component(const struct app *app, const char *id);

/* Release the app and everything in it. NULL and half-built apps are fine. */
void app_free(struct app *app);

/* True when name is a valid Spin variable name: lowercase ASCII letters,
 * digits and '_', starting with a letter. */
bool app_variable_name_ok(const char *name);

#endif
