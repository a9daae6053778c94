#!/usr/bin/env python3
"""Time commands side by side: wall time and peak RSS of each run (python3 stdlib only).

  measure.py --spawner PATH [--runs N] [--warmup N] [--skeleton DIR] [--json FILE]
             --case NAME 'COMMAND LINE' [--check PATH] [--case ...]

Each COMMAND LINE is split like a shell would (shlex) but no shell runs it. "@ROOT@" in
it is replaced, for every run, by a fresh directory: a copy of --skeleton made before
the clock starts and removed after it stops. --check PATH (relative to that root) must
exist after each run of the case before it; --root-in NAME=DIR makes that case's roots
in DIR (a tmpfs, say) rather than under $TMPDIR.

The cases run round-robin (a, b, c, a, b, c, ...), so that the load of other work on the
machine falls on all of them alike. Each run goes through --spawner (bench/spawn.c): it
times the run from just before its fork to the return of wait4, and its peak RSS is
ru_maxrss from that wait4, which for a script is the largest of the script and every
process it waited for (openssl, curl, sed, ...).
stdout and stderr go to files, shown when a run fails; a failed run stops everything.

Prints one line per case and, with --json, writes every sample.
"""

import argparse
import json
import math
import os
import shlex
import shutil
import statistics
import sys
import subprocess
import tempfile

SPAWNER = None


def percentile(sorted_values, p):
    """Nearest-rank percentile of an already sorted list."""
    k = max(1, math.ceil(p / 100.0 * len(sorted_values)))
    return sorted_values[k - 1]


class Case:
    def __init__(self, name, line):
        self.name = name
        self.argv = shlex.split(line)
        self.check = None
        self.root_in = None
        self.wall_ms = []
        self.maxrss_kib = []
        prog = self.argv[0]
        path = prog if "/" in prog else shutil.which(prog)
        if not path or not os.access(path, os.X_OK):
            sys.exit("measure.py: %s: cannot run %s" % (name, prog))
        self.path = path


def run_once(case, skeleton, scratch):
    root = None
    argv = case.argv
    if any("@ROOT@" in a for a in argv):
        root = tempfile.mkdtemp(prefix="root.", dir=case.root_in or scratch)
        if skeleton:
            shutil.copytree(skeleton, root, dirs_exist_ok=True, symlinks=True)
        argv = [a.replace("@ROOT@", root) for a in argv]
    out = os.path.join(scratch, "out")
    err = os.path.join(scratch, "err")
    res = subprocess.run([SPAWNER, out, err, case.path] + argv[1:], stdout=subprocess.PIPE, check=True, text=True)
    wall_ns, maxrss_kib, code = (int(x) for x in res.stdout.split())
    failed = None
    if code != 0:
        failed = "exit status %d" % code
    elif case.check and not os.path.exists(os.path.join(root or "/", case.check)):
        failed = "%s was not written" % case.check
    if failed:
        with open(err, errors="replace") as f:
            detail = f.read()[-2000:]
        sys.exit("measure.py: %s: %s\n  command: %s\n  stderr: %s"
                 % (case.name, failed, shlex.join(argv), detail))
    if root:
        shutil.rmtree(root)
    return wall_ns / 1e6, maxrss_kib


def main():
    ap = argparse.ArgumentParser(description="time commands side by side")
    ap.add_argument("--spawner", required=True, help="bench/spawn.c, compiled")
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--skeleton", help="copied into each @ROOT@ before the run")
    ap.add_argument("--json", help="write every sample here")
    ap.add_argument("--case", nargs=2, action="append", metavar=("NAME", "COMMAND"), default=[])
    ap.add_argument("--check", action="append", default=[], metavar="NAME=PATH",
                    help="PATH (relative to @ROOT@) must exist after each run of case NAME")
    ap.add_argument("--root-in", action="append", default=[], metavar="NAME=DIR",
                    help="make the @ROOT@ of case NAME in DIR instead of under $TMPDIR")
    a = ap.parse_args()
    global SPAWNER
    SPAWNER = a.spawner
    if not a.case or a.runs < 1:
        ap.error("give at least one --case and --runs >= 1")
    cases = [Case(n, line) for n, line in a.case]
    by_name = {c.name: c for c in cases}
    for spec in a.check:
        name, _, path = spec.partition("=")
        if name not in by_name or not path:
            ap.error("--check %s: no such case" % spec)
        by_name[name].check = path
    for spec in a.root_in:
        name, _, path = spec.partition("=")
        if name not in by_name or not os.path.isdir(path):
            ap.error("--root-in %s: no such case or directory" % spec)
        by_name[name].root_in = path

    scratch = tempfile.mkdtemp(prefix="doagent-bench.")
    try:
        for _ in range(a.warmup):
            for c in cases:
                run_once(c, a.skeleton, scratch)
        for i in range(a.runs):
            for c in cases:
                ms, rss = run_once(c, a.skeleton, scratch)
                c.wall_ms.append(ms)
                c.maxrss_kib.append(rss)
            if (i + 1) % 10 == 0:
                print("measure.py: %d of %d rounds" % (i + 1, a.runs), file=sys.stderr)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    result = []
    for c in cases:
        w = sorted(c.wall_ms)
        r = {
            "name": c.name,
            "command": shlex.join(c.argv),
            "runs": len(w),
            "median_ms": statistics.median(w),
            "p90_ms": percentile(w, 90),
            "min_ms": w[0],
            "max_ms": w[-1],
            "peak_rss_kib": max(c.maxrss_kib),
            "median_rss_kib": statistics.median(c.maxrss_kib),
            "wall_ms": c.wall_ms,
            "maxrss_kib": c.maxrss_kib,
        }
        result.append(r)
        print("%-28s n=%d median %.2f ms  p90 %.2f ms  min %.2f  max %.2f  peak RSS %d KiB"
              % (c.name, r["runs"], r["median_ms"], r["p90_ms"], r["min_ms"], r["max_ms"],
                 r["peak_rss_kib"]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
