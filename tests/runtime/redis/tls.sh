# Redis over TLS (rediss://): sourced by tests/runtime/kv-redis.sh (its
# helpers, $PASS, the guests), not a test of its own. A second redis-server
# listens only on a TLS port, with a certificate for 127.0.0.1 signed by a CA
# made here with openssl; spin-bridge serves a key-value store and outbound
# Redis on it, first with SSL_CERT_FILE that CA, then another CA.
start_redis_tls || bail "redis-server with TLS did not start: $(tail -n 5 "$T/redis-tls/log" 2>/dev/null)"

mkdir -p "$T/tls-app"
cp "$GUEST_DIR/kv.wasm" "$GUEST_DIR/redis.wasm" "$T/tls-app/"
cat >"$T/tls-app/spin.toml" <<EOF2
spin_manifest_version = 2
[application]
name = "redis-tls"
[[trigger.http]]
route = "/kv"
component = "kv"
[[trigger.http]]
route = "/rds"
component = "rds"
[component.kv]
source = "kv.wasm"
key_value_stores = ["default", "byname"]
[component.rds]
source = "redis.wasm"
allowed_outbound_hosts = ["rediss://127.0.0.1:$TLS_PORT", "rediss://localhost:$TLS_PORT", "redis://127.0.0.1:$TLS_PORT", "rediss://127.0.0.1:$REDIS_PORT"]
EOF2
cat >"$T/tls-rc.toml" <<EOF2
[key_value_store.default]
type = "redis"
url = "rediss://:$PASS@127.0.0.1:$TLS_PORT/2"
[key_value_store.byname]
type = "redis"
url = "rediss://:$PASS@localhost:$TLS_PORT"
EOF2
SSL_CERT_FILE=$T/test-ca.pem start_bridge tls "$T/tls-app" --runtime-config-file "$T/tls-rc.toml"
is $? 0 "a rediss:// key-value store: spin-bridge starts"
fetch '/kv?key=t1' -X PUT --data-binary 'over tls'
is "$(answer) $(tcli -n 2 GET t1)" "200 ok over tls" "... a value set through TLS is in the server's database 2"
is "$(get '/kv?key=t1')" "over tls" "... and read back"
TA="addr=rediss://:$PASS@127.0.0.1:$TLS_PORT/4"
fetch "/rds?$TA&op=set&key=o1" -X POST --data-binary 'out tls'
is "$(answer) $(tcli -n 4 GET o1)" "200 ok out tls" "outbound rediss://: set"
is "$(get "/rds?$TA&op=execute&cmd=GET&args=b:o1")" "binary:out tls" "... execute"
fetch "/kv?key=t1&store=byname"
like "$(answer)" '^500 other: key-value store "byname" \(rediss://localhost:[0-9]+/0\): TLS: the server.s certificate is not trusted \(hostname mismatch\)' \
	"a certificate for 127.0.0.1 reached as localhost: refused, hostname mismatch"
fetch "/rds?addr=redis://:$PASS@127.0.0.1:$TLS_PORT&op=get&key=o1"
like "$(answer)" '^500 other: outbound redis \(redis://127\.0\.0\.1:[0-9]+/0\): .*(closed|reset)' \
	"redis:// (plain) to the TLS port: other(...), the server closes"
fetch "/rds?addr=rediss://:$PASS@127.0.0.1:$REDIS_PORT&op=get&key=o1"
like "$(answer)" '^500 other: outbound redis \(rediss://127\.0\.0\.1:[0-9]+/0\): TLS handshake: .*is the server speaking TLS on this port' \
	"rediss:// to a plain port: other(...) asking whether it speaks TLS"
stop_bridge

SSL_CERT_FILE=$T/other-ca.pem start_bridge tls-other "$T/tls-app" --runtime-config-file "$T/tls-rc.toml"
is $? 0 "spin-bridge again, SSL_CERT_FILE another CA"
fetch '/kv?key=t1'
like "$(answer)" '^500 other: key-value store "default" \(rediss://127\.0\.0\.1:[0-9]+/2\): TLS: the server.s certificate is not trusted \((self-signed|unable to get local issuer)[^)]*\): its CA must be in SSL_CERT_FILE' \
	"the wrong CA: the key-value store answers other(...) naming the certificate check"
fetch "/rds?$TA&op=get&key=o1"
like "$(answer)" '^500 other: outbound redis \(rediss://.*TLS: the server.s certificate is not trusted' "... and outbound rediss:// too"
grep -q "$PASS" "$T/b"
is $? 1 "... no message shows the password"
stop_bridge

# The app's own CA bundle (SPIN_OUTBOUND_CA_FILE; the pod's in the shim's
# shared mode) comes before OpenSSL's SSL_CERT_FILE.
SSL_CERT_FILE=$T/other-ca.pem SPIN_OUTBOUND_CA_FILE=$T/test-ca.pem start_bridge tls-own "$T/tls-app" --runtime-config-file "$T/tls-rc.toml"
is $? 0 "spin-bridge again, SPIN_OUTBOUND_CA_FILE the CA and SSL_CERT_FILE another"
is "$(get '/kv?key=t1')" "over tls" "... the key-value store verifies against the app's bundle"
is "$(get "/rds?$TA&op=get&key=o1")" "out tls" "... and outbound rediss:// too"
stop_bridge
SPIN_OUTBOUND_CA_FILE=$T/other-ca.pem start_bridge tls-own-other "$T/tls-app" --runtime-config-file "$T/tls-rc.toml"
fetch '/kv?key=t1'
like "$(answer)" "^500 other: key-value store \"default\" .*not trusted \\(.*\\): its CA must be in $T/other-ca.pem" \
	"SPIN_OUTBOUND_CA_FILE another CA: refused, naming that bundle"
stop_bridge
stop_redis_tls
