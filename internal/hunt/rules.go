package hunt

import (
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/spoor-hunt/spoor/internal/correlate"
	"github.com/spoor-hunt/spoor/internal/detect"
	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/ruleset"
	"github.com/spoor-hunt/spoor/internal/sigma"
	"github.com/spoor-hunt/spoor/rules"
)

// huntRules is the rules and filters of a hunt, loaded and filtered, with the
// counts for RuleStats.
type huntRules struct {
	rules   []*sigma.Rule
	filters []*sigma.Filter
	// all are every detection rule loaded (duplicates left out), kept or
	// not: correlations may reference rules the filters left out.
	all []*sigma.Rule
	// corrs are the correlation rules kept by the filters.
	corrs []*sigma.Correlation
	// blocks are the rules of all the filters left out and a kept
	// correlation references: compiled, their detections fed to the
	// correlations only.
	blocks map[*sigma.Rule]bool
	// noisy are the package's rules left out as too noisy (in all).
	noisy map[*sigma.Rule]bool
	stats result.RuleStats
}

// loadRules loads the built-in rules (unless opts.NoBuiltin), the SigmaHQ
// package (opts.SigmaHQ) and the rules under opts.Rules, then keeps those
// that pass the filters. Rules are identified by ID: a rule of opts.Rules
// whose ID is a built-in or package rule's replaces it (counted in
// Replaced); otherwise a rule loaded twice (the same file given twice) is
// used once, the first. Only a path that cannot be read is an error;
// broken rules are counted and described in stats.
func loadRules(opts *Options) (*huntRules, error) {
	rs := &huntRules{stats: result.RuleStats{Sources: []string{}}, noisy: map[*sigma.Rule]bool{}}
	files, err := ruleset.Files(opts.Rules)
	if err != nil {
		return nil, fmt.Errorf("load rules: %w", err)
	}
	var pkgFiles []string
	if opts.SigmaHQ != nil {
		if pkgFiles, err = opts.SigmaHQ.Files(); err != nil {
			return nil, fmt.Errorf("load %s: %w", opts.SigmaHQ.Name(), err)
		}
	}

	// The built-in set and slices of the rule files are parsed in
	// parallel (YAML parsing is most of the cost of loading thousands of
	// rules), then merged in order: the built-in set, the package, the
	// files given, each in walk order.
	var loads []func() (*ruleset.Set, error)
	if !opts.NoBuiltin {
		loads = append(loads, func() (*ruleset.Set, error) {
			s, err := ruleset.LoadFS(rules.FS)
			if err != nil {
				err = fmt.Errorf("load built-in rules: %w", err)
			}
			return s, err
		})
		rs.stats.Sources = append(rs.stats.Sources, "builtin")
	}
	for _, chunk := range parts(pkgFiles) {
		loads = append(loads, func() (*ruleset.Set, error) {
			s, err := ruleset.LoadFSFiles(opts.SigmaHQ.FS, chunk)
			if err != nil {
				err = fmt.Errorf("load %s: %w", opts.SigmaHQ.Name(), err)
			}
			return s, err
		})
	}
	if opts.SigmaHQ != nil {
		rs.stats.Sources = append(rs.stats.Sources, opts.SigmaHQ.Name())
		rs.stats.SigmaHQ, rs.stats.SigmaHQNote = opts.SigmaHQ.Name(), opts.SigmaHQ.Note
	}
	embedded := len(loads) // the sets before it are built-in or the package's
	for _, chunk := range parts(files) {
		loads = append(loads, func() (*ruleset.Set, error) {
			s, err := ruleset.LoadFiles(chunk)
			if err != nil {
				err = fmt.Errorf("load rules: %w", err)
			}
			return s, err
		})
	}
	rs.stats.Sources = append(rs.stats.Sources, opts.Rules...)
	sets := make([]*ruleset.Set, len(loads))
	errs := make([]error, len(loads))
	var wg sync.WaitGroup
	for i, load := range loads {
		wg.Go(func() { sets[i], errs[i] = load() })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	f, err := ruleset.NewFilter(ruleset.Selection{MinLevel: opts.MinLevel, Statuses: opts.Statuses, Tags: opts.Tags, Exclude: opts.Exclude})
	if err != nil {
		return nil, err
	}
	// given are the IDs of the rules given with opts.Rules: an embedded
	// rule with one of them is replaced.
	given := map[string]bool{}
	for _, s := range sets[embedded:] {
		for _, r := range s.Rules {
			given[r.ID] = r.ID != ""
		}
		for _, c := range s.Correlations {
			given[c.ID] = c.ID != ""
		}
	}
	// skip reports whether the rule or correlation id of set i is left
	// out, counting it: replaced by a rule given, or seen before (the
	// first of an id is kept).
	seen := map[string]bool{}
	skip := func(i int, id string) bool {
		switch {
		case id == "":
			return false
		case i < embedded && given[id]:
			rs.stats.Replaced++
			return true
		case seen[id]:
			rs.stats.Duplicates++
			return true
		}
		seen[id] = true
		return false
	}
	// noisy reports whether a rule of set i is one of the package's left
	// out as too noisy.
	first := 0 // the first set of the package
	if !opts.NoBuiltin {
		first = 1
	}
	noisy := func(i int, m *sigma.Meta) bool {
		return i >= first && i < embedded && !opts.Noisy && opts.SigmaHQ.Noisy(m.ID)
	}
	for i, s := range sets {
		for _, e := range s.Errors {
			if e.Warning {
				continue
			}
			rs.stats.Skipped++
			rs.stats.Errors = append(rs.stats.Errors, e.Error())
		}
		for _, c := range s.Correlations {
			if skip(i, c.ID) {
				continue
			}
			if noisy(i, &c.Meta) {
				rs.stats.Noisy++
				continue
			}
			if !f.Keep(&c.Meta) {
				rs.stats.Filtered++
				continue
			}
			rs.corrs = append(rs.corrs, c)
		}
		rs.filters = append(rs.filters, s.Filters...)
		for _, r := range s.Rules {
			if skip(i, r.ID) {
				continue
			}
			rs.all = append(rs.all, r)
			if noisy(i, &r.Meta) {
				rs.stats.Noisy++
				rs.noisy[r] = true
				continue
			}
			if !f.Keep(&r.Meta) {
				rs.stats.Filtered++
				continue
			}
			rs.rules = append(rs.rules, r)
		}
	}
	rs.stats.UnknownExcludes = f.Unnamed()
	return rs, nil
}

// parts splits files into slices to parse in parallel: as many as there
// are cores, each of at least minFilesPerPart files (none for no file).
func parts(files []string) [][]string {
	if len(files) == 0 {
		return nil
	}
	n := max(1, min(runtime.GOMAXPROCS(0), len(files)/minFilesPerPart))
	out := make([][]string, n)
	for i := range n {
		out[i] = files[i*len(files)/n : (i+1)*len(files)/n]
	}
	return out
}

// minFilesPerPart is the fewest rule files worth a goroutine of their own.
const minFilesPerPart = 200

// compile compiles the correlations against every rule loaded, then the
// rules kept with the building blocks of the correlations (the rules they
// reference, kept or not: "--min-level high" must not drop the low rules a
// high correlation counts), recording what fails in stats.
func (rs *huntRules) compile(pipeline *detect.Pipeline, placeholders map[string][]string) (*detect.Engine, *correlate.Set) {
	set, cerrs := correlate.Compile(rs.corrs, rs.all)
	for _, e := range cerrs {
		rs.stats.Skipped++
		rs.stats.Errors = append(rs.stats.Errors, e.Error())
	}
	rs.stats.Correlations = len(set.Correlations())
	kept := make(map[*sigma.Rule]bool, len(rs.rules))
	for _, r := range rs.rules {
		kept[r] = true
	}
	rs.blocks = map[*sigma.Rule]bool{}
	for _, r := range rs.all {
		if !kept[r] && (set.Uses(r.ID) || (r.Name != "" && set.Uses(r.Name))) {
			rs.blocks[r] = true
			rs.rules = append(rs.rules, r)
			if rs.noisy[r] {
				rs.stats.Noisy--
			} else {
				rs.stats.Filtered--
			}
		}
	}
	eng, errs := detect.Compile(rs.rules, rs.filters, detect.Options{Router: pipeline, Placeholders: placeholders})
	for _, e := range errs {
		if errors.Is(e, detect.ErrUnknownLogsource) {
			rs.stats.Unsupported++
			continue
		}
		rs.stats.Skipped++
		rs.stats.Errors = append(rs.stats.Errors, e.Error())
	}
	rs.stats.Loaded = len(eng.Rules())
	return eng, set
}
