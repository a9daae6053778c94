#!/bin/sh
# Packer, step 2: bring the system up to date, so that the snapshot has no
# pending security update, and install what doagent configures: redis-server,
# stunnel4 and nftables, and the tools that make a filesystem on a blank volume
# ([storage] volume: e2fsprogs, xfsprogs). None of them may run on the build droplet, and Redis
# and stunnel stay disabled: doagent enables and starts them on each new
# droplet once it has configured them.
set -eu
: "${DEBIAN_FRONTEND:=noninteractive}"
export DEBIAN_FRONTEND

say() { echo "doagent-build: $*"; }
apt() {
	apt-get -q -y -o DPkg::Lock::Timeout=600 \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
}
booted() { [ -d /run/systemd/system ]; }
# unit_exists NAME: a unit file or a System V script systemd would wrap.
unit_exists() {
	systemctl list-unit-files --no-legend "$1" 2>/dev/null | grep -q "^$1" ||
		[ -e "/etc/init.d/${1%.service}" ]
}

# Packages must not start their services here: redis-server would run with
# Debian's configuration and write its data directory into the snapshot.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# doagent-build: no service starts while packages are installed\nexit 101\n' >"$policy"
	chmod 0755 "$policy"
	trap 'rm -f "$policy"' EXIT
	trap 'exit 130' INT TERM HUP
fi

say "apt-get update"
apt update
say "upgrading every package"
apt dist-upgrade
# No host firewall is switched on in the image, and the Marketplace check's warning
# "No firewall is configured" is the intended result. The check looks for ufw,
# firewalld or (on Debian) iptables, not nftables; on Ubuntu, the default base
# image, it passes only when "ufw status" says active. Each droplet's firewall is
# made at its first boot by doagent from that droplet's user data and metadata
# (its VPC range, allow and ssh-allow: table inet doagent, which
# doagent-firewall.service loads again at every later boot, before the network).
# A firewall switched on here could know none of that: it would come up on every
# new droplet before doagent with rules made for the build droplet, and
# firewall.backend = auto would then drive ufw instead of nftables. Installing ufw
# and leaving it inactive, as Ubuntu's image has it, draws the same warning. A
# warning does not fail the check: it still exits with 0.
say "installing redis-server, redis-sentinel, stunnel4, nftables, e2fsprogs and xfsprogs"
apt install --no-install-recommends redis-server redis-sentinel redis-tools stunnel4 nftables ca-certificates e2fsprogs xfsprogs

# Installed already and running (a base image that had them): stop them.
for unit in redis-server.service redis-sentinel.service stunnel4.service; do
	unit_exists "$unit" || continue
	if booted; then
		systemctl stop "$unit"
	fi
	systemctl disable --quiet "$unit"
	say "$unit: $(systemctl is-enabled "$unit" 2>/dev/null || true)"
done

# The Marketplace check runs "apt-get upgrade" against the security archive
# and fails on anything it would install.
pending=$(apt-get -s -o Debug::NoLocking=1 upgrade | grep '^Inst ' | grep -ci security || true)
if [ "$pending" -ne 0 ]; then
	apt-get -s upgrade | grep '^Inst ' | grep -i security >&2
	say "$pending security updates are still pending" >&2
	exit 1
fi
say "no pending security updates"
