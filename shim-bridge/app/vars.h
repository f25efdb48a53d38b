/* Application variables: resolving their values at start and expanding the
 * components' "{{ var }}" templates.
 *
 * Providers, first hit wins (COMPAT.md section 3):
 *   1. the environment variable SPIN_VARIABLE_<NAME> (name upper-cased),
 *   2. the environment variable <NAME> (name upper-cased),
 *   3. the variable's default from the app.
 * A required variable with none of these is an error at start.
 *
 * Templates: "{{ name }}" with optional whitespace inside the braces is
 * replaced by the variable's value; any other text is copied as it is. A
 * "{{" without its "}}" is an error; there is no escape for a literal "{{"
 * (Spin's template syntax has none). */
#ifndef SPINKUBE_APP_VARS_H
#define SPINKUBE_APP_VARS_H

#include <stdbool.h>
#include <stddef.h>

#include "shim-bridge/app/app.h"
#include "common/err.h"

#define APP_VAR_VALUE_MAX (1024 * 1024) /* one value, resolved or expanded */

struct app_resolved_var {
	char *name;
	char *value;
	bool secret;
};

/* The app's variables with their values, in the app's order. */
struct app_vars {
	struct app_resolved_var *items;
	size_t n;
};

/* Resolve every app variable from envp (NULL-terminated "K=V" strings; the
 * caller's, borrowed) and the defaults. On success *out is new (free with
 * app_vars_free). A missing required variable is -ENOENT naming it and how
 * to set it. */
/* A provider asked before the environment and the defaults (the runtime
 * config's variable providers): 0 with *value (borrowed) or -ENOENT. */
typedef int (*app_var_provider_fn)(void *ud, const char *name, const char **value);

/* app_vars_resolve with `first` (may be NULL) asked before anything else. */
int app_vars_resolve_with(const struct app *app, char *const *envp, app_var_provider_fn first, void *ud,
                           struct app_vars **out, struct sk_error *err);

int app_vars_resolve(const struct app *app, char *const *envp, struct app_vars **out,
                      struct sk_error *err);

/* The value of app variable name, borrowed from vars; NULL when unknown. */
const char *app_vars_get(const struct app_vars *vars, const char *name);

void app_vars_free(struct app_vars *vars);

/* Look up one template variable: set *value (borrowed) and return 0, or
 * return -ENOENT when there is no such variable. */
typedef int (*app_template_lookup)(const char *name, const char **value, void *ud);

/* Expand tmpl with lookup. On success *out is a new string (caller frees).
 * Errors: unterminated "{{", an invalid name inside braces, an unknown
 * variable (-ENOENT), a result past APP_VAR_VALUE_MAX (-E2BIG). Messages
 * name the template's problem, not the file: callers prefix that. */
int app_template_expand(const char *tmpl, app_template_lookup lookup, void *ud, char **out,
                         struct sk_error *err);

/* The value of variable name of component component_id: its template
 * expanded with vars. *value_out is new (caller frees). -ENOENT when the
 * component or the variable does not exist. */
int app_component_var(const struct app *app, const struct app_vars *vars, const char *component_id,
                       const char *name, char **value_out, struct sk_error *err);

/* All variables of component_id, expanded: *out is a new array of *n pairs
 * (free with sk_kv_free). */
int app_component_vars(const struct app *app, const struct app_vars *vars, const char *component_id,
                        struct sk_kv **out, size_t *n, struct sk_error *err);

/* 0 when name[0..len) is a valid Spin variable name as Spin's
 * variables interface checks a guest's name: lowercase ASCII letters,
 * digits and single underscores, starting with a letter and ending with a
 * letter or digit. Otherwise -EINVAL with the reason, as Spin words it, in
 * err (may be NULL). Stricter than app_variable_name_ok (app.h), which is
 * the manifest's rule. */
int app_variable_name_check(const char *name, size_t len, struct sk_error *err);

#endif
