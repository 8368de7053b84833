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

// TestIntelRoundTrip is the acceptance test of issue 16: the CuckooBees
// operations exported as STIX by one organisation, imported into a case
// of another tenant whose hunt read the same evidence, are all found
// again: every indicator, Sigma and STIX pattern, is sighted, and the
// sightings go back as a bundle that passes Check.
func TestIntelRoundTrip(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	evidence, err := filepath.Abs(filepath.Join("..", "..", "examples", "cuckoobees"))
	if err != nil {
		t.Fatal(err)
	}
	shared := filepath.Join(dir, "shared.stix.json")
	if code, _, errOut := run(t, ctx, "hunt", "-q", "--no-sigmahq", "--stix", shared, "--identity", "Victim One", evidence); code != ExitOK {
		t.Fatalf("hunt: exit %d: %s", code, errOut)
	}
	data, err := os.ReadFile(shared)
	if err != nil {
		t.Fatal(err)
	}
	inds, errs := stix.Indicators(data)
	if len(errs) > 0 || len(inds) < 20 {
		t.Fatalf("the export holds %d indicators (%v), too few for the test", len(inds), errs)
	}

	st := filepath.Join(dir, "store")
	s, err := store.Open(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddTenant(ctx, "victim-two", "test"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, path string }{{"same", evidence}, {"gone", filepath.Join(dir, "no-such-evidence")}} {
		if _, err := s.AddCase(ctx, "victim-two", c.name, "", "test"); err != nil {
			t.Fatal(err)
		}
		w, err := s.BeginHunt(ctx, "victim-two", c.name, store.HuntSpec{By: "test", Paths: []string{c.path}})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Finish(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	back := filepath.Join(dir, "sightings.stix.json")
	code, out, errOut := run(t, ctx, "intel", "import", "--store", st, "--tenant", "victim-two", "--case", "same", "--sightings", back, shared)
	if code != ExitOK {
		t.Fatalf("intel import: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "hunted the evidence of the case's hunts: "+evidence) {
		t.Errorf("the output does not say what was hunted:\n%s", out)
	}
	data, err = os.ReadFile(back)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range stix.Check(data) {
		t.Errorf("sightings bundle: %v", err)
	}
	var b struct{ Objects []stix.Object }
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	sighted := map[string]bool{}
	for _, o := range b.Objects {
		if o.Type() == "sighting" {
			sighted[o["sighting_of_ref"].(string)] = true
			if n, _ := o["count"].(float64); n < 1 {
				t.Errorf("sighting %s: count %v", o.ID(), o["count"])
			}
		}
	}
	var stixN, sigmaN int
	for _, ind := range inds {
		if ind.PatternType == "stix" {
			stixN++
		} else {
			sigmaN++
		}
		if !sighted[ind.ID] {
			t.Errorf("%s indicator %s not found again: %.200s", ind.PatternType, ind.ID, ind.Pattern)
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

	// Evidence gone: the stored detections (none here) are matched, and
	// the output says so.
	code, out, errOut = run(t, ctx, "intel", "import", "--store", st, "--tenant", "victim-two", "--case", "gone", shared)
	if code != ExitOK || !strings.Contains(out, "the detections the case stored") {
		t.Errorf("intel import, evidence gone: exit %d (%s), output:\n%.500s", code, errOut, out)
	}
	// Another tenant's case is not found.
	if code, _, _ := run(t, ctx, "intel", "import", "--store", st, "--case", "same", shared); code == ExitOK {
		t.Error("intel import into the default tenant found victim-two's case")
	}
}
