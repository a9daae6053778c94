#!/bin/sh
# Packer, last step: leave nothing of the build droplet in the snapshot, and meet
# DigitalOcean's Marketplace image checks (marketplace-partners' img_check):
# no password on root or any user, no authorized_keys, no SSH host keys, no
# shell history, empty logs and no rotated ones, no cloud-init or doagent
# instance state, an empty machine-id, clean apt caches and an empty /tmp.
# Every new droplet gets its own keys, machine-id and secrets at its first boot.
set -eu
: "${DEBIAN_FRONTEND:=noninteractive}"
export DEBIAN_FRONTEND

say() { echo "doagent-build: cleanup: $*"; }
booted() { [ -d /run/systemd/system ]; }

say "packages no longer needed, apt's caches and lists"
apt-get -q -y -o DPkg::Lock::Timeout=600 autoremove --purge
apt-get -q -y clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/debconf/*-old
mkdir -p /var/lib/apt/lists/partial

say "doagent's state: none of it belongs to a new droplet"
rm -rf /var/lib/doagent /run/doagent /etc/doagent/tls /etc/doagent/firewall.nft \
	/etc/stunnel/doagent-redis.conf /etc/motd.d/doagent /root/doagent-connection.txt
rm -rf /var/lib/redis/dump.rdb /var/lib/redis/appendonlydir
for unit in redis-server.service stunnel@doagent-redis.service doagent-firewall.service; do
	! systemctl is-enabled --quiet "$unit" 2>/dev/null || systemctl disable --quiet "$unit"
done

say "cloud-init's record of this droplet"
if command -v cloud-init >/dev/null 2>&1; then
	cloud-init clean --logs
fi
rm -rf /var/lib/cloud/instance /var/lib/cloud/instances /var/lib/cloud/data \
	/var/lib/cloud/sem /var/lib/cloud/handlers

say "SSH host keys and authorized_keys"
rm -f /etc/ssh/ssh_host_*
for home in /root /home/*; do
	[ -d "$home" ] || continue
	rm -f "$home/.ssh/authorized_keys" "$home/.ssh/authorized_keys2" \
		"$home/.bash_history" "$home/.lesshst" "$home/.viminfo" "$home/.wget-hsts"
	rm -rf "$home/.cache"
done

say "passwords: none on root or any account (SSH keys still work)"
# A field that is empty or holds a hash (even a locked one, "!$6$...") is a password.
awk -F: '$2 == "" || $2 ~ /\$/ { print $1 }' /etc/shadow | while read -r user; do
	if [ "$user" = root ]; then
		usermod -p '*' root
	else
		usermod -p '!' "$user"
	fi
done

say "logs: rotated ones removed, the others emptied"
if booted && command -v journalctl >/dev/null 2>&1; then
	journalctl --rotate >/dev/null 2>&1 || true
	journalctl --vacuum-time=1s >/dev/null 2>&1 || true
fi
find /var/log -path /var/log/journal -prune -o -type f \( -name '*.gz' -o -name '*.xz' \
	-o -name '*.[0-9]' -o -name '*.[0-9].log' -o -name '*.old' -o -name '*-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]' \) \
	-exec rm -f {} +
find /var/log -path /var/log/journal -prune -o -type f -exec truncate -s 0 {} +
# Not booted (a chroot, the test's root): no journald holds these files open.
if ! booted; then
	rm -rf /var/log/journal/*
fi

say "machine-id: empty, so each droplet makes its own and systemd's presets stay off"
: >/etc/machine-id
if [ -f /var/lib/dbus/machine-id ] && [ ! -L /var/lib/dbus/machine-id ]; then
	rm -f /var/lib/dbus/machine-id
fi

say "temporary files"
# The script that is running may be among them: it keeps its open descriptor.
find /tmp /var/tmp -mindepth 1 -delete 2>/dev/null || rm -rf /tmp/* /var/tmp/* 2>/dev/null || true
sync
say "done"
