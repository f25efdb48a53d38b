#!/usr/bin/env bash
# The per-thread memory the programs' thread-locals cost: glibc zeroes each
# new thread's static TLS block (every PT_TLS segment of the program and of
# the libraries it starts with), so its pages are resident in every thread.
# spin-bridge's workers and the shim's node runtime run thousands of threads
# (a ttrpc connection and the Waits of each pod of the node), and the
# controller one per reconcile worker, so each program's own TLS segment
# must stay under 4 KiB: a large __thread buffer belongs on the heap.
# Arguments: the programs.
set -u
. "$(dirname "$0")/../lib/tap.sh"
command -v readelf >/dev/null || bail "no readelf (Debian's binutils)"
for bin; do
	name=$(basename "$bin")
	# The PT_TLS line: Type Offset VirtAddr PhysAddr FileSiz MemSiz Flg Align
	mem=$(readelf -lW "$bin" 2>/dev/null | awk '$1 == "TLS" {print strtonum($6)}')
	[ -n "$mem" ] || mem=0
	ok "$name: its thread-locals take $mem bytes per thread (at most 4096)" test "$mem" -le 4096
	[ "$mem" -le 4096 ] || readelf -sW "$bin" | awk '$4 == "TLS" && $3 > 256 {print "#   " $3 " bytes: " $8}'
done
tap_done
