/* The parts of an OCI runtime bundle's config.json that the shim acts on:
 * the process (args, env, cwd), the mounts (the runtime-config Secret and
 * the CA bundle kubelet binds in), the network namespace, the cgroup path
 * and limits, and the CRI annotations that say what the container is (a
 * pod's sandbox or an app container), which pod it belongs to and which
 * image it runs. Parsing is pure and bounded; anything malformed is one
 * line naming the field. */
#ifndef SPINKUBE_SHIM_SPEC_H
#define SPINKUBE_SHIM_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define SHIM_SPEC_MAX (4 * 1024 * 1024) /* config.json */
#define SHIM_SPEC_MAX_ITEMS 4096        /* args, mounts, ... */
/* Env entries: the kubelet adds 7 or more per Service of the pod's
 * namespace (service links), so a namespace of a few thousand apps gives
 * every pod tens of thousands; the bytes stay under SHIM_SPEC_MAX. */
#define SHIM_SPEC_MAX_ENV 65536

/* CRI's annotations on the containers it creates. */
#define SHIM_ANN_CONTAINER_TYPE "io.kubernetes.cri.container-type"
#define SHIM_ANN_SANDBOX_ID "io.kubernetes.cri.sandbox-id"
#define SHIM_ANN_IMAGE_NAME "io.kubernetes.cri.image-name"
#define SHIM_ANN_CONTAINER_NAME "io.kubernetes.cri.container-name"

struct shim_mount {
	char *destination;
	char *source; /* may be NULL (tmpfs, proc) */
	char *type;   /* may be NULL */
};

struct shim_spec {
	char **args;
	size_t n_args;
	char **env; /* "NAME=value" */
	size_t n_env;
	char *cwd;
	struct shim_mount *mounts;
	size_t n_mounts;
	char *netns;        /* linux.namespaces[type=network].path, or NULL */
	bool own_netns;     /* a network namespace without a path: a new one */
	char *cgroups_path; /* linux.cgroupsPath, or NULL */
	int64_t memory_limit; /* bytes; 0: none */
	uint64_t cpu_shares;  /* 0: none */
	int64_t cpu_quota;    /* microseconds per period; 0: none */
	uint64_t cpu_period;  /* microseconds; 0: none */
	int64_t pids_limit;   /* 0: none */
	bool sandbox;         /* CRI's sandbox (pause) container */
	char *sandbox_id;     /* the pod's sandbox id, or NULL (not from CRI) */
	char *image_name;     /* the image reference CRI pulled, or NULL */
	char *container_name; /* the Kubernetes container name, or NULL */
};

/* Parse config.json text. Returns 0 or -EINVAL (the field named in err),
 * -ENOMEM, -E2BIG (over SHIM_SPEC_MAX). *out is zeroed first and owned by
 * the caller afterwards (shim_spec_free, on failure too). */
int shim_spec_parse(const char *text, size_t len, struct shim_spec *out, struct sk_error *err);

/* Read and parse BUNDLE/config.json. */
int shim_spec_load(const char *bundle, struct shim_spec *out, struct sk_error *err);

void shim_spec_free(struct shim_spec *s);

/* The source of the bind mount whose destination is dest, or NULL. */
const char *shim_spec_mount_source(const struct shim_spec *s, const char *dest);

/* Whether env entry NAME=VALUE is one of the variables the kubelet makes
 * for a Service of the pod's namespace (FOO_SERVICE_HOST=10.96.0.9,
 * FOO_PORT_80_TCP_ADDR=..., enableServiceLinks): names and values of that
 * form, never a SPIN_ or OTEL_ name. A Spin app's guests never see the
 * process environment, and its host reads only its own names. */
bool shim_env_is_service_link(const char *entry);

/* Drop the service-link entries of s's env (shim_env_is_service_link),
 * keeping the others in order. Returns how many went. */
size_t shim_spec_drop_service_links(struct shim_spec *s);

/* The value of NAME in the spec's env, or NULL. */
const char *shim_spec_env(const struct shim_spec *s, const char *name);

/* The grouping id of a bundle: the pod's sandbox id when CRI made it, else
 * the container id itself. Borrowed from s or id. */
const char *shim_spec_group(const struct shim_spec *s, const char *id);

/* The app's instance memory and instance count under the container's
 * memory limit (bytes; 0: none, nothing changes): at most half the limit
 * per instance, and as many instances as fit in three quarters of what the
 * runtime leaves, at least 1 and at most *max_concurrent (0: no cap). */
void shim_spec_fit_memory(int64_t limit, uint64_t *instance_memory, unsigned *max_concurrent);

#endif
