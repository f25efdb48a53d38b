#!/usr/bin/env bash
# spin-bridge serving components that export wasi:http/incoming-handler (C
# through wit-bindgen, tests/guests/wasi-http): the request and response
# resources (method, path, authority, scheme, headers), bodies streamed both
# ways (100 MiB up and down with spin-bridge's peak RSS bounded), trailers
# both ways, a handler that never sets its response, one that traps in the
# middle of its body, a component built against WASI 0.2.0, and the Spin
# headers a wasi:http component gets.
set -uo pipefail
. "$SPINKUBE_SOURCE_DIR/tests/lib/tap.sh"
. "$SPINKUBE_SOURCE_DIR/tests/runtime/lib.sh"

build_guests
APP=$GUESTS/wasi-http
MIB=$((1024 * 1024))
# 100 MiB; 8 MiB in a sanitizer build, where the peak is not checked and
# every byte costs far more.
BIG=$(( $(stream_mib 100) * MIB ))
# The bound on spin-bridge's peak RSS while 100 MiB stream through it, from a
# peak reset just before. It serves this app in about 31 MiB; a runtime that
# buffered the body would need more than 100.
HWM_LIMIT_MIB=${SPINKUBE_HWM_LIMIT_MIB:-64}

# $T/fnv: FNV-1a 64 (what the guests print) of a file or of stdin ("-"), or
# of the first N bytes of gen's pattern (--pattern N), printed as
# "HEX BYTES". lib.sh's fnv is Python: minutes for 100 MiB.
cc -O2 -o "$T/fnv" -x c - <<'EOF' || bail "cannot build the FNV-1a helper with cc"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv)
{
	static unsigned char buf[1 << 16];
	uint64_t h = 14695981039346656037ull, n = 0;
	if (argc == 3 && strcmp(argv[1], "--pattern") == 0) {
		uint64_t len = strtoull(argv[2], NULL, 10);
		for (; n < len; n++) { h ^= (unsigned char)('a' + n % 26); h *= 1099511628211ull; }
	} else if (argc == 2) {
		FILE *f = strcmp(argv[1], "-") ? fopen(argv[1], "rb") : stdin;
		size_t got;
		if (!f) { perror(argv[1]); return 1; }
		while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
			for (size_t i = 0; i < got; i++, n++) { h ^= buf[i]; h *= 1099511628211ull; }
	} else {
		return 2;
	}
	printf("%016llx %llu\n", (unsigned long long)h, (unsigned long long)n);
	return 0;
}
EOF

# hwm_reset: set spin-bridge's peak RSS (VmHWM) to what it uses now.
hwm_reset() { echo 5 >"/proc/$BRIDGE_PID/clear_refs"; }
# hwm_mib: spin-bridge's peak RSS in MiB.
hwm_mib() { awk '/^VmHWM:/ { print int($2 / 1024) }' "/proc/$BRIDGE_PID/status"; }

# fetch PATH [CURL ARGS...]: one request; head in $T/h (lower-case names, no
# CR), body in $T/b, HTTP status in $T/s, curl's exit status in $T/rc.
fetch() {
	local p=$1 rc=0; shift
	curl -sS --max-time 60 -D "$T/h.raw" -o "$T/b" -w '%{http_code}' "$@" "http://127.0.0.1:$PORT$p" >"$T/s" 2>"$T/err" || rc=$?
	echo "$rc" >"$T/rc"
	tr -d '\r' <"$T/h.raw" | awk -F': ' 'NR > 1 && NF > 1 { printf "%s: %s\n", tolower($1), substr($0, length($1) + 3) }' >"$T/h"
}
# hv NAME: the values of response header NAME from the last fetch, one a line.
hv() { sed -n "s/^$1: //p" "$T/h"; }
# line TEXT: the last fetch's body has a line that is exactly TEXT.
line() { grep -aqxF -- "$1" "$T/b"; }

start_bridge wasi-http "$APP" --max-request-body 256Mi --max-response-body 256Mi
is "$?" "0" "starts and serves the wasi-http app"
[ -n "$PORT" ] || { sed 's/^/# /' "$BRIDGE_LOG"; bail "spin-bridge did not start"; }
ok "recognises the handler interface" logged 'msg="component ready" component=hello handler=wasi:http/incoming-handler'
ok "... also at 0.2.0" logged 'msg="component ready" component=hello020 handler=wasi:http/incoming-handler'

# hello: the whole path through the resources, no request body.
is "$(get /hello)" "hello from wasi:http" "GET /hello calls incoming-handler.handle"
is "$(status /hello)" "200" "... status 200"
is "$(header /hello content-type)" "text/plain" "... with the component's headers"
is "$(status /nothing/here)" "404" "no route: 404"
is "$(get /hello020)" "hello from wasi:http@0.2.0" "a component built against WASI 0.2.0 (imports and export @0.2.0)"

# echo: the request head as the guest sees it, and the body back.
fetch '/echo/a/b%2Fc?q=1&r=%20' -X POST --data-binary 'abc' -H 'X-Echo: one' -H 'x-echo: two'
is "$(cat "$T/s")" "200" "echo: 200"
is "$(hv x-method)" "POST" "incoming-request.method"
is "$(hv x-path)" '/echo/a/b%2Fc?q=1&r=%20' "path-with-query: the full path and query as sent"
is "$(hv x-authority)" "127.0.0.1:$PORT" "authority: the Host header"
is "$(hv x-scheme)" "http" "scheme: http"
is "$(hv x-echo | paste -sd, -)" "one,two" "request header values, in order, names case-insensitive"
is "$(cat "$T/b")" "abc" "the request body comes back"
fetch /echo/x -X PROPFIND
is "$(cat "$T/s") $(hv x-method)" "200 PROPFIND" "any method reaches the guest (method.other)"
fetch /echo/x
is "$(cat "$T/s") $(wc -c <"$T/b")" "200 0" "GET without a body: an empty body"

fetch '/echo/x/y?dump' -H 'X-A: b' --data-binary 'hello'
line 'method POST' && line 'path-with-query /echo/x/y?dump' && line 'scheme http' && line "authority 127.0.0.1:$PORT"
is $? 0 "dump: the request head"
line 'header x-a: b'; is $? 0 "... request headers, names in lower case"
line "header spin-full-url: http://127.0.0.1:$PORT/echo/x/y?dump"; is $? 0 "... spin-full-url"
line 'header spin-path-info: /x/y'; is $? 0 "... spin-path-info"
line 'header spin-matched-route: /echo/...'; is $? 0 "... spin-matched-route"
line 'header spin-component-route: /echo'; is $? 0 "... spin-component-route"
grep -aqx 'header spin-client-addr: 127.0.0.1:[0-9]*' "$T/b"; is $? 0 "... spin-client-addr"
printf hello >"$T/hello"
line 'body-bytes 5' && line "body-fnv1a64 $("$T/fnv" "$T/hello" | cut -d' ' -f1)"
is $? 0 "... and the request body, read in chunks"

head -c 3000000 /dev/urandom >"$T/body3"
fetch /echo/up -T "$T/body3" -X PUT -H 'Expect:'
cmp -s "$T/b" "$T/body3"; is $? 0 "a 3 MB body streams back byte for byte"
fetch /echo/up -H 'Transfer-Encoding: chunked' --data-binary @"$T/body3"
cmp -s "$T/b" "$T/body3"; is $? 0 "... also a chunked upload"

# 100 MiB through each streaming guest, with spin-bridge's peak RSS reset
# before and read after: nothing may hold a whole body.
head -c "$BIG" /dev/urandom >"$T/big"
want=$("$T/fnv" "$T/big")
hwm_reset
got=$(curl -sS --max-time 300 -T "$T/big" -X POST -H 'Expect:' "http://127.0.0.1:$PORT/echo/big" | "$T/fnv" -)
hwm=$(hwm_mib)
is "$got" "$want" "echo: $((BIG / MIB)) MiB up and back, byte for byte"
diag "spin-bridge VmHWM during the $((BIG / MIB)) MiB echo: $hwm MiB"
memory_ok "... spin-bridge's peak RSS stays under $HWM_LIMIT_MIB MiB ($hwm MiB)" test "$hwm" -lt "$HWM_LIMIT_MIB"

hwm_reset
out=$(curl -sS --max-time 300 -T "$T/big" -X POST -H 'Expect:' "http://127.0.0.1:$PORT/sink")
hwm=$(hwm_mib)
is "$out" "body-bytes $BIG
body-fnv1a64 ${want%% *}" "sink: a $((BIG / MIB)) MiB upload read in chunks"
memory_ok "... spin-bridge's peak RSS stays under $HWM_LIMIT_MIB MiB ($hwm MiB)" test "$hwm" -lt "$HWM_LIMIT_MIB"
rm -f "$T/big"

hwm_reset
got=$(curl -sS --max-time 300 "http://127.0.0.1:$PORT/gen?size=$BIG" | "$T/fnv" -)
hwm=$(hwm_mib)
is "$got" "$("$T/fnv" --pattern "$BIG")" "gen: a $((BIG / MIB)) MiB download, streamed by the guest"
memory_ok "... spin-bridge's peak RSS stays under $HWM_LIMIT_MIB MiB ($hwm MiB)" test "$hwm" -lt "$HWM_LIMIT_MIB"

is "$(get '/gen?size=30')" "abcdefghijklmnopqrstuvwxyzabcd" "gen: a short body"
fetch '/gen?size=30&cl'
is "$(hv content-length) $(wc -c <"$T/b")" "30 30" "... with the guest's content-length"
fetch '/gen?size=100000&chunk=7'
is "$("$T/fnv" "$T/b")" "$("$T/fnv" --pattern 100000)" "... written 7 bytes at a time"
is "$(status '/gen?size=0')" "200" "... an empty body"
is "$(status '/gen?size=x')" "400" "... a bad parameter: the guest's 400"
curl -sS --max-time 60 "http://127.0.0.1:$PORT/gen?size=$BIG" 2>/dev/null | head -c 1000 >/dev/null
is "$(get /hello)" "hello from wasi:http" "a client that goes away in the middle of a download: the server goes on"

# Trailers both ways, with a client that sends them and reads them raw.
cat >"$T/trailers.py" <<'EOF'
# trailers.py PORT PATH [NAME:VALUE ...]: POST "hello world" in two chunks
# with these request trailers and TE: trailers; print "status N", the body,
# then "response-trailer NAME: VALUE" per response trailer. Exits 1 when the
# response is cut short or malformed.
import socket, sys

port, path, trailers = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
s = socket.create_connection(("127.0.0.1", port), timeout=30)
head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nTransfer-Encoding: chunked\r\n"
        "TE: trailers\r\nConnection: close\r\n" % (path, port))
if trailers:
    head += "Trailer: %s\r\n" % ", ".join(t.split(":", 1)[0] for t in trailers)
body = "5\r\nhello\r\n6\r\n world\r\n0\r\n"
body += "".join("%s: %s\r\n" % (t.split(":", 1)[0], t.split(":", 1)[1].strip()) for t in trailers)
s.sendall((head + "\r\n" + body + "\r\n").encode())
f = s.makefile("rb")

def line():
    l = f.readline()
    if not l.endswith(b"\r\n"):
        sys.exit("response cut short: %r" % l)
    return l[:-2].decode("latin-1")

print("status", line().split(" ")[1])
headers = {}
while True:
    l = line()
    if not l:
        break
    name, value = l.split(":", 1)
    headers[name.strip().lower()] = value.strip()
out, tail = b"", []
if headers.get("transfer-encoding", "").lower() == "chunked":
    while True:
        size = int(line().split(";")[0], 16)
        if size == 0:
            break
        out += f.read(size)
        if f.read(2) != b"\r\n":
            sys.exit("bad chunk end")
    while True:
        l = line()
        if not l:
            break
        name, value = l.split(":", 1)
        tail.append("response-trailer %s: %s" % (name.strip().lower(), value.strip()))
else:
    out = f.read(int(headers.get("content-length", "0")))
sys.stdout.write(out.decode("latin-1"))
print("\n".join(tail))
EOF
python3 "$T/trailers.py" "$PORT" /trailers 'X-Trailer-A: 1' 'x-trailer-b: two' >"$T/b" 2>"$T/err"
is "$?" "0" "trailers: a chunked request with trailers gets a whole response"
line 'status 200' && line 'body-bytes 11' && line "body-fnv1a64 $(printf 'hello world' | "$T/fnv" - | cut -d' ' -f1)"
is $? 0 "... the guest read the body"
line 'trailer x-trailer-a: 1' && line 'trailer x-trailer-b: two'
is $? 0 "... and the request trailers (incoming-body.finish, future-trailers)"
sum=$(sed -n 's/^response-trailer x-checksum: //p' "$T/b")
is "$sum" "$(sed -e '1d' -e '/^response-trailer /d' "$T/b" | "$T/fnv" - | cut -d' ' -f1)" \
	"... response trailers: x-checksum of the body (outgoing-body.finish with trailers)"
python3 "$T/trailers.py" "$PORT" /trailers >"$T/b" 2>"$T/err"
line 'trailers none'; is $? 0 "a request without trailers: none"
raw=$(curl -sS --max-time 30 --raw -H 'TE: trailers' --data-binary 'hello world' "http://127.0.0.1:$PORT/trailers" | tr -d '\r')
grep -qx 'x-checksum: [0-9a-f]\{16\}' <<<"$raw"; is $? 0 "curl --raw sees the x-checksum trailer after the last chunk"

# A handler that returns without a response, and one that traps mid-body.
is "$(status /noresp)" "500" "a handler that never sets its response-outparam: 500"
ok "... logged with the component" logged 'level=error msg="request failed" component=noresp'
is "$(status '/noresp?drop')" "500" "... also when it drops the outparam"
is "$(get /hello)" "hello from wasi:http" "... and the server goes on"

fetch /trapmid
read -r tm_fnv tm_n < <("$T/fnv" "$T/b")
is "$(cat "$T/s")" "200" "a trap in the middle of the body: the head was already sent (200)"
ok "... the body is cut short, not ended cleanly (curl exit $(cat "$T/rc"): 18 or 56)" grep -qxE '18|56' "$T/rc"
ok "... no more than the 1 MiB written before the trap ($tm_n bytes)" test "$tm_n" -le "$MIB"
is "$tm_fnv" "$("$T/fnv" --pattern "$tm_n" | cut -d' ' -f1)" "... and what came is what the guest wrote"
ok "... logged with the component and the reason" logged 'level=error msg="request failed" component=trapmid .*reason="wasm trap'
ok "... its stderr logged with the component id" \
	logged 'msg="guest output" component=trapmid stream=stderr line="trapmid: trapping after 1048576 bytes"'
fetch '/trapmid?cl'
read -r _ tm_n < <("$T/fnv" "$T/b")
ok "... with content-length 2 MiB announced: cut short too (curl exit $(cat "$T/rc"), $tm_n bytes)" \
	test "$(cat "$T/rc")" = 18 -a "$tm_n" -le "$MIB"
is "$(get /hello)" "hello from wasi:http" "... and the server goes on"

# Several clients at once, each with its own body.
for i in $(seq 1 24); do
	head -c $((i * 10000)) /dev/urandom >"$T/par.in.$i"
	printf 'url = "http://127.0.0.1:%s/echo/p%s"\nupload-file = "%s"\noutput = "%s"\n' \
		"$PORT" "$i" "$T/par.in.$i" "$T/par.out.$i"
done >"$T/urls"
curl -s --parallel --parallel-max 12 -X POST -H 'Expect:' -K "$T/urls" 2>/dev/null
bad=0
for i in $(seq 1 24); do cmp -s "$T/par.in.$i" "$T/par.out.$i" || bad=$((bad + 1)); done
is "$bad" "0" "24 uploads, 12 at a time: each streams back its own body"

stop_bridge
is "$BRIDGE_RC" "0" "SIGTERM: exit status 0"
tap_done
