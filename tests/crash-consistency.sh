#!/bin/sh
# Crash consistency of the first boot, under --root against the fake metadata service,
# with a password and a TLS key generated on the droplet (the hard case):
#
# - doagent is killed (SIGKILL, DOAGENT_TEST_KILL_AFTER) after each step in turn, the
#   steps read from the state an uninterrupted run records, so a new step is covered
#   without editing this file;
# - doagent is killed inside a write: strace injects SIGKILL at the entry of every
#   write, fchmod, fchown, fsync, syncfs and rename the uninterrupted run makes, one run
#   each (the files' fsyncs are deferred to one syncfs before state.json is written);
#
# after each kill a plain rerun converges to the uninterrupted run's tree (the same
# files, types, modes, owners and contents, up to the values generated at random, which
# must be consistent within the tree), keeps the password and key made before the kill,
# leaves no temporary file, and a third run changes nothing. Every file that existed
# right after a kill is already the final version of that file, and a reader polling
# the trees while all of this runs never sees any other version of a file.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

[ -x "$DOAGENT" ] || skip "$DOAGENT is not built"
need python3 openssl strace
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
unset DOAGENT_TEST_KILL_AFTER
# LeakSanitizer cannot run under strace (it uses ptrace itself); the other tests run
# every path without strace and with leak checking.
strace_asan="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

droplet=5151
printf 'root:x:0:0:root:/root:/bin/sh\nredis:x:4242:4243::/var/lib/redis:/usr/sbin/nologin\n' >"$TMP/passwd"
printf 'root:x:0:\nredis:x:4243:\n' >"$TMP/group"
printf '#doagent\n[redis]\nport = 7391\nmaxmemory-policy = allkeys-lfu\n[tls]\nenabled = yes\nport = 7392\n' >"$TMP/ud.ini"

python3 "$top_srcdir/tests/fake-metadata.py" --bind 127.0.0.1 --port 0 --quiet \
	--document "$FIXTURES/metadata/full.json" --user-data "$TMP/ud.ini" --droplet-id "$droplet" >"$TMP/fake.out" &
fake_pid=$!
at_exit "stop_pid $fake_pid"
i=0
until grep -q '^PORT ' "$TMP/fake.out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 200 ] && kill -0 "$fake_pid" 2>/dev/null || { echo "FAIL: the fake metadata service did not start" >&2; exit 1; }
	sleep 0.05
done
url="http://127.0.0.1:$(sed -n 's/^PORT //p' "$TMP/fake.out")"

# The trees live under $RUNS, watched by the reader; everything else is outside it.
RUNS="$TMP/runs"
mkdir -p "$RUNS"

new_root() { # DIR: an image's root with its own users, made aside and moved in whole
	local stage="$TMP/stage"
	rm -rf "$stage"
	mkdir -p "$stage/etc"
	cp "$TMP/passwd" "$stage/etc/passwd"
	cp "$TMP/group" "$stage/etc/group"
	mv "$stage" "$1"
}

# agent ROOT: one plain first-boot run; $status, output in $TMP/out and $TMP/err.
agent() {
	run_agent --root "$1" --metadata "$url" --templates "$TEMPLATES" --deadline 20
}

# manifest ROOT: every entry under ROOT, one line each: path, type, mode, uid, gid and
# a hash of the content in which the values this tree generated at random (its
# password, TLS key, certificate, the certificate's fingerprint) and the root's own
# path are replaced by placeholders; state.json is reduced to its outcome and steps.
cat >"$TMP/manifest.py" <<'PY'
import base64, hashlib, json, os, re, stat, sys

root = sys.argv[1].rstrip("/")

def read(rel):
    try:
        with open(os.path.join(root, rel), "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None

subst = [(root.encode(), b"@ROOT@")]
pw = read("var/lib/doagent/secrets/password")
key = read("var/lib/doagent/secrets/tls.key")
cert = read("etc/doagent/tls/redis.crt")
if cert:
    m = re.search(rb"-----BEGIN CERTIFICATE-----\n(.*?)-----END CERTIFICATE-----", cert, re.S)
    der = base64.b64decode(b"".join(m.group(1).split()))
    fp = hashlib.sha256(der).hexdigest().upper()
    subst.append((":".join(fp[i:i + 2] for i in range(0, 64, 2)).encode(), b"@FINGERPRINT@"))
    subst.append((fp.encode(), b"@FINGERPRINT@"))
    subst.append((cert.strip(), b"@CERT@"))
if key:
    subst.append((key.strip(), b"@KEY@"))
if pw:
    subst.append((pw.strip(), b"@PASSWORD@"))

def normal(rel, data):
    if rel == "var/lib/doagent/state.json":
        s = json.loads(data)
        keep = {k: s.get(k) for k in ("droplet_id", "configured", "result", "error", "exit_status")}
        keep["steps"] = [(st["name"], st["result"]) for st in s.get("steps", [])]
        return json.dumps(keep, sort_keys=True).encode()
    for old, new in subst:
        data = data.replace(old, new)
    return data

for dirpath, dirs, files in os.walk(root):
    dirs.sort()
    for name in sorted(dirs + files):
        p = os.path.join(dirpath, name)
        rel = os.path.relpath(p, root)
        st = os.lstat(p)
        kind = "d" if stat.S_ISDIR(st.st_mode) else "f" if stat.S_ISREG(st.st_mode) else "l" if stat.S_ISLNK(st.st_mode) else "?"
        digest = "-"
        if kind == "f":
            digest = hashlib.sha256(normal(rel, open(p, "rb").read())).hexdigest()[:16]
        elif kind == "l":
            digest = os.readlink(p)
        print(rel, kind, "%o" % stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, digest)
PY
manifest() { python3 "$TMP/manifest.py" "$1"; }

# raw ROOT: path, mode, owner, inode and exact content hash of every file.
raw() {
	(cd "$1" && find . -type f -printf '%p %m %U %G %i ' -exec sh -c 'sha256sum <"$1" | cut -c1-16' sh {} \; | sort)
}

# The reader: polls every file under $RUNS and records each version it sees (its
# hash), and any state.json that does not parse. Stopped with SIGTERM.
cat >"$TMP/reader.py" <<'PY'
import hashlib, json, os, signal, sys

top, out = sys.argv[1], sys.argv[2]
seen, bad, stop = {}, [], []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
while not stop:
    for dirpath, dirs, files in os.walk(top):
        for name in files:
            if name.startswith(".#"):
                continue        # a temporary file: not a file any reader opens
            p = os.path.join(dirpath, name)
            try:
                with open(p, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            if name == "state.json":
                try:
                    json.loads(data)
                except ValueError:
                    bad.append(p)
                continue
            seen.setdefault(p, set()).add(hashlib.sha256(data).hexdigest())
json.dump({"seen": {p: sorted(h) for p, h in seen.items()}, "bad": bad}, open(out, "w"))
PY
python3 "$TMP/reader.py" "$RUNS" "$TMP/reader.json" &
reader_pid=$!
at_exit "stop_pid $reader_pid"

# --- A: the uninterrupted run -----------------------------------------------------
A="$RUNS/A"
new_root "$A"
agent "$A"
check; [ "$status" -eq 0 ] || { fail "the uninterrupted run: exit $status: $(cat "$TMP/err")"; finish; }
manifest "$A" >"$TMP/A.manifest"
steps=$(python3 -c 'import json,sys; print(" ".join(s["name"] for s in json.load(open(sys.argv[1]))["steps"]))' \
	"$A/var/lib/doagent/state.json")
check; case " $steps " in *" metadata "*" files "*) ;; *) false ;; esac || fail "the steps the state records: '$steps'"
check; grep -Eqx '[0-9a-f]{64}' "$A/var/lib/doagent/secrets/password" && [ -s "$A/var/lib/doagent/secrets/tls.key" ] ||
	fail "the uninterrupted run generated no password or no TLS key"
echo "steps: $steps"

# pubkey FILE: the public key of a certificate or a private key.
pubkey() {
	case "$1" in
	*.crt) openssl x509 -in "$1" -noout -pubkey 2>/dev/null ;;
	*) openssl pkey -in "$1" -pubout 2>/dev/null ;;
	esac
}

# converge NAME ROOT HOW: the checks after a kill (ROOT as the kill left it):
# rerun, compare with A, the secrets kept, nothing partial, idempotent.
converge() {
	local name="$1" B="$2" how="$3" snap="$TMP/snap-$1"
	local pw="" keyh="" certh=""

	# What the kill left: a copy, and the secrets made before it.
	cp -a "$B" "$snap"
	[ -f "$B/var/lib/doagent/secrets/password" ] && pw=$(cat "$B/var/lib/doagent/secrets/password")
	[ -f "$B/var/lib/doagent/secrets/tls.key" ] && keyh=$(sha256sum <"$B/var/lib/doagent/secrets/tls.key")
	[ -f "$B/etc/doagent/tls/redis.crt" ] && certh=$(sha256sum <"$B/etc/doagent/tls/redis.crt")
	if [ "$how" = step ]; then
		check; [ -z "$(find "$B" -name '.#*')" ] || fail "$name: a kill between steps left temporary files: $(find "$B" -name '.#*')"
	fi

	agent "$B"
	check; [ "$status" -eq 0 ] || { fail "$name: the rerun after the kill: exit $status: $(cat "$TMP/err")"; return; }
	manifest "$B" >"$TMP/B.manifest"
	check; cmp -s "$TMP/A.manifest" "$TMP/B.manifest" ||
		fail "$name: the rerun did not converge to the uninterrupted run's tree:
$(diff "$TMP/A.manifest" "$TMP/B.manifest")"
	check; [ -z "$(find "$B" -name '.#*')" ] || fail "$name: temporary files after the rerun: $(find "$B" -name '.#*')"
	check; [ -z "$pw" ] || [ "$(cat "$B/var/lib/doagent/secrets/password")" = "$pw" ] ||
		fail "$name: the rerun replaced the password the killed run had stored"
	check; grep -qx "requirepass $(cat "$B/var/lib/doagent/secrets/password")" "$B/etc/redis/redis.conf" ||
		fail "$name: redis.conf does not hold the stored password"
	check; [ -z "$keyh" ] || [ "$(sha256sum <"$B/var/lib/doagent/secrets/tls.key")" = "$keyh" ] ||
		fail "$name: the rerun replaced the TLS key the killed run had stored"
	check; [ -z "$certh" ] || [ "$(sha256sum <"$B/etc/doagent/tls/redis.crt")" = "$certh" ] ||
		fail "$name: the rerun replaced the certificate the killed run had written"
	check; [ -n "$(pubkey "$B/etc/doagent/tls/redis.crt")" ] &&
		[ "$(pubkey "$B/etc/doagent/tls/redis.crt")" = "$(pubkey "$B/var/lib/doagent/secrets/tls.key")" ] ||
		fail "$name: the certificate is not the stored key's"

	# Every file the kill left is complete: the final version, with the final mode and
	# owner. state.json, which every run rewrites, is there only when the kill came
	# after the run recorded it: then it must be a whole document.
	raw "$snap" >"$TMP/snap.raw"
	raw "$B" >"$TMP/final.raw"
	while read -r path mode uid gid _ino hash; do
		case "$path" in */.#*) continue ;; esac
		if [ "$path" = ./var/lib/doagent/state.json ]; then
			check; python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$snap/$path" ||
				fail "$name: state.json right after the kill is not a whole document"
			continue
		fi
		line=$(grep -F "$path " "$TMP/final.raw" | head -n 1)
		# shellcheck disable=SC2086 # split into its fields
		set -- $line
		check; [ "$#" -eq 6 ] && [ "$2 $3 $4 $6" = "$mode $uid $gid $hash" ] ||
			fail "$name: $path right after the kill ($mode $uid:$gid $hash) is not its final version (${line:-absent})"
	done <"$TMP/snap.raw"

	# A third run changes nothing: every file but state.json keeps its inode and content.
	agent "$B"
	raw "$B" | grep -v '/state\.json ' >"$TMP/third.raw"
	grep -v '/state\.json ' "$TMP/final.raw" >"$TMP/final2.raw"
	check; [ "$status" -eq 0 ] && cmp -s "$TMP/final2.raw" "$TMP/third.raw" ||
		fail "$name: a third run changed files (exit $status): $(diff "$TMP/final2.raw" "$TMP/third.raw")"
	rm -rf "$snap"
}

# --- kills between steps ------------------------------------------------------------
for s in $steps; do
	B="$RUNS/step-$s"
	new_root "$B"
	status=0
	DOAGENT_TEST_KILL_AFTER=$s "$DOAGENT" --root "$B" --metadata "$url" --templates "$TEMPLATES" --deadline 20 \
		>"$TMP/out" 2>"$TMP/err" || status=$?
	check; [ "$status" -eq 137 ] || { fail "kill after $s: exit $status, expected 137 (SIGKILL): $(cat "$TMP/err")"; continue; }
	check; [ ! -e "$B/var/lib/doagent/state.json" ] || fail "kill after $s: a state was recorded"
	converge "after-$s" "$B" step
done

# The hook is for --root only: a run without it ignores the variable (it fails for
# another reason here, not being root of a real system, or succeeds; it is not killed).
status=0
DOAGENT_TEST_KILL_AFTER=metadata "$DOAGENT" --check --user-data "$TMP/ud.ini" >/dev/null 2>&1 || status=$?
check; [ "$status" -eq 0 ] || fail "--check with DOAGENT_TEST_KILL_AFTER set: exit $status"

# --- kills inside writes --------------------------------------------------------------
# How many of each call the uninterrupted run makes (a run of its own, in a scratch root).
C="$TMP/count-root"
new_root "$C"
ASAN_OPTIONS=$strace_asan strace -f -qq -c -o "$TMP/count.txt" "$DOAGENT" --root "$C" --metadata "$url" \
	--templates "$TEMPLATES" --deadline 20 >/dev/null 2>&1 || true
# Durability deferred to the commit (boot.c): one syncfs of the root's filesystem, then
# state.json alone fsync'ed (the file and its directory).
n_syncfs=$(awk '$NF == "syncfs" { print $4 }' "$TMP/count.txt")
n_fsync=$(awk '$NF == "fsync" { print $4 }' "$TMP/count.txt")
check; [ "${n_syncfs:-0}" -eq 1 ] && [ "${n_fsync:-0}" -eq 2 ] ||
	fail "the first boot made ${n_syncfs:-no} syncfs and ${n_fsync:-no} fsync calls, expected 1 and 2"
n_kills=0
for call in write fchmod fchown fsync syncfs rename renameat renameat2; do
	n=$(awk -v c="$call" '$NF == c { print $4 }' "$TMP/count.txt")
	[ -n "$n" ] || continue
	k=1
	while [ "$k" -le "$n" ]; do
		B="$RUNS/$call-$k"
		new_root "$B"
		status=0
		ASAN_OPTIONS=$strace_asan strace -f -qq -o /dev/null -e "inject=$call:signal=KILL:when=$k" \
			"$DOAGENT" --root "$B" --metadata "$url" --templates "$TEMPLATES" --deadline 20 \
			>"$TMP/out" 2>"$TMP/err" || status=$?
		if [ "$status" -eq 137 ]; then
			n_kills=$((n_kills + 1))
			converge "$call-$k" "$B" write
		else
			# Fewer calls this time (curl's own writes vary): nothing was killed.
			check; [ "$status" -eq 0 ] || fail "$call #$k: exit $status: $(cat "$TMP/err")"
		fi
		k=$((k + 1))
	done
done
echo "kills inside writes: $n_kills"
check; [ "$n_kills" -ge 20 ] || fail "only $n_kills runs were killed inside a write"

# --- the reader ------------------------------------------------------------------------
kill "$reader_pid"
wait "$reader_pid" || true
check; python3 - "$TMP/reader.json" <<'PY' || fail "the reader saw a file that was not its final version"
import hashlib, json, sys
r = json.load(open(sys.argv[1]))
bad = list(r["bad"])
for path, hashes in r["seen"].items():
    try:
        final = hashlib.sha256(open(path, "rb").read()).hexdigest()
    except FileNotFoundError:
        continue    # /etc/passwd of a tree made while it was read, and the like
    bad += [path for h in hashes if h != final]
print("reader: %d files, %d versions seen" % (len(r["seen"]), sum(len(h) for h in r["seen"].values())))
for p in bad:
    print("partial or stale:", p, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
finish
