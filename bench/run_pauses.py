#!/usr/bin/env python3
"""Runs the pause benchmark (bench/pause_tricolor.cc, bench/go/pause.go) for
several live-heap sizes on tricolor's concurrent collector, tricolor's
stop-the-world collector (TRICOLOR_DEBUG=gcstoptheworld=1) and Go, then
binary-trees on the same three, and prints one Markdown table of each.

    python3 bench/run_pauses.py [BUILD_DIR] [--seconds 10] [--big]
                                [--sizes 64,256,1024] [--only LIST]
                                [--bt-depth 21] [--json out.json]

Pause table: one row per live size and collector, with the pauses of the
measurement window (every stop-the-world pause on its own: tricolor's
`pauses` ring sampled every 5 ms, Go's gctrace lines), their maximum, 99th
percentile and median, the same for the time to safepoint (tricolor only;
Go 1.19 does not report it), cycles, peak RSS (VmHWM of the whole run,
build included) and the mutators' nominal allocation rate. Each run measures
--seconds after building the live heap; with the defaults the whole table
takes about three minutes (add a minute with --big, which adds 2048 MiB).

Binary-trees table: bench/binarytrees_tricolor (both modes) and
bench/go/binarytrees.go at --bt-depth (0 skips it): wall time, peak RSS,
cycles and the longest single pause, all in this one invocation, and one
sentence comparing tricolor's longest pause with Go's (SPEC §4).

The Go programs are built here with `go build` (stdlib only, GOPATH and
GOCACHE in a temporary directory); without `go` the Go rows are skipped with
a message. The exit code is 1 if a run failed (crash, timeout, a broken live
heap found by the final verification, or a wrong binary-trees output).
"""

import argparse
import datetime
import json
import os
import platform
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_macro  # noqa: E402  (run_once, build_go, binarytrees_expected)

# (collector name, executable, extra environment)
COLLECTORS = [
    ("tricolor", "pause_tricolor", {}),
    ("tricolor-stw", "pause_tricolor", {"TRICOLOR_DEBUG": "gcstoptheworld=1"}),
    ("go", "pause_go", {}),
]
BINARYTREES = [
    ("tricolor", "binarytrees_tricolor", {}),
    ("tricolor-stw", "binarytrees_tricolor", {"TRICOLOR_DEBUG": "gcstoptheworld=1"}),
    ("go", "binarytrees_go", {}),
]


def with_env(env):
    """The environment of a run: the caller's TRICOLOR_DEBUG items (gctrace,
    say) are kept, except gcstoptheworld, which only the row sets."""
    items = [item for item in os.environ.get("TRICOLOR_DEBUG", "").split(",")
             if item and not item.startswith("gcstoptheworld=")]
    items += [item for item in env.get("TRICOLOR_DEBUG", "").split(",") if item]
    return dict(env, TRICOLOR_DEBUG=",".join(items))


def pause_command(executable, go, args, live):
    dash = "-" if go else "--"  # Go's flag package takes either; keep it native
    return [executable, dash + "live", str(live), dash + "seconds",
            str(args.seconds), dash + "threads", str(args.threads),
            dash + "rate", str(args.rate), dash + "json"]


def run_pause(path, env, command, timeout):
    status, wall, _, rss, stdout, stderr = run_macro.run_once(command, env, timeout)
    result = None
    for line in stdout.splitlines():
        if line.startswith("{"):
            try:
                result = json.loads(line)
            except ValueError:
                pass
    error = None
    if status is None:
        error = "timed out"
    elif status < 0:
        error = "killed by signal %d" % -status
    elif status != 0:
        error = "exit code %d" % status
    elif result is None:
        error = "no JSON result"
    if result is not None and result.get("verify") == "FAILED":
        error = "live heap broken (verification failed)"
    return {"result": result, "error": error, "wall_s": wall,
            "stdout": stdout[-2000:], "stderr": stderr[-4000:]}


def us(summary, key):
    if not summary:
        return "-"
    value = summary.get(key)
    if value is None:
        return "-"
    return "%.0f" % value if value >= 100 else "%.1f" % value


def pause_table(rows):
    lines = ["| live MiB | collector | cycles | pauses | pause max us | p99 | median "
             "| TTSP max us | p99 | median | peak RSS MiB | alloc MiB/s |",
             "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
             "| ---: | ---: |"]
    notes, per_cycle = [], []
    for row in rows:
        r = row["run"]
        res = r["result"] if r else None
        if r is None:
            cells = ["not built"] + ["-"] * 9
        elif r["error"] or res is None:
            cells = ["FAILED"] + ["-"] * 9
            notes.append("- FAILED %s MiB %s: %s; stderr ends: %s" % (
                row["live"], row["collector"], r["error"],
                " / ".join(r["stderr"].strip().splitlines()[-3:])))
        else:
            cells = [str(res["cycles"]), str(res["pauses"]),
                     us(res["pause_us"], "max"), us(res["pause_us"], "p99"),
                     us(res["pause_us"], "p50"), us(res["ttsp_us"], "max"),
                     us(res["ttsp_us"], "p99"), us(res["ttsp_us"], "p50"),
                     "%.0f" % res["peak_rss_mib"], "%.0f" % res["alloc_mib_per_s"]]
            if res.get("pause_source") == "cycles":
                per_cycle.append("%s MiB %s" % (row["live"], row["collector"]))
            if res.get("unseen_pauses"):
                notes.append("- %s MiB %s: %d pause(s) left the ring unsampled."
                             % (row["live"], row["collector"], res["unseen_pauses"]))
        lines.append("| %s | %s | %s |" % (row["live"], row["collector"],
                                           " | ".join(cells)))
    if per_cycle:
        notes.append("- The collector did not record single pauses (num_pauses "
                     "stayed 0) in: %s; their pauses are per cycle (the "
                     "pause_ns ring), without TTSP." % ", ".join(per_cycle))
    return lines + ([""] + notes if notes else [])


def binarytrees_table(rows, depth):
    lines = ["| binary-trees %d | wall s | peak RSS MiB | GCs | pauses "
             "| max pause ms |" % depth,
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for row in rows:
        r = row["run"]
        if r is None:
            lines.append("| %s | not built | - | - | - | - |" % row["collector"])
        elif r["error"]:
            lines.append("| %s | FAILED | - | - | - | - |" % row["collector"])
            lines.append("")
            lines.append("- FAILED %s: %s" % (row["collector"], r["error"]))
        else:
            st = r["stats"]
            lines.append("| %s | %.3f | %.0f | %s | %s | %s |" % (
                row["collector"], r["wall_s"], r["peak_rss_kib"] / 1024,
                st.get("gcs", "-"), st.get("pauses", "-"),
                st.get("max_pause_ms", "-")))
    good = {row["collector"]: float(row["run"]["stats"]["max_pause_ms"])
            for row in rows if row["run"] and not row["run"]["error"]
            and "max_pause_ms" in row["run"]["stats"]}
    if "tricolor" in good and "go" in good:
        lines.append("")
        lines.append("Longest pause on binary-trees: tricolor %.3f ms, Go %.3f ms: "
                     "%s." % (good["tricolor"], good["go"],
                              "no longer than Go's" if good["tricolor"] <= good["go"]
                              else "LONGER than Go's"))
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("build_dir", nargs="?", default="build",
                        help="meson build directory (default: build)")
    parser.add_argument("--seconds", type=float, default=10,
                        help="measured seconds per run (default: 10)")
    parser.add_argument("--sizes", default="64,256,1024",
                        help="live heap sizes, MiB (default: 64,256,1024)")
    parser.add_argument("--big", action="store_true",
                        help="also 2048 MiB")
    parser.add_argument("--threads", type=int, default=4,
                        help="mutator threads / goroutines (default: 4)")
    parser.add_argument("--rate", type=float, default=0,
                        help="cap on the total allocation rate, MiB/s "
                             "(default: 0, none)")
    parser.add_argument("--only", default="",
                        help="comma list of collectors: tricolor, "
                             "tricolor-stw, go")
    parser.add_argument("--bt-depth", type=int, default=21,
                        help="binary-trees depth (default 21; 0 skips it)")
    parser.add_argument("--timeout", type=float, default=300,
                        help="seconds before a run is killed (default: 300)")
    parser.add_argument("--json", metavar="FILE",
                        help="also write every run's figures as JSON")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if args.big and 2048 not in sizes:
        sizes.append(2048)
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    known = {c[0] for c in COLLECTORS}
    if only - known:
        parser.error("unknown collector(s): %s" % ", ".join(sorted(only - known)))
    collectors = [c for c in COLLECTORS if not only or c[0] in only]
    bench_dir = os.path.join(args.build_dir, "bench")

    go_built = set()
    if any(c[0] == "go" for c in collectors):
        go_built = run_macro.build_go(args.build_dir,
                                      ["pause_go"] + (["binarytrees_go"]
                                                      if args.bt_depth else []))

    def available(name):
        if name.endswith("_go"):
            return name in go_built
        return os.access(os.path.join(bench_dir, name), os.X_OK)

    for name in sorted({c[1] for c in collectors if not c[1].endswith("_go")}):
        if not available(name):
            print("not built: %s (meson setup -Dbenchmarks=true)"
                  % os.path.join(bench_dir, name), file=sys.stderr)

    pause_rows = []
    for live in sizes:
        for collector, name, env in collectors:
            row = {"live": live, "collector": collector, "run": None}
            pause_rows.append(row)
            if not available(name):
                continue
            command = pause_command(os.path.join(bench_dir, name),
                                    name.endswith("_go"), args, live)
            print("%s %s" % (" ".join("%s=%s" % kv for kv in env.items()),
                             " ".join(command)), file=sys.stderr, flush=True)
            row["run"] = run_pause(name, with_env(env), command, args.timeout)
            res = row["run"]["result"]
            if res:
                print("  cycles %s, pauses %s, max %s us" % (
                    res["cycles"], res["pauses"], us(res["pause_us"], "max")),
                    file=sys.stderr, flush=True)

    bt_rows = []
    if args.bt_depth:
        expected = run_macro.binarytrees_expected(args.bt_depth)
        for collector, name, env in BINARYTREES:
            if only and collector not in only:
                continue
            row = {"collector": collector, "run": None}
            bt_rows.append(row)
            if not available(name):
                continue
            command = [os.path.join(bench_dir, name), str(args.bt_depth)]
            print("%s %s" % (" ".join("%s=%s" % kv for kv in env.items()),
                             " ".join(command)), file=sys.stderr, flush=True)
            status, wall, _, rss, stdout, stderr = run_macro.run_once(
                command, with_env(env), args.timeout)
            row["run"] = {"wall_s": wall, "peak_rss_kib": rss,
                          "stats": run_macro.parse_stats(stderr),
                          "error": run_macro.verify("binarytrees", args.bt_depth,
                                                    status, stdout, stderr),
                          "canonical": stdout == expected,
                          "stderr": stderr[-4000:]}

    now = datetime.datetime.now().astimezone()
    go = run_macro.go_version() if go_built else None
    print("Measured %s on %s (%s, %d CPUs); %d mutator thread(s), %.0f s per "
          "run%s; %s. Pauses in microseconds, each stop-the-world pause on its "
          "own; TTSP = time to safepoint; alloc = the mutators' nominal rate "
          "(24-byte nodes, as Go's).\n" % (
              now.strftime("%Y-%m-%d %H:%M %Z"), platform.node(),
              platform.platform(), os.cpu_count() or 0, args.threads,
              args.seconds,
              ", allocation capped at %.0f MiB/s" % args.rate if args.rate else "",
              "Go: %s (GOMAXPROCS %d, pauses from gctrace)" % (go, os.cpu_count() or 0)
              if go else "Go: not run"))
    print("\n".join(pause_table(pause_rows)))
    if bt_rows:
        print()
        print("\n".join(binarytrees_table(bt_rows, args.bt_depth)))

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"date": now.isoformat(), "host": platform.node(),
                       "platform": platform.platform(), "cpus": os.cpu_count(),
                       "go": go, "seconds": args.seconds, "threads": args.threads,
                       "rate_mib_per_s": args.rate, "pauses": pause_rows,
                       "binarytrees_depth": args.bt_depth,
                       "binarytrees": bt_rows}, f, indent=2)
    failed = [r for r in pause_rows + bt_rows if r["run"] and r["run"]["error"]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
