package operation

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/correlate"
	"github.com/spoor-hunt/spoor/internal/detect"
	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/ruleset"
	"github.com/spoor-hunt/spoor/internal/sigma"
	"github.com/spoor-hunt/spoor/internal/source"
	"github.com/spoor-hunt/spoor/rules"
)

// hunted is what huntOps keeps of one detection besides its DetectionRef.
type hunted struct {
	ref    DetectionRef
	source string // the event's Source
	line   int64  // its Locator
}

// huntOps hunts paths with the built-in rules the way the hunt does: events
// read in parallel by source.Run, each worker with its own matcher and its
// own index shard; a DetectionRef per detection, made during the callback.
// mutate, when not nil, may change each event before it is matched and
// indexed (and returns false to drop it).
func huntOps(t testing.TB, paths []string, workers int, mutate func(ev *event.Event) bool) ([]hunted, *Index) {
	t.Helper()
	eng, errs := detect.Compile(reportedBuiltin(t.(*testing.T)), nil, detect.Options{})
	if len(errs) > 0 {
		t.Fatalf("detect.Compile: %v", errors.Join(errs...))
	}
	return huntWith(t, eng, paths, workers, mutate)
}

// reportedBuiltin returns the built-in rules a hunt reports: all but the
// building blocks of the correlations, which are not reported on their own
// (they match every network logon, every task).
func reportedBuiltin(t *testing.T) []*sigma.Rule {
	t.Helper()
	c := builtin(t)
	set, errs := correlate.Compile(c.Correlations, c.Rules)
	if len(errs) > 0 {
		t.Fatalf("Compile: %v", errors.Join(errs...))
	}
	var reported []*sigma.Rule
	for _, r := range c.Rules {
		if !set.Uses(r.ID) && (r.Name == "" || !set.Uses(r.Name)) {
			reported = append(reported, r)
		}
	}
	return reported
}

// builtin loads the built-in rule set: its rules and correlations.
func builtin(t *testing.T) *sigma.Collection {
	t.Helper()
	s, err := ruleset.LoadFS(rules.FS)
	if err != nil {
		t.Fatal(err)
	}
	return &s.Collection
}

// huntWith is huntOps with the rules of eng.
func huntWith(t testing.TB, eng *detect.Engine, paths []string, workers int, mutate func(ev *event.Event) bool) ([]hunted, *Index) {
	t.Helper()
	all, idx := huntUnfinished(t, eng, paths, workers, mutate)
	idx.Finish()
	return all, idx
}

// huntUnfinished is huntWith leaving the index unfinished.
func huntUnfinished(t testing.TB, eng *detect.Engine, paths []string, workers int, mutate func(ev *event.Event) bool) ([]hunted, *Index) {
	t.Helper()
	idx := NewIndex(workers)
	ms := make([]*detect.Matcher, workers)
	found := make([][]hunted, workers)
	for i := range ms {
		ms[i] = eng.NewMatcher()
	}
	sum, err := source.Run(context.Background(), paths, source.Options{Workers: workers}, func(w int, ev *event.Event) error {
		if mutate != nil && !mutate(ev) {
			return nil
		}
		sh := idx.Shard(w)
		sh.Observe(ev)
		for _, d := range ms[w].Match(ev, nil) {
			r := sh.Ref(ev)
			s := d.Rule.Sigma
			r.RuleID, r.Title, r.Level, r.Tags = s.ID, s.Title, strings.ToLower(s.Level), s.Tags
			found[w] = append(found[w], hunted{ref: r, source: strings.Clone(ev.Source), line: ev.Locator})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Failed) > 0 {
		t.Fatalf("source: %d files failed, first %s: %v", len(sum.Failed), sum.Failed[0].Name, sum.Failed[0].Err)
	}
	var all []hunted
	for _, f := range found {
		all = append(all, f...)
	}
	for i := range all {
		all[i].ref.Index = i
	}
	return all, idx
}

func refsOf(hs []hunted) []DetectionRef {
	out := make([]DetectionRef, len(hs))
	for i, h := range hs {
		out[i] = h.ref
	}
	return out
}

// describeOps renders operations for failure messages and -v logs.
func describeOps(ops []result.Operation) string {
	var b strings.Builder
	for _, op := range ops {
		fmt.Fprintf(&b, "%s %s score %.2f hosts %v users %v %d detections, %d steps, tactics %v\n",
			op.ID, op.Severity, op.Score, op.Hosts, op.Users, len(op.Detections), len(op.Steps), op.Tactics)
		for _, s := range op.Narrative {
			fmt.Fprintf(&b, "    %s\n", s)
		}
		for _, e := range op.Context {
			fmt.Fprintf(&b, "    ctx %s %s %s\n", e.Host, e.Kind, e.Description)
		}
	}
	return b.String()
}

func TestExampleOperations(t *testing.T) {
	hs, idx := huntOps(t, []string{"../../examples/cuckoobees"}, 4, nil)
	ops := mustOperations(t, refsOf(hs), idx, Options{})
	t.Logf("%d detections, %d operations\n%s", len(hs), len(ops), describeOps(ops))
}
