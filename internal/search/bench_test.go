package search

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/spoor-hunt/spoor/internal/cputime"
	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/evtx"
	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/source"
)

// benchQueries are the queries the benchmarks time: a keyword (every
// field of every event scanned), field terms, indicators.
var benchQueries = []struct {
	name string
	q    Query
}{
	{"keyword", Query{Keywords: []string{"mimikatz"}}},
	{"keywords-all", Query{Keywords: []string{"psexec", "accepteula"}, All: true}},
	{"field", Query{Fields: []string{"CommandLine|contains=vssadmin"}}},
	{"regex", Query{Regexes: []string{`(?i)\\\\[a-z0-9.]+\\(c|admin)\$`}}},
	{"iocs", Query{IOCs: []IOC{{Hash, "d41d8cd98f00b204e9800998ecf8427e", 1}, {IP, "10.0.2.17", 2},
		{Domain, "evil.example.com", 3}, {FileName, "mimikatz.exe", 4}, {FileName, "procdump64.exe", 5}}}},
}

// BenchmarkSearch searches the evtxcorpus ($SPOOR_CORPUS, or
// evtx-attack-samples when unset) end to end (read, decode, match) on two
// workers, as spoor search does, beside reading alone.
func BenchmarkSearch(b *testing.B) {
	dir := os.Getenv("SPOOR_CORPUS")
	if dir == "" {
		dir = shared.Path(b, "datasets", "evtx-attack-samples")
	}
	var size int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			size += fi.Size()
		}
		return nil
	})
	// The floor: reading and decoding alone, in the same run.
	b.Run("read-only", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		cpu0 := cputime.Process()
		for b.Loop() {
			if _, err := source.Run(b.Context(), []string{dir}, source.Options{Workers: 2}, func(int, *event.Event) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric((cputime.Process()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	})
	for _, bq := range benchQueries {
		b.Run(bq.name, func(b *testing.B) {
			s, err := Compile(bq.q)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(size)
			b.ReportAllocs()
			var events int64
			cpu0 := cputime.Process()
			for b.Loop() {
				_, st, err := s.Run(b.Context(), []string{dir}, Options{Source: source.Options{Workers: 2}}, func(int, Hit) error { return nil })
				if err != nil {
					b.Fatal(err)
				}
				events = st.Searched
			}
			cpu := (cputime.Process() - cpu0).Seconds()
			b.ReportMetric(cpu/float64(b.N), "cpu-s/op")
			b.ReportMetric(float64(events)*float64(b.N)/cpu, "events/cpu-s")
		})
	}
}

// BenchmarkMatch matches decoded events in memory on one core: the cost
// of the query alone. The events of evtx-attack-samples (plain names), and
// the Winlogbeat JSON of a Security-Datasets recording (json-: every event
// with its long Message text).
func BenchmarkMatch(b *testing.B) {
	corpora := []struct {
		prefix string
		events []*event.Event
	}{
		{"", readEvents(b, shared.Path(b, "datasets", "evtx-attack-samples"))},
		{"json-", readAny(b, shared.Path(b, "datasets", "security-datasets", "datasets", "compound", "LSASS_campaign_01", "metasploit_logonpasswords_lsass_memory_dump.zip"))},
	}
	for _, c := range corpora {
		benchMatch(b, c.prefix, c.events)
	}
}

func benchMatch(b *testing.B, prefix string, events []*event.Event) {
	for _, bq := range benchQueries {
		b.Run(prefix+bq.name, func(b *testing.B) {
			s, err := Compile(bq.q)
			if err != nil {
				b.Fatal(err)
			}
			m := s.NewMatcher()
			b.ReportAllocs()
			cpu0 := cputime.Process()
			for b.Loop() {
				for _, ev := range events {
					m.Match(ev)
				}
			}
			b.ReportMetric(float64(len(events))*float64(b.N)/(cputime.Process()-cpu0).Seconds(), "events/cpu-s")
		})
	}
}

// readAny reads the events of path as spoor does (any format, archives),
// cloned.
func readAny(tb testing.TB, path string) []*event.Event {
	var events []*event.Event
	_, err := source.Run(tb.Context(), []string{path}, source.Options{Workers: 1}, func(_ int, ev *event.Event) error {
		events = append(events, ev.Clone())
		return nil
	})
	if err != nil || len(events) == 0 {
		tb.Fatalf("read %s: %d events, %v", path, len(events), err)
	}
	return events
}

// readEvents decodes every EVTX file under dir, cloned.
func readEvents(tb testing.TB, dir string) []*event.Event {
	var events []*event.Event
	err := filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil || filepath.Ext(path) != ".evtx" {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		r, err := evtx.Open(f, fi.Size(), evtx.Options{})
		if err != nil {
			return nil // not an EVTX file after all
		}
		defer r.Close()
		for {
			ev, err := r.Next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if _, skip := errors.AsType[*event.SkipError](err); skip {
				continue
			}
			if err != nil {
				return nil
			}
			events = append(events, ev.Clone())
		}
	})
	if err != nil {
		tb.Fatal(err)
	}
	return events
}
