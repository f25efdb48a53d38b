/* The start-up check of a component's imports against what the WASI host
 * defines (shim-bridge/wasi/host.c): components written in WAT, compiled by
 * the real engine. 0.2.x imports match semver-wise; a missing interface, a
 * missing function, another minor line or a pre-release that differs are all
 * named in one line. Also: every interface the host defines links. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <wasmtime.h>

#include "shim-bridge/wasi/host.h"
#include "tests/tap.h"

static wasm_engine_t *engine;

/* Compile a component from WAT; NULL (with a diagnostic) on failure. */
static wasmtime_component_t *compile(const char *wat)
{
	wasm_byte_vec_t bin;
	wasmtime_component_t *c = NULL;
	wasmtime_error_t *e = wasmtime_wat2wasm(wat, strlen(wat), &bin);

	if (e) {
		wasm_name_t m;
		wasmtime_error_message(e, &m);
		printf("# wat: %.*s\n", (int)m.size, m.data);
		wasm_name_delete(&m);
		wasmtime_error_delete(e);
		return NULL;
	}
	e = wasmtime_component_new(engine, (const uint8_t *)bin.data, bin.size, &c);
	wasm_byte_vec_delete(&bin);
	if (e) {
		wasm_name_t m;
		wasmtime_error_message(e, &m);
		printf("# component: %.*s\n", (int)m.size, m.data);
		wasm_name_delete(&m);
		wasmtime_error_delete(e);
		return NULL;
	}
	return c;
}

/* Run the check on a component made of `imports`. */
static int check(const char *imports, struct sk_error *err)
{
	char wat[4096];
	wasmtime_component_t *c;
	int r;

	snprintf(wat, sizeof(wat), "(component %s)", imports);
	c = compile(wat);
	if (!c)
		return -EBADMSG;
	sk_err_clear(err);
	r = wh_check_imports(engine, c, "component \"t\"", err);
	wasmtime_component_delete(c);
	return r;
}

#define FN(name) "(export \"" name "\" (func))"

int main(void)
{
	struct sk_error err;
	wasmtime_component_linker_t *linker = NULL;

	engine = wasm_engine_new();

	is_int(check("(import \"wasi:io/poll@0.2.6\" (instance " FN("poll") "))", &err), 0,
	       "the version the host defines: provided");
	is_int(check("(import \"wasi:io/poll@0.2.0\" (instance " FN("poll") "))"
		     "(import \"wasi:clocks/monotonic-clock@0.2.12\" (instance " FN("now") "))"
		     "(import \"wasi:http/types@0.2.3\" (instance " FN("http-error-code") "))",
		     &err),
	       0, "older and newer 0.2.x versions side by side: provided (semver)");
	is_int(check("(import \"wasi:config/store@0.2.0-draft-2024-09-27\" (instance " FN("get") "))", &err), 0,
	       "a pre-release version matched exactly: provided");
	is_int(check("(import \"fermyon:spin/variables@2.0.0\" (instance " FN("get") "))", &err), 0,
	       "Spin's 2.0.0 variables: provided");

	is_int(check("(import \"wasi:nope/thing@0.2.0\" (instance " FN("f") "))", &err), -ENOTSUP,
	       "an interface the host lacks: refused");
	ok(strstr(err.message, "component \"t\" imports 1 interface or function spin-bridge does not provide: "
			       "wasi:nope/thing@0.2.0 (") != NULL,
	   "... naming the component and the import: %s", err.message);

	is_int(check("(import \"wasi:io/poll@0.2.6\" (instance " FN("poll") FN("frobnicate") "))"
		     "(import \"wasi:io/poll@0.3.0\" (instance " FN("poll") "))"
		     "(import \"wasi:config/store@0.2.0-draft-2025-01-01\" (instance " FN("get") "))",
		     &err),
	       -ENOTSUP, "a missing function, another minor line, another pre-release: refused");
	ok(strstr(err.message, "imports 3 interfaces or functions") != NULL &&
		   strstr(err.message, "wasi:io/poll@0.2.6#frobnicate") != NULL &&
		   strstr(err.message, "wasi:io/poll@0.3.0") != NULL &&
		   strstr(err.message, "wasi:config/store@0.2.0-draft-2025-01-01") != NULL &&
		   strchr(err.message, '\n') == NULL,
	   "... all three named in one line: %s", err.message);

	sk_err_clear(&err);
	is_int(wh_linker_new(engine, &linker, &err), 0, "every interface defines in a linker (%s)", err.message);
	if (linker)
		wasmtime_component_linker_delete(linker);
	wasm_engine_delete(engine);
	return tap_done();
}
