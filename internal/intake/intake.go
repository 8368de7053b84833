// Package intake hunts evidence into a case of a store: the hunt's
// detections stream into the store as they are found (memory does not grow
// with them), its entity index is kept beside them, and the case's
// operations are rebuilt from the store over every complete hunt of the
// case, so a new host's logs join the story earlier hunts told.
//
//	hunt.Run ─Sink→ store.Writer (batches) ─Finish→ Rebuild: store refs + entities → hunt.Operations → store.ReplaceOperations
//	  → Summarise: digest.Run (the evidence again) → store.SaveSummary (metrics, logons, gaps)
//
// `spoor hunt --store` and the console's upload job call Hunt; Rebuild
// alone redoes a case's operations.
package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spoor-hunt/spoor/internal/digest"
	"github.com/spoor-hunt/spoor/internal/hunt"
	"github.com/spoor-hunt/spoor/internal/operation"
	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/source"
	"github.com/spoor-hunt/spoor/internal/store"
)

// Stage is where a Hunt stands, for Progress.
type Stage string

// The stages of a Hunt, in order.
const (
	StageHunting    Stage = "hunting"    // reading and matching; detections stored as found
	StageOperations Stage = "operations" // the hunt is complete; the case's operations are rebuilt
	StageSummaries  Stage = "summaries"  // the evidence is read again into its metrics, logons and gaps
	StageDone       Stage = "done"
)

// Progress is how far a Hunt got.
type Progress struct {
	Stage Stage
	// Read is the evidence read so far (files, bytes, events).
	Read source.Snapshot
	// Detections is how many detections were handed to the store.
	Detections int64
	// Hunt is the store's id of the hunt.
	Hunt int64
}

// ProgressEvery is how often Options.OnProgress is called while a hunt
// reads.
const ProgressEvery = 500 * time.Millisecond

// Options configures Hunt.
type Options struct {
	// Hunt selects the rules and bounds the reading, as for hunt.Run
	// (its Sink is Hunt's own; its Progress, when set, is updated too). Case filter rules (false
	// positives turned into Sigma filters) join here: as rule files in
	// Hunt.Rules, which the hunt applies like any other --rules.
	Hunt hunt.Options
	// RulesText describes the rule set in the store's hunt record.
	RulesText string
	// OnProgress, when not nil, is called every ProgressEvery while the
	// hunt reads and at each new stage, from one goroutine at a time.
	OnProgress func(Progress)
}

// Report is what Hunt did.
type Report struct {
	// Hunt is the store's record of the hunt.
	Hunt store.Hunt
	// CaseCreated and TenantCreated: the case (and the default tenant)
	// did not exist and were created.
	CaseCreated, TenantCreated bool
	// Result is the hunt's account of what it read and with which rules
	// (no detections: they are in the store).
	Result *result.Result
	// Operations is how many operations the case has now.
	Operations int
	// Oversize is how many detections were left out, larger than the
	// store takes (store.MaxDetectionSize) even with a correlation's
	// counted detections cut to the first that fit.
	Oversize int64
}

// Hunt hunts paths into the case caseName of tenant in st, as actor: the
// case is created when missing (and the tenant too when it is
// store.DefaultTenant, a single-organisation store's). The detections
// are stored as they are found; when the hunt has read everything it is
// marked complete and the case's operations are rebuilt (Rebuild). When
// the hunt fails or ctx is done, the hunt is marked incomplete, keeping
// what was stored, and the operations are left as they were; the error
// says why. A process killed mid-hunt leaves the hunt running until its
// lease runs out, then incomplete: never complete.
func Hunt(ctx context.Context, st *store.Store, tenant, caseName, actor string, paths []string, opts Options) (Report, error) {
	var rep Report
	var err error
	if rep.TenantCreated, rep.CaseCreated, err = EnsureCase(ctx, st, tenant, caseName, actor); err != nil {
		return rep, err
	}
	w, err := st.BeginHunt(ctx, tenant, caseName, store.HuntSpec{By: actor, Paths: paths, Rules: opts.RulesText})
	if err != nil {
		return rep, err
	}
	if on := opts.OnProgress; on != nil {
		id := w.Hunt()
		opts.OnProgress = func(p Progress) { p.Hunt = id; on(p) }
	}
	huntCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sk := newSink(huntCtx, w, cancel)
	hopts := opts.Hunt
	prog := hopts.Progress // the caller's own display may read it too
	if prog == nil {
		prog = new(source.Progress)
	}
	hopts.Sink, hopts.Progress = sk, prog
	hopts.MaxCounted = maxCounted
	stopProgress := reportProgress(opts.OnProgress, prog, &sk.count)

	res, runErr := hunt.Run(huntCtx, paths, hopts)
	storeErr := sk.close()
	stopProgress()
	rep.Result, rep.Oversize = res, sk.oversize.Load()
	if runErr == nil {
		runErr = storeErr
	}
	if runErr == nil && sk.entities != nil {
		runErr = w.SaveEntities(ctx, sk.entities)
	}
	if runErr != nil {
		if storeErr != nil {
			runErr = storeErr // it stopped the hunt
		}
		// The hunt's context may be the one cancelled: the abort must
		// still reach the store.
		abortCtx, done := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer done()
		if err := w.Abort(abortCtx, runErr.Error()); err != nil {
			return rep, errors.Join(runErr, err)
		}
		return rep, runErr
	}
	summary, err := json.Marshal(res)
	if err != nil {
		return rep, err
	}
	if err := w.Finish(ctx, summary); err != nil {
		return rep, err
	}
	if rep.Hunt, err = st.Hunt(ctx, tenant, caseName, w.Hunt()); err != nil {
		return rep, err
	}
	if opts.OnProgress != nil {
		opts.OnProgress(Progress{Stage: StageOperations, Read: prog.Snapshot(), Detections: sk.count.Load()})
	}
	if rep.Operations, err = Rebuild(ctx, st, tenant, caseName, actor, opts.Hunt); err != nil {
		return rep, fmt.Errorf("hunt %d is complete, but its case's operations were not rebuilt: %w", w.Hunt(), err)
	}
	if opts.OnProgress != nil {
		opts.OnProgress(Progress{Stage: StageSummaries, Read: prog.Snapshot(), Detections: sk.count.Load()})
	}
	if err := Summarise(ctx, st, tenant, caseName, w.Hunt(), paths, opts.Hunt); err != nil {
		return rep, fmt.Errorf("hunt %d is complete, but its evidence was not summarised: %w", w.Hunt(), err)
	}
	if opts.OnProgress != nil {
		opts.OnProgress(Progress{Stage: StageDone, Read: prog.Snapshot(), Detections: sk.count.Load()})
	}
	return rep, nil
}

// Summarise reads the evidence of hunt (paths, read as opts reads them:
// workers, limits, exclusions, carving) into its metrics, logons and gaps
// (internal/digest) and keeps them with the hunt in the store, for the
// console. It is a second read of the evidence, once per hunt, so that no
// page view reads it; evidence given on the standard input ("-") cannot
// be read again and is not summarised. Files that cannot be read are left
// out, as the hunt left them out; a summary larger than the store takes
// (store.MaxSummarySize) is left out with a warning.
func Summarise(ctx context.Context, st *store.Store, tenant, caseName string, hunt int64, paths []string, opts hunt.Options) error {
	if slices.Contains(paths, "-") {
		return nil
	}
	workers := opts.Workers
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0) // as the hunt
	}
	sopts := source.Options{Workers: workers, EVTXWorkers: opts.EVTXWorkers, Logger: opts.Logger,
		Exclude: opts.Outputs, Carve: opts.Carve, Limits: opts.Limits}
	d, _, err := digest.Run(ctx, paths, sopts)
	if err != nil && ctx.Err() != nil {
		return err
	}
	for kind, v := range map[string]any{digest.KindMetrics: d.Metrics, digest.KindLogons: d.Logons, digest.KindGaps: d.Gaps} {
		body, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if len(body) > store.MaxSummarySize {
			// Not worth failing a complete hunt for: the command gives it.
			if opts.Logger != nil {
				opts.Logger.Warn("summary too large for the store: not kept", "hunt", hunt, "kind", kind, "bytes", len(body))
			}
			continue
		}
		if err := st.SaveSummary(ctx, tenant, caseName, hunt, kind, body); err != nil {
			return fmt.Errorf("%s: %w", kind, err)
		}
	}
	return nil
}

// EnsureCase creates the case when missing, and the tenant with it when
// it is the default one.
func EnsureCase(ctx context.Context, st *store.Store, tenant, caseName, actor string) (tenantCreated, caseCreated bool, err error) {
	_, err = st.Case(ctx, tenant, caseName)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return false, false, err
	}
	if tenant == store.DefaultTenant {
		if _, err := st.AddTenant(ctx, tenant, actor); err == nil {
			tenantCreated = true
		} else if !errors.Is(err, store.ErrExists) {
			return false, false, err
		}
	}
	if _, err := st.AddCase(ctx, tenant, caseName, "", actor); err != nil {
		if errors.Is(err, store.ErrExists) { // created meanwhile by another hunt
			return tenantCreated, false, nil
		}
		if errors.Is(err, store.ErrNotFound) {
			return false, false, fmt.Errorf("tenant %q: %w (spoor tenant add creates one)", tenant, err)
		}
		return tenantCreated, false, err
	}
	return tenantCreated, true, nil
}

// reportProgress calls on every ProgressEvery until the returned function
// is called; nothing when on is nil.
func reportProgress(on func(Progress), prog *source.Progress, count *atomic.Int64) (stop func()) {
	if on == nil {
		return func() {}
	}
	on(Progress{Stage: StageHunting})
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(ProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				on(Progress{Stage: StageHunting, Read: prog.Snapshot(), Detections: count.Load()})
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// Rebuild makes the operations of the case caseName of tenant in st
// those of all its complete hunts' detections, joined through all their
// entities, and attributed by opts (Attack, NoAttribution, Logger, as
// for hunt.Run); it returns how many there are. Operations name their
// detections by store detection id (store.Detection.ID): in their
// "detections" and in those of their steps, graph nodes and joins. It
// holds every detection's ref and every hunt's entities at once, and the
// detections of one operation at a time (for attribution), never every
// detection.
func Rebuild(ctx context.Context, st *store.Store, tenant, caseName, actor string, opts hunt.Options) (int, error) {
	var encs [][]byte
	err := st.Entities(ctx, tenant, caseName, func(_ int64, data []byte) error {
		encs = append(encs, data) // Scan gave it a copy of its own
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("case %q: entities: %w", caseName, err)
	}
	idx, err := operation.DecodeIndex(encs...)
	if err != nil {
		return 0, fmt.Errorf("case %q: %w", caseName, err)
	}
	encs = nil
	refs, err := loadRefs(ctx, st, tenant, caseName)
	if err != nil {
		return 0, err
	}
	members := func(ctx context.Context, ids []int) ([]result.Detection, error) {
		ids64 := make([]int64, len(ids))
		for i, id := range ids {
			ids64[i] = int64(id)
		}
		ds, err := st.DetectionsByID(ctx, tenant, caseName, ids64)
		if err != nil {
			return nil, err
		}
		out := make([]result.Detection, len(ds))
		for i, d := range ds {
			if err := json.Unmarshal(d.JSON, &out[i]); err != nil {
				return nil, fmt.Errorf("case %q detection %d: %w", caseName, d.ID, err)
			}
			if out[i].Rule == nil {
				out[i].Rule = &result.Rule{}
			}
		}
		return out, nil
	}
	ops, err := hunt.Operations(ctx, refs, idx, opts, members)
	if err != nil {
		return 0, fmt.Errorf("case %q: operations: %w", caseName, err)
	}
	uniqueIDs(ops)
	// Each operation's JSON made as the store asks for it and the
	// operation let go once made: the JSON of a large case's operations is
	// as large as they are, and holding both (and the store's copy) was
	// this function's peak.
	jsons := func(yield func(json.RawMessage, error) bool) {
		for i := range ops {
			raw, err := json.Marshal(&ops[i])
			ops[i] = result.Operation{}
			if !yield(raw, err) || err != nil {
				return
			}
		}
	}
	if err := st.ReplaceOperationsSeq(ctx, tenant, caseName, jsons, actor); err != nil {
		return 0, fmt.Errorf("case %q: store operations: %w", caseName, err)
	}
	return len(ops), nil
}

// loadRefs reads the refs of the case's complete hunts into a table
// (compact: a DetectionRef each, 200,000 of them, were 115 MB of the
// rebuild's peak), each's Index its store id.
func loadRefs(ctx context.Context, st *store.Store, tenant, caseName string) (*operation.RefTable, error) {
	// Sized once from the complete hunts' counts: grown by append, the
	// table would be held twice while copied and keep room it never uses.
	hs, err := st.Hunts(ctx, tenant, caseName)
	if err != nil {
		return nil, fmt.Errorf("case %q: hunts: %w", caseName, err)
	}
	var n int64
	for _, h := range hs {
		if h.State == store.HuntComplete {
			n += h.Detections
		}
	}
	refs := operation.NewRefTable(int(n))
	err = st.Refs(ctx, tenant, caseName, func(id int64, raw []byte) error {
		var r operation.DetectionRef
		if err := json.Unmarshal(raw, &r); err != nil {
			return fmt.Errorf("detection %d: ref: %w", id, err)
		}
		r.Index = int(id)
		refs.Add(r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("case %q: refs: %w", caseName, err)
	}
	refs.Seal()
	return refs, nil
}

// uniqueIDs makes the operations' ids unique, as the store wants them:
// an id is a hash of the operation's first detection, and evidence read
// twice (the same log in two hunts, or copied chunks) can start two
// operations with equal detections. The second and later of an id get
// "-2", "-3"... in the builder's order, which is deterministic.
func uniqueIDs(ops []result.Operation) {
	seen := make(map[string]int, len(ops))
	for i := range ops {
		id := ops[i].ID
		seen[id]++
		if n := seen[id]; n > 1 {
			ops[i].ID = fmt.Sprintf("%s-%d", id, n)
		}
	}
}
