#!/bin/sh
# [tls] engine = redis for real: doagent (--root) makes the key, the certificate and
# the key's copy for redis-server, and renders redis.conf with Redis' own TLS; the real
# redis-server runs it as the user redis in a network namespace of its own; a client
# namespace across a veth pair connects with redis-cli --tls verifying the certificate,
# and cannot reach a plaintext port. Also: the copy's mode and owner, that the redis
# user reads the copy and not the secrets directory, plaintext = private, a retry, a
# new droplet, and going back to stunnel (the copy is removed).
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

need redis-server redis-cli openssl python3 ip runuser
[ "$(id -u)" -eq 0 ] || skip "network namespaces need root"
id redis >/dev/null 2>&1 || skip "no user redis (install redis-server)"

n=$(($$ % 200 + 20))
srv_ip=10.78.$n.1
cli_ip=10.78.$n.2
srv=doagent-tlsr-srv-$$
cli=doagent-tlsr-cli-$$
ip netns add "$srv" && ip netns add "$cli" || skip "cannot create network namespaces"
at_exit "ip netns del $srv 2>/dev/null; ip netns del $cli 2>/dev/null"
ip -n "$srv" link set lo up
ip -n "$cli" link set lo up
ip -n "$srv" link add veth0 type veth peer name veth0 netns "$cli"
ip -n "$srv" addr add "$srv_ip/24" dev veth0
ip -n "$cli" addr add "$cli_ip/24" dev veth0
ip -n "$srv" link set veth0 up
ip -n "$cli" link set veth0 up

pw="canary-TlsRedis-pw-1357-wxyz"
port=16579
tls_port=16580
redis_uid=$(id -u redis)
redis_gid=$(id -g redis)
# redis-server runs as redis: it must reach the root's files, as it would reach /etc.
chmod 0711 "$TMP"
root="$TMP/root"
mkdir -p "$root/etc"
printf 'root:x:0:0:root:/root:/bin/sh\nredis:x:%s:%s::/var/lib/redis:/usr/sbin/nologin\n' "$redis_uid" "$redis_gid" >"$root/etc/passwd"
printf 'root:x:0:\nredis:x:%s:\n' "$redis_gid" >"$root/etc/group"
userdata() { # ENGINE PLAINTEXT
	printf '#doagent\n[redis]\nport = %s\npassword = %s\nbind = private\nsnapshots = no\n[tls]\nengine = %s\nport = %s\nplaintext = %s\n[firewall]\nbackend = none\n' \
		"$port" "$pw" "$1" "$tls_port" "$2" >"$TMP/ud.ini"
}

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
	# doagent.service's umask.
	umask 077
	run_agent --root "$root" --metadata "$TMP/md-$id.json" --user-data "$TMP/ud.ini" --templates "$TEMPLATES" "$@"
	umask 022
	cat "$TMP/out" "$TMP/err" >>"$TMP/all-output"
}
cert="$root/etc/doagent/tls/redis.crt"
key="$root/var/lib/doagent/secrets/tls.key"
copy="$root/etc/doagent/tls/redis.key"
conf="$root/etc/redis/redis.conf"

# start_redis: the rendered redis.conf, run as redis in the server namespace; the paths
# of the droplet are the root's (the command line overrides the file's).
mkdir -p "$TMP/data"
chown redis:redis "$TMP/data"
start_redis() {
	runuser -u redis -- true || fail "runuser cannot run as redis"
	set -- --dir "$TMP/data" --logfile "$TMP/data/redis.log" --pidfile "$TMP/data/redis.pid" --daemonize yes \
		--tls-cert-file "$cert" --tls-key-file "$copy"
	if grep -q '^unixsocket ' "$conf"; then
		set -- "$@" --unixsocket "$TMP/data/redis.sock"
	fi
	ip netns exec "$srv" runuser -u redis -- redis-server "$conf" "$@" >/dev/null
}
stop_redis() {
	local pid
	pid=$(cat "$TMP/data/redis.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || return 0
	while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
	rm -f "$TMP/data/redis.pid"
}
at_exit 'stop_redis'
tls_cli() { # PASSWORD ARGS
	local p="$1"
	shift
	REDISCLI_AUTH="$p" ip netns exec "$cli" redis-cli --no-auth-warning --tls --cacert "$cert" -h "$srv_ip" -p "$tls_port" "$@" 2>&1
}
wait_tls() {
	local i=0
	until [ "$(tls_cli "$pw" PING)" = PONG ] || [ $i -ge 50 ]; do sleep 0.1; i=$((i + 1)); done
}

# ---- engine = redis, plaintext = loopback (the default) --------------------------
userdata redis loopback
# As an earlier run under doagent.service's umask left it.
mkdir -m 0700 "$root/etc/doagent"
configure 8001
check; [ "$status" -eq 0 ] || fail "doagent --root: exit $status: $(cat "$TMP/err")"
check; [ "$(stat -c '%a %u %g' "$copy" 2>/dev/null)" = "640 0 $redis_gid" ] ||
	fail "the key's copy is not 0640 root:redis: $(stat -c '%a %U:%G' "$copy" 2>&1)"
check; cmp -s "$copy" "$key" || fail "the key's copy is not the droplet's key"
check; [ "$(stat -c %a "$key")" = 600 ] && [ "$(stat -c %a "$(dirname "$key")")" = 700 ] ||
	fail "the key in the secrets directory is not 0600 in a 0700 directory"
check; [ "$(stat -c '%a %u' "$(dirname "$copy")")" = "755 0" ] && [ "$(stat -c '%a %u' "$root/etc/doagent")" = "755 0" ] ||
	fail "the copy's directory or /etc/doagent is not 0755 root"
# The redis user reads the copy, and nothing in the secrets directory.
check; runuser -u redis -- head -c 1 "$copy" >/dev/null 2>&1 || fail "the redis user cannot read the key's copy"
check; ! runuser -u redis -- cat "$key" >/dev/null 2>&1 || fail "the redis user can read the secrets directory's key"
check; [ ! -e "$root/etc/stunnel/doagent-redis.conf" ] || fail "engine = redis wrote a stunnel configuration"
for want in "tls-port $tls_port" "tls-cert-file /etc/doagent/tls/redis.crt" "tls-key-file /etc/doagent/tls/redis.key" \
	"tls-auth-clients no" "port 0" "bind 127.0.0.1 -::1 $srv_ip"; do
	check; grep -qxF "$want" "$conf" || fail "redis.conf lacks '$want'"
done

start_redis
wait_tls
check; [ "$(tls_cli "$pw" PING)" = PONG ] || fail "redis-cli --tls from the client namespace: $(tls_cli "$pw" PING); log: $(tail -n 5 "$TMP/data/redis.log")"
check; tls_cli "not-the-password-at-all" PING | grep -q WRONGPASS || fail "a wrong password through TLS was not refused"
check; [ "$(tls_cli "$pw" CONFIG GET tls-port | tail -n 1)" = "$tls_port" ] || fail "the TLS port is not Redis' own"
check; [ "$(ip netns exec "$srv" ps -o user= -p "$(cat "$TMP/data/redis.pid")")" = redis ] || fail "redis-server does not run as redis"
check; echo | ip netns exec "$cli" openssl s_client -connect "$srv_ip:$tls_port" -CAfile "$cert" \
	-verify_ip "$srv_ip" -verify_return_error 2>&1 | grep -q 'Verify return code: 0 (ok)' ||
	fail "openssl s_client does not verify the certificate for $srv_ip"
check; ! echo | ip netns exec "$cli" openssl s_client -connect "$srv_ip:$tls_port" -CAfile "$cert" \
	-verify_ip 10.78.$n.9 -verify_return_error >/dev/null 2>&1 || fail "the certificate verified for an address it does not name"
check; ! echo | ip netns exec "$cli" openssl s_client -connect "$srv_ip:$tls_port" -tls1_1 >/dev/null 2>&1 ||
	fail "Redis accepted TLS 1.1"
# No client certificate is asked for: a client without one is served (above), and the
# server's handshake carries no CertificateRequest.
check; ! echo | ip netns exec "$cli" openssl s_client -connect "$srv_ip:$tls_port" -CAfile "$cert" 2>&1 |
	grep -q 'Acceptable client certificate CA names' || fail "Redis asks for a client certificate"
# No plaintext TCP port at all: not from the client namespace, not on loopback.
check; REDISCLI_AUTH="$pw" ip netns exec "$cli" redis-cli --no-auth-warning -h "$srv_ip" -p "$port" PING 2>&1 |
	grep -q 'Connection refused' || fail "a plaintext port answers from the client namespace"
check; REDISCLI_AUTH="$pw" ip netns exec "$srv" redis-cli --no-auth-warning -p "$port" PING 2>&1 |
	grep -q 'Connection refused' || fail "a plaintext port answers on loopback"
check; [ -z "$(ip netns exec "$srv" ss -Hltn "sport = :$port")" ] || fail "something listens on $port: $(ip netns exec "$srv" ss -Hltn)"
# Plaintext on the droplet: the Unix socket.
check; [ "$(REDISCLI_AUTH="$pw" ip netns exec "$srv" redis-cli --no-auth-warning -s "$TMP/data/redis.sock" PING)" = PONG ] ||
	fail "the Unix socket does not answer"
check; [ "$(stat -c %a "$TMP/data/redis.sock")" = 700 ] || fail "the Unix socket is not 0700"
check; grep -qF "redis-cli -s /run/redis/redis-server.sock" "$root/root/doagent-connection.txt" &&
	grep -qF "rediss://default:$pw@$srv_ip:$tls_port" "$root/root/doagent-connection.txt" ||
	fail "the connection details lack the TLS URL or the socket"
check; grep -q "SHA-256:     $(openssl x509 -in "$cert" -noout -fingerprint -sha256 | sed 's/.*=//')" "$root/root/doagent-connection.txt" ||
	fail "the connection details do not carry the certificate's fingerprint"
stop_redis

# A retry keeps the key, the certificate and the copy as they are (not rewritten).
fp1=$(openssl x509 -in "$cert" -noout -fingerprint -sha256)
ino1=$(stat -c %i "$copy")
configure 8001 --force
check; [ "$status" -eq 0 ] && [ "$(openssl x509 -in "$cert" -noout -fingerprint -sha256)" = "$fp1" ] &&
	[ "$(stat -c %i "$copy")" = "$ino1" ] || fail "a retry changed the certificate or rewrote the key's copy (exit $status)"
# A copy whose owner or mode went wrong is put right by the next run.
chmod 0644 "$copy"
chown 0:0 "$copy"
configure 8001 --force
check; [ "$status" -eq 0 ] && [ "$(stat -c '%a %u %g' "$copy")" = "640 0 $redis_gid" ] ||
	fail "a run did not restore the copy's mode and owner: $(stat -c '%a %u:%g' "$copy")"

# ---- plaintext = private (= bind): plaintext where TLS is, nowhere else ------------
userdata redis private
configure 8001 --force
check; [ "$status" -eq 0 ] && grep -qx "port $port" "$conf" && ! grep -q '^unixsocket' "$conf" ||
	fail "plaintext = private: redis.conf has no port $port (exit $status)"
start_redis
wait_tls
check; [ "$(tls_cli "$pw" PING)" = PONG ] || fail "plaintext = private: TLS does not answer"
check; [ "$(REDISCLI_AUTH="$pw" ip netns exec "$cli" redis-cli --no-auth-warning -h "$srv_ip" -p "$port" PING 2>&1)" = PONG ] ||
	fail "plaintext = private: the plaintext port does not answer at $srv_ip"
stop_redis

# A bad combination: refused with 65, the line named, nothing changed.
printf '#doagent\n[redis]\nbind = public\n[tls]\nengine = redis\nplaintext = private\n' >"$TMP/bad.ini"
run_agent --check --user-data "$TMP/bad.ini"
check; [ "$status" -eq 65 ] && grep -q 'line 6: \[tls\] plaintext: with \[tls\] engine = redis' "$TMP/err" ||
	fail "engine = redis with plaintext = private under bind = public: exit $status: $(cat "$TMP/err")"

# ---- a new droplet: a new key, and its copy -----------------------------------------
userdata redis loopback
key1=$(cat "$key")
configure 8002
check; [ "$status" -eq 0 ] && [ "$(cat "$key")" != "$key1" ] && cmp -s "$copy" "$key" ||
	fail "a new droplet did not get a new key and its copy (exit $status)"
start_redis
wait_tls
check; [ "$(tls_cli "$pw" PING)" = PONG ] || fail "droplet 8002: TLS with the new certificate does not answer"
stop_redis

# ---- back to stunnel: the copy goes, stunnel's configuration comes -----------------
userdata stunnel loopback
configure 8002 --force
check; [ "$status" -eq 0 ] && [ ! -e "$copy" ] && [ -f "$root/etc/stunnel/doagent-redis.conf" ] &&
	! grep -q '^tls-' "$conf" || fail "engine = stunnel after redis: the copy is still there, or no stunnel file (exit $status)"
userdata redis loopback
configure 8002 --force
check; [ "$status" -eq 0 ] && [ ! -e "$root/etc/stunnel/doagent-redis.conf" ] && [ -f "$copy" ] ||
	fail "engine = redis after stunnel: the stunnel file is still there, or no copy (exit $status)"

keyline=$(sed -n 2p "$key")
check; ! grep -qF "$pw" "$TMP/all-output" || fail "the password appeared in doagent's output"
check; ! grep -qF -- "$keyline" "$TMP/all-output" || fail "the key appeared in doagent's output"
finish
