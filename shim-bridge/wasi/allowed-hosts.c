/* allowed_outbound_hosts entries: parsing, validation and matching (see
 * allowed-hosts.h). Entries are parsed again for every check: a component
 * has a handful, and an outbound request costs far more than parsing them. */
#include "shim-bridge/wasi/allowed-hosts.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "common/err.h"

#define SCHEME_MAX 31

enum host_kind { HOST_ANY, HOST_SELF, HOST_NAME, HOST_SUFFIX, HOST_IP, HOST_CIDR };

struct rule {
	bool any_scheme;
	char scheme[SCHEME_MAX + 1]; /* lower case */
	enum host_kind kind;
	char name[WH_HOST_SIZE]; /* HOST_NAME: the name; HOST_SUFFIX: ".example.com" */
	int family;              /* HOST_IP, HOST_CIDR: AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned prefix; /* HOST_CIDR: leading bits that must match */
	bool any_port;
	unsigned port_lo, port_end; /* ports port_lo .. port_end-1 */
};

static unsigned well_known_port(const char *scheme)
{
	static const struct {
		const char *scheme;
		unsigned port;
	} known[] = {
	    {"http", 80},    {"https", 443},  {"postgres", 5432},
	    {"mysql", 3306}, {"redis", 6379}, {"rediss", 6379}, {"mqtt", 1883},
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcasecmp(known[i].scheme, scheme) == 0)
			return known[i].port;
	return 0;
}

/* A decimal number of 1-5 digits no larger than 65535, all of s[0..n). */
static bool parse_u16(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;

	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return false;
	*out = v;
	return true;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.' || c == '_';
}

/* A host name as far as matching cares: name characters only, at most 253
 * bytes (254 with a final dot). */
static bool valid_name(const char *s, size_t n)
{
	if (n == 0 || n > 254 || (n == 254 && s[253] != '.'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!name_char(s[i]))
			return false;
	return true;
}

/* An IPv4 or IPv6 address in s[0..n) (no brackets). */
static bool parse_ip(const char *s, size_t n, int *family, unsigned char addr[16])
{
	char buf[64];

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, buf, addr) == 1) {
		*family = AF_INET6;
		return true;
	}
	return false;
}

/* "addr/prefix" in s[0..n). */
static bool parse_cidr(const char *s, size_t n, struct rule *r)
{
	const char *slash = memchr(s, '/', n);
	unsigned prefix;

	if (!slash || !parse_ip(s, (size_t)(slash - s), &r->family, r->addr))
		return false;
	if (!parse_u16(slash + 1, n - (size_t)(slash + 1 - s), &prefix) ||
	    prefix > (r->family == AF_INET ? 32u : 128u))
		return false;
	r->kind = HOST_CIDR;
	r->prefix = prefix;
	return true;
}

static int parse_scheme(const char *s, size_t n, struct rule *r, struct sk_error *err)
{
	if (n == 1 && s[0] == '*') {
		r->any_scheme = true;
		return 0;
	}
	if (n == 0)
		return sk_err(err, -EINVAL,
		              "no scheme before \"://\"; write \"https://\", \"http://\" or \"*://\"");
	if (s[0] == '{')
		return sk_err(err, -EINVAL,
		              "scheme lists (\"{a,b}\") are not supported; write one entry per scheme");
	if (n > SCHEME_MAX)
		return sk_err(err, -EINVAL, "the scheme is longer than %d letters", SCHEME_MAX);
	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
			return sk_err(err, -EINVAL, "scheme \"%.*s\" must be letters (\"https\") or \"*\"",
			              (int)n, s);
		r->scheme[i] = (char)(s[i] | 0x20);
	}
	r->scheme[n] = '\0';
	return 0;
}

/* The host part, h[0..n): bracketed when the entry had "[...]". */
static int parse_host(const char *h, size_t n, bool bracketed, struct rule *r, struct sk_error *err)
{
	if (n == 0)
		return sk_err(err, -EINVAL, "no host; write \"https://example.com\", or \"*\" for any host");
	if (bracketed) {
		bool ok = memchr(h, '/', n) ? parse_cidr(h, n, r) : parse_ip(h, n, &r->family, r->addr);
		if (ok && r->family == AF_INET6) {
			if (r->kind != HOST_CIDR)
				r->kind = HOST_IP;
			return 0;
		}
		return sk_err(err, -EINVAL,
		              "\"[%.*s]\" is not an IPv6 address (\"[::1]\") or prefix (\"[fd00::/8]\")",
		              (int)n, h);
	}
	if (n == 1 && h[0] == '*') {
		r->kind = HOST_ANY;
		return 0;
	}
	if (n == 4 && memcmp(h, "self", 4) == 0) {
		r->kind = HOST_SELF;
		return 0;
	}
	if (h[0] == '{')
		return sk_err(err, -EINVAL,
		              "host lists (\"{a,b}\") are not supported; write one entry per host");
	if (memchr(h, '/', n)) {
		if (parse_cidr(h, n, r))
			return 0;
		return sk_err(err, -EINVAL,
		              "\"%.*s\" is neither a host nor an address/prefix (\"10.0.0.0/8\"); entries have no path",
		              (int)n, h);
	}
	if (n > 2 && h[0] == '*' && h[1] == '.') {
		if (memchr(h + 1, '*', n - 1) || !valid_name(h + 2, n - 2))
			return sk_err(err, -EINVAL,
			              "\"%.*s\" is not a valid wildcard; write \"*.example.com\"", (int)n, h);
		r->kind = HOST_SUFFIX;
		memcpy(r->name, h + 1, n - 1);
		r->name[n - 1] = '\0';
		return 0;
	}
	if (memchr(h, '*', n))
		return sk_err(err, -EINVAL,
		              "a wildcard may only be the whole host (\"*\") or a leading \"*.\" (\"*.example.com\")");
	if (parse_ip(h, n, &r->family, r->addr)) {
		if (r->family == AF_INET6)
			return sk_err(err, -EINVAL, "IPv6 addresses go in brackets: \"http://[%.*s]:8080\"",
			              (int)n, h);
		r->kind = HOST_IP;
		return 0;
	}
	if (memchr(h, ':', n))
		return sk_err(err, -EINVAL,
		              "\"%.*s\" is not a host; IPv6 addresses go in brackets (\"http://[::1]:8080\")",
		              (int)n, h);
	if (!valid_name(h, n))
		return sk_err(err, -EINVAL,
		              "\"%.*s\" is not a valid host name (letters, digits, '-', '.'; write "
		              "international names in their xn-- form)",
		              (int)n, h);
	r->kind = HOST_NAME;
	memcpy(r->name, h, n);
	r->name[n] = '\0';
	return 0;
}

static int parse_port(const char *p, size_t n, struct rule *r, struct sk_error *err)
{
	const char *dots;
	unsigned lo, hi;

	if (n == 0) {
		if (r->any_scheme)
			return sk_err(err, -EINVAL,
			              "\"*://\" entries need a port: add \":*\" or a number (\":443\")");
		lo = well_known_port(r->scheme);
		if (!lo)
			return sk_err(err, -EINVAL,
			              "scheme \"%s\" has no default port; add one (\":8080\") or \":*\"",
			              r->scheme);
		r->port_lo = lo;
		r->port_end = lo + 1;
		return 0;
	}
	if (n == 1 && p[0] == '*') {
		r->any_port = true;
		return 0;
	}
	if (p[0] == '{')
		return sk_err(err, -EINVAL,
		              "port lists (\"{a,b}\") are not supported; write one entry per port");
	dots = n >= 2 ? memmem(p, n, "..", 2) : NULL;
	if (dots) {
		if (!parse_u16(p, (size_t)(dots - p), &lo) ||
		    !parse_u16(dots + 2, n - (size_t)(dots + 2 - p), &hi))
			return sk_err(err, -EINVAL, "port range \"%.*s\" must be two numbers, \"8000..9000\"",
			              (int)n, p);
		r->port_lo = lo;
		r->port_end = hi; /* half-open, as Spin's */
		return 0;
	}
	if (!parse_u16(p, n, &lo))
		return sk_err(err, -EINVAL,
		              "port \"%.*s\" must be a number up to 65535, a range \"a..b\" or \"*\"", (int)n,
		              p);
	r->port_lo = lo;
	r->port_end = lo + 1;
	return 0;
}

/* Parse one entry into *r. 0, or -EINVAL with the problem and the fix in
 * err (not the entry itself, which the caller names). */
static int parse_rule(const char *entry, struct rule *r, struct sk_error *err)
{
	char buf[WH_ALLOWED_HOST_MAX + 1];
	const char *s, *end, *rest, *sep, *host, *port, *slash;
	size_t hn, pn;
	bool bracketed = false;
	int rc;

	memset(r, 0, sizeof(*r));
	if (!entry)
		return sk_err(err, -EINVAL, "no entry");
	for (s = entry; *s && isspace((unsigned char)*s); s++)
		;
	for (end = s + strlen(s); end > s && isspace((unsigned char)end[-1]); end--)
		;
	if (end == s)
		return sk_err(err, -EINVAL, "the entry is empty; write \"https://example.com\"");
	if ((size_t)(end - s) > WH_ALLOWED_HOST_MAX)
		return sk_err(err, -EINVAL, "the entry is longer than %d bytes", WH_ALLOWED_HOST_MAX);
	memcpy(buf, s, (size_t)(end - s));
	buf[end - s] = '\0';
	if (strcmp(buf, "insecure:allow-all") == 0)
		return sk_err(err, -EINVAL,
		              "\"insecure:allow-all\" is not allowed; write \"*://*:*\" to allow every host");
	if (strstr(buf, "{{"))
		return sk_err(err, -EINVAL,
		              "variable templates (\"{{ name }}\") are not supported in "
		              "allowed_outbound_hosts; write the host out (\"https://api.example.com\")");
	for (const char *c = buf; *c; c++)
		if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f)
			return sk_err(err, -EINVAL,
			              "the entry contains a space, a control or a non-ASCII character (write "
			              "international names in their xn-- form)");
	sep = strstr(buf, "://");
	if (!sep)
		return sk_err(err, -EINVAL,
		              "no scheme; write \"https://%.200s\" (or \"*://%.200s:PORT\" for any scheme)",
		              buf, buf);
	if ((rc = parse_scheme(buf, (size_t)(sep - buf), r, err)) < 0)
		return rc;
	rest = sep + 3;

	/* host and port: "[v6]:port", or split at the last ':' as Spin does
	 * (so "fd00::/8:443" is a CIDR with a port) */
	if (rest[0] == '[') {
		const char *close = strchr(rest, ']');
		if (!close)
			return sk_err(err, -EINVAL, "'[' without ']'; write IPv6 addresses as \"[::1]\"");
		host = rest + 1;
		hn = (size_t)(close - host);
		bracketed = true;
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] == '\0' || close[1] == '/')
			port = close + 1;
		else
			return sk_err(err, -EINVAL, "unexpected \"%s\" after \"]\"", close + 1);
		if (port[0] == '/' && port[1] != '\0')
			return sk_err(err, -EINVAL, "entries have no path; remove \"%s\"", port);
		if (port[0] == '/')
			port++;
	} else {
		const char *colon = strrchr(rest, ':');
		host = rest;
		if (colon) {
			hn = (size_t)(colon - rest);
			port = colon + 1;
		} else {
			hn = strlen(rest);
			port = rest + hn;
			while (hn > 0 && host[hn - 1] == '/') /* "https://example.com/" */
				hn--;
			slash = memchr(host, '/', hn);
			if (slash && !parse_cidr(host, hn, &(struct rule){0}))
				return sk_err(err, -EINVAL, "entries have no path; remove \"%s\"", slash);
		}
	}
	pn = strlen(port);
	slash = memchr(port, '/', pn);
	if (slash) {
		if (slash[1] != '\0')
			return sk_err(err, -EINVAL, "entries have no path; remove \"%s\"", slash);
		pn = (size_t)(slash - port);
	}
	if ((rc = parse_host(host, hn, bracketed, r, err)) < 0)
		return rc;
	return parse_port(port, pn, r, err);
}

int wh_allowed_hosts_validate(const char *entry, struct sk_error *err)
{
	struct rule r;

	return parse_rule(entry, &r, err);
}

/* Are the first bits of a and b equal? */
static bool prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned whole = bits / 8, rem = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rem == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rem));
	return (a[whole] & mask) == (b[whole] & mask);
}

static bool host_allows(const struct rule *r, const char *host)
{
	size_t hl = strlen(host), sl;
	unsigned char addr[16];
	int family;

	switch (r->kind) {
	case HOST_ANY:
		return true;
	case HOST_SELF:
		return false;
	case HOST_NAME:
		return strcasecmp(r->name, host) == 0;
	case HOST_SUFFIX:
		sl = strlen(r->name);
		return hl > sl && strcasecmp(host + hl - sl, r->name) == 0;
	case HOST_IP:
	case HOST_CIDR:
		if (!parse_ip(host, hl, &family, addr) || family != r->family)
			return false;
		return prefix_equal(addr, r->addr,
		                    r->kind == HOST_CIDR ? r->prefix : (family == AF_INET ? 32u : 128u));
	}
	return false;
}

static bool rule_allows(const struct rule *r, const char *scheme, const char *host, unsigned port)
{
	if (!r->any_scheme && strcasecmp(r->scheme, scheme) != 0)
		return false;
	if (!r->any_port && (port < r->port_lo || port >= r->port_end))
		return false;
	return host_allows(r, host);
}

bool wh_allowed_hosts_match(const char *const *entries, size_t n, const char *scheme, const char *host,
                            unsigned port)
{
	struct rule r;

	if (!scheme || !host)
		return false;
	for (size_t i = 0; i < n; i++)
		if (parse_rule(entries[i], &r, NULL) == 0 && rule_allows(&r, scheme, host, port))
			return true;
	return false;
}

bool wh_allowed_hosts_self(const char *const *entries, size_t n, const char *scheme)
{
	struct rule r;

	for (size_t i = 0; i < n; i++)
		if (parse_rule(entries[i], &r, NULL) == 0 && (r.kind == HOST_SELF || r.kind == HOST_ANY) &&
		    (r.any_scheme || strcasecmp(r.scheme, scheme) == 0))
			return true;
	return false;
}

int wh_authority_split(const char *scheme, const char *authority, char *host, size_t host_size,
                       unsigned *port)
{
	const char *h, *p = NULL;
	size_t hn, len;
	unsigned char addr[16];
	int family;

	if (!authority || !host || host_size == 0)
		return -EINVAL;
	len = strlen(authority);
	if (authority[0] == '[') {
		const char *close = memchr(authority, ']', len);
		if (!close)
			return -EINVAL;
		h = authority + 1;
		hn = (size_t)(close - h);
		if (!parse_ip(h, hn, &family, addr) || family != AF_INET6)
			return -EINVAL;
		if (close[1] == ':')
			p = close + 2;
		else if (close[1] != '\0')
			return -EINVAL;
	} else {
		const char *colon = memchr(authority, ':', len);
		h = authority;
		hn = colon ? (size_t)(colon - authority) : len;
		if (colon)
			p = colon + 1;
		if (!valid_name(h, hn))
			return -EINVAL;
	}
	if (hn >= host_size)
		return -EINVAL;
	if (p) {
		if (!parse_u16(p, strlen(p), port) || *port == 0)
			return -EINVAL;
	} else {
		*port = scheme ? well_known_port(scheme) : 0;
		if (!*port)
			return -EINVAL;
	}
	memcpy(host, h, hn);
	host[hn] = '\0';
	return 0;
}
