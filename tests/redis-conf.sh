#!/bin/sh
# redis-conf.sh: render redis.conf with "doagent --dry-run --output-dir" from several
# user-data documents, start the real redis-server on each rendered file, and check
# with redis-cli what Redis actually runs with: port, bind addresses, password, memory
# limit, eviction policy, persistence. Only what a test sandbox cannot use (dir,
# logfile, pidfile, daemonize) is overridden on the command line.
#
# The metadata fixture loopback.json gives the droplet the private address 127.0.0.2
# and the public address 127.0.0.3, so every rendered bind address is local.

# lib.sh allows "local"; run_agent sets $status.
# shellcheck disable=SC3043,SC2154

if [ -n "${top_srcdir:-}" ]; then
	# shellcheck source=tests/lib.sh
	. "$top_srcdir/tests/lib.sh"
else
	# shellcheck source=tests/lib.sh
	. "$(dirname "$0")/lib.sh"
fi

need redis-server redis-cli python3 timeout

unset REDISCLI_AUTH
METADATA="$FIXTURES/metadata/loopback.json"
PIDFILE="$TMP/redis.pid"
DATA="$TMP/data"
LOG="$TMP/redis.log"
PRIVATE=127.0.0.2
PUBLIC=127.0.0.3

# Set by each case.
name=""
port=""
pw=""
OUT=""

# ---- helpers ----

expect_eq() {	# NAME GOT WANT
	check "$1"
	if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: got '$2', want '$3'"; fi
}

# expect_has NAME LIST WORD: the space-separated LIST holds WORD.
expect_has() {
	check "$1"
	case " $2 " in
	*" $3 "*) ok "$1" ;;
	*) fail "$1: '$2' does not hold '$3'" ;;
	esac
}

expect_lacks() {
	check "$1"
	case " $2 " in
	*" $3 "*) fail "$1: '$2' holds '$3'" ;;
	*) ok "$1" ;;
	esac
}

# ini FILE LINE...: write user data, one line an argument (no expansion of the values).
ini() {
	local f="$1"
	shift
	printf '%s\n' "$@" >"$f"
}

# rcli HOST PASSWORD ARGS...: redis-cli against HOST:$port, both output streams; an
# empty PASSWORD sends no AUTH. The password goes through REDISCLI_AUTH, never argv.
rcli() {
	local host="$1" secret="$2"
	shift 2
	if [ -n "$secret" ]; then
		REDISCLI_AUTH="$secret" timeout 5 redis-cli -h "$host" -p "$port" "$@" 2>&1
	else
		env -u REDISCLI_AUTH timeout 5 redis-cli -h "$host" -p "$port" "$@" 2>&1
	fi
}

# cfg NAME: the value of CONFIG GET NAME, asked on 127.0.0.1 with the case's password.
cfg() {
	local reply
	reply=$(rcli 127.0.0.1 "$pw" CONFIG GET "$1") || :
	if [ "$(printf '%s\n' "$reply" | sed -n 1p)" != "$1" ]; then
		printf '<no value: %s>' "$reply"
		return 0
	fi
	printf '%s\n' "$reply" | sed -n 2p
}

# no_leak: the password is in neither doagent's stdout nor its stderr.
no_leak() {
	check "$name: password not in doagent's output"
	if [ -z "$pw" ]; then
		fail "$name: no password to look for"
	elif grep -qF -e "$pw" "$TMP/out" "$TMP/err"; then
		fail "$name: the password appears in doagent's stdout or stderr"
	else
		ok "$name: password not in doagent's output"
	fi
}

# render NAME: render $TMP/NAME.ini into $TMP/NAME.out (sets OUT); 1 when it did not.
render() {
	OUT="$TMP/$name.out"
	run_agent --dry-run --user-data "$TMP/$name.ini" --metadata "$METADATA" \
		--templates "$TEMPLATES" --memory 1gb --output-dir "$OUT"
	check "$name: doagent renders redis.conf"
	if [ "$status" -ne 0 ] || [ ! -f "$OUT/etc/redis/redis.conf" ]; then
		fail "$name: doagent exited with $status: $(head -c 2000 "$TMP/err" | tr '\n' ' ')"
		return 1
	fi
	ok "$name: doagent renders redis.conf"
	# Redis logs to standard output, which systemd gives the journal.
	check "$name: redis.conf logs to the journal"
	if grep -qx 'logfile ""' "$OUT/etc/redis/redis.conf" && ! grep -q '^logfile /' "$OUT/etc/redis/redis.conf"; then
		ok "$name: redis.conf logs to the journal"
	else
		fail "$name: redis.conf does not say logfile \"\": $(grep '^logfile' "$OUT/etc/redis/redis.conf")"
	fi
}

# Stop the Redis this test started, found through its pid file only.
stop_redis() {
	local pid i=0
	[ -s "$PIDFILE" ] || return 0
	pid=$(cat "$PIDFILE")
	case "$pid" in '' | *[!0-9]*) rm -f "$PIDFILE"; return 0 ;; esac
	if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = redis-server ]; then
		kill "$pid" 2>/dev/null || :
		# Gone, or a zombie nobody reaps yet: either way it no longer listens.
		while [ $i -lt 100 ] && [ -d "/proc/$pid" ] &&
			! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null; do
			sleep 0.05
			i=$((i + 1))
		done
		if [ $i -ge 100 ]; then
			kill -9 "$pid" 2>/dev/null || :
		fi
	fi
	rm -f "$PIDFILE"
}
at_exit stop_redis

# start_redis: run redis-server on the rendered file and wait until it answers on
# 127.0.0.1 (a PONG or a NOAUTH are both answers); 1 when it does not.
start_redis() {
	local reply="" i=0
	stop_redis
	rm -rf "$DATA"
	mkdir -p "$DATA"
	: >"$LOG"
	check "$name: redis-server starts with the rendered redis.conf"
	if ! redis-server "$OUT/etc/redis/redis.conf" --dir "$DATA" --logfile "$LOG" \
		--pidfile "$PIDFILE" --daemonize yes >"$TMP/redis.start" 2>&1; then
		fail "$name: redis-server refused the rendered file: $(head -c 2000 "$TMP/redis.start" | tr '\n' ' ')"
		return 1
	fi
	while [ $i -lt 100 ]; do
		reply=$(rcli 127.0.0.1 "" PING) || :
		case "$reply" in
		*PONG* | *NOAUTH*)
			[ -s "$PIDFILE" ] && break ;;
		esac
		sleep 0.05
		i=$((i + 1))
	done
	if [ $i -ge 100 ]; then
		fail "$name: redis-server does not answer on 127.0.0.1:$port: $reply; log: $(tail -n 5 "$LOG" | tr '\n' ' ')"
		return 1
	fi
	ok "$name: redis-server starts with the rendered redis.conf"
}

# The checks every running case makes: the password works, a wrong one and none do not.
check_auth() {
	local reply
	reply=$(rcli 127.0.0.1 "$pw" PING) || :
	expect_eq "$name: AUTH with the password, then PING" "$reply" PONG

	reply=$(rcli 127.0.0.1 "wrong-password-$$-not-it" PING) || :
	check "$name: a wrong password is refused"
	case "$reply" in
	*PONG*) fail "$name: a wrong password is accepted" ;;
	*WRONGPASS* | *NOAUTH*) ok "$name: a wrong password is refused" ;;
	*) fail "$name: a wrong password: unexpected reply '$reply'" ;;
	esac

	for cmd in PING "GET doagent-test-key"; do
		# shellcheck disable=SC2086 # split the command into its words
		reply=$(rcli 127.0.0.1 "" $cmd) || :
		check "$name: $cmd without a password is refused"
		case "$reply" in
		*NOAUTH*) ok "$name: $cmd without a password is refused" ;;
		*) fail "$name: $cmd without a password: got '$reply', want NOAUTH" ;;
		esac
	done
	expect_eq "$name: protected-mode" "$(cfg protected-mode)" yes
	expect_eq "$name: port" "$(cfg port)" "$port"
}

answers_on() {	# HOST
	local reply
	reply=$(rcli "$1" "$pw" PING) || :
	expect_eq "$name: Redis answers on $1:$port" "$reply" PONG
}

silent_on() {	# HOST
	local reply
	reply=$(rcli "$1" "$pw" PING) || :
	check "$name: Redis does not answer on $1:$port"
	case "$reply" in
	*"Could not connect"* | *refused*) ok "$name: Redis does not answer on $1:$port" ;;
	*) fail "$name: Redis on $1:$port: got '$reply', want no connection" ;;
	esac
}

# ---- bind = private, a plain password, a size, AOF on, snapshots off ----

name=private
port=$(free_port)
pw='Plain.pass-word:1234/ok@x*y+z'
ini "$TMP/$name.ini" '#doagent' '[redis]' "port = $port" "password = $pw" \
	'maxmemory = 512mb' 'maxmemory-policy = volatile-lfu' 'bind = private' \
	'appendonly = yes' 'snapshots = no' '' '[tls]' 'enabled = no'
if render; then
	no_leak
	if start_redis; then
		check_auth
		expect_eq "$name: maxmemory 512mb" "$(cfg maxmemory)" 536870912
		expect_eq "$name: maxmemory-policy" "$(cfg maxmemory-policy)" volatile-lfu
		expect_eq "$name: appendonly" "$(cfg appendonly)" yes
		expect_eq "$name: save (snapshots = no)" "$(cfg save)" ""
		bind=$(cfg bind)
		expect_has "$name: bind has the private address" "$bind" "$PRIVATE"
		expect_has "$name: bind has loopback" "$bind" 127.0.0.1
		expect_lacks "$name: bind lacks the public address" "$bind" "$PUBLIC"
		answers_on "$PRIVATE"
		silent_on "$PUBLIC"
	fi
	stop_redis
fi

# ---- bind = loopback, a password full of metacharacters, a percentage, snapshots on ----

name=loopback
port=$(free_port)
# shellcheck disable=SC2016 # the $( and backticks are the password's, not the shell's
pw='p"a'\''s\s w$(rm)`x`;#{}|&<>!*?~[x]%=:@/'
ini "$TMP/$name.ini" '#doagent' '[redis]' "port = $port" "password = $pw" \
	'maxmemory = 50%' 'maxmemory-policy = noeviction' 'bind = loopback' \
	'appendonly = no' 'snapshots = yes' '' '[tls]' 'enabled = no'
if render; then
	no_leak
	if start_redis; then
		check_auth
		expect_eq "$name: maxmemory 50% of 1gb" "$(cfg maxmemory)" 536870912
		expect_eq "$name: maxmemory-policy" "$(cfg maxmemory-policy)" noeviction
		expect_eq "$name: appendonly" "$(cfg appendonly)" no
		expect_eq "$name: save (snapshots = yes)" "$(cfg save)" "3600 1 300 100 60 10000"
		bind=$(cfg bind)
		expect_eq "$name: bind is loopback only" "$bind" "127.0.0.1 -::1"
		answers_on 127.0.0.1
		silent_on "$PRIVATE"
	fi
	stop_redis
fi

# ---- bind = public, a password with a literal "\ndir ..." in it, no memory limit ----

name=public
port=$(free_port)
pw='inject\ndir /root/.ssh\ndbfilename authorized_keys'
ini "$TMP/$name.ini" '#doagent' '[redis]' "port = $port" "password = $pw" \
	'maxmemory = 0' 'maxmemory-policy = allkeys-random' 'bind = public' \
	'appendonly = no' 'snapshots = no' '' '[tls]' 'enabled = no'
if render; then
	no_leak
	conf="$OUT/etc/redis/redis.conf"
	expect_eq "$name: one dir directive in redis.conf" "$(grep -c '^[[:space:]]*dir[[:space:]]' "$conf")" 1
	expect_eq "$name: one dbfilename directive in redis.conf" \
		"$(grep -c '^[[:space:]]*dbfilename[[:space:]]' "$conf")" 1
	if start_redis; then
		check_auth
		expect_eq "$name: dir is the command line's, nothing injected" "$(cfg dir)" "$DATA"
		expect_eq "$name: dbfilename" "$(cfg dbfilename)" dump.rdb
		expect_eq "$name: maxmemory 0" "$(cfg maxmemory)" 0
		expect_eq "$name: maxmemory-policy" "$(cfg maxmemory-policy)" allkeys-random
		expect_eq "$name: save (snapshots = no)" "$(cfg save)" ""
		bind=$(cfg bind)
		expect_has "$name: bind has the public address" "$bind" "$PUBLIC"
		expect_has "$name: bind has the private address" "$bind" "$PRIVATE"
		answers_on "$PUBLIC"
		answers_on "$PRIVATE"
	fi
	stop_redis
fi

# ---- no password key: the generated one, from the connection details ----

name=generated
port=$(free_port)
pw=""
ini "$TMP/$name.ini" '#doagent' '[redis]' "port = $port" '' '[tls]' 'enabled = no'
if render; then
	conn="$OUT/root/doagent-connection.txt"
	pw=$(sed -n 's/^Password: //p' "$conn" 2>/dev/null) || :
	check "$name: the password is 64 hex characters"
	if printf '%s\n' "$pw" | grep -Eqx '[0-9a-fA-F]{64}'; then
		ok "$name: the password is 64 hex characters"
	else
		fail "$name: the connection file's password is not 64 hex characters"
	fi
	no_leak
	expect_eq "$name: redis.conf mode" "$(stat -c %a "$OUT/etc/redis/redis.conf")" 640
	expect_eq "$name: connection file mode" "$(stat -c %a "$conn" 2>/dev/null || :)" 600
	if [ -n "$pw" ] && start_redis; then
		check_auth
		expect_eq "$name: default maxmemory 75% of 1gb" "$(cfg maxmemory)" 805306368
		expect_eq "$name: default maxmemory-policy" "$(cfg maxmemory-policy)" allkeys-lru
		expect_eq "$name: default appendonly" "$(cfg appendonly)" no
		expect_eq "$name: default save" "$(cfg save)" "3600 1 300 100 60 10000"
		expect_has "$name: default bind has the private address" "$(cfg bind)" "$PRIVATE"
		answers_on "$PRIVATE"
	fi
	stop_redis
fi

# ---- TLS on: the plaintext port stays on loopback although bind = private ----

name=tls
port=$(free_port)
pw='Tls-case.password:0123456789'
ini "$TMP/$name.ini" '#doagent' '[redis]' "port = $port" "password = $pw" \
	'maxmemory = 512mb' 'maxmemory-policy = volatile-ttl' 'bind = private' '' \
	'[tls]' 'enabled = yes' "port = $(free_port)" 'plaintext = loopback'
if render; then
	no_leak
	expect_eq "$name: rendered bind line" \
		"$(grep '^[[:space:]]*bind[[:space:]]' "$OUT/etc/redis/redis.conf")" "bind 127.0.0.1 -::1"
	if start_redis; then
		check_auth
		expect_eq "$name: bind is loopback only" "$(cfg bind)" "127.0.0.1 -::1"
		expect_eq "$name: maxmemory-policy" "$(cfg maxmemory-policy)" volatile-ttl
		answers_on 127.0.0.1
		silent_on "$PRIVATE"
	fi
	stop_redis
fi

finish
