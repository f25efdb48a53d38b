#!/usr/bin/env bash
# Replay one libFuzzer target over its saved inputs and report in TAP.
#   tests/tools/fuzz.sh FUZZER CORPUS_DIR [CRASHES_DIR]
# Every file of the corpus (tests/fuzz/corpus/<target>/) and of the saved
# crash inputs (tests/fuzz/crashes/<target>/, inputs that once crashed and
# must not again) runs once, in name order: the same inputs give the same
# result on every run, so this fails only for a bug those inputs reach. No
# random exploring here: tests/fuzz-explore does that and adds what it finds
# to the corpora.
set -u
fuzzer=$1 corpus=$2 crashes=${3:-}
name=$(basename "$fuzzer")
inputs=()
for d in "$corpus" ${crashes:+"$crashes"}; do
	[ -d "$d" ] || continue
	while IFS= read -r f; do inputs+=("$f"); done < <(find "$d" -maxdepth 1 -type f ! -name '.*' | LC_ALL=C sort)
done
if [ ${#inputs[@]} -eq 0 ]; then
	echo "not ok 1 - $name: no inputs in $corpus${crashes:+ or $crashes}"
	echo "1..1"
	exit 1
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Given files (not folders), libFuzzer runs each once and stops.
"$fuzzer" -seed=1 -timeout=10 -rss_limit_mb=2048 "${inputs[@]}" >"$log" 2>&1
rc=$?
ran=$(grep -c '^Executed ' "$log" || true)
if [ $rc -eq 0 ] && [ "$ran" -eq ${#inputs[@]} ]; then
	echo "ok 1 - $name: ${#inputs[@]} saved inputs, no crash, leak or timeout"
else
	echo "not ok 1 - $name: exit $rc after $ran of ${#inputs[@]} inputs"
	last=$(grep '^Running: ' "$log" | tail -n 1 | sed 's/^Running: //')
	[ -n "$last" ] && echo "# failing input: $last (reproduce: $fuzzer $last)"
	tail -n 40 "$log" | sed 's/^/# /'
fi
echo "1..1"
[ $rc -eq 0 ] && [ "$ran" -eq ${#inputs[@]} ]
