#!/usr/bin/env bash
# Our CRDs (crd/) and default manifests (crd/defaults/) on a real apiserver:
# they apply and become Established; they are what hack/gen-crd writes; every
# schema path of upstream's CRDs is in ours with the same type and default;
# every upstream sample applies unchanged and is stored as sent; invalid
# SpinApps and SpinAppExecutors are refused with our CEL messages; defaults,
# printer columns, kubectl explain, the status schema and the scale
# subresource (driven by a real HorizontalPodAutoscaler) work.
# Upstream's CRDs and samples are test data from ../shared/reference (or
# SPINKUBE_REFERENCE_DIR); without them the comparisons with upstream are
# skipped and every other check still runs.
set -u
src=${SPINKUBE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$src/tests/lib/tap.sh"
. "$src/tests/lib/e2e.sh"
ref=$(reference_dir)
[ -n "$ref" ] || diag "$REFERENCE_MISSING: the comparisons with upstream are skipped"
tools=$src/tests/tools

name=e2e-crd-$$
work=$(mktemp -d "${TMPDIR:-/tmp}/crd.XXXXXX")
trap '"$src/hack/cluster-down" --name $name >/dev/null 2>&1; rm -rf "$work"' EXIT
cluster_up "$name"

# --- Install -----------------------------------------------------------------

ok "kubectl apply -f crd/ succeeds" kubectl apply -f "$src/crd/"
ok "both CRDs are Established" \
	retry 60 established spinapps.core.spinkube.dev spinappexecutors.core.spinkube.dev
ok "kubectl apply -f crd/defaults/ succeeds" kubectl apply -f "$src/crd/defaults/"
is "$(kubectl get runtimeclass wasmtime-spin-v2 -o jsonpath='{.handler}')" spin \
	"RuntimeClass wasmtime-spin-v2 has handler spin"
is "$(kubectl get runtimeclass wasmtime-spin-v2 -o jsonpath='{.scheduling}')" "" \
	"RuntimeClass wasmtime-spin-v2 has no scheduling constraint (kwok nodes qualify)"
is "$(kubectl get runtimeclass wasmtime-spin-shared -o jsonpath='{.handler}')" spin-shared \
	"RuntimeClass wasmtime-spin-shared (shared mode) has handler spin-shared"
is "$(kubectl get spinappexecutor containerd-shim-spin-shared -n default -o jsonpath='{.spec.deploymentConfig.runtimeClassName}')" \
	wasmtime-spin-shared "executor containerd-shim-spin-shared names it"
is "$(kubectl get spinappexecutor containerd-shim-spin -n default -o jsonpath='{.spec}')" \
	'{"createDeployment":true,"deploymentConfig":{"installDefaultCACerts":true,"runtimeClassName":"wasmtime-spin-v2"}}' \
	"executor containerd-shim-spin in namespace default: shim mode, default CA certificates"

# --- Generated from hack/gen-crd ---------------------------------------------

kubectl get --raw /openapi/v3/api/v1 >"$work/core-v1.json"
ok "crd/ is what hack/gen-crd writes from this apiserver's core/v1 OpenAPI" \
	"$src/hack/gen-crd" --check --openapi "$work/core-v1.json"
mkdir "$work/edited"
cp "$src"/crd/*.yaml "$work/edited/"
sed -i '0,/description: /s/description: /description: edited /' \
	"$work/edited/core.spinkube.dev_spinappexecutors.yaml"
gen_check_fails() {
	! "$src/hack/gen-crd" --check --openapi "$work/core-v1.json" --out "$work/edited"
}
ok "hack/gen-crd --check notices a hand-edited CRD" gen_check_fails

# --- Same schema as upstream -------------------------------------------------

compare_with_upstream() {
	for k in spinapps spinappexecutors; do
		kubectl create --dry-run=client --validate=false -o json \
			-f "$ref/core.spinkube.dev_$k.yaml" >"$work/up-$k.json"
		kubectl get crd "$k.core.spinkube.dev" -o json >"$work/our-$k.json"
		ok "$k: every upstream schema path is in ours with the same type, format and default" \
			python3 "$tools/crd-compare.py" "$work/up-$k.json" "$work/our-$k.json"
		diag "$(python3 "$tools/crd-compare.py" "$work/up-$k.json" "$work/our-$k.json" | tail -n 1)"
	done
	# The comparison must be able to fail: a changed default, a missing field, an
	# int32 turned int64 and a newly required field.
	jq '.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties as $s
		| .spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.checks.properties.liveness.properties.failureThreshold.default = 4
		| del(.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.podLabels)
		| .spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.replicas.format = "int64"
		| .spec.versions[0].schema.openAPIV3Schema.properties.spec.required += ["serviceAccountName"]' \
		"$work/our-spinapps.json" >"$work/bad-spinapps.json"
	python3 "$tools/crd-compare.py" "$work/up-spinapps.json" "$work/bad-spinapps.json" >"$work/bad.out"
	is "$?" 1 "the comparison fails for a CRD that differs from upstream"
	is "$(grep -c -e 'failureThreshold: default 4, upstream 3' -e '.spec.podLabels: missing' \
		-e '.spec.replicas: format .int64., upstream .int32.' \
		-e "requires \['serviceAccountName'\]" "$work/bad.out")" 4 \
		"it names the changed default, the missing field, the format and the new requirement"
}

# --- Upstream samples --------------------------------------------------------

upstream_samples() {
	# keda-scaledobject.yaml is a KEDA ScaledObject: KEDA is not part of this
	# cluster, so a stand-in CRD for that one foreign kind accepts it.
	diag "keda-scaledobject.yaml needs KEDA's ScaledObject CRD (keda.sh/v1alpha1): a minimal stand-in is installed"
	kubectl apply -f "$src/tests/e2e/apps/keda-scaledobject-crd.yaml" >/dev/null
	retry 30 established scaledobjects.keda.sh || bail "the stand-in KEDA CRD did not become Established"
	samples=0
	for f in "$ref"/samples/*.yaml; do
		b=$(basename "$f")
		samples=$((samples + 1))
		ok "sample $b applies unchanged" kubectl apply --validate=strict -f "$f"
		if grep -q '^apiVersion: core.spinkube.dev/' "$f"; then
			kubectl create --dry-run=client --validate=false -o json -f "$f" >"$work/sent.json"
			kubectl get -f "$f" -o json >"$work/stored.json" 2>&1
			ok "sample $b: SpinApps and executors stored as sent (nothing pruned)" \
				python3 "$tools/spec-subset.py" "$work/sent.json" "$work/stored.json"
		fi
	done
	is "$samples" "$(find "$ref/samples" -name '*.yaml' | wc -l | tr -d ' ')" "every sample was applied"
	# The stored-as-sent check must be able to fail: a field the apiserver dropped.
	kubectl create --dry-run=client --validate=false -o json -f "$ref/samples/probes.yaml" |
		jq '.spec.checks.liveness.httpGet.port = 8080' >"$work/sent-extra.json"
	kubectl get -f "$ref/samples/probes.yaml" -o json >"$work/stored.json"
	python3 "$tools/spec-subset.py" "$work/sent-extra.json" "$work/stored.json" >"$work/subset.out"
	is "$?" 1 "the stored-as-sent check fails for a field that was not stored"
	ok "and names it" grep -qx 'SpinApp/healthchecks-spinapp.spec.checks.liveness.httpGet.port: dropped' "$work/subset.out"
	is "$(kubectl get spinapps -o name | wc -l | tr -d ' ')" \
		"$(cat "$ref"/samples/*.yaml | grep -c '^kind: SpinApp$')" "every SpinApp of the samples is stored"
}

if [ -n "$ref" ]; then
	compare_with_upstream
	upstream_samples
else
	skip "every upstream CRD schema path is in ours with the same type, format and default" "$REFERENCE_MISSING"
	skip "every upstream sample applies unchanged and is stored as sent" "$REFERENCE_MISSING"
fi

# --- Invalid objects -------------------------------------------------------

# refused MESSAGE: create the object on stdin; pass when the apiserver refuses it
# with MESSAGE in its answer. An object that is accepted is deleted again.
refused() {
	local out
	if out=$(kubectl create -f - 2>&1); then
		echo "accepted: $out"
		kubectl delete "${out%% *}" >/dev/null 2>&1
		return 1
	fi
	grep -qF -- "$1" <<<"$out" || { echo "$out"; echo "(expected: $1)"; return 1; }
}
accepted() {
	local out
	out=$(kubectl create -f - 2>&1) || { echo "$out"; return 1; }
}
# spinapp: wrap the spec fragment on stdin into a SpinApp.
spinapp() {
	printf 'apiVersion: core.spinkube.dev/v1alpha1\nkind: SpinApp\nmetadata:\n  generateName: case-\nspec:\n'
	sed 's/^/  /'
}
executor() {
	printf 'apiVersion: core.spinkube.dev/v1alpha1\nkind: SpinAppExecutor\nmetadata:\n  generateName: case-\nspec:\n'
	sed 's/^/  /'
}
app_refused() { spinapp | refused "$1"; }
app_accepted() { spinapp | accepted; }
exec_refused() { executor | refused "$1"; }
exec_accepted() { executor | accepted; }

ok "a minimal SpinApp (image, replicas) is accepted" app_accepted <<'EOF'
image: ghcr.io/example/app:v1
replicas: 1
EOF

m_auto="replicas cannot be set when autoscaling is enabled: remove spec.replicas or set enableAutoscaling to false"
ok "refused: replicas with enableAutoscaling" app_refused "spec.replicas: Invalid value: $m_auto" <<'EOF'
image: ghcr.io/example/app:v1
enableAutoscaling: true
replicas: 2
EOF
ok "accepted: replicas 0 with enableAutoscaling (0 means unset)" app_accepted <<'EOF'
image: ghcr.io/example/app:v1
enableAutoscaling: true
replicas: 0
EOF
m_pos="replicas must be > 0: set spec.replicas to 1 or more, or set enableAutoscaling to true"
ok "refused: no replicas without autoscaling" app_refused "spec.replicas: Invalid value: $m_pos" <<'EOF'
image: ghcr.io/example/app:v1
EOF
ok "refused: replicas 0 without autoscaling" app_refused "$m_pos" <<'EOF'
image: ghcr.io/example/app:v1
replicas: 0
EOF
m_img="image must be a non-empty OCI reference without spaces, e.g. ghcr.io/org/app:v1"
ok "refused: empty image" app_refused "$m_img" <<'EOF'
image: ""
replicas: 1
EOF
ok "refused: image with a space" app_refused "$m_img" <<'EOF'
image: "ghcr.io/example/app :v1"
replicas: 1
EOF
ok "refused: no image" app_refused "spec.image: Required value" <<'EOF'
replicas: 1
EOF
ok "refused: executor that is not an object name" app_refused \
	"executor must be the name of a SpinAppExecutor: lower-case letters, digits, '-' and '.'" <<'EOF'
image: ghcr.io/example/app:v1
replicas: 1
executor: Shim_Executor
EOF
ok "refused: check path without leading /" app_refused \
	"spec.checks.readiness.httpGet.path: Invalid value: \"healthz\": httpGet.path must start with '/', e.g. /healthz" <<'EOF'
image: ghcr.io/example/app:v1
replicas: 1
checks:
  readiness:
    httpGet: {path: healthz}
EOF
ok "refused: liveness check with successThreshold 2" app_refused \
	"liveness successThreshold must be 1 (Kubernetes allows no other value for liveness probes)" <<'EOF'
image: ghcr.io/example/app:v1
replicas: 1
checks:
  liveness:
    httpGet: {path: /healthz}
    successThreshold: 2
EOF
m_opt="set exactly one of value or valueFrom for this option"
ok "refused: runtime config option with value and valueFrom" app_refused "$m_opt" <<'EOF'
image: ghcr.io/example/app:v1
replicas: 1
runtimeConfig:
  keyValueStores:
  - name: default
    type: redis
    options:
    - name: url
      value: redis://redis:6379
      valueFrom: {secretKeyRef: {name: redis, key: url}}
EOF
ok "refused: runtime config option with neither value nor valueFrom" app_refused "$m_opt" <<'EOF'
image: ghcr.io/example/app:v1
replicas: 1
runtimeConfig:
  llmCompute:
    type: remote_http
    options:
    - name: url
EOF
ok "refused: option valueFrom with a ConfigMap and a Secret" app_refused \
	"valueFrom needs exactly one of configMapKeyRef or secretKeyRef" <<'EOF'
image: ghcr.io/example/app:v1
replicas: 1
runtimeConfig:
  sqliteDatabases:
  - name: default
    type: libsql
    options:
    - name: token
      valueFrom:
        secretKeyRef: {name: db, key: token}
        configMapKeyRef: {name: db, key: token}
EOF
ok "refused: two key-value stores of the same name" app_refused \
	"key value store names must be unique: rename or merge the duplicate" <<'EOF'
image: ghcr.io/example/app:v1
replicas: 1
runtimeConfig:
  keyValueStores:
  - {name: default, type: redis}
  - {name: default, type: spin}
EOF
ok "refused: variable name with a dash" app_refused \
	"variable names may use only letters, digits and '_' and must not start with a digit (they become SPIN_VARIABLE_<NAME>)" <<'EOF'
image: ghcr.io/example/app:v1
replicas: 1
variables:
- {name: log-level, value: "info"}
EOF
ok "refused: variable with value and valueFrom" app_refused \
	"a variable takes value or valueFrom, not both" <<'EOF'
image: ghcr.io/example/app:v1
replicas: 1
variables:
- name: password
  value: "secret"
  valueFrom: {secretKeyRef: {name: app, key: password}}
EOF
ok "refused: variable valueFrom without a source" app_refused \
	"valueFrom needs exactly one source: one of configMapKeyRef, fieldRef, fileKeyRef, resourceFieldRef, secretKeyRef" <<'EOF'
image: ghcr.io/example/app:v1
replicas: 1
variables:
- name: password
  valueFrom: {}
EOF
ok "refused: two variables whose names differ only in case" app_refused \
	"variable names must be unique, ignoring case (each becomes SPIN_VARIABLE_<NAME>): remove or rename the duplicate" <<'EOF'
image: ghcr.io/example/app:v1
replicas: 1
variables:
- {name: greetee, value: "SpinKube"}
- {name: GREETEE, value: "Kubernetes"}
EOF
ok "accepted: variables from a value, a Secret and a field" app_accepted <<'EOF'
image: ghcr.io/example/app:v1
replicas: 1
variables:
- {name: greetee, value: "SpinKube"}
- {name: db_password, valueFrom: {secretKeyRef: {name: app, key: password}}}
- {name: pod_name, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
EOF
ok "refused: invocationLimits key other than memory" app_refused \
	"invocationLimits supports only the key memory: remove the other keys" <<'EOF'
image: ghcr.io/example/app:v1
replicas: 1
invocationLimits: {memory: 64Mi, cpu: "1"}
EOF
m_mem="invocationLimits.memory must be a positive whole number of bytes as a quantity, e.g. 64Mi"
ok "refused: invocationLimits.memory that is not a quantity" app_refused "$m_mem" <<'EOF'
image: ghcr.io/example/app:v1
replicas: 1
invocationLimits: {memory: lots}
EOF
ok "refused: invocationLimits.memory of a fraction of a byte" app_refused "$m_mem" <<'EOF'
image: ghcr.io/example/app:v1
replicas: 1
invocationLimits: {memory: 100m}
EOF
m_over="invocationLimits.memory must not exceed resources.limits.memory (or resources.requests.memory when no limit is set): lower it or raise the container's memory"
ok "refused: invocationLimits.memory above the memory limit" app_refused "$m_over" <<'EOF'
image: ghcr.io/example/app:v1
replicas: 1
invocationLimits: {memory: 2Gi}
resources:
  limits: {memory: 1Gi}
  requests: {memory: 4Gi}
EOF
ok "refused: invocationLimits.memory above the memory request when there is no limit" app_refused "$m_over" <<'EOF'
image: ghcr.io/example/app:v1
replicas: 1
invocationLimits: {memory: 600Mi}
resources:
  requests: {memory: 512Mi}
EOF
ok "accepted: invocationLimits.memory equal to the limit, written differently" app_accepted <<'EOF'
image: ghcr.io/example/app:v1
replicas: 1
invocationLimits: {memory: 1024Mi}
resources:
  limits: {memory: 1Gi}
EOF
ok "refused: a component id with a comma" app_refused \
	"components entries must be non-empty component ids without commas or spaces" <<'EOF'
image: ghcr.io/example/app:v1
replicas: 1
components: ["hello,goodbye"]
EOF
ok "refused: an empty components list" app_refused "spec.components: Invalid value: 0: spec.components in body should have at least 1 items" <<'EOF'
image: ghcr.io/example/app:v1
replicas: 1
components: []
EOF
ok "refused: listenPort out of range" app_refused "listenPort must be between 1 and 65535" <<'EOF'
image: ghcr.io/example/app:v1
replicas: 1
listenPort: 70000
EOF
ok "refused: an unknown imagePullPolicy" app_refused 'spec.imagePullPolicy: Unsupported value: "Sometimes"' <<'EOF'
image: ghcr.io/example/app:v1
replicas: 1
imagePullPolicy: Sometimes
EOF
ok "accepted: every addition of ours at once" app_accepted <<'EOF'
image: ghcr.io/example/app:v1
replicas: 1
nodeSelector: {kubernetes.io/os: linux}
tolerations:
- {key: spin, operator: Exists, effect: NoSchedule}
affinity:
  nodeAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      nodeSelectorTerms:
      - matchExpressions:
        - {key: type, operator: In, values: [kwok]}
imagePullPolicy: IfNotPresent
listenPort: 8080
podSecurityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
EOF

m_none="deploymentConfig needs runtimeClassName (run apps under the containerd shim, e.g. wasmtime-spin-v2) or spinImage (run the spin CLI in a container)"
ok "refused: executor deploymentConfig with neither runtimeClassName nor spinImage" exec_refused "$m_none" <<'EOF'
createDeployment: true
deploymentConfig: {installDefaultCACerts: true}
EOF
ok "refused: executor with an empty runtimeClassName" exec_refused "$m_none" <<'EOF'
createDeployment: true
deploymentConfig: {runtimeClassName: ""}
EOF
ok "refused: executor with both runtimeClassName and spinImage" exec_refused \
	"runtimeClassName and spinImage are mutually exclusive: keep only one" <<'EOF'
createDeployment: true
deploymentConfig: {runtimeClassName: wasmtime-spin-v2, spinImage: "ghcr.io/fermyon/spin:v2.7.0"}
EOF
ok "refused: executor without createDeployment" exec_refused "spec.createDeployment: Required value" <<'EOF'
deploymentConfig: {runtimeClassName: wasmtime-spin-v2}
EOF
ok "refused: executor runtimeClassName that is not an object name" exec_refused \
	"runtimeClassName must be the name of a RuntimeClass: lower-case letters, digits, '-' and '.'" <<'EOF'
createDeployment: true
deploymentConfig: {runtimeClassName: Wasmtime_Spin}
EOF
ok "refused: executor otel endpoint without http(s) scheme" exec_refused \
	"otel endpoints must be http:// or https:// URLs, e.g. http://otel-collector:4318" <<'EOF'
createDeployment: true
deploymentConfig:
  runtimeClassName: wasmtime-spin-v2
  otel: {exporter_otlp_traces_endpoint: "otel-collector:4318"}
EOF
ok "accepted: executor that makes no Deployments and has no deploymentConfig" exec_accepted <<'EOF'
createDeployment: false
EOF

# --- Defaults, columns, explain ----------------------------------------------

kubectl apply -f - >/dev/null <<'EOF'
apiVersion: core.spinkube.dev/v1alpha1
kind: SpinApp
metadata:
  name: defaults-app
spec:
  image: ghcr.io/example/app:v1
  replicas: 3
  checks:
    liveness:
      httpGet: {path: /healthz}
EOF
is "$(kubectl get spinapp defaults-app -o jsonpath='{.spec.executor}')" containerd-shim-spin \
	"a SpinApp without executor gets executor containerd-shim-spin"
is "$(kubectl get spinapp defaults-app -o jsonpath='{.spec.enableAutoscaling}')" false \
	"enableAutoscaling defaults to false"
is "$(kubectl get spinapp defaults-app -o jsonpath='{.spec.checks}')" \
	'{"liveness":{"failureThreshold":3,"httpGet":{"path":"/healthz"},"initialDelaySeconds":10,"periodSeconds":10,"successThreshold":1,"timeoutSeconds":1}}' \
	"a liveness check gets upstream's defaults; readiness stays unset"

kubectl patch spinapp defaults-app --subresource=status --type=merge -p '{"status":{
	"readyReplicas":2,"replicas":3,"selector":"core.spinkube.dev/app-name=defaults-app",
	"deploymentName":"defaults-app-d","serviceName":"defaults-app-s","activeScheduler":"containerd-shim-spin",
	"observedGeneration":1,
	"conditions":[{"type":"Ready","status":"False","reason":"PodsNotReady","message":"2 of 3 pods ready",
		"lastTransitionTime":"2026-01-01T00:00:00Z","observedGeneration":1}]}}' >"$work/patch.out" 2>&1
is "$?" 0 "the status subresource takes every status field"
is "$(kubectl get spinapp defaults-app -o jsonpath='{.status.observedGeneration} {.status.replicas} {.status.selector} {.status.conditions[0].reason}')" \
	"1 3 core.spinkube.dev/app-name=defaults-app PodsNotReady" "status keeps observedGeneration, replicas, selector and conditions"
dup=$(kubectl patch spinapp defaults-app --subresource=status --type=merge -p '{"status":{"conditions":[
	{"type":"Ready","status":"True","reason":"A","message":"","lastTransitionTime":"2026-01-01T00:00:00Z"},
	{"type":"Ready","status":"False","reason":"B","message":"","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}' 2>&1)
is "$?" 1 "status conditions are a map keyed by type: two Ready conditions are refused"
ok "with the apiserver's duplicate message" grep -q 'status.conditions\[1\]: Duplicate value' <<<"$dup"
# The table with its last column (Age) checked for the form of an age only.
table() { kubectl get spinapp defaults-app "$@" | tr -s ' ' | sed -E '2s/ [0-9]+[smhd][0-9smh]*$/ AGE/'; }
is "$(table)" "$(printf 'NAME READY DESIRED EXECUTOR AGE\ndefaults-app 2 3 containerd-shim-spin AGE')" \
	"kubectl get spinapps shows Ready, Desired, Executor and Age"
is "$(table -o wide)" \
	"$(printf 'NAME READY DESIRED EXECUTOR DEPLOYMENT SERVICE AGE\ndefaults-app 2 3 containerd-shim-spin defaults-app-d defaults-app-s AGE')" \
	"kubectl get spinapps -o wide adds Deployment and Service"
is "$(kubectl get spinappexecutors containerd-shim-spin | tr -s ' ' | cut -d' ' -f1-3 | head -1)" \
	"NAME CREATEDEPLOYMENT RUNTIMECLASS" "kubectl get spinappexecutors shows CreateDeployment and RuntimeClass"
ok "kubectl explain spinapp.spec.checks prints our description" \
	bash -c "kubectl explain spinapp.spec.checks | tr -s ' \n' ' ' | grep -q 'HTTP health checks, turned into liveness and readiness probes'"
ok "kubectl explain spinapp.spec.securityContext names the restricted default" \
	bash -c "kubectl explain spinapp.spec.securityContext | tr -s ' \n' ' ' | grep -q 'When unset, the controller applies the defaults of the restricted Pod Security profile'"

# --- Scale subresource -------------------------------------------------------

scale=$(kubectl get --raw /apis/core.spinkube.dev/v1alpha1/namespaces/default/spinapps/defaults-app/scale)
is "$(jq -r '[.kind, .apiVersion, .spec.replicas, .status.replicas, .status.selector] | join(" ")' <<<"$scale")" \
	"Scale autoscaling/v1 3 3 core.spinkube.dev/app-name=defaults-app" \
	"GET .../spinapps/NAME/scale answers a Scale from spec.replicas and status.replicas/selector"
ok "kubectl scale spinapp works" kubectl scale spinapp defaults-app --replicas=4
is "$(kubectl get spinapp defaults-app -o jsonpath='{.spec.replicas}')" 4 "kubectl scale wrote spec.replicas"
kubectl apply -f - >/dev/null <<'EOF'
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: defaults-app
spec:
  scaleTargetRef: {apiVersion: core.spinkube.dev/v1alpha1, kind: SpinApp, name: defaults-app}
  minReplicas: 5
  maxReplicas: 8
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
EOF
replicas_are_5() { [ "$(kubectl get spinapp defaults-app -o jsonpath='{.spec.replicas}')" = 5 ]; }
ok "a HorizontalPodAutoscaler targeting the SpinApp raises it to minReplicas through /scale" \
	retry 60 replicas_are_5

diag "done in ${SECONDS}s"
tap_done
