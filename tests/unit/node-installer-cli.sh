#!/usr/bin/env bash
# spinkube-node-installer's command line: --help names every command and
# option, --version, usage errors answered in one line with exit status 2,
# install without a node name refused, and the readiness check.
set -u
. "$(dirname "$0")/../lib/tap.sh"
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

help=$("$bin" --help)
ok "--help exits 0" "$bin" --help
for word in install uninstall request-uninstall ready --distro --host-root --shim-source --bin-dir \
	--containerd-config --dropin-dir --socket --restart --systemd-unit --state-dir --node-name --label \
	--kubeconfig --ready-file --poll-seconds --timeout k3s microk8s k0s signal; do
	ok "--help mentions $word" grep -q -- "$word" <<<"$help"
done
ok "--version prints the version" bash -c "'$bin' --version | grep -Eq '^spinkube-node-installer [0-9]+\.[0-9]+'"

# usage ERRTEXT ARGS...: exit 2, one line on stderr naming the problem.
usage() {
	local want=$1; shift
	local err rc
	err=$("$bin" "$@" 2>&1 >/dev/null); rc=$?
	[ $rc -eq 2 ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] && grep -qF -- "$want" <<<"$err" ||
		{ echo "# rc=$rc: $err"; return 1; }
}
ok "no command" usage "give one command" --distro k3s
ok "an unknown command" usage 'unknown command "frob"' frob
ok "an unknown option" usage 'unknown or incomplete option "--frob"' --frob install
ok "a bad --distro" usage '--distro "rke2": give auto, containerd, k3s, microk8s or k0s' --distro rke2 ready
ok "a bad NODE_INSTALLER_DISTRO" env NODE_INSTALLER_DISTRO=rke2 bash -c "'$bin' ready 2>&1 | grep -q NODE_INSTALLER_DISTRO"
ok "a bad --restart" usage '--restart "hup"' --restart hup ready
ok "a relative --bin-dir" usage '--bin-dir "opt": give an absolute path' --bin-dir opt ready
ok "a bad --poll-seconds" usage '--poll-seconds "0": give a whole number from 1 to 3600' --poll-seconds 0 ready
ok "a bad --label" usage '--label "a b"' --label "a b" ready
ok "install without a node name" env -u NODE_NAME bash -c "'$bin' install 2>&1 >/dev/null | grep -q 'set NODE_NAME'"
ok "ready: not yet" bash -c "! '$bin' --ready-file '$tmp/ready' ready"
touch "$tmp/ready"
ok "ready: once the file is there" "$bin" --ready-file "$tmp/ready" ready
tap_done
