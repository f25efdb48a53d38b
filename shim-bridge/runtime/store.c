/* The store of a WAGI or inbound-http request: wasmtime's own WASI with the
 * component's environment, files and limits, its stdout captured or logged
 * and its stderr logged line by line; and the one way wasmtime failures
 * become errors for every handler kind. */
#include "shim-bridge/runtime/handler-int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"

static ptrdiff_t log_write(void *data, const unsigned char *buf, size_t n)
{
	wh_guest_log_write(data, buf, n);
	return (ptrdiff_t)n;
}

static ptrdiff_t capture_write(void *data, const unsigned char *buf, size_t n)
{
	struct sb_stdio *io = data;

	/* The guest sees EFBIG once its output passes the cap. */
	if (io->over || sk_buf_append(io->capture, buf, n) < 0) {
		io->over = true;
		return -EFBIG;
	}
	return (ptrdiff_t)n;
}

void sb_stdio_init(struct sb_stdio *io, const struct sb_component *c, struct sk_buf *capture)
{
	io->capture = capture;
	io->over = false;
	wh_guest_log_init(&io->out_log, c->wenv.log, c->id, "stdout");
	wh_guest_log_init(&io->err_log, c->wenv.log, c->id, "stderr");
}

void sb_stdio_flush(struct sb_stdio *io)
{
	wh_guest_log_flush(&io->out_log);
	wh_guest_log_flush(&io->err_log);
}

int sb_wasm_fail(const struct sb_component *c, wasmtime_error_t *we, wasm_trap_t *trap, const char *suffix,
		 struct sk_error *err)
{
	char line[SK_ERR_MESSAGE_MAX];

	sb_describe_failure(c->timeout_ms, we, trap, line, sizeof(line));
	return sk_err(err, strncmp(line, "timed out", 9) == 0 ? -ETIMEDOUT : -EIO, "%s%s", line,
		      suffix ? suffix : "");
}

/* The component's environment, then extra: parallel arrays for wasmtime. */
static int set_env(wasi_config_t *wasi, const struct sb_component *c, const struct sk_kv *extra, size_t n_extra)
{
	size_t n = c->n_env + n_extra;
	_cleanup_free_ const char **names = calloc(n + 1, sizeof(char *));
	_cleanup_free_ const char **values = calloc(n + 1, sizeof(char *));

	if (!names || !values)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_env; i++) {
		names[i] = c->env[i].key;
		values[i] = c->env[i].value;
	}
	for (size_t i = 0; i < n_extra; i++) {
		names[c->n_env + i] = extra[i].key;
		values[c->n_env + i] = extra[i].value;
	}
	return wasi_config_set_env(wasi, n, names, values) ? 0 : -EINVAL;
}

/* wasmtime's WASI for one request in *out (the caller's until a store takes it). */
static int new_wasi(struct sb_component *c, const char *const *argv, size_t argc, const struct sk_kv *extra,
		    size_t n_extra, const uint8_t *stdin_bytes, size_t stdin_len, struct sb_stdio *io,
		    wasi_config_t **out, struct sk_error *err)
{
	wasi_config_t *wasi = wasi_config_new();
	int r;

	if (!wasi)
		return sk_err(err, -ENOMEM, "out of memory");
	r = set_env(wasi, c, extra, n_extra);
	if (r == 0 && argc && !wasi_config_set_argv(wasi, argc, (const char **)(uintptr_t)argv))
		r = -EINVAL;
	if (r < 0) {
		wasi_config_delete(wasi);
		if (r == -ENOMEM)
			return sk_err(err, r, "out of memory");
		return sk_err(err, r, "environment or arguments are not valid UTF-8");
	}
	if (stdin_len) {
		wasm_byte_vec_t in;
		wasm_byte_vec_new(&in, stdin_len, (const wasm_byte_t *)stdin_bytes);
		wasi_config_set_stdin_bytes(wasi, &in);
	}
	if (io->capture)
		wasi_config_set_stdout_custom(wasi, capture_write, io, NULL);
	else
		wasi_config_set_stdout_custom(wasi, log_write, &io->out_log, NULL);
	wasi_config_set_stderr_custom(wasi, log_write, &io->err_log, NULL);
	if (c->files_dir && !wasi_config_preopen_dir(wasi, c->files_dir, "/", false)) {
		wasi_config_delete(wasi);
		return sk_err(err, -EIO, "cannot map files folder %s", c->files_dir);
	}
	*out = wasi;
	return 0;
}

#define CANCEL_CHECK_TICKS (100 / SB_EPOCH_TICK_MS)

struct deadline {
	const atomic_bool *cancel;
	uint64_t left; /* ticks of the request's time limit still to run */
};

static wasmtime_error_t *deadline_cb(wasmtime_context_t *cx, void *data, uint64_t *delta,
				     wasmtime_update_deadline_kind_t *kind)
{
	struct deadline *d = data;

	(void)cx;
	if (atomic_load(d->cancel))
		return wasmtime_error_new("the app was stopped");
	if (d->left == 0)
		return wasmtime_error_new("wasm trap: interrupt"); /* the time limit, worded as the plain deadline */
	*delta = d->left < CANCEL_CHECK_TICKS ? d->left : CANCEL_CHECK_TICKS;
	d->left -= *delta;
	*kind = WASMTIME_UPDATE_DEADLINE_CONTINUE;
	return NULL;
}

void sb_store_deadline(const struct sb_component *c, wasmtime_store_t *store)
{
	wasmtime_context_t *ctx = wasmtime_store_context(store);
	struct deadline *d = c->cancel ? malloc(sizeof(*d)) : NULL;

	if (!d) {
		wasmtime_context_set_epoch_deadline(ctx, c->epoch_ticks);
		return;
	}
	uint64_t first = c->epoch_ticks < CANCEL_CHECK_TICKS ? c->epoch_ticks : CANCEL_CHECK_TICKS;
	*d = (struct deadline){ .cancel = c->cancel, .left = c->epoch_ticks - first };
	wasmtime_context_set_epoch_deadline(ctx, first);
	wasmtime_store_epoch_deadline_callback(store, deadline_cb, d, free);
}

int sb_store_new(struct sb_component *c, const char *const *argv, size_t argc, const struct sk_kv *extra,
		 size_t n_extra, const uint8_t *stdin_bytes, size_t stdin_len, struct sb_stdio *io,
		 wasmtime_store_t **out, struct sk_error *err)
{
	wasmtime_store_t *store = wasmtime_store_new(c->engine->engine, NULL, NULL);
	wasmtime_context_t *ctx;
	wasi_config_t *wasi = NULL;
	wasmtime_error_t *we;
	int r;

	if (!store)
		return sk_err(err, -ENOMEM, "cannot create a store");
	ctx = wasmtime_store_context(store);
	wasmtime_store_limiter(store, (int64_t)c->max_memory, -1, -1, -1, -1);
	sb_store_deadline(c, store);
	r = new_wasi(c, argv, argc, extra, n_extra, stdin_bytes, stdin_len, io, &wasi, err);
	if (r < 0) {
		wasmtime_store_delete(store);
		return r;
	}
	we = wasmtime_context_set_wasi(ctx, wasi);
	if (we) {
		wasmtime_store_delete(store);
		return sb_wasm_fail(c, we, NULL, NULL, err);
	}
	*out = store;
	return 0;
}
