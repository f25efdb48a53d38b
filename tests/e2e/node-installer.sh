#!/usr/bin/env bash
# The node installer on the real node (hack/cluster-up --real-node --no-shim:
# containerd without the spin runtime): the installer's image built with
# hack/images/build and pushed with hack/push-image, the chart installed with
# nodeInstaller.enabled (the controller's Deployment at 0 replicas; the
# controller runs beside the cluster as in shim.sh). The DaemonSet's pod
# installs the shim, adds the runtime through a drop-in that containerd's
# configuration now imports, restarts containerd (--restart=signal: the
# node's containerd runs under hack/supervise) and labels the node; a
# SpinApp is then served end to end through its Service, in per-pod mode and
# in shared mode (the runtime spin-shared, through the shim's link the
# installer made beside it). A new installer
# pod changes nothing. helm uninstall: the pre-delete hook has the installer
# restore containerd's configuration byte for byte, restart containerd,
# remove the shim, its link and the label; the kubelet stays Ready.
# Network safety: every request goes to loopback or to an address that
# assert_local_addr (hack/node.sh) has checked to be this cluster's.
set -u
src=${SPINKUBE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SPINKUBE_BUILD_DIR:-$src/build}
. "$src/tests/lib/tap.sh"
. "$src/hack/lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "1..0 # SKIP the real node needs root (bridge, iptables, cgroups)"; exit 0; }
inst=$build/node-installer/spinkube-node-installer
shim=$build/shim-bridge/shim/containerd-shim-spin-v2
sk=$build/cli/spinkube
[ -x "$inst" ] && [ -x "$shim" ] && [ -x "$sk" ] || bail "missing $inst, $shim or $sk: run ninja -C $build"

name=e2e-ni-$$
work=$(mktemp -d)
ctrl_pid=
cleanup() {
	[ -n "$ctrl_pid" ] && kill "$ctrl_pid" 2>/dev/null
	"$src/hack/cluster-down" --name "$name" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

GUESTS=$work/guests
"$src/tests/guests/build" "$GUESTS" >"$work/guests.log" 2>&1 || { tail -n 20 "$work/guests.log" | sed 's/^/# /'; bail "tests/guests/build failed"; }

out=$("$src/hack/cluster-up" --name "$name" --real-node --nodes 0 --no-shim 2>"$work/up.err") || {
	sed 's/^/# /' "$work/up.err"
	bail "hack/cluster-up --name $name --real-node --no-shim failed"
}
eval "$out"
dir=$SPINKUBE_CLUSTER_DIR
reg=$SPINKUBE_REGISTRY
node=$SPINKUBE_NODE
nd=$dir/node
. "$dir/ports.env"
cfg=$nd/containerd.toml
bin=$nd/opt/bin/containerd-shim-spin-v2
link=$nd/opt/bin/containerd-shim-spin-shared-v2
dropin=$nd/containerd.d/spinkube-c-spin.toml
label=spinkube.dev/containerd-shim-spin
ok "--no-shim: containerd's configuration has no spin runtime" bash -c "! grep -q 'runtimes.spin' '$cfg'"
ok "--no-shim: no shim on the node" test ! -e "$nd/bin/containerd-shim-spin-v2"
sum_before=$(sha256sum <"$cfg")
ctr_pid() { node_containerd_pid "$dir"; }
pid_before=$(ctr_pid)
ok "containerd runs under hack/supervise" bash -c "[ -n '$pid_before' ] && ps -o args= -p \$(ps -o ppid= -p $pid_before) | grep -q hack/supervise"

# --- the installer's image --------------------------------------------------
ok "hack/images/build packs the installer" bash -c "'$src/hack/images/build' '$work/images' node-installer >'$work/image.log' 2>&1"
ok "... with the shim in it, as built" cmp "$work/images/node-installer/containerd-shim-spin-v2" "$shim"
ok "hack/push-image pushes it to the node's registry" bash -c "'$src/hack/push-image' --entrypoint /spinkube-node-installer \
	--registry '$reg' '$work/images/node-installer' spinkube-c/node-installer:e2e >>'$work/image.log' 2>&1"

# --- helm install ---------------------------------------------------------------
ns=spinkube-system
chart=$src/charts/spinkube-c
values=(--set replicas=0 --set nodeInstaller.enabled=true
	--set nodeInstaller.image.repository="$reg/spinkube-c/node-installer" --set nodeInstaller.image.tag=e2e
	--set nodeInstaller.distro=containerd --set nodeInstaller.restart=signal
	--set nodeInstaller.containerd.config="$cfg" --set nodeInstaller.containerd.dropinDir="$nd/containerd.d"
	--set nodeInstaller.containerd.socket="$(node_run_dir "$dir")/containerd.sock"
	--set nodeInstaller.binDir="$nd/opt/bin" --set nodeInstaller.stateDir="$nd/installer-state"
	--set nodeInstaller.apiServer.host=127.0.0.1 --set nodeInstaller.apiServer.port="$API_PORT")
ok "helm install with nodeInstaller.enabled waits for the installer" \
	bash -c 'helm install spinkube "$0" -n '$ns' --create-namespace --wait --timeout 3m "${@}" >"'$work'/helm.log" 2>&1' \
	"$chart" "${values[@]}"
is "$(kubectl -n $ns get ds spinkube-node-installer -o jsonpath='{.status.numberReady}')" 1 "the installer's pod is Ready"
is "$(kubectl get node "$node" -o jsonpath="{.metadata.labels.spinkube\.dev/containerd-shim-spin}")" installed \
	"the node is labelled $label=installed"
ok "the shim is on the node, byte for byte the one built" cmp "$bin" "$shim"
ok "containerd's configuration imports the drop-in" grep -qF "imports = [\"$dropin\"]" "$cfg"
ok "the drop-in has the spin runtime with the installed shim" \
	bash -c "grep -qF 'runtime_type = \"io.containerd.spin.v2\"' '$dropin' && grep -qF 'runtime_path = \"$bin\"' '$dropin'"
ok "and the spin-shared runtime with the shim's shared-mode link" \
	bash -c "grep -qF 'runtimes.spin-shared]' '$dropin' && grep -qF 'runtime_path = \"$link\"' '$dropin'"
is "$(readlink "$link")" containerd-shim-spin-v2 "the link names the installed shim"
ok "a backup of the configuration as it was" cmp <(sha256sum <"$cfg.spinkube-c.orig") <(echo "$sum_before")
pid_after=$(ctr_pid)
ok "containerd was restarted (SIGTERM, and hack/supervise started it again)" \
	bash -c "[ -n '$pid_after' ] && [ '$pid_after' != '$pid_before' ] && grep -q 'supervise: .* starting it again' '$dir/logs/containerd.log'"
ok "no restart left pending" test ! -e "$nd/installer-state/restart-pending"
is "$(kubectl get node "$node" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" True "the kubelet is Ready"
kubectl -n $ns logs ds/spinkube-node-installer >"$work/installer1.log" 2>&1
for m in "installed the shim" "linked the shim for shared mode" "wrote the drop-in with the spin runtime" "added the drop-in to imports" \
	"restarted containerd" "labelled the node" "installed; watching the node's label"; do
	ok "the installer logs: $m" grep -qF "msg=\"$m\"" "$work/installer1.log"
done
ok "its log is one logfmt line per action" bash -c "! grep -v '^time=[^ ]* level=[a-z]* msg=' '$work/installer1.log'"
is "$(kubectl get runtimeclass wasmtime-spin-v2 -o jsonpath="{.scheduling.nodeSelector.spinkube\.dev/containerd-shim-spin}")" installed \
	"the RuntimeClass selects installed nodes"
is "$(kubectl auth can-i patch nodes --as system:serviceaccount:$ns:spinkube-node-installer),$(kubectl auth can-i list nodes --as system:serviceaccount:$ns:spinkube-node-installer),$(kubectl auth can-i delete nodes --as system:serviceaccount:$ns:spinkube-node-installer)" \
	"yes,no,no" "the installer's account may patch nodes, nothing more"

# --- a SpinApp through the installed shim ------------------------------------------
setsid "$build/controller/spin-controller" --metrics-bind-address=0 --health-probe-bind-address=0 --kubeconfig "$KUBECONFIG" \
	</dev/null >"$work/controller.log" 2>&1 &
ctrl_pid=$!
ok "spinkube push: the WAGI app" bash -c "'$sk' push -q -f '$GUESTS/wagi' '$reg/e2e/wagi:v1' >/dev/null 2>>'$work/push.log'"
printf 'apiVersion: core.spinkube.dev/v1alpha1\nkind: SpinApp\nmetadata:\n  name: wagi\nspec:\n  image: %s\n  replicas: 1\n' \
	"$reg/e2e/wagi:v1" | kubectl apply -f - >/dev/null
ok "the SpinApp is Ready on the installed node" kubectl wait --for=condition=Ready spinapp/wagi --timeout=120s
ip=$(kubectl get svc wagi -o jsonpath='{.spec.clusterIP}')
ok "its Service address is this cluster's" retry 30 assert_local_addr "$ip"
ok "the app answers through its Service" \
	retry 30 bash -c "[ \"\$(curl -s --noproxy '*' -m 5 'http://$ip/hello')\" = 'hello from wagi' ]"
ok "... from a pod run by the shim the installer put there" \
	bash -c "ls -l /proc/[0-9]*/exe 2>/dev/null | grep -qF -- '-> $bin'"
# The chart made shared mode's RuntimeClass (selecting installed nodes) and
# its executor.
ok "the chart's RuntimeClass wasmtime-spin-shared selects installed nodes" bash -c \
	"kubectl get runtimeclass wasmtime-spin-shared -o jsonpath='{.handler} {.scheduling.nodeSelector}' | grep -q '^spin-shared .*containerd-shim-spin.*installed'"
printf 'apiVersion: core.spinkube.dev/v1alpha1\nkind: SpinApp\nmetadata:\n  name: wagis\nspec:\n  image: %s\n  replicas: 1\n  executor: containerd-shim-spin-shared\n' \
	"$reg/e2e/wagi:v1" | kubectl apply -f - >/dev/null
ok "a SpinApp in shared mode is Ready on the installed node" kubectl wait --for=condition=Ready spinapp/wagis --timeout=120s
ips=$(kubectl get svc wagis -o jsonpath='{.spec.clusterIP}')
ok "its Service address is this cluster's" retry 30 assert_local_addr "$ips"
ok "it answers through its Service" \
	retry 30 bash -c "[ \"\$(curl -s --noproxy '*' -m 5 'http://$ips/hello')\" = 'hello from wagi' ]"
ok "... served by the node runtime the installed shim started" pgrep -f "$bin .*-shared serve"

# --- a new installer pod: nothing to do ---------------------------------------------
kubectl -n $ns delete pod -l app.kubernetes.io/name=spinkube-node-installer --wait=true >/dev/null
ok "a new installer pod becomes Ready" retry 60 bash -c \
	"[ \"\$(kubectl -n $ns get ds spinkube-node-installer -o jsonpath='{.status.numberReady}')\" = 1 ]"
kubectl -n $ns logs ds/spinkube-node-installer >"$work/installer2.log" 2>&1
ok "... finds the shim installed already" grep -qF 'msg="the shim is installed already"' "$work/installer2.log"
ok "... and the configuration too" grep -qF "msg=\"containerd's configuration has the spin runtime already\"" "$work/installer2.log"
ok "... so it does not restart containerd" bash -c "! grep -q 'restarted containerd' '$work/installer2.log'"
is "$(ctr_pid)" "$pid_after" "containerd kept running"
ok "the app still answers" bash -c "[ \"\$(curl -s --noproxy '*' -m 5 'http://$ip/hello')\" = 'hello from wagi' ]"

# --- helm uninstall -------------------------------------------------------------------
kubectl delete spinapp wagi wagis >/dev/null
kubectl -n default delete spinappexecutor containerd-shim-spin containerd-shim-spin-shared --wait=false >/dev/null
ok "the controller releases the executors" retry 30 bash -c "! kubectl -n default get spinappexecutor containerd-shim-spin 2>/dev/null && ! kubectl -n default get spinappexecutor containerd-shim-spin-shared 2>/dev/null"
kill "$ctrl_pid"; wait "$ctrl_pid" 2>/dev/null; ctrl_pid=
ok "helm uninstall succeeds (the pre-delete hook waits for the installer)" \
	bash -c "helm uninstall spinkube -n $ns --wait --timeout 3m >>'$work/helm.log' 2>&1"
ok "containerd's configuration is restored byte for byte" cmp <(sha256sum <"$cfg") <(echo "$sum_before")
ok "no backup left beside it" test ! -e "$cfg.spinkube-c.orig"
ok "the drop-in is gone" test ! -e "$dropin"
ok "the shim and its link are gone, and their folder" bash -c "[ ! -e '$bin' ] && [ ! -L '$link' ] && [ ! -e '$nd/opt/bin' ]"
ok "the state folder is gone" test ! -e "$nd/installer-state"
is "$(kubectl get node "$node" -o jsonpath="{.metadata.labels.spinkube\.dev/containerd-shim-spin}")" "" "the label is gone"
pid_final=$(ctr_pid)
ok "containerd was restarted again" bash -c "[ -n '$pid_final' ] && [ '$pid_final' != '$pid_after' ]"
ok "the kubelet is still Ready" retry 30 bash -c \
	"[ \"\$(kubectl get node '$node' -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}')\" = True ]"
ok "the installer's objects are gone (DaemonSet, hook Job, accounts, roles)" retry 30 bash -c \
	"[ -z \"\$(kubectl -n $ns get ds,job,sa -o name 2>/dev/null | grep node-installer)\" ] && ! kubectl get clusterrole spinkube-node-installer spinkube-node-installer-uninstall >/dev/null 2>&1"
tap_done
