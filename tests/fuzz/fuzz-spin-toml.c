/* libFuzzer target: spin.toml text through our TOML parser, then the
 * manifest rules (without the file system: APP_LOAD_NO_FS), then the
 * router, the variable templates and the Redis triggers of whatever app
 * came out. Nothing may
 * crash, leak or hang, and every error message must be one line. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shim-bridge/app/app.h"
#include "common/escape.h"
#include "shim-bridge/app/routes.h"
#include "common/toml.h"
#include "shim-bridge/app/vars.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Redis triggers: a component of the app, a channel within the cap and an
 * address (its own or the app's). */
static void check_redis(const struct app *app)
{
	for (size_t i = 0; i < app->n_redis_triggers; i++) {
		const struct app_redis_trigger *t = &app->redis_triggers[i];
		if (t->component >= app->n_components || !t->channel[0] || strlen(t->channel) > APP_REDIS_CHANNEL_MAX ||
		    (!t->address && !app->redis_address))
			__builtin_trap();
	}
}

static void exercise(struct app *app)
{
	static const char *const paths[] = { "/", "/a", "/a/b/c", "/hello/", "/users/42/edit", "/static/x%20y" };
	struct sk_error err = { 0 };
	struct app_router *r = NULL;
	struct app_vars *vars = NULL;
	char *envp[] = { NULL };

	for (size_t i = 0; i < app->n_warnings; i++)
		if (!sk_is_one_line(app->warnings[i]))
			__builtin_trap(); /* warnings are one line too */
	if (app_router_new(app, &r, &err) == 0) {
		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			struct app_route_match m;
			if (app_router_match(r, paths[i], &m) == 0 && m.trigger >= app->n_triggers)
				__builtin_trap();
			app_route_match_clear(&m);
		}
		app_router_free(r);
	}
	if (app_vars_resolve(app, envp, &vars, &err) == 0) {
		for (size_t i = 0; i < app->n_components; i++) {
			struct sk_kv *kv = NULL;
			size_t n = 0;
			if (app_component_vars(app, vars, app->components[i].id, &kv, &n, &err) == 0)
				sk_kv_free(kv, n);
		}
		app_vars_free(vars);
	}
	check_redis(app);
	if (app->n_components > 0)
		(void)app_retain(app, app->components[0].id, &err);
	check_redis(app);
	if (!sk_is_one_line(err.message))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sk_error err = { 0 };
	json_object *root = NULL;
	struct app *app = NULL;

	if (sk_toml_parse((const char *)data, size, "fuzz.toml", &root, &err) == 0) {
		if (app_from_manifest(root, "fuzz.toml", "/fuzz", APP_LOAD_NO_FS, &app, &err) == 0) {
			exercise(app);
			app_free(app);
		}
		json_object_put(root);
	}
	if (!sk_is_one_line(err.message))
		__builtin_trap(); /* messages are one line */
	return 0;
}
