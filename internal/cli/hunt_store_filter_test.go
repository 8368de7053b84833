package cli

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/store"
)

// TestHuntStoreAppliesCaseFilters: a filter kept with a case (a false
// positive the console turned into a Sigma filter) silences its rule on
// its computer in the next spoor hunt --store into that case, and nothing
// else.
func TestHuntStoreAppliesCaseFilters(t *testing.T) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "store")
	evidence := filepath.Join("..", "..", "examples", "cuckoobees")
	huntInto := func() {
		t.Helper()
		if code, _, errOut := run(t, ctx, "hunt", "--no-sigmahq", "--quiet", "--store", dir, "--case", "c", evidence); code != ExitOK {
			t.Fatalf("hunt --store: exit %d: %s", code, errOut)
		}
	}
	huntInto()
	st, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	count := func(f store.Filter) int64 {
		t.Helper()
		n, _, err := st.CountDetections(ctx, store.DefaultTenant, "c", f, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	page, err := st.Detections(ctx, store.DefaultTenant, "c", store.Query{Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	var target result.Detection
	for _, sd := range page.Detections {
		var d result.Detection
		if err := json.Unmarshal(sd.JSON, &d); err != nil {
			t.Fatal(err)
		}
		if d.Kind != result.KindCorrelation && d.Rule != nil && d.Rule.ID != "" && d.Computer != "" {
			target = d
			break
		}
	}
	if target.Rule == nil {
		t.Fatal("no detection of a rule on a computer in the first hunt")
	}
	silenced := store.Filter{Hunt: 1, Rule: target.Rule.ID, Host: target.Computer}
	before, all := count(silenced), count(store.Filter{Hunt: 1})
	if before == 0 {
		t.Fatalf("hunt 1: no detection of %s on %s", target.Rule.ID, target.Computer)
	}
	doc := fmt.Sprintf("title: test filter\nid: 6f9619ff-8b86-4d11-b42d-00c04fc964ff\nlogsource:\n    product: windows\nfilter:\n    rules:\n        - %s\n    selection:\n        Computer: '%s'\n    condition: selection\n",
		target.Rule.ID, target.Computer)
	if _, err := st.AddFilter(ctx, store.DefaultTenant, "c", store.CaseFilter{Title: "test", Rule: target.Rule.ID, Body: []byte(doc)}, "test"); err != nil {
		t.Fatal(err)
	}
	huntInto()
	silenced.Hunt = 2
	if n := count(silenced); n != 0 {
		t.Errorf("hunt 2: %d detections of %s on %s, want 0 (filtered)", n, target.Rule.ID, target.Computer)
	}
	if n := count(store.Filter{Hunt: 2}); n != all-before {
		t.Errorf("hunt 2: %d detections, want %d (hunt 1's %d less the %d filtered)", n, all-before, all, before)
	}
}
