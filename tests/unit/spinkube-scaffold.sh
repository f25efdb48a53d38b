#!/usr/bin/env bash
# spinkube scaffold against the golden files in tests/golden/scaffold/<case>/:
# args holds the command line (one argument a line, run inside the case's
# folder so files it names are found there); want.yaml is the exact stdout of
# a case that succeeds, want.err the exit status and stderr of one that does
# not. A case with neither, or a file the run did not produce, fails.
# SPINKUBE_UPDATE_GOLDEN=1 rewrites them (review the diff by hand).
# Usage: spinkube-scaffold.sh SPINKUBE GOLDEN_DIR
set -u
. "$(dirname "$0")/../lib/tap.sh"
bin=$(realpath "$1") golden=$(realpath "$2")
update=${SPINKUBE_UPDATE_GOLDEN:-0}
T=$(mktemp -d "${TMPDIR:-/tmp}/scaffold-golden.XXXXXX")
trap 'rm -rf "$T"' EXIT

n=0
for dir in "$golden"/*/; do
	c=$(basename "$dir")
	[ -f "$dir/args" ] || { ok "$c: has an args file" false; continue; }
	n=$((n + 1))
	mapfile -t args <"$dir/args"
	rc=0
	(cd "$dir" && "$bin" scaffold "${args[@]}") >"$T/out" 2>"$T/err" || rc=$?
	if [ "$rc" -eq 0 ]; then
		got=$T/out want=$dir/want.yaml other=$dir/want.err
	else
		{ echo "exit $rc"; cat "$T/err"; } >"$T/errfile"
		got=$T/errfile want=$dir/want.err other=$dir/want.yaml
	fi
	if [ "$update" = 1 ]; then
		cp "$got" "$want"
		rm -f "$other"
	fi
	if [ -e "$other" ]; then
		ok "$c: the run made $(basename "$want"), but the case expects $(basename "$other")" false
		sed 's/^/#   | /' "$got"
		continue
	fi
	if ! ok "$c: output matches $(basename "$want")" cmp -s "$got" "$want"; then
		diff -u "$want" "$got" | sed 's/^/#   /' | head -40
	fi
	if [ "$rc" -ne 0 ]; then
		is "$rc" 1 "$c: a refused combination exits 1"
		is "$(wc -l <"$T/err" | tr -d ' ')" 1 "$c: ... with one line"
	fi
done
ok "golden cases found in $golden" test "$n" -gt 0

# --out writes the file and says so on stderr; stdout stays empty.
"$bin" scaffold --from ghcr.io/foo/example-app:v0.1.0 --out "$T/app.yaml" >"$T/o" 2>"$T/e"
is "$?" 0 "--out FILE exits 0"
ok "... writes what stdout would have" cmp -s "$T/app.yaml" "$golden/default/want.yaml"
ok "... prints nothing on stdout" test ! -s "$T/o"
ok "... names the file on stderr" grep -q "saved to $T/app.yaml" "$T/e"
rc=0; "$bin" scaffold --from ghcr.io/a/b --replicas x 2>"$T/e" || rc=$?
is "$rc" 2 "--replicas that is not a number: exit 2 (usage)"
rc=0; "$bin" scaffold --from ghcr.io/a/b --nope 2>"$T/e" || rc=$?
is "$rc" 2 "an unknown flag: exit 2"
rc=0; "$bin" scaffold 2>"$T/e" || rc=$?
is "$rc" 2 "no --from: exit 2"
tap_done
