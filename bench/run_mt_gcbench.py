#!/usr/bin/env python3
"""Runs the multi-threaded GCBench with holes (bench/mt_gcbench.hpp) at 1, 2
and 4 threads on every memory manager and prints one Markdown table of wall
time, CPU (user and system), page faults, context switches and peak RSS, with
ratios to Boehm GC measured in the same invocation (issue 12).

    python3 bench/run_mt_gcbench.py [BUILD_DIR] [--threads 1,2,4]
                                    [--repeat 3] [--only LIST]

Variants: tricolor, boehm (threads registered, GC_MARKERS left at its
default), malloc (glibc malloc/free: no collector) and go (bench/go/
mt_gcbench.go, built with `go build` as run_macro.py builds its Go programs;
skipped when `go` is missing). With --repeat R the whole sequence runs R
times, interleaved, and the table shows medians.

Measurement: every figure but wall time comes from /usr/bin/time
(%U %S %M %R %w %c: user and system CPU, peak RSS, minor page faults,
voluntary and involuntary context switches); wall time is the program's own
"wall_ms=" (from before its threads start to after they join). A run that
exits non-zero (a thread's long-lived data lost an element: "Failed") is
marked and makes the exit code 1.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys

from run_macro import build_go

VARIANTS = ["tricolor", "boehm", "malloc", "go"]
TIME_FORMAT = "time: %U %S %M %R %w %c"


def run_once(executable, threads):
    result = subprocess.run(
        ["/usr/bin/time", "-f", TIME_FORMAT, executable, str(threads)],
        capture_output=True, text=True, timeout=600)
    wall = re.search(r"wall_ms=(\d+)", result.stdout)
    times = re.search(r"^time: (\S+) (\S+) (\d+) (\d+) (\d+) (\d+)$",
                      result.stderr, re.M)
    if result.returncode != 0 or wall is None or times is None:
        return None
    user, sys_, rss_kb, faults, voluntary, involuntary = times.groups()
    return {"wall": int(wall.group(1)) / 1000, "user": float(user),
            "sys": float(sys_), "rss": int(rss_kb) / 1024,
            "faults": int(faults),
            "switches": int(voluntary) + int(involuntary)}


def median(runs, key):
    return statistics.median(run[key] for run in runs)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build_dir", nargs="?", default="build")
    parser.add_argument("--threads", default="1,2,4")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default=",".join(VARIANTS))
    args = parser.parse_args()
    thread_counts = [int(t) for t in args.threads.split(",")]
    variants = [v for v in VARIANTS if v in args.only.split(",")]
    bench_dir = os.path.join(args.build_dir, "bench")
    if "go" in variants and "mt_gcbench_go" not in build_go(args.build_dir, ["mt_gcbench_go"]):
        variants.remove("go")

    runs = {(v, t): [] for v in variants for t in thread_counts}
    failed = set()
    for _ in range(args.repeat):
        for threads in thread_counts:
            for variant in variants:
                run = run_once(os.path.join(bench_dir, "mt_gcbench_" + variant), threads)
                if run is None:
                    failed.add((variant, threads))
                else:
                    runs[(variant, threads)].append(run)

    print("| threads | variant | wall s | / Boehm | slowdown from 1 thread "
          "| user s | sys s | sys / user | minor faults | context switches "
          "| peak RSS MiB |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for threads in thread_counts:
        for variant in variants:
            sample = runs[(variant, threads)]
            if not sample:
                print("| %d | %s | failed |" % (threads, variant))
                continue
            wall = median(sample, "wall")
            boehm = runs.get(("boehm", threads))
            ratio = "%.2f" % (wall / median(boehm, "wall")) if boehm else "-"
            one = runs.get((variant, 1))
            slowdown = "%.2fx" % (wall / median(one, "wall")) if one and threads != 1 else "-"
            user, sys_ = median(sample, "user"), median(sample, "sys")
            print("| %d | %s | %.2f | %s | %s | %.2f | %.2f | %.0f %% | %d | %d | %.0f |" % (
                threads, variant, wall, ratio, slowdown, user, sys_,
                100 * sys_ / user if user else 0, median(sample, "faults"),
                median(sample, "switches"), median(sample, "rss")))
    print("\nmedians of %d interleaved runs%s" % (
        args.repeat, "; FAILED: " + ", ".join("%s at %d" % f for f in sorted(failed))
        if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
