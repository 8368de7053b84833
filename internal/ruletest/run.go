package ruletest

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"go.yaml.in/yaml/v3"

	"github.com/spoor-hunt/spoor/internal/detect"
	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/ruleset"
	"github.com/spoor-hunt/spoor/internal/sigma"
	"github.com/spoor-hunt/spoor/internal/source"
)

// Kind is the kind of a test.
type Kind uint8

// The kinds of test.
const (
	// CaseTest is one case of a test file.
	CaseTest Kind = iota
	// RegressionTest is one entry of a SigmaHQ regression info.yml.
	RegressionTest
)

// String returns "case" or "regression".
func (k Kind) String() string {
	if k == RegressionTest {
		return "regression"
	}
	return "case"
}

// Status is the outcome of a test.
type Status uint8

// The outcomes of a test.
const (
	Passed Status = iota
	Failed
	// Skipped: the test could not be run, through no fault of the rule
	// (its regression data is not there).
	Skipped
)

// String returns "pass", "FAIL" or "skip".
func (s Status) String() string {
	switch s {
	case Failed:
		return "FAIL"
	case Skipped:
		return "skip"
	}
	return "pass"
}

// Result is the outcome of one test.
type Result struct {
	Kind   Kind
	Status Status
	// File is the test file of a case, the rule file of a regression test.
	File string
	// Line is the line of the case's event, or of the rule.
	Line int
	// Name is the case's name, or the regression entry's name.
	Name string
	// RuleID and RuleTitle name the rule under test (regression tests).
	RuleID, RuleTitle string
	// Reason says why the test failed or was skipped.
	Reason string

	// Data is the regression test's event file.
	Data string
	// WantMatches is the least number of events the rule must match in
	// Data; Matches is how many it matched, of Events read.
	WantMatches, Matches int
	Events               int64

	// Want and Got are a case's expected and actual rule ids, sorted.
	Want, Got []string
}

// Report holds the results of a Run, in the order of the test files and
// rules of the Set.
type Report struct {
	Results []Result
}

// Count returns the number of results with status s.
func (r *Report) Count(s Status) int {
	n := 0
	for i := range r.Results {
		if r.Results[i].Status == s {
			n++
		}
	}
	return n
}

// RegressionKey is the custom rule key that names a rule's SigmaHQ
// regression test: the path of an info.yml relative to the Sigma repository
// root, the folder holding regression_data/.
const RegressionKey = "regression_tests_path"

// regressionDir is the folder that marks the root of a Sigma repository.
const regressionDir = "regression_data"

// Run runs the tests of s: every case of its test files and the regression
// tests of its rules (found only on disk: a Set from ruleset.LoadFS has none). Rules
// that could not be loaded but name a regression test fail it. Tests run in
// parallel (Options.Workers); the Report is in a fixed order whatever the
// parallelism. The error is ctx's when it is done before the end.
func Run(ctx context.Context, s *ruleset.Set, opts Options) (*Report, error) {
	r := &runner{set: s, router: opts.router(), placeholders: opts.Placeholders}
	var jobs []func() []Result
	for _, tf := range s.Tests {
		jobs = append(jobs, func() []Result { return r.testFile(tf) })
	}
	jobs = append(jobs, r.unloadedRegressions()...)
	for _, rule := range s.Rules {
		if p, ok := rule.Custom[RegressionKey]; ok {
			jobs = append(jobs, func() []Result { return r.regression(ctx, rule, p) })
		}
	}

	workers := opts.Workers
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	results := make([][]Result, len(jobs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, len(jobs)) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) {
					return
				}
				results[i] = jobs[i]()
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rep := &Report{}
	for _, rs := range results {
		rep.Results = append(rep.Results, rs...)
	}
	return rep, nil
}

// runner holds what the tests of one Run share.
type runner struct {
	set          *ruleset.Set
	router       detect.Router
	placeholders map[string][]string
}

func (r *runner) compile(rules []*sigma.Rule, filters []*sigma.Filter) (*detect.Engine, error) {
	eng, errs := detect.Compile(rules, filters, detect.Options{Router: r.router, Placeholders: r.placeholders})
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return eng, nil
}

// testFile runs the cases of one test file.
func (r *runner) testFile(name string) []Result {
	fail := func(reason string) []Result {
		return []Result{{Kind: CaseTest, Status: Failed, File: name, Reason: reason}}
	}
	data, err := r.set.ReadFile(name)
	if err != nil {
		return fail(err.Error())
	}
	tf, err := ParseTestFile(data, name)
	if err != nil {
		return fail(err.Error())
	}
	if own := ownRule(name); !slices.Contains(tf.Rules, own) {
		return fail(fmt.Sprintf("rules: %s, the rule of this test file, is not listed", own))
	}
	var rules []*sigma.Rule
	var filters []*sigma.Filter
	for _, rel := range tf.Rules {
		rf := beside(r.set, name, rel)
		data, err := r.set.ReadFile(rf)
		if err != nil {
			return fail("rule file: " + err.Error())
		}
		c := sigma.Parse(data, rf)
		for _, e := range c.Errors {
			if !e.Warning {
				return fail("rule file does not load: " + e.Error())
			}
		}
		rules = append(rules, c.Rules...)
		filters = append(filters, c.Filters...)
	}
	eng, err := r.compile(rules, filters)
	if err != nil {
		return fail("rule does not compile: " + err.Error())
	}
	ids := map[string]bool{}
	for _, rule := range rules {
		ids[rule.ID] = true
	}

	m := eng.NewMatcher()
	var out []Result
	var dets []detect.Detection
	for _, c := range tf.Cases {
		res := Result{Kind: CaseTest, File: name, Line: c.Line, Name: c.Name}
		res.Want = slices.Compact(slices.Sorted(slices.Values(c.Detections)))
		if res.Want == nil {
			res.Want = []string{}
		}
		dets = m.Match(c.Event, dets[:0])
		res.Got = []string{}
		for _, d := range dets {
			res.Got = append(res.Got, d.Rule.Sigma.ID)
		}
		slices.Sort(res.Got)
		res.Got = slices.Compact(res.Got)
		var foreign []string
		for _, id := range res.Want {
			if !ids[id] {
				foreign = append(foreign, id)
			}
		}
		switch {
		case len(foreign) > 0:
			res.Status = Failed
			res.Reason = fmt.Sprintf("expects %s, not among the rules under test (%s)",
				strings.Join(foreign, ", "), strings.Join(tf.Rules, ", "))
		case !slices.Equal(res.Got, res.Want):
			res.Status = Failed
			res.Reason = caseDiff(res.Want, res.Got, rules)
		}
		out = append(out, res)
	}
	return out
}

// ownRule returns the file name of the rule a test file belongs to:
// foo.yml for foo.test.yml.
func ownRule(testFile string) string {
	base := testFile[strings.LastIndexAny(testFile, `/\`)+1:]
	return base[:len(base)-len(ruleset.TestSuffix)] + ".yml"
}

// beside returns the name of rel, a path relative to the folder of the file
// name, in the file system of s.
func beside(s *ruleset.Set, name, rel string) string {
	if s.FS == nil {
		return filepath.Join(filepath.Dir(name), rel)
	}
	return path.Join(path.Dir(name), rel)
}

// caseDiff says how got differs from want, naming the rules.
func caseDiff(want, got []string, rules []*sigma.Rule) string {
	title := func(id string) string {
		for _, r := range rules {
			if r.ID == id {
				return fmt.Sprintf("%s (%s)", id, r.Title)
			}
		}
		return id
	}
	var missing, extra []string
	for _, id := range want {
		if !slices.Contains(got, id) {
			missing = append(missing, title(id))
		}
	}
	for _, id := range got {
		if !slices.Contains(want, id) {
			extra = append(extra, title(id))
		}
	}
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "did not fire: "+strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		parts = append(parts, "fired unexpectedly: "+strings.Join(extra, ", "))
	}
	return fmt.Sprintf("got [%s], want [%s]: %s", strings.Join(got, " "), strings.Join(want, " "), strings.Join(parts, "; "))
}

// regressionInfo is the part of a SigmaHQ regression info.yml we read.
type regressionInfo struct {
	Tests []struct {
		Name       string `yaml:"name"`
		Type       string `yaml:"type"`
		MatchCount *int   `yaml:"match_count"`
		Path       string `yaml:"path"`
	} `yaml:"regression_tests_info"`
}

// regression runs the regression tests of one rule: the rule compiled alone
// with the pipeline must match at least match_count events (at least one
// when absent) of each data file.
func (r *runner) regression(ctx context.Context, rule *sigma.Rule, infoPath string) []Result {
	base := Result{Kind: RegressionTest, File: rule.Pos.File, Line: rule.Pos.Line, RuleID: rule.ID, RuleTitle: rule.Title}
	end := func(st Status, reason string) []Result {
		res := base
		res.Status, res.Reason = st, reason
		return []Result{res}
	}
	if r.set.FS != nil {
		return end(Skipped, "regression data is read from disk only")
	}
	root := sigmaRoot(filepath.Dir(rule.Pos.File))
	if root == "" {
		return end(Skipped, fmt.Sprintf("no %s folder above the rule for %s %s", regressionDir, RegressionKey, infoPath))
	}
	infoFile := filepath.Join(root, filepath.FromSlash(infoPath))
	data, err := os.ReadFile(infoFile)
	if os.IsNotExist(err) {
		return end(Skipped, "regression info not found: "+infoFile)
	}
	if err != nil {
		return end(Failed, err.Error())
	}
	var info regressionInfo
	if err := yaml.Unmarshal(data, &info); err != nil {
		return end(Failed, fmt.Sprintf("%s: %v", infoFile, err))
	}
	if len(info.Tests) == 0 {
		return end(Failed, infoFile+": no regression_tests_info entries")
	}
	eng, compileErr := r.compile([]*sigma.Rule{rule}, nil)

	var out []Result
	for _, t := range info.Tests {
		res := base
		res.Name = t.Name
		res.Data = filepath.Join(root, filepath.FromSlash(t.Path))
		res.WantMatches = 1
		if t.MatchCount != nil && *t.MatchCount > 0 {
			res.WantMatches = *t.MatchCount
		}
		switch {
		case compileErr != nil:
			res.Status, res.Reason = Failed, "rule does not compile: "+compileErr.Error()
		case t.Path == "":
			res.Status, res.Reason = Failed, infoFile+": entry without a path"
		default:
			r.match(ctx, eng, &res)
		}
		out = append(out, res)
	}
	return out
}

// match reads res.Data through the real readers, counts the events eng
// matches, and sets res's outcome.
func (r *runner) match(ctx context.Context, eng *detect.Engine, res *Result) {
	if _, err := os.Stat(res.Data); os.IsNotExist(err) {
		res.Status, res.Reason = Skipped, "regression data not found: "+res.Data
		return
	}
	m := eng.NewMatcher()
	var dets []detect.Detection
	sum, err := source.Run(ctx, []string{res.Data}, source.Options{Workers: 1, EVTXWorkers: 1}, func(_ int, ev *event.Event) error {
		dets = m.Match(ev, dets[:0])
		if len(dets) > 0 {
			res.Matches++
		}
		return nil
	})
	res.Events = sum.Events
	switch {
	case err != nil:
		res.Status, res.Reason = Failed, err.Error()
	case len(sum.Failed) > 0:
		res.Status, res.Reason = Failed, "could not read "+sum.Failed[0].Error()
	case sum.Logs == 0:
		res.Status, res.Reason = Failed, "not an event log: "+res.Data
	case res.Matches < res.WantMatches:
		res.Status = Failed
		res.Reason = fmt.Sprintf("expected ≥%d matches, got %d (of %d events)", res.WantMatches, res.Matches, res.Events)
		if len(sum.Damaged) > 0 {
			res.Reason += fmt.Sprintf("; %d parts of the file were skipped as damaged", sum.Damaged[0].Skips)
		}
	}
}

// sigmaRoot returns the first of dir and its parents that holds a
// regression_data folder, or "".
func sigmaRoot(dir string) string {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for {
		if fi, err := os.Stat(filepath.Join(dir, regressionDir)); err == nil && fi.IsDir() {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// unloadedRegressions fails the regression tests of rule files that did not
// load: their tests cannot run, and skipping them would hide the rule.
func (r *runner) unloadedRegressions() []func() []Result {
	var jobs []func() []Result
	seen := map[string]bool{}
	for _, e := range r.set.Errors {
		f := e.Pos.File
		if e.Warning || seen[f] {
			continue
		}
		seen[f] = true
		data := r.set.Data(f)
		if !hasTopKey(data, RegressionKey) {
			continue
		}
		jobs = append(jobs, func() []Result {
			return []Result{{Kind: RegressionTest, Status: Failed, File: f, Line: e.Pos.Line,
				RuleID: e.RuleID, RuleTitle: e.Title, Reason: "rule does not load: " + e.Error()}}
		})
	}
	return jobs
}

// hasTopKey reports whether a line of data starts with key and a colon.
func hasTopKey(data []byte, key string) bool {
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, key); ok && strings.HasPrefix(strings.TrimLeft(rest, " "), ":") {
			return true
		}
	}
	return false
}
