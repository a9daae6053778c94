#!/bin/sh
# Packer, step 1: let the build droplet's own first boot finish. cloud-init writes
# the apt sources and root's keys and may still run apt when Packer connects.
# Where there is no cloud-init (the test's Debian root), there is nothing to wait for.
set -eu

if ! command -v cloud-init >/dev/null 2>&1; then
	echo "doagent-build: no cloud-init on this system: nothing to wait for"
	exit 0
fi
echo "doagent-build: waiting for cloud-init to finish"
status=0
cloud-init status --wait >/dev/null || status=$?
case $status in
0) echo "doagent-build: cloud-init is done" ;;
2)
	# cloud-init 23.4 and later: done, with errors it recovered from.
	echo "doagent-build: cloud-init is done, with warnings:"
	cloud-init status --long || true
	;;
*)
	cloud-init status --long >&2 || true
	echo "doagent-build: cloud-init failed (status $status)" >&2
	exit 1
	;;
esac
