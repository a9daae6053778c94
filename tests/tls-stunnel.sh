#!/bin/sh
# TLS in front of Redis for real: doagent (--root) makes the key and certificate
# and renders redis.conf and the stunnel configuration; the real redis-server and
# stunnel run them in a network namespace of their own; a client namespace across
# a veth pair connects with redis-cli --tls verifying the certificate, and cannot
# reach the plaintext port. Also: the SANs, reuse by a retry, renewal for a new
# droplet, and bad user-data pairs refused with 65 and nothing written.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

need redis-server redis-cli stunnel4 openssl python3 ip
[ "$(id -u)" -eq 0 ] || skip "network namespaces need root"

n=$(($$ % 200 + 20))
srv_ip=10.77.$n.1
cli_ip=10.77.$n.2
srv=${NETNS_PREFIX}tls-srv-$$
cli=${NETNS_PREFIX}tls-cli-$$
ip netns add "$srv" && ip netns add "$cli" || skip "cannot create network namespaces"
at_exit "ip netns del $srv 2>/dev/null; ip netns del $cli 2>/dev/null"
ip -n "$srv" link set lo up
ip -n "$cli" link set lo up
ip -n "$srv" link add veth0 type veth peer name veth0 netns "$cli"
ip -n "$srv" addr add "$srv_ip/24" dev veth0
ip -n "$cli" addr add "$cli_ip/24" dev veth0
ip -n "$srv" link set veth0 up
ip -n "$cli" link set veth0 up

pw="canary-Tls-pw-2468-abcd"
port=16479
tls_port=16480
root="$TMP/root"
mkdir -p "$root/etc"
printf 'root:x:0:0:root:/root:/bin/sh\nredis:x:%s:%s::/var/lib/redis:/usr/sbin/nologin\n' "$(id -u redis 2>/dev/null || echo 0)" "$(id -g redis 2>/dev/null || echo 0)" >"$root/etc/passwd"
printf 'root:x:0:\nredis:x:%s:\n' "$(id -g redis 2>/dev/null || echo 0)" >"$root/etc/group"
printf '#doagent\n[redis]\nport = %s\npassword = %s\nbind = private\n[tls]\nenabled = yes\nport = %s\nplaintext = loopback\n[firewall]\nbackend = none\n' \
	"$port" "$pw" "$tls_port" >"$TMP/ud.ini"

doc() { # FILE DROPLET-ID
	python3 - "$FIXTURES/metadata/full.json" "$1" "$2" "$srv_ip" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["droplet_id"] = int(sys.argv[3])
d["interfaces"]["private"][0]["ipv4"] = {"ip_address": sys.argv[4], "netmask": "255.255.255.0", "gateway": ""}
json.dump(d, open(sys.argv[2], "w"))
PY
}
configure() { # DROPLET-ID [ARGS]
	local id="$1"
	shift
	doc "$TMP/md-$id.json" "$id"
	run_agent --root "$root" --metadata "$TMP/md-$id.json" --user-data "$TMP/ud.ini" --templates "$TEMPLATES" "$@"
	cat "$TMP/out" "$TMP/err" >>"$TMP/all-output"
}
cert="$root/etc/doagent/tls/redis.crt"
key="$root/var/lib/doagent/secrets/tls.key"

configure 7001
check; [ "$status" -eq 0 ] || fail "doagent --root: exit $status: $(cat "$TMP/err")"
check; [ "$(stat -c %a "$key" 2>/dev/null)" = 600 ] && [ "$(stat -c %a "$cert" 2>/dev/null)" = 644 ] ||
	fail "the key is not 0600 or the certificate not 0644"
sans=$(openssl x509 -in "$cert" -noout -ext subjectAltName 2>&1)
for want in "IP Address:$srv_ip" "IP Address:127.0.0.1" "IP Address:203.0.113.10" "IP Address:10.17.0.5" \
	"IP Address:2001:DB8:0:10:0:0:17D:2001" "DNS:redis-full-01"; do
	check; printf '%s' "$sans" | grep -qF "$want" || fail "the certificate's SANs lack $want: $sans"
done
check; grep -qx 'bind 127.0.0.1 -::1' "$root/etc/redis/redis.conf" || fail "with TLS on, Redis' own port is not on loopback only"
check; grep -q "SHA-256:     $(openssl x509 -in "$cert" -noout -fingerprint -sha256 | sed 's/.*=//')" "$root/root/doagent-connection.txt" ||
	fail "the connection details do not carry the certificate's fingerprint"

# Run the rendered files: Redis and stunnel in the server namespace.
sed -e "s|/etc/doagent/tls/|$root/etc/doagent/tls/|" -e "s|/var/lib/doagent/|$root/var/lib/doagent/|" \
	"$root/etc/stunnel/doagent-redis.conf" >"$TMP/stunnel.conf"
mkdir -p "$TMP/data"
ip netns exec "$srv" redis-server "$root/etc/redis/redis.conf" --dir "$TMP/data" --logfile "$TMP/redis.log" \
	--pidfile "$TMP/redis.pid" --daemonize yes --save '' --appendonly no >/dev/null
at_exit 'stop_pidfile "$TMP/redis.pid"'
ip netns exec "$srv" stunnel4 "$TMP/stunnel.conf" >"$TMP/stunnel.log" 2>&1 &
stunnel_pid=$!
at_exit "stop_pid $stunnel_pid"

tls_cli() { # PASSWORD ARGS
	local p="$1"
	shift
	REDISCLI_AUTH="$p" ip netns exec "$cli" redis-cli --no-auth-warning --tls --cacert "$cert" -h "$srv_ip" -p "$tls_port" "$@" 2>&1
}
i=0
until [ "$(tls_cli "$pw" PING)" = PONG ] || [ $i -ge 50 ]; do sleep 0.1; i=$((i + 1)); done
check; [ "$(tls_cli "$pw" PING)" = PONG ] || fail "redis-cli --tls from the client namespace: $(tls_cli "$pw" PING); stunnel: $(tail -n 5 "$TMP/stunnel.log")"
check; tls_cli "not-the-password-at-all" PING | grep -q WRONGPASS || fail "a wrong password through TLS was not refused"
check; [ "$(tls_cli "$pw" CONFIG GET port | tail -n 1)" = "$port" ] || fail "stunnel does not lead to this Redis"
# The certificate verifies against the address it is reached at, and not another.
check; echo | ip netns exec "$cli" openssl s_client -connect "$srv_ip:$tls_port" -CAfile "$cert" \
	-verify_ip "$srv_ip" -verify_return_error 2>&1 | grep -q 'Verify return code: 0 (ok)' ||
	fail "openssl s_client does not verify the certificate for $srv_ip"
check; ! echo | ip netns exec "$cli" openssl s_client -connect "$srv_ip:$tls_port" -CAfile "$cert" \
	-verify_ip 10.77.$n.9 -verify_return_error >/dev/null 2>&1 || fail "the certificate verified for an address it does not name"
# TLS 1.2 at least.
check; ! echo | ip netns exec "$cli" openssl s_client -connect "$srv_ip:$tls_port" -tls1_1 >/dev/null 2>&1 ||
	fail "stunnel accepted TLS 1.1"
# The plaintext port is not reachable from another machine.
check; REDISCLI_AUTH="$pw" ip netns exec "$cli" redis-cli --no-auth-warning -h "$srv_ip" -p "$port" PING 2>&1 |
	grep -q 'Connection refused' || fail "the plaintext port answers from the client namespace"
check; [ "$(REDISCLI_AUTH="$pw" ip netns exec "$srv" redis-cli --no-auth-warning -p "$port" PING)" = PONG ] ||
	fail "the plaintext port does not answer on loopback"

# A retry keeps the key and certificate; a new droplet gets new ones.
fp1=$(openssl x509 -in "$cert" -noout -fingerprint -sha256)
key1=$(cat "$key")
configure 7001 --force
check; [ "$status" -eq 0 ] && [ "$(openssl x509 -in "$cert" -noout -fingerprint -sha256)" = "$fp1" ] && [ "$(cat "$key")" = "$key1" ] ||
	fail "a retry for the same droplet changed the certificate or key (exit $status)"
configure 7002
check; [ "$status" -eq 0 ] && [ "$(openssl x509 -in "$cert" -noout -fingerprint -sha256)" != "$fp1" ] && [ "$(cat "$key")" != "$key1" ] ||
	fail "a new droplet kept the old certificate or key (exit $status)"

# Bad pairs in user data: 65, and nothing written (a fresh root stays empty).
pem_ini() { # CERT KEY
	printf '#doagent\n[tls]\ncertificate =\n'
	sed 's/^/    /' "$1"
	printf 'key =\n'
	sed 's/^/    /' "$2"
}
T="$FIXTURES/tls"
for case in "valid-cert other-key:does not belong" "expired-cert expired-key:expired" "ca-cert ca-key:CA" "garbage valid-key:"; do
	pair=${case%%:*} word=${case#*:}
	pem_ini "$T/${pair% *}.pem" "$T/${pair#* }.pem" >"$TMP/bad.ini" 2>/dev/null
	fresh="$TMP/fresh-${pair%% *}"
	mkdir -p "$fresh/etc" && cp "$root/etc/passwd" "$root/etc/group" "$fresh/etc/"
	doc "$TMP/md-bad.json" 7100
	run_agent --check --user-data "$TMP/bad.ini"
	check; [ "$status" -eq 65 ] && grep -q "line 3: \[tls\] " "$TMP/err" && grep -qi -- "$word" "$TMP/err" ||
		fail "$pair: --check exit $status: $(cat "$TMP/err")"
	run_agent --check --json --user-data "$TMP/bad.ini"
	check; [ "$status" -eq 65 ] && python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["valid"] is False and any(x["severity"] == "error" for x in d["diagnostics"])' "$TMP/out" ||
		fail "$pair: --check --json: exit $status: $(cat "$TMP/out")"
	run_agent --root "$fresh" --metadata "$TMP/md-bad.json" --user-data "$TMP/bad.ini" --templates "$TEMPLATES"
	check; [ "$status" -eq 65 ] || fail "$pair: first boot exit $status, expected 65"
	check; [ -z "$(find "$fresh" -type f ! -path '*/etc/passwd' ! -path '*/etc/group' ! -name state.json ! -name doagent)" ] ||
		fail "$pair: files were written: $(find "$fresh" -type f)"
	keyline=$(sed -n 2p "$T/${pair#* }.pem")
	check; ! grep -qF -- "$keyline" "$TMP/err" "$TMP/out" || fail "$pair: the output quotes the private key"
done

check; ! grep -qF "$pw" "$TMP/all-output" || fail "the password appeared in doagent's output"
finish
