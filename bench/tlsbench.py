#!/usr/bin/env python3
"""The measurements of bench/tls: plaintext, stunnel and Redis' own TLS, side by side.

  tlsbench.py --work DIR --stunnel-tree DIR --redis-tree DIR --cert FILE --key FILE
              --password-file FILE [--rounds N] [--variants yes|no] [--perf yes|no]
              [--json FILE]

bench/tls renders the two trees with doagent --dry-run --output-dir (one for each
[tls] engine) and makes the certificate; this program runs what they say, each setup in
a network namespace of its own (loopback, and a veth pair holding the metadata's private
address so that the rendered bind and accept lines work as written):

  plaintext   redis-server with the stunnel engine's redis.conf, at its plaintext port
  stunnel     stunnel4 with the rendered doagent-redis.conf in front of that redis-server
  native      redis-server with the redis engine's redis.conf, at its TLS port

Only the paths of files are changed (--dir, --logfile, the certificate and key), and
Redis runs with --save '' so that it writes nothing. redis-benchmark runs in the same
namespace against 127.0.0.1: SET and GET with 1 and 50 clients, with and without -P 16,
and -k 0 (a new connection, with its TLS handshake and AUTH, for every request). The
targets take turns within each workload and each round, so that other work on the machine
falls on all of them alike; the ratios are taken within a round.

CPU time is utime+stime from /proc/PID/stat (every thread, living and gone) before and
after each run: stunnel's own, each redis-server's, and the client's (getrusage of the
waited-for redis-benchmark). With perf, one more run of each target counts the server
processes' context switches and system calls (perf stat -p, which follows the threads
stunnel starts for its connections).

With --variants yes, stunnel is also run with one change at a time to its rendered
configuration (each in a namespace of its own, with its own redis-server), to see which
of them pays: bench/README lists them.

Every daemon and namespace is gone when this program exits, whatever way it does;
the report (markdown) goes to stdout, progress to stderr.
"""

import argparse
import csv
import io
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
PRIVATE_ADDR = "10.132.255.113/16"
TLS_PORT = 6380
PLAIN_PORT = 6379

# (name, redis-benchmark arguments, requests per test); SET and GET each do that many.
WORKLOADS = [
    ("1 client", ["-c", "1"], 10000),
    ("50 clients", ["-c", "50"], 50000),
    ("1 client, -P 16", ["-c", "1", "-P", "16"], 200000),
    ("50 clients, -P 16", ["-c", "50", "-P", "16"], 500000),
]
# New connections: every request on a connection of its own (-k 0).
CONNECT = ("new connections, 50 clients, -k 0", ["-c", "50", "-k", "0"], 5000)

# Changes to the rendered stunnel configuration, each tried on its own: name, what it
# is, the lines to set in the service section (None removes the key), extra arguments
# for its redis-server, the CPUs stunnel and Redis are pinned to.
VARIANTS = [
    ("as rendered", "the shipped template, as doagent renders it", {}, [], None),
    ("connect over a Unix socket", "connect = the Redis Unix socket instead of 127.0.0.1:6379",
     {"connect": "@SOCK@"}, ["--unixsocket", "@SOCK@", "--unixsocketperm", "777"], None),
    ("stunnel and Redis on one CPU", "both pinned to CPU 0 (taskset; CPUAffinity= in their units)",
     {}, [], "0"),
    ("stunnel and Redis on two CPUs", "stunnel on CPU 1, Redis on CPU 0", {}, [], "split"),
    ("AES-128-GCM first", "ciphersuites = TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
     {"ciphersuites": "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"}, [], None),
    ("no log line per connection", "debug = warning",
     {"debug": "warning"}, [], None),
    ("TIMEOUTclose = 0", "do not wait for the client's close_notify",
     {"TIMEOUTclose": "0"}, [], None),
]


def say(msg):
    print("tlsbench: " + msg, file=sys.stderr, flush=True)


class Setup:
    """Daemons in network namespaces, all stopped and removed by close()."""

    def __init__(self, work, prefix):
        self.work = work
        self.prefix = prefix
        self.namespaces = []
        self.procs = []
        self.pidfile = os.path.join(work, "pids")

    def run(self, argv, **kw):
        return subprocess.run(argv, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)

    def namespace(self, tag):
        name = "%s-%s" % (self.prefix, tag)
        self.run(["ip", "netns", "add", name])
        self.namespaces.append(name)
        with open(os.path.join(self.work, "namespaces"), "a") as f:
            f.write(name + "\n")
        self.run(["ip", "-n", name, "link", "set", "lo", "up"])
        self.run(["ip", "-n", name, "link", "add", "priv0", "type", "veth", "peer", "name", "priv1"])
        self.run(["ip", "-n", name, "addr", "add", PRIVATE_ADDR, "dev", "priv0"])
        self.run(["ip", "-n", name, "link", "set", "priv0", "up"])
        self.run(["ip", "-n", name, "link", "set", "priv1", "up"])
        return name

    def start(self, ns, argv, log, cpus=None):
        prefix = ["ip", "netns", "exec", ns]
        if cpus is not None:
            prefix += ["taskset", "-c", cpus]
        # ip netns exec and taskset exec the daemon: its PID is the child's.
        p = subprocess.Popen(prefix + argv, stdin=subprocess.DEVNULL, stdout=open(log, "wb"),
                             stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(p)
        with open(self.pidfile, "a") as f:
            f.write("%d\n" % p.pid)
        return p

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        deadline = time.monotonic() + 10
        for p in self.procs:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for ns in self.namespaces:
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        self.procs = []
        self.namespaces = []


def cpu_seconds(pid):
    """utime + stime of every thread of pid, living and gone, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class Target:
    def __init__(self, name, ns, port, tls, procs, client_cpus=None):
        self.name = name
        self.ns = ns
        self.port = port
        self.tls = tls
        self.procs = procs      # role -> Popen ("stunnel", "redis")
        self.client_cpus = client_cpus


def redis_argv(tree, work, tag, cert, key, extra):
    conf = os.path.join(tree, "etc/redis/redis.conf")
    data = os.path.join(work, "data-" + tag)
    os.makedirs(data, exist_ok=True)
    argv = ["redis-server", conf, "--dir", data, "--logfile", "", "--pidfile",
            os.path.join(work, "redis-%s.pid" % tag), "--daemonize", "no", "--save", "", "--appendonly", "no"]
    with open(conf) as f:
        text = f.read()
    if re.search(r"^tls-port ", text, re.M):
        argv += ["--tls-cert-file", cert, "--tls-key-file", key]
    if re.search(r"^unixsocket ", text, re.M):
        argv += ["--unixsocket", os.path.join(work, "redis-%s.sock" % tag)]
    return argv + extra


def stunnel_conf(tree, work, tag, cert, key, edits):
    """The rendered stunnel configuration with the certificate's and key's paths
    changed, and edits (key -> value, or None to remove) made in it."""
    with open(os.path.join(tree, "etc/stunnel/doagent-redis.conf")) as f:
        lines = f.read().splitlines()
    out, seen = [], set()
    for line in lines:
        k = line.split("=", 1)[0].strip() if "=" in line and not line.startswith(";") else None
        if k == "cert":
            line = "cert = " + cert
        elif k == "key":
            line = "key = " + key
        if k in edits:
            seen.add(k)
            if edits[k] is None:
                continue
            line = "%s = %s" % (k, edits[k])
        out.append(line)
    for k, v in edits.items():
        if k not in seen and v is not None:
            out.append("%s = %s" % (k, v))
    path = os.path.join(work, "stunnel-%s.conf" % tag)
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    return path


def wait_ready(target, password, cert, deadline=20):
    argv = ["ip", "netns", "exec", target.ns, "redis-cli", "--no-auth-warning", "-h", "127.0.0.1",
            "-p", str(target.port)]
    if target.tls:
        argv += ["--tls", "--cacert", cert]
    env = dict(os.environ, REDISCLI_AUTH=password)
    end = time.monotonic() + deadline
    while True:
        for role, p in target.procs.items():
            if p.poll() is not None:
                sys.exit("tlsbench: %s: %s exited (status %s) at start" % (target.name, role, p.returncode))
        r = subprocess.run(argv + ["PING"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.stdout.strip() == b"PONG":
            return
        if time.monotonic() > end:
            sys.exit("tlsbench: %s does not answer PING: %s" % (target.name, r.stdout.decode(errors="replace")))
        time.sleep(0.1)


def benchmark(target, args, n, tests, password, cert):
    """One redis-benchmark run: per test {rps, p50, p99}, and CPU seconds per role."""
    argv = ["ip", "netns", "exec", target.ns]
    if target.client_cpus is not None:
        argv += ["taskset", "-c", target.client_cpus]
    argv += ["redis-benchmark", "-h", "127.0.0.1", "-p", str(target.port),
             "-a", password, "--csv", "-n", str(n), "-t", tests] + args
    if target.tls:
        argv += ["--tls", "--cacert", cert]
    before = {role: cpu_seconds(p.pid) for role, p in target.procs.items()}
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wall = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = {role: cpu_seconds(p.pid) - before[role] for role, p in target.procs.items()}
    cpu["client"] = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    if r.returncode != 0:
        sys.exit("tlsbench: %s: redis-benchmark %s: exit %d: %s" % (target.name, " ".join(args), r.returncode,
                                                               r.stderr.decode(errors="replace")[-500:]))
    rows = {}
    for row in csv.DictReader(io.StringIO(r.stdout.decode())):
        rows[row["test"]] = {"rps": float(row["rps"]), "p50": float(row["p50_latency_ms"]),
                             "p99": float(row["p99_latency_ms"])}
    if not rows:
        sys.exit("tlsbench: %s: no results from redis-benchmark: %s" % (target.name, r.stdout.decode()[:300]))
    return {"tests": rows, "cpu": cpu, "requests": n * len(rows), "wall": wall}


def perf_counts(target, password, cert):
    """Context switches and system calls per request of each server process, over one
    50-client SET run, with perf stat attached to each."""
    n = 50000
    outs, perfs = {}, []
    for role, p in target.procs.items():
        out = os.path.join(os.path.dirname(cert), "perf-%s-%s.csv" % (re.sub(r"\W", "", target.name), role))
        q = subprocess.Popen(["perf", "stat", "-x", ",", "-o", out, "-e",
                              "context-switches,raw_syscalls:sys_enter", "-p", str(p.pid)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        perfs.append(q)
        outs[role] = out
    time.sleep(0.5)
    benchmark(target, ["-c", "50"], n, "set", password, cert)
    for q in perfs:
        q.send_signal(signal.SIGINT)
    for q in perfs:
        q.wait(10)
    counts = {}
    for role, out in outs.items():
        c = {}
        with open(out) as f:
            for line in f:
                parts = line.strip().split(",")
                if len(parts) > 2 and parts[0].replace(".", "").isdigit():
                    c[parts[2]] = float(parts[0])
        counts[role] = {"context-switches": c.get("context-switches", 0) / n,
                        "syscalls": c.get("raw_syscalls:sys_enter", 0) / n}
    return counts


def perf_profile(target, password, cert, work):
    """Where stunnel's CPU time goes: perf record (cpu-clock samples, every thread) over a
    50-client SET run; the symbols with the most samples, by share."""
    pid = target.procs["stunnel"].pid
    data = os.path.join(work, "perf-stunnel.data")
    q = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "999", "-o", data, "-p", str(pid)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    benchmark(target, ["-c", "50"], 50000, "set", password, cert)
    q.send_signal(signal.SIGINT)
    q.wait(30)
    r = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "dso,sym", "--stdio"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    rows = []
    for line in r.stdout.decode(errors="replace").splitlines():
        m = re.match(r"\s*([0-9.]+)%\s+(\S+)\s+\[([.k])\]\s+(.+?)\s*$", line)
        if m:
            rows.append((float(m.group(1)), m.group(2), m.group(4)))
    by_object = {}
    for share, dso, _ in rows:
        by_object[dso] = by_object.get(dso, 0) + share
    return {"top": rows[:10], "objects": sorted(by_object.items(), key=lambda x: -x[1])[:6]}


def median(values):
    return statistics.median(values) if values else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--stunnel-tree", required=True)
    ap.add_argument("--redis-tree", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--password-file", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--variants", choices=["yes", "no", "only"], default="yes")
    ap.add_argument("--perf", choices=["yes", "no"], default="yes")
    ap.add_argument("--json")
    a = ap.parse_args()
    with open(a.password_file) as f:
        password = f.read().strip()
    ncpu = os.cpu_count() or 1
    setup = Setup(a.work, "tlsbench-%d" % os.getpid())

    def on_signal(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        return run(a, setup, password, ncpu)
    finally:
        setup.close()


def run(a, setup, password, ncpu):
    work = a.work
    # plaintext and stunnel: one namespace, the stunnel engine's files.
    ns = setup.namespace("stunnel")
    redis_s = setup.start(ns, redis_argv(a.stunnel_tree, work, "stunnel", a.cert, a.key, []),
                          os.path.join(work, "redis-stunnel.log"))
    stunnel = setup.start(ns, ["stunnel4", stunnel_conf(a.stunnel_tree, work, "main", a.cert, a.key, {})],
                          os.path.join(work, "stunnel-main.log"))
    plaintext = Target("plaintext", ns, PLAIN_PORT, False, {"redis": redis_s})
    via_stunnel = Target("stunnel", ns, TLS_PORT, True, {"stunnel": stunnel, "redis": redis_s})
    ns = setup.namespace("native")
    redis_n = setup.start(ns, redis_argv(a.redis_tree, work, "native", a.cert, a.key, []),
                          os.path.join(work, "redis-native.log"))
    native = Target("native", ns, TLS_PORT, True, {"redis": redis_n})
    main_targets = [plaintext, via_stunnel, native]

    # A droplet with one CPU and its clients elsewhere: the servers on CPU 0, the client
    # on CPU 1.
    one_cpu = []
    if ncpu >= 2 and a.variants != "only":
        ns = setup.namespace("one")
        r = setup.start(ns, redis_argv(a.stunnel_tree, work, "one", a.cert, a.key, []),
                        os.path.join(work, "redis-one.log"), "0")
        s = setup.start(ns, ["stunnel4", stunnel_conf(a.stunnel_tree, work, "one", a.cert, a.key, {})],
                        os.path.join(work, "stunnel-one.log"), "0")
        one_cpu.append(Target("plaintext, one CPU", ns, PLAIN_PORT, False, {"redis": r}, "1"))
        one_cpu.append(Target("stunnel, one CPU", ns, TLS_PORT, True, {"stunnel": s, "redis": r}, "1"))
        ns = setup.namespace("one-native")
        r = setup.start(ns, redis_argv(a.redis_tree, work, "one-native", a.cert, a.key, []),
                        os.path.join(work, "redis-one-native.log"), "0")
        one_cpu.append(Target("native, one CPU", ns, TLS_PORT, True, {"redis": r}, "1"))
    elif a.variants != "only":
        say("one CPU for the servers and another for the client: left out, this machine has one CPU")

    variants = []
    if a.variants != "no":
        for i, (name, what, edits, extra, cpus) in enumerate(VARIANTS):
            if cpus is not None and ncpu < 2:
                say("%s: left out, this machine has one CPU" % name)
                continue
            tag = "v%d" % i
            sock = os.path.join(work, "redis-%s.sock" % tag)
            edits = {k: (v.replace("@SOCK@", sock) if v else v) for k, v in edits.items()}
            extra = [x.replace("@SOCK@", sock) for x in extra]
            cpus_redis = cpus_stunnel = cpus
            if cpus == "split":
                cpus_redis, cpus_stunnel = "0", "1"
            vns = setup.namespace(tag)
            r = setup.start(vns, redis_argv(a.stunnel_tree, work, tag, a.cert, a.key, extra),
                            os.path.join(work, "redis-%s.log" % tag), cpus_redis)
            s = setup.start(vns, ["stunnel4", stunnel_conf(a.stunnel_tree, work, tag, a.cert, a.key, edits)],
                            os.path.join(work, "stunnel-%s.log" % tag), cpus_stunnel)
            t = Target("stunnel: " + name, vns, TLS_PORT, True, {"stunnel": s, "redis": r})
            t.what = what
            variants.append(t)
    for t in main_targets + one_cpu + variants:
        wait_ready(t, password, a.cert)

    results = {}    # workload -> target name -> [per-round result]
    plan = []
    if a.variants != "only":
        plan = [(w, main_targets) for w in WORKLOADS] + [(CONNECT, main_targets)]
        if one_cpu:
            plan += [(WORKLOADS[1], one_cpu), (WORKLOADS[3], one_cpu), (CONNECT, one_cpu)]
    if variants:
        plan += [(WORKLOADS[0], variants), (WORKLOADS[1], variants), (CONNECT, variants)]
    for rnd in range(a.rounds):
        say("round %d of %d (load average %s)" % (rnd + 1, a.rounds, loadavg()))
        for (wname, args, n), targets in plan:
            tests = "get" if wname == CONNECT[0] else "set,get"
            k = rnd % len(targets)
            for t in targets[k:] + targets[:k]:
                res = benchmark(t, args, n, tests, password, a.cert)
                results.setdefault(wname, {}).setdefault(t.name, []).append(res)
    counts = {}
    if a.variants == "only":
        pass
    elif a.perf == "yes" and shutil.which("perf"):
        for t in main_targets:
            counts[t.name] = perf_counts(t, password, a.cert)
        counts["profile"] = perf_profile(via_stunnel, password, a.cert, work)
    elif a.perf == "yes":
        say("perf is not installed: no context switch and system call counts")
    doc = {"results": results, "counts": counts, "rounds": a.rounds, "one_cpu": bool(one_cpu),
           "variants": [(t.name, t.what) for t in variants]}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(doc, f, indent=1)
    report(doc)
    return 0


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def fmt_rps(v):
    return "{:,.0f}".format(v)


def cell(runs, test):
    rps = median([r["tests"][test]["rps"] for r in runs])
    p50 = median([r["tests"][test]["p50"] for r in runs])
    p99 = median([r["tests"][test]["p99"] for r in runs])
    return "%s (%.3g / %.3g ms)" % (fmt_rps(rps), p50, p99)


def ratio(results, wname, test, a, b):
    """Median over rounds of a's ops/s over b's, each round's pair measured together."""
    ra, rb = results[wname][a], results[wname][b]
    return median([x["tests"][test]["rps"] / y["tests"][test]["rps"] for x, y in zip(ra, rb)])


def cpu_per_100k(runs, role):
    return median([r["cpu"][role] / r["requests"] * 100000 for r in runs])


def report(doc):
    res = doc["results"]
    p = print
    if "stunnel" in res.get(WORKLOADS[0][0], {}):
        report_main(doc)
    if doc.get("one_cpu"):
        report_one_cpu(doc)
    if doc["variants"]:
        report_variants(doc)
    if "stunnel" in res.get(WORKLOADS[1][0], {}):
        r50 = min(ratio(res, WORKLOADS[1][0], t, "stunnel", "native") for t in ("SET", "GET"))
        p("\n| target | measured | met |")
        p("| --- | --- | --- |")
        p("| stunnel at least 0.8x of Redis' own TLS, 50 clients (the lower of SET and GET) | %.2fx | **%s** |"
          % (r50, "yes" if r50 >= 0.8 else "no"))
        if doc.get("one_cpu"):
            r1 = min(ratio(res, WORKLOADS[1][0], t, "stunnel, one CPU", "native, one CPU") for t in ("SET", "GET"))
            p("| ... the same with the servers on one CPU and the client on another | %.2fx | **%s** |"
              % (r1, "yes" if r1 >= 0.8 else "no"))


def report_main(doc):
    res = doc["results"]
    p = print
    p("Throughput, ops/s (median of %d rounds), with p50 / p99 latency:\n" % doc["rounds"])
    p("| workload | test | plaintext | stunnel | Redis' own TLS | stunnel / own TLS |")
    p("| --- | --- | ---: | ---: | ---: | ---: |")
    for wname, _, _ in WORKLOADS:
        for test in ("SET", "GET"):
            runs = res[wname]
            p("| %s | %s | %s | %s | %s | %.2fx |" % (
                wname, test, cell(runs["plaintext"], test), cell(runs["stunnel"], test),
                cell(runs["native"], test), ratio(res, wname, test, "stunnel", "native")))
    runs = res[CONNECT[0]]
    p("\nNew connections per second (redis-benchmark -k 0 -c 50 -t get: connect, TLS handshake, "
      "AUTH, GET, close; median of %d rounds): plaintext %s, stunnel %s, Redis' own TLS %s; "
      "stunnel / own TLS %.2fx.\n" % (
          doc["rounds"], fmt_rps(median([r["tests"]["GET"]["rps"] for r in runs["plaintext"]])),
          fmt_rps(median([r["tests"]["GET"]["rps"] for r in runs["stunnel"]])),
          fmt_rps(median([r["tests"]["GET"]["rps"] for r in runs["native"]])),
          ratio(res, CONNECT[0], "GET", "stunnel", "native")))
    p("CPU seconds per 100k requests (utime+stime from /proc/PID/stat; median of %d rounds). "
      "The TLS process: stunnel, or for Redis' own TLS what its redis-server spends beyond the "
      "plaintext redis-server on the same workload:\n" % doc["rounds"])
    p("| workload | TLS: stunnel | TLS: Redis' own (extra) | redis behind stunnel | redis, plaintext | "
      "redis, own TLS | client: plaintext / stunnel / own TLS |")
    p("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for wname in [w[0] for w in WORKLOADS] + [CONNECT[0]]:
        runs = res[wname]
        pl, st, na = (cpu_per_100k(runs["plaintext"], "redis"), cpu_per_100k(runs["stunnel"], "stunnel"),
                      cpu_per_100k(runs["native"], "redis"))
        p("| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f / %.2f / %.2f |" % (
            wname, st, na - pl, cpu_per_100k(runs["stunnel"], "redis"), pl, na,
            cpu_per_100k(runs["plaintext"], "client"), cpu_per_100k(runs["stunnel"], "client"),
            cpu_per_100k(runs["native"], "client")))
    if doc["counts"]:
        c = doc["counts"]
        p("\nPer request, 50 clients, SET (perf stat -p on each server process, one run of 50000):\n")
        p("| target | process | context switches | system calls |")
        p("| --- | --- | ---: | ---: |")
        for tname in ("plaintext", "stunnel", "native"):
            for role, v in c.get(tname, {}).items():
                p("| %s | %s | %.2f | %.2f |" % (tname, role, v["context-switches"], v["syscalls"]))
        if "profile" in c:
            prof = c["profile"]
            p("\nWhere stunnel's CPU time goes, 50 clients, SET (perf record -e cpu-clock -p, every thread; "
              "self time). By object: %s.\n" % ", ".join("%s %.1f%%" % (o, v) for o, v in prof["objects"]))
            p("| share | object | symbol |")
            p("| ---: | --- | --- |")
            for share, dso, sym in prof["top"]:
                p("| %.1f%% | %s | %s |" % (share, dso, sym))


def report_one_cpu(doc):
    res = doc["results"]
    p = print
    p("\nA droplet with one CPU, its clients elsewhere: redis-server (and stunnel) pinned to CPU 0, "
      "redis-benchmark to CPU 1 (taskset); ops/s, median of %d rounds, p50 / p99 latency:\n" % doc["rounds"])
    p("| workload | test | plaintext | stunnel | Redis' own TLS | stunnel / own TLS |")
    p("| --- | --- | ---: | ---: | ---: | ---: |")
    for wname in (WORKLOADS[1][0], WORKLOADS[3][0], CONNECT[0]):
        runs = res[wname]
        for test in (("SET", "GET") if wname != CONNECT[0] else ("GET",)):
            p("| %s | %s | %s | %s | %s | %.2fx |" % (
                wname, test, cell(runs["plaintext, one CPU"], test), cell(runs["stunnel, one CPU"], test),
                cell(runs["native, one CPU"], test),
                ratio(res, wname, test, "stunnel, one CPU", "native, one CPU")))
    runs = res[WORKLOADS[1][0]]
    p("\nCPU seconds per 100k requests there, 50 clients: stunnel %.2f and the redis-server behind it %.2f; "
      "Redis' own TLS %.2f (plaintext %.2f)." % (
          cpu_per_100k(runs["stunnel, one CPU"], "stunnel"), cpu_per_100k(runs["stunnel, one CPU"], "redis"),
          cpu_per_100k(runs["native, one CPU"], "redis"), cpu_per_100k(runs["plaintext, one CPU"], "redis")))


def cpu_ratio(res, wname, a, b):
    """Median over rounds of a's stunnel CPU per request over b's, in the same round."""
    return median([(x["cpu"]["stunnel"] / x["requests"]) / (y["cpu"]["stunnel"] / y["requests"])
                   for x, y in zip(res[wname][a], res[wname][b])])


def report_variants(doc):
    res = doc["results"]
    p = print
    base = "stunnel: " + VARIANTS[0][0]
    p("\nstunnel, one change at a time to the rendered configuration, each in a namespace of its own "
      "with its own redis-server (median of %d rounds; each ratio is to the rendered configuration in "
      "the same round, then the median of those):\n" % doc["rounds"])
    p("| stunnel | 1 client SET / GET ops/s | ratio | 50 clients SET / GET ops/s | ratio | new conn/s | ratio | "
      "stunnel CPU s / 100k, 1 / 50 clients | ratio |")
    p("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for tname, what in doc["variants"]:
        row = ["%s (%s)" % (tname[len("stunnel: "):], what)]
        for wname in (WORKLOADS[0][0], WORKLOADS[1][0]):
            runs = res[wname][tname]
            row.append("%s / %s" % (fmt_rps(median([r["tests"]["SET"]["rps"] for r in runs])),
                                    fmt_rps(median([r["tests"]["GET"]["rps"] for r in runs]))))
            row.append("%.2fx / %.2fx" % (ratio(res, wname, "SET", tname, base),
                                          ratio(res, wname, "GET", tname, base)))
        runs = res[CONNECT[0]][tname]
        row.append(fmt_rps(median([r["tests"]["GET"]["rps"] for r in runs])))
        row.append("%.2fx" % ratio(res, CONNECT[0], "GET", tname, base))
        row.append("%.2f / %.2f" % (cpu_per_100k(res[WORKLOADS[0][0]][tname], "stunnel"),
                                    cpu_per_100k(res[WORKLOADS[1][0]][tname], "stunnel")))
        row.append("%.2fx / %.2fx" % (cpu_ratio(res, WORKLOADS[0][0], tname, base),
                                      cpu_ratio(res, WORKLOADS[1][0], tname, base)))
        p("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    sys.exit(main())
