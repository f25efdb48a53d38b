# Spin apps on the real node, for the e2e tests that run them: the test
# guests built, pushed to the cluster's registry with spinkube push, applied
# as SpinApps and reached through their Services. Source it after
# tests/lib/tap.sh and hack/lib.sh, with src (the project's root), build (the
# meson folder) and work (the test's temp folder) set; set reg (the cluster's
# registry, SPINKUBE_REGISTRY) once the cluster is up.
#
# Network safety: every request goes to an address that assert_local_addr
# (hack/node.sh) has checked to be this cluster's, just before it.

sk=$build/cli/spinkube

# guests_build: tests/guests/build into $work/guests; sets GUESTS. Bails out
# with the build's last lines when it fails.
guests_build() {
	GUESTS=$work/guests
	"$src/tests/guests/build" "$GUESTS" >"$work/guests.log" 2>&1 ||
		{ tail -n 20 "$work/guests.log" | sed 's/^/# /'; bail "tests/guests/build failed"; }
}

# push DIR NAME:TAG: spinkube push the Spin app in DIR to $reg/NAME:TAG.
push() { "$sk" push -q -f "$1" "$reg/$2" 2>>"$work/push.log"; }

# spinapp NAME IMAGE [EXTRA-YAML]: apply a SpinApp of $reg/IMAGE (replicas 1
# unless EXTRA says), in kubectl's current namespace.
spinapp() {
	{
		printf 'apiVersion: core.spinkube.dev/v1alpha1\nkind: SpinApp\nmetadata:\n  name: %s\nspec:\n  image: %s\n' "$1" "$reg/$2"
		printf '%s\n' "${3:-  replicas: 1}"
	} | kubectl apply -f - >/dev/null
}

# svc_ip APP: the ClusterIP of the app's Service.
svc_ip() { kubectl get svc "$1" -o jsonpath='{.spec.clusterIP}'; }

# ready APP [PATH]: the SpinApp is Ready and its Service answers PATH (/hello)
# with 200 (after kube-proxy has a local DNAT rule for its address).
ready() {
	local ip
	kubectl wait --for=condition=Ready "spinapp/$1" --timeout=180s >/dev/null 2>&1 || return 1
	ip=$(svc_ip "$1") && retry 30 assert_local_addr "$ip" || return 1
	retry 30 bash -c "[ \"\$(curl -s --noproxy '*' -m 5 -o /dev/null -w '%{http_code}' 'http://$ip${2:-/hello}')\" = 200 ]"
}

# get APP PATH [CURL-ARGS...]: the body through the app's Service.
get() {
	local ip
	ip=$(svc_ip "$1") && assert_local_addr "$ip" || return 1
	curl -s --noproxy '*' -m 10 "${@:3}" "http://$ip$2"
}

# code APP PATH [CURL-ARGS...]: the HTTP status through the app's Service.
code() { get "$1" "$2" -o /dev/null -w '%{http_code}' "${@:3}"; }

# pods_of APP: the names of the app's pods, one a line.
pods_of() { kubectl get pods -l "core.spinkube.dev/app-name=$1" -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}'; }
