#!/usr/bin/env bash
# spin-controller's leader election (controller/leader.c) on a real cluster:
# of two controllers with --leader-elect, one takes the Lease and reconciles,
# the other stands by without informers or writes; SIGTERM releases the Lease
# and the standby takes over at its next retry, well before the lease would
# expire; after kill -9 a standby takes over once the lease has expired;
# settings that cannot work are one line. Short durations (lease 3 s, renew
# deadline 2 s, retry 0.5 s) keep it quick. Only loopback traffic.
set -u
src=${SPINKUBE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SPINKUBE_BUILD_DIR:-$src/build}
. "$src/tests/lib/tap.sh"
. "$src/hack/lib.sh"

name=e2e-le-$$
work=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	"$src/hack/cluster-down" --name "$name" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
out=$("$src/hack/cluster-up" --name "$name" 2>/dev/null) || bail "hack/cluster-up failed"
eval "$out"
ctl=$build/controller/spin-controller
kubectl apply -f "$src/crd/" >/dev/null
retry 60 kubectl wait --for=condition=Established crd/spinapps.core.spinkube.dev crd/spinappexecutors.core.spinkube.dev --timeout=30s >/dev/null
kubectl apply -f "$src/crd/defaults/" >/dev/null

flags=(--metrics-bind-address=127.0.0.1:0 --metrics-secure=false --health-probe-bind-address=127.0.0.1:0 --leader-elect --leader-election-namespace default --leader-elect-lease-duration 3s
	--leader-elect-renew-deadline 2s --leader-elect-retry-period 500ms --resync-period 0)
# start N: controller N in the background, its log in $work/N.log
start() { "$ctl" "${flags[@]}" 2>"$work/$1.log" & pids[$1]=$!; }
identity() { sed -n 's/.*msg="leader election: starting".* identity=\([^ ]*\).*/\1/p' "$work/$1.log" | head -n1; }
holder() { kubectl get lease -n default spin-controller.spinkube.dev -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }
transitions() { kubectl get lease -n default spin-controller.spinkube.dev -o jsonpath='{.spec.leaseTransitions}'; }
elected() { grep -q 'msg="leader elected"' "$work/$1.log"; }
# spinapp NAME: apply a SpinApp (its Deployment shows who reconciles)
spinapp() {
	printf 'apiVersion: core.spinkube.dev/v1alpha1\nkind: SpinApp\nmetadata: {name: %s}\nspec: {image: "ghcr.io/example/app:v1", replicas: 1, executor: containerd-shim-spin}\n' "$1" |
		kubectl apply -f - >/dev/null
}

start 1
ok "the first controller takes the Lease" retry 40 elected 1
is "$(holder)" "$(identity 1)" "... the Lease names it as holder (hostname_random)"
ok "... and it starts its informers" retry 20 grep -q 'msg="watching"' "$work/1.log"
start 2
ok "the second one stands by, naming the holder" retry 40 grep -q "msg=\"leader election: standing by\" lease=default/spin-controller.spinkube.dev holder=$(identity 1)" "$work/2.log"

# leading N: leader_election_master_status on controller N's plain metrics
leading() {
	local a
	a=$(sed -n 's/.*msg="serving metrics" addr=\([^ ]*\).*/\1/p' "$work/$1.log" | head -n1)
	curl -s --max-time 10 "http://$a/metrics" | awk '$1 == "leader_election_master_status{name=\"spin-controller.spinkube.dev\"}" {print $2}'
}
is "$(leading 1),$(leading 2)" "1,0" "leader_election_master_status: 1 on the leader, 0 on the standby"
probes2=$(sed -n 's/.*msg="serving probes" addr=\([^ ]*\).*/\1/p' "$work/2.log" | head -n1)
is "$(curl -s --max-time 10 "http://$probes2/readyz"),$(curl -s --max-time 10 "http://$probes2/healthz")" "ok,ok" \
	"the standby is ready and healthy (it would hold up rolling updates otherwise)"

spinapp le-one
ok "the leader reconciles: the SpinApp gets its Deployment" retry 40 kubectl get deploy le-one
sleep 2
ok "the standby has no informers, so it makes no write" bash -c "! grep -q 'msg=\"watching\"' '$work/2.log'"
is "$(holder)" "$(identity 1)" "the leader keeps the Lease by renewing it (after several lease durations)"

# SIGTERM: released at once, the standby takes over at its next retry.
kill -TERM "${pids[1]}"
wait "${pids[1]}"; rc=$?
is "$rc" 0 "SIGTERM stops the leader with status 0"
ok "... it releases the Lease" grep -q 'msg="leader election: released"' "$work/1.log"
t0=$(date +%s%N)
ok "the standby takes the Lease" retry 60 elected 2
ms=$((($(date +%s%N) - t0) / 1000000))
diag "took over ${ms} ms after the release (lease duration 3000 ms)"
ok "... before the lease would have expired" test "$ms" -lt 3000
is "$(holder),$(transitions)" "$(identity 2),1" "... the Lease names it; one transition"
spinapp le-two
ok "... the new SpinApp gets its Deployment" retry 40 kubectl get deploy le-two

# kill -9: nothing is released; a standby waits for the lease to expire.
start 3
ok "a third controller stands by" retry 40 grep -q 'msg="leader election: standing by"' "$work/3.log"
kill -9 "${pids[2]}"
wait "${pids[2]}" 2>/dev/null
ok "after kill -9 of the leader the standby takes the Lease once it has expired" retry 100 elected 3
is "$(holder)" "$(identity 3)" "... the Lease names it"
kill -TERM "${pids[3]}"; wait "${pids[3]}"
pids=()

# Settings that cannot work: one line each.
"$ctl" --metrics-bind-address=0 --health-probe-bind-address=0 --leader-elect --kubeconfig "$KUBECONFIG" 2>"$work/e1" </dev/null
is "$?" 1 "--leader-elect outside a pod without a namespace exits 1"
ok "... with one line naming the flag to give" grep -qx "spin-controller: leader election: not running in a pod (no POD_NAMESPACE, no /var/run/secrets/kubernetes.io/serviceaccount/namespace): give --leader-election-namespace" "$work/e1"
"$ctl" --metrics-bind-address=0 --health-probe-bind-address=0 --leader-elect --leader-election-namespace default --leader-elect-retry-period 20s 2>"$work/e2"
is "$?" 1 "a retry period longer than the renew deadline exits 1"
ok "... with one line giving the rule" grep -q "^spin-controller: leader election: want retry period < renew deadline < lease duration (got 20000 ms, 10000 ms, 15000 ms)$" "$work/e2"
"$ctl" --metrics-bind-address=0 --health-probe-bind-address=0 --leader-elect-lease-duration soon 2>"$work/e3"
is "$?" 2 "a duration that is not one exits 2"
ok "... naming the flag" grep -qx "spin-controller: --leader-elect-lease-duration 'soon': give a duration such as 15s or 500ms (1ms to 1h)" "$work/e3"
tap_done
