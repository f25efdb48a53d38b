/* The wasmtime engine spin-bridge runs every guest on, and the on-disk cache
 * of compiled code.
 *
 * One engine per process: cranelift, the pooling instance allocator sized for
 * the number of concurrent instances, copy-on-write memory images, epoch
 * interruption driven by a ticker thread (the per-request CPU timeout), and a
 * memory cap per instance. Compiled modules and components are cached under
 * <cache_dir>/wasmtime-<version>/<config digest>/<sha256 of the wasm>.cwasm so
 * a restart maps the compiled code instead of compiling again. */
#ifndef SPIN_BRIDGE_ENGINE_H
#define SPIN_BRIDGE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wasmtime.h>

#include "common/err.h"

/* Largest .wasm file accepted (modules and components). */
#define SB_WASM_MAX ((size_t)256 << 20)
/* Epoch tick: the granularity of the request timeout. */
#define SB_EPOCH_TICK_MS 10

struct sb_engine_opts {
	uint64_t max_instance_memory; /* bytes per linear memory; 0: default 128 MiB */
	unsigned max_instances;       /* instances alive at once (pool size); 0: 64 */
	uint64_t timeout_ms;          /* per-request CPU time; 0: default 30,000 */
	const char *cache_dir;        /* compiled-code cache; NULL: no cache */
};

struct sb_engine_shared; /* engine.c: what every app on the engine shares */

struct sb_engine {
	wasm_engine_t *engine;
	struct sb_engine_opts opts;
	char *cache_dir;      /* owned; <cache_dir>/wasmtime-<v>/<config digest> */
	uint64_t epoch_ticks; /* ticks per request timeout */
	void *ticker;         /* private: the epoch ticker thread */
	struct sb_engine_shared *shared; /* private: loaded code and linkers */
};

enum sb_wasm_kind { SB_WASM_MODULE, SB_WASM_COMPONENT };

/* What loading one wasm binary produced. Exactly one of module/component is
 * set; the caller owns it (wasmtime_module_delete/wasmtime_component_delete). */
struct sb_compiled {
	enum sb_wasm_kind kind;
	wasmtime_module_t *module;
	wasmtime_component_t *component;
	bool from_cache;   /* mapped from the cache instead of compiled */
	bool shared;       /* another component of the engine had loaded it */
	double compile_ms; /* time spent compiling or deserializing */
	uint64_t code_bytes; /* size of the compiled code in memory (see sb_engine_code_share) */
	char digest[65];   /* sha256 of the wasm: pass it to sb_engine_release */
};

/* Create the engine and start its epoch ticker. *out is owned by the caller
 * (sb_engine_free). */
int sb_engine_new(const struct sb_engine_opts *opts, struct sb_engine **out, struct sk_error *err);
void sb_engine_free(struct sb_engine *e);

/* The kind of a wasm binary from its preamble, or -EINVAL (with a message
 * naming `what`) when it is not WebAssembly at all. */
int sb_wasm_kind_of(const uint8_t *bytes, size_t len, const char *what, enum sb_wasm_kind *kind,
		    struct sk_error *err);

/* Compile bytes (a core module or a component), going through the cache when
 * the engine has one: a cached artifact is mapped from disk; a missing or
 * unusable one is compiled and written atomically. `what` names the binary in
 * errors ("component \"hello\" (hello.wasm)"). The same bytes loaded again
 * while an earlier load is in use give that one (a new reference to the
 * same code: apps of one image share it). Thread-safe. */
int sb_engine_compile(struct sb_engine *e, const uint8_t *bytes, size_t len, const char *what,
		      struct sb_compiled *out, struct sk_error *err);

/* How many times the engine has compiled wasm (loads that took code already
 * loaded, or mapped it from the cache, are not counted). Loads of the same
 * bytes at once compile it once: the others wait for that compile. */
unsigned long sb_engine_compiles(struct sb_engine *e);

/* The caller is done with what sb_engine_compile gave for digest (after
 * deleting its module or component): the last user's release frees it. */
void sb_engine_release(struct sb_engine *e, const char *digest);

/* One user's share of the compiled code loaded for digest: its size (a
 * module's image in memory, else the serialized artifact's size, which is
 * what is mapped) divided by the components using it now. `own` (the size
 * sb_engine_compile gave) when the engine does not keep that code.
 * Thread-safe. */
uint64_t sb_engine_code_share(struct sb_engine *e, const char *digest, uint64_t own);

/* The linkers components of one kind share: their host functions keep
 * their state in the store, never in the linker. Built by build on first
 * use, kept by the engine; *out is borrowed. Thread-safe. */
enum sb_linker_kind { SB_LINKER_WASIP1, SB_LINKER_WASIP2, SB_LINKER_WASI_HTTP, SB_LINKER_KINDS };
typedef int (*sb_linker_build_fn)(wasm_engine_t *engine, void **out, struct sk_error *err);
int sb_engine_linker(struct sb_engine *e, enum sb_linker_kind kind, sb_linker_build_fn build, void **out,
		     struct sk_error *err);

/* Turn a wasmtime error or trap into one line in buf ("wasm trap: ...",
 * "timed out after N ms", "exceeded memory limit"). Takes ownership of both
 * (either may be NULL) and returns buf. */
const char *sb_describe_failure(uint64_t timeout_ms, wasmtime_error_t *error, wasm_trap_t *trap, char *buf,
				size_t size);

#endif
