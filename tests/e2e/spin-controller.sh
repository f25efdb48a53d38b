#!/usr/bin/env bash
# spin-controller against a real cluster: it connects with the kubeconfig,
# says clearly when the SpinApp API is missing, starts once the CRDs are
# there, and stops cleanly on SIGTERM; its probes and its metrics endpoint
# (controller/metrics: HTTPS with TokenReview and SubjectAccessReview,
# controller-runtime's series). (What it does with SpinApps is
# tests/e2e/reconciler.sh.) Only loopback traffic.
set -u
src=${SPINKUBE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SPINKUBE_BUILD_DIR:-$src/build}
. "$src/tests/lib/tap.sh"
. "$src/hack/lib.sh"

name=e2e-ctl-$$
logf=$(mktemp)
trap '[ -n "${pid:-}" ] && kill $pid 2>/dev/null; "$src/hack/cluster-down" --name $name >/dev/null 2>&1; rm -f $logf' EXIT
out=$("$src/hack/cluster-up" --name "$name" 2>/dev/null) || bail "hack/cluster-up failed"
eval "$out"
ctl=$build/controller/spin-controller

"$ctl" --metrics-bind-address=0 --health-probe-bind-address=0 --kubeconfig /no/such/file 2>"$logf"
is "$?" 1 "a missing kubeconfig exits 1"
ok "with one line naming the file and the fix" grep -qx "spin-controller: kubeconfig /no/such/file: cannot read: No such file or directory (check --kubeconfig or KUBECONFIG)" "$logf"

"$ctl" --metrics-bind-address=0 --health-probe-bind-address=0 --kubeconfig "$KUBECONFIG" --context no-such-context 2>"$logf"
is "$?" 1 "an unknown --context exits 1"
ok "naming the context" grep -q 'context "no-such-context" not found' "$logf"

# addr MSG: the address the log line "serving metrics|probes" names
addr() { sed -n "s/.*msg=\"$1\" addr=\([^ ]*\).*/\1/p" "$logf" | head -n1; }
# code URL [curl args]: the HTTP status of a GET
code() { local u=$1; shift; curl -sk -o /dev/null -w '%{http_code}' --max-time 10 "$@" "$u"; }

# Without the CRDs: it runs, and says what to install; not ready meanwhile.
"$ctl" --metrics-bind-address=0 --health-probe-bind-address=127.0.0.1:0 --kubeconfig "$KUBECONFIG" 2>"$logf" &
pid=$!
ok "it connects and logs the server version" retry 20 grep -q "msg=\"connected\".*version=$K8S_VERSION" "$logf"
ok "it says the SpinApp API is missing and how to install it" retry 20 grep -q 'install the CRDs (kubectl apply -f crd/)' "$logf"
probes=$(addr "serving probes")
is "$(code "http://$probes/readyz")" 503 "/readyz is 503 before the informers synced"
is "$(code "http://$probes/healthz")" 200 "/healthz is 200 meanwhile"
ok "no metrics endpoint with --metrics-bind-address=0" bash -c "! grep -q 'msg=\"serving metrics\"' $logf"
kill -TERM $pid; wait $pid; rc=$?
is "$rc" 0 "SIGTERM stops it with status 0"
ok "and it says so" grep -q 'msg="stopping"' "$logf"

# With our CRDs it gets past the API check and syncs its caches; without
# --kubeconfig, KUBECONFIG is used, as kubectl does.
kubectl apply -f "$src/crd/" >/dev/null
retry 60 kubectl wait --for=condition=Established crd/spinapps.core.spinkube.dev crd/spinappexecutors.core.spinkube.dev --timeout=30s
: >"$logf"
"$ctl" --metrics-bind-address=0 --health-probe-bind-address=0 --resync-period 0 2>"$logf" &
pid=$!
ok "with the CRDs installed it starts watching" retry 20 grep -q 'msg="watching"' "$logf"
ok "and syncs its caches" retry 20 grep -q 'msg="synced"' "$logf"
ok "every log line is logfmt with time, level and msg" bash -c "! grep -v '^time=[0-9T:.-]*Z level=[a-z]* msg=\"' $logf"
kill -TERM $pid; wait $pid; rc=$?
is "$rc" 0 "SIGTERM stops it with status 0"
pid=

kubectl apply -f "$src/crd/defaults/" >/dev/null # the executor the apps below name

# Metrics over HTTPS with a self-signed certificate: a token's user needs
# get on the non-resource URL /metrics (the chart's metrics-reader role).
kubectl create clusterrole e2e-metrics-reader --non-resource-url=/metrics --verb=get >/dev/null
kubectl create serviceaccount scraper >/dev/null
kubectl create serviceaccount nobody >/dev/null
kubectl create clusterrolebinding e2e-scraper --clusterrole=e2e-metrics-reader --serviceaccount=default:scraper >/dev/null
allowed=$(kubectl create token scraper) denied=$(kubectl create token nobody)
: >"$logf"
"$ctl" --metrics-bind-address=127.0.0.1:0 --health-probe-bind-address=127.0.0.1:0 --resync-period 0 2>"$logf" &
pid=$!
retry 20 grep -q 'msg="synced"' "$logf"
metrics=$(addr "serving metrics") probes=$(addr "serving probes")
ok "metrics are served over HTTPS by default" grep -q 'msg="serving metrics" addr=127.0.0.1:[0-9]* secure=true' "$logf"
is "$(code "http://$probes/readyz")" 200 "/readyz is 200 once synced"
is "$(code "http://$probes/healthz"),$(code "http://$probes/healthz/ping"),$(code "http://$probes/nope")" 200,200,404 \
	"/healthz and /healthz/ping are 200, another path 404"
is "$(code "https://$metrics/metrics")" 401 "no token: 401"
is "$(code "https://$metrics/metrics" -H "Authorization: Bearer not-a-token")" 401 "a token the apiserver does not know: 401"
is "$(code "https://$metrics/metrics" -H "Authorization: Bearer $denied")" 403 "a ServiceAccount without get /metrics: 403"
is "$(code "https://$metrics/metrics" -H "Authorization: Bearer $allowed")" 200 "one bound to the metrics-reader role: 200"
scrape() { curl -sk --max-time 10 -H "Authorization: Bearer $allowed" "https://$metrics/metrics"; }
# value SERIES: its value on a fresh page
value() { scrape | awk -v s="$1" '$1 == s {print $2; exit}'; }
page=$(scrape)
ok "the page is the text format, HELP and TYPE for each family" bash -c \
	"grep -q '^# TYPE controller_runtime_reconcile_time_seconds histogram' <<<'$page' && grep -q '^# HELP workqueue_depth ' <<<'$page'"
for s in 'controller_runtime_reconcile_total{controller="spinapp",result="success"}' \
	'controller_runtime_max_concurrent_reconciles{controller="spinapp"}' \
	'controller_runtime_active_workers{controller="spinappexecutor"}' \
	'workqueue_adds_total{controller="spinapp",name="spinapp"}' 'process_resident_memory_bytes' 'process_open_fds'; do
	ok "it has $s" grep -qF "$s " <<<"$page"
done
ok "rest_client_requests_total counts the GETs to this apiserver" \
	grep -q "^rest_client_requests_total{code=\"200\",host=\"127.0.0.1:[0-9]*\",method=\"GET\"} [1-9]" <<<"$page"

# A Deployment the apiserver refuses (an invalid pod annotation) makes the
# reconcile fail: an error result.
printf 'apiVersion: core.spinkube.dev/v1alpha1\nkind: SpinApp\nmetadata: {name: refused}\nspec: {image: "ghcr.io/example/app:v1", replicas: 1, executor: containerd-shim-spin, podAnnotations: {"not a key!": "x"}}\n' |
	kubectl apply -f - >/dev/null
errors_counted() { [ "$(value 'controller_runtime_reconcile_errors_total{controller="spinapp"}')" -ge 1 ]; }
ok "a refused write counts in controller_runtime_reconcile_errors_total" retry 20 errors_counted
kubectl delete spinapp refused >/dev/null

# A burst of 200 SpinApps, made while the controller is down: its first
# list queues them all at once, then the queue drains.
kill -TERM $pid; wait $pid
for i in $(seq 1 200); do
	printf -- '---\napiVersion: core.spinkube.dev/v1alpha1\nkind: SpinApp\nmetadata: {name: burst-%d}\nspec: {image: "ghcr.io/example/app:v1", replicas: 1, executor: containerd-shim-spin}\n' "$i"
done | kubectl apply -f - >/dev/null
: >"$logf"
"$ctl" --metrics-bind-address=127.0.0.1:0 --health-probe-bind-address=0 --resync-period 0 2>"$logf" &
pid=$!
retry 20 grep -q 'msg="serving metrics"' "$logf"
metrics=$(addr "serving metrics")
depth_max=0
for _ in $(seq 1 100); do
	d=$(value 'workqueue_depth{controller="spinapp",name="spinapp"}')
	[ "${d:-0}" -gt "$depth_max" ] && depth_max=$d
	[ "$depth_max" -gt 0 ] && [ "${d:-0}" = 0 ] && break
	sleep 0.1
done
ok "workqueue_depth rises under the burst (highest seen: $depth_max)" [ "$depth_max" -gt 0 ]
drained() { [ "$(value 'workqueue_depth{controller="spinapp",name="spinapp"}')" = 0 ]; }
ok "and falls back to 0" retry 60 drained
kill -TERM $pid; wait $pid
pid=
rm -f "$logf.burst"
"$ctl" --metrics-bind-address=0 --health-probe-bind-address=0 --kube-api-qps 0 2>"$logf"
is "$?" 2 "an out-of-range --kube-api-qps exits 2"
ok "naming the flag and the range" grep -qx "spin-controller: --kube-api-qps '0': give a whole number from 1 to 100000" "$logf"
tap_done
