# Shared helpers for the hack/ scripts. Source it; do not run it.
# Progress and errors go to stderr so that stdout stays free for what a script
# promises to print (cluster-up prints only export lines).

HACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$HACK_DIR/.." && pwd)
# shellcheck source=hack/versions
. "$HACK_DIR/versions"

# Everything heavy lives outside the clone, keyed by the pinned versions, so a
# fresh clone on the same machine reuses it.
SPINKUBE_CACHE=${SPINKUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/spinkube-c}
K8S_DIR=$SPINKUBE_CACHE/k8s-$K8S_VERSION
ETCD_DIR=$SPINKUBE_CACHE/etcd-$ETCD_VERSION
KWOK_DIR=$SPINKUBE_CACHE/kwok-$KWOK_VERSION
# The real node: kubelet and kube-proxy in a folder of their own, so building
# them never rebuilds the control plane; containerd, runc, the CNI plugins.
K8S_NODE_DIR=$SPINKUBE_CACHE/k8s-node-$K8S_VERSION
CONTAINERD_DIR=$SPINKUBE_CACHE/containerd-$CONTAINERD_VERSION
RUNC_DIR=$SPINKUBE_CACHE/runc-$RUNC_VERSION
CNI_DIR=$SPINKUBE_CACHE/cni-plugins-$CNI_PLUGINS_VERSION
KUBECTL_DIR=$SPINKUBE_CACHE/kubectl-layer-$KUBECTL_LAYER_VERSION
KSTATUS_DIR=$SPINKUBE_CACHE/kstatus-$CLI_UTILS_VERSION
# The .proto files meson generates the shim's messages from (protoc-c), keyed
# by the three modules they come from.
PROTOS_DIR=$SPINKUBE_CACHE/protos-api$CONTAINERD_API_VERSION-ttrpc$TTRPC_VERSION-cgroups$CGROUPS_VERSION
# The Go ttrpc peer of tests/runtime/ttrpc.sh, keyed by the versions and its source.
TTRPC_PEER_DIR=$SPINKUBE_CACHE/ttrpc-peer-api$CONTAINERD_API_VERSION-ttrpc$TTRPC_VERSION
# The OpenTelemetry Collector of tests/lib/otelcol.sh, keyed by its release
# (the folder's "source" file holds a digest of tests/tools/otelcol).
OTELCOL_DIR=$SPINKUBE_CACHE/otelcol-$OTELCOL_VERSION
# wasmtime C API: the version its Cargo.lock pins plus a digest of the crate.
WASMTIME_VERSION=$(sed -n '/^name = "wasmtime-c-api-impl"$/{n;s/^version = "\(.*\)"$/\1/p}' "$REPO_ROOT/shim-bridge/wasmtime/Cargo.lock")
WASMTIME_DIR=$SPINKUBE_CACHE/wasmtime-$WASMTIME_VERSION-$(cat "$REPO_ROOT/shim-bridge/wasmtime/Cargo.toml" "$REPO_ROOT/shim-bridge/wasmtime/Cargo.lock" "$REPO_ROOT/shim-bridge/wasmtime/src/lib.rs" | sha256sum | cut -c1-12)
# wasmtime-cli, the benchmarks' peer, at the same version.
WASMTIME_CLI_DIR=$SPINKUBE_CACHE/wasmtime-cli-$WASMTIME_VERSION
export PKG_CONFIG_PATH=$WASMTIME_DIR/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
# Wasm toolchain for the test guests: wasm-tools, wit-bindgen, the WASI
# preview 1 adapters and the fermyon:spin WIT, keyed by all four versions.
WASMTOOLS_DIR=$SPINKUBE_CACHE/wasmtools-$WASM_TOOLS_VERSION-wb$WIT_BINDGEN_VERSION-adapter$WASI_ADAPTER_VERSION-spin$SPIN_SDK_VERSION
# j2w and its npm dependencies for the JavaScript test guests (a package.json
# and node_modules), keyed by the three npm versions.
JSTOOLS_DIR=$SPINKUBE_CACHE/jstools-bt$SPIN_JS_BUILD_TOOLS_VERSION-proxy$SPIN_JS_WASI_HTTP_PROXY_VERSION-cjs$COMPONENTIZE_JS_VERSION
CURL_DIR=$SPINKUBE_CACHE/curl-$CURL_VERSION-http-static
JSSDK_DIR=$SPINKUBE_CACHE/jssdk-mysql$SPIN_JS_MYSQL_VERSION-esbuild$ESBUILD_VERSION-proxy$SPIN_JS_WASI_HTTP_PROXY_VERSION
export CARGO_HOME=${CARGO_HOME:-$SPINKUBE_CACHE/cargo/home}
# Go's module and build caches are shared by every Go component.
export GOMODCACHE=$SPINKUBE_CACHE/go/mod
export GOCACHE=$SPINKUBE_CACHE/go/build
export GOFLAGS=-buildvcs=false
export GOTOOLCHAIN=local

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
# free_port: a TCP port on 127.0.0.1 that nothing listens on now.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# die_with_log COMPONENT LOGFILE: say which component failed and show the end of
# its log, then exit non-zero.
die_with_log() {
	printf 'error: %s failed; last lines of %s:\n' "$1" "$2" >&2
	tail -n 40 "$2" 2>/dev/null | sed 's/^/  | /' >&2
	exit 1
}

# Binaries that bootstrap produces, by component.
k8s_bin() { printf '%s/bin/%s' "$K8S_DIR" "$1"; }
etcd_bin() { printf '%s/bin/%s' "$ETCD_DIR" "$1"; }
node_bin() { printf '%s/bin/%s' "$K8S_NODE_DIR" "$1"; }
containerd_bin() { printf '%s/bin/%s' "$CONTAINERD_DIR" "$1"; }
runc_bin() { printf '%s/bin/runc' "$RUNC_DIR"; }
cni_bin_dir() { printf '%s/bin' "$CNI_DIR"; }
kwok_bin() { printf '%s/bin/kwok' "$KWOK_DIR"; }
tools_bin_dir() { printf '%s/bin' "$KUBECTL_DIR"; }
kstatus_bin() { printf '%s/bin/kstatus' "$KSTATUS_DIR"; }
ttrpc_peer_bin() { printf '%s/bin/ttrpc-peer' "$TTRPC_PEER_DIR"; }
otelcol_bin() { printf '%s/bin/otelcol' "$OTELCOL_DIR"; }
wasmtools_bin() { printf '%s/bin/%s' "$WASMTOOLS_DIR" "$1"; }
# wasi_adapter reactor|command: the WASI preview 1 -> component adapter.
wasi_adapter() { printf '%s/adapters/wasi_snapshot_preview1.%s.wasm' "$WASMTOOLS_DIR" "$1"; }
# The fermyon:spin WIT package (a folder of .wit files, package fermyon:spin).
spin_wit_dir() { printf '%s/wit/fermyon-spin' "$WASMTOOLS_DIR"; }

# jstools_bin NAME: a command that hack/bootstrap --only jstools installs (j2w).
jstools_bin() { printf '%s/node_modules/.bin/%s' "$JSTOOLS_DIR" "$1"; }

# Local clusters made by hack/cluster-up keep their state, certificates and
# logs here, one folder per --name.
SPINKUBE_STATE=${SPINKUBE_STATE:-${XDG_STATE_HOME:-$HOME/.local/state}/spinkube-c}
cluster_dir() { printf '%s/clusters/%s' "$SPINKUBE_STATE" "$1"; }

valid_cluster_name() { [[ $1 =~ ^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$ ]]; }

# pgrep_others PATTERN: pids whose command line matches PATTERN, leaving out
# this script's own session: its subshells carry its command line, which may
# name the same folder (--apiserver-arg=--x=DIR/...), while every component
# runs in a session of its own (setsid).
pgrep_others() {
	local sid pid psid
	sid=$(ps -o sid= -p $$ | tr -d ' ')
	for pid in $(pgrep -f -- "$1" 2>/dev/null); do
		psid=$(ps -o sid= -p "$pid" 2>/dev/null | tr -d ' ') || continue
		[ -n "$psid" ] && [ "$psid" != "$sid" ] && echo "$pid"
	done
	return 0
}

# Processes of a cluster: the pid files it wrote, and anything else whose
# command line names the cluster's folder (every component gets paths in it).
cluster_pids() {
	local dir=$1 f pid
	for f in "$dir"/pids/*.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f" 2>/dev/null) || continue
		[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
	done
	pgrep_others "$dir/"
	# A real node's shims name only its folder in /run (hack/node.sh).
	if [ -f "$dir/node/node.env" ]; then pgrep_others "$(node_run_dir "$dir")/"; fi
}

# stop_cluster_processes DIR: TERM every process of the cluster, KILL what is
# still there after a grace period, and return non-zero if anything survives.
stop_cluster_processes() {
	local dir=$1 pids deadline
	pids=$(cluster_pids "$dir" | sort -u | grep -vx "$$" || true)
	[ -z "$pids" ] && return 0
	# Stop the clients before the apiserver and etcd, so that nothing logs a
	# storm of connection errors while going down.
	local f
	for f in kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
		[ -f "$dir/pids/$f.pid" ] && kill -TERM "$(cat "$dir/pids/$f.pid")" 2>/dev/null
	done
	# shellcheck disable=SC2086
	kill -TERM $pids 2>/dev/null || true
	deadline=$((SECONDS + 20))
	while [ $SECONDS -lt $deadline ]; do
		pids=$(cluster_pids "$dir" | sort -u | grep -vx "$$" || true)
		[ -z "$pids" ] && break
		sleep 0.2
	done
	# shellcheck disable=SC2086
	[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
	sleep 0.2
	rm -f "$dir"/pids/*.pid
	[ -z "$(cluster_pids "$dir")" ]
}

# unmount_under DIR: unmount anything mounted below DIR, deepest first.
unmount_under() {
	local m
	findmnt -rn -o TARGET 2>/dev/null | awk -v d="$1/" 'index($0, d) == 1' | sort -r |
		while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
}

# meson_setup DIR [MESON ARGS...]: configure a build folder, or bring an
# existing one up to date with where the wasmtime C API and the .proto
# files are now (the folder keeps the paths it was set up with).
meson_setup() {
	local dir=$1 kube_curl=; shift
	# The Kubernetes client's static libcurl, once hack/bootstrap built it.
	[ -f "$CURL_DIR/lib/libcurl.a" ] && kube_curl=$CURL_DIR
	if [ -f "$dir/build.ninja" ]; then
		# --reconfigure, not meson configure: it also takes options that were
		# added to meson_options.txt since the folder was set up.
		meson setup --reconfigure "$dir" -Dpkg_config_path="$WASMTIME_DIR/lib/pkgconfig" \
			-Dprotos_dir="$PROTOS_DIR" -Dkube_curl_dir="$kube_curl" "$@" >/dev/null
	else
		meson setup "$dir" -Dpkg_config_path="$WASMTIME_DIR/lib/pkgconfig" -Dprotos_dir="$PROTOS_DIR" \
			-Dkube_curl_dir="$kube_curl" "$@"
	fi
}

# The real node of a cluster (cluster-up --real-node) and assert_local_addr.
# shellcheck source=hack/node.sh
. "$HACK_DIR/node.sh"
