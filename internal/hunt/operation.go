package hunt

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/spoor-hunt/spoor/internal/operation"
	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/sigma"
)

// buildOperations joins dets (refs[i] describes dets[i], and is given the
// detection's index and rule here) into operations through the entities
// of idx; tacticsOf gives the tactics of a technique (nil: those the rules
// name). It returns ctx's error, and no operation, when ctx is done
// first.
func buildOperations(ctx context.Context, dets []result.Detection, refs []operation.DetectionRef, idx *operation.Index, tacticsOf func(string) []string) ([]result.Operation, error) {
	for i := range refs {
		refs[i].Index = i
		setRule(&refs[i], &dets[i])
	}
	ops, err := operation.Build(ctx, refs, idx, operation.Options{TechniqueTactics: tacticsOf})
	if err != nil {
		return nil, err
	}
	if ops == nil {
		ops = []result.Operation{}
	}
	return ops, nil
}

// setRule gives r the rule of d.
func setRule(r *operation.DetectionRef, d *result.Detection) {
	r.RuleID, r.Title, r.Level, r.Tags = d.Rule.ID, d.Rule.Title, d.Rule.Level, d.Rule.Tags
}

// attributeOperations sets the attribution of each of ops (whose
// detections are in dets) by at, on all cores, each goroutine with its own
// attributor (a KB is safe for concurrent use; only the caches are not).
// It returns ctx's error when ctx is done first, some operations then
// left unattributed.
func attributeOperations(ctx context.Context, ops []result.Operation, dets []result.Detection, at *attributor) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(ops)) {
		var own *attributor
		if at != nil {
			own = &attributor{kb: at.kb}
		}
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(ops) && ctx.Err() == nil; i = int(next.Add(1)) - 1 {
				ops[i].Attribution = attributeOperation(&ops[i], dets, own)
			}
		})
	}
	wg.Wait()
	return ctx.Err()
}

// attributeOperation is the attribution of op, whose detections are in
// dets, by at.
func attributeOperation(op *result.Operation, dets []result.Detection, at *attributor) *result.Attribution {
	members := make([]*result.Detection, len(op.Detections))
	for i, d := range op.Detections {
		members[i] = &dets[d]
	}
	return attributeMembers(members, at)
}

// attributeMembers is the attribution of an operation whose detections
// are members, by at.
func attributeMembers(members []*result.Detection, at *attributor) *result.Attribution {
	// Informational rules enrich events: their tags are no evidence of
	// an actor when the operation has other rules.
	informational := !slices.ContainsFunc(members, func(d *result.Detection) bool { return sigma.LevelRank(d.Rule.Level) != 0 })
	rules := make([]*result.Rule, 0, len(members))
	ds := make([]*result.Detection, 0, len(members))
	for _, d := range members {
		if !informational && sigma.LevelRank(d.Rule.Level) == 0 {
			continue
		}
		rules = append(rules, d.Rule)
		ds = append(ds, d)
	}
	return at.attributeSeen(rules, ds)
}
