#!/bin/sh
# doagent-launch's volumes and its saga, against the fake DigitalOcean API (with
# DigitalOcean's volume rules) behind "prism proxy --errors": each scenario ends with
# an assertion on the fake's own state (droplets, volumes, firewalls, attachments).
#
# - create --volume: the volume made, tagged, attached at the droplet's create, the
#   user data naming it, a record of what was sent; a rerun adopts everything;
# - the volume's create answer lost: exactly one volume;
# - SIGKILL at the first request of every kind an uninterrupted create makes (so after
#   each saga step, and inside each create after it was made, before its answer), then
#   a rerun with the same --launch-id: one droplet, one volume, one firewall, attached;
# - the region and attachment checks of --volume-name: exit 65 before any POST;
# - undo deletes a volume this run made, never one it adopted or was given;
# - destroy keeps volumes unless --delete-volumes;
# - replace: the new droplet has the old one's user data, tags and volume, the old one is
#   gone, the downtime is printed; replace failing at each step: the old droplet back,
#   powered on, with its volume.
FAKE_ARGS="--action-after 0.3"
. "${top_srcdir:-$(dirname "$0")/..}/tests/launch-lib.sh"

# The launcher names the volume in the user data's [storage] section, which the agent's
# parser must know (the agent's half of issue 14).
printf '#doagent\n[storage]\nvolume = probe\n' >"$TMP/storage.ini"
"$DOAGENT_LAUNCH" validate "$TMP/storage.ini" >/dev/null 2>&1 ||
	skip "the user-data parser has no [storage] volume: doagent-launch cannot launch with a volume"

PORT=$(free_port)
UD="$TMP/ud.ini"
printf '#doagent\n[redis]\nmaxmemory-policy = allkeys-lru\n\n[tls]\nport = %s\n' "$PORT" >"$UD"
create() {
	launch create "$@" --image ubuntu-24-04-x64 --region fra1 --size s-1vcpu-1gb --user-data-file "$UD"
}

# volume NAME REGION: make a detached, untagged volume; prints its id.
volume() {
	api POST /v2/volumes "{\"name\": \"$1\", \"region\": \"$2\", \"size_gigabytes\": 3}" |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["volume"]["id"])'
}

posts() { state 's["methods"].get("POST", 0)'; }

# expect WHAT EXPR EXPECTED: the fake's state, EXPR over it, is EXPECTED.
expect() {
	local got
	got=$(state "$2")
	check; [ "$got" = "$3" ] || fail "$1: $2 is $got, expected $3"
}

# One droplet, one volume and FW firewalls, the volume attached to the droplet (and the
# droplet knowing it), both carrying TAG.
converged() { # WHAT TAG FW
	expect "$1" 'len(s["droplets"]), len(s["volumes"]), len(s["firewalls"])' "(1, 1, $3)"
	expect "$1: attached" '[v["droplet_ids"] for v in s["volumes"]] == [[d["id"] for d in s["droplets"]]] and [d["volume_ids"] for d in s["droplets"]] == [[v["id"] for v in s["volumes"]]]' True
	expect "$1: tagged" "all('$2' in x['tags'] for x in s['droplets'] + s['volumes'])" True
}

# ---- 0. the fake's volume rules, through Prism ----------------------------------------
# answers WHAT EXPECTED METHOD PATH [JSON]: through Prism, the answer is EXPECTED (a regex
# over "STATUS BODY").
answers() {
	local what=$1 want=$2 got
	shift 2
	got=$(request "$url" "$@")
	check; printf '%s' "$got" | grep -Eq "^$want" || fail "fake: $what: $got"
}
start_fake
v1=$(volume rule1 fra1)
volume rule2 nyc3 >/dev/null
d1=$(api POST /v2/droplets "{\"name\": \"r1\", \"region\": \"fra1\", \"size\": \"s-1vcpu-1gb\", \"image\": \"ubuntu-24-04-x64\", \"volumes\": [\"$v1\"]}" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["droplet"]["id"])')
d2=$(api POST /v2/droplets '{"name": "r2", "region": "fra1", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64"}' |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["droplet"]["id"])')
answers "a name taken in the region" '409 \{"id":"conflict","message":"already exists"' POST /v2/volumes '{"name": "rule1", "region": "fra1", "size_gigabytes": 1}'
answers "the same name in another region" '201 ' POST /v2/volumes '{"name": "rule1", "region": "ams3", "size_gigabytes": 1}'
answers "attached at create" '200 .*"droplet_ids":\['"$d1"'\]' GET "/v2/volumes/$v1"
answers "attaching an attached volume" '422 \{"id":"unprocessable_entity","message":"This volume is already attached to a Droplet."' \
	POST "/v2/volumes/$v1/actions" "{\"type\": \"attach\", \"droplet_id\": $d2, \"region\": \"fra1\"}"
answers "a droplet at create in another region" '422 .*Invalid volume allocations' POST /v2/droplets \
	"{\"name\": \"r3\", \"region\": \"ams3\", \"size\": \"s-1vcpu-1gb\", \"image\": \"ubuntu-24-04-x64\", \"volumes\": [\"$v1\"]}"
answers "deleting an attached volume" '409 .*attached volume cannot be deleted' DELETE "/v2/volumes/$v1"
answers "detaching from another droplet" '422 .*Attachment not found' \
	POST "/v2/volumes/$v1/actions" "{\"type\": \"detach\", \"droplet_id\": $d2, \"region\": \"fra1\"}"
answers "detaching" '202 \{"action":\{"id":[0-9]+,"status":"in-progress","type":"detach_volume"' \
	POST "/v2/volumes/$v1/actions" "{\"type\": \"detach\", \"droplet_id\": $d1, \"region\": \"fra1\"}"
sleep 0.5
answers "detached" '200 .*"droplet_ids":\[\]' GET "/v2/volumes/$v1"
n=0
while [ "$(state '[d["status"] for d in s["droplets"] if d["id"] == '"$d1"']')" != "['active']" ] && [ "$n" -lt 50 ]; do
	sleep 0.1
	n=$((n + 1))
done
answers "a shutdown" '201 \{"action":\{"id":[0-9]+,"status":"in-progress","type":"shutdown"' POST "/v2/droplets/$d1/actions" '{"type": "shutdown"}'
sleep 0.5
answers "off" '200 .*"status":"off"' GET "/v2/droplets/$d1"
control /_fault '{"stuck_actions": ["power_on"]}'
answers "a power_on" '201 \{"action":\{"id":[0-9]+,"status":"in-progress","type":"power_on"' POST "/v2/droplets/$d1/actions" '{"type": "power_on"}'
answers "an action on a locked droplet" '422 .*pending event' POST "/v2/droplets/$d1/actions" '{"type": "shutdown"}'
answers "listed by name and region" '200 \{"volumes":\[\{"id":"'"$v1"'"' GET "/v2/volumes?name=rule1&region=fra1"
prism_clean "the fake's volume rules"

# ---- 1. create --volume ------------------------------------------------------------
start_fake
create db1 --volume 2 --launch-id vol_a --cloud-firewall --wait-timeout 20 -o json
check; [ "$status" -eq 0 ] || fail "--volume: exit $status: $(cat "$TMP/err")"
converged "--volume" doagent-launch-vol_a 1
expect "--volume: the volume" '[(v["name"], v["region"]["slug"], v["size_gigabytes"], sorted(v["tags"])) for v in s["volumes"]]' \
	"[('db1-data', 'fra1', 2, ['doagent', 'doagent-launch-vol_a'])]"
expect "--volume: attached at create, no attach action" '[e for e in s["log"] if e.startswith("POST /v2/volumes/")]' "[]"
expect "--volume: the user data names it" 'list(s["user_data"].values())[0].endswith("[storage]\nvolume = db1-data\n")' True
check; grep -q '"volumes":\[{"id":"[-0-9a-f]*","name":"db1-data","region":"fra1","size_gigabytes":2}\]' "$TMP/out" ||
	fail "--volume: not printed: $(cat "$TMP/out")"
# The record of what was sent: 0600 in a 0700 directory, the user data as the droplet got it.
REC="$XDG_STATE_HOME/doagent-launch/vol_a.json"
check; [ "$(stat -c %a "$REC" 2>/dev/null)" = 600 ] && [ "$(stat -c %a "$XDG_STATE_HOME/doagent-launch")" = 700 ] ||
	fail "record: $(ls -la "$XDG_STATE_HOME/doagent-launch" 2>&1)"
expect "record: the user data sent" 'list(s["user_data"].values()) == [__import__("json").load(open("'"$REC"'"))["user_data"]]' True
check; ! grep -qF "$TOKEN" "$REC" || fail "record: holds the token"
pw=$(sed -n 's/.*rediss:\/\/default:\([0-9a-f]*\)@.*/\1/p' "$TMP/out")
before=$(posts)
create db1 --volume 2 --launch-id vol_a --cloud-firewall --wait-timeout 20
check; [ "$status" -eq 0 ] && grep -q 'volume db1-data .* exists: adopting it' "$TMP/err" ||
	fail "--volume rerun: exit $status: $(cat "$TMP/err")"
check; grep -q "rediss://default:$pw@" "$TMP/out" || fail "--volume rerun: not the first run's password: $(cat "$TMP/out")"
check; [ "$(posts)" -eq "$before" ] || fail "--volume rerun: $(($(posts) - before)) POSTs"
converged "--volume rerun" doagent-launch-vol_a 1
launch create db1 --image x --size s --user-data-file "$UD" --volume 2
check; [ "$status" -eq 2 ] && grep -q 'needs --region' "$TMP/err" || fail "--volume without --region: exit $status"
launch create db1 --image x --region fra1 --size s --user-data-file "$UD" --volume 2 --volume-name v
check; [ "$status" -eq 2 ] || fail "--volume with --volume-name: exit $status"
launch create DB1 --image x --region fra1 --size s --user-data-file "$UD" --volume 2
check; [ "$status" -eq 2 ] && grep -q 'DB1-data is not a volume name' "$TMP/err" || fail "--volume, bad name: exit $status: $(cat "$TMP/err")"
printf '#doagent\n[storage]\nvolume = elsewhere\n' >"$TMP/named.ini"
launch create db1 --image x --region fra1 --size s --user-data-file "$TMP/named.ini"
check; [ "$status" -eq 65 ] && grep -q 'use --volume-name elsewhere' "$TMP/err" || fail "user data naming a volume, no flag: exit $status: $(cat "$TMP/err")"
launch create db1 --image x --region fra1 --size s --user-data-file "$TMP/named.ini" --volume-name other
check; [ "$status" -eq 65 ] && grep -q 'volume is elsewhere, not other' "$TMP/err" || fail "user data naming another volume: exit $status: $(cat "$TMP/err")"
launch create db1 --image x --region fra1 --size s --user-data-file "$UD" --volume 2 --dry-run
check; [ "$status" -eq 0 ] && grep -q '^POST /v2/volumes$' "$TMP/out" && grep -q '(the id of volume db1-data)' "$TMP/out" ||
	fail "--volume --dry-run: $(cat "$TMP/out" "$TMP/err")"
prism_clean "create --volume"

# ---- 2. the volume's create answer lost ---------------------------------------------
start_fake '{"rules": [{"request": "POST /v2/volumes", "do": "lose"}]}'
create db2 --volume 1 --launch-id lost_v --wait-timeout 20
check; [ "$status" -eq 0 ] && grep -q "the volume's create answer was lost" "$TMP/err" || fail "lost volume: exit $status: $(cat "$TMP/err")"
expect "lost volume: the fault was used" 's["answers"].get("lost", 0)' 1
expect "lost volume: one POST" 's["log"].count("POST /v2/volumes")' 1
converged "lost volume" doagent-launch-lost_v 0

# ---- 3. SIGKILL at every kind of request, then a rerun -------------------------------
# The first request of each kind an uninterrupted run makes (ids as "*"): the launcher
# is killed while the fake holds it unanswered, before doing it ("hold": so after the
# step before) and, for a POST, after doing it ("hold_after": the thing made, its id
# never told).
start_fake
create k0 --volume 1 --cloud-firewall --launch-id k0 --wait-timeout 20
check; [ "$status" -eq 0 ] || fail "uninterrupted: exit $status: $(cat "$TMP/err")"
points=$(state '"\n".join(__import__("collections").OrderedDict.fromkeys(
	h + " " + m + " " + __import__("re").sub(r"/([0-9]+|[0-9a-f-]{36})(?=/|$)", "/*", p)
	for m, p in (e.split(" ", 1) for e in s["log"]) for h in (("hold", "hold_after") if m == "POST" else ("hold",))))')
check; [ "$(echo "$points" | wc -l)" -ge 10 ] || fail "too few kill points: $points"
check; echo "$points" | grep -q '^hold_after POST /v2/tags$' || fail "no kill point at the tags' create: $points"
i=0
while read -r how method path; do
	i=$((i + 1))
	start_fake "{\"rules\": [{\"request\": \"$method $path\", \"do\": \"$how\"}]}"
	killed_held "kill at $how $method $path" create kill --image ubuntu-24-04-x64 --region fra1 --size s-1vcpu-1gb \
		--user-data-file "$UD" --volume 1 --cloud-firewall --launch-id "kill$i" --wait-timeout 20
	create kill --volume 1 --cloud-firewall --launch-id "kill$i" --wait-timeout 20
	check; [ "$status" -eq 0 ] || fail "rerun after a kill at $how $method $path: exit $status: $(cat "$TMP/err")"
	converged "rerun after a kill at $how $method $path" "doagent-launch-kill$i" 1
done <<EOF
$points
EOF
ok "$i kill points"
prism_clean "kills and reruns"

# ---- 4. --volume-name: the region and attachment checks, before any POST --------------
start_fake
volume far nyc3 >/dev/null
busy=$(volume busy fra1)
api POST /v2/droplets "{\"name\": \"other\", \"region\": \"fra1\", \"size\": \"s-1vcpu-1gb\", \"image\": \"ubuntu-24-04-x64\", \"volumes\": [\"$busy\"]}" >/dev/null
volume db6-data fra1 >/dev/null
before=$(posts)
create db4 --volume-name far
check; [ "$status" -eq 65 ] && grep -q 'volume far is in nyc3, not in fra1' "$TMP/err" || fail "other region: exit $status: $(cat "$TMP/err")"
create db4 --volume-name nosuch
check; [ "$status" -eq 65 ] && grep -q 'no volume named nosuch' "$TMP/err" || fail "no such volume: exit $status: $(cat "$TMP/err")"
create db5 --volume-name busy
check; [ "$status" -eq 65 ] && grep -q 'volume busy .* is attached to droplet' "$TMP/err" || fail "attached: exit $status: $(cat "$TMP/err")"
create db6 --volume 1
check; [ "$status" -eq 65 ] && grep -q 'is not this launch.s' "$TMP/err" || fail "--volume, name taken: exit $status: $(cat "$TMP/err")"
check; [ "$(posts)" -eq "$before" ] || fail "the checks sent $(($(posts) - before)) POSTs"
expect "the checks" 'len(s["droplets"]), len(s["volumes"])' "(1, 3)"
prism_clean "--volume-name checks"

# ---- 5. undo: only what this run made --------------------------------------------------
# settled WHAT EXPR EXPECTED: as expect, once the fake has let go of destroyed droplets' volumes.
settled() {
	local n=0
	while [ "$(state "$2")" != "$3" ] && [ "$n" -lt 50 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	expect "$@"
}
start_fake '{"never_active": true}'
given=$(volume given1 fra1)
create db7 --volume-name given1 --cloud-firewall --wait-timeout 3
check; [ "$status" -eq 1 ] || fail "given volume, never active: exit $status"
settled "undo keeps a given volume" '[(v["id"], v["droplet_ids"]) for v in s["volumes"]], len(s["droplets"]), len(s["firewalls"])' "([('$given', [])], 0, 0)"
create db8 --volume 1 --wait-timeout 3
check; [ "$status" -eq 1 ] && grep -q 'deleted volume db8-data' "$TMP/err" || fail "made volume, never active: exit $status: $(cat "$TMP/err")"
settled "undo deletes a volume it made" '[v["name"] for v in s["volumes"]], len(s["droplets"])' "(['given1'], 0)"
create db8 --volume 1 --wait-timeout 3 --keep-on-failure
check; [ "$status" -eq 1 ] && grep -q 'volume db8-data .* kept (--keep-on-failure)' "$TMP/err" || fail "--keep-on-failure: exit $status: $(cat "$TMP/err")"
expect "--keep-on-failure keeps the volume it made" 'sorted(v["name"] for v in s["volumes"]), len(s["droplets"])' "(['db8-data', 'given1'], 1)"
# Adopted: made by a run killed after the volume step, then a failing rerun.
start_fake '{"rules": [{"request": "GET /v2/droplets", "do": "hold"}]}'
killed_held "a kill after the volume step" create db9 --image ubuntu-24-04-x64 --region fra1 --size s-1vcpu-1gb \
	--user-data-file "$UD" --volume 1 --launch-id adopt1
control /_fault '{"never_active": true}'
create db9 --volume 1 --launch-id adopt1 --wait-timeout 3
check; [ "$status" -eq 1 ] && grep -q 'adopting it' "$TMP/err" || fail "adopted volume, never active: exit $status: $(cat "$TMP/err")"
settled "undo keeps an adopted volume" '[(v["name"], v["droplet_ids"]) for v in s["volumes"]], len(s["droplets"])' "([('db9-data', [])], 0)"
prism_clean "undo"

# ---- 6. destroy keeps volumes unless --delete-volumes -----------------------------------
start_fake
create db10 --volume 3 --wait-timeout 20
launch destroy db10 --force
check; [ "$status" -eq 0 ] && grep -q 'volume db10-data (.*, 3 GiB, fra1) kept: --delete-volumes deletes it' "$TMP/out" ||
	fail "destroy: exit $status: $(cat "$TMP/out" "$TMP/err")"
expect "destroy keeps the volume" '[v["name"] for v in s["volumes"]], len(s["droplets"])' "(['db10-data'], 0)"
launch destroy db10 --force --delete-volumes
check; [ "$status" -eq 0 ] && grep -q 'already gone' "$TMP/out" && grep -q 'volume db10-data .* deleted' "$TMP/out" ||
	fail "destroy --delete-volumes of a gone droplet: exit $status: $(cat "$TMP/out" "$TMP/err")"
create db11 --volume 1 --wait-timeout 20
given=$(volume given2 fra1)
create db12 --volume-name given2 --wait-timeout 20
launch destroy db11 --force --delete-volumes
check; [ "$status" -eq 0 ] && grep -q 'volume db11-data .* deleted' "$TMP/out" || fail "destroy --delete-volumes: exit $status: $(cat "$TMP/out" "$TMP/err")"
launch destroy db12 --force --delete-volumes
check; [ "$status" -eq 0 ] && grep -q 'volume given2 .* kept: not made by this launch' "$TMP/out" ||
	fail "destroy --delete-volumes, a given volume: exit $status: $(cat "$TMP/out" "$TMP/err")"
settled "destroy" '[(v["name"], v["droplet_ids"]) for v in s["volumes"]], len(s["droplets"])' "([('given2', [])], 0)"
prism_clean "destroy"

# ---- 7. replace -----------------------------------------------------------------------
# Droplets have 127.0.0.N addresses, where the fake takes connections on $PORT for an
# active droplet once its volume is attached, as its doagent would.
SERVE="\"public_loopback\": true, \"serve_port\": $PORT"
# made_old NAME: a fresh fake and NAME made with a volume; $old, $vol, $olduser, $oldpw.
made_old() {
	start_fake "{$SERVE}"
	create "$1" --volume 1 --launch-id "$1" --wait-timeout 20
	check; [ "$status" -eq 0 ] || fail "replace, $1: create: exit $status: $(cat "$TMP/err")"
	old=$(state 's["droplets"][0]["id"]')
	vol=$(state 's["volumes"][0]["id"]')
	olduser=$(state 'sorted(s["droplets"][0]["tags"])')
	oldpw=$(sed -n 's/.*rediss:\/\/default:\([0-9a-f]*\)@.*/\1/p' "$TMP/out")
}
made_old rep1
check; grep -q "port $PORT on 127\.0\.0\.[0-9]*: answered" "$TMP/err" || fail "replace: the old droplet's port: $(cat "$TMP/err")"
olddata=$(state 'repr(s["user_data"]["'"$old"'"])')
launch replace rep1 --image debian-12-x64 --dry-run
check; [ "$status" -eq 0 ] && [ "$(grep -c '^POST /v2/volumes/.*/actions$' "$TMP/out")" -eq 2 ] &&
	grep -q "^POST /v2/droplets/$old/actions$" "$TMP/out" && grep -q "^DELETE /v2/droplets/$old$" "$TMP/out" ||
	fail "replace --dry-run: exit $status: $(cat "$TMP/out" "$TMP/err")"
expect "replace --dry-run sends nothing" 's["log"].count("POST /v2/droplets")' 1
launch replace rep1 --image debian-12-x64 --wait-timeout 20
check; [ "$status" -eq 0 ] || fail "replace: exit $status: $(cat "$TMP/err")"
new=$(state 's["droplets"][0]["id"]')
expect "replace: one droplet, the new one" '[d["id"] for d in s["droplets"]] != ['"$old"'], len(s["droplets"]), len(s["volumes"])' "(True, 1, 1)"
expect "replace: the new image" 's["droplets"][0]["image"]["slug"]' debian-12-x64
expect "replace: the same tags" 'sorted(t for t in s["droplets"][0]["tags"] if t != "doagent-replace-'"$old"'")' "$olduser"
expect "replace: the replace tag" '"doagent-replace-'"$old"'" in s["droplets"][0]["tags"]' True
expect "replace: the same user data" 's["user_data"]["'"$new"'"] == '"$olddata" True
expect "replace: the volume moved" '[v["droplet_ids"] for v in s["volumes"]], s["droplets"][0]["volume_ids"]' "([[$new]], ['$vol'])"
expect "replace: in order" '[e for e in s["log"] if e.startswith(("POST", "DELETE"))][-5:]' \
	"['POST /v2/droplets', 'POST /v2/droplets/$old/actions', 'POST /v2/volumes/$vol/actions', 'POST /v2/volumes/$vol/actions', 'DELETE /v2/droplets/$old']"
expect "replace: shut down, detached, attached" '[(a["type"], a["status"]) for a in s["actions"]]' \
	"[('shutdown', 'completed'), ('detach_volume', 'completed'), ('attach_volume', 'completed')]"
check; grep -q "^replaced: *$old$" "$TMP/out" && grep -Eq '^downtime: *[0-9]+\.[0-9] s$' "$TMP/out" &&
	grep -q "rediss://default:$oldpw@127.0.0.[0-9]*:$PORT" "$TMP/out" || fail "replace: printed: $(cat "$TMP/out")"
downtime=$(sed -n 's/^downtime: *\([0-9.]*\) s$/\1/p' "$TMP/out")
check; python3 -c 'import sys; sys.exit(not 0.6 <= float(sys.argv[1]) < 20)' "$downtime" || fail "replace: downtime $downtime s"
ok "replace: downtime $downtime s"
# Again, with the user data from a file: the volume is added to it, and it becomes the record.
printf '#doagent\n[redis]\npassword = from-file-0123456789abcdef\n[tls]\nport = %s\n' "$PORT" >"$TMP/ud2.ini"
launch replace rep1 --image debian-13-x64 --user-data-file "$TMP/ud2.ini" --wait-timeout 20 -o json
check; [ "$status" -eq 0 ] && grep -q '"downtime_seconds":[0-9.]*' "$TMP/out" || fail "replace --user-data-file: exit $status: $(cat "$TMP/out" "$TMP/err")"
expect "replace --user-data-file: sent" 'list(s["user_data"].values())' \
	"['#doagent\\n[redis]\\npassword = from-file-0123456789abcdef\\n[tls]\\nport = $PORT\\n\\n[storage]\\nvolume = rep1-data\\n']"
check; grep -q from-file-0123456789abcdef "$XDG_STATE_HOME/doagent-launch/rep1.json" || fail "replace --user-data-file: the record was not updated"
rm "$XDG_STATE_HOME/doagent-launch/rep1.json"
before=$(posts)
launch replace rep1 --image debian-13-x64 --wait-timeout 20
check; [ "$status" -eq 2 ] && grep -q 'no record of the user data launch rep1 sent.*--user-data-file' "$TMP/err" && [ "$(posts)" -eq "$before" ] ||
	fail "replace without a record: exit $status: $(cat "$TMP/err")"
create novol --wait-timeout 20
launch replace novol --image debian-13-x64 --wait-timeout 20
check; [ "$status" -eq 1 ] && grep -q 'has no volume' "$TMP/err" || fail "replace without a volume: exit $status: $(cat "$TMP/err")"
prism_clean "replace"

# Killed in the middle, after the shutdown (the volume still on the old droplet, off) and
# after the detach (the volume on no droplet): the same replace again, by the old
# droplet's id, goes on with the new droplet it made and ends with it alone, holding the
# volume.
for skip in 0 1; do
	made_old "rep-k$skip"
	control /_fault "{\"rules\": [{\"request\": \"POST /v2/volumes/*/actions\", \"do\": \"hold\", \"skip\": $skip}]}"
	killed_held "replace killed at volume action $skip" replace "rep-k$skip" --image debian-12-x64 --wait-timeout 20
	expect "replace killed at volume action $skip" '[(d["id"] == '"$old"', d["status"]) for d in s["droplets"]]' "[(True, 'off'), (False, 'active')]"
	launch replace "$old" --image debian-12-x64 --wait-timeout 20
	check; [ "$status" -eq 0 ] && grep -q 'adopting it' "$TMP/err" || fail "replace again after a kill at volume action $skip: exit $status: $(cat "$TMP/err")"
	expect "replace again after a kill at volume action $skip" '[d["id"] != '"$old"' for d in s["droplets"]], [v["droplet_ids"] == [s["droplets"][0]["id"]] for v in s["volumes"]]' "([True], [True])"
	expect "replace again after a kill at volume action $skip: one POST of a droplet" 's["log"].count("POST /v2/droplets")' 2
done

# replace_fails WHAT FAULTS: replace with FAULTS fails and the old droplet is back: on,
# with its volume, the only droplet, taking connections again; FAULTS were used.
replace_fails() {
	made_old rep2
	control /_fault "$2"
	launch replace rep2 --image debian-12-x64 --wait-timeout 4
	check; [ "$status" -ne 0 ] || fail "replace, $1: exit 0"
	expect "replace, $1: the old droplet back" '[(d["id"], d["status"], d["volume_ids"]) for d in s["droplets"]], [v["droplet_ids"] for v in s["volumes"]]' \
		"([($old, 'active', ['$vol'])], [[$old]])"
	case $2 in
	*serve_port*) ;;
	*) settled "replace, $1: the old droplet answers" 's["listening"]' "['$old']" ;;
	esac
	case $2 in
	*'"fail"'*) expect "replace, $1: the fault was used" 's["answers"].get("failed", 0) > 0' True ;;
	esac
	cat "$TMP/err" >"$TMP/replace-$(echo "$1" | tr ' ' -).err"
}
replace_fails "the new droplet refused" '{"rules": [{"request": "POST /v2/droplets", "do": "fail", "status": 422, "message": "You specified an invalid image for Droplet creation."}]}'
replace_fails "the new droplet never active" '{"never_active": true}'
replace_fails "the shutdown refused" '{"rules": [{"request": "POST /v2/droplets/*/actions", "do": "fail", "status": 422, "message": "Droplet already has a pending event."}]}'
replace_fails "the shutdown never done" '{"stuck_actions": ["shutdown"]}'
replace_fails "the detach refused" '{"rules": [{"request": "POST /v2/volumes/*/actions", "do": "fail", "status": 422, "message": "Droplet already has a pending event."}]}'
check; grep -q "droplet $old is on again" "$TMP/replace-the-detach-refused.err" || fail "replace, the detach refused: $(cat "$TMP/replace-the-detach-refused.err")"
replace_fails "the attach failing" '{"rules": [{"request": "POST /v2/volumes/*/actions", "do": "fail", "status": 500, "skip": 1}]}'
check; grep -q "volume rep2-data is attached to droplet $old" "$TMP/replace-the-attach-failing.err" || fail "replace, the attach failing: $(cat "$TMP/replace-the-attach-failing.err")"
replace_fails "the new port silent" '{"serve_port": 0}'
# Past the port check the replace is done: a failing destroy of the old droplet undoes nothing.
made_old rep3
control /_fault '{"rules": [{"request": "DELETE /v2/droplets/*", "do": "fail", "status": 422, "message": "Droplet is locked."}]}'
launch replace rep3 --image debian-12-x64 --wait-timeout 20
check; [ "$status" -eq 1 ] && grep -q "destroy it with: doagent-launch destroy $old" "$TMP/err" || fail "replace, the old droplet not destroyed: exit $status: $(cat "$TMP/err")"
expect "replace, the old droplet not destroyed" 'sorted((d["id"] == '"$old"', d["status"], d["volume_ids"]) for d in s["droplets"])' \
	"[(False, 'active', ['$vol']), (True, 'off', [])]"
prism_clean "replace failing"

# The token appeared in no output.
check; ! grep -qF "$TOKEN" "$TMP/all-output" || fail "the token was printed"
finish
