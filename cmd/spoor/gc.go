package main

import (
	"os"
	"runtime/debug"

	"github.com/spoor-hunt/spoor/internal/hunt"
)

// rulesGCPercent is the GC percent while a hunt's rules load and compile:
// most of what they allocate is garbage (YAML nodes, intermediate needs) and
// the live heap is small, so collecting less often saves about a tenth of
// the CPU of loading thousands of rules for a few tens of MB of peak memory.
const rulesGCPercent = 400

// huntGCPercent is the GC percent while the evidence is hunted: the live
// heap is then mostly the compiled rules, long-lived and pointer-dense, so
// every collection marks all of them again; collecting half as often saves
// about a tenth of the evidence phase's CPU, and the heap stays within a
// small multiple of what the rules and the detections hold.
const huntGCPercent = 200

// huntGC sets the GC percent of each phase of a hunt (hunt.Options.OnPhase):
// the process's choice, made here rather than in the library. It raises the
// percent only when the process's own (GOGC) is lower, restores it when the
// hunt ends, and serves one hunt at a time, as spoor runs them.
type huntGC struct {
	old int  // the percent before the hunt
	set bool // whether the hunt changed it
}

func (g *huntGC) phase(p hunt.Phase) {
	switch p {
	case hunt.PhaseRules:
		g.old = debug.SetGCPercent(rulesGCPercent)
		g.set = g.old >= 0 && g.old < rulesGCPercent
		if !g.set { // off, or higher already: the user's
			debug.SetGCPercent(g.old)
		}
	case hunt.PhaseEvidence:
		if g.set { // never above both the hunt's percent and the process's
			debug.SetGCPercent(max(huntGCPercent, g.old))
		}
	case hunt.PhaseDone:
		if g.set {
			debug.SetGCPercent(g.old)
			g.set = false
		}
	}
}

// limitMemory sets the runtime's soft memory limit to n bytes (cli.Env's
// LimitMemory: a hunt into a case store), unless GOMEMLIMIT set one: as the
// heap nears it the GC collects sooner than the phase's percent (huntGC)
// would, so the peak stays near n whatever the percent. It costs CPU only
// when the live heap comes close to n.
func limitMemory(n int64) {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(n)
	}
}
