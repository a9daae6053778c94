#!/bin/sh
# The ufw backend for real: ufw (0.36, on iptables-nft) in a booted Debian 12
# container. The admin's own rules come first; then fw-ufw.c, driven by
# tests/test-fw-ufw in a unit sandboxed like doagent.service, must: let Redis be
# reached from the allowed address and from no other; leave the admin's rules
# alone, even one for the same port and source as one of its own; keep only root
# from the metadata address when asked; change nothing when applied again;
# converge from another policy; remove only its own rules (with ufw enabled or
# not) and leave ufw enabled or disabled as it was. Checked from the host side
# of the link, with two source addresses.
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/container/lib.sh"

die() {
	echo "FAIL: $*" >&2
	exit 1
}

need python3 redis-cli
driver="$top_builddir/tests/test-fw-ufw"
[ -x "$driver" ] || skip "$driver is not built (it needs cmocka)"
container_root_base
container_prepare ufw
ip=$CONTAINER_IP
root=$CONTAINER_ROOT
port=6390
allowed=$CONTAINER_METADATA_ADDR	# policy a lets it reach $port
other=169.254.200.200			# policy b lets this one, and a does not

cp "$driver" "$root/usr/local/bin/doagent-test-fw-ufw"
# doagent.service's sandbox, so that ufw is shown to work inside it.
unit="$root/lib/systemd/system/doagent.service"
[ -f "$unit" ] || die "no doagent.service in $root"
awk '/^\[/ { s = ($0 == "[Service]") }
     s && /^(Protect|Private|NoNewPrivileges|Restrict|LockPersonality|MemoryDenyWriteExecute|SystemCall|CapabilityBoundingSet|ReadWritePaths|ReadOnlyPaths|InaccessiblePaths|UMask)/' \
	"$unit" >"$TMP/sandbox"
grep -q '^ProtectSystem=' "$TMP/sandbox" || die "no sandbox found in $unit"

# The fake metadata service's address serves a file (for metadata = root-only).
mkdir -p "$TMP/www"
echo metadata >"$TMP/www/v1.json"
container_start_fake_metadata ufw python3 -m http.server --bind "$CONTAINER_METADATA_ADDR" --directory "$TMP/www" 80
container_boot ufw
veth=$(container_host ufw ip -o link show type veth | awk -F': ' '{ sub(/@.*/, "", $2); print $2; exit }')
container_host ufw ip addr add "$other/16" dev "$veth" || die "cannot add $other to $veth"

# fw ARGS...: the driver (DOAGENT_TEST_UFW=1) in a transient unit with the sandbox.
fw() {
	local n line a
	set -- /usr/local/bin/doagent-test-fw-ufw "$@"
	n=$#
	while IFS= read -r line; do set -- "$@" -p "$line"; done <"$TMP/sandbox"
	while [ "$n" -gt 0 ]; do
		a=$1
		shift
		set -- "$@" "$a"
		n=$((n - 1))
	done
	container_exec ufw systemd-run --quiet --wait --pipe --collect -E DOAGENT_TEST_UFW=1 \
		${ASAN_OPTIONS:+-E "ASAN_OPTIONS=$ASAN_OPTIONS"} ${UBSAN_OPTIONS:+-E "UBSAN_OPTIONS=$UBSAN_OPTIONS"} \
		"$@" 2>&1 </dev/null
}
# fw_ok ARGS...: fw, counted as a check; its output in $TMP/fw.out.
fw_ok() {
	check
	fw "$@" >"$TMP/fw.out" 2>&1 || fail "test-fw-ufw $*: $(cat "$TMP/fw.out")"
}
ufw_() { container_exec ufw ufw "$@" 2>&1; }
# reach SOURCE: connected, refused or timeout, from SOURCE on the host side to $ip:$port.
reach() {
	container_host ufw python3 -c '
import socket, sys
s = socket.socket()
s.settimeout(2)
s.bind((sys.argv[1], 0))
try:
    s.connect((sys.argv[2], int(sys.argv[3])))
    print("connected")
except socket.timeout:
    print("timeout")
except ConnectionRefusedError:
    print("refused")
except OSError as e:
    print("error: %s" % e)
' "$1" "$ip" "$port"
}
ping_redis() { container_host ufw redis-cli -h "$ip" -p "$port" PING 2>&1; }
# metadata UID: what UID (0 or 65534) gets from the metadata address in the container.
metadata() {
	container_exec ufw setpriv --reuid="$1" --regid="$1" --clear-groups \
		curl -sS --max-time 3 "http://$CONTAINER_METADATA_ADDR/v1.json" 2>&1 || true
}
ours() { ufw_ show added | grep -c " comment 'doagent'\$" || true; }
has_table() { container_exec ufw nft list tables | grep -qx 'table inet doagent_output'; }

# --- before any firewall -------------------------------------------------------
check; container_exec ufw redis-server --port "$port" --bind 0.0.0.0 --protected-mode no --save '' \
	--appendonly no --daemonize yes >/dev/null || fail "redis-server did not start in the container"
for _ in 1 2 3 4 5 6 7 8 9 10; do
	[ "$(ping_redis)" != PONG ] || break
	sleep 0.2
done
check; [ "$(reach "$allowed")" = connected ] && [ "$(reach "$other")" = connected ] ||
	fail "without a firewall, $ip:$port is not reachable from both $allowed and $other"
check; [ "$(metadata 65534)" = metadata ] || fail "without a firewall, nobody cannot reach the metadata address: $(metadata 65534)"

# --- the admin's own rules, ufw enabled -------------------------------------------
ufw_ allow 8080/tcp >/dev/null
ufw_ allow 22/tcp >/dev/null
ufw_ --force enable >/dev/null
ufw_ show added | grep '^ufw ' >"$TMP/admin" || true
check; [ "$(reach "$allowed")" = timeout ] || fail "ufw (default deny incoming) does not filter here: $(reach "$allowed")"
check; [ "$(fw active)" = active ] || fail "fw_ufw.active() does not see the enabled ufw: $(fw active)"

# --- policy a -------------------------------------------------------------------
fw_ok apply a
check; [ "$(ping_redis)" = PONG ] || fail "policy a: Redis does not answer from $allowed: $(ping_redis)"
check; [ "$(reach "$other")" = timeout ] || fail "policy a: $other reaches $ip:$port: $(reach "$other")"
ufw_ status >"$TMP/status"
check; grep -Eq '^8080/tcp +ALLOW +Anywhere *$' "$TMP/status" || fail "the admin's 8080 rule is not in ufw status: $(cat "$TMP/status")"
ufw_ show added >"$TMP/added"
check; grep -Fxq "ufw allow from 169.254.169.254 to any port $port proto tcp comment 'doagent'" "$TMP/added" &&
	grep -Fxq "ufw allow from fd00:d0a6::/64 to any port $port proto tcp comment 'doagent'" "$TMP/added" ||
	fail "policy a: doagent's Redis rules are not there: $(cat "$TMP/added")"
# Its SSH rules (from anywhere) are the admin's 22/tcp already: that one stays theirs.
check; grep -Fxq "ufw allow 22/tcp" "$TMP/added" && grep -Fxq "ufw allow 8080/tcp" "$TMP/added" ||
	fail "the admin's rules changed: $(cat "$TMP/added")"
check; [ "$(ours)" -eq 2 ] || fail "policy a: expected 2 rules of doagent's: $(cat "$TMP/added")"
check; has_table || fail "policy a: no table inet doagent_output"
check; [ "$(metadata 0)" = metadata ] || fail "policy a: root cannot reach the metadata address: $(metadata 0)"
check; [ "$(metadata 65534)" != metadata ] || fail "policy a: nobody still reaches the metadata address"

# --- again: nothing changes -------------------------------------------------------
ufw_ status numbered >"$TMP/numbered-a"
fw_ok apply a
ufw_ status numbered >"$TMP/numbered-a2"
check; cmp -s "$TMP/numbered-a" "$TMP/numbered-a2" ||
	fail "applying policy a again changed ufw's rules: $(diff "$TMP/numbered-a" "$TMP/numbered-a2")"
check; [ "$(container_exec ufw nft list table inet doagent_output | grep -c skuid)" -eq 1 ] ||
	fail "applying policy a again doubled the metadata rule"

# --- policy b, then a again: it converges -------------------------------------------
fw_ok apply b
check; [ "$(reach "$other")" = connected ] || fail "policy b: $other does not reach $ip:$port: $(reach "$other")"
check; [ "$(reach "$allowed")" = timeout ] || fail "policy b: $allowed still reaches $ip:$port: $(reach "$allowed")"
check; ! has_table || fail "policy b (metadata open): table inet doagent_output is still there"
check; [ "$(metadata 65534)" = metadata ] || fail "policy b: nobody cannot reach the metadata address"
check; [ "$(ours)" -eq 3 ] || fail "policy b: expected 3 rules of doagent's: $(ufw_ show added)"
fw_ok apply a
ufw_ status numbered >"$TMP/numbered-a3"
check; cmp -s "$TMP/numbered-a" "$TMP/numbered-a3" ||
	fail "policy b then a is not policy a: $(diff "$TMP/numbered-a" "$TMP/numbered-a3")"

# --- remove, ufw enabled ---------------------------------------------------------
fw_ok remove
ufw_ show added | grep '^ufw ' >"$TMP/after-remove" || true
check; cmp -s "$TMP/admin" "$TMP/after-remove" ||
	fail "after remove, the rules are not the admin's: $(cat "$TMP/after-remove")"
check; ufw_ status | grep -qx 'Status: active' || fail "remove disabled ufw"
check; [ "$(reach "$allowed")" = timeout ] || fail "after remove, $allowed still reaches $ip:$port"
check; ! has_table || fail "after remove, table inet doagent_output is still there"

# --- remove, ufw disabled: it stays disabled ------------------------------------------
fw_ok apply a
ufw_ disable >/dev/null
fw_ok remove
ufw_ show added | grep '^ufw ' >"$TMP/after-remove2" || true
check; cmp -s "$TMP/admin" "$TMP/after-remove2" ||
	fail "after remove with ufw disabled, the rules are not the admin's: $(cat "$TMP/after-remove2")"
check; ufw_ status | grep -qx 'Status: inactive' || fail "remove enabled ufw"
check; [ "$(fw active)" = "not active" ] || fail "fw_ufw.active() with ufw disabled: $(fw active)"

# --- apply with ufw disabled enables it -------------------------------------------------
fw_ok apply a
check; ufw_ status | grep -qx 'Status: active' || fail "apply did not enable ufw"
check; [ "$(ping_redis)" = PONG ] && [ "$(reach "$other")" = timeout ] ||
	fail "policy a applied to a disabled ufw: $allowed $(ping_redis), $other $(reach "$other")"

container_exec ufw redis-cli -p "$port" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
finish
