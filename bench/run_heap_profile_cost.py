#!/usr/bin/env python3
"""What heap profiles at the default rate cost, against memprofilerate=0.

    python3 bench/run_heap_profile_cost.py pauses --build build [--old-build DIR]
        [--live MIB] [--cycles N] [--rounds N] [--rates 524288,0]
    python3 bench/run_heap_profile_cost.py micro --build build [--pairs N]
    python3 bench/run_heap_profile_cost.py binarytrees --build build [--pairs N] [--depth 21]

pauses: runs bench/mark_tricolor (a live heap of --live MiB, --cycles forced
cycles) with TRICOLOR_DEBUG=gctrace=1,memprofilerate=R for each rate, the
rates of one round one after the other, --rounds rounds; reads the
mark-start and mark-termination pauses of the forced cycles from the
gctrace lines (clock fields 1 and 3, two significant digits) and prints per
run the medians and the largest mark termination, then the medians over the
rounds. With --old-build, the same rates on another build's mark_tricolor
(rows named old@R), interleaved with this one's.

micro: the make_gc allocation micro-benchmarks (micro_bench
alloc_per_op/tricolor and alloc_batch/tricolor, 16-64 bytes), each pair one
process at 524288 and one at 0, the order alternating; prints the medians
of both (ns per object, wall and the benchmark thread's CPU) and the median
of the pairs' ratios, the figure to read on a noisy machine.

binarytrees: binarytrees_tricolor DEPTH in pairs as above; wall seconds.
"""
import argparse
import json
import os
import re
import statistics
import subprocess

GCTRACE = re.compile(r"^gc \d+ @[\d.]+s \d+%: ([\d.]+)\+([\d.]+)\+([\d.]+) ms clock")


def run_with_rate(command, rate, extra_debug=""):
    env = dict(os.environ, TRICOLOR_DEBUG=f"{extra_debug}memprofilerate={rate}")
    return subprocess.run(command, env=env, capture_output=True, text=True, check=True)


def pauses(args):
    builds = [("new", args.build)] + ([("old", args.old_build)] if args.old_build else [])
    rates = args.rates.split(",")
    results = {}
    for round_number in range(1, args.rounds + 1):
        for name, build in builds:
            for rate in rates:
                p = run_with_rate([f"{build}/bench/mark_tricolor", "--live", str(args.live),
                                   "--cycles", str(args.cycles)], rate, "gctrace=1,")
                rows = [m for m in map(GCTRACE.match, p.stderr.splitlines()) if m][-args.cycles:]
                start = statistics.median(float(m.group(1)) * 1000 for m in rows)
                term = statistics.median(float(m.group(3)) * 1000 for m in rows)
                longest = max(float(m.group(3)) * 1000 for m in rows)
                key = f"{name}@{rate}"
                results.setdefault(key, []).append((start, term, longest))
                print(f"round {round_number} {key:12s} mark start {start:6.1f} us, "
                      f"mark termination {term:6.1f} us (longest {longest:6.1f} us)", flush=True)
    print(f"medians over {args.rounds} rounds, {args.live} MiB live, {args.cycles} cycles a run:")
    for key, runs in results.items():
        print(f"  {key:12s} mark start {statistics.median(r[0] for r in runs):6.1f} us, "
              f"mark termination {statistics.median(r[1] for r in runs):6.1f} us, "
              f"longest of all runs {max(r[2] for r in runs):6.1f} us")


def pairs(count, measure):
    """Runs measure(rate) in count adjacent pairs, order alternating."""
    on, off = [], []
    for i in range(count):
        order = ["524288", "0"] if i % 2 == 0 else ["0", "524288"]
        result = {rate: measure(rate) for rate in order}
        on.append(result["524288"])
        off.append(result["0"])
    return on, off


def micro(args):
    names = [f"alloc_{kind}/tricolor/{size}" for kind in ("per_op", "batch")
             for size in (16, 24, 32, 64)]
    for name in names:
        def measure(rate):
            p = run_with_rate([f"{args.build}/bench/micro_bench", f"--benchmark_filter=^{name}$",
                               "--benchmark_min_time=0.3", "--benchmark_format=json"], rate)
            b = json.loads(p.stdout)["benchmarks"][0]
            objects = 1000 if "batch" in name else 1
            return b["real_time"] / objects, b["cpu_time"] / objects
        on, off = pairs(args.pairs, measure)
        wall_ratios = [a[0] / b[0] for a, b in zip(on, off)]
        cpu_ratios = [a[1] / b[1] for a, b in zip(on, off)]
        print(f"{name:26s} wall ns {statistics.median(a[0] for a in on):6.2f} / "
              f"{statistics.median(b[0] for b in off):6.2f}, pair ratio wall "
              f"{statistics.median(wall_ratios):.3f} cpu {statistics.median(cpu_ratios):.3f} "
              f"(pairs: {' '.join(f'{r:.2f}' for r in wall_ratios)})", flush=True)


def binarytrees(args):
    def measure(rate):
        p = run_with_rate(["/usr/bin/time", "-f", "%e %M",
                           f"{args.build}/bench/binarytrees_tricolor", str(args.depth)], rate)
        wall, rss = p.stderr.strip().splitlines()[-1].split()
        print(f"  memprofilerate={rate:6s} wall {wall} s, peak RSS {int(rss) // 1024} MiB",
              flush=True)
        return float(wall)
    on, off = pairs(args.pairs, measure)
    ratios = [a / b for a, b in zip(on, off)]
    print(f"binary-trees {args.depth}: wall {statistics.median(on):.2f} s at 524288, "
          f"{statistics.median(off):.2f} s at 0; pair ratio {statistics.median(ratios):.3f} "
          f"(pairs: {' '.join(f'{r:.2f}' for r in ratios)})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("pauses")
    p.add_argument("--build", required=True)
    p.add_argument("--old-build")
    p.add_argument("--live", type=int, default=1024)
    p.add_argument("--cycles", type=int, default=8)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--rates", default="524288,0")
    m = sub.add_parser("micro")
    m.add_argument("--build", required=True)
    m.add_argument("--pairs", type=int, default=7)
    b = sub.add_parser("binarytrees")
    b.add_argument("--build", required=True)
    b.add_argument("--pairs", type=int, default=6)
    b.add_argument("--depth", type=int, default=21)
    args = parser.parse_args()
    {"pauses": pauses, "micro": micro, "binarytrees": binarytrees}[args.what](args)


if __name__ == "__main__":
    main()
