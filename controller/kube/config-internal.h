/* What the pieces of the kubeconfig loader share (see config.h for the API):
 * the parsed files, the named entries a lookup finds, and the helpers more
 * than one piece uses.
 *
 *   config.c           reading the files in KUBECONFIG order; lookups (first definition wins)
 *   config-resolve.c   the context in use, its cluster and user into a struct kube_config
 *   config-incluster.c the in-cluster service account
 *   config-token.c     token files and the other files a kubeconfig names
 *
 * Private to controller/kube. */
#ifndef SPINKUBE_CONTROLLER_KUBE_CONFIG_INTERNAL_H
#define SPINKUBE_CONTROLLER_KUBE_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "controller/kube/config.h"

/* One parsed kubeconfig file; owns everything. */
struct kc_file {
	char *path;        /* as given, for messages */
	char *dir;         /* absolute folder, for relative file names */
	json_object *root; /* the document, an object */
};

/* The files of one load in KUBECONFIG order; owns the files. */
struct kc_set {
	struct kc_file files[KUBE_CONFIG_MAX_FILES];
	size_t n;
	char *origin; /* the paths joined with ", " */
};

/* One named entry (or its exec block); everything borrowed from a kc_set. */
struct kc_entry {
	const char *kind; /* "cluster", "user" or "context" */
	const char *name;
	json_object *body;  /* the cluster/user/context mapping; NULL when absent */
	const char *prefix; /* "" or "exec.": how fields are named in messages */
	const struct kc_file *file;
};

/* clusters[].cluster, users[].user, contexts[].context */
struct kc_section {
	const char *list;
	const char *kind;
};
static const struct kc_section SEC_CLUSTERS = {"clusters", "cluster"};
static const struct kc_section SEC_USERS = {"users", "user"};
static const struct kc_section SEC_CONTEXTS = {"contexts", "context"};

static inline void kc_config_freep(struct kube_config **p)
{
	kube_config_free(*p);
}
#define _cleanup_config_ _cleanup_(kc_config_freep)

/* --- config.c ------------------------------------------------------------------ */

/* a b c concatenated; a new string the caller frees, NULL on -ENOMEM. */
char *kc_str3(const char *a, const char *b, const char *c);
/* name as an absolute path: unchanged when absolute, else under dir (with
 * leading "./" dropped). New string, NULL on -ENOMEM. */
char *kc_path_in(const char *dir, const char *name);
/* Find the entry called name in sec: the first file that defines it wins.
 * Returns 0 with *e filled (borrowed from set) or -ENOENT. */
int kc_find(const struct kc_set *set, const struct kc_section *sec, const char *name, struct kc_entry *e);
/* The names defined in sec over all files, for messages: "a, b, ..." cut
 * past 200 characters, "none" when empty. New string, NULL on -ENOMEM. */
char *kc_names(const struct kc_set *set, const struct kc_section *sec);

/* --- config-resolve.c ---------------------------------------------------------- */

/* Resolve the loaded files into a new config in *out (caller frees). */
int kc_resolve(const struct kc_set *set, const char *override, struct kube_config **out, struct sk_error *err);
/* Is data[0..len) PEM holding the block we want? Certificates must be
 * CERTIFICATE blocks (what Go's x509 pool accepts); keys any PRIVATE KEY. */
bool kc_looks_like_pem(const char *data, size_t len, bool key);

/* --- config-token.c ------------------------------------------------------------ */

/* Does s hold a control character (below 0x20, or DEL)? */
bool kc_has_control(const char *s);
/* sk_read_file for the files a kubeconfig or a service account names:
 * regular files only (never a terminal, a FIFO or a device that blocks or
 * never ends). Not a regular file is -EINVAL; kc_read_error() words it. */
int kc_read_regular(const char *path, size_t max, char **out, size_t *len);
const char *kc_read_error(int r);
/* kube_read_token_file, naming the file "<label> <path>" in messages. An
 * empty file is -ENODATA. */
int kc_read_token(const char *path, const char *label, char **out, struct sk_error *err);

#endif
