# shellcheck shell=sh disable=SC2034
# Shared by the shell tests: sourced, never run. POSIX sh plus "local".
# The harness exports DOAGENT (the built binary), top_srcdir and top_builddir.

set -eu

: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${DOAGENT:=$top_builddir/doagent}"
TEMPLATES="$top_srcdir/agent/templates"
FIXTURES="$top_srcdir/tests/fixtures"
EXAMPLES="$top_srcdir/userdata-examples"

tests_run=0
tests_failed=0

# DOAGENT_RUN_TAG (tests/run-all sets it) marks this run's directories and network
# namespaces, so that tests/leftovers.sh can tell what the run left from what others made.
TMP=$(mktemp -d "${TMPDIR:-/tmp}/doagent-test.${DOAGENT_RUN_TAG:+$DOAGENT_RUN_TAG.}XXXXXX")
NETNS_PREFIX="doagent-${DOAGENT_RUN_TAG:+$DOAGENT_RUN_TAG-}"
cleanup_hooks=""
at_exit() { cleanup_hooks="$1; $cleanup_hooks"; }
_cleanup() {
	local status=$?
	eval "$cleanup_hooks" || true
	# A daemon a hook just killed may still be writing its log: try again.
	rm -rf "$TMP" 2>/dev/null || { sleep 1; rm -rf "$TMP"; } || true
	return $status
}
trap _cleanup EXIT
trap 'exit 130' INT TERM

# skip REASON: exit 77 (automake's SKIP) with the reason shown, unless the run
# demands that nothing skips (CI sets DOAGENT_NO_SKIP=1), when it is a failure.
skip() {
	if [ "${DOAGENT_NO_SKIP:-0}" = 1 ]; then
		echo "FAIL (skipping is not allowed here): $*" >&2
		exit 1
	fi
	echo "SKIP: $*" >&2
	exit 77
}

# skip_part REASON: leave out part of a test; finish then reports the whole test
# as skipped (or failed under DOAGENT_NO_SKIP=1) when nothing failed.
skipped=""
skip_part() {
	echo "part skipped: $*" >&2
	skipped="$skipped; $*"
}

fail() {
	echo "FAIL: $*" >&2
	tests_failed=$((tests_failed + 1))
}

ok() {
	echo "ok: $*"
}

# check NAME: count one check; use as "check NAME && cond || fail NAME"
check() { tests_run=$((tests_run + 1)); }

finish() {
	echo "$((tests_run - tests_failed)) passed, $tests_failed failed"
	[ "$tests_failed" -eq 0 ] || exit 1
	[ -z "$skipped" ] || skip "${skipped#; }"
	exit 0
}

need() {
	for prog in "$@"; do
		command -v "$prog" >/dev/null 2>&1 || skip "$prog is not installed"
	done
}

# alive PID: the process exists and is not a zombie.
alive() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}

# stop_pid PID...: SIGTERM each, wait up to 5 s, then SIGKILL what is still alive and
# wait for it to go. A Redis whose last save fails refuses SIGTERM: start test Redis
# with --save '' and this still ends it. Empty or non-numeric arguments are ignored.
stop_pid() {
	local pid n=50 left
	for pid in "$@"; do
		case $pid in '' | *[!0-9]*) continue ;; esac
		kill -TERM "$pid" 2>/dev/null || :
	done
	while [ $n -gt 0 ]; do
		left=""
		for pid in "$@"; do
			case $pid in '' | *[!0-9]*) continue ;; esac
			! alive "$pid" || left="$left $pid"
		done
		[ -n "$left" ] || return 0
		sleep 0.1
		n=$((n - 1))
	done
	for pid in $left; do
		echo "stop_pid: $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)) ignored SIGTERM: killing it" >&2
		kill -KILL "$pid" 2>/dev/null || :
	done
	n=50
	while [ $n -gt 0 ]; do
		left=""
		for pid in "$@"; do
			case $pid in '' | *[!0-9]*) continue ;; esac
			! alive "$pid" || left=1
		done
		[ -n "$left" ] || return 0
		sleep 0.1
		n=$((n - 1))
	done
}

# stop_pidfile FILE...: stop_pid on the PIDs the files hold (missing files are fine).
stop_pidfile() {
	local f pids=""
	for f in "$@"; do
		[ ! -s "$f" ] || pids="$pids $(cat "$f" 2>/dev/null)"
	done
	# shellcheck disable=SC2086 # one PID a word
	stop_pid $pids
}

# A free TCP port on loopback (best effort: bind-and-release through python3).
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# run_agent ARGS...: run doagent, keeping stdout, stderr and the status in
# $TMP/out, $TMP/err and $status.
run_agent() {
	status=0
	"$DOAGENT" "$@" >"$TMP/out" 2>"$TMP/err" || status=$?
}
