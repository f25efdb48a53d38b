# TAP helpers for the shell tests. Source it; call tap_done at the end.
# Diagnostics go to stdout as "# ..." lines so they land in the test log.
TAP_N=0
TAP_FAILED=0

# ok NAME COMMAND...: run COMMAND; a test point passes when it exits 0.
ok() {
	local name=$1; shift
	TAP_N=$((TAP_N + 1))
	local out rc=0
	out=$("$@" 2>&1) || rc=$?
	if [ $rc -eq 0 ]; then
		echo "ok $TAP_N - $name"
	else
		TAP_FAILED=$((TAP_FAILED + 1))
		echo "not ok $TAP_N - $name"
		echo "#   command: $*  (exit $rc)"
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/#   | /'
	fi
	return 0
}

# is GOT WANT NAME
is() {
	TAP_N=$((TAP_N + 1))
	if [ "$1" = "$2" ]; then
		echo "ok $TAP_N - $3"
	else
		TAP_FAILED=$((TAP_FAILED + 1))
		echo "not ok $TAP_N - $3"
		echo "#   got:  '$1'"
		echo "#   want: '$2'"
	fi
}

diag() { printf '# %s\n' "$*"; }

# skip NAME REASON: a test point that could not run here, counted as passed
# (TAP's "# SKIP" directive).
skip() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1 # SKIP $2"
}

# reference_dir: upstream's CRDs, RBAC and samples (test data, never part of
# the project), from SPINKUBE_REFERENCE_DIR or ../shared/reference/spin-operator
# beside the clone. Prints the folder, or nothing when it is not there.
reference_dir() {
	local d=${SPINKUBE_REFERENCE_DIR:-$src/../shared/reference/spin-operator}
	[ -d "$d/samples" ] && (cd "$d" && pwd)
}
REFERENCE_MISSING="no upstream reference data (set SPINKUBE_REFERENCE_DIR to a folder with spin-operator's CRDs and samples/, or put it at ../shared/reference/spin-operator)"

# bail REASON: stop the test file; the runner counts it as a failure.
bail() { echo "Bail out! $*"; exit 1; }

tap_done() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}

# retry SECONDS COMMAND...: run COMMAND every second until it succeeds.
retry() {
	local deadline=$((SECONDS + $1)); shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 1
	done
}
