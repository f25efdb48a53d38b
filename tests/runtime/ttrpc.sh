#!/usr/bin/env bash
# The shim's ttrpc (shim-bridge/shim/ttrpc) against the real thing: the Go
# github.com/containerd/ttrpc client, with the containerd api module's
# generated task client, calling our server (a registered method, many at
# once, an unknown method and service, a payload that does not decode, a
# hand-made garbage envelope and an even stream id); and the Go events
# service receiving the task events our client forwards. Unix sockets in a
# temporary folder; the peer comes from hack/bootstrap --only ttrpc-peer.
#   ttrpc.sh RUNTIME-TTRPC-PEER (meson passes the C side)
set -uo pipefail
. "$SPINKUBE_SOURCE_DIR/tests/lib/tap.sh"
. "$SPINKUBE_SOURCE_DIR/hack/lib.sh"

CPEER=$1
GOPEER=$(ttrpc_peer_bin)
[ -x "$GOPEER" ] || bail "no Go ttrpc peer at $GOPEER: run hack/bootstrap --only ttrpc-peer"
T=$(mktemp -d "${TMPDIR:-/tmp}/ttrpc-test.XXXXXX")
SERVER_PID=
cleanup() {
	[ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# wait_for FILE TEXT: up to 10 s for TEXT to show in FILE.
wait_for() {
	local i
	for i in $(seq 1 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}

# --- the Go client against our server ---
"$CPEER" serve "$T/task.sock" >"$T/server.out" 2>"$T/server.err" &
SERVER_PID=$!
wait_for "$T/server.out" '^serving' || { cat "$T/server.err" | sed 's/^/# /'; bail "our ttrpc server did not start"; }
"$GOPEER" call "$T/task.sock" >"$T/call.out" 2>"$T/call.err"
is "$?" 0 "the Go client ran its calls"
sed 's/^/# /' "$T/call.out"
line() { grep "^$1 " "$T/call.out"; }
is "$(line state)" "state id=app-1 pid=42 status=RUNNING bundle=k8s.io" \
	"Task/State through the generated Go client: our StateResponse; the handler read the namespace from the metadata"
is "$(line concurrent)" "concurrent good=20 of 20" "20 State calls at once on one connection: each answered on its own stream"
is "$(line pause)" 'pause code=Unimplemented msg="service containerd.task.v2.Task: method Pause is not implemented"' \
	"Task/Pause, not registered: Unimplemented (12) as grpc's status reads it"
is "$(line unknown-service)" "unknown-service code=Unimplemented" "an unknown service: Unimplemented"
is "$(line bad-payload | cut -d' ' -f2)" "code=InvalidArgument" "a payload that is not a StateRequest: InvalidArgument from the handler"
is "$(line large)" "large code=OK same=true" "a 1 MiB request and answer"
is "$(line raw-garbage)" "raw-garbage stream=1 type=2 code=InvalidArgument" \
	"a hand-made envelope that is not a ttrpc.Request: a Response with InvalidArgument"
is "$(line raw-even-stream)" "raw-even-stream closed=true" "an even stream id from a client: the connection is closed"
grep -q 'msg="ttrpc connection closed" reason="ttrpc: a request on even stream id 2 (client streams are odd)"' "$T/server.err"
is "$?" 0 "and the server logged one line saying why"
is "$(grep -c 'ttrpc connection closed' "$T/server.err")" 1 "only that connection was closed with a reason"

is "$(line shutdown)" "shutdown code=OK" "Task/Shutdown answered"
# It stops the server: serve returns after closing the open connections.
for i in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
wait "$SERVER_PID"; rc=$?; SERVER_PID=
is "$rc" 0 "and our server's serve returned; it exited 0"

# --- our client forwarding events to the Go events service ---
"$GOPEER" events "$T/events.sock" 4 >"$T/events.out" 2>"$T/events.err" &
SERVER_PID=$!
wait_for "$T/events.out" '^listening' || { sed 's/^/# /' "$T/events.err"; bail "the Go events service did not start"; }
"$CPEER" forward "$T/events.sock" >"$T/forward.out" 2>"$T/forward.err"
is "$?" 0 "our client forwarded four task events"
[ ! -s "$T/forward.err" ] || sed 's/^/# /' "$T/forward.err"
wait "$SERVER_PID"; rc=$?; SERVER_PID=
is "$rc" 0 "the Go events service received all four and exited"
sed 's/^/# /' "$T/events.out"
ev() { grep "^event .* topic=$1 " "$T/events.out"; }
is "$(ev /tasks/create)" "event ns=k8s.io md_ns=k8s.io topic=/tasks/create type=containerd.events.TaskCreate typeurl_matches=true container=app-1 bundle=/run/containerd/io.containerd.runtime.v2.task/k8s.io/app-1 pid=4242 time=2023-11-14T22:13:20.123456789Z" \
	"TaskCreate: namespace in the envelope and the ttrpc metadata, containerd's type URL, the fields, the time"
is "$(ev /tasks/start)" "event ns=k8s.io md_ns=k8s.io topic=/tasks/start type=containerd.events.TaskStart typeurl_matches=true container=app-1 pid=4242 time=2023-11-14T22:13:20.12345679Z" \
	"TaskStart"
is "$(ev /tasks/exit)" "event ns=k8s.io md_ns=k8s.io topic=/tasks/exit type=containerd.events.TaskExit typeurl_matches=true container=app-1 pid=4242 exit_status=137 exited_at=2023-11-14T22:14:20.000000005Z time=2023-11-14T22:13:20.123456791Z" \
	"TaskExit with its exit status and time"
is "$(ev /tasks/delete)" "event ns=k8s.io md_ns=k8s.io topic=/tasks/delete type=containerd.events.TaskDelete typeurl_matches=true container=app-1 pid=4242 exit_status=137 time=2023-11-14T22:13:20.123456792Z" \
	"TaskDelete"

# Nobody listening: one clear line, exit 1.
"$CPEER" forward "$T/events.sock" >/dev/null 2>"$T/refused.err"
is "$?" 1 "forwarding with no events service: fails"
grep -q "^runtime-ttrpc-peer: ttrpc client: connect to $T/events.sock: " "$T/refused.err"
is "$?" 0 "with one line naming the socket: $(cat "$T/refused.err")"

tap_done
