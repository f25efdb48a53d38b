#!/usr/bin/env bash
# spin-bridge serving components that export fermyon:spin/inbound-http (C
# through wit-bindgen and wasm-tools, tests/guests/components): the request
# record (method, uri, headers with Spin's spin-* ones, route params, body),
# the response record, and a guest that traps.
set -uo pipefail
. "$SPINKUBE_SOURCE_DIR/tests/lib/tap.sh"
. "$SPINKUBE_SOURCE_DIR/tests/runtime/lib.sh"

build_guests
APP=$GUESTS/components

start_bridge components "$APP" --max-request-body 4Mi
is "$?" "0" "starts and serves the components app"
[ -n "$PORT" ] || { sed 's/^/# /' "$BRIDGE_LOG"; bail "spin-bridge did not start"; }
ok "recognises the handler interface" logged 'msg="component ready" component=hello handler=fermyon:spin/inbound-http compiled=now'

is "$(get /hello)" "hello from component" "GET /hello calls handle-request"
is "$(status /hello)" "200" "... status 200"
is "$(header /hello content-type)" "text/plain" "... with the component's headers"
is "$(status /nothing/here)" "404" "no route: 404"

out=$(get '/echo/bob/x/y%2Fz?q=1&r=2' -H 'X-A: b' -H 'X-Multi: 1')
has() { grep -qxF -- "$1" <<<"$out"; }
has 'method GET'; is $? 0 "method"
has 'uri /echo/bob/x/y%2Fz?q=1&r=2'; is $? 0 "uri: path and query as sent"
has 'header x-a: b'; is $? 0 "request headers, names in lower case"
has "header spin-full-url: http://127.0.0.1:$PORT/echo/bob/x/y%2Fz?q=1&r=2"; is $? 0 "spin-full-url"
has 'header spin-path-info: /x/y%2Fz'; is $? 0 "spin-path-info: the raw rest after the wildcard"
has 'header spin-matched-route: /echo/:name/...'; is $? 0 "spin-matched-route"
has 'header spin-base-path: /'; is $? 0 "spin-base-path"
has 'header spin-raw-component-route: /echo/:name/...'; is $? 0 "spin-raw-component-route"
has 'header spin-component-route: /echo/:name'; is $? 0 "spin-component-route"
has 'header spin-path-match-name: bob'; is $? 0 "spin-path-match-NAME"
grep -qx 'header spin-client-addr: 127.0.0.1:[0-9]*' <<<"$out"; is $? 0 "spin-client-addr"
has 'param name=bob'; is $? 0 "route params"
has 'env GUEST_MODE=test' && has 'env GUEST_EMPTY='; is $? 0 "the component's environment"
has 'body-option none'; is $? 0 "a GET has no body (none)"

out=$(get /users/42)
grep -qxF 'param id=42' <<<"$out"; is $? 0 "an exact route with a parameter"
is "$(status /users/42/more)" "404" "... matches only its own depth"

head -c 3000000 /dev/urandom >"$T/body"
get /echo/al/up -X PUT --data-binary @"$T/body" -o "$T/out"
grep -aqx 'method PUT' "$T/out"; is $? 0 "PUT"
grep -aqx 'body-bytes 3000000' "$T/out" && grep -aqx "body-fnv1a64 $(fnv "$T/body")" "$T/out"
is $? 0 "a 3 MB body reaches the component byte for byte"
get /echo/al/up -H 'Transfer-Encoding: chunked' --data-binary @"$T/body" -o "$T/out2"
grep -aqx 'body-bytes 3000000' "$T/out2" && grep -aqx "body-fnv1a64 $(fnv "$T/body")" "$T/out2"
is $? 0 "... and as a chunked upload"
cmp -s <(tail -c 3000000 "$T/out") "$T/body"; is $? 0 "the component's response body comes back whole"
is "$(status /echo/al/up -X DELETE)" "200" "DELETE"
is "$(status /echo/al/up -X PATCH --data x)" "200" "PATCH"
is "$(status /echo/al/up -X OPTIONS)" "200" "OPTIONS"
is "$(status /echo/al/up -X PROPFIND)" "405" "a method the interface cannot carry: 405"
head -c 5000000 /dev/zero >"$T/big"
is "$(status /echo/al/up --data-binary @"$T/big")" "413" "a body over --max-request-body: 413"

is "$(status /status)" "418" "the component's status"
is "$(header /status x-test)" "1" "... and headers"
is "$(status '/status?mode=empty')" "204" "no headers and no body (both none)"

is "$(status /trap)" "500" "a trapping component: 500"
ok "... logged with the component and the reason" logged 'level=error msg="request failed" component=trap .*reason="wasm trap'
ok "... its stdout logged with the component id" logged 'msg="guest output" component=trap stream=stdout line="component trap: to stdout"'
ok "... and its stderr" logged 'msg="guest output" component=trap stream=stderr line="component trap: to stderr"'
is "$(get /hello)" "hello from component" "... and the server goes on"

# Several clients at once: every answer is right.
for i in $(seq 1 40); do echo "url = \"http://127.0.0.1:$PORT/users/$i\""; echo "output = \"$T/par.$i\""; done >"$T/urls"
curl -s --parallel --parallel-max 16 -K "$T/urls" 2>/dev/null
bad=0
for i in $(seq 1 40); do grep -qx "param id=$i" "$T/par.$i" || bad=$((bad + 1)); done
is "$bad" "0" "40 requests, 16 at a time: each gets its own instance and answer"

stop_bridge
is "$BRIDGE_RC" "0" "SIGTERM: exit status 0"
tap_done
