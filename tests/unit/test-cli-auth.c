/* cli/auth.c: docker config lookups (auths in both forms, credHelpers,
 * credsStore, Docker Hub's index key, bad entries with one-line messages)
 * and WWW-Authenticate challenges (Basic, Bearer with quoted and escaped
 * parameters, several challenges, malformed and oversized ones). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/auth.h"
#include "common/err.h"
#include "common/escape.h"
#include "tests/tap.h"

static int lookup(const char *json, const char *host, struct auth_cred *c, struct sk_error *err)
{
	sk_err_clear(err);
	return auth_config_lookup(json, strlen(json), "config.json", host, c, err);
}

static void test_config(void)
{
	struct auth_cred c = { 0 };
	struct sk_error err = { 0 };

	/* base64("ci:pa:ss") = Y2k6cGE6c3M= */
	is_int(lookup("{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"Y2k6cGE6c3M=\"}}}", "127.0.0.1:5000", &c, &err), 0,
	       "auths by host");
	is_str(c.username, "ci", "... user from auth");
	is_str(c.password, "pa:ss", "... the password keeps its colons");
	auth_cred_clear(&c);
	is_int(lookup("{\"auths\":{\"https://ghcr.io\":{\"username\":\"u\",\"password\":\"p\"}}}", "ghcr.io", &c, &err), 0,
	       "auths keyed by URL, username and password fields");
	ok(c.username && strcmp(c.username, "u") == 0 && c.password && strcmp(c.password, "p") == 0, "... both read");
	auth_cred_clear(&c);
	is_int(lookup("{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"Y2k6cGE6c3M=\"}}}", "docker.io", &c, &err), 0,
	       "Docker Hub's index key serves docker.io");
	is_str(c.username, "ci", "... its user");
	auth_cred_clear(&c);
	is_int(lookup("{\"auths\":{\"ghcr.io\":{\"auth\":\"Y2k6cGE6c3M=\"}}}", "quay.io", &c, &err), 0, "another host: no error");
	ok(!c.username && !c.helper[0], "... and no credentials");
	is_int(lookup("{\"auths\":{\"ghcr.io\":{\"auth\":\"Y2k6cGE6c3M=\"}},\"credHelpers\":{\"ghcr.io\":\"gh\"}}", "ghcr.io", &c,
	              &err), 0, "credHelpers wins over auths");
	ok(!c.username && strcmp(c.helper, "gh") == 0, "... the helper is named");
	auth_cred_clear(&c);
	is_int(lookup("{\"credsStore\":\"desktop\"}", "ghcr.io", &c, &err), 0, "credsStore for everything else");
	is_str(c.helper, "desktop", "... named");
	auth_cred_clear(&c);
	is_int(lookup("{\"auths\":{\"ghcr.io\":{\"auth\":\"Y2k6cGE6c3M=\"}},\"credsStore\":\"desktop\"}", "ghcr.io", &c, &err), 0,
	       "auths with credentials wins over credsStore");
	ok(c.username && !c.helper[0], "... no helper");
	auth_cred_clear(&c);
	is_int(lookup("{}", "ghcr.io", &c, &err), 0, "an empty config");

	is_int(lookup("{\"auths\":{\"ghcr.io\":{\"auth\":\"not base64!\"}}}", "ghcr.io", &c, &err), -EINVAL, "bad base64");
	ok(strstr(err.message, "config.json: auths[\"ghcr.io\"].auth is not base64") != NULL, "... says which entry: %s",
	   err.message);
	is_int(lookup("{\"auths\":{\"ghcr.io\":{\"auth\":\"bm9jb2xvbg==\"}}}", "ghcr.io", &c, &err), -EINVAL, "auth without a colon");
	is_int(lookup("{\"auths\":{\"ghcr.io\":{\"auth\":\"YQBiOmM=\"}}}", "ghcr.io", &c, &err), -EINVAL, "auth with a NUL byte");
	is_int(lookup("{\"auths\":{\"ghcr.io\":\"x\"}}", "ghcr.io", &c, &err), -EINVAL, "an entry that is not an object");
	is_int(lookup("{\"credHelpers\":{\"ghcr.io\":\"../../bin/sh\"}}", "ghcr.io", &c, &err), -EINVAL,
	       "a helper name with a path is refused");
	ok(strstr(err.message, "helper name") != NULL, "... %s", err.message);
	is_int(lookup("{\"credHelpers\":{\"ghcr.io\":7}}", "ghcr.io", &c, &err), -EINVAL, "a helper that is not a string");
	is_int(lookup("[1]", "ghcr.io", &c, &err), -EINVAL, "an array");
	is_int(lookup("{\"a\":1} {}", "ghcr.io", &c, &err), -EINVAL, "two documents");
	is_int(lookup("{\"auths\":{\"x\":{\"auth\":\"\n\"}}", "ghcr.io", &c, &err), -EINVAL, "cut short");
	ok(sk_is_one_line(err.message), "... the message is one line");

	char *big = malloc(AUTH_CONFIG_MAX + 2);
	memset(big, ' ', AUTH_CONFIG_MAX + 1);
	big[0] = '{', big[AUTH_CONFIG_MAX] = '}', big[AUTH_CONFIG_MAX + 1] = '\0';
	is_int(lookup(big, "ghcr.io", &c, &err), -E2BIG, "a config over 1 MiB");
	free(big);
}

static void test_challenge(void)
{
	struct auth_challenge *ch = calloc(1, sizeof(*ch));

	is_int(auth_challenge_parse("Basic realm=\"Registry Realm\"", ch), 0, "Basic");
	is_int(ch->scheme, AUTH_BASIC, "... scheme");
	is_str(ch->realm, "Registry Realm", "... realm");
	is_int(auth_challenge_parse("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\",scope=\"repository:library/nginx:pull\"", ch), 0,
	       "Docker Hub's bearer challenge");
	is_int(ch->scheme, AUTH_BEARER, "... scheme");
	is_str(ch->realm, "https://auth.docker.io/token", "... realm");
	is_str(ch->service, "registry.docker.io", "... service");
	is_str(ch->scope, "repository:library/nginx:pull", "... scope");
	is_int(auth_challenge_parse("bearer  realm = \"https://a/t\" , service=reg.io, scope=\"repository:a:pull,push\"", ch), 0,
	       "any case, spaces around =, a token value, a comma inside quotes");
	is_str(ch->realm, "https://a/t", "... realm");
	is_str(ch->service, "reg.io", "... token service");
	is_str(ch->scope, "repository:a:pull,push", "... quoted scope with a comma");
	is_int(auth_challenge_parse("Bearer realm=\"a\\\"b\\\\c\"", ch), 0, "backslash escapes");
	is_str(ch->realm, "a\"b\\c", "... unescaped");
	is_int(auth_challenge_parse("Bearer realm=\"https://t\", error=\"insufficient_scope\"", ch), 0, "unknown params are skipped");
	is_int(auth_challenge_parse("Bearer realm=\"https://t\", Basic realm=\"x\"", ch), 0, "a second challenge ends the first");
	is_str(ch->realm, "https://t", "... the first's realm");
	is_int(auth_challenge_parse("Negotiate", ch), 0, "an unknown scheme parses");
	is_int(ch->scheme, AUTH_NONE, "... as none");

	is_int(auth_challenge_parse("", ch), -EINVAL, "empty");
	is_int(auth_challenge_parse("Bearer service=\"x\"", ch), -EINVAL, "bearer without realm");
	is_int(auth_challenge_parse("Bearer realm=\"unterminated", ch), -EINVAL, "an unterminated quote");
	is_int(auth_challenge_parse("Bearer realm=\"a\\", ch), -EINVAL, "a trailing backslash");
	is_int(auth_challenge_parse("Bearer realm=\"a\x01\"", ch), -EINVAL, "a control character");
	is_int(auth_challenge_parse("Bearer realm=\"a\" junk", ch), -EINVAL, "junk after a value, no comma");
	is_int(auth_challenge_parse("Bearer realm=\"a\"x", ch), -EINVAL, "no separator after a quoted value");
	is_int(auth_challenge_parse("Bearer realm=", ch), -EINVAL, "an empty value");

	char *big = malloc(AUTH_FIELD_MAX + 64);
	int n = snprintf(big, 64, "Bearer realm=\"");
	memset(big + n, 'a', AUTH_FIELD_MAX);
	memcpy(big + n + AUTH_FIELD_MAX, "\"", 2);
	is_int(auth_challenge_parse(big, ch), -EINVAL, "a realm of %d bytes", AUTH_FIELD_MAX);
	free(big);
	free(ch);
}

int main(void)
{
	test_config();
	test_challenge();
	return tap_done();
}
