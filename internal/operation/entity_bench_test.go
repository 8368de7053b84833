package operation

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/detect"
	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/sigma"
	"github.com/spoor-hunt/spoor/internal/source"
)

// BenchmarkIndex builds the entity index of the Windows atomic recordings
// of Security-Datasets (zip archives of JSON lines, read by source.Run with
// one shard per worker) and reports, besides the time, what the index
// keeps: the heap it holds after a GC (index-bytes), per entity (bytes/
// entity: processes, logons, services, tasks and written files) and per
// event read (bytes/event), and the counts. "twice" observes every event
// two times (source reads a path given twice once): twice the events, the
// same entities, about the same memory.
func BenchmarkIndex(b *testing.B) {
	dir := filepath.Join(shared.Dir(b), "datasets", "security-datasets", "datasets", "atomic", "windows")
	b.Run("read", func(b *testing.B) { benchIndex(b, dir, 0) })
	b.Run("once", func(b *testing.B) { benchIndex(b, dir, 1) })
	b.Run("twice", func(b *testing.B) { benchIndex(b, dir, 2) })
}

func benchIndex(b *testing.B, dir string, times int) {
	const workers = 4
	run := func() *Index {
		idx := NewIndex(workers)
		_, err := source.Run(b.Context(), []string{dir}, source.Options{Workers: workers}, func(w int, ev *event.Event) error {
			for range times {
				idx.Shard(w).Observe(ev)
			}
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

// BenchmarkObserve feeds one shard the events of evtx-attack-samples, read
// once and kept in memory, so that it measures Observe alone (bytes: the
// EVTX files' size).
func BenchmarkObserve(b *testing.B) {
	dir := shared.Path(b, "datasets", "evtx-attack-samples")
	var evs []*event.Event
	sum, err := source.Run(b.Context(), []string{dir}, source.Options{Workers: 1}, func(_ int, ev *event.Event) error {
		evs = append(evs, ev.Clone())
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(corpusBytes(dir))
	b.ReportAllocs()
	for b.Loop() {
		s := newShard()
		for _, ev := range evs {
			s.Observe(ev)
		}
	}
	b.ReportMetric(float64(sum.Events), "events")
}

// BenchmarkOperations builds the operations of a hunt of the evtxcorpus
// ($SPOOR_CORPUS or /tmp/corpus; evtx-attack-samples without it) with the
// SigmaHQ Windows rules: the detections and the index are made once,
// Build runs in the loop (bytes: the evidence's size).
func BenchmarkOperations(b *testing.B) {
	set, err := sigma.LoadPaths([]string{shared.Path(b, "datasets", "sigma", "rules", "windows")})
	if err != nil {
		b.Fatal(err)
	}
	eng, _ := detect.Compile(set.Rules, nil, detect.Options{}) // rules that do not compile are left out
	corpus := os.Getenv("SPOOR_CORPUS")
	if corpus == "" {
		corpus = "/tmp/corpus"
	}
	if _, err := os.Stat(corpus); err != nil {
		corpus = shared.Path(b, "datasets", "evtx-attack-samples")
	}
	hs, idx := huntWith(b, eng, []string{corpus}, runtime.GOMAXPROCS(0), nil)
	refs := refsOf(hs)
	b.SetBytes(corpusBytes(corpus))
	b.ReportAllocs()
	var ops []result.Operation
	for b.Loop() {
		ops = mustOperations(b, refs, idx, Options{})
	}
	b.ReportMetric(float64(len(refs)), "detections")
	b.ReportMetric(float64(len(ops)), "operations")
}

// BenchmarkOperationsAtomic builds the operations of a hunt of every
// Windows atomic recording of Security-Datasets (about 680,000 events) with
// the SigmaHQ Windows rules (issue 12: under 2 s on 2 cores with the
// index's own cost, BenchmarkIndex's once minus read): the detections and
// the index are made once, Build runs in the loop.
func BenchmarkOperationsAtomic(b *testing.B) {
	set, err := sigma.LoadPaths([]string{shared.Path(b, "datasets", "sigma", "rules", "windows")})
	if err != nil {
		b.Fatal(err)
	}
	eng, _ := detect.Compile(set.Rules, nil, detect.Options{}) // rules that do not compile are left out
	dir := shared.Path(b, "datasets", "security-datasets", "datasets", "atomic", "windows")
	hs, idx := huntWith(b, eng, []string{dir}, runtime.GOMAXPROCS(0), nil)
	refs := refsOf(hs)
	b.ReportAllocs()
	var ops []result.Operation
	for b.Loop() {
		ops = mustOperations(b, refs, idx, Options{})
	}
	st := idx.Stats()
	b.ReportMetric(float64(st.Events), "events")
	b.ReportMetric(float64(len(refs)), "detections")
	b.ReportMetric(float64(len(ops)), "operations")
}

// corpusBytes returns the size of the files under dir.
func corpusBytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// BenchmarkFinishAdversarial builds the index of n events that share one
// identity: Security 4624s of one logon ID (SYSTEM's 0x3e7 logs one per
// service start), and Sysmon processes whose GUIDs all differ in their
// first eight hex digits (an export that draws them at random), and
// Security 4688/4689 of processes that all had one PID. Finish
// and Observe must stay about linear in n.
func BenchmarkFinishAdversarial(b *testing.B) {
	for _, n := range []int{2000, 20000} {
		logons := make([]*event.Event, n)
		procs := make([]*event.Event, n)
		for i := range n {
			at := time.Duration(i) * time.Second
			logons[i] = ev("dc", at, "Security", 4624, "TargetLogonId", "0x3e7", "TargetUserName", "SYSTEM", "LogonType", "5")
			procs[i] = ev("ws", at, chSysmon, 1, "ProcessGuid", fmt.Sprintf("{%08X-0000-0000-0000-000000000001}", i),
				"ProcessId", strconv.Itoa(1000+i%5000), "Image", `C:\Windows\System32\cmd.exe`)
		}
		// One PID reused by every process, each exit after its start.
		var exits []*event.Event
		for i := range n {
			at := time.Duration(i) * time.Second
			exits = append(exits, ev("ws", at, "Security", 4688, "NewProcessId", "0x1000", "NewProcessName", `C:\Windows\System32\cmd.exe`),
				ev("ws", at+time.Millisecond, "Security", 4689, "ProcessId", "0x1000"))
		}
		b.Run(fmt.Sprintf("logons-%d", n), func(b *testing.B) { benchFinish(b, logons) })
		b.Run(fmt.Sprintf("exits-%d", n), func(b *testing.B) { benchFinish(b, exits) })
		b.Run(fmt.Sprintf("guids-%d", n), func(b *testing.B) { benchFinish(b, procs) })
	}
}

func benchFinish(b *testing.B, evs []*event.Event) {
	b.ReportAllocs()
	for b.Loop() {
		idx := NewIndex(1)
		for _, e := range evs {
			idx.Shard(0).Observe(e)
		}
		idx.Finish()
	}
}
