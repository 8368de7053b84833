package correlate

import (
	"path/filepath"
	"runtime"
	"testing"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/source"
)

// BenchmarkIndex builds the entity index of the Windows atomic recordings
// of Security-Datasets (zip archives of JSON lines, read by source.Run with
// one shard per worker) and reports, besides the time, what the index
// keeps: the heap it holds after a GC (index-bytes), per entity (bytes/
// entity: processes, logons, services, tasks and written files) and per
// event read (bytes/event), and the counts. "twice" reads every recording
// two times: twice the events, the same entities, about the same memory.
func BenchmarkIndex(b *testing.B) {
	dir := filepath.Join(shared.Dir(b), "datasets", "security-datasets", "datasets", "atomic", "windows")
	b.Run("once", func(b *testing.B) { benchIndex(b, []string{dir}) })
	b.Run("twice", func(b *testing.B) { benchIndex(b, []string{dir, dir}) })
}

func benchIndex(b *testing.B, paths []string) {
	const workers = 4
	run := func() *Index {
		idx := NewIndex(workers)
		_, err := source.Run(b.Context(), paths, source.Options{Workers: workers}, func(w int, ev *event.Event) error {
			idx.Shard(w).Observe(ev)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		idx.Finish()
		return idx
	}
	var idx *Index
	b.ReportAllocs()
	for b.Loop() {
		idx = run()
	}
	b.StopTimer()

	// Heap held by one index: after a GC with it alive, less after a GC
	// without it.
	idx = nil
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	idx = run()
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := float64(after.HeapAlloc) - float64(before.HeapAlloc)
	st := idx.Stats()
	entities := st.Processes + st.Logons + st.Services + st.Tasks + st.Files
	b.ReportMetric(held, "index-bytes")
	b.ReportMetric(held/float64(max(entities, 1)), "bytes/entity")
	b.ReportMetric(held/float64(max(st.Processes+st.Logons, 1)), "bytes/proc+logon")
	b.ReportMetric(held/float64(max(st.Events, 1)), "bytes/event")
	b.ReportMetric(float64(st.Events), "events")
	b.ReportMetric(float64(st.Processes), "processes")
	b.ReportMetric(float64(st.Logons), "logons")
	b.ReportMetric(float64(st.Files), "files")
	runtime.KeepAlive(idx)
}
