package gaps

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/evtx"
	"github.com/spoor-hunt/spoor/internal/evtx/evtxedit"
	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/source"
)

// analyse runs an Analyzer over the logs under paths, the way spoor gaps
// does.
func analyse(t *testing.T, paths ...string) []Finding {
	t.Helper()
	as := []*Analyzer{New(), New()}
	sum, err := source.Run(context.Background(), paths, source.Options{Workers: len(as)}, func(w int, ev *event.Event) error {
		as[w].Observe(ev)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	lost := map[string]int{}
	for _, d := range sum.Damaged {
		lost[d.Name] += d.Records
	}
	return Findings(Options{Chunks: FileChunks, Damaged: func(s string) int { return lost[s] }}, as...)
}

// recordTimes reads the file's records with spoor's EVTX reader: their
// identifiers in file order and the time of each.
func recordTimes(t *testing.T, data []byte) ([]uint64, map[uint64]time.Time) {
	t.Helper()
	r, err := evtx.Open(bytes.NewReader(data), int64(len(data)), evtx.Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var ids []uint64
	times := map[uint64]time.Time{}
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return ids, times
		}
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, uint64(ev.Locator))
		times[uint64(ev.Locator)] = ev.Time()
	}
}

// TestRemovedRecords cuts records out of real logs as editing tools do
// (evtxedit: the chunk stays valid) and expects one records-removed
// finding per cut, with its record range, its time window (the times of
// the records around it, read from the original file) and its chunk.
func TestRemovedRecords(t *testing.T) {
	dir := t.TempDir()
	type cut struct{ first, last uint64 }
	for _, tc := range []struct {
		file  []string
		cuts  []cut
		where []string
	}{
		{
			file:  []string{"datasets", "deepbluecli", "evtx", "password-spray.evtx"},
			cuts:  []cut{{40, 41}, {101, 104}, {150, 150}},
			where: []string{"chunk 0", "between chunks 0 and 1", "chunk 1"},
		},
		{
			file:  []string{"datasets", "deepbluecli", "evtx", "smb-password-guessing-security.evtx"},
			cuts:  []cut{{2, 106}, {1000, 1010}, {3540, 3542}},
			where: []string{"chunk 0", "chunk 9", "chunk 33"},
		},
	} {
		orig, err := os.ReadFile(shared.Path(t, tc.file...))
		if err != nil {
			t.Fatal(err)
		}
		ids, times := recordTimes(t, orig)
		edited := orig
		for _, c := range tc.cuts {
			if edited, _, err = evtxedit.Remove(edited, c.first, c.last); err != nil {
				t.Fatalf("%s: remove %d-%d: %v", tc.file[len(tc.file)-1], c.first, c.last, err)
			}
		}
		path := filepath.Join(dir, tc.file[len(tc.file)-1])
		if err := os.WriteFile(path, edited, 0o600); err != nil {
			t.Fatal(err)
		}
		var removed []Finding
		for _, f := range analyse(t, path) {
			if f.Kind == Removed {
				removed = append(removed, f)
			}
		}
		if len(removed) != len(tc.cuts) {
			t.Fatalf("%s: %d records-removed findings, want %d: %+v", path, len(removed), len(tc.cuts), removed)
		}
		for i, c := range tc.cuts {
			f := removed[i]
			// The records around the cut, from the original file.
			var before, after uint64
			for j, id := range ids {
				if id == c.first {
					before = ids[j-1]
				}
				if id == c.last {
					after = ids[j+1]
				}
			}
			if f.FirstRecord != int64(c.first) || f.LastRecord != int64(c.last) || f.Missing != int64(c.last-c.first+1) {
				t.Errorf("%s: finding %d: records %d-%d (%d missing), want %d-%d", path, i, f.FirstRecord, f.LastRecord, f.Missing, c.first, c.last)
			}
			if !f.From.Equal(times[before]) || !f.To.Equal(times[after]) {
				t.Errorf("%s: finding %d: window %s..%s, want %s..%s", path, i, f.From, f.To, times[before], times[after])
			}
			if f.Chunks != tc.where[i] || f.Confidence != High || f.Technique != ClearLogs {
				t.Errorf("%s: finding %d: %s, %s, %s; want %s, high, %s", path, i, f.Chunks, f.Confidence, f.Technique, tc.where[i], ClearLogs)
			}
		}
	}
}

// TestUntouchedFiles expects no records-removed finding in logs nobody
// edited: every file of evtx-attack-samples and DeepBlueCLI's.
func TestUntouchedFiles(t *testing.T) {
	var n int
	for _, f := range analyse(t, shared.Path(t, "datasets", "evtx-attack-samples"), shared.Path(t, "datasets", "deepbluecli", "evtx")) {
		if f.Kind == Removed {
			t.Errorf("untouched %s: %s", f.Source, f.Meaning)
		}
		n++
	}
	if n == 0 {
		t.Error("no finding at all: the cleared logs of the samples were missed")
	}
}
