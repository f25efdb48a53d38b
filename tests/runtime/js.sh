#!/usr/bin/env bash
# spin-bridge serving JavaScript apps built from source by j2w
# (@spinframework/build-tools, tests/guests/build-js): components exporting
# wasi:http/incoming-handler@0.2.3 that import WASI 0.2.x at two versions.
# A hello app, a router with params, bodies streamed both ways, and an
# outbound fetch to a local server, allowed and denied.
set -uo pipefail
. "$SPINKUBE_SOURCE_DIR/tests/lib/tap.sh"
. "$SPINKUBE_SOURCE_DIR/tests/runtime/lib.sh"

build_js_guests
APP=$JS_OUT/js

# A first start compiles four 12 MB components (~20 s each under ASan).
START_TRIES=3000 start_bridge js "$APP" --cache-dir "$JS_OUT/compiled" --max-request-body 256Mi --max-response-body 256Mi
is "$?" "0" "starts and serves the JavaScript app"
[ -n "$PORT" ] || { sed 's/^/# /' "$BRIDGE_LOG"; bail "spin-bridge did not start"; }
ok "recognises wasi:http/incoming-handler" logged 'msg="component ready" component=hello handler=wasi:http/incoming-handler'

# hello
is "$(get /hello)" "hello from js" "GET /hello runs the JavaScript handler"
is "$(header /hello content-type)" "text/plain" "... with its content-type"
is "$(status /hello -I)" "200" "HEAD /hello"
is "$(status /nothing)" "404" "no route: 404 from the router, no guest"

# router with params (the guest routes on spin-path-info)
is "$(get /router/)" "router" "router: GET /"
is "$(get /router/users/42)" '{"id":"42"}' "router: one param"
is "$(get /router/users/7/posts/abc)" '{"id":"7","post":"abc"}' "router: two params"
is "$(get /router/users -X POST -H 'content-type: application/json' --data '{"name":"ann"}')" \
	'{"created":{"name":"ann"}}' "router: POST with a JSON body read by the guest"
is "$(status /router/users -X POST --data 'not json')" "400" "router: a bad body gets the guest's 400"
is "$(status /router/users/1 -X DELETE)" "405" "router: wrong method, 405"
is "$(status /router/elsewhere)" "404" "router: unknown path, the guest's 404"

# streaming both ways: the guest generates 64 MiB in 64 KiB chunks and
# echoes a 64 MiB upload as it arrives; spin-bridge holds neither whole.
S=$(stream_mib 64)
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$BRIDGE_PID/status"; }
echo 5 >"/proc/$BRIDGE_PID/clear_refs" # the peak so far (compiling) no longer counts
hwm0=$(hwm_kib)
curl -sS --max-time 120 -D "$T/gen.h" -o "$T/gen.bin" "http://127.0.0.1:$PORT/stream?mib=$S"
is "$(stat -c %s "$T/gen.bin")" "$((S << 20))" "stream: GET ?mib=$S delivers $S MiB"
python3 - "$T/gen.bin" <<'PY'
import sys
data = open(sys.argv[1], 'rb').read()
pat = bytes(97 + i % 26 for i in range(26 * 4096))
ok = all(data[i:i + len(pat)] == pat[:min(len(pat), len(data) - i)] for i in range(0, len(data), len(pat)))
sys.exit(0 if ok else 1)
PY
is "$?" "0" "stream: the bytes are the guest's pattern, in order"
grep -qi '^transfer-encoding: chunked' "$T/gen.h"; is "$?" "0" "stream: sent chunked (no length known up front)"
head -c $((S << 20)) /dev/urandom >"$T/up.bin"
curl -sS --max-time 120 -X POST --data-binary @"$T/up.bin" -H 'content-type: application/x-test' \
	-D "$T/echo.h" -o "$T/echo.bin" "http://127.0.0.1:$PORT/stream"
cmp -s "$T/up.bin" "$T/echo.bin"; is "$?" "0" "stream: a $S MiB upload comes back byte for byte"
grep -qi '^content-type: application/x-test' "$T/echo.h"; is "$?" "0" "stream: the echo keeps the request's content-type"
hwm1=$(hwm_kib)
grow=$(( (hwm1 - hwm0) / 1024 ))
diag "spin-bridge VmHWM grew ${grow} MiB over $S MiB down and $S MiB up and back"
memory_ok "stream: spin-bridge's peak memory grew less than the bodies (${grow} MiB < 96 MiB for 192 MiB moved)" \
	test "$grow" -lt 96

# outbound fetch: allowed to 127.0.0.1 and localhost on any port only
mkdir -p "$T/www" && echo "upstream says hi" >"$T/www/hi.txt"
UP_PORT=$(free_port)
(cd "$T/www" && exec python3 -m http.server "$UP_PORT" --bind 127.0.0.1 >"$T/upstream.log" 2>&1) &
UP_PID=$!
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$UP_PORT/" && break; sleep 0.1; done
out=$(get "/fetch?url=http://127.0.0.1:$UP_PORT/hi.txt")
grep -q '"status":200' <<<"$out" && grep -q 'upstream says hi' <<<"$out"
is "$?" "0" "fetch: an allowed host answers through wasi:http/outgoing-handler"
is "$(header "/fetch?url=http://127.0.0.1:$UP_PORT/hi.txt" x-upstream-status)" "200" "fetch: the upstream status reaches the guest"
out=$(get "/fetch?url=http://127.0.0.1:$UP_PORT/missing")
grep -q '"status":404' <<<"$out"; is "$?" "0" "fetch: an upstream 404 is a response, not an error"
before=$(grep -c 'GET ' "$T/upstream.log")
is "$(status "/fetch?url=http://127.0.0.2:$UP_PORT/hi.txt")" "502" "fetch: a host not in allowed_outbound_hosts fails (the guest's 502)"
ok "fetch: the denial is logged with the component and the host" \
	logged "msg=\"outbound request denied\" component=fetch .*authority=\"?127.0.0.2:$UP_PORT"
after=$(grep -c 'GET ' "$T/upstream.log")
is "$after" "$before" "fetch: a denied request never connects"
kill "$UP_PID" 2>/dev/null
is "$(status "/fetch?url=http://127.0.0.1:$UP_PORT/hi.txt")" "502" "fetch: connection refused is an error the guest handles"

stop_bridge
is "$BRIDGE_RC" "0" "SIGTERM: exits 0"
ok "no request failed on the host side" bash -c "! grep -q 'msg=\"request failed\"' '$BRIDGE_LOG'"
tap_done
