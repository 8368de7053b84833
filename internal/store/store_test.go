package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// setup makes tenant "acme" with case "intrusion" in a fresh store.
func setup(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.AddTenant(ctx, "acme", "root"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddCase(ctx, "acme", "intrusion", "CuckooBees", "alice"); err != nil {
		t.Fatal(err)
	}
}

// realHunt is a few detections and an operation as `spoor hunt --json`
// wrote them for examples/cuckoobees, a correlation among them.
func realHunt(t *testing.T) (dets, ops []json.RawMessage) {
	t.Helper()
	b, err := os.ReadFile("testdata/hunt.json")
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Detections, Operations []json.RawMessage }
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h.Detections, h.Operations
}

func compact(t *testing.T, raw []byte) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// ingest stores dets as one complete hunt of acme/intrusion.
func ingest(t *testing.T, s *Store, dets [][]byte) int64 {
	t.Helper()
	ctx := context.Background()
	w, err := s.BeginHunt(ctx, "acme", "intrusion", HuntSpec{By: "alice", Paths: []string{"evidence/"}, Rules: "built-in"})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dets {
		if err := w.Write(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Finish(ctx, json.RawMessage(`{"events":42}`)); err != nil {
		t.Fatal(err)
	}
	return w.Hunt()
}

func TestRoundTrip(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		setup(t, s)
		dets, ops := realHunt(t)
		raws := make([][]byte, len(dets))
		for i, d := range dets {
			raws[i] = d
		}
		hunt := ingest(t, s, raws)
		page, err := s.Detections(ctx, "acme", "intrusion", Query{})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Detections) != len(dets) {
			t.Fatalf("got %d detections, want %d", len(page.Detections), len(dets))
		}
		got := map[string]bool{}
		for _, d := range page.Detections {
			if d.Hunt != hunt {
				t.Errorf("detection %d: got hunt %d, want %d", d.ID, d.Hunt, hunt)
			}
			got[string(d.JSON)] = true
		}
		for i, d := range dets {
			if !got[compact(t, d)] {
				t.Errorf("detection %d did not come back unchanged", i)
			}
		}
		if err := s.ReplaceOperations(ctx, "acme", "intrusion", ops, "alice"); err != nil {
			t.Fatal(err)
		}
		stored, err := s.Operations(ctx, "acme", "intrusion")
		if err != nil {
			t.Fatal(err)
		}
		if len(stored) != 1 || string(stored[0].JSON) != compact(t, ops[0]) {
			t.Fatalf("got operations %v, want the one written, unchanged", stored)
		}
		h, err := s.Hunt(ctx, "acme", "intrusion", hunt)
		if err != nil {
			t.Fatal(err)
		}
		if h.State != HuntComplete || h.Detections != int64(len(dets)) || h.By != "alice" ||
			!slices.Equal(h.Paths, []string{"evidence/"}) || compact(t, h.Summary) != `{"events":42}` || h.Finished.IsZero() {
			t.Errorf("got hunt %+v, want complete with %d detections by alice", h, len(dets))
		}
	})
}

// TestIndexReal checks the columns extracted from real detections.
func TestIndexReal(t *testing.T) {
	dets, _ := realHunt(t)
	want := []struct {
		host, user string
		rank       int
		tags       []string
	}{
		{"fs01.corp.local", `nt authority\system`, 2, []string{"tactic:persistence", "tactic:privilege-escalation", "technique:T1547.001", "technique:T1547"}},
		{"erp01.corp.local", `nt authority\system`, -2, nil},
		{"fs01.corp.local", "", 2, []string{"tactic:execution", "tactic:lateral-movement", "technique:T1021", "technique:T1053.005", "technique:T1053"}},
		{"erp01.corp.local", "erp01$", -2, nil},
	}
	for i, d := range dets {
		row, err := indexDetection(d)
		if err != nil {
			t.Fatalf("detection %d: %v", i, err)
		}
		w := want[i]
		if row.host != w.host || row.user != w.user {
			t.Errorf("detection %d: got host %q user %q, want %q %q", i, row.host, row.user, w.host, w.user)
		}
		if w.rank != -2 && row.levelRank != w.rank {
			t.Errorf("detection %d: got level rank %d, want %d", i, row.levelRank, w.rank)
		}
		if w.tags != nil && !slices.Equal(row.tags, w.tags) {
			t.Errorf("detection %d: got tags %q, want %q", i, row.tags, w.tags)
		}
		if row.at == noTime {
			t.Errorf("detection %d: time not read", i)
		}
	}
}

func TestSearchText(t *testing.T) {
	got := searchText([]string{`C:\Windows\System32\cmd.exe /c "whoami"`, "FS01.corp.local", "Ünïcode_mixed-Case"})
	want := "c windows system32 cmd exe c whoami fs01 corp local ünïcode mixed case"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	long := strings.Repeat("é", 200)
	if w := queryWords(long); len(w) != 1 || len(w[0]) > maxWordBytes || !strings.HasPrefix(long, w[0]) {
		t.Errorf("a long word: got %q, want it cut to %d bytes on a rune boundary", w, maxWordBytes)
	}
}

func TestBadDetection(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		setup(t, s)
		w, err := s.BeginHunt(ctx, "acme", "intrusion", HuntSpec{By: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		g := newGen(1)
		good, _ := g.detection(0)
		bad := [][]byte{
			[]byte(`{"time": "2026-01-01T00:00:00Z", "rule": {"id": "x"`),
			[]byte(`[1, 2]`),
			[]byte(`{"time": "yesterday", "rule": {"id": "x"}}`),
			[]byte(`{"rule": {"id": "x", "level": "severe"}}`),
			[]byte(`{"rule": null}`),
			[]byte("{\"rule\": {\"id\": \"x\"}, \"computer\": \"\xff\"}"),
		}
		for i, b := range bad {
			if err := w.Write(ctx, good); err != nil {
				t.Fatal(err)
			}
			err := w.Write(ctx, b)
			want := "detection " + strconv.Itoa(i+1) + ":"
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
				t.Errorf("bad detection %d: got %v, want ErrInvalid naming %q", i, err, want)
			}
		}
		if err := w.Finish(ctx, nil); err != nil {
			t.Fatal(err)
		}
		n, _, err := s.CountDetections(ctx, "acme", "intrusion", Filter{}, 0)
		if err != nil || n != int64(len(bad)) {
			t.Errorf("got %d detections (%v), want the %d good ones", n, err, len(bad))
		}
		if err := w.Write(ctx, good); !errors.Is(err, ErrFinished) {
			t.Errorf("write after finish: got %v, want ErrFinished", err)
		}
	})
}
