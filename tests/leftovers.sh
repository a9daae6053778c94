#!/bin/sh
# What a test run left behind. tests/run-all exports DOAGENT_RUN_ID before it starts
# anything, so every process the run starts (daemonized or not, in a network namespace
# or not) carries it in its environment; containers' processes die with their
# systemd-nspawn, which carries it too. It also exports DOAGENT_RUN_TAG, which the
# tests put into the names of their network namespaces (doagent-TAG-...) and temporary
# directories (doagent-test.TAG.*): what others on the machine make is not counted.
#
#   leftovers.sh snapshot FILE   note the network namespaces, loop devices and mounts
#                                that exist before the run
#   leftovers.sh check FILE      name every process of this run still alive (a
#                                redis-server, redis-sentinel, stunnel, fake server,
#                                systemd-nspawn, anything), and every doagent network
#                                namespace, loop device or test mount that was not
#                                there before; stop and remove them, and fail
set -eu

usage() {
	echo "usage: $0 snapshot|check FILE (with DOAGENT_RUN_ID and DOAGENT_RUN_TAG set)" >&2
	exit 2
}
[ $# -eq 2 ] || usage
[ -n "${DOAGENT_RUN_ID:-}" ] && [ -n "${DOAGENT_RUN_TAG:-}" ] || usage
file=$2

netns() { ip netns list 2>/dev/null | awk -v p="doagent-$DOAGENT_RUN_TAG-" 'index($1, p) == 1 {print $1}' | sort; }
loops() { losetup -n -l -O NAME,BACK-FILE 2>/dev/null | awk -v t="/doagent-test.$DOAGENT_RUN_TAG." 'index($2, t) {print $1 " " $2}' | sort; }
mounts() { awk -v t="/doagent-test.$DOAGENT_RUN_TAG." 'index($2, t) {print $2}' /proc/self/mounts | sort; }

state() {
	netns | sed 's/^/netns /'
	loops | sed 's/^/loop /'
	mounts | sed 's/^/mount /'
}

# The PIDs of this script and its ancestors: they carry the marker and are not leftovers.
ancestors() {
	local pid=$$ st
	while [ "$pid" -gt 1 ]; do
		echo "$pid"
		st=$(cat "/proc/$pid/stat" 2>/dev/null) || return 0
		st=${st##*) }
		# shellcheck disable=SC2086 # the fields of /proc/PID/stat
		set -- $st
		pid=$2
	done
}

# descends PID: is PID this script's own child (a command substitution, awk, ...)?
descends() {
	local pid=$1 st
	while [ "$pid" -gt 1 ]; do
		[ "$pid" != $$ ] || return 0
		st=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
		st=${st##*) }
		# shellcheck disable=SC2086
		set -- $st
		pid=$2
	done
	return 1
}

processes() {
	local mine p pid
	mine=" $(ancestors | tr '\n' ' ') "
	for p in /proc/[0-9]*; do
		pid=${p#/proc/}
		case $mine in *" $pid "*) continue ;; esac
		{ tr '\0' '\n' <"$p/environ"; } 2>/dev/null | grep -qx "DOAGENT_RUN_ID=$DOAGENT_RUN_ID" || continue
		! descends "$pid" || continue
		# Zombies are gone as far as anyone is concerned; their parent will reap them.
		grep -q '^State:[[:space:]]*Z' "$p/status" 2>/dev/null && continue
		echo "$pid"
	done
}

case $1 in
snapshot)
	state >"$file"
	;;
check)
	[ -f "$file" ] || { echo "$0: no snapshot $file" >&2; exit 2; }
	found=0
	pids=$(processes)
	for pid in $pids; do
		printf 'left behind: process %s (%s) %s; netns %s; cwd %s\n' "$pid" \
			"$(cat "/proc/$pid/comm" 2>/dev/null)" \
			"$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-200)" \
			"$(ip netns identify "$pid" 2>/dev/null || echo '?')" \
			"$(readlink "/proc/$pid/cwd" 2>/dev/null || echo '?')"
		found=$((found + 1))
	done
	state | sort >"$file.now"
	sort "$file" | comm -13 - "$file.now" >"$file.new" || :
	while read -r kind what rest; do
		echo "left behind: $kind $what${rest:+ ($rest)}"
		found=$((found + 1))
	done <"$file.new"
	[ "$found" -ne 0 ] || { echo "nothing left behind"; rm -f "$file.now" "$file.new"; exit 0; }
	# Clean up after reporting, so that the machine is not left with them either.
	for pid in $pids; do kill -KILL "$pid" 2>/dev/null || :; done
	while read -r kind what rest; do
		case $kind in
		netns) ip netns del "$what" 2>/dev/null || : ;;
		loop) losetup -d "$what" 2>/dev/null || : ;;
		mount) umount -l "$what" 2>/dev/null || : ;;
		esac
	done <"$file.new"
	rm -f "$file.now" "$file.new"
	echo "$found thing(s) left behind by the run (stopped or removed now)"
	exit 1
	;;
*) usage ;;
esac
