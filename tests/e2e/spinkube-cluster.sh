#!/usr/bin/env bash
# Every SpinApp YAML spinkube scaffold writes (the want.yaml golden files of
# tests/golden/scaffold, which the unit suite pins to the program's output)
# applies to a real apiserver with our CRDs and passes their schema and CEL
# rules (kubectl apply --dry-run=server --validate=strict), Secrets, HPAs and
# KEDA ScaledObjects included (KEDA's CRD as a stand-in: KEDA is not part of
# the cluster). The HPA of --scale-target spinapp scales the SpinApp through
# its scale subresource. One scaffold broken by hand is refused, so the check
# can fail.
set -u
src=${SPINKUBE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$src/tests/lib/tap.sh"
. "$src/tests/lib/e2e.sh"
golden=$src/tests/golden/scaffold

name=e2e-cli-$$
work=$(mktemp -d "${TMPDIR:-/tmp}/scaffold-e2e.XXXXXX")
trap '"$src/hack/cluster-down" --name $name >/dev/null 2>&1; rm -rf "$work"' EXIT
cluster_up "$name"


ok "kubectl apply -f crd/" kubectl apply -f "$src/crd/"
kubectl apply -f "$src/tests/e2e/apps/keda-scaledobject-crd.yaml" >/dev/null
ok "the CRDs are Established" retry 60 established spinapps.core.spinkube.dev scaledobjects.keda.sh

n=0
for f in "$golden"/*/want.yaml; do
	c=$(basename "$(dirname "$f")")
	n=$((n + 1))
	ok "scaffold $c: kubectl apply --dry-run=server --validate=strict accepts it" \
		kubectl apply --dry-run=server --validate=strict -f "$f"
done
ok "every scaffold case was applied ($n)" test "$n" -gt 10

# --scale-target spinapp: the HPA drives the SpinApp's scale subresource.
# Applied for real: scaled down by hand to 1, the HPA raises it back to its
# minimum of 3 through /scale (no controller is needed for that).
f=$golden/hpa-scale-spinapp/want.yaml
ok "hpa-scale-spinapp: kubectl apply (for real)" kubectl apply -f "$f"
ok "... kubectl scale spinapp example-app --replicas 1 works through the scale subresource" \
	kubectl scale spinapp example-app --replicas 1
ok "... the HPA raises spec.replicas back to its minimum (3)" \
	retry 90 bash -c "[ \"\$(kubectl get spinapp example-app -o jsonpath='{.spec.replicas}')\" = 3 ]"
kubectl get hpa example-app-autoscaler -o jsonpath='{.status.conditions}' 2>/dev/null | head -c 600 | sed 's/^/# hpa conditions: /'; echo
kubectl delete -f "$f" >/dev/null 2>&1

# Broken by hand: replicas beside enableAutoscaling breaks a CEL rule.
sed 's/^  replicas: 2$/  replicas: 2\n  enableAutoscaling: true/' "$golden/default/want.yaml" >"$work/bad.yaml"
rc=0; kubectl apply --dry-run=server -f "$work/bad.yaml" >"$work/bad.out" 2>&1 || rc=$?
ok "a scaffold broken by hand (replicas with enableAutoscaling) is refused" test "$rc" -ne 0
ok "... by the CRD's rule: $(tail -n 1 "$work/bad.out")" grep -qi "replicas" "$work/bad.out"
tap_done
