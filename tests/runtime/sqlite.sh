#!/usr/bin/env bash
# spin-bridge serving Spin's SQLite interfaces to a wasi:http component
# (tests/guests/spin/sqlite.c), through each of the three the SDKs import:
# fermyon:spin/sqlite (Spin 1.x, u32 handles), fermyon:spin/sqlite@2.0.0
# and spin:sqlite/sqlite@3.0.0 (also last-insert-rowid and changes).
#
# For each: every value type in and out, the component's sqlite_databases
# (access-denied), SQL errors as io(...) values rather than traps, the caps
# (statement, parameters, value size, rows, result bytes), rows that one
# request writes and the next reads. Then the default database in the
# state folder and a labelled one where the runtime config says (read back
# with python3's sqlite3), a database in memory, rows that outlive a
# restart, concurrent writers, and the start-up errors: a database defined
# nowhere, type "libsql", and a component importing fermyon:spin/llm.
set -uo pipefail
. "$SPINKUBE_SOURCE_DIR/tests/lib/tap.sh"
. "$SPINKUBE_SOURCE_DIR/tests/runtime/lib.sh"

build_guests
GUEST_DIR=$GUESTS/spin
trap cleanup_bridge EXIT

# app DIR: a folder with the spin guests and the spin.toml on stdin.
app() {
	mkdir -p "$T/$1"
	cp "$GUEST_DIR"/*.wasm "$T/$1/"
	cat >"$T/$1/spin.toml"
}

app main <<'EOF'
spin_manifest_version = 2
[application]
name = "sqlite"

[[trigger.http]]
route = "/sql"
component = "sql"

[[trigger.http]]
route = "/none"
component = "none"

[[trigger.http]]
route = "/mem"
component = "mem"

[component.sql]
source = "sqlite.wasm"
sqlite_databases = ["default", "other"]

[component.none]
source = "sqlite.wasm"

[component.mem]
source = "sqlite.wasm"
sqlite_databases = ["mem"]
EOF

cat >"$T/rc.toml" <<EOF
[[config_provider]]
type = "env"
prefix = "SPIN_VARIABLE_"

[sqlite_database.other]
type = "spin"
path = "db/other.db"

[sqlite_database.mem]
type = "spin"
EOF

# sql PATH [CURL ARGS...]: POST the statement on stdin to PATH; body in
# $T/b, status in $T/s; prints "STATUS BODY" with the body's lines joined
# by " / ".
sql() {
	local p=$1; shift
	rm -f "$T/b"
	curl -sS --max-time 60 -o "$T/b" -w '%{http_code}' --data-binary @- "$@" "http://127.0.0.1:$PORT$p" \
		>"$T/s" 2>"$T/err"
	printf '%s %s\n' "$(cat "$T/s")" "$(awk 'NR > 1 { printf " / " } { printf "%s", $0 }' "$T/b")"
}
# like VALUE PATTERN NAME: a test point that VALUE matches PATTERN (grep -E).
like() {
	grep -qE -- "$2" <<<"$1"
	is "$?" 0 "$3"
}
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }

start_bridge main "$T/main" --runtime-config-file "$T/rc.toml" --state-dir "$T/state"
is $? 0 "starts an app whose components use default, a labelled database and one in memory"
[ -n "$PORT" ] || { sed 's/^/# /' "$BRIDGE_LOG"; bail "spin-bridge did not start"; }

TEXT="héllo, wörld"
for api in 1 2 3; do
	t=t$api
	v="api=$api"
	extra=""
	[ "$api" = 3 ] && extra=" / rowid 0 / changes 0"
	is "$(echo "CREATE TABLE $t (i INTEGER, r REAL, s TEXT, b BLOB, n)" | sql "/sql?$v")" "200 columns$extra" \
		"api $api: CREATE TABLE: no columns, no rows"
	[ "$api" = 3 ] && extra=" / rowid 1 / changes 1"
	is "$(echo "INSERT INTO $t VALUES (?, ?, ?, ?, ?)" | sql "/sql?$v&p=i:42,r:1.5,t:$(hex "$TEXT"),b:00ff10,n")" \
		"200 columns$extra" "api $api: INSERT with an integer, a real, a text, a blob and a null"
	[ "$api" = 3 ] && extra=" / rowid 3 / changes 2"
	is "$(echo "INSERT INTO $t VALUES (?1, ?2, ?3, ?4, ?5), (?1, ?2, ?3, ?4, ?5)" |
		sql "/sql?$v&p=i:-9223372036854775808,r:-2.5e-300,t:,b:,n")" "200 columns$extra" \
		"api $api: extremes: the smallest integer, a tiny real, an empty text and an empty blob"
	is "$(echo "SELECT * FROM $t ORDER BY rowid LIMIT 2" | sql "/sql?$v")" \
		"200 columns i|r|s|b|n / row integer:42|real:1.5|text:$TEXT|blob:00ff10|null / row integer:-9223372036854775808|real:-2.5e-300|text:|blob:|null${extra:+ / rowid 0 / changes 0}" \
		"api $api: a second request reads the rows back with their columns and types"
	is "$(echo "SELECT typeof(i), typeof(r), typeof(s), typeof(b), typeof(n) FROM $t LIMIT 1" | sql "/sql?$v")" \
		"200 columns typeof(i)|typeof(r)|typeof(s)|typeof(b)|typeof(n) / row text:integer|text:real|text:text|text:blob|text:null${extra:+ / rowid 0 / changes 0}" \
		"api $api: SQLite stored each parameter with its own type"
	is "$(echo "SELECT 1" | sql "/none?$v")" "500 access-denied" \
		"api $api: a component without sqlite_databases: access-denied"
	is "$(echo "SELECT 1" | sql "/sql?$v&db=mem")" "500 access-denied" \
		"api $api: a database the component does not list (defined or not): access-denied"
	out=$(echo "SELEC nonsense" | sql "/sql?$v")
	like "$out" '^500 io: SQLite database "default" .*syntax error' "api $api: bad SQL is an io error value: $out"
	out=$(echo "SELECT ?1" | sql "/sql?$v&p=i:1,i:2")
	like "$out" '^500 io: .*takes 1 parameter, got 2' "api $api: a wrong number of parameters: $out"
	out=$(echo "SELECT 1; SELECT 2" | sql "/sql?$v")
	like "$out" '^500 io: .*one statement' "api $api: two statements in one call: $out"
	is "$(echo "SELECT length(?1), hex(substr(?1, 1, 3)), hex(substr(?1, 1048576, 1))" | sql "/sql?$v&big=1048576")" \
		"200 columns length(?1)|hex(substr(?1, 1, 3))|hex(substr(?1, 1048576, 1)) / row integer:1048576|text:000102|text:94${extra:+ / rowid 0 / changes 0}" \
		"api $api: a blob at the cap (1 MiB) goes in whole"
	out=$(echo "SELECT length(?1)" | sql "/sql?$v&big=1048577")
	like "$out" '^500 io: parameter 1 is 1048577 bytes, more than spin-bridge allows \(1048576\)' \
		"api $api: a blob over the cap: $out"
	out=$(echo "SELECT length(?1)" | sql "/sql?$v&bigtext=1048577")
	like "$out" '^500 io: parameter 1 is 1048577 bytes' "api $api: a text over the cap: $out"
	out=$(echo "SELECT 1 $(head -c 1048576 /dev/zero | tr '\0' ' ')" | sql "/sql?$v")
	like "$out" '^500 io: .*the statement is 10485[0-9]* bytes, more than spin-bridge allows \(1048576\)' \
		"api $api: a statement over 1 MiB: ${out:0:120}"
done

# api 1's handles: a closed one is invalid-connection.
is "$(echo "SELECT 1" | sql "/sql?api=1&closed")" "500 invalid-connection" \
	"api 1: execute on a closed connection: invalid-connection"
# api 3: rowid and changes are the connection's own.
is "$(echo "UPDATE t3 SET i = i + 1" | sql "/sql?api=3")" "200 columns / rowid 0 / changes 3" \
	"api 3: changes counts an UPDATE's rows; no INSERT on this connection: rowid 0"

# Results at and over the caps.
echo "CREATE TABLE blobs (b BLOB)" | sql /sql >/dev/null
for i in 1 2 3 4 5; do echo "INSERT INTO blobs VALUES (?)" | sql "/sql?big=1000000" >/dev/null; done
is "$(echo "SELECT b FROM blobs LIMIT 1" | sql /sql)" \
	"200 columns b / row blob:len=1000000,fnv=$(python3 -c 'import sys
h = 0xcbf29ce484222325
for k in range(1000000):
    h = ((h ^ (k % 251)) * 0x100000001b3) & 0xffffffffffffffff
print("%016x" % h)')" "a 1 MB blob comes back byte for byte"
out=$(echo "SELECT b FROM blobs" | sql /sql)
like "$out" '^500 io: .*the result is larger than spin-bridge hands over \(4194304 bytes' \
	"a result over 4 MiB: $out"
out=$(echo "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 100000) SELECT x FROM c" | sql /sql)
is "$(grep -c '^row ' "$T/b") $(tail -n1 "$T/b")" "100000 row integer:100000" "100000 rows, the most a result holds"
out=$(echo "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 100001) SELECT x FROM c" | sql /sql)
like "$out" '^500 io: .*more than 100000 rows' "100001 rows: $out"
is "$(echo "SELECT 1" | sql /sql)" "200 columns 1 / row integer:1" "still serving after every error"

# Where the databases are, and how they are kept.
is "$(echo "PRAGMA journal_mode" | sql /sql)" "200 columns journal_mode / row text:wal" "a file database is in WAL mode"
echo "CREATE TABLE o (x TEXT)" | sql "/sql?db=other" >/dev/null
is "$(echo "INSERT INTO o VALUES ('in other')" | sql "/sql?db=other&api=3")" "200 columns / rowid 1 / changes 1" \
	"a labelled database from the runtime config"
is "$(echo "SELECT count(*) FROM sqlite_master WHERE name = 't1'" | sql "/sql?db=other")" \
	"200 columns count(*) / row integer:0" "... which is not the default one"
is "$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("select x from o").fetchone()[0])' \
	"$T/db/other.db" 2>&1)" "in other" "... in the file the runtime config names, relative to its folder"
is "$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from t2").fetchone()[0])' \
	"$T/state/sqlite_db.db" 2>&1)" "3" "the default database is <state dir>/sqlite_db.db"
echo "CREATE TABLE m (x)" | sql /mem?db=mem >/dev/null
echo "INSERT INTO m VALUES (1), (2)" | sql /mem?db=mem >/dev/null
is "$(echo "SELECT count(*) FROM m" | sql "/mem?db=mem&api=1")" "200 columns count(*) / row integer:2" \
	"a database without a path lives in memory, shared by every request"

# Concurrent writers: 8 clients at once, 25 inserts each, through the
# bridge's worker threads; every insert succeeds and is kept.
echo "CREATE TABLE c (w INTEGER, k INTEGER)" | sql /sql >/dev/null
seq 1 8 | xargs -P 8 -I{} sh -c 'for k in $(seq 1 25); do
	curl -sS --max-time 60 -o /dev/null -w "%{http_code}\n" --data-binary "INSERT INTO c VALUES ({}, $k)" \
		"http://127.0.0.1:'"$PORT"'/sql?api=$(( k % 3 + 1 ))"; done' >"$T/conc" 2>&1
is "$(sort "$T/conc" | uniq -c | sed 's/^ *//')" "200 200" "200 concurrent inserts on 8 clients: all 200"
is "$(echo "SELECT count(*), count(DISTINCT w * 100 + k) FROM c" | sql /sql)" \
	"200 columns count(*)|count(DISTINCT w * 100 + k) / row integer:200|integer:200" "... and all 200 rows are there"
stop_bridge
is "$BRIDGE_RC" 0 "SIGTERM: exit status 0"

start_bridge again "$T/main" --runtime-config-file "$T/rc.toml" --state-dir "$T/state"
is $? 0 "starts again on the same state folder"
is "$(echo "SELECT count(*) FROM t1" | sql "/sql?api=1") $(echo "SELECT x FROM o" | sql "/sql?db=other")" \
	"200 columns count(*) / row integer:3 200 columns x / row text:in other" \
	"the default and the labelled database outlive a restart"
out=$(echo "SELECT count(*) FROM m" | sql "/mem?db=mem")
like "$out" '^500 io: .*no such table: m' "the database in memory starts empty again: $out"
stop_bridge

start_bridge nostate "$T/main" --runtime-config-file "$T/rc.toml" --state-dir "" --timeout 2000
is $? 0 "starts without a state folder (and a 2 s request time limit)"
echo "CREATE TABLE z (x)" | sql /sql >/dev/null
is "$(echo "SELECT count(*) FROM z" | sql /sql)" "200 columns count(*) / row integer:0" \
	"... the default database is then in memory"
# A statement that never ends is stopped at the request's time limit, and
# the shared connection of the database in memory is free again.
for db in default mem; do
	p=/sql; [ $db = mem ] && p=/mem
	out=$(echo "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c" |
		sql "$p?db=$db")
	like "$out" '^500' "an endless statement on $db stops at the time limit: $out"
	is "$(echo "SELECT 2" | sql "$p?db=$db")" "200 columns 2 / row integer:2" "... and $db serves the next request"
done
stop_bridge

# ---- start-up errors
# fails NAME PATTERN [FLAGS...]: spin-bridge serving $T/bad exits 1 at
# start with one "spin-bridge: ..." line matching PATTERN.
fails() {
	local name=$1 pat=$2; shift 2
	local rc=0 f=$T/out.$TAP_N
	timeout 20 "$BRIDGE" up --from "$T/bad" --listen 127.0.0.1:0 --no-cache "$@" >"$f" 2>&1 || rc=$?
	is "$rc" "1" "$name: refused at start"
	local l; l=$(grep '^spin-bridge: ' "$f")
	grep -qE -- "$pat" <<<"$l"; is $? 0 "$name: $l"
}
bad_app() {
	app bad <<EOF
spin_manifest_version = 2
[application]
name = "bad"
[[trigger.http]]
route = "/x"
component = "x"
[component.x]
source = "$1"
sqlite_databases = $2
EOF
}
bad_app sqlite.wasm '["nosuch"]'
fails "a component listing a database defined nowhere" \
	'component "x": sqlite_databases names "nosuch", which is not defined: add \[sqlite_database.nosuch\]' \
	--runtime-config-file "$T/rc.toml"
printf '[sqlite_database.default]\ntype = "libsql"\nurl = "https://db.example.com"\ntoken = "t"\n' >"$T/libsql.toml"
bad_app sqlite.wasm '["default"]'
fails "a libSQL database" 'libsql.toml:1: \[sqlite_database.default\]: type "libsql" .* is not supported by spin-bridge: use type = "spin"' \
	--runtime-config-file "$T/libsql.toml"
bad_app llm.wasm '[]'
fails "a component importing fermyon:spin/llm" \
	'component "x" \(.*/llm.wasm\) imports 1 interface or function spin-bridge does not provide: fermyon:spin/llm@2.0.0'

tap_done
