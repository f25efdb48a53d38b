/* libFuzzer target: locked-app JSON text into the app model. Content is not
 * read from disk (APP_LOAD_NO_FS) unless the input starts with '!', which
 * explores the paths that look files up (under /fuzz, which does not exist).
 * Nothing may crash, leak or hang; error messages are one line. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "shim-bridge/app/app.h"
#include "common/escape.h"
#include "shim-bridge/app/routes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sk_error err = { 0 };
	struct app *app = NULL;
	struct app_router *r = NULL;
	unsigned flags = APP_LOAD_NO_FS;

	if (size > 0 && data[0] == '!') {
		flags = 0;
		data++;
		size--;
	}
	if (app_from_locked((const char *)data, size, "fuzz.json", "/fuzz", flags, &app, &err) == 0) {
		if (app_router_new(app, &r, &err) == 0) {
			struct app_route_match m;
			if (app_router_match(r, "/a/b", &m) == 0 && m.component >= app->n_components)
				__builtin_trap();
			app_route_match_clear(&m);
			app_router_free(r);
		}
		app_free(app);
	}
	if (!sk_is_one_line(err.message))
		__builtin_trap();
	return 0;
}
