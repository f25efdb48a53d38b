/* Component `files` globs -> file mounts.
 *
 * A pattern is split on '/'. A segment without wildcard characters is
 * looked up directly; "**" matches any number of directories (zero
 * included); other segments are fnmatch(3) patterns over one directory's
 * entries (a leading '.' is matched by '*', as Spin's glob does). Only the
 * directories the pattern can reach are read, so "*.html" next to a
 * spin.toml at / does not walk the whole root file system. Each regular
 * file matched is mounted at "/" + its path relative to the app directory. */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "shim-bridge/app/app-internal.h"
#include "common/cleanup.h"

#define GLOB_MAX_DEPTH 32
#define GLOB_MAX_SEGS 64

struct gw {
	const char *name, *where, *pattern;
	char *const *exclude;
	size_t n_exclude;
	struct app_component *c;
	struct sk_error *err;
	char *segs[GLOB_MAX_SEGS];
	size_t n_segs;
};

static bool has_magic(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* Match one path segment range [p, pe) against a pattern segment. */
static bool seg_match(const char *pat, size_t pn, const char *p, size_t n)
{
	char pbuf[256], sbuf[256];

	if (pn >= sizeof(pbuf) || n >= sizeof(sbuf))
		return false;
	memcpy(pbuf, pat, pn);
	pbuf[pn] = '\0';
	memcpy(sbuf, p, n);
	sbuf[n] = '\0';
	return fnmatch(pbuf, sbuf, 0) == 0;
}

bool app_glob_match(const char *pattern, const char *path)
{
	size_t pn = strcspn(pattern, "/"), n;

	if (pattern[0] == '\0')
		return path[0] == '\0';
	if (pn == 2 && memcmp(pattern, "**", 2) == 0) {
		const char *rest = pattern[2] ? pattern + 3 : pattern + 2;
		if (!*rest)
			return true;
		for (const char *p = path;; p++) {
			if ((p == path || p[-1] == '/') && app_glob_match(rest, p))
				return true;
			if (!*p)
				return false;
		}
	}
	if (path[0] == '\0')
		return false;
	n = strcspn(path, "/");
	if (!seg_match(pattern, pn, path, n))
		return false;
	if (!pattern[pn] || !path[n])
		return !pattern[pn] && !path[n];
	return app_glob_match(pattern + pn + 1, path + n + 1);
}

static bool excluded(const struct gw *g, const char *rel)
{
	for (size_t i = 0; i < g->n_exclude; i++)
		if (app_glob_match(g->exclude[i], rel))
			return true;
	return false;
}

/* Mount the regular file abs (relative path rel) unless excluded or seen. */
static int add_file(struct gw *g, const char *abs, const char *rel)
{
	struct app_file_mount *f;

	if (excluded(g, rel))
		return 0;
	for (size_t i = 0; i < g->c->n_files; i++)
		if (g->c->files[i].destination[0] == '/' && strcmp(g->c->files[i].destination + 1, rel) == 0)
			return 0;
	if (!(f = app_push(&g->c->files, &g->c->n_files, sizeof(*f))))
		return sk_err(g->err, errno == E2BIG ? -E2BIG : -ENOMEM, "%s: %s: files pattern \"%.100s\" matches more than %d files",
		              g->name, g->where, g->pattern, APP_MAX_ITEMS);
	f->source = strdup(abs);
	if (asprintf(&f->destination, "/%s", rel) < 0)
		f->destination = NULL;
	if (!f->source || !f->destination)
		return sk_err(g->err, -ENOMEM, "out of memory");
	return 0;
}

static int walk(struct gw *g, const char *abs, const char *rel, size_t i, int depth);

/* abs/name (rel/name) as the match of segment i: a file when i is the last
 * segment, a directory to go on in otherwise. */
static int visit(struct gw *g, const char *abs, const char *rel, const char *name, size_t i, int depth)
{
	_cleanup_free_ char *a = NULL, *r = NULL;
	struct stat st;

	if (asprintf(&a, "%s/%s", abs, name) < 0 || asprintf(&r, "%s%s%s", rel, rel[0] ? "/" : "", name) < 0) {
		a = r = NULL;
		return sk_err(g->err, -ENOMEM, "out of memory");
	}
	if (stat(a, &st) < 0)
		return 0;
	if (i + 1 == g->n_segs)
		return S_ISREG(st.st_mode) ? add_file(g, a, r) : 0;
	return S_ISDIR(st.st_mode) ? walk(g, a, r, i + 1, depth + 1) : 0;
}

/* Segment i is "**": zero directories, or one more and "**" again. When it
 * is the last segment it matches every file below. */
static int walk_any(struct gw *g, const char *abs, const char *rel, size_t i, int depth)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *e;
	int r = 0;

	if (i + 1 < g->n_segs && (r = walk(g, abs, rel, i + 1, depth)) < 0)
		return r;
	if (!(d = opendir(abs)))
		return 0;
	while (r == 0 && (e = readdir(d)) != NULL) {
		_cleanup_free_ char *a = NULL, *rr = NULL;
		struct stat st;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (asprintf(&a, "%s/%s", abs, e->d_name) < 0 ||
		    asprintf(&rr, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name) < 0) {
			a = rr = NULL;
			return sk_err(g->err, -ENOMEM, "out of memory");
		}
		if (stat(a, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth < GLOB_MAX_DEPTH)
			r = walk_any(g, a, rr, i, depth + 1);
		else if (S_ISREG(st.st_mode) && i + 1 == g->n_segs)
			r = add_file(g, a, rr);
	}
	return r;
}

/* Match segments i.. of the pattern below directory abs (rel relative). */
static int walk(struct gw *g, const char *abs, const char *rel, size_t i, int depth)
{
	_cleanup_closedir_ DIR *d = NULL;
	const char *seg = g->segs[i];
	struct dirent *e;
	int r = 0;

	if (depth > GLOB_MAX_DEPTH)
		return 0;
	if (strcmp(seg, "**") == 0)
		return walk_any(g, abs, rel, i, depth);
	if (!has_magic(seg))
		return visit(g, abs, rel, seg, i, depth);
	if (!(d = opendir(abs)))
		return 0;
	while (r == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fnmatch(seg, e->d_name, 0) == 0)
			r = visit(g, abs, rel, e->d_name, i, depth);
	}
	return r;
}

int app_files_glob(const char *name, const char *where, const char *dir, const char *pattern,
                   char *const *exclude, size_t n_exclude, struct app_component *c, struct sk_error *err)
{
	struct gw g = { .name = name, .where = where, .pattern = pattern, .exclude = exclude,
		        .n_exclude = n_exclude, .c = c, .err = err };
	_cleanup_free_ char *copy = strdup(pattern);
	char *s, *next;

	if (!copy)
		return sk_err(err, -ENOMEM, "out of memory");
	for (s = copy; s; s = next) {
		next = strchr(s, '/');
		if (next)
			*next++ = '\0';
		if (s[0] == '\0' || strcmp(s, ".") == 0)
			continue;
		if (g.n_segs == GLOB_MAX_SEGS)
			return sk_err(err, -EINVAL, "%s: %s: files pattern \"%.100s\" has too many parts", name, where, pattern);
		g.segs[g.n_segs++] = s;
	}
	if (g.n_segs == 0)
		return sk_err(err, -EINVAL, "%s: %s: files pattern \"%.100s\" names no file", name, where, pattern);
	return walk(&g, dir, "", 0, 0);
}
