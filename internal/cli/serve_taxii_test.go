package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/spoor-hunt/spoor/internal/store"
)

// TestCaseSTIXIsCaseExport: what a case's TAXII collection takes is the
// bundle `spoor case export --stix` writes, object for object.
func TestCaseSTIXIsCaseExport(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	st := filepath.Join(dir, "store")
	if code, _, errOut := run(t, ctx, "hunt", "--no-sigmahq", "--quiet", "--store", st, "--case", "intrusion",
		filepath.Join("..", "..", "examples", "cuckoobees")); code != ExitOK {
		t.Fatalf("hunt --store: exit %d: %s", code, errOut)
	}
	file := filepath.Join(dir, "case.stix.json")
	if code, _, errOut := run(t, ctx, "case", "export", "--store", st, "--stix", file, "intrusion"); code != ExitOK {
		t.Fatalf("case export: exit %d: %s", code, errOut)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var b struct{ Objects []json.RawMessage }
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	objs, err := caseSTIX(s)(ctx, store.DefaultTenant, "intrusion")
	if err != nil {
		t.Fatal(err)
	}
	compact := func(raws []json.RawMessage) []string {
		var out []string
		for _, r := range raws {
			var v any
			if err := json.Unmarshal(r, &v); err != nil {
				t.Fatal(err)
			}
			c, _ := json.Marshal(v)
			out = append(out, string(c))
		}
		slices.Sort(out)
		return out
	}
	got, want := compact(objs), compact(b.Objects)
	if len(want) < 50 || !slices.Equal(got, want) {
		t.Errorf("caseSTIX: %d objects, case export %d; equal %v", len(got), len(want), slices.Equal(got, want))
	}
	if objs, err := caseSTIX(s)(ctx, store.DefaultTenant, "none"); err == nil || objs != nil {
		t.Errorf("a case that does not exist: %d objects, %v", len(objs), err)
	}
}
