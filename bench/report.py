#!/usr/bin/env python3
"""bench/run's report: markdown on stdout from the JSON that measure.py and launch.py wrote
(python3 stdlib only). Not meant to be run by hand."""

import argparse
import json
import os
import platform

KIB = 1024.0


def machine():
    model, cores = "?", os.cpu_count()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = "%.1f GiB" % (int(line.split()[1]) / KIB / KIB)
    except OSError:
        pass
    distro = "?"
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    distro = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "%s, %s cores, %s RAM, %s, Linux %s" % (model, cores, mem, distro, platform.release())


def yes(ok):
    return "**yes**" if ok else "**NO**"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--boot", required=True)
    ap.add_argument("--rss", required=True)
    ap.add_argument("--sizes", required=True)
    ap.add_argument("--steps", help="a directory of state.json files")
    ap.add_argument("--nlibs", default="?")
    ap.add_argument("--launch", required=True)
    ap.add_argument("--sweep", required=True)
    ap.add_argument("--date", required=True)
    ap.add_argument("--load", nargs=3, required=True)
    ap.add_argument("--oneclick-template", required=True)
    ap.add_argument("--cloud-init", required=True)
    a = ap.parse_args()

    with open(a.boot) as f:
        boot = {c["name"]: c for c in json.load(f)}
    with open(a.launch) as f:
        launch = json.load(f)
    with open(a.sweep) as f:
        sweep = json.load(f)
    sizes = {}
    with open(a.sizes) as f:
        for line in f:
            name, full, stripped = line.split()
            sizes[name] = (int(full), int(stripped))
    status, maps = {}, []
    with open(a.rss) as f:
        for line in f:
            parts = line.split()
            if parts[0] == "status":
                status[parts[1].rstrip(":")] = int(parts[2])
            elif parts[0] == "map":
                maps.append((int(parts[1]), parts[2]))

    fb, dr, oc, ci = boot["first-boot"], boot["dry-run"], boot["oneclick"], boot["cloud-init"]
    w = print
    w("Date: %s. Machine: %s." % (a.date, machine()))
    w("Load average (1, 5, 15 min) at the start: %s; after the timing of section 1: %s;"
      " at the end: %s." % tuple(" ".join(x.split()) for x in a.load))
    w("")
    w("| command | runs | median | p90 | min | max | peak RSS |")
    w("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    labels = {
        "first-boot": "doagent first boot under `--root` (metadata from the loopback fake)",
        "dry-run": "doagent `--dry-run` (default.ini, full.json)",
        "oneclick": "the one-click way: `sh bench/oneclick.sh` (same fake, same job)",
        "cloud-init": "`cloud-init --version` (cloud-init merely starting)",
        "doagent-version": "reference: `doagent --version` (loading its libraries)",
        "python3": "reference: `python3 -c pass`",
        "first-boot-tmpfs": "reference: doagent first boot, roots on tmpfs (syncing costs nothing)",
        "empty-libs": "reference: empty `main` linked with doagent's libraries",
        "empty-libs-before": "reference: the same with libcurl, libsystemd and libnftables (doagent before)",
    }
    for name in ("first-boot", "dry-run", "oneclick", "cloud-init", "doagent-version", "python3",
                 "first-boot-tmpfs", "empty-libs", "empty-libs-before"):
        c = boot.get(name)
        if not c:
            continue
        w("| %s | %d | %.1f ms | %.1f ms | %.1f ms | %.1f ms | %.1f MiB |"
          % (labels[name], c["runs"], c["median_ms"], c["p90_ms"], c["min_ms"], c["max_ms"],
             c["peak_rss_kib"] / KIB))
    w("")
    w("Commands, as run (`@ROOT@` is a fresh copy of a skeleton root with `etc/passwd` and"
      " `etc/group`, made before and removed after each timed run):")
    w("")
    for name in ("first-boot", "dry-run", "oneclick", "cloud-init"):
        w("- %s: `%s`" % (name, boot[name]["command"]))
    w("")
    w("cloud-init: %s; the one-click script's template: %s." % (a.cloud_init.strip(), a.oneclick_template))
    w("")
    w("Where doagent's peak RSS goes (one first boot with `bench/rss-at-exit.so` preloaded; "
      "%s shared libraries): VmHWM %.1f MiB = RssAnon %.1f MiB (heap, stacks, relocated data) "
      "+ RssFile %.1f MiB (pages of the program and its libraries). Largest mappings: %s."
      % (a.nlibs, status.get("VmHWM", 0) / KIB, status.get("RssAnon", 0) / KIB,
         status.get("RssFile", 0) / KIB,
         ", ".join("%s %d KiB" % (os.path.basename(n), k) for k, n in maps[:8])))
    w("")
    if a.steps:
        per = {}
        for fn in sorted(os.listdir(a.steps)):
            with open(os.path.join(a.steps, fn)) as f:
                for st in json.load(f).get("steps", []):
                    if st.get("result") == "ok":
                        per.setdefault(st["name"], []).append(st.get("duration_ms", 0))
        if per:
            n = max(len(v) for v in per.values())
            w("doagent's own step times (state.json, whole ms, mean of %d first boots right after the timing;"
              " firewall, units and ready are skipped under `--root`): %s; sum %.1f ms."
              % (n, ", ".join("%s %.1f ms" % (k, sum(v) / len(v)) for k, v in per.items()),
                 sum(sum(v) / len(v) for v in per.values())))
            w("")
    w("Sizes: " + "; ".join("%s %.0f KiB, stripped %.0f KiB" % (n, s[0] / KIB, s[1] / KIB)
                            for n, s in sorted(sizes.items())) + ".")
    w("")

    def lag_line(r):
        return ("| %g s | %d | %g (max %d) | %.2f s | %.2f s | %.1f s |"
                % (r["active_after"], r["runs"], r["requests_median"], r["requests_max"],
                   r["lag_median_s"], r["lag_max_s"], r["wall_median_s"]))

    w("Launcher (`doagent-launch create` against tests/fake-doapi.py, a fresh `/_reset` before each):")
    w("")
    w("| active after | creates | requests per create | lag median | lag max | create wall median |")
    w("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in launch + sweep:
        w(lag_line(r))
    w("")
    w("Requests by method (last create of each row): "
      + "; ".join("%g s: %s" % (r["active_after"], ", ".join("%s %d" % kv for kv in sorted(r["methods"].items())))
                  for r in launch + sweep) + ".")
    w("")

    # Targets.
    fb_ms, dr_ms = fb["median_ms"], dr["median_ms"]
    rss_mib = max(fb["peak_rss_kib"], dr["peak_rss_kib"]) / KIB
    main_launch = launch[0]
    all_lags = [r["lag_max_s"] for r in launch + sweep]
    w("| target | measured | met |")
    w("| --- | --- | --- |")
    w("| first boot under 20 ms (median) | %.1f ms | %s |" % (fb_ms, yes(fb_ms < 20)))
    w("| dry run under 20 ms (median) | %.1f ms | %s |" % (dr_ms, yes(dr_ms < 20)))
    w("| peak RSS under 8 MiB (first boot; dry run) | %.1f MiB; %.1f MiB | %s |"
      % (fb["peak_rss_kib"] / KIB, dr["peak_rss_kib"] / KIB, yes(rss_mib < 8)))
    for n in ("doagent", "doagent-launch"):
        if n in sizes:
            w("| %s stripped under 300 KiB | %.0f KiB | %s |" % (n, sizes[n][1] / KIB, yes(sizes[n][1] < 300 * KIB)))
    w("| first boot faster than the one-click script on the same job (medians) | %.1f ms vs %.1f ms: %.1fx |"
      " %s |" % (fb_ms, oc["median_ms"], oc["median_ms"] / fb_ms, yes(fb_ms < oc["median_ms"])))
    w("| first boot at least 20x faster than cloud-init merely starting (medians) | %.1f ms vs %.1f ms: %.1fx |"
      " %s |" % (fb_ms, ci["median_ms"], ci["median_ms"] / fb_ms, yes(ci["median_ms"] / fb_ms >= 20)))
    w("| dry run at least 20x faster than cloud-init merely starting (medians) | %.1f ms vs %.1f ms: %.1fx |"
      " %s |" % (dr_ms, ci["median_ms"], ci["median_ms"] / dr_ms, yes(ci["median_ms"] / dr_ms >= 20)))
    w("| launcher notices `active` within 2 s (active after %g s; max of %d) | median %.2f s, max %.2f s | %s |"
      % (main_launch["active_after"], main_launch["runs"], main_launch["lag_median_s"],
         main_launch["lag_max_s"], yes(main_launch["lag_max_s"] < 2)))
    if sweep:
        w("| ... and at every active-after of the sweep (%s s) | max %.2f s | %s |"
          % (", ".join("%g" % r["active_after"] for r in sweep), max(all_lags), yes(max(all_lags) < 2)))


if __name__ == "__main__":
    main()
