#!/usr/bin/env python3
"""Runs the macro-benchmarks (binary-trees, GCBench) of every memory manager
and prints one Markdown table of wall time, peak RSS, collector figures and
ratios to the anchors (mimalloc, Boehm GC, std::shared_ptr), all measured in
this one invocation, and CPU time with its ratio to mimalloc's.

    python3 bench/run_macro.py [BUILD_DIR] [--depth 21] [--repeat 1]
                               [--only LIST] [--json out.json]

Each executable runs alone, one after another; with --repeat R the whole
sequence runs R times (interleaved, so slow drift hits every variant alike)
and the table shows the median wall time, CPU time, peak RSS and GC count,
and the longest pause seen in any repeat.

Measurement: wall time from spawn to exit (time.perf_counter); CPU time,
user plus system, of the process and its threads from os.wait4; peak RSS
from /usr/bin/time -f %M when present, else ru_maxrss from os.wait4. GC figures come from the one line
"bench-stats: key=value ..." a collector variant prints on stderr at exit.

Verification: every binary-trees run must print exactly the canonical
Benchmarks Game lines computed below (hence all variants print the same
output); every GCBench run must exit 0 without "Failed". A failed run is
marked in the table and makes the exit code 1.

The variant mimalloc_thp is mimalloc with MIMALLOC_LARGE_OS_PAGES=1: its
segments are madvised for transparent huge pages, as tricolor's arena is
(heap/arena.cc). Where THP is "always" both get them anyway; where it is
"madvise" (/sys/kernel/mm/transparent_hugepage/enabled), only this variant
compares like with like, and the header line says which mode the machine is in.

The variant boehm_parallel is Boehm GC with GC_MARKERS set to the number of
CPUs (bench/boehm_stats.hpp starts the parallel marker threads for it).

The variant go (binary-trees only) is bench/go/binarytrees.go, built here with
`go build` into BUILD_DIR/bench/binarytrees_go (Debian's golang-go, stdlib
only; skipped with a message when `go` is not installed). Its pauses are each
stop-the-world pause on its own, from GODEBUG=gctrace=1 (bench/go/gctrace.go).
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

BENCHMARKS = ["binarytrees", "gcbench"]
# (variant name, executable suffix, extra environment)
VARIANTS = [
    ("tricolor", "tricolor", {}),
    # Minor cycles (gc/generations.hpp), off by default.
    ("tricolor_generational", "tricolor", {"TRICOLOR_DEBUG": "generational=1"}),
    ("mimalloc", "mimalloc", {}),
    # mimalloc with transparent huge pages (madvise), as tricolor's arena
    # asks for them: the fair anchor where THP is "madvise", not "always".
    ("mimalloc_thp", "mimalloc", {"MIMALLOC_LARGE_OS_PAGES": "1"}),
    ("malloc", "malloc", {}),
    ("boehm", "boehm", {}),
    ("boehm_parallel", "boehm", {"GC_MARKERS": str(os.cpu_count() or 1)}),
    ("shared_ptr", "shared_ptr", {}),
    ("go", "go", {}),
]
# (benchmark, variant) pairs that have no program.
UNSUPPORTED = {("gcbench", "go")}
ANCHORS = ["mimalloc", "boehm", "shared_ptr"]
# GNU time measures the peak RSS of the benchmark alone. Without it, the
# child's ru_maxrss from os.wait4 is used, which on Linux also counts this
# Python process's RSS at the fork (about 20 MiB): a floor, not an error, for
# the large runs.
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


# Go programs of bench/go: executable name -> source files (each file carries
# `//go:build ignore`, so they are built only by name, in pairs like these).
GO_PROGRAMS = {
    "binarytrees_go": ["binarytrees.go", "gctrace.go"],
    "pause_go": ["pause.go", "gctrace.go"],
    "mt_gcbench_go": ["mt_gcbench.go"],
}


def build_go(build_dir, names):
    """Builds the named GO_PROGRAMS into BUILD_DIR/bench with `go build`
    (GOPATH and GOCACHE in a temporary directory, GOPATH mode: the programs
    use the standard library only). Returns the names built; prints one line
    on stderr for each that could not be (or once, if `go` is missing)."""
    go = shutil.which("go")
    if go is None:
        print("go not found: skipping the Go programs (apt-get install "
              "golang-go)", file=sys.stderr)
        return set()
    source_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "go")
    out_dir = os.path.abspath(os.path.join(build_dir, "bench"))
    os.makedirs(out_dir, exist_ok=True)
    built = set()
    with tempfile.TemporaryDirectory(prefix="tricolor-go-") as tmp:
        env = dict(os.environ, GOPATH=os.path.join(tmp, "path"),
                   GOCACHE=os.path.join(tmp, "cache"), GO111MODULE="off",
                   GOFLAGS="", CGO_ENABLED="0")
        for name in names:
            result = subprocess.run(
                [go, "build", "-o", os.path.join(out_dir, name)]
                + GO_PROGRAMS[name], cwd=source_dir, env=env,
                capture_output=True, text=True)
            if result.returncode == 0:
                built.add(name)
            else:
                print("go build %s failed: %s" % (name, result.stderr.strip()),
                      file=sys.stderr)
    return built


def go_version():
    """`go version`'s third word (go1.19.8), or None."""
    go = shutil.which("go")
    if go is None:
        return None
    result = subprocess.run([go, "version"], capture_output=True, text=True)
    words = result.stdout.split()
    return words[2] if result.returncode == 0 and len(words) > 2 else None


def binarytrees_expected(n):
    """The canonical output of `binarytrees n`."""
    min_depth = 4
    max_depth = max(min_depth + 2, n)
    lines = ["stretch tree of depth %d\t check: %d"
             % (max_depth + 1, 2 ** (max_depth + 2) - 1)]
    for depth in range(min_depth, max_depth + 1, 2):
        iterations = 1 << (max_depth - depth + min_depth)
        lines.append("%d\t trees of depth %d\t check: %d"
                     % (iterations, depth, iterations * (2 ** (depth + 1) - 1)))
    lines.append("long lived tree of depth %d\t check: %d"
                 % (max_depth, 2 ** (max_depth + 1) - 1))
    return "\n".join(lines) + "\n"


def parse_stats(stderr):
    """The key=value pairs of the last "bench-stats:" line, as strings."""
    stats = {}
    for line in stderr.splitlines():
        if line.startswith("bench-stats:"):
            stats = dict(item.split("=", 1)
                         for item in line.split()[1:] if "=" in item)
    return stats


def run_once(command, env, timeout):
    """Runs command; returns (exit status, wall s, CPU s, peak RSS KiB,
    stdout, stderr); the status is negative for a signal, as in subprocess, and None
    for a run killed because it was still going after `timeout` seconds."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(mode="r") as rss_file:
        if GNU_TIME:
            command = [GNU_TIME, "-f", "%M", "-o", rss_file.name] + command
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err,
                                env=dict(os.environ, **env),
                                start_new_session=True)
        expired = []

        def expire():
            expired.append(True)
            os.killpg(proc.pid, signal.SIGKILL)

        killer = threading.Timer(timeout, expire)
        killer.start()
        _, wait_status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        killer.cancel()
        status = proc.returncode = os.waitstatus_to_exitcode(wait_status)
        rss = usage.ru_maxrss
        # GNU time's own CPU is a few milliseconds; its child's is included
        # (a process's usage counts the children it waited for).
        cpu = usage.ru_utime + usage.ru_stime
        # GNU time reports "[Command terminated by signal N\n]<max RSS KiB>\n",
        # nothing when it was killed itself (the timeout).
        report = rss_file.read().split() if GNU_TIME else []
        if report:
            if report[:3] == ["Command", "terminated", "by"]:
                status = -int(report[4])
            rss = int(report[-1])
        if expired:
            status = None
        out.seek(0)
        err.seek(0)
        return (status, wall, cpu, rss, out.read().decode(errors="replace"),
                err.read().decode(errors="replace"))


def verify(benchmark, depth, status, stdout, stderr):
    """Returns None if the run is correct, else what is wrong."""
    if status is None:
        return "timed out"
    if status < 0:
        return "killed by signal %d" % -status
    if status != 0:
        return "exit code %d" % status
    if benchmark == "binarytrees" and stdout != binarytrees_expected(depth):
        return "output differs from the canonical binary-trees output"
    if benchmark == "gcbench" and ("Failed" in stderr
                                   or "Completed in" not in stdout):
        return "GCBench verification failed"
    return None


def selected(only, benchmark, variant):
    """--only takes benchmarks, variants and executable names; a run is
    selected when it is named as an executable, or when both its benchmark
    and its variant pass (a kind of name that is not given passes all)."""
    if not only:
        return True
    if "%s_%s" % (benchmark, variant) in only:
        return True
    benchmarks = only & set(BENCHMARKS)
    variants = only & {v[0] for v in VARIANTS}
    if not benchmarks and not variants:
        return False
    return ((not benchmarks or benchmark in benchmarks)
            and (not variants or variant in variants))


def thp_mode():
    """The machine's transparent huge page mode: always, madvise or never."""
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            modes = f.read().split()
    except OSError:
        return "unknown"
    return next((m[1:-1] for m in modes if m.startswith("[")), "unknown")


def fmt(value, digits):
    return "-" if value is None else "%.*f" % (digits, value)


def summarize(rows):
    """Adds the median figures and the anchor ratios to each row."""
    for row in rows:
        good = [r for r in row["runs"] if r["error"] is None]
        row["ok"] = bool(row["runs"]) and len(good) == len(row["runs"])
        row["wall_s"] = statistics.median(r["wall_s"] for r in good) if good else None
        row["cpu_s"] = statistics.median(r["cpu_s"] for r in good) if good else None
        row["peak_rss_mib"] = (statistics.median(r["peak_rss_kib"] for r in good) / 1024
                               if good else None)
        gcs = [int(r["stats"]["gcs"]) for r in good if "gcs" in r["stats"]]
        row["gcs"] = int(statistics.median(gcs)) if gcs else None
        pauses = [float(r["stats"]["max_pause_ms"]) for r in good
                  if "max_pause_ms" in r["stats"]]
        row["max_pause_ms"] = max(pauses) if pauses else None
    for row in rows:
        row["ratios"] = {}
        for anchor in ANCHORS:
            base = next((r for r in rows if r["benchmark"] == row["benchmark"]
                         and r["variant"] == anchor), None)
            ok = base and base["wall_s"] and row["wall_s"]
            row["ratios"][anchor] = row["wall_s"] / base["wall_s"] if ok else None
        mimalloc = next((r for r in rows if r["benchmark"] == row["benchmark"]
                         and r["variant"] == "mimalloc"), None)
        ok = mimalloc and mimalloc["cpu_s"] and row["cpu_s"]
        row["cpu_ratio"] = row["cpu_s"] / mimalloc["cpu_s"] if ok else None


def markdown(rows, header):
    lines = [header, "",
             "| benchmark | variant | wall s | CPU s | peak RSS MiB | GCs "
             "| max pause ms | / mimalloc | / Boehm | / shared_ptr "
             "| CPU / mimalloc |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
             "| ---: |"]
    for row in rows:
        if not row["runs"]:
            wall = "not built"
        elif not row["ok"]:
            wall = "FAILED"
        else:
            wall = fmt(row["wall_s"], 3)
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            row["benchmark"], row["variant"], wall, fmt(row["cpu_s"], 2),
            fmt(row["peak_rss_mib"], 0),
            "-" if row["gcs"] is None else row["gcs"],
            fmt(row["max_pause_ms"], 3),
            *(fmt(row["ratios"][a], 2) for a in ANCHORS),
            fmt(row["cpu_ratio"], 2)))
    lines.append("")
    lines.append(output_agreement(rows))
    for row in rows:
        for r in row["runs"]:
            if r["error"]:
                lines.append("- FAILED %s %s: %s; stderr ends: %s" % (
                    row["benchmark"], row["variant"], r["error"],
                    " / ".join(r["stderr"].strip().splitlines()[-3:])))
    return "\n".join(lines)


def output_agreement(rows):
    """One sentence on whether the binary-trees runs printed one output."""
    runs = [(row["variant"], r) for row in rows
            if row["benchmark"] == "binarytrees" for r in row["runs"]]
    if not runs:
        return "binary-trees: not run."
    outputs = {r["stdout_sha1"] for _, r in runs}
    canonical = all(r["canonical"] for _, r in runs)
    variants = sorted({v for v, _ in runs})
    return ("binary-trees output: %s across %d run(s) of %s; %s." % (
        "identical" if len(outputs) == 1 else "DIFFERS (%d distinct)" % len(outputs),
        len(runs), ", ".join(variants),
        "all canonical" if canonical else "NOT canonical in some runs"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("build_dir", nargs="?", default="build",
                        help="meson build directory (default: build)")
    parser.add_argument("--depth", type=int, default=21,
                        help="binary-trees depth N (default: 21)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each executable (default: 1)")
    parser.add_argument("--only", default="",
                        help="comma list of benchmarks (binarytrees, gcbench), "
                             "variants (tricolor, mimalloc, malloc, boehm, "
                             "boehm_parallel, shared_ptr, go) or executables "
                             "(gcbench_boehm)")
    parser.add_argument("--timeout", type=float, default=600,
                        help="seconds before a run is killed (default: 600)")
    parser.add_argument("--json", metavar="FILE",
                        help="also write every run's figures as JSON")
    args = parser.parse_args()
    only = {name.strip() for name in args.only.split(",") if name.strip()}

    rows = []
    for benchmark in BENCHMARKS:
        for variant, suffix, env in VARIANTS:
            if (benchmark, variant) in UNSUPPORTED or \
                    not selected(only, benchmark, variant):
                continue
            path = os.path.join(args.build_dir, "bench",
                                "%s_%s" % (benchmark, suffix))
            rows.append({"benchmark": benchmark, "variant": variant,
                         "executable": path, "env": env, "runs": [],
                         "built": os.access(path, os.X_OK)})
    if not rows:
        parser.error("--only %s selects nothing" % args.only)
    go_names = {"%s_go" % row["benchmark"] for row in rows
                if row["variant"] == "go"}
    if go_names:
        go_built = build_go(args.build_dir, sorted(go_names))
        for row in rows:
            if row["variant"] == "go":  # never a stale binary of an earlier build
                row["built"] = "%s_go" % row["benchmark"] in go_built

    for repeat in range(args.repeat):
        for row in rows:
            if not row["built"]:
                continue
            command = [row["executable"]]
            if row["benchmark"] == "binarytrees":
                command.append(str(args.depth))
            print("[%d/%d] %s %s" % (repeat + 1, args.repeat, " ".join(
                "%s=%s" % kv for kv in row["env"].items()), " ".join(command)),
                file=sys.stderr, flush=True)
            status, wall, cpu, rss, stdout, stderr = run_once(
                command, row["env"], args.timeout)
            row["runs"].append({
                "wall_s": wall, "cpu_s": cpu, "peak_rss_kib": rss, "exit_status": status,
                "stats": parse_stats(stderr), "stderr": stderr[-4000:],
                "stdout_sha1": hashlib.sha1(stdout.encode()).hexdigest(),
                "canonical": (stdout == binarytrees_expected(args.depth)
                              if row["benchmark"] == "binarytrees" else None),
                "error": verify(row["benchmark"], args.depth, status, stdout,
                                stderr)})

    for row in rows:
        if not row["built"]:
            print("not built: %s" % row["executable"], file=sys.stderr)
    summarize(rows)
    now = datetime.datetime.now().astimezone()
    header = ("Measured %s on %s (%s, %d CPUs, transparent huge pages %s); "
              "binary-trees depth %d; "
              "%d repeat(s): median wall, CPU and RSS, longest pause of all.%s"
              % (now.strftime("%Y-%m-%d %H:%M %Z"), platform.node(),
                 platform.platform(), os.cpu_count() or 0, thp_mode(), args.depth,
                 args.repeat,
                 " Go: %s (pauses from gctrace, each on its own)." % go_version()
                 if any(r["variant"] == "go" and r["built"] for r in rows)
                 else ""))
    print(markdown(rows, header))

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"date": now.isoformat(), "host": platform.node(),
                       "platform": platform.platform(),
                       "cpus": os.cpu_count(), "depth": args.depth,
                       "repeat": args.repeat, "results": rows}, f, indent=2)
    return 0 if all(row["ok"] for row in rows if row["built"]) else 1


if __name__ == "__main__":
    sys.exit(main())
