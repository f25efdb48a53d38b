#!/usr/bin/env bash
# containerd-shim-spin-v2 running an app of Redis triggers only, under a
# real containerd 2 (its own root, state and sockets in a temporary folder,
# the CRI off), driven with ctr, no kubelet, in shared mode and in per-pod
# mode: the app (an ordinary image holding spin.toml and
# tests/guests/spin/redis-handler.wasm, packed by hack/push-image)
# subscribes to a redis-server this script starts on 127.0.0.1, handles
# messages (seen through what the guest writes back to Redis), opens no
# HTTP port, and SIGTERM ends its task with status 0. Root only; loopback
# traffic only.
set -uo pipefail
. "$SPINKUBE_SOURCE_DIR/tests/lib/tap.sh"
. "$SPINKUBE_SOURCE_DIR/hack/lib.sh"

SHIM=$SPINKUBE_BUILD_DIR/shim-bridge/shim/containerd-shim-spin-v2
CONTAINERD=$(containerd_bin containerd)
CTRBIN=$(containerd_bin ctr)
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
[ "$(id -u)" -eq 0 ] || skip_all "containerd needs root"
[ -x "$CONTAINERD" ] && [ -x "$CTRBIN" ] || skip_all "no containerd in the cache folder (hack/bootstrap --only containerd)"
command -v redis-server >/dev/null || skip_all "no redis-server: hack/bootstrap --only debs"
[ -x "$SHIM" ] || bail "missing $SHIM: run ninja -C $SPINKUBE_BUILD_DIR"

T=$(mktemp -d /tmp/shim-redis.XXXXXX)
CPID=
REDIS_PID=
stop_containerd() {
	if [ -S "$T/c.sock" ]; then
		for t in $(ctr tasks ls -q 2>/dev/null); do ctr tasks kill -s SIGKILL "$t" >/dev/null 2>&1; done
		sleep 0.5
		for t in $(ctr containers ls -q 2>/dev/null); do
			ctr tasks delete -f "$t" >/dev/null 2>&1
			ctr containers delete "$t" >/dev/null 2>&1
		done
	fi
	[ -z "$CPID" ] || { kill -TERM "$CPID" 2>/dev/null; wait "$CPID" 2>/dev/null; }
	CPID=
	pkill -KILL -f "$T/bin/containerd-shim-spin-v2" 2>/dev/null
	unmount_under "$T"
}
cleanup() {
	stop_containerd
	[ -z "$REDIS_PID" ] || { kill -TERM "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null; }
	rm -rf "$T"
}
trap cleanup EXIT
ctr() { "$CTRBIN" --address "$T/c.sock" -n redis-test "$@"; }
wait_for() {
	local n=$1 i; shift
	for ((i = 0; i < n * 10; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}

RP=$(free_port)
rcli() { redis-cli -h 127.0.0.1 -p "$RP" "$@"; }
mkdir -p "$T/redis"
redis-server --port "$RP" --bind 127.0.0.1 --dir "$T/redis" --save '' --appendonly no --daemonize no \
	--logfile "$T/redis/log" &
REDIS_PID=$!
wait_for 10 bash -c "[ \"\$(redis-cli -h 127.0.0.1 -p $RP PING)\" = PONG ]" || bail "redis-server did not start"

# --- the app ---
# The guests the other runtime tests build (rebuilt only when out of date).
GUESTS=${SPINKUBE_GUESTS_DIR:-$SPINKUBE_BUILD_DIR/guests}
"$SPINKUBE_SOURCE_DIR/tests/guests/build" "$GUESTS" >"$T/guests.log" 2>&1 ||
	{ tail -n 20 "$T/guests.log" | sed 's/^/# /'; bail "tests/guests/build failed"; }
mkdir -p "$T/app"
cp "$GUESTS/spin/redis-handler.wasm" "$T/app/"
cat >"$T/app/spin.toml" <<EOT
spin_manifest_version = 2
[application]
name = "redis-only"
[application.trigger.redis]
address = "redis://127.0.0.1:$RP"
[[trigger.redis]]
channel = "jobs"
component = "h"
[component.h]
source = "redis-handler.wasm"
allowed_outbound_hosts = ["redis://127.0.0.1:$RP"]
[component.h.variables]
tag = "h"
redis_url = "redis://127.0.0.1:$RP"
EOT
"$SPINKUBE_SOURCE_DIR/hack/push-image" --oci-tar "$T/app.tar" "$T/app" spinkube-c/redis-only:test >/dev/null 2>"$T/push.err" ||
	{ sed 's/^/# /' "$T/push.err"; bail "hack/push-image failed"; }

mkdir -p "$T/bin"
cp "$SHIM" "$T/bin/containerd-shim-spin-v2"
cat >"$T/containerd.toml" <<EOT
version = 3
root = "$T/root"
state = "$T/state"
disabled_plugins = [
  "io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime", "io.containerd.cri.v1.images",
  "io.containerd.nri.v1.nri", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing",
]
[grpc]
  address = "$T/c.sock"
[ttrpc]
  address = "$T/c.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins]
  [plugins.'io.containerd.shim.v1.manager']
    socket_dir = "$T/s"
EOT

status_of() { ctr tasks ls 2>/dev/null | awk -v t="$1" '$1 == t {print $3}'; }
stopped() { [ "$(status_of "$1")" = STOPPED ]; }
exit_of() { ctr tasks delete "$1" 2>&1 >/dev/null | sed -n 's/.*exit with non-zero exit code \([0-9]*\).*/\1/p' | grep . || echo 0; }
subscribed() { [ "$(rcli PUBSUB NUMSUB jobs | tail -n 1)" = 1 ]; }
handled() { [ "$(rcli GET "$1")" = "$2" ]; }

for mode in shared pod; do
	PATH=$T/bin:$PATH SPIN_SHIM_MODE=$mode SPIN_SHIM_STATE_DIR=$T/shim-$mode "$CONTAINERD" --config "$T/containerd.toml" \
		>"$T/containerd-$mode.log" 2>&1 &
	CPID=$!
	wait_for 10 ctr version || { tail -n 20 "$T/containerd-$mode.log" | sed 's/^/# /'; bail "containerd did not come up"; }
	ctr images import "$T/app.tar" >/dev/null 2>&1 || bail "ctr images import failed"
	HP=$(free_port)
	ok "$mode mode: ctr runs the Redis-only app" ctr run -d --runtime io.containerd.spin.v2 --net-host \
		--env "SPIN_HTTP_LISTEN_ADDR=127.0.0.1:$HP" docker.io/spinkube-c/redis-only:test "r-$mode"
	ok "$mode mode: it subscribes to its channel" wait_for 30 subscribed
	rcli SET h:release 1 >/dev/null
	rcli PUBLISH jobs "set m $mode" >/dev/null
	rcli PUBLISH jobs hold >/dev/null
	ok "$mode mode: a message is handled (the guest counts it in Redis)" \
		wait_for 20 bash -c "[ \"\$(redis-cli -h 127.0.0.1 -p $RP GET h:done)\" = 1 ]"
	ok "$mode mode: no HTTP listener on SPIN_HTTP_LISTEN_ADDR" bash -c "! curl -s --noproxy '*' -m 2 http://127.0.0.1:$HP/"
	ctr tasks kill -s SIGTERM "r-$mode" >/dev/null 2>&1
	ok "$mode mode: SIGTERM stops the task" wait_for 30 stopped "r-$mode"
	is "$(exit_of "r-$mode")" 0 "$mode mode: with status 0"
	no_sub() { [ "$(rcli PUBSUB NUMSUB jobs | tail -n 1)" = 0 ]; }
	ok "$mode mode: and its subscription is gone" wait_for 10 no_sub
	ctr containers delete "r-$mode" >/dev/null 2>&1
	rcli DEL h:done >/dev/null
	stop_containerd
done

tap_done
