#!/usr/bin/env bash
# The local cluster as a developer uses it: hack/cluster-up prints only export
# lines, the apiserver is secure and answers both kubeconfigs, a Deployment of 3
# replicas becomes Ready on kwok nodes, a second cluster runs beside the first,
# a failing component is reported and cleaned up, and hack/cluster-down leaves
# no process and no mount behind.
set -u
src=${SPINKUBE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$src/tests/lib/tap.sh"
. "$src/hack/lib.sh"

a=e2e-a-$$
b=e2e-b-$$
bad=e2e-bad-$$
trap 'for n in $a $b $bad; do "$src/hack/cluster-down" --name $n >/dev/null 2>&1; done' EXIT

out=$("$src/hack/cluster-up" --name "$a" --nodes 2 2>"$SPINKUBE_STATE/cluster-up-$a.err") || {
	cat "$SPINKUBE_STATE/cluster-up-$a.err" | sed 's/^/# /'
	bail "hack/cluster-up --name $a failed"
}
rm -f "$SPINKUBE_STATE/cluster-up-$a.err"
is "$(grep -cv '^export ' <<<"$out")" 0 "cluster-up prints only export lines on stdout"
eval "$out"
dir_a=$SPINKUBE_CLUSTER_DIR
is "$(command -v kubectl)" "$(tools_bin_dir)/kubectl" "PATH puts the pinned kubectl first"
is "$(command -v helm)" "$(tools_bin_dir)/helm" "PATH puts the pinned helm first"
is "$(kubectl get --raw /readyz)" ok "kubectl get --raw /readyz answers ok (client certificate)"
is "$(kubectl --kubeconfig "$SPINKUBE_TOKEN_KUBECONFIG" get --raw /readyz)" ok "the bearer-token kubeconfig is accepted"
is "$(kubectl version -o json | jq -r .serverVersion.gitVersion)" "$K8S_VERSION" "the server reports its real version"
server=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')
case $server in https://127.0.0.1:*) r=yes ;; *) r=$server ;; esac
is "$r" yes "the apiserver listens on https://127.0.0.1"
port=${server##*:}
is "$(ss -Htln "sport = :$port" | awk '{print $4}' | sort -u)" "127.0.0.1:$port" "the apiserver binds to 127.0.0.1 only"
ok "an anonymous client is refused" bash -c "! curl -sf --cacert <(kubectl config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d) $server/api/v1/namespaces"
ok "RBAC is on: a user without bindings cannot list secrets" bash -c "kubectl auth can-i list secrets --as nobody | grep -qx no"

apiserver_pid=$(cat "$dir_a/pids/kube-apiserver.pid")
out2=$("$src/hack/cluster-up" --name "$a" 2>/dev/null)
is "$out2" "$out" "running cluster-up again prints the same exports"
is "$(cat "$dir_a/pids/kube-apiserver.pid")" "$apiserver_pid" "running cluster-up again keeps the running apiserver"

is "$(kubectl get nodes -l type=kwok -o name | wc -l | tr -d ' ')" 2 "--nodes 2 made two kwok nodes"
is "$(kubectl get nodes -o jsonpath='{range .items[*]}{.spec.taints}{end}')" "" "the kwok nodes carry no taints"
# Quantities come back normalized ("1k" for 1000).
pods=$(kubectl get node kwok-node-0 -o jsonpath='{.status.capacity.pods}')
case $pods in *k) pods=$(( ${pods%k} * 1000 )) ;; esac
is "$pods" 1000 "node pod capacity is raised to 1000"

kubectl create deployment web --image=registry.invalid/web:1 --replicas=3 >/dev/null
ok "a Deployment of 3 replicas reaches readyReplicas 3" \
	kubectl wait deployment/web --for=jsonpath='{.status.readyReplicas}'=3 --timeout=120s
nodes_of_pods=$(kubectl get pods -l app=web -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}')
is "$(grep -c . <<<"$nodes_of_pods")" 3 "three pods exist"
kwok_nodes=$(kubectl get nodes -l type=kwok -o name | sed 's#node/##')
not_kwok=$(grep -vxF -f <(printf '%s\n' "$kwok_nodes") <<<"$nodes_of_pods" || true)
is "$not_kwok" "" "every pod is bound to a kwok node"
is "$(kubectl get pods -l app=web -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{end}')" \
	TrueTrueTrue "every pod is Ready"

# A second cluster beside the first.
outb=$("$src/hack/cluster-up" --name "$b" 2>/dev/null) || bail "hack/cluster-up --name $b failed"
kb=$(sed -n "s/^export KUBECONFIG=//p" <<<"$outb")
ok "a second cluster runs beside the first" bash -c "[ \"\$(kubectl --kubeconfig $kb get --raw /readyz)\" = ok ]"
ok "the first cluster still answers" bash -c "[ \"\$(kubectl get --raw /readyz)\" = ok ]"
ok "the clusters are distinct (the Deployment is only in the first)" \
	bash -c "! kubectl --kubeconfig $kb get deployment web"

# A component that does not come up.
errf=$SPINKUBE_STATE/cluster-up-$bad.err
"$src/hack/cluster-up" --name "$bad" --apiserver-arg=--no-such-flag >/dev/null 2>"$errf"
is "$?" 1 "cluster-up exits non-zero when the apiserver does not start"
ok "it names the component that failed" grep -q "kube-apiserver did not come up" "$errf"
ok "it shows that component's log tail" grep -q "unknown flag: --no-such-flag" "$errf"
is "$(cluster_pids "$(cluster_dir "$bad")" | wc -l | tr -d ' ')" 0 "it stopped what it had started (etcd)"
rm -f "$errf"

for n in "$a" "$b" "$bad"; do
	d=$(cluster_dir "$n")
	ok "cluster-down $n succeeds" "$src/hack/cluster-down" --name "$n"
	is "$(pgrep -f -- "$d/" | wc -l | tr -d ' ')" 0 "no process of $n is left"
	is "$(findmnt -rn -o TARGET | grep -c "^$d" || true)" 0 "no mount of $n is left"
	ok "the folder of $n is gone" test ! -e "$d"
done
ok "cluster-down of a stopped cluster is not an error" "$src/hack/cluster-down" --name "$a"
tap_done
