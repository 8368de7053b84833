package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/stix"
)

// TestSTIXExport exports the CuckooBees example's operations from a hunt
// (hunt --stix) and from the case store that keeps the same hunt (case
// export): both bundles pass Check and are the same objects, the
// identifiers being derived from the content.
func TestSTIXExport(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	fromHunt := filepath.Join(dir, "hunt.stix.json")
	code, out, errOut := run(t, ctx, "hunt", "--no-sigmahq", "--json", "--stix", fromHunt, "--identity", "Example CERT", "--tlp", "green",
		filepath.Join("..", "..", "examples", "cuckoobees"))
	if code != ExitOK {
		t.Fatalf("hunt: exit %d: %s", code, errOut)
	}
	var hunt struct{ Detections, Operations []json.RawMessage }
	if err := json.Unmarshal([]byte(out), &hunt); err != nil {
		t.Fatal(err)
	}
	// The same evidence hunted into a case: its operations name their
	// detections by store id.
	if code, _, errOut := run(t, ctx, "hunt", "--no-sigmahq", "--quiet", "--store", filepath.Join(dir, "store"), "--case", "intrusion",
		filepath.Join("..", "..", "examples", "cuckoobees")); code != ExitOK {
		t.Fatalf("hunt --store: exit %d: %s", code, errOut)
	}
	fromCase := filepath.Join(dir, "case.stix.json")
	code, _, errOut = run(t, ctx, "case", "export", "--store", filepath.Join(dir, "store"), "--stix", fromCase,
		"--identity", "Example CERT", "--tlp", "green", "intrusion")
	if code != ExitOK {
		t.Fatalf("case export: exit %d: %s", code, errOut)
	}
	read := func(name string) map[string]string {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range stix.Check(data) {
			t.Errorf("%s: %v", filepath.Base(name), err)
		}
		var b struct{ Objects []json.RawMessage }
		if err := json.Unmarshal(data, &b); err != nil {
			t.Fatal(err)
		}
		byID := map[string]string{}
		for _, o := range b.Objects {
			var m map[string]any
			if err := json.Unmarshal(o, &m); err != nil {
				t.Fatal(err)
			}
			// A story's steps at one time may come in another order from
			// a case (its detections numbered as stored): the same steps.
			if d, ok := m["description"].(string); ok {
				lines := strings.Split(d, "\n")
				slices.Sort(lines)
				m["description"] = strings.Join(lines, "\n")
			}
			n, _ := json.Marshal(m)
			byID[m["id"].(string)] = string(n)
		}
		return byID
	}
	h, c := read(fromHunt), read(fromCase)
	if len(h) < 100 {
		t.Fatalf("hunt --stix: %d objects, want more than 100", len(h))
	}
	for id, o := range h {
		if c[id] != o {
			a, b := c[id], o
			k := 0
			for k < len(a) && k < len(b) && a[k] == b[k] {
				k++
			}
			t.Errorf("case export: %s differs at byte %d: %.200s, want %.200s", id, k, a[max(0, k-80):], b[max(0, k-80):])
		}
	}
	for id := range c {
		if _, ok := h[id]; !ok {
			t.Errorf("case export: %s not in the hunt's bundle: %.300s", id, c[id])
		}
	}
	if !strings.Contains(h["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"], "TLP:GREEN") {
		t.Error("hunt --stix --tlp green: no TLP:GREEN marking")
	}

	// --operation: that operation's report alone, its objects those of
	// the whole case's export.
	var opID string
	for _, o := range c {
		var m map[string]any
		json.Unmarshal([]byte(o), &m)
		if m["type"] == "report" {
			opID, _, _ = strings.Cut(strings.TrimPrefix(m["name"].(string), "spoor "), ":")
			break
		}
	}
	oneOp := filepath.Join(dir, "op.stix.json")
	if code, _, errOut := run(t, ctx, "case", "export", "--store", filepath.Join(dir, "store"), "--stix", oneOp,
		"--identity", "Example CERT", "--tlp", "green", "--operation", opID, "intrusion"); code != ExitOK {
		t.Fatalf("case export --operation %s: exit %d: %s", opID, code, errOut)
	}
	reports := 0
	for id, o := range read(oneOp) {
		if strings.HasPrefix(id, "report--") {
			reports++
			if !strings.Contains(o, `"name":"spoor `+opID+`:`) {
				t.Errorf("--operation %s: report %.200s", opID, o)
			}
		}
		if c[id] != o {
			t.Errorf("--operation %s: %s is not the whole case's export's: %.200s", opID, id, o)
		}
	}
	if reports != 1 {
		t.Errorf("--operation %s: %d reports, want 1", opID, reports)
	}
	if code, _, _ := run(t, ctx, "case", "export", "--store", filepath.Join(dir, "store"), "--stix", oneOp, "--operation", "op-none", "intrusion"); code == ExitOK {
		t.Error("case export --operation of an unknown operation succeeded")
	}

	// Bad flags are usage errors, before anything is hunted.
	for _, args := range [][]string{
		{"hunt", "--stix", filepath.Join(dir, "x.json"), "--tlp", "white", "."},
		{"hunt", "--stix", filepath.Join(dir, "x.json"), "--redact", "hosts,emails", "."},
		{"case", "export", "--store", filepath.Join(dir, "store"), "intrusion"},
	} {
		if code, _, errOut := run(t, ctx, args...); code != ExitUsage {
			t.Errorf("%v: exit %d (%s), want %d", args, code, errOut, ExitUsage)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.json")); err == nil {
		t.Error("a refused export wrote its file")
	}
}
