//go:build ignore

// Multi-threaded GCBench with holes in Go, the anchor of
// bench/mt_gcbench.hpp (the same steps, depths and hole sizes): each of N
// goroutines runs a whole GCBench, every tree node preceded by a dropped
// hole of 16 << min(ctz(k), 6) bytes.
//
//	go run mt_gcbench.go [threads]
package main

import (
	"fmt"
	"math/bits"
	"os"
	"strconv"
	"sync"
	"time"
)

type node struct {
	left, right *node
	i, j        int32
}

const (
	stretchTreeDepth = 18
	longLivedDepth   = 16
	arraySize        = 500000
	minTreeDepth     = 4
	maxTreeDepth     = 16
)

var sink []byte // keeps the compiler from dropping a hole

type worker struct{ holes uint64 }

func (w *worker) make(l, r *node) *node {
	w.holes++
	shift := bits.TrailingZeros64(w.holes)
	if shift > 6 {
		shift = 6
	}
	sink = make([]byte, 16<<shift)
	return &node{left: l, right: r}
}

func treeSize(d int) int { return (1 << (d + 1)) - 1 }
func numIters(d int) int { return 2 * treeSize(stretchTreeDepth) / treeSize(d) }

func (w *worker) populate(d int, n *node) {
	if d <= 0 {
		return
	}
	d--
	n.left = w.make(nil, nil)
	n.right = w.make(nil, nil)
	w.populate(d, n.left)
	w.populate(d, n.right)
}

func (w *worker) makeTree(d int) *node {
	if d <= 0 {
		return w.make(nil, nil)
	}
	l := w.makeTree(d - 1)
	r := w.makeTree(d - 1)
	return w.make(l, r)
}

func count(n *node) int {
	if n == nil {
		return 0
	}
	return 1 + count(n.left) + count(n.right)
}

func (w *worker) run() bool {
	_ = w.makeTree(stretchTreeDepth)
	longLived := w.make(nil, nil)
	w.populate(longLivedDepth, longLived)
	array := make([]float64, arraySize)
	for i := 0; i < arraySize/2; i++ {
		array[i] = 1.0 / float64(i)
	}
	for d := minTreeDepth; d <= maxTreeDepth; d += 2 {
		for i := 0; i < numIters(d); i++ {
			t := w.make(nil, nil)
			w.populate(d, t)
		}
		for i := 0; i < numIters(d); i++ {
			_ = w.makeTree(d)
		}
	}
	ok := count(longLived) == treeSize(longLivedDepth)
	for i := 0; i < arraySize/2; i++ {
		ok = ok && array[i] == 1.0/float64(i)
	}
	return ok
}

func main() {
	threads := 1
	if len(os.Args) > 1 {
		threads, _ = strconv.Atoi(os.Args[1])
	}
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := true
	for t := 0; t < threads; t++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{}
			good := w.run()
			mu.Lock()
			ok = ok && good
			mu.Unlock()
		}()
	}
	wg.Wait()
	fmt.Printf("mt_gcbench: threads=%d wall_ms=%d\n", threads, time.Since(start).Milliseconds())
	if !ok {
		fmt.Fprintln(os.Stderr, "Failed")
		os.Exit(1)
	}
}
