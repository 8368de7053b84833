package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// TestIngest: a fleet batch is stored once whatever how often it is
// written (by key), its detections are listed with the complete hunts'
// and found by their tags and words, its entities and inputs are kept,
// and the case's mark grows only when something new came.
func TestIngest(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		setup(t, s)
		dets, _ := realHunt(t)
		batch := FleetBatch{Case: "intrusion", Entities: []byte("index")}
		for i, d := range dets {
			batch.Detections = append(batch.Detections, FleetDetection{Key: fmt.Sprint("k", i), JSON: d, Ref: []byte(`{"host":"x"}`)})
		}
		batch.Inputs = []FleetInput{{Key: "k0", Input: []byte(`{"rule_id":"r"}`), Detection: dets[0]}}
		got, err := s.Ingest(ctx, "acme", "w1", []FleetBatch{batch})
		if err != nil {
			t.Fatal(err)
		}
		if got[0].Added != len(dets) || got[0].Inputs != 1 {
			t.Fatalf("first write: %+v, want %d added and 1 input", got[0], len(dets))
		}
		mark, err := s.CaseMark(ctx, "acme", "intrusion")
		if err != nil {
			t.Fatal(err)
		}
		// Again, by another worker too: nothing new.
		batch.Entities = nil
		for _, w := range []string{"w1", "w2"} {
			got, err = s.Ingest(ctx, "acme", w, []FleetBatch{batch})
			if err != nil {
				t.Fatal(err)
			}
			if got[0].Added != 0 || got[0].Inputs != 0 {
				t.Errorf("written again by %s: %+v, want nothing added", w, got[0])
			}
		}
		if again, _ := s.CaseMark(ctx, "acme", "intrusion"); again != mark {
			t.Errorf("mark %d after writes that added nothing, was %d", again, mark)
		}
		page, err := s.Detections(ctx, "acme", "intrusion", Query{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Detections) != len(dets) {
			t.Errorf("%d detections listed, want %d", len(page.Detections), len(dets))
		}
		if n, _, err := s.CountDetections(ctx, "acme", "intrusion", Filter{Tactic: "execution"}, 1000); err != nil || n == 0 {
			t.Errorf("by tactic: %d, %v", n, err)
		}
		var ents, inputs int
		s.Entities(ctx, "acme", "intrusion", func(_ int64, data []byte) error {
			if string(data) == "index" {
				ents++
			}
			return nil
		})
		s.FleetInputs(ctx, "acme", "intrusion", func(in, det []byte) error { inputs++; return nil })
		if ents != 1 || inputs != 1 {
			t.Errorf("%d entity indexes and %d inputs kept, want 1 and 1", ents, inputs)
		}
		refs := 0
		s.Refs(ctx, "acme", "intrusion", func(int64, []byte) error { refs++; return nil })
		if refs != len(dets) {
			t.Errorf("%d refs, want %d", refs, len(dets))
		}
		if _, err := s.Ingest(ctx, "acme", "w1", []FleetBatch{{Case: "nope"}}); err == nil {
			t.Error("a batch of a missing case: no error")
		}
	})
}

// TestFleetGaps: gap facts are stored once by key, read back by input,
// pass and first ordinal whatever the order they came in, and move the
// case's mark.
func TestFleetGaps(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		setup(t, s)
		gaps := []FleetGap{
			{Key: "b", Input: "in1", Pass: 1, First: 100, Data: []byte{1, 2}},
			{Key: "a", Input: "in1", Pass: 1, First: 0, Data: []byte{1}},
			{Key: "c", Input: "in0", Pass: 2, First: 7, Data: []byte{3}},
		}
		mark, _ := s.CaseMark(ctx, "acme", "intrusion")
		// Then one of them again: nothing new.
		for _, batch := range [][]FleetGap{gaps, gaps[:1]} {
			if _, err := s.Ingest(ctx, "acme", "w1", []FleetBatch{{Case: "intrusion", Gaps: batch}}); err != nil {
				t.Fatal(err)
			}
			again, _ := s.CaseMark(ctx, "acme", "intrusion")
			if moved := again != mark; moved != (len(batch) > 1) {
				t.Errorf("%d gap facts written: mark moved %v, want %v", len(batch), moved, len(batch) > 1)
			}
			mark = again
		}
		var got []string
		err := s.FleetGaps(ctx, "acme", "intrusion", func(g FleetGap) error {
			got = append(got, fmt.Sprintf("%s/%d/%d/%x", g.Input, g.Pass, g.First, g.Data))
			return nil
		})
		if want := "[in0/2/7/03 in1/1/0/01 in1/1/100/0102]"; err != nil || fmt.Sprint(got) != want {
			t.Errorf("FleetGaps: %v, %v; want %s", got, err, want)
		}
	})
}

// TestReplaceCorrelations: the case's correlation matches are one set,
// replaced whole when it changes and left alone when it does not.
func TestReplaceCorrelations(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		setup(t, s)
		dets, _ := realHunt(t)
		set := func(ds ...[]byte) []FleetDetection {
			var out []FleetDetection
			for i, d := range ds {
				out = append(out, FleetDetection{Key: fmt.Sprint("c", i), JSON: d})
			}
			return out
		}
		count := func() int {
			page, err := s.Detections(ctx, "acme", "intrusion", Query{Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			return len(page.Detections)
		}
		for _, c := range []struct {
			dets    []FleetDetection
			changed bool
		}{
			{nil, false},
			{set(dets[0], dets[1]), true},
			{set(dets[0], dets[1]), false},
			{set(dets[2]), true},
			{nil, true},
		} {
			changed, err := s.ReplaceCorrelations(ctx, "acme", "intrusion", "w1", c.dets)
			if err != nil {
				t.Fatal(err)
			}
			// The tampering detections are a set of their own: the
			// same replaced there, then taken back, leaves these.
			for _, ds := range [][]FleetDetection{c.dets, nil} {
				if _, err := s.ReplaceTampering(ctx, "acme", "intrusion", "w1", ds); err != nil {
					t.Fatal(err)
				}
			}
			if changed != c.changed {
				t.Errorf("%d matches: changed %v, want %v", len(c.dets), changed, c.changed)
			}
			if got := count(); got != len(c.dets) {
				t.Errorf("%d listed after replacing with %d", got, len(c.dets))
			}
		}
	})
}

// TestReplaceCorrelationsConcurrent: workers replacing a case's
// correlation matches at once (each rebuilding the case) leave one set,
// not one each.
func TestReplaceCorrelationsConcurrent(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		setup(t, s)
		dets, _ := realHunt(t)
		for round, n := range []int{2, 3, 1} {
			set := make([]FleetDetection, n)
			for i := range set {
				set[i] = FleetDetection{Key: fmt.Sprint("c", i), JSON: dets[i]}
			}
			var wg sync.WaitGroup
			for w := range 6 {
				wg.Go(func() {
					if _, err := s.ReplaceCorrelations(ctx, "acme", "intrusion", fmt.Sprint("w", w), set); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if got := len(storedJSON(t, s)); got != n {
				t.Errorf("round %d: %d matches listed after six workers replaced them with the same %d", round, got, n)
			}
		}
	})
}

// TestIngestConcurrent: commits of one worker's partitions at once (its
// hunt of the case made by the first, numbered one after the other) all
// succeed and all their detections are kept.
func TestIngestConcurrent(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		setup(t, s)
		dets, _ := realHunt(t)
		var wg sync.WaitGroup
		errs := make(chan error, 4*5)
		for g := range 4 {
			wg.Go(func() {
				for b := range 5 {
					batch := FleetBatch{Case: "intrusion"}
					for i, d := range dets {
						batch.Detections = append(batch.Detections, FleetDetection{Key: fmt.Sprint(g, "/", b, "/", i), JSON: d})
					}
					if _, err := s.Ingest(ctx, "acme", "w1", []FleetBatch{batch}); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if got := len(storedJSON(t, s)); got != 4*5*len(dets) {
			t.Errorf("%d detections stored, want %d", got, 4*5*len(dets))
		}
		hs, err := s.Hunts(ctx, "acme", "intrusion")
		if err != nil || len(hs) != 1 {
			t.Errorf("hunts %+v, %v: want the worker's one", hs, err)
		}
	})
}

// storedJSON returns the bodies listed in acme/intrusion.
func storedJSON(t *testing.T, s *Store) []string {
	t.Helper()
	var out []string
	q := Query{Limit: MaxLimit}
	for {
		page, err := s.Detections(context.Background(), "acme", "intrusion", q)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.Detections {
			out = append(out, string(d.JSON))
		}
		if page.Next == "" {
			return out
		}
		q.After = page.Next
	}
}
