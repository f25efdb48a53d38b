#!/usr/bin/env bash
# containerd-shim-spin-v2 on the real node (hack/cluster-up --real-node), one
# suite for both of its modes: per-pod mode (RuntimeClass wasmtime-spin-v2,
# a shim and an app process per pod) and shared mode (RuntimeClass
# wasmtime-spin-shared, one node runtime process for every such pod), each
# in SHIM_MODES ("pod shared" by default, or either alone). Both run side
# by side on one cluster: every app below is a SpinApp of each mode (NAME-p,
# NAME-s), and every check is made for each mode, named [pod] or [shared].
#
# Spin OCI artifacts pushed with spinkube push answer through their Services:
# a WAGI app, an inbound-http app, a JavaScript wasi:http app; variables from
# values and from a Secret, two apps of one image each with its own;
# a runtime-config Secret with a key-value store; selective deployment;
# readiness and liveness probes; kubectl logs with the guest's and the
# runtime's lines; kubectl exec refused; a guest that traps or loops harms
# no other request; a memory limit holds for its app only; scale 1 -> 5 -> 1,
# a rolling update under a bounded request loop with no failed request, a
# pod deleted mid-request finishing it; bad images (not Wasm, a missing
# layer, a broken spin.toml, an unknown import) failing their pods with one
# line; containerd and the kubelet restarted under running apps; kill -9 of
# what serves an app (a pod's shim; the node runtime), after which its pods
# restart and answer while the other mode's pods are untouched.
# Mode branches: per-pod mode's internals (an app process in the pod's
# cgroup, one shim per pod, shims gone after a scale-down), its OOM kill at
# a 12 MiB limit, and traces and logs to the OTLP endpoint an executor names;
# shared mode's (one node runtime, no app process) and its density extras:
# SHIM_SHARED_APPS (50) distinct apps, each its own wasm and environment,
# answering with their own replies, one deleted while the others serve, and
# all of them answering again after kill -9 of the node runtime (the time it
# took is printed, not asserted).
# Network safety: every request goes to loopback or to an address that
# assert_local_addr (hack/node.sh) has checked to be this cluster's.
set -u
src=${SPINKUBE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SPINKUBE_BUILD_DIR:-$src/build}
. "$src/tests/lib/tap.sh"
. "$src/hack/lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "1..0 # SKIP the real node needs root (bridge, iptables, cgroups)"; exit 0; }
shim=$build/shim-bridge/shim/containerd-shim-spin-v2

MODES=${SHIM_MODES:-pod shared}
for m in $MODES; do
	case $m in pod | shared) ;; *) bail "SHIM_MODES=\"$MODES\": give pod, shared or both" ;; esac
done
has() { [[ " $MODES " == *" $1 "* ]]; }
N=${SHIM_SHARED_APPS:-50}
[ "$N" -ge 3 ] 2>/dev/null || bail "SHIM_SHARED_APPS=$N: at least 3"

name=e2e-shim-$$
work=$(mktemp -d)
. "$src/tests/lib/spinapps.sh"
[ -x "$shim" ] && [ -x "$sk" ] || bail "missing $shim or $sk: run ninja -C $build"
ctrl_pid=
bg_pids=()
cleanup() {
	local p
	for p in "${bg_pids[@]}" $distinct_pid; do kill "$p" 2>/dev/null; done
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
bin=$dir/node/bin/containerd-shim-spin-v2
ok "the node's containerd has the spin runtime handler (per-pod mode)" grep -q "runtimes.spin\]" "$dir/node/containerd.toml"
ok "and the spin-shared one (shared mode)" grep -q "runtimes.spin-shared\]" "$dir/node/containerd.toml"
ok "whose runtime_path is the shared-mode link to the shim" \
	test "$(readlink "$dir/node/bin/containerd-shim-spin-shared-v2")" = containerd-shim-spin-v2

kubectl apply -f "$src/crd/" >/dev/null
until kubectl wait --for=condition=Established --timeout=60s crd/spinapps.core.spinkube.dev \
	crd/spinappexecutors.core.spinkube.dev >/dev/null 2>&1; do sleep 1; done
kubectl apply -f "$src/crd/defaults/" >/dev/null
setsid "$build/controller/spin-controller" --metrics-bind-address=0 --health-probe-bind-address=0 --kubeconfig "$KUBECONFIG" </dev/null >"$work/controller.log" 2>&1 &
ctrl_pid=$!

# --- helpers --------------------------------------------------------------------
# push, spinapp, ready, svc_ip, get, code, pods_of: tests/lib/spinapps.sh.
# app MODE NAME: the SpinApp of NAME in MODE (wagi-p, wagi-s).
app() { echo "$2-${1:0:1}"; }
# sa MODE NAME IMAGE [EXTRA-YAML]: apply NAME's SpinApp in MODE, one replica.
sa() {
	local ex=
	[ "$1" = shared ] && ex="
  executor: containerd-shim-spin-shared"
	spinapp "$(app "$1" "$2")" "$3" "  replicas: 1$ex${4:+
$4}"
}
rc_of() { [ "$1" = pod ] && echo wasmtime-spin-v2 || echo wasmtime-spin-shared; }
pod_of() { pods_of "$1" | head -1; }
restarts_of() { kubectl get pods -l "core.spinkube.dev/app-name=$1" -o jsonpath='{.items[0].status.containerStatuses[0].restartCount}'; }
# Per-pod mode's shims ("... -socket PATH serve") and app processes; shared
# mode's node runtime ("... -shared serve").
pod_shims() { pgrep -fc "$bin .*-socket [^ ]+ serve\$" || true; }
runtimes() { pgrep -fc "$bin .*-shared serve" || true; }
app_procs() { pgrep -fc "$bin app" || true; }
# the pods of MODE's RuntimeClass, any phase
pods_in() { kubectl get pods -o jsonpath="{range .items[?(@.spec.runtimeClassName==\"$(rc_of "$1")\")]}{.metadata.name}{\"\\n\"}{end}" | grep -c . || true; }
# failed_with APP TEXT: the app's pod fails and kubectl describe names TEXT.
failed_with() {
	local p
	p=$(pod_of "$1")
	[ -n "$p" ] && kubectl describe pod "$p" | grep -qF "$2"
}

# mark_wasm FILE TEXT: append a custom section holding TEXT to FILE, so that
# its bytes (and digest) differ while its code stays the same.
mark_wasm() {
	python3 - "$1" "$2" <<'PY'
import sys
name, payload = b"spinkube-test", sys.argv[2].encode()
body = bytes([len(name)]) + name + payload
with open(sys.argv[1], "ab") as f:
    f.write(bytes([0, len(body)]) + body)
PY
}

# --- pushes ---------------------------------------------------------------------
ok "spinkube push: the WAGI app" push "$GUESTS/wagi" e2e/wagi:v1
ok "spinkube push: the inbound-http app" push "$GUESTS/components" e2e/components:v1
ok "spinkube push: the JavaScript app" push "$JS/js" e2e/js:v1
ok "spinkube push: the Spin interfaces app" push "$GUESTS/spin" e2e/spin:v1
ok "spinkube push: the wasi:http app" push "$GUESTS/wasi-http" e2e/wasi-http:v1
# v2 of the WAGI app: another environment for echo, so another locked app.
cp -r "$GUESTS/wagi" "$work/wagi2"
sed -i 's/GUEST_MODE = "test"/GUEST_MODE = "v2"/' "$work/wagi2/spin.toml"
ok "spinkube push: the WAGI app, v2" push "$work/wagi2" e2e/wagi:v2

# --- every mode's apps at once ------------------------------------------------
kubectl create secret generic e2e-vars --from-literal=key=from-a-secret >/dev/null
for m in $MODES; do
	sa "$m" wagi e2e/wagi:v1 "  checks:
    readiness: {httpGet: {path: /hello}}
    liveness: {httpGet: {path: /hello}}"
	sa "$m" components e2e/components:v1
	# The JavaScript app's one big component takes long to compile: in
	# shared mode it comes after per-pod mode's has written the compiled
	# code to the node's cache, which shared mode then maps.
	[ "$m" = shared ] && has pod || sa "$m" js e2e/js:v1
	sa "$m" spin e2e/spin:v1 "  variables:
  - {name: greeting, value: value-one}
  - name: api_key
    valueFrom: {secretKeyRef: {name: e2e-vars, key: key}}
  runtimeConfig:
    keyValueStores:
    - {name: default, type: spin}"
	sa "$m" spin2 e2e/spin:v1 "  variables:
  - {name: greeting, value: value-two}
  - {name: api_key, value: k2}"
	sa "$m" sel e2e/wagi:v1 "  components: [hello]"
	sa "$m" gen e2e/wasi-http:v1
	sa "$m" lim e2e/wagi:v1 "  resources:
    limits: {memory: 64Mi}"
done

# Shared mode's many distinct apps: the WAGI app with its own echo.wasm (a
# custom section makes the bytes differ; the code is the same) and its own
# GUEST_MODE each; made, pushed four at a time and applied at once by a
# background job, so that they come up while the first checks run.
distinct_pid=
if has shared; then
	(
		for i in $(seq 1 "$N"); do
			d=$work/d$i
			cp -r "$GUESTS/wagi" "$d"
			mark_wasm "$d/echo.wasm" "app-$i"
			sed -i "s/GUEST_MODE = \"test\"/GUEST_MODE = \"app-$i\"/" "$d/spin.toml"
		done
		batch=()
		for i in $(seq 1 "$N"); do
			push "$work/d$i" "e2e/d$i:v1" >/dev/null &
			batch+=($!)
			[ ${#batch[@]} -lt 4 ] && [ "$i" -lt "$N" ] && continue
			wait "${batch[@]}" || exit 1
			batch=()
		done
		for i in $(seq 1 "$N"); do
			printf 'apiVersion: core.spinkube.dev/v1alpha1\nkind: SpinApp\nmetadata:\n  name: d%s\nspec:\n  image: %s\n' "$i" "$reg/e2e/d$i:v1"
			printf '  executor: containerd-shim-spin-shared\n  replicas: 1\n---\n'
		done >"$work/distinct.yaml"
		kubectl apply -f "$work/distinct.yaml" >/dev/null
	) >"$work/distinct.log" 2>&1 &
	distinct_pid=$!
	t_distinct=$SECONDS
fi

# --- the three kinds of HTTP component ------------------------------------------
# ready_long APP: ready, given three times as long (a compile on a busy node).
ready_long() { ready "$1" || ready "$1" || ready "$1"; }
for m in $MODES; do
	ok "the WAGI SpinApp is Ready [$m]" ready "$(app "$m" wagi)"
	ok "the inbound-http SpinApp is Ready [$m]" ready "$(app "$m" components)"
	[ "$m" = shared ] && has pod && sa shared js e2e/js:v1
	ok "the JavaScript SpinApp is Ready [$m]" ready_long "$(app "$m" js)"
done
for m in $MODES; do
	w=$(app "$m" wagi)
	pod=$(pod_of "$w")
	is "$(kubectl get pod "$pod" -o jsonpath='{.spec.runtimeClassName}')" "$(rc_of "$m")" \
		"its pod runs under the RuntimeClass $(rc_of "$m") [$m]"
	is "$(get "$w" /hello)" "hello from wagi" "a WAGI app answers through its Service [$m]"
	ok "an inbound-http component answers through its Service [$m]" grep -q "hello" <<<"$(get "$(app "$m" components)" /hello)"
	ok "a JavaScript wasi:http app answers through its Service [$m]" grep -qi "hello" <<<"$(get "$(app "$m" js)" /hello)"
	is "$(kubectl get pod "$pod" -o jsonpath='{.status.containerStatuses[0].ready}')" true "the readiness probe passes [$m]"
	ok "the Deployment carries the liveness probe [$m]" grep -q '"/hello"' <<<"$(kubectl get deploy "$w" -o jsonpath='{.spec.template.spec.containers[0].livenessProbe}')"
	kubectl exec "$pod" -- / >"$work/exec.out" 2>&1
	ok "kubectl exec is refused with the shim's one line [$m]" grep -q "Exec is not supported by containerd-shim-spin-v2" "$work/exec.out"
done

# --- what runs on the node: each mode's own ---------------------------------------
# app_pid POD-UID: the app process of a pod (in the pod's cgroup).
app_pid() {
	local p
	for p in $(pgrep -f "$bin app"); do
		grep -q "$1" "/proc/$p/cgroup" 2>/dev/null && { echo "$p"; return 0; }
	done
	return 1
}
if has pod; then
	ok "the app container runs in the shim's app process, in the pod's cgroup [pod]" \
		app_pid "$(kubectl get pod "$(pod_of wagi-p)" -o jsonpath='{.metadata.uid}')"
	ok "no pause process runs on the node [pod]" bash -c "! pgrep -x pause"
fi
if has shared; then
	is "$(runtimes)" 1 "one node runtime process serves every pod of shared mode [shared]"
	ok "and no app process runs for them: the app processes are per-pod mode's pods' [shared]" \
		test "$(app_procs)" -le "$(pods_in pod)"
fi

# --- guest output, traps and loops ----------------------------------------------
# A guest that loops is stopped at the request time limit (30 s): those
# requests run in the background while the next tests go on.
for m in $MODES; do
	w=$(app "$m" wagi)
	ip=$(svc_ip "$w"); assert_local_addr "$ip" || bail "the $w Service address is not local"
	( curl -s --noproxy '*' -m 45 -o /dev/null -w '%{http_code}' "http://$ip/loop" >"$work/loop-$m.code" ) &
	bg_pids+=($!)
done
loop_t0=$SECONDS
for m in $MODES; do
	w=$(app "$m" wagi)
	pod=$(pod_of "$w")
	is "$(code "$w" /trap)" 500 "a guest that traps gets 500 for that request [$m]"
	is "$(get "$w" /hello)" "hello from wagi" "the next request is served by the same pod [$m]"
	ok "kubectl logs shows the guest's output [$m]" retry 10 bash -c "kubectl logs $pod | grep -q 'wagi trap: about to trap'"
	ok "kubectl logs shows the runtime's lines [$m]" bash -c "kubectl logs $pod | grep -q 'msg=\"serving\"'"
	ok "another pod's log does not have the trap [$m]" bash -c "! kubectl logs $(pod_of "$(app "$m" components)") | grep -q 'about to trap'"
done

# --- variables, runtime config, selective deployment ----------------------------
for m in $MODES; do
	s1=$(app "$m" spin) s2=$(app "$m" spin2)
	ok "the Spin interfaces SpinApp is Ready [$m]" ready "$s1" "/vars?all"
	ok "and a second one of the same image [$m]" ready "$s2" "/vars?all"
	v1=$(get "$s1" "/vars?all") v2=$(get "$s2" "/vars?all")
	ok "a variable from a value reaches the component [$m]" grep -q "value-one" <<<"$v1"
	ok "a variable from a Secret reaches the component [$m]" grep -q "from-a-secret" <<<"$v1"
	ok "the second app of the image sees its own variables, not the first's [$m]" \
		bash -c "grep -q value-two <<<'$v2' && ! grep -q value-one <<<'$v2' && ! grep -q from-a-secret <<<'$v2'"
	is "$(get "$s1" '/kv?key=k1' -X PUT --data-binary "v1-$m")" ok "the runtime config's key-value store takes a write [$m]"
	is "$(get "$s1" '/kv?key=k1')" "v1-$m" "and reads it back [$m]"
	ok "the runtime-config Secret is mounted into the pod [$m]" grep -q runtime-config \
		<<<"$(kubectl get deploy "$s1" -o jsonpath='{.spec.template.spec.volumes}')"
	sl=$(app "$m" sel)
	ok "a SpinApp with selected components is Ready [$m]" ready "$sl"
	is "$(code "$sl" /hello)" 200 "a selected component answers [$m]"
	is "$(code "$sl" /echo/x)" 404 "a component left out is not served [$m]"
done

# --- a memory limit holds for its app only ----------------------------------------
# 64 MiB: each instance gets at most half of it.
for m in $MODES; do
	l=$(app "$m" lim)
	ok "an app with a 64 MiB memory limit is Ready [$m]" ready "$l"
	is "$(code "$l" '/hog?mib=48')" 500 "its guest cannot take 48 MiB [$m]"
	is "$(code "$(app "$m" wagi)" '/hog?mib=48')" 200 "while the same app without the limit can [$m]"
	is "$(code "$l" /hello)" 200 "and the limited app goes on serving [$m]"
done

# --- shared mode's many distinct apps -------------------------------------------
if has shared; then
	wait "$distinct_pid"
	rc=$?
	distinct_pid=
	[ $rc = 0 ] || sed 's/^/# /' "$work/distinct.log"
	ok "$N distinct SpinApps made, pushed and applied in shared mode" test $rc = 0
	for i in $(seq 1 "$N"); do kubectl wait --for=condition=Ready "spinapp/d$i" --timeout=180s >/dev/null 2>&1; done
	diag "$N distinct SpinApps Ready $((SECONDS - t_distinct)) s after the first of them was made"
	answered=0
	for i in $(seq 1 "$N"); do
		ip=$(svc_ip "d$i") && retry 30 assert_local_addr "$ip" || continue
		retry 20 bash -c "curl -s --noproxy '*' -m 5 http://$ip/echo/x | grep -qx 'env GUEST_MODE=app-$i'" && answered=$((answered + 1))
	done
	is "$answered" "$N" "each of the $N distinct apps answers through its Service with its own reply [shared]"
	is "$(runtimes)" 1 "all of them in the one node runtime process [shared]"
	kubectl delete spinapp "d$N" --wait=true >/dev/null 2>&1
	ok "a deleted app's pod goes [shared]" retry 60 bash -c "[ -z \"\$(kubectl get pods -l core.spinkube.dev/app-name=d$N -o name)\" ]"
	left=0
	for i in $(seq 1 $((N - 1))); do
		[ "$(get "d$i" /echo/x | grep -c "^env GUEST_MODE=app-$i$")" = 1 ] && left=$((left + 1))
	done
	is "$left" $((N - 1)) "the other $((N - 1)) apps still answer [shared]"
fi

# --- OpenTelemetry: the executor's otel endpoint reaches the app (per-pod mode) ---
# The real collector (tests/lib/otelcol.sh) listens on the node's bridge
# address, which pods reach and which is this machine's own (checked first).
if has pod; then
	. "$src/tests/lib/otelcol.sh"
	if reason=$(otelcol_missing); then
		skip "traces and logs of a pod reach the executor's collector [pod]" "$reason"
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
		ok "a SpinApp whose executor names an OTLP endpoint is Ready [pod]" ready traced
		is "$(kubectl get deploy traced -o jsonpath='{.spec.template.spec.containers[0].env[?(@.name=="OTEL_EXPORTER_OTLP_ENDPOINT")].value}')" \
			"$OTELCOL_ENDPOINT" "... its pod has OTEL_EXPORTER_OTLP_ENDPOINT [pod]"
		tp=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
		get traced /hello -H "traceparent: $tp" >/dev/null
		get traced /trapmid -o /dev/null
		# the default batch delay is 5 s
		ok "the request's server span reaches the collector, child of the caller's span [pod]" \
			otelcol_wait_for "$OTELCOL_TRACES" '[.[].resourceSpans[] | select(any(.resource.attributes[]; .key == "service.name" and .value.stringValue == "wasi-http"))
			| .scopeSpans[].spans[] | select(.name == "GET /hello" and .traceId == "4bf92f3577b34da6a3ce929d0e0e4736" and .parentSpanId == "00f067aa0ba902b7")] | length == 1' 30
		ok "the guest's stderr line reaches it as a log record of its request [pod]" \
			otelcol_wait_for "$OTELCOL_LOGS" '[.[].resourceLogs[].scopeLogs[].logRecords[] | select(.body.stringValue | startswith("trapmid: trapping")) | select(.traceId != null)] | length >= 1' 30
		kubectl delete spinapp traced --wait=false >/dev/null
		otelcol_stop >/dev/null
	fi
fi

# --- the loops end ---------------------------------------------------------------------
wait "${bg_pids[@]}"
bg_pids=()
diag "the looping requests ended $((SECONDS - loop_t0)) s after they were sent"
for m in $MODES; do
	w=$(app "$m" wagi)
	is "$(cat "$work/loop-$m.code")" 500 "a guest that loops gets 500 at its time limit [$m]"
	is "$(get "$w" /hello)" "hello from wagi" "while the loop ran, the pod served others [$m]"
	is "$(restarts_of "$w")" 0 "and did not restart [$m]"
done

# --- the bad images, failing in the background while the next checks run ---------
mkdir -p "$work/broken"
cp "$GUESTS/wagi/hello.wasm" "$work/broken/"
printf 'spin_manifest_version = 2\n[application]\nname = "broken"\n[[trigger.http]]\nroute = "/x"\ncomponent = "nope"\n' >"$work/broken/spin.toml"
"$src/hack/push-image" --registry "$reg" "$work/broken" e2e/broken-toml:v1 >/dev/null 2>>"$work/push.log"
printf '__attribute__((import_module("spinkube:unknown/thing"), import_name("call"))) void call(void);\nint main(void) { call(); return 0; }\n' >"$work/unknown.c"
mkdir -p "$work/unknown"
unknown=
if clang --target=wasm32-wasi -O2 -o "$work/unknown/app.wasm" "$work/unknown.c" 2>"$work/unknown.err"; then
	printf 'spin_manifest_version = 2\n[application]\nname = "unknown"\n[[trigger.http]]\nroute = "/..."\ncomponent = "app"\nexecutor = { type = "wagi" }\n[component.app]\nsource = "app.wasm"\n' >"$work/unknown/spin.toml"
	push "$work/unknown" e2e/unknown:v1 >/dev/null && unknown=yes
else
	sed 's/^/# /' "$work/unknown.err"; ok "clang builds the unknown-import guest" false
fi
# A missing layer: a new tag whose manifest names a blob the registry lost.
cp -r "$GUESTS/components" "$work/missing"
sed -i 's/hello from a variable/missing-layer/' "$work/missing/spin.toml"
push "$work/missing" e2e/missing:v1 >/dev/null
lock=$(curl -s --noproxy '*' -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$reg/v2/e2e/missing/manifests/v1" |
	python3 -c 'import json,sys; print([l["digest"] for l in json.load(sys.stdin)["layers"] if "spin.application" in l["mediaType"]][0])')
rm -rf "$dir/node/registry/docker/registry/v2/blobs/sha256/${lock:7:2}/${lock:7}"
for m in $MODES; do
	sa "$m" notwasm spinkube-c/pause:3.10
	sa "$m" brokentoml e2e/broken-toml:v1
	[ -n "$unknown" ] && sa "$m" unknown e2e/unknown:v1
	sa "$m" missing e2e/missing:v1
done
# Over its memory limit in per-pod mode: the kernel kills the app process,
# reported as OOMKilled (shared mode has no process of the app's to kill:
# its limit is the instance memory checked above).
# Its eight modules are new to the node (the run's own custom section), so
# that their code is compiled in the pod, which needs more than the limit:
# compiled code mapped from a code cache that outlives the cluster (tests/run's)
# would fit.
if has pod; then
	cp -r "$GUESTS/wagi" "$work/oom"
	for f in "$work"/oom/*.wasm; do mark_wasm "$f" "oom-$$-$(date +%s%N)"; done
	ok "spinkube push: the WAGI app, as code new to the node" push "$work/oom" e2e/oom:v1
fi
has pod && sa pod oom e2e/oom:v1 "  resources:
    limits: {memory: 12Mi}"

# --- scale 1 -> 5 -> 1 ------------------------------------------------------------
shims=$(pod_shims)
for m in $MODES; do kubectl patch spinapp "$(app "$m" wagi)" --type merge -p '{"spec":{"replicas":5}}' >/dev/null; done
for m in $MODES; do
	w=$(app "$m" wagi)
	ok "scaled to 5 replicas, all Ready [$m]" retry 90 bash -c "[ \"\$(kubectl get deploy $w -o jsonpath='{.status.readyReplicas}')\" = 5 ]"
	n=0
	for i in $(seq 1 20); do [ "$(get "$w" /hello)" = "hello from wagi" ] && n=$((n + 1)); done
	is "$n" 20 "20 requests through the Service across 5 pods all answered [$m]"
done
has shared && is "$(runtimes)" 1 "the five pods are served by the one node runtime [shared]"
for m in $MODES; do kubectl patch spinapp "$(app "$m" wagi)" --type merge -p '{"spec":{"replicas":1}}' >/dev/null; done
for m in $MODES; do
	w=$(app "$m" wagi)
	ok "scaled back to 1: four pods gone [$m]" retry 60 bash -c "[ \"\$(kubectl get pods -l core.spinkube.dev/app-name=$w --no-headers | wc -l)\" = 1 ]"
done
# (the bad images' pods came meanwhile: their shims count too)
shims_match() { [ "$(pod_shims)" = "$(pods_in pod)" ]; }
has pod && ok "one shim per pod: the four pods' shims exited [pod]" retry 30 shims_match
has shared && is "$(runtimes)" 1 "and the node runtime serves on [shared]"

# --- a rolling update under load, in every mode at once ----------------------------
for m in $MODES; do
	ip=$(svc_ip "$(app "$m" wagi)"); assert_local_addr "$ip" || bail "the wagi Service address is not local"
	( fails=0 total=0
	  end=$((SECONDS + 60))
	  while [ $SECONDS -lt $end ] && [ ! -e "$work/stop-loop" ] && [ $total -lt 3000 ]; do
		c=$(curl -s --noproxy '*' -m 5 -o /dev/null -w '%{http_code}' "http://$ip/hello")
		total=$((total + 1)); [ "$c" = 200 ] || fails=$((fails + 1))
	  done
	  echo "$total $fails" >"$work/roll-$m.result" ) &
	bg_pids+=($!)
done
sleep 1
for m in $MODES; do kubectl patch spinapp "$(app "$m" wagi)" --type merge -p "{\"spec\":{\"image\":\"$reg/e2e/wagi:v2\"}}" >/dev/null; done
for m in $MODES; do
	ok "the rolling update to v2 completes [$m]" kubectl rollout status "deploy/$(app "$m" wagi)" --timeout=90s
done
for m in $MODES; do ok "the new pod is Ready [$m]" ready "$(app "$m" wagi)"; done
sleep 3
touch "$work/stop-loop"; wait "${bg_pids[@]}"; bg_pids=()
for m in $MODES; do
	read -r total fails <"$work/roll-$m.result"
	diag "rolling update [$m]: $total requests, $fails failed"
	ok "the request loop ran [$m]" test "$total" -gt 10
	is "$fails" 0 "no request failed during the rolling update [$m]"
	ok "the Service now reaches v2 [$m]" grep -qx "env GUEST_MODE=v2" <<<"$(get "$(app "$m" wagi)" /echo/x)"
done

# --- a pod deleted mid-request drains it ----------------------------------------------
for m in $MODES; do
	g=$(app "$m" gen)
	ok "the wasi:http SpinApp is Ready [$m]" ready "$g"
	gpod=$(pod_of "$g")
	gip=$(kubectl get pod "$gpod" -o jsonpath='{.status.podIP}')
	assert_local_addr "$gip" || bail "pod address $gip is not local"
	( curl -s --noproxy '*' -m 30 --limit-rate 1M -o "$work/gen-$m.out" -w '%{http_code}' "http://$gip/gen?size=4000000" >"$work/gen-$m.code" ) &
	bg_pids+=($!)
	echo "$gpod" >"$work/gen-$m.pod"
done
sleep 1
for m in $MODES; do kubectl delete pod "$(cat "$work/gen-$m.pod")" --wait=false >/dev/null; done
wait "${bg_pids[@]}"; bg_pids=()
for m in $MODES; do
	is "$(cat "$work/gen-$m.code")" 200 "a request in flight when its pod is deleted completes [$m]"
	is "$(stat -c %s "$work/gen-$m.out")" 4000000 "with its whole body [$m]"
done

# --- bad images ----------------------------------------------------------------------------
for m in $MODES; do
	ok "an image that is not a Spin app fails its pod with one line in kubectl describe [$m]" \
		retry 60 failed_with "$(app "$m" notwasm)" "is neither a Spin app"
	ok "an image with a broken spin.toml fails its pod naming the problem [$m]" retry 60 failed_with "$(app "$m" brokentoml)" "nope"
	[ -n "$unknown" ] && ok "a component with an unknown import fails its pod naming the import [$m]" \
		retry 60 failed_with "$(app "$m" unknown)" "spinkube:unknown/thing"
	ok "an artifact with a missing layer fails its pod with the pull error [$m]" retry 60 failed_with "$(app "$m" missing)" "not found"
done
oom_reason() {
	kubectl get pods -l core.spinkube.dev/app-name=oom-p \
		-o jsonpath='{.items[0].status.containerStatuses[0].lastState.terminated.reason}{.items[0].status.containerStatuses[0].state.terminated.reason}' |
		grep -q OOMKilled
}
has pod && ok "an app over its pod's memory limit is OOMKilled [pod]" retry 60 oom_reason
for m in $MODES; do
	is "$(get "$(app "$m" wagi)" /hello)" "hello from wagi" "the node stays healthy: the good apps still answer [$m]"
done
is "$(kubectl get node "$node" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" True "and the node is Ready"

# --- kill -9 of what serves an app ------------------------------------------------------
for m in $MODES; do echo "$(restarts_of "$(app "$m" js)")" >"$work/js-$m.restarts"; done
if has pod; then
	pod=$(pod_of components-p)
	uid=$(kubectl get pod "$pod" -o jsonpath='{.metadata.uid}')
	shim_pid=
	for p in $(pgrep -f "$bin .*-socket [^ ]+ serve\$"); do
		for c in /proc/$p/task/*/children; do
			for k in $(cat "$c" 2>/dev/null); do
				grep -qF "$uid" "/proc/$k/cgroup" 2>/dev/null && shim_pid=$p
			done
		done
	done
	ok "found the shim of one pod [pod]" test -n "$shim_pid"
	[ -n "$shim_pid" ] && kill -9 "$shim_pid"
	ok "after kill -9 of its shim the pod runs again [pod]" retry 60 bash -c "[ \"\$(kubectl get pod $pod -o jsonpath='{.status.containerStatuses[0].ready}')\" = true ] && [ \"\$(kubectl get pod $pod -o jsonpath='{.status.containerStatuses[0].restartCount}')\" -ge 1 ]"
	ok "and answers [pod]" retry 20 bash -c "curl -s --noproxy '*' -m 5 http://$(svc_ip components-p)/hello | grep -q hello"
	for m in $MODES; do
		is "$(restarts_of "$(app "$m" js)")" "$(cat "$work/js-$m.restarts")" "after kill -9 of a per-pod shim, another app's pod is untouched [$m]"
	done
fi
if has shared; then
	# every good pod of shared mode: the apps above and the distinct ones,
	# with their restart counts (APP COUNT lines), from one listing
	restarts_all() { kubectl get pods -o jsonpath='{range .items[*]}{.metadata.labels.core\.spinkube\.dev/app-name} {.status.containerStatuses[0].restartCount}{"\n"}{end}'; }
	{ for a in wagi components js spin spin2 sel gen lim; do echo "$a-s"; done; seq 1 $((N - 1)) | sed 's/^/d/'; } >"$work/good"
	restarts_all | awk 'NR == FNR {g[$1] = 1; next} ($1 in g)' "$work/good" - | sort -u -k1,1 >"$work/before"
	for i in $(seq 1 $((N - 1))); do svc_ip "d$i"; echo; done >"$work/dips"
	rt=$(pgrep -f "$bin .*-shared serve" | head -1)
	ok "found the node runtime [shared]" test -n "$rt"
	t0=$SECONDS
	[ -n "$rt" ] && kill -9 "$rt"
	all_back() {
		restarts_all | awk -v want="$(wc -l <"$work/before")" 'NR == FNR {b[$1] = $2; next}
			($1 in b) && $2 + 0 > b[$1] + 0 && !seen[$1]++ {n++} END {exit n < want}' "$work/before" - || return 1
		local ip
		while read -r ip; do
			assert_local_addr "$ip" && [ "$(curl -s --noproxy '*' -m 3 "http://$ip/hello")" = "hello from wagi" ] || return 1
		done <"$work/dips"
		[ "$(get wagi-s /hello)" = "hello from wagi" ]
	}
	ok "after kill -9 of the node runtime every pod of shared mode restarts and all its apps answer again [shared]" retry 180 all_back
	diag "all $((N - 1)) distinct apps answered again $((SECONDS - t0)) s after kill -9 of the node runtime"
	is "$(runtimes)" 1 "served by one new node runtime [shared]"
	has pod && is "$(restarts_of js-p)" "$(cat "$work/js-pod.restarts")" "per-pod mode's pods are untouched [shared]"
fi

# --- containerd and the kubelet restarted under running apps ----------------------------
"$src/hack/cluster-restart" --name "$name" containerd >/dev/null 2>&1 &
rs_pid=$!
n=0 total=0
while kill -0 "$rs_pid" 2>/dev/null && [ $total -lt 200 ]; do
	for m in $MODES; do
		total=$((total + 1)); [ "$(get "$(app "$m" js)" /hello)" != "" ] && n=$((n + 1))
	done
done
wait "$rs_pid"
is "$n" "$total" "while containerd restarts, running apps of every mode keep serving ($total requests)"
for m in $MODES; do
	j=$(app "$m" js)
	ok "after the restart a pod delete goes through the reconnected shim [$m]" kubectl delete pod "$(pod_of "$j")" --timeout=60s
done
for m in $MODES; do ok "and its replacement is Ready [$m]" retry 60 ready "$(app "$m" js)"; done

"$src/hack/cluster-restart" --name "$name" kubelet >/dev/null 2>&1
for m in $MODES; do
	is "$(get "$(app "$m" wagi)" /hello)" "hello from wagi" "after a kubelet restart the apps still answer [$m]"
done
ok "the node is Ready after the restarts" retry 30 bash -c "[ \"\$(kubectl get node $node -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}')\" = True ]"

tap_done
