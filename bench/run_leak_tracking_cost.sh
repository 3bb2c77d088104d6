#!/bin/bash
# Leak tracking's cost (bench/README.md): marking CPU of mark_tricolor at 1 GiB
# and of binary-trees 21 (summed from gctrace), interleaved, 3 rounds, for
# prev (a build before leak tracking in /tmp/tricolor-prev), off, and on
# (TRICOLOR_DEBUG=leakreport=1). Run from a release build in build/.
cd "$(dirname "$0")/.."
for round in 1 2 3; do
  for cfg in prev off on; do
    case $cfg in
      prev) bin=/tmp/tricolor-prev/build/bench; env="TRICOLOR_DEBUG=";;
      off) bin=build/bench; env="TRICOLOR_DEBUG=";;
      on) bin=build/bench; env="TRICOLOR_DEBUG=leakreport=1";;
    esac
    echo "mark round $round $cfg load=$(cut -d' ' -f1 /proc/loadavg) $(env $env $bin/mark_tricolor --live 1024 --cycles 8 2>/dev/null | grep -o 'mark_cpu_ms=[0-9.]*')"
  done
done
ninja -C /tmp/tricolor-prev/build bench/binarytrees_tricolor >/dev/null 2>&1
for round in 1 2 3; do
  for cfg in prev off on; do
    case $cfg in
      prev) bin=/tmp/tricolor-prev/build/bench; e2="TRICOLOR_DEBUG=gctrace=1";;
      off) bin=build/bench; e2="TRICOLOR_DEBUG=gctrace=1";;
      on) bin=build/bench; e2="TRICOLOR_DEBUG=leakreport=1,gctrace=1";;
    esac
    /usr/bin/time -f "wall=%e user=%U sys=%S rss=%MKB" env $e2 $bin/binarytrees_tricolor 21 > /dev/null 2> /tmp/bt_${cfg}_$round.err
    mark=$(grep "^gc " /tmp/bt_${cfg}_$round.err | python3 -c "
import sys,re
tot=0;n=0
for l in sys.stdin:
    m=re.search(r'ms clock, ([0-9.]+)\+([0-9.]+)/([0-9.]+)/([0-9.]+)\+([0-9.]+) ms cpu',l)
    if m: tot+=float(m[2])+float(m[3])+float(m[4]); n+=1
print(f'cycles={n} mark_cpu_total_ms={tot:.0f}')")
    sus=$(grep -c "leak suspect" /tmp/bt_${cfg}_$round.err)
    echo "bt round $round $cfg load=$(cut -d' ' -f1 /proc/loadavg) $(tail -1 /tmp/bt_${cfg}_$round.err) $mark suspects_lines=$sus"
  done
done
