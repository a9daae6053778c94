#!/bin/sh
# Install what doagent needs on Debian 12: "build" for building it, "test" for
# running every test as well. Installs only what is missing; needs root for that.
set -eu

build="build-essential autoconf automake pkg-config libcurl4-openssl-dev libinih-dev
libjson-c-dev libsystemd-dev libcmocka-dev libssl-dev libnftables-dev libblkid-dev"
test="$build redis-server redis-sentinel redis-tools python3-redis stunnel4 nftables iproute2 python3 strace
valgrind groff-base man-db xz-utils debootstrap systemd-container util-linux
iputils-ping openssl clang libclang-rt-14-dev e2fsprogs xfsprogs
packer shellcheck gpg dpkg-dev"

case "${1:-}" in
build) want=$build ;;
test) want=$test ;;
*) echo "usage: $0 build|test" >&2; exit 2 ;;
esac

missing=""
for pkg in $want; do
	dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $pkg"
done
# Prism (DigitalOcean's API contract in tests/launch.sh) comes from npm.
PRISM_VERSION=5.16.0
need_prism=false
if [ "$1" = test ] && ! prism --version 2>/dev/null | grep -qx "$PRISM_VERSION"; then
	need_prism=true
	command -v npm >/dev/null 2>&1 || missing="$missing npm"
fi
[ -z "$missing" ] && ! $need_prism && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "$0: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Do not let package scripts start services (redis-server) on this machine.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
if [ -n "$missing" ]; then
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing
fi
if $need_prism; then
	npm install --global --no-fund --no-audit --loglevel=error "@stoplight/prism-cli@$PRISM_VERSION"
fi
