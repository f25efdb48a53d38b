/* Reference parsing, following the grammar of the distribution project's
 * reference package in spirit: lowercase path components separated by '/',
 * each made of [a-z0-9] runs joined by '.', '_', '__' or '-'; tags of at
 * most 128 of [A-Za-z0-9_.-] not starting with '.' or '-'. */
#include "cli/ref.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/sha256.h"

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One path component: [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)* */
static bool component_ok(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return false;
	while (i < n) {
		if (is_lower_alnum(s[i])) {
			i++;
			continue;
		}
		size_t j = i;
		while (j < n && !is_lower_alnum(s[j]))
			j++;
		size_t sep = j - i;
		bool dashes = strspn(s + i, "-") >= sep;
		if (!(dashes || (sep == 1 && (s[i] == '.' || s[i] == '_')) || (sep == 2 && s[i] == '_' && s[i + 1] == '_')))
			return false;
		i = j;
	}
	return true;
}

static bool path_ok(const char *s)
{
	const char *p = s;

	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (!component_ok(p, n))
			return false;
		if (!slash)
			return true;
		p = slash + 1;
	}
}

static bool tag_ok(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > OCI_TAG_MAX || t[0] == '.' || t[0] == '-')
		return false;
	return strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

/* host[:port], or [v6]:port: letters, digits, '.', '-', and a numeric port. */
static bool host_ok(const char *h)
{
	const char *port = NULL;

	if (h[0] == '[') {
		const char *end = strchr(h, ']');
		if (!end || end == h + 1 || strspn(h + 1, "0123456789abcdefABCDEF:.") != (size_t)(end - h - 1))
			return false;
		if (end[1] == '\0')
			return true;
		if (end[1] != ':')
			return false;
		port = end + 2;
	} else {
		size_t n = strcspn(h, ":");
		if (n == 0 || strspn(h, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-") != n ||
		    h[0] == '-' || h[0] == '.')
			return false;
		if (h[n] == ':')
			port = h + n + 1;
	}
	if (!port)
		return true;
	size_t pn = strlen(port);
	return pn >= 1 && pn <= 5 && strspn(port, "0123456789") == pn;
}

bool oci_host_is_loopback(const char *host)
{
	char name[OCI_HOST_MAX];
	size_t n;

	if (strncmp(host, "[::1]", 5) == 0)
		return host[5] == '\0' || host[5] == ':';
	n = strcspn(host, ":");
	if (n >= sizeof(name))
		return false;
	memcpy(name, host, n);
	name[n] = '\0';
	if (strcmp(name, "localhost") == 0)
		return true;
	/* 127.x.y.z: four dot-separated numbers, the first 127. */
	unsigned a, b, c, d;
	char extra;
	return sscanf(name, "%u.%u.%u.%u%c", &a, &b, &c, &d, &extra) == 4 && a == 127 && b < 256 && c < 256 &&
	       d < 256 && strspn(name, "0123456789.") == n;
}

const char *oci_ref_target(const struct oci_ref *r)
{
	return r->digest[0] ? r->digest : r->tag;
}

static int copy(char *dst, size_t size, const char *src, size_t n)
{
	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

int oci_ref_parse(const char *s, struct oci_ref *out, struct sk_error *err)
{
	struct oci_ref r = { 0 };
	const char *at, *slash, *rest, *colon;
	size_t len = strlen(s);

	if (len == 0 || len > 1024)
		return sk_err(err, -EINVAL, "reference \"%.100s\": give HOST[:PORT]/PATH[:TAG][@sha256:DIGEST], at most 1024 characters", s);
	/* The digest comes after '@'. */
	if ((at = strchr(s, '@'))) {
		if (!sk_sha256_digest_ok(at + 1))
			return sk_err(err, -EINVAL, "reference %s: the digest after '@' must be sha256: and 64 lowercase hex digits", s);
		memcpy(r.digest, at + 1, 72);
		len = (size_t)(at - s);
	}
	/* The host is the first part when it looks like one. */
	slash = memchr(s, '/', len);
	if (slash && (memchr(s, '.', (size_t)(slash - s)) || memchr(s, ':', (size_t)(slash - s)) ||
	              (slash - s == 9 && strncmp(s, "localhost", 9) == 0) || s[0] == '[')) {
		if (copy(r.host, sizeof(r.host), s, (size_t)(slash - s)) < 0 || !host_ok(r.host))
			return sk_err(err, -EINVAL, "reference %s: registry host \"%.100s\" is not HOST[:PORT]", s, r.host);
		rest = slash + 1;
	} else {
		memcpy(r.host, "docker.io", 10);
		rest = s;
	}
	len -= (size_t)(rest - s);
	/* A tag is after the last ':' of the last path part. */
	slash = memrchr(rest, '/', len);
	colon = memchr(slash ? slash : rest, ':', len - (size_t)((slash ? slash : rest) - rest));
	size_t path_len = colon ? (size_t)(colon - rest) : len;
	if (colon) {
		if (copy(r.tag, sizeof(r.tag), colon + 1, len - path_len - 1) < 0 || !tag_ok(r.tag))
			return sk_err(err, -EINVAL, "reference %s: tag \"%.130s\" must be 1 to 128 of A-Z a-z 0-9 _ . - and not start with . or -",
			              s, r.tag);
	}
	bool hub = strcmp(r.host, "docker.io") == 0 || strcmp(r.host, "index.docker.io") == 0;
	bool library = hub && !memchr(rest, '/', path_len);
	if (copy(r.repo, sizeof(r.repo) - (library ? 8 : 0), rest, path_len) < 0)
		return sk_err(err, -EINVAL, "reference %s: the repository path is longer than %d characters", s, OCI_REPO_MAX - 9);
	if (!path_ok(r.repo))
		return sk_err(err, -EINVAL, "reference %s: repository \"%.100s\" must be lowercase letters and digits, parts joined by / . _ __ or -",
		              s, r.repo);
	if (library) {
		memmove(r.repo + 8, r.repo, strlen(r.repo) + 1);
		memcpy(r.repo, "library/", 8);
	}
	if (hub)
		memcpy(r.host, "docker.io", 10);
	memcpy(r.api_host, hub ? "registry-1.docker.io" : r.host, hub ? 21 : strlen(r.host) + 1);
	if (!r.tag[0] && !r.digest[0])
		memcpy(r.tag, "latest", 7);
	*out = r;
	return 0;
}
