package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/stix"
	"github.com/spoor-hunt/spoor/internal/store"
)

// sightingCounts reads a bundle's sightings: the count of each indicator
// sighted, summed over its sightings.
func sightingCounts(t *testing.T, name string) map[string]int {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range stix.Check(data) {
		t.Errorf("%s: %v", filepath.Base(name), err)
	}
	var b struct{ Objects []stix.Object }
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, o := range b.Objects {
		if o.Type() == "sighting" {
			n, _ := o["count"].(float64)
			if n < 1 {
				t.Errorf("%s: sighting %s: count %v", filepath.Base(name), o.ID(), o["count"])
			}
			out[o["sighting_of_ref"].(string)] += int(n)
		}
	}
	return out
}

// TestIntelRoundTrip is the acceptance test of issue 16: one organisation
// (tenant default) hunts the CuckooBees evidence into a case and exports
// it as STIX (case export); another (tenant victim-two), whose own case
// hunted the same evidence, imports the bundle: the case's evidence is
// hunted again for every indicator, Sigma and STIX pattern, and each is
// found, at least as often as the export says it was seen; the sightings
// go back as a bundle that passes Check, and into the case's audit log.
// When the evidence is gone, the case's stored detections are matched:
// the atomic indicators, made of detections, are all found there.
func TestIntelRoundTrip(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	evidence, err := filepath.Abs(filepath.Join("..", "..", "examples", "cuckoobees"))
	if err != nil {
		t.Fatal(err)
	}
	st := filepath.Join(dir, "store")
	if code, _, errOut := run(t, ctx, "hunt", "-q", "--no-sigmahq", "--store", st, "--case", "intrusion", evidence); code != ExitOK {
		t.Fatalf("hunt --store: exit %d: %s", code, errOut)
	}
	shared := filepath.Join(dir, "shared.stix.json")
	if code, _, errOut := run(t, ctx, "case", "export", "--store", st, "--stix", shared, "--identity", "Victim One", "intrusion"); code != ExitOK {
		t.Fatalf("case export: exit %d: %s", code, errOut)
	}
	data, err := os.ReadFile(shared)
	if err != nil {
		t.Fatal(err)
	}
	inds, errs := stix.Indicators(data)
	if len(errs) > 0 || len(inds) < 20 {
		t.Fatalf("the export holds %d indicators (%v), too few for the test", len(inds), errs)
	}
	exported := sightingCounts(t, shared)

	// The other tenant: one case hunted the same evidence, another hunted
	// a copy of it that is gone since.
	s, err := store.Open(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddTenant(ctx, "victim-two", "test"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	gone := filepath.Join(dir, "gone")
	if err := os.CopyFS(gone, os.DirFS(evidence)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, path string }{{"same", evidence}, {"gone", gone}} {
		if code, _, errOut := run(t, ctx, "hunt", "-q", "--no-sigmahq", "--store", st, "--tenant", "victim-two", "--case", c.name, c.path); code != ExitOK {
			t.Fatalf("hunt into victim-two/%s: exit %d: %s", c.name, code, errOut)
		}
	}
	if err := os.RemoveAll(gone); err != nil {
		t.Fatal(err)
	}

	back := filepath.Join(dir, "sightings.stix.json")
	code, out, errOut := run(t, ctx, "intel", "import", "--store", st, "--tenant", "victim-two", "--case", "same", "--sightings", back, shared)
	if code != ExitOK {
		t.Fatalf("intel import: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "hunted the evidence of the case's hunts: "+evidence) {
		t.Errorf("the output does not say what was hunted:\n%s", out)
	}
	found := sightingCounts(t, back)
	var stixN, sigmaN int
	for _, ind := range inds {
		if ind.PatternType == "stix" {
			stixN++
		} else {
			sigmaN++
		}
		switch {
		case found[ind.ID] == 0:
			t.Errorf("%s indicator %s not found again: %.200s", ind.PatternType, ind.ID, ind.Pattern)
		case found[ind.ID] < exported[ind.ID]:
			t.Errorf("%s indicator %s found %d times, the export saw it %d times: %.200s", ind.PatternType, ind.ID, found[ind.ID], exported[ind.ID], ind.Pattern)
		}
	}
	if stixN == 0 || sigmaN == 0 {
		t.Errorf("%d STIX-pattern and %d Sigma indicators: want both", stixN, sigmaN)
	}

	// The audit log of the case records the sightings.
	s, err = store.Open(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	audit, err := s.Audit(ctx, "victim-two", "same", 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range audit {
		if a.Action == "intel.sighting" {
			n++
		}
	}
	if n != len(inds) {
		t.Errorf("%d intel.sighting audit entries, want %d", n, len(inds))
	}

	// Evidence gone: the stored detections are matched, and the output
	// says so; the atomic indicators were made of detections' fields.
	backGone := filepath.Join(dir, "sightings-gone.stix.json")
	code, out, errOut = run(t, ctx, "intel", "import", "--store", st, "--tenant", "victim-two", "--case", "gone", "--sightings", backGone, shared)
	if code != ExitOK || !strings.Contains(out, "the detections the case stored") {
		t.Fatalf("intel import, evidence gone: exit %d (%s), output:\n%.500s", code, errOut, out)
	}
	foundGone := sightingCounts(t, backGone)
	for _, ind := range inds {
		if ind.PatternType == "stix" && foundGone[ind.ID] == 0 {
			t.Errorf("evidence gone: STIX indicator %s not found in the stored detections: %.200s", ind.ID, ind.Pattern)
		}
	}
	// Another tenant's case is not found.
	if code, _, _ := run(t, ctx, "intel", "import", "--store", st, "--case", "same", shared); code == ExitOK {
		t.Error("intel import into the default tenant found victim-two's case")
	}
}

// TestImportListEscapes: a partner's indicator names and reasons are
// printed with their control characters escaped, never obeyed.
func TestImportListEscapes(t *testing.T) {
	items := []*imported{
		{ind: stix.Indicator{ID: "indicator--1", Name: "beacon\x1b]0;owned\x07", PatternType: "sigma"}},
		{ind: stix.Indicator{ID: "indicator--2", Name: "skip\u202eme"}, skip: "reason\x1b[2J"},
	}
	var b strings.Builder
	if err := writeImport(&b, "bundle.json", "2 files", items); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{`beacon\x1b]0;owned\x07`, `skip\u202eme`, `reason\x1b[2J`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.ContainsAny(out, "\x1b\x07\u202e") {
		t.Errorf("output holds raw control characters: %q", out)
	}
}
