# shellcheck shell=bash disable=SC2034
# SC2034: the OTELCOL_* variables are for the scripts that source this.
# A real OpenTelemetry Collector for the tests (tests/tools/otelcol, built by
# hack/bootstrap --only otelcol): the upstream otlp receiver on a loopback
# port, OTLP/HTTP only (protobuf and JSON), and one pipeline per signal into
# contrib's file exporter, one OTLP JSON export request per line. Source it;
# it sources hack/lib.sh for otelcol_bin. It sets no trap: call otelcol_stop
# from the test's own cleanup.
#
#   otelcol_missing             prints why the collector cannot run here and
#                               returns 0, or returns 1 when it can
#   otelcol_start DIR           start it with its files in DIR; exports
#                               OTELCOL_ENDPOINT (http://127.0.0.1:PORT),
#                               OTELCOL_PID, and sets OTELCOL_TRACES,
#                               OTELCOL_METRICS, OTELCOL_LOGS (DIR/*.jsonl)
#   otelcol_stop                TERM, up to 10 s, then KILL
#   otelcol_wait_for FILE FILTER [TIMEOUT_S]
#                               until `jq -e -s FILTER` holds on FILE
#
# The collector's own telemetry is quiet: its metrics and traces are off (no
# listener of its own; the receiver's port is the only one it opens) and it
# logs warnings and errors only, to DIR/otelcol.log. OTELCOL_LOG_LEVEL=debug
# or info says more; OTELCOL_DEBUG=1 adds the debug exporter (every item,
# detailed) to each pipeline, into the same log. OTELCOL_ADDR is the address
# the receiver binds (default 127.0.0.1): the real-node e2e test gives the
# node's bridge address, so that pods reach it; the caller checks first that
# the address is this machine's own.

if ! declare -F otelcol_bin >/dev/null; then
	# shellcheck source=hack/lib.sh
	. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/hack/lib.sh"
fi

OTELCOL_PID=
OTELCOL_ENDPOINT=
OTELCOL_TRACES=
OTELCOL_METRICS=
OTELCOL_LOGS=

otelcol_missing() {
	local bin; bin=$(otelcol_bin)
	if [ ! -x "$bin" ]; then
		echo "no OpenTelemetry Collector at $bin (hack/bootstrap --only otelcol)"; return 0
	fi
	local t
	for t in curl jq ss; do
		command -v "$t" >/dev/null || { echo "$t is not installed (hack/bootstrap --only debs)"; return 0; }
	done
	return 1
}

# otelcol_config DIR: the collector's config on stdout. The receiver takes
# port 0, so the kernel picks a free one and no other test can race for it;
# otelcol_start reads which one it got.
otelcol_config() {
	local dir=$1 s exporters debug=
	if [ "${OTELCOL_DEBUG:-0}" = 1 ]; then
		debug=$'  debug:\n    verbosity: detailed\n'
	fi
	cat <<-EOF
	receivers:
	  otlp:
	    protocols:
	      http:
	        endpoint: ${OTELCOL_ADDR:-127.0.0.1}:0
	exporters:
	EOF
	printf '%s' "$debug"
	for s in traces metrics logs; do
		# flush_interval: an export is in the file a tenth of a second after
		# the receiver answered, not the default second.
		printf '  file/%s:\n    path: "%s/%s.jsonl"\n    format: json\n    flush_interval: 100ms\n' "$s" "$dir" "$s"
	done
	cat <<-EOF
	service:
	  telemetry:
	    logs:
	      level: ${OTELCOL_LOG_LEVEL:-warn}
	    metrics:
	      level: none
	  pipelines:
	EOF
	for s in traces metrics logs; do
		exporters="file/$s"
		[ -z "$debug" ] || exporters+=", debug"
		printf '    %s:\n      receivers: [otlp]\n      exporters: [%s]\n' "$s" "$exporters"
	done
}

# otelcol_port PID: the TCP port PID listens on, once it listens.
otelcol_port() {
	ss -Hltnp 2>/dev/null | awk -v p="pid=$1," 'index($0, p) { n = split($4, a, ":"); print a[n]; exit }'
}

# otelcol_start DIR: start the collector (see the top of the file). Returns 2
# when it cannot run here (otelcol_missing says why, on stderr), 1 when it
# exits or does not answer within OTELCOL_START_TRIES tenths of a second
# (default 100; the end of DIR/otelcol.log is on stderr).
otelcol_start() {
	local dir=$1 reason bin port='' i
	if reason=$(otelcol_missing); then echo "otelcol: $reason" >&2; return 2; fi
	[ -z "$OTELCOL_PID" ] || { echo "otelcol: already running (pid $OTELCOL_PID)" >&2; return 1; }
	case $dir in
	*'"'* | *\\* | *$'\n'*) echo "otelcol: folder '$dir' has a quote, backslash or newline" >&2; return 1 ;;
	esac
	mkdir -p "$dir" && dir=$(cd "$dir" && pwd) || return 1
	bin=$(otelcol_bin)
	otelcol_config "$dir" >"$dir/otelcol.yaml"
	"$bin" --config "$dir/otelcol.yaml" >"$dir/otelcol.log" 2>&1 &
	OTELCOL_PID=$!
	for i in $(seq 1 "${OTELCOL_START_TRIES:-100}"); do
		if ! kill -0 "$OTELCOL_PID" 2>/dev/null; then
			wait "$OTELCOL_PID" 2>/dev/null
			echo "otelcol: exited at start; last lines of $dir/otelcol.log:" >&2
			tail -n 20 "$dir/otelcol.log" | sed 's/^/  | /' >&2
			OTELCOL_PID=
			return 1
		fi
		[ -n "$port" ] || port=$(otelcol_port "$OTELCOL_PID")
		# Any HTTP answer (405 to a GET) says the receiver serves.
		if [ -n "$port" ] && [ "$(curl -s --noproxy '*' --max-time 1 -o /dev/null -w '%{http_code}' \
			"http://${OTELCOL_ADDR:-127.0.0.1}:$port/v1/traces")" != 000 ]; then
			export OTELCOL_ENDPOINT=http://${OTELCOL_ADDR:-127.0.0.1}:$port OTELCOL_PID
			OTELCOL_TRACES=$dir/traces.jsonl
			OTELCOL_METRICS=$dir/metrics.jsonl
			OTELCOL_LOGS=$dir/logs.jsonl
			return 0
		fi
		sleep 0.1
	done
	echo "otelcol: not serving after ${OTELCOL_START_TRIES:-100} tries; last lines of $dir/otelcol.log:" >&2
	tail -n 20 "$dir/otelcol.log" | sed 's/^/  | /' >&2
	otelcol_stop
	return 1
}

# otelcol_stop: TERM (the file exporters flush what they hold), up to 10 s
# for the collector to exit, then KILL. Returns 0 when it exited on TERM (or
# was not running), 1 when it had to be killed.
otelcol_stop() {
	[ -n "$OTELCOL_PID" ] || return 0
	local pid=$OTELCOL_PID i rc=0
	OTELCOL_PID='' OTELCOL_ENDPOINT=''
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		rc=1
	fi
	wait "$pid" 2>/dev/null
	return $rc
}

# otelcol_wait_for FILE FILTER [TIMEOUT_S]: poll, every tenth of a second for
# up to TIMEOUT_S seconds (default 10), until `jq -e -s FILTER` holds on
# FILE: FILTER sees an array of the export requests written so far (each a
# {"resourceSpans": ...}, {"resourceMetrics": ...} or {"resourceLogs": ...}).
# A half-written last line makes jq fail, so it is simply tried again.
#   otelcol_wait_for "$OTELCOL_TRACES" '[.[].resourceSpans[].scopeSpans[].spans[] | select(.name == "GET /")] | length >= 1'
otelcol_wait_for() {
	local file=$1 filter=$2 tries=$((${3:-10} * 10))
	for _ in $(seq 1 "$tries"); do
		[ -s "$file" ] && jq -e -s "$filter" "$file" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "otelcol: '$filter' did not hold on $file within ${3:-10} s" >&2
	return 1
}
