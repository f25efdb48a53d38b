#!/usr/bin/env bash
# The project's own images and hack/push-image, against Debian's
# docker-registry on a loopback port: hack/images/build makes static pause and
# httpd binaries; httpd serves (host name, /healthz, 404, 431 for an oversized
# head, 408 for a stalled one, SIGTERM exits 0) and pause reaps a child and
# exits 0 on SIGTERM and SIGINT without spinning; a pushed image reads back
# with the right media type and digests; a second push uploads nothing and
# gives the same digest; a changed file gives a new layer; --label fills
# config.Labels in key order; the OCI layout tar
# is valid, and a private containerd (when hack/bootstrap built it; root)
# imports both tars and runs both images from their configs, each exiting 0
# on SIGTERM; a registry that is down, one that is not loopback, one that wants
# credentials, a read-only one and a missing DIR each fail in one line. Only
# loopback traffic; the registries are stopped and the temp folder removed.
set -u
src=${SPINKUBE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$src/tests/lib/tap.sh"
. "$src/hack/lib.sh"

if ! command -v docker-registry >/dev/null; then
	echo "1..0 # SKIP docker-registry is not installed (hack/bootstrap --only debs installs it)"
	exit 0
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/push-image-e2e.XXXXXX")
pids=()
C=
cleanup() {
	local p t
	# Containers first, so that no shim or container outlives its containerd.
	if [ -n "$C" ] && [ -S "$C/sock" ]; then
		for t in e2e-httpd e2e-pause; do
			"$ctd_bin/ctr" --address "$C/sock" -n k8s.io tasks kill -s SIGKILL "$t" >/dev/null 2>&1
			"$ctd_bin/ctr" --address "$C/sock" -n k8s.io tasks delete -f "$t" >/dev/null 2>&1
			"$ctd_bin/ctr" --address "$C/sock" -n k8s.io containers delete "$t" >/dev/null 2>&1
		done
	fi
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	[ -z "$C" ] || unmount_under "$C"
	rm -rf "$T"
}
trap cleanup EXIT

push() { "$src/hack/push-image" "$@"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
# wait_for SECONDS COMMAND...: run COMMAND every 0.1 s until it succeeds.
wait_for() {
	local n=$(($1 * 10))
	shift
	until "$@" >/dev/null 2>&1; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.1
	done
}
# one_error FILE PATTERN: FILE (stderr) holds exactly one error line, the
# last one, and it matches PATTERN.
one_error() { [ "$(grep -c '^error: ' "$1")" -eq 1 ] && tail -n 1 "$1" | grep -q -- "^error: .*$2"; }

# start_registry NAME [YAML...]: a docker-registry on a free loopback port
# with its storage and log under $T/NAME; sets PORT and REG_LOG. Extra YAML
# lines follow the storage block (indent them by two to extend it); REG_HTTP
# is one more line of its http block.
start_registry() {
	local n=$1 port
	shift
	port=$(free_port)
	mkdir -p "$T/$n"
	{
		printf 'version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: false\n'
		printf 'storage:\n  filesystem:\n    rootdirectory: %s\n' "$T/$n/data"
		printf '%s\n' "$@"
		printf 'http:\n  addr: 127.0.0.1:%s\n' "$port"
		[ -z "${REG_HTTP:-}" ] || printf '  %s\n' "$REG_HTTP"
	} >"$T/$n/config.yml"
	docker-registry serve "$T/$n/config.yml" >"$T/$n/log" 2>&1 &
	pids+=($!)
	PORT=$port
	REG_LOG=$T/$n/log
	wait_for 10 bash -c "curl -s -o /dev/null -w '%{http_code}' --noproxy '*' http://127.0.0.1:$port/v2/ | grep -qv 000" ||
		{ sed 's/^/# /' "$T/$n/log"; bail "docker-registry $n did not come up on 127.0.0.1:$port"; }
}
posts() { grep -c '"POST /v2/' "$REG_LOG"; }

# --- the images' programs ---------------------------------------------------

ok "hack/images/build compiles pause and httpd" "$src/hack/images/build" "$T/img"
for b in pause httpd; do
	f=$T/img/$b/$b
	ok "$b is statically linked (file)" bash -c "file -b '$f' | grep -q 'statically linked'"
	ok "$b has no program interpreter and no shared libraries (readelf)" \
		bash -c "! readelf -ld '$f' | grep -Eq 'INTERP|NEEDED'"
	is "$(ls -A "$T/img/$b")" "$b" "the $b folder holds only $b"
done

httpd=$T/img/httpd/httpd
"$httpd" --timeout 1 127.0.0.1:0 >"$T/httpd.out" 2>"$T/httpd.err" &
hpid=$!
pids+=($hpid)
wait_for 5 grep -q 'listening on' "$T/httpd.err"
hport=$(sed -n 's/^httpd: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/httpd.err")
[ -n "$hport" ] || { sed 's/^/# /' "$T/httpd.err"; bail "httpd did not start"; }
u=http://127.0.0.1:$hport
c() { curl -s --noproxy '*' --max-time 5 "$@"; }
is "$(c "$u/")" "$(hostname)" "httpd: GET / answers the host name"
is "$(c "$u/healthz")" ok "httpd: GET /healthz answers ok"
is "$(c -o /dev/null -w '%{http_code}' "$u/healthz")" 200 "httpd: /healthz is 200"
is "$(c -o /dev/null -w '%{http_code}' "$u/nope")" 404 "httpd: anything else is 404"
is "$(c -o /dev/null -w '%{http_code}' -X POST -d x "$u/")" 405 "httpd: POST is 405"
is "$(c -I -o /dev/null -w '%{http_code} %{size_download}' "$u/")" "200 0" "httpd: HEAD / has no body"
is "$(c -o /dev/null -o /dev/null -w '%{num_connects}' "$u/" "$u/healthz" | tr -d '\n')" 10 "httpd: keep-alive (two requests, one connection)"
big=$(head -c 9000 /dev/zero | tr '\0' a)
is "$(c -o /dev/null -w '%{http_code}' -H "X-Big: $big" "$u/")" 431 "httpd: a head over 8 KiB gets 431"
# A client that sends half a head and stalls gets 408 after the timeout (1 s).
stalled=$(timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$hport; printf 'GET / HTTP/1.1\r\nHost: x\r\n' >&3; head -n 1 <&3" | tr -d '\r')
is "$stalled" "HTTP/1.1 408 Request Timeout" "httpd: a stalled head gets 408 (the server is not held)"
is "$(c "$u/healthz")" ok "httpd: still serving after the stalled client"
is "$(grep -c '"GET /healthz HTTP/1.1" 200' "$T/httpd.out")" 4 "httpd: one stdout line per request"
ok "httpd: the oversized head is logged as 431" grep -q '" 431 ' "$T/httpd.out"
kill -TERM "$hpid"
wait "$hpid"
is "$?" 0 "httpd: SIGTERM exits 0"
ok "httpd: says it stopped on SIGTERM" grep -q 'stopping on SIGTERM' "$T/httpd.err"

# pause inherits a child through exec; when the child exits it must be
# reaped. The same setup with sleep as PID holder shows the zombie that the
# check would see.
pause=$T/img/pause/pause
zombies() { ps -o stat= --ppid "$1" | grep -c '^Z'; }
sh -c 'sleep 0.3 & exec sleep 3' &
cpid=$!
pids+=($cpid)
sleep 1
is "$(zombies "$cpid")" 1 "control: a parent that does not reap leaves a zombie"
kill "$cpid" 2>/dev/null
wait "$cpid" 2>/dev/null
sh -c "sleep 0.3 & exec '$pause'" &
ppid_=$!
pids+=($ppid_)
sleep 0.15
is "$(ps -o comm= --ppid "$ppid_")" sleep "pause has the inherited child"
sleep 0.85
is "$(zombies "$ppid_")" 0 "pause reaped its child (no zombie)"
# utime + stime in clock ticks (10 ms): a busy loop would show about 100.
ok "pause used no CPU time while waiting (no busy loop)" [ "$(awk '{print $14 + $15}' "/proc/$ppid_/stat")" -lt 5 ]
kill -TERM "$ppid_"
wait "$ppid_"
is "$?" 0 "pause: SIGTERM exits 0"
"$pause" &
ppid_=$!
pids+=($ppid_)
sleep 0.1
kill -INT "$ppid_"
wait "$ppid_"
is "$?" 0 "pause: SIGINT exits 0"

# --- push-image against a registry -------------------------------------------

ok "push-image --help shows the usage and the network rule" \
	bash -c "'$src/hack/push-image' --help | grep -q 'hack/push-image \[OPTIONS\] DIR NAME:TAG' && '$src/hack/push-image' --help | grep -q 'only to the loopback interface'"

start_registry reg
R=127.0.0.1:$PORT
img=(--entrypoint /httpd --port 8080 --env GREETING=hi)
push "${img[@]}" --registry "$R" "$T/img/httpd" spinkube-c/httpd:test >"$T/out1" 2>"$T/err1"
is "$?" 0 "push-image pushes httpd"
d1=$(cat "$T/out1")
ok "stdout is one line, the manifest digest" bash -c "[ \$(wc -l <'$T/out1') -eq 1 ] && grep -Eqx 'sha256:[0-9a-f]{64}' '$T/out1'"
is "$(posts)" 2 "the first push starts two uploads (layer, config)"

g() { curl -s --noproxy '*' --max-time 10 "$@"; }
g -D "$T/mh" -o "$T/manifest" -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
	"http://$R/v2/spinkube-c/httpd/manifests/test"
hdr() { tr -d '\r' <"$T/mh" | sed -n "s/^$1: //Ip"; }
is "$(hdr Content-Type)" application/vnd.oci.image.manifest.v1+json "the manifest reads back with the OCI media type"
is "sha256:$(sha "$T/manifest")" "$d1" "the manifest's sha256 is the printed digest"
is "$(hdr Docker-Content-Digest)" "$d1" "Docker-Content-Digest is the printed digest"
is "$(jq -r '.schemaVersion, .mediaType, .config.mediaType, (.layers | length), .layers[0].mediaType' "$T/manifest" | tr '\n' ' ')" \
	"2 application/vnd.oci.image.manifest.v1+json application/vnd.oci.image.config.v1+json 1 application/vnd.oci.image.layer.v1.tar+gzip " \
	"the manifest: schema 2, OCI config, one gzip layer"
cfgd=$(jq -r .config.digest "$T/manifest")
layd=$(jq -r '.layers[0].digest' "$T/manifest")
g -o "$T/config" "http://$R/v2/spinkube-c/httpd/blobs/$cfgd"
g -o "$T/layer" "http://$R/v2/spinkube-c/httpd/blobs/$layd"
is "sha256:$(sha "$T/config")" "$cfgd" "the config blob is fetchable and matches its digest"
is "sha256:$(sha "$T/layer")" "$layd" "the layer blob is fetchable and matches its digest"
is "$(stat -c %s "$T/layer")" "$(jq -r '.layers[0].size' "$T/manifest")" "the layer's size is the manifest's"
is "$(jq -c '[.architecture, .os, .config.Entrypoint, .config.ExposedPorts, (.config.Env | index("GREETING=hi") != null), .rootfs.type]' "$T/config")" \
	'["amd64","linux",["/httpd"],{"8080/tcp":{}},true,"layers"]' "the config: amd64/linux, Entrypoint, ExposedPorts, Env, rootfs"
is "$(jq -r '.rootfs.diff_ids[0]' "$T/config")" "sha256:$(gzip -dc "$T/layer" | sha256sum | cut -d' ' -f1)" \
	"rootfs.diff_ids[0] is the sha256 of the uncompressed layer"
is "$(gzip -dc "$T/layer" | tar -tvf - --numeric-owner | awk '{print $1, $2, $4, $5, $6}')" \
	"-rwxr-xr-x 0/0 1970-01-01 00:00 httpd" "the layer holds /httpd, owner 0/0, mtime 0, mode 755"

push "${img[@]}" --registry "$R" "$T/img/httpd" spinkube-c/httpd:test >"$T/out2" 2>"$T/err2"
is "$?" 0 "a second push succeeds"
is "$(cat "$T/out2")" "$d1" "it prints the same digest (deterministic)"
is "$(posts)" 2 "it uploads no blob (no new POST in the registry's access log)"
is "$(grep -c 'already in the registry, skipped' "$T/err2")" 2 "it says both blobs were skipped"

cp -a "$T/img/httpd" "$T/httpd2"
touch -d @12345 "$T/httpd2/httpd" "$T/httpd2"
chmod 0700 "$T/httpd2/httpd"
push "${img[@]}" "$T/httpd2" spinkube-c/httpd:test >"$T/out3" 2>/dev/null
is "$(cat "$T/out3")" "$d1" "a copy with other times and mode 0700 gives the same digest (without pushing)"
echo data >"$T/httpd2/data.txt"
push "${img[@]}" --registry "$R" "$T/httpd2" spinkube-c/httpd:v2 >"$T/out4" 2>/dev/null
is "$?" 0 "pushing a changed folder succeeds"
g -o "$T/manifest2" -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$R/v2/spinkube-c/httpd/manifests/v2"
ok "a changed file gives a new layer digest" [ "$(jq -r '.layers[0].digest' "$T/manifest2")" != "$layd" ]
ok "and a new manifest digest" [ "$(cat "$T/out4")" != "$d1" ]
is "$(posts)" 4 "the changed image uploads its new layer and config"

# A layer over the 1 MiB cap on error bodies: its HEAD answer's
# Content-Length is the blob's size, and a second push must still skip it.
mkdir "$T/big"
head -c 2097152 /dev/urandom >"$T/big/data"
push --registry "$R" "$T/big" spinkube-c/big:v1 >"$T/bo1" 2>/dev/null
is "$?" 0 "a 2 MiB layer pushes"
push --registry "$R" "$T/big" spinkube-c/big:v1 >"$T/bo2" 2>"$T/be2"
is "$?" 0 "a second push of it succeeds"
ok "... with the same digest, skipping both blobs" bash -c \
	"[ -s '$T/bo1' ] && cmp -s '$T/bo1' '$T/bo2' && [ \$(grep -c 'already in the registry, skipped' '$T/be2') -eq 2 ]"

# A registry that answers with relative upload Locations.
REG_HTTP='relativeurls: true' start_registry relative
push "${img[@]}" --registry "127.0.0.1:$PORT" "$T/img/httpd" spinkube-c/httpd:test >"$T/out6" 2>"$T/err6"
is "$?" 0 "pushing to a registry with relative Locations succeeds"
is "$(cat "$T/out6")" "$d1" "with the same digest"
ok "the registry did answer with a relative Location" \
	bash -c "curl -s -D - -o /dev/null -X POST --noproxy '*' http://127.0.0.1:$PORT/v2/x/blobs/uploads/ | tr -d '\r' | grep -q '^Location: /v2/'"
is "$(grep -c '"PUT /v2/spinkube-c/httpd/blobs/uploads/[^ ]*digest=sha256:' "$REG_LOG")" 2 "both blobs went up by PUT with ?digest= to the relative Location"

# --- the OCI image-layout tar ------------------------------------------------

push "${img[@]}" --oci-tar "$T/httpd.tar" "$T/img/httpd" spinkube-c/httpd:test >"$T/out5" 2>/dev/null
is "$?" 0 "--oci-tar writes a layout tar"
is "$(cat "$T/out5")" "$d1" "it prints the pushed image's digest"
push "${img[@]}" --oci-tar "$T/httpd-again.tar" "$T/img/httpd" spinkube-c/httpd:test >/dev/null 2>&1
ok "the tar itself is deterministic" cmp -s "$T/httpd.tar" "$T/httpd-again.tar"
mkdir "$T/layout"
tar -xf "$T/httpd.tar" -C "$T/layout"
L=$T/layout
is "$(jq -r .imageLayoutVersion "$L/oci-layout")" 1.0.0 "oci-layout says 1.0.0"
is "$(jq -r '.manifests | length' "$L/index.json")" 1 "index.json has one manifest"
is "$(jq -r '.manifests[0].digest' "$L/index.json")" "$d1" "index.json points at the manifest"
is "$(jq -r '.manifests[0].size' "$L/index.json")" "$(stat -c %s "$L/blobs/sha256/${d1#sha256:}")" "index.json has the manifest's size"
is "$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$L/index.json")" \
	docker.io/spinkube-c/httpd:test "the ref.name annotation is the name containerd's CRI looks up"
is "$(jq -r '.manifests[0].mediaType' "$L/index.json")" application/vnd.oci.image.manifest.v1+json "index.json: the manifest's media type"
bad=0
for f in "$L"/blobs/sha256/*; do [ "$(sha "$f")" = "$(basename "$f")" ] || bad=$((bad + 1)); done
is "$bad" 0 "every blob's sha256 matches its name"
is "$(ls "$L/blobs/sha256" | sort | tr '\n' ' ')" "$(printf '%s\n' "${d1#sha256:}" "${cfgd#sha256:}" "${layd#sha256:}" | sort | tr '\n' ' ')" \
	"the tar holds exactly the manifest, config and layer"
push --oci-tar "$T/p.tar" --registry "$R" --entrypoint /pause "$T/img/pause" spinkube-c/pause:3.10 >/dev/null 2>&1
is "$(tar -xOf "$T/p.tar" index.json | jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]')" \
	"$R/spinkube-c/pause:3.10" "with --registry the tar names the image as pulled from it"
push --oci-tar "$T/k.tar" --entrypoint /pause "$T/img/pause" registry.k8s.io/pause:3.10 >/dev/null 2>&1
is "$(tar -xOf "$T/k.tar" index.json | jq -r '.manifests[0].annotations["io.containerd.image.name"]')" \
	registry.k8s.io/pause:3.10 "a name that starts with a host keeps it"

# --label: config.Labels, sorted by key whatever the order given.
push "${img[@]}" --label org.example.b=2 --label 'org.example.a=x=y z' --oci-tar "$T/l1.tar" "$T/img/httpd" spinkube-c/httpd:l >"$T/lo1" 2>/dev/null
push "${img[@]}" --label 'org.example.a=x=y z' --label org.example.b=2 --oci-tar "$T/l2.tar" "$T/img/httpd" spinkube-c/httpd:l >"$T/lo2" 2>/dev/null
mkdir "$T/ll"
tar -xf "$T/l1.tar" -C "$T/ll"
lm=$(jq -r '.manifests[0].digest' "$T/ll/index.json")
lc=$(jq -r .config.digest "$T/ll/blobs/sha256/${lm#sha256:}")
is "$(jq -c .config.Labels "$T/ll/blobs/sha256/${lc#sha256:}")" '{"org.example.a":"x=y z","org.example.b":"2"}' \
	"--label: config.Labels holds both, sorted by key, the value split at the first '='"
ok "--label: the order on the command line does not change the digest" \
	bash -c "[ -s '$T/lo1' ] && cmp -s '$T/lo1' '$T/lo2'"
ok "--label: a label changes the digest" [ "$(cat "$T/lo1")" != "$d1" ]

# --- the layout tars in a private containerd ---------------------------------

# containerd, ctr and runc from hack/bootstrap (components containerd and
# runc), run as root with their own root, state and socket under $T: import
# the tars, run both images, stop them with SIGTERM. Skipped without them.
ctd_bin= runc_dir=
if declare -F containerd_bin >/dev/null && declare -F runc_bin >/dev/null; then
	ctd_bin=$(dirname "$(containerd_bin containerd)")
	runc_dir=$(dirname "$(runc_bin)")
else
	# Before hack/lib.sh knew them: the newest of each in the cache folder.
	ctd_bin=$(ls -d "$SPINKUBE_CACHE"/containerd-v*/bin 2>/dev/null | sort -V | tail -n 1)
	runc_dir=$(ls -d "$SPINKUBE_CACHE"/runc-v*/bin 2>/dev/null | sort -V | tail -n 1)
fi
if [ "$(id -u)" -ne 0 ]; then
	ctd_skip="needs root"
elif [ ! -x "$ctd_bin/containerd" ] || [ ! -x "$ctd_bin/ctr" ] || [ ! -x "$ctd_bin/containerd-shim-runc-v2" ] || [ ! -x "$runc_dir/runc" ]; then
	ctd_skip="containerd and runc are not built (hack/bootstrap --only containerd --only runc)"
else
	ctd_skip=
fi
if [ -n "$ctd_skip" ]; then
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N # SKIP ctr images import and run: $ctd_skip"
else
	C=$T/ctd
	mkdir -p "$C"
	cat >"$C/config.toml" <<EOF
version = 3
root = "$C/root"
state = "$C/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime", "io.containerd.cri.v1.images"]
[grpc]
  address = "$C/sock"
[ttrpc]
  address = "$C/sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
EOF
	PATH=$ctd_bin:$runc_dir:$PATH "$ctd_bin/containerd" --config "$C/config.toml" >"$C/log" 2>&1 &
	ctd_pid=$!
	pids+=($ctd_pid)
	ctr() { "$ctd_bin/ctr" --address "$C/sock" -n k8s.io "$@"; }
	wait_for 10 ctr version || { sed 's/^/# /' "$C/log" | tail -n 20; bail "the private containerd did not start"; }
	cport=$(free_port)
	push --entrypoint /httpd --cmd "127.0.0.1:$cport" --oci-tar "$T/httpd-ctr.tar" "$T/img/httpd" spinkube-c/httpd:ctr >/dev/null 2>&1
	ok "ctr images import takes the httpd layout tar" ctr images import "$T/httpd-ctr.tar"
	ok "ctr images import takes the pause layout tar" ctr images import "$T/k.tar"
	is "$(ctr images ls -q 2>/dev/null | sort | tr '\n' ' ')" "docker.io/spinkube-c/httpd:ctr registry.k8s.io/pause:3.10 " \
		"containerd lists both under the names in the tars"
	ok "containerd has every blob and unpacked both" \
		bash -c "[ \$('$ctd_bin/ctr' --address '$C/sock' -n k8s.io images check | grep -c 'complete.* true') -eq 2 ]"
	# The image's own Entrypoint and Cmd: no command given to ctr run.
	ctr run --rm --net-host docker.io/spinkube-c/httpd:ctr e2e-httpd >"$T/ctr-httpd.out" 2>&1 &
	rpid=$!
	pids+=($rpid)
	wait_for 10 curl -sf --noproxy '*' --max-time 2 "http://127.0.0.1:$cport/healthz"
	is "$(curl -s --noproxy '*' --max-time 5 "http://127.0.0.1:$cport/healthz")" ok "httpd runs under containerd from its image config"
	ctr tasks kill -s SIGTERM e2e-httpd 2>/dev/null
	wait "$rpid"
	is "$?" 0 "httpd in the container exits 0 on SIGTERM"
	ctr run --rm registry.k8s.io/pause:3.10 e2e-pause >"$T/ctr-pause.out" 2>&1 &
	rpid=$!
	pids+=($rpid)
	wait_for 10 bash -c "'$ctd_bin/ctr' --address '$C/sock' -n k8s.io tasks ls | grep -q 'e2e-pause .*RUNNING'"
	ok "pause runs as PID 1 of its container" bash -c "'$ctd_bin/ctr' --address '$C/sock' -n k8s.io tasks ls | grep -q 'e2e-pause .*RUNNING'"
	ctr tasks kill -s SIGTERM e2e-pause 2>/dev/null
	wait "$rpid"
	is "$?" 0 "pause as PID 1 exits 0 on SIGTERM"
	for t in e2e-httpd e2e-pause; do
		ctr tasks kill -s SIGKILL "$t" >/dev/null 2>&1
		ctr tasks delete -f "$t" >/dev/null 2>&1
		ctr containers delete "$t" >/dev/null 2>&1
	done
	kill -TERM "$ctd_pid"
	wait "$ctd_pid"
	unmount_under "$C"
fi

# --- failures: one line each, non-zero, nothing on stdout --------------------

# fails NAME PATTERN ARGS...: push-image exits non-zero, stdout stays empty,
# stderr has one error line, the last, matching PATTERN.
fails() {
	local name=$1 pat=$2 rc=0
	shift 2
	push "$@" >"$T/fo" 2>"$T/fe" || rc=$?
	ok "$name: exits non-zero" [ "$rc" -ne 0 ]
	ok "$name: one line: $pat" one_error "$T/fe" "$pat"
	[ "$rc" -ne 0 ] && one_error "$T/fe" "$pat" || sed 's/^/#   stderr: /' "$T/fe"
	is "$(cat "$T/fo")" "" "$name: nothing on stdout"
}
down=$(free_port)
fails "a registry that is down" "reaching registry 127.0.0.1:$down: .*not answering.*start it" \
	--registry "127.0.0.1:$down" "$T/img/httpd" spinkube-c/httpd:test
fails "a registry that is not loopback" "refused, not a loopback address" \
	--registry 192.0.2.1:5000 "$T/img/httpd" spinkube-c/httpd:test
fails "a registry named by a non-loopback host" "refused, not a loopback address" \
	--registry registry.example:5000 "$T/img/httpd" spinkube-c/httpd:test
fails "a missing DIR" "DIR $T/none: no such folder" --registry "$R" "$T/none" spinkube-c/httpd:test
fails "an entrypoint not in DIR" "--entrypoint /nope: .* is not an executable file" \
	--entrypoint /nope "$T/img/httpd" spinkube-c/httpd:test
fails "a reference without a tag" "has no tag" "$T/img/httpd" spinkube-c/httpd
fails "a label with an empty key" "--label '=v': the KEY is empty" --label =v "$T/img/httpd" spinkube-c/httpd:test
fails "a label given twice" "--label a: given twice" --label a=1 --label a=2 "$T/img/httpd" spinkube-c/httpd:test
fails "a label value with a newline" "--label a: the VALUE has a control character" --label "a=$(printf 'x\ny')" "$T/img/httpd" spinkube-c/httpd:test
fails "a label key over 256 characters" "the KEY has 300 characters, over the cap of 256" \
	--label "$(head -c 300 /dev/zero | tr '\0' k)=1" "$T/img/httpd" spinkube-c/httpd:test
start_registry ro '  maintenance:' '    readonly:' '      enabled: true'
fails "a read-only registry" "starting the upload of layer: HTTP 405 from 127.0.0.1:$PORT: .*refuses pushes" \
	--registry "127.0.0.1:$PORT" "$T/httpd2" spinkube-c/httpd:v3-$$-$RANDOM
REG_HTTP='host: http://elsewhere.invalid:5000' start_registry elsewhere
fails "a registry that sends the upload elsewhere" "sent the upload to http://elsewhere.invalid:5000, not to http://127.0.0.1:$PORT; refused" \
	--registry "127.0.0.1:$PORT" "$T/img/httpd" spinkube-c/httpd:test
start_registry auth 'auth:' '  htpasswd:' '    realm: test' "    path: $T/auth/htpasswd"
fails "a registry that wants credentials" "HTTP 401 from 127.0.0.1:$PORT: UNAUTHORIZED: authentication required (this registry wants credentials" \
	--registry "127.0.0.1:$PORT" "$T/img/httpd" spinkube-c/httpd:test

tap_done
