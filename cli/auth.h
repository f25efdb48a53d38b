/* Registry credentials: docker's config.json, credential helpers, and the
 * WWW-Authenticate challenges a registry answers 401 with.
 *
 * The parsers are pure (text in, plain data out) so the unit tests and the
 * fuzz targets drive them directly; only auth_helper_get runs a program. */
#ifndef SPINKUBE_CLI_AUTH_H
#define SPINKUBE_CLI_AUTH_H

#include <stddef.h>

#include "common/err.h"

#define AUTH_CONFIG_MAX (1024 * 1024) /* config.json */
#define AUTH_FIELD_MAX 4096           /* a user name, password, token, realm, ... */
#define AUTH_HELPER_NAME_MAX 64

/* What config.json says about one registry. */
struct auth_cred {
	char *username; /* NULL when there is none; owned */
	char *password; /* owned */
	char helper[AUTH_HELPER_NAME_MAX]; /* "" or the NAME of docker-credential-NAME to ask */
};

void auth_cred_clear(struct auth_cred *c);

/* Look registry host (as in a reference: "127.0.0.1:5000", "docker.io")
 * up in the config.json text: credHelpers first, then auths (the "auth"
 * field as base64 "user:password", or "username"/"password"), then
 * credsStore. auths keys match as the host itself or as a URL of it
 * ("https://host", "http://host/v1/"); docker.io is "https://index.docker.io/v1/".
 * Returns 0 with *out filled (all empty when the config has nothing for the
 * host), or -EINVAL / -E2BIG / -ENOMEM with a message naming the file (name)
 * and the entry. */
int auth_config_lookup(const char *json, size_t len, const char *name, const char *host, struct auth_cred *out,
                       struct sk_error *err);

/* The docker config file: $DOCKER_CONFIG/config.json, else
 * $HOME/.docker/config.json. Writes it to path (size bytes). */
int auth_config_path(char *path, size_t size);

/* Ask docker-credential-NAME (on PATH) for host's credentials: "get" with
 * the host on stdin, JSON {"Username","Secret"} on stdout (at most
 * AUTH_FIELD_MAX * 2 bytes). A helper that says it has none gives 0 with no
 * username. Fills out->username/password on success. */
int auth_helper_get(const char *name, const char *host, struct auth_cred *out, struct sk_error *err);

enum auth_scheme { AUTH_NONE, AUTH_BASIC, AUTH_BEARER };

/* One parsed WWW-Authenticate challenge. */
struct auth_challenge {
	enum auth_scheme scheme;
	char realm[AUTH_FIELD_MAX];
	char service[AUTH_FIELD_MAX];
	char scope[AUTH_FIELD_MAX];
};

/* Parse a WWW-Authenticate value (RFC 7235: scheme, then name=value or
 * name="quoted\"value" pairs separated by commas). Only the first challenge
 * is read. Unknown schemes and parameters are kept out of *out; a bearer
 * challenge without realm is -EINVAL. Returns 0 or -EINVAL (malformed, or a
 * value longer than AUTH_FIELD_MAX - 1). */
int auth_challenge_parse(const char *value, struct auth_challenge *out);

#endif
