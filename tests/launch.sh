#!/bin/sh
# doagent-launch against the fake DigitalOcean API (tests/fake-doapi.py) on loopback:
# every fault ends with exactly the droplets it should, and the token is never shown.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

need python3
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY

: "${DOAGENT_LAUNCH:=$top_builddir/doagent-launch}"
FAKE="$top_srcdir/tests/fake-doapi.py"
TOKEN=canary-token-0001
export DIGITALOCEAN_ACCESS_TOKEN=$TOKEN
unset DIGITALOCEAN_TOKEN DIGITALOCEAN_API_URL

# start_fake [ARGS...]: a fresh fake; sets $url and $fake_pid.
start_fake() {
	python3 "$FAKE" --bind 127.0.0.1 --port 0 --token "$TOKEN" --active-after 1 --quiet "$@" \
		>"$TMP/fake.port" 2>"$TMP/fake.log" &
	fake_pid=$!
	at_exit "kill $fake_pid 2>/dev/null"
	tries=0
	until grep -q '^PORT ' "$TMP/fake.port"; do
		tries=$((tries + 1))
		if [ "$tries" -gt 100 ] || ! kill -0 "$fake_pid" 2>/dev/null; then
			echo "FAIL: the fake API did not start: $(cat "$TMP/fake.log")" >&2
			exit 1
		fi
		sleep 0.1
	done
	url="http://127.0.0.1:$(sed -n 's/^PORT //p' "$TMP/fake.port")"
}

stop_fake() {
	kill "$fake_pid" 2>/dev/null || true
	wait "$fake_pid" 2>/dev/null || true
}

# state EXPR: evaluate a python expression over the fake's /_state as s.
state() {
	python3 - "$url/_state" "$1" <<'PY'
import json, sys, urllib.request
s = json.load(urllib.request.urlopen(sys.argv[1], timeout=5))
print(eval(sys.argv[2]))
PY
}

ndroplets() { state 'len(s["droplets"])'; }

# launch ARGS...: run doagent-launch; $TMP/out, $TMP/err, $status; checks the canary.
runs=0
launch() {
	runs=$((runs + 1))
	status=0
	"$DOAGENT_LAUNCH" --api-url "$url" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null || status=$?
	cat "$TMP/out" "$TMP/err" >>"$TMP/all-output"
}

UD="$TMP/ud.ini"
printf '#doagent\n[redis]\nmaxmemory-policy = allkeys-lru\n\n[tls]\nport = 6380\n' >"$UD"
create() {
	launch create "$@" --image ubuntu-24-04-x64 --region fra1 --size s-1vcpu-1gb --user-data-file "$UD"
}

# 1. The happy path.
start_fake
create db1 --wait-timeout 20
check; [ "$status" -eq 0 ] || fail "happy: exit $status: $(cat "$TMP/err")"
check; grep -Eq 'rediss://default:[0-9a-f]{64}@203\.0\.113\.[0-9]+:6380' "$TMP/out" || fail "happy: no connection string: $(cat "$TMP/out")"
check; [ "$(state '[d["status"] for d in s["droplets"]]')" = "['active']" ] || fail "happy: droplets: $(state 's["droplets"]')"
check; [ "$(state 'sorted(s["droplets"][0]["tags"])[0]')" = doagent ] || fail "happy: no doagent tag"
launch list
check; [ "$status" -eq 0 ] && grep -q 'db1' "$TMP/out" || fail "list: exit $status"
launch get db1 -o json
check; [ "$status" -eq 0 ] && grep -q '"status":"active"' "$TMP/out" || fail "get: exit $status: $(cat "$TMP/out" "$TMP/err")"
launch destroy db1
check; [ "$status" -eq 2 ] && [ "$(ndroplets)" -eq 1 ] || fail "destroy without --force on no terminal: exit $status"
launch destroy db1 --force
check; [ "$status" -eq 0 ] && [ "$(ndroplets)" -eq 0 ] || fail "destroy: exit $status, $(ndroplets) droplets"
# 2. Destroy of a missing droplet: exit 0, "already gone".
launch destroy 999999 --force
check; [ "$status" -eq 0 ] && grep -q 'already gone' "$TMP/out" || fail "destroy missing: exit $status: $(cat "$TMP/out" "$TMP/err")"
stop_fake

# 3. Faults on the polls: 429 with retry-after, ratelimit-remaining 0, 503 with HTML, 404s.
for fault in "--status429-for 3" "--ratelimit-zero 2" "--status503-for 2" "--get404-for 3"; do
	# shellcheck disable=SC2086
	start_fake $fault
	create "db-f" --wait-timeout 30
	check; [ "$status" -eq 0 ] || fail "$fault: exit $status: $(cat "$TMP/err")"
	check; [ "$(ndroplets)" -eq 1 ] || fail "$fault: $(ndroplets) droplets"
	check; grep -q 'rediss://' "$TMP/out" || fail "$fault: no connection string"
	check; [ "$(state 's["ratelimit_violations"]')" -eq 0 ] || fail "$fault: rate limit violated"
	stop_fake
done

# 4. The create's answer lost after the droplet was made: exactly one droplet.
start_fake --lose-create 1
create db-lost --wait-timeout 20
check; [ "$status" -eq 0 ] || fail "lost create: exit $status: $(cat "$TMP/err")"
check; [ "$(ndroplets)" -eq 1 ] || fail "lost create: $(ndroplets) droplets"
check; [ "$(state 's["methods"].get("POST", 0)')" -eq 1 ] || fail "lost create: POST more than once"
stop_fake

# 5. Never active: exit 1 and the droplet destroyed; kept with --keep-on-failure.
start_fake --never-active
create db-stuck --wait-timeout 3
check; [ "$status" -eq 1 ] || fail "never active: exit $status"
check; [ "$(ndroplets)" -eq 0 ] || fail "never active: droplet not destroyed"
create db-kept --wait-timeout 3 --keep-on-failure
check; [ "$status" -eq 1 ] && [ "$(ndroplets)" -eq 1 ] || fail "--keep-on-failure: exit $status, $(ndroplets) droplets"
stop_fake

# 6. Invalid user data: exit 65, zero requests.
start_fake
printf '#doagent\n[redis]\nmaxmemory-polcy = allkeys-lru\n' >"$TMP/bad.ini"
launch create db-bad --image ubuntu-24-04-x64 --region fra1 --size s-1vcpu-1gb --user-data-file "$TMP/bad.ini"
check; [ "$status" -eq 65 ] || fail "invalid user data: exit $status"
check; grep -q 'maxmemory-policy' "$TMP/err" || fail "invalid user data: no suggestion: $(cat "$TMP/err")"
check; [ "$(state 's["requests"]')" -eq 0 ] || fail "invalid user data: $(state 's["requests"]') requests"
launch validate "$TMP/bad.ini"
check; [ "$status" -eq 65 ] || fail "validate: exit $status"

# 7. --dry-run: the body, the password redacted, nothing sent.
launch create db-dry --image ubuntu-24-04-x64 --size s-1vcpu-1gb --user-data-file "$UD" --dry-run
check; [ "$status" -eq 0 ] && grep -q 'password = (redacted)' "$TMP/out" || fail "dry-run: $(cat "$TMP/out" "$TMP/err")"
check; [ "$(state 's["requests"]')" -eq 0 ] || fail "dry-run sent requests"

# 8. --launch-id: a re-run adopts the first run's droplet.
create db-id --launch-id abc123 --no-wait
check; [ "$status" -eq 0 ] || fail "launch-id first: exit $status: $(cat "$TMP/err")"
create db-id --launch-id abc123 --wait-timeout 20
check; [ "$status" -eq 0 ] && grep -q adopting "$TMP/err" || fail "launch-id re-run: exit $status: $(cat "$TMP/err")"
check; [ "$(ndroplets)" -eq 1 ] || fail "launch-id re-run: $(ndroplets) droplets"
stop_fake

# 9. Unreachable API: exit 69.
url="http://127.0.0.1:$(free_port)"
launch list
check; [ "$status" -eq 69 ] || fail "unreachable API: exit $status"

# The token appeared in no output.
check; ! grep -qF "$TOKEN" "$TMP/all-output" || fail "the token was printed"
finish
