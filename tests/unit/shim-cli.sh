#!/usr/bin/env bash
# containerd-shim-spin-v2's command line as containerd and a user meet it:
# --help, --version, -info (a RuntimeInfo containerd decodes), a bad flag or
# a missing -id answered by one line and exit status 2, and delete in a
# bundle whose shim is gone printing a DeleteResponse (exit status 137).
set -u
. "$(dirname "$0")/../lib/tap.sh"
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# pb FILE: the protobuf fields of FILE, one "NUMBER TYPE VALUE" line each
# (varints in decimal, length-delimited fields as text when printable, else
# hex); exits 1 on bytes that are not protobuf.
pb() {
	python3 - "$1" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
i = 0
def varint():
    global i
    v = s = 0
    while True:
        if i >= len(b) or s > 63:
            sys.exit(1)
        c = b[i]; i += 1
        v |= (c & 0x7f) << s; s += 7
        if not c & 0x80:
            return v
while i < len(b):
    key = varint(); f, t = key >> 3, key & 7
    if t == 0:
        print(f, "varint", varint())
    elif t == 2:
        n = varint(); d = b[i:i + n]
        if len(d) != n:
            sys.exit(1)
        i += n
        print(f, "bytes", d.decode() if d.isascii() and d.decode().isprintable() else d.hex())
    else:
        sys.exit(1)
PY
}

out=$("$bin" --help); rc=$?
is "$rc" 0 "--help exits 0"
ok "--help mentions start" grep -q '^  start ' <<<"$out"
ok "--help mentions delete" grep -q '^  delete ' <<<"$out"
ok "--help names the runtime type" grep -q 'io.containerd.spin.v2' <<<"$out"

out=$("$bin" --version); rc=$?
is "$rc" 0 "--version exits 0"
case $out in "containerd-shim-spin-v2 "[0-9]*.[0-9]*.[0-9]*) r=yes ;; *) r="$out" ;; esac
is "$r" yes "--version prints the program and a version number"

"$bin" -info >"$tmp/info"; rc=$?
is "$rc" 0 "-info exits 0"
fields=$(pb "$tmp/info"); rc=$?
is "$rc" 0 "-info prints protobuf"
is "$(sed -n 1p <<<"$fields")" "1 bytes io.containerd.spin.v2" "-info: RuntimeInfo.name (field 1) is io.containerd.spin.v2"
ver=$(sed -n 2p <<<"$fields" | cut -d' ' -f3)
printf '%s' "$ver" | xxd -r -p >"$tmp/version" 2>/dev/null
# The Version's text is what --version prints before its parenthesis.
want=${out#containerd-shim-spin-v2 }
want=${want%% *}
is "$(pb "$tmp/version")" "1 bytes $want" "-info: Version.version (field 2.1) is $want"

err=$("$bin" --no-such-flag 2>&1 >/dev/null); rc=$?
is "$rc" 2 "an unknown flag exits 2"
is "$(wc -l <<<"$err" | tr -d ' ')" 1 "an unknown flag is answered by one line"
ok "the line calls the flag unknown and points to --help" grep -q -- "unknown flag -no-such-flag (see --help)" <<<"$err"

err=$("$bin" -id 2>&1 >/dev/null); rc=$?
is "$rc" 2 "-id without its value exits 2"
ok "-id without its value: one line saying so" grep -qx -- "containerd-shim-spin-v2: -id needs a value (see --help)" <<<"$err"

err=$(cd "$tmp" && "$bin" -namespace k8s.io -address /run/containerd/containerd.sock start 2>&1 >/dev/null); rc=$?
is "$rc" 2 "start without -id exits 2"
is "$(wc -l <<<"$err" | tr -d ' ')" 1 "start without -id is answered by one line"
ok "the line names -id" grep -q -- "start needs -namespace, -id and -address" <<<"$err"

err=$("$bin" -namespace x -address /tmp/x.sock -id y frobnicate 2>&1 >/dev/null); rc=$?
is "$rc" 2 "an unknown command exits 2"
ok "an unknown command is named" grep -q -- 'unknown command "frobnicate"' <<<"$err"

mkdir "$tmp/bundle"
"$bin" delete -namespace x -address /tmp/x.sock -id y -bundle "$tmp/bundle" >"$tmp/delete" 2>"$tmp/delete.err"; rc=$?
is "$rc" 0 "delete in an empty bundle exits 0"
is "$(cat "$tmp/delete.err")" "" "delete in an empty bundle: nothing on stderr"
fields=$(pb "$tmp/delete"); rc=$?
is "$rc" 0 "delete prints protobuf"
ok "delete: DeleteResponse.exit_status (field 2) is 137" grep -qx '2 varint 137' <<<"$fields"
ok "delete: exited_at (field 3) is set" grep -q '^3 bytes ' <<<"$fields"
is "$(grep -c '^1 ' <<<"$fields")" 0 "delete: no pid (field 1): the process is gone"
tap_done
