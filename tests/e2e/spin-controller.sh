#!/usr/bin/env bash
# spin-controller against a real cluster: it connects with the kubeconfig,
# says clearly when the SpinApp API is missing, starts once the CRDs are
# there, and stops cleanly on SIGTERM. (What it does with SpinApps is
# tests/e2e/reconciler.sh.)
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

# Without the CRDs: it runs, and says what to install.
"$ctl" --metrics-bind-address=0 --health-probe-bind-address=0 --kubeconfig "$KUBECONFIG" 2>"$logf" &
pid=$!
ok "it connects and logs the server version" retry 20 grep -q "msg=\"connected\".*version=$K8S_VERSION" "$logf"
ok "it says the SpinApp API is missing and how to install it" retry 20 grep -q 'install the CRDs (kubectl apply -f crd/)' "$logf"
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
"$ctl" --metrics-bind-address=0 --health-probe-bind-address=0 --kube-api-qps 0 2>"$logf"
is "$?" 2 "an out-of-range --kube-api-qps exits 2"
ok "naming the flag and the range" grep -qx "spin-controller: --kube-api-qps '0': give a whole number from 1 to 100000" "$logf"
tap_done
