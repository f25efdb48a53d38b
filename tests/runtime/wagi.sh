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

start_bridge wagi "$APP" \
	--timeout 1500 --max-instance-memory 48Mi --max-request-body 16Mi --max-response-body 8Mi --head-timeout 1500
is "$?" "0" "starts and serves the wagi app (fresh cache)"
[ -n "$PORT" ] || { sed 's/^/# /' "$BRIDGE_LOG"; bail "spin-bridge did not start"; }
ok "compiled every component at the first start" logged 'msg="component ready" component=hello handler=wagi compiled=now'
ok "logs each public route" logged 'msg="route" route="/echo/\.\.\." component=echo handler=wagi'

is "$(get /hello)" "hello from wagi" "GET /hello runs the program"
is "$(header /hello content-type)" "text/plain" "Content-Type from the CGI header"
is "$(status /nope)" "404" "no route: 404"
is "$(status /hello/more)" "404" "an exact route does not match below itself"

out=$(get '/echo/a/b%20c?x=1&y=two' -H 'X-Custom: v1' -H 'Authorization: secret')
has() { grep -qxF -- "$1" <<<"$out"; }
has 'arg 0 /echo/a/b%20c'; is $? 0 "argv[0] is the request path"
has 'arg 1 x=1' && has 'arg 2 y=two'; is $? 0 "argv: the query split on &"
for kv in REQUEST_METHOD=GET 'QUERY_STRING=x=1&y=two' SCRIPT_NAME=/echo 'PATH_INFO=/a/b%20c' \
	'X_RAW_PATH_INFO=/a/b%20c' 'X_MATCHED_ROUTE=/echo/...' GATEWAY_INTERFACE=CGI/1.1 \
	SERVER_PROTOCOL=HTTP/1.1 REMOTE_ADDR=127.0.0.1 HTTP_X_CUSTOM=v1 GUEST_MODE=test \
	"SERVER_PORT=$PORT" CONTENT_LENGTH=0 'X_BASE_PATH=/'; do
	has "env $kv"; is $? 0 "env $kv"
done
has "env X_FULL_URL=http://127.0.0.1:$PORT/echo/a/b%20c?x=1&y=two"; is $? 0 "env X_FULL_URL"
grep -qx 'env X_CLIENT_ADDR=127.0.0.1:[0-9]*' <<<"$out"; is $? 0 "env X_CLIENT_ADDR"
grep -q '^env HTTP_AUTHORIZATION' <<<"$out"; is $? 1 "Authorization is not passed to the program"

# The echo program writes the body back after its report: keep it in files.
head -c 5000000 /dev/urandom >"$T/body5m"
get /echo/up --data-binary @"$T/body5m" -H 'Content-Type: application/octet-stream' -o "$T/out5m"
grep -aqx 'body-bytes 5000000' "$T/out5m"; is $? 0 "a 5 MB POST body reaches stdin whole"
grep -aqx "body-fnv1a64 $(fnv "$T/body5m")" "$T/out5m"; is $? 0 "... byte for byte"
grep -aqx 'env REQUEST_METHOD=POST' "$T/out5m"; is $? 0 "... as POST"
grep -aqx 'env CONTENT_TYPE=application/octet-stream' "$T/out5m"; is $? 0 "... with CONTENT_TYPE"
grep -aqx 'env CONTENT_LENGTH=5000000' "$T/out5m"; is $? 0 "... and CONTENT_LENGTH"
head -c 3000000 /dev/urandom >"$T/body3m"
get /echo/chunked -H 'Transfer-Encoding: chunked' --data-binary @"$T/body3m" -o "$T/out3m"
grep -aqx 'body-bytes 3000000' "$T/out3m" && grep -aqx "body-fnv1a64 $(fnv "$T/body3m")" "$T/out3m"
is $? 0 "a chunked 3 MB upload arrives whole"
head -c 17000000 /dev/zero >"$T/body17m"
is "$(status /echo/big --data-binary @"$T/body17m")" "413" "a body over --max-request-body: 413"

out=$(get '/argv/p?q=1')
echo "$out" | grep -qx 'arg 1 fixed' && echo "$out" | grep -qx 'arg 2 q=1'; is $? 0 "the trigger's argv template"

is "$(get '/files?path=/hello.txt')" "$(cat "$SPINKUBE_SOURCE_DIR/tests/guests/wagi/assets/hello.txt")" "mapped files are readable"
is "$(get '/files?path=/docs/nested.txt')" "$(cat "$SPINKUBE_SOURCE_DIR/tests/guests/wagi/assets/docs/nested.txt")" "... in subfolders"
is "$(get '/files?path=/' | tr '\n' ' ')" "dir docs file hello.txt " "the guest's / is the mapped folder"
is "$(status '/files?path=/nope.txt')" "404" "a file that is not mapped is not there"

is "$(status /status)" "201" "Status: header sets the status"
is "$(header /status x-test)" "1" "other CGI headers pass through"
is "$(status '/status?mode=redirect')" "302" "Location alone means 302"
is "$(status '/status?mode=teapot')" "418" "Status without Content-Type"

is "$(status /trap)" "500" "a trapping program: 500"
ok "... logged with the component and the reason" logged 'level=error msg="request failed" component=trap .*reason="[^"]*(unreachable|trap)'
ok "... its stderr logged line by line with the component id" logged 'msg="guest output" component=trap stream=stderr line="wagi trap: about to trap"'
ok "... every line" logged 'msg="guest output" component=trap stream=stderr line="second line"'
is "$(get /hello)" "hello from wagi" "... and the server goes on"
t0=$(date +%s%N)
is "$(status /loop)" "500" "a program that loops forever: 500"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
diag "loop answered after ${ms} ms (--timeout 1500)"
ok "... after the CPU timeout, logged as such" logged 'component=loop .*reason="timed out after 1500 ms'
# The cap is 48 MiB of linear memory: malloc fails inside the guest, which
# says how far it got (a trap on the cap is covered by the unit tests).
out=$(get /hog)
grep -qE '^malloc failed after (4[0-7]|[1-3][0-9]) MiB$' <<<"$out"; is $? 0 "memory cap: allocation stops below 48 MiB ($out)"
is "$(get '/hog?mib=16')" "allocated 16 MiB" "... and a guest under the cap gets its memory"
is "$(status /badcgi)" "500" "output without CGI headers: 500"
ok "... logged as malformed" logged 'component=badcgi .*reason='
is "$(get '/bigout?mib=1' | wc -c)" "1048576" "1 MiB of output passes"
is "$(status '/bigout?mib=9')" "500" "output over --max-response-body: 500"
ok "... logged naming the limit" logged 'component=bigout .*reason="output is over the 8388608-byte limit'

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
except OSError:
    pass  # the server answered and closed while we were still sending
try:
    print(s.recv(4096).decode(errors="replace").split("\r\n")[0])
except OSError as e:
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

start_bridge wagi2 "$APP" --max-instance-memory 48Mi
is "$?" "0" "restarts from the compiled-code cache"
ok "... mapping each component instead of compiling" logged 'msg="component ready" component=hello handler=wagi compiled=cache'
is "$(get /hello)" "hello from wagi" "... and serves"
stop_bridge

SPIN_COMPONENTS_TO_RETAIN=hello,status start_bridge retain "$APP" || bail "retain: did not start"
is "$(status /hello)" "200" "SPIN_COMPONENTS_TO_RETAIN keeps the listed components"
is "$(status /echo/x)" "404" "... and drops the routes of the others"
stop_bridge
SPIN_COMPONENTS_TO_RETAIN=hello,nosuch start_bridge retain2 "$APP"
is "$?" "1" "SPIN_COMPONENTS_TO_RETAIN with an unknown id fails to start"
grep -q 'nosuch' "$BRIDGE_LOG"; is $? 0 "... naming it"

tap_done
