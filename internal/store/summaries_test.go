package store

import (
	"context"
	"errors"
	"testing"
)

// TestHuntSummaries: a hunt's summaries are kept per kind, replaced by a
// second save, listed once the hunt is complete only, and neither saved
// nor read through another tenant's case.
func TestHuntSummaries(t *testing.T) {
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
		w, err := s.BeginHunt(ctx, "acme", "intrusion", HuntSpec{By: "ann", Paths: []string{"a.evtx"}})
		if err != nil {
			t.Fatal(err)
		}
		hunt := w.Hunt()
		if err := s.SaveSummary(ctx, "acme", "intrusion", hunt, "metrics", []byte(`{"events":1}`)); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Summaries(ctx, "acme", "intrusion", "metrics"); err != nil || len(got) != 0 {
			t.Errorf("a running hunt's summaries listed: %v, %v", got, err)
		}
		if err := w.Finish(ctx, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveSummary(ctx, "acme", "intrusion", hunt, "metrics", []byte(`{"events":2}`)); err != nil {
			t.Fatalf("second save: %v", err)
		}
		if err := s.SaveSummary(ctx, "acme", "intrusion", hunt, "gaps", []byte(`[]`)); err != nil {
			t.Fatal(err)
		}
		got, err := s.Summaries(ctx, "acme", "intrusion", "metrics")
		if err != nil || len(got) != 1 || got[0].Hunt != hunt || string(got[0].Body) != `{"events":2}` {
			t.Fatalf("metrics summaries %+v, %v; want hunt %d's second", got, err, hunt)
		}
		if got, err := s.Summaries(ctx, "acme", "intrusion", "logons"); err != nil || len(got) != 0 {
			t.Errorf("logons summaries %+v, %v; want none", got, err)
		}
		for _, bad := range []struct {
			kind, body string
		}{{"timeline", `{}`}, {"metrics", ``}, {"metrics", `{"events":`}} {
			if err := s.SaveSummary(ctx, "acme", "intrusion", hunt, bad.kind, []byte(bad.body)); !errors.Is(err, ErrInvalid) {
				t.Errorf("kind %q body %q: %v, want ErrInvalid", bad.kind, bad.body, err)
			}
		}
		if err := s.SaveSummary(ctx, "acme", "intrusion", hunt+1000, "metrics", []byte(`{}`)); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown hunt: %v, want ErrNotFound", err)
		}
		if err := s.SaveSummary(ctx, "globex", "intrusion", hunt, "metrics", []byte(`{}`)); !errors.Is(err, ErrNotFound) {
			t.Errorf("another tenant's hunt: %v, want ErrNotFound", err)
		}
		if other, err := s.Summaries(ctx, "globex", "intrusion", "metrics"); err != nil || len(other) != 0 {
			t.Errorf("globex sees %+v, %v", other, err)
		}
		if _, err := s.Summaries(ctx, "acme", "nope", "metrics"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown case: %v, want ErrNotFound", err)
		}
	})
}
