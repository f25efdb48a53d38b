#include "shim-bridge/runtime/engine.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/sha256.h"

#define DEFAULT_MAX_MEMORY ((uint64_t)128 << 20)
#define DEFAULT_MAX_INSTANCES 64u
#define DEFAULT_TIMEOUT_MS 30000u
/* Core instances and memories one Spin component may hold: the app's module,
 * the WASI adapter and the small shim modules wit-component adds. */
#define CORE_INSTANCES_PER_COMPONENT 16u
#define MEMORIES_PER_COMPONENT 4u
#define TABLES_PER_COMPONENT 8u

struct ticker {
	pthread_t thread;
	atomic_bool stop;
	const wasm_engine_t *engine;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The epoch ticker: every tick moves the engine's epoch on; a store whose
 * deadline (set per request) has passed traps with "interrupt". */
static void *tick(void *arg)
{
	struct ticker *t = arg;
	const struct timespec ts = { 0, SB_EPOCH_TICK_MS * 1000000L };

	while (!atomic_load(&t->stop)) {
		nanosleep(&ts, NULL);
		wasmtime_engine_increment_epoch(t->engine);
	}
	return NULL;
}

/* Make wasmtime's multi-line message one readable line: whitespace runs
 * become one space; "<context> Caused by: <cause>" becomes
 * "<context>: <cause>"; for a trap, the backtrace shrinks to its first
 * frame: "<cause> (in <frame>)". Works in place on a NUL-terminated buf. */
static void one_line(char *buf, size_t size)
{
	char *w = buf, *cause, *bt;
	bool space = false;

	for (char *r = buf; *r; r++) {
		if (*r == ' ' || *r == '\n' || *r == '\r' || *r == '\t') {
			space = w != buf;
			continue;
		}
		if (space)
			*w++ = ' ';
		space = false;
		*w++ = *r;
	}
	*w = '\0';
	cause = strstr(buf, "Caused by: ");
	if (!cause)
		return;
	for (char *c2; (c2 = strstr(cause + 1, "Caused by: "));)
		cause = c2;
	char tail[600];
	snprintf(tail, sizeof(tail), "%s", cause + strlen("Caused by: "));
	bt = strstr(buf, "wasm backtrace: 0: ");
	if (bt && bt < cause) {
		char frame[200];
		char *f = bt + strlen("wasm backtrace: 0: ");
		char *end = strstr(f, " 1: ");
		size_t n = (size_t)((end && end < cause ? end : cause) - f);
		snprintf(frame, sizeof(frame), "%.*s", (int)(n > 190 ? 190 : n), f);
		while (*frame && frame[strlen(frame) - 1] == ' ')
			frame[strlen(frame) - 1] = '\0';
		snprintf(buf, size, "%s (in %s)", tail, frame);
		return;
	}
	*cause = '\0';
	while (cause > buf && (cause[-1] == ' ' || cause[-1] == ':'))
		*--cause = '\0';
	size_t len = strlen(buf);
	if (len < size)
		snprintf(buf + len, size - len, ": %s", tail);
}

/* Record wasmtime's error as "<what>: <message>" (one line) and free it. */
static int take_error(struct sk_error *err, int code, wasmtime_error_t *e, const char *what)
{
	wasm_name_t msg;
	char line[SK_ERR_MESSAGE_MAX];
	size_t n;

	wasmtime_error_message(e, &msg);
	n = msg.size < sizeof(line) - 1 ? msg.size : sizeof(line) - 1;
	memcpy(line, msg.data, n);
	line[n] = '\0';
	wasm_byte_vec_delete(&msg);
	wasmtime_error_delete(e);
	one_line(line, sizeof(line));
	return sk_err(err, code, "%s: %s", what, line);
}

/* Settings that change the compiled code or its layout, folded into the
 * cache path so artifacts from another configuration are never mapped. */
static void config_digest(const struct sb_engine_opts *o, char out[17])
{
	char desc[256], hex[65];
	int n = snprintf(desc, sizeof(desc), "v=%s;epoch=1;cow=1;pool=1;mem=%llu;cranelift=speed", WASMTIME_VERSION,
			 (unsigned long long)o->max_instance_memory);

	if (sk_sha256_hex(desc, (size_t)n, hex) < 0)
		memset(hex, '0', 16); /* out of memory: a key that matches no cache entry of ours */
	memcpy(out, hex, 16);
	out[16] = '\0';
}

static wasm_config_t *make_config(const struct sb_engine_opts *o)
{
	wasm_config_t *c = wasm_config_new();
	wasmtime_pooling_allocation_config_t *pool;
	uint32_t n = o->max_instances;

	if (!c)
		return NULL;
	wasmtime_config_strategy_set(c, WASMTIME_STRATEGY_CRANELIFT);
	wasmtime_config_cranelift_opt_level_set(c, WASMTIME_OPT_LEVEL_SPEED);
	wasmtime_config_parallel_compilation_set(c, true);
	wasmtime_config_epoch_interruption_set(c, true);
	wasmtime_config_wasm_component_model_set(c, true);
	wasmtime_config_memory_init_cow_set(c, true);
	wasmtime_config_max_wasm_stack_set(c, 1u << 20);

	pool = wasmtime_pooling_allocation_config_new();
	if (!pool) {
		wasm_config_delete(c);
		return NULL;
	}
	/* One pool slot set per concurrent request, sized for a component. */
	wasmtime_pooling_allocation_config_total_component_instances_set(pool, n);
	wasmtime_pooling_allocation_config_total_core_instances_set(pool, n * CORE_INSTANCES_PER_COMPONENT);
	wasmtime_pooling_allocation_config_total_memories_set(pool, n * MEMORIES_PER_COMPONENT);
	wasmtime_pooling_allocation_config_total_tables_set(pool, n * TABLES_PER_COMPONENT);
	wasmtime_pooling_allocation_config_max_core_instances_per_component_set(pool, CORE_INSTANCES_PER_COMPONENT);
	wasmtime_pooling_allocation_config_max_memories_per_component_set(pool, MEMORIES_PER_COMPONENT);
	wasmtime_pooling_allocation_config_max_tables_per_component_set(pool, TABLES_PER_COMPONENT);
	wasmtime_pooling_allocation_config_max_memory_size_set(pool, (size_t)o->max_instance_memory);
	wasmtime_pooling_allocation_config_table_elements_set(pool, 100000);
	wasmtime_pooling_allocation_config_max_core_instance_size_set(pool, 1u << 20);
	wasmtime_pooling_allocation_config_max_component_instance_size_set(pool, 1u << 20);
	/* Reset the first 8 MiB of a memory slot by hand (only the pages the
	 * guest dirtied: wasmtime finds them with PAGEMAP_SCAN) instead of
	 * madvise: the pages stay resident, so the next instance takes no page
	 * faults and no request pays for the TLB shootdowns a madvise sends to
	 * the other threads' CPUs. Measured on 2 cores: 2 MiB doubled WAGI's
	 * requests/s over none; 8 MiB covers what a JavaScript (StarlingMonkey)
	 * request dirties and gave ~1.2x its requests/s over 2 MiB, for ~30 MiB
	 * more resident with four slots in use. */
	wasmtime_pooling_allocation_config_linear_memory_keep_resident_set(pool, 8u << 20);
	wasmtime_pooling_allocation_config_table_keep_resident_set(pool, 16u << 10);
	wasmtime_pooling_allocation_strategy_set(c, pool);
	wasmtime_pooling_allocation_config_delete(pool);
	return c;
}

/* Code loaded once per engine, by digest, and the shared linkers. A memo
 * that is loading is a placeholder: the one thread that made it compiles
 * (or maps) the code, and every other load of the same bytes waits for it
 * instead of compiling the same code again. */
struct memo {
	char digest[65];
	enum sb_wasm_kind kind;
	bool loading;                    /* placeholder: its loader is at work */
	wasmtime_module_t *module;       /* the memo's own reference */
	wasmtime_component_t *component;
	uint64_t code_bytes;
	unsigned users;
	struct memo *next;
};

/* Compiles at once per engine: a node runtime starting a thousand apps of
 * different code compiles them a few at a time (each compile is already
 * parallel inside wasmtime), not all at once with a compiler's memory each. */
#define MAX_COMPILES 2

struct sb_engine_shared {
	pthread_mutex_t mu;
	pthread_cond_t changed;          /* a memo finished loading, or a compile ended */
	unsigned compiling;
	unsigned long compiles;          /* compiles done, for sb_engine_compiles */
	struct memo *memo;
	void *linkers[SB_LINKER_KINDS];
};

int sb_engine_new(const struct sb_engine_opts *opts, struct sb_engine **out, struct sk_error *err)
{
	struct sb_engine *e = calloc(1, sizeof(*e));
	struct ticker *t;
	wasm_config_t *config;
	int r;

	if (!e)
		return sk_err(err, -ENOMEM, "out of memory");
	e->opts = *opts;
	e->shared = calloc(1, sizeof(*e->shared));
	if (!e->shared) {
		free(e);
		return sk_err(err, -ENOMEM, "out of memory");
	}
	pthread_mutex_init(&e->shared->mu, NULL);
	pthread_cond_init(&e->shared->changed, NULL);
	if (!e->opts.max_instance_memory)
		e->opts.max_instance_memory = DEFAULT_MAX_MEMORY;
	if (!e->opts.max_instances)
		e->opts.max_instances = DEFAULT_MAX_INSTANCES;
	if (!e->opts.timeout_ms)
		e->opts.timeout_ms = DEFAULT_TIMEOUT_MS;
	e->opts.cache_dir = NULL;
	e->epoch_ticks = (e->opts.timeout_ms + SB_EPOCH_TICK_MS - 1) / SB_EPOCH_TICK_MS;

	if (opts->cache_dir && *opts->cache_dir) {
		char digest[17];
		config_digest(&e->opts, digest);
		if (asprintf(&e->cache_dir, "%s/wasmtime-%s/%s", opts->cache_dir, WASMTIME_VERSION, digest) < 0) {
			e->cache_dir = NULL;
			sb_engine_free(e);
			return sk_err(err, -ENOMEM, "out of memory");
		}
		r = sk_mkdir_p(e->cache_dir, 0700);
		if (r < 0)
			r = sk_err(err, r, "cache folder %s: %s (pass --cache-dir or --no-cache)", e->cache_dir, strerror(-r));
		if (r < 0) {
			sb_engine_free(e);
			return r;
		}
	}

	config = make_config(&e->opts);
	e->engine = config ? wasm_engine_new_with_config(config) : NULL;
	if (!e->engine) {
		sb_engine_free(e);
		return sk_err(err, -ENOMEM, "wasmtime: cannot create the engine (pooling allocator for %u instances of %llu MiB)",
			      opts->max_instances, (unsigned long long)(e->opts.max_instance_memory >> 20));
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		sb_engine_free(e);
		return sk_err(err, -ENOMEM, "out of memory");
	}
	t->engine = e->engine;
	atomic_init(&t->stop, false);
	r = pthread_create(&t->thread, NULL, tick, t);
	if (r != 0) {
		free(t);
		sb_engine_free(e);
		return sk_err(err, -r, "cannot start the epoch ticker thread: %s", strerror(r));
	}
	e->ticker = t;
	*out = e;
	return 0;
}

void sb_engine_free(struct sb_engine *e)
{
	if (!e)
		return;
	if (e->ticker) {
		struct ticker *t = e->ticker;
		atomic_store(&t->stop, true);
		pthread_join(t->thread, NULL);
		free(t);
	}
	if (e->shared) {
		struct sb_engine_shared *sh = e->shared;
		while (sh->memo) {
			struct memo *m = sh->memo;
			sh->memo = m->next;
			if (m->module)
				wasmtime_module_delete(m->module);
			if (m->component)
				wasmtime_component_delete(m->component);
			free(m);
		}
		if (sh->linkers[SB_LINKER_WASIP1])
			wasmtime_linker_delete(sh->linkers[SB_LINKER_WASIP1]);
		for (int k = SB_LINKER_WASIP2; k < SB_LINKER_KINDS; k++)
			if (sh->linkers[k])
				wasmtime_component_linker_delete(sh->linkers[k]);
		pthread_cond_destroy(&sh->changed);
		pthread_mutex_destroy(&sh->mu);
		free(sh);
	}
	if (e->engine)
		wasm_engine_delete(e->engine);
	free(e->cache_dir);
	free(e);
}

int sb_engine_linker(struct sb_engine *e, enum sb_linker_kind kind, sb_linker_build_fn build, void **out,
		     struct sk_error *err)
{
	struct sb_engine_shared *sh = e->shared;
	int r = 0;

	pthread_mutex_lock(&sh->mu);
	if (!sh->linkers[kind])
		r = build(e->engine, &sh->linkers[kind], err);
	*out = sh->linkers[kind];
	pthread_mutex_unlock(&sh->mu);
	return r;
}

/* A new reference to m's code in c (caller holds mu). */
static void memo_take(struct memo *m, struct sb_compiled *c)
{
	m->users++;
	c->kind = m->kind;
	c->module = m->module ? wasmtime_module_clone(m->module) : NULL;
	c->component = m->component ? wasmtime_component_clone(m->component) : NULL;
	c->code_bytes = m->code_bytes;
	c->shared = true;
	c->from_cache = true;
}

static struct memo *memo_find(struct sb_engine_shared *sh, const char *digest, enum sb_wasm_kind kind)
{
	for (struct memo *m = sh->memo; m; m = m->next)
		if (m->kind == kind && strcmp(m->digest, digest) == 0)
			return m;
	return NULL;
}

/* Fill the placeholder m (made by memo_claim) with c's code for the next
 * loads of the same bytes, and wake the loads that wait for it. */
static void memo_put(struct sb_engine *e, struct memo *m, struct sb_compiled *c)
{
	struct sb_engine_shared *sh = e->shared;

	pthread_mutex_lock(&sh->mu);
	m->module = c->module ? wasmtime_module_clone(c->module) : NULL;
	m->component = c->component ? wasmtime_component_clone(c->component) : NULL;
	m->code_bytes = c->code_bytes;
	m->users = 1;
	m->loading = false;
	pthread_cond_broadcast(&sh->changed);
	pthread_mutex_unlock(&sh->mu);
}

/* The load that made placeholder m failed: drop it, so that a waiting load
 * tries again itself. */
static void memo_drop(struct sb_engine *e, struct memo *m)
{
	struct sb_engine_shared *sh = e->shared;

	pthread_mutex_lock(&sh->mu);
	for (struct memo **pm = &sh->memo; *pm; pm = &(*pm)->next)
		if (*pm == m) {
			*pm = m->next;
			break;
		}
	free(m);
	pthread_cond_broadcast(&sh->changed);
	pthread_mutex_unlock(&sh->mu);
}

/* Code for digest: a new reference in c when it is loaded (returns 1), after
 * waiting for another thread that is loading it; else a placeholder in *mine
 * that this thread must fill (memo_put) or drop (memo_drop) (returns 0; *mine
 * is NULL when out of memory: load without keeping it). */
static int memo_claim(struct sb_engine *e, const char *digest, struct sb_compiled *c, struct memo **mine)
{
	struct sb_engine_shared *sh = e->shared;
	struct memo *m;

	*mine = NULL;
	pthread_mutex_lock(&sh->mu);
	while ((m = memo_find(sh, digest, c->kind)) && m->loading)
		pthread_cond_wait(&sh->changed, &sh->mu);
	if (m) {
		memo_take(m, c);
		pthread_mutex_unlock(&sh->mu);
		return 1;
	}
	if ((m = calloc(1, sizeof(*m)))) {
		memcpy(m->digest, digest, sizeof(m->digest));
		m->kind = c->kind;
		m->loading = true;
		m->next = sh->memo;
		sh->memo = m;
		*mine = m;
	}
	pthread_mutex_unlock(&sh->mu);
	return 0;
}

/* Wait for one of the engine's MAX_COMPILES compile slots. */
static void compile_slot_take(struct sb_engine_shared *sh)
{
	pthread_mutex_lock(&sh->mu);
	while (sh->compiling >= MAX_COMPILES)
		pthread_cond_wait(&sh->changed, &sh->mu);
	sh->compiling++;
	sh->compiles++;
	pthread_mutex_unlock(&sh->mu);
}

static void compile_slot_give(struct sb_engine_shared *sh)
{
	pthread_mutex_lock(&sh->mu);
	sh->compiling--;
	pthread_cond_broadcast(&sh->changed);
	pthread_mutex_unlock(&sh->mu);
}

void sb_engine_release(struct sb_engine *e, const char *digest)
{
	struct sb_engine_shared *sh = e->shared;

	if (!digest || !digest[0])
		return;
	pthread_mutex_lock(&sh->mu);
	for (struct memo **pm = &sh->memo; *pm; pm = &(*pm)->next) {
		struct memo *m = *pm;
		if (m->loading || strcmp(m->digest, digest) != 0)
			continue;
		if (--m->users == 0) {
			*pm = m->next;
			if (m->module)
				wasmtime_module_delete(m->module);
			if (m->component)
				wasmtime_component_delete(m->component);
			free(m);
		}
		break;
	}
	pthread_mutex_unlock(&sh->mu);
}

uint64_t sb_engine_code_share(struct sb_engine *e, const char *digest, uint64_t own)
{
	struct sb_engine_shared *sh = e->shared;
	uint64_t n = own;

	if (!digest || !digest[0])
		return own;
	pthread_mutex_lock(&sh->mu);
	for (struct memo *m = sh->memo; m; m = m->next)
		if (strcmp(m->digest, digest) == 0 && m->users) {
			n = m->code_bytes / m->users;
			break;
		}
	pthread_mutex_unlock(&sh->mu);
	return n;
}

/* The size of c's compiled code: a module's image in memory, else the
 * artifact at path (what was mapped), else 0. */
static uint64_t code_size(const struct sb_compiled *c, const char *path)
{
	struct stat st;

	if (c->module) {
		void *start = NULL, *end = NULL;
		wasmtime_module_image_range(c->module, &start, &end);
		if (start && end > start)
			return (uint64_t)((uintptr_t)end - (uintptr_t)start);
	}
	if (path && path[0] && stat(path, &st) == 0 && st.st_size > 0)
		return (uint64_t)st.st_size;
	return 0;
}

int sb_wasm_kind_of(const uint8_t *bytes, size_t len, const char *what, enum sb_wasm_kind *kind,
		    struct sk_error *err)
{
	static const uint8_t magic[4] = { 0x00, 0x61, 0x73, 0x6d };

	if (len < 8 || memcmp(bytes, magic, 4) != 0)
		return sk_err(err, -EINVAL, "%s: not a WebAssembly binary (no \\0asm header; a .wat text or a "
				     "truncated download?)", what);
	/* Bytes 4-7: version 1 for core modules; 0x0d layer 1 for components. */
	if (bytes[4] == 0x01 && bytes[5] == 0 && bytes[6] == 0 && bytes[7] == 0)
		*kind = SB_WASM_MODULE;
	else if (bytes[6] == 0x01 && bytes[7] == 0x00)
		*kind = SB_WASM_COMPONENT;
	else
		return sk_err(err, -EINVAL, "%s: unsupported WebAssembly version %02x %02x %02x %02x", what, bytes[4],
			      bytes[5], bytes[6], bytes[7]);
	return 0;
}

static wasmtime_error_t *deserialize(struct sb_engine *e, const char *path, struct sb_compiled *c)
{
	if (c->kind == SB_WASM_MODULE)
		return wasmtime_module_deserialize_file(e->engine, path, &c->module);
	return wasmtime_component_deserialize_file(e->engine, path, &c->component);
}

/* Write the compiled artifact next to its final name and rename it into
 * place, so a reader never maps a half-written file. Failure to write the
 * cache is not an error for the caller: it costs a compile next time. */
static void store_artifact(struct sb_engine *e, const char *path, const struct sb_compiled *c)
{
	wasm_byte_vec_t blob = { 0, NULL };
	wasmtime_error_t *we;
	char tmp[4096];
	int fd;

	we = c->kind == SB_WASM_MODULE ? wasmtime_module_serialize(c->module, &blob)
				       : wasmtime_component_serialize(c->component, &blob);
	if (we) {
		wasmtime_error_delete(we);
		return;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid()) >= (int)sizeof(tmp))
		goto out;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	for (size_t off = 0; off < blob.size;) {
		ssize_t w = write(fd, blob.data + off, blob.size - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			unlink(tmp);
			goto out;
		}
		off += (size_t)w;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0)
		unlink(tmp);
out:
	wasm_byte_vec_delete(&blob);
}

unsigned long sb_engine_compiles(struct sb_engine *e)
{
	unsigned long n;

	pthread_mutex_lock(&e->shared->mu);
	n = e->shared->compiles;
	pthread_mutex_unlock(&e->shared->mu);
	return n;
}

int sb_engine_compile(struct sb_engine *e, const uint8_t *bytes, size_t len, const char *what,
		      struct sb_compiled *out, struct sk_error *err)
{
	struct sb_compiled c = { 0 };
	struct memo *mine = NULL;
	char hex[65], path[4096];
	wasmtime_error_t *we;
	double t0 = now_ms();
	int r;

	if (len > SB_WASM_MAX)
		return sk_err(err, -EFBIG, "%s: %zu bytes is over the %zu MiB limit for a wasm binary", what, len,
			      SB_WASM_MAX >> 20);
	r = sb_wasm_kind_of(bytes, len, what, &c.kind, err);
	if (r < 0)
		return r;
	path[0] = '\0';
	if (sk_sha256_hex(bytes, len, hex) < 0)
		hex[0] = '\0';
	if (hex[0]) {
		if (memo_claim(e, hex, &c, &mine) == 1) {
			memcpy(c.digest, hex, sizeof(c.digest));
			c.compile_ms = now_ms() - t0;
			*out = c;
			return 0;
		}
		if (mine)
			memcpy(c.digest, hex, sizeof(c.digest));
	}
	if (e->cache_dir && hex[0] &&
	    snprintf(path, sizeof(path), "%s/%s.%s", e->cache_dir, hex, c.kind == SB_WASM_MODULE ? "cwasm" : "ccomp") >=
		    (int)sizeof(path))
		path[0] = '\0';
	if (path[0] && access(path, R_OK) == 0) {
		we = deserialize(e, path, &c);
		if (!we) {
			c.from_cache = true;
			goto loaded;
		}
		/* Stale or damaged: compile again and replace it. */
		wasmtime_error_delete(we);
		c.module = NULL;
		c.component = NULL;
		unlink(path);
	}
	compile_slot_take(e->shared);
	if (c.kind == SB_WASM_MODULE)
		we = wasmtime_module_new(e->engine, bytes, len, &c.module);
	else
		we = wasmtime_component_new(e->engine, bytes, len, &c.component);
	compile_slot_give(e->shared);
	if (we) {
		char w[600];
		if (mine)
			memo_drop(e, mine);
		snprintf(w, sizeof(w), "%s: invalid WebAssembly", what);
		return take_error(err, -EINVAL, we, w);
	}
	if (path[0])
		store_artifact(e, path, &c);
loaded:
	c.code_bytes = code_size(&c, path);
	if (mine)
		memo_put(e, mine, &c);
	c.compile_ms = now_ms() - t0;
	*out = c;
	return 0;
}

const char *sb_describe_failure(uint64_t timeout_ms, wasmtime_error_t *error, wasm_trap_t *trap, char *buf,
				size_t size)
{
	wasmtime_trap_code_t code;
	wasm_message_t msg = { 0, NULL };
	bool interrupted = false;
	size_t n;

	if (trap) {
		interrupted = wasmtime_trap_code(trap, &code) && code == WASMTIME_TRAP_CODE_INTERRUPT;
		wasm_trap_message(trap, &msg);
		wasm_trap_delete(trap);
	} else if (error) {
		wasmtime_error_message(error, &msg);
	}
	if (error)
		wasmtime_error_delete(error);
	char line[1024];
	n = msg.size;
	/* A trap's message is NUL-terminated; an error's is not. */
	while (n > 0 && msg.data[n - 1] == '\0')
		n--;
	snprintf(line, sizeof(line), "%.*s", (int)(n > 1000 ? 1000 : n), msg.data ? msg.data : "");
	wasm_byte_vec_delete(&msg);
	one_line(line, sizeof(line));
	snprintf(buf, size, "%s", line);
	/* Component calls report traps as errors whose text names the code. */
	if (interrupted || strstr(buf, "wasm trap: interrupt"))
		snprintf(buf, size, "timed out after %llu ms of CPU time (raise --timeout)",
			 (unsigned long long)timeout_ms);
	return buf;
}
