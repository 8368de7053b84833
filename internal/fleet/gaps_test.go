package fleet

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/evtx/evtxedit"
	"github.com/spoor-hunt/spoor/internal/gaps"
	"github.com/spoor-hunt/spoor/internal/hunt"
	"github.com/spoor-hunt/spoor/internal/intake"
	"github.com/spoor-hunt/spoor/internal/operation"
	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/source"
	"github.com/spoor-hunt/spoor/internal/store"
)

// shipped is an event's fact as a collector numbers it: its host and its
// ordinal in its input.
type shipped struct {
	input, host string
	ordinal     int64
	fact        gaps.Fact
}

// readFacts reads paths one input at a time, as a collector does, and
// returns the facts of their events with an Analyzer fed the events.
func readFacts(t *testing.T, paths ...string) ([]shipped, *gaps.Analyzer) {
	t.Helper()
	a := gaps.New()
	var out []shipped
	for _, p := range paths {
		var n int64
		_, err := source.Run(context.Background(), []string{p}, source.Options{Workers: 1}, func(_ int, ev *event.Event) error {
			a.Observe(ev)
			f := gaps.FactOf(ev)
			// The event is the reader's until its next: copies.
			f.Source, f.Computer, f.Channel = string([]byte(f.Source)), string([]byte(f.Computer)), string([]byte(f.Channel))
			f.User, f.Cleared = string([]byte(f.User)), string([]byte(f.Cleared))
			out = append(out, shipped{input: p, host: f.Computer, ordinal: n, fact: f})
			n++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out, a
}

// editedLog writes into dir a DeepBlueCLI log with records 60-64 cut
// out (evtxedit) and returns its path.
func editedLog(t testing.TB, dir string) string {
	t.Helper()
	orig, err := os.ReadFile(shared.Path(t, "datasets", "deepbluecli", "evtx", "password-spray.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	edited, _, err := evtxedit.Remove(orig, 60, 64)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "edited.evtx")
	if err := os.WriteFile(path, edited, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCaseAnalyzer: the facts of a case's batches, committed in any order
// (a partition handed over: the messages its previous owner held come
// again after the new owner's), some twice (redelivered after a commit
// whose acknowledgement was lost), and split into other windows, give the
// findings of an Analyzer fed the events in their readers' order.
func TestCaseAnalyzer(t *testing.T) {
	path := editedLog(t, t.TempDir())
	host := shared.Path(t, "datasets", "security-datasets", "datasets", "atomic", "windows", "defense_evasion", "host")
	facts, plain := readFacts(t, path,
		shared.Path(t, "datasets", "deepbluecli", "evtx", "disablestop-eventlog.evtx"),
		filepath.Join(host, "cmd_psh_stop_netprofm_eventlog_after_reboot.zip"))
	want := gaps.Findings(gaps.Options{Chunks: gaps.FileChunks}, plain)
	kinds := map[gaps.Kind]bool{}
	for _, f := range want {
		if f.Tampering() {
			kinds[f.Kind] = true
		}
	}
	if len(kinds) != 3 {
		t.Fatalf("the evidence's tampering findings are of kinds %v, want all three", kinds)
	}

	// Batches as a collector makes them: windows of 100 events, one per
	// host; then a second cut into windows of 37 (a collector restarted
	// with other options), each batch committed twice, all shuffled.
	var batches []store.FleetGap
	for _, window := range []int64{100, 37} {
		encs := map[string]*gapEncoder{}
		firsts := map[string]int64{}
		input := facts[0].input
		flush := func() {
			for h, e := range encs {
				if g, ok := e.gap(input, 1, firsts[h]); ok {
					batches = append(batches, g, g)
				}
			}
			clear(encs)
		}
		for i, s := range facts {
			if s.input != input || s.ordinal%window == 0 {
				flush()
				input = s.input
			}
			e := encs[s.host]
			if e == nil {
				e, firsts[s.host] = new(gapEncoder), s.ordinal
				encs[s.host] = e
			}
			e.add(s.ordinal, &facts[i].fact)
		}
		flush()
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(batches), func(i, j int) { batches[i], batches[j] = batches[j], batches[i] })

	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, _, err := intake.EnsureCase(ctx, st, "default", "c", "test"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(batches); i += 7 {
		if _, err := st.Ingest(ctx, "default", "w", []store.FleetBatch{{Case: "c", Gaps: batches[i:min(i+7, len(batches))]}}); err != nil {
			t.Fatal(err)
		}
	}
	a, err := caseAnalyzer(ctx, st, "default", "c")
	if err != nil {
		t.Fatal(err)
	}
	got := gaps.Findings(gaps.Options{Chunks: gaps.FileChunks}, a)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("findings of the stored facts:\n%+v\nof the events:\n%+v", got, want)
	}
}

// TestGapFacts: facts encode and decode to themselves, times (none, before
// 1970, nanoseconds) and signs included.
func TestGapFacts(t *testing.T) {
	in := []gaps.Fact{
		{Source: "a.evtx", Computer: "H1", Channel: "Security", Locator: 7, RecordID: 42, EventID: 1102, Time: time.Date(2024, 5, 1, 1, 2, 3, 456789, time.UTC), Sign: gaps.SignCleared, User: `CORP\eve`},
		{Source: "a.evtx", Computer: "H1", Channel: "Security", Locator: 5, RecordID: -3, EventID: 4624},
		{Source: "b.json", Computer: "H2", Channel: "System", Locator: 1 << 40, RecordID: 1, EventID: 104, Time: time.Date(1601, 1, 1, 0, 0, 0, 1, time.UTC), Sign: gaps.SignCleared, Cleared: "Application"},
		{Source: "b.json", Computer: "H2", Channel: "System", Locator: 2, EventID: 7040, Time: time.Date(2024, 5, 1, 1, 2, 3, 0, time.UTC), Sign: gaps.SignDisabled, User: "S-1-5-18"},
		{Source: "c", Carved: true},
	}
	var e gapEncoder
	for i := range in {
		e.add(int64(10+3*i), &in[i])
	}
	g, ok := e.gap("input", 2, 10)
	if !ok || g.Input != "input" || g.Pass != 2 || g.First != 10 {
		t.Fatalf("gap: %+v, %v", g, ok)
	}
	var got []gapRecord
	if err := decodeGaps(g.Data, func(r *gapRecord) { got = append(got, *r) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(in)-1 {
		t.Fatalf("%d facts decoded, want %d (the carved one left out)", len(got), len(in)-1)
	}
	for i, r := range got {
		if r.ordinal != int64(10+3*i) || !reflect.DeepEqual(r.fact, in[i]) {
			t.Errorf("fact %d: got %d %+v, want %d %+v", i, r.ordinal, r.fact, 10+3*i, in[i])
		}
	}
	e.reset()
	if _, ok := e.gap("input", 2, 10); ok {
		t.Error("a reset encoder gave facts")
	}
	for _, bad := range [][]byte{nil, {2}, {1, 5}, append(append([]byte{}, g.Data...), 0)} {
		if err := decodeGaps(bad, func(*gapRecord) {}); !errors.Is(err, errGaps) {
			t.Errorf("decodeGaps(%x): %v, want errGaps", bad, err)
		}
	}
}

// FuzzGapFacts: whatever the bytes, decodeGaps returns facts or errGaps,
// and what it decodes encodes to facts that decode the same.
func FuzzGapFacts(f *testing.F) {
	var e gapEncoder
	e.add(3, &gaps.Fact{Source: "s", Computer: "c", Channel: "Security", Locator: 9, RecordID: 9, EventID: 1100, Time: time.Unix(1e9, 5), Sign: gaps.SignStop})
	e.add(4, &gaps.Fact{Source: "s", Computer: "c", Channel: "Security", Locator: 10, RecordID: 10, User: "u"})
	g, _ := e.gap("i", 1, 3)
	f.Add(g.Data)
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var got []gapRecord
		if err := decodeGaps(b, func(r *gapRecord) { got = append(got, *r) }); err != nil {
			if !errors.Is(err, errGaps) {
				t.Fatalf("error not errGaps: %v", err)
			}
			return
		}
		var e gapEncoder
		for i := range got {
			e.add(got[i].ordinal, &got[i].fact)
		}
		var again []gapRecord
		if g, ok := e.gap("i", 0, 0); ok {
			if err := decodeGaps(g.Data, func(r *gapRecord) { again = append(again, *r) }); err != nil {
				t.Fatalf("encoded facts do not decode: %v", err)
			}
		}
		if len(got) != len(again) {
			t.Fatalf("%d facts, %d once encoded again", len(got), len(again))
		}
		for i := range got {
			if got[i].ordinal != again[i].ordinal || !got[i].fact.Time.Equal(again[i].fact.Time) {
				t.Fatalf("fact %d: %+v, encoded again %+v", i, got[i], again[i])
			}
			got[i].fact.Time, again[i].fact.Time = time.Time{}, time.Time{}
			if got[i].fact != again[i].fact {
				t.Fatalf("fact %d: %+v, encoded again %+v", i, got[i], again[i])
			}
		}
	})
}

// BenchmarkGapFacts: what keeping the gap facts adds to a worker's hunt
// of an event (gaps.FactOf and the encoding, a batch every 1,000 events),
// beside the hunt itself (hunt.Hunter.Hunt with the built-in rules), over
// a Security-Datasets recording of 5.6 MB of JSON.
func BenchmarkGapFacts(b *testing.B) {
	path := shared.Path(b, "datasets", "security-datasets", "datasets", "atomic", "windows", "defense_evasion", "host", "empire_monologue_netntlm_downgrade.zip")
	var events []*event.Event
	_, err := source.Run(context.Background(), []string{path}, source.Options{Workers: 1}, func(_ int, ev *event.Event) error {
		events = append(events, ev.Clone())
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("facts", func(b *testing.B) {
		b.ReportAllocs()
		var e gapEncoder
		for b.Loop() {
			for i, ev := range events {
				f := gaps.FactOf(ev)
				e.add(int64(i), &f)
				if i%1000 == 999 {
					e.gap("input", 1, 0)
					e.reset()
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events)), "ns/event")
	})
	b.Run("hunt", func(b *testing.B) {
		rules, err := hunt.Compile(context.Background(), hunt.Options{})
		if err != nil {
			b.Fatal(err)
		}
		h := rules.NewHunter(discard{})
		b.ReportAllocs()
		for b.Loop() {
			for _, ev := range events {
				h.Hunt(ev, nil)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events)), "ns/event")
	})
}

// discard is a hunt.Sink that keeps nothing.
type discard struct{}

func (discard) Detection(*result.Detection, *operation.DetectionRef) error { return nil }
func (discard) Entities(*operation.Index) error                            { return nil }

// TestRunMerge: runs of facts (a batch's, sorted or not) merged by
// ordinal, flushed up to a bound at a time, come out each once and in
// order.
func TestRunMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		var m runMerge
		var want, got []int64
		next := int64(0)
		for range 1 + rng.IntN(6) {
			// A window: one run per host, their ordinals interleaved.
			hosts := 1 + rng.IntN(4)
			runs := make([][]gapRecord, hosts)
			for range rng.IntN(40) {
				h := rng.IntN(hosts)
				runs[h] = append(runs[h], gapRecord{ordinal: next})
				want = append(want, next)
				next++
			}
			first := next
			for _, r := range runs {
				if len(r) > 0 && r[0].ordinal < first {
					first = r[0].ordinal
				}
			}
			m.flush(first, func(r *gapRecord) { got = append(got, r.ordinal) })
			for _, r := range runs {
				if rng.IntN(5) == 0 { // a run out of order is sorted first
					rng.Shuffle(len(r), func(i, j int) { r[i], r[j] = r[j], r[i] })
				}
				m.add(r)
			}
		}
		m.flush(-1, func(r *gapRecord) { got = append(got, r.ordinal) })
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: got %v, want %v", round, got, want)
		}
	}
}
