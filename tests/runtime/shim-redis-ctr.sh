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

CTRD_NS=redis-test
. "$SPINKUBE_SOURCE_DIR/tests/runtime/containerd.sh"
ctrd_require shim
command -v redis-server >/dev/null || skip_all "no redis-server: hack/bootstrap --only debs"
T=$(mktemp -d /tmp/shim-redis.XXXXXX)
REDIS_PID=
cleanup() {
	ctrd_stop
	[ -z "$REDIS_PID" ] || { kill -TERM "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null; }
	rm -rf "$T"
}
trap cleanup EXIT

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

subscribed() { [ "$(rcli PUBSUB NUMSUB jobs | tail -n 1)" = 1 ]; }
handled() { [ "$(rcli GET "$1")" = "$2" ]; }

for mode in shared pod; do
	ctrd_start "$T/containerd-$mode.log" SPIN_SHIM_MODE=$mode SPIN_SHIM_STATE_DIR="$T/shim-$mode"
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
	ctrd_stop
done

tap_done
