#!/bin/sh
# doagent-launch's monitoring alert policies (create --alerts) and monitoring: true,
# against the fake DigitalOcean API behind "prism proxy --errors": each scenario ends
# with an assertion on the fake's own state (its policies, droplets and log).
#
# - the fake's alert policies through Prism: create, get, update, list by pages (the
#   entities as strings), delete; its own refusals;
# - the exact bodies of the four policies, monitoring: true on the droplet; a rerun
#   adopts them;
# - a policy's create answer lost: adopted, not made twice;
# - SIGKILL at every kind of request a create --alerts makes, then a rerun with the
#   same --launch-id: one droplet, four policies;
# - undo after a later failure deletes the policies this run made, never adopted ones;
# - destroy removes exactly the launch's policies: another launch's, and one made by
#   hand on the same tag, stay; kept while another droplet carries the tag; found by
#   the droplets' name when the droplet is gone already;
# - --alerts refused before any request; the dry run.
. "${top_srcdir:-$(dirname "$0")/..}/tests/launch-lib.sh"

UD="$TMP/ud.ini"
printf '#doagent\n[redis]\nmaxmemory-policy = allkeys-lru\n\n[tls]\nport = 6380\n' >"$UD"
SIZE=s-2vcpu-4gb
MAILS="--alerts ops@example.com --alerts oncall+redis@example.net"
create() {
	# shellcheck disable=SC2086
	launch create "$@" --image ubuntu-24-04-x64 --region fra1 --size "$SIZE" --user-data-file "$UD" $MAILS
}

# answers WHAT EXPECTED BASE METHOD PATH [JSON]: the answer is EXPECTED (a regex over
# "STATUS BODY").
answers() {
	local what=$1 want=$2 got
	shift 2
	got=$(request "$@")
	check; printf '%s' "$got" | grep -Eq "^$want" || fail "$what: $got"
}

# expect WHAT EXPR EXPECTED: the fake's state, EXPR over it, is EXPECTED.
expect() {
	local got
	got=$(state "$2")
	check; [ "$got" = "$3" ] || fail "$1: $2 is $got, expected $3"
}

# The policies of launch LID: "TYPE VALUE" each, sorted.
ours() { state "sorted(p['type'].rsplit('/', 1)[1] + ' ' + str(p['value']) for p in s['policies'] if 'doagent-launch-$1' in p['tags'] and p['description'].startswith('doagent $1 ('))"; }
FOUR="['cpu 90', 'disk_utilization_percent 80', 'load_5 2', 'memory_utilization_percent 90']"
alert_posts() { state 's["log"].count("POST /v2/monitoring/alerts")'; }

# One droplet of launch LID and its four policies, on its tag.
converged() { # WHAT LID
	expect "$1: droplets" "[sorted(d['tags']) for d in s['droplets']]" "[['doagent', 'doagent-launch-$2']]"
	expect "$1: policies" "sorted(p['type'].rsplit('/', 1)[1] + ' ' + str(p['value']) for p in s['policies'])" "$FOUR"
	expect "$1: on the tag" "[p['tags'] for p in s['policies']]" "[['doagent-launch-$2'], ['doagent-launch-$2'], ['doagent-launch-$2'], ['doagent-launch-$2']]"
}

# ---- 0. the fake's alert policies, through Prism -----------------------------------
start_fake
POLICY='{"alerts": {"email": ["bob@example.com"], "slack": [{"channel": "Production Alerts", "url": "https://hooks.slack.com/services/T1234567/AAAAAAAA/ZZZZZZ"}]}, "compare": "GreaterThan", "description": "CPU Alert", "enabled": true, "entities": ["192018292"], "tags": ["droplet_tag"], "type": "v1/insights/droplet/cpu", "value": 80, "window": "5m"}'
answers "create a policy" '200 \{"policy":\{"alerts":\{"email":\["bob@example.com"\],"slack":\[\{"channel":"Production Alerts",.*"entities":\["192018292"\],.*"uuid":"[-0-9a-f]{36}"\}\}$' "$url" POST /v2/monitoring/alerts "$POLICY"
p1=$(state 's["policies"][0]["uuid"]')
answers "get it" '200 \{"policy":\{.*"description":"CPU Alert"' "$url" GET "/v2/monitoring/alerts/$p1"
answers "update it" '200 \{"policy":\{.*"value":95.5,.*"uuid":"'"$p1"'"' "$url" PUT "/v2/monitoring/alerts/$p1" \
	"$(printf '%s' "$POLICY" | sed 's/"value": 80/"value": 95.5/')"
expect "updated in place" '[(p["uuid"], p["value"]) for p in s["policies"]]' "[('$p1', 95.5)]"
for i in 2 3; do
	answers "create policy $i" '200 ' "$url" POST /v2/monitoring/alerts "$(printf '%s' "$POLICY" | sed "s/CPU Alert/CPU Alert $i/")"
done
answers "a first page of 2" '200 \{"policies":\[\{.*"description":"CPU Alert",.*"description":"CPU Alert 2",[^{]*\}\],"links":\{"pages":\{"next":"'"$url"'/v2/monitoring/alerts\?per_page=2&page=2"' \
	"$url" GET "/v2/monitoring/alerts?per_page=2"
answers "the last page" '200 \{"policies":\[\{.*"description":"CPU Alert 3".*\],"links":\{"pages":\{\}\},"meta":\{"total":3\}\}$' \
	"$url" GET "/v2/monitoring/alerts?per_page=2&page=2"
answers "delete it" '204' "$url" DELETE "/v2/monitoring/alerts/$p1"
answers "deleted" '404 \{"id":"not_found"' "$url" GET "/v2/monitoring/alerts/$p1"
answers "delete it again" '404 ' "$url" DELETE "/v2/monitoring/alerts/$p1"
prism_clean "the fake's alert policies"
# The fake's own refusals (straight to it: Prism would refuse these itself).
answers "entities as numbers" '422 .*entities must be an array of strings' "$fake" POST /v2/monitoring/alerts \
	"$(printf '%s' "$POLICY" | sed 's/\["192018292"\]/[192018292]/')"
answers "no slack" '422 .*alerts must have email and slack' "$fake" POST /v2/monitoring/alerts \
	"$(printf '%s' "$POLICY" | sed 's/, "slack": \[[^]]*\]//')"
answers "an unknown type" '422 .*type is not' "$fake" POST /v2/monitoring/alerts "$(printf '%s' "$POLICY" | sed 's|droplet/cpu|droplet/redis|')"
answers "a window of 2m" '422 .*window' "$fake" POST /v2/monitoring/alerts "$(printf '%s' "$POLICY" | sed 's/"5m"/"2m"/')"
answers "a member too many" '422 .*unknown member uuid' "$fake" POST /v2/monitoring/alerts "$(printf '%s' "$POLICY" | sed 's/^{/{"uuid": "x", /')"
answers "no enabled" '422 .*enabled is required' "$fake" POST /v2/monitoring/alerts "$(printf '%s' "$POLICY" | sed 's/"enabled": true, //')"
expect "the refusals made nothing" 'len(s["policies"])' 2

# ---- 1. the exact bodies; monitoring: true; a rerun adopts --------------------------
start_fake
create db1 --launch-id al_1 --wait-timeout 20
check; [ "$status" -eq 0 ] || fail "create --alerts: exit $status: $(cat "$TMP/err")"
expect "create --alerts: the bodies" '[{k: v for k, v in p.items() if k != "uuid"} for p in s["policies"]]' "$(python3 -c '
kinds = [("memory_utilization_percent", "memory above 90%", 90), ("disk_utilization_percent", "disk above 80%", 80),
         ("cpu", "CPU above 90%", 90), ("load_5", "load_5 above the vCPUs", 2)]
print([{"type": "v1/insights/droplet/" + t, "description": "doagent al_1 (db1): %s for 5m" % w, "compare": "GreaterThan",
        "value": v, "window": "5m", "entities": [], "tags": ["doagent-launch-al_1"],
        "alerts": {"email": ["ops@example.com", "oncall+redis@example.net"], "slack": []}, "enabled": True}
       for t, w, v in kinds])')"
expect "create --alerts: four POSTs" 's["log"].count("POST /v2/monitoring/alerts")' 4
expect "create --alerts: the droplet has the metrics agent" '[("monitoring" in d["features"], d["vcpus"]) for d in s["droplets"]]' "[(True, 2)]"
expect "create --alerts: made before the wait" '[e for e in s["log"] if e.startswith("POST")][-1] == "POST /v2/monitoring/alerts" and s["log"][-1].startswith("GET /v2/droplets/")' True
check; [ "$(grep -c '^alert policy [-0-9a-f]* (doagent al_1 (db1): .*) created$' "$TMP/err")" -eq 4 ] || fail "create --alerts: said: $(cat "$TMP/err")"
converged "create --alerts" al_1
before=$(state 's["methods"]["POST"]')
create db1 --launch-id al_1 --wait-timeout 20
check; [ "$status" -eq 0 ] && [ "$(grep -c 'alert policy .* exists: adopting it' "$TMP/err")" -eq 4 ] || fail "rerun: exit $status: $(cat "$TMP/err")"
expect "rerun: no POST" 's["methods"]["POST"]' "$before"
converged "rerun" al_1
# Without --alerts: monitoring still on, no policy.
MAILS='' create db-plain --launch-id al_plain --wait-timeout 20
check; [ "$status" -eq 0 ] || fail "without --alerts: exit $status: $(cat "$TMP/err")"
expect "without --alerts" '[("monitoring" in d["features"]) for d in s["droplets"] if "doagent-launch-al_plain" in d["tags"]], len(s["policies"])' "([True], 4)"
prism_clean "create --alerts"

# ---- 2. a policy's create answer lost ------------------------------------------------
start_fake '{"rules": [{"request": "POST /v2/monitoring/alerts", "do": "lose", "skip": 1}]}'
create db2 --launch-id lost_a --wait-timeout 20
check; [ "$status" -eq 0 ] && grep -q "the alert policy's create answer was lost" "$TMP/err" && grep -q '^found alert policy' "$TMP/err" ||
	fail "lost policy: exit $status: $(cat "$TMP/err")"
expect "lost policy: the fault was used" 's["answers"].get("lost", 0)' 1
expect "lost policy: four POSTs, no more" 's["log"].count("POST /v2/monitoring/alerts")' 4
converged "lost policy" lost_a
# Lost and then failing undo: a later failure deletes the one found after the loss too.
start_fake '{"never_active": true, "rules": [{"request": "POST /v2/monitoring/alerts", "do": "lose"}]}'
create db2 --launch-id lost_b --wait-timeout 3
check; [ "$status" -eq 1 ] && grep -q '^found alert policy' "$TMP/err" || fail "lost policy, then a failure: exit $status: $(cat "$TMP/err")"
expect "lost policy, then a failure: all undone" 'len(s["policies"]), len(s["droplets"])' "(0, 0)"
prism_clean "lost policy"

# ---- 3. SIGKILL at every kind of request, then a rerun -----------------------------
# As in launch-volume.sh: the first request of each kind an uninterrupted run makes,
# held unanswered ("hold": the request not done; "hold_after", for a POST: done, its
# answer never told), the launcher killed there, then the same command again.
start_fake
create k0 --launch-id k0 --wait-timeout 20
check; [ "$status" -eq 0 ] || fail "uninterrupted: exit $status: $(cat "$TMP/err")"
points=$(state '"\n".join(__import__("collections").OrderedDict.fromkeys(
	h + " " + m + " " + __import__("re").sub(r"/([0-9]+|[0-9a-f-]{36})(?=/|$)", "/*", p)
	for m, p in (e.split(" ", 1) for e in s["log"]) for h in (("hold", "hold_after") if m == "POST" else ("hold",))))')
check; echo "$points" | grep -q 'hold_after POST /v2/monitoring/alerts' && echo "$points" | grep -q 'hold GET /v2/droplets/\*' ||
	fail "kill points: $points"
i=0
while read -r how method path; do
	i=$((i + 1))
	start_fake "{\"rules\": [{\"request\": \"$method $path\", \"do\": \"$how\"}]}"
	# shellcheck disable=SC2086
	killed_held "kill at $how $method $path" create kill --image ubuntu-24-04-x64 --region fra1 --size "$SIZE" \
		--user-data-file "$UD" $MAILS --launch-id "kill$i" --wait-timeout 20
	create kill --launch-id "kill$i" --wait-timeout 20
	check; [ "$status" -eq 0 ] || fail "rerun after a kill at $how $method $path: exit $status: $(cat "$TMP/err")"
	converged "rerun after a kill at $how $method $path" "kill$i"
done <<EOF
$points
EOF
# And killed after the third policy was made, its answer never told.
start_fake '{"rules": [{"request": "POST /v2/monitoring/alerts", "do": "hold_after", "skip": 2}]}'
# shellcheck disable=SC2086
killed_held "kill at the third policy" create kill --image ubuntu-24-04-x64 --region fra1 --size "$SIZE" \
	--user-data-file "$UD" $MAILS --launch-id kill3rd --wait-timeout 20
expect "kill at the third policy: three made" 'len(s["policies"])' 3
create kill --launch-id kill3rd --wait-timeout 20
check; [ "$status" -eq 0 ] && [ "$(grep -c 'exists: adopting it' "$TMP/err")" -eq 3 ] && [ "$(grep -c '^alert policy .* created$' "$TMP/err")" -eq 1 ] ||
	fail "rerun after the third policy: exit $status: $(cat "$TMP/err")"
expect "rerun after the third policy: four POSTs in all" 's["log"].count("POST /v2/monitoring/alerts")' 4
converged "rerun after the third policy" kill3rd
ok "$((i + 1)) kill points"
prism_clean "kills and reruns"

# ---- 4. undo: only what this run made ------------------------------------------------
start_fake '{"never_active": true}'
api POST /v2/monitoring/alerts "$(printf '%s' "$POLICY" | sed 's/droplet_tag/other-tag/')" >/dev/null
create db4 --launch-id undo1 --wait-timeout 3
check; [ "$status" -eq 1 ] && [ "$(grep -c '^doagent-launch: deleted alert policy' "$TMP/err")" -eq 4 ] || fail "undo: exit $status: $(cat "$TMP/err")"
expect "undo: the policies and the droplet gone, another's kept" '[p["description"] for p in s["policies"]], len(s["droplets"])' "(['CPU Alert'], 0)"
create db4 --launch-id undo2 --wait-timeout 3 --keep-on-failure
check; [ "$status" -eq 1 ] && [ "$(grep -c 'alert policy .* kept (--keep-on-failure)' "$TMP/err")" -eq 4 ] || fail "--keep-on-failure: exit $status: $(cat "$TMP/err")"
expect "--keep-on-failure keeps them" "len(s['policies']), len(s['droplets'])" "(5, 1)"
# The alerts step failing itself, at its third policy: the two it made and the droplet go.
start_fake '{"rules": [{"request": "POST /v2/monitoring/alerts", "do": "fail", "status": 422, "skip": 2, "message": "Invalid email address."}]}'
create db5 --launch-id undo3 --wait-timeout 20
check; [ "$status" -eq 1 ] && grep -q 'Invalid email address' "$TMP/err" || fail "the third policy refused: exit $status: $(cat "$TMP/err")"
expect "the third policy refused: all undone" 'len(s["policies"]), len(s["droplets"]), s["answers"].get("failed", 0)' "(0, 0, 1)"
# Adopted: made by a run killed after the alerts step, then a failing rerun keeps them.
start_fake '{"never_active": true, "rules": [{"request": "GET /v2/droplets/*", "do": "hold"}]}'
# shellcheck disable=SC2086
killed_held "a kill after the alerts step" create db6 --image ubuntu-24-04-x64 --region fra1 --size "$SIZE" \
	--user-data-file "$UD" $MAILS --launch-id adopt1 --wait-timeout 20
expect "a kill after the alerts step" 'len(s["policies"]), [d["status"] for d in s["droplets"]]' "(4, ['new'])"
create db6 --launch-id adopt1 --wait-timeout 3
check; [ "$status" -eq 1 ] && [ "$(grep -c 'exists: adopting it' "$TMP/err")" -eq 4 ] && ! grep -q 'deleted alert policy' "$TMP/err" ||
	fail "adopted, then a failure: exit $status: $(cat "$TMP/err")"
expect "undo keeps adopted policies" "$(printf '%s' 'len(s["policies"]), len(s["droplets"])')" "(4, 1)"
prism_clean "undo"

# ---- 5. destroy: exactly the launch's policies --------------------------------------
start_fake
create dba --launch-id la --wait-timeout 20
create dbb --launch-id lb --wait-timeout 20
mine=$(api POST /v2/monitoring/alerts "$(printf '%s' "$POLICY" | sed 's/droplet_tag/doagent-launch-la/; s/CPU Alert/my own alert/')" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["policy"]["uuid"])')
expect "destroy: before" 'len(s["policies"])' 9
launch destroy dba --force
check; [ "$status" -eq 0 ] && [ "$(grep -c '^alert policy .* (doagent la (dba): .*) deleted$' "$TMP/out")" -eq 4 ] ||
	fail "destroy: exit $status: $(cat "$TMP/out" "$TMP/err")"
check; [ "$(ours la)" = "[]" ] && [ "$(ours lb)" = "$FOUR" ] || fail "destroy: left $(ours la), $(ours lb)"
expect "destroy: the hand-made policy on the same tag stays" '[p["uuid"] for p in s["policies"] if "doagent-launch-la" in p["tags"]]' "['$mine']"
expect "destroy: another launch's stay" 'len(s["policies"]), len(s["droplets"])' "(5, 1)"
# While another droplet carries the launch tag (a standby, say), its policies stay.
lbtags=$(state 'json.dumps([d["tags"] for d in s["droplets"] if d["name"] == "dbb"][0])')
api POST /v2/droplets "{\"name\": \"dbb-2\", \"region\": \"fra1\", \"size\": \"$SIZE\", \"image\": \"ubuntu-24-04-x64\", \"tags\": $lbtags}" >/dev/null
launch destroy dbb --force
check; [ "$status" -eq 0 ] && grep -q '^alert policies of doagent-launch-lb kept: droplet [0-9]* still carries the tag$' "$TMP/out" ||
	fail "destroy, another droplet on the tag: exit $status: $(cat "$TMP/out" "$TMP/err")"
check; [ "$(ours lb)" = "$FOUR" ] || fail "destroy, another droplet on the tag: $(ours lb)"
launch destroy dbb-2 --force
check; [ "$status" -eq 0 ] && [ "$(ours lb)" = "[]" ] || fail "destroy of the last droplet on the tag: exit $status: $(ours lb)"
# The droplet gone already (destroyed by hand): found by the droplets' name.
create dbc --launch-id lc --wait-timeout 20
api DELETE "/v2/droplets/$(state '[d["id"] for d in s["droplets"] if d["name"] == "dbc"][0]')" >/dev/null
create dbd --launch-id ld --wait-timeout 20
launch destroy dbc --force
check; [ "$status" -eq 0 ] && grep -q 'already gone' "$TMP/out" && [ "$(grep -c '^alert policy .* deleted$' "$TMP/out")" -eq 4 ] ||
	fail "destroy of a gone droplet: exit $status: $(cat "$TMP/out" "$TMP/err")"
expect "destroy of a gone droplet: exactly its policies" '[p["uuid"] == "'"$mine"'" or p["description"].startswith("doagent ld (dbd): ") for p in s["policies"]]' \
	"[True, True, True, True, True]"
prism_clean "destroy"

# ---- 6. refusals before any request; the dry run ------------------------------------
start_fake
for bad in 'ops@' '@example.com' 'ops@example' 'a b@example.com' 'ops@-example.com' 'ops..x@example.com' 'ops@example.123' "$(printf 'ops@example.com\nBcc: x@example.com')"; do
	launch create db7 --image x --region fra1 --size "$SIZE" --user-data-file "$UD" --alerts "$bad"
	check; [ "$status" -eq 2 ] && grep -q -- '--alerts: .* is not an email address' "$TMP/err" || fail "--alerts '$bad': exit $status: $(cat "$TMP/err")"
done
launch create db7 --image x --region fra1 --size "$SIZE" --user-data-file "$UD" --alerts ops@example.com --alerts ops@example.com
check; [ "$status" -eq 2 ] && grep -q 'given twice' "$TMP/err" || fail "--alerts twice: exit $status: $(cat "$TMP/err")"
expect "refusals: nothing sent" 's["requests"]' 0
create db7 --launch-id dry1 --dry-run -o json
check; [ "$status" -eq 0 ] || fail "--dry-run: exit $status: $(cat "$TMP/err")"
check; python3 - "$TMP/out" <<'PY' || fail "--dry-run: $(cat "$TMP/out")"
import json, sys
plan = json.load(open(sys.argv[1]))
posts = [(r["path"], r["body"]) for r in plan]
assert [p for p, _ in posts] == ["/v2/droplets"] + ["/v2/monitoring/alerts"] * 4, posts
assert posts[0][1]["monitoring"] is True
load = posts[4][1]
assert load["type"] == "v1/insights/droplet/load_5" and load["value"] == "(the vCPUs of size s-2vcpu-4gb)", load
assert posts[1][1]["description"] == "doagent dry1 (db7): memory above 90% for 5m", posts[1]
PY
expect "--dry-run: nothing sent" 's["requests"]' 0

# The token appeared in no output.
check; ! grep -qF "$TOKEN" "$TMP/all-output" || fail "the token was printed"
finish
