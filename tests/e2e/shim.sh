#!/usr/bin/env bash
# containerd-shim-spin-v2 on the real node (hack/cluster-up --real-node):
# SpinApps whose images are Spin OCI artifacts pushed with spinkube push to
# the cluster's registry run in pods of the RuntimeClass wasmtime-spin-v2
# and answer through their Services: a WAGI app, an inbound-http app, a
# JavaScript wasi:http app; variables from values and from a Secret; a
# runtime-config Secret with a key-value store; selective deployment;
# readiness and liveness probes; kubectl logs with guest output; traces and
# logs of a pod to the OTLP endpoint its executor names. Then
# scale 1 -> 5 -> 1, a rolling update under a bounded request loop with no
# failed request, a pod deleted mid-request finishing it; the faults (kill -9
# of a shim, containerd and the kubelet restarted, a guest that traps or
# loops); and bad images (not Wasm, a missing layer, a broken spin.toml, an
# unknown import), each failing its pod with one line while the node stays
# healthy.
# Network safety: every request goes to loopback or to an address that
# assert_local_addr (hack/node.sh) has checked to be this cluster's.
set -u
src=${SPINKUBE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SPINKUBE_BUILD_DIR:-$src/build}
. "$src/tests/lib/tap.sh"
. "$src/hack/lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "1..0 # SKIP the real node needs root (bridge, iptables, cgroups)"; exit 0; }
shim=$build/shim-bridge/shim/containerd-shim-spin-v2

name=e2e-shim-$$
work=$(mktemp -d)
. "$src/tests/lib/spinapps.sh"
[ -x "$shim" ] && [ -x "$sk" ] || bail "missing $shim or $sk: run ninja -C $build"
ctrl_pid=
loop_pid=
cleanup() {
	[ -n "$loop_pid" ] && kill "$loop_pid" 2>/dev/null
	[ -n "$ctrl_pid" ] && kill "$ctrl_pid" 2>/dev/null
	declare -F otelcol_stop >/dev/null && otelcol_stop >/dev/null 2>&1
	"$src/hack/cluster-down" --name "$name" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

# --- the guests, as Spin apps -------------------------------------------------
guests_build
jskey=$(cat "$src"/tests/guests/js/* "$src/tests/guests/build-js" "$src/hack/versions" | sha256sum | cut -c1-12)
JS=$SPINKUBE_CACHE/test-guests-js-$jskey
if [ ! -e "$JS/.complete" ]; then
	"$src/tests/guests/build-js" "$JS" >"$work/build-js.log" 2>&1 || { tail -n 20 "$work/build-js.log" | sed 's/^/# /'; bail "tests/guests/build-js failed"; }
	touch "$JS/.complete"
fi

out=$("$src/hack/cluster-up" --name "$name" --real-node --nodes 0 --shim "$shim" 2>"$work/up.err") || {
	sed 's/^/# /' "$work/up.err"
	bail "hack/cluster-up --name $name --real-node failed"
}
eval "$out"
dir=$SPINKUBE_CLUSTER_DIR
reg=$SPINKUBE_REGISTRY
node=$SPINKUBE_NODE
ok "the node's containerd has the spin runtime handler for the shim" \
	grep -q "runtimes.spin\]" "$dir/node/containerd.toml"

kubectl apply -f "$src/crd/" >/dev/null
until kubectl wait --for=condition=Established --timeout=60s crd/spinapps.core.spinkube.dev \
	crd/spinappexecutors.core.spinkube.dev >/dev/null 2>&1; do sleep 1; done
kubectl apply -f "$src/crd/defaults/" >/dev/null
setsid "$build/controller/spin-controller" --metrics-bind-address=0 --health-probe-bind-address=0 --kubeconfig "$KUBECONFIG" </dev/null >"$work/controller.log" 2>&1 &
ctrl_pid=$!

ok "spinkube push: the WAGI app" push "$GUESTS/wagi" e2e/wagi:v1
ok "spinkube push: the inbound-http app" push "$GUESTS/components" e2e/components:v1
ok "spinkube push: the JavaScript app" push "$JS/js" e2e/js:v1
ok "spinkube push: the Spin interfaces app" push "$GUESTS/spin" e2e/spin:v1
ok "spinkube push: the wasi:http app" push "$GUESTS/wasi-http" e2e/wasi-http:v1
# v2 of the WAGI app: another environment for echo, so another locked app.
cp -r "$GUESTS/wagi" "$work/wagi2"
sed -i 's/GUEST_MODE = "test"/GUEST_MODE = "v2"/' "$work/wagi2/spin.toml"
ok "spinkube push: the WAGI app, v2" push "$work/wagi2" e2e/wagi:v2

# push, spinapp, ready, svc_ip, get, code, pods_of: tests/lib/spinapps.sh.

# --- the three kinds of HTTP component ------------------------------------------
spinapp wagi e2e/wagi:v1 "  replicas: 1
  checks:
    readiness: {httpGet: {path: /hello}}
    liveness: {httpGet: {path: /hello}}"
spinapp components e2e/components:v1
spinapp js e2e/js:v1
ok "the WAGI SpinApp is Ready" ready wagi
ok "the inbound-http SpinApp is Ready" ready components
ok "the JavaScript SpinApp is Ready" ready js
is "$(kubectl get pods -l core.spinkube.dev/app-name=wagi -o jsonpath='{.items[0].spec.runtimeClassName}')" \
	wasmtime-spin-v2 "its pod runs under the RuntimeClass wasmtime-spin-v2"
is "$(get wagi /hello)" "hello from wagi" "a WAGI app answers through its Service"
ok "an inbound-http component answers through its Service" grep -q "hello" <<<"$(get components /hello)"
ok "a JavaScript wasi:http app answers through its Service" grep -qi "hello" <<<"$(get js /hello)"
pod=$(pods_of wagi | head -1)
is "$(kubectl get pod "$pod" -o jsonpath='{.status.containerStatuses[0].ready}')" true "the readiness probe passes"
ok "the Deployment carries the liveness probe" grep -q '"/hello"' <<<"$(kubectl get deploy wagi -o jsonpath='{.spec.template.spec.containers[0].livenessProbe}')"
# No pause process: the shim stands in for the sandbox.
cid=$(kubectl get pod "$pod" -o jsonpath='{.status.containerStatuses[0].containerID}'); cid=${cid#containerd://}
# app_pid POD-UID: the app process of a pod (in the pod's cgroup).
app_pid() {
	local p
	for p in $(pgrep -f "$dir/node/bin/containerd-shim-spin-v2 app"); do
		grep -q "$1" "/proc/$p/cgroup" 2>/dev/null && { echo "$p"; return 0; }
	done
	return 1
}
ok "the app container runs in the shim's app process, in the pod's cgroup" app_pid "$(kubectl get pod "$pod" -o jsonpath='{.metadata.uid}')"
is "$(pgrep -fc "$dir/node/bin/containerd-shim-spin-v2 .*serve" || true)" 3 "one shim per pod, no pause or runc process"
ok "no pause process runs on the node" bash -c "! pgrep -x pause"
kubectl exec "$pod" -- / >"$work/exec.out" 2>&1
ok "kubectl exec is refused with the shim's one line" grep -q "Exec is not supported by containerd-shim-spin-v2" "$work/exec.out"

# --- guest output, traps and loops ----------------------------------------------
is "$(code wagi /trap)" 500 "a guest that traps gets 500 for that request"
# A guest that loops is stopped at the request time limit (30 s): that
# request runs in the background while the next tests go on.
ip=$(svc_ip wagi); assert_local_addr "$ip" || bail "the wagi Service address is not local"
( curl -s --noproxy '*' -m 45 -o /dev/null -w '%{http_code}' "http://$ip/loop" >"$work/loop.code" ) &
loopreq_pid=$!
is "$(get wagi /hello)" "hello from wagi" "the next request is served by the same pod"
is "$(kubectl get pod "$pod" -o jsonpath='{.status.containerStatuses[0].restartCount}')" 0 "the pod did not restart"
ok "kubectl logs shows the guest's output" retry 10 bash -c "kubectl logs $pod | grep -q 'wagi trap: about to trap'"
ok "kubectl logs shows the runtime's lines" bash -c "kubectl logs $pod | grep -q 'msg=\"serving\"'"

# --- variables, runtime config, selective deployment ----------------------------
kubectl create secret generic e2e-vars --from-literal=key=from-a-secret >/dev/null
spinapp spin e2e/spin:v1 "  replicas: 1
  variables:
  - {name: greeting, value: from-a-value}
  - name: api_key
    valueFrom: {secretKeyRef: {name: e2e-vars, key: key}}
  runtimeConfig:
    keyValueStores:
    - {name: default, type: spin}"
ok "the Spin interfaces SpinApp is Ready" ready spin "/vars?all"
vars=$(get spin "/vars?all")
ok "a variable from a value reaches the component" grep -q "from-a-value" <<<"$vars"
ok "a variable from a Secret reaches the component" grep -q "from-a-secret" <<<"$vars"
is "$(get spin '/kv?key=k1' -X PUT --data-binary v1)" ok "the runtime config's key-value store takes a write"
is "$(get spin '/kv?key=k1')" v1 "and reads it back"
ok "the runtime-config Secret is mounted into the pod" grep -q runtime-config \
	<<<"$(kubectl get deploy spin -o jsonpath='{.spec.template.spec.volumes}')"
spinapp sel e2e/wagi:v1 "  replicas: 1
  components: [hello]"
ok "a SpinApp with selected components is Ready" ready sel
is "$(code sel /hello)" 200 "a selected component answers"
is "$(code sel /echo/x)" 404 "a component left out is not served"

# --- OpenTelemetry: the executor's otel endpoint reaches the app ----------------
# The real collector (tests/lib/otelcol.sh) listens on the node's bridge
# address, which pods reach and which is this machine's own (checked first).
. "$src/tests/lib/otelcol.sh"
if reason=$(otelcol_missing); then
	skip "traces and logs of a pod reach the executor's collector" "$reason"
elif ! ip -o addr show dev "$NODE_BRIDGE" | grep -q " $NODE_BRIDGE_IP/"; then
	bail "the bridge address $NODE_BRIDGE_IP is not on $NODE_BRIDGE of this machine"
elif ! OTELCOL_ADDR=$NODE_BRIDGE_IP otelcol_start "$work/otelcol"; then
	bail "the collector did not start on $NODE_BRIDGE_IP"
else
	kubectl apply -f - >/dev/null <<EOT
apiVersion: core.spinkube.dev/v1alpha1
kind: SpinAppExecutor
metadata: {name: traced}
spec:
  createDeployment: true
  deploymentConfig:
    runtimeClassName: wasmtime-spin-v2
    otel: {exporter_otlp_endpoint: "$OTELCOL_ENDPOINT"}
EOT
	spinapp traced e2e/wasi-http:v1 "  replicas: 1
  executor: traced"
	ok "a SpinApp whose executor names an OTLP endpoint is Ready" ready traced
	is "$(kubectl get deploy traced -o jsonpath='{.spec.template.spec.containers[0].env[?(@.name=="OTEL_EXPORTER_OTLP_ENDPOINT")].value}')" \
		"$OTELCOL_ENDPOINT" "... its pod has OTEL_EXPORTER_OTLP_ENDPOINT"
	tp=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
	get traced /hello -H "traceparent: $tp" >/dev/null
	get traced /trapmid -o /dev/null
	# the default batch delay is 5 s
	ok "the request's server span reaches the collector, child of the caller's span" \
		otelcol_wait_for "$OTELCOL_TRACES" '[.[].resourceSpans[] | select(any(.resource.attributes[]; .key == "service.name" and .value.stringValue == "wasi-http"))
		| .scopeSpans[].spans[] | select(.name == "GET /hello" and .traceId == "4bf92f3577b34da6a3ce929d0e0e4736" and .parentSpanId == "00f067aa0ba902b7")] | length == 1' 30
	ok "the guest's stderr line reaches it as a log record of its request" \
		otelcol_wait_for "$OTELCOL_LOGS" '[.[].resourceLogs[].scopeLogs[].logRecords[] | select(.body.stringValue | startswith("trapmid: trapping")) | select(.traceId != null)] | length >= 1' 30
	kubectl delete spinapp traced --wait=true >/dev/null
	otelcol_stop >/dev/null
fi

wait "$loopreq_pid"
is "$(cat "$work/loop.code")" 500 "a guest that loops gets 500 at its time limit"
is "$(get wagi /hello)" "hello from wagi" "while the loop ran, the pod served others"
is "$(kubectl get pod "$pod" -o jsonpath='{.status.containerStatuses[0].restartCount}')" 0 "and did not restart"

# --- scale 1 -> 5 -> 1 ------------------------------------------------------------
shims=$(pgrep -fc "$dir/node/bin/containerd-shim-spin-v2 .*serve")
kubectl patch spinapp wagi --type merge -p '{"spec":{"replicas":5}}' >/dev/null
ok "scaled to 5 replicas, all Ready" retry 90 bash -c "[ \"\$(kubectl get deploy wagi -o jsonpath='{.status.readyReplicas}')\" = 5 ]"
n=0
for i in $(seq 1 20); do [ "$(get wagi /hello)" = "hello from wagi" ] && n=$((n + 1)); done
is "$n" 20 "20 requests through the Service across 5 pods all answered"
kubectl patch spinapp wagi --type merge -p '{"spec":{"replicas":1}}' >/dev/null
ok "scaled back to 1: four pods gone" retry 60 bash -c "[ \"\$(kubectl get pods -l core.spinkube.dev/app-name=wagi --no-headers | wc -l)\" = 1 ]"
shims_are() { [ "$(pgrep -fc "$dir/node/bin/containerd-shim-spin-v2 .*serve")" = "$1" ]; }
ok "and their shims exited" retry 30 shims_are "$shims"

# --- a rolling update under load ---------------------------------------------------
ip=$(svc_ip wagi); assert_local_addr "$ip" || bail "the wagi Service address is not local"
( fails=0 total=0
  end=$((SECONDS + 60))
  while [ $SECONDS -lt $end ] && [ ! -e "$work/stop-loop" ] && [ $total -lt 3000 ]; do
	c=$(curl -s --noproxy '*' -m 5 -o /dev/null -w '%{http_code}' "http://$ip/hello")
	total=$((total + 1)); [ "$c" = 200 ] || fails=$((fails + 1))
  done
  echo "$total $fails" >"$work/loop.result" ) &
loop_pid=$!
sleep 1
kubectl patch spinapp wagi --type merge -p "{\"spec\":{\"image\":\"$reg/e2e/wagi:v2\"}}" >/dev/null
ok "the rolling update to v2 completes" kubectl rollout status deploy/wagi --timeout=90s
ok "the new pod is Ready" ready wagi
sleep 3
touch "$work/stop-loop"; wait "$loop_pid"; loop_pid=
read -r total fails <"$work/loop.result"
diag "rolling update: $total requests, $fails failed"
ok "the request loop ran" test "$total" -gt 10
is "$fails" 0 "no request failed during the rolling update"
ok "the Service now reaches v2" grep -qx "env GUEST_MODE=v2" <<<"$(get wagi /echo/x)"

# --- a pod deleted mid-request drains it ----------------------------------------------
spinapp gen e2e/wasi-http:v1
ok "the wasi:http SpinApp is Ready" ready gen
gpod=$(pods_of gen | head -1)
gip=$(kubectl get pod "$gpod" -o jsonpath='{.status.podIP}')
assert_local_addr "$gip" || bail "pod address $gip is not local"
( curl -s --noproxy '*' -m 30 --limit-rate 1M -o "$work/gen.out" -w '%{http_code}' "http://$gip/gen?size=4000000" >"$work/gen.code" ) &
gen_pid=$!
sleep 1
kubectl delete pod "$gpod" --wait=false >/dev/null
wait "$gen_pid"
is "$(cat "$work/gen.code")" 200 "a request in flight when its pod is deleted completes"
is "$(stat -c %s "$work/gen.out")" 4000000 "with its whole body"

# --- faults ------------------------------------------------------------------------------
before=$(kubectl get pods -l core.spinkube.dev/app-name=js -o jsonpath='{.items[0].status.containerStatuses[0].restartCount}')
pod=$(pods_of components | head -1)
uid=$(kubectl get pod "$pod" -o jsonpath='{.metadata.uid}')
shim_pid=
for p in $(pgrep -f "$dir/node/bin/containerd-shim-spin-v2 .*serve"); do
	for c in /proc/$p/task/*/children; do
		for k in $(cat "$c" 2>/dev/null); do
			grep -qF "$uid" "/proc/$k/cgroup" 2>/dev/null && shim_pid=$p
		done
	done
done
ok "found the shim of one pod" test -n "$shim_pid"
[ -n "$shim_pid" ] && kill -9 "$shim_pid"
ok "after kill -9 of its shim the pod runs again" retry 60 bash -c "[ \"\$(kubectl get pod $pod -o jsonpath='{.status.containerStatuses[0].ready}')\" = true ] && [ \"\$(kubectl get pod $pod -o jsonpath='{.status.containerStatuses[0].restartCount}')\" -ge 1 ]"
ok "and answers" retry 20 bash -c "curl -s --noproxy '*' -m 5 http://$(svc_ip components)/hello | grep -q hello"
is "$(kubectl get pods -l core.spinkube.dev/app-name=js -o jsonpath='{.items[0].status.containerStatuses[0].restartCount}')" "$before" \
	"the other apps' pods are untouched"

"$src/hack/cluster-restart" --name "$name" containerd >/dev/null 2>&1 &
rs_pid=$!
n=0 total=0
while kill -0 "$rs_pid" 2>/dev/null && [ $total -lt 200 ]; do
	total=$((total + 1)); [ "$(get js /hello)" != "" ] && n=$((n + 1))
done
wait "$rs_pid"
is "$n" "$total" "while containerd restarts, running apps keep serving ($total requests)"
ok "after the restart a pod delete goes through the reconnected shim" kubectl delete pod "$(pods_of js | head -1)" --timeout=60s
ok "and its replacement is Ready" retry 60 ready js

"$src/hack/cluster-restart" --name "$name" kubelet >/dev/null 2>&1
is "$(get wagi /hello)" "hello from wagi" "after a kubelet restart the apps still answer"
ok "the node is Ready after the restarts" retry 30 bash -c "[ \"\$(kubectl get node $node -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}')\" = True ]"

# --- bad images --------------------------------------------------------------------------
# failed_with APP TEXT: the app's pod fails and kubectl describe names TEXT.
failed_with() {
	local p
	p=$(pods_of "$1" | head -1)
	[ -n "$p" ] && kubectl describe pod "$p" | grep -qF "$2"
}
spinapp notwasm spinkube-c/pause:3.10
ok "an image that is not a Spin app fails its pod with one line in kubectl describe" \
	retry 60 failed_with notwasm "is neither a Spin app"
mkdir -p "$work/broken"
cp "$GUESTS/wagi/hello.wasm" "$work/broken/"
printf 'spin_manifest_version = 2\n[application]\nname = "broken"\n[[trigger.http]]\nroute = "/x"\ncomponent = "nope"\n' >"$work/broken/spin.toml"
"$src/hack/push-image" --registry "$reg" "$work/broken" e2e/broken-toml:v1 >/dev/null 2>>"$work/push.log"
spinapp brokentoml e2e/broken-toml:v1
ok "an image with a broken spin.toml fails its pod naming the problem" retry 60 failed_with brokentoml "nope"
printf '__attribute__((import_module("spinkube:unknown/thing"), import_name("call"))) void call(void);\nint main(void) { call(); return 0; }\n' >"$work/unknown.c"
mkdir -p "$work/unknown"
if clang --target=wasm32-wasi -O2 -o "$work/unknown/app.wasm" "$work/unknown.c" 2>"$work/unknown.err"; then
	printf 'spin_manifest_version = 2\n[application]\nname = "unknown"\n[[trigger.http]]\nroute = "/..."\ncomponent = "app"\nexecutor = { type = "wagi" }\n[component.app]\nsource = "app.wasm"\n' >"$work/unknown/spin.toml"
	push "$work/unknown" e2e/unknown:v1
	spinapp unknown e2e/unknown:v1
	ok "a component with an unknown import fails its pod naming the import" retry 60 failed_with unknown "spinkube:unknown/thing"
else
	sed 's/^/# /' "$work/unknown.err"; ok "clang builds the unknown-import guest" false
fi
# A missing layer: a new tag whose manifest names a blob the registry lost.
cp -r "$GUESTS/components" "$work/missing"
sed -i 's/hello from a variable/missing-layer/' "$work/missing/spin.toml"
push "$work/missing" e2e/missing:v1
lock=$(curl -s --noproxy '*' -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$reg/v2/e2e/missing/manifests/v1" |
	python3 -c 'import json,sys; print([l["digest"] for l in json.load(sys.stdin)["layers"] if "spin.application" in l["mediaType"]][0])')
rm -rf "$dir/node/registry/docker/registry/v2/blobs/sha256/${lock:7:2}/${lock:7}"
spinapp missing e2e/missing:v1
ok "an artifact with a missing layer fails its pod with the pull error" retry 60 failed_with missing "not found"
# Over its memory limit: the kernel kills the app, reported as OOMKilled.
spinapp oom e2e/wagi:v1 "  replicas: 1
  resources:
    limits: {memory: 12Mi}"
oom_reason() {
	kubectl get pods -l core.spinkube.dev/app-name=oom \
		-o jsonpath='{.items[0].status.containerStatuses[0].lastState.terminated.reason}{.items[0].status.containerStatuses[0].state.terminated.reason}' |
		grep -q OOMKilled
}
ok "an app over its pod's memory limit is OOMKilled" retry 60 oom_reason
is "$(get wagi /hello)" "hello from wagi" "the node stays healthy: the good app still answers"
is "$(kubectl get node "$node" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" True "and the node is Ready"

tap_done
