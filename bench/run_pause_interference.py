#!/usr/bin/env python3
"""What else held the CPUs during the long pauses of pause_tricolor.

    run_pause_interference.py [--runs N] [--live MIB] [--seconds S]
                              [--threads N] [--over US] [--foreign-us US]
                              LABEL=BINARY [LABEL=BINARY ...]

Runs each pause_tricolor binary --runs times, alternating between them,
each run under `perf sched record -k CLOCK_MONOTONIC`, with
--list-pauses-over US. For every pause of at least US microseconds it reads
from `perf sched timehist` the threads of *other* processes (kernel threads
included) that ran on a CPU during the pause, and how long. A pause that
another process's thread overlapped by at least --foreign-us microseconds
(default 200) is "interfered": on a 2-CPU machine such a thread has taken
one of the two CPUs from the benchmark's mutator or its collector for that
long, whatever the collector does.

Prints one line per run: the pause maximum of the whole run, and the
maximum over the pauses that were not interfered with; then every long
pause with what overlapped it. Needs perf and the right to trace the
scheduler (root, or kernel.perf_event_paranoid <= 1).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

TIMEHIST_LINE = re.compile(
    r"^\s*([\d.]+)\s+\[(\d+)\]\s+(.*?)\[(\d+)(?:/(\d+))?\]\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$")
LONG_PAUSE = re.compile(r"long pause: start_monotonic_ns=(\d+) pause_us=([\d.]+) ttsp_us=([\d.]+)")
MAX_PAUSE = re.compile(r"pause_us max=([\d.]+)")


def run_slices(data):
    """Every stretch a thread ran: (start s, end s, cpu, name, tid, pid)."""
    out = subprocess.run(["perf", "sched", "timehist", "-i", data],
                         capture_output=True, text=True, check=True).stdout
    slices = []
    for line in out.splitlines():
        m = TIMEHIST_LINE.match(line)
        if not m:
            continue
        end = float(m[1])
        ran = float(m[8]) / 1e3
        tid = int(m[4])
        pid = int(m[5]) if m[5] else tid
        slices.append((end - ran, end, int(m[2]), m[3].strip(), tid, pid))
    return slices


def one_run(binary, args, data):
    cmd = ["perf", "sched", "record", "-k", "CLOCK_MONOTONIC", "-o", data, "--",
           binary, "--live", str(args.live), "--seconds", str(args.seconds),
           "--threads", str(args.threads), "--list-pauses-over", str(args.over)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{binary} failed:\n{proc.stdout}\n{proc.stderr}")
    summary = next(l for l in proc.stdout.splitlines() if l.startswith("pause_tricolor:"))
    pauses = [(int(m[1]) / 1e9, float(m[2]), float(m[3]))
              for m in LONG_PAUSE.finditer(proc.stderr)]
    slices = run_slices(data)
    bench_pid = next((s[5] for s in slices if s[3] == os.path.basename(binary)[:15]), None)
    found = []
    for start, pause_us, ttsp_us in pauses:
        end = start + pause_us / 1e6
        foreign = []
        for a, b, cpu, name, tid, pid in slices:
            if pid == bench_pid or name == "<idle>" or b <= start or a >= end:
                continue
            overlap = (min(b, end) - max(a, start)) * 1e6
            foreign.append((overlap, cpu, name, tid, (b - a) * 1e6))
        foreign.sort(reverse=True)
        found.append((pause_us, ttsp_us, foreign))
    return float(MAX_PAUSE.search(summary)[1]), found


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--live", type=int, default=64)
    p.add_argument("--seconds", type=float, default=6)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--over", type=float, default=250, help="list pauses of at least US")
    p.add_argument("--foreign-us", type=float, default=200)
    p.add_argument("binaries", nargs="+", help="LABEL=PATH of a pause_tricolor")
    args = p.parse_args()
    binaries = [b.split("=", 1) for b in args.binaries]
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "sched.data")
        for run in range(1, args.runs + 1):
            for label, binary in binaries:
                whole_max, found = one_run(binary, args, data)
                interfered = [f for f in found if f[2] and f[2][0][0] >= args.foreign_us]
                clean = [f[0] for f in found if f not in interfered]
                clean_max = (f"{max(clean):.0f}" if clean
                             else f"<{args.over:.0f}")
                print(f"run {run} {label}: pause max {whole_max:.0f} us; "
                      f"{len(found)} pauses >= {args.over:.0f} us, {len(interfered)} interfered; "
                      f"max without interference {clean_max} us", flush=True)
                for pause_us, ttsp_us, foreign in found:
                    who = ", ".join(f"{name}[{tid}] on CPU {cpu} {overlap:.0f} us of it"
                                    for overlap, cpu, name, tid, _ in foreign[:3]) or "nothing"
                    print(f"    pause {pause_us:.0f} us (ttsp {ttsp_us:.0f}): {who}")


if __name__ == "__main__":
    main()
