#!/bin/sh
# doagent-launch create --standby, status, list and destroy of a replication group,
# against the fake DigitalOcean API behind "prism proxy --errors"; status against real
# redis-servers with Redis' own TLS on loopback, standing in for the nodes:
#
# - create --standby 2: three droplets (NAME-1 the primary, then NAME-2 and NAME-3 with
#   one multi-create POST), in the primary's VPC, tagged doagent-group:NAME and with the
#   launch tag; one password and one certificate; the user data each node got passes
#   doagent --check, and the standbys' [replication] primary is the primary's private
#   address; --standby 1 refused (2) with the reason; --dry-run;
# - the lost-create fault on each of the two creates: exactly N+1 droplets;
# - SIGKILL of the launcher after the primary, at the standbys' create (before it and
#   after it was made), then a rerun with the same --launch-id: N+1 droplets with the
#   right user data and the first run's password and certificate;
# - --cloud-firewall: the group's tag may reach the TLS port and Sentinel's;
# - status: a primary and two replicas (real replication over TLS, verified against the
#   group's certificate from the record; one node reached at its private address only):
#   healthy (exit 0), text and JSON, each node's health as doagent --status shows it (the
#   verdict, uptime, memory against maxmemory, keys evicted and expired, clients, saving;
#   -o json: the same "health" object); a replica killed, a replica with another
#   certificate, two primaries, a replica following another node and a full primary
#   (noeviction: health failing, with the numbers) each make it unhealthy (exit 1); a
#   primary at 95% of maxmemory is a warning, still healthy (exit 0);
# - --alerts on a group: four policies on the launch tag, every node with the metrics agent;
# - list shows the group as a group; destroy NAME destroys its nodes and their alert
#   policies, and nothing else.
. "${top_srcdir:-$(dirname "$0")/..}/tests/launch-lib.sh"

need redis-server redis-cli openssl
# The agent's own parser must know [replication] (the agent's half of issue 15).
printf '#doagent\n[replication]\ngroup = probe\n' >"$TMP/repl.ini"
"$DOAGENT" --check --user-data "$TMP/repl.ini" 2>&1 | grep -q 'unknown section' &&
	skip "the user-data parser has no [replication] section"

UD="$TMP/ud.ini"
printf '#doagent\n[redis]\nmaxmemory-policy = allkeys-lru\n\n[tls]\nport = 6380\n' >"$UD"
create() {
	launch create "$@" --image ubuntu-24-04-x64 --region fra1 --size s-1vcpu-1gb --user-data-file "$UD"
}
posts() { state 's["methods"].get("POST", 0)'; }
# expect WHAT EXPR EXPECTED: the fake's state, EXPR over it, is EXPECTED.
expect() {
	local got
	got=$(state "$2")
	check; [ "$got" = "$3" ] || fail "$1: $2 is $got, expected $3"
}

# user_data DIR: each droplet's user data as the fake got it, in DIR/<name>.ini.
user_data() {
	mkdir -p "$1"
	python3 - "$fake/_state" "$1" <<'PY'
import json, sys, urllib.request
s = json.load(urllib.request.urlopen(sys.argv[1], timeout=5))
for d in s["droplets"]:
    open("%s/%s.ini" % (sys.argv[2], d["name"]), "w").write(s["user_data"][str(d["id"])])
PY
}
# value FILE SECTION KEY: the value of a key in user data (continuation lines joined).
value() {
	python3 - "$@" <<'PY'
import sys
section, out, key = None, None, None
for line in open(sys.argv[1]).read().split("\n"):
    if line.startswith("["):
        section = line.strip()[1:-1]
        key = None
    elif line[:1] in (" ", "\t") and key:
        out += "\n" + line.strip()
    elif "=" in line:
        k, v = (x.strip() for x in line.split("=", 1))
        key = k if section == sys.argv[2] and k == sys.argv[3] else None
        if key:
            out = v
print(out if out is not None else "")
PY
}

# group_ok WHAT NAME N LID: N+1 droplets, named, tagged, in one VPC; the user data of
# each valid for the agent, with one password, one certificate, the right primary.
group_ok() {
	local what=$1 name=$2 n=$3 lid=$4 dir="$TMP/ud-$1" i pw cert primary_ip
	dir=$(echo "$dir" | tr ' ' -)
	expect "$what: droplets" 'sorted(d["name"] for d in s["droplets"])' \
		"$(python3 -c "import sys; print(sorted('$name-%d' % i for i in range(1, $n + 2)))")"
	expect "$what: tags" "all({'doagent', 'doagent-launch-$lid', 'doagent-group:$name'} <= set(d['tags']) for d in s['droplets'])" True
	expect "$what: one VPC" 'len(set(d["vpc_uuid"] for d in s["droplets"]))' 1
	rm -rf "$dir"
	user_data "$dir"
	primary_ip=$(state '[a["ip_address"] for d in s["droplets"] if d["name"] == "'"$name"'-1" for a in d["networks"]["v4"] if a["type"] == "private"][0]')
	pw=$(value "$dir/$name-1.ini" redis password)
	cert=$(value "$dir/$name-1.ini" tls certificate)
	check; [ "${#pw}" -eq 64 ] && [ -n "$cert" ] || fail "$what: no password or certificate: $(cat "$dir/$name-1.ini")"
	i=1
	while [ "$i" -le $((n + 1)) ]; do
		f="$dir/$name-$i.ini"
		check; "$DOAGENT" --check --user-data "$f" >"$TMP/check.out" 2>&1 || fail "$what: $name-$i: doagent --check: $(cat "$TMP/check.out")"
		check; [ "$(value "$f" redis password)" = "$pw" ] && [ "$(value "$f" tls certificate)" = "$cert" ] ||
			fail "$what: $name-$i: not the group's password or certificate"
		check; [ "$(value "$f" replication group)" = "$name" ] && [ "$(value "$f" replication quorum)" = $(((n + 1) / 2 + 1)) ] ||
			fail "$what: $name-$i: group $(value "$f" replication group), quorum $(value "$f" replication quorum)"
		if [ "$i" -eq 1 ]; then want=self; else want=$primary_ip; fi
		check; [ "$(value "$f" replication primary)" = "$want" ] ||
			fail "$what: $name-$i: primary = $(value "$f" replication primary), not $want"
		# What the agent makes of a standby's: a replica of the primary, and its Sentinel
		# watching it.
		if [ "$i" -eq 2 ]; then
			rm -rf "$TMP/dry"
			check; "$DOAGENT" --dry-run --user-data "$f" --metadata "$FIXTURES/metadata/full.json" \
				--templates "$TEMPLATES" --output-dir "$TMP/dry" >"$TMP/dry.out" 2>&1 &&
				grep -qx "replicaof $primary_ip 6380" "$TMP/dry/etc/redis/redis.conf" &&
				grep -qx "sentinel monitor $name $primary_ip 6380 $(((n + 1) / 2 + 1))" "$TMP/dry/etc/redis/sentinel.conf" ||
				fail "$what: $name-$i: doagent --dry-run: $(tail -n 3 "$TMP/dry.out"; grep -h 'replicaof\|monitor' "$TMP/dry/etc/redis/"*.conf 2>&1)"
		fi
		i=$((i + 1))
	done
}

# ---- 1. create --standby 2 --------------------------------------------------------------
start_fake
create g1 --standby 2 --launch-id g1 --vpc-uuid 5a4981aa-9653-4bd1-bef5-d6bff52042e4 --wait-timeout 20
check; [ "$status" -eq 0 ] || fail "--standby 2: exit $status: $(cat "$TMP/err")"
group_ok "--standby 2" g1 2 g1
expect "--standby 2: the given VPC" '[d["vpc_uuid"] for d in s["droplets"]][0]' 5a4981aa-9653-4bd1-bef5-d6bff52042e4
expect "--standby 2: the primary first, then the standbys with one POST" \
	'[e for e in s["log"] if e.startswith("POST")]' "['POST /v2/droplets', 'POST /v2/droplets']"
check; grep -q '^group: *g1 (a primary and 2 standbys; quorum 2)$' "$TMP/out" &&
	grep -q "^sentinels: *10\.10\.0\.[0-9]*:26379 10\.10\.0\.[0-9]*:26379 10\.10\.0\.[0-9]*:26379 " "$TMP/out" &&
	grep -Eq '^connection: *rediss://default:[0-9a-f]{64}@203\.0\.113\.[0-9]+:6380$' "$TMP/out" ||
	fail "--standby 2: printed: $(cat "$TMP/out")"
CRT="$XDG_STATE_HOME/doagent-launch/g1.crt"
check; [ "$(stat -c %a "$CRT" 2>/dev/null)" = 644 ] && grep -q "^certificate: *$CRT (SHA-256 [0-9A-F:]*)$" "$TMP/out" ||
	fail "--standby 2: the certificate: $(ls -l "$CRT" 2>&1): $(grep certificate "$TMP/out")"
check; [ "$(openssl x509 -noout -ext subjectAltName -in "$CRT" | tr -d ' \n')" = "X509v3SubjectAlternativeName:DNS:g1" ] &&
	[ "$(openssl x509 -noout -ext extendedKeyUsage -in "$CRT" | tr -d ' \n')" = \
		"X509v3ExtendedKeyUsage:TLSWebServerAuthentication,TLSWebClientAuthentication" ] ||
	fail "--standby 2: the certificate's extensions: $(openssl x509 -noout -ext subjectAltName,extendedKeyUsage -in "$CRT")"
check; [ "$(openssl x509 -noout -fingerprint -sha256 -in "$CRT" | sed 's/.*=//')" = "$(sed -n 's/^certificate: .*(SHA-256 \(.*\))$/\1/p' "$TMP/out")" ] ||
	fail "--standby 2: the fingerprint printed is not the certificate's"
KEYLINE=$(value "$TMP/ud---standby-2/g1-1.ini" tls key | sed -n 2p)
check; [ "${#KEYLINE}" -eq 64 ] || fail "--standby 2: no key in the user data"
REC="$XDG_STATE_HOME/doagent-launch/g1.json"
check; [ "$(python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print(r["group"], r["nodes"])' "$REC")" = "g1 3" ] ||
	fail "--standby 2: the record: $(python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); r.pop("user_data"); print(r)' "$REC")"
launch create g1 --standby 2 --launch-id g1 --image ubuntu-24-04-x64 --region fra1 --size s-1vcpu-1gb --user-data-file "$UD" -o json --wait-timeout 20
check; [ "$status" -eq 0 ] && [ "$(grep -c 'adopting it' "$TMP/err")" -eq 3 ] || fail "--standby 2 rerun: exit $status: $(cat "$TMP/err")"
expect "--standby 2 rerun: no POST" 's["methods"].get("POST", 0)' 2
check; python3 -c '
import json, sys
o = json.loads(open(sys.argv[1]).read())
assert o["group"] == "g1" and o["master_name"] == "g1" and o["quorum"] == 2, o
assert [n["role"] for n in o["nodes"]] == ["primary", "standby", "standby"], o["nodes"]
assert [n["name"] for n in o["nodes"]] == ["g1-1", "g1-2", "g1-3"], o["nodes"]
assert len(o["sentinels"]) == 3 and o["certificate"].endswith("/g1.crt"), o
' "$TMP/out" || fail "--standby 2 rerun -o json: $(cat "$TMP/out")"
prism_clean "create --standby 2"

# ---- 2. refused before anything is sent ------------------------------------------------
before=$(posts)
create g2 --standby 1
check; [ "$status" -eq 2 ] && grep -q 'smallest group whose majority survives the loss of one box' "$TMP/err" ||
	fail "--standby 1: exit $status: $(cat "$TMP/err")"
create g2 --standby 5
check; [ "$status" -eq 2 ] && grep -q -- '--standby: 2 to 4' "$TMP/err" || fail "--standby 5: exit $status: $(cat "$TMP/err")"
create G2 --standby 2
check; [ "$status" -eq 2 ] && grep -q 'cannot name a group' "$TMP/err" || fail "--standby, a bad name: exit $status: $(cat "$TMP/err")"
create g2 --standby 2 --volume 1
check; [ "$status" -eq 2 ] || fail "--standby with --volume: exit $status: $(cat "$TMP/err")"
for bad in '[tls]\nenabled = no' '[redis]\nbind = loopback' '[tls]\ncertificate = self-signed' '[replication]\ngroup = g2\nprimary = self'; do
	printf "#doagent\n$bad\n" >"$TMP/bad.ini"
	launch create g2 --standby 2 --image x --region fra1 --size s --user-data-file "$TMP/bad.ini"
	check; [ "$status" -eq 65 ] && grep -q 'nothing was sent' "$TMP/err" || fail "--standby, user data '$bad': exit $status: $(cat "$TMP/err")"
done
check; [ "$(posts)" -eq "$before" ] || fail "refused creates sent $(($(posts) - before)) POSTs"
create g2 --standby 3 --dry-run
check; [ "$status" -eq 0 ] && [ "$(grep -c '^POST /v2/droplets$' "$TMP/out")" -eq 2 ] &&
	grep -q '"names":\[' "$TMP/out" || fail "--standby --dry-run: $(cat "$TMP/out" "$TMP/err")"
check; grep -q 'primary = (the private address of g2-1)' "$TMP/out" && grep -q 'quorum = 3' "$TMP/out" &&
	! grep -q 'BEGIN PRIVATE KEY' "$TMP/out" || fail "--standby --dry-run: the user data: $(cat "$TMP/out")"
check; [ "$(posts)" -eq "$before" ] || fail "--dry-run sent POSTs"
prism_clean "refused"

# ---- 3. a lost create, of the primary and of the standbys: exactly N+1 droplets -----------
start_fake '{"lose_create": 1}'
create g3 --standby 2 --launch-id lost_p --wait-timeout 20
check; [ "$status" -eq 0 ] && grep -q "found droplet .* by its launch tag" "$TMP/err" || fail "the primary's create lost: exit $status: $(cat "$TMP/err")"
expect "the primary's create lost: the fault was used" 's["answers"].get("lost", 0)' 1
expect "the primary's create lost: two POSTs" 's["log"].count("POST /v2/droplets")' 2
group_ok "the primary's create lost" g3 2 lost_p
start_fake '{"rules": [{"request": "POST /v2/droplets", "do": "lose", "skip": 1}]}'
create g3 --standby 3 --launch-id lost_s --wait-timeout 20
check; [ "$status" -eq 0 ] && grep -q "found the standbys g3-2, g3-3, g3-4 by their launch tag" "$TMP/err" ||
	fail "the standbys' create lost: exit $status: $(cat "$TMP/err")"
expect "the standbys' create lost: the fault was used" 's["answers"].get("lost", 0)' 1
expect "the standbys' create lost: two POSTs" 's["log"].count("POST /v2/droplets")' 2
group_ok "the standbys' create lost" g3 3 lost_s
# Lost, and nothing made (a 500 before anything was done): unsettled, nothing undone;
# the rerun makes the standbys.
start_fake '{"rules": [{"request": "POST /v2/droplets", "do": "fail", "status": 500, "skip": 1}]}'
create g4 --standby 2 --launch-id lost_n --wait-timeout 20
check; [ "$status" -eq 1 ] && grep -q "no droplet tagged doagent-launch-lost_n is named g4-2, g4-3" "$TMP/err" ||
	fail "the standbys' create failed with 500: exit $status: $(cat "$TMP/err")"
expect "the standbys' create failed with 500: the primary kept" '[d["name"] for d in s["droplets"]]' "['g4-1']"
create g4 --standby 2 --launch-id lost_n --wait-timeout 20
check; [ "$status" -eq 0 ] || fail "the standbys' create failed with 500, rerun: exit $status: $(cat "$TMP/err")"
group_ok "the standbys' create failed with 500, rerun" g4 2 lost_n
# Refused (422): the primary this run made is destroyed again.
start_fake '{"rules": [{"request": "POST /v2/droplets", "do": "fail", "status": 422, "message": "You specified an invalid size.", "skip": 1}]}'
create g5 --standby 2 --launch-id refused --wait-timeout 20
check; [ "$status" -eq 1 ] && grep -q "destroyed droplet" "$TMP/err" || fail "the standbys refused: exit $status: $(cat "$TMP/err")"
expect "the standbys refused: undone" 'len(s["droplets"])' 0
prism_clean "lost creates"

# ---- 4. SIGKILL during the standbys' create, then a rerun ---------------------------------
for how in hold hold_after; do
	start_fake "{\"rules\": [{\"request\": \"POST /v2/droplets\", \"do\": \"$how\", \"skip\": 1}]}"
	killed_held "killed at the standbys' create ($how)" create g6 --standby 2 --launch-id "kill_$how" \
		--image ubuntu-24-04-x64 --region fra1 --size s-1vcpu-1gb --user-data-file "$UD" --wait-timeout 20
	case $how in
	hold) expect "killed before the standbys' create" '[d["name"] for d in s["droplets"]]' "['g6-1']" ;;
	*) expect "killed after the standbys' create" 'len(s["droplets"])' 3 ;;
	esac
	create g6 --standby 2 --launch-id "kill_$how" --wait-timeout 20
	check; [ "$status" -eq 0 ] && grep -q 'the same password and certificate' "$TMP/err" ||
		fail "rerun after a kill ($how): exit $status: $(cat "$TMP/err")"
	group_ok "rerun after a kill ($how)" g6 2 "kill_$how"
	# held before it was done, the standbys' POST was sent again; after, it was not
	expect "rerun after a kill ($how): POSTs of droplets" 's["log"].count("POST /v2/droplets")' "$([ $how = hold ] && echo 3 || echo 2)"
	check; [ "$(value "$TMP/ud-rerun-after-a-kill-($how)/g6-1.ini" redis password)" = \
		"$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["user_data"])' "$XDG_STATE_HOME/doagent-launch/kill_$how.json" >"$TMP/rec.ini"; value "$TMP/rec.ini" redis password)" ] ||
		fail "rerun after a kill ($how): not the record's password"
done
prism_clean "kills"

# ---- 5. --cloud-firewall: the group's tag reaches the TLS port and Sentinel's ------------
start_fake
create g7 --standby 2 --cloud-firewall --launch-id fw --wait-timeout 20
check; [ "$status" -eq 0 ] || fail "--cloud-firewall: exit $status: $(cat "$TMP/err")"
rules='sorted((r["protocol"], r["ports"], ",".join(r["sources"].get("addresses", [])), ",".join(r["sources"].get("tags", []))) for r in s["firewalls"][0]["inbound_rules"])'
expect "--cloud-firewall: inbound rules" "$rules" \
	"[('icmp', '0', '0.0.0.0/0,::/0', ''), ('tcp', '22', '0.0.0.0/0,::/0', ''), ('tcp', '26379', '10.0.0.0/8,172.16.0.0/12,192.168.0.0/16', 'doagent-group:g7'), ('tcp', '6380', '10.0.0.0/8,172.16.0.0/12,192.168.0.0/16', 'doagent-group:g7')]"
expect "--cloud-firewall: for the launch's droplets" 's["firewalls"][0]["tags"]' "['doagent-launch-fw']"
# The tags it names made first: DigitalOcean (and the fake) refuse a firewall naming a
# tag that does not exist, and the droplets that would make them come after.
expect "--cloud-firewall: the tags before the firewall" '[e for e in s["log"] if e.startswith("POST")]' \
	"['POST /v2/tags', 'POST /v2/tags', 'POST /v2/firewalls', 'POST /v2/droplets', 'POST /v2/droplets']"
expect "--cloud-firewall: the tags made" 's["tags"][:2]' "['doagent-launch-fw', 'doagent-group:g7']"
got=$(request "$url" POST /v2/firewalls '{"name": "fw-probe", "inbound_rules": [{"protocol": "tcp", "ports": "6380", "sources": {"tags": ["doagent-group:g8"]}}], "tags": ["doagent-launch-fw"]}')
check; printf '%s' "$got" | grep -q '^422 .*names the tag doagent-group:g8, which does not exist' || fail "--cloud-firewall: a group's tag that does not exist: $got"
# A rerun, the firewall gone and the tags there, against an API that refuses a tag that
# exists: each found by GET (its ':' escaped), then the firewall made.
request "$url" DELETE "/v2/firewalls/$(state 's["firewalls"][0]["id"]')" >/dev/null
control /_fault '{"rules": [{"request": "POST /v2/tags", "do": "fail", "status": 422, "message": "tag already exists"}, {"request": "POST /v2/tags", "do": "fail", "status": 422, "message": "tag already exists"}]}'
before=$(state 'len(s["log"])')
create g7 --standby 2 --cloud-firewall --launch-id fw --wait-timeout 20
check; [ "$status" -eq 0 ] || fail "--cloud-firewall rerun: exit $status: $(cat "$TMP/err")"
expect "--cloud-firewall rerun: the tags found" '[e for e in s["log"]['"$before"':] if "/tags" in e or e.startswith("POST")]' \
	"['POST /v2/tags', 'GET /v2/tags/doagent-launch-fw', 'POST /v2/tags', 'GET /v2/tags/doagent-group%3Ag7', 'POST /v2/firewalls']"
expect "--cloud-firewall rerun: one firewall, three droplets" 'len(s["firewalls"]), len(s["droplets"])' "(1, 3)"
launch create g7 --standby 2 --cloud-firewall --image ubuntu-24-04-x64 --size s-1vcpu-1gb --user-data-file "$UD" --dry-run
check; [ "$status" -eq 0 ] && [ "$(grep '^POST ' "$TMP/out" | tr '\n' ' ')" = "POST /v2/tags POST /v2/tags POST /v2/firewalls POST /v2/droplets POST /v2/droplets " ] ||
	fail "--cloud-firewall --dry-run: $(cat "$TMP/out" "$TMP/err")"
prism_clean "--cloud-firewall"

# ---- 6. status against real redis-servers --------------------------------------------
# The droplets get 127.0.0.N as public addresses, where the fake answers on $PORT while
# create waits; then their private addresses turn 127.0.1.N and real redis-servers take
# the fake's place: Redis' own TLS with the group's certificate and key from create's
# record, a primary and two replicas replicating over TLS (as doagent configures them:
# replica-announce-ip the private address), the third node listening on its private
# address only.
PORT=$(free_port)
printf '#doagent\n[redis]\nmaxmemory = 64mb\nmaxmemory-policy = noeviction\n[tls]\nengine = redis\nport = %s\n' "$PORT" >"$TMP/uds.ini"
start_fake "{\"public_loopback\": true, \"serve_port\": $PORT}"
launch create gs --standby 2 --launch-id gs --image ubuntu-24-04-x64 --region fra1 --size s-1vcpu-1gb \
	--user-data-file "$TMP/uds.ini" --wait-timeout 20
check; [ "$status" -eq 0 ] && [ "$(grep -c "port $PORT on 127\.0\.0\.[0-9]*: answered" "$TMP/err")" -eq 3 ] ||
	fail "status: create: exit $status: $(cat "$TMP/err")"
control /_fault '{"serve_port": 0, "private_loopback": true}'
python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["user_data"])' "$XDG_STATE_HOME/doagent-launch/gs.json" >"$TMP/gs.ini"
PW=$(value "$TMP/gs.ini" redis password)
value "$TMP/gs.ini" tls certificate >"$TMP/gs.crt"
(umask 077 && value "$TMP/gs.ini" tls key >"$TMP/gs.key")
check; openssl x509 -noout -in "$TMP/gs.crt" 2>/dev/null && openssl pkey -noout -in "$TMP/gs.key" 2>/dev/null ||
	fail "status: no certificate or key in the record"
addr() { state '[a["ip_address"] for d in s["droplets"] if d["name"] == "'"$1"'" for a in d["networks"]["v4"] if a["type"] == "'"$2"'"][0]'; }
pub1=$(addr gs-1 public) priv1=$(addr gs-1 private)
pub2=$(addr gs-2 public) priv2=$(addr gs-2 private)
priv3=$(addr gs-3 private)
check; case $priv1 in 127.0.1.*) true ;; *) false ;; esac || fail "status: private addresses not on loopback: $priv1"
# node NAME CERT KEY BIND... [-- ARGS...]: a redis-server standing in for node NAME.
node() {
	local name=$1 crt=$2 key=$3 bind=""
	shift 3
	while [ $# -gt 0 ] && [ "$1" != -- ]; do bind="$bind $1"; shift; done
	[ $# -eq 0 ] || shift
	mkdir -p "$TMP/redis-$name"
	# shellcheck disable=SC2086
	redis-server --port 0 --tls-port "$PORT" --bind $bind --tls-cert-file "$crt" --tls-key-file "$key" \
		--tls-ca-cert-file "$TMP/gs.crt" --tls-auth-clients no --tls-replication yes \
		--requirepass "$PW" --masterauth "$PW" --save '' --appendonly no --dir "$TMP/redis-$name" \
		--maxmemory 64mb --maxmemory-policy noeviction --logfile "$TMP/redis-$name.log" "$@" &
	echo $! >"$TMP/redis-$name.pid"
	at_exit "stop_pidfile $TMP/redis-$name.pid"
}
cli() { # ADDRESS ARGS...
	local a=$1
	shift
	REDISCLI_AUTH="$PW" redis-cli --no-auth-warning --tls --cacert "$TMP/gs.crt" -h "$a" -p "$PORT" "$@" 2>&1 | tr -d '\r'
}
link_up() { cli "$1" INFO replication | grep -q '^master_link_status:up$'; }
wait_until() { # SECONDS COMMAND...
	local n=$(($1 * 10))
	shift
	until "$@" >/dev/null 2>&1; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.1
	done
}
node gs-1 "$TMP/gs.crt" "$TMP/gs.key" "$pub1" "$priv1" -- --replica-announce-ip "$priv1" \
	--min-replicas-to-write 1 --min-replicas-max-lag 10
node gs-2 "$TMP/gs.crt" "$TMP/gs.key" "$pub2" "$priv2" -- --replicaof "$priv1" "$PORT" --replica-announce-ip "$priv2"
node gs-3 "$TMP/gs.crt" "$TMP/gs.key" "$priv3" -- --replicaof "$priv1" "$PORT" --replica-announce-ip "$priv3"
check; wait_until 20 link_up "$priv2" && wait_until 20 link_up "$priv3" ||
	fail "status: the replicas did not replicate: $(tail -n 5 "$TMP/redis-gs-2.log" "$TMP/redis-gs-3.log")"
cli "$pub1" SET k1 v1 >/dev/null
cli "$pub1" WAIT 2 2000 >/dev/null

status_of() { # ARGS...: doagent-launch status gs ARGS; $status, $TMP/out
	launch status gs "$@"
	cat "$TMP/out" >>"$TMP/status-output"
}
line_of() { grep "^$1 " "$TMP/out"; }
status_of
check; [ "$status" -eq 0 ] && grep -q '^group gs: healthy$' "$TMP/out" || fail "status, healthy: exit $status: $(cat "$TMP/out" "$TMP/err")"
check; line_of gs-1 | grep -Eq "^gs-1 +$pub1:$PORT +primary +- +- +[0-9.]+[KM]/64\.0M [0-9]+% +verified +ok +ok$" ||
	fail "status, healthy: the primary: $(line_of gs-1)"
check; line_of gs-2 | grep -Eq "^gs-2 +$pub2:$PORT +replica +up +[0-9]{1,3}B, [01]s +[0-9.]+[KM]/64\.0M [0-9]+% +verified +ok +ok$" ||
	fail "status, healthy: a replica: $(line_of gs-2)"
check; line_of gs-3 | grep -Eq "^gs-3 +$priv3:$PORT \(private\) +replica +up +[0-9]{1,3}B, [01]s .* verified +ok +ok$" ||
	fail "status, healthy: the replica reached at its private address: $(line_of gs-3)"
# under each node's line, its health as doagent --status prints it, indented
health_of() { sed -n "/^$1 /,/^[^ ]/p" "$TMP/out" | sed '1d;$d'; }
check; health_of gs-1 >"$TMP/h1" && grep -qx '    health:     ok' "$TMP/h1" &&
	grep -Eqx "    redis:      [0-9.]+ at $pub1:$PORT, up [0-9]+ s" "$TMP/h1" &&
	grep -qx '    role:       primary, 2 replicas (2 following closely; writes need 1)' "$TMP/h1" &&
	grep -Eqx "    replica:    $priv2:$PORT online, offset [0-9]+, lag [01] s" "$TMP/h1" &&
	grep -Eqx '    memory:     [0-9.]+ [KM]iB of 64\.00 MiB maxmemory \([0-9.]+%: [0-9]+ of 67108864 bytes\), noeviction' "$TMP/h1" &&
	grep -qx '    keys:       1 (0 with a TTL); since start: 0 evicted, 0 expired' "$TMP/h1" &&
	grep -Eqx '    clients:    [0-9]+ connected of at most [0-9]+; 0 connections rejected since start' "$TMP/h1" &&
	grep -qx '    saving:     last RDB save ok; AOF off' "$TMP/h1" ||
	fail "status, healthy: the primary's health: $(cat "$TMP/out")"
check; health_of gs-3 | grep -Eqx "    role:       replica of $priv1:$PORT, link up, last heard [0-9]+ s ago" ||
	fail "status, healthy: a replica's health: $(cat "$TMP/out")"
echo "status gs, healthy:" && cat "$TMP/out"	# into the log: what the README shows
status_of -o json
check; [ "$status" -eq 0 ] && python3 - "$TMP/out" "$(openssl x509 -noout -fingerprint -sha256 -in "$TMP/gs.crt" | sed 's/.*=//')" <<'PY' || fail "status -o json: $(cat "$TMP/out")"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["group"] == "gs" and o["healthy"] is True and o["problems"] == [] and o["warnings"] == [], o
n = {x["name"]: x for x in o["nodes"]}
assert [n[k]["role"] for k in ("gs-1", "gs-2", "gs-3")] == ["primary", "replica", "replica"], n
assert [n[k]["via"] for k in ("gs-1", "gs-2", "gs-3")] == ["public", "public", "private"], n
assert all(x["tls"] == "verified" and x["certificate_sha256"] == sys.argv[2] for x in o["nodes"]), n
# a replica acknowledges every second: a PING of its primary's may not be acknowledged yet
assert n["gs-2"]["link"] == "up" and 0 <= n["gs-2"]["lag_bytes"] < 1000 and n["gs-2"]["lag_seconds"] <= 1, n
assert n["gs-1"]["lag_bytes"] is None and n["gs-1"]["link"] is None, n
# each node's health, shaped as doagent --status --json has it
h = n["gs-1"]["health"]
assert h["checked"] and h["answered"] and h["verdict"] == "ok" and h["reasons"] == [], h
assert h["address"] == n["gs-1"]["address"] + ":" + str(n["gs-1"]["port"]), h
assert h["role"] == "master" and h["uptime_in_seconds"] >= 0 and h["redis_version"], h
assert h["maxmemory"] == 64 << 20 and 0 < h["used_memory"] < h["maxmemory"] and 0 < h["used_memory_percent"] < 90, h
assert h["maxmemory_policy"] == "noeviction" and h["maxmemory_policy_when_full"], h
assert h["evicted_keys"] == 0 and h["expired_keys"] == 0 and h["keys"] == 1 and h["oom_errors"] == 0, h
assert h["connected_clients"] >= 1 and h["rejected_connections"] == 0, h
assert h["rdb_last_bgsave_status"] == "ok" and h["aof_enabled"] is False, h
r = h["replication"]
assert r["min_slaves_good_slaves"] == 2 and r["min_replicas_to_write"] == 1 and r["master_repl_offset"] > 0, r
assert sorted(x["state"] for x in r["replicas"]) == ["online", "online"], r
for k in ("gs-2", "gs-3"):
	assert n[k]["health"]["verdict"] == "ok" and n[k]["health"]["role"] == "slave", n[k]
	assert n[k]["health"]["replication"]["master_link_status"] == "up", n[k]
PY

# A replica killed: unreachable at both addresses.
stop_pidfile "$TMP/redis-gs-2.pid"
status_of
check; [ "$status" -eq 1 ] && grep -q '^group gs: UNHEALTHY$' "$TMP/out" &&
	grep -q "^  problem: gs-2: unreachable: public $pub2:$PORT: Connection refused; private $priv2:$PORT: Connection refused$" "$TMP/out" ||
	fail "status, a replica killed: exit $status: $(cat "$TMP/out" "$TMP/err")"
check; line_of gs-1 | grep -q ' ok$' && line_of gs-3 | grep -q ' ok$' || fail "status, a replica killed: the others: $(cat "$TMP/out")"
check; line_of gs-2 | grep -q ' failing  *unreachable: ' &&
	health_of gs-2 | grep -q "^    health:     failing: unreachable: public $pub2:$PORT: Connection refused" ||
	fail "status, a replica killed: its health: $(cat "$TMP/out")"
# It comes back showing another certificate: not the group's.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=gs -addext subjectAltName=DNS:gs \
	-keyout "$TMP/other.key" -out "$TMP/other.crt" 2>/dev/null
node gs-2 "$TMP/other.crt" "$TMP/other.key" "$pub2" "$priv2" -- --replicaof "$priv1" "$PORT" --replica-announce-ip "$priv2"
check; wait_until 10 sh -c "echo | openssl s_client -connect $pub2:$PORT >/dev/null 2>&1" || fail "gs-2 with another certificate did not start"
status_of
check; [ "$status" -eq 1 ] && grep -q "^  problem: gs-2: TLS: the certificate shown is not the group's" "$TMP/out" ||
	fail "status, another certificate: exit $status: $(cat "$TMP/out" "$TMP/err")"
stop_pidfile "$TMP/redis-gs-2.pid"
node gs-2 "$TMP/gs.crt" "$TMP/gs.key" "$pub2" "$priv2" -- --replicaof "$priv1" "$PORT" --replica-announce-ip "$priv2"
check; wait_until 20 link_up "$priv2" || fail "status: gs-2 did not replicate again"
status_of
check; [ "$status" -eq 0 ] || fail "status, gs-2 back: exit $status: $(cat "$TMP/out")"
# Two primaries.
cli "$priv3" REPLICAOF NO ONE >/dev/null
status_of
check; [ "$status" -eq 1 ] && grep -q '^  problem: 2 primaries (gs-1, gs-3)' "$TMP/out" ||
	fail "status, two primaries: exit $status: $(cat "$TMP/out")"
cli "$priv3" REPLICAOF "$priv1" "$PORT" >/dev/null
check; wait_until 20 link_up "$priv3" || fail "status: gs-3 did not replicate again"
# A replica following another node.
cli "$priv3" REPLICAOF "$priv2" "$PORT" >/dev/null
status_of
check; [ "$status" -eq 1 ] && grep -q "^  problem: gs-3: replicates from $priv2:$PORT, not from the primary gs-1" "$TMP/out" ||
	fail "status, a replica of a replica: exit $status: $(cat "$TMP/out")"
cli "$priv3" REPLICAOF "$priv1" "$PORT" >/dev/null
check; wait_until 20 link_up "$priv3" || fail "status: gs-3 did not replicate again"
# The primary at 95% of maxmemory under noeviction: a warning, still healthy.
head -c 1500000 /dev/zero | tr '\0' x | cli "$pub1" -x SET big >/dev/null
used=$(cli "$pub1" INFO memory | sed -n 's/^used_memory://p')
cli "$pub1" CONFIG SET maxmemory $((used * 100 / 95)) >/dev/null
status_of
check; [ "$status" -eq 0 ] && grep -q '^group gs: healthy$' "$TMP/out" &&
	grep -Eq '^  warning: gs-1: memory at 9[0-9]\.[0-9]% of maxmemory \([0-9.]+ MiB of [0-9.]+ MiB\): with noeviction, writes fail once it is full$' "$TMP/out" &&
	line_of gs-1 | grep -Eq ' verified +warning +memory at 9' &&
	health_of gs-1 | grep -q '^    health:     warning: memory at 9' ||
	fail "status, memory at 95%: exit $status: $(cat "$TMP/out")"
# Full: its writes are refused; its health failing, with the numbers.
cli "$pub1" CONFIG SET maxmemory 1mb >/dev/null
check; cli "$pub1" SET k2 v2 | grep -q OOM || fail "status: the primary still takes writes"
status_of
check; [ "$status" -eq 1 ] && grep -q '^group gs: UNHEALTHY$' "$TMP/out" &&
	grep -Eq '^  problem: gs-1: writes are refused \(OOM\): [0-9]+ bytes used, over maxmemory \(1048576 bytes, 1\.00 MiB\), and noeviction evicts nothing$' "$TMP/out" &&
	line_of gs-1 | grep -Eq ' verified +failing +writes are refused \(OOM\)' &&
	health_of gs-1 >"$TMP/h1" && grep -q '^    health:     failing: writes are refused (OOM): ' "$TMP/h1" &&
	grep -Eqx '    memory:     [0-9.]+ MiB of 1\.00 MiB maxmemory \([0-9]+\.[0-9]%: [0-9]+ of 1048576 bytes\), noeviction' "$TMP/h1" &&
	grep -Eqx '    keys:       2 \(0 with a TTL\); since start: 0 evicted, 0 expired, [1-9][0-9]* writes refused \(OOM\)' "$TMP/h1" ||
	fail "status, memory full: exit $status: $(cat "$TMP/out")"
echo "status gs, the primary full:" && cat "$TMP/out"
status_of -o json
check; [ "$status" -eq 1 ] && python3 - "$TMP/out" <<'PY' || fail "status -o json, memory full: $(cat "$TMP/out")"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["healthy"] is False, o
h = {x["name"]: x for x in o["nodes"]}["gs-1"]["health"]
assert h["verdict"] == "failing" and h["reasons"][0].startswith("writes are refused (OOM): "), h
assert h["maxmemory"] == 1 << 20 and h["used_memory"] > h["maxmemory"] and h["used_memory_percent"] > 100, h
assert h["oom_errors"] >= 1 and h["evicted_keys"] == 0, h
assert o["problems"] == ["gs-1: " + h["reasons"][0]], o
PY
cli "$pub1" CONFIG SET maxmemory 64mb >/dev/null
status_of
check; [ "$status" -eq 0 ] || fail "status, memory back: exit $status: $(cat "$TMP/out")"
# The primary gone: no primary.
stop_pidfile "$TMP/redis-gs-1.pid"
status_of
check; [ "$status" -eq 1 ] && grep -q '^  problem: gs-1: unreachable' "$TMP/out" && grep -q '^  problem: no primary' "$TMP/out" &&
	grep -q "^  problem: gs-2: its link to its primary ($priv1:$PORT) is down" "$TMP/out" ||
	fail "status, the primary gone: exit $status: $(cat "$TMP/out")"
check; ! grep -qF "$PW" "$TMP/status-output" "$TMP/err" || fail "status printed the password"
stop_pidfile "$TMP/redis-gs-2.pid" "$TMP/redis-gs-3.pid"
prism_clean "status"

# ---- 7. status of one droplet: its self-signed certificate cannot be verified ---------------
start_fake "{\"public_loopback\": true, \"private_loopback\": true}"
launch create one --launch-id one --image ubuntu-24-04-x64 --region fra1 --size s-1vcpu-1gb \
	--user-data-file "$TMP/uds.ini" --no-wait
check; [ "$status" -eq 0 ] || fail "status of one droplet: create: exit $status: $(cat "$TMP/err")"
sleep 1.5
PW=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["user_data"])' "$XDG_STATE_HOME/doagent-launch/one.json" >"$TMP/one.ini"; value "$TMP/one.ini" redis password)
pub=$(addr one public)
node one "$TMP/other.crt" "$TMP/other.key" "$pub" -- --requirepass "$PW"
check; wait_until 10 sh -c "echo | openssl s_client -connect $pub:$PORT >/dev/null 2>&1" || fail "one: Redis did not start"
launch status one
check; [ "$status" -eq 0 ] && grep -q '^droplet one: healthy$' "$TMP/out" && grep -q '^TLS: not verified' "$TMP/out" &&
	line_of one | grep -Eq "^one +$pub:$PORT +primary .* unverified +ok +ok$" &&
	health_of one >"$TMP/h1" && grep -qx '    health:     ok' "$TMP/h1" &&
	grep -Eqx "    redis:      [0-9.]+ at $pub:$PORT, up [0-9]+ s" "$TMP/h1" &&
	grep -qx '    role:       primary, 0 replicas' "$TMP/h1" &&
	grep -Eqx '    memory:     .* of 64\.00 MiB maxmemory .*, noeviction' "$TMP/h1" ||
	fail "status of one droplet: exit $status: $(cat "$TMP/out" "$TMP/err")"
# Without TLS: Redis' own port, in plaintext.
printf '#doagent\n[redis]\nport = %s\nbind = public\n[tls]\nenabled = no\n' "$PORT" >"$TMP/plain.ini"
launch create plain --launch-id plain --image ubuntu-24-04-x64 --region fra1 --size s-1vcpu-1gb \
	--user-data-file "$TMP/plain.ini" --no-wait
sleep 1.5
PW=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["user_data"])' "$XDG_STATE_HOME/doagent-launch/plain.json" >"$TMP/plain-sent.ini"; value "$TMP/plain-sent.ini" redis password)
pub=$(addr plain public)
redis-server --port "$PORT" --bind "$pub" --requirepass "$PW" --save '' --appendonly no --dir "$TMP" --logfile "$TMP/redis-plain.log" &
echo $! >"$TMP/redis-plain.pid"
at_exit "stop_pidfile $TMP/redis-plain.pid"
check; wait_until 10 sh -c "REDISCLI_AUTH='$PW' redis-cli --no-auth-warning -h $pub -p $PORT PING | grep -q PONG" ||
	fail "plain: Redis did not start: $(tail -n 3 "$TMP/redis-plain.log")"
launch status plain -o json
check; [ "$status" -eq 0 ] && python3 -c '
import json, sys
o = json.load(open(sys.argv[1]))
assert o["droplet"] == "plain" and o["healthy"] and o["nodes"][0]["tls"] == "off" and o["nodes"][0]["role"] == "primary", o
assert o["nodes"][0]["certificate_sha256"] is None, o
h = o["nodes"][0]["health"]
assert h["verdict"] == "ok" and h["role"] == "master" and h["maxmemory"] == 0 and h["used_memory_percent"] is None, h
assert h["replication"]["min_replicas_to_write"] is None and h["uptime_in_seconds"] >= 0, h
' "$TMP/out" || fail "status without TLS: exit $status: $(cat "$TMP/out" "$TMP/err")"
launch status nosuch
check; [ "$status" -eq 1 ] && grep -q 'no group nosuch' "$TMP/err" || fail "status of nothing: exit $status: $(cat "$TMP/err")"
prism_clean "status of one droplet"

# ---- 8. list, replace and destroy of a group --------------------------------------------
start_fake
create solo --launch-id solo --wait-timeout 20 --alerts ops@example.com
create g8 --standby 2 --launch-id g8 --wait-timeout 20 --alerts ops@example.com
check; [ "$status" -eq 0 ] || fail "g8 --alerts: exit $status: $(cat "$TMP/err")"
# --alerts on a group: four policies on the launch tag, which every node carries, and
# every node with the metrics agent.
expect "a group's alert policies" 'sorted(p["type"].split("/")[-1] for p in s["policies"] if p["tags"] == ["doagent-launch-g8"])' \
	"['cpu', 'disk_utilization_percent', 'load_5', 'memory_utilization_percent']"
expect "a group's nodes have the metrics agent" 'sorted(d["name"] for d in s["droplets"] if "monitoring" in d["features"] and d["name"].startswith("g8-"))' \
	"['g8-1', 'g8-2', 'g8-3']"
create g9 --standby 2 --launch-id g9 --no-wait
check; [ "$status" -eq 0 ] || fail "g9 --no-wait: exit $status: $(cat "$TMP/err")"
launch list
check; [ "$status" -eq 0 ] && [ "$(sed -n '2p' "$TMP/out" | awk '{print $2}')" = solo ] &&
	[ "$(awk 'NR >= 3 && NR <= 6 { print $1, $2 }' "$TMP/out" | tr '\n' '|')" = "group g8:|3164445 g8-1|3164446 g8-2|3164447 g8-3|" ] &&
	[ "$(grep -c '^  [0-9]' "$TMP/out")" -eq 6 ] &&
	sed -n '7p' "$TMP/out" | grep -q '^group g9: 3 nodes' || fail "list: $(cat "$TMP/out")"
launch list -o json
check; python3 -c '
import json, sys
l = json.load(open(sys.argv[1]))
assert sorted((d["name"], d["group"]) for d in l) == [("g8-1", "g8"), ("g8-2", "g8"), ("g8-3", "g8"),
    ("g9-1", "g9"), ("g9-2", "g9"), ("g9-3", "g9"), ("solo", None)], l
' "$TMP/out" || fail "list -o json: $(cat "$TMP/out")"
launch replace g8-2 --image debian-12-x64
check; [ "$status" -eq 1 ] && grep -q 'is a node of the replication group g8' "$TMP/err" || fail "replace of a node: exit $status: $(cat "$TMP/err")"
# A droplet tagged like the group by hand, not by a launch: kept.
api_post() {
	python3 - "$fake$1" "$2" "$TOKEN" <<'PY'
import sys, urllib.request
urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(),
    headers={"Authorization": "Bearer " + sys.argv[3], "Content-Type": "application/json"}), timeout=5).read()
PY
}
api_post /v2/droplets '{"name": "stranger", "size": "s-1vcpu-1gb", "image": "x", "tags": ["doagent-group:g8"]}'
launch destroy g8
check; [ "$status" -eq 2 ] && [ "$(state 'len(s["droplets"])')" -eq 8 ] || fail "destroy without --force: exit $status"
launch destroy g8 --force
check; [ "$status" -eq 0 ] && [ "$(grep -c '^droplet .* (g8-[123]) destroyed$' "$TMP/out")" -eq 3 ] &&
	grep -q '^droplet .* (stranger) carries tag doagent-group:g8 but no launch tag: not doagent-launch.s, kept$' "$TMP/out" &&
	grep -q '^group g8 destroyed$' "$TMP/out" || fail "destroy of a group: exit $status: $(cat "$TMP/out" "$TMP/err")"
expect "destroy of a group: the others kept" 'sorted(d["name"] for d in s["droplets"])' "['g9-1', 'g9-2', 'g9-3', 'solo', 'stranger']"
check; [ "$(grep -c '^alert policy .* deleted$' "$TMP/out")" -eq 4 ] || fail "destroy of a group: its alert policies: $(cat "$TMP/out")"
expect "destroy of a group: its alert policies deleted, solo's kept" 'sorted(set(t for p in s["policies"] for t in p["tags"]))' "['doagent-launch-solo']"
launch destroy g9 --force
expect "destroy of a group made with --no-wait" 'sorted(d["name"] for d in s["droplets"])' "['solo', 'stranger']"
launch status g8
check; [ "$status" -eq 1 ] && grep -Eq '^stranger +- .* it has no launch tag, so no record of its password$' "$TMP/out" ||
	fail "status of a group of one stranger: exit $status: $(cat "$TMP/out" "$TMP/err")"
launch status g9
check; [ "$status" -eq 1 ] && grep -q 'no group g9' "$TMP/err" || fail "status of a destroyed group: exit $status: $(cat "$TMP/err")"
prism_clean "list, replace, destroy"

# The token, and the group's key (a line of its base64), appeared in no output.
check; ! grep -qF "$TOKEN" "$TMP/all-output" || fail "the token was printed"
check; ! grep -qF "$KEYLINE" "$TMP/all-output" || fail "the group's key was printed"
finish
