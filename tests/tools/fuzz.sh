#!/usr/bin/env bash
# Run one libFuzzer target briefly from its seed corpus and report in TAP.
#   tests/tools/fuzz.sh FUZZER CORPUS_DIR
# SPINKUBE_FUZZ_SECONDS sets the time (default 12). New inputs go to a
# scratch copy of the corpus; a crash leaves its reproducer in the build log.
set -u
fuzzer=$1 seeds=$2
secs=${SPINKUBE_FUZZ_SECONDS:-12}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$seeds/." "$work/" 2>/dev/null || true
log=$work/fuzz.log
"$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
	-artifact_prefix="$work/" "$work" >"$log" 2>&1
rc=$?
runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
[ -n "$runs" ] || runs=$(grep -Eo '#[0-9]+' "$log" | tail -1 | tr -d '#')
if [ $rc -eq 0 ]; then
	echo "ok 1 - $(basename "$fuzzer"): ${secs}s, ${runs:-?} inputs, no crash, leak or timeout"
else
	echo "not ok 1 - $(basename "$fuzzer"): exit $rc"
	tail -n 40 "$log" | sed 's/^/# /'
	for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-*; do
		[ -f "$a" ] && echo "# reproducer (base64): $(base64 -w0 "$a" | head -c 2000)"
	done
fi
echo "1..1"
[ $rc -eq 0 ]
