# shellcheck shell=sh disable=SC2034
# Shared by the launcher's tests (launch.sh, launch-volume.sh): sourced, never run;
# sources lib.sh.
# One fake DigitalOcean API (tests/fake-doapi.py) and one Prism in front of it
# ("prism proxy --errors" with DigitalOcean's own OpenAPI schema) for the whole test,
# on loopback: the launcher talks to Prism ($url), Prism to the fake, the test to the
# fake's control endpoints ($fake). FAKE_ARGS: more arguments for the fake.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

need python3 prism
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY

: "${DOAGENT_LAUNCH:=$top_builddir/doagent-launch}"
FAKE="$top_srcdir/tests/fake-doapi.py"
SPEC="$top_srcdir/tests/do-openapi/do-launcher-subset.yaml"
SHARED_SPEC="$top_srcdir/../shared/do-openapi/do-launcher-subset.yaml"
TOKEN=canary-token-0001
export DIGITALOCEAN_ACCESS_TOKEN=$TOKEN
unset DIGITALOCEAN_TOKEN DIGITALOCEAN_API_URL
# create's records of what it sent go here, not to $HOME.
export XDG_STATE_HOME="$TMP/state"

# wait_for FILE PATTERN PID WHAT: until FILE holds PATTERN (60 s), while PID lives.
wait_for() {
	local tries=0
	until grep -q "$2" "$1" 2>/dev/null; do
		tries=$((tries + 1))
		if [ "$tries" -gt 600 ] || ! kill -0 "$3" 2>/dev/null; then
			echo "FAIL: $4 did not start: $(tail -n 20 "$1")" >&2
			exit 1
		fi
		sleep 0.1
	done
}

prism_port=$(free_port)
# shellcheck disable=SC2086
python3 "$FAKE" --bind 127.0.0.1 --port 0 --token "$TOKEN" --active-after 1 --quiet ${FAKE_ARGS:-} \
	--public-url "http://127.0.0.1:$prism_port" >"$TMP/fake.port" 2>"$TMP/fake.log" &
fake_pid=$!
at_exit "stop_pid $fake_pid"
wait_for "$TMP/fake.port" '^PORT ' "$fake_pid" "the fake API"
fake="http://127.0.0.1:$(sed -n 's/^PORT //p' "$TMP/fake.port")"
prism proxy --errors -h 127.0.0.1 -p "$prism_port" "$SPEC" "$fake" >"$TMP/prism.log" 2>&1 &
prism_pid=$!
at_exit "stop_pid $prism_pid"
wait_for "$TMP/prism.log" 'Prism is listening' "$prism_pid" "Prism"
url="http://127.0.0.1:$prism_port"

# control PATH [JSON]: POST JSON to the fake's PATH (/_reset, /_fault, /_release).
control() {
	python3 - "$fake$1" "${2:-}" <<'PY'
import sys, urllib.request
body = (sys.argv[2] or "{}").encode()
urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=body), timeout=5).read()
PY
}

# start_fake [FAULTS]: a fresh start: nothing made, no counts, these faults.
start_fake() { control /_reset "${1:-}"; }

# state EXPR: evaluate a python expression over the fake's /_state as s.
state() {
	python3 - "$fake/_state" "$1" <<'PY'
import json, sys, urllib.request
s = json.load(urllib.request.urlopen(sys.argv[1], timeout=5))
print(eval(sys.argv[2]))
PY
}

# Prism's verdicts: every request or answer that broke the schema is logged with a
# problem type under stoplight.io/prism/errors. prism_clean WHAT [EXPECTED]: no new
# verdicts since the last call but EXPECTED (default 0).
prism_seen=0
prism_clean() {
	local total new
	total=$(grep -c 'stoplight.io/prism/errors#' "$TMP/prism.log" || true)
	new=$((total - prism_seen))
	prism_seen=$total
	check
	[ "$new" -eq "${2:-0}" ] || {
		fail "$1: Prism found $new violations of DigitalOcean's schema (expected ${2:-0}):"
		grep 'stoplight.io/prism/errors#' "$TMP/prism.log" | tail -n "$new" >&2
	}
}

# request BASE METHOD PATH [JSON]: the test's own request; prints the status and the
# body (JSON compacted: no blanks between members).
request() {
	python3 - "$1$3" "$2" "${4:-}" "$TOKEN" <<'PY'
import json, sys, urllib.error, urllib.request
req = urllib.request.Request(sys.argv[1], method=sys.argv[2], data=sys.argv[3].encode() or None,
                             headers={"Authorization": "Bearer " + sys.argv[4],
                                      "Content-Type": "application/json"})
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        status, body = r.status, r.read().decode()
except urllib.error.HTTPError as e:
    status, body = e.code, e.read().decode()
try:
    body = json.dumps(json.loads(body), separators=(",", ":"))
except ValueError:
    pass
print(status, body.strip())
PY
}
# api METHOD PATH [JSON]: straight to the fake; prints the body of a 2xx answer.
api() { request "$fake" "$@" | sed -n 's/^2[0-9][0-9] //p'; }

ndroplets() { state 'len(s["droplets"])'; }

# launch ARGS...: run doagent-launch; $TMP/out, $TMP/err, $status; checks the canary.
runs=0
launch() {
	runs=$((runs + 1))
	status=0
	"$DOAGENT_LAUNCH" --api-url "$url" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null || status=$?
	cat "$TMP/out" "$TMP/err" >>"$TMP/all-output"
}

# killed_held WHAT ARGS...: run doagent-launch ARGS in the background until the fake
# holds the request its rules say (or it ends), SIGKILL it, let the request go; a check
# that it got there.
killed_held() {
	local what=$1 lpid n=0 held
	shift
	"$DOAGENT_LAUNCH" --api-url "$url" "$@" >"$TMP/kill.out" 2>"$TMP/kill.err" </dev/null &
	lpid=$!
	while [ "$(state 'len(s["held"])')" = 0 ] && kill -0 "$lpid" 2>/dev/null && [ "$n" -lt 300 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	held=$(state 'len(s["held"])')
	kill -KILL "$lpid" 2>/dev/null || true
	wait "$lpid" 2>/dev/null || true
	cat "$TMP/kill.out" "$TMP/kill.err" >>"$TMP/all-output"
	control /_release
	check; [ "$held" = 1 ] || fail "$what: the launcher did not get there: $(tail -n 3 "$TMP/kill.err")"
}
