#!/bin/sh
# The README's first two commands are a new user's first contact: run them exactly as
# the README writes them, in order, in a fresh copy of this tree (its tracked files,
# as a clone has them), and then both again in the same copy. Each must succeed every
# time: the first builds, installs and shows the dry run; the second runs the tests
# (here with DOAGENT_RUN_ALL_QUICK=1: both build trees configured and built, one unit
# test in each, since the whole run is what is running this). Needs root (the first
# command installs) and git.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "the README's first command installs: it needs root"
need git tar
cmd1=$(sed -n 's/^    \(sh tests\/deps\.sh build .*\)$/\1/p' "$top_srcdir/README" | head -n 1)
cmd2=$(sed -n 's/^    \(sh tests\/run-all\)$/\1/p' "$top_srcdir/README" | head -n 1)
check; [ -n "$cmd1" ] || fail "the README has no first command (an indented line starting 'sh tests/deps.sh build')"
check; [ -n "$cmd2" ] || fail "the README has no second command (an indented line 'sh tests/run-all')"
[ "$tests_failed" -eq 0 ] || finish
# The first command must come first in the README.
check; [ "$(grep -n -m1 -F "    $cmd1" "$top_srcdir/README" | cut -d: -f1)" -lt \
	"$(grep -n -m1 -Fx "    $cmd2" "$top_srcdir/README" | cut -d: -f1)" ] || fail "the README gives the test command first"

copy="$TMP/tree"
mkdir -p "$copy"
(cd "$top_srcdir" && git ls-files -z | tar --null -T - -cf -) | tar -xf - -C "$copy"
check; [ -f "$copy/README" ] && [ ! -e "$copy/configure" ] && [ ! -e "$copy/build" ] ||
	fail "the copy is not a fresh tree"

run() { # ROUND NAME COMMAND
	local t0 t1 status=0
	t0=$(date +%s)
	(cd "$copy" && DOAGENT_RUN_ALL_QUICK=1 sh -c "$3") >"$TMP/$1-$2.log" 2>&1 || status=$?
	t1=$(date +%s)
	echo "round $1, $2: exit $status after $((t1 - t0)) s"
	check; [ "$status" -eq 0 ] || {
		tail -n 40 "$TMP/$1-$2.log" >&2
		fail "round $1: the README's $2 command failed (exit $status)"
	}
}
for round in 1 2; do
	run "$round" first "$cmd1"
	check; grep -q '^doagent plan for droplet ' "$TMP/$round-first.log" ||
		fail "round $round: the first command did not show the dry run"
	run "$round" second "$cmd2"
	check; grep -q 'quick run: both trees configured and built' "$TMP/$round-second.log" ||
		fail "round $round: the second command did not get through its builds"
	check; grep -q 'nothing left behind' "$TMP/$round-second.log" ||
		fail "round $round: the second command's leftover check did not pass"
done
finish
