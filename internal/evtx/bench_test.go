package evtx

import (
	"bytes"
	"github.com/spoor-hunt/spoor/internal/cputime"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/spoor-hunt/spoor/internal/shared"
)

// decodeCount decodes data and returns how many events it holds.
func decodeCount(b *testing.B, data []byte, workers int) int {
	r, err := Open(bytes.NewReader(data), int64(len(data)), Options{Workers: workers})
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	r.Close()
	return n
}

// BenchmarkDecode decodes the benchmark corpus (build it with
// `cd ../shared/tools && go run ./evtxcorpus -out /tmp/corpus -files 4
// -chunks 1024 ../datasets/evtx-attack-samples`; set SPOOR_EVTX_CORPUS to use
// another directory). Files are read into memory first, so this measures
// decoding only. Use GOMAXPROCS=1 for the one-core figure.
func BenchmarkDecode(b *testing.B) {
	dir := os.Getenv("SPOOR_EVTX_CORPUS")
	if dir == "" {
		dir = "/tmp/corpus"
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "*.evtx"))
	if len(paths) == 0 {
		b.Skipf("no benchmark corpus in %s (see the benchmark's doc comment)", dir)
	}
	var files [][]byte
	var size int64
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		files = append(files, data)
		size += int64(len(data))
	}
	for _, tc := range []struct {
		name    string
		workers int
	}{{"workers=1", 1}, {"workers=max", 0}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			records := 0
			cpu0 := cputime.Process()
			for b.Loop() {
				for _, data := range files {
					records += decodeCount(b, data, tc.workers)
				}
			}
			b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
			if cpu := cputime.Process() - cpu0; cpu > 0 {
				// Records per CPU second of the whole process (GC included):
				// the figure to compare on a machine shared with other work.
				b.ReportMetric(float64(records)/cpu.Seconds(), "records/cpu-s")
			}
		})
	}
}

// BenchmarkDecodeSmall decodes one real file of a few chunks.
func BenchmarkDecodeSmall(b *testing.B) {
	p := filepath.Join(shared.Dir(b), "datasets/deepbluecli/evtx/smb-password-guessing-security.evtx")
	data, err := os.ReadFile(p)
	if err != nil {
		b.Skip(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	records := 0
	for b.Loop() {
		records += decodeCount(b, data, 1)
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}
