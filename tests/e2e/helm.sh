#!/usr/bin/env bash
# The Helm chart on a real cluster: it lints, installs (CRDs, RBAC,
# RuntimeClass, default executor, the controller's Deployment, Ready on a
# kwok node), and its RBAC is enough for spin-controller and no more: the
# controller, run with the chart's service-account token, reconciles an app
# end to end, while the account cannot do what the controller never does.
# Upgrades change the controller's flags; uninstall with an app and the
# chart's executor present runs the pre-delete hook that releases the
# executor, and leaves nothing of the release but the CRDs. The node
# installer's label handshake (install, request-uninstall) on a kwok node.
set -u
src=${SPINKUBE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SPINKUBE_BUILD_DIR:-$src/build}
. "$src/tests/lib/tap.sh"
. "$src/hack/lib.sh"

name=e2e-helm-$$
logf=$(mktemp)
ctl_pid=
trap '[ -n "$ctl_pid" ] && kill $ctl_pid 2>/dev/null; "$src/hack/cluster-down" --name $name >/dev/null 2>&1; rm -f $logf' EXIT
out=$("$src/hack/cluster-up" --name "$name" 2>/dev/null) || bail "hack/cluster-up failed"
eval "$out"
chart=$src/charts/spinkube-c
ns=spinkube-system

ok "helm lint passes" helm lint "$chart"
ok "helm install succeeds and waits for the controller" \
	helm install spinkube "$chart" -n $ns --create-namespace --wait --timeout 3m
ok "the CRDs came with it" kubectl get crd spinapps.core.spinkube.dev spinappexecutors.core.spinkube.dev
is "$(kubectl get runtimeclass wasmtime-spin-v2 -o jsonpath='{.handler}')" spin "the RuntimeClass wasmtime-spin-v2 with handler spin"
is "$(kubectl -n default get spinappexecutor containerd-shim-spin -o jsonpath='{.spec.deploymentConfig.runtimeClassName}')" \
	wasmtime-spin-v2 "the default executor in namespace default"
is "$(kubectl get runtimeclass wasmtime-spin-shared -o jsonpath='{.handler}')" spin-shared "the RuntimeClass wasmtime-spin-shared with handler spin-shared"
is "$(kubectl -n default get spinappexecutor containerd-shim-spin-shared -o jsonpath='{.spec.deploymentConfig.runtimeClassName}')" \
	wasmtime-spin-shared "the shared-mode executor in namespace default"
is "$(kubectl -n $ns get deployment spin-controller -o jsonpath='{.status.readyReplicas}')" 2 "the controller's Deployment is Ready (two replicas)"
ok "... both with --leader-elect and the pod's namespace" bash -c "kubectl -n $ns get deployment spin-controller -o jsonpath='{.spec.template.spec.containers[0].args} {.spec.template.spec.containers[0].env}' | grep -q -- '--leader-elect\".*POD_NAMESPACE'"
is "$(kubectl -n $ns get deployment spin-controller -o jsonpath='{.spec.template.spec.securityContext.runAsNonRoot}')" true \
	"the controller runs as non-root"

sa=system:serviceaccount:$ns:spin-controller
for what in "patch spinapps.core.spinkube.dev/status" "watch spinappexecutors.core.spinkube.dev" "patch deployments.apps" \
	"delete secrets" "watch replicasets.apps" "list configmaps" "create events"; do
	is "$(kubectl auth can-i $what --as $sa)" yes "the chart's account may $what"
done
is "$(kubectl auth can-i create leases.coordination.k8s.io -n $ns --as $sa),$(kubectl auth can-i update leases.coordination.k8s.io/spin-controller.spinkube.dev -n $ns --as $sa),$(kubectl auth can-i update leases.coordination.k8s.io/other -n $ns --as $sa),$(kubectl auth can-i create leases.coordination.k8s.io -n default --as $sa)" \
	"yes,yes,no,no" "the chart's account may create and update its own Lease, in its namespace only"
for what in "delete spinapps.core.spinkube.dev" "create spinapps.core.spinkube.dev" "update configmaps" "list nodes" \
	"create pods" "delete namespaces"; do
	is "$(kubectl auth can-i $what --as $sa 2>/dev/null)" no "the chart's account may not $what"
done

# Metrics and probes: named ports, probes on them, a Service, RBAC for the
# reviews and a role for scrapers; a ServiceMonitor only when asked for.
c0='{.spec.template.spec.containers[0]'
is "$(kubectl -n $ns get deployment spin-controller -o jsonpath="$c0.ports[*].name} $c0.ports[*].containerPort} $c0.livenessProbe.httpGet.path} $c0.readinessProbe.httpGet.path} $c0.readinessProbe.httpGet.port}")" \
	"metrics health 8443 8082 /healthz /readyz health" "the container's ports metrics (8443) and health (8082), probes on /healthz and /readyz"
ok "... with --metrics-bind-address=:8443 and --health-probe-bind-address=:8082" bash -c \
	"kubectl -n $ns get deployment spin-controller -o jsonpath='$c0.args}' | grep -q -- '--metrics-bind-address=:8443\".*--metrics-secure=true\".*--health-probe-bind-address=:8082'"
is "$(kubectl -n $ns get service spin-controller-metrics -o jsonpath='{.spec.ports[0].name} {.spec.ports[0].port} {.spec.ports[0].targetPort}')" \
	"https 8443 metrics" "a metrics Service, port https 8443 to the container's metrics port"
is "$(kubectl auth can-i create tokenreviews.authentication.k8s.io --as $sa),$(kubectl auth can-i create subjectaccessreviews.authorization.k8s.io --as $sa),$(kubectl auth can-i get tokenreviews.authentication.k8s.io --as $sa 2>/dev/null)" \
	"yes,yes,no" "the account may create TokenReviews and SubjectAccessReviews, nothing more on them"
is "$(kubectl get clusterrole spinkube-metrics-reader -o jsonpath='{.rules[0].nonResourceURLs[0]} {.rules[0].verbs[0]}')" "/metrics get" \
	"a metrics-reader ClusterRole: get /metrics"
is "$(kubectl auth can-i get /metrics --as $sa)" no "the controller's own account may not read /metrics"
is "$(helm template spinkube "$chart" -n $ns --set image.repository=r.example/c --set image.digest=sha256:0123 2>/dev/null | sed -n 's/^ *image: //p' | sort -u)" \
	'"r.example/c@sha256:0123"' "image.digest pulls the image by digest (the tag is not used), the uninstall hook's too"
is "$(helm template spinkube "$chart" -n $ns --set image.repository=r.example/c 2>/dev/null | sed -n 's/^ *image: //p' | sort -u)" \
	'"r.example/c:0.1.0"' "without it, by tag (default: the chart's appVersion)"
ok "no uninstall hook when the chart makes no executor" bash -c \
	"! helm template spinkube '$chart' -n $ns --set defaultExecutor.create=false | grep -q release-executors"
ok "no ServiceMonitor by default" bash -c "! helm template spinkube '$chart' -n $ns | grep -q '^kind: ServiceMonitor'"
ok "metrics.serviceMonitor.enabled renders one scraping https with the scraper's token" bash -c \
	"helm template spinkube '$chart' -n $ns --set metrics.serviceMonitor.enabled=true | grep -A20 '^kind: ServiceMonitor' | grep -q 'scheme: https' "
ok "metrics.secure=false: no review rights, plain http" bash -c \
	"t=\$(helm template spinkube '$chart' -n $ns --set metrics.secure=false); ! grep -q tokenreviews <<<\"\$t\" && grep -q -- '--metrics-secure=false' <<<\"\$t\" && grep -q 'name: http\$' <<<\"\$t\""

# The node installer (tests/e2e/node-installer.sh runs it on the real node):
# nothing by default; when enabled a privileged DaemonSet on the host's PID
# namespace, its pre-delete hook, and the RuntimeClass selecting the label.
ok "no node installer by default" bash -c "! helm template spinkube '$chart' -n $ns | grep -q node-installer"
ni=$(helm template spinkube "$chart" -n $ns --set nodeInstaller.enabled=true --set runtimeClass.nodeSelector.pool=wasm 2>/dev/null)
ok "nodeInstaller.enabled: a DaemonSet, privileged, hostPID, the host's / at /host" bash -c \
	"grep -A60 '^kind: DaemonSet' <<<\"\$0\" | grep -q 'hostPID: true' && grep -A80 '^kind: DaemonSet' <<<\"\$0\" | grep -q 'privileged: true' && grep -q 'mountPath: /host' <<<\"\$0\"" "$ni"
ok "... a pre-delete hook Job running request-uninstall" bash -c \
	"grep -B2 -A30 '^kind: Job' <<<\"\$0\" | grep -q 'helm.sh/hook: pre-delete' && grep -q -- '- request-uninstall' <<<\"\$0\"" "$ni"
ok "... and the RuntimeClass selects installed nodes besides its own selector" bash -c \
	"grep -A14 '^kind: RuntimeClass' <<<\"\$0\" | grep -q 'spinkube.dev/containerd-shim-spin: installed' && grep -A14 '^kind: RuntimeClass' <<<\"\$0\" | grep -q 'pool: wasm'" "$ni"
is "$(helm template spinkube "$chart" -n $ns -s templates/defaults.yaml --set nodeInstaller.enabled=true --set runtimeClass.nodeSelector.pool=wasm 2>/dev/null |
	awk '/^kind: RuntimeClass/ { rc = 1 } /^---/ { rc = 0 } rc && /spinkube.dev\/containerd-shim-spin: installed|pool: wasm/ { n++ } END { print n + 0 }')" 4 \
	"... both RuntimeClasses (wasmtime-spin-v2 and wasmtime-spin-shared) select them"
ok "sharedRuntimeClass.create=false: no shared RuntimeClass and no shared executor" bash -c \
	"! helm template spinkube '$chart' -n $ns --set sharedRuntimeClass.create=false 2>/dev/null | grep -q 'wasmtime-spin-shared\|containerd-shim-spin-shared'"

# The installer's label handshake with the real apiserver, as the chart's
# DaemonSet and pre-delete hook run it, here as processes on a kwok node
# with a host root in a temporary folder (no restart: no containerd there).
host=$SPINKUBE_CLUSTER_DIR/installer-host
mkdir -p "$host/etc/containerd"
cp "$src/tests/golden/node-installer/containerd-v3/input" "$host/etc/containerd/config.toml"
"$build/node-installer/spinkube-node-installer" --kubeconfig "$KUBECONFIG" --host-root "" --node-name kwok-node-0 \
	--distro containerd --containerd-config "$host/etc/containerd/config.toml" --dropin-dir "$host/etc/containerd/conf.d" \
	--bin-dir "$host/bin" --state-dir "$host/state" --shim-source "$build/shim-bridge/shim/containerd-shim-spin-v2" \
	--restart none --ready-file "$host/ready" --poll-seconds 1 install 2>"$host/installer.log" &
inst_pid=$!
ok "the installer labels its node installed" retry 30 bash -c \
	"[ \"\$(kubectl get node kwok-node-0 -o jsonpath='{.metadata.labels.spinkube\.dev/containerd-shim-spin}')\" = installed ]"
ok "... and is ready" test -e "$host/ready"
ok "request-uninstall has it uninstall and returns once the label is gone" \
	"$build/node-installer/spinkube-node-installer" --kubeconfig "$KUBECONFIG" --timeout 30 request-uninstall
is "$(kubectl get node kwok-node-0 -o jsonpath='{.metadata.labels.spinkube\.dev/containerd-shim-spin}')" "" "the label is gone"
ok "containerd's configuration is as it was" cmp "$host/etc/containerd/config.toml" "$src/tests/golden/node-installer/containerd-v3/input"
ok "request-uninstall with no labelled node is done at once" \
	"$build/node-installer/spinkube-node-installer" --kubeconfig "$KUBECONFIG" --timeout 30 request-uninstall
kill -TERM $inst_pid; wait $inst_pid
ok "SIGTERM stops the installer, which says the node keeps what is installed" grep -q 'msg="stopping on SIGTERM' "$host/installer.log"

# The controller with exactly the chart's permissions.
token=$(kubectl -n $ns create token spin-controller --duration 1h)
server=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')
kc=$SPINKUBE_CLUSTER_DIR/sa.kubeconfig
cat >"$kc" <<EOK
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "$server", certificate-authority: "$SPINKUBE_CLUSTER_DIR/pki/ca.crt"}
users:
- name: sa
  user: {token: "$token"}
contexts:
- name: sa
  context: {cluster: c, user: sa}
current-context: sa
EOK
"$build/controller/spin-controller" --metrics-bind-address=0 --health-probe-bind-address=0 --kubeconfig "$kc" 2>"$logf" &
ctl_pid=$!
kubectl apply -f "$src/tests/e2e/apps/hello.yaml" >/dev/null
ok "with the chart's RBAC the controller makes the app Ready" kubectl wait --for=condition=Ready spinapp/hello --timeout=90s
ok "and put its finalizer on the executor" retry 20 bash -c "kubectl get spinappexecutor containerd-shim-spin -o jsonpath='{.metadata.finalizers}' | grep -q core.spinkube.dev/finalizer"
ok "without a single forbidden request" bash -c "! grep -q 'Forbidden\|forbidden' $logf"

ok "helm upgrade with other values succeeds" \
	helm upgrade spinkube "$chart" -n $ns --set controller.concurrentReconciles=8 --wait --timeout 2m
ok "and changes the controller's flags" bash -c "kubectl -n $ns get deployment spin-controller -o jsonpath='{.spec.template.spec.containers[0].args}' | grep -q -- '--concurrent-reconciles=8'"
# Uninstall with an app and the chart's executor still there: the
# pre-delete hook (a Job with the controller's image) deletes the release's
# executors and takes the finalizer off them while the controller and its
# RBAC are still in place. Here the hook's pod sits on a kwok node, so the
# test runs its command as a process with the hook's own account, as the pod
# would, and then reports the pod Succeeded as its kubelet would.
uninstall_log=$SPINKUBE_CLUSTER_DIR/uninstall.log
helm uninstall spinkube -n $ns --wait --timeout 2m >"$uninstall_log" 2>&1 &
un_pid=$!
ok "helm uninstall starts the pre-delete hook's Job" retry 60 bash -c \
	"kubectl -n $ns get pod -l app.kubernetes.io/name=spinkube-release-executors -o name | grep -q pod/"
hook_pod=$(kubectl -n $ns get pod -l app.kubernetes.io/name=spinkube-release-executors -o jsonpath='{.items[0].metadata.name}')
hook_args=$(kubectl -n $ns get job spinkube-release-executors -o jsonpath='{.spec.template.spec.containers[0].args[*]}')
is "$hook_args" "--release-executors=app.kubernetes.io/instance=spinkube,app.kubernetes.io/part-of=spinkube-c" \
	"... running spin-controller --release-executors for the release's executors"
hook_kc=$SPINKUBE_CLUSTER_DIR/hook.kubeconfig
sed "s|token: \".*\"|token: \"$(kubectl -n $ns create token spinkube-release-executors --duration 10m)\"|" "$kc" >"$hook_kc"
# shellcheck disable=SC2086
ok "the hook's command, with the hook's account, deletes the executor an app still uses and releases it" \
	"$build/controller/spin-controller" --kubeconfig "$hook_kc" $hook_args
ok "the executor is gone, not left Terminating" bash -c "[ -z \"\$(kubectl get spinappexecutors -A -o name)\" ]"
ok "the running controller had said the app still used it (DeletionBlocked)" retry 10 bash -c \
	"kubectl get events -n default --field-selector reason=DeletionBlocked -o name | grep -q ."
kubectl -n $ns patch pod "$hook_pod" --subresource=status --type=merge -p "{\"status\":{\"phase\":\"Succeeded\",\"containerStatuses\":[{\"name\":\"release-executors\",\"image\":\"x\",\"imageID\":\"\",\"ready\":false,\"restartCount\":0,\"state\":{\"terminated\":{\"exitCode\":0,\"reason\":\"Completed\"}}}]}}" >/dev/null
un_rc=0
wait $un_pid || un_rc=$?
is "$un_rc" 0 "helm uninstall succeeds once the hook is done"
kill -TERM $ctl_pid; wait $ctl_pid; ctl_pid=
ok "the controller is gone" retry 30 bash -c "! kubectl -n $ns get deployment spin-controller"
kinds=$(kubectl api-resources --verbs=list -o name 2>/dev/null | grep -v '^events' | paste -sd, -)
left=$(kubectl get "$kinds" -A -l app.kubernetes.io/instance=spinkube -o name 2>/dev/null)
is "$left" "" "nothing of the release is left (every kind that lists, by its instance label)"
is "$(kubectl get spinappexecutors -A -o name)" "" "no executor anywhere"
ok "the CRDs stay (Helm never deletes CRDs)" kubectl get crd spinapps.core.spinkube.dev spinappexecutors.core.spinkube.dev
ok "and the user's SpinApp with them (the chart never made it)" kubectl get spinapp hello
kubectl delete spinapp hello --wait=false >/dev/null 2>&1
tap_done
