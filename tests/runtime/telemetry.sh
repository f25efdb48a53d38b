#!/usr/bin/env bash
# spin-bridge's OpenTelemetry export (shim-bridge/telemetry/) against the real
# collector (tests/tools/otelcol, tests/lib/otelcol.sh), which decodes what we
# send and writes it out as OTLP JSON. Checked, over OTLP/HTTP protobuf (the
# default) and JSON: the server span of a request, its component span and the
# client span of an outbound call form one trace, the parent of which is the
# incoming W3C traceparent, and the upstream receives the client span's
# traceparent; an unsampled parent exports nothing but still propagates; a
# failing component marks its spans failed and its output lines arrive as
# log records of that trace; spin.request_count and
# http.server.request.duration count the requests; the resource carries
# OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES. A collector that is down
# costs no request and is one warning line; unusable settings (grpc) are one
# warning line; OTEL_SDK_DISABLED and no endpoint export nothing. Only
# loopback traffic.
set -uo pipefail
. "$SPINKUBE_SOURCE_DIR/tests/lib/tap.sh"
. "$SPINKUBE_SOURCE_DIR/tests/runtime/lib.sh"
. "$SPINKUBE_SOURCE_DIR/tests/lib/otelcol.sh"

if reason=$(otelcol_missing); then echo "1..0 # SKIP $reason"; exit 0; fi
build_guests

UP_PID=
cleanup() {
	[ -z "$UP_PID" ] || kill "$UP_PID" 2>/dev/null
	otelcol_stop >/dev/null 2>&1
	cleanup_bridge
}
trap cleanup EXIT

# The upstream of the outbound component: answers every GET with the
# traceparent header it received ("none" without one).
cat >"$T/up.py" <<'EOT'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b = ("traceparent=" + self.headers.get("traceparent", "none")).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
EOT
python3 "$T/up.py" >"$T/up.port" 2>"$T/up.log" &
UP_PID=$!
for _ in $(seq 1 50); do [ -s "$T/up.port" ] && break; sleep 0.1; done
UP=$(head -n1 "$T/up.port")
[ -n "$UP" ] || bail "the upstream did not start"

mkdir -p "$T/app"
cp "$GUESTS/spin/outbound.wasm" "$GUESTS/components/trap.wasm" "$GUESTS/wasi-http/hello.wasm" "$T/app/"
cat >"$T/app/spin.toml" <<EOT
spin_manifest_version = 2
[application]
name = "telemetry-test"
[[trigger.http]]
route = "/outbound"
component = "outbound"
[[trigger.http]]
route = "/trap"
component = "trap"
[[trigger.http]]
route = "/hello/..."
component = "hello"
[component.outbound]
source = "outbound.wasm"
allowed_outbound_hosts = ["http://127.0.0.1:$UP"]
[component.trap]
source = "trap.wasm"
[component.hello]
source = "hello.wasm"
EOT

# spans: the spans of every export so far, one JSON object per line.
spans() { jq -c '.resourceSpans[].scopeSpans[].spans[]' "$OTELCOL_TRACES" 2>/dev/null; }
# span_where FILTER: the first span that FILTER selects.
span_where() { spans | jq -c "select($1)" | head -n1; }
attr() { jq -r --arg k "$2" '.attributes[] | select(.key == $k) | .value | (.stringValue // .intValue)' <<<"$1"; }
field() { jq -r "$2" <<<"$1"; }

otelcol_start "$T/col" || bail "the collector did not start"
export OTEL_BSP_SCHEDULE_DELAY=100 OTEL_BLRP_SCHEDULE_DELAY=100 OTEL_METRIC_EXPORT_INTERVAL=300

# ---- OTLP/HTTP protobuf, the default
PARENT_TRACE=0af7651916cd43dd8448eb211c80319c
PARENT_SPAN=b7ad6b7169203331
OTEL_EXPORTER_OTLP_ENDPOINT=$OTELCOL_ENDPOINT OTEL_SERVICE_NAME=tel-test \
	OTEL_RESOURCE_ATTRIBUTES="deployment.environment=test,team=a%20b" start_bridge proto "$T/app"
is "$?" 0 "spin-bridge starts with OTEL_EXPORTER_OTLP_ENDPOINT set"
ok "... and says which signals it exports" grep -q 'msg="telemetry on" signals=traces,metrics,logs service=tel-test' "$BRIDGE_LOG"

BODY=$(get "/outbound?url=http://127.0.0.1:$UP/x" -H "traceparent: 00-$PARENT_TRACE-$PARENT_SPAN-01")
SENT=${BODY#traceparent=}
ok "the upstream receives a traceparent of the incoming trace ($SENT)" grep -qE "^00-$PARENT_TRACE-[0-9a-f]{16}-01$" <<<"$SENT"

otelcol_wait_for "$OTELCOL_TRACES" "[.[].resourceSpans[].scopeSpans[].spans[] | select(.traceId == \"$PARENT_TRACE\")] | length >= 3" 15
is "$?" 0 "three spans of that trace reach the collector"
SERVER=$(span_where ".traceId == \"$PARENT_TRACE\" and .kind == 2")
INNER=$(span_where ".traceId == \"$PARENT_TRACE\" and .kind == 1")
CLIENT=$(span_where ".traceId == \"$PARENT_TRACE\" and .kind == 3")
is "$(field "$SERVER" .name),$(field "$SERVER" .parentSpanId)" "GET /outbound,$PARENT_SPAN" \
	"the server span is named by method and route, its parent the incoming span"
is "$(attr "$SERVER" http.request.method),$(attr "$SERVER" http.route),$(attr "$SERVER" url.path),$(attr "$SERVER" http.response.status_code)" \
	"GET,/outbound,/outbound,200" "... with the request's method, route, path and status"
is "$(field "$INNER" .name),$(field "$INNER" .parentSpanId)" "execute_wasm_component outbound,$(field "$SERVER" .spanId)" \
	"the component's span is the server span's child"
is "$(field "$CLIENT" .name),$(field "$CLIENT" .parentSpanId)" "GET,$(field "$INNER" .spanId)" \
	"the outbound request's client span is the component span's child"
is "$(field "$CLIENT" .spanId)" "$(cut -d- -f3 <<<"$SENT")" "... and is the span the upstream was told of"
is "$(attr "$CLIENT" url.full),$(attr "$CLIENT" http.response.status_code)" "http://127.0.0.1:$UP/x,200" \
	"... with the URL and the upstream's status"
ok "every span has a start and an end time, the end not before the start" \
	jq -se '[.[] | select((.endTimeUnixNano | tonumber) < (.startTimeUnixNano | tonumber) or (.startTimeUnixNano | tonumber) == 0)] | length == 0' <<<"$(spans)"
RES=$(jq -c '.resourceSpans[0].resource' "$OTELCOL_TRACES" | head -n1)
is "$(attr "$RES" service.name),$(attr "$RES" deployment.environment),$(attr "$RES" team),$(attr "$RES" telemetry.sdk.name)" \
	"tel-test,test,a b,spinkube-c" "the resource: OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES (percent-decoded), the SDK"

# a request without traceparent starts a trace of its own
get /hello/a >/dev/null
otelcol_wait_for "$OTELCOL_TRACES" '[.[].resourceSpans[].scopeSpans[].spans[] | select(.name == "GET /hello/...")] | length >= 1' 15
HELLO=$(span_where '.name == "GET /hello/..."')
ok "a request without traceparent starts its own trace, the server span its root" \
	test "$(field "$HELLO" .traceId)" != "$PARENT_TRACE" -a "$(field "$HELLO" '.parentSpanId // ""')" = ""

# an unsampled parent: nothing is exported, the decision is passed on
UNSAMPLED=1bf7651916cd43dd8448eb211c80319c
BODY=$(get "/outbound?url=http://127.0.0.1:$UP/y" -H "traceparent: 00-$UNSAMPLED-$PARENT_SPAN-00")
ok "an unsampled incoming trace is passed on unsampled (${BODY#traceparent=})" grep -qE "^traceparent=00-$UNSAMPLED-[0-9a-f]{16}-00$" <<<"$BODY"
BODY=$(get "/outbound?url=http://127.0.0.1:$UP/z" -H "traceparent: 00-not-a-trace")
ok "a malformed traceparent is ignored: a new sampled trace goes on" grep -qE "^traceparent=00-[0-9a-f]{32}-[0-9a-f]{16}-01$" <<<"$BODY"

# a failing component: its spans fail, its output lines are log records of its trace
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/trap")" 500 "a trapping component answers 500"
otelcol_wait_for "$OTELCOL_TRACES" '[.[].resourceSpans[].scopeSpans[].spans[] | select(.name == "GET /trap")] | length >= 1' 15
TRAP=$(span_where '.name == "GET /trap"')
is "$(field "$TRAP" '.status.code'),$(attr "$TRAP" http.response.status_code)" "2,500" "... its server span has status error and code 500"
is "$(span_where '.name == "execute_wasm_component trap"' | jq -r .status.code)" 2 "... and so has its component span"
otelcol_wait_for "$OTELCOL_LOGS" '[.[].resourceLogs[].scopeLogs[].logRecords[] | select(.body.stringValue == "component trap: to stderr")] | length >= 1' 15
is "$?" 0 "the guest's stderr line arrives as a log record"
LOGS=$(jq -c '.resourceLogs[].scopeLogs[].logRecords[]' "$OTELCOL_LOGS")
OUT=$(jq -c 'select(.body.stringValue == "component trap: to stdout")' <<<"$LOGS" | head -n1)
ERR=$(jq -c 'select(.body.stringValue == "component trap: to stderr")' <<<"$LOGS" | head -n1)
is "$(field "$OUT" .traceId),$(field "$OUT" .spanId)" "$(field "$TRAP" .traceId),$(span_where '.name == "execute_wasm_component trap"' | jq -r .spanId)" \
	"... the stdout line too, in the request's trace and the component's span"
is "$(attr "$ERR" component_id),$(attr "$ERR" log.iostream),$(field "$ERR" .severityText),$(attr "$OUT" log.iostream),$(field "$OUT" .severityNumber)" \
	"trap,stderr,WARN,stdout,9" "... with the component, the stream and a severity"

# metrics: cumulative counts by component and status
otelcol_wait_for "$OTELCOL_METRICS" '[.[-1].resourceMetrics[].scopeMetrics[].metrics[] | select(.name == "spin.request_count") | .sum.dataPoints[]
	| select(any(.attributes[]; .key == "component_id" and .value.stringValue == "trap"))] | length >= 1' 15
LAST=$(tail -n1 "$OTELCOL_METRICS")
count_of() { jq -r --arg c "$1" --arg s "$2" '.resourceMetrics[].scopeMetrics[].metrics[] | select(.name == "spin.request_count") | .sum
	| select(.isMonotonic and .aggregationTemporality == 2) | .dataPoints[]
	| select(any(.attributes[]; .key == "component_id" and .value.stringValue == $c) and any(.attributes[]; .key == "status" and .value.intValue == $s))
	| .asInt' <<<"$LAST"; }
is "$(count_of outbound 200),$(count_of trap 500),$(count_of hello 200)" "3,1,1" \
	"spin.request_count: a cumulative counter by component and status (3 outbound, 1 trap, 1 hello)"
is "$(jq -r '[.resourceMetrics[].scopeMetrics[].metrics[] | select(.name == "http.server.request.duration" and .unit == "s") | .histogram.dataPoints[]
	| select(any(.attributes[]; .key == "http.route" and .value.stringValue == "/outbound")) | .count] | first' <<<"$LAST")" 3 \
	"http.server.request.duration: a histogram in seconds by route"
stop_bridge
is "$BRIDGE_RC" 0 "spin-bridge stops cleanly with telemetry on"
ok "... and logged no telemetry warning" sh -c "! grep -q 'level=warn msg=\"telemetry' '$BRIDGE_LOG'"

# ---- OTLP/HTTP JSON, per-signal endpoint
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=$OTELCOL_ENDPOINT/v1/traces OTEL_EXPORTER_OTLP_PROTOCOL=http/json \
	OTEL_SERVICE_NAME=tel-json start_bridge json "$T/app"
is "$?" 0 "spin-bridge starts with OTEL_EXPORTER_OTLP_TRACES_ENDPOINT and http/json"
ok "... traces only" grep -q 'msg="telemetry on" signals=traces service=tel-json' "$BRIDGE_LOG"
get /hello/json >/dev/null
otelcol_wait_for "$OTELCOL_TRACES" '[.[].resourceSpans[] | select(any(.resource.attributes[]; .value.stringValue == "tel-json"))
	| .scopeSpans[].spans[] | select(.name == "GET /hello/...")] | length >= 1' 15
is "$?" 0 "the collector takes the JSON encoding"
stop_bridge

# ---- a collector that is down
DOWN=$(free_port)
OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$DOWN start_bridge down "$T/app"
good=0
for _ in $(seq 1 20); do [ "$(get /hello/d)" = "hello from wasi:http" ] && good=$((good + 1)); done
is "$good" 20 "with the collector down, all 20 requests are answered"
sleep 0.5
stop_bridge
is "$BRIDGE_RC" 0 "... spin-bridge stops cleanly"
is "$(grep -c 'level=warn msg="telemetry export failed" signal=traces' "$BRIDGE_LOG")" 1 "... and says once that the traces cannot be sent"
ok "... naming the URL" grep -q "msg=\"telemetry export failed\" signal=traces url=\"http://127.0.0.1:$DOWN/v1/traces\"" "$BRIDGE_LOG"

# ---- settings that cannot be used, and telemetry off
OTEL_EXPORTER_OTLP_ENDPOINT=$OTELCOL_ENDPOINT OTEL_EXPORTER_OTLP_METRICS_PROTOCOL=grpc \
	OTEL_LOGS_EXPORTER=none OTEL_BSP_MAX_QUEUE_SIZE=lots start_bridge bad "$T/app"
is "$?" 0 "unusable settings do not stop the app"
ok "... grpc is one warning naming the setting and the fix" \
	grep -q 'level=warn msg="telemetry setting ignored" name=OTEL_EXPORTER_OTLP_METRICS_PROTOCOL value="grpc" reason="OTLP over gRPC is not supported: use http/protobuf' "$BRIDGE_LOG"
ok "... a bad number is one warning, the default used" \
	grep -q 'msg="telemetry setting ignored" name=OTEL_BSP_MAX_QUEUE_SIZE value="lots" reason="want a whole number from 1 to 65536; using 2048"' "$BRIDGE_LOG"
ok "... the other signals go on (OTEL_LOGS_EXPORTER=none leaves traces)" grep -q 'msg="telemetry on" signals=traces service=telemetry-test' "$BRIDGE_LOG"
stop_bridge

OTEL_EXPORTER_OTLP_ENDPOINT=$OTELCOL_ENDPOINT OTEL_SDK_DISABLED=true start_bridge disabled "$T/app"
get /hello/off >/dev/null
stop_bridge
ok "OTEL_SDK_DISABLED=true: telemetry is off" sh -c "! grep -q 'msg=\"telemetry' '$BRIDGE_LOG'"
start_bridge plain "$T/app"
BODY=$(get "/outbound?url=http://127.0.0.1:$UP/x")
stop_bridge
is "$BODY" "traceparent=none" "without an endpoint nothing is traced and no traceparent is sent"
ok "... nor is telemetry mentioned" sh -c "! grep -q 'msg=\"telemetry' '$BRIDGE_LOG'"
tap_done
