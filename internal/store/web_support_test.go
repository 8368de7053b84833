package store

import (
	"context"
	"errors"
	"strconv"
	"strings"
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

// TestTenantAudit: a tenant's log holds its user changes and its cases'
// entries, with the case named, and nothing of another tenant.
func TestTenantAudit(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		setup(t, s)
		for _, step := range []error{
			func() error { _, err := s.AddUser(ctx, "acme", "ann", RoleAnalyst, "pw", "ada"); return err }(),
			func() error { _, err := s.AddTenant(ctx, "globex", "root"); return err }(),
			func() error { _, err := s.AddUser(ctx, "globex", "gus", RoleAdmin, "pw", "root"); return err }(),
			func() error { _, err := s.AddCase(ctx, "globex", "intrusion", "", "gus"); return err }(),
			s.DisableUser(ctx, "acme", "ann", "ada"),
		} {
			if step != nil {
				t.Fatal(step)
			}
		}
		es, err := s.TenantAudit(ctx, "acme", 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range es {
			got = append(got, e.Case+"/"+e.Actor+"/"+e.Action)
		}
		want := "/root/tenant.add,intrusion/alice/case.add,/ada/user.add,/ada/user.disable"
		if strings.Join(got, ",") != want {
			t.Errorf("acme's log: %q, want %s", got, want)
		}
		if page, err := s.TenantAudit(ctx, "acme", es[1].ID, 1); err != nil || len(page) != 1 || page[0].ID != es[2].ID {
			t.Errorf("page after entry 2: %+v, %v", page, err)
		}
	})
}
