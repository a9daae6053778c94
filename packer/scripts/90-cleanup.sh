#!/bin/sh
# Packer, last step: leave nothing of the build droplet in the snapshot, and meet
# DigitalOcean's Marketplace image checks (marketplace-partners' img_check):
# none of DigitalOcean's agents and no /opt/digitalocean, no password on root or
# any user, no authorized_keys, no SSH host keys, no shell history, empty logs
# and no rotated ones, no cloud-init or doagent instance state, an empty
# machine-id, clean apt caches and an empty /tmp. The check's one warning, "No
# firewall is configured", is intended: see 10-packages.sh.
# Every new droplet gets its own keys, machine-id and secrets at its first boot.
set -eu
: "${DEBIAN_FRONTEND:=noninteractive}"
export DEBIAN_FRONTEND

say() { echo "doagent-build: cleanup: $*"; }
booted() { [ -d /run/systemd/system ]; }

# DigitalOcean's agents. Every droplet, the build droplet included, gets the
# droplet agent (the Droplet Console's) in /opt/digitalocean, and do-agent
# (Monitoring) where monitoring is on. img_check fails an image that has
# /opt/digitalocean ("DigitalOcean directory detected") and hints at purging
# droplet-agent; DigitalOcean's own instructions for do-agent are a purge and
# removing its apt source. Purging leaves what the agents' installers and
# maintainer scripts wrote outside the packages: their apt sources and keyrings,
# units, cron jobs and the do-agent user. They go here, in the last step, so the
# build droplet keeps its agent while it is being provisioned. New droplets get
# the droplet agent again from DigitalOcean where it is enabled (README).
do_agents="droplet-agent do-agent"
do_repos="repos-droplet.digitalocean.com repos.insights.digitalocean.com repos.sonar.digitalocean.com"
# known PKG: dpkg knows PKG in some state other than not-installed (e.g. rc).
known() {
	case $(dpkg-query -W -f '${db:Status-Abbrev}' "$1" 2>/dev/null || true) in
	"" | un*) return 1 ;;
	esac
}
# do_source FILE: an apt source of DigitalOcean's agent repositories.
do_source() {
	case ${1##*/} in
	droplet-agent.list | droplet-agent.sources | digitalocean-agent.list | digitalocean-agent.sources) return 0 ;;
	esac
	for _host in $do_repos; do
		grep -v '^[[:space:]]*#' "$1" | grep -qF "$_host" && return 0
	done
	return 1
}

say "DigitalOcean's agents ($do_agents), /opt/digitalocean and their apt sources"
for unit in droplet-agent.service droplet-agent-update.timer droplet-agent-install-retry.timer do-agent.service; do
	systemctl is-enabled --quiet "$unit" 2>/dev/null || continue
	if booted; then
		systemctl disable --quiet --now "$unit"
	else
		systemctl disable --quiet "$unit"
	fi
done
for pkg in $do_agents; do
	known "$pkg" || continue
	say "purging $pkg"
	apt-get -q -y -o DPkg::Lock::Timeout=600 purge "$pkg"
done
keyrings=""
for src in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
	[ -f "$src" ] && do_source "$src" || continue
	# The keyring it names (one-line "[signed-by=...]" or deb822 "Signed-By:").
	keyrings="$keyrings $(sed -n -e 's/.*signed-by=\([^] ]*\).*/\1/p' -e 's/^Signed-By:[[:space:]]*\(\/[^[:space:]]*\).*/\1/p' "$src")"
	say "removing the apt source $src"
	rm -f "$src"
done
for key in $keyrings /usr/share/keyrings/droplet-agent-keyring.gpg /usr/share/keyrings/digitalocean-agent-keyring.gpg; do
	[ -f "$key" ] || continue
	# Only a keyring no remaining source uses.
	if grep -rqsF "$key" /etc/apt/sources.list /etc/apt/sources.list.d/; then
		say "keeping $key: another apt source uses it"
		continue
	fi
	rm -f "$key"
done
# Units and their .wants/ links (systemd), jobs (upstart) that the packages' scripts wrote.
for dir in /etc/systemd/system /etc/init; do
	[ -d "$dir" ] || continue
	find "$dir" \( -name 'droplet-agent*' -o -name 'do-agent*' \) \( -type f -o -type l \) -exec rm -f {} +
done
! booted || systemctl daemon-reload
rm -f /etc/cron.hourly/droplet-agent /etc/cron.hourly/droplet-agent-install /etc/cron.daily/do-agent
rm -rf /opt/digitalocean /var/opt/digitalocean /var/lib/digitalocean/droplet-agent-install
rmdir /var/lib/digitalocean 2>/dev/null || true
! getent passwd do-agent >/dev/null || userdel do-agent
for pkg in $do_agents; do
	if known "$pkg"; then
		say "$pkg is still known to dpkg" >&2
		exit 1
	fi
done

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
