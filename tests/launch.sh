#!/bin/sh
# doagent-launch against the fake DigitalOcean API (tests/fake-doapi.py) behind
# "prism proxy --errors" with DigitalOcean's own OpenAPI schema, on loopback: every
# request the launcher sends and every answer the fake gives is checked against the
# schema, every fault ends with exactly the droplets it should, and the token is
# never shown.
. "${top_srcdir:-$(dirname "$0")/..}/tests/launch-lib.sh"

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
prism_clean "happy path, list, get, destroy"

# 3. Faults on the polls: 429 with retry-after, ratelimit-remaining 0, 503 with HTML, 404s.
# Prism answers the fake's HTML 503 (not in the schema) with its own 500 and a JSON
# problem body, so the launcher's handling of an HTML body is run again below,
# straight against the fake.
for fault in '{"status429_for": 3}' '{"ratelimit_zero": 2}' '{"status503_for": 2}' '{"get404_for": 3}'; do
	start_fake "$fault"
	create "db-f" --wait-timeout 30
	check; [ "$status" -eq 0 ] || fail "$fault: exit $status: $(cat "$TMP/err")"
	check; [ "$(ndroplets)" -eq 1 ] || fail "$fault: $(ndroplets) droplets"
	check; grep -q 'rediss://' "$TMP/out" || fail "$fault: no connection string"
	check; [ "$(state 's["ratelimit_violations"]')" -eq 0 ] || fail "$fault: rate limit violated"
	case $fault in
	*status503*) prism_clean "$fault" 2 ;;
	*) prism_clean "$fault" ;;
	esac
done
prism_url=$url
url=$fake
start_fake '{"status503_for": 2}'
create "db-html" --wait-timeout 30
check; [ "$status" -eq 0 ] && [ "$(ndroplets)" -eq 1 ] || fail "503 with HTML, no Prism: exit $status: $(cat "$TMP/err")"
check; [ "$(state 's["answers"].get("503", 0)')" -eq 2 ] || fail "503 with HTML: the fault was not used"
url=$prism_url

# 4. The create's answer lost after the droplet was made: exactly one droplet.
start_fake '{"lose_create": 1}'
create db-lost --wait-timeout 20
check; [ "$status" -eq 0 ] || fail "lost create: exit $status: $(cat "$TMP/err")"
check; [ "$(ndroplets)" -eq 1 ] || fail "lost create: $(ndroplets) droplets"
check; [ "$(state 's["methods"].get("POST", 0)')" -eq 1 ] || fail "lost create: POST more than once"
check; [ "$(state 's["answers"].get("lost", 0)')" -eq 1 ] || fail "lost create: the fault was not used"
prism_clean "lost create"

# 5. Never active: exit 1 and the droplet destroyed; kept with --keep-on-failure.
start_fake '{"never_active": true}'
create db-stuck --wait-timeout 3
check; [ "$status" -eq 1 ] || fail "never active: exit $status"
check; [ "$(ndroplets)" -eq 0 ] || fail "never active: droplet not destroyed"
create db-kept --wait-timeout 3 --keep-on-failure
check; [ "$status" -eq 1 ] && [ "$(ndroplets)" -eq 1 ] || fail "--keep-on-failure: exit $status, $(ndroplets) droplets"
prism_clean "never active"

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
prism_clean "invalid user data, dry run, --launch-id"

# 9. --cloud-firewall: a firewall for the launch tag mirroring allow and ssh-allow, made
# before the droplet, after the tag it names (DigitalOcean refuses a firewall naming a tag
# that does not exist, as the fake does); adopted on a re-run; made again on a rerun whose
# tag exists (also against an API that refuses a duplicate tag); destroyed with the
# droplet when waiting fails, the tag kept.
FWUD="$TMP/fw.ini"
printf '#doagent\n[tls]\nport = 6380\n\n[firewall]\nallow = vpc, 198.51.100.7/32\nssh-allow = 192.0.2.0/24\nssh-port = 2222\n' >"$FWUD"
start_fake
launch create db-fw --image ubuntu-24-04-x64 --region fra1 --size s-1vcpu-1gb --user-data-file "$FWUD" \
	--cloud-firewall --launch-id fw_1 --wait-timeout 20 -o json
check; [ "$status" -eq 0 ] || fail "cloud firewall: exit $status: $(cat "$TMP/err")"
check; [ "$(state 'len(s["firewalls"])')" -eq 1 ] || fail "cloud firewall: $(state 's["firewalls"]')"
posts='[e for e in s["log"] if e.startswith("POST")]'
check; [ "$(state "$posts")" = "['POST /v2/tags', 'POST /v2/firewalls', 'POST /v2/droplets']" ] ||
	fail "cloud firewall: the tag is not made before the firewall: $(state "$posts")"
check; [ "$(state 's["tags"]')" = "['doagent-launch-fw_1', 'doagent']" ] || fail "cloud firewall: tags: $(state 's["tags"]')"
check; [ "$(state 's["firewalls"][0]["name"] + " " + ",".join(s["firewalls"][0]["tags"])')" = "doagent-launch-fw-1 doagent-launch-fw_1" ] ||
	fail "cloud firewall: name or tags: $(state 's["firewalls"]')"
rules='sorted((r["protocol"], r["ports"], ",".join(r["sources"]["addresses"])) for r in s["firewalls"][0]["inbound_rules"])'
check; [ "$(state "$rules")" = "[('icmp', '0', '0.0.0.0/0,::/0'), ('tcp', '2222', '192.0.2.0/24'), ('tcp', '6380', '10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,198.51.100.7/32')]" ] ||
	fail "cloud firewall: inbound rules: $(state "$rules")"
check; [ "$(state 'sorted(r["protocol"] for r in s["firewalls"][0]["outbound_rules"])')" = "['icmp', 'tcp', 'udp']" ] ||
	fail "cloud firewall: outbound rules: $(state 's["firewalls"][0]["outbound_rules"]')"
check; grep -q "\"firewall_id\":\"$(state 's["firewalls"][0]["id"]')\"" "$TMP/out" || fail "cloud firewall: id not printed: $(cat "$TMP/out")"
launch create db-fw --image ubuntu-24-04-x64 --region fra1 --size s-1vcpu-1gb --user-data-file "$FWUD" \
	--cloud-firewall --launch-id fw_1 --wait-timeout 20
check; [ "$status" -eq 0 ] && grep -q 'firewall .* exists: adopting it' "$TMP/err" || fail "cloud firewall re-run: exit $status: $(cat "$TMP/err")"
check; [ "$(state 'len(s["firewalls"]), len(s["droplets"]), s["methods"]["POST"]')" = "(1, 1, 3)" ] ||
	fail "cloud firewall re-run: $(state 'len(s["firewalls"]), len(s["droplets"]), s["methods"]')"
# The fake refuses, through Prism, a firewall naming a tag that does not exist, in its
# tags or a rule's sources, on a create or an update; it serves tags as the schema says.
fwbody() { # TAGS SOURCE-TAGS
	printf '{"name": "fw-probe", "inbound_rules": [{"protocol": "tcp", "ports": "22", "sources": {"addresses": ["192.0.2.0/24"], "tags": [%s]}}], "outbound_rules": [{"protocol": "tcp", "ports": "0", "destinations": {"addresses": ["0.0.0.0/0"]}}], "tags": [%s]}' "$2" "$1"
}
fw_id=$(state 's["firewalls"][0]["id"]')
for req in "POST /v2/firewalls" "PUT /v2/firewalls/$fw_id"; do
	got=$(request "$url" "${req% *}" "${req#* }" "$(fwbody '"doagent-launch-nosuch"' '')")
	check; printf '%s' "$got" | grep -q '^422 .*tags names the tag doagent-launch-nosuch, which does not exist' ||
		fail "fake: $req naming an unknown tag: $got"
	got=$(request "$url" "${req% *}" "${req#* }" "$(fwbody '"doagent-launch-fw_1"' '"doagent-group:nosuch"')")
	check; printf '%s' "$got" | grep -q '^422 .*names the tag doagent-group:nosuch, which does not exist' ||
		fail "fake: $req naming an unknown tag in a rule: $got"
done
check; [ "$(state 'len(s["firewalls"]), s["tags"]')" = "(1, ['doagent-launch-fw_1', 'doagent'])" ] || fail "fake: refusals made something: $(state 's["firewalls"], s["tags"]')"
got=$(request "$url" PUT "/v2/firewalls/$fw_id" "$(fwbody '"doagent-launch-fw_1"' '')")
check; printf '%s' "$got" | grep -q "^200 {\"firewall\":{.*\"id\":\"$fw_id\"" || fail "fake: PUT of a firewall naming tags that exist: $got"
check; printf '%s' "$(request "$url" GET /v2/tags/doagent-launch-fw_1)" | grep -q '^200 {"tag":{"name":"doagent-launch-fw_1","resources":{"count":1,' ||
	fail "fake: GET of a tag: $(request "$url" GET /v2/tags/doagent-launch-fw_1)"
check; printf '%s' "$(request "$url" GET /v2/tags/doagent-launch-nosuch)" | grep -q '^404 ' || fail "fake: GET of an unknown tag"
check; printf '%s' "$(request "$url" POST /v2/tags '{"name": "doagent-launch-fw_1"}')" | grep -q '^201 {"tag":{"name":"doagent-launch-fw_1"' ||
	fail "fake: POST of a tag that exists: $(request "$url" POST /v2/tags '{"name": "doagent-launch-fw_1"}')"
check; printf '%s' "$(request "$fake" POST /v2/tags '{"name": "no spaces"}')" | grep -q '^400 {"error":"Error validating resource tag' ||
	fail "fake: POST of a bad tag name: $(request "$fake" POST /v2/tags '{"name": "no spaces"}')"
# A rerun whose firewall is gone and whose tag exists: the tag made again (201, or
# refused as a duplicate and found), then the firewall.
request "$url" DELETE "/v2/firewalls/$fw_id" >/dev/null
for rule in '' '{"rules": [{"request": "POST /v2/tags", "do": "fail", "status": 422, "message": "tag already exists"}]}'; do
	[ -z "$rule" ] || control /_fault "$rule"
	before=$(state 'len(s["log"])')
	launch create db-fw --image ubuntu-24-04-x64 --region fra1 --size s-1vcpu-1gb --user-data-file "$FWUD" \
		--cloud-firewall --launch-id fw_1 --wait-timeout 20
	check; [ "$status" -eq 0 ] && grep -q 'firewall .* created' "$TMP/err" || fail "cloud firewall rerun, its tag there ($rule): exit $status: $(cat "$TMP/err")"
	check; [ "$(state '[e for e in s["log"]['"$before"':] if not e.startswith("GET /v2/droplets")]')" = \
		"$([ -z "$rule" ] && echo "['GET /v2/firewalls', 'POST /v2/tags', 'POST /v2/firewalls']" ||
			echo "['GET /v2/firewalls', 'POST /v2/tags', 'GET /v2/tags/doagent-launch-fw_1', 'POST /v2/firewalls']")" ] ||
		fail "cloud firewall rerun, its tag there ($rule): $(state 's["log"]['"$before"':]')"
	check; [ "$(state 'len(s["firewalls"]), len(s["droplets"]), s["tags"]')" = "(1, 1, ['doagent-launch-fw_1', 'doagent'])" ] ||
		fail "cloud firewall rerun, its tag there ($rule): $(state 'len(s["firewalls"]), len(s["droplets"]), s["tags"]')"
	request "$url" DELETE "/v2/firewalls/$(state 's["firewalls"][0]["id"]')" >/dev/null
done
launch create db-fw --image ubuntu-24-04-x64 --size s-1vcpu-1gb --user-data-file "$FWUD" --cloud-firewall --dry-run
check; [ "$status" -eq 0 ] && [ "$(grep '^POST ' "$TMP/out" | tr '\n' ' ')" = "POST /v2/tags POST /v2/firewalls POST /v2/droplets " ] ||
	fail "cloud firewall --dry-run: $(cat "$TMP/out" "$TMP/err")"
start_fake '{"never_active": true}'
launch create db-fw2 --image ubuntu-24-04-x64 --region fra1 --size s-1vcpu-1gb --user-data-file "$FWUD" \
	--cloud-firewall --wait-timeout 3
check; [ "$status" -eq 1 ] && [ "$(state 'len(s["firewalls"]), len(s["droplets"]), len(s["tags"])')" = "(0, 0, 2)" ] ||
	fail "cloud firewall, never active: exit $status, $(state 'len(s["firewalls"]), len(s["droplets"]), s["tags"]') left"
launch create db-fw3 --image ubuntu-24-04-x64 --region fra1 --size s-1vcpu-1gb --user-data-file "$FWUD" \
	--cloud-firewall --wait-timeout 3 --keep-on-failure
check; [ "$status" -eq 1 ] && [ "$(state 'len(s["firewalls"]), len(s["droplets"])')" = "(1, 1)" ] ||
	fail "cloud firewall, --keep-on-failure: exit $status, $(state 'len(s["firewalls"]), len(s["droplets"])') left"
prism_clean "cloud firewall"

# 10. Refusals before any request: more than 64 KiB, MIME without a password, a token
# file others can read; and the API's own refusals: 401 and 422 on the create.
start_fake
{ printf '#doagent\n[redis]\nmaxmemory-policy = allkeys-lru\n'; head -c 70000 /dev/zero | tr '\0' ';'; printf '\n'; } >"$TMP/big.ini"
launch create db-big --image ubuntu-24-04-x64 --region fra1 --size s-1vcpu-1gb --user-data-file "$TMP/big.ini"
check; [ "$status" -eq 65 ] && grep -q 'larger than 65536' "$TMP/err" || fail "> 64 KiB: exit $status: $(cat "$TMP/err")"
cp "$top_srcdir/userdata-examples/multipart.txt" "$TMP/mime.txt"
sed -i '/^password *=/d' "$TMP/mime.txt"
launch create db-mime --image ubuntu-24-04-x64 --region fra1 --size s-1vcpu-1gb --user-data-file "$TMP/mime.txt"
check; [ "$status" -eq 65 ] && grep -q 'MIME user data without a password' "$TMP/err" || fail "MIME: exit $status: $(cat "$TMP/err")"
printf '%s\n' "$TOKEN" >"$TMP/token"
chmod 644 "$TMP/token"
DIGITALOCEAN_ACCESS_TOKEN='' launch --token-file "$TMP/token" list
check; [ "$status" -eq 2 ] && grep -q 'readable by group or others' "$TMP/err" || fail "token file 0644: exit $status: $(cat "$TMP/err")"
chmod 600 "$TMP/token"
DIGITALOCEAN_ACCESS_TOKEN='' launch --token-file "$TMP/token" list
check; [ "$status" -eq 0 ] || fail "token file 0600: exit $status: $(cat "$TMP/err")"
check; [ "$(state 's["requests"]')" -eq 1 ] || fail "refusals: $(state 's["requests"]') requests, expected only the list"
DIGITALOCEAN_ACCESS_TOKEN=wrong-token-0002 launch create db-401 --image ubuntu-24-04-x64 --region fra1 --size s-1vcpu-1gb --user-data-file "$UD"
check; [ "$status" -eq 1 ] && grep -q '401' "$TMP/err" && [ "$(ndroplets)" -eq 0 ] || fail "401: exit $status: $(cat "$TMP/err")"
launch create db-422 --image 0 --region fra1 --size s-1vcpu-1gb --user-data-file "$UD"
check; [ "$status" -eq 1 ] && grep -q '422' "$TMP/err" && grep -q 'invalid image' "$TMP/err" && [ "$(ndroplets)" -eq 0 ] ||
	fail "422: exit $status: $(cat "$TMP/err")"
# A certificate and a key that are not a pair: refused as the agent would (65), nothing sent;
# the dry run of a good pair shows neither the password nor the key.
pem_ud() { # KEY-FILE
	printf '#doagent\n[redis]\npassword = %s\n[tls]\ncertificate =\n' "secret-password-canary-0003"
	sed 's/^/    /' "$FIXTURES/tls/valid-cert.pem"
	printf 'key =\n'
	sed 's/^/    /' "$1"
}
pem_ud "$FIXTURES/tls/other-key.pem" >"$TMP/mismatch.ini"
launch validate "$TMP/mismatch.ini"
check; [ "$status" -eq 65 ] && grep -q 'certificate' "$TMP/err" || fail "mismatched pair, validate: exit $status: $(cat "$TMP/err")"
before=$(state 's["requests"]')
launch create db-pair --image ubuntu-24-04-x64 --region fra1 --size s-1vcpu-1gb --user-data-file "$TMP/mismatch.ini"
check; [ "$status" -eq 65 ] && [ "$(state 's["requests"]')" -eq "$before" ] || fail "mismatched pair, create: exit $status, requests sent"
pem_ud "$FIXTURES/tls/valid-key.pem" >"$TMP/pair.ini"
launch create db-pair --image ubuntu-24-04-x64 --size s-1vcpu-1gb --user-data-file "$TMP/pair.ini" --dry-run
check; [ "$status" -eq 0 ] && grep -q 'key = (redacted)' "$TMP/out" && ! grep -q 'secret-password-canary-0003' "$TMP/out" &&
	! grep -q "$(sed -n 2p "$FIXTURES/tls/valid-key.pem")" "$TMP/out" || fail "dry run of a PEM pair: exit $status: $(cat "$TMP/out" "$TMP/err")"
prism_clean "refusals"

# 11. Progress: on a terminal, one line rewritten with the elapsed time and the state;
# elsewhere, one plain line per state (as in every run above).
if command -v script >/dev/null 2>&1; then
	start_fake
	status=0
	script -qec "$DOAGENT_LAUNCH --api-url $url create db-tty --image ubuntu-24-04-x64 --region fra1 --size s-1vcpu-1gb --user-data-file $UD --wait-timeout 20" \
		"$TMP/typescript" >/dev/null </dev/null || status=$?
	cat "$TMP/typescript" >>"$TMP/all-output"
	check; [ "$status" -eq 0 ] && grep -q "$(printf '\r')\[ *[0-9]*s\] droplet [0-9]*: active" "$TMP/typescript" ||
		fail "terminal progress: exit $status: $(od -c "$TMP/typescript" | head -n 20)"
	create db-plain --wait-timeout 20
	check; grep -q '^\[ *[0-9]*s\] droplet [0-9]*: active$' "$TMP/err" && ! grep -q "$(printf '\r')" "$TMP/err" ||
		fail "plain progress: $(od -c "$TMP/err" | head -n 20)"
else
	skip_part "script(1) is not installed: terminal progress not tested"
fi

# 12. Unreachable API: exit 69.
url="http://127.0.0.1:$(free_port)"
launch list
check; [ "$status" -eq 69 ] || fail "unreachable API: exit $status"

# doagent-launch(1) documents every option the launcher takes, and renders cleanly.
MAN="$top_srcdir/man/doagent-launch.1"
nopts=0
for opt in $(sed -n 's/^[[:space:]]*{ "\([a-z-]*\)", [a-z_]*_argument.*/\1/p' "$top_srcdir/agent/launch/main.c"); do
	nopts=$((nopts + 1))
	check; grep -qF -- "$(printf '%s' "--$opt" | sed 's/-/\\-/g')" "$MAN" || fail "doagent-launch(1) does not document --$opt"
done
check; [ "$nopts" -ge 15 ] || fail "only $nopts options were found in agent/launch/main.c"
if command -v groff >/dev/null 2>&1; then
	check; [ -z "$(groff -man -ww -z "$MAN" 2>&1)" ] || fail "doagent-launch(1): $(groff -man -ww -z "$MAN" 2>&1)"
fi

# The schema is the project's shared contract, not a stale copy of it.
if [ -f "$SHARED_SPEC" ]; then
	check; cmp -s "$SPEC" "$SHARED_SPEC" || fail "tests/do-openapi/ differs from $SHARED_SPEC: copy it again"
fi

# The token appeared in no output.
check; ! grep -qF "$TOKEN" "$TMP/all-output" || fail "the token was printed"
finish
