package store

import (
	"context"
	"errors"
	"testing"
)

// TestCaseFilters: a filter kept with a case is listed there only, its
// removal is refused from another tenant, and both are audited.
func TestCaseFilters(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		setup(t, s)
		if _, err := s.AddTenant(ctx, "globex", "root"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddCase(ctx, "globex", "intrusion", "", "gus"); err != nil {
			t.Fatal(err)
		}
		body := []byte("title: t\nfilter:\n  rules: [r1]\n  sel:\n    Computer: a\n  condition: sel\n")
		f, err := s.AddFilter(ctx, "acme", "intrusion", CaseFilter{Title: "t", Rule: "r1", Body: body}, "ann")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddFilter(ctx, "acme", "intrusion", CaseFilter{Title: "empty"}, "ann"); !errors.Is(err, ErrInvalid) {
			t.Errorf("empty filter: %v, want ErrInvalid", err)
		}
		got, err := s.Filters(ctx, "acme", "intrusion")
		if err != nil || len(got) != 1 || string(got[0].Body) != string(body) || got[0].Rule != "r1" || got[0].CreatedBy != "ann" {
			t.Fatalf("filters %+v, %v", got, err)
		}
		if other, err := s.Filters(ctx, "globex", "intrusion"); err != nil || len(other) != 0 {
			t.Errorf("globex sees %d filters, %v", len(other), err)
		}
		if err := s.RemoveFilter(ctx, "globex", "intrusion", f.ID, "gus"); !errors.Is(err, ErrNotFound) {
			t.Errorf("another tenant removes: %v, want ErrNotFound", err)
		}
		if err := s.RemoveFilter(ctx, "acme", "intrusion", f.ID, "ann"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Filters(ctx, "acme", "intrusion"); len(got) != 0 {
			t.Errorf("%d filters after removal", len(got))
		}
		es, err := s.Audit(ctx, "acme", "intrusion", 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range es {
			actions = append(actions, e.Action)
		}
		if len(actions) < 2 || actions[len(actions)-2] != "filter.add" || actions[len(actions)-1] != "filter.remove" {
			t.Errorf("audit %v", actions)
		}
	})
}

// TestHuntDetectionIDs: the IDs come in the order the hunt wrote them.
func TestHuntDetectionIDs(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		setup(t, s)
		g := newGen(3)
		dets := make([][]byte, 5)
		for i := range dets {
			dets[i], _ = g.detection(4 - i)
		}
		hunt := ingest(t, s, dets)
		ids, err := s.HuntDetectionIDs(ctx, "acme", "intrusion", hunt)
		if err != nil || len(ids) != len(dets) {
			t.Fatalf("%v, %v", ids, err)
		}
		for i, id := range ids {
			d, err := s.GetDetection(ctx, "acme", "intrusion", id)
			if err != nil || compact(t, d.JSON) != compact(t, dets[i]) {
				t.Errorf("id %d is not detection %d: %v", id, i, err)
			}
		}
		if _, err := s.HuntDetectionIDs(ctx, "acme", "intrusion", hunt+1); !errors.Is(err, ErrNotFound) {
			t.Errorf("no such hunt: %v", err)
		}
	})
}
