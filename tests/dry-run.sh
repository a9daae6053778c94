#!/bin/sh
# doagent --dry-run and --check on every shipped example, as a user runs them:
# the plan, --json, --output-dir, and proof that a dry run writes nowhere else.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

md="$FIXTURES/metadata/full.json"
dry() { run_agent --dry-run --metadata "$md" --templates "$TEMPLATES" --memory 2gb "$@"; }

for ex in "$EXAMPLES"/*; do
	name=$(basename "$ex")
	check; run_agent --check --user-data "$ex"
	[ "$status" -eq 0 ] && grep -qx "user data: valid" "$TMP/out" ||
		fail "$name: --check exit $status: $(cat "$TMP/err")"

	check; dry --user-data "$ex"
	if [ "$status" -ne 0 ]; then
		fail "$name: --dry-run exit $status: $(cat "$TMP/err")"
		continue
	fi
	# With a volume, Redis is started once the volume is mounted, not enabled.
	redis_unit="  - redis-server.service"
	! grep -q '^\[storage\]' "$ex" || redis_unit="  - redis-server.service: started once the volume is mounted, never before (not enabled; RequiresMountsFor=/mnt/redis_1_data/redis)"
	for want in "doagent plan for droplet 2756294" "files:" "units to enable and start:" \
		"$redis_unit" "steps:" "==> /etc/redis/redis.conf (0640 root:redis, from $TEMPLATES/redis.conf) <=="; do
		check; grep -qxF -- "$want" "$TMP/out" || fail "$name: the plan lacks '$want'"
	done
	check; grep -q '^requirepass "(redacted)"$' "$TMP/out" || fail "$name: the password is not redacted in the plan"
	check; [ ! -s "$TMP/err" ] || fail "$name: a valid dry run wrote to stderr: $(cat "$TMP/err")"
done

# What each example asks for shows in the rendered redis.conf.
dry --user-data "$EXAMPLES/cache.ini"
check; grep -qx 'save ""' "$TMP/out" || fail "cache: snapshots = no does not give save \"\""
check; grep -qx 'maxmemory 1717986918' "$TMP/out" || fail "cache: 80% of 2gb is not 1717986918"
check; grep -qx 'bind 127.0.0.1 -::1 10.132.255.113' "$TMP/out" || fail "cache: no TLS and bind = private"
# section TITLE: the lines of one list of the plan ("units to enable and start", ...).
section() { sed -n "/^$1/,/^[a-z]/p" "$TMP/out" | sed 1d; }
check; ! grep -q '^==> /etc/stunnel/' "$TMP/out" && ! section 'units to enable and start' | grep -q stunnel ||
	fail "cache: TLS is off but stunnel is planned"
# ... and a stunnel an earlier configuration left is stopped, its file removed.
check; section 'units to stop and disable' | grep -qx '  - stunnel@doagent-redis.service' &&
	section 'files to remove' | grep -qx '  - /etc/stunnel/doagent-redis.conf' ||
	fail "cache: TLS is off but a stunnel left by an earlier configuration would keep running"
dry --user-data "$EXAMPLES/persistent.ini"
check; grep -qx 'appendonly yes' "$TMP/out" && grep -qx 'maxmemory-policy noeviction' "$TMP/out" ||
	fail "persistent: appendonly/noeviction missing"
dry --user-data "$EXAMPLES/multipart.txt"
check; grep -qx 'maxmemory-policy allkeys-lfu' "$TMP/out" || fail "multipart: the doagent part was not used"
dry --user-data "$EXAMPLES/tls-public.ini"
check; grep -qx 'accept = 203.0.113.10:6380' "$TMP/out" || fail "tls-public: stunnel does not accept on the public address"
check; grep -qF 'ip saddr { 10.132.0.0/16, 203.0.113.7/32, 198.51.100.0/24 } tcp dport 6380 accept' "$TMP/out" ||
	fail "tls-public: the allow list is not in the ruleset"
check; grep -qF 'ip6 saddr { 2001:db8:1234::/48 } tcp dport 6380 accept' "$TMP/out" ||
	fail "tls-public: the IPv6 allow entry is not in the ruleset"

# [tls] engine = redis: Redis serves TLS itself, on the same port, with the same
# certificate and a copy of the key; no stunnel; the same firewall and details.
printf '#doagent\n[tls]\nengine = redis\n' >"$TMP/native.ini"
dry --user-data "$TMP/native.ini"
check; [ "$status" -eq 0 ] || fail "engine = redis: --dry-run exit $status: $(cat "$TMP/err")"
for want in 'tls-port 6380' 'tls-cert-file /etc/doagent/tls/redis.crt' 'tls-key-file /etc/doagent/tls/redis.key' \
	'tls-auth-clients no' 'tls-protocols "TLSv1.2 TLSv1.3"' 'bind 127.0.0.1 -::1 10.132.255.113' 'port 0' \
	'unixsocket /run/redis/redis-server.sock' 'unixsocketperm 700'; do
	check; grep -qxF -- "$want" "$TMP/out" || fail "engine = redis: redis.conf lacks '$want'"
done
check; ! grep -q '^==> /etc/stunnel/' "$TMP/out" && ! section 'units to enable and start' | grep -q stunnel ||
	fail "engine = redis: stunnel is still configured or started"
check; section 'units to stop and disable' | grep -qx '  - stunnel@doagent-redis.service' ||
	fail "engine = redis: a stunnel left by an earlier configuration is not stopped"
check; grep -qxF '  - copy the TLS key for redis-server to /etc/doagent/tls/redis.key (0640 root:redis)' "$TMP/out" ||
	fail "engine = redis: the plan does not say where the key's copy goes"
check; grep -qxF '  - accept tcp port 6380 (tls) from 10.132.0.0/16 (vpc)' "$TMP/out" && ! grep -q 'tcp port 6379' "$TMP/out" ||
	fail "engine = redis: the firewall does not open the TLS port alone"
check; grep -qF 'ip saddr { 10.132.0.0/16 } tcp dport 6380 accept' "$TMP/out" && ! grep -q 'dport 6379' "$TMP/out" ||
	fail "engine = redis: the ruleset does not open the TLS port alone"
check; grep -qF 'URL:  rediss://default:%28redacted%29@10.132.255.113:6380' "$TMP/out" &&
	grep -qF 'redis-cli -s /run/redis/redis-server.sock PING' "$TMP/out" ||
	fail "engine = redis: the connection details lack the TLS URL or the socket"
check; grep -qxF '  - check that Redis answers an authenticated PING at 10.132.255.113:6380 through TLS (Redis'\'' own)' "$TMP/out" &&
	! grep -q 'PING at [^ ]*:6379' "$TMP/out" ||
	fail "engine = redis: no readiness check through TLS"
# The key copy only for this engine: stunnel's plans remove it.
dry --user-data "$EXAMPLES/tls-public.ini"
check; section 'files to remove' | grep -qx '  - /etc/doagent/tls/redis.key' && ! grep -q '^tls-' "$TMP/out" ||
	fail "engine = stunnel: the redis engine's key copy is not removed, or redis.conf has tls- lines"
# engine = stunnel written out is the default: the same plan to the byte.
printf '#doagent\n[redis]\npassword = canary-Pa55word-1234\n' >"$TMP/default.ini"
dry --user-data "$TMP/default.ini"
cp "$TMP/out" "$TMP/default.out"
printf '#doagent\n[redis]\npassword = canary-Pa55word-1234\n[tls]\nengine = stunnel\n' >"$TMP/stunnel.ini"
dry --user-data "$TMP/stunnel.ini"
check; [ "$status" -eq 0 ] && cmp -s "$TMP/out" "$TMP/default.out" || fail "engine = stunnel is not the default plan: $(diff "$TMP/default.out" "$TMP/out" | head -n 20)"
# Plaintext where [tls] plaintext says: with bind, or (loopback) nowhere on TCP.
printf '#doagent\n[redis]\nbind = private\n[tls]\nengine = redis\nplaintext = private\n' >"$TMP/native-pt.ini"
dry --user-data "$TMP/native-pt.ini"
check; [ "$status" -eq 0 ] && grep -qx 'port 6379' "$TMP/out" && grep -qx 'bind 127.0.0.1 -::1 10.132.255.113' "$TMP/out" &&
	! grep -q '^unixsocket' "$TMP/out" || fail "engine = redis, plaintext = private: not port 6379 on the private address"
check; grep -qF 'ip saddr { 10.132.0.0/16 } tcp dport 6379 accept' "$TMP/out" &&
	grep -qF 'ip saddr { 10.132.0.0/16 } tcp dport 6380 accept' "$TMP/out" ||
	fail "engine = redis, plaintext = private: the firewall does not open both ports"
check; grep -qF 'Plaintext port 6379 on 10.132.255.113:' "$TMP/out" || fail "engine = redis, plaintext = private: the details lack the plaintext port"
printf '#doagent\n[redis]\nbind = loopback\n[tls]\nengine = redis\n' >"$TMP/native-lo.ini"
dry --user-data "$TMP/native-lo.ini"
check; [ "$status" -eq 0 ] && grep -qx 'port 6379' "$TMP/out" && grep -qx 'bind 127.0.0.1 -::1' "$TMP/out" &&
	grep -qx 'tls-port 6380' "$TMP/out" || fail "engine = redis, bind = loopback: not both ports on loopback"
printf '#doagent\n[tls]\nenabled = no\nengine = redis\n' >"$TMP/native-off.ini"
dry --user-data "$TMP/native-off.ini"
check; [ "$status" -eq 0 ] && grep -qx 'port 6379' "$TMP/out" && ! grep -q '^tls-' "$TMP/out" ||
	fail "engine = redis with TLS off: redis.conf still serves TLS"
for ini in native native-pt native-lo; do
	run_agent --check --user-data "$TMP/$ini.ini"
	check; [ "$status" -eq 0 ] && grep -qx "user data: valid" "$TMP/out" || fail "$ini: --check exit $status: $(cat "$TMP/err")"
done
run_agent --check --json --user-data "$TMP/native.ini"
check; [ "$status" -eq 0 ] && python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["valid"] is True' "$TMP/out" ||
	fail "engine = redis: --check --json exit $status"
dry --json --user-data "$TMP/native.ini"
check; [ "$status" -eq 0 ] && python3 - "$TMP/out" <<'PY' || fail "engine = redis: --json is not the expected plan"
import json, sys
plan = json.load(open(sys.argv[1]))
paths = [f["path"] for f in plan["files"]]
assert paths == ["/etc/redis/redis.conf", "/etc/doagent/firewall.nft", "/root/doagent-connection.txt",
                 "/etc/motd.d/doagent"], paths
assert plan["units"] == ["redis-server.service"], plan["units"]
assert plan["units_off"] == ["stunnel@doagent-redis.service", "redis-sentinel.service"], plan["units_off"]
# What an earlier configuration may have left: the stunnel configuration (and an
# earlier volume's units), never the key's copy Redis uses now.
assert "/etc/stunnel/doagent-redis.conf" in plan["remove"], plan["remove"]
assert "/etc/doagent/tls/redis.key" not in plan["remove"], plan["remove"]
PY
rm -rf "$TMP/native-tree"
mkdir "$TMP/native-tree"
dry --user-data "$TMP/native.ini" --output-dir "$TMP/native-tree"
check; [ "$status" -eq 0 ] && [ -f "$TMP/native-tree/etc/redis/redis.conf" ] && [ ! -e "$TMP/native-tree/etc/stunnel" ] &&
	[ "$(find "$TMP/native-tree" -type f | wc -l)" -eq 4 ] || fail "engine = redis: --output-dir: $(find "$TMP/native-tree" -type f)"

# Without --user-data, the metadata's own user data is used.
dry
check; [ "$status" -eq 0 ] && grep -qx 'maxmemory-policy allkeys-lru' "$TMP/out" || fail "metadata user data: exit $status"

# Foreign user data: defaults, and the plan says why.
printf '#cloud-config\npackages: [htop]\n' >"$TMP/cc.yaml"
dry --user-data "$TMP/cc.yaml"
check; [ "$status" -eq 0 ] && grep -qF "the user data is not doagent's (#cloud-config); the defaults apply" "$TMP/out" ||
	fail "cloud-config user data: exit $status, no notice"

# --json is JSON with every file, and no secret.
printf '#doagent\n[redis]\npassword = canary-Pa55word-1234\n' >"$TMP/pw.ini"
dry --json --user-data "$TMP/pw.ini"
check; [ "$status" -eq 0 ] && python3 - "$TMP/out" <<'PY' || fail "--json: not the expected document"
import json, sys
plan = json.load(open(sys.argv[1]))
paths = [f["path"] for f in plan["files"]]
assert paths == ["/etc/redis/redis.conf", "/etc/stunnel/doagent-redis.conf", "/etc/doagent/firewall.nft",
                 "/root/doagent-connection.txt", "/etc/motd.d/doagent"], paths
assert plan["droplet_id"] == "2756294"
assert plan["units"] == ["redis-server.service", "stunnel@doagent-redis.service"]
assert plan["maxmemory"] == 1610612736
assert all(f["mode"] in ("0640", "0644", "0600") for f in plan["files"])
PY
check; ! grep -qF canary-Pa55word-1234 "$TMP/out" "$TMP/err" || fail "--json output holds the password"
run_agent --check --json --user-data "$TMP/pw.ini"
check; [ "$status" -eq 0 ] && python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["valid"] is True and d["kind"] == "doagent"' "$TMP/out" ||
	fail "--check --json: exit $status"

# --output-dir: every file, with its mode, and the real password inside.
out="$TMP/tree"
mkdir "$out"
dry --output-dir "$out" --user-data "$TMP/pw.ini"
check; [ "$status" -eq 0 ] || fail "--output-dir: exit $status: $(cat "$TMP/err")"
for f in etc/redis/redis.conf:640 etc/stunnel/doagent-redis.conf:644 etc/doagent/firewall.nft:600 \
	root/doagent-connection.txt:600 etc/motd.d/doagent:644; do
	path=${f%:*} mode=${f#*:}
	check; [ "$(stat -c %a "$out/$path" 2>/dev/null)" = "$mode" ] || fail "--output-dir: $path is not mode $mode"
done
check; grep -qx 'requirepass canary-Pa55word-1234' "$out/etc/redis/redis.conf" || fail "--output-dir: redis.conf lacks the password"
check; [ "$(find "$out" -type f | wc -l)" -eq 5 ] || fail "--output-dir: not exactly five files: $(find "$out" -type f)"

# [storage] volume: the device, the mount (unit and options), the decision to format
# only a blank volume (filesystem, label) and Redis' directory; the units that mount
# and wait for it; none of them, and a notice, without a volume.
printf '#doagent\n[redis]\npassword = canary-Pa55word-1234\n[storage]\nvolume = redis-1-data-volume\nfilesystem = xfs\n' >"$TMP/vol.ini"
dry --user-data "$TMP/vol.ini"
check; [ "$status" -eq 0 ] || fail "volume: exit $status: $(cat "$TMP/err")"
for want in "storage (the volume redis-1-data-volume):" \
	"  - device: /dev/disk/by-id/scsi-0DO_Volume_redis-1-data-volume" \
	"  - mount: mnt-redis_1_data_volume.mount at /mnt/redis_1_data_volume, options nofail,discard,noatime" \
	"  - format: only if blank (libblkid finds no filesystem, no partition table and no other signature on it): xfs, label 'redis-1-data'; a device that holds anything is never formatted" \
	"  - Redis' dir: /mnt/redis_1_data_volume/redis (redis:redis, 0750)" \
	"  - [storage] volume: xfs labels hold 12 characters: a blank volume is labelled 'redis-1-data', its name cut" \
	"  - doagent-volume.path" \
	"dir /mnt/redis_1_data_volume/redis" "appendonly yes" \
	"What=/dev/disk/by-id/scsi-0DO_Volume_redis-1-data-volume" "Where=/mnt/redis_1_data_volume" \
	"Options=nofail,discard,noatime" "PathExists=/dev/disk/by-id/scsi-0DO_Volume_redis-1-data-volume" \
	"RequiresMountsFor=/mnt/redis_1_data_volume/redis" "ReadWritePaths=/mnt/redis_1_data_volume/redis" \
	"==> /etc/systemd/system/mnt-redis_1_data_volume.mount (0644 root:root, from $TEMPLATES/volume.mount) <==" \
	"==> /etc/systemd/system/redis-server.service.d/doagent-volume.conf (0644 root:root, from $TEMPLATES/redis-volume.conf) <=="; do
	check; grep -qxF -- "$want" "$TMP/out" || fail "volume: the plan lacks '$want'"
done
check; ! grep -qF "files removed when present" "$TMP/out" || fail "volume: the plan removes the volume's units"
check; grep -qE '^ExecStart=/.*/doagent --attach-volume redis-1-data-volume --filesystem xfs$' "$TMP/out" ||
	fail "volume: doagent-volume.service does not run doagent --attach-volume"
dry --json --user-data "$TMP/vol.ini"
check; [ "$status" -eq 0 ] && python3 - "$TMP/out" <<'PY' || fail "volume --json: $(cat "$TMP/out")"
import json, sys
plan = json.load(open(sys.argv[1]))
assert plan["storage"] == {"volume": "redis-1-data-volume", "device": "/dev/disk/by-id/scsi-0DO_Volume_redis-1-data-volume",
                           "mountpoint": "/mnt/redis_1_data_volume", "mount_unit": "mnt-redis_1_data_volume.mount",
                           "mount_options": "nofail,discard,noatime", "format": "only if blank", "filesystem": "xfs",
                           "label": "redis-1-data", "redis_dir": "/mnt/redis_1_data_volume/redis"}, plan["storage"]
assert plan["units"] == ["stunnel@doagent-redis.service", "doagent-volume.path"], plan["units"]
# Nothing of the volume's is removed; the key's copy for Redis' own TLS is (stunnel here).
assert plan["remove"] == ["/etc/systemd/system/redis-server.service.d/doagent-group.conf",
                          "/etc/doagent/tls/redis.key"], plan["remove"]
PY
# appendonly = no is respected, with a notice.
printf '#doagent\n[redis]\nappendonly = no\n[storage]\nvolume = redis-1-data\n' >"$TMP/vol-noaof.ini"
dry --user-data "$TMP/vol-noaof.ini"
check; grep -qx 'appendonly no' "$TMP/out" && grep -qF '[redis] appendonly = no with a volume' "$TMP/out" ||
	fail "volume with appendonly = no: not respected, or no notice"
# Without a volume: the volume's units are removed when present; filesystem alone is a notice.
printf '#doagent\n[storage]\nfilesystem = xfs\n' >"$TMP/fs-only.ini"
dry --user-data "$TMP/fs-only.ini"
check; [ "$status" -eq 0 ] && grep -qF '[storage] filesystem has no effect without [storage] volume' "$TMP/out" ||
	fail "filesystem without volume: exit $status, no notice"
check; grep -qx '  - /etc/systemd/system/redis-server.service.d/doagent-volume.conf' "$TMP/out" &&
	grep -qx 'dir /var/lib/redis' "$TMP/out" && grep -qx 'appendonly no' "$TMP/out" ||
	fail "without a volume: the plan does not remove the volume's drop-in, or dir/appendonly are not the defaults"
# A name DigitalOcean would refuse: the line and key, exit 65.
printf '#doagent\n[storage]\nvolume = Redis_Data\n' >"$TMP/vol-bad.ini"
dry --user-data "$TMP/vol-bad.ini"
check; [ "$status" -eq 65 ] && grep -qF 'line 3: [storage] volume: must start with a lowercase letter (a-z)' "$TMP/err" ||
	fail "a bad volume name: exit $status: $(cat "$TMP/err")"
printf '#doagent\n[storage]\nvolume = redis_data\n' >"$TMP/vol-bad.ini"
dry --user-data "$TMP/vol-bad.ini"
check; [ "$status" -eq 65 ] && grep -qF "line 3: [storage] volume: may hold only lowercase letters, digits and '-'" "$TMP/err" ||
	fail "a bad volume name: exit $status: $(cat "$TMP/err")"
# --output-dir writes the volume's units too.
rm -rf "$TMP/voltree"
mkdir "$TMP/voltree"
dry --output-dir "$TMP/voltree" --user-data "$TMP/vol.ini"
for f in etc/systemd/system/mnt-redis_1_data_volume.mount etc/systemd/system/doagent-volume.path \
	etc/systemd/system/doagent-volume.service etc/systemd/system/redis-server.service.d/doagent-volume.conf; do
	check; [ "$(stat -c %a "$TMP/voltree/$f" 2>/dev/null)" = 644 ] || fail "--output-dir with a volume: $f is not there, 0644"
done

# Every example's rendered ruleset is one that nft accepts (checked in a network
# namespace of its own, so this machine's firewall is never touched).
if [ "$(id -u)" -eq 0 ] && command -v nft >/dev/null 2>&1 && command -v unshare >/dev/null 2>&1; then
	for ex in "$EXAMPLES"/* "$TMP/native.ini" "$TMP/native-pt.ini"; do
		rm -rf "$TMP/nft"
		mkdir "$TMP/nft"
		dry --user-data "$ex" --output-dir "$TMP/nft"
		[ -f "$TMP/nft/etc/doagent/firewall.nft" ] || continue
		check; unshare --net nft -c -f "$TMP/nft/etc/doagent/firewall.nft" 2>"$TMP/nft.err" ||
			fail "$(basename "$ex"): nft refuses the rendered ruleset: $(cat "$TMP/nft.err")"
	done
else
	skip_part "checking the rendered nftables rulesets needs root, nft and unshare"
fi

# A dry run writes nothing outside --output-dir: every file it opens for writing,
# creates, renames or makes a directory for is under it.
if command -v strace >/dev/null 2>&1; then
	out2="$TMP/tree2"
	mkdir "$out2"
	# (LeakSanitizer cannot run under ptrace: an ASan build is traced without it.)
	check
	ASAN_OPTIONS=detect_leaks=0 strace -f -qq -y -o "$TMP/trace" \
		-e trace=openat,open,creat,rename,renameat,renameat2,mkdir,mkdirat,unlink,unlinkat,chmod,fchmodat,chown,fchownat,symlink,link \
		"$DOAGENT" --dry-run --metadata "$md" --templates "$TEMPLATES" --memory 2gb --user-data "$TMP/pw.ini" \
		--output-dir "$out2" >/dev/null 2>"$TMP/trace.err" || fail "the traced dry run failed: $(cat "$TMP/trace.err")"
	check
	bad=$(grep -E 'O_WRONLY|O_RDWR|O_CREAT|rename|mkdir|unlink|chmod|chown|link' "$TMP/trace" |
		grep -vF "$out2" | grep -v '= -1 E' || true)
	[ -z "$bad" ] || fail "the dry run wrote outside --output-dir: $bad"
	check; grep -q "$out2/etc/redis" "$TMP/trace" || fail "strace saw none of the writes (the check itself is broken)"
else
	skip_part "strace is not installed (needed to prove a dry run writes nowhere else)"
fi

finish
