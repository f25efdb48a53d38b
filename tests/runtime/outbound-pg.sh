#!/usr/bin/env bash
# spin-bridge giving components fermyon:spin/postgres@2.0.0
# (tests/guests/spin/pg.c), spin:postgres/postgres@3.0.0 and @4.0.0
# (pg3.c, pg4.c: tests/guests/spin/pgx.h) to a PostgreSQL server this script
# starts: initdb in its own folder (as the postgres user when run as root,
# since initdb refuses root), listening on a free port of 127.0.0.1 only
# with ssl=on and a certificate of a CA made here with openssl, stopped at
# the end. Checked for @2: each parameter type in and each column type out (a type
# with no db-value is unsupported), execute's row count, a SQL error as
# query-failed, a 1 MiB bytea at the cap and one byte over it, a text over
# the cap from the server, hosts and
# ports outside allowed_outbound_hosts and options that reach another host
# (hostaddr) refused before connecting, the connection cap. For @3 and @4:
# each of their types both ways (dates BC and before 1970, numerics, empty
# and open ranges, NULLs in arrays), NULLs, a type a version lacks (@3:
# other and unsupported; @4: other(typname) and unsupported(bytes)), values
# that have no WIT form (infinity, a 2-D array) as value-conversion-failed,
# @4's structured db-error (SQLSTATE, detail, extras) and text errors. TLS:
# sslmode=require and verify-full (spin-bridge's SSL_CERT_FILE the CA)
# encrypted, disable not, an sslrootcert in the address refused, and under a
# spin-bridge whose SSL_CERT_FILE is another CA verify-full refused while
# require still connects. Last, the server down (connection-failed, the
# request answered).
set -uo pipefail
. "$SPINKUBE_SOURCE_DIR/tests/lib/tap.sh"
. "$SPINKUBE_SOURCE_DIR/tests/runtime/lib.sh"

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -x "$PGBIN/initdb" ] || bail "no PostgreSQL server: hack/bootstrap --only debs (postgresql)"
build_guests
PGPORT=$(free_port)
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
chmod 711 "$T"
mkdir -p "$T/pg"
[ "$(id -u)" -ne 0 ] || chown postgres "$T/pg"
# A CA and the server's certificate for 127.0.0.1, and another CA.
mkca() { openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$1" -keyout "$T/$1.key" -out "$T/$1.pem" 2>/dev/null; }
mkca test-ca && mkca other-ca || bail "openssl could not make the CAs"
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$T/pg/server.key" -out "$T/server.csr" 2>/dev/null &&
	openssl x509 -req -in "$T/server.csr" -CA "$T/test-ca.pem" -CAkey "$T/test-ca.key" -CAcreateserial -days 2 \
		-extfile <(printf 'subjectAltName=IP:127.0.0.1\n') -out "$T/pg/server.crt" 2>/dev/null || bail "openssl could not sign the server certificate"
chmod 600 "$T/pg/server.key"
[ "$(id -u)" -ne 0 ] || chown postgres "$T/pg/server.key" "$T/pg/server.crt"
PG_UP=
stop_pg() { [ -z "$PG_UP" ] || as_pg "$PGBIN/pg_ctl" -D "$T/pg/data" -w -m fast stop >/dev/null 2>&1; PG_UP=; }
cleanup() { stop_pg; cleanup_bridge; }
trap cleanup EXIT
as_pg "$PGBIN/initdb" -D "$T/pg/data" -U spin --auth=trust -E UTF8 --no-locale >"$T/initdb.log" 2>&1 \
	|| { sed 's/^/# /' "$T/initdb.log"; bail "initdb failed"; }
as_pg "$PGBIN/pg_ctl" -D "$T/pg/data" -l "$T/pg/log" -w -t 30 \
	-o "-p $PGPORT -k $T/pg -c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file=$T/pg/server.crt -c ssl_key_file=$T/pg/server.key" start >/dev/null \
	|| { sed 's/^/# /' "$T/pg/log"; bail "PostgreSQL did not start"; }
PG_UP=1

mkdir -p "$T/app"
cp "$GUESTS/spin/pg.wasm" "$GUESTS/spin/pg3.wasm" "$GUESTS/spin/pg4.wasm" "$T/app/"
cat >"$T/app/spin.toml" <<EOF2
spin_manifest_version = 2
[application]
name = "pg"
[[trigger.http]]
route = "/pg"
component = "pg"
[[trigger.http]]
route = "/pg-none"
component = "pg-none"
[component.pg]
source = "pg.wasm"
allowed_outbound_hosts = ["postgres://127.0.0.1:$PGPORT"]
[component.pg-none]
source = "pg.wasm"
[[trigger.http]]
route = "/pg3"
component = "pg3"
[[trigger.http]]
route = "/pg4"
component = "pg4"
[component.pg3]
source = "pg3.wasm"
allowed_outbound_hosts = ["postgres://127.0.0.1:$PGPORT"]
[component.pg4]
source = "pg4.wasm"
allowed_outbound_hosts = ["postgres://127.0.0.1:$PGPORT"]
EOF2
SSL_CERT_FILE=$T/test-ca.pem start_bridge pg "$T/app"
is $? 0 "starts an app importing fermyon:spin/postgres@2.0.0, spin:postgres/postgres@3.0.0 and @4.0.0"
[ -n "$PORT" ] || { sed 's/^/# /' "$BRIDGE_LOG"; bail "spin-bridge did not start"; }

A="addr=postgres://spin@127.0.0.1:$PGPORT/postgres"
# q QUERY STATEMENT [ROUTE]: "STATUS BODY" with the lines joined by " / ".
q() {
	curl -gsS --max-time 60 -o "$T/b" -w '%{http_code}' --data-binary "$2" "http://127.0.0.1:$PORT${3:-/pg}?$1" >"$T/s"
	printf '%s %s' "$(cat "$T/s")" "$(awk 'NR > 1 { printf " / " } { printf "%s", $0 }' "$T/b")"
}
like() { grep -qE -- "$2" <<<"$1"; is "$?" 0 "$3"; }

is "$(q "$A&exec" "CREATE TABLE t (b boolean, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, s text, v varchar(10), x bytea, d date)")" \
	"200 rows 0" "execute: CREATE TABLE"
is "$(q "$A&exec&p=b:1,i16:-3,i32:70000,i64:-9000000000,f64:1.5,f64:2.25,s:hello,s:vc,x:00ff10,n" \
	'INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10), ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)')" \
	"200 rows 2" "execute: an INSERT of every parameter type answers the rows it wrote"
is "$(q "$A" "SELECT * FROM t LIMIT 1")" \
	"200 columns b:0|i2:2|i4:3|i8:4|f4:9|f8:10|s:11|v:11|x:12|d:13 / row bool:1|int16:-3|int32:70000|int64:-9000000000|f32:1.5|f64:2.25|str:hello|str:vc|binary:len=3,fnv=$(printf '\0\377\020' >"$T/x"; fnv "$T/x")|null" \
	"query: each column's type and each value back (date: other, here null)"
is "$(q "$A" "SELECT DATE '2026-12-07' AS d")" "200 columns d:13 / row unsupported" "a value of a type with no db-value: unsupported"
is "$(q "$A&p=i32:41" 'SELECT $1 + 1 AS x')" "200 columns x:3 / row int32:42" "a parameter in an expression"
like "$(q "$A" "SELEC bad")" '^500 query-failed: ERROR: +syntax error at or near "SELEC"' "bad SQL: query-failed, one line"
like "$(q "$A&p=s:abc" 'SELECT $1::int4')" '^500 query-failed: ERROR: +invalid input syntax' "a parameter the column type refuses: query-failed"
python3 -c 'import sys; sys.stdout.buffer.write(bytes(i % 251 for i in range(1048576)))' >"$T/cap"
is "$(q "$A&exec&big=1048576" 'INSERT INTO t (x) VALUES ($1)')" "200 rows 1" "a 1 MiB bytea (the cap) is sent"
is "$(q "$A" "SELECT x FROM t WHERE length(x) > 100")" "200 columns x:12 / row binary:len=1048576,fnv=$(fnv "$T/cap")" "... and read back whole"
like "$(q "$A&exec&big=1048577" 'INSERT INTO t (x) VALUES ($1)')" '^500 bad-parameter: .*binary over 1048576 bytes' \
	"one byte over: bad-parameter"
like "$(q "$A" "SELECT repeat('x', 1048577) AS s")" '^500 value-conversion-failed: a text of 1048577 bytes is over 1048576' \
	"a text over the cap from the server: value-conversion-failed"
like "$(q "addr=postgres://spin@127.0.0.2:$PGPORT/postgres" "SELECT 1")" \
	'^500 connection-failed: postgres://127.0.0.2:[0-9]+ is not in the component.s allowed_outbound_hosts' "a host not allowed: connection-failed"
like "$(q "addr=postgres://spin@127.0.0.1:$((PGPORT + 1))/postgres" "SELECT 1")" '^500 connection-failed: .*not in the component' \
	"another port of the allowed host: connection-failed"
like "$(q "$A" "SELECT 1" /pg-none)" '^500 connection-failed: .*not in the component' "a component without allowed_outbound_hosts"
like "$(q "addr=host=127.0.0.1%20port=$PGPORT%20hostaddr=127.0.0.1%20user=spin" "SELECT 1")" \
	'^500 connection-failed: the address sets hostaddr' "hostaddr (another way to a host) is refused"
like "$(q "addr=host=$T/pg%20port=$PGPORT%20user=spin" "SELECT 1")" '^500 connection-failed: a unix socket' \
	"a unix socket folder is refused"
is "$(q "$A&many=15" "SELECT 1")" "200 columns ?column?:3 / row int32:1" "16 connections in one request"
like "$(q "$A&many=16" "SELECT 1")" '^500 connection-failed: more than 16 connections' "the 17th is refused"
. "$SPINKUBE_SOURCE_DIR/tests/runtime/pg/v34.sh"
. "$SPINKUBE_SOURCE_DIR/tests/runtime/pg/tls.sh"

stop_pg
like "$(q "$A" "SELECT 1")" '^500 connection-failed: postgres://127.0.0.1:[0-9]+: .*Connection refused' \
	"the server down: connection-failed, one line"
ok "spin-bridge kept running" kill -0 "$BRIDGE_PID"
stop_bridge
tap_done
