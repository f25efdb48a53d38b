# PostgreSQL over TLS: sourced by tests/runtime/outbound-pg.sh (its server with
# ssl=on, the CAs in $T, spin-bridge started with SSL_CERT_FILE=$T/test-ca.pem),
# not a test of its own. Leaves a spin-bridge running (BRIDGE_PID, PORT).
S="addr=postgres://spin@127.0.0.1:$PGPORT/postgres"
SSLQ="SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
is "$(q "$S?sslmode=verify-full" "$SSLQ" /pg4)" "200 columns ssl:boolean / row bool:1" \
	"sslmode=verify-full: encrypted, the server's certificate checked against SSL_CERT_FILE's CA"
is "$(q "$S?sslmode=require" "$SSLQ")" "200 columns ssl:0 / row bool:1" "sslmode=require (@2): encrypted"
is "$(q "$S?sslmode=disable" "$SSLQ" /pg3)" "200 columns ssl:boolean / row bool:0" "sslmode=disable: not"
like "$(q "$S?sslmode=verify-full%26sslrootcert=/etc/passwd" "$SSLQ" /pg4)" \
	'^500 connection-failed: the address sets sslrootcert, a file on the node' "an sslrootcert in the address is refused"
stop_bridge
SSL_CERT_FILE=$T/other-ca.pem start_bridge pg-other-ca "$T/app"
is $? 0 "spin-bridge again, SSL_CERT_FILE another CA"
like "$(q "$S?sslmode=verify-full" "$SSLQ" /pg4)" \
	'^500 connection-failed: postgres://127.0.0.1:[0-9]+: .*certificate verify failed' \
	"verify-full with the wrong CA: connection-failed naming the certificate check"
is "$(q "$S?sslmode=require" "$SSLQ" /pg4)" "200 columns ssl:boolean / row bool:1" "... while require still connects, unverified"
stop_bridge
SSL_CERT_FILE=$T/other-ca.pem SPIN_OUTBOUND_CA_FILE=$T/test-ca.pem start_bridge pg-own-ca "$T/app"
is $? 0 "spin-bridge again, SPIN_OUTBOUND_CA_FILE the CA and SSL_CERT_FILE another"
is "$(q "$S?sslmode=verify-full" "$SSLQ" /pg4)" "200 columns ssl:boolean / row bool:1" \
	"... verify-full checks against the app's bundle first"
