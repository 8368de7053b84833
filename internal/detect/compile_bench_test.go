package detect

import (
	"path/filepath"
	"strings"
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

// TestDFACells checks dfaCells against the automata built, on small sets
// and on the needles of every field of every bucket of the SigmaHQ Windows
// rules.
func TestDFACells(t *testing.T) {
	sets := [][]string{
		{"a"},
		{"abc", "abd", "b", "bcd", "abc"},
		{"cmd.exe", "powershell", "pwsh", "\\temp\\", "-enc", "-e ", "iex(", "iwr "},
	}
	if !testing.Short() {
		seen := map[string]bool{}
		e, _ := sigmaHQ(t)
		cis := []*chanIndex{e.index.other}
		for _, ci := range e.index.channels {
			cis = append(cis, ci)
		}
		for _, ci := range cis {
			bs := []*bucket{ci.any}
			for _, b := range ci.byID {
				bs = append(bs, b)
			}
			for _, b := range bs {
				e.index.ready(e, b)
				for _, fs := range b.scans {
					lits := make([]string, len(fs.needles))
					for k, id := range fs.needles {
						lits[k] = e.needles[id].lit
					}
					if key := strings.Join(lits, "\x00"); !seen[key] {
						seen[key] = true
						sets = append(sets, lits)
					}
				}
			}
		}
	}
	large := 0
	for _, set := range sets {
		got, want := dfaCells(set), len(buildAutomaton(set).next)
		if got != want {
			t.Errorf("dfaCells(%q) = %d, want %d", set, got, want)
		}
		if got*4 > maxDFABytes {
			large++
		}
	}
	t.Logf("%d needle sets, %d over maxDFABytes", len(sets), large)
}
