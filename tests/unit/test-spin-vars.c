/* Variables: provider order (SPIN_VARIABLE_X, then X, then the default),
 * required variables, and component templates. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim-bridge/app/app.h"
#include "tests/tap.h"
#include "common/toml.h"
#include "shim-bridge/app/vars.h"

/* A writable copy of a literal, for envp arrays. */
#define E(s) ((char[]){ s })

static const char *manifest =
	"spin_manifest_version = 2\n[application]\nname = \"v\"\n"
	"[variables]\nplain = { default = \"dflt\" }\nboth = { default = \"dflt\" }\nenv_only = { default = \"dflt\" }\n"
	"token = { required = true, secret = true }\n"
	"[component.web]\nsource = \"w.wasm\"\n"
	"[component.web.variables]\ngreeting = \"Hello {{ plain }} and {{both}}!\"\nraw = \"no braces } { here\"\n"
	"secret = \"{{token}}\"\nempty = \"\"\n"
	"[component.other]\nsource = \"o.wasm\"\n"
	"[[trigger.http]]\nroute = \"/...\"\ncomponent = \"web\"\n";

static struct app *load(const char *text)
{
	struct sk_error err = { 0 };
	json_object *root = NULL;
	struct app *app = NULL;

	if (sk_toml_parse(text, strlen(text), "v.toml", &root, &err) < 0 ||
	    app_from_manifest(root, "v.toml", "/nonexistent", APP_LOAD_NO_FS, &app, &err) < 0)
		printf("# load failed: %s\n", err.message);
	json_object_put(root);
	return app;
}

static int lookup_fixed(const char *name, const char **value, void *ud)
{
	(void)ud;
	if (strcmp(name, "a") == 0) {
		*value = "A";
		return 0;
	}
	return -ENOENT;
}

static void test_resolve(void)
{
	struct app *app = load(manifest);
	char *envp[] = { E("SPIN_VARIABLE_BOTH=from-prefixed"), E("BOTH=from-plain"), E("ENV_ONLY=from-plain"), E("TOKEN=t0k"),
		         E("PLAINX=no"), E("SPIN_VARIABLE_PLAIN"), NULL };
	char *none[] = { NULL };
	struct app_vars *vars = NULL;
	struct sk_error err = { 0 };

	ok(app != NULL, "fixture loads");
	if (!app)
		return;
	is_int(app_vars_resolve(app, envp, &vars, &err), 0, "resolve (%s)", err.message);
	is_str(app_vars_get(vars, "plain"), "dflt", "no env: the default");
	is_str(app_vars_get(vars, "both"), "from-prefixed", "SPIN_VARIABLE_BOTH wins over BOTH");
	is_str(app_vars_get(vars, "env_only"), "from-plain", "a plain upper-case env var beats the default");
	is_str(app_vars_get(vars, "token"), "t0k", "a required variable from the environment");
	ok(vars && vars->n == 4 && vars->items[3].secret, "secret flag carried");
	is_str(app_vars_get(vars, "nope"), NULL, "unknown variable: NULL");
	app_vars_free(vars);
	vars = NULL;

	ok(app_vars_resolve(app, none, &vars, &err) == -ENOENT && vars == NULL &&
	       strstr(err.message, "app variable \"token\" is required") && strstr(err.message, "SPIN_VARIABLE_TOKEN=..."),
	   "a missing required variable names it and how to set it (%s)", err.message);
	ok(app_vars_resolve(app, NULL, &vars, &err) == -ENOENT, "a NULL environment is an empty one");
	app_vars_free(NULL);
	app_free(app);
}

static void test_component_vars(void)
{
	struct app *app = load(manifest);
	char *envp[] = { E("SPIN_VARIABLE_TOKEN=s3cret"), E("BOTH=b"), NULL };
	struct app_vars *vars = NULL;
	struct sk_error err = { 0 };
	struct sk_kv *kv = NULL;
	size_t n = 0;
	char *v = NULL;

	if (!app || app_vars_resolve(app, envp, &vars, &err) < 0) {
		ok(0, "fixture (%s)", err.message);
		app_free(app);
		return;
	}
	is_int(app_component_var(app, vars, "web", "greeting", &v, &err), 0, "expand greeting");
	is_str(v, "Hello dflt and b!", "templates with and without inner spaces");
	free(v);
	v = NULL;
	is_int(app_component_var(app, vars, "web", "raw", &v, &err), 0, "text without {{ }}");
	is_str(v, "no braces } { here", "single braces are literal");
	free(v);
	v = NULL;
	is_int(app_component_var(app, vars, "web", "empty", &v, &err), 0, "empty template");
	is_str(v, "", "expands to empty");
	free(v);
	v = NULL;
	ok(app_component_var(app, vars, "web", "missing", &v, &err) == -ENOENT && strstr(err.message, "has no variable \"missing\""),
	   "unknown component variable");
	ok(app_component_var(app, vars, "nope", "x", &v, &err) == -ENOENT && strstr(err.message, "component \"nope\""),
	   "unknown component");
	ok(app_component_var(app, vars, "other", "greeting", &v, &err) == -ENOENT, "variables are per component");
	is_int(app_component_vars(app, vars, "web", &kv, &n, &err), 0, "list all of web's variables");
	is_int(n, 4, "four of them");
	ok(n == 4 && strcmp(kv[2].key, "secret") == 0 && strcmp(kv[2].value, "s3cret") == 0, "listed expanded, in order");
	sk_kv_free(kv, n);
	kv = NULL;
	is_int(app_component_vars(app, vars, "other", &kv, &n, &err), 0, "a component without variables");
	is_int(n, 0, "lists none");
	sk_kv_free(kv, n);
	app_vars_free(vars);
	app_free(app);
}

static void test_templates(void)
{
	struct sk_error err = { 0 };
	char *out = NULL, *big;

	is_int(app_template_expand("x{{a}}y{{ a }}z{{\ta\t}}", lookup_fixed, NULL, &out, &err), 0, "expand");
	is_str(out, "xAyAzA", "every form of braces");
	free(out);
	out = NULL;
	ok(app_template_expand("{{ b }}", lookup_fixed, NULL, &out, &err) == -ENOENT && strstr(err.message, "unknown variable \"b\""),
	   "unknown variable");
	ok(app_template_expand("a {{ a", lookup_fixed, NULL, &out, &err) == -EINVAL && strstr(err.message, "without \"}}\""),
	   "unterminated");
	ok(app_template_expand("{{}}", lookup_fixed, NULL, &out, &err) == -EINVAL && strstr(err.message, "does not name"),
	   "empty braces");
	ok(app_template_expand("{{ A }}", lookup_fixed, NULL, &out, &err) == -EINVAL, "upper case is not a variable name");
	ok(app_template_expand("{{ a b }}", lookup_fixed, NULL, &out, &err) == -EINVAL, "two words in braces");
	ok(out == NULL, "no output on failure");
	big = malloc(APP_VAR_VALUE_MAX + 2);
	memset(big, 'x', APP_VAR_VALUE_MAX + 1);
	big[APP_VAR_VALUE_MAX + 1] = '\0';
	ok(app_template_expand(big, lookup_fixed, NULL, &out, &err) == -E2BIG, "results past 1 MiB are refused");
	free(big);
}

int main(void)
{
	test_resolve();
	test_component_vars();
	test_templates();
	return tap_done();
}
