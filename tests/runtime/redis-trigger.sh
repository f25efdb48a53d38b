#!/usr/bin/env bash
# The Redis trigger: spin-bridge serving an app of [[trigger.redis]] only
# (tests/guests/spin/redis-handler.c, exporting fermyon:spin/inbound-redis)
# on a redis-server this script starts on a free port of 127.0.0.1 with a
# password, its own folder and no persistence.
#
# Checked: no HTTP listener at all; the address and a channel from app
# variables ({{ }} templates); AUTH; a message written through the guest's
# key-value store (a Redis store: read back with redis-cli) and published
# by the guest on another channel; two components on one channel each get
# the message; a trapping handler and one returning its error case are
# logged with component and channel, and the subscriber goes on; the cap
# on messages in flight (--max-concurrent 2) holds, counted by the guests
# themselves in Redis, and while it is reached the subscriber reads
# nothing more; a message of exactly the cap (1 MiB) is delivered whole,
# one byte over is refused and logged while the next one is served;
# redis-server killed and started again: the subscriber comes back and
# messages flow; SIGTERM with a message in flight: it finishes, then exit
# 0; an app with HTTP and Redis triggers in one process sharing its
# key-value store; rediss:// (a TLS-only redis-server with a certificate of
# a CA made here): messages over TLS, after an idle second, and after the
# server restarts, the wrong CA refused naming the certificate check;
# start-up errors for a component that is no Redis handler, an HTTP
# trigger on a Redis handler and a bad port.
set -uo pipefail
. "$SPINKUBE_SOURCE_DIR/tests/lib/tap.sh"
. "$SPINKUBE_SOURCE_DIR/tests/runtime/lib.sh"

command -v redis-server >/dev/null || bail "no redis-server: hack/bootstrap --only debs"
build_guests
GUEST_DIR=$GUESTS/spin

REDIS_PORT=$(free_port)
PASS=trig-pw
SUB_PID=
cleanup() {
	[ -z "$SUB_PID" ] || kill "$SUB_PID" 2>/dev/null
	stop_redis
	stop_redis_tls
	cleanup_bridge
}
trap cleanup EXIT
start_redis || bail "redis-server did not start: $(tail -n 5 "$T/redis/log" 2>/dev/null)"

# wait_for CMD...: until CMD succeeds, at most 20 s.
wait_for() {
	local i
	for i in $(seq 1 200); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
value_is() { [ "$(rcli GET "$1")" = "$2" ]; }
subscribed() { [ "$(grep -c 'msg="redis subscribed"' "$BRIDGE_LOG")" -ge "$1" ]; }
pub() { rcli PUBLISH "$1" "$2" >/dev/null; }

mkdir -p "$T/app"
cp "$GUEST_DIR/redis-handler.wasm" "$GUEST_DIR/kv.wasm" "$T/app/"
component() { # ID TAG
	printf '[component.%s]\nsource = "redis-handler.wasm"\nkey_value_stores = ["default"]\n' "$1"
	printf 'allowed_outbound_hosts = ["redis://127.0.0.1:%s"]\n' "$REDIS_PORT"
	printf '[component.%s.variables]\ntag = "%s"\n' "$1" "$2"
	printf 'redis_url = "redis://:{{ redis_pw }}@127.0.0.1:%s"\n\n' "$REDIS_PORT"
}
{
	cat <<EOF
spin_manifest_version = 2
[application]
name = "redis-trigger"
[application.trigger.redis]
address = "redis://:{{ redis_pw }}@127.0.0.1:{{ redis_port }}"

[variables]
redis_pw = { default = "$PASS", secret = true }
redis_port = { default = "$REDIS_PORT" }
jobs_channel = { default = "jobs" }

[[trigger.redis]]
channel = "{{ jobs_channel }}"
component = "a"

[[trigger.redis]]
channel = "fan"
component = "b"

[[trigger.redis]]
id = "fan-c"
channel = "fan"
component = "c"

[[trigger.redis]]
channel = "hold"
component = "h"

EOF
	component a a
	component b b
	component c c
	component h h
} >"$T/app/spin.toml"
cat >"$T/rc.toml" <<EOF
[key_value_store.default]
type = "redis"
url = "redis://:$PASS@127.0.0.1:$REDIS_PORT"
EOF

start_bridge main "$T/app" --runtime-config-file "$T/rc.toml" --max-concurrent 2
is $? 0 "spin-bridge starts an app of Redis triggers only"
logged 'msg="serving" app=redis-trigger listen=none redis_triggers=4'
is $? 0 "... and says it serves no HTTP listener"
is "$(ss -Hltnp 2>/dev/null | grep -c "pid=$BRIDGE_PID,")" "0" "... it listens on no TCP port"
wait_for subscribed 1
is $? 0 "the subscriber is up (AUTH with the password from an app variable)"
grep -q "$PASS" "$BRIDGE_LOG"
is $? 1 "the log never shows the password"
logged 'msg="redis trigger" trigger=redis-trigger-1 address=redis://127.0.0.1:[0-9]+ channel="jobs" component=a'
is $? 0 "the channel comes from its {{ }} template"

# ---- messages
is "$(rcli PUBLISH jobs 'set k1 v1')" "1" "one subscriber connection for the app's one address"
wait_for value_is a:k1 v1
is $? 0 "a message is handled: the guest wrote a:k1 through its key-value store"
timeout 30 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" -a "$PASS" --no-auth-warning --raw SUBSCRIBE out >"$T/out" 2>&1 &
SUB_PID=$!
wait_for grep -qx out "$T/out"
pub jobs 'pub out hello'
wait_for grep -qx 'a:hello' "$T/out"
is $? 0 "the guest publishes on another channel (outbound Redis), seen by redis-cli"
kill "$SUB_PID" 2>/dev/null
wait "$SUB_PID" 2>/dev/null
SUB_PID=
pub fan 'set f1 both'
wait_for value_is b:f1 both && wait_for value_is c:f1 both
is $? 0 "two triggers on one channel: each component gets the message"

# ---- failures leave the subscriber alive
pub jobs trap
wait_for logged 'msg="redis message failed" trigger=redis-trigger-1 component=a channel="jobs" reason="wasm trap'
is $? 0 "a trap is logged with trigger, component and channel"
pub jobs fail
wait_for logged 'msg="redis message failed" .*reason="handle-message returned error \(error\)"'
is $? 0 "the guest's error case is logged"
pub jobs 'set k2 v2'
wait_for value_is a:k2 v2
is $? 0 "... and the next message is handled"

# ---- the cap on messages in flight (--max-concurrent 2)
for i in 1 2 3 4 5; do pub hold hold; done
wait_for value_is h:in 2
is $? 0 "two hold messages run at once"
pub jobs 'set k3 v3'
sleep 1
is "$(rcli GET h:in)/$(rcli EXISTS h:seen:3)" "2/0" "... a third does not start while two run"
is "$(rcli EXISTS a:k3)" "0" "... and the subscriber reads nothing more meanwhile (backpressure)"
rcli SET h:release 1 >/dev/null
wait_for value_is h:done 5
is $? 0 "released: every hold message ran"
is "$(rcli EXISTS h:seen:2)/$(rcli EXISTS h:seen:3)" "1/0" "... never more than two in flight"
wait_for value_is a:k3 v3
is $? 0 "... and the message queued behind them was handled"

# ---- the message cap
head -c 1048576 /dev/zero | tr '\0' m >"$T/cap"
rcli -x PUBLISH jobs <"$T/cap" >/dev/null
wait_for value_is a:len 1048576
is $? 0 "a message of exactly 1 MiB (the cap) is delivered"
rcli --raw GET a:last | head -c 1048576 >"$T/last"
cmp -s "$T/last" "$T/cap"
is $? 0 "... whole"
head -c 1048577 /dev/zero | tr '\0' o >"$T/over"
rcli -x PUBLISH jobs <"$T/over" >/dev/null
pub jobs 'set k4 v4'
wait_for value_is a:k4 v4
is $? 0 "a message one byte over is skipped and the next one is handled"
logged 'msg="redis message refused" address=redis://127.0.0.1:[0-9]+ channel="jobs" bytes=1048577'
is $? 0 "... the refused one is logged with its size"
is "$(rcli GET a:len)" "1048576" "... and never reached the guest"

# ---- the server goes away and comes back
kill -9 "$REDIS_PID"
wait "$REDIS_PID" 2>/dev/null
REDIS_PID=
wait_for logged 'msg="redis connection lost"'
is $? 0 "redis-server killed: the connection loss is logged"
start_redis || bail "redis-server did not start again"
wait_for subscribed 2
is $? 0 "... restarted: the subscriber connects again (backoff)"
pub jobs 'set k5 v5'
wait_for value_is a:k5 v5
rc=$?
is $rc 0 "... and messages flow again"
[ $rc = 0 ] || tail -n 12 "$BRIDGE_LOG" | sed 's/^/# /'
ok "spin-bridge kept running" kill -0 "$BRIDGE_PID"

# ---- SIGTERM with a message in flight
rcli DEL h:release h:done >/dev/null
pub hold hold
wait_for value_is h:in 1
kill -TERM "$BRIDGE_PID"
sleep 0.5
rcli SET h:release 1 >/dev/null
BRIDGE_RC=0
wait "$BRIDGE_PID" || BRIDGE_RC=$?
BRIDGE_PID=
is "$BRIDGE_RC/$(rcli GET h:done)" "0/1" "SIGTERM: the message in flight finishes, then exit 0"
logged 'msg="redis trigger stopped" dropped=0 drain=complete'
is $? 0 "... the drain is logged complete"

# ---- an app with HTTP and Redis triggers: one process serves both
mkdir -p "$T/mixed"
cp "$T/app/"*.wasm "$T/mixed/"
{
	printf 'spin_manifest_version = 2\n[application]\nname = "mixed"\n[variables]\nredis_pw = { default = "%s" }\n' "$PASS"
	printf '[[trigger.http]]\nroute = "/kv"\ncomponent = "k"\n'
	printf '[[trigger.redis]]\naddress = "redis://:%s@127.0.0.1:%s"\nchannel = "mixed"\ncomponent = "m"\n' "$PASS" "$REDIS_PORT"
	printf '[component.k]\nsource = "kv.wasm"\nkey_value_stores = ["default"]\n\n'
	component m m
} >"$T/mixed/spin.toml"
start_bridge mixed "$T/mixed" --runtime-config-file "$T/rc.toml" --max-concurrent 2
is $? 0 "an app with HTTP and Redis triggers starts"
logged 'msg="serving" app=mixed listen=127\.0\.0\.1:0 port=[0-9]+ redis_triggers=1'
is $? 0 "... serving HTTP and one Redis trigger"
wait_for subscribed 1
pub mixed 'set from-redis written-by-redis'
wait_for value_is m:from-redis written-by-redis
is "$(get '/kv?key=m:from-redis')" "written-by-redis" "what the Redis handler wrote, the HTTP component reads"
stop_bridge
is "$BRIDGE_RC" "0" "... and SIGTERM stops both (exit 0)"

# ---- rediss://: the subscriber over TLS (a second redis-server on a TLS
# port only, its certificate from a CA made here)
start_redis_tls || bail "redis-server with TLS did not start: $(tail -n 5 "$T/redis-tls/log" 2>/dev/null)"
mkdir -p "$T/tls"
cp "$T/app/"*.wasm "$T/tls/"
{
	printf 'spin_manifest_version = 2\n[application]\nname = "tls"\n[application.trigger.redis]\n'
	printf 'address = "rediss://:{{ redis_pw }}@127.0.0.1:%s"\n' "$TLS_PORT"
	printf '[variables]\nredis_pw = { default = "%s", secret = true }\n' "$PASS"
	printf '[[trigger.redis]]\nchannel = "jobs"\ncomponent = "t"\n'
	component t t
} >"$T/tls/spin.toml"
SSL_CERT_FILE=$T/test-ca.pem start_bridge tls "$T/tls" --runtime-config-file "$T/rc.toml"
is $? 0 "a rediss:// trigger address: spin-bridge starts"
wait_for subscribed 1
is $? 0 "... the subscriber is up over TLS (AUTH inside it)"
logged 'msg="redis trigger" trigger=redis-trigger-1 address=rediss://127\.0\.0\.1:[0-9]+ channel="jobs" component=t'
is $? 0 "... logged with its rediss:// address"
is "$(tcli PUBLISH jobs 'set k1 tls1')" 1 "one subscriber on the TLS server"
wait_for value_is t:k1 tls1
is $? 0 "a message over TLS is handled"
sleep 1
tcli PUBLISH jobs 'set k2 tls2' >/dev/null
wait_for value_is t:k2 tls2
is $? 0 "... and one after a second idle (reads that time out over TLS keep the link)"
stop_redis_tls
wait_for logged 'msg="redis connection lost" address=rediss://'
is $? 0 "the TLS server stopped: the loss is logged"
start_redis_tls || bail "redis-server with TLS did not start again"
wait_for subscribed 2
is $? 0 "... started again: the subscriber reconnects over TLS"
tcli PUBLISH jobs 'set k3 tls3' >/dev/null
wait_for value_is t:k3 tls3
is $? 0 "... and messages flow again"
grep -q "$PASS" "$BRIDGE_LOG"
is $? 1 "the log never shows the password"
stop_bridge
is "$BRIDGE_RC" "0" "SIGTERM stops it (exit 0)"
SSL_CERT_FILE=$T/other-ca.pem start_bridge tls-other "$T/tls" --runtime-config-file "$T/rc.toml"
is $? 0 "SSL_CERT_FILE another CA: spin-bridge starts"
wait_for logged 'msg="redis trigger cannot subscribe" address=rediss://127\.0\.0\.1:[0-9]+ retry_ms=[0-9]+ reason=".*TLS: the server.s certificate is not trusted'
is $? 0 "... the subscriber is refused, naming the certificate check, and retries"
subscribed 1
is $? 1 "... and never subscribes"
stop_bridge
SSL_CERT_FILE=$T/other-ca.pem SPIN_OUTBOUND_CA_FILE=$T/test-ca.pem start_bridge tls-own "$T/tls" --runtime-config-file "$T/rc.toml"
is $? 0 "SPIN_OUTBOUND_CA_FILE the CA, SSL_CERT_FILE another: spin-bridge starts"
wait_for subscribed 1
is $? 0 "... the subscriber verifies against the app's bundle and subscribes"
tcli PUBLISH jobs 'set k4 tls4' >/dev/null
wait_for value_is t:k4 tls4
is $? 0 "... and handles a message"
stop_bridge
stop_redis_tls

# ---- start-up errors
fails() {
	local name=$1 pat=$2 rc=0 f=$T/out.$TAP_N
	timeout 30 "$BRIDGE" up --from "$T/bad" --no-cache --runtime-config-file "$T/rc.toml" >"$f" 2>&1 || rc=$?
	is "$rc" "1" "$name: refused at start"
	local l
	l=$(grep '^spin-bridge: ' "$f")
	grep -qE -- "$pat" <<<"$l"
	is $? 0 "$name: $l"
}
mkdir -p "$T/bad"
cp "$T/app/"*.wasm "$T/bad/"
bad() {
	printf 'spin_manifest_version = 2\n[application]\nname = "bad"\n%s\n' "$1" >"$T/bad/spin.toml"
	printf '[component.k]\nsource = "kv.wasm"\n[component.r]\nsource = "redis-handler.wasm"\n' >>"$T/bad/spin.toml"
}
bad "[[trigger.redis]]
address = \"redis://127.0.0.1:$REDIS_PORT\"
channel = \"x\"
component = \"k\""
fails "a Redis trigger on a wasi:http component" \
	'trigger "redis-trigger-1": component "k" is a component exporting wasi:http/incoming-handler, not a Redis handler'
bad '[[trigger.http]]
route = "/"
component = "r"'
fails "an HTTP trigger on a Redis handler" 'component "r" exports fermyon:spin/inbound-redis and no HTTP handler'
bad '[[trigger.redis]]
address = "redis://127.0.0.1:99999"
channel = "x"
component = "r"'
fails "a port out of range" 'trigger "redis-trigger-1".*port must be a number from 1 to 65535'
like_help=$("$BRIDGE" --help)
grep -q 'Redis trigger: each \[\[trigger.redis\]\]' <<<"$like_help"
is $? 0 "--help speaks of the Redis trigger"

stop_redis
tap_done
