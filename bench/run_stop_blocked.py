#!/usr/bin/env python3
"""Runs bench/stop_blocked_tricolor with 0, 1, 16 and 256 blocked threads,
blocked in a condition variable (with and without blocking_scope) and in a
raw futex wait, and prints one Markdown table: what a blocked thread adds to
each stop-the-world pause.

    python3 bench/run_stop_blocked.py [BUILD_DIR] [--threads 0,1,16,256]
                                      [--modes plain,scope,signal] [--cycles 200]
                                      [--warmup 5] [--live 4]
                                      [--hang-seconds 5] [--timeout 120]
                                      [--repeat 1] [--json out.json]

Modes (bench/stop_blocked_tricolor.cc says more):
  plain  the threads block in a condition variable with no blocking_scope:
         the library's interposed pthread_cond_wait marks them safe;
  scope  each thread blocks inside a tricolor::blocking_scope (the
         cooperative hint), for comparison;
  signal the threads block in a raw futex system call, which nothing
         interposes: the collector stops each with its signal in every pause.

One row per mode and thread count, with the run's pauses (every
stop-the-world pause of its --cycles collect() calls, read one by one from
read_stats()), their median and maximum, the same for the time to safepoint,
the medians of the mark-start and mark-termination pauses apart, and the
cost of a blocked thread:

    us per blocked thread per pause = (median pause with N - median pause
                                       with 0) / N

against the N = 0 run of the same mode in this invocation (so --threads must
hold 0 for that column). A concurrent cycle has two pauses, a longer mark
start (it copies the roots) and a shorter termination, so the median of all
pauses sits between the two groups and can move by a few microseconds from
run to run; the last column does not depend on where that median falls: the
same difference taken for each kind of pause apart, averaged over the two (a
cycle has one of each), / N. With 1 blocked thread either is within the
run-to-run noise of the 0-thread median (a few microseconds on a shared
machine): use --repeat, and read the 16- and 256-thread rows for the cost.
With --repeat R every (mode, N) runs R times, round-robin, and a row gives
the median of the runs' medians and the largest maximum.

A run whose pause never finishes (a collector that waits forever for a
thread blocked outside a blocking_scope) is reported as "hung": the program
gives up after --hang-seconds in one phase and says so, and the runner kills
it after --timeout in any case; a (mode, N) that hung is not run again by
--repeat. Each run takes well under a second when nothing hangs (about
--hang-seconds when it does).

The exit code is 1 if a run failed (a crash, a wrong exit code, or a thread's
object or the live heap found broken at the end); a hung run is a result, not
a failure, unless --fail-on-hang.
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_macro  # noqa: E402  (run_once)

PROGRAM = "stop_blocked_tricolor"


def run(executable, args, threads, mode):
    command = [executable, "--threads", str(threads), "--mode", mode,
               "--cycles", str(args.cycles), "--warmup", str(args.warmup),
               "--live", str(args.live), "--hang-seconds", str(args.hang_seconds),
               "--json"]
    print(" ".join(command), file=sys.stderr, flush=True)
    status, wall, _, _, stdout, stderr = run_macro.run_once(command, {}, args.timeout)
    result = None
    for line in stdout.splitlines():
        if line.startswith("{"):
            try:
                result = json.loads(line)
            except ValueError:
                pass
    hung, error = None, None
    if status is None:
        hung = "killed by the runner after %.0f s" % args.timeout
    elif result is not None and result.get("result") == "hung":
        hung = "phase %s, cycle %s: not finished after %s s" % (
            result.get("phase"), result.get("cycle"), result.get("hang_seconds"))
    elif status < 0:
        error = "killed by signal %d" % -status
    elif result is None:
        error = "exit code %d, no JSON result" % status
    elif result.get("verify") != "ok":
        error = "verification failed (a thread's object or the live heap broken)"
    elif status != 0:
        error = "exit code %d" % status
    # The collector's own words about the thread it waited for, if any.
    said = [line for line in stderr.splitlines() if line.startswith("tricolor:")]
    return {"threads": threads, "mode": mode, "command": command, "wall_s": wall,
            "result": result if not hung else None, "hung": hung, "error": error,
            "collector_said": said[:3], "stderr": stderr[-2000:]}


def combine(runs):
    """One row from the repeats of one (mode, N): hung if one hung, failed if
    one failed, else the medians of the runs' medians, the largest maxima."""
    first = runs[0]
    row = {"threads": first["threads"], "mode": first["mode"], "runs": runs,
           "result": None, "hung": None, "error": None, "collector_said": [],
           "stderr": ""}
    for r in runs:
        if r["hung"] and not row["hung"]:
            row.update(hung=r["hung"], collector_said=r["collector_said"])
        if r["error"] and not row["error"]:
            row.update(error=r["error"], stderr=r["stderr"])
    if row["hung"] or row["error"]:
        return row
    results = [r["result"] for r in runs]
    res = dict(results[0])
    res["pauses"] = sum(x["pauses"] for x in results)
    res["unseen_pauses"] = sum(x["unseen_pauses"] for x in results)
    res["registered_min"] = min(x["registered_min"] for x in results)
    res["registered_max"] = max(x["registered_max"] for x in results)
    for key in ("pause_us", "ttsp_us", "stopped_us", "mark_start_us",
                "mark_termination_us"):
        parts = [x[key] for x in results if x.get(key)]
        res[key] = {"p50": statistics.median(p["p50"] for p in parts),
                    "max": max(p["max"] for p in parts)} if parts else None
    row["result"] = res
    return row


def p50(res, key):
    return res[key]["p50"] if res.get(key) else None


def us(value):
    if value is None:
        return "-"
    return "%.0f" % value if value >= 100 else "%.1f" % value


def per_thread(row, baseline):
    """(median pause with N - median pause with 0) / N, or None."""
    if row["threads"] == 0 or not row["result"] or not baseline or not baseline["result"]:
        return None
    return (p50(row["result"], "pause_us") - p50(baseline["result"], "pause_us")) / row["threads"]


def per_thread_by_kind(row, baseline):
    """The mean over mark start and mark termination of (median pause of that
    kind with N - with 0) / N; the first alone in stop-the-world mode."""
    if row["threads"] == 0 or not row["result"] or not baseline or not baseline["result"]:
        return None
    diffs = [p50(row["result"], k) - p50(baseline["result"], k)
             for k in ("mark_start_us", "mark_termination_us")
             if p50(row["result"], k) is not None and p50(baseline["result"], k) is not None]
    return sum(diffs) / len(diffs) / row["threads"] if diffs else None


def table(rows):
    lines = ["| mode | blocked threads | registered | pauses | pause median us "
             "| pause max us | TTSP median us | TTSP max us | mark start median us "
             "| termination median us | us per blocked thread per pause "
             "| same, by kind of pause |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
             "| ---: | ---: |"]
    notes = []
    baselines = {r["mode"]: r for r in rows if r["threads"] == 0}
    for row in rows:
        res = row["result"]
        label = "| %s | %d |" % (row["mode"], row["threads"])
        if row["hung"]:
            lines.append("%s hung | - | - | - | - | - | - | - | hung | hung |" % label)
            notes.append("- %s, %d blocked thread(s): hung (%s)%s" % (
                row["mode"], row["threads"], row["hung"],
                "; the collector said: \"%s\"" % row["collector_said"][0]
                if row["collector_said"] else ""))
            continue
        if row["error"] or not res:
            lines.append("%s FAILED | - | - | - | - | - | - | - | - | - |" % label)
            notes.append("- FAILED %s, %d blocked thread(s): %s; stderr ends: %s" % (
                row["mode"], row["threads"], row["error"],
                " / ".join(row["stderr"].strip().splitlines()[-3:])))
            continue
        registered = (str(res["registered_min"]) if res["registered_min"] == res["registered_max"]
                      else "%d-%d" % (res["registered_min"], res["registered_max"]))
        cost = per_thread(row, baselines.get(row["mode"]))
        by_kind = per_thread_by_kind(row, baselines.get(row["mode"]))
        lines.append("%s %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            label, registered, res["pauses"], us(res["pause_us"]["p50"]),
            us(res["pause_us"]["max"]), us(res["ttsp_us"]["p50"]),
            us(res["ttsp_us"]["max"]), us(p50(res, "mark_start_us")),
            us(p50(res, "mark_termination_us")),
            "-" if cost is None else "%.2f" % cost,
            "-" if by_kind is None else "%.2f" % by_kind))
        if res["registered_min"] != row["threads"] + 1 or res["registered_max"] != row["threads"] + 1:
            notes.append("- %s, %d blocked thread(s): %s registered thread(s), not %d "
                         "(the blocked ones and the main thread)" % (
                             row["mode"], row["threads"], registered, row["threads"] + 1))
        if res["unseen_pauses"]:
            notes.append("- %s, %d blocked thread(s): %d pause(s) left the ring unread."
                         % (row["mode"], row["threads"], res["unseen_pauses"]))
    for mode in sorted({r["mode"] for r in rows}):
        base = baselines.get(mode)
        if not base:
            notes.append("- %s: no 0-thread run in this invocation: no cost per thread."
                         % mode)
        elif not base["result"]:
            notes.append("- %s: the 0-thread run did not finish: no cost per thread."
                         % mode)
    return lines + ([""] + notes if notes else [])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("build_dir", nargs="?", default="build",
                        help="meson build directory (default: build)")
    parser.add_argument("--threads", default="0,1,16,256",
                        help="blocked thread counts (default: 0,1,16,256)")
    parser.add_argument("--modes", default="plain,scope,signal",
                        help="comma list of plain, scope, signal (default: all three)")
    parser.add_argument("--cycles", type=int, default=200,
                        help="measured collect() calls per run (default: 200)")
    parser.add_argument("--warmup", type=int, default=5,
                        help="collect() calls before measuring (default: 5)")
    parser.add_argument("--live", type=int, default=4,
                        help="live heap, MiB (default: 4)")
    parser.add_argument("--hang-seconds", type=int, default=5,
                        help="a phase of a run longer than this is a hang "
                             "(default: 5)")
    parser.add_argument("--timeout", type=float, default=120,
                        help="seconds before the runner kills a run (default: 120)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each (mode, N), round-robin (default: 1)")
    parser.add_argument("--fail-on-hang", action="store_true",
                        help="exit code 1 if a run hung")
    parser.add_argument("--json", metavar="FILE",
                        help="also write every run's figures as JSON")
    args = parser.parse_args()
    counts = [int(s) for s in args.threads.split(",") if s.strip()]
    modes = [s.strip() for s in args.modes.split(",") if s.strip()]
    known = {"plain", "scope", "signal"}
    if set(modes) - known:
        parser.error("unknown mode(s): %s" % ", ".join(sorted(set(modes) - known)))
    executable = os.path.join(args.build_dir, "bench", PROGRAM)
    if not os.access(executable, os.X_OK):
        print("not built: %s (ninja -C %s bench/%s)" % (executable, args.build_dir, PROGRAM),
              file=sys.stderr)
        return 1

    runs = {(mode, n): [] for mode in modes for n in sorted(counts)}
    for _ in range(max(1, args.repeat)):
        for (mode, n), done in runs.items():
            if done and done[-1]["hung"]:
                continue  # once hung, hung: do not wait for it again
            r = run(executable, args, n, mode)
            done.append(r)
            res = r["result"]
            print("  %s" % (r["hung"] and "hung: " + r["hung"] or r["error"] or
                            "pauses %d, median %s us, max %s us" % (
                                res["pauses"], us(res["pause_us"]["p50"]),
                                us(res["pause_us"]["max"]))),
                  file=sys.stderr, flush=True)
    rows = [combine(done) for done in runs.values()]

    now = datetime.datetime.now().astimezone()
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    collector = next((r["result"]["collector"] for r in rows if r["result"]), "-")
    print("Measured %s on %s (nproc %d, Linux %s, %s); collector %s; %d measured "
          "cycle(s) per run after %d warm-up, live heap %d MiB, %d run(s) of each; "
          "threads blocked in "
          "std::condition_variable::wait. Pauses in microseconds, every "
          "stop-the-world pause on its own; TTSP = time to safepoint; cost per "
          "blocked thread = (median pause with N - median pause with 0) / N, "
          "against the 0-thread run of the same mode.\n" % (
              now.strftime("%Y-%m-%d %H:%M %Z"), platform.node(), nproc,
              platform.release(), platform.platform(), collector, args.cycles,
              args.warmup, args.live, max(1, args.repeat)))
    print("Command: `%s`\n" % " ".join(shlex.quote(a) for a in ["python3"] + sys.argv))
    print("\n".join(table(rows)))

    def base(row):
        return next((b for b in rows if b["mode"] == row["mode"] and b["threads"] == 0), None)

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"date": now.isoformat(), "host": platform.node(),
                       "platform": platform.platform(), "kernel": platform.release(),
                       "nproc": nproc, "cycles": args.cycles, "warmup": args.warmup,
                       "live_mib": args.live, "repeat": max(1, args.repeat),
                       "rows": rows,
                       "per_thread_us": {"%s/%d" % (r["mode"], r["threads"]): {
                           "median": per_thread(r, base(r)),
                           "by_kind": per_thread_by_kind(r, base(r))} for r in rows}},
                      f, indent=2)
    failed = [r for r in rows if r["error"] or (args.fail_on_hang and r["hung"])]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
