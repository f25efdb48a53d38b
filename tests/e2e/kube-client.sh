#!/usr/bin/env bash
# The Kubernetes client core against its own real cluster (see
# tests/e2e/test-kube-client.c for what is checked).
set -u
src=${SPINKUBE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SPINKUBE_BUILD_DIR:-$src/build}
. "$src/tests/lib/tap.sh"
. "$src/hack/lib.sh"

name=e2e-kc-$$
trap '"$src/hack/cluster-down" --name $name >/dev/null 2>&1' EXIT
out=$("$src/hack/cluster-up" --name "$name" 2>&1 >/tmp/$name.env) || {
	printf '%s\n' "$out" | sed 's/^/# /'
	bail "hack/cluster-up failed"
}
eval "$(cat /tmp/$name.env)"
rm -f /tmp/$name.env
. "$SPINKUBE_CLUSTER_DIR/ports.env"
export API_PORT SPINKUBE_SOURCE_DIR=$src ETCDCTL=$(etcd_bin etcdctl)
"$build/tests/e2e-kube-client"
