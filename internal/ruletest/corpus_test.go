package ruletest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/ruleset"
	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/sigma"
)

// sigmaFolders are SigmaHQ's rule folders: the active rules, then the
// retired ones.
var sigmaFolders = []string{"rules", "rules-compliance", "rules-dfir", "rules-emerging-threats", "rules-placeholder", "rules-threat-hunting", "deprecated", "unsupported"}

// v1Aggregation finds a Sigma 1.x aggregation in a rule file's condition:
// "| count() ...", "| near ...", or a condition starting with count(.
var v1Aggregation = regexp.MustCompile(`(?m)^\s*condition:\s*((count|min|max|avg|sum)\s*\(|.*\|\s*(count|min|max|avg|sum|near)\b)`)

// TestCorpusLoads lints every rule of SigmaHQ's folders and Hayabusa's,
// as `spoor rules lint` does: every rule file loads, or each rule that does
// not is rejected with a located, specific reason; at least 99% of the v1
// aggregation rules of SigmaHQ's unsupported folder load (as correlation
// rules). The counts are in the README.
func TestCorpusLoads(t *testing.T) {
	datasets := shared.Path(t, "datasets")
	var dirs []string
	for _, d := range sigmaFolders {
		dirs = append(dirs, filepath.Join("sigma", d))
	}
	dirs = append(dirs, filepath.Join("hayabusa-rules", "hayabusa"))
	total, totalFiles, totalBad := 0, 0, 0
	for _, d := range dirs {
		dir := filepath.Join(datasets, d)
		set, err := ruleset.Load([]string{dir})
		if err != nil {
			t.Fatal(err)
		}
		bad := map[string]bool{} // files with a rejected rule
		for _, p := range Lint(set, Options{}) {
			if p.Severity != Error {
				continue
			}
			bad[p.Pos.File] = true
			t.Logf("rejected: %s", p)
			if p.Pos.File == "" || p.Pos.Line == 0 || len(p.Msg) < 10 || strings.Contains(p.Msg, "internal error") {
				t.Errorf("%s: got %q, want a located, specific reason", d, p)
			}
		}
		docs := len(set.Rules) + len(set.Correlations) + len(set.Filters)
		total += docs
		totalFiles += len(set.Files)
		totalBad += len(bad)
		t.Logf("%-30s %5d files, %5d load (%d rules, %d correlations, %d filters), %d files with a rule rejected",
			d, len(set.Files), len(set.Files)-len(bad), len(set.Rules), len(set.Correlations), len(set.Filters), len(bad))

		// A rule using a placeholder is rejected until it has a value, as
		// the specification asks: with a value for each, every rule of
		// SigmaHQ's active folders loads (checked in each of them, with
		// placeholders or none: rules/ has none).
		active := strings.HasPrefix(filepath.Base(d), "rules")
		if values := placeholderValues(set); active || len(values) > 0 {
			still := map[string]bool{}
			for _, p := range Lint(set, Options{Placeholders: values}) {
				if p.Severity == Error {
					still[p.Pos.File] = true
				}
			}
			t.Logf("%s: with a value for each of its %d placeholders, %d files with a rule rejected", d, len(values), len(still))
			if active && len(still) > 0 {
				t.Errorf("%s: got %d files with a rule rejected given every placeholder a value, want 0", d, len(still))
			}
		}

		if d != filepath.Join("sigma", "unsupported") {
			continue
		}
		aggs, loaded := 0, 0
		for _, f := range set.Files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if !v1Aggregation.Match(data) {
				continue
			}
			aggs++
			if !bad[f] {
				loaded++
			} else {
				t.Logf("v1 aggregation rejected: %s", f)
			}
		}
		if aggs < 50 {
			t.Errorf("found %d v1 aggregation rules in %s, want at least 50", aggs, d)
		}
		if loaded*100 < aggs*99 {
			t.Errorf("%s: %d of %d v1 aggregation rules load, want at least 99%%", d, loaded, aggs)
		}
		t.Logf("%s: %d of %d v1 aggregation rules load", d, loaded, aggs)
	}
	t.Logf("all: %d files, %d load; %d rules, correlations and filters", totalFiles, totalFiles-totalBad, total)
}

// TestSigmaHQRegression runs every SigmaHQ regression test that the shared
// regression data holds, through the rules that name them: each must pass.
func TestSigmaHQRegression(t *testing.T) {
	base := shared.Path(t, "datasets", "sigma")
	var dirs []string
	for _, d := range sigmaFolders {
		dirs = append(dirs, filepath.Join(base, d))
	}
	set, err := ruleset.Load(dirs)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(t.Context(), set, Options{})
	if err != nil {
		t.Fatal(err)
	}
	infos := 0
	err = filepath.WalkDir(filepath.Join(base, "regression_data"), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "info.yml" {
			infos++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	passed := 0
	for _, r := range rep.Results {
		switch {
		case r.Status == Passed:
			passed++
		case r.Status == Failed:
			t.Errorf("%s:%d: rule %s (%s): %s: %s", r.File, r.Line, r.RuleID, r.RuleTitle, r.Name, r.Reason)
		case !strings.HasPrefix(r.Reason, "regression info not found"):
			// Only rules whose data the shared subset lacks may skip.
			t.Errorf("%s:%d: rule %s skipped: %s", r.File, r.Line, r.RuleID, r.Reason)
		}
	}
	if infos < 90 || passed < infos {
		t.Errorf("got %d regression tests passed for %d info.yml files, want at least one per file (and 90 files)", passed, infos)
	}
	t.Logf("%d regression tests passed (%d info.yml files), %d skipped without data", passed, infos, rep.Count(Skipped))
}

// placeholderValues gives a value to each placeholder the rules of set use.
func placeholderValues(set *ruleset.Set) map[string][]string {
	values := map[string][]string{}
	for _, r := range set.Rules {
		for _, s := range r.Detection.Searches {
			for _, alt := range s.Alternatives {
				for _, fm := range alt {
					if !fm.Has(sigma.ModExpand) {
						continue
					}
					for _, v := range fm.Values {
						for _, name := range sigma.Placeholders(v) {
							values[name] = []string{"placeholder-value"}
						}
					}
				}
			}
		}
	}
	return values
}
