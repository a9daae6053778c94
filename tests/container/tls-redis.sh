#!/bin/sh
# [tls] engine = redis on a booted droplet: a Debian 12 root with this build, booted with
# systemd-nspawn, the fake metadata service across a veth link. The droplet first runs
# stunnel (the default engine); its user data then says engine = redis and doagent
# --force reconfigures it, as an admin would. Checked from the host side: redis-cli
# --tls verifies the droplet's certificate and authenticates at the private address,
# the plaintext port is not reachable there, the key's copy is 0640 root:redis and
# Debian's hardened redis-server.service (User=redis, ProtectSystem=strict,
# PrivateUsers=yes) reads it, stunnel is stopped and disabled, and a reboot keeps it so.
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/container/lib.sh"

need redis-cli python3 openssl
container_root_base
container_prepare tr
ip=$CONTAINER_IP
root=$CONTAINER_ROOT
port=6394
tls_port=6395
pw="canary-Container-TlsRedis-5432"
cert="$root/etc/doagent/tls/redis.crt"
copy="$root/etc/doagent/tls/redis.key"
redis_gid=$(awk -F: '$1 == "redis" {print $3}' "$root/etc/group")
redis_uid=$(awk -F: '$1 == "redis" {print $3}' "$root/etc/passwd")

doc() { # FILE DROPLET-ID
	python3 - "$FIXTURES/metadata/full.json" "$1" "$2" "$ip" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["droplet_id"] = int(sys.argv[3])
d["interfaces"]["private"][0]["ipv4"] = {"ip_address": sys.argv[4], "netmask": "255.255.0.0", "gateway": "169.254.0.1"}
json.dump(d, open(sys.argv[2], "w"))
PY
}
metadata() { # USER-DATA DROPLET-ID
	container_stop_fake_metadata tr
	doc "$TMP/md-$2.json" "$2"
	container_start_fake_metadata tr python3 "$top_srcdir/tests/fake-metadata.py" --quiet \
		--bind "$CONTAINER_METADATA_ADDR" --port 80 --document "$TMP/md-$2.json" --user-data "$1"
}
tls_cli() { # PASSWORD ARGS...: redis-cli --tls from the host side, verifying the certificate
	local p="$1"
	shift
	REDISCLI_AUTH="$p" container_host tr redis-cli --no-auth-warning --tls --cacert "$cert" \
		-h "$ip" -p "$tls_port" "$@" 2>&1
}
status_json() { container_exec tr doagent --status --json >"$TMP/status.json" 2>&1 || true; }
json_get() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$TMP/status.json" "$1" 2>/dev/null; }
unit_state() { container_exec tr systemctl show -P "$2" "$1"; }

for engine in stunnel redis; do
	printf '#doagent\n[redis]\nport = %s\npassword = %s\nbind = private\n[tls]\nengine = %s\nport = %s\n' \
		"$port" "$pw" "$engine" "$tls_port" >"$TMP/ud-$engine.ini"
done

# --- boot 1: a droplet with stunnel ---------------------------------------------------
container_enable tr doagent.service
metadata "$TMP/ud-stunnel.ini" 7001
container_boot tr
container_wait_unit tr doagent.service 120 >/dev/null
check; [ "$(container_exec tr systemctl is-active doagent.service)" = active ] ||
	fail "doagent.service is not active: $(container_exec tr systemctl status doagent.service 2>&1 | tail -n 20)"
check; [ "$(unit_state stunnel@doagent-redis.service ActiveState)" = active ] ||
	fail "engine = stunnel: stunnel is not active"
check; [ "$(tls_cli "$pw" PING)" = PONG ] || fail "engine = stunnel: redis-cli --tls: $(tls_cli "$pw" PING)"
check; [ ! -e "$copy" ] || fail "engine = stunnel: the redis engine's key copy exists"

# --- the same droplet, now engine = redis: doagent --force, as an admin runs it -------
metadata "$TMP/ud-redis.ini" 7001
# In a unit of its own, as doagent.service runs it (the ordering guard needs one).
doagent=$(container_exec tr sh -c 'command -v doagent')
check; container_exec tr systemd-run --quiet --wait --collect -p StandardOutput=journal -p StandardError=journal \
	"$doagent" --force >"$TMP/force.out" 2>&1 ||
	fail "doagent --force with engine = redis failed: $(cat "$TMP/force.out"; container_exec tr doagent --status 2>&1 | head -n 15; container_exec tr journalctl -u redis-server.service -n 5 --no-pager 2>&1)"

check_native() { # WHEN
	local when="$1" ids mainpid
	check; [ "$(tls_cli "$pw" PING)" = PONG ] || fail "$when: redis-cli --tls at $ip:$tls_port: $(tls_cli "$pw" PING)"
	check; tls_cli "not-the-password-of-this-redis" PING | grep -q WRONGPASS ||
		fail "$when: a wrong password through TLS was not refused"
	check; [ "$(tls_cli "$pw" CONFIG GET tls-port | tail -n 1)" = "$tls_port" ] || fail "$when: TLS is not Redis' own"
	check; echo | container_host tr openssl s_client -connect "$ip:$tls_port" -CAfile "$cert" -verify_ip "$ip" \
		-verify_return_error 2>&1 | grep -q 'Verify return code: 0 (ok)' ||
		fail "$when: openssl s_client does not verify the droplet's certificate for $ip"
	# Refused (no plaintext TCP port) or dropped (the firewall): never an answer.
	check; ! REDISCLI_AUTH="$pw" container_host tr timeout 5 redis-cli --no-auth-warning -h "$ip" -p "$port" PING 2>&1 |
		grep -q PONG || fail "$when: the plaintext port answers at $ip"
	check; [ -z "$(container_exec tr ss -Hltn "sport = :$port")" ] ||
		fail "$when: something listens on the plaintext port: $(container_exec tr ss -Hltn)"
	check; [ "$(stat -c '%a %u %g' "$copy" 2>/dev/null)" = "640 0 $redis_gid" ] ||
		fail "$when: the key's copy is not 0640 root:redis: $(stat -c '%a %U:%G' "$copy" 2>&1)"
	check; [ "$(stat -c '%a %u' "$root/var/lib/doagent/secrets/tls.key")" = "600 0" ] ||
		fail "$when: the key is not 0600 root"
	check; [ "$(unit_state stunnel@doagent-redis.service ActiveState)" = inactive ] &&
		[ "$(unit_state stunnel@doagent-redis.service UnitFileState)" = disabled ] ||
		fail "$when: stunnel is $(unit_state stunnel@doagent-redis.service ActiveState) and $(unit_state stunnel@doagent-redis.service UnitFileState)"
	check; container_exec tr sh -c 'cat /proc/[0-9]*/comm' >"$TMP/comms" && grep -qx redis-server "$TMP/comms" &&
		! grep -qx stunnel4 "$TMP/comms" || fail "$when: a stunnel4 process runs (or no process list)"
	mainpid=$(unit_state redis-server.service MainPID)
	ids=$(container_exec tr awk '/^Uid:/ {u = $2} /^Gid:/ {g = $2} END {print u ":" g}' "/proc/$mainpid/status")
	check; [ "$ids" = "$redis_uid:$redis_gid" ] || fail "$when: redis-server runs as $ids, not redis ($redis_uid:$redis_gid)"
	check; container_exec tr sh -c 'REDISCLI_AUTH=$(sed -n "s/^requirepass //p" /etc/redis/redis.conf) redis-cli --no-auth-warning -s /run/redis/redis-server.sock PING' |
		grep -qx PONG || fail "$when: the Unix socket does not answer on the droplet"
	check; container_exec tr nft list table inet doagent | grep -q "tcp dport $tls_port accept" &&
		! container_exec tr nft list table inet doagent | grep -q "tcp dport $port accept" ||
		fail "$when: the firewall does not open the TLS port alone"
	status_json
	check; [ "$(json_get result)" = success ] && grep -q "through TLS" "$TMP/status.json" ||
		fail "$when: doagent --status: $(cat "$TMP/status.json")"
	check; grep -qF "rediss://default:$pw@$ip:$tls_port" "$TMP/status.json" ||
		fail "$when: --status as root does not give the TLS URL"
}
check_native "after doagent --force"
container_exec tr journalctl --sync
check; container_exec tr journalctl --no-pager -o cat 2>/dev/null | grep -q 'stopped and disabled stunnel@doagent-redis.service' ||
	fail "the units step does not say it stopped stunnel"

# --- boot 2: a reboot keeps Redis' own TLS, and stunnel off ----------------------------
container_stop tr
container_boot tr
container_wait_unit tr doagent.service 120 >/dev/null
container_wait_unit tr redis-server.service 60 >/dev/null
check_native "after a reboot"

# --- secrets: never in the journal or on the console ---------------------------------
container_exec tr journalctl --sync
container_exec tr journalctl -o export >"$TMP/journal" 2>&1
keyline=$(sed -n 2p "$copy")
check; ! grep -qF "$keyline" "$TMP/journal" "$TMP/ct-tr/console.log" "$TMP/status.json" ||
	fail "the TLS key is in the journal, on the console or in --status"
check; ! grep -qF "$pw" "$TMP/journal" "$TMP/ct-tr/console.log" || fail "the password is in the journal or on the console"
finish
