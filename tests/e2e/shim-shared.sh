#!/usr/bin/env bash
# containerd-shim-spin-v2 in shared mode on the real node (hack/cluster-up
# --real-node): SpinApps whose executor names the RuntimeClass
# wasmtime-spin-shared are all served by one node runtime process. The
# three kinds of HTTP component answer through their Services; 50 distinct
# apps (each its own wasm and environment) answer each with its own reply;
# two apps of one image see their own variables; deleting one app leaves
# the others serving; a guest that traps or loops harms no other app; a
# pod's memory limit holds for its app only; kubectl logs shows each pod's
# own lines; kill -9 of the node runtime restarts every pod, and all answer
# again (the time it took is printed, not asserted).
# Network safety: every request goes to loopback or to an address that
# assert_local_addr (hack/node.sh) has checked to be this cluster's.
set -u
src=${SPINKUBE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SPINKUBE_BUILD_DIR:-$src/build}
. "$src/tests/lib/tap.sh"
. "$src/hack/lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "1..0 # SKIP the real node needs root (bridge, iptables, cgroups)"; exit 0; }
shim=$build/shim-bridge/shim/containerd-shim-spin-v2
[ -x "$shim" ] && [ -x "$build/cli/spinkube" ] || bail "missing $shim or $build/cli/spinkube: run ninja -C $build"
N=${SHIM_SHARED_APPS:-50}
[ "$N" -ge 3 ] 2>/dev/null || bail "SHIM_SHARED_APPS=$N: at least 3"

name=e2e-shared-$$
work=$(mktemp -d)
ctrl_pid=
cleanup() {
	[ -n "$ctrl_pid" ] && kill "$ctrl_pid" 2>/dev/null
	"$src/hack/cluster-down" --name "$name" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

. "$src/tests/lib/spinapps.sh"
guests_build

out=$("$src/hack/cluster-up" --name "$name" --real-node --nodes 0 --shim "$shim" 2>"$work/up.err") || {
	sed 's/^/# /' "$work/up.err"
	bail "hack/cluster-up --name $name --real-node failed"
}
eval "$out"
dir=$SPINKUBE_CLUSTER_DIR
reg=$SPINKUBE_REGISTRY
ok "the node's containerd has the spin-shared runtime handler" grep -q "runtimes.spin-shared\]" "$dir/node/containerd.toml"
ok "whose runtime_path is the shared-mode link to the shim" \
	test "$(readlink "$dir/node/bin/containerd-shim-spin-shared-v2")" = containerd-shim-spin-v2

kubectl apply -f "$src/crd/" >/dev/null
until kubectl wait --for=condition=Established --timeout=60s crd/spinapps.core.spinkube.dev \
	crd/spinappexecutors.core.spinkube.dev >/dev/null 2>&1; do sleep 1; done
kubectl apply -f "$src/crd/defaults/" >/dev/null
setsid "$build/controller/spin-controller" --metrics-bind-address=0 --health-probe-bind-address=0 --kubeconfig "$KUBECONFIG" </dev/null >"$work/controller.log" 2>&1 &
ctrl_pid=$!

# push (quiet), and spinapp_shared NAME IMAGE [EXTRA-YAML]: a SpinApp in
# shared mode; svc_ip, ready, get and code are tests/lib/spinapps.sh's.
push() { "$sk" push -q -f "$1" "$reg/$2" >/dev/null 2>>"$work/push.log"; }
spinapp_shared() {
	spinapp "$1" "$2" "  executor: containerd-shim-spin-shared
  replicas: 1${3:+
$3}"
}
pod_of() { kubectl get pods -l "core.spinkube.dev/app-name=$1" -o jsonpath='{.items[0].metadata.name}'; }
# The node runtime: the daemon start launched, under the program's real name.
runtimes() { pgrep -fc "$dir/node/bin/containerd-shim-spin-v2 .*-shared serve" || true; }
restarts() { kubectl get pods -o jsonpath='{range .items[*]}{.status.containerStatuses[0].restartCount}{"\n"}{end}' | awk '{s += $1} END {print s + 0}'; }

# --- the three kinds of HTTP component -------------------------------------------
ok "spinkube push: the WAGI app" push "$GUESTS/wagi" e2e/wagi:v1
ok "spinkube push: the inbound-http app" push "$GUESTS/components" e2e/components:v1
ok "spinkube push: the Spin interfaces app" push "$GUESTS/spin" e2e/spin:v1
ok "spinkube push: the wasi:http app" push "$GUESTS/wasi-http" e2e/wasi-http:v1
spinapp_shared wagi e2e/wagi:v1
spinapp_shared components e2e/components:v1
spinapp_shared wasihttp e2e/wasi-http:v1
ok "the WAGI SpinApp is Ready in shared mode" ready wagi
ok "the inbound-http SpinApp is Ready" ready components
ok "the wasi:http SpinApp is Ready" ready wasihttp
is "$(kubectl get pod "$(pod_of wagi)" -o jsonpath='{.spec.runtimeClassName}')" wasmtime-spin-shared \
	"its pod runs under the RuntimeClass wasmtime-spin-shared"
is "$(get wagi /hello)" "hello from wagi" "a WAGI app answers through its Service"
ok "an inbound-http component answers" grep -q hello <<<"$(get components /hello)"
ok "a wasi:http component answers" test "$(code wasihttp /hello)" = 200
is "$(runtimes)" 1 "one node runtime process serves the three pods"
is "$(pgrep -fc "$dir/node/bin/containerd-shim-spin.* app " || true)" 0 "and no app process runs"

# Two apps of one image, each with its own variables.
kubectl create secret generic e2e-vars --from-literal=key=from-a-secret >/dev/null
spinapp_shared spin1 e2e/spin:v1 "  variables:
  - {name: greeting, value: value-one}
  - name: api_key
    valueFrom: {secretKeyRef: {name: e2e-vars, key: key}}"
spinapp_shared spin2 e2e/spin:v1 "  variables:
  - {name: greeting, value: value-two}
  - {name: api_key, value: k2}"
ok "a SpinApp of the Spin interfaces image is Ready" ready spin1 "/vars?all"
ok "and a second one of the same image" ready spin2 "/vars?all"
v1=$(get spin1 "/vars?all") v2=$(get spin2 "/vars?all")
ok "the first sees its own variable" bash -c "grep -q value-one <<<'$v1' && ! grep -q value-two <<<'$v1'"
ok "the second its own" bash -c "grep -q value-two <<<'$v2' && ! grep -q value-one <<<'$v2'"
ok "a variable from a Secret reaches the first" grep -q from-a-secret <<<"$v1"

# --- many distinct apps in one process -------------------------------------------
# Each app: the WAGI app with its own echo.wasm (a custom section makes the
# bytes differ; the code is the same) and its own GUEST_MODE.
# The folders first, then the pushes four at a time, then one apply.
for i in $(seq 1 "$N"); do
	d=$work/d$i
	cp -r "$GUESTS/wagi" "$d"
	python3 - "$d/echo.wasm" "app-$i" <<'PY'
import sys
name, payload = b"spinkube-test", sys.argv[2].encode()
body = bytes([len(name)]) + name + payload
with open(sys.argv[1], "ab") as f:
    f.write(bytes([0, len(body)]) + body)
PY
	sed -i "s/GUEST_MODE = \"test\"/GUEST_MODE = \"app-$i\"/" "$d/spin.toml"
done
# (waits name the pushes: the controller is a background job of this shell too)
batch=()
for i in $(seq 1 "$N"); do
	push "$work/d$i" "e2e/d$i:v1" &
	batch+=($!)
	[ ${#batch[@]} -lt 4 ] && [ "$i" -lt "$N" ] && continue
	wait "${batch[@]}"
	batch=()
done
for i in $(seq 1 "$N"); do
	printf 'apiVersion: core.spinkube.dev/v1alpha1\nkind: SpinApp\nmetadata:\n  name: d%s\nspec:\n  image: %s\n' "$i" "$reg/e2e/d$i:v1"
	printf '  executor: containerd-shim-spin-shared\n  replicas: 1\n---\n'
done >"$work/distinct.yaml"
ok "$N distinct SpinApps applied" kubectl apply -f "$work/distinct.yaml"
t0=$SECONDS
for i in $(seq 1 "$N"); do kubectl wait --for=condition=Ready "spinapp/d$i" --timeout=180s >/dev/null 2>&1; done
diag "$N distinct SpinApps Ready $((SECONDS - t0)) s after the last was applied"
answered=0
for i in $(seq 1 "$N"); do
	ip=$(svc_ip "d$i") && retry 30 assert_local_addr "$ip" || continue
	retry 20 bash -c "curl -s --noproxy '*' -m 5 http://$ip/echo/x | grep -qx 'env GUEST_MODE=app-$i'" && answered=$((answered + 1))
done
is "$answered" "$N" "each of the $N distinct apps answers through its Service with its own reply"
is "$(runtimes)" 1 "all of them in the one node runtime process"

kubectl delete spinapp "d$N" --wait=true >/dev/null 2>&1
ok "a deleted app's pod goes" retry 60 bash -c "[ -z \"\$(kubectl get pods -l core.spinkube.dev/app-name=d$N -o name)\" ]"
left=0
for i in $(seq 1 $((N - 1))); do
	[ "$(get "d$i" /echo/x | grep -c "^env GUEST_MODE=app-$i$")" = 1 ] && left=$((left + 1))
done
is "$left" $((N - 1)) "the other $((N - 1)) apps still answer"

# --- faults of one app harm no other ---------------------------------------------
ip1=$(svc_ip d1); assert_local_addr "$ip1" || bail "the d1 Service address is not local"
( curl -s --noproxy '*' -m 45 -o /dev/null -w '%{http_code}' "http://$ip1/loop" >"$work/loop.code" ) &
loop_pid=$!
is "$(code d2 /trap)" 500 "a guest that traps gets 500 for that request"
sleep 1
fine=0
others=$((N - 1 < 6 ? N - 2 : 5))
for i in $(seq 2 $((others + 1))); do [ "$(get "d$i" /hello)" = "hello from wagi" ] && fine=$((fine + 1)); done
is "$fine" "$others" "while one app loops and another trapped, other apps answer"
is "$(get d1 /hello)" "hello from wagi" "and so does the looping app itself"
wait "$loop_pid"
is "$(cat "$work/loop.code")" 500 "the looping request is stopped at the time limit with 500"
is "$(restarts)" 0 "no pod restarted"
ok "kubectl logs of the trapping pod shows its guest's output" \
	retry 10 bash -c "kubectl logs $(pod_of d2) | grep -q 'wagi trap: about to trap'"
ok "and the runtime's serving line" bash -c "kubectl logs $(pod_of d2) | grep -q 'msg=\"serving\"'"
ok "another pod's log does not have it" bash -c "! kubectl logs $(pod_of d3) | grep -q 'about to trap'"

# A memory limit of 64 MiB: each instance gets at most half of it.
spinapp_shared lim e2e/d3:v1 "  resources:
    limits: {memory: 64Mi}"
ok "an app with a 64 MiB memory limit is Ready" ready lim
is "$(code lim '/hog?mib=48')" 500 "its guest cannot take 48 MiB"
is "$(code d3 '/hog?mib=48')" 200 "while the same app without the limit can"
is "$(code lim /hello)" 200 "and the limited app goes on serving"

# --- the node runtime dies ---------------------------------------------------------
before=$(restarts)
pods=$(kubectl get pods --no-headers | wc -l)
rt=$(pgrep -f "$dir/node/bin/containerd-shim-spin-v2 .*-shared serve" | head -1)
ok "found the node runtime" test -n "$rt"
t0=$SECONDS
[ -n "$rt" ] && kill -9 "$rt"
all_back() {
	[ "$(restarts)" -ge $((before + pods)) ] || return 1
	for i in $(seq 1 $((N - 1))); do
		[ "$(curl -s --noproxy '*' -m 3 "http://$(svc_ip "d$i")/hello")" = "hello from wagi" ] || return 1
	done
}
ok "after kill -9 of the node runtime every pod restarts and all apps answer again" retry 180 all_back
diag "all $((N - 1)) distinct apps answered again $((SECONDS - t0)) s after kill -9 of the node runtime ($pods pods)"
is "$(runtimes)" 1 "served by one new node runtime"

tap_done
