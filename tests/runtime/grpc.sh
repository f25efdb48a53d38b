#!/usr/bin/env bash
# The shim's gRPC client (shim-bridge/shim/containerd/grpc.c) against Go's
# own HTTP/2 server: tests/tools/grpc-fake (standard library only; built
# here into a temporary folder, no download) answers each method with one
# way a gRPC answer can be right or wrong, and checks that our requests are
# HTTP/2 POSTs with content-type application/grpc, te: trailers, the
# containerd-namespace header and one framed message. Checked: a message
# and the namespace echoed back, an empty message, a stream cut across
# writes, an error status in the headers (trailers-only, percent-encoded
# message) and in the trailers after a message, and the refusals: two
# messages in a unary answer, a compressed message, a 5 MiB prefix, a body
# cut inside a message, no grpc-status, a grpc-status out of range, HTTP
# 500, an HTML answer. Each failure is one line. A unix socket only.
#   grpc.sh RUNTIME-GRPC-CALL (meson passes the driver)
set -uo pipefail
. "$SPINKUBE_SOURCE_DIR/tests/lib/tap.sh"
. "$SPINKUBE_SOURCE_DIR/hack/lib.sh"

CALL=$1
command -v go >/dev/null || { echo "1..0 # SKIP go is not installed"; exit 0; }
T=$(mktemp -d /tmp/grpc-test.XXXXXX)
FAKE_PID=
cleanup() {
	[ -z "$FAKE_PID" ] || kill "$FAKE_PID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

(cd "$SPINKUBE_SOURCE_DIR/tests/tools/grpc-fake" && go build -o "$T/grpc-fake" .) >"$T/build.log" 2>&1 \
	|| { sed 's/^/# /' "$T/build.log"; bail "tests/tools/grpc-fake did not build"; }
"$T/grpc-fake" "$T/g.sock" >"$T/fake.out" 2>"$T/fake.err" &
FAKE_PID=$!
for i in $(seq 1 100); do grep -q '^serving' "$T/fake.out" 2>/dev/null && break; sleep 0.1; done
grep -q '^serving' "$T/fake.out" || { sed 's/^/# /' "$T/fake.err"; bail "grpc-fake did not start"; }

# call METHOD MODE [REQUEST]: run the driver; OUT its stdout, ERR its stderr.
call() {
	"$CALL" "$T/g.sock" spinkube-test "/test.Fake/$1" "$2" "${3:-}" >"$T/out" 2>"$T/err"
	OUT=$(cat "$T/out") ERR=$(cat "$T/err")
}
# fails METHOD MODE CODE PATTERN NAME: the call returns CODE with one error
# line matching PATTERN.
fails() {
	call "$1" "$2"
	is "$(tail -n 1 <<<"$OUT")" "r=$3" "$5"
	ok "... one line: $(head -c 150 <<<"$ERR")" bash -c '[ "$(wc -l <"$1")" -eq 1 ] && grep -qE -- "$2" "$1"' _ "$T/err" "$4"
}
EPROTO=-71 EMSGSIZE=-90 ENOENT=-2 ECONNREFUSED=-111 EINVAL=-22 ENOSYS=-38

call Echo unary hello
is "$OUT" "$(printf 'msg 19 spinkube-test:hello\nr=0')" "a unary call: the request's message and the namespace come back"
call Empty unary
is "$OUT" "$(printf 'msg 0 \nr=0')" "an empty message is one message"
call Stream stream
is "$OUT" "$(printf 'msg 3 one\nmsg 3 two\nmsg 5 three\nr=0')" "a stream: three messages, one of them cut across two writes"
fails NotFound unary $ENOENT 'test\.Fake/NotFound: NotFound: image "x": not found\\nsecond line$' \
	"an error status in the headers (trailers-only) is -ENOENT, grpc-message decoded and escaped"
fails TrailerError stream $ECONNREFUSED 'Unavailable: going away' "an error status in the trailers after a message"
fails Nothing unary $ENOSYS 'Unimplemented: unknown method' "an unknown method is Unimplemented, -ENOSYS"
fails Two unary $EPROTO 'more than one message in a unary answer' "two messages in a unary answer are refused"
fails Compressed unary $EPROTO 'test\.Fake/Compressed: gRPC: the server sent a compressed message' "a compressed message is refused"
fails Huge stream $EMSGSIZE 'gRPC: a message of 5242880 bytes is more than the 1024' "a message over the call's cap is refused from its prefix"
fails Cut unary $EPROTO 'the answer ends inside a message' "a body cut inside a message is refused"
fails NoStatus unary $EPROTO 'the answer has no grpc-status' "an answer without grpc-status is refused"
fails BadStatus unary $EPROTO 'a malformed grpc-status' "grpc-status 99 is refused"
fails Http500 unary $EPROTO 'answered HTTP 500' "HTTP 500 is refused"
fails Html unary $EPROTO 'without content-type application/grpc' "an answer that is not application/grpc is refused"
"$CALL" "$T/none.sock" spinkube-test /test.Fake/Echo unary >"$T/out" 2>"$T/err"
is "$(tail -n 1 "$T/out")" "r=$ECONNREFUSED" "a socket nobody serves is -ECONNREFUSED"
is "$(grep -c . "$T/fake.err")" 0 "the Go server logged no protocol error"
tap_done
