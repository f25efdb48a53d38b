#!/usr/bin/env bash
# Upstream's runtime-config.yaml and redis.yaml shapes end to end on the real node
# (hack/cluster-up --real-node), one cluster for the whole script: the redis
# image (hack/images/build redis: Debian's redis-server, non-root, no shell)
# runs as a pod with a Service (tests/lib/redis.sh); a SpinApp of a Spin app
# built here (tests/guests/spin's kv and sqlite components) whose
# runtimeConfig names a key-value store of type redis (its URL from a
# Secret) and a SQLite database of type spin: the controller renders the
# runtime-config Secret (checked byte for byte), the app writes and reads
# keys through its Service, and redis-cli sees them in Redis and writes one
# the app reads; SQLite answers. Upstream's sample file itself, applied as
# is (its image name resolves to our registry, where the same app is pushed
# under it): its libSQL database stops the pod at start with a termination
# message naming it; without the libSQL database the app runs on Redis and
# the llmCompute table is a warning in its log; a component importing
# fermyon:spin/llm is refused at start naming the component and the
# interface. Upstream's redis.yaml, applied as is the same way with a
# Redis-trigger app built here (tests/guests/spin/redis-handler.c): Ready
# with no HTTP listener, a message published from the host handled by its
# pod (it publishes back; with a Redis key-value store added, it writes a
# key). Last, the Redis pod is scaled to 0: the app answers 500 with a
# message naming the store and the server, keeps serving SQLite and does
# not restart; the trigger app logs the lost connection and does not
# restart.
# Network safety: every request goes to loopback or to an address that
# assert_local_addr (hack/node.sh) has checked to be this cluster's; the
# app's own connections go to a ClusterIP whose kube-proxy rule is checked
# first (DNAT to the Redis pod, or REJECT once it has no endpoint).
set -u
src=${SPINKUBE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SPINKUBE_BUILD_DIR:-$src/build}
. "$src/tests/lib/tap.sh"
. "$src/hack/lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "1..0 # SKIP the real node needs root (bridge, iptables, cgroups)"; exit 0; }
command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
	bail "no redis-server or redis-cli: hack/bootstrap --only debs"
shim=$build/shim-bridge/shim/containerd-shim-spin-v2
ref=$(reference_dir)
sample=${ref:+$ref/samples/runtime-config.yaml}

name=e2e-rcfg-$$
work=$(mktemp -d)
. "$src/tests/lib/spinapps.sh"
. "$src/tests/lib/redis.sh"
[ -x "$shim" ] && [ -x "$sk" ] || bail "missing $shim or $sk: run ninja -C $build"
ctrl_pid=
guests_pid=
cleanup() {
	[ -n "$guests_pid" ] && kill "$guests_pid" 2>/dev/null && wait "$guests_pid" 2>/dev/null
	[ -n "$ctrl_pid" ] && kill "$ctrl_pid" 2>/dev/null
	"$src/hack/cluster-down" --name "$name" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

# --- the cluster; the guests built while it comes up (both mostly wait) -------------
( guests_build ) &
guests_pid=$!
GUESTS=$work/guests
out=$("$src/hack/cluster-up" --name "$name" --real-node --nodes 0 --shim "$shim" 2>"$work/up.err") || {
	sed 's/^/# /' "$work/up.err"
	bail "hack/cluster-up --name $name --real-node failed"
}
eval "$out"
reg=$SPINKUBE_REGISTRY
wait "$guests_pid" || bail "tests/guests/build failed"
guests_pid=

# The Spin apps: tests/guests/spin's components in manifests of their own.
mkdir -p "$work/app" "$work/llm"
cp "$GUESTS/spin/kv.wasm" "$GUESTS/spin/sqlite.wasm" "$work/app/"
cat >"$work/app/spin.toml" <<'EOF'
spin_manifest_version = 2
[application]
name = "rcfg"

[[trigger.http]]
route = "/kv"
component = "kv"

[[trigger.http]]
route = "/sqlite"
component = "sqlite"

[component.kv]
source = "kv.wasm"
key_value_stores = ["default"]

[component.sqlite]
source = "sqlite.wasm"
sqlite_databases = ["default"]
EOF
cp "$GUESTS/spin/llm.wasm" "$work/llm/"
printf 'spin_manifest_version = 2\n[application]\nname = "llm"\n[[trigger.http]]\nroute = "/llm"\ncomponent = "infer"\n[component.infer]\nsource = "llm.wasm"\nai_models = ["llama2-chat"]\n' \
	>"$work/llm/spin.toml"

kubectl apply -f "$src/crd/" >/dev/null
until kubectl wait --for=condition=Established --timeout=60s crd/spinapps.core.spinkube.dev \
	crd/spinappexecutors.core.spinkube.dev >/dev/null 2>&1; do sleep 1; done
kubectl apply -f "$src/crd/defaults/" >/dev/null
setsid "$build/controller/spin-controller" --metrics-bind-address=0 --health-probe-bind-address=0 --kubeconfig "$KUBECONFIG" </dev/null >"$work/controller.log" 2>&1 &
ctrl_pid=$!
diag "cluster up, controller started at ${SECONDS}s"

diag "the Redis pod: from ${SECONDS}s"
# --- the Redis pod ------------------------------------------------------------------
redis_image
ok "hack/images/build --push redis prints REPO@DIGEST" grep -Eqx "$reg/spinkube-c/redis@sha256:[0-9a-f]{64}" <<<"$REDIS_IMAGE"
rget() { curl -s --noproxy '*' --max-time 10 "http://$reg/v2/spinkube-c/redis/$1" "${@:2}"; }
manifest=$(rget "manifests/${REDIS_IMAGE#*@}" -H 'Accept: application/vnd.oci.image.manifest.v1+json')
config=$(rget "blobs/$(jq -r .config.digest <<<"$manifest")")
is "$(jq -c '[.config.Entrypoint, .config.Cmd, .config.User, (.config.ExposedPorts | keys)]' <<<"$config")" \
	'[["/redis-server"],["/etc/redis/redis.conf"],"65532:65532",["6379/tcp"]]' \
	"its config: /redis-server /etc/redis/redis.conf as 65532:65532, port 6379"
is "$(jq -r '.config.Labels | keys | join(" ")' <<<"$config")" \
	"org.opencontainers.image.created org.opencontainers.image.description org.opencontainers.image.licenses org.opencontainers.image.revision org.opencontainers.image.source org.opencontainers.image.title org.opencontainers.image.version" \
	"its OCI labels: created, description, licenses, revision, source, title, version"
is "$(jq -r '.config.Labels["org.opencontainers.image.version"]' <<<"$config")" \
	"$(dpkg-query -W -f='${Version}' redis-server)" "the version label is Debian's redis-server package's"
ok "no shell, no package manager, no passwd file in it" bash -c \
	"! find '$work/images/redis' | grep -Eq '(^|/)(sh|bash|dash|busybox|apt|apt-get|dpkg|passwd)\$'"
ok "the Redis Deployment and Service answer PING through the ClusterIP" redis_pod redis
[ "$(rcli redis PING)" = PONG ] || bail "no Redis pod: nothing below can pass"
rip=$(redis_ip redis)
rpod=$(kubectl get pods -l e2e-redis=redis -o jsonpath='{.items[0].metadata.name}')
ruid=$(kubectl get pod "$rpod" -o jsonpath='{.metadata.uid}')
rproc=
for p in $(pgrep -x redis-server); do grep -qF "$ruid" "/proc/$p/cgroup" 2>/dev/null && rproc=$p; done
is "$([ -n "$rproc" ] && awk '/^Uid:/ {print $2 "/" $3}' "/proc/$rproc/status")" 65532/65532 \
	"the pod's redis-server runs as 65532 (found by its pod's cgroup)"
is "$(rcli redis CONFIG GET save | tail -n 1)/$(rcli redis CONFIG GET appendonly | tail -n 1)" "/no" \
	"persistence is off (no snapshots, no AOF)"

diag "upstream's shape with our app: from ${SECONDS}s"
# --- upstream's shape with our app: Redis key-value store, SQLite -----------------------
ok "spinkube push: the key-value and SQLite app" push "$work/app" e2e/rcfg:v1
kubectl create secret generic rcfg-secrets --from-literal=redis-url="redis://$rip:6379" >/dev/null
spinapp app e2e/rcfg:v1 "  replicas: 1
  runtimeConfig:
    keyValueStores:
    - name: default
      type: redis
      options:
      - name: url
        valueFrom: {secretKeyRef: {name: rcfg-secrets, key: redis-url}}
    sqliteDatabases:
    - {name: default, type: spin}"
ok "the SpinApp is Ready and answers through its Service" ready app "/kv?keys"
rc_secret=$(kubectl get deploy app -o jsonpath='{.spec.template.spec.volumes[?(@.name=="spin-runtime-config")].secret.secretName}')
toml=$(kubectl get secret "$rc_secret" -o jsonpath='{.data.runtime-config\.toml}' | base64 -d)
is "$toml" "$(printf '[[config_provider]]\ntype = "env"\nprefix = "SPIN_VARIABLE_"\n\n[key_value_store.default]\ntype = "redis"\nurl = "redis://%s:6379"\n\n[sqlite_database.default]\ntype = "spin"' "$rip")" \
	"the rendered runtime-config Secret: the Redis store with the URL from the Secret, the SQLite database"
is "$(get app '/kv?key=k1' -X PUT --data-binary 'from the app')" ok "the app sets a key"
is "$(rcli redis GET k1)" "from the app" "... which is in Redis (redis-cli GET)"
rcli redis SET k2 "from redis-cli" >/dev/null
is "$(get app '/kv?key=k2')" "from redis-cli" "the app reads a key redis-cli set"
is "$(get app '/kv?keys' | paste -sd, -)" "k1,k2" "get-keys lists Redis's keys"
is "$(get app '/kv?key=k1' -X DELETE) $(rcli redis EXISTS k1)" "ok 0" "delete removes the Redis key"
is "$(code app '/kv?key=k1')" 404 "... and the app sees it gone"
get app /sqlite --data-binary 'CREATE TABLE t (n INTEGER, s TEXT)' >/dev/null
get app /sqlite --data-binary "INSERT INTO t VALUES (1, 'one')" >/dev/null
is "$(get app /sqlite --data-binary 'SELECT n, s FROM t' | tail -n 1)" "row integer:1|text:one" \
	"the SQLite database of type spin keeps a row"

diag "upstream's sample file: from ${SECONDS}s"
# --- upstream's sample file, as it is ---------------------------------------------------
if [ -z "$sample" ] || [ ! -f "$sample" ]; then
	skip "upstream's runtime-config.yaml sample" "$REFERENCE_MISSING"
else
	img=$(sed -n 's/^ *image: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$sample")
	# The node's containerd resolves every registry to the cluster's one:
	# the sample's image name is our app, pushed under that name.
	repo=${img#*/}
	ok "spinkube push: the same app as ${img}" push "$work/app" "$repo"
	kubectl create secret generic my-super-secret --from-literal=redis-full-url="redis://$rip:6379" \
		--from-literal=turso-token=not-a-token --from-literal=llm-token=not-a-token >/dev/null
	ok "kubectl apply -f runtime-config.yaml (upstream's sample, unchanged)" kubectl apply -f "$sample"
	sapp=$(sed -n '0,/^  name: */s/^  name: *//p' "$sample")
	ok "the controller renders its runtime-config Secret" retry 60 bash -c \
		"kubectl get deploy $sapp -o jsonpath='{.spec.template.spec.volumes[?(@.name==\"spin-runtime-config\")].secret.secretName}' | grep -q ."
	s_secret=$(kubectl get deploy "$sapp" -o jsonpath='{.spec.template.spec.volumes[?(@.name=="spin-runtime-config")].secret.secretName}')
	stoml=$(kubectl get secret "$s_secret" -o jsonpath='{.data.runtime-config\.toml}' | base64 -d)
	is "$(grep -c '^\[' <<<"$stoml")" 4 "... with its four tables"
	ok "... the libSQL database with the token from the Secret" \
		grep -qzF "$(printf '[sqlite_database.default]\ntype = "libsql"\nurl = "https://sensational-penguin-ahacker.libsql.example.com"\ntoken = "not-a-token"\n')" <<<"$stoml"
	ok "... the remote LLM with its token" \
		grep -qzF "$(printf '[llm_compute]\ntype = "remote_http"\nurl = "https://llm-app.fermyon.app"\nauth_token = "not-a-token"\n')" <<<"$stoml"
	ok "... the Redis store with the URL from the Secret" \
		grep -qzF "$(printf '[key_value_store.default]\ntype = "redis"\nurl = "redis://%s:6379"\n' "$rip")" <<<"$stoml"
	# term_msg APP: the termination message of the app's (newest) pod.
	term_msg() {
		kubectl get pods -l "core.spinkube.dev/app-name=$1" --sort-by=.metadata.creationTimestamp -o json |
			jq -r '.items[-1].status.containerStatuses[0] | (.state.terminated.message // .lastState.terminated.message // "")'
	}
	ok "its pod stops at start: the libSQL database is not served" retry 90 bash -c \
		"$(declare -f term_msg); term_msg $sapp | grep -q 'sqlite_database.default.*libsql'"
	diag "termination message: $(term_msg "$sapp")"
	# stopped APP: the app's newest pod is not running (stopped, or waiting
	# to be started again).
	stopped() {
		kubectl get pods -l "core.spinkube.dev/app-name=$1" --sort-by=.metadata.creationTimestamp -o json |
			jq -e '.items[-1].status.containerStatuses[0].state | has("running") | not' >/dev/null
	}
	ok "the SpinApp is not Ready" retry 60 bash -c \
		"$(declare -f stopped); stopped $sapp && [ \"\$(kubectl get spinapp $sapp -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}')\" = False ]"
	diag "its Ready condition: $(kubectl get spinapp "$sapp" -o jsonpath='{.status.conditions[?(@.type=="Ready")].message}')"
	kubectl patch spinapp "$sapp" --type json -p '[{"op": "remove", "path": "/spec/runtimeConfig/sqliteDatabases"}]' >/dev/null
	ok "without the libSQL database the sample's app is Ready" ready "$sapp" "/kv?keys"
	rcli redis SET sample-key "seen by the sample" >/dev/null
	is "$(get "$sapp" '/kv?key=sample-key')" "seen by the sample" "... and its default store is the Redis pod"
	ok "... its log says llmCompute is not used" bash -c \
		"kubectl logs deploy/$sapp | grep -q 'llm_compute is not used'"

	ok "spinkube push: an app whose component imports fermyon:spin/llm" push "$work/llm" e2e/llm:v1
	spinapp llm e2e/llm:v1 "  replicas: 1
  runtimeConfig:
    llmCompute:
      type: remote_http
      options:
      - {name: url, value: 'https://llm-app.fermyon.app'}
      - name: auth_token
        valueFrom: {secretKeyRef: {name: my-super-secret, key: llm-token}}"
	ok "its pod stops at start naming the component and fermyon:spin/llm" retry 90 bash -c \
		"$(declare -f term_msg); term_msg llm | grep -q 'component \"infer\".*fermyon:spin/llm@2.0.0'"
	diag "termination message: $(term_msg llm)"
fi

diag "upstream's redis.yaml: from ${SECONDS}s"
# --- upstream's redis.yaml: an app of one Redis trigger ---------------------------------
rsample=${ref:+$ref/samples/redis.yaml}
if [ -z "$rsample" ] || [ ! -f "$rsample" ]; then
	skip "upstream's redis.yaml sample" "$REFERENCE_MISSING"
else
	# Our Redis handler (tests/guests/spin/redis-handler.c) as the sample's
	# image: subscribed to the channel jobs of the Redis pod, its outbound
	# Redis to the same server.
	mkdir -p "$work/trig"
	cp "$GUESTS/spin/redis-handler.wasm" "$work/trig/"
	cat >"$work/trig/spin.toml" <<EOF
spin_manifest_version = 2
[application]
name = "redis-sample"
[application.trigger.redis]
address = "redis://$rip:6379"

[[trigger.redis]]
channel = "jobs"
component = "handler"

[component.handler]
source = "redis-handler.wasm"
key_value_stores = ["default"]
allowed_outbound_hosts = ["redis://$rip:6379"]
[component.handler.variables]
tag = "h"
redis_url = "redis://$rip:6379"
EOF
	rimg=$(sed -n 's/^ *image: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$rsample")
	rapp=$(sed -n '0,/^  name: */s/^  name: *//p' "$rsample")
	ok "spinkube push: a Redis-trigger app as ${rimg}" push "$work/trig" "${rimg#*/}"
	ok "kubectl apply -f redis.yaml (upstream's sample, unchanged)" kubectl apply -f "$rsample"
	ok "the Redis-only SpinApp is Ready" kubectl wait --for=condition=Ready "spinapp/$rapp" --timeout=120s
	ok "its pod subscribes, serving no HTTP listener" retry 30 bash -c \
		"kubectl logs deploy/$rapp | grep -q 'msg=\"redis subscribed\"' && kubectl logs deploy/$rapp | grep -q 'listen=none redis_triggers=1'"
	ok "the controller gives it a Service as for any SpinApp" kubectl get svc "$rapp"
	assert_local_addr "$rip" || bail "the Redis ClusterIP $rip is not this cluster's"
	timeout 30 redis-cli -h "$rip" -p 6379 --raw SUBSCRIBE out >"$work/out" 2>&1 &
	sub_pid=$!
	retry 10 grep -qx out "$work/out"
	is "$(rcli redis PUBLISH jobs 'pub out hello')" 1 "redis-cli PUBLISH from the host reaches one subscriber, the app's"
	ok "the app handles the message: it publishes h:hello, seen by redis-cli SUBSCRIBE" retry 20 grep -qx 'h:hello' "$work/out"
	kill "$sub_pid" 2>/dev/null; wait "$sub_pid" 2>/dev/null
	# With a Redis key-value store from the runtime config, "set K V"
	# writes h:K into Redis.
	kubectl patch spinapp "$rapp" --type merge -p "{\"spec\":{\"runtimeConfig\":{\"keyValueStores\":[{\"name\":\"default\",\"type\":\"redis\",\"options\":[{\"name\":\"url\",\"value\":\"redis://$rip:6379\"}]}]}}}" >/dev/null
	ok "with a Redis key-value store in its runtimeConfig the app rolls out" kubectl rollout status "deploy/$rapp" --timeout=120s
	ok "... one subscriber again (the old pod gone)" retry 60 bash -c \
		"[ \"\$(kubectl get pods -l core.spinkube.dev/app-name=$rapp -o name | wc -l)\" = 1 ] && [ \"\$(timeout 5 redis-cli -h $rip PUBSUB NUMSUB jobs | tail -n 1)\" = 1 ]"
	rcli redis PUBLISH jobs 'set k1 from the trigger' >/dev/null
	ok "a message 'set k1 ...' makes the app write h:k1 into Redis" retry 20 bash -c \
		"[ \"\$(timeout 5 redis-cli -h $rip GET h:k1)\" = 'from the trigger' ]"
fi

diag "Redis down: from ${SECONDS}s"
# --- Redis down ----------------------------------------------------------------------------
apod=$(pods_of app | head -1)
restarts0=$(kubectl get pod "$apod" -o jsonpath='{.status.containerStatuses[0].restartCount}')
tpod=
[ -n "${rapp:-}" ] && tpod=$(pods_of "$rapp" | head -1)
kubectl scale deploy/redis --replicas=0 >/dev/null
ok "the Redis pod is gone" retry 60 bash -c "[ -z \"\$(kubectl get pods -l e2e-redis=redis -o name)\" ]"
# With no endpoint kube-proxy REJECTs the ClusterIP: the app's connection
# stays on this machine.
ok "kube-proxy rejects the Redis ClusterIP" retry 30 bash -c \
	"iptables -S KUBE-SERVICES | grep -- '-d $rip/32 .*-j REJECT'"
is "$(get app '/kv?key=k2' -w '\n%{http_code}')" \
	"$(printf 'other: key-value store "default" (redis://%s:6379/0): cannot connect: Connection refused\n\n500' "$rip")" \
	"with Redis down the app answers 500 naming the store, the server and the error"
is "$(get app /sqlite --data-binary 'SELECT s FROM t' | tail -n 1)" "row text:one" "... and goes on serving SQLite"
is "$(kubectl get pod "$apod" -o jsonpath='{.status.containerStatuses[0].restartCount}')" "$restarts0" "... without a restart"
if [ -n "$tpod" ]; then
	ok "the Redis-trigger app logs the lost connection and retries" retry 20 bash -c \
		"kubectl logs $tpod | grep -q 'msg=\"redis connection lost\" address=redis://$rip:6379'"
	is "$(kubectl get pod "$tpod" -o jsonpath='{.status.containerStatuses[0].restartCount}')" 0 "... and does not restart either"
fi

diag "done in ${SECONDS}s"
tap_done
