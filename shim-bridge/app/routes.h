/* Spin's HTTP routing for an app's triggers.
 *
 * Routes are prefixed by the app's base ("/" by default). A route is
 *   - exact:    "/a/b"         matches "/a/b" (and "/a/b/");
 *   - params:   "/u/:id/edit"  ":name" matches one whole, non-empty segment;
 *   - wildcard: "/static/..."  matches "/static" and everything under it
 *               ("/..." matches every path). A trailing "/" + "*" is read as "/...".
 * Private routes ({ private = true }) never match.
 *
 * Precedence (the rule Spin's router applies, written down here): compare
 * two matching routes segment by segment from the left; at the first
 * position where they differ in kind, a literal segment beats a ":param",
 * which beats the trailing wildcard, and an exact route that has ended beats
 * a wildcard that is still open at that position. Hence exact beats params
 * beats wildcard, and the longer wildcard prefix beats the shorter. Routes of
 * the same shape: the later trigger wins.
 *
 * Matching is on the raw path (no percent-decoding), as Spin does it; one
 * trailing '/' of the path is ignored. */
#ifndef SPINKUBE_APP_ROUTES_H
#define SPINKUBE_APP_ROUTES_H

#include <stddef.h>

#include "shim-bridge/app/app.h"
#include "common/err.h"

#define APP_ROUTE_MAX_SEGMENTS 64
#define APP_PATH_MAX (64 * 1024) /* longer request paths never match */

struct app_router;

struct app_route_param {
	const char *name; /* borrowed from the router */
	char *value;      /* owned by the match (raw, not decoded) */
};

/* One match. Strings marked "router" are borrowed and live as long as the
 * router; the rest are owned by the match and released by
 * app_route_match_clear(). */
struct app_route_match {
	size_t trigger;   /* index into app->triggers */
	size_t component; /* index into app->components */
	/* spin-* request headers */
	const char *matched_route;       /* router: base + route as written (spin-matched-route, X_MATCHED_ROUTE) */
	const char *base_path;           /* router: the app's base (spin-base-path, X_BASE_PATH) */
	const char *raw_component_route; /* router: route as written (spin-raw-component-route) */
	const char *component_route;     /* router: route without "/..." (spin-component-route) */
	char *path_info;                 /* owned: path after a wildcard's prefix, raw; "" otherwise (spin-path-info, X_RAW_PATH_INFO) */
	/* WAGI */
	const char *script_name; /* router: base + route without "/..." (SCRIPT_NAME) */
	char *path_info_decoded; /* owned: path_info percent-decoded (PATH_INFO) */
	struct app_route_param *params; /* owned array: spin-path-match-NAME */
	size_t n_params;
};

/* Build the router for app's triggers (the app may be freed afterwards: the
 * router keeps copies). Errors: a route that does not parse. */
int app_router_new(const struct app *app, struct app_router **out, struct sk_error *err);

void app_router_free(struct app_router *r);

/* Match a raw request path (no query). 0 with *m filled (clear it with
 * app_route_match_clear), -ENOENT when no route matches (send 404), or
 * -ENOMEM. *m is zeroed first in every case. */
int app_router_match(const struct app_router *r, const char *path, struct app_route_match *m);

/* Release what a match owns and zero it. Safe on a zeroed match. */
void app_route_match_clear(struct app_route_match *m);

/* Check a route's syntax ("/..." only at the end, ":name" segments with a
 * name of letters, digits, '_' or '-'). 0 or -EINVAL with the problem in err
 * (no file name: the caller prefixes it). */
int app_route_check(const char *route, struct sk_error *err);

#endif
