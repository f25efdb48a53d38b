/* The host side of the WASI 0.2 worlds Spin components import, written over
 * wasmtime's component-model C API.
 *
 * wasmtime's C API can run wasi:cli and call out over wasi:http, but it cannot
 * hand an incoming request to a component, and the wasi:io streams it creates
 * cannot be fed from C. So spin-bridge defines every interface a Spin HTTP
 * component imports itself: wasi:io (poll, error, streams), wasi:clocks,
 * wasi:random, wasi:cli, wasi:filesystem (read-only), wasi:http (types,
 * incoming-handler, outgoing-handler) and Spin's own interfaces. This header
 * is the small framework they share:
 *
 * - struct wh_ctx: the per-request host state, the data of the request's
 *   wasmtime store (wasmtime_context_get_data);
 * - a resource table: host resources are (type, rep) pairs; the rep indexes
 *   this table, whose entries carry a serial so a stale child (a pollable of a
 *   dropped stream) is detected rather than followed;
 * - helpers to read arguments and build results in the C API's value form;
 * - registration: one linker per component with every interface, defined
 *   under one version per package; wasmtime's linker matches 0.2.x imports to
 *   them semver-wise.
 *
 * Host functions are defined untyped (the linker checks types when a value
 * crosses), so each callback trusts only what it checks: wh_arg_* return
 * -EINVAL on a value of the wrong shape and callbacks then trap. */
#ifndef SPIN_BRIDGE_WASI_HOST_H
#define SPIN_BRIDGE_WASI_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <wasmtime.h>

#include "common/err.h"
#include "common/kv.h"
#include "common/log.h"

/* Host resource types. The numbers only need to differ. */
enum wh_rtype {
	WH_POLLABLE = 1,
	WH_IO_ERROR,
	WH_INPUT_STREAM,
	WH_OUTPUT_STREAM,
	WH_TERMINAL_INPUT,
	WH_TERMINAL_OUTPUT,
	WH_DESCRIPTOR,
	WH_DIR_ENTRY_STREAM,
	WH_FIELDS,
	WH_INCOMING_REQUEST,
	WH_OUTGOING_REQUEST,
	WH_REQUEST_OPTIONS,
	WH_RESPONSE_OUTPARAM,
	WH_INCOMING_RESPONSE,
	WH_INCOMING_BODY,
	WH_FUTURE_TRAILERS,
	WH_OUTGOING_RESPONSE,
	WH_OUTGOING_BODY,
	WH_FUTURE_INCOMING_RESPONSE,
	WH_KV_STORE,
	WH_SQL_CONN,
	WH_KV_BUCKET, /* wasi:keyvalue bucket: the app's store, borrowed */
	WH_KV_CAS,    /* wasi:keyvalue cas: a key and the value a read saw */
	WH_REDIS_CONN, /* fermyon:spin/redis connection: a one-connection pool */
	WH_PG_CONN,    /* fermyon:spin/postgres connection: a libpq PGconn */
	WH_MYSQL_CONN, /* fermyon:spin/mysql connection: a libmariadb MYSQL (mysql-conn.h) */
	WH_RTYPE_COUNT
};

/* Most entries one request may hold at once (streams, pollables, fields...). */
#define WH_TABLE_MAX 65536
/* Largest list<u8> the host hands over or accepts in one call. */
#define WH_CHUNK_MAX ((size_t)1 << 20)

struct wh_ctx;

/* Called when an entry leaves the table (guest drop, host take, or the end
 * of the request). Must release obj. */
typedef void (*wh_drop_fn)(struct wh_ctx *ctx, void *obj);

struct wh_entry {
	uint32_t type; /* enum wh_rtype, 0 when the slot is free */
	uint32_t next_free;
	uint64_t serial;
	void *obj;
	wh_drop_fn drop;
};

/* A reference to a table entry that may outlive it. */
struct wh_ref {
	uint32_t rep;
	uint64_t serial;
};

struct wh_kvdb;
struct wh_sqldb;

/* Per-component settings the host interfaces read, owned by the component
 * (shim-bridge/runtime/component.c fills it from the app). Everything is
 * borrowed from the component for its lifetime. */
struct wh_component_env {
	const char *id;
	const char *files_dir;        /* host folder seen as "/", or NULL */
	const struct sk_kv *env;      /* wasi:cli environment */
	size_t n_env;
	/* Spin variables: the component's variables, resolved at start */
	const struct sk_kv *vars;
	size_t n_vars;
	/* key-value stores this component may open, and outbound hosts */
	const char *const *kv_stores;
	size_t n_kv_stores;
	const char *const *allowed_outbound_hosts;
	size_t n_allowed_outbound_hosts;
	struct wh_kvdb *kvdb;           /* the app's key-value stores (kv-sqlite.h) */
	/* SQLite databases this component may open, and the app's (sqlite-db.h) */
	const char *const *sqlite_databases;
	size_t n_sqlite_databases;
	struct wh_sqldb *sqldb;
	/* where guest stdout/stderr go (guest-log.h), and what operators should
	 * see from the host (an outbound request denied); the program's */
	const struct sk_log_sink *log;
	size_t max_body;                /* cap on bodies the host buffers (outbound) */
	const char *ca_file;            /* CA bundle for outbound HTTPS; NULL: $SPIN_OUTBOUND_CA_FILE */
};

/* An input or output stream's backend. Unused operations are NULL. */
struct wh_stream_ops {
	/* input: >0 bytes, 0 end of stream, -EAGAIN none yet (timeout_ms 0) or
	 * within timeout_ms, other -errno failed */
	ssize_t (*read)(void *s, void *buf, size_t cap, int timeout_ms);
	/* output: bytes that may be written now without blocking (0: wait),
	 * or -errno when the stream is closed or failed */
	ssize_t (*check_write)(void *s);
	/* output: write all of buf (n <= what check_write allowed); -errno */
	ssize_t (*write)(void *s, const void *buf, size_t n);
	int (*flush)(void *s);
	/* fd to wait on (events in *events) when not ready, or -1: ready now */
	int (*wait_fd)(void *s, short *events, int64_t *deadline_ns);
	/* the stream resource was dropped; s is released here */
	void (*close)(struct wh_ctx *ctx, void *s);
	/* text of the last failure, for wasi:io/error to-debug-string */
	const char *(*error)(void *s);
};

/* A pollable's source: it is ready when ready() says so; otherwise the host
 * waits on fd (events) and/or until deadline_ns (monotonic, -1 none). */
struct wh_poll_ops {
	bool (*ready)(struct wh_ctx *ctx, void *src);
	int (*wait)(struct wh_ctx *ctx, void *src, short *events, int64_t *deadline_ns);
};

struct wh_ctx {
	const struct wh_component_env *env;
	struct wh_entry *table; /* index 0 unused */
	uint32_t n_table, cap_table, free_head;
	uint64_t next_serial;
	int64_t deadline_ns; /* wall-clock end of the request (monotonic) */
	bool timed_out;      /* a host wait hit deadline_ns */
	void *http;          /* private to the wasi:http host (http*.c): the exchange */
	void *spin;          /* private to spin.c: open stores */
	void *outbound;      /* private to outbound.c */
	uint32_t n_redis;    /* outbound-redis.c: connections open */
	uint32_t n_pg;       /* outbound-pg.c: connections open */
	uint32_t n_mysql;    /* outbound-mysql.c: connections open */
	char why[256];       /* host-side reason a request failed, or "" */
};

/* The request's context from a host callback's store context. */
struct wh_ctx *wh_ctx_of(wasmtime_context_t *cx);

void wh_ctx_init(struct wh_ctx *ctx, const struct wh_component_env *env, uint64_t timeout_ms);
/* Drop every entry left (in reverse order of creation) and free the table. */
void wh_ctx_release(struct wh_ctx *ctx);

/* Table. wh_add returns the rep (>0) or 0 when full or out of memory (obj is
 * then dropped through drop). wh_get borrows; NULL when rep is not an entry
 * of that type. wh_take removes without calling drop and returns obj. */
uint32_t wh_add(struct wh_ctx *ctx, uint32_t type, void *obj, wh_drop_fn drop);
void *wh_get(struct wh_ctx *ctx, uint32_t rep, uint32_t type);
void *wh_take(struct wh_ctx *ctx, uint32_t rep, uint32_t type);
void wh_remove(struct wh_ctx *ctx, uint32_t rep); /* calls drop */
struct wh_ref wh_ref_of(struct wh_ctx *ctx, uint32_t rep);
void *wh_deref(struct wh_ctx *ctx, struct wh_ref ref, uint32_t type);

/* --- values ---------------------------------------------------------------
 * Arguments are borrowed from wasmtime. Results are written into the slots
 * wasmtime provides and freed by wasmtime; everything they point to must be
 * made with these helpers (they use wasmtime's allocators). */

/* The rep of a resource argument of host type `type`; 0 or -EINVAL. */
int wh_arg_rep(wasmtime_context_t *cx, const wasmtime_component_val_t *v, uint32_t type, uint32_t *rep);
int wh_arg_u64(const wasmtime_component_val_t *v, uint64_t *out);
int wh_arg_s64(const wasmtime_component_val_t *v, int64_t *out);
int wh_arg_f64(const wasmtime_component_val_t *v, double *out);
int wh_arg_u32(const wasmtime_component_val_t *v, uint32_t *out);
int wh_arg_u16(const wasmtime_component_val_t *v, uint16_t *out);
int wh_arg_bool(const wasmtime_component_val_t *v, bool *out);
/* string: borrowed bytes, not NUL-terminated */
int wh_arg_string(const wasmtime_component_val_t *v, const char **s, size_t *n);
/* list<u8> copied into a new malloc'd buffer (NULL when empty); cap bounds it */
int wh_arg_bytes(const wasmtime_component_val_t *v, size_t cap, uint8_t **out, size_t *n);
/* option<T>: NULL for none, else the inner value; -EINVAL if not an option */
int wh_arg_option(const wasmtime_component_val_t *v, const wasmtime_component_val_t **inner);

void wh_val_bool(wasmtime_component_val_t *v, bool b);
void wh_val_u8(wasmtime_component_val_t *v, uint8_t x);
void wh_val_u16(wasmtime_component_val_t *v, uint16_t x);
void wh_val_u32(wasmtime_component_val_t *v, uint32_t x);
void wh_val_u64(wasmtime_component_val_t *v, uint64_t x);
void wh_val_s64(wasmtime_component_val_t *v, int64_t x);
void wh_val_f64(wasmtime_component_val_t *v, double x);
void wh_val_string(wasmtime_component_val_t *v, const char *s, size_t n);
void wh_val_cstring(wasmtime_component_val_t *v, const char *s);
void wh_val_bytes(wasmtime_component_val_t *v, const void *p, size_t n);
/* an owned host resource; -ENOMEM/-EINVAL on failure (v is left a bool) */
int wh_val_resource(wasmtime_context_t *cx, wasmtime_component_val_t *v, uint32_t rep, uint32_t type);
/* option: inner NULL for none; *inner is moved (left a bool) */
void wh_val_option(wasmtime_component_val_t *v, wasmtime_component_val_t *inner);
/* result: payload NULL for a unit ok/err; *payload is moved */
void wh_val_result(wasmtime_component_val_t *v, bool ok, wasmtime_component_val_t *payload);
/* variant case (name as in WIT), payload NULL for none; *payload moved */
void wh_val_variant(wasmtime_component_val_t *v, const char *case_name, wasmtime_component_val_t *payload);
void wh_val_enum(wasmtime_component_val_t *v, const char *case_name);
/* a tuple/record/list of n slots to fill (slots start as bool false) */
wasmtime_component_val_t *wh_val_tuple(wasmtime_component_val_t *v, size_t n);
wasmtime_component_val_t *wh_val_list(wasmtime_component_val_t *v, size_t n);
/* record with fields names[i]; returns the entries (fill .val of each; they
 * start as bool false) */
wasmtime_component_valrecord_entry_t *wh_val_record(wasmtime_component_val_t *v, const char *const *names, size_t n);
/* A unit `result<_, E>` ok. */
static inline void wh_val_ok(wasmtime_component_val_t *v)
{
	wh_val_result(v, true, NULL);
}

/* A trap with a message (for bad arguments and host failures). */
wasmtime_error_t *wh_trap(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --- registration ---------------------------------------------------------- */

typedef wasmtime_error_t *(*wh_fn)(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *args,
				     size_t nargs, wasmtime_component_val_t *results, size_t nresults);

struct wh_func_def {
	const char *name; /* "[method]input-stream.read", "get-random-bytes", ... */
	wh_fn fn;
};

struct wh_resource_def {
	const char *name; /* "input-stream" */
	uint32_t type;    /* enum wh_rtype */
};

/* One interface: "wasi:io/streams@0.2.6" with its resources and functions. */
struct wh_iface_def {
	const char *name;
	const struct wh_resource_def *resources;
	size_t n_resources;
	const struct wh_func_def *funcs;
	size_t n_funcs;
};

/* Define the interfaces in a component linker. Guest drops of the listed
 * resources remove the table entry (calling its drop). */
int wh_define(wasmtime_component_linker_t *linker, const struct wh_iface_def *ifaces, size_t n, struct sk_error *err);

/* The interface tables, one per file. */
extern const struct wh_iface_def wh_io_ifaces[];
extern const size_t wh_n_io_ifaces;
extern const struct wh_iface_def wh_base_ifaces[]; /* clocks, random, cli */
extern const size_t wh_n_base_ifaces;
extern const struct wh_iface_def wh_fs_ifaces[];
extern const size_t wh_n_fs_ifaces;
extern const struct wh_iface_def wh_http_ifaces[]; /* wasi:http/types */
extern const size_t wh_n_http_ifaces;
extern const struct wh_iface_def wh_outbound_ifaces[]; /* outgoing-handler, fermyon:spin/http */
extern const size_t wh_n_outbound_ifaces;
extern const struct wh_iface_def wh_spin_ifaces[]; /* variables, config, key-value */
extern const size_t wh_n_spin_ifaces;
extern const struct wh_iface_def wh_keyvalue_ifaces[]; /* wasi:keyvalue (keyvalue.c) */
extern const struct wh_iface_def wh_sqlite_ifaces[];   /* fermyon:spin/sqlite, spin:sqlite (sqlite.c) */
extern const size_t wh_n_sqlite_ifaces;
extern const size_t wh_n_keyvalue_ifaces;
extern const struct wh_iface_def wh_redis_ifaces[]; /* fermyon:spin/redis (outbound-redis.c) */
extern const size_t wh_n_redis_ifaces;
extern const struct wh_iface_def wh_pg_ifaces[]; /* fermyon:spin/postgres (outbound-pg.c) */
extern const size_t wh_n_pg_ifaces;
extern const struct wh_iface_def wh_rdbms_ifaces[]; /* fermyon:spin/rdbms-types, v1 and 2.0.0 (rdbms.c) */
extern const size_t wh_n_rdbms_ifaces;
extern const struct wh_iface_def wh_mysql_ifaces[]; /* fermyon:spin/mysql, v1 and 2.0.0 (outbound-mysql.c) */
extern const size_t wh_n_mysql_ifaces;

/* Spin's rules for opening a key-value store (spin.c): the app's store
 * label[0..n) (borrowed from env->kvdb) when the component lists it in
 * key_value_stores and the app defines it; else NULL with *error_case
 * "access-denied" or "no-such-store". */
struct wh_kvdb_store *wh_kv_allowed(const struct wh_component_env *env, const char *label, size_t n,
                                    const char **error_case);
/* A string value of host text for a guest: valid UTF-8 as it is, else
 * with '?' for each bad byte (spin.c). */
void wh_val_text(wasmtime_component_val_t *v, const char *s);

/* Spin's host functions (spin.c): a trap naming fn unless it was called
 * with want_args arguments and want_results results; and results[0] =
 * err(case_name), or err(case_name(msg)) with msg set (returns NULL). */
wasmtime_error_t *wh_arity(const char *fn, size_t nargs, size_t want_args, size_t nresults, size_t want_results);
wasmtime_error_t *wh_fail_with(wasmtime_component_val_t *res, const char *case_name, const char *msg);

/* A linker with every interface above. *out owned by the caller. */
int wh_linker_new(wasm_engine_t *engine, wasmtime_component_linker_t **out, struct sk_error *err);

/* Check a component's imports against what wh_linker_new defines: on a
 * miss, one error naming every import not provided (semver-compatible
 * 0.2.x versions count as provided). */
int wh_check_imports(wasm_engine_t *engine, const wasmtime_component_t *component, const char *what,
		     struct sk_error *err);

/* --- streams and pollables -------------------------------------------------- */

/* New stream resources over a backend; the rep, or 0 (s then closed). */
uint32_t wh_input_stream_new(struct wh_ctx *ctx, const struct wh_stream_ops *ops, void *s);
uint32_t wh_output_stream_new(struct wh_ctx *ctx, const struct wh_stream_ops *ops, void *s);
/* A pollable for src; the rep or 0. src must stay valid while the pollable
 * lives, or be looked up through a wh_ref inside ready/wait. */
uint32_t wh_pollable_new(struct wh_ctx *ctx, const struct wh_poll_ops *ops, void *src);
/* Same, but src is malloc'd and freed (free()) with the pollable. */
uint32_t wh_pollable_new_owned(struct wh_ctx *ctx, const struct wh_poll_ops *ops, void *src);
/* An always-ready pollable. */
uint32_t wh_pollable_ready(struct wh_ctx *ctx);
/* A wasi:io/error resource holding msg (copied); the rep or 0. */
uint32_t wh_io_error_new(struct wh_ctx *ctx, const char *msg);

/* Wait until a pollable source is ready or the request deadline passes
 * (then ctx->timed_out is set and -ETIMEDOUT returned). */
int wh_block_on(struct wh_ctx *ctx, const struct wh_poll_ops *ops, void *src);

int64_t wh_now_ns(void); /* CLOCK_MONOTONIC */

#endif
