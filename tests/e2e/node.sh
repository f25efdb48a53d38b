#!/usr/bin/env bash
# The real node of a local cluster (hack/cluster-up --real-node): the kubelet
# registers and turns Ready on containerd 2; a static C HTTP server, pushed
# to the cluster's registry, runs as a 3-replica Deployment; its Service
# reaches every replica from the host and from another pod; logs, exec and
# port-forward work; deleted pods free their network namespace and address;
# pods survive restarts of the kubelet and of containerd; a kwok node works
# beside the real one; a second real node is refused; cluster-down
# leaves nothing on the machine; and kube-proxy's nftables mode serves a
# ClusterIP and leaves no table behind.
# Network safety: every request goes to loopback or to an address that
# assert_local_addr (hack/node.sh) has checked to be this cluster's.
set -u
src=${SPINKUBE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$src/tests/lib/tap.sh"
. "$src/hack/lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "1..0 # SKIP the real node needs root (bridge, iptables, cgroups)"; exit 0; }

# A name of the longest length allowed (40): every socket path must still fit.
name=$(printf 'e2e-node-%s-%s' $$ 0123456789012345678901234567890 | cut -c1-40)
other=e2e-node2-$$
dummy=spkt$$
work=$(mktemp -d)
pf_pid=
cleanup() {
	[ -n "$pf_pid" ] && kill "$pf_pid" 2>/dev/null
	ip link del "$dummy" 2>/dev/null
	"$src/hack/cluster-down" --name "$other" >/dev/null 2>&1
	"$src/hack/cluster-down" --name "$name" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

declare -A sysctl_before
for k in "${NODE_SYSCTLS[@]}"; do sysctl_before[$k]=$(sysctl -n "$k" 2>/dev/null); done
# Every sysctl but counters and per-boot values, to compare after cluster-down.
sysctl_all() {
	sysctl -a 2>/dev/null | grep -Ev '^(kernel\.random|kernel\.ns_last_pid|fs\.(dentry|inode|file-nr|quota)|net\.netfilter\.nf_conntrack_count)' | sort
}
sysctl_all >"$work/sysctl.before"

# A route of the machine inside the pod range (on an empty bridge: this
# kernel has no dummy links): cluster-up refuses to start.
ip link add "$dummy" type bridge && ip link set "$dummy" up && ip route add 10.88.77.0/24 dev "$dummy"
"$src/hack/cluster-up" --name "$other" --real-node >/dev/null 2>"$work/overlap.err"
is "$?" 1 "cluster-up --real-node refuses a pod range that overlaps a route of the machine"
ok "in one line naming the range and the route" grep -q "range $NODE_POD_CIDR overlaps the route 10.88.77.0/24 dev $dummy" "$work/overlap.err"
ip link del "$dummy"
"$src/hack/cluster-down" --name "$other" >/dev/null 2>&1

out=$("$src/hack/cluster-up" --name "$name" --real-node --nodes 1 2>"$work/up.err") || {
	sed 's/^/# /' "$work/up.err"
	bail "hack/cluster-up --name $name --real-node failed"
}
is "$(grep -cv '^export ' <<<"$out")" 0 "cluster-up --real-node prints only export lines on stdout"
eval "$out"
dir=$SPINKUBE_CLUSTER_DIR
run=$(node_run_dir "$dir")
node=${SPINKUBE_NODE:-}
reg=${SPINKUBE_REGISTRY:-}
is "$node" "$name-node" "it exports SPINKUBE_NODE, the real node's name"
case $reg in 127.0.0.1:[0-9]*) r=yes ;; *) r=$reg ;; esac
is "$r" yes "it exports SPINKUBE_REGISTRY on 127.0.0.1"
is "$(kubectl get node "$node" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" True "the real node is Ready"
is "$(kubectl get node "$node" -o jsonpath='{.status.nodeInfo.kubeletVersion}')" "$K8S_VERSION" "the kubelet reports its real version"
wide=$(kubectl get node "$node" -o wide --no-headers)
diag "$wide"
ok "get node -o wide shows containerd 2 as the runtime" grep -Eq 'containerd://v?2\.[0-9]+\.[0-9]+' <<<"$wide"
ok "get node -o wide shows the kubelet's version" grep -q " $K8S_VERSION " <<<"$wide"
is "$(kubectl get node "$node" -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')" "$NODE_BRIDGE_IP" \
	"the node's InternalIP is its bridge address"
is "$(ss -Htln "sport = :$(kubectl get node "$node" -o jsonpath='{.status.daemonEndpoints.kubeletEndpoint.Port}')" | awk '{print $4}' | sort -u)" \
	"$NODE_BRIDGE_IP:$(kubectl get node "$node" -o jsonpath='{.status.daemonEndpoints.kubeletEndpoint.Port}')" \
	"the kubelet listens on the bridge address only"
is "$(ss -Htln "sport = :${reg##*:}" | awk '{print $4}' | sort -u)" "$reg" "the registry listens on 127.0.0.1 only"
is "$(kubectl get node -l type=kwok -o jsonpath='{.items[0].spec.taints[0].key}={.items[0].spec.taints[0].value}:{.items[0].spec.taints[0].effect}')" \
	"type=kwok:NoSchedule" "kwok nodes of a real-node cluster carry the taint type=kwok:NoSchedule"
is "$(sysctl -n net.ipv4.ip_forward)" 1 "ip_forward is on while the node runs"

# A second real node on the same machine is refused, and the first is untouched.
"$src/hack/cluster-up" --name "$other" --real-node >/dev/null 2>"$work/other.err"
is "$?" 1 "a second --real-node cluster is refused"
ok "with a message naming the cluster that has the real node" grep -q "cluster $name already has the real node" "$work/other.err"
ok "the first node stays Ready" kubectl wait --for=condition=Ready node "$node" --timeout=10s

# --- the test image, through the cluster's registry --------------------------
"$src/hack/images/build" "$work/images" httpd >/dev/null 2>"$work/build.err" || { sed 's/^/# /' "$work/build.err"; bail "hack/images/build httpd failed"; }
digest=$("$src/hack/push-image" --entrypoint /httpd --port 8080 --registry "$reg" "$work/images/httpd" spinkube-c/httpd:test 2>"$work/push.err" | tail -n1)
ok "hack/push-image pushes the httpd image to the registry and prints its digest" grep -Eq '^sha256:[0-9a-f]{64}$' <<<"$digest"
image=$reg/spinkube-c/httpd:test

cat >"$work/web.yaml" <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      nodeSelector: {type: real}
      enableServiceLinks: false
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 2
      containers:
      - name: httpd
        image: $image
        ports: [{containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /healthz, port: 8080}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: client, labels: {app: client}}
spec:
  nodeSelector: {type: real}
  enableServiceLinks: false
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 2
  containers:
  - name: httpd
    image: $image
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: fake}
spec:
  replicas: 2
  selector: {matchLabels: {app: fake}}
  template:
    metadata: {labels: {app: fake}}
    spec:
      nodeSelector: {type: kwok}
      tolerations: [{key: type, value: kwok, effect: NoSchedule}]
      containers:
      - {name: c, image: registry.invalid/fake:1}
EOF
ok "the Deployment, Service, client pod and kwok Deployment apply" kubectl apply -f "$work/web.yaml"
ok "all 3 replicas become Ready on the real node" kubectl rollout status deployment/web --timeout=120s
ok "the client pod becomes Ready" kubectl wait --for=condition=Ready pod/client --timeout=60s
ok "the kwok Deployment becomes Ready beside it" kubectl wait deployment/fake --for=jsonpath='{.status.readyReplicas}'=2 --timeout=60s
is "$(kubectl get pods -l app=web -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | sort -u)" "$node" "every web pod runs on the real node"
kwok_nodes=$(kubectl get pods -l app=fake -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | sort -u)
is "$kwok_nodes" kwok-node-0 "the kwok pods are bound to the kwok node"
is "$(kubectl get pods -l app=web -o jsonpath='{range .items[*]}{.status.phase}/{.status.conditions[?(@.type=="Ready")].status} {end}')" \
	"Running/True Running/True Running/True " "every web pod is Running and Ready"
ok "containerd pulled the image through the registry (registry log)" \
	grep -Eq '"(HEAD|GET) /v2/spinkube-c/httpd/manifests/test HTTP/[0-9.]+" 200 .*"containerd/' "$dir/logs/registry.log"
ok "containerd has the image in namespace k8s.io" bash -c "'$(containerd_bin ctr)' --address '$run/containerd.sock' -n k8s.io images ls -q | grep -qx '$image'"
ok "the sandbox image is the local pause image" bash -c "'$(containerd_bin ctr)' --address '$run/containerd.sock' -n k8s.io images ls -q | grep -qx '$reg/spinkube-c/pause:3.10'"

pods=$(kubectl get pods -l app=web -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' | sort)
ips=$(kubectl get pods -l app=web -o jsonpath='{range .items[*]}{.status.podIP}{"\n"}{end}')
bad=
for ip in $ips; do assert_local_addr "$ip" 2>>"$work/addr.err" || bad+=" $ip"; done
is "$bad" "" "every pod IP routes through the cluster's bridge $NODE_BRIDGE"
first_ip=$(head -n1 <<<"$ips")
if assert_local_addr "$first_ip"; then
	is "$(curl -s --max-time 5 "http://$first_ip:8080/healthz")" ok "a pod answers on its pod IP from the host"
fi

# --- the Service from the host and from another pod -------------------------
cip=$(kubectl get service web -o jsonpath='{.spec.clusterIP}')
ok "kube-proxy installs the ClusterIP's DNAT rule" retry 30 assert_local_addr "$cip"
# served_by N CMD...: the sorted set of host names N requests through CMD saw.
served_by() {
	local n=$1 i; shift
	for ((i = 0; i < n; i++)); do "$@" 2>/dev/null; done | sort -u
}
if assert_local_addr "$cip"; then
	seen=$(served_by 40 curl -s --max-time 3 "http://$cip/")
	is "$seen" "$pods" "40 requests from the host to the ClusterIP reach every replica"
	client_cid=$(kubectl get pod client -o jsonpath='{.status.containerStatuses[0].containerID}')
	client_pid=$("$(containerd_bin ctr)" --address "$run/containerd.sock" -n k8s.io tasks ls 2>/dev/null | awk -v id="${client_cid#containerd://}" '$1 == id {print $2}')
	if [ -n "$client_pid" ]; then
		seen=$(served_by 40 nsenter -t "$client_pid" -n curl -s --max-time 3 "http://$cip/")
		is "$seen" "$pods" "40 requests from the client pod's network namespace to the ClusterIP reach every replica"
	else
		ok "the client pod's process is found through ctr" false
	fi
fi

# --- logs, exec, port-forward through the apiserver and the kubelet ---------
pod1=$(head -n1 <<<"$pods")
ok "kubectl logs shows the server's request lines" bash -c "kubectl logs '$pod1' | grep -q 'GET /'"
ok "kubectl exec runs a command in the container" bash -c "kubectl exec '$pod1' -- /httpd --help | grep -q '^usage: httpd'"
kubectl port-forward "pod/$pod1" 0:8080 >"$work/pf.out" 2>&1 &
pf_pid=$!
ok "kubectl port-forward starts" retry 20 grep -q '^Forwarding from 127.0.0.1:' "$work/pf.out"
pf_port=$(sed -n 's/^Forwarding from 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$work/pf.out" | head -n1)
is "$(curl -s --max-time 5 "http://127.0.0.1:${pf_port:-1}/")" "$pod1" "a request through port-forward reaches that pod"
kill "$pf_pid" 2>/dev/null; wait "$pf_pid" 2>/dev/null; pf_pid=

# --- restarts: pods keep running and keep being served -----------------------
starts() { kubectl get pods -l app=web -o jsonpath='{range .items[*]}{.metadata.name}={.status.containerStatuses[0].restartCount}/{.status.containerStatuses[0].state.running.startedAt}{"\n"}{end}' | sort; }
before=$(starts)
for comp in kubelet containerd; do
	ok "the $comp restarts" "$src/hack/cluster-restart" --name "$name" "$comp"
	ok "the node is Ready after the $comp restart" retry 60 kubectl wait --for=condition=Ready node "$node" --timeout=2s
	if assert_local_addr "$cip"; then
		is "$(served_by 30 curl -s --max-time 3 "http://$cip/")" "$pods" "after the $comp restart every replica still answers"
	fi
	ok "after the $comp restart all 3 replicas are still Ready" kubectl wait deployment/web --for=jsonpath='{.status.readyReplicas}'=3 --timeout=60s
	is "$(starts)" "$before" "after the $comp restart no container was restarted"
done

# --- deleting pods frees their network namespaces and addresses --------------
netns=$run/containerd/io.containerd.grpc.v1.cri/netns
netns_count() { find "$netns" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l | tr -d ' '; }
ipam_count() { find "$dir/node/cni/ipam" -type f -name '10.*' 2>/dev/null | wc -l | tr -d ' '; }
is "$(netns_count)" 4 "four pods hold four network namespaces"
is "$(ipam_count)" 4 "four pods hold four addresses"
ok "the Deployment and the client pod are deleted" kubectl delete deployment/web pod/client --wait=true --timeout=60s
ok "their pods are gone" retry 60 bash -c "[ -z \"\$(kubectl get pods -l 'app in (web,client)' -o name)\" ]"
ok "their network namespaces are freed" retry 30 bash -c "[ \"\$(find '$netns' -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)\" -eq 0 ]"
is "$(ipam_count)" 0 "their addresses are freed"
is "$(ip -o link show master "$NODE_BRIDGE" | wc -l | tr -d ' ')" 0 "their veths are gone"

# --- cluster-down leaves nothing, with pods running -------------------------
sed -e '/^---$/,$d' -e 's/name: web}/name: last}/' -e 's/app: web}/app: last}/g' -e 's/replicas: 3/replicas: 2/' "$work/web.yaml" >"$work/last.yaml"
ok "a new 2-replica Deployment runs for cluster-down to meet" bash -c "kubectl apply -f '$work/last.yaml' >/dev/null &&
	kubectl rollout status deployment/last --timeout=60s"
is "$(netns_count)" 2 "its two pods hold two network namespaces"
ok "cluster-down succeeds" "$src/hack/cluster-down" --name "$name"
is "$(pgrep -f -- "$dir/" | wc -l | tr -d ' ')" 0 "no process names the cluster folder"
is "$(pgrep -f -- "$run/" | wc -l | tr -d ' ')" 0 "no shim or other process names the node's run folder"
is "$(pgrep -fc '(^|/)containerd-shim-runc-v2 ' || true)" 0 "no containerd-shim-runc-v2 is left"
is "$(findmnt -rn -o TARGET | grep -c -e "^$dir" -e "^$run" -e "^$(node_var_dir "$dir")" || true)" 0 "no mount is left (volumes, snapshots, netns, shm)"
is "$(findmnt -rn -o FSTYPE,TARGET | grep -c '^nsfs' || true)" 0 "no network namespace mount is left"
is "$(ip -o link show type veth | wc -l | tr -d ' ')" 0 "no veth is left"
ok "the bridge $NODE_BRIDGE is gone" bash -c "! ip link show $NODE_BRIDGE >/dev/null 2>&1"
is "$({ iptables-save; ip6tables-save; } 2>/dev/null | grep -cE '(KUBE|CNI)-' || true)" 0 "no KUBE-* or CNI-* iptables chain or rule is left"
is "$(find /sys/fs/cgroup/*/ -maxdepth 1 -name kubepods 2>/dev/null | wc -l | tr -d ' ')" 0 "no kubepods cgroup is left in any hierarchy"
is "$(find "$run" -type s 2>/dev/null | wc -l | tr -d ' ')" 0 "no socket is left"
ok "the node's run folder is gone" test ! -e "$run"
ok "the kubelet's root folder is gone" test ! -e "$(node_var_dir "$dir")"
ok "the cluster folder is gone" test ! -e "$dir"
changed=
for k in "${NODE_SYSCTLS[@]}"; do
	[ "$(sysctl -n "$k" 2>/dev/null)" = "${sysctl_before[$k]}" ] || changed+=" $k"
done
is "$changed" "" "the sysctls the node changed are restored"
sysctl_all >"$work/sysctl.after"
ok "no sysctl differs from before the cluster" diff "$work/sysctl.before" "$work/sysctl.after"
ok "the lock is released: a real-node cluster can start again later" test ! -e "$NODE_LOCK"

# --- kube-proxy in nftables mode ----------------------------------------------
if out=$("$src/hack/cluster-up" --name "$other" --real-node --nodes 0 --proxy-mode nftables 2>"$work/nft.err"); then
	ok "cluster-up --real-node --proxy-mode nftables starts" true
	eval "$out"
	"$src/hack/push-image" --entrypoint /httpd --port 8080 --registry "$SPINKUBE_REGISTRY" "$work/images/httpd" \
		spinkube-c/httpd:test >/dev/null 2>"$work/push.err"
	sed -e '/^---$/,$d' -e 's/name: web}/name: nft}/' -e 's/app: web}/app: nft}/g' -e 's/replicas: 3/replicas: 1/' \
		-e "s#image: .*#image: $SPINKUBE_REGISTRY/spinkube-c/httpd:test#" "$work/web.yaml" >"$work/nft.yaml"
	ok "a Deployment becomes Ready under nftables kube-proxy" bash -c "kubectl apply -f '$work/nft.yaml' >/dev/null &&
		kubectl rollout status deployment/nft --timeout=90s"
	kubectl expose deployment nft --port 80 --target-port 8080 >/dev/null
	ncip=$(kubectl get service nft -o jsonpath='{.spec.clusterIP}')
	ok "kube-proxy puts the ClusterIP in its nftables service-ips map" retry 30 assert_local_addr "$ncip"
	ok "and no iptables KUBE-SERVICES rule for it" bash -c "! iptables -t nat -S KUBE-SERVICES 2>/dev/null | grep -q -- '-d $ncip/32'"
	if assert_local_addr "$ncip" 2>/dev/null; then
		ok "the ClusterIP answers from the host" retry 20 curl -sf --max-time 2 "http://$ncip/healthz"
	else
		skip "the ClusterIP answers from the host" "its DNAT rule never appeared"
	fi
	ok "cluster-down succeeds" "$src/hack/cluster-down" --name "$other"
	is "$(nft list tables 2>/dev/null | grep -c ' kube-proxy$' || true)" 0 "no kube-proxy nftables table is left"
	is "$({ iptables-save; ip6tables-save; } 2>/dev/null | grep -cE '(KUBE|CNI)-' || true)" 0 "no KUBE-* or CNI-* iptables chain or rule is left"
else
	sed 's/^/# /' "$work/nft.err"
	ok "cluster-up --real-node --proxy-mode nftables starts" false
fi
tap_done
