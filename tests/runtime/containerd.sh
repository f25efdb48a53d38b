# tests/runtime/containerd.sh: a private containerd 2 for the runtime tests
# that drive it with ctr (no kubelet): its root, state, temp folder and
# sockets all in the test's temporary folder $T (short: the socket path must
# fit a sockaddr_un), the CRI, NRI and tracing plugins off, no TCP listener,
# and the shim under test on its PATH. Source it after tests/lib/tap.sh and
# hack/lib.sh; set T before ctrd_start. Its socket is $T/c.sock.
#
#   ctrd_require [shim]     skip the test without root or containerd (bail
#                           out without the shim, when asked for)
#   ctrd_start LOG [VAR=VALUE]...
#                           start containerd with those variables in its
#                           environment (SPIN_SHIM_MODE=..., say), its output
#                           in LOG; bail out unless it answers within 10 s
#   ctrd_stop               kill and delete every task and container, stop
#                           containerd, kill shims left over, undo mounts
#   ctr ARGS...             ctr on this containerd, in namespace $CTRD_NS
#   wait_for SECONDS CMD... CMD until it succeeds, for at most SECONDS
#   status_of, stopped, exit_of TASK
#                           a task's status, whether it is STOPPED, and its
#                           exit status (deleting the stopped task)

SHIM=$SPINKUBE_BUILD_DIR/shim-bridge/shim/containerd-shim-spin-v2
CONTAINERD=$(containerd_bin containerd)
CTRBIN=$(containerd_bin ctr)
CTRD_NS=${CTRD_NS:-spinkube-test}
CPID=

skip_all() { echo "1..0 # SKIP $*"; exit 0; }

ctrd_require() {
	[ "$(id -u)" -eq 0 ] || skip_all "containerd needs root"
	[ -x "$CONTAINERD" ] && [ -x "$CTRBIN" ] || skip_all "no containerd in the cache folder (hack/bootstrap --only containerd)"
	[ "${1-}" != shim ] || [ -x "$SHIM" ] || bail "missing $SHIM: run ninja -C $SPINKUBE_BUILD_DIR"
}

ctr() { "$CTRBIN" --address "$T/c.sock" -n "$CTRD_NS" "$@"; }

wait_for() {
	local n=$1 i; shift
	for ((i = 0; i < n * 10; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}

status_of() { ctr tasks ls 2>/dev/null | awk -v t="$1" '$1 == t {print $3}'; }
stopped() { [ "$(status_of "$1")" = STOPPED ]; }
# ctr warns of a non-zero exit status when it deletes the task.
exit_of() { ctr tasks delete "$1" 2>&1 >/dev/null | sed -n 's/.*exit with non-zero exit code \([0-9]*\).*/\1/p' | grep . || echo 0; }

ctrd_config() {
	cat >"$T/containerd.toml" <<EOT
version = 3
root = "$T/root"
state = "$T/state"
temp = "$T/tmp"
disabled_plugins = [
  "io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime", "io.containerd.cri.v1.images",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.blockfile",
  "io.containerd.snapshotter.v1.erofs", "io.containerd.nri.v1.nri",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing",
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
}

ctrd_start() {
	local log=$1; shift
	mkdir -p "$T/bin" "$T/tmp"
	[ -x "$T/bin/containerd-shim-spin-v2" ] || [ ! -x "$SHIM" ] || cp "$SHIM" "$T/bin/containerd-shim-spin-v2"
	[ -f "$T/containerd.toml" ] || ctrd_config
	env PATH="$T/bin:$PATH" "$@" "$CONTAINERD" --config "$T/containerd.toml" >"$log" 2>&1 &
	CPID=$!
	wait_for 10 ctr version || { tail -n 20 "$log" | sed 's/^/# /'; bail "containerd did not come up"; }
}

ctrd_stop() {
	local t
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
