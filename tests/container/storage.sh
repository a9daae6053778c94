#!/bin/sh
# [storage] volume in a real systemd: sparse files on the host, attached to loop
# devices and handed to systemd-nspawn as DigitalOcean volumes (DESIGN.md: --bind,
# DeviceAllow=, the by-id symlink made inside since no udev runs there). Shown:
#   - a blank volume is formatted (ext4, labelled with its name), mounted with
#     nofail,discard,noatime, and Redis' files are on it, not on the root disk;
#   - a key SET and saved before a replace is there after it, in a second container
#     (a new droplet id) booted on the same device, whose filesystem UUID is unchanged;
#   - a volume that holds a filesystem with a file is never formatted, and the file
#     is kept; one that holds a partition table is refused and left as it was;
#   - a volume whose device appears 20 s after the boot is used without a reboot, in
#     at most 10 s from the device appearing to Redis' PONG, while --status says what
#     the droplet waits for, and nothing of Redis is written under /var/lib/redis;
#   - a reboot, with the volume or still without it, fails nothing and hangs nothing.
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/container/lib.sh"

need redis-cli python3 losetup blkid mkfs.ext4 truncate
container_root_base

port=6390
pw="canary-Volume-pw-4321"
LATE_TARGET_MS=10000

ud() { # FILE VOLUME [ANOTHER-STORAGE-LINE]
	printf '#doagent\n[redis]\nport = %s\npassword = %s\nbind = private\n[tls]\nenabled = no\n[storage]\nvolume = %s\n' \
		"$port" "$pw" "$2" >"$1"
	[ -z "${3:-}" ] || echo "$3" >>"$1"
}
# metadata NAME USER-DATA DROPLET-ID: the fake metadata service for NAME, its
# private interface the container's own address.
metadata() {
	local ip
	ip=$(container_ip "$1")
	container_stop_fake_metadata "$1"
	python3 - "$FIXTURES/metadata/full.json" "$TMP/md-$3.json" "$3" "$ip" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["droplet_id"] = int(sys.argv[3])
d["interfaces"]["private"][0]["ipv4"] = {"ip_address": sys.argv[4], "netmask": "255.255.0.0", "gateway": "169.254.0.1"}
json.dump(d, open(sys.argv[2], "w"))
PY
	container_start_fake_metadata "$1" python3 "$top_srcdir/tests/fake-metadata.py" --quiet \
		--bind "$CONTAINER_METADATA_ADDR" --port 80 --document "$TMP/md-$3.json" --user-data "$2"
}
cli() { # NAME ARGS...: redis-cli from the host side of NAME's link
	local name="$1"
	shift
	REDISCLI_AUTH="$pw" container_host "$name" redis-cli --no-auth-warning -h "$(container_ip "$name")" \
		-p "$port" "$@" 2>&1
}
status_json() { # NAME: doagent --status --json into $TMP/status.json
	container_exec "$1" doagent --status --json >"$TMP/status.json" 2>&1 || true
}
storage_get() { # KEY: from the storage record of $TMP/status.json
	python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["storage"]; print((s or {}).get(sys.argv[2]) or "")' \
		"$TMP/status.json" "$1" 2>/dev/null
}
uuid() { blkid -p -s UUID -o value "$1"; }
fstype() { blkid -p -s TYPE -o value "$1"; }
# ready NAME: doagent.service is done, and the volume's record says ready: Redis is
# up on it (doagent-volume.service, which the path unit starts after doagent.service,
# records that); at most 60 s more.
ready() {
	local n=300
	container_wait_unit "$1" doagent.service 120 >/dev/null
	while [ "$n" -gt 0 ]; do
		status_json "$1"
		[ "$(storage_get state)" != ready ] || return 0
		sleep 0.2
		n=$((n - 1))
	done
	_ct_say "$1: the volume is not ready: $(cat "$TMP/status.json")"
}
# nothing_on_root_disk NAME MOUNTPOINT: Redis wrote nothing to the root disk: the
# directory below the mount point and /var/lib/redis hold nothing in the overlay's
# upper layer (what this container's boots wrote), and nothing new below.
nothing_on_root_disk() {
	local upper
	upper="$(dirname "$(container_root "$1")")/upper"
	check; [ -z "$(ls -A "$(container_root "$1")$2" 2>/dev/null)" ] ||
		fail "$1: the root disk below $2 holds $(ls -A "$(container_root "$1")$2")"
	if [ -d "$upper" ]; then
		check; [ -z "$(find "$upper/var/lib/redis" -mindepth 1 2>/dev/null)" ] ||
			fail "$1: Redis wrote to the root disk: $(find "$upper/var/lib/redis" -mindepth 1)"
	fi
	check; [ -z "$(container_exec "$1" find /var/lib/redis -mindepth 1)" ] ||
		fail "$1: /var/lib/redis holds $(container_exec "$1" find /var/lib/redis -mindepth 1)"
}

# --- 1. a blank volume, there at the first boot --------------------------------
truncate -s 1G "$TMP/data.img"
container_loop "$TMP/data.img"
data=$CONTAINER_LOOP
ud "$TMP/ud-data.ini" redis-1-data
container_prepare va
container_volume va "$data" redis-1-data
container_enable va doagent.service
metadata va "$TMP/ud-data.ini" 7001
container_boot va
ready va

check; [ "$(container_exec va systemctl is-active doagent.service)" = active ] ||
	fail "doagent.service: $(container_exec va systemctl status doagent.service 2>&1 | tail -n 20)"
check; [ "$(fstype "$data")" = ext4 ] && [ "$(blkid -p -s LABEL -o value "$data")" = redis-1-data ] ||
	fail "the blank volume was not made ext4 labelled redis-1-data: $(blkid -p "$data")"
uuid1=$(uuid "$data")
mnt=$(container_exec va findmnt -n -o SOURCE,FSTYPE,OPTIONS /mnt/redis_1_data)
check; case $mnt in "$data ext4 "*noatime*discard* | "$data ext4 "*discard*noatime*) true ;; *) false ;; esac ||
	fail "/mnt/redis_1_data is not the volume mounted noatime,discard: '$mnt'"
check; [ "$(container_exec va systemctl show -P FragmentPath mnt-redis_1_data.mount)" = /etc/systemd/system/mnt-redis_1_data.mount ] &&
	container_exec va systemctl cat mnt-redis_1_data.mount | grep -qx 'Options=nofail,discard,noatime' &&
	container_exec va systemctl cat mnt-redis_1_data.mount | grep -qx 'What=/dev/disk/by-id/scsi-0DO_Volume_redis-1-data' ||
	fail "mnt-redis_1_data.mount: $(container_exec va systemctl cat mnt-redis_1_data.mount 2>&1)"
check; [ "$(cli va PING)" = PONG ] || fail "PING: $(cli va PING)"
check; [ "$(cli va CONFIG GET dir | tail -n 1)" = /mnt/redis_1_data/redis ] || fail "Redis' dir: $(cli va CONFIG GET dir)"
check; [ "$(cli va CONFIG GET appendonly | tail -n 1)" = yes ] || fail "appendonly is not yes with a volume"
check; [ "$(container_exec va stat -c '%U:%G %a' /mnt/redis_1_data/redis)" = "redis:redis 750" ] ||
	fail "Redis' directory: $(container_exec va stat -c '%U:%G %a' /mnt/redis_1_data/redis)"
check; [ "$(cli va SET replace-key kept-across-the-replace)" = OK ] && [ "$(cli va SAVE)" = OK ] ||
	fail "SET and SAVE on the volume"
check; container_exec va test -s /mnt/redis_1_data/redis/dump.rdb &&
	container_exec va test -d /mnt/redis_1_data/redis/appendonlydir || fail "Redis' files are not on the volume: $(container_exec va ls -la /mnt/redis_1_data/redis)"
check; [ "$(container_exec va stat -c %d /mnt/redis_1_data/redis/dump.rdb)" = "$(container_exec va stat -c %d /mnt/redis_1_data)" ] &&
	[ "$(container_exec va stat -c %d /mnt/redis_1_data)" != "$(container_exec va stat -c %d /)" ] ||
	fail "dump.rdb is not on the volume's filesystem"
nothing_on_root_disk va /mnt/redis_1_data
status_json va
check; [ "$(storage_get state)" = ready ] && [ "$(storage_get formatted_uuid)" = "$uuid1" ] ||
	fail "--status after formatting: $(cat "$TMP/status.json")"
check; container_exec va doagent --status | grep -q '^storage: *ready' || fail "--status has no 'storage: ready' line"
check; container_exec va journalctl -b --no-pager -u doagent.service | grep -q 'formatted (it was blank)' ||
	fail "the journal does not say the blank volume was formatted"
# Nothing starts Redis at boot before doagent has mounted its volume.
check; [ "$(container_exec va systemctl is-enabled redis-server.service)" = disabled ] &&
	[ "$(container_exec va systemctl is-enabled doagent-volume.path)" = enabled ] ||
	fail "with a volume, redis-server.service must be disabled and doagent-volume.path enabled"

# A reboot of the same droplet: the volume is mounted again, Redis on it, no failure.
container_stop va
container_boot va
ready va
check; [ "$(cli va GET replace-key)" = kept-across-the-replace ] || fail "after a reboot, GET: $(cli va GET replace-key)"
check; [ "$(uuid "$data")" = "$uuid1" ] || fail "the reboot changed the filesystem"
check; [ -z "$(container_failed_units va)" ] || fail "failed units after a reboot: $(container_failed_units va)"
status_json va
check; grep -q 'configured already' "$TMP/status.json" && [ "$(storage_get state)" = ready ] ||
	fail "--status after a reboot: $(cat "$TMP/status.json")"
container_stop va

# --- 2. the replace: a new droplet on the same volume ---------------------------
container_prepare vb
container_volume vb "$data" redis-1-data
container_enable vb doagent.service
metadata vb "$TMP/ud-data.ini" 7002
container_boot vb
ready vb
check; [ "$(cli vb GET replace-key)" = kept-across-the-replace ] || fail "after the replace, GET: $(cli vb GET replace-key)"
check; [ "$(uuid "$data")" = "$uuid1" ] || fail "the filesystem UUID changed across the replace: $uuid1 -> $(uuid "$data")"
status_json vb
check; [ "$(storage_get state)" = ready ] && [ "$(storage_get uuid)" = "$uuid1" ] && [ -z "$(storage_get formatted_uuid)" ] ||
	fail "--status on the new droplet: $(cat "$TMP/status.json")"
check; ! container_exec vb journalctl -b --no-pager -u doagent.service -u doagent-volume.service | grep -q 'formatted' ||
	fail "the new droplet formatted the volume"
nothing_on_root_disk vb /mnt/redis_1_data
container_stop vb

# --- 3. a volume that holds a filesystem with a file: never formatted -------------
mkdir -p "$TMP/seed"
echo "the user's own data" >"$TMP/seed/keep.txt"
truncate -s 256M "$TMP/kept.img"
mkfs.ext4 -q -L users-own -d "$TMP/seed" "$TMP/kept.img"
container_loop "$TMP/kept.img"
kept=$CONTAINER_LOOP
uuid_kept=$(uuid "$kept")
# [storage] filesystem = xfs applies to a blank volume only.
ud "$TMP/ud-kept.ini" kept-data 'filesystem = xfs'
container_prepare vc
container_volume vc "$kept" kept-data
container_enable vc doagent.service
metadata vc "$TMP/ud-kept.ini" 7003
container_boot vc
ready vc
check; [ "$(uuid "$kept")" = "$uuid_kept" ] && [ "$(fstype "$kept")" = ext4 ] &&
	[ "$(blkid -p -s LABEL -o value "$kept")" = users-own ] || fail "the volume with a filesystem was formatted: $(blkid -p "$kept")"
check; [ "$(container_exec vc cat /mnt/kept_data/keep.txt)" = "the user's own data" ] ||
	fail "the file on the volume is gone: $(container_exec vc ls -la /mnt/kept_data)"
check; [ "$(cli vc PING)" = PONG ] && [ "$(cli vc CONFIG GET dir | tail -n 1)" = /mnt/kept_data/redis ] ||
	fail "Redis is not up on the kept volume"
container_stop vc
check; [ "$(uuid "$kept")" = "$uuid_kept" ] || fail "the kept volume's UUID changed"

# A partition table: refused, left byte for byte as it was, Redis off; when it
# comes after the boot (doagent-volume.service gives up after three tries, the path
# unit with it), and when it is there at a boot (the storage step fails the run).
truncate -s 64M "$TMP/parted.img"
python3 - "$TMP/parted.img" <<'PY'
import struct, sys
mbr = bytearray(512)
mbr[446:462] = struct.pack("<B3sB3sII", 0, b"\0\0\0", 0x83, b"\0\0\0", 2048, 64 * 2048 - 2048)
mbr[510:512] = b"\x55\xaa"
with open(sys.argv[1], "r+b") as f:
    f.write(mbr)
PY
container_loop "$TMP/parted.img"
parted=$CONTAINER_LOOP
sum_before=$(head -c 4194304 "$parted" | sha256sum)
ud "$TMP/ud-parted.ini" parted-data
container_prepare vd
container_volume vd "$parted" parted-data later
container_enable vd doagent.service
metadata vd "$TMP/ud-parted.ini" 7004
container_boot vd
container_wait_unit vd doagent.service 120 >/dev/null
container_volume_appear vd "$parted" parted-data
n=100
while [ "$n" -gt 0 ] && [ "$(container_exec vd systemctl is-failed doagent-volume.path)" != failed ]; do
	sleep 0.2
	n=$((n - 1))
done
check; [ "$(container_exec vd systemctl is-failed doagent-volume.path)" = failed ] &&
	[ "$(container_exec vd systemctl show -P Result doagent-volume.path)" = unit-start-limit-hit ] ||
	fail "doagent-volume.path after a refused volume: $(container_exec vd systemctl status doagent-volume.path 2>&1 | tail -n 10)"
tries=$(container_exec vd journalctl -b --no-pager -u doagent-volume.service | grep -c 'holds a dos partition table') || true
check; [ "$tries" -ge 1 ] && [ "$tries" -le 3 ] || fail "doagent-volume.service tried the refused volume $tries times"
status_json vd
check; grep -q 'holds a dos partition table' "$TMP/status.json" && [ "$(storage_get state)" = failed ] ||
	fail "--status does not say why the late volume was refused: $(cat "$TMP/status.json")"
check; [ "$(container_exec vd systemctl is-active redis-server.service)" != active ] || fail "Redis runs without its volume"
container_stop vd
container_volume vd "$parted" parted-data
container_boot vd
container_wait_unit vd doagent.service 120 >/dev/null
check; [ "$(container_exec vd systemctl is-active doagent.service)" = failed ] || fail "the boot with a refused volume did not fail"
# doagent-volume.path saw the device at this boot too: after a failed first-boot run
# doagent-volume.service leaves the volume alone.
container_wait_unit vd doagent-volume.service 30 >/dev/null || true
check; container_exec vd journalctl -b --no-pager -u doagent-volume.service |
	grep -q 'doagent has not configured this droplet on this boot' ||
	fail "doagent-volume.service after a failed run: $(container_exec vd journalctl -b --no-pager -u doagent-volume.service | tail -n 5)"
check; [ "$(head -c 4194304 "$parted" | sha256sum)" = "$sum_before" ] && [ "$(blkid -p -s PTTYPE -o value "$parted")" = dos ] ||
	fail "the volume with a partition table was written to"
check; [ "$(container_exec vd systemctl is-active redis-server.service)" != active ] || fail "Redis runs without its volume"
status_json vd
check; grep -q 'storage: /dev/disk/by-id/scsi-0DO_Volume_parted-data holds a dos partition table' "$TMP/status.json" &&
	[ "$(storage_get state)" = failed ] || fail "--status does not say why the volume was refused: $(cat "$TMP/status.json")"
container_stop vd

# --- 4. a volume attached 20 s after the boot -----------------------------------
truncate -s 1G "$TMP/late.img"
container_loop "$TMP/late.img"
late=$CONTAINER_LOOP
ud "$TMP/ud-late.ini" late-data
container_prepare vl
container_volume vl "$late" late-data later
container_enable vl doagent.service
metadata vl "$TMP/ud-late.ini" 7005
container_boot vl
booted_ms=$(_ct_now_ms)
container_wait_unit vl doagent.service 120 >/dev/null
check; [ "$(container_exec vl systemctl is-active doagent.service)" = active ] ||
	fail "the first boot failed without its volume: $(container_exec vl systemctl status doagent.service 2>&1 | tail -n 20)"
status_json vl
check; [ "$(storage_get state)" = waiting ] && [ "$(storage_get device)" = /dev/disk/by-id/scsi-0DO_Volume_late-data ] &&
	python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["result"] == "success"' "$TMP/status.json" ||
	fail "--status while the volume is missing: $(cat "$TMP/status.json")"
check; container_exec vl doagent --status | grep -q '^storage: *waiting.*waiting for /dev/disk/by-id/scsi-0DO_Volume_late-data' ||
	fail "doagent --status does not say what it waits for: $(container_exec vl doagent --status)"
check; [ "$(container_exec vl systemctl is-active redis-server.service)" != active ] || fail "Redis runs before its volume is there"
check; [ "$(container_exec vl systemctl is-active doagent-volume.path)" = active ] || fail "doagent-volume.path is not watching"
check; [ -z "$(blkid -p "$late")" ] || fail "the late volume was touched before it appeared"
# A reboot before the volume comes: no failed unit, no hang, still waiting.
container_stop vl
container_boot vl
booted_ms=$(_ct_now_ms)
container_wait_unit vl doagent.service 120 >/dev/null
check; [ "$(container_exec vl systemctl is-system-running)" = running ] && [ -z "$(container_failed_units vl)" ] ||
	fail "a reboot without the volume: $(container_exec vl systemctl is-system-running) $(container_failed_units vl)"
status_json vl
check; [ "$(storage_get state)" = waiting ] || fail "--status after a reboot without the volume: $(cat "$TMP/status.json")"
check; [ "$(container_exec vl systemctl is-active redis-server.service)" != active ] || fail "Redis runs before its volume is there"
# 20 s after the boot, the volume is attached: udev would make its symlink now.
while [ $(($(_ct_now_ms) - booted_ms)) -lt 20000 ]; do sleep 0.2; done
nothing_on_root_disk vl /mnt/late_data
t0=$(_ct_now_ms)
container_volume_appear vl "$late" late-data
pong=""
while [ $(($(_ct_now_ms) - t0)) -lt 30000 ]; do
	if [ "$(REDISCLI_AUTH="$pw" container_host vl timeout 2 redis-cli --no-auth-warning -h "$(container_ip vl)" \
		-p "$port" PING 2>/dev/null)" = PONG ]; then
		pong=$(_ct_now_ms)
		break
	fi
	sleep 0.05
done
if [ -n "$pong" ]; then
	echo "measured: the late volume's device appeared -> Redis PONG in $(_ct_secs $((pong - t0))) s (target $(_ct_secs $LATE_TARGET_MS) s)"
	check; [ $((pong - t0)) -le $LATE_TARGET_MS ] || fail "Redis answered $(_ct_secs $((pong - t0))) s after the device appeared"
else
	check; fail "Redis did not answer within 30 s of the device appearing: $(container_exec vl systemctl status doagent-volume.service 2>&1 | tail -n 20)"
fi
container_wait_unit vl doagent-volume.service 30 >/dev/null
check; [ "$(cli vl CONFIG GET dir | tail -n 1)" = /mnt/late_data/redis ] || fail "Redis' dir after the late volume: $(cli vl CONFIG GET dir)"
check; [ "$(fstype "$late")" = ext4 ] || fail "the late blank volume was not formatted"
status_json vl
check; [ "$(storage_get state)" = ready ] || fail "--status after the late volume: $(cat "$TMP/status.json")"
nothing_on_root_disk vl /mnt/late_data
check; [ -z "$(container_failed_units vl)" ] || fail "failed units: $(container_failed_units vl)"

# --- secrets: never in the journal, the console or a record ------------------------
container_exec vl journalctl --sync
check; ! container_exec vl journalctl -o export | grep -qF "$pw" || fail "the password is in the journal"
check; ! grep -qF "$pw" "$TMP"/ct-v*/console.log "$(container_root vl)/var/lib/doagent/volume.json" 2>/dev/null ||
	fail "the password is on a console or in volume.json"
finish
