#!/bin/sh
# Run shellcheck on every shell script in the tree: the Packer provisioning, the test
# scripts and their libraries, the dependency installer and the CI entry point.
# Warnings and errors fail (settings in .shellcheckrc); notes and style do not.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

need shellcheck
cd "$top_srcdir"

# Every shell script: *.sh, and files that start with a sh or bash shebang, in
# the directories that hold scripts (not the fuzzers' seeds, which are data).
scripts=$(
	find packer tests bench .ci -type d \( -name seeds -o -name regressions -o -name __pycache__ \) -prune \
		-o -type f -print 2>/dev/null | LC_ALL=C sort | while read -r f; do
		case $f in
		*.sh) echo "$f" ;;
		*) if head -n 1 "$f" | grep -Eq '^#! ?(/usr)?/bin/(env )?(ba|da)?sh'; then echo "$f"; fi ;;
		esac
	done
)
for f in $scripts; do
	check
	if ! shellcheck -x -S warning "$f" >"$TMP/sc.out" 2>&1; then
		cat "$TMP/sc.out" >&2
		fail "shellcheck: $f"
	fi
done
# Packer runs these as they are: executable, with a shebang, and "set -eu".
for f in packer/scripts/*; do
	check; [ -x "$f" ] && head -n 1 "$f" | grep -Eq '^#!/bin/(ba)?sh$' || fail "$f: not an executable sh or bash script"
	check; grep -qx 'set -eu' "$f" || fail "$f: no 'set -eu'"
	# The provisioning scripts are held to shellcheck's notes and style as well.
	check; shellcheck -x "$f" >"$TMP/sc.out" 2>&1 || { cat "$TMP/sc.out" >&2; fail "shellcheck (style): $f"; }
done
ok "$(echo "$scripts" | wc -l) scripts"
finish
