/* Database URLs (see db-url.h). */
#include "shim-bridge/wasi/db-url.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/hex.h"

void wh_db_url_clear(struct wh_db_url *u)
{
	if (!u)
		return;
	free(u->host);
	free(u->user);
	if (u->password)
		memset(u->password, 0, strlen(u->password));
	free(u->password);
	free(u->database);
	for (size_t i = 0; i < u->n_params; i++) {
		free(u->params[i].key);
		free(u->params[i].value);
	}
	*u = (struct wh_db_url){0};
}

/* s[0..n) percent-decoded into *out (new). -EINVAL on a bad escape, a NUL
 * or more than WH_DB_URL_PART_MAX bytes decoded; -ENOMEM. */
static int decode(const char *s, size_t n, char **out)
{
	char *d;
	size_t k = 0;

	if (!(d = malloc(n + 1)))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			int hi = i + 2 < n ? sk_hexval(s[i + 1]) : -1;
			int lo = i + 2 < n ? sk_hexval(s[i + 2]) : -1;
			if (hi < 0 || lo < 0)
				goto bad;
			c = hi << 4 | lo;
			i += 2;
		}
		if (c == 0 || k >= WH_DB_URL_PART_MAX)
			goto bad;
		d[k++] = (char)c;
	}
	d[k] = '\0';
	*out = d;
	return 0;
bad:
	memset(d, 0, n + 1); /* may be a password */
	free(d);
	return -EINVAL;
}

static bool host_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.' || c == '_';
}

/* host[:port] in a[0..n) into u->host and u->port. */
static int parse_hostport(const char *a, size_t n, unsigned default_port, struct wh_db_url *u,
                          struct sk_error *err)
{
	const char *h = a, *he, *end = a + n, *p;

	if (n && *a == '[') {
		h = a + 1;
		if (!(he = memchr(h, ']', n - 1)))
			return sk_err(err, -EINVAL, "an IPv6 address needs its closing ']'");
		for (const char *q = h; q < he; q++)
			if (sk_hexval(*q) < 0 && *q != ':' && *q != '.')
				return sk_err(
				    err, -EINVAL,
				    "the IPv6 address holds 0x%02x (hex digits, ':' and '.' only; no zone)",
				    (unsigned char)*q);
		if (he == h || !memchr(h, ':', (size_t)(he - h)))
			return sk_err(err, -EINVAL, "the brackets hold no IPv6 address");
		p = he + 1;
	} else {
		for (he = h; he < end && host_char((unsigned char)*he); he++)
			;
		p = he;
	}
	if (he == h)
		return sk_err(err, -EINVAL, "the address names no host: write %s",
		              "scheme://user:password@host:port/database");
	if ((size_t)(he - h) > WH_DB_URL_HOST_MAX)
		return sk_err(err, -EINVAL, "the host is longer than %d bytes", WH_DB_URL_HOST_MAX);
	u->port = default_port;
	if (p < end && *p == ':') {
		unsigned long v = 0;
		size_t digits = (size_t)(end - p - 1);
		if (digits == 0 || digits > 5)
			return sk_err(err, -EINVAL, "the port must be a number from 1 to 65535");
		for (const char *q = p + 1; q < end; q++) {
			if (*q < '0' || *q > '9')
				return sk_err(err, -EINVAL, "the port must be a number from 1 to 65535");
			v = v * 10 + (unsigned long)(*q - '0');
		}
		if (v < 1 || v > 65535)
			return sk_err(err, -EINVAL, "the port must be a number from 1 to 65535");
		u->port = (unsigned)v;
	} else if (p < end) {
		/* name the character only: the rest may be a password */
		return sk_err(err, -EINVAL,
		              "unexpected character 0x%02x after the host (a host is letters, digits, '-', "
		              "'.', '_' or [IPv6])",
		              (unsigned char)*p);
	}
	if (!(u->host = strndup(h, (size_t)(he - h))))
		return sk_err(err, -ENOMEM, "out of memory");
	return 0;
}

/* The query q[0..n): key=value pairs joined by '&'. */
static int parse_query(const char *q, size_t n, struct wh_db_url *u, struct sk_error *err)
{
	const char *end = q + n;

	while (q < end) {
		const char *amp = memchr(q, '&', (size_t)(end - q)), *pe = amp ? amp : end, *eq;
		struct wh_db_url_param *pp;
		int r;

		if (pe == q) {
			q = pe + 1;
			continue;
		}
		if (u->n_params >= WH_DB_URL_PARAMS_MAX)
			return sk_err(err, -EINVAL, "the query holds more than %d parameters",
			              WH_DB_URL_PARAMS_MAX);
		pp = &u->params[u->n_params];
		eq = memchr(q, '=', (size_t)(pe - q));
		if (eq == q)
			return sk_err(err, -EINVAL, "a query parameter has no name");
		if ((r = decode(q, (size_t)((eq ? eq : pe) - q), &pp->key)) < 0)
			return sk_err(err, r,
			              r == -ENOMEM ? "out of memory"
			                           : "a query parameter's name has a bad %%-escape, a NUL "
			                             "or is too long");
		if (eq)
			r = decode(eq + 1, (size_t)(pe - eq - 1), &pp->value);
		else
			r = (pp->value = strdup("")) ? 0 : -ENOMEM;
		if (r < 0) {
			free(pp->key);
			pp->key = NULL;
			return sk_err(err, r,
			              r == -ENOMEM ? "out of memory"
			                           : "the value of a query parameter has a bad %%-escape, "
			                             "a NUL or is too long");
		}
		u->n_params++;
		q = pe + (amp ? 1 : 0);
	}
	return 0;
}

int wh_db_url_parse(const char *url, size_t n, const char *scheme, unsigned default_port,
                    struct wh_db_url *out, struct sk_error *err)
{
	struct wh_db_url u = {0};
	size_t sl = strlen(scheme);
	const char *p, *end, *auth_end, *at = NULL;
	int r;

	if (n > WH_DB_URL_MAX)
		return sk_err(err, -EINVAL, "the address is longer than %d bytes", WH_DB_URL_MAX);
	if (memchr(url, 0, n))
		return sk_err(err, -EINVAL, "the address holds a NUL");
	if (n < sl + 3 || strncasecmp(url, scheme, sl) != 0 || memcmp(url + sl, "://", 3) != 0)
		return sk_err(err, -EINVAL,
		              "the address must start with %s://, as in %s://user:password@host/db", scheme,
		              scheme);
	p = url + sl + 3;
	end = url + n;
	if (memchr(p, '#', (size_t)(end - p)))
		return sk_err(err, -EINVAL, "the address holds a fragment ('#'): percent-encode it as %%23");
	for (auth_end = p; auth_end < end && *auth_end != '/' && *auth_end != '?'; auth_end++)
		if (*auth_end == '@')
			at = auth_end;
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		if ((r = decode(p, (size_t)((colon ? colon : at) - p), &u.user)) < 0 ||
		    (colon && (r = decode(colon + 1, (size_t)(at - colon - 1), &u.password)) < 0)) {
			wh_db_url_clear(&u);
			return sk_err(err, r,
			              r == -ENOMEM ? "out of memory"
			                           : "the user or password has a bad %%-escape, a NUL or is "
			                             "longer than %d bytes",
			              WH_DB_URL_PART_MAX);
		}
		if (!*u.user) {
			free(u.user);
			u.user = NULL;
		}
		p = at + 1;
	}
	if ((r = parse_hostport(p, (size_t)(auth_end - p), default_port, &u, err)) < 0)
		goto fail;
	p = auth_end;
	if (p < end && *p == '/') {
		const char *qm = memchr(p, '?', (size_t)(end - p)), *de = qm ? qm : end;
		if (de > p + 1 && (r = decode(p + 1, (size_t)(de - p - 1), &u.database)) < 0) {
			(void)sk_err(err, r,
			             r == -ENOMEM ? "out of memory"
			                          : "the database name has a bad %%-escape, a NUL or is "
			                            "longer than %d bytes",
			             WH_DB_URL_PART_MAX);
			goto fail;
		}
		p = de;
	}
	if (p < end && *p == '?' && (r = parse_query(p + 1, (size_t)(end - p - 1), &u, err)) < 0)
		goto fail;
	*out = u;
	return 0;
fail:
	wh_db_url_clear(&u);
	return r;
}
