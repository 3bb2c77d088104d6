//go:build ignore

// pause_go: the workload of bench/pause_tricolor.cc on Go, for the pause
// comparison of bench/run_pauses.py. Same objects (a struct of 2 pointers and
// an 8-byte payload, 24 bytes), same shapes and shares of the live heap
// (trees of depth 10, circular skip lists of 2048 nodes, []*Node of 16384
// leaves, []uint64 of 131072), same operation mix, 4 goroutines by default,
// GOMAXPROCS as the runtime sets it (the number of CPUs). See the comment at
// the top of pause_tricolor.cc for the workload. Only the measurement differs.
// Pauses come from GODEBUG=gctrace=1 (gctrace.go): the two stop-the-world
// pauses of every cycle, each on its own (A and C of "A+B+C ms clock"); Go
// 1.19 does not report time to safepoint, so those columns are "-". The
// warm-up runs the workload until -warmup-cycles cycles (default 1) have
// completed after the forced runtime.GC() that follows the build; the window
// is then the cycles numbered after the last one completed at its start, up
// to NumGC when the mutators stopped.
//
//	go build -o pause_go pause.go gctrace.go
//	./pause_go -live 1024 -seconds 10 [-threads 4] [-rate MIB_PER_S] [-json]
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

const (
	treeTag      = 0x7ee0000000000000
	listTag      = 0x1157000000000000
	leafTag      = 0x1eaf000000000000
	garbageTag   = 0x6a7b000000000000
	noscanPatt   = 0x9e3779b97f4a7c15
	treeDepth    = 10
	treeNodes    = (2 << treeDepth) - 1
	listNodes    = 2048
	skipWindow   = 16
	ptrArrayLen  = 16384
	wordArrayLen = 131072
	nodeBytes    = 24
	treeBytes    = treeNodes * nodeBytes
	listBytes    = listNodes * nodeBytes
	ptrArrBytes  = ptrArrayLen * (8 + nodeBytes)
	wordArrBytes = wordArrayLen * 8
	garbageNodes = 64
	garbageWords = 512
	arrayPatch   = 256
	numStripes   = 256
)

type Node struct {
	left, right *Node
	payload     uint64
}

type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s ^= r.s >> 12
	r.s ^= r.s << 25
	r.s ^= r.s >> 27
	return r.s * 0x2545f4914f6cdd1d
}
func (r *rng) below(n int) int { return int(r.next() % uint64(n)) }

func buildTree(height int) *Node {
	if height == 0 {
		return &Node{nil, nil, treeTag}
	}
	l := buildTree(height - 1)
	r := buildTree(height - 1)
	return &Node{l, r, treeTag | uint64(height)}
}

func buildList(r *rng) *Node {
	var recent [skipWindow]*Node
	tail := &Node{nil, nil, listTag}
	head := tail
	recent[0] = tail
	for i := 1; i < listNodes; i++ {
		w := i
		if w > skipWindow {
			w = skipWindow
		}
		skip := recent[r.below(w)]
		head = &Node{head, skip, listTag}
		recent[i%skipWindow] = head
	}
	tail.left = head
	tail.right = head
	return head
}

func buildPtrArray() []*Node {
	a := make([]*Node, ptrArrayLen)
	for i := range a {
		a[i] = &Node{nil, nil, leafTag | uint64(i)}
	}
	return a
}

func buildWordArray(seed uint64) []uint64 {
	a := make([]uint64, wordArrayLen)
	for i := range a {
		a[i] = (uint64(i) * noscanPatt) ^ seed
	}
	return a
}

func checkTree(n *Node, height int) bool {
	if n == nil || n.payload != treeTag|uint64(height) {
		return false
	}
	if height == 0 {
		return n.left == nil && n.right == nil
	}
	return checkTree(n.left, height-1) && checkTree(n.right, height-1)
}

func checkList(head *Node) bool {
	n := head
	for i := 0; i < listNodes; i++ {
		if n == nil || n.payload != listTag || n.right == nil || n.right.payload != listTag {
			return false
		}
		n = n.left
	}
	return n == head
}

func checkPtrArray(a []*Node) bool {
	if len(a) != ptrArrayLen {
		return false
	}
	for _, leaf := range a {
		if leaf == nil || leaf.payload&^0xffff != leafTag {
			return false
		}
	}
	return true
}

func checkWordArray(a []uint64) bool {
	if len(a) != wordArrayLen {
		return false
	}
	seed := a[0]
	for i, v := range a {
		if v != (uint64(i)*noscanPatt)^seed {
			return false
		}
	}
	return true
}

type paddedMutex struct {
	sync.Mutex
	_ [56]byte
}

type liveHeap struct {
	trees, lists []*Node
	ptrArrays    [][]*Node
	wordArrays   [][]uint64
	stripes      [numStripes]paddedMutex
}

func newLiveHeap(liveBytes float64) *liveHeap {
	count := func(share float64, each int) int {
		n := int(share*liveBytes/float64(each) + 0.5)
		if n < 1 {
			n = 1
		}
		return n
	}
	return &liveHeap{
		trees:      make([]*Node, count(0.60, treeBytes)),
		lists:      make([]*Node, count(0.20, listBytes)),
		ptrArrays:  make([][]*Node, count(0.125, ptrArrBytes)),
		wordArrays: make([][]uint64, count(0.075, wordArrBytes)),
	}
}

func (h *liveHeap) nominalBytes() int {
	return len(h.trees)*treeBytes + len(h.lists)*listBytes +
		len(h.ptrArrays)*ptrArrBytes + len(h.wordArrays)*wordArrBytes
}

func (h *liveHeap) treeLock(i int) *sync.Mutex     { return &h.stripes[i%numStripes].Mutex }
func (h *liveHeap) listLock(i int) *sync.Mutex     { return &h.stripes[(i+64)%numStripes].Mutex }
func (h *liveHeap) ptrArrayLock(i int) *sync.Mutex { return &h.stripes[(i+128)%numStripes].Mutex }
func (h *liveHeap) wordArrLock(i int) *sync.Mutex  { return &h.stripes[(i+192)%numStripes].Mutex }

type counters struct {
	objects, bytes uint64 // atomic: written by the mutator, read by main
	sink, broken   uint64
	_              [32]byte
}

type mutator struct {
	h       *liveHeap
	id, n   int
	c       *counters
	r       rng
	ops     uint64
	rateBPN float64 // bytes per nanosecond for this mutator; 0: no cap
}

func (m *mutator) count(objects, bytes int) {
	atomic.AddUint64(&m.c.objects, uint64(objects))
	atomic.AddUint64(&m.c.bytes, uint64(bytes))
}

func (m *mutator) share(n int) (int, int) { return n * m.id / m.n, n * (m.id + 1) / m.n }

func (m *mutator) buildShare() {
	h := m.h
	t0, t1 := m.share(len(h.trees))
	for i := t0; i < t1; i++ {
		h.trees[i] = buildTree(treeDepth)
	}
	l0, l1 := m.share(len(h.lists))
	for i := l0; i < l1; i++ {
		h.lists[i] = buildList(&m.r)
	}
	p0, p1 := m.share(len(h.ptrArrays))
	for i := p0; i < p1; i++ {
		h.ptrArrays[i] = buildPtrArray()
	}
	w0, w1 := m.share(len(h.wordArrays))
	for i := w0; i < w1; i++ {
		h.wordArrays[i] = buildWordArray(m.r.next())
	}
}

func (m *mutator) operation() {
	pick := m.r.below(1000)
	switch {
	case pick < 400:
		m.replaceSubtree()
	case pick < 600:
		m.replaceTree()
	case pick < 700:
		m.replaceList()
	case pick < 750:
		m.relinkList()
	case pick < 850:
		m.patchPtrArray()
	case pick < 860:
		m.replacePtrArray()
	case pick < 865:
		m.replaceWordArray()
	default:
		m.readSubtree()
	}
	m.makeGarbage()
}

func (m *mutator) replaceSubtree() {
	height := 1 + m.r.below(8)
	fresh := buildTree(height)
	m.count((2<<height)-1, ((2<<height)-1)*nodeBytes)
	i := m.r.below(len(m.h.trees))
	path := m.r.next()
	mu := m.h.treeLock(i)
	mu.Lock()
	n := m.h.trees[i]
	for h := treeDepth; h > height+1; h, path = h-1, path>>1 {
		if path&1 != 0 {
			n = n.left
		} else {
			n = n.right
		}
	}
	if path&1 != 0 {
		n.left = fresh
	} else {
		n.right = fresh
	}
	mu.Unlock()
}

func (m *mutator) replaceTree() {
	fresh := buildTree(treeDepth)
	m.count(treeNodes, treeBytes)
	i := m.r.below(len(m.h.trees))
	mu := m.h.treeLock(i)
	mu.Lock()
	m.h.trees[i] = fresh
	mu.Unlock()
}

func (m *mutator) replaceList() {
	fresh := buildList(&m.r)
	m.count(listNodes, listBytes)
	i := m.r.below(len(m.h.lists))
	mu := m.h.listLock(i)
	mu.Lock()
	m.h.lists[i] = fresh
	mu.Unlock()
}

func (m *mutator) relinkList() {
	i := m.r.below(len(m.h.lists))
	steps := m.r.below(256)
	ahead := 1 + m.r.below(skipWindow)
	mu := m.h.listLock(i)
	mu.Lock()
	n := m.h.lists[i]
	for k := 0; k < steps; k++ {
		n = n.left
	}
	target := n
	for k := 0; k < ahead; k++ {
		target = target.left
	}
	n.right = target
	mu.Unlock()
}

func (m *mutator) patchPtrArray() {
	var leaves [arrayPatch]*Node
	var where [arrayPatch]uint32
	for k := range leaves {
		where[k] = uint32(m.r.below(ptrArrayLen))
		leaves[k] = &Node{nil, nil, leafTag | uint64(where[k])}
	}
	m.count(arrayPatch, arrayPatch*nodeBytes)
	i := m.r.below(len(m.h.ptrArrays))
	mu := m.h.ptrArrayLock(i)
	mu.Lock()
	a := m.h.ptrArrays[i]
	for k := range leaves {
		a[where[k]] = leaves[k]
	}
	mu.Unlock()
}

func (m *mutator) replacePtrArray() {
	fresh := buildPtrArray()
	m.count(ptrArrayLen+1, ptrArrBytes)
	i := m.r.below(len(m.h.ptrArrays))
	mu := m.h.ptrArrayLock(i)
	mu.Lock()
	m.h.ptrArrays[i] = fresh
	mu.Unlock()
}

func (m *mutator) replaceWordArray() {
	fresh := buildWordArray(m.r.next())
	m.count(1, wordArrBytes)
	i := m.r.below(len(m.h.wordArrays))
	mu := m.h.wordArrLock(i)
	mu.Lock()
	m.h.wordArrays[i] = fresh
	mu.Unlock()
}

func sumTree(n *Node) uint64 {
	if n == nil {
		return 0
	}
	return n.payload + sumTree(n.left) + sumTree(n.right)
}

func (m *mutator) readSubtree() {
	i := m.r.below(len(m.h.trees))
	path := m.r.next()
	mu := m.h.treeLock(i)
	mu.Lock()
	n := m.h.trees[i]
	for h := treeDepth; h > 6; h, path = h-1, path>>1 {
		if path&1 != 0 {
			n = n.left
		} else {
			n = n.right
		}
	}
	m.c.sink += sumTree(n)
	mu.Unlock()
}

//go:noinline
func garbageList() *Node {
	var head *Node
	for k := 0; k < garbageNodes; k++ {
		head = &Node{head, nil, garbageTag | uint64(k)}
	}
	return head
}

var wordSink []uint64 // makes the garbage array escape, as a managed one would

func (m *mutator) makeGarbage() {
	var sum uint64
	for n := garbageList(); n != nil; n = n.left {
		sum += n.payload
	}
	objects, bytes := garbageNodes, garbageNodes*nodeBytes
	m.ops++
	if m.ops&15 == 0 {
		a := make([]uint64, garbageWords)
		if m.ops == math.MaxUint64 { // never: only makes `a` escape to the heap
			wordSink = a
		}
		a[garbageWords-1] = sum
		sum += a[m.ops%garbageWords]
		objects++
		bytes += garbageWords * 8
	}
	m.c.sink += sum
	m.count(objects, bytes)
}

func (m *mutator) verifyShare() {
	h := m.h
	report := func(kind string, i int) {
		m.c.broken++
		if m.c.broken <= 10 {
			fmt.Fprintf(os.Stdout, "pause_go: VERIFY FAILED: %s slot %d is broken\n", kind, i)
		}
	}
	t0, t1 := m.share(len(h.trees))
	for i := t0; i < t1; i++ {
		if !checkTree(h.trees[i], treeDepth) {
			report("tree", i)
		}
	}
	l0, l1 := m.share(len(h.lists))
	for i := l0; i < l1; i++ {
		if !checkList(h.lists[i]) {
			report("list", i)
		}
	}
	p0, p1 := m.share(len(h.ptrArrays))
	for i := p0; i < p1; i++ {
		if !checkPtrArray(h.ptrArrays[i]) {
			report("pointer array", i)
		}
	}
	w0, w1 := m.share(len(h.wordArrays))
	for i := w0; i < w1; i++ {
		if !checkWordArray(h.wordArrays[i]) {
			report("noscan array", i)
		}
	}
}

type summary struct {
	valid               bool
	maxUs, p99Us, p50Us float64
}

func summarize(v []float64) summary {
	if len(v) == 0 {
		return summary{}
	}
	sort.Float64s(v)
	rank := func(p float64) float64 {
		k := int(math.Ceil(p / 100 * float64(len(v))))
		if k < 1 {
			k = 1
		}
		if k > len(v) {
			k = len(v)
		}
		return v[k-1] / 1e3
	}
	return summary{true, v[len(v)-1] / 1e3, rank(99), rank(50)}
}

func (s summary) text() (string, string, string) {
	if !s.valid {
		return "-", "-", "-"
	}
	f := func(x float64) string { return fmt.Sprintf("%.1f", x) }
	return f(s.maxUs), f(s.p99Us), f(s.p50Us)
}

func (s summary) json() string {
	if !s.valid {
		return "null"
	}
	return fmt.Sprintf(`{"max": %.3f, "p99": %.3f, "p50": %.3f}`, s.maxUs, s.p99Us, s.p50Us)
}

func main() {
	live := flag.Float64("live", 256, "live heap, MiB (nominal: 24 bytes a node)")
	seconds := flag.Float64("seconds", 10, "measurement seconds")
	threads := flag.Int("threads", 4, "mutator goroutines")
	rate := flag.Float64("rate", 0, "cap on the total allocation rate, MiB/s (0: none)")
	seed := flag.Uint64("seed", 1, "random seed")
	warmupCycles := flag.Int("warmup-cycles", 1, "cycles to run before measuring")
	warmupMax := flag.Float64("warmup-max", 60, "longest warm-up, seconds")
	asJSON := flag.Bool("json", false, "also print one JSON object")
	noVerify := flag.Bool("no-verify", false, "skip the final check of the live heap")
	echo := flag.Bool("gctrace", false, "also print the gctrace lines on stderr")
	flag.Parse()
	if *live <= 0 || *seconds <= 0 || *threads <= 0 {
		flag.Usage()
		os.Exit(2)
	}
	trace := startGCTrace(*echo)

	h := newLiveHeap(*live * 1048576)
	cs := make([]counters, *threads)
	var stop int32
	var built, stopped, done sync.WaitGroup
	start := make(chan struct{})
	verifyNow := make(chan struct{})
	built.Add(*threads)
	stopped.Add(*threads)
	done.Add(*threads)
	for id := 0; id < *threads; id++ {
		m := &mutator{h: h, id: id, n: *threads, c: &cs[id],
			r:       rng{*seed*0x9e3779b97f4a7c15 + uint64(id)*0xbf58476d1ce4e5b9 + 1},
			rateBPN: *rate * 1048576 / 1e9 / float64(*threads)}
		go func() {
			defer done.Done()
			m.buildShare()
			built.Done()
			<-start
			begin := time.Now()
			var paced uint64
			for atomic.LoadInt32(&stop) == 0 {
				before := atomic.LoadUint64(&m.c.bytes)
				m.operation()
				if m.rateBPN > 0 {
					paced += atomic.LoadUint64(&m.c.bytes) - before
					due := begin.Add(time.Duration(float64(paced) / m.rateBPN))
					now := time.Now()
					if d := due.Sub(now); d > 200*time.Microsecond {
						time.Sleep(d)
					} else if now.Sub(due) > 100*time.Millisecond {
						begin, paced = now, 0
					}
				}
			}
			stopped.Done()
			<-verifyNow
			if !*noVerify {
				m.verifyShare()
			}
		}()
	}

	buildStart := time.Now()
	built.Wait()
	runtime.GC()
	buildS := time.Since(buildStart).Seconds()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	builtGC := int(ms.NumGC)
	heapLive := float64(ms.HeapAlloc) / 1048576

	close(start)
	warmupStart := time.Now()
	for trace.lastCycle() < builtGC+*warmupCycles &&
		time.Since(warmupStart).Seconds() < *warmupMax {
		time.Sleep(5 * time.Millisecond)
	}
	warmupS := time.Since(warmupStart).Seconds()
	baseGC := trace.lastCycle()
	var objects0, bytes0 uint64
	for i := range cs {
		objects0 += atomic.LoadUint64(&cs[i].objects)
		bytes0 += atomic.LoadUint64(&cs[i].bytes)
	}
	t0 := time.Now()
	time.Sleep(time.Duration(*seconds * 1e9))
	atomic.StoreInt32(&stop, 1)
	var objects1, bytes1 uint64
	for i := range cs {
		objects1 += atomic.LoadUint64(&cs[i].objects)
		bytes1 += atomic.LoadUint64(&cs[i].bytes)
	}
	window := time.Since(t0).Seconds()
	stopped.Wait()
	runtime.ReadMemStats(&ms)
	lastGC := int(ms.NumGC)
	complete := trace.waitFor(lastGC, 2*time.Second)
	close(verifyNow)
	done.Wait()

	cycles := trace.between(baseGC, lastGC)
	var pauses []float64
	for _, c := range cycles {
		pauses = append(pauses, c.pauses[0], c.pauses[1])
	}
	unseen := 2 * (lastGC - baseGC - len(cycles))
	var broken uint64
	for i := range cs {
		broken += cs[i].broken
	}
	p := summarize(pauses)
	pmax, p99, p50 := p.text()
	liveMiB := float64(h.nominalBytes()) / 1048576
	rss := float64(peakRSSKiB()) / 1024
	allocs := float64(objects1-objects0) / window
	allocMiB := float64(bytes1-bytes0) / 1048576 / window
	verified := "ok"
	if *noVerify {
		verified = "skipped"
	} else if broken != 0 {
		verified = "FAILED"
	}
	if !complete {
		trace.stderr.WriteString("pause_go: some gctrace lines did not arrive\n")
	}
	fmt.Printf("pause_go: mode=go threads=%d gomaxprocs=%d live=%.0fMiB heap_live=%.0fMiB "+
		"seconds=%.1f cycles=%d pauses=%d unseen=%d source=gctrace "+
		"pause_us max=%s p99=%s p50=%s ttsp_us max=- p99=- p50=- "+
		"peak_rss=%.0fMiB allocs=%.3gM/s alloc=%.0fMiB/s build=%.1fs warmup=%.1fs verify=%s\n",
		*threads, runtime.GOMAXPROCS(0), liveMiB, heapLive, window, lastGC-baseGC,
		len(pauses), unseen, pmax, p99, p50, rss, allocs/1e6, allocMiB, buildS, warmupS, verified)
	if *asJSON {
		fmt.Printf(`{"benchmark": "pause", "impl": "go", "mode": "go", "threads": %d, `+
			`"gomaxprocs": %d, "go_version": %q, "live_mib": %.1f, "heap_live_mib": %.1f, `+
			`"seconds": %.3f, "cycles": %d, "pauses": %d, "unseen_pauses": %d, `+
			`"pause_source": "gctrace", "pause_us": %s, "ttsp_us": null, "peak_rss_mib": %.1f, `+
			`"allocs_per_s": %.0f, "alloc_mib_per_s": %.1f, "build_s": %.2f, "warmup_s": %.2f, `+
			`"gc_cpu_fraction": %.4f, "verify": %q}`+"\n",
			*threads, runtime.GOMAXPROCS(0), runtime.Version(), liveMiB, heapLive, window,
			lastGC-baseGC, len(pauses), unseen, p.json(), rss, allocs, allocMiB, buildS, warmupS,
			ms.GCCPUFraction, verified)
	}
	if broken != 0 {
		os.Exit(1)
	}
}
