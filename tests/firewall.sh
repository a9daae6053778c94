#!/bin/sh
# The nftables firewall for real, in network namespaces: a server with Redis and
# an "SSH" listener, a client whose addresses are in allow and ssh-allow (IPv4 and
# IPv6), and one whose are not. The policy comes from user data and metadata
# through the same code as the first boot (tests/fw-apply). Also: an admin's own
# table survives, applying twice gives the same ruleset, metadata = root-only keeps
# other users from 169.254.169.254, and removing leaves only the admin's rules.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

need redis-server redis-cli nft ip python3 setpriv ping
[ "$(id -u)" -eq 0 ] || skip "network namespaces need root"
FW="$top_builddir/tests/fw-apply"
[ -x "$FW" ] || { fail "tests/fw-apply is not built"; finish; }

n=$(($$ % 200 + 20))
S=${NETNS_PREFIX}fw-s-$$ A=${NETNS_PREFIX}fw-a-$$ D=${NETNS_PREFIX}fw-d-$$
for ns in "$S" "$A" "$D"; do ip netns add "$ns" || skip "cannot create network namespaces"; done
at_exit "ip netns del $S 2>/dev/null; ip netns del $A 2>/dev/null; ip netns del $D 2>/dev/null"
link() { # NS-SERVER ADDR4 ADDR6 NS-CLIENT ADDR4 ADDR6 IFNAME
	ip -n "$1" link add "$7" type veth peer name eth0 netns "$4"
	ip -n "$1" addr add "$2/24" dev "$7"
	ip -n "$1" addr add "$3/64" dev "$7" nodad
	ip -n "$4" addr add "$5/24" dev eth0
	ip -n "$4" addr add "$6/64" dev eth0 nodad
	ip -n "$1" link set "$7" up
	ip -n "$4" link set eth0 up
}
for ns in "$S" "$A" "$D"; do ip -n "$ns" link set lo up; done
sa=10.78.$n.1 ca=10.78.$n.2 sd=10.79.$n.1 cd=10.79.$n.2
sa6=fd00:78:$n::1 ca6=fd00:78:$n::2 sd6=fd00:79:$n::1 cd6=fd00:79:$n::2
link "$S" "$sa" "$sa6" "$A" "$ca" "$ca6" va$$
link "$S" "$sd" "$sd6" "$D" "$cd" "$cd6" vd$$

pw="fw-test-password-0123456"
port=6390
ssh=2222
printf '#doagent\n[redis]\nport = %s\npassword = %s\nbind = all\n[tls]\nenabled = no\n[firewall]\nbackend = nftables\nallow = vpc, %s/128\nssh-allow = %s/32, fd00:78:%s::/64\nssh-port = %s\nmetadata = root-only\n' \
	"$port" "$pw" "$ca6" "$ca" "$n" "$ssh" >"$TMP/ud.ini"
python3 - "$FIXTURES/metadata/full.json" "$TMP/md.json" "$sa" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["interfaces"]["private"][0]["ipv4"] = {"ip_address": sys.argv[3], "netmask": "255.255.255.0", "gateway": ""}
json.dump(d, open(sys.argv[2], "w"))
PY
fw() { ip netns exec "$S" "$FW" "$1" nftables "$TMP/ud.ini" "$TMP/md.json" "$TEMPLATES"; }

# Listeners in the server: Redis on every address, "SSH" (a second Redis, no
# password), and the metadata service on 169.254.169.254:80.
ip -n "$S" addr add 169.254.169.254/32 dev lo
ip netns exec "$S" redis-server --port "$port" --bind '* -::*' --requirepass "$pw" --save '' --appendonly no \
	--daemonize yes --pidfile "$TMP/r1.pid" --logfile "$TMP/r1.log" --dir "$TMP"
ip netns exec "$S" redis-server --port "$ssh" --bind '* -::*' --protected-mode no --save '' --appendonly no \
	--daemonize yes --pidfile "$TMP/r2.pid" --logfile "$TMP/r2.log" --dir "$TMP"
at_exit 'stop_pidfile "$TMP/r1.pid" "$TMP/r2.pid"'
ip netns exec "$S" python3 -m http.server --bind 169.254.169.254 80 >/dev/null 2>&1 &
http_pid=$!
at_exit "stop_pid $http_pid"
sleep 0.5

# The admin's own table and rule, before doagent.
ip netns exec "$S" nft add table inet admin
ip netns exec "$S" nft add chain inet admin input '{ type filter hook input priority 10; policy accept; }'
ip netns exec "$S" nft add rule inet admin input tcp dport 9999 counter accept

fw apply 2>"$TMP/fw.err"
check; [ $? -eq 0 ] || fail "applying the firewall: $(cat "$TMP/fw.err")"
ip netns exec "$S" nft list table inet doagent >"$TMP/rules1"
fw apply 2>>"$TMP/fw.err"
ip netns exec "$S" nft list table inet doagent >"$TMP/rules2"
check; cmp -s "$TMP/rules1" "$TMP/rules2" || fail "applying twice gives another ruleset: $(diff "$TMP/rules1" "$TMP/rules2")"
check; ip netns exec "$S" nft list table inet admin | grep -q 'tcp dport 9999' || fail "the admin's table did not survive"

# can NS HOST PORT: a TCP connection within 2 s.
can() {
	ip netns exec "$1" python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)
s.close()' "$2" "$3" 2>/dev/null
}
expect() { # yes|no NS HOST PORT WHAT
	check
	if can "$2" "$3" "$4"; then
		[ "$1" = yes ] || fail "$5: connected, should be dropped"
	else
		[ "$1" = no ] || fail "$5: no connection, should be allowed"
	fi
}
expect yes "$A" "$sa" "$port" "Redis from the VPC (IPv4)"
expect yes "$A" "$sa6" "$port" "Redis from an allowed IPv6 address"
expect no "$D" "$sd" "$port" "Redis from outside allow (IPv4)"
expect no "$D" "$sd6" "$port" "Redis from outside allow (IPv6)"
expect yes "$A" "$sa" "$ssh" "SSH from ssh-allow (IPv4)"
expect yes "$A" "$sa6" "$ssh" "SSH from ssh-allow (IPv6)"
expect no "$D" "$sd" "$ssh" "SSH from outside ssh-allow (IPv4)"
expect no "$D" "$sd6" "$ssh" "SSH from outside ssh-allow (IPv6)"
expect no "$A" "$sa" 9999 "a port nobody opened"
check; [ "$(REDISCLI_AUTH="$pw" ip netns exec "$A" redis-cli --no-auth-warning -h "$sa" -p "$port" PING)" = PONG ] ||
	fail "Redis does not answer through the firewall"
check; ip netns exec "$D" ping -c 1 -W 2 "$sd" >/dev/null 2>&1 || fail "ICMP echo is dropped"

# metadata = root-only: root reaches 169.254.169.254, another user does not.
check; ip netns exec "$S" python3 -c 'import urllib.request; urllib.request.urlopen("http://169.254.169.254/", timeout=2)' 2>/dev/null ||
	fail "root cannot reach the metadata service"
check; ! ip netns exec "$S" setpriv --reuid=65534 --regid=65534 --clear-groups python3 -c \
	'import urllib.request; urllib.request.urlopen("http://169.254.169.254/", timeout=2)' 2>/dev/null ||
	fail "a non-root user reaches the metadata service"

# The plan's text shows exactly the ruleset that was loaded.
ip netns exec "$S" "$FW" describe nftables "$TMP/ud.ini" "$TMP/md.json" "$TEMPLATES" >"$TMP/describe" 2>/dev/null
check; grep -qF "ip saddr { 10.78.$n.0/24 } tcp dport $port accept" "$TMP/describe" &&
	grep -qF "ip saddr 10.78.$n.0/24 tcp dport $port accept" "$TMP/rules1" || fail "the described ruleset and the loaded one differ"

# Removing leaves the admin's table and nothing of ours.
fw remove 2>>"$TMP/fw.err"
check; ! ip netns exec "$S" nft list table inet doagent >/dev/null 2>&1 || fail "table inet doagent is still there after remove"
check; ip netns exec "$S" nft list table inet admin | grep -q 'tcp dport 9999' || fail "remove took the admin's table"
fw remove 2>>"$TMP/fw.err"
check; [ $? -eq 0 ] || fail "removing twice fails"
expect yes "$D" "$sd" "$port" "Redis from outside allow after remove"
finish
