# shellcheck shell=sh disable=SC2034
# Tests that boot a Debian 12 system container with a real systemd: sourced,
# never run. POSIX sh plus "local", like ../lib.sh (which this sources).
#
#   container_root_base             the cached debootstrapped root ($CONTAINER_BASE)
#   container_prepare NAME          a fresh root for NAME with doagent installed
#                                   ($CONTAINER_ROOT, $CONTAINER_IP)
#   container_start_fake_metadata NAME CMD...
#                                   run CMD on the host side of NAME's link, where
#                                   169.254.169.254 lives; returns once port 80 listens
#   container_boot NAME [ROOT]      boot it; returns once systemd is up and host0 has
#                                   its address
#   container_exec NAME CMD...      run CMD inside the container (nsenter)
#   container_host NAME CMD...      run CMD on the host side of the link (reaches
#                                   $CONTAINER_IP; where the fake metadata runs)
#   container_enable NAME UNIT...   enable units in the prepared root (before boot)
#   container_stop NAME             power off cleanly (kill after a deadline)
#   container_ip NAME, container_root NAME
#   container_loop FILE             attach FILE to a free loop device on the host
#                                   ($CONTAINER_LOOP), detached at exit
#   container_volume NAME DEV VOLUME [later]
#                                   hand DEV to NAME at each boot as the DigitalOcean
#                                   volume VOLUME; its by-id symlink is made early in
#                                   each boot, or with "later" by container_volume_appear
#   container_volume_appear NAME DEV VOLUME
#                                   make the by-id symlink in the running NAME now
#
# The network: every container gets its own pair of network namespaces. The
# container's ("doagent-TAG-ct", given to systemd-nspawn; container_netns_ct) holds host0, which
# systemd-networkd in the container configures as $CONTAINER_IP/16 from a .network
# file; the host side ("doagent-TAG", container_netns) holds ve-TAG with 169.254.169.254/16. Test
# traffic therefore never touches the host's own interfaces or routes, and tests
# can run in parallel, each with its own fake metadata service on port 80.
#
# Everything is undone at exit, in reverse order, through at_exit; what a killed
# test left behind is removed by the next container_prepare.
#
# Settings (environment): DOAGENT_CONTAINER_CACHE (default /var/cache/doagent-tests),
# DOAGENT_CONTAINER_REBUILD=1 (refresh the cached image), DOAGENT_CONTAINER_COPY=1
# (copy the base instead of an overlay), DOAGENT_DEBIAN_MIRROR (default: the one
# apt uses here), CONTAINER_BOOT_TIMEOUT (60 s), CONTAINER_BOOT_WAIT (running or
# started), CONTAINER_STOP_TIMEOUT (30 s), CONTAINER_EXEC_TIMEOUT (120 s),
# CONTAINER_BUILD_TIMEOUT (1200 s), CONTAINER_METADATA_PORT (80), CONTAINER_INSTALL=no
# (container_prepare leaves doagent out).
# Needs root, debootstrap and systemd-container (systemd-nspawn); skips otherwise.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/lib.sh"

# Packages of the base image. Changing this list (or CONTAINER_RECIPE when the
# preparation below changes) rebuilds the cached image on the next run.
CONTAINER_PACKAGES="systemd systemd-sysv dbus iproute2 redis-server redis-sentinel redis-tools
stunnel4 nftables ufw ca-certificates curl libcurl4 libinih1 libjson-c5
libsystemd0 libssl3 libnftables1 libblkid1 e2fsprogs xfsprogs libcmocka0 libasan8
libubsan1"
CONTAINER_RECIPE=1
CONTAINER_SUITE=bookworm
CONTAINER_CACHE=${DOAGENT_CONTAINER_CACHE:-/var/cache/doagent-tests}
CONTAINER_METADATA_ADDR=169.254.169.254
: "${CONTAINER_BOOT_TIMEOUT:=60}"
: "${CONTAINER_STOP_TIMEOUT:=30}"
: "${CONTAINER_EXEC_TIMEOUT:=120}"
: "${CONTAINER_BUILD_TIMEOUT:=1200}"
: "${CONTAINER_BOOT_WAIT:=running}"

# A hangup or a closed pipe must not leave containers and mounts behind either;
# once the output is gone, the clean-up must not die of SIGPIPE halfway.
trap 'exit 129' HUP
trap 'trap "" PIPE; exit 141' PIPE

CONTAINER_BASE=""
CONTAINER_BASE_MS=0
CONTAINER_BOOT_MS=0
CONTAINER_ROOT=""
CONTAINER_IP=""
_ct_count=0

_ct_say() { echo "container: $*" >&2; }
_ct_die() {
	echo "container: ERROR: $*" >&2
	exit 1
}
CONTAINER_ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:exitcode=86
CONTAINER_UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# _ct_sanitized BINARY: built with AddressSanitizer?
_ct_sanitized() { readelf -d "$1" 2>/dev/null | grep -q 'NEEDED.*libasan'; }
_ct_now_ms() { echo $(($(date +%s%N) / 1000000)); }
# _ct_secs MS: milliseconds as seconds with three decimals.
_ct_secs() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }

# container_require: skip (../lib.sh) unless this machine can run containers.
container_require() {
	[ "$(id -u)" -eq 0 ] || skip "containers need root"
	need debootstrap systemd-nspawn nsenter ip flock timeout chroot
	[ -d /sys/fs/cgroup ] || skip "no cgroup file system for systemd-nspawn"
}

# The Debian mirror this machine's apt uses for the suite (so that a local
# mirror or proxy set up for apt is used here too), else deb.debian.org.
_ct_mirror() {
	if [ -n "${DOAGENT_DEBIAN_MIRROR:-}" ]; then
		echo "$DOAGENT_DEBIAN_MIRROR"
		return
	fi
	local found=""
	found=$(
		for f in /etc/apt/sources.list.d/*.sources; do
			[ -f "$f" ] || continue
			awk -v suite="$CONTAINER_SUITE" '
			function flush() {
				if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") &&
				    enabled != "no" && uris != "") { split(uris, u, " "); print u[1] }
				types = suites = uris = enabled = ""
			}
			/^[ \t]*$/ { flush(); next }
			/^#/ { next }
			{ key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^ +/, "")
			  if (key == "types") types = $0
			  else if (key == "uris") uris = $0
			  else if (key == "suites") suites = $0
			  else if (key == "enabled") enabled = tolower($0) }
			END { flush() }' "$f"
		done
		cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			awk -v suite="$CONTAINER_SUITE" '
			$1 == "deb" {
				i = 2
				if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
				if ($(i + 1) == suite) print $i
			}'
	)
	found=$(echo "$found" | grep -E '^(https?|file):' | head -n 1)
	echo "${found:-http://deb.debian.org/debian}"
}

_ct_stamp() {
	# shellcheck disable=SC2086 # one package a word
	printf 'suite=%s\nvariant=minbase\nrecipe=%s\npackages=%s\n' "$CONTAINER_SUITE" \
		"$CONTAINER_RECIPE" "$(echo $CONTAINER_PACKAGES | tr ' ' '\n' | sort -u | tr '\n' ' ')"
}

# _ct_build_base DIR: debootstrap into DIR and make it look like the snapshot the
# Packer build leaves, before doagent is installed.
_ct_build_base() {
	local dir="$1" mirror log="$CONTAINER_CACHE/$CONTAINER_SUITE-base.log"
	mirror=$(_ct_mirror)
	_ct_say "building the $CONTAINER_SUITE base image from $mirror (log: $log)"
	# debootstrap puts a policy-rc.d that refuses every start into the target
	# while it installs the packages, so redis-server and stunnel are not started.
	# shellcheck disable=SC2086 # one package a word
	if ! timeout -k 10 "$CONTAINER_BUILD_TIMEOUT" debootstrap --variant=minbase \
		--include="$(echo $CONTAINER_PACKAGES | tr ' ' ',')" \
		"$CONTAINER_SUITE" "$dir" "$mirror" >"$log" 2>&1; then
		tail -n 30 "$log" >&2
		return 1
	fi
	[ ! -e "$dir/usr/sbin/policy-rc.d" ] || rm -f "$dir/usr/sbin/policy-rc.d"
	# Redis waits for doagent: the snapshot ships it disabled.
	chroot "$dir" systemctl disable --quiet redis-server.service redis-sentinel.service || return 1
	# Nothing that slows the boot or writes to a console nobody reads.
	chroot "$dir" systemctl mask --quiet apt-daily.timer apt-daily-upgrade.timer \
		dpkg-db-backup.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer \
		systemd-timesyncd.service console-getty.service getty@tty1.service || return 1
	[ "$(chroot "$dir" systemctl is-enabled redis-server.service 2>/dev/null)" = disabled ] || {
		_ct_say "redis-server.service is still enabled in the base image"
		return 1
	}
	# Each prepared root is a new machine: an empty machine-id (not "uninitialized":
	# that would also make it a first boot for systemd's presets) and no D-Bus copy.
	: >"$dir/etc/machine-id"
	rm -f "$dir/var/lib/dbus/machine-id" "$dir/etc/hostname"
	# No downloaded packages or lists in the image: smaller and faster to copy.
	rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*_* \
		"$dir"/var/cache/apt/*.bin
	mkdir -p "$dir/etc/systemd/network"
}

# container_root_base: make sure the cached base image is current, and hold a
# shared lock on it until this test exits (a rebuild waits for its users).
# Sets CONTAINER_BASE and CONTAINER_BASE_MS (0 when the cache was used).
container_root_base() {
	[ -z "$CONTAINER_BASE" ] || return 0
	container_require
	local base="$CONTAINER_CACHE/$CONTAINER_SUITE-base" stamp t0 tmp
	stamp="$base.stamp"
	mkdir -p "$CONTAINER_CACHE" || _ct_die "cannot create $CONTAINER_CACHE"
	exec 7>>"$CONTAINER_CACHE/lock"
	flock -s -w 1800 7 || _ct_die "timed out waiting for the lock on $CONTAINER_CACHE"
	# DOAGENT_CONTAINER_REBUILD=1 refreshes the image (newer packages from the mirror).
	[ "${DOAGENT_CONTAINER_REBUILD:-0}" != 1 ] || [ ! -f "$stamp" ] || {
		flock -u 7
		flock -x -w 1800 7 || _ct_die "timed out waiting for the lock on $CONTAINER_CACHE"
		rm -f "$stamp"
	}
	if [ ! -d "$base" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$(_ct_stamp)" ]; then
		flock -u 7
		_ct_say "waiting for exclusive use of $CONTAINER_CACHE"
		flock -x -w 1800 7 || _ct_die "timed out waiting for the lock on $CONTAINER_CACHE"
		# Another test may have built it while this one waited.
		if [ ! -d "$base" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$(_ct_stamp)" ]; then
			t0=$(_ct_now_ms)
			rm -rf "$base".new.* "$base".old.*
			tmp="$base.new.$$"
			if ! _ct_build_base "$tmp"; then
				rm -rf "$tmp"
				_ct_die "building the base image failed"
			fi
			rm -f "$stamp"
			[ ! -d "$base" ] || mv "$base" "$base.old.$$"
			mv "$tmp" "$base"
			rm -rf "$base.old.$$"
			_ct_stamp >"$stamp"
			CONTAINER_BASE_MS=$(($(_ct_now_ms) - t0))
			_ct_say "base image built in $(_ct_secs $CONTAINER_BASE_MS) s"
		fi
		flock -s -w 60 7 || _ct_die "cannot downgrade the lock on $CONTAINER_CACHE"
	fi
	[ "$CONTAINER_BASE_MS" -ne 0 ] || _ct_say "using the cached base image $base"
	CONTAINER_BASE=$base
}

# Network namespaces: doagent-[RUNTAG-]TAG (the host side) and ...-ct (the container's);
# tests/run-all's DOAGENT_RUN_TAG lets tests/leftovers.sh tell its own from others'.
CONTAINER_NETNS_PREFIX="doagent-${DOAGENT_RUN_TAG:+$DOAGENT_RUN_TAG-}"
_ct_netns() { echo "$CONTAINER_NETNS_PREFIX$1"; }
# container_netns NAME, container_netns_ct NAME: the host side's and the container's.
container_netns() { _ct_netns "$(_ct_get "$1" tag)"; }
container_netns_ct() { echo "$(container_netns "$1")-ct"; }

_ct_dir() { echo "$TMP/ct-$1"; }
_ct_get() { cat "$(_ct_dir "$1")/$2" 2>/dev/null; }
container_root() { _ct_get "$1" rootdir; }
container_ip() { _ct_get "$1" ip; }

_ct_alive() {
	local st
	[ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}

_ct_children() {
	if [ -r "/proc/$1/task/$1/children" ]; then
		cat "/proc/$1/task/$1/children"
		return
	fi
	local parent="$1" p st
	for p in /proc/[0-9]*; do
		st=$(cat "$p/stat" 2>/dev/null) || continue
		st=${st##*) }
		# shellcheck disable=SC2086 # the fields of /proc/PID/stat
		set -- $st
		[ "$2" != "$parent" ] || echo "${p#/proc/}"
	done
}

# _ct_leader NAME: the container's PID 1 (the systemd below systemd-nspawn, in a
# PID namespace of its own), or nothing while it is not there yet.
_ct_leader() {
	local pid c
	pid=$(_ct_get "$1" nspawn.pid) || return 1
	_ct_alive "$pid" || return 1
	for c in $(_ct_children "$pid"); do
		[ "$(cat "/proc/$c/comm" 2>/dev/null)" = systemd ] || continue
		[ "$(readlink "/proc/$c/ns/pid")" != "$(readlink /proc/self/ns/pid)" ] || continue
		echo "$c"
		return 0
	done
	return 1
}

# _ct_nsenter SECONDS LEADER CMD...
_ct_nsenter() {
	local t="$1" leader="$2"
	shift 2
	timeout -k 5 "$t" nsenter --target "$leader" --mount --uts --ipc --net --pid -r -w -- \
		env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 TERM=dumb ${ASAN_OPTIONS:+"ASAN_OPTIONS=$ASAN_OPTIONS"} \
		${UBSAN_OPTIONS:+"UBSAN_OPTIONS=$UBSAN_OPTIONS"} "$@" 7>&-
}

# container_exec NAME CMD...: run CMD in the container as root, with a clean
# environment, bounded by CONTAINER_EXEC_TIMEOUT; its status is CMD's (124 on
# timeout, 125 when the container is not running).
container_exec() {
	local name="$1" leader
	shift
	leader=$(_ct_leader "$name") || {
		_ct_say "$name is not running"
		return 125
	}
	_ct_nsenter "$CONTAINER_EXEC_TIMEOUT" "$leader" "$@"
}

# container_host NAME CMD...: run CMD on the host side of NAME's link.
container_host() {
	local name="$1" tag
	shift
	tag=$(_ct_get "$name" tag) || _ct_die "$name is not prepared"
	timeout -k 5 "$CONTAINER_EXEC_TIMEOUT" ip netns exec "$(_ct_netns "$tag")" "$@" 7>&-
}

# Remove what killed runs of this harness left behind: containers, overlay
# mounts, temporary directories and network namespaces of test processes that
# are gone (each ct-NAME directory records its test's PID; each namespace's tag
# carries it too).
_ct_reap_stale() {
	local owner ct d pid ns
	for owner in "${TMPDIR:-/tmp}"/doagent-test.*/ct-*/owner; do
		[ -f "$owner" ] || continue
		ct=${owner%/owner}
		d=${ct%/ct-*}
		[ "$d" != "$TMP" ] || continue
		pid=$(cat "$owner" 2>/dev/null) || continue
		[ -n "$pid" ] && [ ! -d "/proc/$pid" ] || continue
		_ct_say "cleaning up after a test that was killed: $ct"
		pid=$(cat "$ct/nspawn.pid" 2>/dev/null) || pid=""
		if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = systemd-nspawn ]; then
			for ns in $(_ct_children "$pid"); do kill -KILL "$ns" 2>/dev/null || true; done
			kill -KILL "$pid" 2>/dev/null || true
			sleep 0.5
		fi
		umount -l "$ct/root" 2>/dev/null || true
		rm -rf "$d"
	done
	# Loop devices on images under the temporary directory of a test that is gone.
	losetup -l -n -O NAME,BACK-FILE 2>/dev/null | while read -r ns d; do
		case $d in "${TMPDIR:-/tmp}"/doagent-test.*/*) ;; *) continue ;; esac
		pid=${d#"${TMPDIR:-/tmp}"/doagent-test.}
		pid=$(cat "${TMPDIR:-/tmp}/doagent-test.${pid%%/*}/ct-loop.owner" 2>/dev/null) || pid=""
		[ -z "$pid" ] || [ -d "/proc/$pid" ] || losetup -d "$ns" 2>/dev/null || true
	done
	for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^doagent-([a-z0-9]+-)?dg[0-9a-f]+(n[0-9]+(-ct)?|vpc)$/ {print $1}'); do
		pid=${ns##*-dg}
		pid=$((0x${pid%%[!0-9a-f]*}))
		[ -d "/proc/$pid" ] || ip netns del "$ns" 2>/dev/null || true
	done
}

# container_prepare NAME: a fresh root under $TMP (an overlay on the cached base,
# or a copy where overlayfs is not available) with doagent installed by
# "make install DESTDIR=", host0 configured by systemd-networkd, an empty
# machine-id, and the network namespaces of its link. Sets CONTAINER_ROOT and
# CONTAINER_IP.
container_prepare() {
	local name="$1" d root tag ip n unit
	case $name in
	'' | *[!a-z0-9-]* | -*) _ct_die "container name '$name': use a-z, 0-9 and -" ;;
	esac
	[ ${#name} -le 40 ] || _ct_die "container name '$name' is too long"
	container_root_base
	d=$(_ct_dir "$name")
	[ ! -e "$d" ] || _ct_die "container $name is already prepared"
	_ct_reap_stale
	mkdir -p "$d/root" "$d/upper" "$d/work"
	echo $$ >"$d/owner"
	root="$d/root"
	echo "$root" >"$d/rootdir"
	# DOAGENT_CONTAINER_COPY=1: a plain copy even where overlayfs works.
	if [ "${DOAGENT_CONTAINER_COPY:-0}" != 1 ] && mount -t overlay overlay \
		-o "lowerdir=$CONTAINER_BASE,upperdir=$d/upper,workdir=$d/work" "$root" 2>"$d/mount.err"; then
		at_exit "_ct_unmount $name"
	else
		[ "${DOAGENT_CONTAINER_COPY:-0}" = 1 ] ||
			_ct_say "overlayfs is not available ($(cat "$d/mount.err")): copying the base"
		cp -a --reflink=auto "$CONTAINER_BASE/." "$root/" || _ct_die "copying the base image failed"
	fi

	# Not the jobserver or flags of a "make check" that may be running this test.
	# The units go where the container's systemd looks, whatever prefix the build
	# was configured with (make distcheck uses one under its own directory).
	# CONTAINER_INSTALL=no leaves doagent out (the test installs it its own way).
	[ "${CONTAINER_INSTALL:-yes}" = no ] ||
		env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
			make -C "$top_builddir" install DESTDIR="$root" \
			systemdsystemunitdir=/lib/systemd/system >"$d/install.log" 2>&1 || {
		tail -n 30 "$d/install.log" >&2
		_ct_die "make install DESTDIR=$root failed"
	}
	# A sanitizer build (tests/run-all): its runtime is in the image; doagent fails
	# its unit on the first error and logs the report to the journal. No leak
	# checks in here: LeakSanitizer cannot stop the world inside systemd-nspawn and
	# spins; the same binaries' leaks are checked outside (ASan run, valgrind).
	if [ "${CONTAINER_INSTALL:-yes}" != no ] && _ct_sanitized "$top_builddir/doagent"; then
		# doagent-volume.service ([storage] volume) runs doagent too.
		for unit in doagent.service doagent-volume.service; do
			mkdir -p "$root/etc/systemd/system/$unit.d"
			printf '[Service]\nEnvironment=ASAN_OPTIONS=%s\nEnvironment=UBSAN_OPTIONS=%s\n' \
				"$CONTAINER_ASAN_OPTIONS" "$CONTAINER_UBSAN_OPTIONS" \
				>"$root/etc/systemd/system/$unit.d/sanitizers.conf"
		done
		ASAN_OPTIONS=$CONTAINER_ASAN_OPTIONS UBSAN_OPTIONS=$CONTAINER_UBSAN_OPTIONS
		export ASAN_OPTIONS UBSAN_OPTIONS
	fi

	_ct_count=$((_ct_count + 1))
	tag=$(printf 'dg%xn%d' $$ "$_ct_count")
	n=$(($$ % 250 + 1))
	[ "$n" -ne 169 ] || n=170
	ip="169.254.$n.$((_ct_count % 250 + 2))"
	echo "$tag" >"$d/tag"
	echo "$ip" >"$d/ip"

	echo "$name" >"$root/etc/hostname"
	: >"$root/etc/machine-id"
	rm -f "$root/var/lib/dbus/machine-id"
	mkdir -p "$root/etc/systemd/network"
	# Sorts before the shipped 80-container-host0.network, which would win otherwise.
	# No duplicate address detection: networkd turns it on for 169.254.0.0/16 and
	# its probes hold the address back for about 6 s.
	cat >"$root/etc/systemd/network/10-doagent-host0.network" <<EOF
[Match]
Name=host0

[Network]
LinkLocalAddressing=no
IPv6AcceptRA=no

[Address]
Address=$ip/16
DuplicateAddressDetection=none
EOF
	chroot "$root" systemctl enable --quiet systemd-networkd.service ||
		_ct_die "cannot enable systemd-networkd in $root"

	ip netns add "$(_ct_netns "$tag")" && ip netns add "$(_ct_netns "$tag")-ct" ||
		_ct_die "cannot create network namespaces for $name"
	at_exit "_ct_netns_del $name"
	ip -n "$(_ct_netns "$tag")" link set lo up &&
		ip -n "$(_ct_netns "$tag")" link add "ve-$tag" type veth peer name host0 netns "$(_ct_netns "$tag")-ct" &&
		ip -n "$(_ct_netns "$tag")" addr add "$CONTAINER_METADATA_ADDR/16" dev "ve-$tag" &&
		ip -n "$(_ct_netns "$tag")" link set "ve-$tag" up ||
		_ct_die "cannot set up the link for $name"

	CONTAINER_ROOT=$root
	CONTAINER_IP=$ip
	_ct_say "$name prepared in $root, address $ip"
}

# The VPC: several containers on one private network, as droplets in one VPC are. A
# network namespace of its own holds a bridge; container_vpc_attach gives a prepared
# container a second link (eth1 inside) into it, with its private address set on it.
# The namespace itself stands for another droplet in the VPC (container_vpc_exec): it
# has CONTAINER_VPC_CLIENT on the bridge.
#
#   container_vpc_create [PREFIX]        the VPC, PREFIX.0.0/16 (default 10.134)
#   container_vpc_attach NAME ADDR       NAME's eth1 on the bridge with ADDR/16
#   container_vpc_exec CMD...            CMD in the VPC's namespace (a VPC neighbour)
#   container_vpc_cut NAME, container_vpc_heal NAME
#                                        take NAME's link to the VPC down, and up again
CONTAINER_VPC_NS=""
CONTAINER_VPC_CLIENT=""
container_vpc_create() {
	local prefix="${1:-10.134}"
	[ -z "$CONTAINER_VPC_NS" ] || _ct_die "the VPC exists already"
	CONTAINER_VPC_NS=$(_ct_netns "$(printf 'dg%xvpc' $$)")
	CONTAINER_VPC_CLIENT="$prefix.0.1"
	ip netns add "$CONTAINER_VPC_NS" || _ct_die "cannot create the VPC's namespace"
	at_exit "ip netns del $CONTAINER_VPC_NS 2>/dev/null || true"
	ip -n "$CONTAINER_VPC_NS" link set lo up &&
		ip -n "$CONTAINER_VPC_NS" link add br0 type bridge &&
		ip -n "$CONTAINER_VPC_NS" addr add "$CONTAINER_VPC_CLIENT/16" dev br0 &&
		ip -n "$CONTAINER_VPC_NS" link set br0 up || _ct_die "cannot set up the VPC's bridge"
	_ct_say "VPC $prefix.0.0/16 in $CONTAINER_VPC_NS (neighbour $CONTAINER_VPC_CLIENT)"
}

container_vpc_attach() {
	local name="$1" addr="$2" tag ct
	[ -n "$CONTAINER_VPC_NS" ] || _ct_die "container_vpc_create first"
	tag=$(_ct_get "$name" tag) || _ct_die "$name is not prepared"
	ct="$(_ct_netns "$tag")-ct"
	ip -n "$CONTAINER_VPC_NS" link add "vp-$tag" type veth peer name eth1 netns "$ct" &&
		ip -n "$CONTAINER_VPC_NS" link set "vp-$tag" master br0 &&
		ip -n "$CONTAINER_VPC_NS" link set "vp-$tag" up &&
		ip -n "$ct" addr add "$addr/16" dev eth1 &&
		ip -n "$ct" link set eth1 up || _ct_die "cannot attach $name to the VPC"
	echo "$addr" >"$(_ct_dir "$name")/vpc-ip"
	_ct_say "$name is on the VPC at $addr"
}

container_vpc_ip() { _ct_get "$1" vpc-ip; }

container_vpc_exec() {
	[ -n "$CONTAINER_VPC_NS" ] || _ct_die "container_vpc_create first"
	timeout -k 5 "$CONTAINER_EXEC_TIMEOUT" ip netns exec "$CONTAINER_VPC_NS" "$@" 7>&-
}

container_vpc_cut() { ip -n "$CONTAINER_VPC_NS" link set "vp-$(_ct_get "$1" tag)" down; }
container_vpc_heal() { ip -n "$CONTAINER_VPC_NS" link set "vp-$(_ct_get "$1" tag)" up; }

# container_kill NAME: the droplet dies: SIGKILL to systemd-nspawn and the container's
# PID 1, no shutdown. container_boot NAME starts it again, as a power-on would.
container_kill() {
	local name="$1" pid leader
	pid=$(_ct_get "$name" nspawn.pid) || return 0
	leader=$(_ct_leader "$name") || leader=""
	[ -z "$leader" ] || kill -KILL "$leader" 2>/dev/null || true
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	while _ct_alive "$pid"; do sleep 0.05; done
	rm -f "$(_ct_dir "$name")/nspawn.pid"
	_ct_say "$name killed"
}

# container_enable NAME UNIT...: enable units in NAME's root before it boots.
container_enable() {
	local name="$1" root
	shift
	root=$(container_root "$name") || _ct_die "$name is not prepared"
	chroot "$root" systemctl enable --quiet "$@" || _ct_die "cannot enable $* in $name"
}

_ct_unmount() {
	local root
	root=$(container_root "$1") || return 0
	umount "$root" 2>/dev/null || umount -l "$root" 2>/dev/null || true
}

_ct_netns_del() {
	local tag
	tag=$(_ct_get "$1" tag) || return 0
	ip netns del "$(_ct_netns "$tag")" 2>/dev/null || true
	ip netns del "$(_ct_netns "$tag")-ct" 2>/dev/null || true
}

# _ct_kill PID [SECONDS]: TERM, then KILL after SECONDS (default 5).
_ct_kill() {
	local pid="$1" n="$((${2:-5} * 10))"
	_ct_alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	while [ "$n" -gt 0 ] && _ct_alive "$pid"; do
		sleep 0.1
		n=$((n - 1))
	done
	! _ct_alive "$pid" || kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# container_start_fake_metadata NAME CMD...: run CMD (say, fake-metadata.py
# --bind 169.254.169.254 --port 80 ...) on the host side of NAME's link, with its
# output in $TMP/ct-NAME/metadata.log, and wait (10 s at most) until something
# listens on ${CONTAINER_METADATA_PORT:-80} there (or the log has "PORT 80"). It may run before or after
# container_boot; it is stopped at exit, or by container_stop_fake_metadata NAME.
container_start_fake_metadata() {
	local name="$1" tag d pid n=100 port="${CONTAINER_METADATA_PORT:-80}" lines
	shift
	tag=$(_ct_get "$name" tag) || _ct_die "$name is not prepared"
	d=$(_ct_dir "$name")
	lines=$(cat "$d/metadata.log" 2>/dev/null | wc -l)
	ip netns exec "$(_ct_netns "$tag")" "$@" </dev/null >>"$d/metadata.log" 2>&1 7>&- &
	pid=$!
	echo "$pid" >>"$d/metadata.pids"
	at_exit "_ct_kill $pid 3"
	while [ "$n" -gt 0 ]; do
		# Listening, or bound and said so (fake-metadata.py prints "PORT n" then,
		# also when --refuse-for keeps it from listening yet).
		[ -z "$(ip netns exec "$(_ct_netns "$tag")" ss -Hltn "sport = :$port" 2>/dev/null)" ] || break
		! tail -n "+$((lines + 1))" "$d/metadata.log" 2>/dev/null | grep -q "^PORT $port\$" || break
		_ct_alive "$pid" || {
			tail -n 20 "$d/metadata.log" >&2
			_ct_die "the fake metadata service exited: $*"
		}
		sleep 0.1
		n=$((n - 1))
	done
	[ "$n" -gt 0 ] || {
		tail -n 20 "$d/metadata.log" >&2
		_ct_die "nothing listens on $CONTAINER_METADATA_ADDR:$port after 10 s: $*"
	}
}

container_stop_fake_metadata() {
	local pid
	for pid in $(_ct_get "$1" metadata.pids); do
		_ct_kill "$pid" 3
	done
	rm -f "$(_ct_dir "$1")/metadata.pids"
}

# container_boot NAME [ROOT]: boot NAME with systemd-nspawn, its console in
# $TMP/ct-NAME/console.log. Returns when "systemctl is-system-running" says
# running or degraded (the boot is over: with doagent.service enabled, that is
# after doagent has finished) and host0 carries CONTAINER_IP, within
# CONTAINER_BOOT_TIMEOUT seconds; fails the test otherwise. With
# CONTAINER_BOOT_WAIT=started it returns as soon as systemd answers and host0 has
# its address, while the boot jobs may still run (see container_wait_unit).
# Sets CONTAINER_BOOT_MS. A stopped container may be booted again (a reboot).
container_boot() {
	local name="$1" root="${2:-}" d tag ip pid leader t0 deadline state="" ready="" up="" dev
	d=$(_ct_dir "$name")
	tag=$(_ct_get "$name" tag) || _ct_die "$name is not prepared (container_prepare)"
	ip=$(container_ip "$name")
	[ -n "$root" ] || root=$(container_root "$name")
	! _ct_alive "$(_ct_get "$name" nspawn.pid)" || _ct_die "$name is already running"
	[ -f "$d/stop-registered" ] || {
		at_exit "container_stop $name"
		: >"$d/stop-registered"
	}

	# The block devices of container_volume.
	set --
	for dev in $(_ct_get "$name" devices); do
		set -- "$@" "--bind=$dev" "--property=DeviceAllow=$dev rwm"
	done
	t0=$(_ct_now_ms)
	deadline=$((t0 + CONTAINER_BOOT_TIMEOUT * 1000))
	echo "--- boot at $(date '+%F %T')" >>"$d/console.log"
	# The container gets its own network namespace from us rather than through
	# --network-veth, so nspawn grants neither CAP_NET_ADMIN nor a writable
	# /proc/sys/net by itself (networkd would be skipped, nft could not load rules).
	SYSTEMD_NSPAWN_API_VFS_WRITABLE=network \
		systemd-nspawn --quiet --register=no --keep-unit -D "$root" -M "$name" \
		--network-namespace-path="/run/netns/$(_ct_netns "$tag")-ct" --capability=CAP_NET_ADMIN \
		--console=read-only --link-journal=no --resolv-conf=off --timezone=off \
		"$@" --boot </dev/null >>"$d/console.log" 2>&1 7>&- &
	pid=$!
	echo "$pid" >"$d/nspawn.pid"

	# ready: systemd is as far as CONTAINER_BOOT_WAIT asks; up: host0 has its address.
	while :; do
		_ct_alive "$pid" || break
		if leader=$(_ct_leader "$name"); then
			state=$(_ct_nsenter 5 "$leader" systemctl is-system-running 2>/dev/null) || true
			case $state in
			running | degraded) ready=1 ;;
			starting) [ "$CONTAINER_BOOT_WAIT" != started ] || ready=1 ;;
			maintenance | stopping) break ;;
			esac
			if [ -n "$ready" ] && ip -n "$(_ct_netns "$tag")-ct" -4 -o addr show dev host0 2>/dev/null |
				grep -q " $ip/"; then
				up=1
				break
			fi
		fi
		[ "$(_ct_now_ms)" -lt "$deadline" ] || break
		sleep 0.1
	done
	CONTAINER_BOOT_MS=$(($(_ct_now_ms) - t0))

	if ! _ct_alive "$pid"; then
		tail -n 40 "$d/console.log" >&2
		_ct_die "systemd-nspawn for $name exited during the boot"
	fi
	if [ -n "$up" ]; then
		_ct_say "$name booted in $(_ct_secs $CONTAINER_BOOT_MS) s ($state), at $ip"
		return 0
	fi
	if [ -n "$ready" ]; then
		container_exec "$name" networkctl --no-pager status host0 >&2 || true
		container_exec "$name" journalctl -b --no-pager -n 30 -u systemd-networkd >&2 || true
		_ct_die "$name booted but host0 does not have $ip after ${CONTAINER_BOOT_TIMEOUT} s"
	fi
	tail -n 40 "$d/console.log" >&2
	if [ -n "$state" ]; then
		container_exec "$name" systemctl --no-pager --failed >&2 || true
		container_exec "$name" systemctl --no-pager list-jobs >&2 || true
	fi
	_ct_die "$name did not boot within ${CONTAINER_BOOT_TIMEOUT} s (state: ${state:-unknown})"
}

# container_loop FILE: attach FILE (an image, say a sparse file under $TMP) to a free
# loop device on the host, without partition scanning; CONTAINER_LOOP is its path.
# It is detached at exit, whatever the outcome, after the containers have stopped.
container_loop() {
	local dev
	echo $$ >"$TMP/ct-loop.owner"
	dev=$(losetup --find --show "$1") || _ct_die "losetup $1 failed"
	at_exit "losetup -d $dev 2>/dev/null || true"
	CONTAINER_LOOP=$dev
	_ct_say "$1 is $dev"
}

# container_volume NAME DEV VOLUME [later]: at each boot of NAME, hand DEV (a loop
# device of container_loop) to it as the DigitalOcean volume VOLUME, as DESIGN.md
# says: systemd-nspawn --bind=DEV --property=DeviceAllow='DEV rwm'. There is no udev in
# a container to make /dev/disk/by-id/scsi-0DO_Volume_VOLUME: without "later", a
# tmpfiles.d line in NAME's root makes it early in each boot (systemd-tmpfiles-setup-dev,
# as early as udev would); with "later" the test makes it by container_volume_appear.
container_volume() {
	local name="$1" dev="$2" volume="$3" when="${4:-boot}" root d
	d=$(_ct_dir "$name")
	root=$(container_root "$name") || _ct_die "$name is not prepared"
	case $volume in '' | *[!a-z0-9-]*) _ct_die "volume name '$volume': use a-z, 0-9 and -" ;; esac
	[ -b "$dev" ] || _ct_die "$dev is not a block device"
	grep -qx "$dev" "$d/devices" 2>/dev/null || echo "$dev" >>"$d/devices"
	mkdir -p "$root/etc/tmpfiles.d"
	if [ "$when" = later ]; then
		rm -f "$root/etc/tmpfiles.d/doagent-test-volume-$volume.conf"
	else
		printf 'L /dev/disk/by-id/scsi-0DO_Volume_%s - - - - %s\n' "$volume" "$dev" \
			>"$root/etc/tmpfiles.d/doagent-test-volume-$volume.conf"
	fi
}

# container_volume_appear NAME DEV VOLUME: the volume is attached now: make its
# by-id symlink in the running container, as udev would on a droplet.
container_volume_appear() {
	container_exec "$1" mkdir -p /dev/disk/by-id &&
		container_exec "$1" ln -s "$2" "/dev/disk/by-id/scsi-0DO_Volume_$3"
}

# container_wait_unit NAME UNIT [SECONDS]: wait (default 150 s) until UNIT has no
# job queued or running and is neither activating nor deactivating; print its
# final ActiveState (active, failed, inactive). Status 1 on timeout.
container_wait_unit() {
	local name="$1" unit="$2" n="$((${3:-150} * 5))" job st
	while [ "$n" -gt 0 ]; do
		job=$(_ct_nsenter 10 "$(_ct_leader "$name")" systemctl list-jobs --no-legend "$unit" 2>/dev/null) || job=x
		st=$(_ct_nsenter 10 "$(_ct_leader "$name")" systemctl show -P ActiveState "$unit" 2>/dev/null) || st=""
		case $st in
		active | failed | inactive)
			if [ -z "$job" ]; then
				echo "$st"
				return 0
			fi
			;;
		esac
		sleep 0.2
		n=$((n - 1))
	done
	_ct_say "$unit in $name is still ${st:-unknown} (job: ${job:-none})"
	return 1
}

# container_failed_units NAME: the failed units, one a line (empty when none).
container_failed_units() {
	container_exec "$1" systemctl --no-legend --plain --failed | awk '{print $1}'
}

# container_stop NAME: "systemctl poweroff" inside, then wait CONTAINER_STOP_TIMEOUT
# seconds for systemd-nspawn to exit; SIGTERM it, then SIGKILL it and the
# container's PID 1. Does nothing when NAME is not running.
container_stop() {
	local name="$1" pid leader="" n t0
	pid=$(_ct_get "$name" nspawn.pid) || return 0
	if _ct_alive "$pid"; then
		t0=$(_ct_now_ms)
		n=$((CONTAINER_STOP_TIMEOUT * 10))
		while [ "$n" -gt 0 ] && _ct_alive "$pid"; do
			# Ask again every 2 s: a request made while systemd is still starting
			# may be lost. Before systemd runs in there (or when systemctl fails),
			# systemd-nspawn turns SIGTERM into a shutdown request.
			if [ $((n % 20)) -eq 0 ]; then
				leader=$(_ct_leader "$name") || leader=""
				[ -n "$leader" ] && _ct_nsenter 5 "$leader" systemctl --no-block poweroff \
					>/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
			fi
			sleep 0.1
			n=$((n - 1))
		done
		if _ct_alive "$pid"; then
			_ct_say "$name did not power off within ${CONTAINER_STOP_TIMEOUT} s: killing it"
			_ct_kill "$pid" 10
			[ -z "$leader" ] || ! _ct_alive "$leader" || kill -KILL "$leader" 2>/dev/null || true
		else
			_ct_say "$name powered off in $(_ct_secs $(($(_ct_now_ms) - t0))) s"
		fi
	fi
	wait "$pid" 2>/dev/null || true
	rm -f "$(_ct_dir "$name")/nspawn.pid"
}
