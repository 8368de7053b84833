package hunt

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/cputime"
	"github.com/spoor-hunt/spoor/internal/detect"
	"github.com/spoor-hunt/spoor/internal/rulepkg"
	"github.com/spoor-hunt/spoor/internal/shared"
)

// BenchmarkHunt hunts the evtxcorpus (../shared/tools/evtxcorpus output,
// $SPOOR_CORPUS or /tmp/corpus) with every SigmaHQ Windows rule, end to end:
// rules loaded and compiled in every iteration. Without the corpus it hunts
// evtx-attack-samples.
func BenchmarkHunt(b *testing.B) {
	rules := shared.Path(b, "datasets", "sigma", "rules", "windows")
	corpus := os.Getenv("SPOOR_CORPUS")
	if corpus == "" {
		corpus = "/tmp/corpus"
	}
	if _, err := os.Stat(corpus); err != nil {
		corpus = shared.Path(b, "datasets", "evtx-attack-samples")
	}
	var size int64
	filepath.Walk(corpus, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			size += fi.Size()
		}
		return nil
	})
	b.SetBytes(size)
	b.ReportAllocs()
	var events int64
	for b.Loop() {
		res, err := Run(b.Context(), []string{corpus}, Options{NoBuiltin: true, Rules: []string{rules}, OnPhase: benchGC})
		if err != nil {
			b.Fatal(err)
		}
		events = res.Evidence.Events
	}
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// benchGC sets the GC percent of each phase of a Run as cmd/spoor does
// (cmd/spoor/gc.go), for the default GOGC.
func benchGC(p Phase) {
	switch p {
	case PhaseRules:
		debug.SetGCPercent(400)
	case PhaseEvidence:
		debug.SetGCPercent(200)
	case PhaseDone:
		debug.SetGCPercent(100)
	}
}

// BenchmarkLoadRules loads and compiles every SigmaHQ Windows rule: the
// fixed cost of a hunt.
func BenchmarkLoadRules(b *testing.B) {
	rules := shared.Path(b, "datasets", "sigma", "rules", "windows")
	b.ReportAllocs()
	defer debug.SetGCPercent(debug.SetGCPercent(400)) // as cmd/spoor sets it while rules load
	cpu0 := cputime.Process()
	for b.Loop() {
		rs, err := loadRules(&Options{NoBuiltin: true, Rules: []string{rules}})
		if err != nil {
			b.Fatal(err)
		}
		rs.compile(detect.DefaultPipeline(), nil)
	}
	reportCPU(b, cpu0)
}

// BenchmarkLoadDefaultRules loads and compiles the rules of a default hunt
// (spoor hunt with no rule flags): the built-in set and the embedded
// SigmaHQ package less its noisy rules. Target: under 0.3 s.
func BenchmarkLoadDefaultRules(b *testing.B) {
	pkg, err := rulepkg.Embedded()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	defer debug.SetGCPercent(debug.SetGCPercent(400)) // as cmd/spoor sets it while rules load
	cpu0 := cputime.Process()
	for b.Loop() {
		rs, err := loadRules(&Options{SigmaHQ: pkg})
		if err != nil {
			b.Fatal(err)
		}
		rs.compile(detect.DefaultPipeline(), nil)
	}
	reportCPU(b, cpu0)
}

// reportCPU reports the process's CPU time per iteration since cpu0: on a
// shared machine the wall time depends on what else the cores run.
func reportCPU(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric((cputime.Process()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
}
