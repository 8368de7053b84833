package hunt

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"github.com/spoor-hunt/spoor/internal/exposure"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/spoor-hunt/spoor/internal/archive"
	"github.com/spoor-hunt/spoor/internal/attack"
	"github.com/spoor-hunt/spoor/internal/correlate"
	"github.com/spoor-hunt/spoor/internal/cputime"
	"github.com/spoor-hunt/spoor/internal/detect"
	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/operation"
	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/rulepkg"
	"github.com/spoor-hunt/spoor/internal/source"
)

// Options configures Run. The zero value hunts with the built-in rules on
// all cores.
type Options struct {
	// NoBuiltin leaves out the built-in rule set.
	NoBuiltin bool
	// Rules are rule files and folders to load besides the built-in set.
	// A rule here whose ID is also a built-in or SigmaHQ package rule's
	// replaces it (RuleStats.Replaced).
	Rules []string
	// SigmaHQ is the SigmaHQ rule package to hunt with too (the CLI's
	// default is rulepkg.Open's); nil for none.
	SigmaHQ *rulepkg.Package
	// Noisy keeps the SigmaHQ package's rules that its noise list leaves
	// out of a default hunt (RuleStats.Noisy).
	Noisy bool

	// MinLevel keeps the rules of this level or more severe ("" for all).
	MinLevel string
	// Statuses keeps the rules with one of these statuses; none keeps
	// every rule except deprecated and unsupported ones.
	Statuses []string
	// Tags keeps the rules with a tag starting with one of these prefixes
	// (case-insensitive, "_" same as "-", "attack." optional); none keeps
	// all.
	Tags []string
	// Exclude leaves out the rules with these IDs, names or titles
	// (case-insensitive).
	Exclude []string
	// Outputs are files this hunt writes (timeline, reports): never read
	// as evidence, even when they lie in a folder hunted.
	Outputs []string
	// Stdin is what the path "-" reads; nil means os.Stdin.
	Stdin io.Reader
	// Placeholders gives the values of the rules' expand placeholders, by
	// name without percent signs (see detect.LoadPlaceholders); a rule
	// using a placeholder without a value does not compile.
	Placeholders map[string][]string
	// Pipeline routes logsources to events and maps field names; nil
	// selects detect.DefaultPipeline().
	Pipeline *detect.Pipeline

	// From and To bound the times of the events hunted, both included;
	// zero leaves that side open. With a bound, events without a time are
	// left out.
	From, To time.Time

	// Workers is how many files are read and matched in parallel; < 1
	// means runtime.GOMAXPROCS(0).
	Workers int
	// EVTXWorkers is how many chunks of one EVTX file are decoded in
	// parallel; < 1 means runtime.GOMAXPROCS(0).
	EVTXWorkers int
	// KeepEvents keeps the whole event, as JSON, in every Detection.
	KeepEvents bool
	// Carve also hunts the EVTX records recovered from free space and
	// slack (source.Options.Carve); their detections are marked Carved.
	Carve bool
	// Attack is the ATT&CK knowledge base attribution ranks groups with
	// and the tactics of techniques come from; nil loads the embedded one
	// (the CLI passes the installed one, see attack.LoadDefault).
	// NoAttribution leaves attribution out.
	Attack        *attack.KB
	NoAttribution bool
	// NoOperations leaves out the entity index and the operations.
	NoOperations bool
	// CrownJewels are the locations of valuable data exposure marks (and
	// whose touching raises an operation's severity); nil: inferred.
	CrownJewels *exposure.Jewels
	// Progress, when not nil, is updated as reading goes (see source).
	Progress *source.Progress
	// Limits bound what each input file may decompress and spool (see
	// source.Options.Limits).
	Limits archive.Limits
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
	// OnPhase, when not nil, is called on Run's goroutine as the Run
	// enters each Phase.
	OnPhase func(Phase)
	// Sink, when not nil, takes the detections as they are found instead
	// of the Result: Run then keeps none (its memory no longer grows with
	// them), and builds neither operations nor attribution (the sink's
	// owner does, with Operations, from what it kept).
	Sink Sink
	// MaxCounted, when above 0, bounds the detections a correlation's
	// match keeps: the first MaxCounted of those it counted, in the
	// order they are listed (its Count still says how many it counted).
	// Only with a Sink: the match is bounded as it is made, its ref
	// describes all it counted, and no more than one match holds all its
	// counted detections at once.
	MaxCounted int
}

// Sink takes a hunt's detections as they are found (Options.Sink).
type Sink interface {
	// Detection takes one detection and what the operation builder needs
	// of it (nil with NoOperations; its Index is left 0 for the sink to
	// set). It is called from the hunt's workers at once, and for the
	// correlations' matches from Run's goroutine after the evidence is
	// read; d and ref are the sink's only during the call. An error stops
	// the hunt, and Run returns it.
	Detection(d *result.Detection, ref *operation.DetectionRef) error
	// Entities takes the hunt's entity index (not finished: see
	// operation.Index.AppendBinary) once the evidence is read and every
	// detection was given, unless NoOperations or the hunt was stopped.
	Entities(ix *operation.Index) error
}

// ErrNoRules is returned by Run when no rule is left to hunt with.
var ErrNoRules = errors.New("no rules to hunt with")

// Run hunts the evidence under paths (files, folders, archives; see
// source.Run) with the rules opts selects and returns what it found.
//
// Bad evidence and broken rules do not stop a hunt: they are counted in the
// Result. Run returns an error when a rule path cannot be read (and a nil
// Result), when no rule is left (ErrNoRules, with a Result that says why in
// Rules), or when ctx is done (the Result then covers what was hunted so
// far).
//
// A hunt is six phases, each a function of its own (phases.go) that takes
// ctx and returns plain data: load the rules, compile them, read the
// evidence and match it, correlate, build the operations, attribute.
func Run(ctx context.Context, paths []string, opts Options) (*result.Result, error) {
	start := time.Now()
	res := newResult(paths, &opts, start)
	// Every return, cancelled or not, says how long the hunt ran.
	defer func() { res.ElapsedSeconds = time.Since(start).Seconds() }()

	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var know func() (*attack.KB, error)
	var attr func() (*attributor, error)
	if opts.Sink == nil { // a sink's owner attributes (see Operations)
		know, attr = loadKnowledge(&opts)
	}
	cpu0 := cputime.Process()
	opts.phase(PhaseRules)
	defer opts.phase(PhaseDone)
	rs, err := loadRules(&opts)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	loaded := time.Now()
	rules, err := compileRules(ctx, rs, &opts)
	opts.phase(PhaseEvidence)
	res.Rules = rs.stats
	if err != nil {
		return res, err
	}
	cpuRules := cputime.Process()
	log.Debug("rules ready", "loaded", res.Rules.Loaded, "load", loaded.Sub(start), "compile", time.Since(loaded), "cpu", cpuRules-cpu0)
	if len(rules.eng.Rules()) == 0 {
		return res, ErrNoRules
	}

	read, runErr := readEvidence(ctx, paths, rules, &opts)
	log.Debug("evidence hunted", "events", read.summary.Events, "detections", countFound(read.workers), "took", read.summary.Elapsed, "cpu", cputime.Process()-cpuRules)
	res.Evidence, res.Suppressed = read.evidence()
	if opts.Sink != nil {
		return res, sinkRest(ctx, read, rules, &opts, runErr)
	}
	// Each worker's detections are sorted on a core of their own while the
	// correlations run; the sorted runs are then merged.
	sorted := sortFound(read.workers)
	tampered, tamperRefs, err := read.tamper.detections(read.summary, &opts, rules.meta)
	if err != nil {
		return res, err
	}
	sorted.addRun(tampered, tamperRefs)
	var matched []result.Detection
	err = correlations(ctx, rules.set, read.workers, rules.meta, func(d *result.Detection) error {
		matched = append(matched, *d)
		return nil
	})
	log.Debug("detections correlated", "correlations", len(matched))
	if runErr == nil {
		runErr = err
	}
	var refs []operation.DetectionRef
	res.Detections, refs = sorted.merge(matched, read.index != nil)
	var tacticsOf func(string) []string // nil: the tactics rules name
	if kb, err := waitLoaded(ctx, know); err == nil {
		tacticsOf = techniqueTactics(kb)
	} else if ctx.Err() == nil {
		log.Warn("ATT&CK tactics of techniques left out", "err", err)
	}
	aggregate(res, rules.meta, tacticsOf)
	if runErr != nil {
		// Cancelled: the detections hunted so far, without operations
		// nor attribution.
		return res, runErr
	}

	var at *attributor
	if attr != nil && len(res.Detections) > 0 {
		if at, err = waitLoaded(ctx, attr); err != nil {
			if ctx.Err() != nil {
				return res, err
			}
			log.Warn("attribution left out", "err", err)
		}
	}
	if at != nil {
		markUnknown(res, at.kb)
	}
	if read.index != nil {
		opStart, opCPU := time.Now(), cputime.Process()
		ops, err := buildOperations(ctx, res.Detections, refs, read.index, tacticsOf)
		if err == nil {
			err = attributeOperations(ctx, ops, res.Detections, at)
		}
		if err == nil {
			exposure.Annotate(ops, res.Detections, opts.CrownJewels)
		}
		log.Debug("operations built", "operations", len(ops), "took", time.Since(opStart), "cpu", cputime.Process()-opCPU)
		if err != nil {
			return res, err
		}
		res.Operations = ops
	}
	if len(res.Operations) == 0 {
		if res.Attribution, res.NotAttributed, err = attributeHunt(ctx, res.Detections, at); err != nil {
			return res, err
		}
	}
	return res, ctx.Err()
}

func countFound(ws []*worker) int {
	n := 0
	for _, w := range ws {
		n += w.found.len()
	}
	return n
}

func newResult(paths []string, opts *Options, start time.Time) *result.Result {
	return &result.Result{
		Tool:    "spoor",
		Started: start.UTC().Truncate(time.Second),
		Paths:   append([]string{}, paths...),
		Filters: result.Filters{
			MinLevel: strings.ToLower(opts.MinLevel),
			Statuses: opts.Statuses,
			Tags:     opts.Tags,
			Exclude:  opts.Exclude,
			From:     opts.From.UTC(),
			To:       opts.To.UTC(),
		},
		Detections: []result.Detection{},
		Operations: []result.Operation{},
		RuleCounts: []result.RuleCount{},
		Hosts:      []result.HostCount{},
		Tactics:    []result.TacticCount{},
	}
}

// ruleInfo is what a hunt precomputes about a compiled rule.
type ruleInfo struct {
	rule     *detect.Rule
	meta     result.Rule // shared by every Detection of the rule
	fields   []string    // fields the rule's detection names
	category string      // lower-case logsource category
	// corr is what the correlations referencing the rule need of its
	// detections; nil when none does.
	corr *corrFields
	// hidden: its detections are building blocks of correlations, not
	// listed on their own.
	hidden bool
}

func newRuleInfo(r *detect.Rule) *ruleInfo {
	s := r.Sigma
	tactics, techniques := attackOf(s.Tags)
	return &ruleInfo{
		rule: r,
		meta: result.Rule{
			ID: s.ID, Title: s.Title, Level: strings.ToLower(s.Level), Status: s.Status,
			Tags: s.Tags, Tactics: tactics, Techniques: techniques,
		},
		fields:   ruleFields(s),
		category: strings.ToLower(s.Logsource.Category),
	}
}

// worker is the per-worker state of a hunt: used by one goroutine only.
type worker struct {
	m     *detect.Matcher
	dst   []detect.Detection
	infos []*ruleInfo // by detect.Rule.Index
	opts  *Options
	// strs interns the strings that repeat across detections (computer,
	// channel, provider, source, field names).
	strs map[string]string

	found chunks[result.Detection]
	// shard is the worker's part of the entity index (nil without
	// operations); refs[i] describes found[i] for the operation builder.
	shard *operation.IndexShard
	refs  chunks[operation.DetectionRef]
	// inputs are the detections of rules correlations reference, for
	// correlate.Set.Run; inputDets[i] is the detection of inputs[i].
	inputs     []correlate.Input
	inputDets  []result.Detection
	suppressed int

	hunted      int64
	outOfRange  int64
	first, last time.Time
}

// event hunts one event; the error is the sink's.
func (w *worker) event(ev *event.Event) error {
	t := ev.Time()
	if !w.opts.From.IsZero() || !w.opts.To.IsZero() {
		if t.IsZero() || (!w.opts.From.IsZero() && t.Before(w.opts.From)) || (!w.opts.To.IsZero() && t.After(w.opts.To)) {
			w.outOfRange++
			return nil
		}
	}
	w.hunted++
	if !t.IsZero() {
		if w.first.IsZero() || t.Before(w.first) {
			w.first = t
		}
		if t.After(w.last) {
			w.last = t
		}
	}
	if w.shard != nil {
		w.shard.Observe(ev)
	}
	w.dst = w.m.Match(ev, w.dst[:0])
	if len(w.dst) == 0 {
		return nil
	}
	var raw json.RawMessage
	if w.opts.KeepEvents {
		raw = ev.AppendJSON(nil)
	}
	var ref operation.DetectionRef
	refDone := false
	for _, d := range w.dst {
		det := w.record(ev, t, d, raw)
		info := w.infos[d.Rule.Index()]
		if info.corr != nil {
			w.input(ev, t, info, &det)
		}
		if info.hidden {
			w.suppressed++
			continue
		}
		if w.shard != nil && !refDone {
			ref, refDone = w.shard.Ref(ev), true
		}
		if w.opts.Sink != nil {
			if err := w.sink(&det, ref); err != nil {
				return err
			}
			continue
		}
		w.found.add(det)
		if w.shard != nil {
			w.refs.add(ref)
		}
	}
	return nil
}

// sink gives det, and its ref when the hunt builds operations, to the
// sink.
func (w *worker) sink(det *result.Detection, ref operation.DetectionRef) error {
	if w.shard == nil {
		return w.opts.Sink.Detection(det, nil)
	}
	setRule(&ref, det)
	return w.opts.Sink.Detection(det, &ref)
}

// record copies what explains detection d of ev.
func (w *worker) record(ev *event.Event, t time.Time, d detect.Detection, raw json.RawMessage) result.Detection {
	info := w.infos[d.Rule.Index()]
	out := result.Detection{
		Time:     t,
		Computer: w.intern(ev.Lookup(event.FieldComputer).Text()),
		Channel:  w.intern(ev.Lookup(event.FieldChannel).Text()),
		Provider: w.intern(ev.Lookup(event.FieldProviderName).Text()),
		EventID:  ev.Lookup(event.FieldEventID).Integer(),
		RecordID: ev.Lookup(event.FieldEventRecordID).Integer(),
		Source:   w.intern(ev.Source),
		Locator:  ev.Locator,
		Carved:   ev.Carved,
		Rule:     &info.meta,
		Event:    raw,
	}
	for _, s := range d.Searches {
		out.Searches = append(out.Searches, w.intern(s))
	}
	out.Fields = explain(nil, ev, info.fields, info.category, out.EventID, w.intern)
	if out.Fields == nil {
		out.Fields = []result.Field{}
	}
	return out
}

// intern returns a copy of s that shares no memory with the event, the same
// copy for equal strings.
func (w *worker) intern(s string) string {
	if c, ok := w.strs[s]; ok {
		return c
	}
	c := strings.Clone(s)
	w.strs[c] = c
	return c
}

// sortDetections sorts by time, computer, record ID, rule title and source.
func sortDetections(ds []result.Detection) {
	slices.SortStableFunc(ds, func(a, b result.Detection) int { return compareDetections(&a, &b) })
}

// compareDetections orders detections by time, computer, record ID, rule
// title, source, locator and rule ID.

func compareDetections(a, b *result.Detection) int {
	if c := a.Time.Compare(b.Time); c != 0 {
		return c
	}
	return cmp.Or(
		cmp.Compare(a.Computer, b.Computer),
		cmp.Compare(a.RecordID, b.RecordID),
		cmp.Compare(a.Rule.Title, b.Rule.Title),
		cmp.Compare(a.Source, b.Source),
		cmp.Compare(a.Locator, b.Locator),
		cmp.Compare(a.Rule.ID, b.Rule.ID),
	)
}

// evidenceOf converts a source Summary.
func evidenceOf(s *source.Summary) result.Evidence {
	e := result.Evidence{
		Files: s.Files, Logs: s.Logs, Bytes: s.Bytes, Events: s.Events,
		EVTX: s.Count(source.EVTX), JSON: s.Count(source.JSON),
		Archives:   s.Count(source.Zip) + s.Count(source.Gzip) + s.Count(source.Tar),
		NotLogs:    append([]string{}, s.NotLogs...),
		Duplicates: s.Duplicates,
		Carved:     s.Carved, CarveDropped: s.CarveDropped,
		Failed:  []result.Failure{},
		Damaged: []result.Damage{},
	}
	for _, f := range s.Failed {
		e.Failed = append(e.Failed, result.Failure{Name: f.Name, Error: f.Err.Error(), Events: f.Events, Named: f.Named})
	}
	for _, d := range s.Damaged {
		dd := result.Damage{Name: d.Name, Skips: d.Skips, Records: d.Records, First: []string{}}
		for _, se := range d.First {
			dd.First = append(dd.First, se.Where+": "+se.Err.Error())
		}
		e.Damaged = append(e.Damaged, dd)
	}
	return e
}
