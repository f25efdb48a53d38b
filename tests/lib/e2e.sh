# Helpers for the e2e tests that make their own cluster. Source it after
# tests/lib/tap.sh, with src set to the project's root.

# cluster_up NAME [CLUSTER-UP ARGS...]: start cluster NAME with hack/cluster-up
# and take its exports (KUBECONFIG, PATH, ...); bail out with its log when it
# does not come up. The caller's EXIT trap stops it with hack/cluster-down.
cluster_up() {
	local name=$1 out errf
	shift
	errf=$(mktemp)
	out=$("$src/hack/cluster-up" --name "$name" "$@" 2>"$errf") || {
		sed 's/^/# /' "$errf"
		rm -f "$errf"
		bail "hack/cluster-up --name $name failed"
	}
	rm -f "$errf"
	eval "$out"
	diag "cluster $name up in ${SECONDS}s"
}

# established CRD...: every CRD named has condition Established True (right
# after creation the status has no conditions yet, which kubectl wait rejects).
established() {
	local c
	for c in "$@"; do
		[ "$(kubectl get crd "$c" -o jsonpath='{.status.conditions[?(@.type=="Established")].status}' 2>/dev/null)" = True ] || return 1
	done
}
