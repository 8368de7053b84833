package hunt

// Phase is a stage of a Run, told to Options.OnPhase as the Run enters it:
// lifecycle, not data, for the caller that tunes the process to what the
// Run does (cmd/spoor sets the GC percent of each). A library does not.
type Phase uint8

// The phases of a Run, in order.
const (
	// PhaseRules: the rules load and compile. Most of what they allocate
	// is garbage (YAML nodes, intermediate needs) and the live heap is
	// small.
	PhaseRules Phase = iota + 1
	// PhaseEvidence: the evidence is hunted, then correlations,
	// operations and attribution. The live heap is mostly the compiled
	// rules, long-lived and pointer-dense.
	PhaseEvidence
	// PhaseDone: the Run returns (on every return after PhaseRules).
	PhaseDone
)

// phase tells o.OnPhase that the Run enters p.
func (o *Options) phase(p Phase) {
	if o.OnPhase != nil {
		o.OnPhase(p)
	}
}
