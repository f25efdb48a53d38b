#!/usr/bin/env bash
# containerd-shim-spin-v2 in shared mode under a real containerd 2 (its own
# root, state and sockets in a temporary folder, the CRI off), driven with
# ctr, no kubelet: two apps (ordinary images holding spin.toml, packed by
# hack/push-image) run by one daemon on one engine, each answering on its own
# port of 127.0.0.1 with its own reply; SIGTERM stops one after the shutdown
# delay (exit 0) while the other answers; SIGKILL stops one at once (exit
# 137); an app that cannot load exits 1 and the daemon serves on; the daemon
# exits when its last container is deleted; kill -9 of the daemon stops every
# task; Stats counts an app's CPU time and its share of the compiled code
# (two apps of one image split it; one alone holds it all), and reports the
# pod's memory limit; a CPU limit of half a core lets one request in at a
# time; the CA bundle a container binds in at
# /etc/ssl/certs/ca-certificates.crt verifies its guests' outbound TLS (a
# local server with a certificate of a private CA), and an app without it
# cannot reach that server. Root only; loopback traffic only.
set -uo pipefail
. "$SPINKUBE_SOURCE_DIR/tests/lib/tap.sh"
. "$SPINKUBE_SOURCE_DIR/hack/lib.sh"

CTRD_NS=shared-test
. "$SPINKUBE_SOURCE_DIR/tests/runtime/containerd.sh"
ctrd_require shim
T=$(mktemp -d /tmp/shim-shared.XXXXXX)
pids=()
cleanup() {
	local p
	ctrd_stop
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

# --- the apps: the WAGI guests, two with their own GUEST_MODE, one broken ---
"$SPINKUBE_SOURCE_DIR/tests/guests/build" "$T/guests" >"$T/guests.log" 2>&1 || { tail -n 20 "$T/guests.log" | sed 's/^/# /'; bail "tests/guests/build failed"; }
for a in one two; do
	cp -r "$T/guests/wagi" "$T/app-$a"
	sed -i "s/GUEST_MODE = \"test\"/GUEST_MODE = \"$a\"/" "$T/app-$a/spin.toml"
	"$SPINKUBE_SOURCE_DIR/hack/push-image" --oci-tar "$T/$a.tar" "$T/app-$a" "spinkube-c/shared-$a:test" >/dev/null 2>"$T/push.err" ||
		{ sed 's/^/# /' "$T/push.err"; bail "hack/push-image failed"; }
done
cp -r "$T/guests/wagi" "$T/app-bad"
echo 'this is = not [valid' >>"$T/app-bad/spin.toml"
"$SPINKUBE_SOURCE_DIR/hack/push-image" --oci-tar "$T/bad.tar" "$T/app-bad" spinkube-c/shared-bad:test >/dev/null 2>&1

# --- containerd, with the shim on its PATH in shared mode ---
ctrd_start "$T/containerd.log" SPIN_SHIM_MODE=shared SPIN_SHIM_STATE_DIR="$T/shim"
for a in one two bad; do ctr images import "$T/$a.tar" >/dev/null 2>&1 || bail "ctr images import $a failed"; done

P1=$(free_port) P2=$(free_port)
run() { ctr run -d --runtime io.containerd.spin.v2 --net-host --env "SPIN_HTTP_LISTEN_ADDR=127.0.0.1:$2" "docker.io/spinkube-c/shared-$3:test" "$1"; }
daemons() { pgrep -fc "$T/bin/containerd-shim-spin-v2 .*-shared serve" || true; }
# gone TASK: not running any more (containerd deletes the tasks of a shim
# that died, or shows them stopped).
gone() { local s; s=$(status_of "$1"); [ -z "$s" ] || [ "$s" = STOPPED ]; }
answers() { curl -s --noproxy '*' -m 5 "http://127.0.0.1:$1$2"; }

ok "ctr runs the first app in shared mode" run a1 "$P1" one
ok "and the second" run a2 "$P2" two
ok "the first answers on its port" wait_for 20 bash -c "[ \"\$(curl -s --noproxy '*' -m 2 http://127.0.0.1:$P1/hello)\" = 'hello from wagi' ]"
ok "the second on its own" wait_for 20 bash -c "[ \"\$(curl -s --noproxy '*' -m 2 http://127.0.0.1:$P2/hello)\" = 'hello from wagi' ]"
ok "each with its own reply (one)" grep -qx "env GUEST_MODE=one" <<<"$(answers "$P1" /echo/x)"
ok "each with its own reply (two)" grep -qx "env GUEST_MODE=two" <<<"$(answers "$P2" /echo/x)"
is "$(daemons)" 1 "one shim daemon serves both"
is "$(pgrep -fc "$T/bin/containerd-shim-spin-v2 app" || true)" 0 "and no app process runs"
pid1=$(ctr tasks ls | awk '$1 == "a1" {print $2}') pid2=$(ctr tasks ls | awk '$1 == "a2" {print $2}')
ok "both tasks have the daemon's pid" test -n "$pid1" -a "$pid1" = "$pid2"

# A trap in one app and an endless loop in the other leave the rest alone.
( curl -s --noproxy '*' -m 45 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P2/loop" >"$T/loop.code" ) &
loop=$!
is "$(curl -s --noproxy '*' -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P1/trap")" 500 "a trap is that request's 500"
is "$(answers "$P1" /hello)" "hello from wagi" "while one app loops, the other answers"
is "$(answers "$P2" /hello)" "hello from wagi" "and so does the looping app's next request"

cpu_of() { ctr tasks metrics "$1" 2>/dev/null | awk '$1 == "cpuacct.usage" {print $2}'; }
c1=$(cpu_of a1)
ok "Stats: the CPU time of the app's requests ($c1 ns)" test "${c1:-0}" -gt 0
for _ in $(seq 1 20); do answers "$P1" /echo/x >/dev/null; done
ok "which grows with its requests" test "$(cpu_of a1)" -gt "${c1:-0}"
mem_of() { ctr tasks metrics "$1" 2>/dev/null | awk '$1 == "memory.usage_in_bytes" {print $2}'; }
m1=$(mem_of a1) m2=$(mem_of a2)
ok "Stats: an app's memory is its share of the compiled code ($m1 bytes)" test "${m1:-0}" -gt 0
is "$m2" "$m1" "two apps of the same wasm have the same share"
ok "an app that cannot load starts" run bad "$(free_port)" bad
ok "and its task exits" wait_for 20 stopped bad
is "$(exit_of bad)" 1 "with status 1"
is "$(answers "$P2" /hello)" "hello from wagi" "the daemon serves on"

t0=$SECONDS
ctr tasks kill -s SIGTERM a1 >/dev/null 2>&1
ok "SIGTERM stops the first app" wait_for 30 stopped a1
ok "after the shutdown delay (2 s)" test $((SECONDS - t0)) -ge 2
is "$(exit_of a1)" 0 "with status 0"
is "$(answers "$P2" /hello)" "hello from wagi" "the second still answers"
m2=$(mem_of a2)
ok "the code it shared is the second's alone now: its share doubled ($m1 -> $m2 bytes)" \
	test "${m2:-0}" -ge $((2 * ${m1:-0})) -a "${m2:-0}" -le $((2 * ${m1:-0} + 16))
ok "the first's port is closed" bash -c "! curl -s --noproxy '*' -m 2 http://127.0.0.1:$P1/hello"
t0=$SECONDS
ctr tasks kill -s SIGKILL a2 >/dev/null 2>&1
ok "SIGKILL stops the second, its endless request still running" wait_for 10 stopped a2
ok "at once" test $((SECONDS - t0)) -le 5
is "$(exit_of a2)" 137 "with status 137"
ok "its port is closed" bash -c "! curl -s --noproxy '*' -m 2 http://127.0.0.1:$P2/hello"
kill "$loop" 2>/dev/null
for t in a1 a2 bad; do ctr containers delete "$t" >/dev/null 2>&1; done
no_daemon() { [ "$(daemons)" = 0 ]; }
ok "the daemon exits once its last container is deleted" wait_for 10 no_daemon

# kill -9 of the daemon: every task it served stops.
ok "two more apps run" run b1 "$P1" one
ok "and the other" run b2 "$P2" two
ok "both answer" wait_for 20 bash -c "curl -sf --noproxy '*' -m 2 http://127.0.0.1:$P1/hello && curl -sf --noproxy '*' -m 2 http://127.0.0.1:$P2/hello"
pkill -KILL -f "$T/bin/containerd-shim-spin-v2 .*-shared serve"
both_gone() { gone b1 && gone b2; }
ok "after kill -9 of the daemon neither task runs" wait_for 20 both_gone
for t in b1 b2; do ctr tasks delete -f "$t" >/dev/null 2>&1; ctr containers delete "$t" >/dev/null 2>&1; done
# A CPU limit of half a core: one request at a time (two per core).
ok "a new app after that gets a new daemon (half a core)" \
	ctr run -d --runtime io.containerd.spin.v2 --net-host --cpus 0.5 --memory-limit 268435456 \
	--env "SPIN_HTTP_LISTEN_ADDR=127.0.0.1:$P1" docker.io/spinkube-c/shared-one:test c1
ok "which answers" wait_for 20 curl -sf --noproxy '*' -m 2 "http://127.0.0.1:$P1/hello"
is "$(ctr tasks metrics c1 2>/dev/null | awk '$1 == "memory.limit_in_bytes" {print $2}')" 268435456 \
	"Stats reports the container's memory limit"
( curl -s --noproxy '*' -m 45 -o /dev/null "http://127.0.0.1:$P1/loop" ) &
loop=$!
sleep 0.5
is "$(curl -s --noproxy '*' -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P1/hello")" 503 \
	"while its one request in flight runs, the next is answered 503"
ctr tasks kill -s SIGKILL c1 >/dev/null 2>&1
wait_for 10 stopped c1
ctr tasks delete c1 >/dev/null 2>&1
ctr containers delete c1 >/dev/null 2>&1

# --- the container's CA bundle for its guests' outbound TLS ---
# A private CA, a certificate for 127.0.0.1 it signed, and openssl s_server
# with it on a free port of 127.0.0.1.
PT=$(free_port)
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=shim-test-ca -keyout "$T/ca.key" -out "$T/ca.pem" 2>/dev/null &&
	openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$T/srv.key" -out "$T/srv.csr" 2>/dev/null &&
	printf 'subjectAltName=IP:127.0.0.1\n' >"$T/srv.ext" &&
	openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 1 \
		-extfile "$T/srv.ext" -out "$T/srv.pem" 2>/dev/null || bail "openssl could not make the test certificates"
openssl s_server -accept "127.0.0.1:$PT" -cert "$T/srv.pem" -key "$T/srv.key" -www -quiet >/dev/null 2>&1 </dev/null &
pids+=($!)
wait_for 10 bash -c "curl -s --noproxy '*' --cacert $T/ca.pem -m 2 -o /dev/null https://127.0.0.1:$PT/" ||
	bail "openssl s_server did not come up on 127.0.0.1:$PT"
# The outbound guest alone, allowed to reach that server.
mkdir -p "$T/app-tls"
cp "$T/guests/spin/outbound.wasm" "$T/app-tls/"
printf 'spin_manifest_version = 2\n[application]\nname = "tls"\n[[trigger.http]]\nroute = "/outbound"\ncomponent = "outbound"\n[component.outbound]\nsource = "outbound.wasm"\nallowed_outbound_hosts = ["https://127.0.0.1:%s"]\n' \
	"$PT" >"$T/app-tls/spin.toml"
"$SPINKUBE_SOURCE_DIR/hack/push-image" --oci-tar "$T/tls.tar" "$T/app-tls" spinkube-c/shared-tls:test >/dev/null 2>&1 &&
	ctr images import "$T/tls.tar" >/dev/null 2>&1 || bail "the TLS app's image"
PC=$(free_port) PN=$(free_port)
ok "an app whose container binds a CA bundle in runs" \
	ctr run -d --runtime io.containerd.spin.v2 --net-host --env "SPIN_HTTP_LISTEN_ADDR=127.0.0.1:$PC" \
	--mount "type=bind,src=$T/ca.pem,dst=/etc/ssl/certs/ca-certificates.crt,options=rbind:ro" \
	docker.io/spinkube-c/shared-tls:test t1
ok "and one without" ctr run -d --runtime io.containerd.spin.v2 --net-host --env "SPIN_HTTP_LISTEN_ADDR=127.0.0.1:$PN" \
	docker.io/spinkube-c/shared-tls:test t2
wait_for 20 curl -s --noproxy '*' -m 2 -o /dev/null "http://127.0.0.1:$PC/outbound"
wait_for 20 curl -s --noproxy '*' -m 2 -o /dev/null "http://127.0.0.1:$PN/outbound"
url="https://127.0.0.1:$PT/"
is "$(curl -s --noproxy '*' -m 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PC/outbound?url=$url")" 200 \
	"its guest reaches the server whose certificate that CA signed"
is "$(curl -s --noproxy '*' -m 10 "http://127.0.0.1:$PN/outbound?url=$url")" "TLS-certificate-error" \
	"the other app's guest, in the same daemon, gets a TLS certificate error"
for t in t1 t2; do ctr tasks kill -s SIGKILL "$t" >/dev/null 2>&1; done
for t in t1 t2; do wait_for 10 stopped "$t"; ctr tasks delete "$t" >/dev/null 2>&1; ctr containers delete "$t" >/dev/null 2>&1; done

tap_done
