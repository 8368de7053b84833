package detect

import (
	"path/filepath"
	"testing"

	"github.com/spoor-hunt/spoor/internal/sigma"
)

// BenchmarkCompile compiles the SigmaHQ Windows rules, loaded once: the
// part of a hunt's fixed cost that Compile owns (run with -cpu 1,2 to see
// its parallel speed-up). The prefilter buckets are built lazily, on the
// first event, so they are not included.
func BenchmarkCompile(b *testing.B) {
	root := sharedPath(b, "datasets", "sigma")
	windows, _ := filepath.Glob(filepath.Join(root, "rules*", "windows"))
	col, err := sigma.LoadPaths(windows)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		Compile(col.Rules, col.Filters, Options{Placeholders: map[string][]string{}})
	}
}
