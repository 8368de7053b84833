package hunt

import (
	"context"

	"github.com/spoor-hunt/spoor/internal/correlate"
	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/operation"
	"github.com/spoor-hunt/spoor/internal/result"
)

// Hunting a stream of events, one at a time, outside Run: what a fleet
// worker (internal/fleet) does with the events collectors publish. The
// rules are loaded and compiled as Run's (Compile), and each event goes
// through a Hunter exactly as through one of Run's workers: the same
// matcher, the same Detection and DetectionRef, the same entity
// observations, so that a worker finds what an offline hunt of the same
// evidence finds.

// Rules is a rule set compiled for hunting a stream. It is read-only and
// shared by the Hunters made from it.
type Rules struct {
	c    *compiled
	opts Options
	// Stats says which rules were loaded and compiled, as a Result's
	// Rules does.
	Stats result.RuleStats
}

// Compile loads and compiles the rules opts selects (its rule options:
// built-in, Rules, SigmaHQ, filters, pipeline, placeholders), as Run
// does. It returns ErrNoRules when none is left.
func Compile(ctx context.Context, opts Options) (*Rules, error) {
	rs, err := loadRules(&opts)
	if err != nil {
		return nil, err
	}
	c, err := compileRules(ctx, rs, &opts)
	if err != nil {
		return nil, err
	}
	if len(c.eng.Rules()) == 0 {
		return nil, ErrNoRules
	}
	return &Rules{c: c, opts: opts, Stats: rs.stats}, nil
}

// Correlated reports whether some correlation references a rule: then a
// Hunter keeps inputs (Inputs) for the correlations to run over.
func (r *Rules) Correlated() bool { return len(r.c.set.Correlations()) > 0 }

// Correlate runs the rule set's correlations over inputs, dets[i] the
// detection of inputs[i], and gives add a Detection (kind correlation) and
// its ref for each match, one at a time, as Run does after the evidence is
// read. Each match keeps at most maxCounted of the detections it counted
// (0: all).
func (r *Rules) Correlate(ctx context.Context, inputs []correlate.Input, dets []result.Detection, maxCounted int,
	add func(d *result.Detection, ref *operation.DetectionRef) error) error {
	w := &worker{inputs: inputs, inputDets: dets}
	return correlations(ctx, r.c.set, []*worker{w}, r.c.meta, func(d *result.Detection) error {
		ref := operation.DetectionRef{Time: d.Time, Host: d.Computer, Counted: countedOf(d)}
		setRule(&ref, d)
		keepCounted(d, maxCounted)
		return add(d, &ref)
	})
}

// Hunter hunts events one at a time with a Rules. It is for one
// goroutine.
type Hunter struct {
	w *worker
}

// NewHunter returns a Hunter giving its detections to sink (Entities is
// never called: the caller owns the entity index).
func (r *Rules) NewHunter(sink Sink) *Hunter {
	opts := r.opts
	opts.Sink = sink
	return &Hunter{w: &worker{m: r.c.eng.NewMatcher(), infos: r.c.infos, opts: &opts, strs: map[string]string{}}}
}

// Hunt hunts ev: its detections go to the sink, with their refs when
// shard is not nil, and shard observes ev (the entity index). ev is the
// Hunter's only during the call. The error is the sink's.
func (h *Hunter) Hunt(ev *event.Event, shard *operation.IndexShard) error {
	h.w.shard = shard
	err := h.w.event(ev)
	h.w.shard = nil
	if len(h.w.strs) > maxInterned {
		clear(h.w.strs) // a long stream would grow it for ever
	}
	return err
}

// maxInterned bounds the strings a Hunter interns.
const maxInterned = 1 << 16

// Inputs returns the correlations' inputs the events hunted since the
// last call gave (dets[i] the detection of inputs[i]), and forgets them.
func (h *Hunter) Inputs() (inputs []correlate.Input, dets []result.Detection) {
	inputs, dets = h.w.inputs, h.w.inputDets
	h.w.inputs, h.w.inputDets = nil, nil
	return inputs, dets
}

// Hunted is how many events h hunted.
func (h *Hunter) Hunted() int64 { return h.w.hunted }
