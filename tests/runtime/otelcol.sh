#!/usr/bin/env bash
# The OTLP test harness (tests/lib/otelcol.sh) against the real collector of
# hack/bootstrap --only otelcol, with curl only: one OTLP/JSON export of each
# signal (a span, a Sum metric, a log record) is answered 200 and lands in its
# jsonl file with its name, value or body and its service.name, and so does a
# log record in protobuf; a malformed body is answered 400 and writes
# nothing; the collector listens on the receiver's port only and exits on
# TERM. Skipped when the collector is not built. Only loopback traffic.
set -uo pipefail
. "$SPINKUBE_SOURCE_DIR/tests/lib/tap.sh"
. "$SPINKUBE_SOURCE_DIR/tests/lib/otelcol.sh"

if reason=$(otelcol_missing); then echo "1..0 # SKIP $reason"; exit 0; fi
T=$(mktemp -d "${TMPDIR:-/tmp}/otelcol-test.XXXXXX")
cleanup() {
	otelcol_stop
	rm -rf "$T"
}
trap cleanup EXIT

otelcol_start "$T/otel" 2>"$T/start.err" || { sed 's/^/# /' "$T/start.err"; bail "the collector did not start"; }
diag "collector $OTELCOL_PID at $OTELCOL_ENDPOINT"

# post SIGNAL BODY: POST BODY as OTLP/JSON to /v1/SIGNAL; prints the status.
post() {
	curl -sS --noproxy '*' --max-time 10 -o "$T/post.out" -w '%{http_code}' \
		-H 'Content-Type: application/json' --data-binary "$2" "$OTELCOL_ENDPOINT/v1/$1"
}
NOW=$(date +%s%N)
RESOURCE='{"attributes":[{"key":"service.name","value":{"stringValue":"otelcol-smoke"}}]}'
# span NAME: an export request with one span called NAME.
span() {
	printf '{"resourceSpans":[{"resource":%s,"scopeSpans":[{"scope":{"name":"smoke"},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"%s","kind":2,"startTimeUnixNano":"%s","endTimeUnixNano":"%s"}]}]}]}' \
		"$RESOURCE" "$1" "$NOW" "$NOW"
}

# --- traces ---
is "$(post traces "$(span smoke-span)")" 200 "a trace export is answered 200"
ok "the span is in traces.jsonl with its service.name" otelcol_wait_for "$OTELCOL_TRACES" \
	'[.[].resourceSpans[] | select(.resource.attributes[] | .key == "service.name" and .value.stringValue == "otelcol-smoke")
	  | .scopeSpans[].spans[] | select(.name == "smoke-span" and .traceId == "5b8efff798038103d269b633813fc60c")] | length == 1'

# --- metrics: a monotonic cumulative Sum ---
is "$(post metrics "{\"resourceMetrics\":[{\"resource\":$RESOURCE,\"scopeMetrics\":[{\"metrics\":[{\"name\":\"smoke.requests\",\"unit\":\"1\",\"sum\":{\"aggregationTemporality\":2,\"isMonotonic\":true,\"dataPoints\":[{\"asInt\":\"3\",\"startTimeUnixNano\":\"$NOW\",\"timeUnixNano\":\"$NOW\"}]}}]}]}]}")" 200 \
	"a metric export is answered 200"
ok "the Sum is in metrics.jsonl with its value" otelcol_wait_for "$OTELCOL_METRICS" \
	'[.[].resourceMetrics[] | select(.resource.attributes[] | .value.stringValue == "otelcol-smoke")
	  | .scopeMetrics[].metrics[] | select(.name == "smoke.requests" and .sum.isMonotonic == true)
	  | .sum.dataPoints[] | select(.asInt == "3")] | length == 1'

# --- logs ---
is "$(post logs "{\"resourceLogs\":[{\"resource\":$RESOURCE,\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":\"$NOW\",\"severityNumber\":9,\"severityText\":\"INFO\",\"body\":{\"stringValue\":\"smoke log line\"}}]}]}]}")" 200 \
	"a log export is answered 200"
ok "the log record is in logs.jsonl with its body" otelcol_wait_for "$OTELCOL_LOGS" \
	'[.[].resourceLogs[] | select(.resource.attributes[] | .value.stringValue == "otelcol-smoke")
	  | .scopeLogs[].logRecords[] | select(.body.stringValue == "smoke log line" and .severityText == "INFO")] | length == 1'

# The same in protobuf, what the C exporters send by default: an
# ExportLogsServiceRequest with one record whose body is "proto log", encoded
# by hand (resource_logs 1 > scope_logs 2 > log_records 2 > body 5 >
# string_value 1).
printf '\x0a\x11\x12\x0f\x12\x0d\x2a\x0b\x0a\x09proto log' >"$T/log.pb"
is "$(curl -sS --noproxy '*' --max-time 10 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/x-protobuf' \
	--data-binary @"$T/log.pb" "$OTELCOL_ENDPOINT/v1/logs")" 200 "a protobuf log export is answered 200"
ok "the protobuf log record is in logs.jsonl with its body" otelcol_wait_for "$OTELCOL_LOGS" \
	'[.[].resourceLogs[].scopeLogs[].logRecords[] | select(.body.stringValue == "proto log")] | length == 1'

# --- a malformed body: 400, and nothing in the file. A good span after it is
# the marker: once it is there, the file holds exactly the two good exports.
is "$(post traces '{"resourceSpans":[{"scopeSpans":')" 400 "a malformed trace body is answered 400"
is "$(post traces "$(span after-bad)")" 200 "a trace export after it is answered 200"
ok "the span after it is in traces.jsonl" otelcol_wait_for "$OTELCOL_TRACES" \
	'[.[].resourceSpans[].scopeSpans[].spans[] | select(.name == "after-bad")] | length == 1'
is "$(wc -l <"$OTELCOL_TRACES")" 2 "the malformed body wrote nothing to traces.jsonl"

# --- the collector itself: the receiver's port is its only listener ---
is "$(ss -Hltnp | grep -c "pid=$OTELCOL_PID,")" 1 "the collector listens on one port only (its own telemetry is off)"
otelcol_stop
is "$?" 0 "the collector exits on TERM"
is "$(grep -ciE 'error' "$T/otel/otelcol.log")" 0 "the collector logged no error"
sed 's/^/#   log: /' "$T/otel/otelcol.log"

tap_done
