/* OCI image references: [HOST[:PORT]/]PATH[:TAG][@sha256:HEX].
 *
 * Docker's defaults apply: no host (the first part has no '.' or ':' and is
 * not "localhost") means docker.io, and a one-part path on docker.io gets
 * "library/". No tag and no digest means the tag "latest". Plain data, no
 * allocation: everything fits the fixed buffers or the reference is refused. */
#ifndef SPINKUBE_CLI_REF_H
#define SPINKUBE_CLI_REF_H

#include <stdbool.h>

#include "common/err.h"

#define OCI_HOST_MAX 256
#define OCI_REPO_MAX 256
#define OCI_TAG_MAX 128
#define OCI_DIGEST_MAX 72 /* "sha256:" + 64 hex + NUL */

struct oci_ref {
	char host[OCI_HOST_MAX];     /* as written, or "docker.io" */
	char api_host[OCI_HOST_MAX]; /* where the API is: registry-1.docker.io for docker.io */
	char repo[OCI_REPO_MAX];     /* "library/nginx", "team/app" */
	char tag[OCI_TAG_MAX + 1];   /* "" when only a digest was given */
	char digest[OCI_DIGEST_MAX]; /* "sha256:<hex>" or "" */
};

/* Parse s into *out. Errors name the part that is wrong and what is allowed. */
int oci_ref_parse(const char *s, struct oci_ref *out, struct sk_error *err);

/* True when host (with an optional :port, or a bracketed IPv6 address) names
 * this machine's loopback: localhost, 127.0.0.0/8 or [::1]. Plain HTTP is
 * allowed only there. */
bool oci_host_is_loopback(const char *host);

/* What the manifest is addressed by: the digest when given, else the tag. */
const char *oci_ref_target(const struct oci_ref *r);

#endif
