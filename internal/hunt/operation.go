package hunt

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/spoor-hunt/spoor/internal/operation"
	"github.com/spoor-hunt/spoor/internal/result"
)

// buildOperations joins the detections of res (refs[i] describes
// res.Detections[i]) into res.Operations, each with its attribution. The
// operations are attributed on all cores, each goroutine with its own
// attributor (a KB is safe for concurrent use; only the caches are not).
// It returns ctx's error, and leaves res.Operations as it was, when ctx is
// done first.
func buildOperations(ctx context.Context, res *result.Result, refs []operation.DetectionRef, idx *operation.Index, at *attributor, tacticsOf func(string) []string) error {
	ops, err := operation.Build(ctx, refs, idx, operation.Options{TechniqueTactics: tacticsOf})
	if err != nil {
		return err
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(ops)) {
		var own *attributor
		if at != nil {
			own = &attributor{kb: at.kb}
		}
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(ops) && ctx.Err() == nil; i = int(next.Add(1)) - 1 {
				ops[i].Attribution = attributeOperation(&ops[i], res.Detections, own)
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if ops == nil {
		ops = []result.Operation{}
	}
	res.Operations = ops
	return nil
}

// attributeOperation is the attribution of op, whose detections are in
// dets, by at.
func attributeOperation(op *result.Operation, dets []result.Detection, at *attributor) *result.Attribution {
	// Informational rules enrich events: their tags are no evidence of
	// an actor when the operation has other rules.
	informational := !slices.ContainsFunc(op.Detections, func(d int) bool { return LevelRank(dets[d].Rule.Level) != 0 })
	rules := make([]*result.Rule, 0, len(op.Detections))
	ds := make([]*result.Detection, 0, len(op.Detections))
	for _, d := range op.Detections {
		if !informational && LevelRank(dets[d].Rule.Level) == 0 {
			continue
		}
		rules = append(rules, dets[d].Rule)
		ds = append(ds, &dets[d])
	}
	return at.attributeSeen(rules, ds)
}
