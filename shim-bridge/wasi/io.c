/* wasi:io 0.2: error, poll and streams over the backends in struct
 * wh_stream_ops. Every blocking variant is the non-blocking operation after
 * a wait on the stream's own readiness, so a backend only implements the
 * non-blocking half. Waits are bounded by the request deadline. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "shim-bridge/wasi/host.h"

struct io_error {
	char *msg;
};

struct stream {
	const struct wh_stream_ops *ops;
	void *s;
	bool input;
	bool failed; /* after an error every operation reports closed */
};

static void io_error_drop(struct wh_ctx *ctx, void *obj)
{
	struct io_error *e = obj;
	(void)ctx;
	free(e->msg);
	free(e);
}

uint32_t wh_io_error_new(struct wh_ctx *ctx, const char *msg)
{
	struct io_error *e = calloc(1, sizeof(*e));
	if (!e)
		return 0;
	e->msg = strdup(msg ? msg : "error");
	if (!e->msg) {
		free(e);
		return 0;
	}
	return wh_add(ctx, WH_IO_ERROR, e, io_error_drop);
}

static void stream_drop(struct wh_ctx *ctx, void *obj)
{
	struct stream *st = obj;
	if (st->ops->close)
		st->ops->close(ctx, st->s);
	free(st);
}

static uint32_t stream_new(struct wh_ctx *ctx, uint32_t type, const struct wh_stream_ops *ops, void *s)
{
	struct stream *st = calloc(1, sizeof(*st));
	if (!st) {
		if (ops->close)
			ops->close(ctx, s);
		return 0;
	}
	st->ops = ops;
	st->s = s;
	st->input = type == WH_INPUT_STREAM;
	return wh_add(ctx, type, st, stream_drop);
}

uint32_t wh_input_stream_new(struct wh_ctx *ctx, const struct wh_stream_ops *ops, void *s)
{
	return stream_new(ctx, WH_INPUT_STREAM, ops, s);
}

uint32_t wh_output_stream_new(struct wh_ctx *ctx, const struct wh_stream_ops *ops, void *s)
{
	return stream_new(ctx, WH_OUTPUT_STREAM, ops, s);
}

/* --- pollables ---------------------------------------------------------------- */

struct pollable {
	const struct wh_poll_ops *ops; /* NULL: always ready */
	void *src;
	bool owns_src; /* src is freed with the pollable */
};

static void pollable_drop(struct wh_ctx *ctx, void *obj)
{
	struct pollable *p = obj;
	(void)ctx;
	if (p->owns_src)
		free(p->src);
	free(p);
}

static uint32_t pollable_add(struct wh_ctx *ctx, const struct wh_poll_ops *ops, void *src, bool owns)
{
	struct pollable *p = calloc(1, sizeof(*p));
	if (!p) {
		if (owns)
			free(src);
		return 0;
	}
	p->ops = ops;
	p->src = src;
	p->owns_src = owns;
	return wh_add(ctx, WH_POLLABLE, p, pollable_drop);
}

uint32_t wh_pollable_new(struct wh_ctx *ctx, const struct wh_poll_ops *ops, void *src)
{
	return pollable_add(ctx, ops, src, false);
}

uint32_t wh_pollable_new_owned(struct wh_ctx *ctx, const struct wh_poll_ops *ops, void *src)
{
	return pollable_add(ctx, ops, src, true);
}

uint32_t wh_pollable_ready(struct wh_ctx *ctx)
{
	return pollable_add(ctx, NULL, NULL, false);
}

static bool pollable_ready(struct wh_ctx *ctx, struct pollable *p)
{
	return !p->ops || p->ops->ready(ctx, p->src);
}

/* Wait for any of the sources to become ready, or for the request deadline.
 * Sources without an fd or deadline are re-checked every 10 ms. */
static int wait_any(struct wh_ctx *ctx, struct pollable *const *ps, size_t n)
{
	struct pollfd fds[64];
	size_t nf = 0;
	int64_t deadline = ctx->deadline_ns, now;
	int timeout;

	for (size_t i = 0; i < n; i++) {
		short ev = 0;
		int64_t dl = -1;
		int fd = ps[i]->ops && ps[i]->ops->wait ? ps[i]->ops->wait(ctx, ps[i]->src, &ev, &dl) : -1;
		if (fd >= 0 && nf < sizeof(fds) / sizeof(fds[0]))
			fds[nf++] = (struct pollfd){ .fd = fd, .events = ev };
		else if (fd < 0 && dl < 0)
			dl = wh_now_ns() + 10000000; /* nothing to wait on: re-check soon */
		if (dl >= 0 && (deadline < 0 || dl < deadline))
			deadline = dl;
	}
	now = wh_now_ns();
	if (ctx->deadline_ns >= 0 && now >= ctx->deadline_ns) {
		ctx->timed_out = true;
		return -ETIMEDOUT;
	}
	if (deadline < 0)
		timeout = -1;
	else {
		int64_t ms = (deadline - now + 999999) / 1000000;
		timeout = ms < 0 ? 0 : ms > 60000 ? 60000 : (int)ms;
	}
	if (poll(fds, nf, timeout) < 0 && errno != EINTR)
		return -errno;
	return 0;
}

int wh_block_on(struct wh_ctx *ctx, const struct wh_poll_ops *ops, void *src)
{
	struct pollable p = { .ops = ops, .src = src };
	struct pollable *pp = &p;
	while (!pollable_ready(ctx, &p)) {
		int r = wait_any(ctx, &pp, 1);
		if (r < 0)
			return r;
	}
	return 0;
}

static wasmtime_error_t *timed_out(struct wh_ctx *ctx)
{
	ctx->timed_out = true;
	return wh_trap("request timed out while the guest was waiting");
}

static wasmtime_error_t *pollable_ready_fn(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
					   size_t na, wasmtime_component_val_t *res, size_t nr)
{
	uint32_t rep;
	struct pollable *p;
	if (na < 1 || nr < 1 || wh_arg_rep(cx, &a[0], WH_POLLABLE, &rep) < 0 || !(p = wh_get(ctx, rep, WH_POLLABLE)))
		return wh_trap("pollable.ready: not a pollable");
	wh_val_bool(&res[0], pollable_ready(ctx, p));
	return NULL;
}

static wasmtime_error_t *pollable_block_fn(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
					   size_t na, wasmtime_component_val_t *res, size_t nr)
{
	uint32_t rep;
	struct pollable *p;
	(void)res;
	(void)nr;
	if (na < 1 || wh_arg_rep(cx, &a[0], WH_POLLABLE, &rep) < 0 || !(p = wh_get(ctx, rep, WH_POLLABLE)))
		return wh_trap("pollable.block: not a pollable");
	if (wh_block_on(ctx, p->ops, p->src) < 0)
		return timed_out(ctx);
	return NULL;
}

/* poll(in: list<borrow<pollable>>) -> list<u32>: the indexes ready, waiting
 * until at least one is. */
static wasmtime_error_t *poll_fn(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a, size_t na,
				 wasmtime_component_val_t *res, size_t nr)
{
	struct pollable **ps = NULL;
	uint32_t *ready = NULL;
	size_t n, nready = 0;
	wasmtime_error_t *err = NULL;

	if (na < 1 || nr < 1 || a[0].kind != WASMTIME_COMPONENT_LIST)
		return wh_trap("poll: bad arguments");
	n = a[0].of.list.size;
	if (n == 0)
		return wh_trap("poll: empty list of pollables");
	if (n > 64)
		return wh_trap("poll: more than 64 pollables at once");
	ps = calloc(n, sizeof(*ps));
	ready = calloc(n, sizeof(*ready));
	if (!ps || !ready) {
		err = wh_trap("poll: out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t rep;
		if (wh_arg_rep(cx, &a[0].of.list.data[i], WH_POLLABLE, &rep) < 0 ||
		    !(ps[i] = wh_get(ctx, rep, WH_POLLABLE))) {
			err = wh_trap("poll: element %zu is not a pollable", i);
			goto out;
		}
	}
	for (;;) {
		for (size_t i = 0; i < n; i++)
			if (pollable_ready(ctx, ps[i]))
				ready[nready++] = (uint32_t)i;
		if (nready)
			break;
		if (wait_any(ctx, ps, n) < 0) {
			err = timed_out(ctx);
			goto out;
		}
	}
	{
		wasmtime_component_val_t *l = wh_val_list(&res[0], nready);
		for (size_t i = 0; i < nready; i++)
			wh_val_u32(&l[i], ready[i]);
	}
out:
	free(ps);
	free(ready);
	return err;
}

static wasmtime_error_t *error_debug_fn(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
					size_t na, wasmtime_component_val_t *res, size_t nr)
{
	uint32_t rep;
	struct io_error *e;
	if (na < 1 || nr < 1 || wh_arg_rep(cx, &a[0], WH_IO_ERROR, &rep) < 0 || !(e = wh_get(ctx, rep, WH_IO_ERROR)))
		return wh_trap("error.to-debug-string: not an error");
	wh_val_cstring(&res[0], e->msg);
	return NULL;
}

/* --- streams ----------------------------------------------------------------- */

static struct stream *stream_arg(struct wh_ctx *ctx, wasmtime_context_t *cx, const wasmtime_component_val_t *v,
				 uint32_t type)
{
	uint32_t rep;
	if (wh_arg_rep(cx, v, type, &rep) < 0)
		return NULL;
	return wh_get(ctx, rep, type);
}

/* A stream-error result: closed, or last-operation-failed with an error. */
static wasmtime_error_t *stream_error(struct wh_ctx *ctx, wasmtime_context_t *cx, struct stream *st, int code,
				      wasmtime_component_val_t *res)
{
	wasmtime_component_val_t e, payload;
	bool closed = code == 0 || code == -EPIPE || st->failed;

	if (!closed) {
		const char *msg = st->ops->error ? st->ops->error(st->s) : NULL;
		uint32_t rep = wh_io_error_new(ctx, msg ? msg : strerror(-code));
		st->failed = true;
		if (!rep || wh_val_resource(cx, &payload, rep, WH_IO_ERROR) < 0)
			return wh_trap("out of memory");
		wh_val_variant(&e, "last-operation-failed", &payload);
	} else {
		wh_val_variant(&e, "closed", NULL);
	}
	wh_val_result(res, false, &e);
	return NULL;
}

static bool stream_ready(struct wh_ctx *ctx, void *src)
{
	struct wh_ref *ref = src;
	struct stream *st = wh_deref(ctx, *ref, WH_INPUT_STREAM);
	short ev = POLLIN;
	int64_t dl = -1;
	if (!st)
		st = wh_deref(ctx, *ref, WH_OUTPUT_STREAM);
	int fd;
	if (!st || st->failed || !st->ops->wait_fd)
		return true;
	fd = st->ops->wait_fd(st->s, &ev, &dl);
	if (fd < 0)
		return dl < 0 || wh_now_ns() >= dl;
	/* a readable (or closed) socket means the next read makes progress */
	{
		struct pollfd p = { .fd = fd, .events = ev };
		return poll(&p, 1, 0) > 0;
	}
}

static int stream_wait(struct wh_ctx *ctx, void *src, short *events, int64_t *deadline)
{
	struct wh_ref *ref = src;
	struct stream *st = wh_deref(ctx, *ref, WH_INPUT_STREAM);
	if (!st)
		st = wh_deref(ctx, *ref, WH_OUTPUT_STREAM);
	if (!st || !st->ops->wait_fd)
		return -1;
	return st->ops->wait_fd(st->s, events, deadline);
}

static const struct wh_poll_ops stream_poll_ops = { stream_ready, stream_wait };

static int block_stream(struct wh_ctx *ctx, uint32_t rep)
{
	struct wh_ref ref = wh_ref_of(ctx, rep);
	return wh_block_on(ctx, &stream_poll_ops, &ref);
}

static wasmtime_error_t *subscribe_fn(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				      size_t na, wasmtime_component_val_t *res, size_t nr, uint32_t type)
{
	uint32_t rep, prep;
	struct wh_ref *ref;
	if (na < 1 || nr < 1 || wh_arg_rep(cx, &a[0], type, &rep) < 0 || !wh_get(ctx, rep, type))
		return wh_trap("subscribe: not a stream");
	ref = malloc(sizeof(*ref));
	if (!ref)
		return wh_trap("out of memory");
	*ref = wh_ref_of(ctx, rep);
	prep = pollable_add(ctx, &stream_poll_ops, ref, true);
	if (!prep || wh_val_resource(cx, &res[0], prep, WH_POLLABLE) < 0)
		return wh_trap("too many resources");
	return NULL;
}

static wasmtime_error_t *in_subscribe_fn(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
					 size_t na, wasmtime_component_val_t *res, size_t nr)
{
	return subscribe_fn(ctx, cx, a, na, res, nr, WH_INPUT_STREAM);
}

static wasmtime_error_t *out_subscribe_fn(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
					  size_t na, wasmtime_component_val_t *res, size_t nr)
{
	return subscribe_fn(ctx, cx, a, na, res, nr, WH_OUTPUT_STREAM);
}

/* Read what the stream has now; blocking: wait until it has something (or
 * ends). -ETIME when the request deadline passed while waiting (a
 * backend's own -ETIMEDOUT, a stalled client, is a stream error). */
static ssize_t read_some(struct wh_ctx *ctx, uint32_t rep, struct stream *st, uint8_t *buf, size_t len, bool blocking)
{
	for (;;) {
		ssize_t got = st->ops->read(st->s, buf, len, 0);
		if (got != -EAGAIN || !blocking)
			return got;
		if (block_stream(ctx, rep) < 0)
			return -ETIME;
	}
}

/* read / blocking-read / skip / blocking-skip share this. */
static wasmtime_error_t *do_read(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a, size_t na,
				 wasmtime_component_val_t *res, size_t nr, bool blocking, bool skip)
{
	uint32_t rep;
	uint64_t len;
	struct stream *st;
	uint8_t *buf;
	ssize_t got;
	wasmtime_component_val_t v;

	if (na < 2 || nr < 1 || wh_arg_rep(cx, &a[0], WH_INPUT_STREAM, &rep) < 0 ||
	    !(st = wh_get(ctx, rep, WH_INPUT_STREAM)) || wh_arg_u64(&a[1], &len) < 0)
		return wh_trap("input-stream: bad arguments");
	if (st->failed || !st->ops->read)
		return stream_error(ctx, cx, st, 0, &res[0]);
	if (len > WH_CHUNK_MAX)
		len = WH_CHUNK_MAX;
	if (len == 0) {
		if (skip)
			wh_val_u64(&v, 0);
		else
			wh_val_bytes(&v, NULL, 0);
		wh_val_result(&res[0], true, &v);
		return NULL;
	}
	buf = malloc(len);
	if (!buf)
		return wh_trap("out of memory");
	got = read_some(ctx, rep, st, buf, len, blocking);
	if (got == -ETIME) {
		free(buf);
		return timed_out(ctx);
	}
	if (got == -EAGAIN)
		got = 0;
	else if (got == 0) {
		free(buf);
		return stream_error(ctx, cx, st, 0, &res[0]);
	} else if (got < 0) {
		free(buf);
		return stream_error(ctx, cx, st, (int)got, &res[0]);
	}
	if (skip)
		wh_val_u64(&v, (uint64_t)got);
	else
		wh_val_bytes(&v, buf, (size_t)got);
	free(buf);
	wh_val_result(&res[0], true, &v);
	return NULL;
}

static wasmtime_error_t *read_fn(struct wh_ctx *c, wasmtime_context_t *cx, wasmtime_component_val_t *a, size_t na,
				 wasmtime_component_val_t *r, size_t nr)
{
	return do_read(c, cx, a, na, r, nr, false, false);
}
static wasmtime_error_t *blocking_read_fn(struct wh_ctx *c, wasmtime_context_t *cx, wasmtime_component_val_t *a,
					  size_t na, wasmtime_component_val_t *r, size_t nr)
{
	return do_read(c, cx, a, na, r, nr, true, false);
}
static wasmtime_error_t *skip_fn(struct wh_ctx *c, wasmtime_context_t *cx, wasmtime_component_val_t *a, size_t na,
				 wasmtime_component_val_t *r, size_t nr)
{
	return do_read(c, cx, a, na, r, nr, false, true);
}
static wasmtime_error_t *blocking_skip_fn(struct wh_ctx *c, wasmtime_context_t *cx, wasmtime_component_val_t *a,
					  size_t na, wasmtime_component_val_t *r, size_t nr)
{
	return do_read(c, cx, a, na, r, nr, true, true);
}

static wasmtime_error_t *check_write_fn(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
					size_t na, wasmtime_component_val_t *res, size_t nr)
{
	struct stream *st;
	ssize_t n;
	wasmtime_component_val_t v;
	if (na < 1 || nr < 1 || !(st = stream_arg(ctx, cx, &a[0], WH_OUTPUT_STREAM)))
		return wh_trap("output-stream.check-write: not an output stream");
	if (st->failed || !st->ops->check_write)
		return stream_error(ctx, cx, st, 0, &res[0]);
	n = st->ops->check_write(st->s);
	if (n < 0)
		return stream_error(ctx, cx, st, (int)n, &res[0]);
	wh_val_u64(&v, (uint64_t)n);
	wh_val_result(&res[0], true, &v);
	return NULL;
}

/* Write all of buf, waiting for room when `blocking`; without it, more than
 * check-write allowed is the guest's error (a trap, as the spec says). */
static int write_all(struct wh_ctx *ctx, uint32_t rep, struct stream *st, const uint8_t *buf, size_t n, bool blocking,
		     bool *trap)
{
	size_t off = 0;
	*trap = false;
	while (off < n) {
		ssize_t room = st->ops->check_write(st->s);
		ssize_t w;
		if (room < 0)
			return (int)room;
		if (room == 0) {
			if (!blocking) {
				*trap = true;
				return -EINVAL;
			}
			if (block_stream(ctx, rep) < 0)
				return -ETIMEDOUT;
			continue;
		}
		if (!blocking && (size_t)room < n) {
			*trap = true;
			return -EINVAL;
		}
		w = st->ops->write(st->s, buf + off, (size_t)room < n - off ? (size_t)room : n - off);
		if (w < 0)
			return (int)w;
		off += (size_t)w;
	}
	return 0;
}

static wasmtime_error_t *finish_write(struct wh_ctx *ctx, wasmtime_context_t *cx, struct stream *st, int r, bool trap,
				      bool flush, wasmtime_component_val_t *res)
{
	if (r == -ETIMEDOUT)
		return timed_out(ctx);
	if (trap)
		return wh_trap("output-stream.write: more bytes than check-write permitted");
	if (r == 0 && flush && st->ops->flush)
		r = st->ops->flush(st->s);
	if (r < 0)
		return stream_error(ctx, cx, st, r, res);
	wh_val_ok(res);
	return NULL;
}

static wasmtime_error_t *do_write(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a, size_t na,
				  wasmtime_component_val_t *res, size_t nr, bool blocking)
{
	uint32_t rep;
	struct stream *st;
	uint8_t *buf = NULL;
	size_t n = 0;
	bool trap;
	int r;

	if (na < 2 || nr < 1 || wh_arg_rep(cx, &a[0], WH_OUTPUT_STREAM, &rep) < 0 ||
	    !(st = wh_get(ctx, rep, WH_OUTPUT_STREAM)))
		return wh_trap("output-stream.write: not an output stream");
	if (st->failed || !st->ops->write)
		return stream_error(ctx, cx, st, 0, &res[0]);
	r = wh_arg_bytes(&a[1], blocking ? 4096 : WH_CHUNK_MAX, &buf, &n);
	if (r == -E2BIG)
		return wh_trap("output-stream: a write of more than %s bytes", blocking ? "4096" : "1 MiB");
	if (r < 0)
		return wh_trap("output-stream.write: bad contents");
	r = write_all(ctx, rep, st, buf, n, blocking, &trap);
	free(buf);
	return finish_write(ctx, cx, st, r, trap, blocking, &res[0]);
}

static wasmtime_error_t *write_fn(struct wh_ctx *c, wasmtime_context_t *cx, wasmtime_component_val_t *a, size_t na,
				  wasmtime_component_val_t *r, size_t nr)
{
	return do_write(c, cx, a, na, r, nr, false);
}
static wasmtime_error_t *blocking_write_fn(struct wh_ctx *c, wasmtime_context_t *cx, wasmtime_component_val_t *a,
					   size_t na, wasmtime_component_val_t *r, size_t nr)
{
	return do_write(c, cx, a, na, r, nr, true);
}

static wasmtime_error_t *do_zeroes(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a, size_t na,
				   wasmtime_component_val_t *res, size_t nr, bool blocking)
{
	static const uint8_t zeroes[4096];
	uint32_t rep;
	uint64_t len;
	struct stream *st;
	bool trap = false;
	int r = 0;

	if (na < 2 || nr < 1 || wh_arg_rep(cx, &a[0], WH_OUTPUT_STREAM, &rep) < 0 ||
	    !(st = wh_get(ctx, rep, WH_OUTPUT_STREAM)) || wh_arg_u64(&a[1], &len) < 0)
		return wh_trap("output-stream.write-zeroes: bad arguments");
	if (st->failed || !st->ops->write)
		return stream_error(ctx, cx, st, 0, &res[0]);
	if (blocking && len > 4096)
		return wh_trap("output-stream.blocking-write-zeroes-and-flush: more than 4096 bytes");
	while (r == 0 && len) {
		size_t n = len < sizeof(zeroes) ? (size_t)len : sizeof(zeroes);
		r = write_all(ctx, rep, st, zeroes, n, blocking, &trap);
		len -= n;
	}
	return finish_write(ctx, cx, st, r, trap, blocking, &res[0]);
}

static wasmtime_error_t *zeroes_fn(struct wh_ctx *c, wasmtime_context_t *cx, wasmtime_component_val_t *a, size_t na,
				   wasmtime_component_val_t *r, size_t nr)
{
	return do_zeroes(c, cx, a, na, r, nr, false);
}
static wasmtime_error_t *blocking_zeroes_fn(struct wh_ctx *c, wasmtime_context_t *cx, wasmtime_component_val_t *a,
					    size_t na, wasmtime_component_val_t *r, size_t nr)
{
	return do_zeroes(c, cx, a, na, r, nr, true);
}

static wasmtime_error_t *flush_common(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a,
				      size_t na, wasmtime_component_val_t *res, size_t nr, bool blocking)
{
	uint32_t rep;
	struct stream *st;
	int r = 0;
	if (na < 1 || nr < 1 || wh_arg_rep(cx, &a[0], WH_OUTPUT_STREAM, &rep) < 0 ||
	    !(st = wh_get(ctx, rep, WH_OUTPUT_STREAM)))
		return wh_trap("output-stream.flush: not an output stream");
	if (st->failed)
		return stream_error(ctx, cx, st, 0, &res[0]);
	if (st->ops->flush)
		r = st->ops->flush(st->s);
	if (r == 0 && blocking && block_stream(ctx, rep) < 0)
		return timed_out(ctx);
	if (r < 0)
		return stream_error(ctx, cx, st, r, &res[0]);
	wh_val_ok(&res[0]);
	return NULL;
}

static wasmtime_error_t *flush_fn(struct wh_ctx *c, wasmtime_context_t *cx, wasmtime_component_val_t *a, size_t na,
				  wasmtime_component_val_t *r, size_t nr)
{
	return flush_common(c, cx, a, na, r, nr, false);
}
static wasmtime_error_t *blocking_flush_fn(struct wh_ctx *c, wasmtime_context_t *cx, wasmtime_component_val_t *a,
					   size_t na, wasmtime_component_val_t *r, size_t nr)
{
	return flush_common(c, cx, a, na, r, nr, true);
}

/* splice(src, len) -> result<u64, stream-error>: move what the source has
 * (and the destination takes) now; the blocking form waits for the source. */
static wasmtime_error_t *do_splice(struct wh_ctx *ctx, wasmtime_context_t *cx, wasmtime_component_val_t *a, size_t na,
				   wasmtime_component_val_t *res, size_t nr, bool blocking)
{
	uint32_t orep, irep;
	uint64_t len;
	struct stream *out, *in;
	ssize_t room, got;
	uint8_t *buf;
	bool trap;
	int r;
	wasmtime_component_val_t v;

	if (na < 3 || nr < 1 || wh_arg_rep(cx, &a[0], WH_OUTPUT_STREAM, &orep) < 0 ||
	    wh_arg_rep(cx, &a[1], WH_INPUT_STREAM, &irep) < 0 || wh_arg_u64(&a[2], &len) < 0 ||
	    !(out = wh_get(ctx, orep, WH_OUTPUT_STREAM)) || !(in = wh_get(ctx, irep, WH_INPUT_STREAM)))
		return wh_trap("output-stream.splice: bad arguments");
	if (out->failed || !out->ops->write)
		return stream_error(ctx, cx, out, 0, &res[0]);
	if (in->failed || !in->ops->read)
		return stream_error(ctx, cx, in, 0, &res[0]);
	if (blocking && block_stream(ctx, orep) < 0)
		return timed_out(ctx);
	room = out->ops->check_write(out->s);
	if (room < 0)
		return stream_error(ctx, cx, out, (int)room, &res[0]);
	if ((uint64_t)room < len)
		len = (uint64_t)room;
	if (len > WH_CHUNK_MAX)
		len = WH_CHUNK_MAX;
	if (len == 0) {
		wh_val_u64(&v, 0);
		wh_val_result(&res[0], true, &v);
		return NULL;
	}
	buf = malloc(len);
	if (!buf)
		return wh_trap("out of memory");
	got = read_some(ctx, irep, in, buf, len, blocking);
	if (got == -ETIME) {
		free(buf);
		return timed_out(ctx);
	}
	if (got == -EAGAIN)
		got = 0;
	if (got <= 0 && got != 0) {
		free(buf);
		return stream_error(ctx, cx, in, (int)got, &res[0]);
	}
	if (got == 0 && blocking) {
		free(buf);
		return stream_error(ctx, cx, in, 0, &res[0]);
	}
	r = got ? write_all(ctx, orep, out, buf, (size_t)got, true, &trap) : 0;
	free(buf);
	if (r == -ETIMEDOUT)
		return timed_out(ctx);
	if (r < 0)
		return stream_error(ctx, cx, out, r, &res[0]);
	wh_val_u64(&v, (uint64_t)got);
	wh_val_result(&res[0], true, &v);
	return NULL;
}

static wasmtime_error_t *splice_fn(struct wh_ctx *c, wasmtime_context_t *cx, wasmtime_component_val_t *a, size_t na,
				   wasmtime_component_val_t *r, size_t nr)
{
	return do_splice(c, cx, a, na, r, nr, false);
}
static wasmtime_error_t *blocking_splice_fn(struct wh_ctx *c, wasmtime_context_t *cx, wasmtime_component_val_t *a,
					    size_t na, wasmtime_component_val_t *r, size_t nr)
{
	return do_splice(c, cx, a, na, r, nr, true);
}

static const struct wh_resource_def error_res[] = { { "error", WH_IO_ERROR } };
static const struct wh_func_def error_funcs[] = { { "[method]error.to-debug-string", error_debug_fn } };
static const struct wh_resource_def poll_res[] = { { "pollable", WH_POLLABLE } };
static const struct wh_func_def poll_funcs[] = {
	{ "[method]pollable.ready", pollable_ready_fn },
	{ "[method]pollable.block", pollable_block_fn },
	{ "poll", poll_fn },
};
static const struct wh_resource_def stream_res[] = {
	{ "input-stream", WH_INPUT_STREAM },
	{ "output-stream", WH_OUTPUT_STREAM },
};
static const struct wh_func_def stream_funcs[] = {
	{ "[method]input-stream.read", read_fn },
	{ "[method]input-stream.blocking-read", blocking_read_fn },
	{ "[method]input-stream.skip", skip_fn },
	{ "[method]input-stream.blocking-skip", blocking_skip_fn },
	{ "[method]input-stream.subscribe", in_subscribe_fn },
	{ "[method]output-stream.check-write", check_write_fn },
	{ "[method]output-stream.write", write_fn },
	{ "[method]output-stream.blocking-write-and-flush", blocking_write_fn },
	{ "[method]output-stream.flush", flush_fn },
	{ "[method]output-stream.blocking-flush", blocking_flush_fn },
	{ "[method]output-stream.subscribe", out_subscribe_fn },
	{ "[method]output-stream.write-zeroes", zeroes_fn },
	{ "[method]output-stream.blocking-write-zeroes-and-flush", blocking_zeroes_fn },
	{ "[method]output-stream.splice", splice_fn },
	{ "[method]output-stream.blocking-splice", blocking_splice_fn },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))
const struct wh_iface_def wh_io_ifaces[] = {
	{ "wasi:io/error@0.2.6", error_res, N(error_res), error_funcs, N(error_funcs) },
	{ "wasi:io/poll@0.2.6", poll_res, N(poll_res), poll_funcs, N(poll_funcs) },
	{ "wasi:io/streams@0.2.6", stream_res, N(stream_res), stream_funcs, N(stream_funcs) },
};
const size_t wh_n_io_ifaces = N(wh_io_ifaces);
