#!/usr/bin/env python3
"""Runs binary-trees on tricolor and on Go under several pacer settings and
prints one Markdown table of how well each runtime keeps its heap goal, what
its marking costs in CPU, and its peak RSS and wall time (issue 4's pacer
table), then one sentence a setting comparing the two.

    python3 bench/run_pacer.py [BUILD_DIR] [--depth 21] [--repeat 1]
                               [--limit 256MiB] [--json out.json]

Settings, each run on BUILD_DIR/bench/binarytrees_tricolor DEPTH and on
bench/go/binarytrees.go, tricolor then Go, the whole sequence --repeat
times: GC percent 50, 100, 200, 400 (TRICOLOR_GC_PERCENT / GOGC); GC percent
100 and off, each with the memory limit --limit, which should lie below the
natural peak heap (TRICOLOR_MEMORY_LIMIT / GOMEMLIMIT, same syntax). Every
knob is set in every run (a limit "off" when there is none), so the caller's
environment does not leak in.

Figures come from the gctrace lines on stderr (TRICOLOR_DEBUG=gctrace=2,
GODEBUG=gctrace=1; layout in gc/gctrace.hpp), forced cycles left out:
- cycles: gctrace lines (median over the repeats);
- goal error: (heap at mark end - goal) / goal of each cycle after the first
  3 whose goal is above the 4 MiB minimum: median and 90th percentile
  (nearest rank) of |error|, share within +/-5 %, mean signed error, over
  the cycles of all repeats. The gctrace line gives heap and goal in whole
  MB (truncated), good to about 1 MB / goal: coarse below goals of ~20 MB.
  Where tricolor's gctrace=2 detail line ends in "..., H B at mark end,
  G B goal", those exact bytes are used instead (a note says in which rows);
- mark CPU: the sum of assist + background + idle cpu ms over the sum of
  concurrent-mark clock ms times os.cpu_count(), the share of the machine
  marking used while it ran; "background" the same for background cpu alone
  (a 25 % background utilization reads 25);
- GC CPU: the "%" field of the last gctrace line (median over the repeats);
- peak RSS (/usr/bin/time -f %M, else ru_maxrss) and wall time, medians, as
  in run_macro.py; with a limit also peak RSS / limit.
Lines that start with "gc " but do not parse are counted and reported.

Verification: every run must exit 0, print the canonical binary-trees
output (run_macro.verify) and at least one gctrace line; a failed run is
marked and makes the exit code 1.

Go: bench/go/binarytrees.go, built by run_macro.build_go into
BUILD_DIR/bench/binarytrees_go, reads its own gctrace lines from a pipe (to
time its pauses); BENCH_ECHO_GCTRACE=1 makes it pass them on to stderr.
Without `go` the Go rows are skipped with a message.
"""

import argparse
import datetime
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_macro  # noqa: E402  (run_once, verify, parse_stats, go_version)

GC_PERCENTS = [50, 100, 200, 400]
RUNTIMES = ["tricolor", "go"]
WARMUP_CYCLES = 3
MIN_GOAL_BYTES = 4 << 20
GOAL_TOLERANCE = 0.05
LIMIT_UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}
NUMBER = r"([0-9.]+)"
GCTRACE = re.compile(
    r"^gc (\d+) @[0-9.]+s (\d+)%: {n}\+{n}\+{n} ms clock, "
    r"{n}\+{n}/{n}/{n}\+{n} ms cpu, (\d+)->(\d+)->(\d+) MB, (\d+) MB goal, "
    r"\d+ MB stacks, \d+ MB globals, \d+ P( \(forced\))?$".format(n=NUMBER))
DETAIL = re.compile(r"^gc (\d+) detail: ")
DETAIL_BYTES = re.compile(r", (\d+) B at mark end, (\d+) B goal$")


def limit_bytes(text):
    """The byte count of a --limit value (digits and an optional B, KiB,
    MiB, GiB or TiB suffix, the syntax both runtimes accept)."""
    match = re.fullmatch(r"(\d+)(B|KiB|MiB|GiB|TiB)?", text)
    if not match:
        raise argparse.ArgumentTypeError("not a size like 200MiB: %r" % text)
    return int(match.group(1)) * LIMIT_UNITS[match.group(2) or "B"]


def settings(limit):
    """(name, GC percent, memory limit or None) of each row pair."""
    return ([("GC %d" % p, str(p), None) for p in GC_PERCENTS]
            + [("GC 100 + limit %s" % limit, "100", limit),
               ("GC off + limit %s" % limit, "off", limit)])


def environment(runtime, percent, limit):
    if runtime == "tricolor":
        return {"TRICOLOR_GC_PERCENT": percent, "TRICOLOR_MEMORY_LIMIT": limit or "off",
                "TRICOLOR_DEBUG": "gctrace=2"}
    return {"GOGC": percent, "GOMEMLIMIT": limit or "off", "GODEBUG": "gctrace=1",
            "BENCH_ECHO_GCTRACE": "1"}


def parse_gctrace(stderr):
    """(cycles, unparsed): one dict a non-forced gctrace line, with heap at
    mark end and goal in bytes, exact when a detail line gave them; and the
    number of other lines starting with "gc " (forced cycles are neither)."""
    cycles, unparsed, by_number = [], 0, {}
    for line in stderr.splitlines():
        detail = DETAIL.match(line)
        if detail:
            exact = DETAIL_BYTES.search(line)
            cycle = by_number.get(int(detail.group(1)))
            if exact and cycle:
                cycle.update(heap_end=int(exact.group(1)), goal=int(exact.group(2)),
                             exact=True)
            continue
        match = GCTRACE.match(line)
        if match is None:
            unparsed += line.startswith("gc ")
            continue
        (number, percent, _, mark_ms, _, _, assist, background, idle, _,
         _, heap_end, _, goal, forced) = match.groups()
        if not forced:
            cycles.append({"gc_percent": int(percent), "mark_ms": float(mark_ms),
                           "assist_ms": float(assist),
                           "background_ms": float(background),
                           "idle_ms": float(idle), "heap_end": int(heap_end) << 20,
                           "goal": int(goal) << 20, "exact": False})
            by_number[int(number)] = cycles[-1]
    return cycles, unparsed


def goal_errors(cycles):
    """(heap at mark end - goal) / goal of the cycles past the warm-up."""
    return [(c["heap_end"] - c["goal"]) / c["goal"]
            for c in cycles[WARMUP_CYCLES:] if c["goal"] > MIN_GOAL_BYTES]


def nearest_rank(values, fraction):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def summarize(row, cpus):
    """Adds the row's figures (see the module docstring); None when absent."""
    good = [r for r in row["runs"] if r["error"] is None]
    row["ok"] = bool(row["runs"]) and len(good) == len(row["runs"])
    cycles = [c for r in good for c in r["cycles"]]
    errors = [e for r in good for e in goal_errors(r["cycles"])]
    magnitudes = [abs(e) for e in errors]
    mark_clock = sum(c["mark_ms"] for c in cycles) * cpus

    def median(values):
        return statistics.median(values) if values else None

    def mark_share(*keys):
        return (sum(c[k] for c in cycles for k in keys) / mark_clock
                if mark_clock else None)

    row.update({
        "cycles": median([len(r["cycles"]) for r in good]),
        "goal_error_cycles": len(errors),
        "goal_error_median": median(magnitudes),
        "goal_error_p90": nearest_rank(magnitudes, 0.9) if errors else None,
        "goal_within_5pct": (sum(m <= GOAL_TOLERANCE for m in magnitudes) / len(errors)
                             if errors else None),
        "goal_error_mean": statistics.mean(errors) if errors else None,
        "mark_cpu": mark_share("assist_ms", "background_ms", "idle_ms"),
        "background_cpu": mark_share("background_ms"),
        "gc_cpu_percent": median([r["cycles"][-1]["gc_percent"]
                                  for r in good if r["cycles"]]),
        "peak_rss_mib": median([r["peak_rss_kib"] / 1024 for r in good]),
        "wall_s": median([r["wall_s"] for r in good]),
        "unparsed": sum(r["unparsed"] for r in row["runs"]),
        "exact_bytes": bool(cycles) and all(c["exact"] for c in cycles),
    })
    row["rss_over_limit"] = (row["peak_rss_mib"] * (1 << 20) / limit_bytes(row["limit"])
                             if row["limit"] and row["peak_rss_mib"] else None)


def fmt(value, digits, scale=1):
    return "-" if value is None else "%.*f" % (digits, value * scale)


def table(rows):
    lines = ["| setting | runtime | cycles | goal err median % | p90 % | within 5 % "
             "| mean signed % | mark CPU % | background % | GC CPU % | peak RSS MiB "
             "| RSS / limit | wall s |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
             "| ---: | ---: | ---: |"]
    for row in rows:
        if not row["runs"]:
            cells = ["not built"] + ["-"] * 10
        elif not row["ok"]:
            cells = ["FAILED"] + ["-"] * 10
        else:
            cells = [fmt(row["cycles"], 0), fmt(row["goal_error_median"], 1, 100),
                     fmt(row["goal_error_p90"], 1, 100),
                     fmt(row["goal_within_5pct"], 0, 100),
                     fmt(row["goal_error_mean"], 1, 100), fmt(row["mark_cpu"], 0, 100),
                     fmt(row["background_cpu"], 0, 100), fmt(row["gc_cpu_percent"], 0),
                     fmt(row["peak_rss_mib"], 0), fmt(row["rss_over_limit"], 2),
                     fmt(row["wall_s"], 2)]
        lines.append("| %s | %s | %s |" % (row["setting"], row["runtime"],
                                           " | ".join(cells)))
    return lines


def compare(what, tricolor, go, unit, digits, scale=1):
    """"what T vs G unit (X lower)" for a figure where lower is better."""
    if tricolor is None or go is None:
        return "%s: not comparable" % what
    shown = fmt(tricolor, digits, scale), fmt(go, digits, scale)
    lower = float(shown[0]) - float(shown[1])  # as printed: no hidden decimals
    verdict = ("equal" if lower == 0 else
               "%s lower" % ("tricolor" if lower < 0 else "Go"))
    return "%s %s vs %s%s (%s)" % (what, shown[0], shown[1], unit, verdict)


def notes(rows, limit):
    """One tricolor-vs-Go sentence a setting, then failures and diagnostics."""
    counts = []
    for runtime in RUNTIMES:
        ok = [r for r in rows if r["ok"] and r["runtime"] == runtime]
        counts.append("%s %d of %d" % (runtime, sum(r["exact_bytes"] for r in ok),
                                       len(ok)))
    lines = ["- Goal error from exact bytes (gctrace=2 detail line) in the rows "
             "of %s; in the others from whole MB." % ", ".join(counts)]
    for name, _, _ in settings(limit):
        pair = {r["runtime"]: r for r in rows if r["setting"] == name and r["ok"]}
        if len(pair) < 2:
            continue
        t, g = pair["tricolor"], pair["go"]
        lines.append("- %s, tricolor vs Go: %s; %s; %s; %s." % (
            name, compare("median |goal error|", t["goal_error_median"],
                          g["goal_error_median"], " %", 1, 100),
            compare("mark CPU", t["mark_cpu"], g["mark_cpu"], " %", 0, 100),
            compare("peak RSS", t["peak_rss_mib"], g["peak_rss_mib"], " MiB", 0),
            compare("wall", t["wall_s"], g["wall_s"], " s", 2)))
    for row in rows:
        label = "%s %s" % (row["setting"], row["runtime"])
        for r in row["runs"]:
            if r["error"]:
                lines.append("- FAILED %s: %s; stderr ends: %s" % (
                    label, r["error"], " / ".join(r["other_stderr"][-3:])))
        if row["unparsed"]:
            lines.append("- %s: %d line(s) starting with \"gc \" did not parse."
                         % (label, row["unparsed"]))
    return lines


def run(row, depth, timeout):
    """Runs the row's program once; returns the run's record."""
    command = [row["executable"], str(depth)]
    print("%s %s" % (" ".join("%s=%s" % kv for kv in row["env"].items()),
                     " ".join(command)), file=sys.stderr, flush=True)
    status, wall, _, rss, stdout, stderr = run_macro.run_once(command, row["env"], timeout)
    cycles, unparsed = parse_gctrace(stderr)
    error = run_macro.verify("binarytrees", depth, status, stdout, stderr)
    if error is None and not cycles:
        error = "no gctrace lines on stderr"
    return {"wall_s": wall, "peak_rss_kib": rss, "exit_status": status,
            "error": error, "cycles": cycles, "unparsed": unparsed,
            "stats": run_macro.parse_stats(stderr),
            "other_stderr": [line for line in stderr.splitlines() if not
                             (GCTRACE.match(line) or DETAIL.match(line))][-20:]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("build_dir", nargs="?", default="build",
                        help="meson build directory (default: build)")
    parser.add_argument("--depth", type=int, default=21,
                        help="binary-trees depth N (default: 21)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each setting and runtime (default: 1)")
    parser.add_argument("--limit", default="256MiB",
                        help="memory limit of the limit rows, below the natural "
                             "peak heap and above the live heap: depth 21's "
                             "stretch tree is ~200 MiB live (default: 256MiB)")
    parser.add_argument("--timeout", type=float, default=600,
                        help="seconds before a run is killed (default: 600)")
    parser.add_argument("--json", metavar="FILE",
                        help="also write every run's figures as JSON")
    args = parser.parse_args()
    try:
        limit_bytes(args.limit)
    except argparse.ArgumentTypeError as e:
        parser.error("--limit: %s" % e)
    cpus = os.cpu_count() or 1

    tricolor = os.path.join(args.build_dir, "bench", "binarytrees_tricolor")
    go_built = run_macro.build_go(args.build_dir, ["binarytrees_go"])
    executables = {"tricolor": tricolor if os.access(tricolor, os.X_OK) else None,
                   "go": os.path.abspath(os.path.join(args.build_dir, "bench", "binarytrees_go"))
                   if go_built else None}
    if executables["tricolor"] is None:
        print("not built: %s (meson setup -Dbenchmarks=true)" % tricolor,
              file=sys.stderr)
    rows = [{"setting": name, "runtime": runtime, "limit": limit,
             "env": environment(runtime, percent, limit),
             "executable": executables[runtime], "runs": []}
            for name, percent, limit in settings(args.limit) for runtime in RUNTIMES]

    for repeat in range(args.repeat):
        print("repeat %d/%d" % (repeat + 1, args.repeat), file=sys.stderr)
        for row in rows:
            if row["executable"]:
                row["runs"].append(run(row, args.depth, args.timeout))
    for row in rows:
        summarize(row, cpus)

    now = datetime.datetime.now().astimezone()
    go = run_macro.go_version() if executables["go"] else None
    print("Measured %s on %s (%s, %d CPUs); binary-trees depth %d; %d repeat(s): "
          "median cycles, GC CPU, RSS and wall; goal error and mark CPU over the "
          "cycles of all repeats, forced cycles and the first %d left out. "
          "%s.\n" % (
              now.strftime("%Y-%m-%d %H:%M %Z"), platform.node(),
              platform.platform(), cpus, args.depth, args.repeat, WARMUP_CYCLES,
              "Go: %s, GOMAXPROCS %d" % (go, cpus) if go else "Go: not run"))
    print("\n".join(table(rows)))
    print()
    print("\n".join(notes(rows, args.limit)))

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"date": now.isoformat(), "host": platform.node(),
                       "platform": platform.platform(), "cpus": cpus, "go": go,
                       "depth": args.depth, "repeat": args.repeat,
                       "limit": args.limit, "results": rows}, f, indent=2)
    return 0 if all(row["ok"] for row in rows if row["executable"]) else 1


if __name__ == "__main__":
    sys.exit(main())
