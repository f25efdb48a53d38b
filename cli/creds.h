/* Which credentials a push or pull uses: --username with --password-stdin,
 * else the docker config's entry for the registry (a credential helper's
 * answer when it names one), else none. */
#ifndef SPINKUBE_CLI_CREDS_H
#define SPINKUBE_CLI_CREDS_H

#include <stdio.h>

#include "cli/auth.h"
#include "common/err.h"
#include "cli/ref.h"

struct creds_options {
	const char *username;  /* --username, or NULL */
	FILE *password_in;     /* stdin with --password-stdin, or NULL */
	const char *config;    /* --docker-config FILE, or NULL for $DOCKER_CONFIG / ~/.docker */
};

/* Fill *out (caller clears with auth_cred_clear). Missing config file: no
 * credentials, not an error. */
int creds_resolve(const struct creds_options *o, const struct oci_ref *ref, struct auth_cred *out,
                  struct sk_error *err);

#endif
