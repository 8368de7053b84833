package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/result"
)

// TestHuntCrownJewels: --crown-jewels marks the CuckooBees operation's
// exposure on the file server FS01 and says how its score was raised; a
// file that cannot be read or parsed is an error naming it (exit 1).
func TestHuntCrownJewels(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "jewels.txt")
	if err := os.WriteFile(good, []byte("# the engineering file server\nFS01 | projects\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, t.Context(), "hunt", "--json", "--no-sigmahq", "--crown-jewels", good, "../../examples/cuckoobees")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res result.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Operations) != 1 || res.Operations[0].Exposure == nil {
		t.Fatalf("got %d operations, want one with an exposure", len(res.Operations))
	}
	e := res.Operations[0].Exposure
	if len(e.CrownJewels) != 1 || e.CrownJewels[0] != "projects" || e.Inferred || !strings.Contains(e.Raised, "score +2") {
		t.Errorf("crown jewels %q inferred %v raised %q", e.CrownJewels, e.Inferred, e.Raised)
	}
	bad := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(bad, []byte("- share: x\n  host: y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{bad, filepath.Join(dir, "missing.txt")} {
		code, _, stderr := run(t, t.Context(), "hunt", "--json", "--no-sigmahq", "--crown-jewels", f, "../../examples/cuckoobees")
		if code != 1 || !strings.Contains(stderr, f) {
			t.Errorf("--crown-jewels %s: exit %d, stderr %q; want 1 and the file named", f, code, stderr)
		}
	}
}

// TestHuntExposureOutputs: the exposure is in each output of a hunt: an
// `exposure` object on the operation in --operations, a section under it
// in the terminal report (saying that valuable data was inferred), and a
// table in the HTML report.
func TestHuntExposureOutputs(t *testing.T) {
	dir := t.TempDir()
	ops, page := filepath.Join(dir, "operations.json"), filepath.Join(dir, "report.html")
	code, stdout, stderr := run(t, t.Context(), "hunt", "--no-sigmahq", "--operations", ops, "--html", page, "../../examples/cuckoobees")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(ops)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Operations []struct {
			Exposure *result.Exposure `json:"exposure"`
		} `json:"operations"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Operations) == 0 || doc.Operations[0].Exposure == nil || len(doc.Operations[0].Exposure.Items) == 0 || !doc.Operations[0].Exposure.Inferred {
		t.Fatalf("--operations: no exposure with items on the first operation (%d operations)", len(doc.Operations))
	}
	for _, want := range []string{"  exposure: ", "(valuable data inferred", "exfiltrated", "bn1304.storage.live.com"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("terminal report lacks %q", want)
		}
	}
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), `<table class="exposure">`) {
		t.Error("HTML report has no exposure table")
	}
}
