#!/bin/sh
# The whole first boot in a real systemd: a Debian 12 root with redis-server and
# this build installed, booted with systemd-nspawn, the fake metadata service at
# 169.254.169.254 across a veth link. Checked from outside (the host side of the
# link): Redis answers with the user data's password on the user data's port at
# the container's address, with the policy asked for; a second boot and a
# restart of doagent change nothing; a new droplet id reconfigures with a new
# password; invalid user data leaves Redis off every non-loopback address; the
# password is in no log, output or file but those meant to hold it.
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/container/lib.sh"

need redis-cli python3 openssl
container_root_base
container_prepare fb
ip=$CONTAINER_IP
root=$CONTAINER_ROOT
port=6390
pw="canary-Container-pw-9876"

# A metadata document whose private interface is the container's own address.
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
	container_stop_fake_metadata fb
	doc "$TMP/md-$2.json" "$2"
	container_start_fake_metadata fb python3 "$top_srcdir/tests/fake-metadata.py" --quiet \
		--bind "$CONTAINER_METADATA_ADDR" --port 80 --document "$TMP/md-$2.json" --user-data "$1"
}
cli() { # PASSWORD ARGS...: redis-cli from the host side, the password in the environment
	local p="$1"
	shift
	REDISCLI_AUTH="$p" container_host fb redis-cli --no-auth-warning -h "$ip" -p "$port" "$@" 2>&1
}
redis_pid() { container_exec fb systemctl show -P MainPID redis-server.service; }
status_json() { container_exec fb doagent --status --json >"$TMP/status.json" 2>&1 || true; }
json_get() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$TMP/status.json" "$1" 2>/dev/null; }

printf '#doagent\n[redis]\nport = %s\npassword = %s\nmaxmemory-policy = allkeys-lfu\nbind = private\n[tls]\nenabled = no\n' \
	"$port" "$pw" >"$TMP/ud1.ini"
printf '#doagent\n[redis]\nport = %s\nbind = private\n[tls]\nenabled = no\n' "$port" >"$TMP/ud2.ini"
printf '#doagent\n[redis]\nport = %s\nbind = privte\n' "$port" >"$TMP/ud-bad.ini"

# --- boot 1: a new droplet -------------------------------------------------------
container_enable fb doagent.service
metadata "$TMP/ud1.ini" 5001
container_boot fb
container_wait_unit fb doagent.service 120

check; [ "$(container_exec fb systemctl is-active doagent.service)" = active ] ||
	fail "doagent.service is not active: $(container_exec fb systemctl status doagent.service 2>&1 | tail -n 20)"
check; [ "$(cli "$pw" PING)" = PONG ] || fail "PING at $ip:$port with the user data's password: $(cli "$pw" PING)"
check; [ "$(cli "$pw" CONFIG GET maxmemory-policy | tail -n 1)" = allkeys-lfu ] || fail "maxmemory-policy is not allkeys-lfu"
check; cli "wrong-password-for-this-redis" PING | grep -q 'WRONGPASS' || fail "a wrong password was not refused"
check; REDISCLI_AUTH='' container_host fb redis-cli -h "$ip" -p "$port" GET x 2>&1 | grep -q NOAUTH || fail "no password was not refused"
status_json
check; [ "$(json_get result)" = success ] && [ "$(json_get droplet_id)" = 5001 ] ||
	fail "doagent --status: $(cat "$TMP/status.json")"
check; grep -q "redis://default:$pw@$ip:$port" "$TMP/status.json" || fail "--status as root does not give the connection URL"
# journald may not have written doagent's last records yet: --sync waits for it.
container_exec fb journalctl --sync
check; container_exec fb journalctl -u doagent.service -o export | grep -q '^DOAGENT_STEP=ready' ||
	fail "the journal has no structured DOAGENT_STEP=ready record"
check; [ "$(container_exec fb systemctl is-enabled redis-server.service)" = enabled ] || fail "redis-server.service is not enabled"
pid1=$(redis_pid)
conf_ino=$(stat -c %i "$root/etc/redis/redis.conf")

# sd-bus for real, with the unit tests' live half.
if [ -x "$top_builddir/tests/test-systemd" ]; then
	cp "$top_builddir/tests/test-systemd" "$root/usr/local/bin/doagent-test-systemd"
	# In a unit of its own, as doagent runs: the ordering guard needs one.
	check; container_exec fb systemd-run --quiet --wait --collect -E DOAGENT_TEST_SYSTEMD=1 \
		-p StandardOutput=file:/run/test-systemd.log -p StandardError=inherit \
		/usr/local/bin/doagent-test-systemd >/dev/null 2>&1 || fail "test-systemd inside the container failed"
	cp "$root/run/test-systemd.log" "$TMP/test-systemd.log" 2>/dev/null ||
		container_exec fb cat /run/test-systemd.log >"$TMP/test-systemd.log"
	[ "$tests_failed" -eq 0 ] || cat "$TMP/test-systemd.log" >&2
	check; grep -q 'PASSED.*10 test' "$TMP/test-systemd.log" || fail "test-systemd did not run its live tests: $(tail -n 5 "$TMP/test-systemd.log")"
fi

# --- the same boot: systemctl restart doagent changes nothing ---------------------
container_exec fb systemctl restart doagent.service
check; [ "$(redis_pid)" = "$pid1" ] || fail "restarting doagent restarted Redis ($pid1 -> $(redis_pid))"
check; [ "$(stat -c %i "$root/etc/redis/redis.conf")" = "$conf_ino" ] || fail "restarting doagent rewrote redis.conf"

# --- boot 2: the same droplet ----------------------------------------------------
container_stop fb
container_boot fb
container_wait_unit fb doagent.service 120
check; [ "$(cli "$pw" PING)" = PONG ] || fail "after a reboot, Redis does not answer with the same password"
check; [ "$(stat -c %i "$root/etc/redis/redis.conf")" = "$conf_ino" ] || fail "the second boot rewrote redis.conf"
status_json
check; grep -q 'configured already' "$TMP/status.json" || fail "the second boot did not see the droplet as configured"
# The ruleset came back at boot, from doagent-firewall.service, before the network.
check; [ "$(container_exec fb systemctl is-active doagent-firewall.service)" = active ] ||
	fail "doagent-firewall.service did not load the rules at boot: $(container_exec fb systemctl status doagent-firewall.service 2>&1 | tail -n 10)"
check; container_exec fb systemctl list-dependencies --before doagent-firewall.service 2>/dev/null | grep -q network-pre.target ||
	fail "doagent-firewall.service is not ordered before network-pre.target"

# --- boot 3: a snapshot of this droplet booted as a new one -----------------------
container_stop fb
metadata "$TMP/ud2.ini" 5002
container_boot fb
container_wait_unit fb doagent.service 120
gen=$(sed -n 's/^requirepass //p' "$root/etc/redis/redis.conf")
check; printf '%s' "$gen" | grep -Eqx '[0-9a-f]{64}' || fail "droplet 5002 has no generated password"
check; [ "$(cli "$gen" PING)" = PONG ] || fail "droplet 5002: PING with its new password: $(cli "$gen" PING)"
check; cli "$pw" PING | grep -q WRONGPASS || fail "droplet 5002 still takes the old droplet's password"
status_json
check; [ "$(json_get droplet_id)" = 5002 ] && [ "$(json_get result)" = success ] || fail "--status for 5002: $(cat "$TMP/status.json")"

# --- boot 3b: a TLS droplet: stunnel in front, Redis' own port on loopback ---------
tls_port=6391
printf '#doagent\n[redis]\nport = %s\npassword = %s\nbind = private\n[tls]\nenabled = yes\nport = %s\n' \
	"$port" "$pw" "$tls_port" >"$TMP/ud-tls.ini"
container_stop fb
metadata "$TMP/ud-tls.ini" 5010
container_boot fb
container_wait_unit fb doagent.service 120
check; [ "$(container_exec fb systemctl is-active stunnel@doagent-redis.service)" = active ] ||
	fail "stunnel is not active: $(container_exec fb systemctl status stunnel@doagent-redis.service 2>&1 | tail -n 15)"
tls_pong=$(REDISCLI_AUTH="$pw" container_host fb redis-cli --no-auth-warning --tls \
	--cacert "$root/etc/doagent/tls/redis.crt" -h "$ip" -p "$tls_port" PING 2>&1)
check; [ "$tls_pong" = PONG ] || fail "redis-cli --tls at $ip:$tls_port: $tls_pong"
# Refused (Redis is on loopback) or dropped (the firewall): never an answer.
check; ! REDISCLI_AUTH="$pw" container_host fb timeout 5 redis-cli --no-auth-warning \
	-h "$ip" -p "$port" PING 2>&1 | grep -q PONG || fail "with TLS on, the plaintext port answers at $ip"
check; container_exec fb nft list table inet doagent | grep -q "tcp dport $tls_port accept" ||
	fail "the firewall does not open the TLS port: $(container_exec fb nft list ruleset 2>&1 | head -n 30)"
check; [ "$(container_exec fb systemctl is-enabled doagent-firewall.service)" = enabled ] ||
	fail "doagent-firewall.service is not enabled (the rules would not come back at boot)"
check; openssl x509 -in "$root/etc/doagent/tls/redis.crt" -noout -ext subjectAltName | grep -qF "IP Address:$ip" ||
	fail "the certificate does not name the container's address $ip"
status_json
check; [ "$(json_get result)" = success ] && grep -q 'through TLS' "$TMP/status.json" ||
	fail "--status for the TLS droplet: $(cat "$TMP/status.json")"
check; [ "$(stat -c %a "$root/var/lib/doagent/secrets/tls.key")" = 600 ] || fail "the TLS key is not 0600"
tls_key_line=$(sed -n 2p "$root/var/lib/doagent/secrets/tls.key")

# --- boot 4: invalid user data fails closed ----------------------------------------
container_stop fb
metadata "$TMP/ud-bad.ini" 5003
container_boot fb
container_wait_unit fb doagent.service 120
check; ! cli "$gen" PING 2>&1 | grep -q PONG || fail "Redis answers at $ip after invalid user data"
check; [ "$(container_exec fb systemctl is-active redis-server.service stunnel@doagent-redis.service | sort -u)" != active ] ||
	fail "Redis or stunnel still runs after invalid user data"
check; [ -z "$(container_exec fb ss -Hltn "sport = :$tls_port" | grep -v -e '127.0.0.1:' -e '\[::1\]:')" ] ||
	fail "stunnel still listens beyond loopback after invalid user data"
check; [ -z "$(container_exec fb ss -Hltn "sport = :$port" | grep -v -e '127.0.0.1:' -e '\[::1\]:')" ] ||
	fail "something listens on port $port beyond loopback: $(container_exec fb ss -Hltn)"
status_json
check; [ "$(json_get result)" = failed ] && grep -q "bind: not one of" "$TMP/status.json" ||
	fail "--status after invalid user data: $(cat "$TMP/status.json")"
check; [ "$(json_get exit_status)" = 65 ] || fail "the failed run's exit status is not 65"
check; grep -q "bind: not one of" "$root/etc/motd.d/doagent" || fail "the login message does not show the error"
check; ! container_exec fb nft list table inet doagent >/dev/null 2>&1 || fail "doagent's firewall table is still loaded after invalid user data"
check; [ ! -e "$root/etc/doagent/firewall.nft" ] || fail "the old ruleset would be loaded again at the next boot"

# --- secrets: never in the journal, doagent's output, or files not meant for them ---
container_exec fb journalctl --sync
container_exec fb journalctl -o export >"$TMP/journal" 2>&1
container_exec fb doagent --status >"$TMP/status-nonroot.txt" 2>&1 || true
check; ! grep -qF "$tls_key_line" "$TMP/journal" "$TMP/ct-fb/console.log" "$TMP/status.json" ||
	fail "the TLS key is in the journal, on the console or in --status"
for p in "$pw" "$gen"; do
	check; ! grep -qF "$p" "$TMP/journal" || fail "a password is in the journal"
	check; ! grep -qF "$p" "$TMP/ct-fb/console.log" 2>/dev/null || fail "a password is on the console"
	# Every file holding it, among those the boots wrote (the overlay's upper layer).
	for f in $(grep -rlF "$p" "$TMP/ct-fb/upper" 2>/dev/null); do
		rel=${f#"$TMP/ct-fb/upper"}
		mode=$(stat -c %a "$f")
		case "$rel:$mode" in
		/etc/redis/redis.conf:640 | /root/doagent-connection.txt:600 | /var/lib/doagent/secrets/password:600 | \
			/var/lib/redis/*:6?0) ;;
		*) check; fail "a password is in $rel (mode $mode)" ;;
		esac
	done
done
finish
