#!/bin/sh
# doagent --status's live health against a real redis-server, started on the
# redis.conf that a first boot under --root rendered (port, password, maxmemory and
# the policy as the user data says; only dir, pidfile, logfile and saving are
# overridden on the command line):
# - noeviction, filled with 1000-byte values: ok, then warning past 90% of
#   maxmemory, then failing once a real write is refused with OOM, with the numbers;
# - allkeys-lru, filled to three times maxmemory: every write succeeds, the verdict
#   stays ok and the evictions are counted;
# - the same Redis switched to volatile-lru: no key has a TTL (warning), then writes
#   refused (failing); an RDB save that fails (failing, and a write gets MISCONF);
# - Redis stopped: failing, "does not answer";
# - a replication group's primary alone (min-replicas-to-write 1): failing, and a
#   write gets NOREPLICAS;
# - as nobody: the live part needs root; the password is in no output but root's
#   connection details.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

need redis-server redis-cli python3 setpriv
unset REDISCLI_AUTH
PW="canary-Health-pw-7c1e2a"
P="$TMP/pat"
mkdir -p "$P"
printf '%s\n' "$PW" >"$P/password"

users() { # ROOT: an image root with its users
	mkdir -p "$1/etc"
	printf 'root:x:0:0:root:/root:/bin/sh\nredis:x:4242:4243::/var/lib/redis:/usr/sbin/nologin\n' >"$1/etc/passwd"
	printf 'root:x:0:\nredis:x:4243:\n' >"$1/etc/group"
}

# setup NAME POLICY: a root configured by doagent for a Redis on a free port with
# maxmemory 4mb and POLICY, and that Redis started; sets $root and $port.
setup() {
	local name="$1" policy="$2" i=0
	root="$TMP/$name"
	port=$(free_port)
	users "$root"
	printf '#doagent\n[redis]\nport = %s\npassword = %s\nmaxmemory = 4mb\nmaxmemory-policy = %s\nbind = loopback\n[tls]\nenabled = no\n[firewall]\nbackend = none\n' \
		"$port" "$PW" "$policy" >"$TMP/$name.ini"
	run_agent --root "$root" --metadata "$FIXTURES/metadata/full.json" --user-data "$TMP/$name.ini" \
		--templates "$TEMPLATES"
	cat "$TMP/out" "$TMP/err" >>"$TMP/all-output"
	check; [ "$status" -eq 0 ] || { fail "$name: the first boot under --root: exit $status: $(cat "$TMP/err")"; finish; }
	mkdir -p "$TMP/$name-data"
	redis-server "$root/etc/redis/redis.conf" --dir "$TMP/$name-data" --save '' --daemonize yes \
		--pidfile "$TMP/$name.pid" --logfile "$TMP/$name.log" </dev/null >/dev/null 2>&1 ||
		{ fail "$name: redis-server does not start: $(tail -n 3 "$TMP/$name.log")"; finish; }
	at_exit "stop_pidfile '$TMP/$name.pid'"
	until [ "$(cli PING)" = PONG ]; do
		i=$((i + 1))
		[ $i -lt 100 ] || { fail "$name: Redis does not answer on $port"; finish; }
		sleep 0.05
	done
}

cli() { REDISCLI_AUTH="$PW" redis-cli --no-auth-warning -p "$port" "$@" 2>&1; }

# fill FROM COUNT: SET key:FROM... to 1000-byte values in one redis-cli; the replies
# in $TMP/replies.
fill() {
	awk -v from="$1" -v n="$2" 'BEGIN { v = sprintf("%1000s", ""); gsub(/ /, "x", v)
		for (i = from; i < from + n; i++) print "SET key:" i " " v }' |
		REDISCLI_AUTH="$PW" redis-cli --no-auth-warning -p "$port" >"$TMP/replies" 2>&1
}

# Used memory in percent of maxmemory, as INFO says (an integer).
percent() {
	cli INFO memory | tr -d '\r' | awk -F: '/^used_memory:/ { u = $2 } /^maxmemory:/ { m = $2 }
		END { print int(u * 100 / m) }'
}

# status: doagent --status as root, the text in $TMP/status and the JSON's health
# in $TMP/health.json; everything also kept for the password check.
status() {
	run_agent --status --root "$root"
	cp "$TMP/out" "$TMP/status"
	cat "$TMP/out" "$TMP/err" >>"$TMP/all-output"
	sed -n '/^health:/,/^$/p' "$TMP/status" >>"$TMP/health-output"
	run_agent --status --json --root "$root"
	python3 -c 'import json, sys; json.dump(json.load(open(sys.argv[1]))["health"], open(sys.argv[2], "w"))' \
		"$TMP/out" "$TMP/health.json" 2>/dev/null || echo '{}' >"$TMP/health.json"
	python3 -c 'import json, sys; h = json.load(open(sys.argv[1])); h.pop("reasons", None); print(h)' \
		"$TMP/health.json" >>"$TMP/health-output" 2>/dev/null || :
}
verdict() { sed -n 's/^health: *\([a-z]*\).*/\1/p' "$TMP/status"; }
field() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2]))' "$TMP/health.json" "$1"; }
show() { sed -n '/^health:/,/^$/p' "$TMP/status"; }

# --- noeviction: ok, warning, failing ----------------------------------------------
setup noeviction noeviction
status
check; [ "$(verdict)" = ok ] || fail "noeviction, empty: $(show)"
check; [ "$(field maxmemory_policy)" = noeviction ] && [ "$(field maxmemory)" = 4194304 ] ||
	fail "noeviction: the JSON does not give the policy and maxmemory: $(cat "$TMP/health.json")"
check; grep -q '^            Nothing is evicted: once memory is full' "$TMP/status" ||
	fail "noeviction: --status does not say what the policy does: $(show)"

# Past 90%, in steps of 20 keys (about 0.6% of 4 MiB each).
i=0
while [ "$(percent)" -lt 90 ] && [ $i -lt 10000 ]; do
	fill $i 20
	i=$((i + 20))
done
check; ! grep -qv '^OK$' "$TMP/replies" || fail "noeviction below the limit: a write failed: $(sort -u "$TMP/replies" | head -n 3)"
status
check; [ "$(verdict)" = warning ] && grep -q '^health:     warning: memory at 9[0-9]\.[0-9]% of maxmemory (.* of 4\.00 MiB): with noeviction, writes fail once it is full$' "$TMP/status" ||
	fail "noeviction past 90% ($(percent)%): $(show)"
pct_warn=$(field used_memory_percent)
check; python3 -c 'import sys; p = float(sys.argv[1]); sys.exit(not 90 <= p < 100)' "$pct_warn" ||
	fail "noeviction: used_memory_percent $pct_warn is not in [90, 100)"
echo "noeviction: warning at $pct_warn% after $i keys"
sed -n '/^health:/,/^$/p' "$TMP/status" >"$TMP/status-warning"

# Until a real write is refused.
n=0
while ! grep -q '^OOM ' "$TMP/replies" && [ $n -lt 500 ]; do
	fill $i 20
	i=$((i + 20))
	n=$((n + 1))
done
check; grep -q "^OOM command not allowed when used memory > 'maxmemory'" "$TMP/replies" ||
	fail "noeviction: no write was refused after $i keys: $(sort -u "$TMP/replies" | head -n 3)"
status
check; [ "$(verdict)" = failing ] &&
	grep -q '^health:     failing: writes are refused (OOM): 4[0-9]\{6\} bytes used, over maxmemory (4194304 bytes, 4\.00 MiB), and noeviction evicts nothing$' "$TMP/status" ||
	fail "noeviction full: $(show)"
check; python3 - "$TMP/health.json" <<'PY' || fail "noeviction full, the JSON: $(cat "$TMP/health.json")"
import json, sys
h = json.load(open(sys.argv[1]))
assert h["verdict"] == "failing", h
assert h["used_memory"] > h["maxmemory"] == 4194304, h
assert h["used_memory_percent"] > 100, h
assert h["oom_errors"] >= 2 and h["evicted_keys"] == 0, h
assert h["reasons"][0].startswith("writes are refused (OOM)"), h
PY
check; grep -q 'writes refused (OOM)' "$TMP/status" || fail "noeviction full: the refused writes are not counted: $(show)"
# What --status says, a client sees: at most one more write gets in (Redis checks
# before each command, and a client's own buffers come and go at the edge).
fill $((i + 100000)) 5
check; [ "$(grep -c '^OOM ' "$TMP/replies")" -ge 4 ] || fail "noeviction full: writes after --status said failing: $(sort "$TMP/replies" | uniq -c)"
echo "noeviction: failing after $i keys, $(field used_memory) of $(field maxmemory) bytes"
sed -n '/^health:/,/^$/p' "$TMP/status" >"$TMP/status-failing"

# Deleting makes room again: writes go on, the verdict follows.
cli FLUSHALL >/dev/null
status
check; [ "$(verdict)" = ok ] && [ "$(cli SET after-flush x)" = OK ] || fail "noeviction after FLUSHALL: $(show)"

# --- allkeys-lru: stays ok, counts evictions -----------------------------------------
stop_pidfile "$TMP/noeviction.pid"
setup lru allkeys-lru
fill 0 12000
check; [ "$(sort -u "$TMP/replies")" = OK ] || fail "allkeys-lru: not every write succeeded: $(sort -u "$TMP/replies" | head -n 3)"
status
# Redis at its limit evicts before every command, INFO too: the text and the JSON,
# asked one after the other, may count a few more each time.
evicted=$(sed -n 's/^keys: .*since start: \([0-9]*\) evicted.*/\1/p' "$TMP/status")
check; [ "$(verdict)" = ok ] || fail "allkeys-lru filled to three times maxmemory: $(show)"
check; [ "${evicted:-0}" -gt 5000 ] || fail "allkeys-lru: --status counts ${evicted:-no} evictions: $(show)"
check; [ "$(field evicted_keys)" -ge "${evicted:-0}" ] || fail "allkeys-lru: the JSON's evicted_keys $(field evicted_keys) < $evicted"
check; python3 -c 'import sys; sys.exit(not float(sys.argv[1]) <= 101)' "$(field used_memory_percent)" ||
	fail "allkeys-lru: memory at $(field used_memory_percent)%"
echo "allkeys-lru: ok with $evicted keys evicted of 12000 written"
sed -n '/^health:/,/^$/p' "$TMP/status" >"$TMP/status-lru"

# --- volatile-lru without TTLs: warning, then writes refused ---------------------------
# Half full, under a policy that finds nothing to evict.
cli FLUSHALL >/dev/null
fill 0 1500
cli CONFIG SET maxmemory-policy volatile-lru >/dev/null
status
check; [ "$(verdict)" = warning ] &&
	grep -q 'no key has a TTL: volatile-lru can evict nothing, so writes will fail once memory is full' "$TMP/status" ||
	fail "volatile-lru without TTLs: $(show)"
i=20000
while ! grep -q '^OOM ' "$TMP/replies" && [ $i -lt 30000 ]; do
	fill $i 20
	i=$((i + 20))
done
check; grep -q '^OOM ' "$TMP/replies" || fail "volatile-lru without TTLs: no write was refused"
status
check; [ "$(verdict)" = failing ] && grep -q '^health:     failing: writes are refused (OOM): .*no key with a TTL is left to evict' "$TMP/status" ||
	fail "volatile-lru full: $(show)"

# --- an RDB save that fails ------------------------------------------------------------
# Redis' directory removed under it (doagent's redis.conf keeps dir out of CONFIG SET).
cli CONFIG SET maxmemory-policy allkeys-lru >/dev/null
cli FLUSHALL >/dev/null
cli CONFIG SET save "3600 1" >/dev/null
rmdir "$TMP/lru-data"
cli SET before-the-save x >/dev/null
cli BGSAVE >/dev/null
i=0
while [ "$(cli INFO persistence | tr -d '\r' | sed -n 's/^rdb_bgsave_in_progress://p')" != 0 ] && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
status
check; [ "$(verdict)" = failing ] && grep -q 'the last RDB save failed (rdb_last_bgsave_status:err)' "$TMP/status" ||
	fail "a failed RDB save: $(show)"
check; cli SET after-failed-save x | grep -q '^MISCONF' || fail "after a failed save, a write was not refused (MISCONF)"
cli CONFIG SET save "" >/dev/null

# --- Redis gone --------------------------------------------------------------------------
stop_pidfile "$TMP/lru.pid"
status
check; [ "$(verdict)" = failing ] && grep -q "^health:     failing: Redis does not answer: 127.0.0.1:$port: " "$TMP/status" ||
	fail "Redis stopped: $(show)"
check; [ "$status" -eq 0 ] || fail "--status exits $status with Redis stopped: the exit status is the first boot's"

# --- a replication group's primary alone: writes refused for want of replicas -------------
# doagent's redis.conf for a group (min-replicas-to-write 1); the certificate paths
# are the root's.
groot="$TMP/group"
users "$groot"
port=$(free_port)
{
	printf '#doagent\n[redis]\nport = %s\npassword = %s\nbind = private\n[firewall]\nbackend = none\n[tls]\nport = %s\ncertificate =\n' \
		"$port" "$PW" "$(free_port)"
	sed 's/^/    /' "$FIXTURES/tls/valid-cert.pem"
	printf 'key =\n'
	sed 's/^/    /' "$FIXTURES/tls/valid-key.pem"
	printf '[replication]\ngroup = health-1\nprimary = self\nquorum = 2\n'
} >"$TMP/group.ini"
run_agent --root "$groot" --metadata "$FIXTURES/metadata/full.json" --user-data "$TMP/group.ini" --templates "$TEMPLATES"
cat "$TMP/out" "$TMP/err" >>"$TMP/all-output"
check; [ "$status" -eq 0 ] && grep -qx 'min-replicas-to-write 1' "$groot/etc/redis/redis.conf" ||
	fail "the group's first boot under --root: exit $status: $(cat "$TMP/err")"
mkdir -p "$TMP/group-data"
redis-server "$groot/etc/redis/redis.conf" --dir "$TMP/group-data" --save '' --daemonize yes \
	--pidfile "$TMP/group.pid" --logfile "$TMP/group.log" --tls-cert-file "$groot/etc/doagent/tls/redis.crt" \
	--tls-key-file "$groot/etc/doagent/tls/redis.key" --tls-ca-cert-file "$groot/etc/doagent/tls/redis.crt" \
	</dev/null >/dev/null 2>&1 || fail "the group's redis-server does not start: $(tail -n 3 "$TMP/group.log")"
at_exit "stop_pidfile '$TMP/group.pid'"
i=0
until [ "$(cli PING)" = PONG ] || [ $i -ge 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
root=$groot
check; cli SET alone x | grep -q '^NOREPLICAS' || fail "the group's primary alone takes writes"
status
check; [ "$(verdict)" = failing ] &&
	grep -q '^health:     failing: writes are refused (NOREPLICAS): min-replicas-to-write asks for 1 replica within min-replicas-max-lag, and 0 are$' "$TMP/status" &&
	grep -q '^role:       primary, 0 replicas (0 following closely; writes need 1)$' "$TMP/status" ||
	fail "a group's primary alone: $(show)"
check; grep -q '1 writes refused (NOREPLICAS)' "$TMP/status" || fail "the refused write is not counted: $(show)"
stop_pidfile "$TMP/group.pid"

# --- anyone may read --status; the live part is root's ------------------------------------
chmod 0755 "$TMP"
status=0
setpriv --reuid=65534 --regid=65534 --clear-groups "$DOAGENT" --status --root "$root" >"$TMP/out" 2>"$TMP/err" || status=$?
cat "$TMP/out" "$TMP/err" >>"$TMP/all-output"
check; [ "$status" -eq 0 ] && grep -qx 'health:     not checked: live health: run as root (it needs Redis'\'' password)' "$TMP/out" ||
	fail "--status as nobody: exit $status: $(cat "$TMP/out" "$TMP/err")"
setpriv --reuid=65534 --regid=65534 --clear-groups "$DOAGENT" --status --json --root "$root" >"$TMP/out" 2>>"$TMP/all-output" || :
cat "$TMP/out" >>"$TMP/all-output"
check; python3 -c 'import json, sys; h = json.load(open(sys.argv[1]))["health"]; sys.exit(h != {"checked": False, "reason": "live health: run as root (it needs Redis'"'"' password)"})' "$TMP/out" ||
	fail "--status --json as nobody: $(cat "$TMP/out")"
check; ! grep -qF -f "$P/password" "$TMP/out" || fail "--status --json as nobody shows the password"

# --- the password: only in root's connection details --------------------------------------
check; [ -s "$TMP/health-output" ] && ! grep -qF -f "$P/password" "$TMP/health-output" ||
	fail "the live health shows the password"
grep -v -e '^  URL:  redis' -e '^  CLI:  REDISCLI_AUTH=' -e '^Password: ' "$TMP/all-output" >"$TMP/not-connection" || :
check; ! grep -qF -f "$P/password" "$TMP/not-connection" ||
	fail "the password outside the connection details: $(grep -F -f "$P/password" "$TMP/not-connection" | head -n 2)"
check; ! grep -qF -f "$P/password" "$TMP/noeviction.log" "$TMP/lru.log" || fail "Redis' log holds the password"

printf '\n--- warning ---\n'; cat "$TMP/status-warning"
printf -- '--- failing ---\n'; cat "$TMP/status-failing"
printf -- '--- allkeys-lru ---\n'; cat "$TMP/status-lru"
finish
