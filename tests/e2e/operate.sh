#!/usr/bin/env bash
# spin-controller as the chart runs it, on the real node (hack/cluster-up
# --real-node), one cluster for the whole script: hack/images/build --push
# builds the controller's image (labels, user, entrypoint, no shell) into the
# cluster's registry; helm install runs it with two replicas under runc with
# the chart's securityContext (uid 65532, no capabilities, seccomp, no new
# privileges, a read-only root); both pods Ready, one holding the Lease, both
# on the in-cluster config (the kubernetes Service, which hack/node.sh takes
# to the apiserver on 127.0.0.1). Metrics from the pod and from the metrics
# Service: 200 with the series for a token bound to <release>-metrics-reader,
# 401 without a token, 403 for one without the role. A SpinApp served end to
# end through its Service, reconciled by the controller in the pod; helm
# upgrade rolls the controller (its new flag in its metrics) with the app
# still served; the leader killed (delete --grace-period=0 --force): the
# other takes the Lease and the app still converges; helm uninstall after
# the apps and executors are gone leaves nothing of the chart but the CRDs
# (and the Lease, which the controller made).
# Network safety: every request goes to loopback or to an address that
# assert_local_addr (hack/node.sh) has checked to be this cluster's.
set -u
src=${SPINKUBE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SPINKUBE_BUILD_DIR:-$src/build}
. "$src/tests/lib/tap.sh"
. "$src/hack/lib.sh"
. "$src/tests/lib/e2e.sh"

[ "$(id -u)" -eq 0 ] || { echo "1..0 # SKIP the real node needs root (bridge, iptables, cgroups)"; exit 0; }
shim=$build/shim-bridge/shim/containerd-shim-spin-v2
name=e2e-operate-$$
work=$(mktemp -d)
. "$src/tests/lib/spinapps.sh"
[ -x "$shim" ] && [ -x "$sk" ] && [ -x "$build/controller/spin-controller" ] ||
	bail "missing $shim, $sk or $build/controller/spin-controller: run ninja -C $build"
cleanup() {
	"$src/hack/cluster-down" --name "$name" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

guests_build
cluster_up "$name" --real-node --nodes 0 --shim "$shim"
reg=$SPINKUBE_REGISTRY
ns=spinkube-system
release=spinkube
chart=$src/charts/spinkube-c
lease=spin-controller.spinkube.dev

# --- the image ------------------------------------------------------------------
ref=$("$src/hack/images/build" --build-dir "$build" --push "$reg" "$work/images" spin-controller 2>"$work/image.log")
ok "hack/images/build --push builds and pushes spin-controller, printing REPO@DIGEST" \
	grep -Eqx "$reg/spinkube-c/spin-controller@sha256:[0-9a-f]{64}" <<<"$ref"
[ -n "$ref" ] || { sed 's/^/# /' "$work/image.log"; bail "no controller image"; }
repo=${ref%@*} digest=${ref#*@}
is "$("$src/hack/images/build" --build-dir "$build" --push "$reg" "$work/images" spin-controller 2>/dev/null)" "$ref" \
	"building and pushing it again gives the same digest (reproducible)"
reg_get() { curl -s --noproxy '*' --max-time 10 "http://$reg/v2/spinkube-c/spin-controller/$1" "${@:2}"; }
manifest=$(reg_get "manifests/$digest" -H 'Accept: application/vnd.oci.image.manifest.v1+json')
config=$(reg_get "blobs/$(jq -r .config.digest <<<"$manifest")")
is "$(jq -c '[.config.Entrypoint, .config.User]' <<<"$config")" '[["/spin-controller"],"65532:65532"]' \
	"its config: entrypoint /spin-controller, user 65532:65532"
is "$(jq -r '.config.Labels | keys | join(" ")' <<<"$config")" \
	"org.opencontainers.image.created org.opencontainers.image.description org.opencontainers.image.licenses org.opencontainers.image.revision org.opencontainers.image.source org.opencontainers.image.title org.opencontainers.image.version" \
	"its OCI labels: created, description, licenses, revision, source, title, version"
is "$(jq -r '.config.Labels["org.opencontainers.image.revision"]' <<<"$config" | cut -c1-40)" \
	"$(git -C "$src" rev-parse HEAD 2>/dev/null || echo unknown)" "the revision label is the source's commit"
reg_get "blobs/$(jq -r '.layers[0].digest' <<<"$manifest")" -o "$work/layer.tgz"
tar -tzf "$work/layer.tgz" >"$work/layer.list"
ok "the layer holds the controller, the loader, OpenSSL and the CA bundle" bash -c \
	"grep -qx spin-controller '$work/layer.list' && grep -qx lib64/ld-linux-x86-64.so.2 '$work/layer.list' && grep -q '^lib/.*/libssl.so.3\$' '$work/layer.list' && grep -qx etc/ssl/certs/ca-certificates.crt '$work/layer.list'"
if [ -f "$CURL_DIR/lib/libcurl.a" ]; then
	ok "with the static HTTP-only libcurl: no libcurl, GnuTLS, Kerberos, LDAP or libssh2 in it" bash -c \
		"! grep -Eq '/lib(curl|gnutls|krb5|gssapi_krb5|ldap|ssh2|rtmp)[.-]' '$work/layer.list'"
fi
ok "no shell, no package manager, no passwd file in it" bash -c \
	"! grep -Eq '(^|/)(sh|bash|dash|busybox|apt|apt-get|dpkg|passwd)\$' '$work/layer.list'"
diag "image: $(jq '[.layers[].size] | add' <<<"$manifest") bytes compressed, $(wc -l <"$work/layer.list") entries"
# closure_missing ROOT: the sonames an ELF file in ROOT needs that ROOT lacks.
closure_missing() {
	local f n
	find "$1" -type f \( -name '*.so*' -o -name spin-controller \) | while read -r f; do
		for n in $(readelf -dW "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'); do
			[ -e "$1/lib/x86_64-linux-gnu/$n" ] || [ -e "$1/lib64/$n" ] || echo "$n"
		done
	done | sort -u
}
is "$(closure_missing "$work/images/spin-controller")" "" "every library any file of the image needs is in it"
ok "the controller runs from the image's root alone, as 65532 (chroot, --help)" \
	bash -c "env -i /usr/sbin/chroot --userspec=65532:65532 '$work/images/spin-controller' /spin-controller --help | grep -q '^Usage: spin-controller'"

# --- helm install -------------------------------------------------------------------
ok "helm install with the image from the cluster's registry (by digest)" \
	helm install "$release" "$chart" -n $ns --create-namespace --set "image.repository=$repo" \
	--set "image.digest=$digest" --wait --timeout 90s
ok "the Deployment rolls out" kubectl -n $ns rollout status deploy/spin-controller --timeout=60s
if [ "$(kubectl -n $ns get deploy spin-controller -o jsonpath='{.status.readyReplicas}')" != 2 ]; then
	kubectl -n $ns get pods -o wide 2>&1 | sed 's/^/# /'
	kubectl -n $ns logs -l app.kubernetes.io/name=spin-controller --tail=5 2>&1 | sed 's/^/# /'
	bail "the controller pods are not Ready: nothing below can pass"
fi
sel=app.kubernetes.io/name=spin-controller
# ctl_pods: the controller pods that run and are not being deleted.
ctl_pods() { kubectl -n $ns get pods -l $sel -o json | jq -r '.items[] | select(.status.phase == "Running" and .metadata.deletionTimestamp == null) | .metadata.name'; }
is "$(kubectl -n $ns get deploy spin-controller -o jsonpath='{.status.readyReplicas}')" 2 "two controller pods Ready (their /readyz probe)"
is "$(kubectl -n $ns get pods -l $sel -o jsonpath='{range .items[*]}{.status.phase}/{.status.containerStatuses[0].ready}/{.spec.nodeName} {end}')" \
	"Running/true/$SPINKUBE_NODE Running/true/$SPINKUBE_NODE " "both Running and ready on the real node"
ok "both run the pushed image" bash -c \
	"[ \$(kubectl -n $ns get pods -l $sel -o jsonpath='{range .items[*]}{.status.containerStatuses[0].imageID}{\"\\n\"}{end}' | grep -c '@$digest\$') -eq 2 ]"
# holder: the pod that holds the Lease (its identity is POD_random).
holder() { local h; h=$(kubectl -n $ns get lease $lease -o jsonpath='{.spec.holderIdentity}' 2>/dev/null) && printf '%s' "${h%_*}"; }
leader=$(holder)
ok "one of them holds the Lease ($leader)" grep -qx -- "$leader" <<<"$(ctl_pods)"
ok "the leader runs on the in-cluster config, through the kubernetes Service" bash -c \
	"kubectl -n $ns logs $leader | grep -q 'msg=\"connected\" server=\"https://$NODE_KUBERNETES_IP:443\" .* config=in-cluster'"
ok "and synced its caches" retry 20 bash -c "kubectl -n $ns logs $leader | grep -q 'msg=\"synced\"'"
standby=$(ctl_pods | grep -vx -- "$leader" | head -n 1)
ok "the other stands by" bash -c "kubectl -n $ns logs $standby | grep -q 'msg=\"leader election: starting\"' && ! kubectl -n $ns logs $standby | grep -q 'msg=\"watching\"'"

# The container processes, found by their pods' cgroups.
# proc_of POD: the pid of the controller in POD.
proc_of() {
	local uid p
	uid=$(kubectl -n $ns get pod "$1" -o jsonpath='{.metadata.uid}') || return 1
	for p in $(pgrep -x spin-controller); do
		grep -q "pod${uid}\|pod${uid//-/_}" "/proc/$p/cgroup" 2>/dev/null && { echo "$p"; return 0; }
	done
	return 1
}
p=$(proc_of "$leader")
ok "the leader's process is in its pod's cgroup" [ -n "$p" ]
st() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$p/status"; }
is "$(st Uid)/$(st Gid)/$(st CapEff)/$(st CapBnd)/$(st NoNewPrivs)/$(st Seccomp)" \
	"65532/65532/0000000000000000/0000000000000000/1/2" \
	"it runs as 65532:65532 with no capabilities, no new privileges, seccomp filtering"
is "$(awk '$5 == "/" {split($6, o, ","); print o[1]}' "/proc/$p/mountinfo")" ro "its root file system is read-only"

# --- metrics ------------------------------------------------------------------------
kubectl -n $ns create serviceaccount e2e-scraper >/dev/null
kubectl -n $ns create serviceaccount e2e-nobody >/dev/null
kubectl create clusterrolebinding e2e-scraper --clusterrole=$release-metrics-reader --serviceaccount=$ns:e2e-scraper >/dev/null
allowed=$(kubectl -n $ns create token e2e-scraper) denied=$(kubectl -n $ns create token e2e-nobody)
# scrape IP [CURL-ARGS...]: GET https://IP:8443/metrics after checking IP.
scrape() { assert_local_addr "$1" && curl -sk --noproxy '*' --max-time 10 "${@:2}" "https://$1:8443/metrics"; }
status() { scrape "$1" -o /dev/null -w '%{http_code}' "${@:2}"; }
pod_ip() { kubectl -n $ns get pod "$1" -o jsonpath='{.status.podIP}'; }
lip=$(pod_ip "$leader")
ok "the leader's pod address is behind our bridge" assert_local_addr "$lip"
is "$(status "$lip" -H "Authorization: Bearer $allowed")" 200 "the leader's metrics: 200 for a token bound to $release-metrics-reader"
ok "with controller_runtime_reconcile_total" bash -c \
	"grep -q '^controller_runtime_reconcile_total{controller=\"spinapp\"' <<<\"\$(curl -sk --noproxy '*' --max-time 10 -H 'Authorization: Bearer $allowed' https://$lip:8443/metrics)\""
msvc=$(kubectl -n $ns get svc spin-controller-metrics -o jsonpath='{.spec.clusterIP}')
ok "the metrics Service has a local DNAT rule" retry 30 assert_local_addr "$msvc"
is "$(status "$msvc")" 401 "through the metrics Service: no token, 401"
is "$(status "$msvc" -H "Authorization: Bearer $denied")" 403 "a token without the role, 403"
is "$(status "$msvc" -H "Authorization: Bearer $allowed")" 200 "a token with it, 200"
# metric POD SERIES: the value of SERIES on POD's page.
metric() { scrape "$(pod_ip "$1")" -H "Authorization: Bearer $allowed" | awk -v s="$2" '$1 == s {print $2; exit}'; }

# --- a SpinApp, reconciled by the controller in the pod ---------------------------
ok "spinkube push: the WAGI app" push "$GUESTS/wagi" e2e/wagi:v1
spinapp wagi e2e/wagi:v1
ok "the SpinApp is Ready" ready wagi
is "$(get wagi /hello)" "hello from wagi" "it answers through its Service"
reconciled() { [ "$(metric "$leader" 'controller_runtime_reconcile_total{controller="spinapp",result="success"}')" -ge 1 ]; }
ok "the leader in its pod reconciled it (its reconcile count)" retry 10 reconciled

# --- helm upgrade: a new flag, the controller rolls ----------------------------------
before=$(ctl_pods | sort | tr '\n' ' ')
ok "helm upgrade with another value (controller.concurrentReconciles=8)" \
	helm upgrade "$release" "$chart" -n $ns --reuse-values --set controller.concurrentReconciles=8 --wait --timeout 2m
ok "the Deployment rolls out again" kubectl -n $ns rollout status deploy/spin-controller --timeout=90s
new_pods() { local p; for p in $(ctl_pods); do [[ " $before " == *" $p "* ]] && return 1; done; [ "$(ctl_pods | wc -l)" -eq 2 ]; }
ok "two new pods replaced the old ones" retry 60 new_pods
new_leader() { local h; h=$(holder) && [ -n "$h" ] && grep -qx -- "$h" <<<"$(ctl_pods)"; }
ok "a new pod holds the Lease" retry 30 new_leader
leader=$(holder)
is "$(metric "$leader" 'controller_runtime_max_concurrent_reconciles{controller="spinapp"}')" 8 \
	"the new leader runs with --concurrent-reconciles=8 (its metrics)"
is "$(get wagi /hello)" "hello from wagi" "the app is still served"

# --- the leader killed ------------------------------------------------------------
kubectl -n $ns delete pod "$leader" --grace-period=0 --force >/dev/null 2>&1
ok "the leader is gone at once" retry 20 bash -c "! kubectl -n $ns get pod $leader >/dev/null 2>&1"
other_leader() { local h; h=$(holder) && [ -n "$h" ] && [ "$h" != "$leader" ] && grep -qx -- "$h" <<<"$(ctl_pods)"; }
# The killed leader did not release the Lease: the other waits out its 15 s.
ok "another pod takes the Lease" retry 60 other_leader
diag "new leader: $(holder)"
kubectl patch spinapp wagi --type merge -p '{"spec":{"replicas":2}}' >/dev/null
ok "the app still converges: scaled to 2 replicas, both Ready" \
	retry 90 bash -c "[ \"\$(kubectl get deploy wagi -o jsonpath='{.status.readyReplicas}')\" = 2 ]"
is "$(get wagi /hello)" "hello from wagi" "and served"
ok "the SpinApp's status follows (readyReplicas 2)" \
	retry 30 bash -c "[ \"\$(kubectl get spinapp wagi -o jsonpath='{.status.readyReplicas}')\" = 2 ]"

# --- helm uninstall ---------------------------------------------------------------------
# Apps first, then the executor, whose finalizer the running controller
# releases once no app uses it; then the chart.
ok "the SpinApp deletes" kubectl delete spinapp wagi --timeout=60s
kubectl -n default delete spinappexecutor containerd-shim-spin --wait=false >/dev/null
ok "the controller releases the chart's executor" retry 30 bash -c "! kubectl -n default get spinappexecutor containerd-shim-spin >/dev/null 2>&1"
kubectl delete clusterrolebinding e2e-scraper >/dev/null
kubectl -n $ns delete serviceaccount e2e-scraper e2e-nobody >/dev/null
ok "helm uninstall" helm uninstall "$release" -n $ns --wait --timeout 2m
ok "the controller pods are gone" retry 60 bash -c "[ -z \"\$(kubectl -n $ns get pods -o name)\" ]"
# What the chart made: Deployment, ServiceAccount, Role and RoleBinding
# (leader), the metrics Service in the namespace; ClusterRoles (controller,
# metrics reader), ClusterRoleBinding, RuntimeClass, the default executor.
kinds=$(kubectl api-resources --namespaced=true --verbs=list -o name | grep -Evx 'events|events.events.k8s.io' | paste -sd, -)
left=$(kubectl -n $ns get "$kinds" -o name 2>/dev/null | grep -Evx 'serviceaccount/default|configmap/kube-root-ca.crt' | sort | tr '\n' ' ')
is "$left" "lease.coordination.k8s.io/$lease " "in the namespace only the controller's Lease is left (and what Kubernetes puts in every namespace)"
diag "the Lease's holder after uninstall: '$(kubectl -n $ns get lease $lease -o jsonpath='{.spec.holderIdentity}')'"
is "$(kubectl get clusterroles,clusterrolebindings,runtimeclasses -l app.kubernetes.io/instance=$release -o name | tr '\n' ' ')" "" \
	"no ClusterRole, ClusterRoleBinding or RuntimeClass of the release"
is "$(kubectl get spinappexecutors,spinapps -A -o name | tr '\n' ' ')" "" "no executor or SpinApp"
ok "the CRDs stay" kubectl get crd spinapps.core.spinkube.dev spinappexecutors.core.spinkube.dev
tap_done
