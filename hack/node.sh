# The real node of a local cluster (hack/cluster-up --real-node): a registry,
# containerd, the kubelet, a CNI bridge and kube-proxy on this machine, and
# the clean-up that hack/cluster-down runs. Source it after hack/lib.sh; do
# not run it.
#
# One machine has one set of iptables chains, kubepods cgroups and sysctls, so
# only one cluster at a time has a real node: the lock file names it.

# The node's network: the pod range (a CNI bridge with host-local IPAM) and
# the bridge's own address, which is also the node's InternalIP, so that the
# apiserver reaches the kubelet without leaving the machine. The Service
# range is the apiserver's --service-cluster-ip-range.
NODE_POD_CIDR=10.88.0.0/16
NODE_BRIDGE_IP=10.88.0.1
NODE_BRIDGE=spk0
NODE_SERVICE_CIDR=10.96.0.0/16
# The kubernetes Service's ClusterIP (the range's first address; the
# apiserver's certificate names it) and the nat chain that takes pods there.
NODE_KUBERNETES_IP=10.96.0.1
NODE_APISERVER_CHAIN=SPINKUBE-APISERVER
NODE_LOCK=/run/spinkube-c/real-node.lock

# node_run_dir DIR: the cluster's volatile folder (sockets, containerd's
# state, runc's state, network namespaces). A unix socket path has 108 bytes
# and containerd allows at most 42 for the shim socket folder, too few for a
# folder below $SPINKUBE_STATE, so it lives in /run under a digest of DIR;
# DIR/node/run points at it.
node_run_dir() { printf '/run/spinkube-c/%s' "$(printf '%s' "$1" | sha256sum | cut -c1-10)"; }
# node_var_dir DIR: the kubelet's root folder, on disk (pod volumes live
# there) but also short: the kubelet makes sockets in it (pod-resources,
# plugins), which a 40-character cluster name below $SPINKUBE_STATE would
# push past 108 bytes. DIR/node/kubelet points at it.
node_var_dir() { printf '/var/lib/spinkube-c/%s' "$(printf '%s' "$1" | sha256sum | cut -c1-10)"; }

# node_containerd_pid DIR: the pid of the real node's containerd itself
# (DIR/pids/containerd.pid is that of hack/supervise, its parent).
node_containerd_pid() { pgrep -P "$(cat "$1/pids/containerd.pid" 2>/dev/null)" -x containerd 2>/dev/null | head -n1; }

# ip4_to_int A.B.C.D
ip4_to_int() {
	local IFS=. a b c d
	read -r a b c d <<<"$1"
	echo $(((a << 24) | (b << 16) | (c << 8) | d))
}
# cidr_overlap A/N B/M: true if the two IPv4 prefixes share an address.
cidr_overlap() {
	local a=${1%/*} n=${1#*/} b=${2%/*} m=${2#*/} p
	[ "$1" = "$a" ] && n=32
	[ "$2" = "$b" ] && m=32
	p=$((n < m ? n : m))
	local mask=$(((0xffffffff << (32 - p)) & 0xffffffff))
	[ $(($(ip4_to_int "$a") & mask)) -eq $(($(ip4_to_int "$b") & mask)) ]
}

# node_check_ranges: refuse to start when the pod or Service range overlaps
# a route of this machine (other than the default route), so that nothing
# sent to a pod or Service address can leave through another interface.
node_check_ranges() {
	local dst dev range
	while read -r dst dev; do
		case $dst in default | 0.0.0.0/0) continue ;; esac
		[ "$dev" = "$NODE_BRIDGE" ] && continue
		for range in "$NODE_POD_CIDR" "$NODE_SERVICE_CIDR"; do
			if cidr_overlap "$dst" "$range"; then
				die "real node: range $range overlaps the route $dst dev $dev of this machine: remove that route or change NODE_POD_CIDR/NODE_SERVICE_CIDR in hack/node.sh (the apiserver SAN 10.96.0.1 in hack/cluster-up too)"
			fi
		done
	done < <(ip -4 route show table all type unicast | awk '{d=$1; for (i=2;i<=NF;i++) if ($i=="dev") print d, $(i+1)}')
	return 0
}

# assert_local_addr IP: succeed only if IP is loopback, a pod address behind
# this cluster's bridge, or a ClusterIP that kube-proxy DNATs locally.
# Scripts and tests call it before the first request to a pod or Service
# address, so that no test traffic can leave the machine.
assert_local_addr() {
	local ip=$1 route
	[[ $ip =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "assert_local_addr: '$ip' is not an IPv4 address" >&2; return 1; }
	case $ip in 127.*) return 0 ;; esac
	if cidr_overlap "$ip/32" "$NODE_POD_CIDR"; then
		route=$(ip -4 route get "$ip" 2>/dev/null | head -n1)
		case $route in
		*" dev $NODE_BRIDGE "*) return 0 ;;
		local*) [ "$ip" = "$NODE_BRIDGE_IP" ] && return 0 ;;
		esac
		echo "assert_local_addr: pod address $ip routes as '$route', not through bridge $NODE_BRIDGE" >&2
		return 1
	fi
	if cidr_overlap "$ip/32" "$NODE_SERVICE_CIDR"; then
		# A listing taken while kube-proxy rewrites its rules can come back
		# empty: look three times before saying no. Each listing is read
		# whole before it is searched: with a thousand Services, grep -q
		# would stop reading early, and the lister's SIGPIPE would fail the
		# pipeline under pipefail.
		local try rules
		for try in 1 2 3; do
			rules=$(iptables -t nat -S KUBE-SERVICES 2>/dev/null) || true
			if grep -q -- "-d $ip/32 .* -j KUBE-SVC-" <<<"$rules"; then return 0; fi
			# kube-proxy's nftables mode: the ClusterIP is a key of its service-ips map.
			if command -v nft >/dev/null; then
				rules=$(nft list map ip kube-proxy service-ips 2>/dev/null) || true
				if grep -qF "$ip . " <<<"$rules"; then return 0; fi
			fi
			[ $try -eq 3 ] || sleep 0.2
		done
		echo "assert_local_addr: Service address $ip has no DNAT rule of kube-proxy (iptables KUBE-SERVICES or nftables service-ips)" >&2
		return 1
	fi
	echo "assert_local_addr: $ip is neither loopback nor in $NODE_POD_CIDR or $NODE_SERVICE_CIDR" >&2
	return 1
}

# node_sysctl_save FILE NAME...: remember each sysctl's value once.
node_sysctl_save() {
	local f=$1 k; shift
	for k in "$@"; do
		grep -q "^$k=" "$f" 2>/dev/null || printf '%s=%s\n' "$k" "$(sysctl -n "$k" 2>/dev/null)" >>"$f"
	done
}

# The sysctls the kubelet and the node's network change.
NODE_SYSCTLS=(kernel.panic kernel.panic_on_oops vm.overcommit_memory net.ipv4.ip_forward
	net.bridge.bridge-nf-call-iptables net.ipv4.neigh.default.gc_thresh1 net.ipv4.neigh.default.gc_thresh2
	net.ipv4.neigh.default.gc_thresh3)

# node_stop DIR: stop the real node of the cluster in DIR and remove what it
# left on the machine: kubelet and kube-proxy, every container and shim,
# containerd, the registry, their mounts, network namespaces, veths, the
# bridge, the KUBE-* and CNI-* chains, the kubepods cgroups, the files it
# wrote outside DIR, and the sysctls it changed. Idempotent; returns non-zero
# if something survives (and says what).
node_stop() {
	local dir=$1 nd=$1/node
	[ -f "$nd/node.env" ] || return 0
	local NODE_NAME NODE_RUN NODE_VAR
	. "$nd/node.env"
	local run=$NODE_RUN var=${NODE_VAR:-$(node_var_dir "$dir")} rc=0 c pid
	# 1. The kubelet and kube-proxy first, so that nothing restarts a pod.
	for c in kubelet kube-proxy; do
		[ -f "$dir/pids/$c.pid" ] && kill -TERM "$(cat "$dir/pids/$c.pid")" 2>/dev/null
	done
	node_wait_gone "$dir/pids/kubelet.pid" "$dir/pids/kube-proxy.pid"
	# 2. Every container (runc's state is per containerd namespace), then the
	# shims: each runs in a process group of its own.
	local runc; runc=$(runc_bin)
	if [ -x "$runc" ] && [ -d "$run/runc" ]; then
		local root id
		for root in "$run"/runc/*/; do
			[ -d "$root" ] || continue
			for id in $("$runc" --root "$root" list -q 2>/dev/null); do
				"$runc" --root "$root" kill -a "$id" KILL >/dev/null 2>&1 || true
				"$runc" --root "$root" delete -f "$id" >/dev/null 2>&1 || true
			done
		done
	fi
	node_kill_group "$run/"
	# Anything still in a kubepods cgroup (a container runc lost track of).
	local procs
	procs=$(find /sys/fs/cgroup/*/kubepods -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u)
	# shellcheck disable=SC2086
	[ -z "$procs" ] || kill -KILL $procs 2>/dev/null
	# 3. containerd and the registry.
	for c in containerd registry; do
		[ -f "$dir/pids/$c.pid" ] && kill -TERM "$(cat "$dir/pids/$c.pid")" 2>/dev/null
	done
	node_wait_gone "$dir/pids/containerd.pid" "$dir/pids/registry.pid"
	node_kill_group "$run/"
	# 4. Mounts: pod volumes and the kubelet's root, overlay snapshots,
	# network namespaces, shm; deepest first.
	unmount_under "$nd"
	unmount_under "$var"
	unmount_under "$run"
	# 5. The network: veths on our bridge (their pods' namespaces are gone,
	# but a leftover one is deleted), the bridge, the chains.
	local veth
	for veth in $(ip -o link show master "$NODE_BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
		ip link del "$veth" 2>/dev/null || true
	done
	ip link del "$NODE_BRIDGE" 2>/dev/null || true
	node_flush_chains iptables
	node_flush_chains ip6tables
	node_delete_nft_tables
	# 6. The kubepods cgroups in every v1 hierarchy, deepest first.
	local h
	for h in /sys/fs/cgroup/*/; do
		[ -d "$h/kubepods" ] && find "$h/kubepods" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	# 7. Files the kubelet and the CNI write outside the cluster's folders.
	rm -f /var/lib/cni/results/"spinkube-$NODE_NAME"-* 2>/dev/null
	local p
	while read -r p; do
		[ -n "$p" ] && rm -rf "$p"
	done <"$nd/created-paths" 2>/dev/null
	# 8. The sysctls, as they were before the node started.
	local kv
	while IFS= read -r kv; do
		[ -n "${kv#*=}" ] && sysctl -qw "$kv" >/dev/null 2>&1
	done <"$nd/sysctls" 2>/dev/null
	# What survives is an error.
	local left
	left=$(node_leftovers "$dir")
	if [ -n "$left" ]; then
		printf 'error: real node %s: left behind: %s\n' "$NODE_NAME" "$left" >&2
		rc=1
	else
		rm -rf "$run" "$var"
		rmdir /var/lib/spinkube-c 2>/dev/null || true
		rm -f "$nd/run" "$nd/kubelet"
		[ "$(cat "$NODE_LOCK" 2>/dev/null)" = "$dir" ] && rm -f "$NODE_LOCK"
		rmdir /run/spinkube-c 2>/dev/null || true
		rm -f "$nd/node.env"
	fi
	return $rc
}

# node_wait_gone PIDFILE...: wait up to 20 s for the processes, then KILL.
node_wait_gone() {
	local f pids deadline=$((SECONDS + 20))
	while :; do
		pids=
		for f in "$@"; do
			[ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && pids+=" $(cat "$f")"
		done
		[ -z "$pids" ] && return 0
		if [ $SECONDS -ge $deadline ]; then
			# shellcheck disable=SC2086
			kill -KILL $pids 2>/dev/null
			sleep 0.2
			return 0
		fi
		sleep 0.2
	done
}

# node_kill_group PATH: KILL the process groups of every process whose command
# line names PATH (the shims: -address RUN/containerd.sock), outside our own
# session (pgrep_others).
node_kill_group() {
	local pid pgid
	for pid in $(pgrep_others "$1"); do
		pgid=$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')
		if [ -n "$pgid" ] && [ "$pgid" != "$(ps -o pgid= -p $$ | tr -d ' ')" ]; then
			kill -KILL -- "-$pgid" 2>/dev/null
		fi
		kill -KILL "$pid" 2>/dev/null
	done
	sleep 0.2
}

# node_flush_chains iptables|ip6tables: delete the rules that jump to KUBE-*,
# CNI-* or SPINKUBE-* chains from every chain, then flush and delete those
# chains.
node_flush_chains() {
	local cmd=$1 t rule chain
	command -v "$cmd" >/dev/null || return 0
	for t in filter nat mangle raw; do
		"$cmd" -t "$t" -S >/dev/null 2>&1 || continue
		while read -r rule; do
			# -A CHAIN ... -j KUBE-X  ->  -D CHAIN ...
			# shellcheck disable=SC2086
			eval "$cmd -w -t $t -D ${rule#-A }" 2>/dev/null || true
		done < <("$cmd" -t "$t" -S 2>/dev/null | grep -E '^-A ' | grep -E -- '-j (KUBE|CNI|SPINKUBE)-|^-A (KUBE|CNI|SPINKUBE)-' | grep -Ev '^-A (KUBE|CNI|SPINKUBE)-')
		for chain in $("$cmd" -t "$t" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^(KUBE|CNI|SPINKUBE)-/ {print $2}'); do
			"$cmd" -w -t "$t" -F "$chain" 2>/dev/null || true
		done
		for chain in $("$cmd" -t "$t" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^(KUBE|CNI|SPINKUBE)-/ {print $2}'); do
			"$cmd" -w -t "$t" -X "$chain" 2>/dev/null || true
		done
	done
}

# node_delete_nft_tables: the tables of kube-proxy's nftables mode.
node_delete_nft_tables() {
	command -v nft >/dev/null || return 0
	local fam
	for fam in ip ip6; do
		nft list table "$fam" kube-proxy >/dev/null 2>&1 && nft delete table "$fam" kube-proxy 2>/dev/null
	done
	return 0
}

# node_leftovers DIR: print what the real node of DIR left on the machine, by
# kind; nothing when clean.
node_leftovers() {
	local dir=$1 run var found=() n
	run=$(node_run_dir "$dir")
	var=$(node_var_dir "$dir")
	n=$(pgrep_others "$run/" | wc -l)
	[ "$n" -eq 0 ] || found+=("$n process(es) naming $run")
	n=$(findmnt -rn -o TARGET 2>/dev/null | grep -c -e "^$dir/" -e "^$run/" -e "^$var/")
	[ "$n" -eq 0 ] || found+=("$n mount(s)")
	ip link show "$NODE_BRIDGE" >/dev/null 2>&1 && found+=("bridge $NODE_BRIDGE")
	n=$(ip -o link show master "$NODE_BRIDGE" 2>/dev/null | wc -l)
	[ "$n" -eq 0 ] || found+=("$n veth(s)")
	n=$( { iptables-save 2>/dev/null; ip6tables-save 2>/dev/null; } | grep -cE '^:(KUBE|CNI|SPINKUBE)-')
	[ "$n" -eq 0 ] || found+=("$n iptables chain(s) KUBE-*/CNI-*/SPINKUBE-*")
	if command -v nft >/dev/null; then
		n=$(nft list tables 2>/dev/null | grep -c ' kube-proxy$')
		[ "$n" -eq 0 ] || found+=("$n nftables table(s) kube-proxy")
	fi
	n=$(find /sys/fs/cgroup/*/kubepods -maxdepth 0 -type d 2>/dev/null | wc -l)
	[ "$n" -eq 0 ] || found+=("kubepods cgroups in $n hierarchies")
	# Socket files of killed shims go with the folder; a listening one is a
	# process left behind.
	n=$(ss -Hxl 2>/dev/null | grep -cF "$run/")
	[ "$n" -eq 0 ] || found+=("$n listening socket(s) in $run")
	[ ${#found[@]} -eq 0 ] || (IFS=,; printf '%s' "${found[*]}")
}

# node_start: start the real node of the cluster that hack/cluster-up is
# making. Runs inside cluster-up and uses its helpers and variables (dir,
# pki, logs, name, cert, kubeconfig, start, wait_for, failed_component,
# REGISTRY_PORT, KUBELET_PORT, KUBELET_HEALTHZ_PORT, PROXY_HEALTHZ_PORT,
# PROXY_METRICS_PORT, max_pods_real, proxy_mode).
# shellcheck disable=SC2034,SC2154 # cluster-up's variables
node_start() {
	local nd=$dir/node run var t
	run=$(node_run_dir "$dir")
	var=$(node_var_dir "$dir")
	NODE_NAME=$name-node
	# The machine's lock first, and atomically: a cluster that loses the race
	# to another one starting at the same moment stops here, before it has
	# a node.env, so its clean-up (node_stop) leaves the other's bridge,
	# chains and pods alone.
	mkdir -p "${NODE_LOCK%/*}"
	( set -o noclobber; printf '%s\n' "$dir" >"$NODE_LOCK" ) 2>/dev/null ||
		die "cluster $(cat "$NODE_LOCK" 2>/dev/null | sed 's|.*/||') took the real node of this machine while $name started: stop it first, or wait for it"
	mkdir -p "$nd" "$run" "$var/kubelet"
	chmod 700 "$run" "$var"
	ln -sfn "$run" "$nd/run"
	ln -sfn "$var/kubelet" "$nd/kubelet"
	printf 'NODE_NAME=%q\nNODE_RUN=%q\nNODE_VAR=%q\n' "$NODE_NAME" "$run" "$var" >"$nd/node.env"
	: >"$nd/created-paths"
	local p
	for p in /var/lib/kubelet /var/log/containers /var/log/pods /var/lib/cni /usr/libexec/kubernetes; do
		[ -e "$p" ] || echo "$p" >>"$nd/created-paths"
	done
	node_sysctl_save "$nd/sysctls" "${NODE_SYSCTLS[@]}"

	# --- certificates and kubeconfigs
	cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME"
	cert kubelet-serving "/CN=$NODE_NAME" "IP:$NODE_BRIDGE_IP,DNS:$NODE_NAME"
	cert kube-proxy "/CN=system:kube-proxy"
	kubeconfig "$dir/kubelet.kubeconfig" kubelet
	kubeconfig "$dir/kube-proxy.kubeconfig" kube-proxy

	# --- the network: the bridge exists before the kubelet starts, because
	# its address is the node's InternalIP and the kubelet's listen address.
	modprobe br_netfilter 2>/dev/null || true
	sysctl -qw net.ipv4.ip_forward=1
	[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] && sysctl -qw net.bridge.bridge-nf-call-iptables=1
	# The host keeps a neighbour entry per pod it talks to on the bridge;
	# past gc_thresh3 (1024 by default) new ones are dropped ("neighbour
	# table overflow") and pods stop answering. Room for every pod, twice.
	local want=$((2 * max_pods_real)) k
	for k in 1 2 3; do
		local cur; cur=$(sysctl -n "net.ipv4.neigh.default.gc_thresh$k" 2>/dev/null || echo 0)
		[ "$cur" -lt $((want * (1 << (k - 1)))) ] && sysctl -qw "net.ipv4.neigh.default.gc_thresh$k=$((want * (1 << (k - 1))))"
	done
	ip link add "$NODE_BRIDGE" type bridge 2>/dev/null || die "real node: cannot make bridge $NODE_BRIDGE: ip link add failed"
	ip addr add "$NODE_BRIDGE_IP/${NODE_POD_CIDR#*/}" dev "$NODE_BRIDGE"
	ip link set "$NODE_BRIDGE" up
	mkdir -p "$nd/cni/net.d" "$nd/cni/ipam"
	cat >"$nd/cni/net.d/10-spinkube.conflist" <<EOC
{
  "cniVersion": "1.0.0",
  "name": "spinkube-$NODE_NAME",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$NODE_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$nd/cni/ipam",
        "ranges": [[{"subnet": "$NODE_POD_CIDR", "gateway": "$NODE_BRIDGE_IP"}]],
        "routes": [{"dst": "$NODE_POD_CIDR"}, {"dst": "$NODE_SERVICE_CIDR"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOC

	# --- the registry (plain HTTP on loopback, storage in the cluster folder)
	t=$SECONDS
	mkdir -p "$nd/registry"
	cat >"$nd/registry.yml" <<EOR
version: 0.1
log:
  level: info
  formatter: text
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $nd/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$REGISTRY_PORT
EOR
	start registry /usr/bin/docker-registry serve "$nd/registry.yml"
	wait_for registry 30 curl -sf --max-time 2 "http://127.0.0.1:$REGISTRY_PORT/v2/"
	log "registry: ready in $((SECONDS - t))s at 127.0.0.1:$REGISTRY_PORT"

	# --- the pause image, built from hack/images/pause.c and pushed there
	local img=$nd/images
	"$HACK_DIR/images/build" "$img" pause >"$logs/images.log" 2>&1 || { failed_component=images; exit 1; }
	"$HACK_DIR/push-image" --entrypoint /pause --registry "127.0.0.1:$REGISTRY_PORT" \
		"$img/pause" spinkube-c/pause:3.10 >>"$logs/images.log" 2>&1 || { failed_component=images; exit 1; }
	NODE_PAUSE_IMAGE=127.0.0.1:$REGISTRY_PORT/spinkube-c/pause:3.10

	# --- containerd: its own root, state, sockets; the CRI with runc on
	# cgroupfs; pulls from the local registry only.
	t=$SECONDS
	local hosts=$nd/certs.d
	mkdir -p "$hosts/127.0.0.1:$REGISTRY_PORT" "$hosts/_default"
	printf 'server = "http://127.0.0.1:%s"\n\n[host."http://127.0.0.1:%s"]\n  capabilities = ["pull", "resolve", "push"]\n  skip_verify = true\n' \
		"$REGISTRY_PORT" "$REGISTRY_PORT" >"$hosts/127.0.0.1:$REGISTRY_PORT/hosts.toml"
	# Every other registry resolves to the local one too, so that a pull of
	# a name from elsewhere fails here instead of leaving the machine.
	printf 'server = "http://127.0.0.1:%s"\n' "$REGISTRY_PORT" >"$hosts/_default/hosts.toml"
	mkdir -p "$nd/containerd" "$nd/bin" "$nd/shim"
	# --code-cache: the compiled-code cache in a folder that outlives the
	# cluster (hack/cluster-down removes only this link).
	if [ -n "${code_cache:-}" ]; then
		mkdir -p "$code_cache"
		[ -L "$nd/shim/cache" ] || rm -rf "$nd/shim/cache"
		ln -sfn "$(realpath "$code_cache")" "$nd/shim/cache"
	fi
	# Spin apps: the RuntimeClass wasmtime-spin-v2 (handler spin) runs their
	# pods, sandbox included, on our containerd-shim-spin-v2, and the
	# RuntimeClass wasmtime-spin-shared (handler spin-shared) the same pods
	# served by one node runtime process (shared mode: the same program under
	# another name). With --no-shim both are left out, for the node
	# installer to add.
	local spin_runtime=
	if [ -n "$NODE_SHIM" ]; then
		# The shim, copied so that a rebuild leaves the running pods' binary alone.
		install -m 0755 "$NODE_SHIM" "$nd/bin/containerd-shim-spin-v2.new"
		mv -f "$nd/bin/containerd-shim-spin-v2.new" "$nd/bin/containerd-shim-spin-v2"
		ln -sfn containerd-shim-spin-v2 "$nd/bin/containerd-shim-spin-shared-v2"
		spin_runtime="
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.spin]
        runtime_type = \"io.containerd.spin.v2\"
        runtime_path = \"$nd/bin/containerd-shim-spin-v2\"

      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.spin-shared]
        runtime_type = \"io.containerd.spin.v2\"
        runtime_path = \"$nd/bin/containerd-shim-spin-shared-v2\"
"
	fi
	cat >"$nd/containerd.toml" <<EOT
version = 3
root = "$nd/containerd"
state = "$run/containerd"
temp = "$run/tmp"
disabled_plugins = [
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.blockfile",
  "io.containerd.snapshotter.v1.erofs", "io.containerd.nri.v1.nri",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing",
]

[grpc]
  address = "$run/containerd.sock"

[ttrpc]
  address = "$run/containerd.sock.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins]
  [plugins.'io.containerd.shim.v1.manager']
    socket_dir = "$run/s"

  [plugins.'io.containerd.cri.v1.runtime']
    restrict_oom_score_adj = true
    netns_mounts_under_state_dir = true
    enable_selinux = false

    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = "runc"

      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"

        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          BinaryName = "$(runc_bin)"
          Root = "$run/runc"
          SystemdCgroup = false
$spin_runtime
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = ["$(cni_bin_dir)"]
      conf_dir = "$nd/cni/net.d"
      max_conf_num = 1

  [plugins.'io.containerd.cri.v1.images']
    snapshotter = "overlayfs"

    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = "$NODE_PAUSE_IMAGE"

    [plugins.'io.containerd.cri.v1.images'.registry]
      config_path = "$hosts"

  [plugins.'io.containerd.grpc.v1.cri']
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
EOT
	# containerd hands its environment to the shims: SPIN_SHIM_STATE_DIR keeps
	# their compiled-code cache and apps in the cluster's folder (env(1) makes
	# it part of the command line hack/cluster-restart replays). It runs under
	# hack/supervise, which starts it again when it exits on its own: SIGTERM
	# to containerd itself is a restart (the node installer's
	# --restart=signal), SIGTERM to the recorded pid (the supervisor's) stops it.
	start containerd "$HACK_DIR/supervise" env SPIN_SHIM_STATE_DIR="$nd/shim" "$(containerd_bin containerd)" \
		--config "$nd/containerd.toml"
	wait_for containerd 30 "$(containerd_bin ctr)" --address "$run/containerd.sock" version
	log "containerd: ready in $((SECONDS - t))s"

	# --- the kubelet
	t=$SECONDS
	mkdir -p "$nd/pod-logs"
	cat >"$nd/kubelet.yaml" <<EOK
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_BRIDGE_IP
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
tlsCertFile: $pki/kubelet-serving.crt
tlsPrivateKeyFile: $pki/kubelet-serving.key
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: $pki/ca.crt
authorization:
  mode: Webhook
containerRuntimeEndpoint: unix://$run/containerd.sock
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
maxPods: $max_pods_real
podLogsDir: $nd/pod-logs
volumePluginDir: $var/kubelet/volume-plugins
resolvConf: ""
serializeImagePulls: false
registerNode: true
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  imagefs.available: 1%
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
imageMinimumGCAge: 24h
EOK
	start kubelet "$(node_bin kubelet)" --config "$nd/kubelet.yaml" --kubeconfig "$dir/kubelet.kubeconfig" \
		--root-dir "$var/kubelet" --cert-dir "$var/kubelet/pki" --hostname-override "$NODE_NAME" \
		--node-ip "$NODE_BRIDGE_IP" --node-labels "type=real" -v 1
	wait_for kubelet 60 "$KUBECTL" get node "$NODE_NAME"
	wait_for kubelet 60 "$KUBECTL" wait --for=condition=Ready node "$NODE_NAME" --timeout=5s
	log "kubelet: node $NODE_NAME Ready in $((SECONDS - t))s"

	# --- kube-proxy
	t=$SECONDS
	cat >"$nd/kube-proxy.yaml" <<EOP
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $dir/kube-proxy.kubeconfig
hostnameOverride: $NODE_NAME
bindAddress: $NODE_BRIDGE_IP
clusterCIDR: $NODE_POD_CIDR
mode: $proxy_mode
healthzBindAddress: 127.0.0.1:$PROXY_HEALTHZ_PORT
metricsBindAddress: 127.0.0.1:$PROXY_METRICS_PORT
nodePortAddresses: ["$NODE_BRIDGE_IP/32"]
iptables:
  localhostNodePorts: false
  masqueradeAll: false
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
EOP
	start kube-proxy "$(node_bin kube-proxy)" --config "$nd/kube-proxy.yaml"
	wait_for kube-proxy 60 curl -sf --max-time 2 "http://127.0.0.1:$PROXY_HEALTHZ_PORT/healthz"
	log "kube-proxy: ready in $((SECONDS - t))s"
	node_apiserver_route
}

# node_apiserver_route: let pods reach the apiserver, which listens on
# 127.0.0.1 only, at the kubernetes Service (NODE_KUBERNETES_IP:443, what
# KUBERNETES_SERVICE_HOST/PORT say in every pod). The apiserver advertises
# 127.0.0.1, which it does not publish as the Service's endpoint, so
# kube-proxy has no rule for that Service (its no-endpoints REJECT matches
# forwarded packets, and these are delivered locally); instead a nat
# PREROUTING rule sends TCP to NODE_KUBERNETES_IP:443 that comes in on the
# bridge to 127.0.0.1:API_PORT, and route_localnet on the bridge (only)
# lets the kernel route packets from a pod to the loopback address and back
# (kube-proxy's KUBE-FIREWALL lets DNATed ones through). Traffic stays on
# the machine: the rule matches only the bridge, and nothing new listens.
# node_stop deletes the chain with the KUBE-* ones; the sysctl goes with the
# bridge.
# shellcheck disable=SC2154 # cluster-up's variables
node_apiserver_route() {
	sysctl -qw "net.ipv4.conf.$NODE_BRIDGE.route_localnet=1" ||
		die "real node: cannot set net.ipv4.conf.$NODE_BRIDGE.route_localnet=1"
	iptables -w -t nat -N "$NODE_APISERVER_CHAIN" 2>/dev/null || iptables -w -t nat -F "$NODE_APISERVER_CHAIN"
	iptables -w -t nat -A "$NODE_APISERVER_CHAIN" -i "$NODE_BRIDGE" -d "$NODE_KUBERNETES_IP/32" -p tcp --dport 443 \
		-m comment --comment "spinkube-c: pods to the apiserver on 127.0.0.1" \
		-j DNAT --to-destination "127.0.0.1:$API_PORT" ||
		die "real node: cannot add the nat rule that takes pods to the apiserver"
	iptables -w -t nat -C PREROUTING -j "$NODE_APISERVER_CHAIN" 2>/dev/null ||
		iptables -w -t nat -I PREROUTING 1 -j "$NODE_APISERVER_CHAIN" ||
		die "real node: cannot insert the jump to $NODE_APISERVER_CHAIN in nat PREROUTING"
}
