#!/bin/sh
# Packer, step 3: build doagent from the release tarball ("make dist") that the
# file provisioner uploaded to $DOAGENT_TARBALL, install it under /usr, and
# enable doagent.service. The compiler and -dev packages that were not here
# before are removed again when DOAGENT_PURGE_BUILD_DEPS=yes, and the libraries
# doagent runs with are kept.
set -eu
: "${DOAGENT_TARBALL:?the path of the doagent tarball on this machine}"
: "${DOAGENT_PURGE_BUILD_DEPS:=yes}"
: "${DEBIAN_FRONTEND:=noninteractive}"
export DEBIAN_FRONTEND

say() { echo "doagent-build: $*"; }
apt() {
	apt-get -q -y -o DPkg::Lock::Timeout=600 \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
}
installed() { dpkg-query -W -f '${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

[ -f "$DOAGENT_TARBALL" ] || {
	say "no tarball at $DOAGENT_TARBALL" >&2
	exit 1
}

build_deps="gcc make pkg-config xz-utils libc6-dev libcurl4-openssl-dev libinih-dev
libjson-c-dev libsystemd-dev libssl-dev libnftables-dev libblkid-dev"
added=""
for pkg in $build_deps; do
	installed "$pkg" || added="$added $pkg"
done
if [ -n "$added" ]; then
	say "installing the build dependencies:$added"
	# shellcheck disable=SC2086 # one package a word
	apt install --no-install-recommends $added
fi

work=$(mktemp -d /tmp/doagent-build.XXXXXX)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM HUP
tar -xJf "$DOAGENT_TARBALL" -C "$work"
src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'doagent-*' | head -n 1)
if [ -z "$src" ] || [ ! -x "$src/configure" ]; then
	say "$DOAGENT_TARBALL does not hold a doagent source tree" >&2
	exit 1
fi
say "building $(basename "$src")"
(
	cd "$src"
	./configure -q --prefix=/usr --sysconfdir=/etc --localstatedir=/var --disable-container-tests
	make -s -j"$(nproc)"
	make -s install
)

# owner FILE: the package that holds FILE, also through the /usr merge.
owner() {
	for _f in "$1" "$(readlink -f "$1")" "/usr$1"; do
		dpkg-query -S "$_f" 2>/dev/null | sed -n '1s/:.*//p' | grep . && return 0
	done
	say "no package holds $1" >&2
	return 1
}

# Keep the libraries doagent runs with, whatever pulled them in.
runtime=""
for lib in $(ldd /usr/sbin/doagent /usr/bin/doagent-launch | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u); do
	runtime="$runtime $(owner "$lib")"
done
# libnftables, libsystemd and libblkid are loaded with dlopen() when first used
# (agent/nftlib.c, agent/sdlib.c, agent/blkidlib.c): ldd does not list them.
for soname in libnftables.so.1 libsystemd.so.0 libblkid.so.1; do
	dlib=$(ldconfig -p | awk -v l="$soname" '$1 == l {print $NF; exit}')
	if [ -z "$dlib" ]; then
		say "$soname is not installed: doagent loads it when it applies a firewall, talks to systemd or probes a volume" >&2
		exit 1
	fi
	runtime="$runtime $(owner "$dlib")"
done
# shellcheck disable=SC2086 # one package a word
apt-mark manual $runtime >/dev/null
if [ "$DOAGENT_PURGE_BUILD_DEPS" = yes ] && [ -n "$added" ]; then
	say "removing the build dependencies"
	# shellcheck disable=SC2086 # one package a word
	apt purge --auto-remove $added
fi
if ldd /usr/sbin/doagent /usr/bin/doagent-launch | grep -q 'not found'; then
	ldd /usr/sbin/doagent /usr/bin/doagent-launch >&2
	say "doagent lost a library" >&2
	exit 1
fi
/usr/sbin/doagent --version

[ ! -d /run/systemd/system ] || systemctl daemon-reload
systemctl enable --quiet doagent.service
for unit in redis-server.service stunnel@doagent-redis.service; do
	if systemctl is-enabled --quiet "$unit" 2>/dev/null; then
		say "$unit is enabled: doagent must start it, not the boot" >&2
		exit 1
	fi
done
say "doagent.service: $(systemctl is-enabled doagent.service)"
rm -f "$DOAGENT_TARBALL"
