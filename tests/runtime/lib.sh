# Helpers for the runtime tests: start spin-bridge on a free port, talk to
# it, stop it. Source after tests/lib/tap.sh. Needs SPINKUBE_BUILD_DIR and
# SPINKUBE_SOURCE_DIR (meson sets both) and the guests built by
# tests/guests/build into $GUESTS.
# shellcheck source=hack/lib.sh
. "$SPINKUBE_SOURCE_DIR/hack/lib.sh" # free_port, the cache folder
BRIDGE=$SPINKUBE_BUILD_DIR/shim-bridge/spin-bridge/spin-bridge
GUESTS=${SPINKUBE_GUESTS_DIR:-$SPINKUBE_BUILD_DIR/guests}
T=$(mktemp -d "${TMPDIR:-/tmp}/spin-bridge-test.XXXXXX")
BRIDGE_PID=
BRIDGE_LOG=
PORT=
cleanup_bridge() {
	[ -z "$BRIDGE_PID" ] || kill -9 "$BRIDGE_PID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup_bridge EXIT

# build_guests: build the test guests once (tests/guests/build skips what is
# up to date); bail out when the toolchain is missing.
build_guests() {
	"$SPINKUBE_SOURCE_DIR/tests/guests/build" "$GUESTS" >"$T/guests.log" 2>&1 \
		|| { tail -n 20 "$T/guests.log" | sed 's/^/# /'; bail "tests/guests/build failed"; }
}

# build_js_guests: build the JavaScript guests once per machine and set
# JS_OUT. They take ~10 s each to build and their 12 MB components ~15 s each
# to compile: both are kept in the cache folder (hack/lib.sh), keyed by the
# guests' sources and the build script, so a fresh clone on this machine
# builds and compiles them once. build-js goes by modification times, which a
# fresh clone resets, and j2w's output differs from build to build (so its
# compiled code would too): the key already names the sources, so a finished
# folder is reused as is.
build_js_guests() {
	. "$SPINKUBE_SOURCE_DIR/hack/lib.sh"
	local key
	key=$({ find "$SPINKUBE_SOURCE_DIR/tests/guests/js" -type f | LC_ALL=C sort | xargs cat
		cat "$SPINKUBE_SOURCE_DIR/tests/guests/build-js" "$SPINKUBE_SOURCE_DIR/hack/versions"; } |
		sha256sum | cut -c1-12)
	JS_OUT=$SPINKUBE_CACHE/test-guests-js-$key
	if [ ! -e "$JS_OUT/.complete" ]; then
		"$SPINKUBE_SOURCE_DIR/tests/guests/build-js" "$JS_OUT" >"$T/build-js.log" 2>&1 \
			|| { tail -n 20 "$T/build-js.log" | sed 's/^/# /'; bail "tests/guests/build-js failed"; }
		touch "$JS_OUT/.complete"
	fi
}

# start_bridge NAME FROM [FLAGS...]: start spin-bridge serving FROM on
# 127.0.0.1:0; sets BRIDGE_PID, BRIDGE_LOG and PORT. Returns 1 (with the
# log in $BRIDGE_LOG) when it exits instead of serving, or is not serving
# after START_TRIES tenths of a second (default 600).
start_bridge() {
	local name=$1 from=$2; shift 2
	BRIDGE_LOG=$T/$name.log
	"$BRIDGE" up --from "$from" --listen 127.0.0.1:0 --cache-dir "$T/cache" "$@" >"$BRIDGE_LOG" 2>&1 &
	BRIDGE_PID=$!
	local i
	for i in $(seq 1 "${START_TRIES:-600}"); do
		if grep -q 'msg="serving"' "$BRIDGE_LOG" 2>/dev/null; then
			PORT=$(sed -n 's/.*msg="serving".* port=\([0-9]*\).*/\1/p' "$BRIDGE_LOG" | head -n1)
			return 0
		fi
		kill -0 "$BRIDGE_PID" 2>/dev/null || { wait "$BRIDGE_PID" 2>/dev/null; BRIDGE_PID=; return 1; }
		sleep 0.1
	done
	return 1
}

# stop_bridge: SIGTERM and wait; sets BRIDGE_RC.
stop_bridge() {
	[ -n "$BRIDGE_PID" ] || return 0
	kill -TERM "$BRIDGE_PID" 2>/dev/null
	BRIDGE_RC=0
	wait "$BRIDGE_PID" || BRIDGE_RC=$?
	BRIDGE_PID=
}

# get PATH [CURL ARGS...]: body of a request to the bridge on stdout.
get() {
	local p=$1; shift
	curl -sS --max-time 30 "$@" "http://127.0.0.1:$PORT$p"
}

# status PATH [CURL ARGS...]: the HTTP status only.
status() {
	local p=$1; shift
	curl -sS --max-time 30 -o /dev/null -w '%{http_code}' "$@" "http://127.0.0.1:$PORT$p"
}

# header PATH NAME: value of one response header.
header() {
	curl -sS --max-time 30 -D - -o /dev/null "http://127.0.0.1:$PORT$1" | tr -d '\r' \
		| awk -v n="$(echo "$2" | tr 'A-Z' 'a-z')" -F': ' 'tolower($1)==n {print $2; exit}'
}

# logged PATTERN: the bridge log has a line matching PATTERN (grep -E).
logged() { grep -qE "$1" "$BRIDGE_LOG"; }

# fnv FILE: FNV-1a 64 of a file as 16 hex digits, what the echo guests print.
fnv() { python3 -c 'import sys
h=14695981039346656037
for b in open(sys.argv[1],"rb").read():
    h^=b; h=(h*1099511628211)&0xffffffffffffffff
print("%016x"%h)' "$1"; }

# memory_ok NAME COMMAND...: ok, except in a sanitizer build (tests/run's
# asan phase sets ASAN_OPTIONS), whose allocator holds freed memory in
# quarantine, so a bound on peak RSS says nothing there: skipped.
memory_ok() {
	if [ -n "${ASAN_OPTIONS:-}" ]; then
		TAP_N=$((TAP_N + 1))
		echo "ok $TAP_N - $1 # SKIP peak RSS is not meaningful under ASan"
	else
		ok "$@"
	fi
}

# stream_mib N: the body size, in MiB, of the streaming checks: N, or 8 in a
# sanitizer build (peak RSS is not checked there and every byte costs more).
stream_mib() { if [ -n "${ASAN_OPTIONS:-}" ]; then echo 8; else echo "$1"; fi; }

# pong_within CLI: CLI PING answers PONG within 10 s.
pong_within() {
	local i
	for i in $(seq 1 100); do
		[ "$("$1" PING 2>/dev/null)" = PONG ] && return 0
		sleep 0.1
	done
	return 1
}
# stop_pid VAR: end the process whose pid the variable VAR holds (if any)
# and empty VAR.
stop_pid() {
	local p=${!1}
	[ -n "$p" ] || return 0
	kill -TERM "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	printf -v "$1" '%s' ''
}

# A redis-server of the test's own (kv-redis.sh, redis-trigger.sh): on
# 127.0.0.1:$REDIS_PORT, in $T/redis, no persistence, with --requirepass
# $PASS when PASS is set. start_redis waits (bounded) for PONG; stop_redis
# ends it; rcli is redis-cli to it.
REDIS_PID=
start_redis() {
	mkdir -p "$T/redis"
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$T/redis" --save '' --appendonly no \
		${PASS:+--requirepass "$PASS"} --daemonize no --logfile "$T/redis/log" &
	REDIS_PID=$!
	pong_within rcli
}
stop_redis() { stop_pid REDIS_PID; }
rcli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ${PASS:+-a "$PASS" --no-auth-warning} "$@"; }

# A second redis-server that speaks TLS only (kv-redis's tests/runtime/redis/tls.sh,
# redis-trigger.sh): on 127.0.0.1:$TLS_PORT (a free port, kept across
# restarts), in $T/redis-tls, no persistence, --requirepass $PASS when set,
# with a certificate for 127.0.0.1 signed by the CA $T/test-ca.pem that
# make_tls_certs makes with openssl (and a second CA, $T/other-ca.pem, that
# signed nothing). start_redis_tls waits (bounded) for PONG; stop_redis_tls
# ends it; tcli is redis-cli to it over TLS.
TLS_PID=
make_tls_certs() {
	mkca() { openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$1" -keyout "$T/$1.key" -out "$T/$1.pem" 2>/dev/null; }
	mkca test-ca && mkca other-ca || return 1
	openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$T/tls.key" -out "$T/tls.csr" 2>/dev/null &&
		openssl x509 -req -in "$T/tls.csr" -CA "$T/test-ca.pem" -CAkey "$T/test-ca.key" -CAcreateserial -days 2 \
			-extfile <(printf 'subjectAltName=IP:127.0.0.1\n') -out "$T/tls.crt" 2>/dev/null
}
start_redis_tls() {
	[ -f "$T/tls.crt" ] || make_tls_certs || return 1
	TLS_PORT=${TLS_PORT:-$(free_port)}
	mkdir -p "$T/redis-tls"
	redis-server --port 0 --tls-port "$TLS_PORT" --bind 127.0.0.1 --tls-cert-file "$T/tls.crt" --tls-key-file "$T/tls.key" \
		--tls-auth-clients no --dir "$T/redis-tls" --save '' --appendonly no ${PASS:+--requirepass "$PASS"} \
		--daemonize no --logfile "$T/redis-tls/log" &
	TLS_PID=$!
	pong_within tcli
}
stop_redis_tls() { stop_pid TLS_PID; }
tcli() { redis-cli -h 127.0.0.1 -p "$TLS_PORT" --tls --cacert "$T/test-ca.pem" ${PASS:+-a "$PASS" --no-auth-warning} "$@"; }
