/* The node's label through the apiserver (libkube): read it, set it,
 * remove it, and find every node that carries it. Merge patches on
 * metadata.labels only, so the installer's account needs get, list and
 * patch on nodes and nothing else. Nothing here logs. */
#ifndef SPINKUBE_NODE_INSTALLER_NODE_H
#define SPINKUBE_NODE_INSTALLER_NODE_H

#include "common/err.h"
#include "controller/kube/client.h"

/* A client from --kubeconfig, else the usual lookup (in a pod: the service
 * account). *cfg and *out are the caller's; the client borrows the config,
 * so free the client (kube_client_free) before the config
 * (kube_config_free). */
int ni_kube_open(const char *kubeconfig, struct kube_config **cfg, struct kube_client **out,
                 struct sk_error *err);

/* The value of label key on node, or *value NULL when it has none (caller
 * frees). */
int ni_label_get(struct kube_client *c, const char *node, const char *key, char **value,
                 struct sk_error *err);

/* Set key=value on node; value NULL removes the label. */
int ni_label_set(struct kube_client *c, const char *node, const char *key, const char *value,
                 struct sk_error *err);

/* The names of the nodes that carry key (any value), at most max, into
 * names[] (each the caller's to free); *n their count. */
int ni_labelled_nodes(struct kube_client *c, const char *key, char **names, int max, int *n,
                      struct sk_error *err);

#endif
