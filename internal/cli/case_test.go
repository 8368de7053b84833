package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/store"
)

// TestCaseCommands stores what a hunt found and reads it back: the
// detections and operations of "case ... --json" are those of
// "hunt --json", in the same order, byte for byte once compacted.
func TestCaseCommands(t *testing.T) {
	ctx := t.Context()
	code, out, errOut := run(t, ctx, "hunt", "--no-sigmahq", "--json", filepath.Join("..", "..", "examples", "cuckoobees"))
	if code != ExitOK {
		t.Fatalf("hunt: exit %d: %s", code, errOut)
	}
	var hunt struct{ Detections, Operations []json.RawMessage }
	if err := json.Unmarshal([]byte(out), &hunt); err != nil {
		t.Fatal(err)
	}
	if len(hunt.Detections) < 100 || len(hunt.Operations) == 0 {
		t.Fatalf("the hunt found %d detections and %d operations, too few for the test", len(hunt.Detections), len(hunt.Operations))
	}

	dir := t.TempDir()
	fill(t, ctx, dir, hunt.Detections, hunt.Operations)

	code, out, errOut = run(t, ctx, "case", "detections", "--store", dir, "--json", "--limit", "10000", "intrusion")
	if code != ExitOK {
		t.Fatalf("case detections: exit %d: %s", code, errOut)
	}
	var got struct{ Detections, Operations []json.RawMessage }
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "detections", got.Detections, hunt.Detections)

	code, out, errOut = run(t, ctx, "case", "operations", "--store", dir, "--json", "intrusion")
	if code != ExitOK {
		t.Fatalf("case operations: exit %d: %s", code, errOut)
	}
	got.Detections = nil
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "operations", got.Operations, hunt.Operations)

	code, out, _ = run(t, ctx, "case", "list", "--store", dir)
	if code != ExitOK || !strings.Contains(out, "intrusion") || !strings.Contains(out, itoa(len(hunt.Detections))) {
		t.Errorf("case list: exit %d, got %q, want the case and its %d detections", code, out, len(hunt.Detections))
	}
	// Filtered by the level and a tactic of a detection with a tactic: each
	// line listed is of that level, the detection's rule among them.
	var pick struct {
		Rule struct {
			Title, Level string
			Tactics      []string
		}
	}
	for _, d := range hunt.Detections {
		if json.Unmarshal(d, &pick) == nil && len(pick.Rule.Tactics) > 0 {
			break
		}
	}
	code, out, _ = run(t, ctx, "case", "detections", "--store", dir, "--limit", "10000", "--level", pick.Rule.Level, "--tactic", pick.Rule.Tactics[0], "intrusion")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != ExitOK || len(lines) < 2 || !strings.Contains(out, pick.Rule.Title) {
		t.Errorf("case detections --level %s --tactic %s: exit %d, got %q, want %q among them", pick.Rule.Level, pick.Rule.Tactics[0], code, out, pick.Rule.Title)
	}
	for _, l := range lines[1:] {
		if !strings.Contains(l, "  "+pick.Rule.Level+"  ") {
			t.Errorf("case detections --level %s: got line %q", pick.Rule.Level, l)
		}
	}
	code, out, _ = run(t, ctx, "case", "show", "--store", dir, "--json", "intrusion")
	var shown caseJSON
	if code != ExitOK || json.Unmarshal([]byte(out), &shown) != nil || len(shown.Hunts) != 1 || shown.Hunts[0].State != "complete" {
		t.Errorf("case show: exit %d, got %q, want one complete hunt", code, out)
	}

	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"case", "list", "--store", ""}, ExitUsage},
		{[]string{"case", "list", "--store", filepath.Join(dir, "none")}, ExitFailure},
		{[]string{"case", "show", "--store", dir, "nope"}, ExitFailure},
		{[]string{"case", "detections", "--store", dir, "--order", "size", "intrusion"}, ExitUsage},
		{[]string{"case", "detections", "--store", dir, "--level", "severe", "intrusion"}, ExitUsage},
	} {
		if code, _, _ := run(t, ctx, c.args...); code != c.code {
			t.Errorf("%q: got exit %d, want %d", c.args, code, c.code)
		}
	}
}

// fill stores detections and operations as one complete hunt of case
// "intrusion" of the default tenant.
func fill(t *testing.T, ctx context.Context, dir string, dets, ops []json.RawMessage) {
	t.Helper()
	s, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.AddTenant(ctx, store.DefaultTenant, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddCase(ctx, store.DefaultTenant, "intrusion", "", "test"); err != nil {
		t.Fatal(err)
	}
	w, err := s.BeginHunt(ctx, store.DefaultTenant, "intrusion", store.HuntSpec{By: "test", Paths: []string{"examples/cuckoobees"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dets {
		if err := w.Write(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Finish(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceOperations(ctx, store.DefaultTenant, "intrusion", ops, "test"); err != nil {
		t.Fatal(err)
	}
}

func sameJSON(t *testing.T, what string, got, want []json.RawMessage) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d, want %d", what, len(got), len(want))
	}
	for i := range want {
		var g, w bytes.Buffer
		json.Compact(&g, got[i])
		json.Compact(&w, want[i])
		if !bytes.Equal(g.Bytes(), w.Bytes()) {
			t.Fatalf("%s %d: got %.300s, want %.300s", what, i, g.String(), w.String())
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
