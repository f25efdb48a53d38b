#!/usr/bin/env bash
# spin-bridge serving fermyon:spin/key-value@2.0.0 (tests/guests/spin/kv.c)
# and wasi:keyvalue@0.2.0-draft2 (wkv.c) from stores of type "redis" in the
# runtime config (and, for wasi:keyvalue, "spin"), on a redis-server this
# script starts on a free port of 127.0.0.1 with its own folder, a password
# and no persistence, and stops at the end.
#
# Checked, for fermyon:spin/key-value@2.0.0 (kv.c): set / get / exists /
# delete / get-keys, read back with redis-cli
# (the keys are the Redis database's own); the URL's password and database;
# a store the component does not list (access-denied) and a store without
# the password (Redis's NOAUTH as an other(...) value); a value at the cap
# and one byte over it, both ways; a key holding a list (WRONGTYPE); get-keys
# over several SCAN rounds. For wasi:keyvalue, on a Redis and a SQLite
# store alike: the store calls, increment (overflow, a value that is not a
# number), cas and swap with a write in between, get-many / set-many /
# delete-many and the batch cap, list-keys. For outbound Redis
# (tests/guests/spin/redis.c, fermyon:spin/redis@2.0.0) to the same server:
# every call, execute's result kinds, type-error, the cap both ways, hosts,
# ports and URLs refused as invalid-address, NOAUTH, the
# connection cap; and Spin 1.x's fermyon:spin/redis (redis1.c). Then the
# server down (an
# other(...) value naming the server, the request still answered) and back
# (pooled connections made again, no error after a restart); start-up
# errors for a bad URL. Then rediss:// (tests/runtime/redis/tls.sh): a
# key-value store and outbound Redis over TLS to a redis-server on a TLS
# port with a certificate of a CA made here (SSL_CERT_FILE), the host name
# checked, plain to TLS and TLS to plain, and the wrong CA refused clearly.
set -uo pipefail
. "$SPINKUBE_SOURCE_DIR/tests/lib/tap.sh"
. "$SPINKUBE_SOURCE_DIR/tests/runtime/lib.sh"

command -v redis-server >/dev/null || bail "no redis-server: hack/bootstrap --only debs"
build_guests
GUEST_DIR=$GUESTS/spin

REDIS_PORT=$(free_port)
PASS=s3cret-pw
cleanup() { stop_redis; stop_redis_tls; cleanup_bridge; }
trap cleanup EXIT

start_redis || bail "redis-server did not start: $(tail -n 5 "$T/redis/log" 2>/dev/null)"

mkdir -p "$T/app"
cp "$GUEST_DIR/kv.wasm" "$GUEST_DIR/wkv.wasm" "$GUEST_DIR/redis.wasm" "$GUEST_DIR/redis1.wasm" "$T/app/"
cat >"$T/app/spin.toml" <<EOF
spin_manifest_version = 2
[application]
name = "kv-redis"

[[trigger.http]]
route = "/kv"
component = "kv"

[[trigger.http]]
route = "/kv-none"
component = "kv-none"

[[trigger.http]]
route = "/wkv"
component = "wkv"

[[trigger.http]]
route = "/rds"
component = "rds"

[[trigger.http]]
route = "/rds-none"
component = "rds-none"

[[trigger.http]]
route = "/rds1"
component = "rds1"

[component.kv]
source = "kv.wasm"
key_value_stores = ["default", "db3", "noauth"]

[component.kv-none]
source = "kv.wasm"
key_value_stores = ["other"]

[component.wkv]
source = "wkv.wasm"
key_value_stores = ["default", "lite"]

[component.rds]
source = "redis.wasm"
allowed_outbound_hosts = ["redis://127.0.0.1:$REDIS_PORT"]

[component.rds-none]
source = "redis.wasm"

[component.rds1]
source = "redis1.wasm"
allowed_outbound_hosts = ["redis://127.0.0.1:$REDIS_PORT"]
EOF
cat >"$T/rc.toml" <<EOF
[key_value_store.default]
type = "redis"
url = "redis://:$PASS@127.0.0.1:$REDIS_PORT"

[key_value_store.db3]
type = "redis"
url = "redis://:$PASS@127.0.0.1:$REDIS_PORT/3"

[key_value_store.noauth]
type = "redis"
url = "redis://127.0.0.1:$REDIS_PORT"

[key_value_store.other]
type = "spin"

[key_value_store.lite]
type = "spin"
EOF

fetch() {
	local p=$1; shift
	rm -f "$T/b"
	curl -sS --max-time 60 -o "$T/b" -w '%{http_code}' "$@" "http://127.0.0.1:$PORT$p" >"$T/s" 2>"$T/err"
}
answer() { printf '%s %s' "$(cat "$T/s")" "$(cat "$T/b")"; }
like() {
	grep -qE -- "$2" <<<"$1"
	is "$?" 0 "$3"
}

start_bridge main "$T/app" --runtime-config-file "$T/rc.toml"
is $? 0 "starts an app whose stores are on Redis"
[ -n "$PORT" ] || { sed 's/^/# /' "$BRIDGE_LOG"; bail "spin-bridge did not start"; }

# ---- the happy path, seen from Redis too
fetch '/kv?key=k1' -X PUT --data-binary 'v1'
is "$(answer)" "200 ok" "set"
is "$(rcli GET k1)" "v1" "... the value is the Redis key's, in database 0"
is "$(get '/kv?key=k1')" "v1" "get"
rcli SET from-redis "written by redis-cli" >/dev/null
is "$(get '/kv?key=from-redis')" "written by redis-cli" "get of a key Redis wrote"
printf 'a\0b\377c' >"$T/bin"
fetch '/kv?key=bin' -X PUT --data-binary @"$T/bin"
fetch '/kv?key=bin'
cmp -s "$T/b" "$T/bin"
is $? 0 "a binary value with NUL and 0xff bytes round-trips"
fetch '/kv?key=empty' -X PUT --data-binary ''
fetch '/kv?key=empty'
is "$(cat "$T/s") $(wc -c <"$T/b")" "200 0" "an empty value is a value (200, no bytes)"
is "$(status '/kv?key=nope')" "404" "a missing key: none (404)"
is "$(get '/kv?exists=k1') $(get '/kv?exists=nope')" "true false" "exists"
is "$(get '/kv?keys' | paste -sd, -)" "bin,empty,from-redis,k1" "get-keys: every key of the database"
fetch '/kv?key=k1' -X DELETE
is "$(answer) $(rcli EXISTS k1)" "200 ok 0" "delete removes the Redis key"
is "$(status '/kv?key=k1' -X DELETE)" "200" "deleting a missing key is no error"

# ---- the URL's database, password; the component's list
fetch '/kv?key=k3&store=db3' -X PUT --data-binary 'in db 3'
is "$(rcli -n 3 GET k3)/$(rcli -n 0 EXISTS k3)" "in db 3/0" "a store on /3 writes Redis database 3 only"
is "$(get '/kv?keys&store=db3' | paste -sd, -)" "k3" "get-keys of db3 lists its own keys"
fetch '/kv?key=k3&store=noauth'
like "$(answer)" '^500 other: key-value store "noauth" \(redis://127\.0\.0\.1:[0-9]+/0\): .*NOAUTH' \
	"a store without the password: Redis's NOAUTH as other(...): $(answer)"
fetch '/kv-none?key=k1&store=default'
is "$(answer)" "500 access-denied" "a store the component does not list: access-denied"
fetch '/kv?key=k1&store=other'
is "$(answer)" "500 access-denied" "a store defined but not listed: access-denied"

# ---- caps and types
head -c 1048576 /dev/urandom >"$T/cap"
fetch '/kv?key=cap' -X PUT --data-binary @"$T/cap"
is "$(answer)" "200 ok" "a value of exactly 1 MiB (the cap) is stored"
fetch '/kv?key=cap'
cmp -s "$T/b" "$T/cap"
is $? 0 "... and read back whole"
head -c 1048577 /dev/urandom >"$T/over"
fetch '/kv?key=over' -X PUT --data-binary @"$T/over"
like "$(answer)" '^500 other: .*1048577 bytes is larger than spin-bridge allows' "a value one byte over: other(...)"
is "$(rcli EXISTS over)" "0" "... and nothing reaches Redis"
rcli -x SET over <"$T/over" >/dev/null
fetch '/kv?key=over'
like "$(answer)" '^500 other: key-value store "default": the value is more than spin-bridge hands over' \
	"a value over the cap written by Redis: other(...), not read whole"
rcli RPUSH alist x >/dev/null
fetch '/kv?key=alist'
like "$(answer)" '^500 other: .*WRONGTYPE' "a key holding a list: WRONGTYPE as other(...)"
for i in $(seq 1 2500); do printf 'SET many:%04d %d\n' "$i" "$i"; done | rcli -n 3 >/dev/null
is "$(get '/kv?keys&store=db3' | wc -l)" "2501" "get-keys over several SCAN rounds: each key once"

# ---- wasi:keyvalue (tests/guests/spin/wkv.c) on Redis (default) and SQLite (lite)
for store in default lite; do
	w="/wkv?store=$store"
	name=Redis; [ "$store" = lite ] && name=SQLite
	fetch "$w&key=w1" -X PUT --data-binary 'one'
	is "$(answer) $(get "$w&key=w1") $(get "$w&exists=w1") $(get "$w&exists=w0")" "200 ok one true false" \
		"wasi:keyvalue on $name: set, get, exists"
	is "$(status "$w&key=w0")" "404" "... get of a missing key: none"
	fetch "$w&key=w1" -X DELETE
	is "$(answer) $(status "$w&key=w1")" "200 ok 404" "... delete"
	is "$(get "$w&incr=n&by=5" -X POST) $(get "$w&incr=n&by=-7" -X POST) $(get "$w&key=n")" "5 -2 -2" \
		"... increment from nothing, by a negative delta; the counter reads as decimal text"
	[ "$store" = default ] && is "$(rcli GET n)" "-2" "... the counter is Redis's own (INCRBY format)"
	get "$w&incr=big&by=9223372036854775807" -X POST >/dev/null
	fetch "$w&incr=big&by=1" -X POST
	like "$(answer)" '^500 other: .*overflow' "... an increment that overflows: other(...): $(answer)"
	fetch "$w&key=t" -X PUT --data-binary 'text'
	fetch "$w&incr=t" -X POST
	like "$(answer)" '^500 other: .*not a decimal 64-bit integer' "... increment of a value that is not a number"
	fetch "$w&cas=c" -X POST --data-binary 'first'
	is "$(answer) $(get "$w&key=c")" "200 swapped first" "... cas of a missing key, then swap"
	fetch "$w&cas=c&race=theirs" -X POST --data-binary 'mine'
	is "$(answer | paste -sd'|' -) $(get "$w&key=c")" "200 cas-failed current=theirs|swapped on retry mine" \
		"... a write between cas.new and swap: cas-failed with the new value, the retry swaps"
	fetch "$w&set-many=b1=x,b2=,b3=zz" -X POST
	is "$(answer)" "200 ok" "... set-many"
	is "$(get "$w&get-many=b1,b2,b3,b4" -X POST | paste -sd'|' -)" "b1=x|b2=|b3=zz|b4 none" \
		"... get-many: every key asked for, none for a missing one"
	fetch "$w&delete-many=b1,b3,b4" -X POST
	is "$(answer) $(get "$w&get-many=b1,b2,b3" -X POST | paste -sd'|' -)" "200 ok b1 none|b2=|b3 none" "... delete-many"
	many=$(seq -f 'k%g' 1 1001 | paste -sd, -)
	fetch "$w&get-many=$many" -X POST
	like "$(answer)" '^500 other: a batch of 1001 keys is more than spin-bridge takes at once' "... a batch over the cap"
	is "$(get "$w&keys" | tail -n 1)" "cursor none" "... list-keys: every key at once, no cursor"
	is "$(get "$w&keys&cursor=x" | paste -sd'|' -)" "cursor none" "... a cursor past the end: no keys"
done
is "$(get '/wkv?store=lite&keys' | paste -sd, -)" "b2,big,c,n,t,cursor none" "wasi:keyvalue list-keys on SQLite: the store's keys"
fetch '/wkv?store=other&key=x'
is "$(answer)" "500 access-denied" "wasi:keyvalue: a store the component does not list: access-denied"

# ---- outbound Redis (tests/guests/spin/redis.c, fermyon:spin/redis@2.0.0)
A="addr=redis://:$PASS@127.0.0.1:$REDIS_PORT/5"
fetch "/rds?$A&op=set&key=o1" -X POST --data-binary 'out one'
is "$(answer) $(rcli -n 5 GET o1)" "200 ok out one" "outbound redis: set reaches database 5 of an allowed host"
is "$(get "/rds?$A&op=get&key=o1")" "out one" "... get"
is "$(status "/rds?$A&op=get&key=nope")" "404" "... get of a missing key: none"
is "$(get "/rds?$A&op=incr&key=cnt") $(get "/rds?$A&op=incr&key=cnt")" "1 2" "... incr"
fetch "/rds?$A&op=incr&key=o1" -X POST
is "$(answer)" "500 type-error" "... incr of a string: type-error"
is "$(get "/rds?$A&op=sadd&key=s&members=b,a,c,a")/$(get "/rds?$A&op=srem&key=s&members=c,x")/$(get "/rds?$A&op=smembers&key=s" | paste -sd, -)" \
	"3/1/a,b" "... sadd, srem, smembers"
is "$(get "/rds?$A&op=del&keys=o1,cnt,nope")/$(rcli -n 5 EXISTS o1)" "2/0" "... del counts the keys removed"
is "$(get "/rds?$A&op=publish&channel=news" -X POST --data-binary 'hi')" "ok" "... publish"
is "$(get "/rds?$A&op=execute&cmd=SET&args=b:x,i:5" | paste -sd'|' -)/$(get "/rds?$A&op=execute&cmd=INCRBY&args=b:x,i:-8" | paste -sd'|' -)/$(get "/rds?$A&op=execute&cmd=MGET&args=b:x,b:nope" | paste -sd'|' -)" \
	"status:OK/int64:-3/binary:-3|nil" "... execute: status, int64, binary and nil results (arrays flattened)"
fetch "/rds?$A&op=execute&cmd=NOSUCHCMD"
like "$(answer)" '^500 other: redis: ERR unknown command' "... an error reply: other(...): $(answer)"
fetch "/rds?$A&op=set&key=big" -X POST --data-binary @"$T/cap"
is "$(answer) $(rcli -n 5 STRLEN big)" "200 ok 1048576" "... a 1 MiB value (the cap) is sent"
fetch "/rds?$A&op=get&key=big"
cmp -s "$T/b" "$T/cap"
is $? 0 "... and read back whole"
fetch "/rds?$A&op=set&key=big" -X POST --data-binary @"$T/over"
like "$(answer)" '^500 other: .*at most 1048576 bytes' "... one byte over: other(...)"
fetch "/rds?addr=redis://127.0.0.2:$REDIS_PORT&op=get&key=o1"
is "$(answer)" "500 invalid-address" "... a host not in allowed_outbound_hosts: invalid-address"
fetch "/rds?addr=redis://127.0.0.1:$((REDIS_PORT + 1))&op=get&key=o1"
is "$(answer)" "500 invalid-address" "... another port of the allowed host: invalid-address"
fetch "/rds-none?$A&op=get&key=o1"
is "$(answer)" "500 invalid-address" "... a component without allowed_outbound_hosts: invalid-address"
fetch "/rds?addr=redis://127.0.0.1:99999&op=get&key=o1"
is "$(answer)" "500 invalid-address" "... a URL that is not one: invalid-address"
fetch "/rds?addr=redis://127.0.0.1:$REDIS_PORT&op=get&key=o1"
like "$(answer)" '^500 other: .*NOAUTH' "... no password: Redis's NOAUTH as other(...)"
is "$(get "/rds?$A&op=many&n=15")" "opened 15" "... 16 connections in one request"
fetch "/rds?$A&op=many&n=16"
is "$(answer)" "500 too-many-connections" "... the 17th: too-many-connections"

# ---- outbound Redis, Spin 1.x (tests/guests/spin/redis1.c, fermyon:spin/redis)
fetch "/rds1?$A&op=set&key=v1" -X POST --data-binary 'from v1'
is "$(answer) $(rcli -n 5 GET v1)" "200 ok from v1" "v1 outbound redis: set"
is "$(get "/rds1?$A&op=get&key=v1")/$(get "/rds1?$A&op=get&key=nope" | wc -c)" "from v1/0" \
	"... get (a missing key: an empty payload)"
is "$(get "/rds1?$A&op=incr&key=c1") $(get "/rds1?$A&op=del&key=c1")" "1 1" "... incr and del"
is "$(get "/rds1?$A&op=execute&cmd=GET&key=v1")" "binary:from v1" "... execute"
fetch "/rds1?$A&op=incr&key=v1"
is "$(answer)" "500 error" "... a failed call: error"
fetch "/rds1?addr=redis://127.0.0.2:$REDIS_PORT&op=get&key=v1"
is "$(answer)" "500 error" "... a host not in allowed_outbound_hosts: error"

# ---- server down, and back
stop_redis
fetch "/rds?$A&op=get&key=o1"
like "$(answer)" '^500 other: outbound redis \(redis://127\.0\.0\.1:[0-9]+/5\): cannot connect: Connection refused' \
	"Redis down: outbound redis answers other(...): $(answer)"
fetch '/kv?key=cap'
like "$(answer)" "^500 other: key-value store \"default\" \\(redis://127\\.0\\.0\\.1:$REDIS_PORT/0\\): cannot connect: Connection refused" \
	"Redis down: a clear other(...) value: $(answer)"
is "$(status '/kv?exists=x')" "500" "... every request is still answered"
start_redis || bail "redis-server did not start again"
fetch '/kv?key=k1' -X PUT --data-binary 'again'
is "$(answer)" "200 ok" "Redis back: the next request connects again"
# Idle pooled connections die with the server: the first request after a
# restart is served on a fresh connection, without an error.
get '/kv?key=k1' >/dev/null
stop_redis
start_redis || bail "redis-server did not start again"
fetch '/kv?key=k1' -X PUT --data-binary 'after restart'
is "$(answer)" "200 ok" "a restart between two requests costs no error (stale connections are remade)"
is "$(get '/kv?key=k1')" "after restart" "... and the value is there"
ok "spin-bridge kept running" kill -0 "$BRIDGE_PID"
stop_bridge

# ---- start-up errors
fails() {
	local name=$1 pat=$2 rc=0 f=$T/out.$TAP_N
	LAST_OUT=$f
	timeout 20 "$BRIDGE" up --from "$T/app" --listen 127.0.0.1:0 --no-cache --runtime-config-file "$T/bad.toml" \
		>"$f" 2>&1 || rc=$?
	is "$rc" "1" "$name: refused at start"
	local l; l=$(grep '^spin-bridge: ' "$f")
	grep -qE -- "$pat" <<<"$l"; is $? 0 "$name: $l"
}
sed "s|127.0.0.1:$REDIS_PORT/3|127.0.0.1:99999/3|" "$T/rc.toml" >"$T/bad.toml"
fails "a port out of range" '\[key_value_store\.db3\].*port must be a number from 1 to 65535'
grep -q "$PASS" "$LAST_OUT"
is $? 1 "... and the message does not show the password"
printf '[key_value_store.default]\ntype = "redis"\n' >"$T/bad.toml"
fails "type redis without a url" 'key_value_store\.default.*needs url'

# ---- rediss://
. "$SPINKUBE_SOURCE_DIR/tests/runtime/redis/tls.sh"

stop_redis
tap_done
