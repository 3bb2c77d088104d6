//go:build ignore

// binary-trees on Go, the same algorithm as bench/binarytrees.hpp (one
// goroutine allocates; the benchmarks-game Go program runs the depths in
// parallel goroutines instead, which this one deliberately does not), so that
// the longest stop-the-world pause can be compared with tricolor's in the same
// run (SPEC §4). Canonical output on stdout; at exit one line on stderr in the
// format bench/run_macro.py reads:
//
//	bench-stats: gcs=N max_pause_ms=X total_pause_ms=Y pauses=P gc_cpu=Z wall_s=W
//
// where the pauses are every stop-the-world pause on its own, from gctrace
// (see gctrace.go): max_pause_ms is comparable to tricolor's (its longest
// single pause), not to MemStats.PauseNs (a per-cycle sum).
//
//	go build -o binarytrees_go binarytrees.go gctrace.go && ./binarytrees_go 21
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"
)

type Node struct{ left, right *Node }

func bottomUpTree(depth int) *Node {
	if depth <= 0 {
		return &Node{}
	}
	left := bottomUpTree(depth - 1)
	right := bottomUpTree(depth - 1)
	return &Node{left, right}
}

func (n *Node) count() int {
	if n.left != nil {
		return 1 + n.left.count() + n.right.count()
	}
	return 1
}

func binarytrees(n int) {
	const minDepth = 4
	maxDepth := n
	if maxDepth < minDepth+2 {
		maxDepth = minDepth + 2
	}
	{
		stretch := bottomUpTree(maxDepth + 1)
		fmt.Printf("stretch tree of depth %d\t check: %d\n", maxDepth+1, stretch.count())
	}
	longLived := bottomUpTree(maxDepth)
	for depth := minDepth; depth <= maxDepth; depth += 2 {
		iterations := 1 << (maxDepth - depth + minDepth)
		check := 0
		for i := 0; i < iterations; i++ {
			tree := bottomUpTree(depth)
			check += tree.count()
		}
		fmt.Printf("%d\t trees of depth %d\t check: %d\n", iterations, depth, check)
	}
	fmt.Printf("long lived tree of depth %d\t check: %d\n", maxDepth, longLived.count())
}

func main() {
	n := 0
	if len(os.Args) == 2 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	if n < 1 || n > 26 {
		fmt.Fprintf(os.Stderr, "usage: %s N   (maximal tree depth, 1..26)\n", os.Args[0])
		os.Exit(2)
	}
	// BENCH_ECHO_GCTRACE=1 passes the gctrace lines on to stderr
	// (bench/run_pacer.py reads them).
	trace := startGCTrace(os.Getenv("BENCH_ECHO_GCTRACE") == "1")
	start := time.Now()
	binarytrees(n)
	wall := time.Since(start).Seconds()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	trace.waitFor(int(ms.NumGC), 2*time.Second)
	cycles := trace.between(0, int(ms.NumGC))
	maxNs, totalNs := 0.0, 0.0
	for _, c := range cycles {
		for _, p := range c.pauses {
			totalNs += p
			if p > maxNs {
				maxNs = p
			}
		}
	}
	fmt.Fprintf(trace.stderr, "bench-stats: gcs=%d max_pause_ms=%.3f total_pause_ms=%.1f "+
		"pauses=%d gc_cpu=%.3f wall_s=%.3f unseen_pauses=%d\n",
		ms.NumGC, maxNs/1e6, totalNs/1e6, 2*len(cycles), ms.GCCPUFraction, wall,
		2*(int(ms.NumGC)-len(cycles)))
}
