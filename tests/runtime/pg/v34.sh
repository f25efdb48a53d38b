# spin:postgres/postgres@3.0.0 and @4.0.0: sourced by tests/runtime/outbound-pg.sh
# (its server, spin-bridge, $A and q), not a test of its own.

# p VALUE: VALUE percent-encoded for ?p= (quotes, braces, spaces...).
p() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=":|,"))' "$1"; }

# --- @3.0.0 ------------------------------------------------------------------------------
is "$(q "$A&exec" "CREATE TABLE t3 (d date, t time, dt timestamp, ts timestamptz, i int2)" /pg3)" \
	"200 rows 0" "@3 execute: CREATE TABLE"
is "$(q "$A&exec&p=$(p 'd:2026-12-07|t:12:34:56.123456789|dt:2026-12-07T23:59:58.5|ts:1765110896|i8:-5')" \
	'INSERT INTO t3 VALUES ($1, $2, $3, $4, $5)' /pg3)" "200 rows 1" "@3: date, time, datetime, timestamp and int8 parameters"
is "$(q "$A&exec&p=n|n|n|n|n" 'INSERT INTO t3 VALUES ($1, $2, $3, $4, $5)' /pg3)" "200 rows 1" "@3: db-null for each"
is "$(q "$A" "SELECT * FROM t3 ORDER BY d NULLS LAST" /pg3)" \
	"200 columns d:date|t:time|dt:datetime|ts:timestamp|i:int16 / row date:2026-12-07|time:12:34:56.123456000|datetime:2026-12-07T23:59:58.500000000|timestamp:1765110896|int16:-5 / row null|null|null|null|null" \
	"@3: each back as its case (time to the microsecond PostgreSQL keeps), NULLs as db-null"
is "$(q "$A&p=$(p 'd:-43-03-15|ts:-86401|dt:1969-12-31T23:59:59')" \
	'SELECT $1::date::text AS bc, $1::date AS d, $2::timestamptz AS ts, $3::timestamp AS dt' /pg3)" \
	"200 columns bc:str|d:date|ts:timestamp|dt:datetime / row str:0044-03-15 BC|date:-43-03-15|timestamp:-86401|datetime:1969-12-31T23:59:59.000000000" \
	"@3: year -43 is 44 BC both ways; instants before 1970"
is "$(q "$A" "SELECT '0e4f3b57-7c2d-4a9e-8d3f-2b1c5a6e7f80'::uuid AS u" /pg3)" "200 columns u:other / row unsupported" \
	"@3: a type it has no case for (uuid) is other, its value unsupported"
like "$(q "$A" "SELECT 'infinity'::date AS d" /pg3)" '^500 value-conversion-failed: the date infinity has no \(year, month, day\)' \
	"@3: a date with no (year, month, day) is value-conversion-failed"
like "$(q "$A" "SELEC bad" /pg3)" '^500 query-failed: ERROR: +syntax error at or near "SELEC"' "@3: bad SQL is query-failed(string)"

# --- @4.0.0 ------------------------------------------------------------------------------
is "$(q "$A&exec" "CREATE TABLE t4 (u uuid, j jsonb, n numeric, r4 int4range, r8 int8range, rn numrange, a4 int4[], a8 int8[], an numeric[], ast text[], iv interval, d date)" /pg4)" \
	"200 rows 0" "@4 execute: CREATE TABLE"
P4='u:0e4f3b57-7c2d-4a9e-8d3f-2b1c5a6e7f80|j:{"a": [1, "x"]}|dec:-12345.678900|ri32:i1,e10|ri64:e5,|rdec:i1.5,i2.25|ai32:1,n,3|ai64:9000000000,n|adec:1.5,n|astr:a,b"c\d,n|iv:3000001,2,14|d:2026-12-07'
is "$(q "$A&exec&p=$(p "$P4")" 'INSERT INTO t4 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)' /pg4)" "200 rows 1" \
	"@4: uuid, jsonb, decimal, the three ranges, the four arrays, interval and date parameters"
is "$(q "$A&exec&p=n|n|n|n|n|n|n|n|n|n|n|n" 'INSERT INTO t4 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)' /pg4)" \
	"200 rows 1" "@4: db-null for each"
is "$(q "$A" "SELECT * FROM t4 ORDER BY u NULLS LAST" /pg4)" \
	'200 columns u:uuid|j:jsonb|n:decimal|r4:range-int32|r8:range-int64|rn:range-decimal|a4:array-int32|a8:array-int64|an:array-decimal|ast:array-str|iv:interval|d:date / row uuid:0e4f3b57-7c2d-4a9e-8d3f-2b1c5a6e7f80|jsonb:{"a": [1, "x"]}|decimal:-12345.678900|range-int32:i1,e10|range-int64:i6,-|range-decimal:i1.5,i2.25|array-int32:1,n,3|array-int64:9000000000,n|array-decimal:1.5,n|array-str:a,b"c\d,n|interval:3000001,2,14|date:2026-12-07 / row null|null|null|null|null|null|null|null|null|null|null|null' \
	"@4: each back as its case (int8range (5,) as PostgreSQL keeps it, [6,)), NULLs as db-null"
is "$(q "$A" "SELECT 0.0001::numeric AS a, 123456789012345678901234567890.5::numeric AS b, 'NaN'::numeric AS c, 0::numeric AS d, -0.5::numeric AS e, 10000::numeric AS f" /pg4)" \
	"200 columns a:decimal|b:decimal|c:decimal|d:decimal|e:decimal|f:decimal / row decimal:0.0001|decimal:123456789012345678901234567890.5|decimal:NaN|decimal:0|decimal:-0.5|decimal:10000" \
	"@4: numerics exactly as PostgreSQL prints them"
is "$(q "$A" "SELECT 'empty'::int4range AS e, '(,)'::int8range AS a, '{}'::text[] AS z, '{\"a b\",\"\"}'::varchar[] AS v, '{\"k\":1}'::json AS j" /pg4)" \
	'200 columns e:range-int32|a:range-int64|z:array-str|v:array-str|j:jsonb / row range-int32:-,-|range-int64:-,-|array-str:|array-str:a b,|jsonb:{"k":1}' \
	"@4: an empty range and an unbounded one have no bounds; empty arrays; varchar[] and json"
is "$(q "$A" "SELECT '10.1.2.3'::inet AS ip" /pg4)" "200 columns ip:other(inet) / row unsupported:len=8" \
	"@4: a type it has no case for is other(its name), its value unsupported(its bytes)"
like "$(q "$A" "SELECT ARRAY[[1,2],[3,4]] AS m" /pg4)" '^500 value-conversion-failed: a value of array-int32 has more than one dimension' \
	"@4: a 2-D array is value-conversion-failed"
is "$(q "$A&exec" "CREATE TABLE k (id int PRIMARY KEY)" /pg4)" "200 rows 0" "@4: a table with a key"
is "$(q "$A&exec&p=i32:1" 'INSERT INTO k VALUES ($1)' /pg4)" "200 rows 1" "@4: a first row"
like "$(q "$A&exec&p=i32:1" 'INSERT INTO k VALUES ($1)' /pg4)" \
	'^500 query-failed: db-error code=23505 severity=ERROR message=duplicate key value violates unique constraint "k_pkey" detail=Key \(id\)=\(1\) already exists\. .*schema=public table=k constraint=k_pkey' \
	"@4: a server error is query-failed(db-error) with SQLSTATE, severity, message, detail and extras"
like "$(q "$A&p=u:not-a-uuid" 'SELECT $1::uuid' /pg4)" '^500 query-failed: db-error code=22P02 .*message=invalid input syntax for type uuid' \
	"@4: a parameter the server refuses: db-error 22P02"
printf 'SELECT 1\0' >"$T/nul"
like "$(curl -gsS --max-time 30 --data-binary @"$T/nul" "http://127.0.0.1:$PORT/pg4?$A")" \
	'^query-failed: text the statement is over .* or holds U\+0000' "@4: a failure of spin-bridge's own is query-failed(text)"
like "$(q "addr=postgres://spin@127.0.0.2:$PGPORT/postgres" "SELECT 1" /pg4)" '^500 connection-failed: .*not in the component' \
	"@4: allowed_outbound_hosts applies"
