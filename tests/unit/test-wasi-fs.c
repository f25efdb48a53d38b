/* shim-bridge/wasi/fs.c without a component: the wasi:filesystem callbacks
 * are called through wh_fs_ifaces on a real wasmtime store whose data is a
 * struct wh_ctx, over a files folder made here. Checks reads, stats,
 * directory listings, the read-only refusals, that no path leaves the
 * folder (.., absolute paths, symlinks out) and that dropping resources
 * closes every fd. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim-bridge/wasi/host.h"
#include "tests/tap.h"

static struct wh_ctx ctx;
static wasmtime_context_t *cx;
static char tmp[] = "/tmp/test-wasi-fs-XXXXXX";
static char root_dir[64], created[96]; /* the files folder; a path nothing may create */

static wh_fn find_fn(const struct wh_iface_def *defs, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < defs[i].n_funcs; j++)
			if (strcmp(defs[i].funcs[j].name, name) == 0)
				return defs[i].funcs[j].fn;
	return NULL;
}

/* Call name with args (deleted after); the one result, or a bool false
 * after a trap (reported as a failed check). */
static wasmtime_component_val_t call(const char *name, wasmtime_component_val_t *args, size_t n)
{
	wasmtime_component_val_t res = {.kind = WASMTIME_COMPONENT_BOOL};
	wh_fn fn = find_fn(wh_fs_ifaces, wh_n_fs_ifaces, name);
	wasmtime_error_t *e;

	if (!fn)
		fn = find_fn(wh_io_ifaces, wh_n_io_ifaces, name);
	if (!fn) {
		ok(0, "%s is defined", name);
		return res;
	}
	e = fn(&ctx, cx, args, n, &res, 1);
	if (e) {
		wasm_name_t msg;
		wasmtime_error_message(e, &msg);
		ok(0, "%s does not trap: %.*s", name, (int)msg.size, msg.data);
		wasm_name_delete(&msg);
		wasmtime_error_delete(e);
	}
	for (size_t i = 0; i < n; i++)
		wasmtime_component_val_delete(&args[i]);
	return res;
}

static wasmtime_component_val_t res_arg(uint32_t rep, uint32_t type)
{
	wasmtime_component_val_t v;
	if (wh_val_resource(cx, &v, rep, type) < 0)
		abort();
	return v;
}

static wasmtime_component_val_t str_arg(const char *s)
{
	wasmtime_component_val_t v;
	wh_val_cstring(&v, s);
	return v;
}

static wasmtime_component_val_t u64_arg(uint64_t x)
{
	wasmtime_component_val_t v;
	wh_val_u64(&v, x);
	return v;
}

/* flags with the one flag `name`, or none for NULL */
static wasmtime_component_val_t flags_arg(const char *name)
{
	wasmtime_component_val_t v = {.kind = WASMTIME_COMPONENT_FLAGS};
	if (!name) {
		wasmtime_component_valflags_new_empty(&v.of.flags);
		return v;
	}
	wasmtime_component_valflags_new_uninit(&v.of.flags, 1);
	wasm_name_new(&v.of.flags.data[0], strlen(name), name);
	return v;
}

/* "ok", or the error-code case of an err result (a static buffer). */
static const char *code_of(const wasmtime_component_val_t *r)
{
	static char buf[64];
	const wasmtime_component_val_t *e;
	if (r->kind != WASMTIME_COMPONENT_RESULT)
		return "(not a result)";
	if (r->of.result.is_ok)
		return "ok";
	e = r->of.result.val;
	if (!e || e->kind != WASMTIME_COMPONENT_ENUM)
		return "(bad error)";
	snprintf(buf, sizeof(buf), "%.*s", (int)e->of.enumeration.size, e->of.enumeration.data);
	return buf;
}

static const wasmtime_component_val_t *field(const wasmtime_component_val_t *rec, const char *name)
{
	if (!rec || rec->kind != WASMTIME_COMPONENT_RECORD)
		return NULL;
	for (size_t i = 0; i < rec->of.record.size; i++)
		if (rec->of.record.data[i].name.size == strlen(name) &&
		    memcmp(rec->of.record.data[i].name.data, name, strlen(name)) == 0)
			return &rec->of.record.data[i].val;
	return NULL;
}

static bool name_is(const wasm_name_t *n, const char *s)
{
	return n->size == strlen(s) && memcmp(n->data, s, n->size) == 0;
}

/* open-at(dir, path) with one open flag and one descriptor flag (NULL:
 * none): the code, and the new descriptor's rep in *rep when ok. */
static const char *open_at(uint32_t dir, const char *path, bool follow, const char *oflag, const char *dflag,
                           uint32_t *rep)
{
	wasmtime_component_val_t a[5] = {
	    res_arg(dir, WH_DESCRIPTOR),
	    flags_arg(follow ? "symlink-follow" : NULL),
	    str_arg(path),
	    flags_arg(oflag),
	    flags_arg(dflag),
	};
	wasmtime_component_val_t r = call("[method]descriptor.open-at", a, 5);
	const char *code = code_of(&r);
	if (rep)
		*rep = 0;
	if (strcmp(code, "ok") == 0 && rep && wh_arg_rep(cx, r.of.result.val, WH_DESCRIPTOR, rep) < 0)
		code = "(not a descriptor)";
	wasmtime_component_val_delete(&r);
	return code;
}

/* read(len, off) on a descriptor: the code; bytes and eof when ok */
static const char *read_at(uint32_t d, uint64_t len, uint64_t off, char *out, size_t cap, bool *eof)
{
	wasmtime_component_val_t a[3] = {res_arg(d, WH_DESCRIPTOR), u64_arg(len), u64_arg(off)};
	wasmtime_component_val_t r = call("[method]descriptor.read", a, 3);
	const char *code = code_of(&r);
	out[0] = '\0';
	if (strcmp(code, "ok") == 0) {
		const wasmtime_component_val_t *t = r.of.result.val;
		size_t n = t->of.tuple.data[0].of.list.size;
		for (size_t i = 0; i < n && i + 1 < cap; i++)
			out[i] = (char)t->of.tuple.data[0].of.list.data[i].of.u8;
		out[n < cap ? n : cap - 1] = '\0';
		*eof = t->of.tuple.data[1].of.boolean;
	}
	wasmtime_component_val_delete(&r);
	return code;
}

/* A method of one descriptor argument: its code (and the result in *keep
 * when not NULL, for the caller to delete). */
static const char *call1(const char *method, uint32_t d, wasmtime_component_val_t *keep)
{
	wasmtime_component_val_t a[1] = {res_arg(d, WH_DESCRIPTOR)};
	wasmtime_component_val_t r = call(method, a, 1);
	const char *code = code_of(&r);
	if (keep)
		*keep = r;
	else
		wasmtime_component_val_delete(&r);
	return code;
}

/* stat-at: the code; the type in type_out when ok */
static const char *stat_at(uint32_t d, const char *path, bool follow, char *type_out, size_t cap)
{
	wasmtime_component_val_t a[3] = {res_arg(d, WH_DESCRIPTOR),
	                                 flags_arg(follow ? "symlink-follow" : NULL), str_arg(path)};
	wasmtime_component_val_t r = call("[method]descriptor.stat-at", a, 3);
	const char *code = code_of(&r);
	type_out[0] = '\0';
	if (strcmp(code, "ok") == 0) {
		const wasmtime_component_val_t *t = field(r.of.result.val, "type");
		if (t)
			snprintf(type_out, cap, "%.*s", (int)t->of.enumeration.size, t->of.enumeration.data);
	}
	wasmtime_component_val_delete(&r);
	return code;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
}

/* Every function of wasi:filesystem/types and preopens 0.2 is defined. */
static void test_complete(void)
{
	static const char *const names[] = {
	    "[method]descriptor.read-via-stream",
	    "[method]descriptor.write-via-stream",
	    "[method]descriptor.append-via-stream",
	    "[method]descriptor.advise",
	    "[method]descriptor.sync-data",
	    "[method]descriptor.get-flags",
	    "[method]descriptor.get-type",
	    "[method]descriptor.set-size",
	    "[method]descriptor.set-times",
	    "[method]descriptor.read",
	    "[method]descriptor.write",
	    "[method]descriptor.read-directory",
	    "[method]descriptor.sync",
	    "[method]descriptor.create-directory-at",
	    "[method]descriptor.stat",
	    "[method]descriptor.stat-at",
	    "[method]descriptor.set-times-at",
	    "[method]descriptor.link-at",
	    "[method]descriptor.open-at",
	    "[method]descriptor.readlink-at",
	    "[method]descriptor.remove-directory-at",
	    "[method]descriptor.rename-at",
	    "[method]descriptor.symlink-at",
	    "[method]descriptor.unlink-file-at",
	    "[method]descriptor.is-same-object",
	    "[method]descriptor.metadata-hash",
	    "[method]descriptor.metadata-hash-at",
	    "[method]directory-entry-stream.read-directory-entry",
	    "filesystem-error-code",
	    "get-directories",
	};
	size_t missing = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!find_fn(wh_fs_ifaces, wh_n_fs_ifaces, names[i])) {
			printf("# missing %s\n", names[i]);
			missing++;
		}
	is_int(missing, 0, "every wasi:filesystem function is defined");
	is_int(wh_n_fs_ifaces, 2, "two interfaces: types and preopens");
}

/* get-directories: the root preopen's rep (0 on failure). */
static uint32_t preopen(void)
{
	wasmtime_component_val_t r = call("get-directories", NULL, 0);
	uint32_t rep = 0;
	if (r.kind == WASMTIME_COMPONENT_LIST && r.of.list.size == 1) {
		const wasmtime_component_val_t *t = r.of.list.data[0].of.tuple.data;
		ok(name_is(&t[1].of.string, "/"), "get-directories: the preopen is \"/\"");
		if (wh_arg_rep(cx, &t[0], WH_DESCRIPTOR, &rep) < 0)
			rep = 0;
	}
	ok(rep != 0, "get-directories: one descriptor");
	wasmtime_component_val_delete(&r);
	return rep;
}

static void test_read(uint32_t root)
{
	uint32_t f = 0;
	char buf[64], type[32];
	bool eof = false;
	wasmtime_component_val_t r;

	is_str(open_at(root, "hello.txt", false, NULL, "read", &f), "ok", "open-at hello.txt");
	is_str(call1("[method]descriptor.get-type", f, &r), "ok", "get-type");
	ok(r.of.result.val && name_is(&r.of.result.val->of.enumeration, "regular-file"),
	   "get-type: regular-file");
	wasmtime_component_val_delete(&r);
	is_str(read_at(f, 5, 0, buf, sizeof(buf), &eof), "ok", "read 5 at 0");
	is_str(buf, "hello", "read 5 at 0: bytes");
	ok(!eof, "read 5 at 0: not at the end");
	is_str(read_at(f, 100, 6, buf, sizeof(buf), &eof), "ok", "read 100 at 6");
	is_str(buf, "world\n", "read 100 at 6: the rest");
	ok(eof, "read 100 at 6: at the end");
	is_str(read_at(f, 10, 1000, buf, sizeof(buf), &eof), "ok", "read past the end");
	ok(buf[0] == '\0' && eof, "read past the end: nothing, eof");

	is_str(call1("[method]descriptor.stat", f, &r), "ok", "stat");
	{
		const wasmtime_component_val_t *st = r.of.result.val;
		const wasmtime_component_val_t *sz = field(st, "size"), *lc = field(st, "link-count");
		const wasmtime_component_val_t *mt = field(st, "data-modification-timestamp");
		ok(sz && sz->of.u64 == 12, "stat: size 12");
		ok(lc && lc->of.u64 == 1, "stat: link-count 1");
		ok(mt && mt->kind == WASMTIME_COMPONENT_OPTION && mt->of.option &&
		       field(mt->of.option, "seconds") &&
		       field(mt->of.option, "seconds")->of.u64 > 1600000000,
		   "stat: a modification time");
	}
	wasmtime_component_val_delete(&r);

	is_str(call1("[method]descriptor.get-flags", f, &r), "ok", "get-flags");
	ok(r.of.result.val && r.of.result.val->kind == WASMTIME_COMPONENT_FLAGS &&
	       r.of.result.val->of.flags.size == 1 && name_is(&r.of.result.val->of.flags.data[0], "read"),
	   "get-flags: read");
	wasmtime_component_val_delete(&r);

	/* read-via-stream, read through wasi:io */
	{
		wasmtime_component_val_t a[2] = {res_arg(f, WH_DESCRIPTOR), u64_arg(6)};
		wasmtime_component_val_t s = call("[method]descriptor.read-via-stream", a, 2);
		uint32_t srep = 0;
		is_str(code_of(&s), "ok", "read-via-stream at 6");
		if (s.of.result.val && wh_arg_rep(cx, s.of.result.val, WH_INPUT_STREAM, &srep) == 0) {
			wasmtime_component_val_t b[2] = {res_arg(srep, WH_INPUT_STREAM), u64_arg(100)};
			wasmtime_component_val_t got = call("[method]input-stream.blocking-read", b, 2);
			ok(got.kind == WASMTIME_COMPONENT_RESULT && got.of.result.is_ok &&
			       got.of.result.val->of.list.size == 6 &&
			       got.of.result.val->of.list.data[0].of.u8 == 'w',
			   "input-stream.blocking-read: the file from offset 6");
			wasmtime_component_val_delete(&got);
			{
				wasmtime_component_val_t c[2] = {res_arg(srep, WH_INPUT_STREAM),
				                                 u64_arg(100)};
				wasmtime_component_val_t end = call("[method]input-stream.read", c, 2);
				ok(end.kind == WASMTIME_COMPONENT_RESULT && !end.of.result.is_ok &&
				       name_is(&end.of.result.val->of.variant.discriminant, "closed"),
				   "input-stream.read at the end: closed");
				wasmtime_component_val_delete(&end);
			}
			/* the stream outlives the descriptor */
		}
		wasmtime_component_val_delete(&s);
	}

	is_str(open_at(root, "sub/inner.txt", false, NULL, "read", &f), "ok", "open-at sub/inner.txt");
	is_str(read_at(f, 100, 0, buf, sizeof(buf), &eof), "ok", "read sub/inner.txt");
	is_str(buf, "inner", "read sub/inner.txt: bytes");
	is_str(open_at(root, "sub/../hello.txt", false, NULL, "read", NULL), "ok", ".. that stays inside");
	is_str(open_at(root, "./sub//inner.txt", false, NULL, "read", NULL), "ok", "./ and // in a path");
	is_str(open_at(root, "sub", false, "directory", "read", &f), "ok", "open-at sub as a directory");
	is_str(stat_at(f, "inner.txt", false, type, sizeof(type)), "ok", "stat-at from the subdirectory");
	is_str(type, "regular-file", "stat-at inner.txt: regular-file");
	is_str(open_at(f, "../hello.txt", false, NULL, "read", NULL), "not-permitted",
	       "a subdirectory's descriptor is its own root");
	is_str(stat_at(root, "sub", false, type, sizeof(type)), "ok", "stat-at sub");
	is_str(type, "directory", "stat-at sub: directory");
	is_str(stat_at(root, "out", false, type, sizeof(type)), "ok", "stat-at a link, not followed");
	is_str(type, "symbolic-link", "stat-at out: symbolic-link");
}

static void test_escapes(uint32_t root)
{
	char type[32];
	uint32_t f;

	is_str(open_at(root, "../secret.txt", true, NULL, "read", NULL), "not-permitted", "../ is refused");
	is_str(open_at(root, "sub/../../secret.txt", true, NULL, "read", NULL), "not-permitted",
	       "sub/../../ is refused");
	is_str(open_at(root, "..", true, NULL, "read", NULL), "not-permitted", ".. is refused");
	is_str(open_at(root, "/etc/passwd", true, NULL, "read", NULL), "not-permitted",
	       "an absolute path is refused");
	is_str(open_at(root, "out", true, NULL, "read", NULL), "not-permitted",
	       "a symlink leading out is refused");
	is_str(open_at(root, "abs", true, NULL, "read", NULL), "not-permitted",
	       "an absolute symlink is refused");
	is_str(open_at(root, "out", false, NULL, "read", NULL), "loop", "a symlink not followed: loop");
	is_str(stat_at(root, "out", true, type, sizeof(type)), "not-permitted", "stat-at through a link out");
	is_str(stat_at(root, "../secret.txt", false, type, sizeof(type)), "not-permitted", "stat-at ../");
	is_str(open_at(root, "sub/out2/secret.txt", true, NULL, "read", NULL), "not-permitted",
	       "a directory symlink leading out is refused");
#ifndef WH_FS_NO_OPENAT2
	/* openat2: links that stay inside are followed */
	is_str(open_at(root, "sub/up", true, NULL, "read", NULL), "ok", "a symlink that stays inside");
	is_str(open_at(root, "subl/inner.txt", true, NULL, "read", NULL), "ok", "a directory symlink inside");
#else
	/* the walk follows no link at all */
	is_str(open_at(root, "sub/up", true, NULL, "read", NULL), "not-permitted",
	       "walk: a symlink is refused");
	is_str(open_at(root, "subl/inner.txt", true, NULL, "read", NULL), "not-permitted",
	       "walk: a directory symlink is refused");
#endif
	is_str(open_at(root, "missing", false, NULL, "read", NULL), "no-entry", "a missing file");
	is_str(open_at(root, "", false, NULL, "read", NULL), "no-entry", "an empty path");
	is_str(open_at(root, "hello.txt/", false, NULL, "read", NULL), "not-directory",
	       "a file with a trailing /");
	is_str(open_at(root, "hello.txt", false, "directory", "read", NULL), "not-directory",
	       "a file opened as a directory");
	is_str(open_at(root, "hello.txt", false, NULL, "read", &f), "ok", "open-at hello.txt again");
	is_str(open_at(f, "x", false, NULL, "read", NULL), "not-directory", "open-at on a file");
}

static void test_read_only(uint32_t root)
{
	uint32_t f = 0;
	char buf[8];
	bool eof;

	is_str(open_at(root, "hello.txt", false, "create", "read", NULL), "read-only", "create: read-only");
	is_str(open_at(root, "hello.txt", false, "truncate", "read", NULL), "read-only",
	       "truncate: read-only");
	is_str(open_at(root, "new.txt", false, "exclusive", "read", NULL), "read-only",
	       "exclusive: read-only");
	is_str(open_at(root, "hello.txt", false, NULL, "write", NULL), "read-only", "write: read-only");
	is_str(open_at(root, "sub", false, NULL, "mutate-directory", NULL), "read-only",
	       "mutate-directory: read-only");
	is_str(open_at(root, "hello.txt", false, NULL, "file-integrity-sync", NULL), "unsupported",
	       "file-integrity-sync: unsupported");
	is_str(open_at(root, "hello.txt", false, NULL, "read", &f), "ok", "open-at hello.txt");
	{
		wasmtime_component_val_t a[3] = {res_arg(f, WH_DESCRIPTOR), str_arg("x"), u64_arg(0)};
		wasmtime_component_val_t bytes;
		wasmtime_component_val_t r;
		wasmtime_component_val_delete(&a[1]);
		wh_val_bytes(&bytes, "x", 1);
		a[1] = bytes;
		r = call("[method]descriptor.write", a, 3);
		is_str(code_of(&r), "read-only", "write: read-only");
		wasmtime_component_val_delete(&r);
	}
	{
		wasmtime_component_val_t a[2] = {res_arg(root, WH_DESCRIPTOR), str_arg("hello.txt")};
		wasmtime_component_val_t r = call("[method]descriptor.unlink-file-at", a, 2);
		is_str(code_of(&r), "read-only", "unlink-file-at: read-only");
		wasmtime_component_val_delete(&r);
	}
	{
		wasmtime_component_val_t a[2] = {res_arg(root, WH_DESCRIPTOR), str_arg("newdir")};
		wasmtime_component_val_t r = call("[method]descriptor.create-directory-at", a, 2);
		is_str(code_of(&r), "read-only", "create-directory-at: read-only");
		wasmtime_component_val_delete(&r);
	}
	is_str(call1("[method]descriptor.write-via-stream", f, NULL), "read-only",
	       "write-via-stream: read-only");
	is_str(call1("[method]descriptor.sync", f, NULL), "ok", "sync: ok");
	is_str(read_at(root, 1, 0, buf, sizeof(buf), &eof), "bad-descriptor", "read on a directory");
	{
		wasmtime_component_val_t a[2] = {res_arg(root, WH_DESCRIPTOR), u64_arg(0)};
		wasmtime_component_val_t r = call("[method]descriptor.read-via-stream", a, 2);
		is_str(code_of(&r), "is-directory", "read-via-stream on a directory");
		wasmtime_component_val_delete(&r);
	}
	is_str(call1("[method]descriptor.read-directory", f, NULL), "not-directory",
	       "read-directory on a file");
	ok(access(created, F_OK) != 0, "nothing was created");
}

static void test_listing(uint32_t root)
{
	wasmtime_component_val_t r;
	uint32_t s = 0;
	unsigned seen = 0, n = 0;
	bool bad = false;

	is_str(call1("[method]descriptor.read-directory", root, &r), "ok", "read-directory");
	if (r.of.result.val && wh_arg_rep(cx, r.of.result.val, WH_DIR_ENTRY_STREAM, &s) < 0)
		s = 0;
	wasmtime_component_val_delete(&r);
	for (int i = 0; s && i < 20; i++) {
		wasmtime_component_val_t a[1] = {res_arg(s, WH_DIR_ENTRY_STREAM)};
		wasmtime_component_val_t e =
		    call("[method]directory-entry-stream.read-directory-entry", a, 1);
		const wasmtime_component_val_t *opt, *name, *type;
		if (strcmp(code_of(&e), "ok") != 0) {
			bad = true;
			wasmtime_component_val_delete(&e);
			break;
		}
		opt = e.of.result.val;
		if (!opt->of.option) {
			wasmtime_component_val_delete(&e);
			break;
		}
		n++;
		name = field(opt->of.option, "name");
		type = field(opt->of.option, "type");
		if (name_is(&name->of.string, "hello.txt") && name_is(&type->of.enumeration, "regular-file"))
			seen |= 1;
		else if (name_is(&name->of.string, "sub") && name_is(&type->of.enumeration, "directory"))
			seen |= 2;
		else if (name_is(&name->of.string, "out") && name_is(&type->of.enumeration, "symbolic-link"))
			seen |= 4;
		else if (name_is(&name->of.string, ".") || name_is(&name->of.string, ".."))
			bad = true;
		wasmtime_component_val_delete(&e);
	}
	ok(!bad, "read-directory-entry: no errors, no . or ..");
	is_int(n, 5, "read-directory-entry: the five entries, then none");
	is_int(seen, 7, "read-directory-entry: names and types");
}

static void test_identity(uint32_t root)
{
	uint32_t a1 = 0, h = 0;
	wasmtime_component_val_t r1, r2;

	is_str(open_at(root, "sub/..", false, "directory", "read", &a1), "ok", "open-at sub/..");
	is_str(open_at(root, "hello.txt", false, NULL, "read", &h), "ok", "open-at hello.txt");
	{
		wasmtime_component_val_t a[2] = {res_arg(root, WH_DESCRIPTOR), res_arg(a1, WH_DESCRIPTOR)};
		wasmtime_component_val_t r = call("[method]descriptor.is-same-object", a, 2);
		ok(r.kind == WASMTIME_COMPONENT_BOOL && r.of.boolean, "is-same-object: / and sub/..");
	}
	{
		wasmtime_component_val_t a[2] = {res_arg(root, WH_DESCRIPTOR), res_arg(h, WH_DESCRIPTOR)};
		wasmtime_component_val_t r = call("[method]descriptor.is-same-object", a, 2);
		ok(r.kind == WASMTIME_COMPONENT_BOOL && !r.of.boolean,
		   "is-same-object: / and hello.txt differ");
	}
	is_str(call1("[method]descriptor.metadata-hash", h, &r1), "ok", "metadata-hash");
	{
		wasmtime_component_val_t a[3] = {res_arg(root, WH_DESCRIPTOR), flags_arg(NULL),
		                                 str_arg("hello.txt")};
		r2 = call("[method]descriptor.metadata-hash-at", a, 3);
	}
	is_str(code_of(&r2), "ok", "metadata-hash-at");
	ok(r1.of.result.val && r2.of.result.val &&
	       field(r1.of.result.val, "lower")->of.u64 == field(r2.of.result.val, "lower")->of.u64 &&
	       field(r1.of.result.val, "upper")->of.u64 == field(r2.of.result.val, "upper")->of.u64,
	   "metadata-hash and metadata-hash-at agree");
	wasmtime_component_val_delete(&r1);
	wasmtime_component_val_delete(&r2);
	is_str(call1("[method]descriptor.metadata-hash", a1, &r1), "ok", "metadata-hash of a directory");
	ok(field(r1.of.result.val, "lower")->of.u64 != field(r1.of.result.val, "upper")->of.u64,
	   "metadata-hash: the halves differ");
	wasmtime_component_val_delete(&r1);

	{
		wasmtime_component_val_t a[2] = {res_arg(root, WH_DESCRIPTOR), str_arg("out")};
		wasmtime_component_val_t r = call("[method]descriptor.readlink-at", a, 2);
		is_str(code_of(&r), "ok", "readlink-at out");
		ok(r.of.result.val && name_is(&r.of.result.val->of.string, "../secret.txt"),
		   "readlink-at: the link's text");
		wasmtime_component_val_delete(&r);
	}
	{
		wasmtime_component_val_t a[2] = {res_arg(root, WH_DESCRIPTOR), str_arg("hello.txt")};
		wasmtime_component_val_t r = call("[method]descriptor.readlink-at", a, 2);
		is_str(code_of(&r), "invalid", "readlink-at a file: invalid");
		wasmtime_component_val_delete(&r);
	}
	{
		wasmtime_component_val_t a[2] = {res_arg(root, WH_DESCRIPTOR), str_arg("../x")};
		wasmtime_component_val_t r = call("[method]descriptor.readlink-at", a, 2);
		is_str(code_of(&r), "not-permitted", "readlink-at ../: not-permitted");
		wasmtime_component_val_delete(&r);
	}
	{
		wasmtime_component_val_t a[1] = {{.kind = WASMTIME_COMPONENT_BOOL}};
		wasmtime_component_val_t r = call("filesystem-error-code", a, 1);
		ok(r.kind == WASMTIME_COMPONENT_OPTION && !r.of.option, "filesystem-error-code: none");
	}
}

int main(void)
{
	struct wh_component_env env = {.id = "test"};
	wasm_engine_t *engine;
	wasmtime_store_t *store;
	char p[128];
	uint32_t root;
	int fds_before;

	if (!mkdtemp(tmp))
		return 1;
	snprintf(root_dir, sizeof(root_dir), "%s/files", tmp);
	snprintf(created, sizeof(created), "%s/new.txt", root_dir);
	mkdir(root_dir, 0755);
	snprintf(p, sizeof(p), "%s/sub", root_dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/hello.txt", root_dir);
	write_file(p, "hello world\n");
	snprintf(p, sizeof(p), "%s/sub/inner.txt", root_dir);
	write_file(p, "inner");
	snprintf(p, sizeof(p), "%s/secret.txt", tmp);
	write_file(p, "secret");
	snprintf(p, sizeof(p), "%s/out", root_dir);
	if (symlink("../secret.txt", p) < 0)
		return 1;
	snprintf(p, sizeof(p), "%s/abs", root_dir);
	if (symlink("/etc/passwd", p) < 0)
		return 1;
	snprintf(p, sizeof(p), "%s/subl", root_dir);
	if (symlink("sub", p) < 0)
		return 1;
	snprintf(p, sizeof(p), "%s/sub/up", root_dir);
	if (symlink("../hello.txt", p) < 0)
		return 1;
	snprintf(p, sizeof(p), "%s/sub/out2", root_dir);
	if (symlink("../..", p) < 0)
		return 1;

	engine = wasm_engine_new();
	wh_ctx_init(&ctx, &env, 0);
	store = wasmtime_store_new(engine, &ctx, NULL);
	cx = wasmtime_store_context(store);

	test_complete();
	{
		wasmtime_component_val_t r = call("get-directories", NULL, 0);
		ok(r.kind == WASMTIME_COMPONENT_LIST && r.of.list.size == 0,
		   "no files: get-directories is empty");
		wasmtime_component_val_delete(&r);
	}
	env.files_dir = root_dir;
	fds_before = count_fds();
	root = preopen();
	if (root) {
		test_read(root);
		test_escapes(root);
		test_read_only(root);
		test_listing(root);
		test_identity(root);
	}
	ok(count_fds() > fds_before, "descriptors and streams hold fds");
	wh_ctx_release(&ctx);
	is_int(count_fds(), fds_before, "dropping every resource closes every fd");

	wasmtime_store_delete(store);
	wasm_engine_delete(engine);
	{
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", tmp);
	}
	return tap_done();
}
