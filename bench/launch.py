#!/usr/bin/env python3
"""doagent-launch create against the fake DigitalOcean API: requests and notice lag.

  launch.py --spawner PATH --launcher PATH --api-url URL --user-data FILE [--runs N]
            [--active-after SEC ...] [--json FILE]

For every --active-after value (seconds from the create until the fake's droplet turns
active) and every run: POST /_reset {"active_after": SEC} to the fake, run
"doagent-launch create" to the end, then read GET /_state. Recorded per create:
- requests: the /v2 requests the fake counted (the list by tag, the create, the polls);
- lag: the wall-clock time the launcher had exited (it prints the connection details just
  before) minus the droplet's active_at, the wall-clock time the fake turned it active;
- wall time and peak RSS of the launcher (run through bench/spawn.c, as measure.py does).
The token in the environment is a dummy that only the fake accepts. python3 stdlib only.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request


def fake(url, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method="POST" if data else "GET",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def create(a, active_after, i, scratch):
    fake(a.api_url, "/_reset", {"active_after": active_after})
    argv = [a.launcher, "--api-url", a.api_url, "create", "bench-%d" % i,
            "--image", "ubuntu-24-04-x64", "--region", "fra1", "--size", "s-1vcpu-1gb",
            "--user-data-file", a.user_data, "--wait-timeout", str(int(active_after) + 60)]
    out = os.path.join(scratch, "out")
    err = os.path.join(scratch, "err")
    t0 = time.time()
    res = subprocess.run([a.spawner, out, err] + argv, stdout=subprocess.PIPE, check=True, text=True)
    t1 = time.time()
    _, maxrss_kib, code = (int(x) for x in res.stdout.split())
    with open(out) as f:
        printed = f.read()
    if code != 0 or "connection:" not in printed:
        with open(err) as f:
            sys.exit("launch.py: create exited %d: %s" % (code, f.read()[-2000:]))
    st = fake(a.api_url, "/_state")
    if len(st["active_at"]) != 1:
        sys.exit("launch.py: expected one droplet, the fake has %s" % st["active_at"])
    active_at = list(st["active_at"].values())[0]
    return {
        "active_after": active_after,
        "requests": st["requests"],
        "methods": st["methods"],
        "lag_s": t1 - active_at,
        "wall_s": t1 - t0,
        "peak_rss_kib": maxrss_kib,
    }


def main():
    ap = argparse.ArgumentParser(description="doagent-launch create against the fake API")
    ap.add_argument("--spawner", required=True, help="bench/spawn.c, compiled")
    ap.add_argument("--launcher", required=True)
    ap.add_argument("--api-url", required=True)
    ap.add_argument("--user-data", required=True)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--active-after", type=float, nargs="+", default=[3.0])
    ap.add_argument("--json")
    a = ap.parse_args()
    scratch = tempfile.mkdtemp(prefix="doagent-launch-bench.")
    # create keeps a record of what it sent (doagent-launch(1)): here, not in $HOME.
    os.environ["XDG_STATE_HOME"] = os.path.join(scratch, "state")
    results = []
    try:
        for after in a.active_after:
            samples = [create(a, after, i, scratch) for i in range(a.runs)]
            lags = sorted(s["lag_s"] for s in samples)
            reqs = sorted(s["requests"] for s in samples)
            r = {
                "active_after": after,
                "runs": len(samples),
                "requests_median": statistics.median(reqs),
                "requests_max": reqs[-1],
                "lag_median_s": statistics.median(lags),
                "lag_max_s": lags[-1],
                "wall_median_s": statistics.median(s["wall_s"] for s in samples),
                "peak_rss_kib": max(s["peak_rss_kib"] for s in samples),
                "methods": samples[-1]["methods"],
                "samples": samples,
            }
            results.append(r)
            print("active after %5.1f s: n=%d requests median %g max %d  lag median %.3f s max %.3f s"
                  "  (%s)" % (after, r["runs"], r["requests_median"], r["requests_max"],
                              r["lag_median_s"], r["lag_max_s"],
                              ", ".join("%s %d" % kv for kv in sorted(r["methods"].items()))))
    finally:
        shutil.rmtree(scratch)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
