#!/bin/sh
# The container harness itself: a booted systemd, the link in both directions,
# doagent installed and runnable inside, Redis disabled as the snapshot leaves it.
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/container/lib.sh"

need redis-cli python3

container_root_base
container_prepare smoke
ip=$CONTAINER_IP

# A file served from 169.254.169.254:80 on the host side, as the metadata service is.
mkdir -p "$TMP/www"
echo "hello from the host side $$" >"$TMP/www/hello.txt"
container_start_fake_metadata smoke python3 -m http.server --bind "$CONTAINER_METADATA_ADDR" \
	--directory "$TMP/www" 80

container_boot smoke

check running
state=$(container_exec smoke systemctl is-system-running) || true
case $state in
running) ok "systemd in the container is running" ;;
degraded)
	ok "systemd in the container is degraded; failed units:"
	container_failed_units smoke | sed 's/^/    /'
	;;
*) fail "systemd in the container: '$state'" ;;
esac

check hostname
h=$(container_exec smoke cat /proc/sys/kernel/hostname) || true
[ "$h" = smoke ] && ok "hostname is smoke" || fail "hostname is '$h'"

check machine-id
id=$(container_exec smoke cat /etc/machine-id) || true
echo "$id" | grep -Eq '^[0-9a-f]{32}$' && ok "a machine-id was generated ($id)" ||
	fail "machine-id is '$id'"

check metadata-reachable
body=$(container_exec smoke curl -fsS --max-time 10 "http://$CONTAINER_METADATA_ADDR/hello.txt") || true
[ "$body" = "hello from the host side $$" ] &&
	ok "the container reaches $CONTAINER_METADATA_ADDR:80" ||
	fail "the container got '$body' from $CONTAINER_METADATA_ADDR:80"

check container-reachable
if container_exec smoke redis-server --port 16379 --bind 0.0.0.0 --protected-mode no \
	--save '' --appendonly no --daemonize yes >/dev/null; then
	pong=""
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		pong=$(container_host smoke redis-cli -h "$ip" -p 16379 PING 2>/dev/null) || true
		[ "$pong" != PONG ] || break
		sleep 0.2
	done
	[ "$pong" = PONG ] && ok "the host side reaches $ip:16379" ||
		fail "redis-cli -h $ip -p 16379 PING from the host side: '$pong'"
	container_exec smoke redis-cli -p 16379 SHUTDOWN NOSAVE >/dev/null 2>&1 || true
else
	fail "redis-server --port 16379 did not start in the container"
fi

check doagent-installed
if container_exec smoke test -x /usr/local/sbin/doagent; then
	v=$(container_exec smoke /usr/local/sbin/doagent --version 2>&1) &&
		ok "doagent --version in the container: $v" ||
		fail "doagent --version in the container: $v"
else
	fail "/usr/local/sbin/doagent is not installed in the container"
fi

check redis-disabled
en=$(container_exec smoke systemctl is-enabled redis-server.service 2>&1) || true
act=$(container_exec smoke systemctl is-active redis-server.service 2>&1) || true
[ "$en" = disabled ] && [ "$act" = inactive ] &&
	ok "redis-server.service is disabled and inactive" ||
	fail "redis-server.service is $en and $act"

check stop
t0=$(_ct_now_ms)
container_stop smoke
pid=$(_ct_get smoke nspawn.pid) || true
[ -z "$pid" ] && ok "the container stopped" || fail "the container is still running"
stop_ms=$(($(_ct_now_ms) - t0))

if [ "$CONTAINER_BASE_MS" -ne 0 ]; then
	base="built in $(_ct_secs "$CONTAINER_BASE_MS") s"
else
	base="cached"
fi
echo "timings: base image $base; boot $(_ct_secs "$CONTAINER_BOOT_MS") s; stop $(_ct_secs "$stop_ms") s"
finish
