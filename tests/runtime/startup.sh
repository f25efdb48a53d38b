#!/usr/bin/env bash
# spin-bridge refusing bad apps at start, each with one clear line, and
# loading the formats it accepts: spin.toml as a folder or a file, Spin's
# locked-app JSON, application variables from the environment.
set -uo pipefail
. "$SPINKUBE_SOURCE_DIR/tests/lib/tap.sh"
. "$SPINKUBE_SOURCE_DIR/tests/runtime/lib.sh"

build_guests
HELLO=$GUESTS/wagi/hello.wasm

# fails NAME FROM PATTERN [ENV...]: spin-bridge exits 1 at start with one
# "spin-bridge: ..." line on stderr matching PATTERN.
fails() {
	local name=$1 from=$2 pat=$3; shift 3
	local rc=0 f=$T/out.$TAP_N
	env SPIN_HTTP_LISTEN_ADDR=127.0.0.1:0 "$@" "$BRIDGE" up --from "$from" --no-cache >"$f" 2>&1 || rc=$?
	is "$rc" "1" "$name: refused at start"
	local line; line=$(grep '^spin-bridge: ' "$f")
	grep -qE -- "$pat" <<<"$line"; is $? 0 "$name: $line"
}

app() { # app DIR TOML: a folder with hello.wasm and this spin.toml
	mkdir -p "$T/$1"; cp "$HELLO" "$T/$1/hello.wasm"; printf '%s\n' "$2" >"$T/$1/spin.toml"
}

# one_route DIR SOURCE [ROUTE [EXECUTOR [BEFORE [AFTER]]]]: an app of one
# component "c" on one route (default "/", executor wagi; "" for none), with
# BEFORE lines ahead of the trigger and AFTER lines at the end.
one_route() {
	local exec=${4-'executor = { type = "wagi" }'}
	app "$1" "spin_manifest_version = 2
[application]
name = \"x\"
${5:-}
[[trigger.http]]
route = \"${3:-/}\"
component = \"c\"
$exec
[component.c]
source = \"$2\"
${6:-}"
}

fails "no such path" "$T/nope" "$T/nope"
app syntax 'spin_manifest_version = 2
[application
name = "x"'
fails "TOML syntax" "$T/syntax" 'spin.toml:2:[0-9]+: '
app v1 'spin_manifest_version = "1"
name = "x"'
fails "manifest version 1" "$T/v1" 'manifest.*version'
one_route nosource missing.wasm / ''
fails "missing component file" "$T/nosource" 'component "c".*missing.wasm'
one_route notwasm junk.wasm
echo "this is not wasm" >"$T/notwasm/junk.wasm"
fails "not a wasm file" "$T/notwasm" 'component "c" .*junk.wasm.*not a WebAssembly binary'
one_route badwasm bad.wasm
printf '\0asm\1\0\0\0\1\377\377' >"$T/badwasm/bad.wasm"
fails "corrupt wasm" "$T/badwasm" 'component "c" .*bad.wasm.*invalid WebAssembly'
one_route nowagi hello.wasm / ''
fails "a core module without the wagi executor" "$T/nowagi" 'core wasm module: set executor = \{ type = "wagi" \}'
one_route unknownkey hello.wasm / 'executor = { type = "wagi" }' '' 'sauce = "typo"'
fails "an unknown component key" "$T/unknownkey" 'sauce'
one_route badroute hello.wasm /a/.../b
fails "a wildcard in the middle of a route" "$T/badroute" "wildcard before its end"
one_route required hello.wasm / 'executor = { type = "wagi" }' '[variables]
api_key = { required = true }' '[component.c.variables]
key = "{{ api_key }}"'
fails "a required variable without a value" "$T/required" 'api_key.*SPIN_VARIABLE_API_KEY'
SPIN_VARIABLE_API_KEY=s3cret start_bridge required-set "$T/required"
is "$?" "0" "... starts once SPIN_VARIABLE_API_KEY is set"
is "$(get /)" "hello from wagi" "... and serves"
stop_bridge
API_KEY=plain start_bridge required-plain "$T/required"
is "$?" "0" "... or a plain API_KEY variable"
stop_bridge
one_route badtmpl hello.wasm / 'executor = { type = "wagi" }' '' '[component.c.variables]
key = "{{ nosuch }}"'
fails "a template naming an unknown variable" "$T/badtmpl" 'nosuch'

# spin.toml given as a file, from another working directory.
cd /
start_bridge tomlfile "$GUESTS/wagi/spin.toml"
is "$?" "0" "a spin.toml file path"
is "$(get /hello)" "hello from wagi" "... serves"
stop_bridge

# Spin's locked-app JSON with file:// sources and a route base.
mkdir -p "$T/locked"
cat >"$T/locked/spin.lock" <<JSON
{
  "spin_lock_version": 1,
  "metadata": { "name": "locked", "triggers": { "http": { "base": "/base" } } },
  "variables": { "who": { "default": "world" } },
  "triggers": [
    { "id": "t1", "trigger_type": "http",
      "trigger_config": { "route": "/hi", "component": "hi", "executor": { "type": "wagi" } } },
    { "id": "t2", "trigger_type": "http",
      "trigger_config": { "route": "/c/...", "component": "comp" } }
  ],
  "components": [
    { "id": "hi", "source": { "content_type": "application/wasm", "source": "file://$HELLO" },
      "env": {}, "files": [], "config": { "greeting": "hello {{ who }}" } },
    { "id": "comp", "source": { "content_type": "application/wasm", "source": "file://$GUESTS/components/hello.wasm" } }
  ]
}
JSON
start_bridge locked "$T/locked"
is "$?" "0" "a folder with Spin's locked-app JSON"
is "$(get /base/hi)" "hello from wagi" "... serves WAGI under the base"
is "$(get /base/c/anything)" "hello from component" "... and a component"
is "$(status /hi)" "404" "... and nothing outside the base"
stop_bridge
printf '{"spin_lock_version": 1, "triggers": [' >"$T/broken.json"
fails "truncated locked-app JSON" "$T/broken.json" 'broken.json'
printf '{"spin_lock_version": 7, "triggers": [], "components": []}' >"$T/v7.json"
fails "an unknown lock version" "$T/v7.json" 'spin_lock_version'

fails "a listen address that is not host:port" "$GUESTS/wagi" 'listen' SPIN_HTTP_LISTEN_ADDR=nonsense
python3 -c 'import socket,time,sys; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1]); sys.stdout.flush(); time.sleep(30)' >"$T/busy.port" &
busy=$!
for _ in $(seq 1 50); do [ -s "$T/busy.port" ] && break; sleep 0.1; done
fails "a listen address in use" "$GUESTS/wagi" 'listen 127.0.0.1:[0-9]+' "SPIN_HTTP_LISTEN_ADDR=127.0.0.1:$(cat "$T/busy.port")"
kill $busy
tap_done
