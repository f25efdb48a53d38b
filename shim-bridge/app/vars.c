/* Application variables: providers and "{{ var }}" templates. */
#include "shim-bridge/app/vars.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim-bridge/app/app-internal.h"
#include "common/buf.h"
#include "common/cleanup.h"

/* The value of key in envp ("K=V" strings), borrowed; NULL when unset. */
static const char *env_get(char *const *envp, const char *key)
{
	size_t n = strlen(key);

	for (; envp && *envp; envp++)
		if (strncmp(*envp, key, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/* The first provider's value for variable v (borrowed), or NULL. */
static const char *provide(const struct app_variable *v, char *const *envp, char *key, size_t keysz)
{
	size_t pre = strlen("SPIN_VARIABLE_");
	const char *val;

	(void)snprintf(key, keysz, "SPIN_VARIABLE_%s", v->name);
	for (char *p = key + pre; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	if ((val = env_get(envp, key)) != NULL)
		return val;
	if ((val = env_get(envp, key + pre)) != NULL)
		return val;
	return v->default_value;
}

void app_vars_free(struct app_vars *vars)
{
	if (!vars)
		return;
	for (size_t i = 0; vars->items && i < vars->n; i++) {
		free(vars->items[i].name);
		free(vars->items[i].value);
	}
	free(vars->items);
	free(vars);
}

int app_vars_resolve(const struct app *app, char *const *envp, struct app_vars **out,
                      struct sk_error *err)
{
	return app_vars_resolve_with(app, envp, NULL, NULL, out, err);
}

int app_vars_resolve_with(const struct app *app, char *const *envp, app_var_provider_fn first, void *ud,
                           struct app_vars **out, struct sk_error *err)
{
	struct app_vars *vars = calloc(1, sizeof(*vars));
	int r = 0;

	if (!vars || !(vars->items = calloc(app->n_variables + 1, sizeof(*vars->items)))) {
		free(vars);
		return sk_err(err, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < app->n_variables && r == 0; i++) {
		const struct app_variable *v = &app->variables[i];
		char key[256];
		const char *val = provide(v, envp, key, sizeof(key)), *fv = NULL;
		struct app_resolved_var *item = &vars->items[vars->n];

		if (first && first(ud, v->name, &fv) == 0 && fv)
			val = fv;
		if (strlen(v->name) > 200)
			r = sk_err(err, -EINVAL, "app variable \"%.64s...\": name too long", v->name);
		else if (!val)
			r = sk_err(err, -ENOENT, "app variable \"%s\" is required but has no value; set %s=... in the environment",
			           v->name, key);
		else if (strlen(val) > APP_VAR_VALUE_MAX)
			r = sk_err(err, -E2BIG, "app variable \"%s\": value longer than %d bytes", v->name, APP_VAR_VALUE_MAX);
		else if (!(item->name = strdup(v->name)) || !(item->value = strdup(val)))
			r = sk_err(err, -ENOMEM, "out of memory");
		if (item->name)
			vars->n++;
		item->secret = v->secret;
	}
	if (r < 0) {
		app_vars_free(vars);
		return app_err_line(err, r);
	}
	*out = vars;
	return 0;
}

const char *app_vars_get(const struct app_vars *vars, const char *name)
{
	for (size_t i = 0; vars && i < vars->n; i++)
		if (strcmp(vars->items[i].name, name) == 0)
			return vars->items[i].value;
	return NULL;
}

/* The variable name between "{{" and "}}" (s..e), whitespace trimmed, as a
 * new string; NULL when it is not a valid name (or out of memory: *oom). */
static char *brace_name(const char *s, const char *e, bool *oom)
{
	char *name;

	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (!(name = strndup(s, (size_t)(e - s)))) {
		*oom = true;
		return NULL;
	}
	if (!app_variable_name_ok(name)) {
		free(name);
		return NULL;
	}
	return name;
}

static int put(struct sk_buf *b, const char *s, size_t n, struct sk_error *err)
{
	int r = sk_buf_append(b, s, n);

	if (r == -E2BIG)
		return sk_err(err, r, "template expands to more than %d bytes", APP_VAR_VALUE_MAX);
	return r < 0 ? sk_err(err, r, "out of memory") : 0;
}

int app_template_expand(const char *tmpl, app_template_lookup lookup, void *ud, char **out,
                         struct sk_error *err)
{
	struct sk_buf b = sk_buf_make(APP_VAR_VALUE_MAX);
	const char *p = tmpl, *open;
	int r = 0;

	while (r == 0 && (open = strstr(p, "{{")) != NULL) {
		const char *close = strstr(open + 2, "}}"), *value = NULL;
		_cleanup_free_ char *name = NULL;
		bool oom = false;

		if ((r = put(&b, p, (size_t)(open - p), err)) < 0)
			break;
		if (!close) {
			r = sk_err(err, -EINVAL, "template \"%.60s\": \"{{\" without \"}}\"", tmpl);
		} else if (!(name = brace_name(open + 2, close, &oom))) {
			r = oom ? sk_err(err, -ENOMEM, "out of memory")
			        : sk_err(err, -EINVAL, "template \"%.60s\": \"{{ %.*s }}\" does not name a variable", tmpl,
			                 (int)(close - open - 2 > 40 ? 40 : close - open - 2), open + 2);
		} else if (lookup(name, &value, ud) < 0) {
			r = sk_err(err, -ENOENT, "template \"%.60s\" names unknown variable \"%s\"", tmpl, name);
		} else {
			r = put(&b, value, strlen(value), err);
			p = close + 2;
		}
	}
	if (r == 0)
		r = put(&b, p, strlen(p), err);
	if (r == 0 && !(*out = sk_buf_steal(&b, NULL)))
		r = sk_err(err, -ENOMEM, "out of memory");
	sk_buf_free(&b);
	return app_err_line(err, r);
}

static int lookup_vars(const char *name, const char **value, void *ud)
{
	const struct app_vars *vars = ((const struct app_vars *const *)ud)[0];

	*value = app_vars_get(vars, name);
	return *value ? 0 : -ENOENT;
}

static const struct app_component *find_component(const struct app *app, const char *id,
                                                   struct sk_error *err)
{
	long i = app_find_component(app, id);

	if (i < 0) {
		sk_err(err, -ENOENT, "component \"%.64s\" is not in the app", id);
		return NULL;
	}
	return &app->components[i];
}

int app_component_var(const struct app *app, const struct app_vars *vars, const char *component_id,
                       const char *name, char **value_out, struct sk_error *err)
{
	const struct app_component *c = find_component(app, component_id, err);
	const struct app_vars *ud[1] = { vars };

	if (!c)
		return -ENOENT;
	for (size_t i = 0; i < c->n_variables; i++) {
		if (strcmp(c->variables[i].key, name) != 0)
			continue;
		if (app_template_expand(c->variables[i].value, lookup_vars, ud, value_out, err) < 0)
			return sk_err_prefix(err, "component \"%s\": variable \"%s\"", c->id, name);
		return 0;
	}
	return sk_err(err, -ENOENT, "component \"%s\" has no variable \"%.64s\"", c->id, name);
}

int app_component_vars(const struct app *app, const struct app_vars *vars, const char *component_id,
                        struct sk_kv **out, size_t *n, struct sk_error *err)
{
	const struct app_component *c = find_component(app, component_id, err);
	struct sk_kv *kv;
	size_t done = 0;
	int r = 0;

	if (!c)
		return -ENOENT;
	if (!(kv = calloc(c->n_variables + 1, sizeof(*kv))))
		return sk_err(err, -ENOMEM, "out of memory");
	for (; done < c->n_variables && r == 0; done++) {
		char *value = NULL;
		if (!(kv[done].key = strdup(c->variables[done].key)))
			r = sk_err(err, -ENOMEM, "out of memory");
		else
			r = app_component_var(app, vars, component_id, kv[done].key, &value, err);
		kv[done].value = value;
	}
	if (r < 0) {
		sk_kv_free(kv, done);
		return r;
	}
	*out = kv;
	*n = done;
	return 0;
}

/* Spin's rules (spin_expressions::Key), so that a name Spin refuses is
 * refused here with the same words. */
int app_variable_name_check(const char *name, size_t len, struct sk_error *err)
{
	if (len == 0)
		return sk_err(err, -EINVAL, "must not be empty");
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')
			continue;
		if (c > 0x20 && c < 0x7f)
			return sk_err(err, -EINVAL,
			              "invalid character '%c'. Variable names may contain only "
			              "lower-case letters, numbers, and underscores.",
			              c);
		return sk_err(err, -EINVAL,
		              "invalid character (byte 0x%02x). Variable names may "
		              "contain only lower-case letters, numbers, and underscores.",
		              (unsigned char)c);
	}
	if (!(name[0] >= 'a' && name[0] <= 'z'))
		return sk_err(err, -EINVAL, "must start with a lowercase ASCII letter");
	if (name[len - 1] == '_')
		return sk_err(err, -EINVAL, "must end with a lowercase ASCII letter or digit");
	if (memmem(name, len, "__", 2))
		return sk_err(err, -EINVAL, "must not contain multiple consecutive underscores");
	return 0;
}
