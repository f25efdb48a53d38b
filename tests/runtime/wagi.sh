#!/usr/bin/env bash
# spin-bridge serving WAGI programs (C, clang --target=wasm32-wasi) from
# tests/guests/wagi: routes, argv, environment, bodies, files, CGI output
# rules, and the guests that trap, loop, allocate past their cap or write
# malformed output, while the server keeps answering.
set -uo pipefail
. "$SPINKUBE_SOURCE_DIR/tests/lib/tap.sh"
. "$SPINKUBE_SOURCE_DIR/tests/runtime/lib.sh"

build_guests
APP=$GUESTS/wagi
fnv() { python3 -c 'import sys
h=14695981039346656037
for b in open(sys.argv[1],"rb").read():
    h^=b; h=(h*1099511628211)&0xffffffffffffffff
print("%016x"%h)' "$1"; }

ok "starts and serves the wagi app (fresh cache)" start_bridge wagi "$APP" \
	--timeout 1500 --max-instance-memory 48Mi --max-request-body 16Mi --max-response-body 4Mi --head-timeout 1500
[ -n "$PORT" ] || { cat "$BRIDGE_LOG" | sed 's/^/# /'; bail "spin-bridge did not start"; }
ok "compiled every component at the first start" logged 'msg="component ready" component=hello handler=wagi compiled=now'
ok "logs each public route" logged 'msg="route" route="/echo/\.\.\." component=echo handler=wagi'

is "$(get /hello)" "hello from wagi" "GET /hello runs the program"
is "$(header /hello content-type)" "text/plain" "Content-Type from the CGI header"
is "$(status /nope)" "404" "no route: 404"
is "$(status /hello/more)" "404" "an exact route does not match below itself"

out=$(get '/echo/a/b%20c?x=1&y=two' -H 'X-Custom: v1' -H 'Authorization: secret')
echo "$out" | grep -q '^arg 0 /echo/a/b%20c$'; is $? 0 "argv[0] is the request path"
echo "$out" | grep -q '^arg 1 x=1$' && echo "$out" | grep -q '^arg 2 y=two$'; is $? 0 "argv: the query split on &"
for kv in REQUEST_METHOD=GET 'QUERY_STRING=x=1&y=two' SCRIPT_NAME=/echo 'PATH_INFO=/a/b%20c' \
	'X_RAW_PATH_INFO=/a/b%20c' 'X_MATCHED_ROUTE=/echo/...' GATEWAY_INTERFACE=CGI/1.1 \
	SERVER_PROTOCOL=HTTP/1.1 REMOTE_ADDR=127.0.0.1 HTTP_X_CUSTOM=v1 GUEST_MODE=test \
	"SERVER_PORT=$PORT" CONTENT_LENGTH=0 'X_BASE_PATH=/'; do
	echo "$out" | grep -qxF "env $kv"; is $? 0 "env $kv"
done
echo "$out" | grep -q '^env X_FULL_URL=http://127.0.0.1:'"$PORT"'/echo/a/b%20c?x=1&y=two$'; is $? 0 "env X_FULL_URL"
echo "$out" | grep -q '^env X_CLIENT_ADDR=127.0.0.1:[0-9]*$'; is $? 0 "env X_CLIENT_ADDR"
echo "$out" | grep -q '^env HTTP_AUTHORIZATION'; is $? 1 "Authorization is not passed to the program"

head -c 5000000 /dev/urandom >"$T/body5m"
out=$(get /echo/up --data-binary @"$T/body5m" -H 'Content-Type: application/octet-stream')
echo "$out" | grep -qx 'body-bytes 5000000'; is $? 0 "a 5 MB POST body reaches stdin whole"
echo "$out" | grep -qx "body-fnv1a64 $(fnv "$T/body5m")"; is $? 0 "... byte for byte"
echo "$out" | grep -qx 'env REQUEST_METHOD=POST'; is $? 0 "... as POST"
echo "$out" | grep -qx 'env CONTENT_TYPE=application/octet-stream'; is $? 0 "... with CONTENT_TYPE"
head -c 3000000 /dev/urandom >"$T/body3m"
out=$(get /echo/chunked -H 'Transfer-Encoding: chunked' --data-binary @"$T/body3m")
echo "$out" | grep -qx 'body-bytes 3000000' && echo "$out" | grep -qx "body-fnv1a64 $(fnv "$T/body3m")"
is $? 0 "a chunked 3 MB upload arrives whole"
head -c 17000000 /dev/zero >"$T/body17m"
is "$(status /echo/big --data-binary @"$T/body17m")" "413" "a body over --max-request-body: 413"

out=$(get '/argv/p?q=1')
echo "$out" | grep -qx 'arg 1 fixed' && echo "$out" | grep -qx 'arg 2 q=1'; is $? 0 "the trigger's argv template"

is "$(get /files/hello.txt)" "$(cat "$SPINKUBE_SOURCE_DIR/tests/guests/wagi/assets/hello.txt")" "mapped files are readable"
is "$(get /files/docs/nested.txt)" "$(cat "$SPINKUBE_SOURCE_DIR/tests/guests/wagi/assets/docs/nested.txt")" "... in subfolders"

is "$(status /status)" "201" "Status: header sets the status"
is "$(header /status x-test)" "1" "other CGI headers pass through"
is "$(status '/status?location')" "302" "Location alone means 302"

is "$(status /trap)" "500" "a trapping program: 500"
ok "... logged with the component and the reason" logged 'level=error msg="request failed" component=trap .*reason="[^"]*(unreachable|trap)'
is "$(get /hello)" "hello from wagi" "... and the server goes on"
t0=$(date +%s%N)
is "$(status /loop)" "500" "a program that loops forever: 500"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
diag "loop answered after ${ms} ms (--timeout 1500)"
ok "... after the CPU timeout, logged as such" logged 'component=loop .*reason="timed out after 1500 ms'
is "$(status /hog)" "500" "a program allocating past its memory cap: 500"
ok "... logged naming the memory limit" logged 'component=hog .*memory limit of 48 MiB'
is "$(status /badcgi)" "500" "output without CGI headers: 500"
ok "... logged as malformed" logged 'component=badcgi .*reason='
is "$(get '/bigout?1' | wc -c)" "1048576" "1 MiB of output passes"
is "$(status '/bigout?5')" "500" "output over --max-response-body: 500"

# Keep-alive: curl reuses the connection for the second URL.
curl -sv "http://127.0.0.1:$PORT/hello" "http://127.0.0.1:$PORT/hello" -o /dev/null -o /dev/null 2>"$T/ka.txt"
grep -qi 're-using existing connection\|reusing existing' "$T/ka.txt"; is $? 0 "HTTP/1.1 keep-alive"

# A client trickling its request head gets 408 while others are served.
python3 - "$PORT" >"$T/slow.txt" 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
try:
    for ch in b"GET /hello HTTP/1.1\r\nHost: x\r\n":
        s.send(bytes([ch])); time.sleep(0.1)
    print(s.recv(4096).decode(errors="replace").split("\r\n")[0])
except Exception as e:
    print("error", e)
PY
slow=$!
sleep 0.5
is "$(get /hello)" "hello from wagi" "served while a slow client trickles"
wait $slow
grep -q '^HTTP/1.1 408' "$T/slow.txt"; is $? 0 "the slow client gets 408 ($(head -c 60 "$T/slow.txt"))"

# SIGTERM drains: a request in progress still gets its answer.
curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$PORT/loop" >"$T/inflight.txt" &
cpid=$!
sleep 0.4
stop_bridge
wait $cpid
is "$(cat "$T/inflight.txt")" "500" "SIGTERM: the request in progress is answered"
is "$BRIDGE_RC" "0" "SIGTERM: exit status 0"
ok "SIGTERM: logged the stop" logged 'msg="stopped" requests=[0-9]+'

ok "restarts from the compiled-code cache" start_bridge wagi2 "$APP"
ok "... mapping each component instead of compiling" logged 'msg="component ready" component=hello handler=wagi compiled=cache'
is "$(get /hello)" "hello from wagi" "... and serves"
stop_bridge

SPIN_COMPONENTS_TO_RETAIN=hello,status start_bridge retain "$APP"
is "$(status /hello)" "200" "SPIN_COMPONENTS_TO_RETAIN keeps the listed components"
is "$(status /echo/x)" "404" "... and drops the routes of the others"
stop_bridge
SPIN_COMPONENTS_TO_RETAIN=hello,nosuch start_bridge retain2 "$APP"
is "$?" "1" "SPIN_COMPONENTS_TO_RETAIN with an unknown id fails to start"
grep -q 'nosuch' "$BRIDGE_LOG"; is $? 0 "... naming it"

tap_done
