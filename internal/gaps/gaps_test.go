package gaps

import (
	"bytes"
	"cmp"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

// TestClearedLogs: every 1102 and 104 of the EventLog in DeepBlueCLI's
// logs (read with spoor's reader at test time) is one log-cleared finding
// at its record, time and user, and there is no other.
func TestClearedLogs(t *testing.T) {
	dir := shared.Path(t, "datasets", "deepbluecli", "evtx")
	type clear struct {
		source string
		record int64
		at     time.Time
		user   string
	}
	var want []clear
	_, err := source.Run(context.Background(), []string{dir}, source.Options{Workers: 1}, func(_ int, ev *event.Event) error {
		id := ev.Lookup(event.FieldEventID).Integer()
		if (id == 1102 || id == 104) && strings.EqualFold(ev.Lookup(event.FieldProviderName).Text(), "Microsoft-Windows-Eventlog") {
			want = append(want, clear{ev.Source, ev.Lookup(event.FieldEventRecordID).Integer(), ev.Time(),
				ev.Lookup("SubjectDomainName").Text() + `\` + ev.Lookup("SubjectUserName").Text()})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < 10 {
		t.Fatalf("%d clearing events in DeepBlueCLI's logs, want its log-clearing files' (over 10)", len(want))
	}
	var got []clear
	for _, f := range analyse(t, dir) {
		if f.Kind == Cleared {
			if f.Confidence != High || f.Technique != ClearLogs || !f.From.Equal(f.To) {
				t.Errorf("%s record %d: %s, %s, %s..%s; want high, %s, one time", f.Source, f.FirstRecord, f.Confidence, f.Technique, f.From, f.To, ClearLogs)
			}
			got = append(got, clear{f.Source, f.FirstRecord, f.From, f.User})
		}
	}
	order := func(a, b clear) int { return cmp.Or(cmp.Compare(a.source, b.source), cmp.Compare(a.record, b.record)) }
	slices.SortFunc(want, order)
	slices.SortFunc(got, order)
	if !slices.Equal(got, want) {
		t.Errorf("log-cleared findings:\n got %v\nwant %v", got, want)
	}
}

// TestStopsInRecordings: Security-Datasets recordings of a collector's
// JSON, each holding the interleaved logs of its hosts. A reboot (System
// 6006 then the startup's 6009 and 12; Security 1100 then 245 records of
// the startup before 4608) is no finding; the EventLog service stopped and
// started again (Security 1100, then 512 records and no startup) is one,
// medium; the service set to disabled is one, high. The recordings have
// no EventRecordIDs to call them filtered.
func TestStopsInRecordings(t *testing.T) {
	base := shared.Path(t, "datasets", "security-datasets", "datasets", "atomic", "windows")
	for _, tc := range []struct {
		file []string
		want string
	}{
		{[]string{"persistence", "host", "empire_persistence_registry_modification_run_keys_standard_user.zip"}, "filtered-export:low"},
		{[]string{"defense_evasion", "host", "cmd_psh_stop_netprofm_eventlog_after_reboot.zip"}, "logging-stopped:medium Pedro01 Security"},
		{[]string{"defense_evasion", "host", "psh_disable_eventlog_service_startuptype_modification.zip"}, "logging-disabled:high Pedro01 System"},
	} {
		var got []string
		for _, f := range analyse(t, filepath.Join(append([]string{base}, tc.file...)...)) {
			switch f.Kind {
			case Cleared:
			case Stopped, Disabled:
				got = append(got, string(f.Kind)+":"+string(f.Confidence)+" "+f.Computer+" "+f.Channel)
			default:
				got = append(got, string(f.Kind)+":"+string(f.Confidence))
			}
		}
		if g := strings.Join(got, ","); g != tc.want {
			t.Errorf("%s: got %q, want %q", tc.file[len(tc.file)-1], g, tc.want)
		}
	}
}
