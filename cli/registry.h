/* A small OCI distribution client on libcurl: one registry, one
 * repository, the few calls push and pull need (HEAD/GET blob, upload,
 * GET/PUT manifest), with Basic and Bearer-token authentication answered
 * from a 401's WWW-Authenticate.
 *
 * Every failure is one line in err naming the step, the HTTP status, the
 * registry's own errors[].message and a fix. Everything read from the
 * registry is bounded: header lines, bodies, blob sizes. */
#ifndef SPINKUBE_CLI_REGISTRY_H
#define SPINKUBE_CLI_REGISTRY_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/auth.h"
#include "common/buf.h"
#include "common/err.h"
#include "cli/ref.h"
#include "shim-bridge/app/oci.h"

#define REG_MANIFEST_MAX OCI_MANIFEST_MAX   /* a manifest */
#define REG_BODY_MAX (1024 * 1024)          /* error bodies, token answers */
#define REG_HEADER_MAX 8192                 /* one response header line */
#define REG_BLOB_MAX OCI_BLOB_MAX           /* one blob: 4 GiB */

struct reg_options {
	const char *ca_file; /* PEM bundle to verify the registry with, or NULL */
	bool tls;            /* HTTPS even on loopback */
	size_t chunk_size;   /* 0: monolithic uploads; else PATCH chunks of this size */
};

struct registry {
	CURL *curl;
	char base[OCI_HOST_MAX + 16]; /* "https://host:port" */
	char repo[OCI_REPO_MAX];
	struct reg_options opt;
	struct auth_cred cred;   /* owned; may be empty */
	char *token;             /* bearer token, owned, or NULL */
	bool basic;              /* send Basic credentials (the registry asked) */
	unsigned long posts, puts, patches; /* uploads made, for the summary line */
};

/* Open a client for ref's registry and repository. cred is moved in (the
 * caller's struct is left empty). Plain HTTP only for loopback hosts. */
int reg_open(struct registry *reg, const struct oci_ref *ref, const struct reg_options *opt,
             struct auth_cred *cred, struct sk_error *err);
void reg_close(struct registry *reg);

/* HEAD the blob: 1 when the registry has it (with *size set when known), 0
 * when not. */
int reg_blob_exists(struct registry *reg, const char *digest, int64_t *size, struct sk_error *err);

/* Upload size bytes (from the file f at offset 0, or from mem when f is
 * NULL) as the blob digest: POST, then one PUT or PATCHes and a PUT. */
int reg_blob_upload(struct registry *reg, const char *digest, FILE *f, const void *mem, int64_t size,
                    struct sk_error *err);

/* GET the blob into f, which must then hold exactly size bytes hashing to
 * digest; anything else is -EILSEQ naming the blob. */
int reg_blob_get(struct registry *reg, const char *digest, int64_t size, FILE *f, struct sk_error *err);

/* PUT the manifest under target (a tag or digest). */
int reg_manifest_put(struct registry *reg, const char *target, const char *media_type, const char *body,
                     size_t len, struct sk_error *err);

/* GET the manifest target into *out (caller frees with sk_buf_free); the
 * Content-Type into media_type (size bytes). */
int reg_manifest_get(struct registry *reg, const char *target, struct sk_buf *out, char *media_type, size_t size,
                     struct sk_error *err);

#endif
