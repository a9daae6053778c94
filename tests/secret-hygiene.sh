#!/bin/sh
# Secret hygiene across the commands the test suite runs: doagent --check, --dry-run
# (with --json and --output-dir), the first boot under --root against the fake metadata
# service (the password and the TLS pair from the user data, and both generated), a
# rerun, --status as root and as nobody, invalid input; doagent-launch validate, create
# (--dry-run and for real), list, get, destroy, a wrong token, --token-file and an
# unreachable API against the fake DigitalOcean API.
#
# Canaries: a password and a TLS key in the user data, the API token, and the password
# and key generated on the "droplet". None of them may appear
# - in any command's stderr, nor on stdout but where it is the point (root's
#   connection details: doagent --status as root, doagent-launch create);
# - in the journal: doagent runs once with stderr as its journal stream
#   (JOURNAL_STREAM), and what it sends to journald's socket is read by strace;
# - in any argv: every execve of each command and its children (strace -f), and
#   /proc/*/cmdline sampled while the commands run;
# - in any file but those meant to hold them, which must not be readable by others.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

[ -x "$DOAGENT" ] || skip "$DOAGENT is not built"
: "${DOAGENT_LAUNCH:=$top_builddir/doagent-launch}"
[ -x "$DOAGENT_LAUNCH" ] || skip "$DOAGENT_LAUNCH is not built"
need python3 strace setpriv
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
unset DIGITALOCEAN_ACCESS_TOKEN DIGITALOCEAN_TOKEN DIGITALOCEAN_API_URL DOAGENT_TEST_KILL_AFTER XDG_STATE_HOME
# LeakSanitizer cannot run under strace (it uses ptrace itself).
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
export ASAN_OPTIONS

PW=canary-Hygiene-pw-5d2c8e71
TOKEN=canary-Hygiene-token-93a1f0
WRONG_TOKEN=canary-Hygiene-wrong-token-44be
T="$FIXTURES/tls"
# The secrets, by kind, as grep -F pattern files (never on a command line).
P="$TMP/pat"
mkdir -p "$P" "$TMP/home"
printf '%s\n' "$PW" >"$P/password"
printf '%s\n%s\n' "$TOKEN" "$WRONG_TOKEN" >"$P/token"
key_lines() { grep -v -e '^-----' -e '^$' "$1"; }   # a PEM key's base64 lines
key_lines "$T/valid-key.pem" >"$P/key"
key_lines "$T/other-key.pem" >>"$P/key"
printf '%s\n' "$TOKEN" >"$TMP/token-file"
chmod 600 "$TMP/token-file"

# User data: the password and the certificate and key (valid-cert, valid-key).
pem_ini() { # PASSWORD-LINE CERT KEY
	printf '#doagent\n[redis]\nport = 7393\n%s\n[tls]\nenabled = yes\nport = 7394\ncertificate =\n' "$1"
	sed 's/^/    /' "$2"
	printf 'key =\n'
	sed 's/^/    /' "$3"
}
pem_ini "password = $PW" "$T/valid-cert.pem" "$T/valid-key.pem" >"$TMP/ud.ini"
# The same with Redis' own TLS: redis-server reads a copy of the key.
sed 's/^\[tls\]$/[tls]\nengine = redis/' "$TMP/ud.ini" >"$TMP/ud-native.ini"
printf '#doagent\n[redis]\nport = 7393\n[tls]\nenabled = yes\nport = 7394\n' >"$TMP/ud-gen.ini"
pem_ini "password = $PW" "$T/valid-cert.pem" "$T/other-key.pem" >"$TMP/ud-mismatch.ini"
printf '#doagent\n[redis]\nport = 70000\npassword = %s\n' "$PW" >"$TMP/ud-bad-port.ini"
printf '#doagent\n[redis]\npassword = %s\tx\n' "$PW" >"$TMP/ud-bad-pw.ini"
printf '#doagent\n[redis]\npasword = %s\n' "$PW" >"$TMP/ud-typo.ini"
{ printf '#doagent\n[tls]\nkey =\n'; sed 's/^/    /' "$T/valid-key.pem"; } >"$TMP/ud-key-only.ini"

# A metadata document carrying user data, for the runs that read it from a file.
md_doc() { # USER-DATA OUT
	python3 - "$FIXTURES/metadata/full.json" "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["user_data"] = open(sys.argv[2]).read()
json.dump(d, open(sys.argv[3], "w"))
PY
}
md_doc "$TMP/ud.ini" "$TMP/md.json"

# The fakes. Their own argv (the fake API's --token) is the harness, not the product:
# the sampler leaves their processes out.
start_server() { # OUTFILE COMMAND...: sets $server_pid and $server_url
	local out="$1"
	shift
	"$@" >"$out" 2>"$out.err" &
	server_pid=$!
	at_exit "stop_pid $server_pid"
	i=0
	until grep -q '^PORT ' "$out" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 200 ] && kill -0 "$server_pid" 2>/dev/null || { echo "FAIL: $* did not start: $(cat "$out.err")" >&2; exit 1; }
		sleep 0.05
	done
	server_url="http://127.0.0.1:$(sed -n 's/^PORT //p' "$out")"
}
start_server "$TMP/md1.port" python3 "$top_srcdir/tests/fake-metadata.py" --bind 127.0.0.1 --port 0 --quiet \
	--document "$FIXTURES/metadata/full.json" --user-data "$TMP/ud.ini" --droplet-id 6101
md_pid=$server_pid md_url=$server_url
start_server "$TMP/md2.port" python3 "$top_srcdir/tests/fake-metadata.py" --bind 127.0.0.1 --port 0 --quiet \
	--document "$FIXTURES/metadata/full.json" --user-data "$TMP/ud-gen.ini" --droplet-id 6102
gen_pid=$server_pid gen_url=$server_url
start_server "$TMP/md3.port" python3 "$top_srcdir/tests/fake-metadata.py" --bind 127.0.0.1 --port 0 --quiet \
	--document "$FIXTURES/metadata/full.json" --user-data "$TMP/ud-bad-port.ini" --droplet-id 6103
bad_pid=$server_pid bad_url=$server_url
start_server "$TMP/api.port" python3 "$top_srcdir/tests/fake-doapi.py" --bind 127.0.0.1 --port 0 \
	--token "$TOKEN" --active-after 1 --quiet
api_pid=$server_pid api_url=$server_url

# The sampler: every distinct /proc/*/cmdline, while the commands run, of the
# processes this test started (its descendants: not other tests that make check
# runs beside it, whose own greps may hold their fixtures' keys), but the fakes.
cat >"$TMP/sampler.py" <<'PY'
import os, signal, sys, time

out, root = sys.argv[1], sys.argv[2]
skip = set(sys.argv[3:]) | {str(os.getpid())}
seen, stop = set(), []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))


def parent(pid):
    with open("/proc/%s/stat" % pid, "rb") as f:
        stat = f.read()
    return stat[stat.rindex(b")") + 2:].split()[1].decode()


while not stop:
    pids = [p for p in os.listdir("/proc") if p.isdigit()]
    ppid = {}
    for pid in pids:
        try:
            ppid[pid] = parent(pid)
        except (OSError, ValueError, IndexError):
            pass
    for pid in pids:
        p, ours = pid, False
        for _ in range(64):
            if p == root:
                ours = True
                break
            p = ppid.get(p)
            if not p or p == "0":
                break
        if not ours or pid in skip:
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                seen.add(f.read().replace(b"\0", b" "))
        except OSError:
            pass
    time.sleep(0.002)
with open(out, "wb") as f:
    for c in sorted(seen):
        f.write(c + b"\n")
PY
python3 "$TMP/sampler.py" "$TMP/cmdlines" "$$" "$md_pid" "$gen_pid" "$bad_pid" "$api_pid" &
sampler_pid=$!
at_exit "stop_pid $sampler_pid"
sleep 0.2

# run NAME STDOUT-MAY-HOLD COMMAND...: run COMMAND under strace -f (every execve, and
# what goes to journald's socket), stdout, stderr and the trace kept as $TMP/run/N.*.
# STDOUT-MAY-HOLD is "password" where the password on stdout is the point, else "-".
# With JOURNAL=1, stderr is announced as the journal stream (as systemd does).
mkdir -p "$TMP/run"
n=0
run() {
	local name="$1" may="$2"
	shift 2
	n=$((n + 1))
	: >"$TMP/run/$n.err"
	status=0
	if [ "${JOURNAL:-0}" = 1 ]; then
		# shellcheck disable=SC2094 # stat names the file stderr goes to: nothing reads it
		JOURNAL_STREAM=$(stat -c '%d:%i' "$TMP/run/$n.err") HOME="$TMP/home" \
			strace -f -qq -s 100000 -e trace=execve,sendmsg -o "$TMP/run/$n.trace" "$@" \
			>"$TMP/run/$n.out" 2>"$TMP/run/$n.err" </dev/null || status=$?
	else
		HOME="$TMP/home" strace -f -qq -s 100000 -e trace=execve,sendmsg -o "$TMP/run/$n.trace" "$@" \
			>"$TMP/run/$n.out" 2>"$TMP/run/$n.err" </dev/null || status=$?
	fi
	[ "${JOURNAL:-0}" = 1 ] && name="$name (journal)"
	printf '%s\t%s\t%s\t%s\n' "$n" "$may" "$status" "$name" >>"$TMP/run/index"
}
expect() { # STATUS: the last run's exit status
	check; [ "$status" -eq "$1" ] || fail "run $n ($(tail -n 1 "$TMP/run/index" | cut -f 4)): exit $status, expected $1: $(head -c 600 "$TMP/run/$n.err")"
}

users() { # ROOT: an image root with its users
	mkdir -p "$1/etc"
	printf 'root:x:0:0:root:/root:/bin/sh\nredis:x:4242:4243::/var/lib/redis:/usr/sbin/nologin\n' >"$1/etc/passwd"
	printf 'root:x:0:\nredis:x:4243:\n' >"$1/etc/group"
}

# --- doagent, with stderr, then with the journal ------------------------------------
chmod 0755 "$TMP"	# nobody must reach the roots for --status
for JOURNAL in 0 1; do
	R="$TMP/root-$JOURNAL" G="$TMP/gen-$JOURNAL" F="$TMP/fail-$JOURNAL" N="$TMP/native-$JOURNAL"
	users "$R"; users "$G"; users "$F"; users "$N"
	boot="--metadata $md_url --templates $TEMPLATES --deadline 20"
	run "check" - "$DOAGENT" --check --user-data "$TMP/ud.ini"; expect 0
	run "check --json" - "$DOAGENT" --check --json --user-data "$TMP/ud.ini"; expect 0
	run "dry-run" - "$DOAGENT" --dry-run --metadata "$TMP/md.json" --templates "$TEMPLATES" --memory 2gb; expect 0
	run "dry-run --json" - "$DOAGENT" --dry-run --json --metadata "$TMP/md.json" --templates "$TEMPLATES" --memory 2gb; expect 0
	run "dry-run --output-dir" - "$DOAGENT" --dry-run --metadata "$TMP/md.json" --templates "$TEMPLATES" --memory 2gb \
		--output-dir "$TMP/out-$JOURNAL"; expect 0
	# shellcheck disable=SC2086
	run "first boot" - "$DOAGENT" --root "$R" $boot; expect 0
	# shellcheck disable=SC2086
	run "first boot again" - "$DOAGENT" --root "$R" $boot; expect 0
	# shellcheck disable=SC2086
	run "first boot --force" - "$DOAGENT" --root "$R" $boot --force; expect 0
	run "status as root" password "$DOAGENT" --status --root "$R"; expect 0
	run "status --json as root" password "$DOAGENT" --status --json --root "$R"; expect 0
	run "status as nobody" - setpriv --reuid=65534 --regid=65534 --clear-groups "$DOAGENT" --status --root "$R"; expect 0
	run "first boot, engine = redis" - "$DOAGENT" --root "$N" --metadata "$TMP/md.json" --user-data "$TMP/ud-native.ini" \
		--templates "$TEMPLATES"; expect 0
	run "first boot, engine = redis, --force" - "$DOAGENT" --root "$N" --metadata "$TMP/md.json" \
		--user-data "$TMP/ud-native.ini" --templates "$TEMPLATES" --force; expect 0
	run "first boot, generated" - "$DOAGENT" --root "$G" --metadata "$gen_url" --templates "$TEMPLATES" --deadline 20; expect 0
	run "status as root, generated" password "$DOAGENT" --status --json --root "$G"; expect 0
	run "first boot, generated, --force" - "$DOAGENT" --root "$G" --metadata "$gen_url" --templates "$TEMPLATES" --force; expect 0
	# Invalid input next to the secrets.
	run "first boot, bad port" - "$DOAGENT" --root "$F" --metadata "$bad_url" --templates "$TEMPLATES" --deadline 20; expect 65
	run "status after a failure" - "$DOAGENT" --status --json --root "$F"; expect 65
	for ud in bad-port bad-pw typo mismatch key-only; do
		run "check $ud" - "$DOAGENT" --check --user-data "$TMP/ud-$ud.ini"; expect 65
		run "check --json $ud" - "$DOAGENT" --check --json --user-data "$TMP/ud-$ud.ini"; expect 65
		run "dry-run $ud" - "$DOAGENT" --dry-run --metadata "$TMP/md.json" --user-data "$TMP/ud-$ud.ini" \
			--templates "$TEMPLATES" --memory 2gb; expect 65
	done
	run "first boot, mismatched pair" - "$DOAGENT" --root "$F" --metadata "$TMP/md.json" --user-data "$TMP/ud-mismatch.ini" \
		--templates "$TEMPLATES"; expect 65
	run "unreachable metadata" - "$DOAGENT" --root "$F" --metadata "http://127.0.0.1:1" --user-data "$TMP/ud.ini" \
		--templates "$TEMPLATES" --deadline 1; expect 69
done
JOURNAL=

# --- doagent-launch --------------------------------------------------------------------
L="$DOAGENT_LAUNCH"
api="--api-url $api_url"
create_args="--image ubuntu-24-04-x64 --region fra1 --size s-1vcpu-1gb --user-data-file $TMP/ud.ini"
export DIGITALOCEAN_ACCESS_TOKEN="$TOKEN"
run "launch validate" - "$L" validate "$TMP/ud.ini"; expect 0
run "launch validate, invalid" - "$L" validate "$TMP/ud-bad-pw.ini"; expect 65
run "launch validate, typo" - "$L" validate "$TMP/ud-typo.ini"; expect 65
# Only its output matters here, not whether it sees that the key is not the certificate's.
run "launch validate, mismatched pair" - "$L" validate "$TMP/ud-mismatch.ini"
# shellcheck disable=SC2086
run "launch create --dry-run" - "$L" $api create hyg-dry $create_args --dry-run; expect 0
# shellcheck disable=SC2086
run "launch create" password "$L" $api create hyg1 $create_args --wait-timeout 30; expect 0
# shellcheck disable=SC2086
run "launch create -o json" password "$L" $api create hyg2 $create_args --wait-timeout 30 -o json; expect 0
# shellcheck disable=SC2086
run "launch create, invalid" - "$L" $api create hyg-bad --image x --region fra1 --size s --user-data-file "$TMP/ud-bad-pw.ini"; expect 65
# shellcheck disable=SC2086
run "launch list" - "$L" $api list; expect 0
# shellcheck disable=SC2086
run "launch list -o json" - "$L" $api list -o json; expect 0
# shellcheck disable=SC2086
run "launch get" - "$L" $api get hyg1; expect 0
# shellcheck disable=SC2086
run "launch get -o json" - "$L" $api get hyg1 -o json; expect 0
# shellcheck disable=SC2086
run "launch destroy" - "$L" $api destroy hyg1 --force; expect 0
unset DIGITALOCEAN_ACCESS_TOKEN
# shellcheck disable=SC2086
run "launch --token-file destroy" - "$L" $api --token-file "$TMP/token-file" destroy hyg2 --force; expect 0
# shellcheck disable=SC2086
run "launch --token-file list" - "$L" $api --token-file "$TMP/token-file" list; expect 0
export DIGITALOCEAN_TOKEN="$WRONG_TOKEN"
# shellcheck disable=SC2086
run "launch, a wrong token" - "$L" $api list
check; [ "$status" -ne 0 ] || fail "a wrong token was accepted"
unset DIGITALOCEAN_TOKEN
export DIGITALOCEAN_ACCESS_TOKEN="$TOKEN"
run "launch, unreachable API" - "$L" --api-url "http://127.0.0.1:$(free_port)" list; expect 69
unset DIGITALOCEAN_ACCESS_TOKEN

# --- the checks, with the commands stopped --------------------------------------------
kill "$sampler_pid"
wait "$sampler_pid" || true

# The secrets the droplets generated join the canaries.
for J in 0 1; do
	cat "$TMP/gen-$J/var/lib/doagent/secrets/password" >>"$P/password" 2>/dev/null && echo >>"$P/password"
	key_lines "$TMP/gen-$J/var/lib/doagent/secrets/tls.key" >>"$P/key" 2>/dev/null
done
sed -i '/^$/d' "$P/password"
check; [ "$(wc -l <"$P/password")" -eq 3 ] && [ "$(wc -l <"$P/key")" -ge 12 ] ||
	fail "the generated password and key are missing: $(wc -l <"$P/password") passwords, $(wc -l <"$P/key") key lines"
cat "$P/password" "$P/token" "$P/key" | sed '/^$/d' >"$P/all"

# found FILE: FILE holds some secret (any kind), also behind JSON's escaped "/".
found() { sed 's#\\/#/#g' "$1" 2>/dev/null | grep -qF -f "$P/all"; }
# which_kinds FILE: the kinds of secret FILE holds.
which_kinds() {
	for k in password token key; do
		sed 's#\\/#/#g' "$1" 2>/dev/null | grep -qF -f "$P/$k" && printf '%s ' "$k"
	done
	return 0
}

while IFS="$(printf '\t')" read -r i may st name; do
	# stderr: never.
	check; ! found "$TMP/run/$i.err" || fail "$name: stderr holds a secret ($(which_kinds "$TMP/run/$i.err")): $(head -c 300 "$TMP/run/$i.err")"
	# stdout: the password only where it is the point; the token and keys never.
	if [ "$may" = password ]; then
		check; ! grep -qF -f "$P/token" "$TMP/run/$i.out" && ! grep -qF -f "$P/key" "$TMP/run/$i.out" ||
			fail "$name: stdout holds a token or a key"
		check; [ "$st" -ne 0 ] || grep -qF -f "$P/password" "$TMP/run/$i.out" || fail "$name: stdout lacks the connection details"
	else
		check; ! found "$TMP/run/$i.out" || fail "$name: stdout holds a secret ($(which_kinds "$TMP/run/$i.out"))"
	fi
	# argv of every program it ran.
	grep -E '^[0-9]+ +execve\(' "$TMP/run/$i.trace" >"$TMP/execve" || true
	check; [ -s "$TMP/execve" ] || fail "$name: strace saw no execve"
	check; ! found "$TMP/execve" || fail "$name: a command line holds a secret ($(which_kinds "$TMP/execve")): $(grep -F -f "$P/all" "$TMP/execve" | head -c 300)"
	# What it sent to the journal.
	grep -E '^[0-9]+ +sendmsg\(' "$TMP/run/$i.trace" | grep -F 'journal' >"$TMP/journal" || true
	check; ! found "$TMP/journal" || fail "$name: the journal holds a secret ($(which_kinds "$TMP/journal"))"
	cat "$TMP/journal" >>"$TMP/journal-all"
done <"$TMP/run/index"
# The journal runs did log there: the journal check is not empty.
check; grep -q 'DOAGENT_STEP=files' "$TMP/journal-all" 2>/dev/null ||
	fail "nothing reached the journal socket in the journal runs"
check; ! grep -q 'DOAGENT_STEP' "$TMP/run/"*.err || fail "journal records went to stderr"

# Every command line seen while the commands ran.
check; [ "$(wc -l <"$TMP/cmdlines")" -gt 10 ] && grep -q 'doagent' "$TMP/cmdlines" || fail "the sampler saw no doagent command line"
check; ! found "$TMP/cmdlines" || fail "a /proc/*/cmdline held a secret: $(grep -F -f "$P/all" "$TMP/cmdlines" | head -c 300)"

# Files: only those meant to hold a secret do, and they are not readable by others.
# KIND PATH MODE, one a line: where a secret may be, with its mode.
# doagent-launch create's record of the user data it sent (doagent-launch(1)) holds
# what that user data holds: the password and the key.
allowed='password /etc/redis/redis.conf 640
password /root/doagent-connection.txt 600
password /var/lib/doagent/secrets/password 600
key /var/lib/doagent/secrets/tls.key 600
key /etc/doagent/tls/redis.key 640
password /.local/state/doagent-launch/LAUNCH-ID.json 600
key /.local/state/doagent-launch/LAUNCH-ID.json 600'
for tree in "$TMP/root-0" "$TMP/root-1" "$TMP/gen-0" "$TMP/gen-1" "$TMP/fail-0" "$TMP/fail-1" "$TMP/native-0" "$TMP/native-1" \
	"$TMP/out-0" "$TMP/out-1" "$TMP/home"; do
	[ -d "$tree" ] || continue
	# shellcheck disable=SC2044 # no blanks in these paths; a pipe would lose the counts
	for f in $(find "$tree" -type f); do
		kinds=$(which_kinds "$f")
		[ -n "$kinds" ] || continue
		rel=$(printf '%s' "${f#"$tree"}" | sed 's|^/\.local/state/doagent-launch/[A-Za-z0-9_-]*\.json$|/.local/state/doagent-launch/LAUNCH-ID.json|')
		mode=$(stat -c %a "$f")
		for k in $kinds; do
			check; printf '%s\n' "$allowed" | grep -qx "$k $rel $mode" ||
				fail "${tree#"$TMP/"}$rel (mode $mode) holds a $k"
		done
	done
done
# The first boot did put them where they belong.
check; grep -qF -f "$P/password" "$TMP/root-0/etc/redis/redis.conf" && grep -qF -f "$P/key" "$TMP/root-0/var/lib/doagent/secrets/tls.key" ||
	fail "the first boot did not store the password and the key"
# engine = redis: the key's copy is for root and the redis group (4243 in these roots)
# alone, and only there.
check; [ "$(stat -c '%a %u %g' "$TMP/native-0/etc/doagent/tls/redis.key" 2>/dev/null)" = "640 0 4243" ] &&
	grep -qF -f "$P/key" "$TMP/native-0/etc/doagent/tls/redis.key" ||
	fail "engine = redis: no key copy 0640 root:redis: $(stat -c '%a %u %g' "$TMP/native-0/etc/doagent/tls/redis.key" 2>&1)"
check; [ ! -e "$TMP/root-0/etc/doagent/tls/redis.key" ] || fail "engine = stunnel left a key copy for redis-server"
# No other file in the home directory: doagent-launch wrote only its records, one for
# each create that got as far as the API, in a directory only its user can enter.
records="$TMP/home/.local/state/doagent-launch"
check; [ -z "$(find "$TMP/home" -type f ! -path "$records/*.json")" ] || fail "doagent-launch wrote files: $(find "$TMP/home" -type f)"
check; [ "$(find "$records" -name '*.json' | wc -l)" -eq 2 ] && [ "$(stat -c %a "$records")" = 700 ] ||
	fail "doagent-launch's records: $(ls -la "$records" 2>&1)"

echo "$n commands checked"
finish
