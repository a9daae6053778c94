#!/bin/sh
# A droplet whose private address is not on its interface yet when doagent starts
# (on a real droplet: the network configuration lost a race; the metadata service is
# reachable all the same). The private address comes up 15 s after doagent started.
# The outcome must be a wait, said in the journal, and then a success with TLS
# answering at that address from a VPC neighbour; never a success with a dead
# endpoint. Then the same droplet type where the address never comes: a failure
# naming it, within the deadline. Prints "address up -> TLS PONG" (bench/late-address
# collects it; $DOAGENT_BENCH_OUT, when set, gets the number in milliseconds).
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/container/lib.sh"

need redis-cli python3
container_root_base
container_prepare la
root=$CONTAINER_ROOT
tag=$(cat "$TMP/ct-la/tag")
priv=10.133.0.2
neighbour=10.133.0.1
port=6390
tls_port=6391
pw="canary-Late-address-pw-4242"
delay=${LATE_ADDRESS_DELAY:-15}

# The VPC neighbour: the host side of the link, on the private network too.
ip -n "$(container_netns la)" addr add "$neighbour/16" dev "ve-$tag"

doc() { # FILE DROPLET-ID
	python3 - "$FIXTURES/metadata/full.json" "$1" "$2" "$priv" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["droplet_id"] = int(sys.argv[3])
d["interfaces"]["private"][0]["ipv4"] = {"ip_address": sys.argv[4], "netmask": "255.255.0.0", "gateway": ""}
json.dump(d, open(sys.argv[2], "w"))
PY
}
metadata() { # DROPLET-ID
	container_stop_fake_metadata la
	doc "$TMP/md-$1.json" "$1"
	container_start_fake_metadata la python3 "$top_srcdir/tests/fake-metadata.py" --quiet \
		--bind "$CONTAINER_METADATA_ADDR" --port 80 --document "$TMP/md-$1.json" --user-data "$TMP/ud.ini"
}
tls_ping() {
	REDISCLI_AUTH="$pw" container_host la timeout 5 redis-cli --no-auth-warning --tls \
		--cacert "$root/etc/doagent/tls/redis.crt" -h "$priv" -p "$tls_port" PING 2>&1
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
status_json() { container_exec la doagent --status --json >"$TMP/status.json" 2>&1 || true; }
json_get() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$TMP/status.json" "$1" 2>/dev/null; }
# wait_active UNIT: until UNIT is activating or further (10 s at most).
wait_activating() {
	local n=200 st
	while [ $n -gt 0 ]; do
		st=$(container_exec la systemctl show -P ActiveState "$1" 2>/dev/null) || st=""
		case $st in activating | active | failed) return 0 ;; esac
		sleep 0.05
		n=$((n - 1))
	done
	return 1
}

printf '#doagent\n[redis]\nport = %s\npassword = %s\nbind = private\n[tls]\nenabled = yes\nport = %s\n' \
	"$port" "$pw" "$tls_port" >"$TMP/ud.ini"

# --- the address comes up 15 s after doagent starts -------------------------------
container_enable la doagent.service
metadata 6001
CONTAINER_BOOT_WAIT=started container_boot la
check; wait_activating doagent.service || fail "doagent.service did not start"
t_start=$(now_ms)
# While it waits: the journal says what for, and nothing answers at the address.
n=0
until container_exec la journalctl -u doagent.service -o cat 2>/dev/null | grep -q "waiting for $priv to be on an interface"; do
	n=$((n + 1))
	[ $n -lt 100 ] || break
	sleep 0.1
done
check; [ $n -lt 100 ] || fail "the journal does not say that doagent waits for $priv: $(container_exec la journalctl -u doagent.service -o cat | tail -n 5)"
check; [ "$(container_exec la systemctl show -P ActiveState doagent.service)" = activating ] ||
	fail "doagent.service is not waiting: $(container_exec la systemctl status doagent.service 2>&1 | tail -n 10)"
check; [ "$(container_exec la systemctl is-active redis-server.service)" != active ] ||
	fail "Redis started before the address was there"
left=$((t_start + delay * 1000 - $(now_ms)))
[ $left -le 0 ] || sleep "$(_ct_secs $left)"
ip -n "$(container_netns_ct la)" addr add "$priv/16" dev host0
t_up=$(now_ms)
pong=""
while [ $(($(now_ms) - t_up)) -lt 60000 ]; do
	pong=$(tls_ping) || :
	[ "$pong" != PONG ] || break
	sleep 0.05
done
t_pong=$(now_ms)
check; [ "$pong" = PONG ] || fail "no TLS PONG from $priv:$tls_port within 60 s of the address: $pong"
ms=$((t_pong - t_up))
echo "late-address: address up $(_ct_secs $((t_up - t_start))) s after doagent started; address up -> TLS PONG from the VPC neighbour: $(_ct_secs $ms) s"
[ -z "${DOAGENT_BENCH_OUT:-}" ] || echo "$ms" >>"$DOAGENT_BENCH_OUT"
container_wait_unit la doagent.service 60 >/dev/null
check; [ "$(container_exec la systemctl is-active doagent.service)" = active ] ||
	fail "doagent.service: $(container_exec la systemctl status doagent.service 2>&1 | tail -n 15)"
status_json
check; [ "$(json_get result)" = success ] || fail "--status after the wait: $(cat "$TMP/status.json")"
check; grep -q "$priv on an interface (waited 1[0-9]\.[0-9]* s)" "$TMP/status.json" ||
	fail "the network step does not record the wait: $(cat "$TMP/status.json")"
check; grep -q "rediss://default:$pw@$priv:$tls_port" "$TMP/status.json" || fail "the connection details do not give $priv:$tls_port"
check; container_exec la ss -Hltn "sport = :$tls_port" | grep -q "$priv:$tls_port" ||
	fail "stunnel does not listen on $priv:$tls_port: $(container_exec la ss -Hltn)"

# --- a new droplet whose address never comes: a failure, not a success -------------
container_stop la
ip -n "$(container_netns_ct la)" addr del "$priv/16" dev host0
printf '[metadata]\ndeadline = 8\n' >"$root/etc/doagent/doagent.conf"
metadata 6002
container_boot la
container_wait_unit la doagent.service 60 >/dev/null
status_json
check; [ "$(json_get result)" = failed ] && grep -q "network: $priv not on any interface after" "$TMP/status.json" ||
	fail "a droplet whose address never came: $(cat "$TMP/status.json")"
check; [ "$(container_exec la systemctl is-active doagent.service)" = failed ] ||
	fail "doagent.service is not failed: $(container_exec la systemctl is-active doagent.service)"
check; ! container_exec la systemctl is-active --quiet stunnel@doagent-redis.service ||
	fail "stunnel runs although its address never came"
container_exec la journalctl --sync
check; ! container_exec la journalctl -o export | grep -qF "$pw" || fail "the password is in the journal"
finish
