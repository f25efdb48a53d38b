/* shim-bridge/runtime against the real wasmtime: WAGI programs written in
 * WAT (the engine's own text parser turns them into binaries), the
 * compiled-code cache, the per-request CPU timeout, the memory cap, the
 * output cap, and the errors for binaries that are not wasm. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim-bridge/runtime/engine.h"
#include "shim-bridge/runtime/staging.h"
#include "shim-bridge/runtime/handler.h"
#include "tests/tap.h"

/* Writes its argv[1]-independent output: a CGI header and "hi". */
static const char hello_wat[] =
	"(module\n"
	"  (import \"wasi_snapshot_preview1\" \"fd_write\" (func $w (param i32 i32 i32 i32) (result i32)))\n"
	"  (memory (export \"memory\") 1)\n"
	"  (data (i32.const 64) \"Content-Type: text/plain\\n\\nhi\\n\")\n"
	"  (func (export \"_start\")\n"
	"    (i32.store (i32.const 0) (i32.const 64))\n"
	"    (i32.store (i32.const 4) (i32.const 29))\n"
	"    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))))\n";

static const char loop_wat[] = "(module (memory (export \"memory\") 1)\n"
			       "  (func (export \"_start\") (loop $l (br $l))))\n";

/* Grows its memory a page at a time until growing fails, then traps. */
static const char hog_wat[] = "(module (memory (export \"memory\") 1)\n"
			      "  (func (export \"_start\")\n"
			      "    (loop $l (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))\n"
			      "    unreachable))\n";

/* Writes 64 KiB from memory 16 times: 1 MiB of output. */
static const char big_wat[] =
	"(module\n"
	"  (import \"wasi_snapshot_preview1\" \"fd_write\" (func $w (param i32 i32 i32 i32) (result i32)))\n"
	"  (memory (export \"memory\") 2)\n"
	"  (func (export \"_start\") (local $i i32)\n"
	"    (i32.store (i32.const 0) (i32.const 65536))\n"
	"    (i32.store (i32.const 4) (i32.const 65536))\n"
	"    (loop $l\n"
	"      (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))\n"
	"      (local.set $i (i32.add (local.get $i) (i32.const 1)))\n"
	"      (br_if $l (i32.lt_u (local.get $i) (i32.const 16))))))\n";

/* Exits through proc_exit with status 3. */
static const char exit_wat[] =
	"(module\n"
	"  (import \"wasi_snapshot_preview1\" \"proc_exit\" (func $e (param i32)))\n"
	"  (memory (export \"memory\") 1)\n"
	"  (func (export \"_start\") (call $e (i32.const 3))))\n";

static int wat(const char *text, wasm_byte_vec_t *out)
{
	wasmtime_error_t *e = wasmtime_wat2wasm(text, strlen(text), out);
	if (e) {
		wasmtime_error_delete(e);
		return -1;
	}
	return 0;
}

static struct sb_component *prepare_with(struct sb_engine *e, const char *text, const char *id,
					 struct sb_component_opts o, struct sk_error *err)
{
	wasm_byte_vec_t bin;
	struct sb_component *c = NULL;

	o.id = id;
	o.source = "test.wat";
	o.max_output = 256 * 1024;
	o.log = sk_log_sink_stderr();

	if (wat(text, &bin) < 0)
		return NULL;
	if (sb_component_prepare(e, (const uint8_t *)bin.data, bin.size, &o, &c, err) < 0)
		c = NULL;
	wasm_byte_vec_delete(&bin);
	return c;
}

static struct sb_component *prepare(struct sb_engine *e, const char *text, const char *id, struct sk_error *err)
{
	return prepare_with(e, text, id, (struct sb_component_opts){ 0 }, err);
}

struct canceller {
	atomic_bool *flag;
	unsigned after_ms;
};

static void *cancel_later(void *arg)
{
	struct canceller *k = arg;

	usleep(k->after_ms * 1000);
	atomic_store(k->flag, true);
	return NULL;
}

static int count_files(const char *dir)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "exit $(find '%s' -name '*.cwasm' | wc -l)", dir);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Loads of one module from several threads at once. */
struct loader {
	struct sb_engine *e;
	pthread_barrier_t *go;
	struct sb_component *c;
};

static void *load_at_once(void *arg)
{
	struct loader *l = arg;
	struct sk_error err = { 0 };

	pthread_barrier_wait(l->go);
	l->c = prepare(l->e, hello_wat, "herd", &err);
	return NULL;
}

int main(void)
{
	char dir[] = "/tmp/test-runtime.XXXXXX";
	struct sk_error err = { 0 };
	struct sb_engine *e = NULL;
	struct sb_component *c;
	struct sk_error why = { 0 };
	enum sb_wasm_kind kind;

	ok(mkdtemp(dir) != NULL, "temp folder");
	struct sb_engine_opts eo = { .max_instance_memory = 4u << 20, .max_instances = 4, .timeout_ms = 200,
				     .cache_dir = dir };
	ok(sb_engine_new(&eo, &e, &err) == 0, "engine with pooling allocator: %s", err.message);

	/* Not wasm at all. */
	ok(sb_wasm_kind_of((const uint8_t *)"hello world!", 12, "x.wasm", &kind, &err) == -EINVAL,
		   "text is not wasm");
	ok(strstr(err.message, "x.wasm: not a WebAssembly binary") != NULL, "... message names it: %s",
		   err.message);
	static const uint8_t comp_hdr[8] = { 0, 'a', 's', 'm', 0x0d, 0, 1, 0 };
	ok(sb_wasm_kind_of(comp_hdr, 8, "c", &kind, &err) == 0 && kind == SB_WASM_COMPONENT,
		   "component preamble");
	static const uint8_t broken[12] = { 0, 'a', 's', 'm', 1, 0, 0, 0, 0x55, 0x55, 0x55, 0x55 };
	struct sb_compiled comp;
	ok(sb_engine_compile(e, broken, sizeof(broken), "component \"b\" (b.wasm)", &comp, &err) == -EINVAL,
		   "a corrupt module is refused");
	ok(strstr(err.message, "component \"b\" (b.wasm): invalid WebAssembly:") != NULL,
		   "... with one line naming it: %s", err.message);
	ok(strchr(err.message, '\n') == NULL, "... on one line");

	/* Run, cache, map from the cache. */
	c = prepare(e, hello_wat, "hello", &err);
	ok(c != NULL, "WAGI module prepared: %s", err.message);
	if (c) {
		struct sk_buf out = sk_buf_make(0);
		ok(c->kind == SB_HANDLER_WAGI && !c->from_cache, "kind wagi, compiled now");
		ok(sb_wagi_run(c, NULL, 0, NULL, 0, NULL, 0, &out, &why) == 0, "runs: %s", why.message);
		ok(out.len == 29 && memcmp(out.data, "Content-Type: text/plain\n\nhi\n", 29) == 0,
			   "stdout captured (%zu bytes)", out.len);
		sk_buf_free(&out);
		/* A second run is a fresh instance with fresh output. */
		ok(sb_wagi_run(c, NULL, 0, NULL, 0, NULL, 0, &out, &why) == 0 && out.len == 29,
			   "second request: fresh instance, same output");
		sk_buf_free(&out);
		sb_component_free(c);
	}
	ok(count_files(dir) == 1, "one compiled artifact in the cache");
	c = prepare(e, hello_wat, "hello", &err);
	ok(c && c->from_cache, "the same module is mapped from the cache");
	sb_component_free(c);

	/* A damaged artifact is recompiled, not trusted. */
	char cmd[1400];
	snprintf(cmd, sizeof(cmd), "for f in $(find '%s' -name '*.cwasm'); do printf garbage > $f; done", dir);
	ok(system(cmd) == 0, "damage the cached artifact");
	c = prepare(e, hello_wat, "hello", &err);
	ok(c && !c->from_cache, "a damaged artifact is compiled again: %s", err.message);
	if (c) {
		struct sk_buf out = sk_buf_make(0);
		ok(sb_wagi_run(c, NULL, 0, NULL, 0, NULL, 0, &out, &why) == 0 && out.len == 29,
			   "... and runs");
		sk_buf_free(&out);
	}
	sb_component_free(c);
	c = prepare(e, hello_wat, "hello", &err);
	ok(c && c->from_cache, "... and the cache is whole again");
	sb_component_free(c);

	/* Timeout through epoch interruption. */
	c = prepare(e, loop_wat, "loop", &err);
	ok(c != NULL, "looping module prepared: %s", err.message);
	if (c) {
		struct sk_buf out = sk_buf_make(0);
		ok(sb_wagi_run(c, NULL, 0, NULL, 0, NULL, 0, &out, &why) == -ETIMEDOUT,
			   "an endless loop is stopped");
		ok(strstr(why.message, "timed out after 200 ms") != NULL, "... as a timeout: %s", why.message);
		sk_buf_free(&out);
		sb_component_free(c);
	}

	/* Memory cap. */
	c = prepare(e, hog_wat, "hog", &err);
	ok(c != NULL, "hog module prepared: %s", err.message);
	if (c) {
		struct sk_buf out = sk_buf_make(0);
		ok(sb_wagi_run(c, NULL, 0, NULL, 0, NULL, 0, &out, &why) == -EIO,
			   "growing past the cap fails");
		ok(strstr(why.message, "memory limit of 4 MiB reached") != NULL, "... named as the memory limit: %s",
			   why.message);
		sk_buf_free(&out);
		sb_component_free(c);
	}

	/* Output cap (256 KiB here) against 1 MiB of output. */
	c = prepare(e, big_wat, "big", &err);
	ok(c != NULL, "big-output module prepared: %s", err.message);
	if (c) {
		struct sk_buf out = sk_buf_make(0);
		ok(sb_wagi_run(c, NULL, 0, NULL, 0, NULL, 0, &out, &why) == -EFBIG,
			   "output over the cap fails");
		ok(strstr(why.message, "262144-byte limit") != NULL, "... naming the limit: %s", why.message);
		ok(out.len <= 262144, "... and never holds more than the cap (%zu)", out.len);
		sk_buf_free(&out);
		sb_component_free(c);
	}

	/* A non-zero exit status is a failure with the status in the reason. */
	c = prepare(e, exit_wat, "exit", &err);
	ok(c != NULL, "exit module prepared: %s", err.message);
	if (c) {
		struct sk_buf out = sk_buf_make(0);
		ok(sb_wagi_run(c, NULL, 0, NULL, 0, NULL, 0, &out, &why) == -EIO &&
				   strstr(why.message, "exited with status 3"),
			   "exit status 3 reported: %s", why.message);
		sk_buf_free(&out);
		sb_component_free(c);
	}

	/* Apps on one engine: the same bytes share their code while in use;
	 * each component has caps of its own. */
	struct sb_component *c1 = prepare(e, hello_wat, "one", &err), *c2 = prepare(e, hello_wat, "two", &err);
	ok(c1 && c2 && strcmp(c1->digest, c2->digest) == 0 && c2->from_cache, "a second load of the same bytes takes the first's code");
	ok(c1 && c2 && c1->linker == c2->linker, "and both WAGI programs use the engine's one linker");
	sb_component_free(c1);
	struct sk_buf o2 = sk_buf_make(0);
	why.message[0] = '\0';
	ok(c2 && sb_wagi_run(c2, NULL, 0, NULL, 0, NULL, 0, &o2, &why) == 0 && o2.len == 29,
	   "the second still runs after the first is freed: %s", why.message);
	sk_buf_free(&o2);
	sb_component_free(c2);
	snprintf(cmd, sizeof(cmd), "find '%s' -name '*.cwasm' -delete", dir);
	ok(system(cmd) == 0, "empty the compiled-code cache");
	c = prepare(e, hello_wat, "three", &err);
	ok(c && !c->from_cache, "once the last user is gone the code is freed: the next load compiles again");
	sb_component_free(c);

	/* Eight loads of the same bytes at once (the code not in memory and the
	 * cache emptied): one compile, the others wait and share it. */
	ok(system(cmd) == 0, "empty the compiled-code cache again");
	{
		enum { HERD = 8 };
		struct loader ls[HERD];
		pthread_t ts[HERD];
		pthread_barrier_t go;
		unsigned long before = sb_engine_compiles(e);
		int loaded = 0, compiled_here = 0;

		pthread_barrier_init(&go, NULL, HERD);
		for (int i = 0; i < HERD; i++) {
			ls[i] = (struct loader){ e, &go, NULL };
			pthread_create(&ts[i], NULL, load_at_once, &ls[i]);
		}
		for (int i = 0; i < HERD; i++) {
			pthread_join(ts[i], NULL);
			loaded += ls[i].c != NULL;
			compiled_here += ls[i].c && !ls[i].c->from_cache;
		}
		pthread_barrier_destroy(&go);
		ok(loaded == HERD, "eight loads at once all loaded (%d)", loaded);
		ok(sb_engine_compiles(e) - before == 1 && compiled_here == 1,
		   "... with one compile between them (%lu compiles, %d not shared)", sb_engine_compiles(e) - before,
		   compiled_here);
		for (int i = 0; i < HERD; i++)
			sb_component_free(ls[i].c);
	}

	c = prepare_with(e, hog_wat, "hog-2", (struct sb_component_opts){ .max_memory = 2u << 20 }, &err);
	ok(c != NULL, "a component with a memory cap under the engine's: %s", err.message);
	if (c) {
		struct sk_buf out = sk_buf_make(0);
		ok(sb_wagi_run(c, NULL, 0, NULL, 0, NULL, 0, &out, &why) == -EIO &&
			   strstr(why.message, "memory limit of 2 MiB reached"), "its own cap holds: %s", why.message);
		sk_buf_free(&out);
		sb_component_free(c);
	}
	c = prepare_with(e, loop_wat, "loop-50", (struct sb_component_opts){ .timeout_ms = 50 }, &err);
	if (c) {
		struct sk_buf out = sk_buf_make(0);
		ok(sb_wagi_run(c, NULL, 0, NULL, 0, NULL, 0, &out, &why) == -ETIMEDOUT &&
			   strstr(why.message, "timed out after 50 ms"), "a time limit of its own: %s", why.message);
		sk_buf_free(&out);
		sb_component_free(c);
	}
	atomic_bool stop = false;
	c = prepare_with(e, loop_wat, "loop-cancel", (struct sb_component_opts){ .timeout_ms = 10000, .cancel = &stop },
			 &err);
	if (c) {
		struct sk_buf out = sk_buf_make(0);
		struct canceller k = { &stop, 150 };
		pthread_t t;
		pthread_create(&t, NULL, cancel_later, &k);
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		int rr = sb_wagi_run(c, NULL, 0, NULL, 0, NULL, 0, &out, &why);
		clock_gettime(CLOCK_MONOTONIC, &b);
		pthread_join(t, NULL);
		long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
		ok(rr < 0 && strstr(why.message, "the app was stopped"), "its cancel flag stops a running guest: %s",
		   why.message);
		ok(ms < 2000, "long before its 10 s time limit (%ld ms)", ms);
		sk_buf_free(&out);
		sb_component_free(c);
	}

	/* Staging of mapped files: a tree and a single file under "/". */
	char src[300], f1[400], work[400];
	snprintf(src, sizeof(src), "%s/src/sub", dir);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && echo a > '%s/a.txt' && echo b > '%s/../b.txt'", src, src, src);
	ok(system(cmd) == 0, "files to map");
	snprintf(work, sizeof(work), "%s/work", dir);
	ok(mkdir(work, 0700) == 0, "work folder");
	snprintf(f1, sizeof(f1), "%s/src/b.txt", dir);
	struct sb_file_map maps[] = { { src, "/data" }, { f1, "/etc/b.txt" } };
	char *root = NULL;
	ok(sb_stage_files(work, "comp", maps, 2, &root, &err) == 0, "staged: %s", err.message);
	if (root) {
		char p[800];
		snprintf(p, sizeof(p), "%s/data/a.txt", root);
		ok(access(p, R_OK) == 0, "folder mapped under its destination");
		snprintf(p, sizeof(p), "%s/etc/b.txt", root);
		ok(access(p, R_OK) == 0, "file mapped at its destination");
		ok(sb_remove_tree(root) == 0 && access(root, F_OK) < 0, "staging removed");
		free(root);
	}
	struct sb_file_map bad[] = { { src, "/x/../../etc" } };
	ok(sb_stage_files(work, "comp", bad, 1, &root, &err) == -EINVAL &&
			   strstr(err.message, "must be an absolute path without . or .. parts"),
		   "a destination climbing out of / is refused: %s", err.message);
	struct sb_file_map one[] = { { src, "/" } };
	ok(sb_stage_files(work, "comp", one, 1, &root, &err) == 0 && root && strstr(root, "/src/sub"),
		   "one folder at / is used in place");
	free(root);

	sb_engine_free(e);
	sb_remove_tree(dir);
	return tap_done();
}
