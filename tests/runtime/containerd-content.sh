#!/usr/bin/env bash
# The shim's fetch of a Spin app out of containerd's content store
# (shim-bridge/shim/containerd/artifact.h) against the real thing: a
# containerd v2 from the cache folder (its own root, state and sockets in a
# temporary folder, the CRI off) and Debian's docker-registry on a loopback
# port. `spinkube push` puts a small app in the registry, `ctr images pull`
# puts it in containerd's content store, and the driver
# (tests/runtime/containerd-fetch.c) reads it back through the images and
# content gRPC services only. Checked: the folder holds locked-app.json and
# every blob of the manifest, each hashing to its name, and app_load takes
# it; a second fetch reads nothing; blobs already there are kept; an image
# index is followed to its wasm manifest; an unknown image, a socket nobody
# serves and a damaged blob in the store (changed without relying on
# CAP_DAC_OVERRIDE: containerd keeps blobs 0444) each fail with one line (the
# damaged blob leaves nothing in the folder); an ordinary container image
# gives the fallback exit (-ENOMEDIUM). Root only; only loopback traffic.
#   containerd-content.sh RUNTIME-CONTAINERD-FETCH (meson passes the driver)
set -uo pipefail
. "$SPINKUBE_SOURCE_DIR/tests/lib/tap.sh"
. "$SPINKUBE_SOURCE_DIR/hack/lib.sh"

FETCH=$1
SK=$SPINKUBE_BUILD_DIR/cli/spinkube
# Short: containerd's socket path must fit a sockaddr_un.
. "$SPINKUBE_SOURCE_DIR/tests/runtime/containerd.sh"
ctrd_require
command -v docker-registry >/dev/null || skip_all "docker-registry is not installed (hack/bootstrap --only debs)"
T=$(mktemp -d /tmp/ctrd-content.XXXXXX)
pids=()
cleanup() {
	local p
	ctrd_stop
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

# one_error FILE PATTERN: FILE (stderr) is one line, matching PATTERN.
one_error() { [ "$(wc -l <"$1")" -eq 1 ] && grep -qE -- "$2" "$1"; }
# field NAME LINE: the value of NAME=VALUE in the driver's output line.
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p" | head -n1; }

# --- the registry ---
RPORT=$(free_port)
printf 'version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
	"$T/registry" "$RPORT" >"$T/registry.yml"
docker-registry serve "$T/registry.yml" >"$T/registry.log" 2>&1 &
pids+=($!)
for i in $(seq 1 100); do curl -s -o /dev/null --noproxy '*' "http://127.0.0.1:$RPORT/v2/" && break; sleep 0.1; done
curl -s -o /dev/null --noproxy '*' "http://127.0.0.1:$RPORT/v2/" || { sed 's/^/# /' "$T/registry.log"; bail "docker-registry did not come up"; }

# --- containerd: everything in $T, no CRI, no TCP listener ---
ctrd_start "$T/containerd.log"
SOCK=$T/c.sock NS=$CTRD_NS
ctr_pull() { ctr images pull --plain-http "$@" >"$T/pull.log" 2>&1; }

# --- a Spin app: one component, a folder of files ---
mkdir -p "$T/app/static/docs"
cat >"$T/app/spin.toml" <<'EOT'
spin_manifest_version = 2
[application]
name = "content-test"
version = "1.0.0"
[[trigger.http]]
route = "/..."
component = "web"
[component.web]
source = "web.wasm"
files = [{ source = "static", destination = "/s" }]
EOT
printf '\0asm\1\0\0\0' >"$T/app/web.wasm" # the loader does not compile it
echo hello >"$T/app/static/a.txt"
head -c 3000000 /dev/urandom >"$T/app/static/docs/big.bin" # several Read pieces
APP=127.0.0.1:$RPORT/apps/content-test:v1
"$SK" push -q --from "$T/app" "$APP" >"$T/push.out" 2>"$T/push.err" || { sed 's/^/# /' "$T/push.err"; bail "spinkube push failed"; }
DIGEST=$(cat "$T/push.out")
ctr_pull "$APP"
is "$?" 0 "ctr images pull puts the Spin app in containerd's content store"
curl -s --noproxy '*' -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
	"http://127.0.0.1:$RPORT/v2/apps/content-test/manifests/v1" >"$T/manifest.json"
mapfile -t BLOBS < <(jq -r '.config.digest, .layers[].digest' "$T/manifest.json" | sort -u)

# --- the first fetch ---
"$FETCH" "unix://$SOCK" "$NS" "$APP" "$T/cache" >"$T/f1.out" 2>"$T/f1.err"
is "$?" 0 "the app is fetched through containerd's gRPC API and app_load takes it"
sed 's/^/# /' "$T/f1.err"
F1=$(cat "$T/f1.out")
DIR=$(field dir "$F1")
is "$DIR" "$T/cache/${DIGEST#sha256:}" "... into the cache folder named by the manifest digest"
is "$(field digest "$F1")" "$DIGEST" "... the digest spinkube push printed"
is "$(field components "$F1"),$(field blobs "$F1"),$(field fetched "$F1"),$(field cached "$F1")" "1,${#BLOBS[@]},${#BLOBS[@]},0" \
	"... one component; every blob of the manifest read from containerd"
ok "... locked-app.json is the locked-app layer" \
	cmp "$DIR/locked-app.json" "$DIR/blobs/sha256/$(jq -r '.layers[] | select(.mediaType == "application/vnd.fermyon.spin.application.v1+config") | .digest' "$T/manifest.json" | cut -d: -f2)"
bad=0
for b in "${BLOBS[@]}"; do
	[ "$(sha256sum <"$DIR/blobs/sha256/${b#sha256:}" 2>/dev/null | cut -d' ' -f1)" = "${b#sha256:}" ] || bad=$((bad + 1))
done
is "$bad" 0 "... each of the ${#BLOBS[@]} blobs is there and hashes to its name"
is "$(find "$DIR" -name '.*' | wc -l)" 0 "... and no temporary file is left"

# --- again: nothing is read ---
"$FETCH" "$SOCK" "$NS" "$APP" "$T/cache" >"$T/f2.out" 2>"$T/f2.err"
is "$?" 0 "a second fetch succeeds"
is "$(field cached "$(cat "$T/f2.out")"),$(field fetched "$(cat "$T/f2.out")"),$(field dir "$(cat "$T/f2.out")")" "1,0,$DIR" \
	"... finds the folder complete and reads no blob"
rm "$DIR/locked-app.json"
"$FETCH" "$SOCK" "$NS" "$APP" "$T/cache" >"$T/f3.out" 2>"$T/f3.err"
is "$?,$(field cached "$(cat "$T/f3.out")"),$(field fetched "$(cat "$T/f3.out")")" "0,0,0" \
	"an interrupted folder (no locked-app.json) is completed keeping the blobs it has"

# --- an image index with the app as its wasm entry ---
IDX=$(jq -cn --arg d "$DIGEST" --argjson s "$(stat -c %s "$T/manifest.json")" '{schemaVersion: 2,
	mediaType: "application/vnd.oci.image.index.v1+json", manifests: [
	{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $d, size: $s,
	 platform: {os: "wasip1", architecture: "wasm"}}]}')
curl -s --noproxy '*' -X PUT -H 'Content-Type: application/vnd.oci.image.index.v1+json' --data-binary "$IDX" \
	"http://127.0.0.1:$RPORT/v2/apps/content-test/manifests/index" -o /dev/null -w '%{http_code}' >"$T/idx.code"
ctr_pull --all-platforms "127.0.0.1:$RPORT/apps/content-test:index"
is "$?,$(cat "$T/idx.code")" "0,201" "an image index naming the app (wasip1/wasm) is pushed and pulled"
"$FETCH" "$SOCK" "$NS" "127.0.0.1:$RPORT/apps/content-test:index" "$T/cache" >"$T/f4.out" 2>"$T/f4.err"
is "$?,$(field dir "$(cat "$T/f4.out")")" "0,$DIR" "... and fetching it follows the index to the same app folder"
sed 's/^/# /' "$T/f4.err"

# --- what must fail, each with one line ---
"$FETCH" "$SOCK" "$NS" "127.0.0.1:$RPORT/apps/nosuch:v1" "$T/cache" >/dev/null 2>"$T/f5.err"
is "$?" 1 "an image containerd does not have fails"
ok "... with one line naming it and saying to pull it" one_error "$T/f5.err" 'has no image "127\.0\.0\.1:[0-9]+/apps/nosuch:v1": pull it first'
"$FETCH" "$SOCK" other-ns "$APP" "$T/cache" >/dev/null 2>"$T/f6.err"
is "$?" 1 "the same image in another namespace is not found (the namespace header is sent)"
"$FETCH" "$T/nobody.sock" "$NS" "$APP" "$T/cache" >/dev/null 2>"$T/f7.err"
is "$?" 1 "a socket nobody serves fails"
ok "... with one line saying containerd cannot be reached" one_error "$T/f7.err" 'cannot connect.*is containerd running'

# --- an ordinary container image: the fallback code ---
mkdir -p "$T/rootfs"
printf 'spin_manifest_version = 2\n' >"$T/rootfs/spin.toml"
"$SPINKUBE_SOURCE_DIR/hack/push-image" --registry "127.0.0.1:$RPORT" "$T/rootfs" apps/plain:v1 >/dev/null 2>"$T/push-image.err" \
	|| { sed 's/^/# /' "$T/push-image.err"; bail "hack/push-image failed"; }
ctr_pull "127.0.0.1:$RPORT/apps/plain:v1"
is "$?" 0 "an ordinary container image is pulled"
"$FETCH" "$SOCK" "$NS" "127.0.0.1:$RPORT/apps/plain:v1" "$T/cache" >/dev/null 2>"$T/f8.err"
is "$?" 3 "... and fetching it gives the fallback code (-ENOMEDIUM: run the rootfs's spin.toml)"
ok "... saying it is not a Spin app but a container image" one_error "$T/f8.err" 'image ".*/apps/plain:v1" is not a Spin app: a container image'

# --- a damaged blob in the store (same size, other bytes): caught by digest ---
BIG=$(jq -r '.layers[] | select(.size > 1000000) | .digest' "$T/manifest.json" | head -n1)
STORE=$T/root/io.containerd.content.v1.content/blobs/sha256/${BIG#sha256:}
# damage STORE: one byte changed to another value. containerd keeps its blobs
# read-only (0444): make the file writable first, so that this works without
# CAP_DAC_OVERRIDE too, and check the file's digest changed.
damage() {
	local b
	b=$(od -An -tu1 -j 1000 -N 1 "$STORE" | tr -d ' ') || return 1
	chmod u+w "$STORE" || return 1
	printf "\\$(printf %03o $(((b + 1) % 256)))" | dd of="$STORE" bs=1 seek=1000 conv=notrunc status=none || return 1
	[ "sha256:$(sha256sum <"$STORE" | cut -d' ' -f1)" != "$BIG" ]
}
if [ -f "$STORE" ]; then
	ok "a byte of the app's large blob is changed in containerd's content store" damage
	"$FETCH" "$SOCK" "$NS" "$APP" "$T/cache2" >/dev/null 2>"$T/f9.err"
	is "$?" 1 "a blob whose bytes do not match its digest fails the fetch"
	ok "... with one line naming the digest" one_error "$T/f9.err" "the bytes of $BIG hash to sha256:"
	is "$(find "$T/cache2" -type f | grep -c "${BIG#sha256:}\|locked-app.json")" 0 \
		"... and neither that blob nor locked-app.json is put in the folder"
else
	skip "a damaged blob is caught" "no content store file at $STORE"
fi
tap_done
