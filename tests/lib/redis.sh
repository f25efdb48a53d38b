# A Redis server in the real node's cluster, for the e2e tests that need one:
# the image hack/images/build makes from Debian's redis-server, pushed to the
# cluster's registry, run as a Deployment with a Service in kubectl's current
# namespace. Source it after tests/lib/tap.sh and hack/lib.sh, with src (the
# project's root), build (the meson folder), work (the test's temp folder)
# and reg (the cluster's registry, SPINKUBE_REGISTRY) set.
#
# The image has no shell, so the tests talk to it with the host's redis-cli
# through the Service's ClusterIP.
# Network safety: every redis-cli call goes to an address that
# assert_local_addr (hack/node.sh) has checked to be this cluster's, just
# before it.

# redis_image: build and push the redis image; sets REDIS_IMAGE
# (HOST:PORT/spinkube-c/redis@sha256:...). Bails out with the build's last
# lines when it fails.
redis_image() {
	REDIS_IMAGE=$("$src/hack/images/build" --build-dir "$build" --push "$reg" "$work/images" redis 2>"$work/redis-image.log") ||
		{ tail -n 20 "$work/redis-image.log" | sed 's/^/# /'; bail "hack/images/build --push $reg redis failed"; }
}

# redis_pod NAME: a Deployment NAME of one $REDIS_IMAGE pod (non-root,
# read-only root, no capabilities) and a Service NAME on port 6379; waits
# (bounded) until its pod is Ready and answers PING through the ClusterIP.
redis_pod() {
	kubectl apply -f - >/dev/null <<EOF || return 1
apiVersion: apps/v1
kind: Deployment
metadata: {name: $1}
spec:
  replicas: 1
  selector: {matchLabels: {e2e-redis: $1}}
  template:
    metadata: {labels: {e2e-redis: $1}}
    spec:
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        runAsGroup: 65532
        seccompProfile: {type: RuntimeDefault}
      containers:
      - name: redis
        image: $REDIS_IMAGE
        ports: [{name: redis, containerPort: 6379}]
        readinessProbe: {tcpSocket: {port: 6379}, periodSeconds: 1}
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL]}
---
apiVersion: v1
kind: Service
metadata: {name: $1}
spec:
  selector: {e2e-redis: $1}
  ports: [{name: redis, port: 6379, targetPort: 6379}]
EOF
	kubectl rollout status "deploy/$1" --timeout=90s >/dev/null 2>&1 || return 1
	retry 30 assert_local_addr "$(redis_ip "$1")" || return 1
	retry 30 bash -c "[ \"\$(timeout 5 redis-cli -h '$(redis_ip "$1")' -p 6379 PING)\" = PONG ]"
}

# redis_ip NAME: the ClusterIP of the Service NAME.
redis_ip() { kubectl get svc "$1" -o jsonpath='{.spec.clusterIP}'; }

# rcli NAME ARG...: redis-cli ARG... to the Redis behind the Service NAME
# (at most 10 s).
rcli() {
	local ip
	ip=$(redis_ip "$1") && assert_local_addr "$ip" || return 1
	timeout 10 redis-cli -h "$ip" -p 6379 "${@:2}"
}
