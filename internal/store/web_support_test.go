package store

import (
	"context"
	"errors"
	"strconv"
	"testing"
)

// TestTriages: the triage of many objects at once, across the chunks the
// query is cut in, matches GetTriage's for each; another case's is not
// there.
func TestTriages(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		setup(t, s)
		g := newGen(7)
		dets := make([][]byte, 1203)
		for i := range dets {
			dets[i], _ = g.detection(i)
		}
		ingest(t, s, dets)
		page, err := s.Detections(ctx, "acme", "intrusion", Query{Limit: len(dets)})
		if err != nil || len(page.Detections) != len(dets) {
			t.Fatalf("%d detections, %v", len(page.Detections), err)
		}
		var ids []string
		set := map[string]bool{}
		for i, d := range page.Detections {
			id := strconv.FormatInt(d.ID, 10)
			ids = append(ids, id)
			if i%250 == 3 { // some in each chunk, the last one included
				set[id] = true
				if err := s.SetTriage(ctx, "acme", "intrusion", Triage{Kind: KindDetection, ID: id, State: TriageBenign, Notes: "n" + id}, "ann"); err != nil {
					t.Fatal(err)
				}
			}
		}
		got, err := s.Triages(ctx, "acme", "intrusion", KindDetection, ids)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(set) {
			t.Errorf("%d triages, want %d", len(got), len(set))
		}
		for id := range set {
			one, err := s.GetTriage(ctx, "acme", "intrusion", KindDetection, id)
			if err != nil || got[id] != one {
				t.Errorf("detection %s: %+v, GetTriage %+v, %v", id, got[id], one, err)
			}
		}
		// Another tenant's case of the same name holds none of them.
		if _, err := s.AddTenant(ctx, "globex", "root"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddCase(ctx, "globex", "intrusion", "", "gus"); err != nil {
			t.Fatal(err)
		}
		if other, err := s.Triages(ctx, "globex", "intrusion", KindDetection, ids); err != nil || len(other) != 0 {
			t.Errorf("globex's case: %d triages, %v", len(other), err)
		}
		if _, err := s.Triages(ctx, "globex", "nonexistent", KindDetection, ids); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing case: %v", err)
		}
	})
}
