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

// TestTAXIIGrantCommand: spoor taxii grant sets a user's grant on a case's
// collection, as spoor taxii collections names it; a case that does not
// exist, or no collection named, is refused.
func TestTAXIIGrantCommand(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := runIn(t, "a long enough password\n", "user", "add", "pat", "--password-stdin", "--data", dir); code != ExitOK {
		t.Fatalf("user add: %s", errOut)
	}
	s, err := store.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.AddCase(t.Context(), store.DefaultTenant, "intrusion", "", "root"); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, t.Context(), "taxii", "collections", "--data", dir, "--json")
	var list struct {
		Collections []struct{ ID, Case string }
	}
	if code != ExitOK || json.Unmarshal([]byte(out), &list) != nil || len(list.Collections) != 2 || list.Collections[1].Case != "intrusion" {
		t.Fatalf("collections: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := run(t, t.Context(), "taxii", "grant", "pat", "--case", "intrusion", "--read", "--data", dir); code != ExitOK {
		t.Fatalf("grant: %s", errOut)
	}
	gs, err := s.TAXIIGrants(t.Context(), store.DefaultTenant, "pat")
	if g := gs[list.Collections[1].ID]; err != nil || len(gs) != 1 || !g.Read || g.Write {
		t.Errorf("grants %+v, %v", gs, err)
	}
	for _, args := range [][]string{{"pat", "--case", "nope"}, {"pat"}, {"pat", "--own", "--case", "intrusion"}} {
		if code, _, _ := run(t, t.Context(), append(append([]string{"taxii", "grant"}, args...), "--data", dir)...); code == ExitOK {
			t.Errorf("grant %v: exit 0", args)
		}
	}
}
