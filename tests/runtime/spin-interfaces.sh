#!/usr/bin/env bash
# spin-bridge giving wasi:http components Spin's host interfaces
# (tests/guests/spin): application variables through fermyon:spin/variables
# and wasi:config/store (manifest defaults, SPIN_VARIABLE_* and the
# providers of a runtime-config file), fermyon:spin/key-value (stores a
# component may use, a store in a runtime-config file that outlives a
# restart, start-up errors), and outbound HTTP through wasi:http and through
# fermyon:spin/http, limited to allowed_outbound_hosts (upstreams: local
# python3 http.servers).
#
# Runtime-config files are Spin's (spin up --runtime-config-file):
#   [[config_provider]] or [[variables_provider]]: arrays of providers, type
#     "env" (prefix, dotenv_path), "static" (values), "vault",
#     "azure_key_vault"; the environment provider (SPIN_VARIABLE_*) is
#     always there too. SpinKube's operator renders
#     [[config_provider]] type = "env" prefix = "SPIN_VARIABLE_" into every
#     app's file (COMPAT.md section 2).
#   [key_value_store.LABEL] with a type ("spin": SQLite at path; "redis" at
#     url, tested in kv-redis.sh;
#     "azure_cosmos", ...) and its options. "default" exists without one.
set -uo pipefail
. "$SPINKUBE_SOURCE_DIR/tests/lib/tap.sh"
. "$SPINKUBE_SOURCE_DIR/tests/runtime/lib.sh"

build_guests
GUEST_DIR=$GUESTS/spin

# Upstreams for outbound HTTP: python3 http.servers on free ports, stopped
# before lib.sh's cleanup (which waits for every child).
UPSTREAM_PIDS=()
stop_upstreams() {
	local p
	for p in "${UPSTREAM_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	UPSTREAM_PIDS=()
}
trap 'stop_upstreams; cleanup_bridge' EXIT

# start_upstream NAME: serve $T/www on 127.0.0.1:0, log in $T/NAME.log;
# sets UPSTREAM_PORT.
start_upstream() {
	local log=$T/$1.log i
	UPSTREAM_PORT=
	python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$T/www" >"$log" 2>&1 &
	UPSTREAM_PIDS+=($!)
	for i in $(seq 1 100); do
		UPSTREAM_PORT=$(sed -n 's/^Serving HTTP on .* port \([0-9]*\) .*/\1/p' "$log")
		[ -z "$UPSTREAM_PORT" ] || return 0
		sleep 0.1
	done
	return 1
}

# free_port: a port nothing listens on (bound and released).

mkdir -p "$T/www"
echo "upstream says hi" >"$T/www/hi.txt"
head -c 3000000 /dev/urandom >"$T/www/big.bin"
start_upstream allowed || bail "python3 -m http.server did not start: $(cat "$T/allowed.log")"
UP=$UPSTREAM_PORT
start_upstream other || bail "python3 -m http.server did not start: $(cat "$T/other.log")"
OTHER=$UPSTREAM_PORT
CLOSED=$(free_port)

# app DIR: a folder with the spin guests and the spin.toml on stdin (the
# bridge takes only relative sources).
app() {
	mkdir -p "$T/$1"
	cp "$GUEST_DIR"/*.wasm "$T/$1/"
	cat >"$T/$1/spin.toml"
}

# main_app DIR STORES: the app most checks use: vars with variables of
# every origin, kv with the stores STORES (a TOML list), kv-none with no
# store, the two outbound guests allowed to reach the upstream UP and CLOSED
# (where nothing listens), and outbound-none allowed nothing.
main_app() {
	app "$1" <<EOF
spin_manifest_version = 2

[application]
name = "spin-interfaces"

[variables]
greeting = { default = "hello from a default" }
from_env = { default = "the environment did not win" }
from_static = { default = "the static provider did not win" }
from_prefix = { default = "the prefixed env provider did not win" }
api_key = { required = true, secret = true }

[[trigger.http]]
route = "/vars"
component = "vars"

[[trigger.http]]
route = "/kv"
component = "kv"

[[trigger.http]]
route = "/kv-none"
component = "kv-none"

[[trigger.http]]
route = "/outbound"
component = "outbound"

[[trigger.http]]
route = "/outbound-spin"
component = "outbound-spin"

[[trigger.http]]
route = "/outbound-none"
component = "outbound-none"

[component.vars]
source = "vars.wasm"

[component.vars.variables]
greeting = "{{ greeting }}"
from_env = "{{ from_env }}"
from_static = "{{ from_static }}"
from_prefix = "{{ from_prefix }}"
api_key = "{{ api_key }}"
composed = "key={{ api_key }}, greeting={{ greeting }}"
literal = "a literal"

[component.kv]
source = "kv.wasm"
key_value_stores = $2

[component.kv-none]
source = "kv.wasm"

[component.outbound]
source = "outbound.wasm"
allowed_outbound_hosts = ["http://127.0.0.1:$UP", "http://127.0.0.1:$CLOSED"]

[component.outbound-spin]
source = "outbound-spin.wasm"
allowed_outbound_hosts = ["http://127.0.0.1:$UP", "http://127.0.0.1:$CLOSED"]

[component.outbound-none]
source = "outbound.wasm"
EOF
}
# Spin refuses to start an app whose components list a store that neither
# the runtime config nor the runtime ("default") defines.
main_app default '["default"]'
main_app main '["default", "other"]'

# What SpinKube's operator writes, plus two SQLite stores; and a file with
# providers of its own.
cat >"$T/spinkube.toml" <<EOF
[[config_provider]]
type = "env"
prefix = "SPIN_VARIABLE_"

[key_value_store.default]
type = "spin"
path = "$T/kv/default.db"

[key_value_store.other]
type = "spin"
path = "$T/kv/other.db"
EOF
cat >"$T/providers.toml" <<EOF
[[variables_provider]]
type = "static"
values = { from_static = "from the static provider" }

[[variables_provider]]
type = "env"
prefix = "MYAPP"

[key_value_store.other]
type = "spin"
path = "$T/kv/other.db"
EOF

# started DESC: a test point for the start_bridge just before; the bridge's
# log as diagnostics when it did not start.
started() {
	local rc=$?
	is "$rc" "0" "$1"
	[ "$rc" -eq 0 ] || sed 's/^/# /' "$BRIDGE_LOG"
}

# fetch PATH [CURL ARGS...]: one request; body in $T/b, status in $T/s.
fetch() {
	local p=$1; shift
	rm -f "$T/b"
	curl -sS --max-time 60 -o "$T/b" -w '%{http_code}' "$@" "http://127.0.0.1:$PORT$p" >"$T/s" 2>"$T/err"
}
# line TEXT: the last fetch's body has a line that is exactly TEXT.
line() { grep -aqxF -- "$1" "$T/b"; }
# var NAME: what vars answers for NAME, both lines joined by "|".
var() { get "/vars?name=$1" | paste -sd'|' -; }

# fails NAME PATTERN [FLAGS...]: spin-bridge serving $T/bad exits 1 at start
# with one "spin-bridge: ..." line on stderr matching PATTERN. One that
# serves instead is stopped after 20 s (exit status 124).
fails() {
	local name=$1 pat=$2; shift 2
	local rc=0 f=$T/out.$TAP_N
	SPIN_VARIABLE_API_KEY=x timeout 20 "$BRIDGE" up --from "$T/bad" --listen 127.0.0.1:0 --no-cache "$@" \
		>"$f" 2>&1 || rc=$?
	is "$rc" "1" "$name: refused at start"
	local l; l=$(grep '^spin-bridge: ' "$f")
	grep -qE -- "$pat" <<<"$l"; is $? 0 "$name: $l"
}

# ---- variables: manifest defaults and the environment, no runtime config
SPIN_VARIABLE_API_KEY=s3cret SPIN_VARIABLE_FROM_ENV=from-env MYAPP_FROM_PREFIX=ignored \
	start_bridge vars-env "$T/default"
started "starts the Spin interfaces app"
[ -n "$PORT" ] || bail "spin-bridge did not start"
is "$(var greeting)" "spin=hello from a default|config=hello from a default" \
	"a manifest default through fermyon:spin/variables and wasi:config/store"
is "$(var api_key)" "spin=s3cret|config=s3cret" "a required variable from SPIN_VARIABLE_API_KEY"
is "$(var from_env)" "spin=from-env|config=from-env" "SPIN_VARIABLE_FROM_ENV over the default"
is "$(var composed)" "spin=key=s3cret, greeting=hello from a default|config=key=s3cret, greeting=hello from a default" \
	"a template of two variables"
is "$(var literal)" "spin=a literal|config=a literal" "a literal component variable"
is "$(var from_prefix)" "spin=the prefixed env provider did not win|config=the prefixed env provider did not win" \
	"no provider with prefix MYAPP without a runtime config"
fetch '/vars?name=nosuch'
line 'config-none' && grep -q '^spin-error=undefined: ' "$T/b"
is $? 0 "an undefined variable: spin undefined, wasi:config none"
# Spin 3 answers wasi:config with none for an invalid name, as the
# wasi-runtime-config proposal advises (crates/factor-variables/src/host.rs).
fetch '/vars?name=Bad-Name'
grep -q '^spin-error=invalid-name: ' "$T/b" && line 'config-none'
is $? 0 "an invalid name: spin invalid-name, wasi:config none"
is "$(get '/vars?all' | paste -sd'|' -)" \
	"all api_key=s3cret|all composed=key=s3cret, greeting=hello from a default|all from_env=from-env|all from_prefix=the prefixed env provider did not win|all from_static=the static provider did not win|all greeting=hello from a default|all literal=a literal" \
	"wasi:config/store get-all: every component variable, resolved"

# ---- key-value without a runtime config: the default store only
fetch '/kv?key=k1' -X PUT --data-binary 'v1'
is "$(cat "$T/s") $(cat "$T/b")" "200 ok" "key-value: set in the default store (no runtime config)"
is "$(get '/kv?key=k1')" "v1" "... get"
fetch '/kv-none?key=k1'
is "$(cat "$T/s") $(cat "$T/b")" "500 access-denied" "... a component without key_value_stores: access-denied"
fetch '/kv?key=k1&store=other'
is "$(cat "$T/s") $(cat "$T/b")" "500 access-denied" "... a store the component does not list: access-denied"
stop_bridge

# ---- the runtime config SpinKube writes, with SQLite stores
SPIN_VARIABLE_API_KEY=s3cret SPIN_VARIABLE_FROM_ENV=from-env \
	start_bridge kv "$T/main" --runtime-config-file "$T/spinkube.toml"
started "starts with SpinKube's runtime config (env provider with prefix SPIN_VARIABLE_, SQLite stores)"
is "$(var api_key)" "spin=s3cret|config=s3cret" "SPIN_VARIABLE_API_KEY under SpinKube's provider"
is "$(var from_env)" "spin=from-env|config=from-env" "... and SPIN_VARIABLE_FROM_ENV"

fetch '/kv?key=k1' -X PUT --data-binary 'v1'
is "$(cat "$T/s") $(cat "$T/b")" "200 ok" "key-value: PUT sets"
is "$(get '/kv?key=k1')" "v1" "... GET gets"
fetch '/kv?key=k2' -X POST --data-binary 'second'
is "$(cat "$T/s")" "200" "... POST sets too"
head -c 1000000 /dev/urandom >"$T/value"
fetch '/kv?key=bin' -X PUT --data-binary @"$T/value"
fetch '/kv?key=bin'
cmp -s "$T/b" "$T/value"; is $? 0 "... a 1 MB binary value comes back byte for byte"
is "$(get '/kv?exists=k1') $(get '/kv?exists=nope')" "true false" "... exists"
is "$(get '/kv?keys' | paste -sd, -)" "bin,k1,k2" "... get-keys"
fetch '/kv?key=k2' -X DELETE
is "$(cat "$T/s")" "200" "... DELETE"
is "$(status '/kv?key=k2')" "404" "... a deleted key is gone"
is "$(status '/kv?key=k2' -X DELETE)" "200" "... deleting a missing key is no error"
fetch '/kv?key=k1&store=other' -X PUT --data-binary 'in other'
is "$(get '/kv?key=k1&store=other') / $(get '/kv?key=k1')" "in other / v1" "... a second store keeps its own keys"
fetch '/kv-none?key=k1'
is "$(cat "$T/s") $(cat "$T/b")" "500 access-denied" "... a component without key_value_stores: access-denied"
ok "the SQLite file is where the runtime config says" test -s "$T/kv/default.db"
stop_bridge
is "$BRIDGE_RC" "0" "SIGTERM: exit status 0"

SPIN_VARIABLE_API_KEY=s3cret start_bridge kv-again "$T/main" --runtime-config-file "$T/spinkube.toml"
started "starts again on the same runtime config"
is "$(get '/kv?key=k1') / $(get '/kv?key=k1&store=other') / $(get '/kv?keys' | paste -sd, -)" "v1 / in other / bin,k1" \
	"key-value: both stores outlive a restart"
stop_bridge

# ---- a runtime config with providers of its own
SPIN_VARIABLE_API_KEY=s3cret SPIN_VARIABLE_FROM_ENV=from-env MYAPP_FROM_PREFIX=from-myapp \
	start_bridge providers "$T/main" --runtime-config-file "$T/providers.toml"
started "starts with [[variables_provider]] static and env (prefix MYAPP)"
is "$(var from_static)" "spin=from the static provider|config=from the static provider" \
	"a value from the static provider of the runtime config"
is "$(var from_prefix)" "spin=from-myapp|config=from-myapp" "a value from MYAPP_FROM_PREFIX (env provider, prefix MYAPP)"
is "$(var from_env)" "spin=from-env|config=from-env" "SPIN_VARIABLE_* still works beside them"
is "$(var greeting)" "spin=hello from a default|config=hello from a default" "... and defaults"
is "$(get '/kv?key=k1&store=other')" "in other" "a store defined in this file"
stop_bridge

# ---- outbound HTTP
SPIN_VARIABLE_API_KEY=s3cret start_bridge outbound "$T/default"
started "starts the app again for outbound HTTP"
is "$(get "/outbound?url=http://127.0.0.1:$UP/hi.txt")" "upstream says hi" \
	"wasi:http outgoing-handler to an allowed host"
fetch "/outbound?url=http://127.0.0.1:$UP/big.bin"
cmp -s "$T/b" "$T/www/big.bin"; is $? 0 "... a 3 MB upstream body streams through"
is "$(status "/outbound?url=http://127.0.0.1:$UP/nope")" "404" "... the upstream's status"
is "$(get "/outbound?url=http%3A%2F%2F127.0.0.1%3A$UP%2Fhi.txt%3Fa%3D1")" "upstream says hi" "... a URL with a query"
fetch "/outbound?url=http://127.0.0.1:$OTHER/hi.txt"
is "$(cat "$T/s") $(cat "$T/b")" "502 HTTP-request-denied" "a port that allowed_outbound_hosts does not list: HTTP-request-denied"
fetch "/outbound?url=http://localhost:$UP/hi.txt"
is "$(cat "$T/s") $(cat "$T/b")" "502 HTTP-request-denied" "... a host name it does not list (localhost for 127.0.0.1): denied"
fetch "/outbound?url=https://127.0.0.1:$UP/hi.txt"
is "$(cat "$T/s") $(cat "$T/b")" "502 HTTP-request-denied" "... a scheme it does not list: denied"
fetch "/outbound-none?url=http://127.0.0.1:$UP/hi.txt"
is "$(cat "$T/s") $(cat "$T/b")" "502 HTTP-request-denied" "... a component without allowed_outbound_hosts: denied"
fetch "/outbound?url=http://127.0.0.1:$CLOSED/hi.txt"
is "$(cat "$T/s") $(cat "$T/b")" "502 connection-refused" "an allowed port where nothing listens: connection-refused"
ok "denied requests never reach an upstream" sh -c "! grep -q 'GET /hi.txt' '$T/other.log' && test \$(grep -c 'GET /hi.txt' '$T/allowed.log') -eq 2"

is "$(get "/outbound-spin?url=http://127.0.0.1:$UP/hi.txt")" "upstream says hi" \
	"fermyon:spin/http send-request to an allowed host"
is "$(status "/outbound-spin?url=http://127.0.0.1:$UP/nope")" "404" "... the upstream's status"
fetch "/outbound-spin?url=http://127.0.0.1:$OTHER/hi.txt"
is "$(cat "$T/s") $(cat "$T/b")" "502 destination-not-allowed" "... a host it does not list: destination-not-allowed"
fetch "/outbound-spin?url=http://127.0.0.1:$CLOSED/hi.txt"
is "$(cat "$T/s") $(cat "$T/b")" "502 runtime-error" "... an allowed port where nothing listens: runtime-error"
# Spin checks the allow list first, and a URL it cannot parse matches nothing.
fetch "/outbound-spin?url=not-a-url"
ok "... a malformed URL: 502 destination-not-allowed or invalid-url ($(cat "$T/b"))" \
	grep -qxE '502 (destination-not-allowed|invalid-url)' <<<"$(cat "$T/s") $(cat "$T/b")"
stop_bridge

# ---- start-up errors
# bad_app STORES: one kv component using the stores STORES.
bad_app() {
	app bad <<EOF
spin_manifest_version = 2
[application]
name = "bad"
[[trigger.http]]
route = "/kv"
component = "kv"
[component.kv]
source = "kv.wasm"
key_value_stores = $1
EOF
}
bad_app '["default"]'
printf '[key_value_store.default]\ntype = "nosuch"\n' >"$T/unknown-type.toml"
fails "a key-value store of an unknown type" 'key_value_store.*default.*nosuch|nosuch.*default' \
	--runtime-config-file "$T/unknown-type.toml"
printf '[[variables_provider]]\ntype = "nosuch"\n' >"$T/unknown-provider.toml"
fails "a variables provider of an unknown type" 'nosuch' --runtime-config-file "$T/unknown-provider.toml"
printf '[key_value_store.default\ntype = "spin"\n' >"$T/syntax.toml"
fails "a runtime config that is not TOML" 'syntax.toml:1' --runtime-config-file "$T/syntax.toml"
fails "a runtime config file that does not exist" "$T/nope.toml" --runtime-config-file "$T/nope.toml"
bad_app '["nosuch"]'
fails "a component listing a store defined nowhere" 'nosuch' --runtime-config-file "$T/spinkube.toml"

stop_upstreams
tap_done
