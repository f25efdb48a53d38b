#!/usr/bin/env bash
# spin-controller's command line as a user meets it: --version, --help, and a
# bad argument answered by one clear line and exit status 2.
set -u
. "$(dirname "$0")/../lib/tap.sh"
bin=$1

out=$("$bin" --version); rc=$?
is "$rc" 0 "--version exits 0"
case $out in "spin-controller "[0-9]*.[0-9]*.[0-9]*) r=yes ;; *) r="$out" ;; esac
is "$r" yes "--version prints the program and a version number"

out=$("$bin" --help); rc=$?
is "$rc" 0 "--help exits 0"
ok "--help documents --kubeconfig" grep -q -- '--kubeconfig PATH' <<<"$out"

err=$("$bin" --no-such-flag 2>&1 >/dev/null); rc=$?
is "$rc" 2 "an unknown flag exits 2"
is "$(wc -l <<<"$err" | tr -d ' ')" 1 "an unknown flag is answered by one line"
ok "the line names the flag and points to --help" grep -q -- "'--no-such-flag' (see spin-controller --help)" <<<"$err"
tap_done
