#!/bin/sh
# userdata-examples/: the eight kinds the README and the snapshot promise are there,
# each says when to use it, each is doagent's (a MIME message through its
# doagent part), passes --check and renders with --dry-run into what it says.
# (tests/dry-run.sh goes through every example's plan in detail.)
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

md="$FIXTURES/metadata/full.json"
dry() { run_agent --dry-run --metadata "$md" --templates "$TEMPLATES" --memory 2gb --user-data "$@"; }

for name in default.ini tls.ini tls-redis.ini cache.ini persistent.ini tls-public.ini multipart.txt volume.ini; do
	check; [ -f "$EXAMPLES/$name" ] || fail "userdata-examples/$name is missing"
done

for ex in "$EXAMPLES"/*; do
	name=$(basename "$ex")
	check; grep -Eiq '^[;#].*when to use' "$ex" || fail "$name: no comment saying when to use it"
	run_agent --check --json --user-data "$ex"
	check; [ "$status" -eq 0 ] && python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["valid"] is True and d["kind"] == "doagent" and not d["diagnostics"], d' "$TMP/out" ||
		fail "$name: --check --json: status $status: $(cat "$TMP/out" "$TMP/err")"
	dry "$ex"
	check; [ "$status" -eq 0 ] && grep -q '^==> /etc/redis/redis.conf ' "$TMP/out" ||
		fail "$name: --dry-run: status $status: $(cat "$TMP/err")"
	cp "$TMP/out" "$TMP/plan-$name"
done

has() { # EXAMPLE LINE...: the example's plan holds every LINE
	local ex="$1" line
	shift
	for line in "$@"; do
		check; grep -qxF -- "$line" "$TMP/plan-$ex" || fail "$ex: the plan has no line '$line'"
	done
}
has default.ini 'maxmemory-policy allkeys-lru' 'accept = 10.132.255.113:6380' 'bind 127.0.0.1 -::1'
has tls.ini 'maxmemory-policy volatile-lfu' 'maxmemory 1073741824' 'accept = 10.132.255.113:6380' \
	'bind 127.0.0.1 -::1'
check; grep -q 'ip daddr 169.254.169.254 meta skuid != 0 drop' "$TMP/plan-tls.ini" ||
	fail "tls.ini: the metadata service is not limited to root"
has tls-redis.ini 'tls-port 6380' 'tls-key-file /etc/doagent/tls/redis.key' 'port 0' 'bind 127.0.0.1 -::1 10.132.255.113'
check; ! grep -q '^==> /etc/stunnel/' "$TMP/plan-tls-redis.ini" || fail "tls-redis.ini: stunnel is configured"
has cache.ini 'maxmemory-policy allkeys-lru' 'appendonly no' 'save ""'
has persistent.ini 'appendonly yes' 'maxmemory-policy noeviction'
has tls-public.ini 'accept = 203.0.113.10:6380'
check; grep -qF 'ip saddr { 10.132.0.0/16, 203.0.113.7/32, 198.51.100.0/24 } tcp dport 6380 accept' \
	"$TMP/plan-tls-public.ini" || fail "tls-public.ini: the trusted public sources are not let in"
has multipart.txt 'maxmemory-policy allkeys-lfu'
has volume.ini 'dir /mnt/redis_1_data/redis' 'appendonly yes' 'maxmemory-policy noeviction' \
	'What=/dev/disk/by-id/scsi-0DO_Volume_redis-1-data' 'Where=/mnt/redis_1_data' 'Options=nofail,discard,noatime' \
	"  - format: only if blank (libblkid finds no filesystem, no partition table and no other signature on it): xfs, label 'redis-1-data'; a device that holds anything is never formatted"
check; grep -qx 'Content-Type: text/cloud-config; charset="us-ascii"' "$EXAMPLES/multipart.txt" &&
	grep -qx '#cloud-config' "$EXAMPLES/multipart.txt" || fail "multipart.txt has no #cloud-config part"
finish
