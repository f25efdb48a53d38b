/* The WAGI handler: a core module run as a WASI preview 1 command per
 * request, CGI variables in its environment, the request body on stdin and
 * its stdout (the CGI response) captured under the component's cap. */
#include "shim-bridge/runtime/handler-int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The memory a trapped WAGI program had, to tell "ran out of its memory
 * cap" from other traps. */
static uint64_t memory_bytes(wasmtime_context_t *ctx, const wasmtime_instance_t *inst)
{
	wasmtime_extern_t item;

	if (!wasmtime_instance_export_get(ctx, inst, "memory", strlen("memory"), &item) ||
	    item.kind != WASMTIME_EXTERN_MEMORY)
		return 0;
	return (uint64_t)wasmtime_memory_data_size(ctx, &item.of.memory);
}

/* Call the entry point of an instance; 0 when it returned or exited 0. */
static int run_entry(struct sb_component *c, wasmtime_context_t *ctx, const wasmtime_instance_t *inst,
		     const struct sb_stdio *io, struct sk_error *err)
{
	wasmtime_extern_t start;
	wasmtime_error_t *we;
	wasm_trap_t *trap = NULL;
	int status;

	if (!wasmtime_instance_export_get(ctx, inst, c->entrypoint, strlen(c->entrypoint), &start) ||
	    start.kind != WASMTIME_EXTERN_FUNC)
		return sk_err(err, -EIO, "the program exports no function \"%s\"", c->entrypoint);
	we = wasmtime_func_call(ctx, &start.of.func, NULL, 0, NULL, 0, &trap);
	/* Past the output cap the guest saw write errors; whatever it did
	 * next, the cap is the reason. */
	if (io->over) {
		if (we)
			wasmtime_error_delete(we);
		if (trap)
			wasm_trap_delete(trap);
		return sk_err(err, -EFBIG, "output is over the %zu-byte limit (raise --max-response-body)",
			      io->capture->max);
	}
	if (we && wasmtime_error_exit_status(we, &status)) {
		wasmtime_error_delete(we);
		we = NULL;
		if (status != 0)
			return sk_err(err, -EIO, "the program exited with status %d", status);
	}
	if (we || trap) {
		uint64_t mem = memory_bytes(ctx, inst);
		char suffix[128] = "";
		/* Within a page or two of the cap: the guest hit its memory limit. */
		if (mem + (128u << 10) >= c->max_memory)
			snprintf(suffix, sizeof(suffix),
				 " (memory limit of %llu MiB reached: raise SPIN_MAX_INSTANCE_MEMORY)",
				 (unsigned long long)(c->max_memory >> 20));
		return sb_wasm_fail(c, we, trap, suffix, err);
	}
	return 0;
}

int sb_wagi_run(struct sb_component *c, const char *const *argv, size_t argc, const struct sk_kv *env, size_t n_env,
		const uint8_t *body, size_t body_len, struct sk_buf *out, struct sk_error *err)
{
	struct sb_stdio io;
	wasmtime_store_t *store;
	wasmtime_context_t *ctx;
	wasmtime_instance_t inst;
	wasmtime_error_t *we;
	wasm_trap_t *trap = NULL;
	int r;

	out->max = c->max_output;
	sb_stdio_init(&io, c, out);
	r = sb_store_new(c, argv, argc, env, n_env, body, body_len, &io, &store, err);
	if (r < 0)
		return r;
	ctx = wasmtime_store_context(store);
	we = wasmtime_instance_pre_instantiate(c->pre, ctx, &inst, &trap);
	if (we || trap)
		r = sb_wasm_fail(c, we, trap, NULL, err);
	else
		r = run_entry(c, ctx, &inst, &io, err);
	sb_stdio_flush(&io);
	wasmtime_store_delete(store);
	return r;
}
