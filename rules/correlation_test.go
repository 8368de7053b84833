package rules

import (
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/correlate"
	"github.com/spoor-hunt/spoor/internal/sigma"
)

// Correlation rules live under windows/correlation, one correlation per
// file, referencing the built-in detection rules by name. They have no
// .test.yml (a test case is one event); they are checked here for
// metadata and compiled against the built-in rules, and run on real
// evidence in internal/correlate (deepbluecli_test.go).

// isCorrelation reports whether the rule file at p holds correlation rules.
func isCorrelation(p string) bool {
	return strings.HasPrefix(p, "windows/correlation/") && !IsTest(p)
}

var corrFileName = regexp.MustCompile(`^mr_[a-z0-9_]{7,67}\.yml$`)

func TestCorrelationRules(t *testing.T) {
	var corrs []*sigma.Correlation
	err := fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !isCorrelation(p) {
			return err
		}
		data, err := FS.ReadFile(p)
		if err != nil {
			return err
		}
		c := sigma.Parse(data, p)
		for _, e := range c.Errors {
			t.Errorf("%s: %v (warning %v)", p, e, e.Warning)
		}
		if len(c.Correlations) != 1 || len(c.Rules) != 0 || len(c.Filters) != 0 {
			t.Fatalf("%s: got %d rules, %d correlations, %d filters, want exactly one correlation",
				p, len(c.Rules), len(c.Correlations), len(c.Filters))
		}
		r := c.Correlations[0]
		if !uuidV4.MatchString(r.ID) || r.Title == "" || r.Description == "" {
			t.Errorf("%s: id %q, title and description are required", p, r.ID)
		}
		if !slices.Contains([]string{"experimental", "test", "stable"}, r.Status) ||
			!slices.Contains([]string{"informational", "low", "medium", "high", "critical"}, r.Level) {
			t.Errorf("%s: status %q level %q", p, r.Status, r.Level)
		}
		if r.Author != "spoor project" || !validDate(r.Date) || len(r.References) == 0 || len(r.FalsePositives) == 0 {
			t.Errorf("%s: author, date, references and falsepositives are required", p)
		}
		var tech, tactic bool
		for _, tag := range r.Tags {
			tech = tech || techTag.MatchString(tag)
			tactic = tactic || tacticTags[tag]
		}
		if !tech || !tactic {
			t.Errorf("%s: want an attack.<tactic> and an attack.tNNNN tag, got %v", p, r.Tags)
		}
		if !corrFileName.MatchString(path.Base(p)) {
			t.Errorf("%s: file name must be mr_ and 7-67 lower-case letters, digits or _ plus .yml", p)
		}
		corrs = append(corrs, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(corrs) < 3 {
		t.Errorf("got %d correlation rules, want at least 3", len(corrs))
	}
	var rules []*sigma.Rule
	for _, l := range loadAll(t) {
		rules = append(rules, l.rule)
	}
	set, errs := correlate.Compile(corrs, rules)
	for _, e := range errs {
		t.Errorf("compile: %v", e)
	}
	// The building-block rules are referenced, and not reported alone.
	for _, name := range []string{"failed_network_logon", "explicit_credentials_remote"} {
		if !set.Uses(name) || !set.Suppressed(name) {
			t.Errorf("%s: Uses %v Suppressed %v, want both", name, set.Uses(name), set.Suppressed(name))
		}
	}
}
