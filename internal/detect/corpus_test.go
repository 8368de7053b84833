package detect

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/sigma"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/sigmahq_not_compiled.golden")

// TestSigmaHQCorpusCompiles compiles every active SigmaHQ rule (all rules*
// folders, every product): at least 99.5% must compile when every
// placeholder the rules use has a configured value (as with a user's
// --placeholders file), and the list of rules that do not compile without
// placeholder values is pinned with their reasons. Compiling is about the detection logic: rules of
// logsources the Windows pipeline does not route (Linux, cloud, ...) are
// compiled against a route that takes every event, since whether they are
// routed is the pipeline's business, not the compiler's.
func TestSigmaHQCorpusCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the whole SigmaHQ corpus twice; runs without -short")
	}
	root := sharedPath(t, "datasets", "sigma")
	dirs, _ := filepath.Glob(filepath.Join(root, "rules*"))
	if len(dirs) == 0 {
		t.Fatalf("no rules* folders under %s", root)
	}
	c, err := sigma.LoadPaths(dirs)
	if err != nil {
		t.Fatal(err)
	}
	loadFailed := 0
	for _, e := range c.Errors {
		if !e.Warning {
			loadFailed++
		}
	}
	pipeline := DefaultPipeline()
	router := RouterFunc(func(ls sigma.Logsource) (Route, error) {
		r, err := pipeline.Route(ls)
		if errors.Is(err, ErrUnknownLogsource) {
			return Route{}, nil
		}
		return r, err
	})
	// As a user with a placeholder file for every placeholder the rules
	// use: how many rules compile.
	configured := map[string][]string{}
	for _, r := range c.Rules {
		for _, s := range r.Detection.Searches {
			for _, alt := range s.Alternatives {
				for _, fm := range alt {
					for _, v := range fm.Values {
						for _, name := range sigma.Placeholders(v) {
							configured[name] = []string{"configured-" + name}
						}
					}
				}
			}
		}
	}
	withValues, errs := Compile(c.Rules, c.Filters, Options{Router: router, Placeholders: configured})
	for _, err := range errs {
		t.Errorf("with every placeholder configured: %v", err)
	}
	// Without placeholder values, the rules that use them are rejected, as
	// the specification asks; the rest compile.
	e, errs := Compile(c.Rules, c.Filters, Options{Router: router, Placeholders: map[string][]string{}})
	var lines []string
	for _, err := range errs {
		var re *RuleError
		if !errors.As(err, &re) {
			t.Fatalf("compile error is not a *RuleError: %v", err)
		}
		rel, _ := filepath.Rel(root, re.Pos.File)
		lines = append(lines, filepath.ToSlash(rel)+": "+reasonClass(re.Err))
	}
	sort.Strings(lines)
	total := len(c.Rules) + loadFailed
	compiled := len(withValues.Rules())
	t.Logf("%d active rules: %d loaded, %d compiled with %d placeholders configured; without values %d compiled, %d rejected",
		total, len(c.Rules), compiled, len(configured), len(e.Rules()), len(errs))
	if ratio := float64(compiled) / float64(total); ratio < 0.995 {
		t.Errorf("got %.2f%% of active rules compiled, want at least 99.5%%", 100*ratio)
	}
	got := strings.Join(lines, "\n") + "\n"
	golden := filepath.Join("testdata", "sigmahq_not_compiled.golden")
	if *updateCorpus {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update-corpus to create it)", err)
	}
	if got != string(want) {
		t.Errorf("rules not compiled changed (run with -update-corpus after checking):\ngot:\n%s\nwant:\n%s", got, want)
	}
}

// reasonClass names the sentinel a compile error wraps.
func reasonClass(err error) string {
	for _, s := range []error{ErrPlaceholder, ErrModifier, ErrValue, ErrRegexp, ErrCondition, ErrUnknownLogsource} {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	return err.Error()
}
