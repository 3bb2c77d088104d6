//go:build ignore

// Stop-the-world pauses of this process, read from the Go runtime's own
// GODEBUG=gctrace=1 lines (shared by pause.go and binarytrees.go; build each
// together with this file: go build -o pause_go pause.go gctrace.go).
//
// Why gctrace: runtime.ReadMemStats stops the world itself (polling it would
// add pauses), and its PauseNs ring holds one figure per cycle, the sum of the
// cycle's two pauses. A gctrace line gives both on their own:
//
//	gc 7 @0.412s 4%: 0.021+3.1+0.034 ms clock, ...
//	                 A     B   C
//
// A is the sweep-termination pause (from the stop request, so it includes the
// time to stop every P, until the world restarts), B the concurrent mark, C
// the mark-termination pause (runtime/mgc.go: A = tMark - tSweepTerm and
// C = tEnd - tMarkTerm, the same intervals that go into PauseNs). If mark
// termination finds work left and restarts the world (rare, Go issue 27993),
// the first attempt's pause is in PauseNs but not in C. The runtime prints the
// figures with two significant digits, at least 1 us (fmtNSAsMS).
//
// startGCTrace re-executes the program with gctrace=1 added to GODEBUG when
// it is missing (the runtime reads GODEBUG only at start), then points file
// descriptor 2 at a pipe and parses it in a goroutine; every line that is not
// a gctrace line goes on to the real stderr (also gctrace lines when echo is
// set). The runtime prints the line after the world has restarted (before
// releasing worldsema), so a reader that is late delays no pause.
package main

import (
	"bufio"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// gcCycle is one gctrace line.
type gcCycle struct {
	num    int
	pauses [2]float64 // A and C, nanoseconds
	forced bool
}

type gcTrace struct {
	mu     sync.Mutex
	cycles []gcCycle
	last   int      // number of the last cycle seen
	stderr *os.File // the real stderr
}

var gctraceLine = regexp.MustCompile(`^gc (\d+) @[0-9.]+s \d+%: ([0-9.]+)\+([0-9.]+)\+([0-9.]+) ms clock`)

func startGCTrace(echo bool) *gcTrace {
	godebug := os.Getenv("GODEBUG")
	if !regexp.MustCompile(`(^|,)gctrace=[1-9]`).MatchString(godebug) {
		if godebug != "" {
			godebug += ","
		}
		env := append(os.Environ(), "GODEBUG="+godebug+"gctrace=1")
		exe, err := os.Executable()
		if err == nil {
			err = syscall.Exec(exe, os.Args, env)
		}
		os.Stderr.WriteString("cannot re-execute with GODEBUG=gctrace=1: " + err.Error() + "\n")
		os.Exit(2)
	}
	saved, err := syscall.Dup(2)
	if err != nil {
		panic(err)
	}
	syscall.CloseOnExec(saved)
	var fds [2]int
	// A plain blocking pipe (os.Pipe would make the runtime's writes to
	// fd 2 non-blocking, and a full pipe would then drop lines).
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC); err != nil {
		panic(err)
	}
	if err := syscall.Dup3(fds[1], 2, 0); err != nil {
		panic(err)
	}
	syscall.Close(fds[1])
	t := &gcTrace{stderr: os.NewFile(uintptr(saved), "stderr")}
	go t.read(os.NewFile(uintptr(fds[0]), "gctrace"), echo)
	return t
}

func (t *gcTrace) read(r *os.File, echo bool) {
	in := bufio.NewReaderSize(r, 1<<16)
	for {
		line, err := in.ReadString('\n')
		if m := gctraceLine.FindStringSubmatch(line); m != nil {
			num, _ := strconv.Atoi(m[1])
			a, _ := strconv.ParseFloat(m[2], 64)
			c, _ := strconv.ParseFloat(m[4], 64)
			t.mu.Lock()
			t.cycles = append(t.cycles, gcCycle{num, [2]float64{a * 1e6, c * 1e6},
				strings.Contains(line, "(forced)")})
			t.last = num
			t.mu.Unlock()
			if echo {
				t.stderr.WriteString(line)
			}
		} else if line != "" {
			t.stderr.WriteString(line)
		}
		if err != nil {
			return
		}
	}
}

// waitFor waits until the line of cycle n was read, at most timeout; it says
// whether it was.
func (t *gcTrace) waitFor(n int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	t.mu.Lock()
	defer t.mu.Unlock()
	for t.last < n {
		if time.Now().After(deadline) {
			return false
		}
		t.mu.Unlock()
		time.Sleep(time.Millisecond)
		t.mu.Lock()
	}
	return true
}

// lastCycle is the number of the last cycle whose line was read.
func (t *gcTrace) lastCycle() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

// between returns the cycles numbered first+1 .. last.
func (t *gcTrace) between(first, last int) []gcCycle {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []gcCycle
	for _, c := range t.cycles {
		if c.num > first && c.num <= last {
			out = append(out, c)
		}
	}
	return out
}

// peakRSSKiB is VmHWM from /proc/self/status (0 if unreadable).
func peakRSSKiB() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line[6:])
			if len(f) > 0 {
				v, _ := strconv.ParseUint(f[0], 10, 64)
				return v
			}
		}
	}
	return 0
}
