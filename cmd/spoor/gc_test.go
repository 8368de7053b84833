package main

import (
	"runtime/debug"
	"testing"

	"github.com/spoor-hunt/spoor/internal/hunt"
)

// TestHuntGC checks the GC percent of each phase of a hunt, whatever the
// process's own (GOGC): raised while rules load, lowered for the evidence
// to the hunt's or the process's, whichever is higher, restored at the end; left alone when the
// process's is higher or off.
func TestHuntGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	percent := func() int {
		p := debug.SetGCPercent(-1)
		debug.SetGCPercent(p)
		return p
	}
	tests := []struct {
		gogc int
		want [3]int // after PhaseRules, PhaseEvidence, PhaseDone
	}{
		{100, [3]int{400, 200, 100}},
		{300, [3]int{400, 300, 300}}, // the process's: above the hunt's 200
		{150, [3]int{400, 200, 150}},
		{400, [3]int{400, 400, 400}},
		{800, [3]int{800, 800, 800}},
		{-1, [3]int{-1, -1, -1}},
	}
	for _, tt := range tests {
		debug.SetGCPercent(tt.gogc)
		var g huntGC
		var got [3]int
		for i, p := range []hunt.Phase{hunt.PhaseRules, hunt.PhaseEvidence, hunt.PhaseDone} {
			g.phase(p)
			got[i] = percent()
		}
		if got != tt.want {
			t.Errorf("GOGC=%d: got %v, want %v", tt.gogc, got, tt.want)
		}
	}
}
