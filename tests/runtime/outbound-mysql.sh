#!/usr/bin/env bash
# spin-bridge giving a component fermyon:spin/mysql@2.0.0 and Spin 1.x's
# fermyon:spin/mysql (tests/guests/spin/mysql.c) to a MariaDB server this
# script starts: mariadb-install-db into its own folder, mariadbd on a free
# port of 127.0.0.1 with its own socket and a self-signed certificate made
# here with openssl (as the mysql user when run as root), stopped at the end.
# Checked: each parameter type in and each column type out (v2 and v1), a
# SQL error as query-failed, a placeholder count mismatch as bad-parameter,
# a 1 MiB text and binary at the cap both ways and one byte over, the row
# and byte caps of a result, the statement timeout set on the session, hosts
# and ports outside allowed_outbound_hosts and unknown URL parameters refused
# before connecting, TLS when ssl-mode asks for it (verified against
# SPIN_OUTBOUND_CA_FILE; a name the certificate does not hold refused), the
# connection cap, the connect timeout against a listener that never greets,
# a JavaScript app on the JS SDK's MySQL package (tests/guests/js/sdk: query,
# execute with parameters, a SQL error and a host not allowed thrown as the
# SDK's error values), and the server down (connection-failed, the request
# answered).
set -uo pipefail
. "$SPINKUBE_SOURCE_DIR/tests/lib/tap.sh"
. "$SPINKUBE_SOURCE_DIR/tests/runtime/lib.sh"

command -v mariadbd >/dev/null && command -v mariadb-install-db >/dev/null ||
	bail "no MariaDB server: hack/bootstrap --only debs (mariadb-server)"
build_guests
MYPORT=$(free_port)
D=$T/my
mkdir -p "$D"
USER_OPT=()
if [ "$(id -u)" -eq 0 ]; then chmod 711 "$T"; chown mysql "$D"; USER_OPT=(--user=mysql); fi
MY_PID=
SILENT_PID=
stop_my() {
	[ -n "$MY_PID" ] || return 0
	kill -TERM "$MY_PID" 2>/dev/null
	local i; for i in $(seq 1 300); do kill -0 "$MY_PID" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$MY_PID" 2>/dev/null; wait "$MY_PID" 2>/dev/null; MY_PID=
}
cleanup() { stop_my; [ -z "$SILENT_PID" ] || kill "$SILENT_PID" 2>/dev/null; cleanup_bridge; }
trap cleanup EXIT

# a certificate for 127.0.0.1 only (not for "localhost"), its own CA
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$D/key.pem" -out "$D/cert.pem" -days 2 \
	-subj "/CN=spinkube-c test" -addext "subjectAltName=IP:127.0.0.1" >"$T/openssl.log" 2>&1 \
	|| { sed 's/^/# /' "$T/openssl.log"; bail "openssl could not make a certificate"; }
[ "$(id -u)" -ne 0 ] || chown mysql "$D/key.pem"
mariadb-install-db --no-defaults --datadir="$D/data" "${USER_OPT[@]}" --auth-root-authentication-method=normal \
	--skip-test-db --skip-name-resolve >"$T/install.log" 2>&1 \
	|| { tail -n 20 "$T/install.log" | sed 's/^/# /'; bail "mariadb-install-db failed"; }
mariadbd --no-defaults --datadir="$D/data" "${USER_OPT[@]}" --port="$MYPORT" --bind-address=127.0.0.1 \
	--socket="$D/sock" --pid-file="$D/pid" --log-error="$D/err.log" --skip-name-resolve \
	--innodb-buffer-pool-size=16M --max-allowed-packet=64M \
	--ssl-cert="$D/cert.pem" --ssl-key="$D/key.pem" --ssl-ca="$D/cert.pem" >/dev/null 2>&1 &
MY_PID=$!
for _ in $(seq 1 300); do grep -q 'ready for connections' "$D/err.log" 2>/dev/null && break; sleep 0.1; done
grep -q 'ready for connections' "$D/err.log" 2>/dev/null || { tail -n 20 "$D/err.log" | sed 's/^/# /'; bail "mariadbd did not start"; }
mariadb --no-defaults -S "$D/sock" -u root -e "CREATE USER 'spin'@'%' IDENTIFIED BY 'pw'; GRANT ALL ON *.* TO 'spin'@'%'; CREATE DATABASE spin" \
	>"$T/sql.log" 2>&1 || { sed 's/^/# /' "$T/sql.log"; bail "could not create the test user"; }

# a listener that accepts connections and never says a word
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True); time.sleep(120)' >"$T/silent.port" &
SILENT_PID=$!
for _ in $(seq 1 50); do [ -s "$T/silent.port" ] && break; sleep 0.1; done
SILENT=$(cat "$T/silent.port")

mkdir -p "$T/app"
cp "$GUESTS/spin/mysql.wasm" "$T/app/"
cat >"$T/app/spin.toml" <<EOF2
spin_manifest_version = 2
[application]
name = "mysql"
[[trigger.http]]
route = "/my"
component = "my"
[[trigger.http]]
route = "/my-none"
component = "my-none"
[component.my]
source = "mysql.wasm"
allowed_outbound_hosts = ["mysql://127.0.0.1:$MYPORT", "mysql://localhost:$MYPORT", "mysql://127.0.0.1:$SILENT"]
[component.my-none]
source = "mysql.wasm"
EOF2
SPIN_OUTBOUND_CA_FILE=$D/cert.pem start_bridge mysql "$T/app"
is $? 0 "starts an app importing fermyon:spin/mysql@2.0.0 and fermyon:spin/mysql"
[ -n "$PORT" ] || { sed 's/^/# /' "$BRIDGE_LOG"; bail "spin-bridge did not start"; }

A="addr=mysql://spin:pw@127.0.0.1:$MYPORT/spin"
# q QUERY STATEMENT [ROUTE]: "STATUS BODY" with the lines joined by " / ".
q() {
	curl -sS --max-time 60 -o "$T/b" -w '%{http_code}' --data-binary "$2" "http://127.0.0.1:$PORT${3:-/my}?$1" >"$T/s"
	printf '%s %s' "$(cat "$T/s")" "$(awk 'NR > 1 { printf " / " } { printf "%s", $0 }' "$T/b")"
}
like() { grep -qE -- "$2" <<<"$1"; is "$?" 0 "$3"; }

is "$(q "$A&exec" "CREATE TABLE t (b BOOL, i8 TINYINT, i16 SMALLINT, i24 MEDIUMINT, i32 INT, i64 BIGINT,
	u8 TINYINT UNSIGNED, u16 SMALLINT UNSIGNED, u32 INT UNSIGNED, u64 BIGINT UNSIGNED, f32 FLOAT, f64 DOUBLE,
	s VARCHAR(20), x VARBINARY(20), mt MEDIUMTEXT, mb MEDIUMBLOB, d DATE, n INT)")" "200 ok" "execute: CREATE TABLE"
P1="b:1,i8:-128,i16:-32768,i32:-8388608,i32:-2147483648,i64:-9223372036854775808,u8:255,u16:65535,u32:4294967295"
P1="$P1,u64:18446744073709551615,f32:1.5,f64:2.25,s:h%C3%A9llo,x:00ff10,s:text,x:,s:2026-12-07,n"
is "$(q "$A&exec&p=$P1" 'INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')" \
	"200 ok" "execute: an INSERT of every parameter type (the extremes of each integer)"
printf '\0\377\020' >"$T/x"
COLS="columns b:1|i8:1|i16:2|i24:3|i32:3|i64:4|u8:5|u16:6|u32:7|u64:8|f32:9|f64:10|s:11|x:12|mt:11|mb:12|d:13|n:3"
ROW="row int8:1|int8:-128|int16:-32768|int32:-8388608|int32:-2147483648|int64:-9223372036854775808|uint8:255|uint16:65535"
ROW="$ROW|uint32:4294967295|uint64:18446744073709551615|f32:1.5|f64:2.25|str:héllo|binary:len=3,fnv=$(fnv "$T/x")"
ROW="$ROW|str:text|binary:len=0,fnv=cbf29ce484222325|unsupported|null"
is "$(q "$A" "SELECT * FROM t")" "200 $COLS / $ROW" \
	"query: each column's type and each value back (DATE: other, its value unsupported)"
is "$(q "$A&v1" "SELECT * FROM t")" "200 $COLS / $ROW" "... and the same through Spin 1.x's fermyon:spin/mysql"
is "$(q "$A&v1&exec&p=i8:7" "INSERT INTO t (i8) VALUES (?)")" "200 ok" "v1 execute"
is "$(q "$A&p=b:0,u8:200,f64:-0.5,s:a,x:ff,n" "SELECT ? AS b, ? AS u, ? AS f, ? AS s, ? AS x, ? AS n")" \
	"200 columns b:1|u:8|f:10|s:11|x:12|n:13 / row int8:0|uint64:200|f64:-0.5|str:a|binary:len=1,fnv=af64724c8602eb6e|null" \
	"parameters as the server types them alone (a boolean as TINYINT, integers as BIGINT)"
like "$(q "$A" "SELEC bad")" '^500 query-failed: 1064 \(42000\): You have an error in your SQL syntax' "bad SQL: query-failed"
like "$(q "$A&v1" "SELEC bad")" '^500 query-failed: 1064' "... in v1 too"
like "$(q "$A&p=i32:1" "SELECT 1")" '^500 bad-parameter: the statement has 0 placeholders and 1 parameters' \
	"more parameters than placeholders: bad-parameter"
like "$(q "$A" "SELECT ?")" '^500 bad-parameter: the statement has 1 placeholders and 0' "fewer: bad-parameter"

python3 -c 'import sys; sys.stdout.buffer.write(bytes(i % 251 for i in range(1048576)))' >"$T/capb"
python3 -c 'import sys; sys.stdout.buffer.write(bytes(97 + i % 26 for i in range(1048576)))' >"$T/caps"
is "$(q "$A&exec&big=1048576&bigs=1048576" 'INSERT INTO t (mb, mt) VALUES (?, ?)')" "200 ok" \
	"a 1 MiB binary and a 1 MiB text (the cap) are sent"
is "$(q "$A" "SELECT mb, mt FROM t WHERE LENGTH(mb) > 100")" \
	"200 columns mb:12|mt:11 / row binary:len=1048576,fnv=$(fnv "$T/capb")|str:len=1048576,fnv=$(fnv "$T/caps")" \
	"... and read back whole"
like "$(q "$A&exec&big=1048577" 'INSERT INTO t (mb) VALUES (?)')" '^500 bad-parameter: parameter 1: binary over 1048576 bytes' \
	"a binary one byte over: bad-parameter"
like "$(q "$A&exec&bigs=1048577" 'INSERT INTO t (mt) VALUES (?)')" '^500 bad-parameter: parameter 1: a text of 1048577 bytes is over 1048576' \
	"a text one byte over: bad-parameter"
like "$(q "$A" "SELECT REPEAT('x', 1048577) AS s")" '^500 value-conversion-failed: a text of 1048577 bytes is over 1048576 \(column s\)' \
	"a text over the cap from the server: value-conversion-failed"
curl -sS --max-time 60 --data-binary "SELECT seq FROM seq_1_to_100000" "http://127.0.0.1:$PORT/my?$A" >"$T/rows"
is "$(grep -c '^row uint64:' "$T/rows")" 100000 "100000 rows (the cap) are handed over"
like "$(q "$A" "SELECT seq FROM seq_1_to_100001")" '^500 query-failed: the result has more than 100000 rows' "100001 rows: query-failed"
like "$(q "$A" "SELECT REPEAT('x', 1048576) FROM seq_1_to_40")" '^500 query-failed: the result is more than spin-bridge hands over \(33554432 bytes\)' \
	"40 MiB of result: query-failed"
is "$(q "$A" "SELECT 2 AS x")" "200 columns x:3 / row int32:2" "the next request after a refused result"
is "$(q "$A" "SELECT @@max_statement_time AS t")" "200 columns t:10 / row f64:30" "each statement may run 30 s on the server"

like "$(q "addr=mysql://spin:pw@127.0.0.2:$MYPORT/spin" "SELECT 1")" \
	"^500 connection-failed: mysql://127.0.0.2:$MYPORT is not in the component.s allowed_outbound_hosts" "a host not allowed: connection-failed"
like "$(q "addr=mysql://spin:pw@127.0.0.1:$((MYPORT + 1))/spin" "SELECT 1")" '^500 connection-failed: .*not in the component' \
	"another port of the allowed host: connection-failed"
like "$(q "addr=mysql://spin:pw@127.0.0.1/spin" "SELECT 1")" '^500 connection-failed: mysql://127.0.0.1:3306 is not' \
	"no port is 3306, not allowed here"
like "$(q "$A" "SELECT 1" /my-none)" '^500 connection-failed: .*not in the component' "a component without allowed_outbound_hosts"
like "$(q "$A&v1" "SELECT 1" /my-none)" '^500 connection-failed: .*not in the component' "... through v1 too"
like "$(q "$A%3Fsocket=$D/sock" "SELECT 1")" '^500 connection-failed: the address: the address sets socket' \
	"a socket parameter is refused"
like "$(q "addr=postgres://spin:pw@127.0.0.1:$MYPORT/spin" "SELECT 1")" '^500 connection-failed: the address: .*must start with mysql://' \
	"another scheme is refused"
R=$(q "addr=mysql://spin:s3cret-wrong@127.0.0.1:$MYPORT/spin" "SELECT 1")
like "$R" "^500 connection-failed: mysql://127.0.0.1:$MYPORT: Access denied for user 'spin'" \
	"a wrong password: connection-failed with the server's words"
ok "... without the password" test "${R/s3cret/}" = "$R"
R=$(q "addr=mysql://spin:s3cret@127.0.0.1:$MYPORT:1/spin" "SELECT 1")
like "$R" '^500 connection-failed: the address: the port must be a number' "a malformed address: connection-failed"
ok "... without the password" test "${R/s3cret/}" = "$R"

like "$(q "$A%3Fssl-mode=REQUIRED" "SHOW STATUS LIKE 'Ssl_cipher'")" '^200 columns Variable_name:11\|Value:11 / row str:Ssl_cipher\|str:TLS' \
	"ssl-mode=REQUIRED: the session is TLS"
is "$(q "$A%3Fsslmode=disabled" "SHOW STATUS LIKE 'Ssl_cipher'")" "200 columns Variable_name:11|Value:11 / row str:Ssl_cipher|str:" \
	"sslmode=disabled: plain"
is "$(q "$A" "SHOW STATUS LIKE 'Ssl_cipher'")" "200 columns Variable_name:11|Value:11 / row str:Ssl_cipher|str:" "no ssl-mode: plain"
like "$(q "addr=mysql://spin:pw@localhost:$MYPORT/spin%3Fssl-mode=VERIFY_IDENTITY" "SELECT 1")" \
	"^500 connection-failed: mysql://localhost:$MYPORT: .*(certificate|SSL)" "TLS to a name the certificate does not hold: refused"

is "$(q "$A&many=15" "SELECT 1 AS x")" "200 columns x:3 / row int32:1" "16 connections in one request"
like "$(q "$A&many=16" "SELECT 1")" '^500 connection-failed: more than 16 connections' "the 17th is refused"
like "$(q "addr=mysql://spin:pw@127.0.0.1:$SILENT/spin" "SELECT 1")" "^500 connection-failed: mysql://127.0.0.1:$SILENT: .*(timeout|Lost connection|handshake)" \
	"a server that never greets: connection-failed after the connect timeout"

# A JavaScript app on the JS SDK's MySQL package (tests/guests/js/sdk/mysql.js,
# @spinframework/spin-mysql bundled by esbuild): its own spin-bridge.
stop_bridge
build_js_guests
mkdir -p "$T/jsapp"
cp "$JS_OUT/js/mysql.wasm" "$T/jsapp/"
cat >"$T/jsapp/spin.toml" <<EOF2
spin_manifest_version = 2
[application]
name = "mysql-js"
[[trigger.http]]
route = "/myjs"
component = "myjs"
[component.myjs]
source = "mysql.wasm"
allowed_outbound_hosts = ["mysql://127.0.0.1:$MYPORT"]
EOF2
START_TRIES=3000 start_bridge mysql-js "$T/jsapp" --cache-dir "$JS_OUT/compiled"
is $? 0 "a JavaScript app importing fermyon:spin/mysql@2.0.0 through the JS SDK starts"
# jsq [-X POST] SQL [PARAM...]: "STATUS BODY" of the JS app's answer.
jsq() {
	local m=() a p; [ "$1" = -X ] && { m=(-X "$2"); shift 2; }
	a=(--data-urlencode "addr=${JSADDR:-mysql://spin:pw@127.0.0.1:$MYPORT/spin}" --data-urlencode "sql=$1"); shift
	for p; do a+=(--data-urlencode "p=$p"); done
	curl -sS --max-time 60 -G "${m[@]}" -o "$T/jb" -w '%{http_code}' "${a[@]}" "http://127.0.0.1:$PORT/myjs" >"$T/js"
	printf '%s %s' "$(cat "$T/js")" "$(cat "$T/jb")"
}
is "$(jsq "SELECT 2 AS x, 'a' AS s")" '200 {"columns":["x","s"],"rows":[{"x":2,"s":"a"}]}' \
	"JS: a query's columns and rows as the SDK gives them (objects by column name)"
is "$(jsq -X POST "CREATE TABLE js (s VARCHAR(20), n BIGINT)")" "200 executed" "JS: execute"
is "$(jsq -X POST "INSERT INTO js VALUES (?, ?)" "héllo" 42)" "200 executed" "JS: execute with text parameters"
is "$(mariadb --no-defaults -S "$D/sock" -u root -N -B -e "SELECT s, n FROM spin.js")" "héllo	42" \
	"... the row is in the server, read with the mariadb client"
is "$(jsq "SELECT s, n FROM js WHERE s = ?" "héllo")" '200 {"columns":["s","n"],"rows":[{"s":"héllo","n":"42"}]}' \
	"JS: a query with a parameter (a BIGINT column comes back as a BigInt)"
like "$(jsq "SELEC bad")" '^500 \{"error":\{"tag":"query-failed","val":"1064 \(42000\): You have an error' \
	"JS: bad SQL throws the query-failed error value"
JSADDR="mysql://spin:pw@127.0.0.2:$MYPORT/spin" R=$(jsq "SELECT 1")
like "$R" '^500 \{"error":\{"tag":"connection-failed","val":"mysql://127.0.0.2:[0-9]+ is not in the component.s allowed_outbound_hosts' \
	"JS: a host not allowed throws connection-failed"
stop_bridge
is "$BRIDGE_RC" 0 "the JS app's spin-bridge: SIGTERM exits 0"
SPIN_OUTBOUND_CA_FILE=$D/cert.pem start_bridge mysql-again "$T/app"

stop_my
like "$(q "$A" "SELECT 1")" "^500 connection-failed: mysql://127.0.0.1:$MYPORT: Can't connect" "the server down: connection-failed"
like "$(q "$A&v1" "SELECT 1")" "^500 connection-failed: mysql://127.0.0.1:$MYPORT: Can't connect" "... through v1 too"
ok "spin-bridge kept running" kill -0 "$BRIDGE_PID"
stop_bridge
is "$BRIDGE_RC" 0 "SIGTERM: exits 0 (a sanitizer build: no report)"
[ "$BRIDGE_RC" -eq 0 ] || grep -E 'ERROR: |SUMMARY' "$BRIDGE_LOG" | head -n 5 | sed 's/^/# /'
tap_done
