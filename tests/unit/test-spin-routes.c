/* HTTP routing: exact, ":param" and "/..." routes, the precedence between
 * them, private routes, the app base, and the values sent as spin-* headers
 * and WAGI variables. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim-bridge/app/app.h"
#include "shim-bridge/app/routes.h"
#include "tests/tap.h"
#include "common/toml.h"

/* A router over one component and the given routes (trigger i has route
 * routes[i]; "private" makes a private route), with app base base. */
static struct app_router *router(const char *base, const char *const *routes)
{
	char toml[8192];
	size_t n = 0;
	struct sk_error err = { 0 };
	json_object *root = NULL;
	struct app *app = NULL;
	struct app_router *r = NULL;

	n += (size_t)snprintf(toml + n, sizeof(toml) - n,
	                      "spin_manifest_version = 2\n[application]\nname = \"r\"\n[application.trigger.http]\nbase = \"%s\"\n"
	                      "[component.c]\nsource = \"c.wasm\"\n",
	                      base);
	for (size_t i = 0; routes[i]; i++) {
		if (strcmp(routes[i], "private") == 0)
			n += (size_t)snprintf(toml + n, sizeof(toml) - n, "[[trigger.http]]\nroute = { private = true }\ncomponent = \"c\"\n");
		else
			n += (size_t)snprintf(toml + n, sizeof(toml) - n, "[[trigger.http]]\nroute = \"%s\"\ncomponent = \"c\"\n", routes[i]);
	}
	if (sk_toml_parse(toml, n, "r.toml", &root, &err) < 0 ||
	    app_from_manifest(root, "r.toml", "/nonexistent", APP_LOAD_NO_FS, &app, &err) < 0 ||
	    app_router_new(app, &r, &err) < 0)
		printf("# router setup failed: %s\n", err.message);
	json_object_put(root);
	app_free(app);
	return r;
}

/* The trigger index path routes to, or -1. */
static long route_of(const struct app_router *r, const char *path)
{
	struct app_route_match m;
	long t = -1;

	if (r && app_router_match(r, path, &m) == 0)
		t = (long)m.trigger;
	app_route_match_clear(&m);
	return t;
}

static void test_exact(void)
{
	const char *routes[] = { "/foo", "/foo/bar", "/", NULL };
	struct app_router *r = router("/", routes);

	ok(r != NULL, "router built");
	is_int(route_of(r, "/foo"), 0, "/foo is exact");
	is_int(route_of(r, "/foo/"), 0, "a trailing slash is ignored");
	is_int(route_of(r, "/foo/bar"), 1, "/foo/bar");
	is_int(route_of(r, "/foo/bar/baz"), -1, "exact routes do not match below them");
	is_int(route_of(r, "/fo"), -1, "no partial segments");
	is_int(route_of(r, "/"), 2, "/ matches the root route");
	is_int(route_of(r, "/other"), -1, "no match: -1 (the caller sends 404)");
	is_int(route_of(r, "foo"), -1, "a path without a leading slash never matches");
	is_int(route_of(r, "/foo//"), -1, "an empty segment is not ignored");
	app_router_free(r);
}

static void test_wildcards(void)
{
	const char *routes[] = { "/static/...", "/one/...", "/one/two/...", "/one/two/three/...", "/x/*", NULL };
	const char *reversed[] = { "/one/two/three/...", "/one/two/...", "/one/...", NULL };
	const char *all[] = { "/...", "/one", NULL };
	struct app_router *r = router("/", routes), *rr = router("/", reversed), *ra = router("/", all);

	is_int(route_of(r, "/static"), 0, "/static/... matches /static");
	is_int(route_of(r, "/static/"), 0, "... and /static/");
	is_int(route_of(r, "/static/a/b.css"), 0, "... and everything below");
	is_int(route_of(r, "/staticx"), -1, "... but not /staticx");
	is_int(route_of(r, "/one/two/three/four"), 3, "the longest prefix wins");
	is_int(route_of(r, "/one/two/x"), 2, "the next longest");
	is_int(route_of(r, "/one"), 1, "the shortest for its own prefix");
	is_int(route_of(rr, "/one/two/three/four"), 0, "the longest prefix wins whatever the order");
	is_int(route_of(r, "/x/y"), 4, "/x/* is a trailing wildcard too");
	is_int(route_of(ra, "/one"), 1, "exact beats wildcard");
	is_int(route_of(ra, "/one/x"), 0, "the root wildcard takes the rest");
	is_int(route_of(ra, "/"), 0, "/... matches /");
	app_router_free(r);
	app_router_free(rr);
	app_router_free(ra);
}

static void test_params(void)
{
	const char *routes[] = { "/users/:id/edit", "/users/...", "/users/:id", "/users/me", "/u/:id/...", "/a/:x", "/a/:y",
		                 "/:any/fixed", NULL };
	struct app_router *r = router("/", routes);
	struct app_route_match m;

	is_int(route_of(r, "/users/42/edit"), 0, ":id matches one segment");
	is_int(route_of(r, "/users/42/edit/x"), 1, "... and no more: the wildcard takes it");
	is_int(route_of(r, "/users/1"), 2, "a param beats a wildcard");
	is_int(route_of(r, "/users/me"), 3, "a literal beats a param");
	is_int(route_of(r, "/users"), 1, "/users goes to the wildcard");
	is_int(route_of(r, "/users//edit"), 1, "a param does not match an empty segment");
	is_int(route_of(r, "/a/b"), 6, "same shape: the later trigger wins");
	is_int(route_of(r, "/users/fixed"), 2, "a literal first segment beats a param first segment");
	is_int(route_of(r, "/zz/fixed"), 7, "a leading param");

	ok(app_router_match(r, "/users/42/edit", &m) == 0 && m.n_params == 1 && strcmp(m.params[0].name, "id") == 0 &&
	       strcmp(m.params[0].value, "42") == 0,
	   "the param is captured (spin-path-match-id: 42)");
	is_str(m.path_info, "", "no path info for a route without wildcard");
	is_str(m.matched_route, "/users/:id/edit", "spin-matched-route");
	is_str(m.raw_component_route, "/users/:id/edit", "spin-raw-component-route");
	app_route_match_clear(&m);
	ok(m.params == NULL && m.path_info == NULL, "clear zeroes the match");

	ok(app_router_match(r, "/u/7/x/y%2Fz", &m) == 0 && m.n_params == 1 && strcmp(m.params[0].value, "7") == 0,
	   "param before a wildcard");
	is_str(m.path_info, "/x/y%2Fz", "path info after a param prefix, raw");
	is_str(m.path_info_decoded, "/x/y/z", "PATH_INFO is decoded");
	is_str(m.component_route, "/u/:id", "spin-component-route drops /...");
	app_route_match_clear(&m);
	app_router_free(r);
}

static void test_private_and_base(void)
{
	const char *only_private[] = { "private", NULL };
	const char *mixed[] = { "private", "/foo", "/static/...", "/", NULL };
	struct app_router *rp = router("/", only_private), *rb = router("/base/", mixed);
	struct app_route_match m;

	is_int(route_of(rp, "/"), -1, "a private route never matches");
	is_int(app_router_match(rp, "/x", &m), -ENOENT, "no match is -ENOENT");
	ok(m.path_info == NULL && m.trigger == 0, "and the match stays zeroed");
	is_int(route_of(rb, "/foo"), -1, "routes live under the base");
	is_int(route_of(rb, "/base/foo"), 1, "/base/foo");
	is_int(route_of(rb, "/base"), 3, "/base is the base's root route");
	is_int(route_of(rb, "/base/static/x"), 2, "wildcard under the base");

	ok(app_router_match(rb, "/base/foo", &m) == 0, "match under the base");
	is_str(m.matched_route, "/base/foo", "spin-matched-route includes the base");
	is_str(m.base_path, "/base/", "spin-base-path is the base as written");
	is_str(m.raw_component_route, "/foo", "spin-raw-component-route has no base");
	is_str(m.component_route, "/foo", "spin-component-route");
	is_str(m.script_name, "/base/foo", "SCRIPT_NAME");
	is_str(m.path_info, "", "spin-path-info is empty for exact routes");
	app_route_match_clear(&m);

	ok(app_router_match(rb, "/base/static/images/a%20b.png", &m) == 0, "wildcard match under the base");
	is_str(m.matched_route, "/base/static/...", "matched route keeps /...");
	is_str(m.raw_component_route, "/static/...", "raw component route keeps /...");
	is_str(m.component_route, "/static", "component route drops /...");
	is_str(m.script_name, "/base/static", "SCRIPT_NAME drops /...");
	is_str(m.path_info, "/images/a%20b.png", "spin-path-info / X_RAW_PATH_INFO are raw");
	is_str(m.path_info_decoded, "/images/a b.png", "PATH_INFO is decoded");
	is_int(m.n_params, 0, "no params");
	app_route_match_clear(&m);
	ok(app_router_match(rb, "/base/static/", &m) == 0, "trailing slash on a wildcard");
	is_str(m.path_info, "/", "keeps its slash in path info, as Spin does");
	app_route_match_clear(&m);
	app_router_free(rp);
	app_router_free(rb);
}

static void test_raw_matching_and_root(void)
{
	const char *routes[] = { "/caf%C3%A9", "/...", NULL };
	const char *root[] = { "/", NULL };
	struct app_router *r = router("/", routes), *rr = router("/", root);
	struct app_route_match m;

	is_int(route_of(r, "/caf%C3%A9"), 0, "a percent-encoded route matches the raw path");
	is_int(route_of(r, "/caf\xc3\xa9"), 1, "... not the decoded one");
	ok(app_router_match(r, "/", &m) == 0, "root wildcard");
	is_str(m.path_info, "/", "path info of / under /... is /");
	is_str(m.matched_route, "/...", "matched route /...");
	is_str(m.script_name, "", "SCRIPT_NAME of /... is empty, as Spin has it");
	app_route_match_clear(&m);
	ok(app_router_match(rr, "/", &m) == 0, "root exact route");
	is_str(m.matched_route, "", "base / + route / is \"\" as Spin joins them");
	is_str(m.raw_component_route, "/", "raw route is /");
	app_route_match_clear(&m);
	app_router_free(r);
	app_router_free(rr);
}

static void test_route_check(void)
{
	struct sk_error err = { 0 };

	is_int(app_route_check("/a/:b/c/...", &err), 0, "a param and a wildcard");
	is_int(app_route_check("nolead", &err), 0, "a route without leading slash is made absolute");
	ok(app_route_check("/.../x", &err) == -EINVAL && strstr(err.message, "wildcard before its end"), "... in the middle");
	ok(app_route_check("/a/*/b", &err) == -EINVAL, "* in the middle");
	ok(app_route_check("/:a.b", &err) == -EINVAL && strstr(err.message, "parameter"), "bad param name");
	ok(app_route_check("/:a/x/:a", &err) == -EINVAL && strstr(err.message, "twice"), "repeated param");
	ok(app_route_check("/:ab/:a", &err) == 0, "params that share a prefix are different");
}

int main(void)
{
	test_exact();
	test_wildcards();
	test_params();
	test_private_and_base();
	test_raw_matching_and_root();
	test_route_check();
	return tap_done();
}
