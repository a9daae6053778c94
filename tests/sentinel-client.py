#!/usr/bin/python3
"""A Sentinel-aware client over TLS, as a user of a replication group runs one: given
only a node's connection details (doagent writes them to /root/doagent-connection.txt)
and the group's certificate, it finds the primary through Sentinel (python3-redis,
redis.sentinel.Sentinel) and talks to it over TLS. Debian's python3-redis; run with
/usr/bin/python3.

  sentinel-client.py --details FILE --cacert FILE write --log FILE --stop FILE
      write key w:N (N = 1, 2, ...) every --interval seconds, each acknowledged with
      WAIT 1; one line a try in the log: "<unix ms> <N> ok <replicas>" or
      "<unix ms> <N> err <error>"; until the stop file exists
  sentinel-client.py ... verify --log FILE
      every key the log says was acknowledged (ok, WAIT >= 1) is on the current
      primary; prints "acknowledged A, missing M" and the gap report; exit 1 if M > 0
  sentinel-client.py ... master
      print the primary's address as Sentinel gives it: "IP PORT"
  sentinel-client.py ... fill --mib N
      write about N MiB (1 KiB values, pipelined) to the primary
"""
import argparse
import re
import sys
import time

import redis
from redis.sentinel import Sentinel


def details(path):
    text = open(path).read()
    pw = re.search(r"^Password: (.*)$", text, re.M)
    sentinels = re.search(r"^\s*Sentinels:\s+(.*?)(?: \(|$)", text, re.M)
    name = re.search(r"^\s*Master name:\s+(\S+)", text, re.M)
    if not (pw and sentinels and name):
        sys.exit(f"{path}: no password, Sentinels or master name in the connection details")
    hosts = []
    for item in sentinels.group(1).split():
        host, port = item.rsplit(":", 1)
        hosts.append((host, int(port)))
    return pw.group(1), hosts, name.group(1)


def connect(args):
    pw, hosts, name = details(args.details)
    tls = {"ssl": True, "ssl_ca_certs": args.cacert, "password": pw,
           "socket_timeout": 1.0, "socket_connect_timeout": 1.0}
    s = Sentinel(hosts, sentinel_kwargs=dict(tls), **tls)
    return s, name


def now_ms():
    return int(time.time() * 1000)


def cmd_write(args):
    s, name = connect(args)
    master = s.master_for(name)
    n = 0
    with open(args.log, "a", buffering=1) as log:
        while True:
            try:
                open(args.stop).close()
                return 0
            except FileNotFoundError:
                pass
            n += 1
            try:
                master.set(f"w:{n}", n)
                acks = master.execute_command("WAIT", 1, 500)
                log.write(f"{now_ms()} {n} ok {acks}\n")
            except (redis.exceptions.RedisError, OSError) as e:
                log.write(f"{now_ms()} {n} err {type(e).__name__}\n")
                time.sleep(0.05)
            time.sleep(args.interval)


def read_log(path):
    tries = []
    for line in open(path):
        f = line.split()
        if len(f) >= 3:
            tries.append((int(f[0]), int(f[1]), f[2], f[3] if len(f) > 3 else ""))
    return tries


def cmd_verify(args):
    s, name = connect(args)
    master = s.master_for(name)
    tries = read_log(args.log)
    acked = [n for (_, n, st, acks) in tries if st == "ok" and int(acks) >= 1]
    missing = []
    for i in range(0, len(acked), 500):
        chunk = acked[i:i + 500]
        values = master.mget([f"w:{n}" for n in chunk])
        missing += [n for n, v in zip(chunk, values) if v is None or int(v) != n]
    gap, last_ok = 0, None
    for (t, _, st, acks) in tries:
        if st == "ok" and int(acks) >= 1:
            if last_ok is not None:
                gap = max(gap, t - last_ok)
            last_ok = t
    errors = sum(1 for t in tries if t[2] == "err")
    print(f"tries {len(tries)}, acknowledged {len(acked)}, missing {len(missing)}, "
          f"errors {errors}, longest gap between acknowledged writes {gap} ms")
    if missing:
        print("missing: " + " ".join(str(n) for n in missing[:20]))
    return 1 if missing else 0


def cmd_master(args):
    s, name = connect(args)
    host, port = s.discover_master(name)
    print(host, port)
    return 0


def cmd_fill(args):
    s, name = connect(args)
    master = s.master_for(name, socket_timeout=30)
    value = b"x" * 1024
    n = args.mib * 1024
    for start in range(0, n, 1000):
        p = master.pipeline(transaction=False)
        for i in range(start, min(n, start + 1000)):
            p.set(f"fill:{i}", value)
        p.execute()
    print(f"wrote {n} keys of 1 KiB")
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--details", required=True)
    p.add_argument("--cacert", required=True)
    sub = p.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write")
    w.add_argument("--log", required=True)
    w.add_argument("--stop", required=True)
    w.add_argument("--interval", type=float, default=0.02)
    v = sub.add_parser("verify")
    v.add_argument("--log", required=True)
    sub.add_parser("master")
    f = sub.add_parser("fill")
    f.add_argument("--mib", type=int, required=True)
    args = p.parse_args()
    return {"write": cmd_write, "verify": cmd_verify, "master": cmd_master, "fill": cmd_fill}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
