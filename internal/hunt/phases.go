package hunt

import (
	"context"
	"runtime"
	"sync"

	"github.com/spoor-hunt/spoor/internal/attack"
	"github.com/spoor-hunt/spoor/internal/correlate"
	"github.com/spoor-hunt/spoor/internal/detect"
	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/operation"
	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/sigma"
	"github.com/spoor-hunt/spoor/internal/source"
)

// The phases of a hunt, in the order Run calls them: load the rules
// (loadRules), compile them (compileRules), read the evidence and match it
// (readEvidence), correlate (correlations), build the operations
// (buildOperations), attribute (attributeOperations, or attributeHunt
// when there is no operation). Each takes the context and returns plain
// data or ctx's error.

// loadKnowledge starts loading the ATT&CK knowledge base on another
// goroutine, while the rules load and the evidence is read: the tactics of
// techniques wait for know after the reading, attribution for attr at the
// end. attr is nil with opts.NoAttribution.
func loadKnowledge(opts *Options) (know func() (*attack.KB, error), attr func() (*attributor, error)) {
	kb := opts.Attack
	know = sync.OnceValues(func() (*attack.KB, error) { return loadKB(kb) })
	if opts.NoAttribution {
		go know()
		return know, nil
	}
	attr = sync.OnceValues(func() (*attributor, error) {
		kb, err := know()
		if err != nil {
			return nil, err
		}
		return newAttributor(kb)
	})
	go attr()
	return know, attr
}

// compiled is a rule set ready to hunt with.
type compiled struct {
	eng *detect.Engine
	set *correlate.Set
	// infos is what the hunt keeps of each rule, by detect.Rule.Index.
	infos []*ruleInfo
	// meta has the rules and correlations by ruleKey, for their
	// descriptions in the aggregates (correlations adds those that fire).
	meta map[string]*sigma.Meta
}

// compileRules compiles the rules of rs for opts' pipeline and
// placeholders (problems are counted in rs.stats) and prepares what the
// hunt keeps of each, on all cores. It returns ctx's error when ctx is done
// first.
func compileRules(ctx context.Context, rs *huntRules, opts *Options) (*compiled, error) {
	pipeline := opts.Pipeline
	if pipeline == nil {
		pipeline = detect.DefaultPipeline()
	}
	eng, set := rs.compile(pipeline, opts.Placeholders)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var pipe *detect.Pipeline // the field names of the rules' routes
	if len(set.Correlations()) > 0 {
		pipe = pipeline
	}
	rules := eng.Rules()
	infos := make([]*ruleInfo, len(rules))
	var making sync.WaitGroup
	parts := runtime.GOMAXPROCS(0)
	for p := range parts {
		making.Go(func() {
			for _, r := range rules[p*len(rules)/parts : (p+1)*len(rules)/parts] {
				info := newRuleInfo(r)
				if pipe != nil {
					info.correlated(set, pipe, rs.blocks[r.Sigma])
				}
				infos[r.Index()] = info
			}
		})
	}
	making.Wait()
	meta := make(map[string]*sigma.Meta, len(rules))
	for i, r := range rules {
		meta[ruleKey(&infos[i].meta)] = &r.Sigma.Meta
	}
	return &compiled{eng: eng, set: set, infos: infos, meta: meta}, nil
}

// read is what reading the evidence gave.
type read struct {
	// workers hold the detections, their refs and the correlations'
	// inputs, per worker.
	workers []*worker
	// index is the entity index the workers fed; nil without operations.
	index   *operation.Index
	summary *source.Summary
	// tamper is the tampering findings' hook (tamper.go).
	tamper *tamperHook
}

// readEvidence reads the evidence under paths and matches every event
// against the rules, one worker per source worker, each feeding its shard
// of the entity index unless opts.NoOperations. On error (ctx's included)
// it returns what was read so far with the error.
func readEvidence(ctx context.Context, paths []string, rules *compiled, opts *Options) (*read, error) {
	workers := opts.Workers
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	r := &read{workers: make([]*worker, workers), tamper: newTamperHook(workers)}
	if !opts.NoOperations {
		r.index = operation.NewIndex(workers)
	}
	for i := range r.workers {
		r.workers[i] = &worker{m: rules.eng.NewMatcher(), infos: rules.infos, opts: opts, strs: map[string]string{}}
		if r.index != nil {
			r.workers[i].shard = r.index.Shard(i)
		}
	}
	sopts := source.Options{
		Workers:     workers,
		EVTXWorkers: opts.EVTXWorkers,
		Progress:    opts.Progress,
		Logger:      opts.Logger,
		Exclude:     opts.Outputs,
		Stdin:       opts.Stdin,
		Carve:       opts.Carve,
		Limits:      opts.Limits,
	}
	var err error
	r.summary, err = source.Run(ctx, paths, sopts, func(id int, ev *event.Event) error {
		r.tamper.observe(id, ev)
		return r.workers[id].event(ev)
	})
	return r, err
}

// evidence returns what was read, with the workers' counts, and how many
// detections were not listed as building blocks of correlations.
func (r *read) evidence() (e result.Evidence, suppressed int) {
	e = evidenceOf(r.summary)
	for _, w := range r.workers {
		e.Hunted += w.hunted
		e.OutOfRange += w.outOfRange
		if !w.first.IsZero() && (e.First.IsZero() || w.first.Before(e.First)) {
			e.First = w.first
		}
		if w.last.After(e.Last) {
			e.Last = w.last
		}
		suppressed += w.suppressed
	}
	return e, suppressed
}

// attributeHunt is the attribution of the whole hunt, when it has no
// operation: of every detection of dets, by at (none when at is nil), or
// the reason there is none (result.TooLittleEvidence). It returns ctx's
// error as soon as ctx is done (the attribution, bounded, then ends on its
// own).
func attributeHunt(ctx context.Context, dets []result.Detection, at *attributor) (*result.Attribution, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	if at == nil {
		return nil, "", nil
	}
	if tooLittle(dets) {
		return nil, result.TooLittleEvidence, nil
	}
	ds := make([]*result.Detection, len(dets))
	for i := range dets {
		ds[i] = &dets[i]
	}
	a, err := waitLoaded(ctx, func() (*result.Attribution, error) { return at.attributeSeen(detectionRules(dets), ds), nil })
	return a, "", err
}
