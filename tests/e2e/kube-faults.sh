#!/usr/bin/env bash
# Watch faults through tests/tools/faultproxy.py in front of a real apiserver:
# a stream cut mid-line, a stalled stream, an oversize event line (see
# tests/e2e/test-kube-faults.c for what is checked). Starts its own cluster and
# the proxy, runs the driver, and stops both whatever happens.
set -u
src=${SPINKUBE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SPINKUBE_BUILD_DIR:-$src/build}
. "$src/tests/lib/tap.sh"

name=e2e-faults-$$
work=$(mktemp -d "${TMPDIR:-/tmp}/kube-faults.XXXXXX")
proxy_pid=
stop_proxy() {
	[ -n "$proxy_pid" ] || return 0
	kill -TERM "$proxy_pid" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$proxy_pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$proxy_pid" 2>/dev/null
	wait "$proxy_pid" 2>/dev/null
	proxy_pid=
}
trap 'stop_proxy; "$src/hack/cluster-down" --name $name >/dev/null 2>&1; rm -rf "$work"' EXIT

[ -x "$build/tests/e2e-kube-faults" ] || bail "missing $build/tests/e2e-kube-faults: run ninja -C $build"
# Other tests start clusters at the same time; one failed start (two picking
# the same free port) is retried once, with what went wrong shown.
for attempt in 1 2; do
	out=$("$src/hack/cluster-up" --name "$name" 2>"$work/cluster-up.err") && break
	sed 's/^/# cluster-up: /' "$work/cluster-up.err" | tail -n 40
	"$src/hack/cluster-down" --name "$name" >/dev/null 2>&1
	[ $attempt -eq 2 ] && bail "hack/cluster-up --name $name failed twice"
done
eval "$out"
diag "cluster $name up in ${SECONDS}s"

# The proxy prints its port and its control port once it listens. The files
# exist before it starts: a background job opens its redirections later.
: >"$work/proxy.out"
: >"$work/proxy.log"
python3 "$src/tests/tools/faultproxy.py" --cluster-dir "$SPINKUBE_CLUSTER_DIR" \
	>>"$work/proxy.out" 2>>"$work/proxy.log" &
proxy_pid=$!
deadline=$((SECONDS + 15))
while [ "$(grep -c . "$work/proxy.out")" -lt 2 ]; do
	if ! kill -0 "$proxy_pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
		sed 's/^/# proxy: /' "$work/proxy.log"
		bail "tests/tools/faultproxy.py did not start"
	fi
	sleep 0.1
done
port=$(sed -n 1p "$work/proxy.out")
control=$(sed -n 2p "$work/proxy.out")
api_port=$(. "$SPINKUBE_CLUSTER_DIR/ports.env" && echo "$API_PORT")
diag "faultproxy on 127.0.0.1:$port (control $control) in front of https://127.0.0.1:$api_port"

# The same bearer-token user, through the proxy.
sed "s#^\( *server:\).*#\1 https://127.0.0.1:$port#" "$SPINKUBE_TOKEN_KUBECONFIG" >"$work/proxy.kubeconfig"

"$build/tests/e2e-kube-faults" "$work/proxy.kubeconfig" "http://127.0.0.1:$control"
rc=$?
t=$SECONDS
stop_proxy
diag "the proxy stopped in $((SECONDS - t))s"
if [ $rc -ne 0 ]; then
	echo "# the proxy's log:"
	sed 's/^/#   /' "$work/proxy.log"
fi
exit $rc
