package cputime

import (
	"runtime"
	"testing"
)

// TestProcessGrows checks that the counters move with work done.
func TestProcessGrows(t *testing.T) {
	// Thread is the calling thread's: a goroutine moved to another thread
	// between the two readings saw it go back under load.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	p0, t0 := Process(), Thread()
	if p0 <= 0 {
		t.Skip("CPU time not readable here")
	}
	x := uint64(1)
	for p := Process(); p-p0 < 20e6; p = Process() { // 20 ms of CPU
		for i := 0; i < 1e6; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	if x == 0 {
		t.Log(x)
	}
	if d := Process() - p0; d < 20e6 {
		t.Fatalf("process CPU grew by %v, want >= 20ms", d)
	}
	if th := Thread(); th != 0 && th < t0 {
		t.Fatalf("thread CPU went back: %v < %v", th, t0)
	}
}
