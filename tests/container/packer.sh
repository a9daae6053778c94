#!/bin/sh
# The snapshot, proven without DigitalOcean: packer/scripts/ run for real, in the
# order and with the environment packer/doagent-redis.pkr.hcl gives them, in a
# Debian 12 root that looks like a build droplet Packer has just logged in to
# (a root password, Packer's key, host keys, history, logs, cloud-init and
# doagent state, stand-ins of DigitalOcean's droplet-agent and do-agent installed
# from their apt repositories; redis-server, stunnel4 and nftables not installed). The
# scripts reach the Debian mirror through the host's network, as the build
# droplet reaches its own. Then the cleanup is checked item by item against
# DigitalOcean's Marketplace image checks, and the root is booted as a new
# droplet with the fake metadata service serving userdata-examples/tls.ini:
# from outside, Redis answers through TLS only, as that example says.
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/container/lib.sh"

need redis-cli python3 make xz
hcl="$top_srcdir/packer/doagent-redis.pkr.hcl"
example="$EXAMPLES/tls.ini"

# --- what the template runs ------------------------------------------------------
# local.script_env (literal strings), and the scripts of the shell provisioners.
script_env=$(sed -n '/^  script_env = \[/,/^  \]/p' "$hcl" |
	sed -n 's/^ *"\([A-Z_][A-Z0-9_]*=[^"$ ]*\)",\{0,1\}$/\1/p')
scripts=$(sed -n 's|^ *"${path.root}/scripts/\([^"/]*\)",\{0,1\}$|\1|p' "$hcl")
tar_dest=$(echo "$script_env" | sed -n 's/^DOAGENT_TARBALL=//p')
check; [ -n "$script_env" ] && [ -n "$scripts" ] && [ -n "$tar_dest" ] ||
	fail "cannot read script_env, the scripts or DOAGENT_TARBALL from $hcl"
check; grep -qF "destination = \"$tar_dest\"" "$hcl" ||
	fail "the file provisioner does not upload the tarball to DOAGENT_TARBALL ($tar_dest)"
[ "$tests_failed" -eq 0 ] || finish

# --- the release tarball, as "make dist" makes it --------------------------------
t0=$(_ct_now_ms)
version=$(sed -n 's/^VERSION = //p' "$top_builddir/Makefile")
tarball="$top_builddir/doagent-$version.tar.xz"
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
	make -C "$top_builddir" dist >"$TMP/dist.log" 2>&1 || {
	tail -n 20 "$TMP/dist.log" >&2
	check; fail "make dist failed"
	finish
}
check; [ -f "$tarball" ] || fail "make dist made no $tarball"
ok "make dist: $(_ct_secs $(($(_ct_now_ms) - t0))) s"

# --- a root like the build droplet ------------------------------------------------
CONTAINER_INSTALL=no container_prepare pk
root=$CONTAINER_ROOT
ip=$CONTAINER_IP

# The packages the provisioning must install itself.
chroot "$root" dpkg --purge redis-sentinel redis-server redis-tools stunnel4 nftables xfsprogs >"$TMP/purge.log" 2>&1 || {
	tail -n 20 "$TMP/purge.log" >&2
	_ct_die "cannot remove redis-server, stunnel4, nftables and xfsprogs from the root"
}
# A DigitalOcean base image updates from its security archive: so does this one,
# and the check for pending security updates has something to find.
security=${DOAGENT_DEBIAN_SECURITY_MIRROR:-$(grep -rhoE '(https?|file):[^ ]*debian-security' \
	/etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | head -n 1)}
echo "deb ${security:-http://deb.debian.org/debian-security} $CONTAINER_SUITE-security main" \
	>>"$root/etc/apt/sources.list"
# What the base image, the build droplet's first boot and Packer's session leave.
hash='$6$doagenttest$CM2I3jzYbVh0kN1c8zD8uB3m2yq1o6XkQ0ZyXu7c0Hh5QnJ8m1R9v4s2t6w3p5l7k9j1h3g5f7d9s1a3q5e7r9'
chroot "$root" usermod -p "$hash" root
chroot "$root" useradd -m -u 1000 -s /bin/bash -p "$hash" builder
for home in "$root/root" "$root/home/builder"; do
	mkdir -p "$home/.ssh"
	echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDoagentTestKeyThatPackerWouldHaveAdded packer_temporary" \
		>"$home/.ssh/authorized_keys"
	seq 1 100 | sed 's/^/echo build step /' >"$home/.bash_history"
done
mkdir -p "$root/etc/ssh"
for t in rsa ecdsa ed25519; do
	echo "not a real key" >"$root/etc/ssh/ssh_host_${t}_key"
	echo "not a real key" >"$root/etc/ssh/ssh_host_${t}_key.pub"
done
echo 0123456789abcdef0123456789abcdef >"$root/etc/machine-id"
cp "$root/etc/machine-id" "$root/var/lib/dbus/machine-id"
seq 1 200 | sed 's/^/Dec  1 00:00:00 build-droplet kernel: line /' >"$root/var/log/syslog"
cp "$root/var/log/syslog" "$root/var/log/syslog.1"
gzip -c "$root/var/log/syslog" >"$root/var/log/syslog.2.gz"
cp "$root/var/log/syslog" "$root/var/log/auth.log-20240101"
mkdir -p "$root/var/log/apt"
gzip -c "$root/var/log/syslog" >"$root/var/log/apt/history.log.1.gz"
mkdir -p "$root/var/lib/cloud/instances/90001/sem" "$root/var/lib/cloud/data"
ln -sfn /var/lib/cloud/instances/90001 "$root/var/lib/cloud/instance"
echo 90001 >"$root/var/lib/cloud/data/instance-id"
mkdir -p "$root/var/lib/doagent/secrets"
echo "droplet_id=90001" >"$root/var/lib/doagent/state"
echo "leftover" >"$root/root/doagent-connection.txt"
echo "leftover" >"$root/tmp/leftover"

# --- DigitalOcean's agents, as a droplet has them ------------------------------------
# Stand-ins for the droplet-agent and do-agent packages (tests/fixtures/do-agents/:
# what they lay out, not what they do), built with dpkg-deb, in signed apt
# repositories that are directories of the root named after DigitalOcean's
# repository hosts, and installed the way DigitalOcean's installers do it: the apt
# source and keyring first, then the package from that source alone. do-agent's
# postinst then writes its source and keyring itself, as the real one does.
need gpg gpgconf dpkg-deb dpkg-scanpackages sha256sum
agents="droplet-agent:repos-droplet.digitalocean.com:droplet-agent.list:droplet-agent-keyring.gpg
do-agent:repos.insights.digitalocean.com:digitalocean-agent.list:digitalocean-agent-keyring.gpg"
gnupg="$TMP/gnupg"
mkdir -m 0700 "$gnupg"
at_exit "gpgconf --homedir '$gnupg' --kill all >/dev/null 2>&1"
gpg_() { gpg --homedir "$gnupg" --batch --quiet --pinentry-mode loopback --passphrase '' "$@"; }
# in_root CMD...: run CMD in the root as the provisioning does, but with no network.
in_root() {
	SYSTEMD_NSPAWN_TMPFS_TMP=0 timeout -k 10 300 systemd-nspawn --quiet --register=no --keep-unit --as-pid2 \
		--pipe --private-network -D "$root" -M pk-agents --timezone=off \
		env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive "$@" </dev/null 7>&-
}
# known PKG: dpkg in the root knows PKG in a state other than not-installed.
known() {
	case $(chroot "$root" dpkg-query -W -f '${db:Status-Abbrev}' "$1" 2>/dev/null || true) in
	"" | un*) return 1 ;;
	esac
}
gpg_ --quick-gen-key 'doagent tests: stand-in for a DigitalOcean repository key' ed25519 sign never ||
	_ct_die "gpg cannot make the stand-in repositories' key"
arch=$(chroot "$root" dpkg --print-architecture)
for a in $agents; do
	IFS=: read -r pkg host list keyring <<AGENT
$a
AGENT
	src="$TMP/deb-$pkg" repo="/srv/$host/apt/$pkg"
	cp -R "$FIXTURES/do-agents/$pkg" "$src"
	find "$src" -type d -exec chmod 0755 {} +
	find "$src" -type f -exec chmod 0644 {} +
	find "$src" -type f \( -path '*/DEBIAN/post*' -o -path '*/bin/*' -o -name '*.sh' \) -exec chmod 0755 {} +
	mkdir -p "$root$repo/pool" "$root$repo/dists/main/main/binary-$arch"
	dpkg-deb --root-owner-group -b "$src" "$root$repo/pool/${pkg}_all.deb" >/dev/null
	packages="$root$repo/dists/main/main/binary-$arch/Packages"
	(cd "$root$repo" && dpkg-scanpackages -m pool /dev/null 2>/dev/null) >"$packages"
	printf 'Origin: doagent tests\nLabel: stand-in for %s\nSuite: main\nCodename: main\nDate: %s\nArchitectures: %s\nComponents: main\nSHA256:\n %s %s main/binary-%s/Packages\n' \
		"$host" "$(LC_ALL=C date -Ru)" "$arch" "$(sha256sum <"$packages" | cut -d' ' -f1)" "$(wc -c <"$packages")" "$arch" \
		>"$root$repo/dists/main/Release"
	gpg_ --clearsign -o "$root$repo/dists/main/InRelease" "$root$repo/dists/main/Release"
	gpg_ --export >"$root/srv/$host/key.gpg"
	chmod -R a+rX "$root/srv/$host"
	cp "$root/srv/$host/key.gpg" "$root/usr/share/keyrings/$keyring"
	echo "deb [signed-by=/usr/share/keyrings/$keyring] file:$repo main main" >"$root/etc/apt/sources.list.d/$list"
	{
		in_root apt-get -q -o Dir::Etc::SourceParts=/dev/null -o "Dir::Etc::SourceList=sources.list.d/$list" \
			-o APT::Get::List-Cleanup=0 update &&
			in_root apt-get -q -y install "$pkg"
	} >>"$TMP/agents.log" 2>&1 || {
		tail -n 30 "$TMP/agents.log" >&2
		_ct_die "cannot install the stand-in $pkg from its repository"
	}
done
# Everything of theirs that the cleanup must remove: the packages' files, and what
# their scripts and installers wrote. Each is there now, so its absence later means
# something.
{
	for pkg in droplet-agent do-agent; do
		chroot "$root" dpkg -L "$pkg" | while read -r f; do
			[ -d "$root$f" ] || echo "$f"
		done
	done
	echo /etc/systemd/system/multi-user.target.wants/droplet-agent.service
	echo /etc/systemd/system/multi-user.target.wants/do-agent.service
	echo /etc/systemd/system/do-agent.service
	echo /etc/cron.hourly/droplet-agent
	echo /etc/cron.daily/do-agent
	for a in $agents; do
		IFS=: read -r pkg host list keyring <<AGENT
$a
AGENT
		echo "/etc/apt/sources.list.d/$list"
		echo "/usr/share/keyrings/$keyring"
	done
} >"$TMP/agent-files"
for pkg in droplet-agent do-agent; do
	check; chroot "$root" dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
		fail "the stand-in $pkg is not installed"
	check; [ "$(chroot "$root" systemctl is-enabled "$pkg.service" 2>/dev/null)" = enabled ] ||
		fail "the stand-in $pkg did not enable $pkg.service"
done
while read -r f; do
	# -L: an enablement link points into the root, not into this machine.
	check; [ -e "$root$f" ] || [ -L "$root$f" ] || fail "the stand-ins did not make $f"
done <"$TMP/agent-files"
check; chroot "$root" getent passwd do-agent >/dev/null || fail "the stand-in do-agent made no do-agent user"
[ "$tests_failed" -eq 0 ] || finish
ok "stand-ins of droplet-agent and do-agent installed: $(wc -l <"$TMP/agent-files") files"

# --- provisioning: packer/scripts/ as Packer runs them ------------------------------
# Packer uploads each script to /tmp and runs "chmod +x; VARS... /tmp/script_N.sh"
# as root over SSH; here systemd-nspawn runs it in the root on the host's network,
# with the root's own /tmp (not the tmpfs nspawn would mount there).
cp "$tarball" "$root$tar_dest"
n=0
last=$(echo "$scripts" | tail -n 1)
for s in $scripts; do
	n=$((n + 1))
	check
	if [ ! -f "$top_srcdir/packer/scripts/$s" ]; then
		fail "$hcl names packer/scripts/$s, which does not exist"
		break
	fi
	cp "$top_srcdir/packer/scripts/$s" "$root/tmp/script_$n.sh"
	chmod 0755 "$root/tmp/script_$n.sh"
	echo "=== $s" >>"$TMP/provision.log"
	t0=$(_ct_now_ms)
	st=0
	# shellcheck disable=SC2086 # one VAR=value a word (checked above: no blanks)
	SYSTEMD_NSPAWN_TMPFS_TMP=0 timeout -k 10 900 systemd-nspawn --quiet --register=no --keep-unit --as-pid2 --pipe \
		-D "$root" -M "pk-build" --resolv-conf=copy-host --timezone=off \
		env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LANG=C.UTF-8 PACKER_BUILD_NAME=redis PACKER_BUILDER_TYPE=digitalocean $script_env \
		"/tmp/script_$n.sh" </dev/null >>"$TMP/provision.log" 2>&1 7>&- || st=$?
	ok "$s: status $st, $(_ct_secs $(($(_ct_now_ms) - t0))) s"
	if [ "$st" -ne 0 ]; then
		tail -n 40 "$TMP/provision.log" >&2
		fail "$s failed (status $st)"
		finish
	fi
	# The build droplet keeps its agent until the cleanup, the last step.
	if [ "$s" != "$last" ]; then
		check; known droplet-agent || fail "$s removed the droplet agent before the cleanup"
	fi
done
[ "$tests_failed" -eq 0 ] || finish

# --- what the scripts installed ------------------------------------------------------
unitdir=/lib/systemd/system
for f in /usr/sbin/doagent /usr/bin/doagent-launch /etc/doagent/doagent.conf \
	/usr/share/doagent/templates/redis.conf /usr/share/doagent/templates/stunnel.conf \
	/usr/share/doagent/templates/firewall.nft /usr/share/doagent/templates/connection.txt \
	/usr/share/doagent/templates/motd /usr/share/man/man8/doagent.8 /usr/share/man/man5/doagent-userdata.5 \
	$unitdir/doagent.service $unitdir/doagent-firewall.service \
	$unitdir/redis-server.service.d/doagent.conf $unitdir/redis-sentinel.service.d/doagent.conf \
	"$unitdir/stunnel@doagent-redis.service.d/doagent.conf" /usr/share/doagent/templates/sentinel.conf; do
	check; [ -s "$root$f" ] || fail "make install did not lay out $f"
done
check; grep -qx 'ExecStart=/usr/sbin/doagent' "$root$unitdir/doagent.service" ||
	fail "doagent.service does not run /usr/sbin/doagent"
for pkg in redis-server redis-sentinel stunnel4 nftables e2fsprogs xfsprogs; do
	check; chroot "$root" dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
		fail "$pkg is not installed"
done
for pkg in gcc libcurl4-openssl-dev libssl-dev; do
	check; ! chroot "$root" dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
		fail "the build dependency $pkg is still installed"
done
cp "$example" "$root/root/ud.ini"
check; [ "$(chroot "$root" /usr/sbin/doagent --check --user-data /root/ud.ini 2>&1 | head -n 1)" = "user data: valid" ] ||
	fail "the installed doagent does not run: $(chroot "$root" /usr/sbin/doagent --check --user-data /root/ud.ini 2>&1)"
rm -f "$root/root/ud.ini"
check; grep -q '^doagent-build: no pending security updates$' "$TMP/provision.log" ||
	fail "10-packages.sh did not check for pending security updates"
enabled() { chroot "$root" systemctl is-enabled "$1" 2>/dev/null; }
check; [ "$(enabled doagent.service)" = enabled ] || fail "doagent.service is not enabled"
for unit in redis-server.service redis-sentinel.service stunnel4.service stunnel@doagent-redis.service doagent-firewall.service; do
	check; [ "$(enabled "$unit")" != enabled ] || fail "$unit is enabled in the snapshot"
done

# --- the cleanup, item by item ---------------------------------------------------------
check; [ -f "$root/etc/machine-id" ] && [ ! -s "$root/etc/machine-id" ] || fail "/etc/machine-id is not an empty file"
check; [ ! -f "$root/var/lib/dbus/machine-id" ] || [ -L "$root/var/lib/dbus/machine-id" ] ||
	fail "/var/lib/dbus/machine-id is a file of its own"
check; [ -z "$(find "$root/root" "$root/home" -name 'authorized_keys*')" ] || fail "an authorized_keys file is left"
check; [ -z "$(find "$root/etc/ssh" -name 'ssh_host_*')" ] || fail "SSH host keys are left"
# img_check accepts "*", "!" and "!!" for root and every account from uid 1000.
check; [ -z "$(awk -F: '($1 == "root" || $1 == "builder") && $2 != "*" && $2 != "!" && $2 != "!!" {print $1}' "$root/etc/shadow")" ] ||
	fail "root or builder has a password"
check; [ -z "$(awk -F: '$2 == "" || $2 ~ /\$/ {print $1}' "$root/etc/shadow")" ] ||
	fail "accounts with a password: $(awk -F: '$2 == "" || $2 ~ /\$/ {print $1}' "$root/etc/shadow")"
for h in "$root/root/.bash_history" "$root/home/builder/.bash_history"; do
	check; [ ! -f "$h" ] || [ "$(wc -c <"$h")" -lt 200 ] || fail "${h#"$root"} is not cleared"
done
check; [ -z "$(find "$root/var/log" -type f \( -name '*.gz' -o -name '*.[0-9]' -o -name '*-????????' -o -name '*.old' \))" ] ||
	fail "rotated logs are left: $(find "$root/var/log" -type f \( -name '*.gz' -o -name '*.[0-9]' -o -name '*-????????' \))"
check; [ -z "$(find "$root/var/log" -type f -size +0c)" ] || fail "logs are not empty: $(find "$root/var/log" -type f -size +0c)"
check; [ ! -e "$root/var/lib/cloud/instance" ] && [ ! -e "$root/var/lib/cloud/instances" ] &&
	[ ! -e "$root/var/lib/cloud/data/instance-id" ] || fail "cloud-init's instance state is left"
check; [ ! -e "$root/var/lib/doagent" ] && [ ! -e "$root/root/doagent-connection.txt" ] || fail "doagent's state is left"
check; [ -z "$(find "$root/var/lib/apt/lists" -type f)" ] || fail "apt's lists are left"
check; [ -z "$(find "$root/var/cache/apt" -name '*.deb' -o -name '*.bin')" ] || fail "apt's caches are left"
check; [ -z "$(find "$root/tmp" "$root/var/tmp" -mindepth 1)" ] || fail "/tmp is not empty: $(find "$root/tmp" "$root/var/tmp" -mindepth 1)"

# DigitalOcean's agents: the packages, their files, and what their scripts and
# installers wrote (their units, cron jobs, apt sources and keyrings, the user).
for pkg in droplet-agent do-agent; do
	check; ! known "$pkg" ||
		fail "$pkg is still known to dpkg: $(chroot "$root" dpkg-query -W -f '${db:Status-Abbrev}' "$pkg")"
done
left=$(while read -r f; do
	if [ -e "$root$f" ] || [ -L "$root$f" ]; then echo "$f"; fi
done <"$TMP/agent-files")
check; [ -z "$left" ] || fail "left of DigitalOcean's agents:" $left
check; [ ! -e "$root/opt/digitalocean" ] && [ ! -e "$root/var/opt/digitalocean" ] ||
	fail "/opt/digitalocean or /var/opt/digitalocean is left"
units=$(find "$root/etc/systemd" "$root/lib/systemd" "$root/etc/init" \( -name 'droplet-agent*' -o -name 'do-agent*' \) \
	2>/dev/null || true)
check; [ -z "$units" ] || fail "units of DigitalOcean's agents are left:" $units
sources=$(grep -rlE 'repos-droplet\.digitalocean\.com|repos\.insights\.digitalocean\.com' "$root/etc/apt" 2>/dev/null || true)
check; [ -z "$sources" ] || fail "apt sources of DigitalOcean's agents are left:" $sources
check; ! chroot "$root" getent passwd do-agent >/dev/null || fail "the do-agent user is left"
check; grep -q '^doagent-build: cleanup: purging droplet-agent$' "$TMP/provision.log" &&
	grep -q '^doagent-build: cleanup: purging do-agent$' "$TMP/provision.log" ||
	fail "90-cleanup.sh did not purge both agents through apt"

# --- what DigitalOcean's Marketplace check looks at, checked here directly ------------
# (marketplace-partners' scripts/99-img-check.sh is not run here.) Beyond the items
# above: it fails an image with /opt/digitalocean (checked above) and, in older
# versions, with /var/opt/digitalocean/do-agent; it warns "No firewall is configured"
# unless ufw (or firewalld) is active. That warning is intended (10-packages.sh): no
# host firewall is on in the image, and each droplet gets doagent's at its first boot
# (checked below).
check; [ ! -e "$root/var/opt/digitalocean/do-agent" ] || fail "/var/opt/digitalocean/do-agent is left"
check; [ ! -f "$root/etc/ufw/ufw.conf" ] || grep -qx 'ENABLED=no' "$root/etc/ufw/ufw.conf" ||
	fail "ufw is switched on in the image"
check; [ "$(chroot "$root" systemctl is-enabled firewalld.service 2>/dev/null)" != enabled ] ||
	fail "firewalld is enabled in the image"
# The stand-in repositories stood for DigitalOcean's servers: not part of the image.
for a in $agents; do
	rm -rf "$root/srv/$(echo "$a" | cut -d: -f2)"
done

# --- first boot as a new droplet, with the example's user data ----------------------------
python3 - "$FIXTURES/metadata/full.json" "$TMP/md.json" "$ip" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["droplet_id"] = 7007
d["interfaces"]["private"][0]["ipv4"] = {"ip_address": sys.argv[3], "netmask": "255.255.0.0", "gateway": "169.254.0.1"}
json.dump(d, open(sys.argv[2], "w"))
PY
container_start_fake_metadata pk python3 "$top_srcdir/tests/fake-metadata.py" --quiet \
	--bind "$CONTAINER_METADATA_ADDR" --port 80 --document "$TMP/md.json" --user-data "$example"
container_boot pk
container_wait_unit pk doagent.service 120 >/dev/null || true
# The clients connect from a VPC address of their own. The host side of the link
# also holds 169.254.169.254, which a droplet's clients never are: the example's
# "metadata = root-only" drops what any user but root (stunnel, Redis) sends there.
tag=$(_ct_get pk tag)
container_host pk ip addr add 169.254.200.1/16 dev "ve-$tag"
container_host pk ip route replace 169.254.0.0/16 dev "ve-$tag" src 169.254.200.1

check; [ "$(container_exec pk systemctl is-active doagent.service)" = active ] ||
	fail "doagent.service is not active: $(container_exec pk systemctl status doagent.service 2>&1 | tail -n 20)"
check; [ -s "$root/etc/machine-id" ] && [ "$(cat "$root/etc/machine-id")" != 0123456789abcdef0123456789abcdef ] ||
	fail "the new droplet has no machine-id of its own"
# The password as a user finds it: root's connection details.
pw=$(sed -n 's/^Password: //p' "$root/root/doagent-connection.txt" 2>/dev/null)
check; [ -n "$pw" ] || fail "/root/doagent-connection.txt gives no password"
tcli() { # ARGS...: redis-cli through TLS from the host side, the password in the environment
	REDISCLI_AUTH="$pw" container_host pk timeout 10 redis-cli --no-auth-warning --tls \
		--cacert "$root/etc/doagent/tls/redis.crt" -h "$ip" -p 6380 "$@" 2>&1
}
check; [ "$(tcli PING)" = PONG ] || {
	fail "redis-cli --tls at $ip:6380 does not get PONG: $(tcli PING)"
	container_exec pk systemctl --no-pager status doagent.service stunnel@doagent-redis.service redis-server.service >&2 || true
}
check; [ "$(tcli CONFIG GET maxmemory-policy | tail -n 1)" = volatile-lfu ] ||
	fail "maxmemory-policy is not volatile-lfu: $(tcli CONFIG GET maxmemory-policy | tail -n 1)"
check; [ "$(tcli CONFIG GET maxmemory | tail -n 1)" = 1073741824 ] ||
	fail "maxmemory is not 1gb: $(tcli CONFIG GET maxmemory | tail -n 1)"
check; [ "$(tcli SET doagent:packer ok)" = OK ] && [ "$(tcli GET doagent:packer)" = ok ] || fail "SET and GET through TLS"
check; ! REDISCLI_AUTH="$pw" container_host pk timeout 5 redis-cli --no-auth-warning -h "$ip" -p 6379 PING 2>&1 |
	grep -q PONG || fail "the plaintext port answers at $ip (the example keeps it on loopback)"
# The firewall the droplet does have, made by doagent at its first boot; and none of
# DigitalOcean's agents came back with the snapshot.
check; container_exec pk nft list table inet doagent >/dev/null 2>&1 ||
	fail "no table inet doagent: the droplet has no firewall after its first boot"
check; [ -z "$(container_exec pk systemctl list-unit-files --no-legend 'droplet-agent*' 'do-agent*' 2>/dev/null)" ] ||
	fail "a unit of DigitalOcean's agents is on the booted droplet"
check; container_exec pk nft list table inet doagent_output >/dev/null 2>&1 ||
	container_exec pk nft list ruleset 2>/dev/null | grep -q 'ip daddr 169.254.169.254 meta skuid != 0 drop' ||
	fail "metadata = root-only: no output rule for 169.254.169.254"
check; [ "$(container_exec pk systemctl is-enabled redis-server.service)" = enabled ] &&
	[ "$(container_exec pk systemctl is-active stunnel@doagent-redis.service)" = active ] ||
	fail "doagent did not enable Redis and start stunnel"
container_exec pk doagent --status --json >"$TMP/status.json" 2>&1 || true
check; python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["result"] == "success" and str(d["droplet_id"]) == "7007"' \
	"$TMP/status.json" 2>/dev/null || fail "doagent --status does not report success for droplet 7007"

# The generated password is nowhere it should not be.
container_exec pk journalctl --sync || true
container_exec pk journalctl -o export >"$TMP/journal" 2>&1 || true
check; [ -n "$pw" ] && ! grep -qF "$pw" "$TMP/journal" "$TMP/ct-pk/console.log" "$TMP/provision.log" ||
	fail "the password is in a log (or there is none)"
finish
