#!/usr/bin/env bash
# spin-controller reconciling SpinApps on a real cluster with kwok nodes:
# every upstream sample (when the reference data is there; skipped otherwise)
# and each of our test apps (tests/e2e/apps/) becomes Ready with its pods
# Ready; the generated
# objects carry what COMPAT.md section 2 says; changes roll the Deployment;
# deletion cascades; old runtime-config Secrets go; a missing executor or
# Secret is a False condition and an event, and the app recovers by itself;
# a deleted Service is put back, Ready waiting for it (ServiceNotReady);
# an HPA scales an app through its scale subresource; the executor finalizer
# blocks deletion while apps use it; a steady-state resync writes nothing; and
# killing the controller at random moments during a burst loses nothing.
set -u
src=${SPINKUBE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SPINKUBE_BUILD_DIR:-$src/build}
. "$src/tests/lib/tap.sh"
. "$src/hack/lib.sh"
ref=$(reference_dir)
apps=$src/tests/e2e/apps

name=e2e-rec-$$
logf=$(mktemp)
ctl_pid=
stop_ctl() { [ -n "$ctl_pid" ] && kill -TERM "$ctl_pid" 2>/dev/null && wait "$ctl_pid" 2>/dev/null; ctl_pid=; }
start_ctl() { "$build/controller/spin-controller" --metrics-bind-address=0 --health-probe-bind-address=0 "$@" 2>>"$logf" & ctl_pid=$!; }
trap 'stop_ctl; "$src/hack/cluster-down" --name $name >/dev/null 2>&1; rm -f $logf' EXIT
out=$("$src/hack/cluster-up" --name "$name" --nodes 2 2>/dev/null) || bail "hack/cluster-up failed"
eval "$out"

ok "our CRDs apply" kubectl apply -f "$src/crd/"
ok "the CRDs are established" retry 60 kubectl wait --for=condition=Established crd/spinapps.core.spinkube.dev crd/spinappexecutors.core.spinkube.dev --timeout=60s
ok "the default RuntimeClass and executor apply" kubectl apply -f "$src/crd/defaults/"
start_ctl --resync-period 5
ok "spin-controller syncs" retry 30 grep -q 'msg="synced"' "$logf"

# The Secret our apps read.
kubectl create secret generic app-secrets --from-literal=db-token=t0k3n --from-literal=kv-url=redis://kv.invalid:6379 >/dev/null

# --- every upstream sample ---------------------------------------------------------
if [ -n "$ref" ]; then
	# Inputs the samples expect.
	kubectl create secret generic my-super-secret --from-literal=turso-token=t0k3n --from-literal=llm-token=llm \
		--from-literal=redis-full-url=redis://r:6379 >/dev/null
	kubectl create secret docker-registry spin-image-secret --docker-server=https://ghcr.io --docker-username=u \
		--docker-password=p >/dev/null
	for f in "$ref"/samples/*.yaml; do
		case $(basename "$f") in
		keda-scaledobject.yaml) continue ;; # needs KEDA's CRD; the app it targets is keda-app.yaml
		esac
		ok "sample $(basename "$f") applies unchanged" kubectl apply -f "$f"
	done
	sample_apps=($(kubectl get spinapps -o jsonpath='{range .items[*]}{.metadata.name}{" "}{end}'))
	is "${#sample_apps[@]}" 15 "the samples hold 15 SpinApps"
	for a in "${sample_apps[@]}"; do
		ok "sample app $a becomes Ready" kubectl wait --for=condition=Ready "spinapp/$a" --timeout=90s
	done
else
	diag "$REFERENCE_MISSING"
	skip "every upstream sample applies unchanged and becomes Ready" "$REFERENCE_MISSING"
fi

# --- our test apps -------------------------------------------------------------------
ok "our test apps apply" kubectl apply -f "$apps/hello.yaml" -f "$apps/reconciler.yaml"
for a in hello with-runtime-config with-variables on-spin-cli; do
	ok "app $a becomes Ready" kubectl wait --for=condition=Ready "spinapp/$a" --timeout=90s
done
not_ready=$(kubectl get pods -l core.spinkube.dev/app-name -o jsonpath='{range .items[?(@.status.phase!="Running")]}{.metadata.name}{"\n"}{end}')
is "$not_ready" "" "every app's pod is Running on a kwok node"

# --- the generated objects (COMPAT.md section 2) ------------------------------------
a=with-runtime-config
jp() { kubectl get "$1" -o jsonpath="$2"; }
is "$(jp deployment/$a '{.metadata.labels.core\.spinkube\.dev/app-name}')" "$a" "Deployment labelled with the app name"
is "$(jp deployment/$a '{.spec.selector.matchLabels}')" "{\"core.spinkube.dev/app-name\":\"$a\",\"core.spinkube.dev/app.$a.status\":\"ready\"}" "Deployment selector: app name and ready label"
is "$(jp deployment/$a '{.spec.template.spec.runtimeClassName}')" wasmtime-spin-v2 "shim mode: the wasm RuntimeClass"
is "$(jp deployment/$a '{.spec.template.spec.containers[0].command}')" '["/"]' "shim mode: command /"
is "$(jp deployment/$a '{.spec.template.spec.containers[0].ports[0].name}/{.spec.template.spec.containers[0].ports[0].containerPort}')" "http-app/80" "port http-app 80"
is "$(jp deployment/$a '{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}/{.metadata.ownerReferences[0].controller}')" "SpinApp/$a/true" "owned by its SpinApp"
rc_secret=$(jp deployment/$a '{.spec.template.spec.volumes[?(@.name=="spin-runtime-config")].secret.secretName}')
case $rc_secret in "$a"-??????????) r=yes ;; *) r=$rc_secret ;; esac
is "$r" yes "the runtime-config Secret is named app-<hash> ($rc_secret)"
toml=$(kubectl get secret "$rc_secret" -o jsonpath='{.data.runtime-config\.toml}' | base64 -d)
ok "its TOML starts with the env provider" grep -q 'prefix = "SPIN_VARIABLE_"' <<<"$toml"
ok "and resolves valueFrom from the Secret" grep -q 't0k3n' <<<"$toml"
is "$(jp service/$a '{.spec.selector}')" "{\"core.spinkube.dev/app.$a.status\":\"ready\"}" "Service selects the ready label only"
is "$(jp service/$a '{.spec.ports[0].port}/{.spec.ports[0].targetPort}')" "80/http-app" "Service port 80 to http-app"
ok "the CA Secret spin-ca exists" kubectl get secret spin-ca
is "$(jp deployment/on-spin-cli '{.spec.template.spec.containers[0].image}')" "registry.invalid/spinkube-c/spin:3" "spintainer mode: the executor's spin image"
ok "spintainer mode: spin up with the app image" bash -c "kubectl get deployment on-spin-cli -o jsonpath='{.spec.template.spec.containers[0].args}' | grep -q '\"up\",\"--listen\",\"0.0.0.0:80\",\"-f\",\"registry.invalid/spinkube-c/hello:1\"'"
is "$(jp deployment/with-variables '{.spec.template.spec.containers[0].env[0].name}={.spec.template.spec.containers[0].env[0].value}')" "SPIN_VARIABLE_GREETING=hi there" "variables become SPIN_VARIABLE_ env"
is "$(jp spinapp/hello '{.status.readyReplicas}/{.status.deploymentName}/{.status.serviceName}/{.status.activeScheduler}')" "1/hello/hello/containerd-shim-spin" "status: readyReplicas, deploymentName, serviceName, activeScheduler"
is "$(jp spinapp/hello '{.status.observedGeneration}')" "$(jp spinapp/hello '{.metadata.generation}')" "status.observedGeneration follows metadata.generation"

# --- the restricted Pod Security profile by default ---------------------------------------
kubectl create namespace restricted >/dev/null
kubectl label namespace restricted pod-security.kubernetes.io/enforce=restricted >/dev/null
kubectl -n restricted apply -f "$src/crd/defaults/executor-containerd-shim-spin.yaml" >/dev/null
kubectl -n restricted apply -f "$apps/hello.yaml" >/dev/null
ok "in a namespace enforcing the restricted profile the app's pods are admitted and Ready" \
	kubectl -n restricted wait --for=condition=Ready spinapp/hello --timeout=90s
kubectl -n restricted delete spinapp --all >/dev/null

# --- changes roll the Deployment -----------------------------------------------------
gen() { jp deployment/$a '{.metadata.generation}'; }
g0=$(gen)
kubectl patch spinapp $a --type merge -p '{"spec":{"image":"registry.invalid/other:2"}}' >/dev/null
ok "a new image rolls the Deployment" retry 30 bash -c "[ \"\$(kubectl get deployment $a -o jsonpath='{.spec.template.spec.containers[0].image}')\" = registry.invalid/other:2 ]"
kubectl patch spinapp $a --type merge -p '{"spec":{"variables":[{"name":"color","value":"blue"}]}}' >/dev/null
ok "a variable rolls the Deployment" retry 30 bash -c "kubectl get deployment $a -o jsonpath='{.spec.template.spec.containers[0].env}' | grep -q SPIN_VARIABLE_COLOR"
kubectl patch spinapp $a --type json -p '[{"op":"replace","path":"/spec/runtimeConfig/sqliteDatabases/0/options/0/value","value":"https://other.example"}]' >/dev/null
ok "a runtime-config change mounts a new Secret" retry 30 bash -c "[ \"\$(kubectl get deployment $a -o jsonpath='{.spec.template.spec.volumes[?(@.name==\"spin-runtime-config\")].secret.secretName}')\" != $rc_secret ]"
refs0=$(jp deployment/$a '{.spec.template.metadata.annotations.core\.spinkube\.dev/references-hash}')
kubectl patch secret app-secrets --type merge -p '{"stringData":{"db-token":"rotated"}}' >/dev/null
ok "a change of a referenced Secret rolls the Deployment" retry 30 bash -c "[ \"\$(kubectl get deployment $a -o jsonpath='{.spec.template.metadata.annotations.core\.spinkube\.dev/references-hash}')\" != '$refs0' ]"
ok "the rolled Deployment becomes Ready again" kubectl wait --for=condition=Ready spinapp/$a --timeout=60s
ok "the old runtime-config Secret stays while a ReplicaSet mounts it" kubectl get secret "$rc_secret"
for rs in $(kubectl get rs -l core.spinkube.dev/app-name=$a -o jsonpath='{range .items[?(@.spec.replicas==0)]}{.metadata.name}{" "}{end}'); do
	kubectl delete rs "$rs" >/dev/null
done
ok "once no ReplicaSet mounts it, it is deleted" retry 30 bash -c "! kubectl get secret $rc_secret"
ok "the current runtime-config Secret stays" bash -c "kubectl get secret \$(kubectl get deployment $a -o jsonpath='{.spec.template.spec.volumes[?(@.name==\"spin-runtime-config\")].secret.secretName}')"

# --- the Services' own pool puts a deleted Service back --------------------------------------
# Ready waits for the Service: while it is gone, Ready is False with
# ServiceNotReady (each status the apiserver stores is watched), and
# readyReplicas stays as the Deployment has it.
reasons=$logf.reasons
kubectl get spinapp hello -w -o jsonpath='{.status.readyReplicas} {.status.conditions[?(@.type=="Ready")].reason}{"\n"}' >"$reasons" 2>/dev/null &
watch_pid=$!
retry 10 test -s "$reasons"
uid0=$(kubectl get service hello -o jsonpath='{.metadata.uid}')
kubectl delete service hello >/dev/null
ok "a deleted Service is put back" retry 30 bash -c "u=\$(kubectl get service hello -o jsonpath='{.metadata.uid}') && [ -n \"\$u\" ] && [ \"\$u\" != '$uid0' ]"
ok "meanwhile the app was not Ready (ServiceNotReady), its readyReplicas still 1" retry 10 grep -qx '1 ServiceNotReady' "$reasons"
ok "and is Ready again with its Service" retry 30 bash -c "kubectl get spinapp hello -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].reason}' | grep -qx Ready"
kill $watch_pid 2>/dev/null; wait $watch_pid 2>/dev/null; rm -f "$reasons"

# --- deleting an app cascades ------------------------------------------------------------
kubectl delete spinapp hello >/dev/null
ok "deleting the app removes its Deployment" retry 60 bash -c "! kubectl get deployment hello"
ok "and its Service" retry 30 bash -c "! kubectl get service hello"
ok "and its runtime-config Secret" retry 30 bash -c "[ -z \"\$(kubectl get secret -l core.spinkube.dev/app-name=hello -o name)\" ]"

# --- a missing executor, a missing Secret: condition, event, recovery ----------------------
kubectl create namespace lonely >/dev/null
kubectl -n lonely apply -f "$apps/hello.yaml" >/dev/null
ok "a missing executor makes Ready False with reason ExecutorNotFound" retry 30 bash -c "[ \"\$(kubectl -n lonely get spinapp hello -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].reason}')\" = ExecutorNotFound ]"
ok "and a Warning event" retry 30 bash -c "kubectl -n lonely get events --field-selector reason=ExecutorNotFound,type=Warning -o name | grep -q ."
kst() { kubectl -n "$1" get spinapp "$2" -o json | "$(kstatus_bin)" | awk '{print $2}'; }
is "$(kst lonely hello)" InProgress "kstatus (what Flux reads) sees the app InProgress"
kubectl -n lonely apply -f "$src/crd/defaults/executor-containerd-shim-spin.yaml" >/dev/null
ok "when the executor appears the app becomes Ready by itself" kubectl -n lonely wait --for=condition=Ready spinapp/hello --timeout=60s
is "$(kst lonely hello)" Current "kstatus sees the Ready app Current"
cat <<EOY | kubectl -n lonely apply -f - >/dev/null
apiVersion: core.spinkube.dev/v1alpha1
kind: SpinApp
metadata: {name: needs-secret}
spec:
  image: registry.invalid/app:1
  replicas: 1
  variables:
  - name: password
    valueFrom: {secretKeyRef: {name: not-yet, key: pw}}
EOY
ok "a missing referenced Secret makes Ready False with reason ReferenceNotFound" retry 30 bash -c "[ \"\$(kubectl -n lonely get spinapp needs-secret -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].reason}')\" = ReferenceNotFound ]"
ok "the condition names the Secret" bash -c "kubectl -n lonely get spinapp needs-secret -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].message}' | grep -q 'Secret \"not-yet\"'"
ok "and a Warning event" retry 30 bash -c "kubectl -n lonely get events --field-selector reason=ReferenceNotFound -o name | grep -q ."
kubectl -n lonely create secret generic not-yet --from-literal=pw=x >/dev/null
ok "when the Secret appears the app becomes Ready by itself" kubectl -n lonely wait --for=condition=Ready spinapp/needs-secret --timeout=60s

# --- what the apiserver refuses shows in the status -----------------------------------------
cat <<EOY | kubectl -n lonely apply -f - >/dev/null
apiVersion: core.spinkube.dev/v1alpha1
kind: SpinApp
metadata: {name: bad-label}
spec:
  image: registry.invalid/app:1
  replicas: 1
  podLabels: {tier: "not a valid label value!"}
EOY
ok "a Deployment the apiserver refuses makes Ready False with reason ApplyFailed" retry 60 bash -c "[ \"\$(kubectl -n lonely get spinapp bad-label -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].reason}')\" = ApplyFailed ]"
ok "with the apiserver's message" bash -c "kubectl -n lonely get spinapp bad-label -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].message}' | grep -q 'Invalid value'"
kubectl -n lonely patch spinapp bad-label --type merge -p '{"spec":{"podLabels":{"tier":"web"}}}' >/dev/null
ok "fixing the spec makes the app Ready" kubectl -n lonely wait --for=condition=Ready spinapp/bad-label --timeout=60s

# --- an executor that makes no Deployment ------------------------------------------------------
cat <<EOY | kubectl -n lonely apply -f - >/dev/null
apiVersion: core.spinkube.dev/v1alpha1
kind: SpinAppExecutor
metadata: {name: service-only}
spec: {createDeployment: false}
---
apiVersion: core.spinkube.dev/v1alpha1
kind: SpinApp
metadata: {name: svc-only}
spec: {image: registry.invalid/app:1, replicas: 1, executor: service-only}
---
apiVersion: core.spinkube.dev/v1alpha1
kind: SpinApp
metadata: {name: svc-only-annotated}
spec: {image: registry.invalid/app:1, replicas: 1, executor: service-only, podAnnotations: {a: b}}
EOY
ok "createDeployment false: the app is Ready on its Service" kubectl -n lonely wait --for=condition=Ready spinapp/svc-only --timeout=60s
ok "its Service exists" kubectl -n lonely get service svc-only
ok "and no Deployment" bash -c "! kubectl -n lonely get deployment svc-only"
ok "pod annotations with such an executor: Ready False, reason InvalidForExecutor" retry 30 bash -c "[ \"\$(kubectl -n lonely get spinapp svc-only-annotated -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].reason}')\" = InvalidForExecutor ]"
kubectl -n lonely delete spinapp svc-only svc-only-annotated bad-label >/dev/null

# --- an HPA through the scale subresource ----------------------------------------------------
cat <<EOY | kubectl apply -f - >/dev/null
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: scale-variables}
spec:
  scaleTargetRef: {apiVersion: core.spinkube.dev/v1alpha1, kind: SpinApp, name: with-variables}
  minReplicas: 3
  maxReplicas: 5
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
EOY
ok "an HPA on the SpinApp raises spec.replicas to its minimum" retry 90 bash -c "[ \"\$(kubectl get spinapp with-variables -o jsonpath='{.spec.replicas}')\" = 3 ]"
ok "the Deployment follows" retry 30 bash -c "[ \"\$(kubectl get deployment with-variables -o jsonpath='{.spec.replicas}')\" = 3 ]"
ok "and the app reports 3 ready replicas" retry 60 bash -c "[ \"\$(kubectl get spinapp with-variables -o jsonpath='{.status.readyReplicas}')\" = 3 ]"
kubectl delete hpa scale-variables >/dev/null

# --- executor finalizer -----------------------------------------------------------------------
ok "executors carry the finalizer" retry 30 bash -c "kubectl -n lonely get spinappexecutor containerd-shim-spin -o jsonpath='{.metadata.finalizers}' | grep -q core.spinkube.dev/finalizer"
kubectl -n lonely delete spinappexecutor containerd-shim-spin --wait=false >/dev/null
ok "deleting an executor in use is blocked with a DeletionBlocked event" retry 30 bash -c "kubectl -n lonely get events --field-selector reason=DeletionBlocked -o name | grep -q ."
ok "the executor is still there" kubectl -n lonely get spinappexecutor containerd-shim-spin
kubectl -n lonely delete spinapp --all >/dev/null
ok "once no app uses it, the executor goes" retry 60 bash -c "! kubectl -n lonely get spinappexecutor containerd-shim-spin"

# --- steady state: a resync writes nothing ---------------------------------------------------
snapshot() { kubectl get spinapps,deployments,services,secrets,spinappexecutors -A -o jsonpath='{range .items[*]}{.kind}/{.metadata.namespace}/{.metadata.name}={.metadata.resourceVersion}{"\n"}{end}' | sort; }
kubectl wait --for=condition=Ready spinapp --all --timeout=60s >/dev/null
sleep 3
s1=$(snapshot)
sleep 12 # more than two resync periods (5 s)
s2=$(snapshot)
is "$(diff <(echo "$s1") <(echo "$s2") | grep -c '^>')" 0 "two resyncs of every app changed no object (no writes in steady state)"

# --- kill the controller at random moments during a burst ----------------------------------
stop_ctl
kubectl create namespace burst >/dev/null
kubectl -n burst apply -f "$src/crd/defaults/executor-containerd-shim-spin.yaml" >/dev/null
for i in $(seq 1 30); do
	printf 'apiVersion: core.spinkube.dev/v1alpha1\nkind: SpinApp\nmetadata: {name: app-%02d}\nspec: {image: "registry.invalid/app:%d", replicas: 1}\n---\n' "$i" "$i"
done | kubectl -n burst apply -f - >/dev/null
for round in 1 2 3 4 5; do
	start_ctl
	sleep "0.$((RANDOM % 9 + 1))"
	kill -KILL "$ctl_pid" 2>/dev/null; wait "$ctl_pid" 2>/dev/null; ctl_pid=
	for i in $(seq 1 30); do
		[ $((RANDOM % 3)) -eq 0 ] && kubectl -n burst patch spinapp "$(printf 'app-%02d' "$i")" --type merge -p "{\"spec\":{\"image\":\"registry.invalid/app:$i-r$round\",\"replicas\":$((round % 2 + 1))}}" >/dev/null &
	done
	wait
done
start_ctl
ok "after five kills every app converges to Ready" kubectl -n burst wait --for=condition=Ready spinapp --all --timeout=180s
mismatch=0
for i in $(seq 1 30); do
	n=$(printf 'app-%02d' "$i")
	want=$(kubectl -n burst get spinapp "$n" -o jsonpath='{.spec.image}/{.spec.replicas}')
	got=$(kubectl -n burst get deployment "$n" -o jsonpath='{.spec.template.spec.containers[0].image}/{.spec.replicas}')
	[ "$want" = "$got" ] || { mismatch=$((mismatch + 1)); diag "$n: want $want, got $got"; }
done
is "$mismatch" 0 "every Deployment matches its app's last spec"
stop_ctl
tap_done
