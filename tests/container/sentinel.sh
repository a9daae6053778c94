#!/bin/sh
# A replication group of three droplets on one VPC: booted Debian containers with
# real redis-server and redis-sentinel (s1 and s2 with stunnel's TLS, s3 with Redis'
# own: [tls] engine), each with its own fake metadata service, the
# VPC a bridge in a namespace of its own (which also holds the client, a VPC
# neighbour). A Sentinel-aware client over TLS (python3-redis) given only a node's
# connection details writes keys, each acknowledged with WAIT 1:
#   - the primary's container is killed (SIGKILL): the client writes again through
#     Sentinel, and every acknowledged key is on the new primary; the failover time
#     (kill -> first acknowledged write) and the longest gap are reported;
#   - the old primary boots again and rejoins as a replica, and its data converges;
#     a later boot of it keeps what Sentinel made of it (Redis and Sentinel rewrote
#     their files);
#   - the current primary restarts without its data: doagent --guard keeps it from
#     serving, Sentinel fails over, and it comes back as a replica; nothing is lost;
#   - a partition: the primary's VPC link is cut while a client on its side writes;
#     reported: writes it accepted, acknowledged, and lost after the heal (target for
#     acknowledged writes: zero).
# DOAGENT_BENCH_OUT, when set, gets "failover MS", "rejoin MS" and "partition ..." lines;
# SENTINEL_FULLSYNC_MIB=N (bench/sentinel) first fills N MiB and times
# SENTINEL_FULLSYNC_RUNS (5) full synchronisations of a replica ("fullsync MS").
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/container/lib.sh"

PY=/usr/bin/python3
CLIENT="$top_srcdir/tests/sentinel-client.py"
need redis-cli openssl
[ -x "$PY" ] && "$PY" -c 'import redis.sentinel' 2>/dev/null || skip "python3-redis (Debian's, for /usr/bin/python3) is not installed"
container_root_base
container_vpc_create 10.134

pw="canary-Group-pw-5150-sentinel"
group=gtest
tls_port=6380
bench() { [ -z "${DOAGENT_BENCH_OUT:-}" ] || echo "$*" >>"$DOAGENT_BENCH_OUT"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# The group's one certificate, as doagent-launch create --standby makes it.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=$group" \
	-addext basicConstraints=critical,CA:FALSE -addext keyUsage=critical,digitalSignature \
	-addext extendedKeyUsage=serverAuth,clientAuth -addext "subjectAltName=DNS:$group" \
	-keyout "$TMP/group.key" -out "$TMP/group.crt" 2>/dev/null
CERT="$TMP/group.crt"

userdata() { # FILE PRIMARY [ENGINE]
	{
		printf '#doagent\n[redis]\npassword = %s\nbind = private\nmaxmemory = 1gb\n[tls]\nengine = %s\ncertificate =\n' \
			"$pw" "${3:-stunnel}"
		sed 's/^/    /' "$TMP/group.crt"
		printf 'key =\n'
		sed 's/^/    /' "$TMP/group.key"
		printf '[replication]\ngroup = %s\nprimary = %s\nquorum = 2\n' "$group" "$2"
	} >"$1"
}
metadata() { # NAME DROPLET-ID PRIVATE-IP USER-DATA
	python3 - "$FIXTURES/metadata/full.json" "$TMP/md-$1.json" "$2" "$3" "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["droplet_id"] = int(sys.argv[3])
d["hostname"] = sys.argv[5]
d["interfaces"]["private"][0]["ipv4"] = {"ip_address": sys.argv[4], "netmask": "255.255.0.0", "gateway": ""}
json.dump(d, open(sys.argv[2], "w"))
PY
	container_start_fake_metadata "$1" python3 "$top_srcdir/tests/fake-metadata.py" --quiet \
		--bind "$CONTAINER_METADATA_ADDR" --port 80 --document "$TMP/md-$1.json" --user-data "$4"
}
# tls_cli IP ARGS...: redis-cli --tls from the VPC neighbour, verifying the group's certificate.
tls_cli() {
	local ip="$1"
	shift
	REDISCLI_AUTH="$pw" container_vpc_exec redis-cli --no-auth-warning --tls --cacert "$CERT" -h "$ip" "$@" 2>&1
}
role() { tls_cli "$1" -p "$tls_port" ROLE | head -n 1; }
info() { tls_cli "$1" -p "$tls_port" INFO replication | tr -d '\r' | sed -n "s/^$2://p"; }
client() { container_vpc_exec "$PY" "$CLIENT" --details "$TMP/details.txt" --cacert "$CERT" "$@"; }
node_of() { # IP -> container name
	case $1 in 10.134.0.11) echo s1 ;; 10.134.0.12) echo s2 ;; 10.134.0.13) echo s3 ;; *) echo "?" ;; esac
}
# wait_for SECONDS COMMAND...: until COMMAND succeeds; 1 on timeout.
wait_for() {
	local n=$(($1 * 10))
	shift
	while [ $n -gt 0 ]; do
		! "$@" >/dev/null 2>&1 || return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}
is_role() { [ "$(role "$1")" = "$2" ]; }
link_up() { [ "$(info "$1" master_link_status)" = up ]; }
master_is_not() { [ -n "$(client master)" ] && [ "$(client master | cut -d' ' -f1)" != "$1" ]; }
# start_writer NAME: the Sentinel client writing, its log in $TMP/NAME.log.
start_writer() {
	rm -f "$TMP/$1.stop"
	# Not through container_vpc_exec: no time limit; the stop file ends it.
	ip netns exec "$CONTAINER_VPC_NS" "$PY" "$CLIENT" --details "$TMP/details.txt" --cacert "$CERT" \
		write --log "$TMP/$1.log" --stop "$TMP/$1.stop" >"$TMP/$1.out" 2>&1 &
	echo $! >"$TMP/$1.pid"
	at_exit "touch $TMP/$1.stop; stop_pid \$(cat $TMP/$1.pid 2>/dev/null)"
}
stop_writer() {
	touch "$TMP/$1.stop"
	wait "$(cat "$TMP/$1.pid")" 2>/dev/null || true
}
acked() { awk '$3 == "ok" && $4 >= 1' "$TMP/$1.log" | wc -l; }
# first_acked_after NAME MS: the time of the first acknowledged write after MS.
first_acked_after() { awk -v t="$2" '$1 > t && $3 == "ok" && $4 >= 1 { print $1; exit }' "$TMP/$1.log"; }

# --- three droplets: the first primary, then two standbys ----------------------------
i=0
for n in s1 s2 s3; do
	i=$((i + 1))
	container_prepare "$n"
	container_vpc_attach "$n" "10.134.0.1$i"
	container_enable "$n" doagent.service
	# s3 with Redis' own TLS, the others behind stunnel: the client finds the primary
	# over TLS with either engine, and the nodes replicate across them.
	case $n in
	s1) userdata "$TMP/ud-$n.ini" self ;;
	s2) userdata "$TMP/ud-$n.ini" 10.134.0.11 ;;
	s3) userdata "$TMP/ud-$n.ini" 10.134.0.11 redis ;;
	esac
	metadata "$n" "$((7100 + i))" "10.134.0.1$i" "$TMP/ud-$n.ini"
done
container_boot s1
container_wait_unit s1 doagent.service 120 >/dev/null
check; [ "$(container_exec s1 systemctl is-active doagent.service)" = active ] ||
	fail "s1: doagent.service: $(container_exec s1 doagent --status 2>&1 | tail -n 15)"
container_boot s2
container_boot s3
for n in s2 s3; do
	container_wait_unit "$n" doagent.service 120 >/dev/null
	check; [ "$(container_exec "$n" systemctl is-active doagent.service)" = active ] ||
		fail "$n: doagent.service: $(container_exec "$n" doagent --status 2>&1 | tail -n 15)"
done
[ "$tests_failed" -eq 0 ] || finish
cp "$(container_root s2)/root/doagent-connection.txt" "$TMP/details.txt"

check; is_role 10.134.0.11 master || fail "s1 is not the primary: $(role 10.134.0.11)"
for ip in 10.134.0.12 10.134.0.13; do
	check; wait_for 30 link_up "$ip" || fail "$ip: the replication link is $(info "$ip" master_link_status)"
done
check; wait_for 30 sh -c "[ \"\$(REDISCLI_AUTH='$pw' ip netns exec $CONTAINER_VPC_NS redis-cli --no-auth-warning --tls --cacert $CERT -h 10.134.0.13 -p 26379 SENTINEL sentinels $group | grep -c '^name\$')\" = 2 ]" ||
	fail "the Sentinel of s3 does not know the two others"
check; [ "$(tls_cli 10.134.0.12 -p 26379 SENTINEL get-master-addr-by-name "$group" | tr '\n' ' ')" = "10.134.0.11 $tls_port " ] ||
	fail "Sentinel does not name s1 the primary: $(tls_cli 10.134.0.12 -p 26379 SENTINEL get-master-addr-by-name "$group")"
# Only the VPC reaches Sentinel, and only TLS; the plaintext port is on loopback only.
check; ! REDISCLI_AUTH="$pw" container_vpc_exec timeout 5 redis-cli --no-auth-warning -h 10.134.0.11 -p 26379 PING 2>&1 | grep -q PONG ||
	fail "Sentinel answers without TLS"
check; ! REDISCLI_AUTH="$pw" container_vpc_exec timeout 5 redis-cli --no-auth-warning -h 10.134.0.11 -p 6379 PING 2>&1 | grep -q PONG ||
	fail "the plaintext port answers on the VPC"
check; [ "$(container_exec s1 stat -c '%U:%G %a' /etc/redis/sentinel.conf)" = "redis:redis 640" ] ||
	fail "sentinel.conf is $(container_exec s1 stat -c '%U:%G %a' /etc/redis/sentinel.conf)"
check; grep -q '^ *Sentinels: *10.134.0.12:26379 10.134.0.11:26379' "$TMP/details.txt" ||
	fail "the connection details do not list the Sentinels: $(grep Sentinels "$TMP/details.txt")"

# --- bench/sentinel only: full synchronisation of a replica ----------------------------
if [ -n "${SENTINEL_FULLSYNC_MIB:-}" ]; then
	client fill --mib "$SENTINEL_FULLSYNC_MIB" >/dev/null
	keys=$(tls_cli 10.134.0.11 -p "$tls_port" DBSIZE)
	synced() { link_up 10.134.0.13 && [ "$(info 10.134.0.13 master_sync_in_progress)" = 0 ] &&
		[ "$(tls_cli 10.134.0.13 -p "$tls_port" DBSIZE)" = "$keys" ]; }
	wait_for 120 synced || true
	k=0
	while [ $k -lt "${SENTINEL_FULLSYNC_RUNS:-5}" ]; do
		k=$((k + 1))
		# s3 loses its data and starts again: a replica, so the guard lets it; it
		# copies the whole dataset from the primary.
		CONTAINER_EXEC_TIMEOUT=300 container_exec s3 sh -c 'systemctl kill -s KILL redis-server; systemctl stop redis-server;
			rm -rf /var/lib/redis/appendonlydir /var/lib/redis/dump.rdb' >/dev/null 2>&1 || true
		t0=$(now_ms)
		container_exec s3 systemctl start redis-server >/dev/null 2>&1 || true
		check; wait_for 300 synced || fail "s3 did not finish its full sync of $keys keys"
		ms=$(($(now_ms) - t0))
		echo "sentinel: full sync of s3 ($SENTINEL_FULLSYNC_MIB MiB, $keys keys): $(_ct_secs $ms) s"
		bench "fullsync $ms"
	done
fi

# --- the primary dies ------------------------------------------------------------------
start_writer w1
check; wait_for 30 sh -c "[ \$(awk '\$3 == \"ok\" && \$4 >= 1' $TMP/w1.log | wc -l) -ge 50 ]" ||
	fail "the client could not write through Sentinel: $(tail -n 5 "$TMP/w1.log"; cat "$TMP/w1.out")"
t_kill=$(now_ms)
container_kill s1
# Once container_kill returns, s1 is gone: no write after this is acknowledged by it.
t_dead=$(now_ms)
check; wait_for 60 sh -c "[ -n \"\$(awk -v t=$t_dead '\$1 > t && \$3 == \"ok\" && \$4 >= 1' $TMP/w1.log | head -n 1)\" ]" ||
	fail "no acknowledged write within 60 s of the primary's death: $(tail -n 5 "$TMP/w1.log")"
t_first=$(first_acked_after w1 "$t_dead")
sleep 2
stop_writer w1
failover_ms=$((${t_first:-$t_kill} - t_kill))
new=$(client master | cut -d' ' -f1)
echo "sentinel: primary s1 killed; $(node_of "$new") ($new) took over; failover (kill -> first acknowledged write): $(_ct_secs $failover_ms) s"
bench "failover $failover_ms"
client verify --log "$TMP/w1.log" >"$TMP/verify1.txt" 2>&1 || true
check; grep -q ', missing 0,' "$TMP/verify1.txt" || fail "acknowledged writes are lost after the failover: $(cat "$TMP/verify1.txt")"
echo "sentinel: kill: $(cat "$TMP/verify1.txt")"
check; [ "$new" = 10.134.0.12 ] || [ "$new" = 10.134.0.13 ] || fail "no new primary: '$new'"

# --- the old primary comes back as a replica -----------------------------------------
t_boot=$(now_ms)
container_boot s1
check; wait_for 60 is_role 10.134.0.11 slave || fail "s1 did not rejoin as a replica: $(role 10.134.0.11)"
check; wait_for 60 link_up 10.134.0.11 || fail "s1's replication link: $(info 10.134.0.11 master_link_status)"
bench "rejoin $(($(now_ms) - t_boot))"
last=$(awk '$3 == "ok" {n = $2} END {print n}' "$TMP/w1.log")
check; [ "$(tls_cli 10.134.0.11 -p "$tls_port" GET "w:$last")" = "$last" ] || fail "s1 lacks the last write w:$last after rejoining"
check; [ "$(tls_cli 10.134.0.11 -p "$tls_port" DBSIZE)" = "$(tls_cli "$new" -p "$tls_port" DBSIZE)" ] ||
	fail "s1 holds $(tls_cli 10.134.0.11 -p "$tls_port" DBSIZE) keys, the primary $(tls_cli "$new" -p "$tls_port" DBSIZE)"
# Redis rewrote its configuration, Sentinel its own: both could write them.
check; grep -q "^replicaof $new $tls_port" "$(container_root s1)/etc/redis/redis.conf" ||
	fail "s1's redis.conf does not record the new primary: $(grep -i replicaof "$(container_root s1)/etc/redis/redis.conf")"
check; grep -q "^sentinel monitor $group $new $tls_port 2" "$(container_root s1)/etc/redis/sentinel.conf" ||
	fail "s1's sentinel.conf does not name the new primary"
# A later boot of s1 does not make it primary again.
container_stop s1
container_boot s1
container_wait_unit s1 doagent.service 120 >/dev/null
check; wait_for 30 is_role 10.134.0.11 slave || fail "after a reboot s1 is $(role 10.134.0.11)"
check; [ "$(client master | cut -d' ' -f1)" = "$new" ] || fail "a reboot of s1 moved the primary to $(client master)"
container_exec s1 journalctl --sync
check; container_exec s1 journalctl -b -u doagent.service -o cat | grep -q 'configured already' ||
	fail "doagent did not leave s1's configuration alone at its reboot"

# --- the primary restarts without its data ---------------------------------------------
primary=$new
pname=$(node_of "$primary")
start_writer w2
wait_for 30 sh -c "[ \$(awk '\$3 == \"ok\" && \$4 >= 1' $TMP/w2.log | wc -l) -ge 20 ]" || true
keys_before=$(tls_cli "$primary" -p "$tls_port" DBSIZE)
t_empty=$(now_ms)
container_exec "$pname" sh -c 'systemctl stop redis-server; rm -rf /var/lib/redis/appendonlydir /var/lib/redis/dump.rdb; systemctl start redis-server' >/dev/null 2>&1 || true
check; wait_for 60 master_is_not "$primary" || fail "Sentinel did not fail over from the primary that lost its data"
check; wait_for 60 is_role "$primary" slave || fail "$pname did not come back as a replica: $(role "$primary")"
check; wait_for 60 link_up "$primary" || fail "$pname's replication link: $(info "$primary" master_link_status)"
sleep 1
stop_writer w2
container_exec "$pname" journalctl --sync
check; container_exec "$pname" journalctl -u redis-server.service -o cat | grep -q 'lost its data and has 2 replica' ||
	fail "the guard did not keep $pname from serving empty: $(container_exec "$pname" journalctl -u redis-server.service -o cat | grep guard | tail -n 3)"
client verify --log "$TMP/w2.log" >"$TMP/verify2.txt" 2>&1 || true
check; grep -q ', missing 0,' "$TMP/verify2.txt" || fail "acknowledged writes are lost after the empty restart: $(cat "$TMP/verify2.txt")"
check; [ "$(tls_cli "$primary" -p "$tls_port" DBSIZE)" -ge "$keys_before" ] ||
	fail "the data shrank: $keys_before keys before, $(tls_cli "$primary" -p "$tls_port" DBSIZE) on $pname after"
echo "sentinel: empty restart of $pname: Sentinel failed over in $(_ct_secs $(($(now_ms) - t_empty))) s or less; $(cat "$TMP/verify2.txt")"

# --- a partition: the primary cut off from the VPC -----------------------------------------
primary=$(client master | cut -d' ' -f1)
pname=$(node_of "$primary")
start_writer w3
wait_for 30 sh -c "[ \$(awk '\$3 == \"ok\" && \$4 >= 1' $TMP/w3.log | wc -l) -ge 20 ]" || true
# A client on the primary's side of the cut: SET then WAIT 1 on one connection, every 50 ms,
# to the node's own TLS port on loopback (either engine listens there; s3 has no
# plaintext port).
CONTAINER_EXEC_TIMEOUT=300 container_exec "$pname" sh -c "i=0; while [ ! -e /run/stop-writer ] && [ \$i -lt 600 ]; do i=\$((i + 1));
	printf 'SET p:%s %s\nWAIT 1 200\n' \$i \$i | REDISCLI_AUTH='$pw' redis-cli --no-auth-warning --tls --cacert /etc/doagent/tls/redis.crt -h 127.0.0.1 -p $tls_port 2>&1 | tr '\n' ' ' | sed \"s/^/\$i /\"; echo; sleep 0.05; done" \
	>"$TMP/iso.log" 2>&1 &
iso_pid=$!
at_exit "stop_pid $iso_pid"
sleep 2
t_cut=$(now_ms)
container_vpc_cut "$pname"
check; wait_for 60 master_is_not "$primary" || fail "no failover while $pname was cut off"
sleep 12	# past min-replicas-max-lag: the isolated primary refuses writes by now
container_vpc_heal "$pname"
t_heal=$(now_ms)
container_exec "$pname" touch /run/stop-writer
wait "$iso_pid" 2>/dev/null || true
container_exec "$pname" rm -f /run/stop-writer
check; wait_for 60 is_role "$primary" slave || fail "$pname is $(role "$primary") after the heal"
check; wait_for 60 link_up "$primary" || fail "$pname did not resynchronise after the heal"
stop_writer w3
client verify --log "$TMP/w3.log" >"$TMP/verify3.txt" 2>&1 || true
check; grep -q ', missing 0,' "$TMP/verify3.txt" || fail "acknowledged writes are lost after the partition: $(cat "$TMP/verify3.txt")"
# What the isolated side was told: OK (accepted), and how many replicas acknowledged.
newp=$(client master | cut -d' ' -f1)
accepted=0 acked_iso=0 lost=0 lost_acked=0
while read -r n set_reply wait_reply _; do
	[ "$set_reply" = OK ] || continue
	accepted=$((accepted + 1))
	[ "${wait_reply:-0}" -ge 1 ] 2>/dev/null && this_acked=1 || this_acked=0
	acked_iso=$((acked_iso + this_acked))
	if [ "$(tls_cli "$newp" -p "$tls_port" GET "p:$n")" != "$n" ]; then
		lost=$((lost + 1))
		lost_acked=$((lost_acked + this_acked))
	fi
done <"$TMP/iso.log"
echo "sentinel: partition of $pname for $(_ct_secs $((t_heal - t_cut))) s: the isolated side's client had $accepted writes accepted, $acked_iso of them acknowledged by WAIT; after the heal $lost are lost, $lost_acked of them acknowledged"
echo "sentinel: partition: majority side $(cat "$TMP/verify3.txt")"
bench "partition accepted $accepted acked $acked_iso lost $lost lost_acked $lost_acked"
check; [ "$lost_acked" -eq 0 ] || fail "$lost_acked writes acknowledged with WAIT were lost in the partition"

# --- secrets ---------------------------------------------------------------------------
for n in s1 s2 s3; do
	container_exec "$n" journalctl --sync
	check; ! container_exec "$n" journalctl -o export | grep -qF "$pw" || fail "$n: the password is in the journal"
done
finish
