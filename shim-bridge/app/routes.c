/* HTTP route matching (the rules are in routes.h).
 *
 * Each public trigger becomes a list of segment matchers built from its
 * "based" route: the app base and the route, each with one trailing '/'
 * dropped, as Spin joins them. A request is tried against every route and
 * the most specific match is kept; apps have few routes, so a linear scan
 * is both simple and fast enough. */
#include "shim-bridge/app/routes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim-bridge/app/app-internal.h"
#include "common/cleanup.h"

enum seg_kind { SEG_WILD = 0, SEG_PARAM = 1, SEG_LIT = 2, SEG_END = 3 };

struct seg {
	enum seg_kind kind; /* SEG_LIT or SEG_PARAM */
	char *text;         /* literal text, or the parameter name */
	size_t len;
};

struct route {
	size_t trigger, component;
	char *matched_route;   /* base + route as written */
	char *raw_route;       /* route as written */
	char *component_route; /* route without "/..." */
	char *script_name;     /* base + route without "/..." */
	struct seg *segs;      /* the part before a wildcard */
	size_t n_segs;
	bool wildcard;
};

struct app_router {
	char *base;
	struct route *routes;
	size_t n;
};

/* s with one trailing '/' dropped (and a leading '/' added when absolute is
 * asked for), as a new string. */
static char *sanitize(const char *s, bool absolute)
{
	size_t n = strlen(s);
	char *out = NULL;

	if (n > 0 && s[n - 1] == '/')
		n--;
	if (asprintf(&out, "%s%.*s", absolute && s[0] != '/' ? "/" : "", (int)n, s) < 0)
		return NULL;
	return out;
}

/* Length of route without its wildcard suffix ("/..." or "/" + "*"), and
 * whether it had one. */
static size_t strip_wildcard(const char *route, bool *wild)
{
	size_t n = strlen(route);

	*wild = false;
	if ((n >= 4 && strcmp(route + n - 4, "/...") == 0) || (n >= 2 && strcmp(route + n - 2, "/*") == 0)) {
		*wild = true;
		return n - (route[n - 1] == '*' ? 2 : 4);
	}
	return n;
}

static bool param_name_ok(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static int route_check(const char *route, struct sk_error *err)
{
	_cleanup_free_ char *abs = sanitize(route, true);
	size_t n, nsegs = 0, pstart[APP_ROUTE_MAX_SEGMENTS], plen[APP_ROUTE_MAX_SEGMENTS], np = 0;
	bool wild;

	if (!abs)
		return sk_err(err, -ENOMEM, "out of memory");
	if (strlen(abs) > 4096)
		return sk_err(err, -EINVAL, "is longer than 4096 bytes");
	n = strip_wildcard(abs, &wild);
	for (size_t i = 0; i < n;) {
		size_t start = i + 1, end = start;
		while (end < n && abs[end] != '/')
			end++;
		if (++nsegs > APP_ROUTE_MAX_SEGMENTS)
			return sk_err(err, -EINVAL, "has more than %d segments", APP_ROUTE_MAX_SEGMENTS);
		if ((end - start == 3 && memcmp(abs + start, "...", 3) == 0) || (end - start == 1 && abs[start] == '*'))
			return sk_err(err, -EINVAL, "has a wildcard before its end; \"/...\" may only end a route");
		if (abs[start] == ':' && !param_name_ok(abs + start + 1, end - start - 1))
			return sk_err(err, -EINVAL, "has a parameter without a valid name (use :name with letters, digits, '_' or '-')");
		for (size_t k = 0; abs[start] == ':' && k < np; k++)
			if (plen[k] == end - start && memcmp(abs + pstart[k], abs + start, plen[k]) == 0)
				return sk_err(err, -EINVAL, "names parameter %.*s twice", (int)plen[k], abs + start);
		if (abs[start] == ':')
			pstart[np] = start, plen[np++] = end - start;
		i = end;
	}
	return 0;
}

int app_route_check(const char *route, struct sk_error *err)
{
	return app_err_line(err, route_check(route, err));
}

static void route_clear(struct route *rt)
{
	free(rt->matched_route);
	free(rt->raw_route);
	free(rt->component_route);
	free(rt->script_name);
	for (size_t i = 0; rt->segs && i < rt->n_segs; i++)
		free(rt->segs[i].text);
	free(rt->segs);
}

void app_router_free(struct app_router *r)
{
	if (!r)
		return;
	for (size_t i = 0; r->routes && i < r->n; i++)
		route_clear(&r->routes[i]);
	free(r->routes);
	free(r->base);
	free(r);
}

/* Split the prefix s[0..n) ("/a/:b") into segment matchers. */
static int split_segments(struct route *rt, const char *s, size_t n)
{
	size_t count = 0;

	for (size_t i = 0; i < n; i++)
		count += s[i] == '/';
	if (!(rt->segs = calloc(count + 1, sizeof(*rt->segs))))
		return -ENOMEM;
	for (size_t i = 0; i < n;) {
		size_t start = i + 1, end = start;
		struct seg *sg = &rt->segs[rt->n_segs++];
		while (end < n && s[end] != '/')
			end++;
		sg->kind = (end > start && s[start] == ':') ? SEG_PARAM : SEG_LIT;
		if (sg->kind == SEG_PARAM)
			start++;
		sg->len = end - start;
		if (!(sg->text = strndup(s + start, sg->len)))
			return -ENOMEM;
		i = end;
	}
	return 0;
}

/* Precompute everything a match hands out for trigger t under base. */
static int route_build(struct route *rt, const char *base, const struct app_trigger *t)
{
	_cleanup_free_ char *b = sanitize(base, false), *raw = sanitize(t->route, true);
	size_t n;

	if (!b || !raw || !(rt->raw_route = strdup(t->route)))
		return -ENOMEM;
	if (asprintf(&rt->matched_route, "%s%s", b, raw) < 0) {
		rt->matched_route = NULL;
		return -ENOMEM;
	}
	n = strip_wildcard(rt->matched_route, &rt->wildcard);
	if (!(rt->script_name = strndup(rt->matched_route, n)))
		return -ENOMEM;
	n = strip_wildcard(t->route, &rt->wildcard);
	if (!(rt->component_route = strndup(t->route, n)))
		return -ENOMEM;
	return split_segments(rt, rt->script_name, strlen(rt->script_name));
}

int app_router_new(const struct app *app, struct app_router **out, struct sk_error *err)
{
	struct app_router *r = calloc(1, sizeof(*r));
	int rc = 0;

	if (!r || !(r->base = strdup(app->base ? app->base : "/")) ||
	    !(r->routes = calloc(app->n_triggers + 1, sizeof(*r->routes)))) {
		app_router_free(r);
		return sk_err(err, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < app->n_triggers && rc == 0; i++) {
		const struct app_trigger *t = &app->triggers[i];
		struct route *rt;
		if (t->is_private || !t->route)
			continue;
		if ((rc = app_route_check(t->route, err)) < 0) {
			sk_err_prefix(err, "trigger \"%s\": route \"%.100s\"", t->id, t->route);
			break;
		}
		rt = &r->routes[r->n++];
		if ((rc = route_build(rt, r->base, t)) < 0)
			sk_err(err, rc, "out of memory");
		rt->trigger = i;
		rt->component = t->component;
	}
	if (rc < 0) {
		app_router_free(r);
		return app_err_line(err, rc);
	}
	*out = r;
	return 0;
}

/* Does rt match path[0..n)? On a match *rest is where a wildcard's
 * remainder starts. */
static bool route_matches(const struct route *rt, const char *path, size_t n, size_t *rest)
{
	size_t pos = 0;

	for (size_t i = 0; i < rt->n_segs; i++) {
		const struct seg *sg = &rt->segs[i];
		size_t start, end;
		if (pos >= n || path[pos] != '/')
			return false;
		start = pos + 1;
		end = start;
		while (end < n && path[end] != '/')
			end++;
		if (sg->kind == SEG_LIT ? (end - start != sg->len || memcmp(path + start, sg->text, sg->len) != 0)
		                        : end == start)
			return false;
		pos = end;
	}
	*rest = pos;
	return rt->wildcard || pos == n;
}

static enum seg_kind kind_at(const struct route *rt, size_t i)
{
	if (i < rt->n_segs)
		return rt->segs[i].kind;
	return rt->wildcard ? SEG_WILD : SEG_END;
}

/* True when a is at least as specific as b (ties go to a, the later one). */
static bool more_specific(const struct route *a, const struct route *b)
{
	size_t n = (a->n_segs > b->n_segs ? a->n_segs : b->n_segs) + 1;

	for (size_t i = 0; i < n; i++) {
		enum seg_kind ka = kind_at(a, i), kb = kind_at(b, i);
		if (ka != kb)
			return ka > kb;
	}
	return true;
}

/* Percent-decode s; bad escapes are kept as they are. */
static char *percent_decode(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		static const char hex[] = "0123456789abcdef0123456789ABCDEF";
		const char *h1 = s[0] == '%' && s[1] ? strchr(hex, s[1]) : NULL;
		const char *h2 = h1 && s[2] ? strchr(hex, s[2]) : NULL;
		if (h1 && h2) {
			*o++ = (char)(((h1 - hex) % 16) * 16 + (h2 - hex) % 16);
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return out;
}

/* Fill m from the winning route. */
static int fill_match(const struct app_router *r, const struct route *rt, const char *path, size_t n,
                      size_t rest, struct app_route_match *m)
{
	size_t pos = 0, np = 0;

	m->trigger = rt->trigger;
	m->component = rt->component;
	m->matched_route = rt->matched_route;
	m->base_path = r->base;
	m->raw_component_route = rt->raw_route;
	m->component_route = rt->component_route;
	m->script_name = rt->script_name;
	m->path_info = strdup(rt->wildcard ? path + rest : "");
	if (!m->path_info || !(m->path_info_decoded = percent_decode(m->path_info)) ||
	    !(m->params = calloc(rt->n_segs + 1, sizeof(*m->params))))
		return -ENOMEM;
	for (size_t i = 0; i < rt->n_segs; i++) {
		size_t start = pos + 1, end = start;
		while (end < n && path[end] != '/')
			end++;
		if (rt->segs[i].kind == SEG_PARAM) {
			m->params[np].name = rt->segs[i].text;
			if (!(m->params[np++].value = strndup(path + start, end - start)))
				return -ENOMEM;
			m->n_params = np;
		}
		pos = end;
	}
	return 0;
}

int app_router_match(const struct app_router *r, const char *path, struct app_route_match *m)
{
	const struct route *best = NULL;
	size_t n = strlen(path), best_rest = 0;
	int rc;

	memset(m, 0, sizeof(*m));
	if (n > APP_PATH_MAX || (n > 0 && path[0] != '/'))
		return -ENOENT;
	if (n > 0 && path[n - 1] == '/')
		n--; /* "/a/" is "/a"; "/" is the root */
	for (size_t i = 0; i < r->n; i++) {
		size_t rest;
		if (route_matches(&r->routes[i], path, n, &rest) && (!best || more_specific(&r->routes[i], best))) {
			best = &r->routes[i];
			best_rest = rest;
		}
	}
	if (!best)
		return -ENOENT;
	rc = fill_match(r, best, path, n, best_rest, m);
	if (rc < 0)
		app_route_match_clear(m);
	return rc;
}

void app_route_match_clear(struct app_route_match *m)
{
	free(m->path_info);
	free(m->path_info_decoded);
	for (size_t i = 0; m->params && i < m->n_params; i++)
		free(m->params[i].value);
	free(m->params);
	memset(m, 0, sizeof(*m));
}
