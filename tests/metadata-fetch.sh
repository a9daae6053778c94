#!/bin/sh
# doagent against the fake metadata service (tests/fake-metadata.py) on loopback:
# --metadata URL retries through faults, gives up at --deadline with exit 69 and a
# message naming the URL and the attempts, and writes nothing when it gives up.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

need python3

# Test traffic stays on loopback: no proxy from the environment.
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY

FAKE="$top_srcdir/tests/fake-metadata.py"
DOC="$FIXTURES/metadata/full.json"

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# start_fake NAME [FAKE ARGS...]: start a fake in the background, its log in
# $TMP/NAME.log; sets $port, $url (the base URL) and $fake_pid.
start_fake() {
	name=$1
	shift
	python3 "$FAKE" --document "$DOC" --bind 127.0.0.1 --port 0 "$@" \
		>"$TMP/$name.port" 2>"$TMP/$name.log" &
	fake_pid=$!
	at_exit "stop_pid $fake_pid"
	tries=0
	until grep -q '^PORT ' "$TMP/$name.port"; do
		tries=$((tries + 1))
		if [ "$tries" -gt 100 ] || ! kill -0 "$fake_pid" 2>/dev/null; then
			echo "FAIL: $name: the fake metadata service did not start: $(cat "$TMP/$name.log")" >&2
			exit 1
		fi
		sleep 0.1
	done
	port=$(sed -n 's/^PORT //p' "$TMP/$name.port")
	url="http://127.0.0.1:$port"
}

stop_fake() {
	kill "$fake_pid" 2>/dev/null || true
	wait "$fake_pid" 2>/dev/null || true
}

# fake_stat KEY: a number from the running fake's /_stats ("requests", "answers.ok").
fake_stat() {
	python3 - "$url/_stats" "$1" <<'PY'
import json, sys, urllib.request
d = json.load(urllib.request.urlopen(sys.argv[1], timeout=5))
for k in sys.argv[2].split("."):
    d = d.get(k, 0) if isinstance(d, dict) else 0
print(d)
PY
}

# agent_timed ARGS...: run_agent, and the time it took in $elapsed (ms).
agent_timed() {
	t0=$(now_ms)
	run_agent "$@"
	elapsed=$(($(now_ms) - t0))
}

dry() { agent_timed --dry-run --templates "$TEMPLATES" --memory 2gb "$@"; }

# 1. A 500, a truncated answer and a non-JSON one, then the document: a plan, exit 0.
start_fake faults --status500-for 1 --truncate-for 1 --garbage-for 1
dry --metadata "$url" --deadline 20
check; [ "$status" -eq 0 ] || fail "after faults: exit $status: $(cat "$TMP/err")"
check; grep -qxF "doagent plan for droplet 2756294" "$TMP/out" || fail "after faults: no plan for droplet 2756294"
check; grep -qx 'maxmemory-policy allkeys-lru' "$TMP/out" || fail "after faults: the metadata's user data was not used"
check; [ ! -s "$TMP/err" ] || fail "after faults: retries that ended well wrote to stderr: $(cat "$TMP/err")"
check; [ "$(fake_stat requests)" -eq 4 ] || fail "after faults: $(fake_stat requests) requests, expected 4"
# Three failed tries, each followed by the steady 0.25 s of the first 10 s: about 750 ms.
check; [ "$elapsed" -ge 700 ] && [ "$elapsed" -lt 4000 ] || fail "after faults: took $elapsed ms, expected about 750 (three 0.25 s waits)"
stop_fake

# 2. The base URL with a trailing slash, the full document URL, and --check.
start_fake forms
for form in "$url/" "$url/metadata/v1.json"; do
	dry --metadata "$form" --deadline 5 --json
	check; [ "$status" -eq 0 ] && python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["droplet_id"] == "2756294"' "$TMP/out" ||
		fail "--metadata $form: exit $status: $(cat "$TMP/err")"
done
agent_timed --check --metadata "$url" --deadline 5
check; [ "$status" -eq 0 ] && grep -qx "user data: valid" "$TMP/out" || fail "--check --metadata URL: exit $status: $(cat "$TMP/err")"
stop_fake

# 3. The fake's --user-data and --droplet-id reach the plan.
start_fake replaced --user-data "$EXAMPLES/cache.ini" --droplet-id 424242
dry --metadata "$url" --deadline 5
check; [ "$status" -eq 0 ] && grep -qxF "doagent plan for droplet 424242" "$TMP/out" ||
	fail "replaced droplet_id: exit $status: $(cat "$TMP/err")"
check; grep -qx 'save ""' "$TMP/out" || fail "replaced user data: cache.ini's snapshots = no is not in redis.conf"
stop_fake

# 4. Never a good answer: exit 69 at the deadline, the URL and the attempts named, and
# nothing written.
start_fake failing --status500-for 100000
mkdir "$TMP/outdir"
dry --metadata "$url" --deadline 3 --output-dir "$TMP/outdir"
check; [ "$status" -eq 69 ] || fail "always 500: exit $status, expected 69: $(cat "$TMP/err")"
check; grep -qF "$url/metadata/v1.json" "$TMP/err" || fail "always 500: the message does not name the URL: $(cat "$TMP/err")"
check; grep -q 'no usable answer in 3 s after [0-9][0-9]* attempts' "$TMP/err" ||
	fail "always 500: the message does not count the attempts: $(cat "$TMP/err")"
check; grep -qF 'last: HTTP status 500' "$TMP/err" || fail "always 500: the message lacks the last failure: $(cat "$TMP/err")"
check; [ -z "$(ls -A "$TMP/outdir")" ] || fail "always 500: files were written: $(find "$TMP/outdir" -type f)"
check; [ ! -s "$TMP/out" ] || fail "always 500: a plan was printed"
check; [ "$elapsed" -ge 2900 ] && [ "$elapsed" -lt 6000 ] || fail "always 500: took $elapsed ms with --deadline 3"
n=$(sed -n 's/.* after \([0-9][0-9]*\) attempts.*/\1/p' "$TMP/err")
check; [ "$(fake_stat requests)" = "$n" ] || fail "always 500: the fake saw $(fake_stat requests) requests, the message says $n"
stop_fake

# 5. Nothing listens at all.
dead=$(free_port)
dry --metadata "http://127.0.0.1:$dead" --deadline 2
check; [ "$status" -eq 69 ] && grep -q "127.0.0.1:$dead/metadata/v1.json: no usable answer in 2 s after [0-9]* attempts" "$TMP/err" ||
	fail "nothing listening: exit $status: $(cat "$TMP/err")"
check; [ "$elapsed" -lt 5000 ] || fail "nothing listening: took $elapsed ms with --deadline 2"

# 6. A service that accepts and never answers costs no more than the deadline.
start_fake stalled --stall 60
dry --metadata "$url" --deadline 2
check; [ "$status" -eq 69 ] && grep -q 'after 1 attempt; last: .*timed out' "$TMP/err" ||
	fail "stalled: exit $status: $(cat "$TMP/err")"
check; [ "$elapsed" -ge 1900 ] && [ "$elapsed" -lt 5000 ] || fail "stalled: took $elapsed ms with --deadline 2"
stop_fake

# 7. A document that is never valid: still 69 (the service may yet be fixed), the parse
# error in the message, and the user data (a password) nowhere in it.
printf '#doagent\n[redis]\npassword = canary-Pa55word-9876\n' >"$TMP/pw.ini"
start_fake invalid --user-data "$TMP/pw.ini" --droplet-id not-a-number
dry --metadata "$url" --deadline 1
check; [ "$status" -eq 69 ] && grep -q 'last: the document is not valid: droplet_id: ' "$TMP/err" ||
	fail "invalid document: exit $status: $(cat "$TMP/err")"
check; ! grep -qF canary-Pa55word-9876 "$TMP/out" "$TMP/err" || fail "invalid document: the user data's password was shown"
stop_fake

# 8. A service that starts listening late (at 1.5 s): answered on the retry at 1.75 s.
start_fake late --refuse-for 1.5
dry --metadata "$url" --deadline 10
check; [ "$status" -eq 0 ] && grep -qxF "doagent plan for droplet 2756294" "$TMP/out" ||
	fail "late listener: exit $status: $(cat "$TMP/err")"
check; [ "$elapsed" -ge 1500 ] && [ "$elapsed" -lt 5000 ] || fail "late listener: took $elapsed ms"
check; [ "$(fake_stat requests)" -eq 1 ] || fail "late listener: $(fake_stat requests) requests, expected 1"
stop_fake

finish
