package detect

import (
	"errors"
	"github.com/spoor-hunt/spoor/internal/cputime"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/evtx"
	"github.com/spoor-hunt/spoor/internal/jsonlog"
	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/sigma"
)

// sharedPath returns a path under the shared test data, skipping the test
// when it is absent.
func sharedPath(tb testing.TB, elem ...string) string {
	tb.Helper()
	return shared.Path(tb, elem...)
}

// regressionEvents reads the events of the SigmaHQ regression data (.json
// files, one evtx_dump-shaped event each), cloned.
func regressionEvents(tb testing.TB, dir string) []*event.Event {
	tb.Helper()
	var events []*event.Event
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".json" {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		r := jsonlog.NewReader(f, jsonlog.Options{Source: path})
		defer r.Close()
		for {
			ev, err := r.Next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			var skip *event.SkipError
			if errors.As(err, &skip) {
				continue
			}
			if err != nil {
				return err
			}
			events = append(events, ev.Clone())
		}
	})
	if err != nil {
		tb.Fatal(err)
	}
	if len(events) == 0 {
		tb.Skip("no regression events")
	}
	return events
}

// corpusEvents reads up to max events from the EVTX corpus ($SPOOR_EVTX_CORPUS
// or /tmp/corpus), cloned, spread over its files.
func corpusEvents(tb testing.TB, max int) []*event.Event {
	tb.Helper()
	dir := os.Getenv("SPOOR_EVTX_CORPUS")
	if dir == "" {
		dir = "/tmp/corpus"
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.evtx"))
	if len(files) == 0 {
		tb.Skip("no EVTX corpus at " + dir)
	}
	var events []*event.Event
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			tb.Fatal(err)
		}
		fi, _ := f.Stat()
		r, err := evtx.Open(f, fi.Size(), evtx.Options{Source: p, Workers: 1})
		if err != nil {
			f.Close()
			tb.Fatal(err)
		}
		for n := 0; n < max/len(files); {
			ev, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				continue
			}
			events = append(events, ev.Clone())
			n++
		}
		r.Close()
		f.Close()
	}
	return events
}

// BenchmarkMatch matches pre-decoded events against every SigmaHQ Windows
// rule on one goroutine; one op is one event.
func BenchmarkMatch(b *testing.B) {
	e, regression := sigmaHQ(b)
	b.Run("regression", func(b *testing.B) { benchEvents(b, e, regression) })
	b.Run("corpus", func(b *testing.B) { benchEvents(b, e, corpusEvents(b, 200_000)) })
}

func benchEvents(b *testing.B, e *Engine, events []*event.Event) {
	var size int64
	for _, ev := range events {
		size += int64(len(ev.AppendJSON(nil)))
	}
	b.SetBytes(size / int64(len(events)))
	m := e.NewMatcher()
	dst := make([]Detection, 0, 64)
	for _, ev := range events { // warm the scratch buffers
		dst = m.Match(ev, dst[:0])
	}
	before := m.Stats()
	// The machine may be shared: besides wall time, measure the CPU time
	// of this goroutine's thread, which is what one core can do.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0 := cputime.Thread()
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		dst = m.Match(events[i], dst[:0])
		if i++; i == len(events) {
			i = 0
		}
	}
	cpu := cputime.Thread() - cpu0
	st := m.Stats()
	n := float64(st.Events - before.Events)
	b.ReportMetric(n/b.Elapsed().Seconds(), "events/s")
	if cpu > 0 {
		b.ReportMetric(n/cpu.Seconds(), "events/cpu-s")
	}
	b.ReportMetric(float64(st.Evaluated-before.Evaluated)/n/float64(e.Variants())*100, "%evaluated")
	b.ReportMetric(float64(st.Routed-before.Routed)/n/float64(e.Variants())*100, "%routed")
	b.ReportMetric(float64(st.Detections-before.Detections)/n, "detections/event")
}

// BenchmarkLoadCompile loads (sigma.LoadPaths, files read each time) and
// compiles the SigmaHQ rules: the Windows rules the Match benchmark uses,
// and every rule of every product. One op is one load and compile.
func BenchmarkLoadCompile(b *testing.B) {
	root := sharedPath(b, "datasets", "sigma")
	windows, _ := filepath.Glob(filepath.Join(root, "rules*", "windows"))
	all, _ := filepath.Glob(filepath.Join(root, "rules*"))
	for _, c := range []struct {
		name string
		dirs []string
	}{{"windows", windows}, {"all", all}} {
		b.Run(c.name, func(b *testing.B) {
			var loaded, rules, variants int
			for b.Loop() {
				col, err := sigma.LoadPaths(c.dirs)
				if err != nil {
					b.Fatal(err)
				}
				e, _ := Compile(col.Rules, col.Filters, Options{Placeholders: map[string][]string{}})
				loaded, rules, variants = len(col.Rules), len(e.Rules()), e.Variants()
			}
			b.ReportMetric(float64(loaded), "loaded")
			b.ReportMetric(float64(rules), "rules")
			b.ReportMetric(float64(variants), "variants")
		})
	}
}
