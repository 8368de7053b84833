package hunt

import (
	"context"
	"log/slog"
	"slices"
	"sort"

	"github.com/spoor-hunt/spoor/internal/exposure"

	"github.com/spoor-hunt/spoor/internal/operation"
	"github.com/spoor-hunt/spoor/internal/result"
)

// sinkRest ends a Run whose detections go to opts.Sink, once the evidence
// is read: the correlations' matches go to the sink too, then the entity
// index. runErr is the reading's error (ctx's, or the sink's).
func sinkRest(ctx context.Context, read *read, rules *compiled, opts *Options, runErr error) error {
	if runErr != nil {
		return runErr
	}
	tampered, tamperRefs, err := read.tamper.detections(read.summary, opts, rules.meta)
	if err != nil {
		return err
	}
	for i := range tampered {
		ref := &tamperRefs[i]
		if read.index == nil {
			ref = nil
		}
		if err := opts.Sink.Detection(&tampered[i], ref); err != nil {
			return err
		}
	}
	err = correlations(ctx, rules.set, read.workers, rules.meta, func(d *result.Detection) error {
		if read.index == nil {
			keepCounted(d, opts.MaxCounted)
			return opts.Sink.Detection(d, nil)
		}
		// As sorting.merge places a correlation: by time and host; its
		// story tells of all it counted, before the cut.
		ref := operation.DetectionRef{Time: d.Time, Host: d.Computer, Counted: countedOf(d)}
		setRule(&ref, d)
		keepCounted(d, opts.MaxCounted)
		return opts.Sink.Detection(d, &ref)
	})
	if err != nil {
		return err
	}
	if read.index != nil {
		if err := opts.Sink.Entities(read.index); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// Operations builds the operations of detections a Sink kept, as Run
// builds a hunt's: refs describe the detections (a table of them, compact:
// a case holds hundreds of thousands; each ref's Index is the
// caller's id of its detection, and the operations name detections by
// these ids), idx is the entity index of their evidence (the Sink's, or
// several hunts' joined: see operation.DecodeIndex), and members returns
// the detections of ids, for the attribution and exposure of one
// operation at a time (opts.Attack, opts.NoAttribution, opts.CrownJewels,
// opts.Logger as for Run), so that no
// more than one operation's detections are held at once.
func Operations(ctx context.Context, refs *operation.RefTable, idx *operation.Index, opts Options,
	members func(ctx context.Context, ids []int) ([]result.Detection, error)) ([]result.Operation, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	know, attr := loadKnowledge(&opts)
	var tacticsOf func(string) []string // nil: the tactics rules name
	if kb, err := waitLoaded(ctx, know); err == nil {
		tacticsOf = techniqueTactics(kb)
	} else if ctx.Err() != nil {
		return nil, ctx.Err()
	} else {
		log.Warn("ATT&CK tactics of techniques left out", "err", err)
	}
	ops, err := operation.BuildTable(ctx, refs, idx, operation.Options{TechniqueTactics: tacticsOf})
	if err != nil {
		return nil, err
	}
	if ops == nil {
		ops = []result.Operation{}
	}
	var at *attributor
	if attr != nil && len(ops) > 0 {
		if at, err = waitLoaded(ctx, attr); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			log.Warn("attribution left out", "err", err)
		}
	}
	raised := false
	for i := range ops {
		ds, err := members(ctx, ops[i].Detections)
		if err != nil {
			return nil, err
		}
		if at != nil {
			ptrs := make([]*result.Detection, len(ds))
			for j := range ds {
				ptrs[j] = &ds[j]
			}
			ops[i].Attribution = attributeMembers(ptrs, at)
		}
		exposure.AnnotateMembers(&ops[i], ds, opts.CrownJewels)
		raised = raised || (ops[i].Exposure != nil && ops[i].Exposure.Raised != "")
	}
	if raised { // as exposure.Annotate orders a hunt's
		sort.SliceStable(ops, func(a, b int) bool { return ops[a].Score > ops[b].Score })
	}
	return ops, nil
}

// keepCounted cuts correlation detection d's counted detections to the
// first limit (none when limit is 0), into an array of their own so that the
// rest can go.
func keepCounted(d *result.Detection, limit int) {
	if c := d.Correlation; c != nil && limit > 0 && len(c.Detections) > limit {
		c.Detections = slices.Clone(c.Detections[:limit])
	}
}
