#!/usr/bin/env bash
# spin-controller against a real cluster: it connects with the kubeconfig,
# says clearly when the SpinApp API is missing, sees SpinApps and
# SpinAppExecutors come and go once upstream's CRDs are applied (test data
# from ../shared/reference), and stops cleanly on SIGTERM.
set -u
src=${SPINKUBE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SPINKUBE_BUILD_DIR:-$src/build}
. "$src/tests/lib/tap.sh"
. "$src/hack/lib.sh"
ref=$src/../shared/reference/spin-operator
[ -d "$ref" ] || bail "upstream reference CRDs not found in $ref"

name=e2e-ctl-$$
logf=$(mktemp)
trap '[ -n "${pid:-}" ] && kill $pid 2>/dev/null; "$src/hack/cluster-down" --name $name >/dev/null 2>&1; rm -f $logf' EXIT
out=$("$src/hack/cluster-up" --name "$name" 2>/dev/null) || bail "hack/cluster-up failed"
eval "$out"
ctl=$build/controller/spin-controller

"$ctl" --kubeconfig /no/such/file 2>"$logf"
is "$?" 1 "a missing kubeconfig exits 1"
ok "with one line naming the file and the fix" grep -qx "spin-controller: kubeconfig /no/such/file: cannot read: No such file or directory (check --kubeconfig or KUBECONFIG)" "$logf"

"$ctl" --kubeconfig "$KUBECONFIG" --context no-such-context 2>"$logf"
is "$?" 1 "an unknown --context exits 1"
ok "naming the context" grep -q 'context "no-such-context" not found' "$logf"

# Without the CRDs: it runs, and says what to install.
"$ctl" --kubeconfig "$KUBECONFIG" 2>"$logf" &
pid=$!
ok "it connects and logs the server version" retry 20 grep -q "msg=\"connected\".*version=$K8S_VERSION" "$logf"
ok "it says the SpinApp API is missing and how to install it" retry 20 grep -q 'install the CRDs (kubectl apply -f crd/)' "$logf"
kill -TERM $pid; wait $pid; rc=$?
is "$rc" 0 "SIGTERM stops it with status 0"
ok "and it says so" grep -q 'msg="stopping"' "$logf"

kubectl apply -f "$ref/core.spinkube.dev_spinapps.yaml" -f "$ref/core.spinkube.dev_spinappexecutors.yaml" >/dev/null
kubectl wait --for=condition=Established crd/spinapps.core.spinkube.dev crd/spinappexecutors.core.spinkube.dev --timeout=30s >/dev/null
kubectl apply -f "$ref/samples/spin-shim-executor.yaml" >/dev/null
# Without --kubeconfig: KUBECONFIG is used, as kubectl does.
: >"$logf"
"$ctl" 2>"$logf" &
pid=$!
ok "with the CRDs it syncs and counts the existing executor" retry 20 grep -q 'msg="synced" spinapps=0 spinappexecutors=1' "$logf"
kubectl apply -f "$ref/samples/simple.yaml" >/dev/null
ok "a new SpinApp is seen" retry 20 grep -q 'msg="added" kind=SpinApp object="default/simple-spinapp"' "$logf"
kubectl patch spinapp simple-spinapp --type merge -p '{"spec":{"replicas":3}}' >/dev/null
ok "a spec change is seen with its generation" retry 20 grep -q 'msg="updated" kind=SpinApp object="default/simple-spinapp" generation=2' "$logf"
kubectl delete spinapp simple-spinapp >/dev/null
ok "a deletion is seen" retry 20 grep -q 'msg="deleted" kind=SpinApp object="default/simple-spinapp"' "$logf"
ok "every log line is logfmt with time, level and msg" bash -c "! grep -v '^time=[0-9T:.-]*Z level=[a-z]* msg=\"' $logf"
kill -TERM $pid; wait $pid; rc=$?
is "$rc" 0 "SIGTERM stops it with status 0"
pid=
tap_done
