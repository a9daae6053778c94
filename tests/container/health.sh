#!/bin/sh
# doagent --status's live health on a booted droplet: a Debian 12 root with this build,
# booted with systemd-nspawn, the fake metadata service across a veth link, TLS on
# (stunnel in front, Redis' plaintext port on loopback, where --status asks it).
# A client on the host side fills Redis through TLS:
# - maxmemory 4mb with noeviction: --status turns warning past 90% and failing once a
#   write is refused (OOM), with the numbers;
# - a new droplet with allkeys-lru: it stays ok and counts the evictions;
# - a new droplet with engine = redis: --status asks Redis on its Unix socket;
# and: journalctl -u redis-server shows Redis' start-up lines (it logs to the journal,
# not to /var/log/redis); --status as another user says the live part needs root and
# shows no secret; the password reaches no journal.
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/container/lib.sh"

need redis-cli python3
container_root_base
container_prepare hc
ip=$CONTAINER_IP
root=$CONTAINER_ROOT
port=6396
tls_port=6397
pw="canary-Container-Health-8c31"
cert="$root/etc/doagent/tls/redis.crt"
printf '%s\n' "$pw" >"$TMP/pw.pat"

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
	container_stop_fake_metadata hc
	doc "$TMP/md-$2.json" "$2"
	container_start_fake_metadata hc python3 "$top_srcdir/tests/fake-metadata.py" --quiet \
		--bind "$CONTAINER_METADATA_ADDR" --port 80 --document "$TMP/md-$2.json" --user-data "$1"
}
ud() { # POLICY ENGINE
	printf '#doagent\n[redis]\nport = %s\npassword = %s\nmaxmemory = 4mb\nmaxmemory-policy = %s\nbind = private\nsnapshots = no\n[tls]\nengine = %s\nport = %s\n' \
		"$port" "$pw" "$1" "$2" "$tls_port"
}
# A client on the host side, through TLS, verifying the droplet's certificate; the
# password in its environment.
tls_cli() {
	REDISCLI_AUTH="$pw" container_host hc redis-cli --no-auth-warning --tls --cacert "$cert" \
		-h "$ip" -p "$tls_port" "$@" 2>&1
}
# fill FROM COUNT: SET key:FROM... to 1000-byte values; the replies in $TMP/replies.
fill() {
	awk -v from="$1" -v n="$2" 'BEGIN { v = sprintf("%1000s", ""); gsub(/ /, "x", v)
		for (i = from; i < from + n; i++) print "SET key:" i " " v }' | tls_cli >"$TMP/replies"
}
percent() {
	tls_cli INFO memory | tr -d '\r' | awk -F: '/^used_memory:/ { u = $2 } /^maxmemory:/ { m = $2 }
		END { if (m) print int(u * 100 / m); else print -1 }'
}
# status: doagent --status (text and JSON) as root inside the droplet.
status() {
	container_exec hc doagent --status >"$TMP/status" 2>&1 || :
	container_exec hc doagent --status --json >"$TMP/status.json" 2>&1 || :
	sed -n '/^health:/,/^$/p' "$TMP/status" >>"$TMP/health-output"
	python3 -c 'import json, sys; json.dump(json.load(open(sys.argv[1]))["health"], open(sys.argv[2], "w"))' \
		"$TMP/status.json" "$TMP/health.json" 2>/dev/null || echo '{}' >"$TMP/health.json"
	cat "$TMP/health.json" >>"$TMP/health-output"
}
verdict() { sed -n 's/^health: *\([a-z]*\).*/\1/p' "$TMP/status"; }
field() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2]))' "$TMP/health.json" "$1"; }
show() { sed -n '/^health:/,/^$/p' "$TMP/status"; }
boot() { # USER-DATA DROPLET-ID
	container_stop hc
	metadata "$1" "$2"
	container_boot hc
	check; [ "$(container_wait_unit hc doagent.service 120)" = active ] ||
		fail "droplet $2: doagent.service: $(container_exec hc systemctl status doagent.service 2>&1 | tail -n 15)"
}

ud noeviction stunnel >"$TMP/ud-noeviction.ini"
ud allkeys-lru stunnel >"$TMP/ud-lru.ini"
ud allkeys-lru redis >"$TMP/ud-engine.ini"
container_enable hc doagent.service

# --- droplet 8001: noeviction, filled through TLS ---------------------------------------
boot "$TMP/ud-noeviction.ini" 8001
check; [ "$(tls_cli PING)" = PONG ] || fail "PING through TLS: $(tls_cli PING)"
status
check; [ "$(verdict)" = ok ] && grep -q "^redis:      7\.[0-9.]* at 127\.0\.0\.1:$port, up " "$TMP/status" ||
	fail "noeviction, empty: $(cat "$TMP/status")"
check; grep -q '^memory:     .* of 4\.00 MiB maxmemory .*, noeviction$' "$TMP/status" || fail "noeviction: the memory line: $(show)"

# Quickly to 80%, then in steps of 20 keys (about 0.6% of 4 MiB each).
i=0
while [ "$(percent)" -lt 80 ] && [ $i -lt 10000 ]; do
	fill $i 200
	i=$((i + 200))
done
while [ "$(percent)" -lt 90 ] && [ $i -lt 10000 ]; do
	fill $i 20
	i=$((i + 20))
done
check; [ "$(sort -u "$TMP/replies")" = OK ] || fail "noeviction below the limit: $(sort -u "$TMP/replies" | head -n 3)"
status
check; [ "$(verdict)" = warning ] &&
	grep -q '^health:     warning: memory at 9[0-9]\.[0-9]% of maxmemory (.* of 4\.00 MiB): with noeviction, writes fail once it is full$' "$TMP/status" ||
	fail "noeviction past 90%: $(show)"
cp "$TMP/status" "$TMP/status-warning"

n=0
while ! grep -q '^OOM ' "$TMP/replies" && [ $n -lt 500 ]; do
	fill $i 20
	i=$((i + 20))
	n=$((n + 1))
done
check; grep -q "^OOM command not allowed when used memory > 'maxmemory'" "$TMP/replies" ||
	fail "noeviction: no write refused after $i keys: $(sort -u "$TMP/replies" | head -n 3)"
status
check; [ "$(verdict)" = failing ] &&
	grep -q '^health:     failing: writes are refused (OOM): 4[0-9]\{6\} bytes used, over maxmemory (4194304 bytes, 4\.00 MiB), and noeviction evicts nothing$' "$TMP/status" ||
	fail "noeviction full: $(show)"
check; python3 - "$TMP/health.json" <<'PY' || fail "noeviction full, the JSON: $(cat "$TMP/health.json")"
import json, sys
h = json.load(open(sys.argv[1]))
assert h["verdict"] == "failing" and h["used_memory"] > h["maxmemory"] == 4194304, h
assert h["oom_errors"] >= 1 and h["evicted_keys"] == 0 and h["maxmemory_policy"] == "noeviction", h
PY
fill $((i + 100000)) 5
check; [ "$(grep -c '^OOM ' "$TMP/replies")" -ge 4 ] || fail "noeviction full: writes go on after --status said failing"
cp "$TMP/status" "$TMP/status-failing"

# Redis logs to the journal: its start-up lines are there, not in /var/log/redis.
container_exec hc journalctl --sync
container_exec hc journalctl -u redis-server.service -o cat --no-pager >"$TMP/redis-journal" 2>&1 || :
check; grep -q 'Redis version=7' "$TMP/redis-journal" && grep -q 'Ready to accept connections' "$TMP/redis-journal" ||
	fail "journalctl -u redis-server has no start-up lines: $(tail -n 5 "$TMP/redis-journal")"
check; [ ! -s "$root/var/log/redis/redis-server.log" ] || fail "Redis still writes /var/log/redis/redis-server.log"
check; grep -qx 'logfile ""' "$root/etc/redis/redis.conf" || fail "redis.conf does not log to standard output"

# Anyone may read --status; the live part is root's.
container_exec hc setpriv --reuid=65534 --regid=65534 --clear-groups doagent --status >"$TMP/nobody" 2>&1 || :
check; grep -qx "health:     not checked: live health: run as root (it needs Redis' password)" "$TMP/nobody" &&
	grep -q '^result: *success' "$TMP/nobody" || fail "--status as nobody: $(cat "$TMP/nobody")"
check; ! grep -qF -f "$TMP/pw.pat" "$TMP/nobody" || fail "--status as nobody shows the password"
container_exec hc setpriv --reuid=65534 --regid=65534 --clear-groups doagent --status --json >"$TMP/nobody.json" 2>&1 || :
check; python3 -c 'import json, sys; h = json.load(open(sys.argv[1]))["health"]; sys.exit(h["checked"] is not False or "root" not in h["reason"])' "$TMP/nobody.json" ||
	fail "--status --json as nobody: $(cat "$TMP/nobody.json")"
check; ! grep -qF -f "$TMP/pw.pat" "$TMP/nobody.json" || fail "--status --json as nobody shows the password"

# --- droplet 8002: allkeys-lru stays ok and counts evictions --------------------------
boot "$TMP/ud-lru.ini" 8002
fill 0 12000
check; [ "$(sort -u "$TMP/replies")" = OK ] || fail "allkeys-lru: not every write succeeded: $(sort -u "$TMP/replies" | head -n 3)"
status
evicted=$(sed -n 's/^keys: .*since start: \([0-9]*\) evicted.*/\1/p' "$TMP/status")
check; [ "$(verdict)" = ok ] && grep -q '^memory:     .*, allkeys-lru$' "$TMP/status" || fail "allkeys-lru at three times maxmemory: $(show)"
check; [ "${evicted:-0}" -gt 5000 ] || fail "allkeys-lru: ${evicted:-no} evictions counted: $(show)"
cp "$TMP/status" "$TMP/status-lru"

# --- droplet 8003: Redis' own TLS, plaintext on the Unix socket only ------------------
boot "$TMP/ud-engine.ini" 8003
check; [ "$(tls_cli PING)" = PONG ] || fail "engine = redis: PING through TLS: $(tls_cli PING)"
fill 0 100
status
check; [ "$(verdict)" = ok ] && grep -q '^redis:      7\.[0-9.]* at /run/redis/redis-server\.sock, up ' "$TMP/status" &&
	grep -q '^keys:       100 ' "$TMP/status" || fail "engine = redis, over the socket: $(cat "$TMP/status")"

# --- the password: in root's connection details only ----------------------------------
check; [ -s "$TMP/health-output" ] && ! grep -qF -f "$TMP/pw.pat" "$TMP/health-output" || fail "the live health shows the password"
container_exec hc journalctl --sync
container_exec hc journalctl -o export --no-pager >"$TMP/journal" 2>&1 || :
check; [ -s "$TMP/journal" ] && ! grep -qF -f "$TMP/pw.pat" "$TMP/journal" || fail "the journal holds the password"

printf '\n--- noeviction past 90%% ---\n'; cat "$TMP/status-warning"
printf -- '--- noeviction full ---\n'; cat "$TMP/status-failing"
printf -- '--- allkeys-lru ---\n'; cat "$TMP/status-lru"
printf -- '--- journalctl -u redis-server (start-up) ---\n'; head -n 12 "$TMP/redis-journal"
finish
