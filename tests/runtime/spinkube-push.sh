#!/usr/bin/env bash
# spinkube push and pull against Debian's docker-registry on a loopback
# port, with the real test apps (tests/guests): WAGI (files, variables), the
# Spin interfaces app (required and default variables), wasi:http and the
# JavaScript app. Each is pushed, pulled back and served by spin-bridge from
# the pulled folder with the same answers as from its source folder; a
# second push uploads no blob; the manifest read back over the registry's
# HTTP API has exactly Spin's media types and annotations; a corrupted blob
# in the registry's storage is caught on pull by its digest; chunked
# uploads; htpasswd auth refused without credentials and accepted from a
# docker config, a credential helper and --username/--password-stdin; the
# bearer-token challenge against docker-registry's token auth; HTTPS on
# loopback with a CA made by openssl. Only loopback traffic.
set -uo pipefail
. "$SPINKUBE_SOURCE_DIR/tests/lib/tap.sh"
. "$SPINKUBE_SOURCE_DIR/tests/runtime/lib.sh"

# SPINKUBE_CLI runs another build of spinkube (a sanitizer one) against the same checks.
SK=${SPINKUBE_CLI:-$SPINKUBE_BUILD_DIR/cli/spinkube}
if ! command -v docker-registry >/dev/null; then
	echo "1..0 # SKIP docker-registry is not installed (hack/bootstrap --only debs installs it)"
	exit 0
fi
build_guests

regpids=()
cleanup_all() {
	local p
	for p in "${regpids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${regpids[@]}"; do wait "$p" 2>/dev/null; done
	cleanup_bridge
}
trap cleanup_all EXIT

# start_registry NAME [HTTP-LINES...]: a docker-registry on a free loopback
# port, storage under $T/NAME/data; sets RPORT, REG_LOG, REG_DATA. Extra
# lines go into its http block (tls) or, starting with "auth:", at the top.
start_registry() {
	local n=$1 port scheme=http
	shift
	port=$(free_port)
	mkdir -p "$T/$n"
	{
		printf 'version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: false\n'
		printf 'storage:\n  filesystem:\n    rootdirectory: %s\n' "$T/$n/data"
		printf '%s\n' "${REG_TOP[@]}"
		printf 'http:\n  addr: 127.0.0.1:%s\n' "$port"
		printf '%s\n' "$@"
	} >"$T/$n/config.yml"
	docker-registry serve "$T/$n/config.yml" >"$T/$n/log" 2>&1 &
	regpids+=($!)
	RPORT=$port REG_LOG=$T/$n/log REG_DATA=$T/$n/data/docker/registry/v2
	[ $# -gt 0 ] && scheme=https
	local i
	for i in $(seq 1 100); do
		curl -sk -o /dev/null --noproxy '*' "$scheme://127.0.0.1:$port/v2/" && return 0
		sleep 0.1
	done
	sed 's/^/# /' "$T/$n/log"
	bail "docker-registry $n did not come up on 127.0.0.1:$port"
}
REG_TOP=()
posts() { grep -c '"POST /v2/' "$REG_LOG"; }
# one_error FILE PATTERN: FILE (stderr) is one line, an error matching PATTERN.
one_error() { [ "$(wc -l <"$1")" -eq 1 ] && grep -qE -- "$2" "$1"; }

# answers NAME FROM PATHS...: start spin-bridge on FROM, print "PATH STATUS
# BODY-SHA" for each path, stop it. Lines naming a loopback address or a
# port (the CGI environment has both sides' ports) differ from run to run
# and are left out of the digest.
answers() {
	local name=$1 from=$2 p; shift 2
	START_TRIES=${START_TRIES:-600} start_bridge "$name" "$from" ${BRIDGE_FLAGS:-} || { sed 's/^/# /' "$BRIDGE_LOG" | tail -5; return 1; }
	for p in "$@"; do
		curl -sS --max-time 30 -o "$T/ans.body" -w '%{http_code}' "http://127.0.0.1:$PORT$p" >"$T/ans.code" 2>/dev/null
		printf '%s %s %s\n' "$p" "$(cat "$T/ans.code")" \
			"$(grep -avE '127\.0\.0\.1|_PORT=' "$T/ans.body" | sha256sum | cut -c1-16)"
	done
	stop_bridge
}

# roundtrip NAME SRC PATHS...: push SRC, pull it back, compare the answers.
roundtrip() {
	local name=$1 src=$2; shift 2
	local ref=127.0.0.1:$RPORT/apps/$name:v1 before
	"$SK" push --from "$src" "$ref" >"$T/$name.digest" 2>"$T/$name.push.err"
	is "$?" 0 "$name: spinkube push exits 0"
	grep -qE '^sha256:[0-9a-f]{64}$' "$T/$name.digest"
	is "$?" 0 "$name: ... and prints the manifest digest ($(cat "$T/$name.digest"))"
	"$SK" pull "$ref" "$T/pulled-$name" >"$T/$name.pull.out" 2>"$T/$name.pull.err"
	is "$?" 0 "$name: spinkube pull exits 0"
	is "$(cat "$T/$name.pull.out")" "$(cat "$T/$name.digest")" "$name: ... and prints the same digest"
	ok "$name: the pulled folder holds locked-app.json and blobs/sha256" \
		test -s "$T/pulled-$name/locked-app.json" -a -d "$T/pulled-$name/blobs/sha256"
	answers "$name-src" "$src" "$@" >"$T/$name.src.ans"
	answers "$name-pulled" "$T/pulled-$name" "$@" >"$T/$name.pulled.ans"
	ok "$name: served from the source folder" test -s "$T/$name.src.ans"
	if ! is "$(cat "$T/$name.pulled.ans")" "$(cat "$T/$name.src.ans")" \
		"$name: the pulled app gives the same answers on $# paths"; then
		diff "$T/$name.src.ans" "$T/$name.pulled.ans" | sed 's/^/# /'
	fi
	before=$(posts)
	is "$("$SK" push -q --from "$src" "$ref" 2>&1)" "$(cat "$T/$name.digest")" \
		"$name: a second push gives the same digest"
	is "$(posts)" "$before" "$name: ... and uploads no blob (no POST in the registry's log)"
}

start_registry plain
RPLAIN=$RPORT

# ---- round trips with the real apps -----------------------------------------
roundtrip wagi "$GUESTS/wagi" /hello /files/hello.txt /files/docs/nested.txt /files/nothing \
	'/echo/a/b?x=1&y=2' '/argv/z?q' /status /nothing
SPIN_VARIABLE_API_KEY=s3cret roundtrip spin "$GUESTS/spin" '/vars?name=greeting' '/vars?name=api_key' \
	'/vars?name=literal' '/vars?all' '/vars?name=nosuch'
roundtrip wasi-http "$GUESTS/wasi-http" /hello /hello020 /noresp /nothing /gen?n=1000

# The JavaScript guests, built once into the cache folder.
build_js_guests
START_TRIES=3000 BRIDGE_FLAGS="--cache-dir $JS_OUT/compiled" roundtrip js "$JS_OUT/js" \
	/hello /router/ /router/users/42 /router/users/7/posts/abc /router/elsewhere

# ---- the manifest, read back with curl ---------------------------------------
ref=127.0.0.1:$RPLAIN/apps/wagi:v1
curl -sf --noproxy '*' -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
	"http://127.0.0.1:$RPLAIN/v2/apps/wagi/manifests/v1" -o "$T/manifest.json"
is "$?" 0 "the registry's HTTP API returns the wagi manifest"
is "sha256:$(sha256sum <"$T/manifest.json" | cut -d' ' -f1)" "$(cat "$T/wagi.digest")" \
	"... whose sha256 is the digest push printed"
is "$(jq -r '.mediaType, .config.mediaType' "$T/manifest.json" | paste -sd' ' -)" \
	"application/vnd.oci.image.manifest.v1+json application/vnd.oci.image.config.v1+json" \
	"manifest and config media types"
is "$(jq -r '[.layers[].mediaType] | unique | join(" ")' "$T/manifest.json")" \
	"application/vnd.fermyon.spin.application.v1+config application/vnd.wasm.content.layer.v1+data application/vnd.wasm.content.layer.v1+wasm" \
	"the layers are wasm, data and the locked app, nothing else"
is "$(jq -r '[.layers[] | select(.mediaType | endswith("+wasm"))] | length' "$T/manifest.json")" 9 \
	"one wasm layer per distinct component source (11 components, 9 modules: deduplicated)"
is "$(jq -r '[.layers[] | select(.mediaType | endswith("+data")) | .annotations["org.opencontainers.image.title"]] | join(" ")' "$T/manifest.json")" \
	"/docs/nested.txt /hello.txt" "one data layer per file, its guest path in org.opencontainers.image.title"
is "$(jq -r '[.layers[] | select(.mediaType | endswith("+data") | not) | .annotations // empty] | length' "$T/manifest.json")" 0 \
	"wasm and locked-app layers carry no annotations"
is "$(jq -c '.annotations' "$T/manifest.json")" \
	'{"org.opencontainers.image.title":"wagi","org.opencontainers.image.version":"0.1.0"}' \
	"manifest annotations: the app's name and version"
is "$(jq -r '[.layers[].digest] | (length - (unique | length))' "$T/manifest.json")" 0 "no digest is listed twice"
cfg=$(jq -r .config.digest "$T/manifest.json")
curl -sf --noproxy '*' "http://127.0.0.1:$RPLAIN/v2/apps/wagi/blobs/$cfg" -o "$T/config.json"
is "$(jq -r '.architecture + "/" + .os' "$T/config.json")" "wasm/wasip1" "the image config says architecture wasm, os wasip1"
lk=$(jq -r '.layers[] | select(.mediaType == "application/vnd.fermyon.spin.application.v1+config") | .digest' "$T/manifest.json")
curl -sf --noproxy '*' "http://127.0.0.1:$RPLAIN/v2/apps/wagi/blobs/$lk" -o "$T/locked.json"
is "$(jq -r '.spin_lock_version, (.components | length), ([.components[].source.digest] | all(startswith("sha256:")))' "$T/locked.json" | paste -sd' ' -)" \
	"1 11 true" "the locked app: version 1, 11 components, each source by digest"
is "$(jq -r '.components[] | select(.id == "files") | [.files[].path] | join(" ")' "$T/locked.json")" \
	"/docs/nested.txt /hello.txt" "... the files component lists each file by digest and guest path"
is "$(jq -r '.variables.api_token.secret, .variables.greeting.default' "$T/locked.json" | paste -sd'|' -)" \
	"true|hello from a variable" "... and the app's variables"

# ---- a corrupted blob in the registry ---------------------------------------
hw=$(jq -r '.components[] | select(.id == "hello") | .source.digest' "$T/locked.json" | cut -d: -f2)
blob=$REG_DATA/blobs/sha256/${hw:0:2}/$hw/data
ok "the registry stores the hello module at $blob" test -f "$blob"
cp "$blob" "$T/blob.saved"
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[len(b)//2]^=0xff; open(p,"wb").write(b)' "$blob"
rc=0; "$SK" pull "$ref" "$T/corrupt" >/dev/null 2>"$T/corrupt.err" || rc=$?
is "$rc" 1 "pull of an artifact with a corrupted blob exits 1"
ok "... with one line naming the blob and its real digest: $(cat "$T/corrupt.err")" \
	one_error "$T/corrupt.err" "download blob sha256:$hw: the content hashes to sha256:[0-9a-f]{64}; the registry's copy is damaged"
ok "... and leaves no file of that digest in the folder" test ! -e "$T/corrupt/blobs/sha256/$hw"
ok "... nor a temporary file" bash -c "! ls '$T/corrupt/blobs/sha256/' | grep -q tmp"
ok "... nor a locked-app.json" test ! -e "$T/corrupt/locked-app.json"
cp "$T/blob.saved" "$blob"
is "$("$SK" pull -q "$ref" "$T/corrupt" 2>&1)" "$(cat "$T/wagi.digest")" "with the blob restored, the same pull succeeds"

# ---- chunked uploads ----------------------------------------------------------
start_registry chunked
"$SK" push --chunk-size 4096 --from "$GUESTS/wagi" "127.0.0.1:$RPORT/apps/wagi:chunked" >"$T/chunked.digest" 2>"$T/chunked.err"
is "$?" 0 "push with --chunk-size 4096 exits 0"
is "$(cat "$T/chunked.digest")" "$(cat "$T/wagi.digest")" "... same digest as the monolithic push"
ok "... the registry saw PATCH requests" grep -q '"PATCH /v2/apps/wagi/blobs/uploads/' "$REG_LOG"
is "$("$SK" pull -q "127.0.0.1:$RPORT/apps/wagi:chunked" "$T/chunked-pulled" 2>&1)" "$(cat "$T/wagi.digest")" \
	"... and pulls back whole"
ok "... with the same blobs as the monolithic push" diff -r "$T/pulled-wagi" "$T/chunked-pulled"

# ---- usage and errors ---------------------------------------------------------
rc=0; "$SK" >/dev/null 2>&1 || rc=$?
is "$rc" 2 "no command: exit 2"
rc=0; "$SK" push --from "$GUESTS/wagi" 'Bad/Ref' 2>"$T/u.err" || rc=$?
is "$rc" 2 "a bad reference: exit 2"
ok "... one line saying what is wrong: $(cat "$T/u.err")" one_error "$T/u.err" "lowercase"
rc=0; "$SK" push --bogus x 2>"$T/u.err" || rc=$?
is "$rc" 2 "an unknown option: exit 2"
rc=0; "$SK" push --username u --from "$GUESTS/wagi" "$ref" 2>"$T/u.err" </dev/null || rc=$?
is "$rc" 2 "--username without --password-stdin: exit 2"
for v in push pull scaffold; do
	ok "spinkube $v --help prints its usage" bash -c "'$SK' $v --help | grep -q '^Usage: spinkube $v'"
done
rc=0; "$SK" pull "127.0.0.1:$RPLAIN/apps/nothing:v1" "$T/none" 2>"$T/e.err" || rc=$?
is "$rc" 1 "pull of a missing repository: exit 1"
ok "... one line with the step, the status and the registry's words: $(cat "$T/e.err")" \
	one_error "$T/e.err" "get manifest v1: HTTP 404 from http://127.0.0.1:$RPLAIN: MANIFEST_UNKNOWN: manifest unknown; check the reference"
rc=0; "$SK" push --from "$T/nowhere" "$ref" 2>"$T/e.err" || rc=$?
is "$rc" 1 "push of a missing app folder: exit 1"
dead=$(free_port)
rc=0; "$SK" push --from "$GUESTS/wagi" "127.0.0.1:$dead/apps/x:v1" 2>"$T/e.err" || rc=$?
is "$rc" 1 "push to a registry that is down: exit 1"
ok "... one line naming the step and the fix: $(cat "$T/e.err")" one_error "$T/e.err" "check blob sha256:.*is the registry running"

# ---- htpasswd auth ----------------------------------------------------------
if command -v htpasswd >/dev/null; then
	htpasswd -Bbc "$T/htpasswd" ci 'pa:ss word' 2>/dev/null
	REG_TOP=("auth:" "  htpasswd:" "    realm: spinkube-test" "    path: $T/htpasswd")
	start_registry auth
	REG_TOP=()
	aref=127.0.0.1:$RPORT/apps/wagi:v1
	export DOCKER_CONFIG=$T/docker-empty
	rc=0; "$SK" push --from "$GUESTS/wagi" "$aref" 2>"$T/a.err" || rc=$?
	is "$rc" 1 "auth registry: push without credentials exits 1"
	ok "... one line: HTTP 401 and how to give credentials: $(cat "$T/a.err")" \
		one_error "$T/a.err" "check blob sha256:.*HTTP 401 from .*give credentials"
	mkdir -p "$T/docker-good"
	printf '{"auths":{"127.0.0.1:%s":{"auth":"%s"}}}\n' "$RPORT" "$(printf 'ci:pa:ss word' | base64 -w0)" >"$T/docker-good/config.json"
	DOCKER_CONFIG=$T/docker-good "$SK" push -q --from "$GUESTS/wagi" "$aref" >"$T/a.out" 2>"$T/a.err"
	is "$?" 0 "... push with credentials from \$DOCKER_CONFIG/config.json (auths) exits 0"
	is "$(cat "$T/a.out")" "$(cat "$T/wagi.digest")" "... same digest"
	printf 'pa:ss word\n' | "$SK" pull -q --username ci --password-stdin "$aref" "$T/auth-pulled" >"$T/a.out" 2>"$T/a.err"
	is "$?" 0 "... pull with --username and --password-stdin exits 0"
	ok "... and pulls the same blobs" diff -r "$T/pulled-wagi" "$T/auth-pulled"
	rc=0; printf 'wrong\n' | "$SK" pull --username ci --password-stdin "$aref" "$T/auth-bad" 2>"$T/a.err" || rc=$?
	is "$rc" 1 "... a wrong password: exit 1"
	ok "... with a 401 line: $(cat "$T/a.err")" one_error "$T/a.err" "HTTP 401"
	# A credential helper on PATH, named by credHelpers.
	mkdir -p "$T/bin" "$T/docker-helper"
	cat >"$T/bin/docker-credential-sktest" <<HELPER
#!/bin/sh
[ "\$1" = get ] || exit 1
read -r host
echo "\$host" >"$T/helper.asked"
printf '{"ServerURL":"%s","Username":"ci","Secret":"pa:ss word"}\n' "\$host"
HELPER
	chmod +x "$T/bin/docker-credential-sktest"
	printf '{"credHelpers":{"127.0.0.1:%s":"sktest"}}\n' "$RPORT" >"$T/docker-helper/config.json"
	PATH=$T/bin:$PATH DOCKER_CONFIG=$T/docker-helper "$SK" pull -q "$aref" "$T/helper-pulled" >"$T/a.out" 2>"$T/a.err"
	is "$?" 0 "... pull with credentials from a credential helper (credHelpers) exits 0"
	is "$(cat "$T/helper.asked" 2>/dev/null)" "127.0.0.1:$RPORT" "... the helper was asked for the registry host"
	printf '{"credsStore":"sktest"}\n' >"$T/docker-helper/config.json"
	rm -f "$T/helper.asked"
	PATH=$T/bin:$PATH DOCKER_CONFIG=$T/docker-helper "$SK" pull -q "$aref" "$T/helper-pulled" >"$T/a.out" 2>"$T/a.err"
	is "$?" 0 "... and from credsStore"
	printf '{"credHelpers":{"127.0.0.1:%s":"nosuchhelper"}}\n' "$RPORT" >"$T/docker-helper/config.json"
	rc=0; DOCKER_CONFIG=$T/docker-helper "$SK" pull "$aref" "$T/helper-bad" 2>"$T/a.err" || rc=$?
	is "$rc" 1 "... a helper that is not installed: exit 1"
	ok "... naming it: $(cat "$T/a.err")" one_error "$T/a.err" "docker-credential-nosuchhelper: cannot run it"
	unset DOCKER_CONFIG
else
	skip "htpasswd auth" "htpasswd is not installed (apt-get install apache2-utils)"
fi

# ---- the bearer-token challenge ------------------------------------------------
# docker-registry's token auth with a small token server of ours
# (tests/tools/token-server.py: RS256 JWTs, x5c, Docker's token spec); the
# registry verifies each token against the signer's certificate.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=token-signer -keyout "$T/tok.key" -out "$T/tok.crt" 2>/dev/null
tport=$(free_port)
python3 "$SPINKUBE_SOURCE_DIR/tests/tools/token-server.py" "$tport" "$T/tok.key" "$T/tok.crt" sk-issuer ci 's3cret' >"$T/tok.log" 2>&1 &
regpids+=($!)
for i in $(seq 1 100); do
	curl -s -o /dev/null --noproxy '*' "http://127.0.0.1:$tport/token" && break
	sleep 0.1
done
REG_TOP=("auth:" "  token:" "    realm: http://127.0.0.1:$tport/token" "    service: sk-registry" \
	"    issuer: sk-issuer" "    rootcertbundle: $T/tok.crt")
start_registry bearer
REG_TOP=()
bref=127.0.0.1:$RPORT/apps/wagi:v1
rc=0; DOCKER_CONFIG=$T/docker-empty "$SK" push --from "$GUESTS/wagi" "$bref" 2>"$T/b.err" || rc=$?
is "$rc" 1 "bearer registry: push without credentials exits 1"
ok "... one line: the token server's 401 and how to give credentials: $(cat "$T/b.err")" \
	one_error "$T/b.err" "the token server http://127.0.0.1:$tport/token answered HTTP 401; give credentials"
is "$(printf 's3cret\n' | "$SK" push -q --username ci --password-stdin --from "$GUESTS/wagi" "$bref" 2>"$T/b.err")" \
	"$(cat "$T/wagi.digest")" "... push with credentials: a token per challenge, same digest"
ok "... the token server was asked for a push token on the repository: $(grep -c ' ok$' "$T/tok.log") tokens" \
	grep -qE '^token repository:apps/wagi:(push,pull|pull,push) ok$' "$T/tok.log"
sed 's/^/# token server: /' "$T/tok.log" | sort | uniq -c | head
is "$(printf 's3cret\n' | "$SK" pull -q --username ci --password-stdin "$bref" "$T/bearer-pulled" 2>&1)" \
	"$(cat "$T/wagi.digest")" "... and pull with a pull token"
ok "... the same blobs" diff -r "$T/pulled-wagi" "$T/bearer-pulled"

# ---- HTTPS on loopback with our own CA ---------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=spinkube-test-ca -keyout "$T/ca.key" -out "$T/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$T/srv.key" -out "$T/srv.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$T/srv.ext"
openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial -days 1 \
	-extfile "$T/srv.ext" -out "$T/srv.crt" 2>/dev/null
ok "openssl made a CA and a certificate for 127.0.0.1" test -s "$T/srv.crt"
start_registry tls "  tls:" "    certificate: $T/srv.crt" "    key: $T/srv.key"
tref=127.0.0.1:$RPORT/apps/wagi:v1
rc=0; "$SK" push --tls --from "$GUESTS/wagi" "$tref" 2>"$T/t.err" || rc=$?
is "$rc" 1 "HTTPS registry: push without the CA exits 1"
ok "... one line suggesting --ca-file: $(cat "$T/t.err")" one_error "$T/t.err" "--ca-file"
is "$("$SK" push -q --tls --ca-file "$T/ca.crt" --from "$GUESTS/wagi" "$tref" 2>&1)" "$(cat "$T/wagi.digest")" \
	"... with --tls --ca-file: pushed, same digest"
is "$("$SK" pull -q --tls --ca-file "$T/ca.crt" "$tref" "$T/tls-pulled" 2>&1)" "$(cat "$T/wagi.digest")" \
	"... and pulled back"
rc=0; "$SK" push -q --from "$GUESTS/wagi" "$tref" 2>/dev/null || rc=$?
is "$rc" 1 "... plain HTTP to the HTTPS port fails (no silent fallback)"

tap_done
