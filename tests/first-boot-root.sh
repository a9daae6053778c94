#!/bin/sh
# The first-boot run under --root, against the fake metadata service on loopback:
# files with their modes and owners, state and secrets, run-once, a new droplet id,
# invalid user data, --status, and the password never in any output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

need python3
root="$TMP/root"
mkdir -p "$root/etc"
# The image's own users: the files must get the redis group of the root, not ours.
printf 'root:x:0:0:root:/root:/bin/sh\nredis:x:4242:4243::/var/lib/redis:/usr/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nredis:x:4243:\n' >"$root/etc/group"

password="canary-First-Boot-pw-0123"
printf '#doagent\n[redis]\nport = 7379\npassword = %s\nmaxmemory-policy = volatile-ttl\n[tls]\nenabled = no\n' \
	"$password" >"$TMP/ud.ini"
printf '#doagent\n[redis]\nport = 7379\n[tls]\nenabled = no\n' >"$TMP/ud-gen.ini"
printf '#doagent\n[redis]\nport = 70000\n' >"$TMP/ud-bad.ini"

start_fake() { # ARGS: user-data file, droplet id
	[ -n "${fake_pid:-}" ] && kill "$fake_pid" 2>/dev/null && wait "$fake_pid" 2>/dev/null
	# Empty it here: the child truncates it only once it runs, and the last fake's
	# PORT line must not be read as the new one's.
	: >"$TMP/fake.out"
	python3 "$top_srcdir/tests/fake-metadata.py" --bind 127.0.0.1 --port 0 --quiet \
		--document "$FIXTURES/metadata/full.json" --user-data "$1" --droplet-id "$2" >"$TMP/fake.out" &
	fake_pid=$!
	i=0
	while ! grep -q '^PORT ' "$TMP/fake.out" 2>/dev/null; do
		i=$((i + 1)); [ $i -lt 100 ] || { fail "the fake metadata service did not start"; finish; }
		sleep 0.05
	done
	url="http://127.0.0.1:$(sed -n 's/^PORT //p' "$TMP/fake.out")"
}
at_exit 'stop_pid "${fake_pid:-}"'

# shellcheck disable=SC2120 # boot takes extra flags, though none pass any yet
boot() { run_agent --root "$root" --metadata "$url" --templates "$TEMPLATES" --deadline 10 "$@"; cat "$TMP/out" "$TMP/err" >>"$TMP/all-output"; }

# 1. A new droplet.
start_fake "$TMP/ud.ini" 1001
boot
check; [ "$status" -eq 0 ] || fail "first run: exit $status: $(cat "$TMP/err")"
conf="$root/etc/redis/redis.conf"
check; [ "$(stat -c '%a %u %g' "$conf" 2>/dev/null)" = "640 0 4243" ] || fail "redis.conf is not 0640 root:redis(4243): $(stat -c '%a %u %g' "$conf" 2>&1)"
check; [ "$(stat -c '%a %u' "$root/root/doagent-connection.txt" 2>/dev/null)" = "600 0" ] || fail "the connection file is not 0600 root"
check; [ "$(stat -c '%a' "$root/etc/motd.d/doagent" 2>/dev/null)" = 644 ] || fail "the login message is not 0644"
check; grep -qx "requirepass $password" "$conf" && grep -qx 'port 7379' "$conf" && grep -qx 'maxmemory-policy volatile-ttl' "$conf" ||
	fail "redis.conf does not say what the user data asked"
check; [ "$(stat -c %a "$root/var/lib/doagent")" = 755 ] || fail "the state directory is not 0755"
run_agent --status --root "$root" --json
check; python3 - "$TMP/out" <<'PY' || fail "--status --json after the first run: $(cat "$TMP/out")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["result"] == "success" and s["droplet_id"] == "1001" and s["configured"] == "1001", s
names = [st["name"] for st in s["steps"]]
assert names == ["metadata", "state", "userdata", "secrets", "tls", "files", "firewall", "network", "storage", "units", "ready"], names
assert [st["result"] for st in s["steps"]][-5:] == ["skipped", "skipped", "skipped", "skipped", "skipped"]
assert "connection" in s    # root sees the connection details
PY
# Anyone may read the status; only root gets the connection details.
if command -v setpriv >/dev/null 2>&1; then
	chmod 0755 "$TMP"	# mktemp made it 0700: let nobody reach the root under it
	status=0
	setpriv --reuid=65534 --regid=65534 --clear-groups "$DOAGENT" --status --root "$root" >"$TMP/out" 2>"$TMP/err" || status=$?
	check; [ "$status" -eq 0 ] && grep -q '^result: *success' "$TMP/out" || fail "--status as nobody: exit $status: $(cat "$TMP/err")"
	check; ! grep -q "redis://" "$TMP/out" && grep -q "(root only)" "$TMP/out" || fail "--status as nobody shows the connection details"
	cat "$TMP/out" "$TMP/err" >>"$TMP/all-output"
else
	skip_part "setpriv is missing: --status as another user is not tested"
fi
ino=$(stat -c %i "$conf")

# 2. The same droplet again: nothing changes.
sleep 1
boot
check; [ "$status" -eq 0 ] || fail "second run: exit $status"
check; [ "$(stat -c %i "$conf")" = "$ino" ] || fail "the second run rewrote redis.conf"
check; grep -q 'this droplet is configured already: nothing to render' "$root/var/lib/doagent/state.json" ||
	fail "the state does not say it was configured already"

# 3. --force on the same droplet with the same user data writes nothing new either.
run_agent --root "$root" --metadata "$url" --templates "$TEMPLATES" --force
check; [ "$status" -eq 0 ] && [ "$(stat -c %i "$conf")" = "$ino" ] || fail "--force with nothing changed rewrote redis.conf (exit $status)"

# 4. A generated password survives a retry, and a new droplet (a snapshot of this one) gets a new one.
start_fake "$TMP/ud-gen.ini" 2002
boot
check; [ "$status" -eq 0 ] || fail "new droplet 2002: exit $status: $(cat "$TMP/err")"
gen1=$(sed -n 's/^requirepass //p' "$conf")
check; printf '%s' "$gen1" | grep -Eqx '[0-9a-f]{64}' || fail "the generated password is not 64 hex digits"
check; [ "$(cat "$root/var/lib/doagent/secrets/password")" = "$gen1" ] || fail "the secret file does not hold the password in use"
check; [ "$(stat -c %a "$root/var/lib/doagent/secrets/password")" = 600 ] || fail "the password file is not 0600"
check; [ "$(stat -c %a "$root/var/lib/doagent/secrets")" = 700 ] || fail "the secrets directory is not 0700"
run_agent --root "$root" --metadata "$url" --templates "$TEMPLATES" --force
check; [ "$(sed -n 's/^requirepass //p' "$conf")" = "$gen1" ] || fail "a rerun for the same droplet changed the generated password"
start_fake "$TMP/ud-gen.ini" 3003
boot
gen2=$(sed -n 's/^requirepass //p' "$conf")
check; [ "$status" -eq 0 ] && [ -n "$gen2" ] && [ "$gen2" != "$gen1" ] || fail "droplet 3003 did not get a new password (exit $status)"

# 5. Invalid user data: exit 65, nothing rewritten, the error in --status and the login message.
start_fake "$TMP/ud-bad.ini" 4004
boot
check; [ "$status" -eq 65 ] || fail "invalid user data: exit $status, expected 65"
check; [ "$(sed -n 's/^requirepass //p' "$conf")" = "$gen2" ] || fail "invalid user data changed redis.conf"
check; grep -q "line 3: \[redis\] port: port out of range" "$root/etc/motd.d/doagent" || fail "the login message does not show the error"
run_agent --status --root "$root"
check; [ "$status" -eq 65 ] && grep -q "^result: *failed" "$TMP/out" && grep -q "port out of range" "$TMP/out" ||
	fail "--status after invalid user data: exit $status: $(cat "$TMP/out")"

# 6. The metadata service never answers well: exit 69 at the deadline, state says so.
kill "$fake_pid" 2>/dev/null; wait "$fake_pid" 2>/dev/null; fake_pid=
run_agent --root "$root" --metadata "http://127.0.0.1:1" --templates "$TEMPLATES" --deadline 2
check; [ "$status" -eq 69 ] || fail "no metadata service: exit $status, expected 69"
cat "$TMP/out" "$TMP/err" >>"$TMP/all-output"

# 7. /etc/doagent/doagent.conf sets the metadata URL and the deadline when no flag does.
conf_dir="$root${sysconfdir:-/etc}/doagent"
mkdir -p "$conf_dir"
printf '[metadata]\ndeadline = 1\nurl = http://127.0.0.1:1\n' >"$conf_dir/doagent.conf"
t0=$(date +%s)
run_agent --root "$root" --templates "$TEMPLATES"
t1=$(date +%s)
check; [ "$status" -eq 69 ] && grep -q "127.0.0.1:1" "$TMP/err" && [ $((t1 - t0)) -le 4 ] ||
	fail "doagent.conf: exit $status after $((t1 - t0)) s: $(cat "$TMP/err")"
printf '[metadata]\ndeadline = soon\n' >"$conf_dir/doagent.conf"
run_agent --root "$root" --templates "$TEMPLATES"
check; [ "$status" -eq 2 ] && grep -q "doagent.conf: line 2" "$TMP/err" || fail "a bad doagent.conf: exit $status: $(cat "$TMP/err")"
rm -f "$conf_dir/doagent.conf"

# The passwords never reached any output of any run.
for p in "$password" "$gen1" "$gen2"; do
	check; ! grep -qF "$p" "$TMP/all-output" || fail "a password appeared in doagent's output"
	check; ! grep -qF "$p" "$root/var/lib/doagent/state.json" "$root/etc/motd.d/doagent" ||
		fail "a password appeared in state.json or the login message"
done
finish
