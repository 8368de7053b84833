package sigma

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/shared"
	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// sigmaActive lists the folders of active SigmaHQ rules.
var sigmaActive = []string{"rules", "rules-compliance", "rules-dfir", "rules-emerging-threats", "rules-placeholder", "rules-threat-hunting"}

func corpusPaths(tb testing.TB, base string, dirs ...string) []string {
	tb.Helper()
	var out []string
	for _, d := range dirs {
		p := filepath.Join(base, d)
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		tb.Skipf("no rule folders under %s", base)
	}
	return out
}

// summary renders what loading a corpus gave: counts, every failure with
// its reason, and warnings counted by key and message.
func summary(c *Collection, root string) string {
	var b strings.Builder
	failed := 0
	warns := map[string]int{}
	var fails []string
	for _, e := range c.Errors {
		if e.Warning {
			k := e.Key
			if i := strings.IndexAny(k, ".["); i > 0 && !strings.HasPrefix(e.Msg, "key is not") {
				k = k[:i]
			}
			warns[k+": "+e.Msg]++
			continue
		}
		failed++
		rel, err := filepath.Rel(root, e.Pos.File)
		if err != nil {
			rel = e.Pos.File
		}
		fails = append(fails, fmt.Sprintf("%s: %s: %s", filepath.ToSlash(rel), e.Key, e.Msg))
	}
	fmt.Fprintf(&b, "loaded: %d rules, %d correlations, %d filters\n", len(c.Rules), len(c.Correlations), len(c.Filters))
	fmt.Fprintf(&b, "failed: %d\n", failed)
	sort.Strings(fails)
	for _, f := range fails {
		b.WriteString("  " + f + "\n")
	}
	keys := make([]string, 0, len(warns))
	for k := range warns {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(&b, "warnings: %d kinds\n", len(keys))
	for _, k := range keys {
		fmt.Fprintf(&b, "  %5d %s\n", warns[k], k)
	}
	return b.String()
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from what loading gives now (run go test ./internal/sigma -update and review the diff):\n%s", path, lineDiff(string(want), got))
	}
}

// lineDiff lists the lines only in want (-) and only in got (+).
func lineDiff(want, got string) string {
	count := map[string]int{}
	for _, l := range strings.Split(want, "\n") {
		count[l]++
	}
	for _, l := range strings.Split(got, "\n") {
		count[l]--
	}
	var b strings.Builder
	for _, l := range strings.Split(want, "\n") {
		if count[l] > 0 {
			b.WriteString("- " + l + "\n")
			count[l]--
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if count[l] < 0 {
			b.WriteString("+ " + l + "\n")
			count[l]++
		}
	}
	return b.String()
}

// TestCorpusSigmaHQ loads every active SigmaHQ rule and pins the outcome.
func TestCorpusSigmaHQ(t *testing.T) {
	root := shared.Path(t, "datasets")
	base := filepath.Join(root, "sigma")
	c, err := LoadPaths(corpusPaths(t, base, sigmaActive...))
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, e := range c.Errors {
		if !e.Warning {
			failed++
			t.Logf("failed: %v", e)
		}
	}
	total := len(c.Rules) + len(c.Correlations) + len(c.Filters) + failed
	t.Logf("SigmaHQ active rules: %d documents, %d loaded, %d failed", total, total-failed, failed)
	if total == 0 {
		t.Fatal("got no documents")
	}
	if ratio := float64(total-failed) / float64(total); ratio < 0.995 {
		t.Errorf("got %.2f%% loaded, want at least 99.5%%", 100*ratio)
	}
	checkGolden(t, "corpus_sigmahq.golden", summary(c, root))
}

// TestCorpusHayabusa loads the Hayabusa rules (the hayabusa folder: config
// holds field mappings, not rules) and pins the outcome.
func TestCorpusHayabusa(t *testing.T) {
	root := shared.Path(t, "datasets")
	c, err := LoadPaths(corpusPaths(t, filepath.Join(root, "hayabusa-rules"), "hayabusa"))
	if err != nil {
		t.Fatal(err)
	}
	// Three correlation rules, and three v1 aggregations converted.
	if len(c.Correlations) != 6 {
		t.Errorf("got %d correlations, want 6", len(c.Correlations))
	}
	checkGolden(t, "corpus_hayabusa.golden", summary(c, root))
}

// TestCorpusRetired loads SigmaHQ's deprecated and unsupported folders, for
// information: they hold v1 aggregations on purpose.
func TestCorpusRetired(t *testing.T) {
	root := shared.Path(t, "datasets")
	c, err := LoadPaths(corpusPaths(t, filepath.Join(root, "sigma"), "deprecated", "unsupported"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("deprecated+unsupported: %d rules loaded, %d problems", len(c.Rules), len(c.Errors))
	checkGolden(t, "corpus_retired.golden", summary(c, root))
}

// TestSchemaFixtures loads the specification's schema test fixtures (read
// where they are, not copied): each valid fixture loads as its kind, and
// removing any key the schema requires makes it fail with that key named.
func TestSchemaFixtures(t *testing.T) {
	dir := shared.Path(t, "docs", "sigma-specification", "tests", "schema")
	required := map[string][]string{
		"rules":       {"title", "logsource", "detection", "detection.condition"},
		"correlation": {"title", "correlation", "correlation.type", "correlation.rules", "correlation.timespan", "correlation.group-by"},
		"filter":      {"title", "logsource", "filter", "filter.condition"},
	}
	n := 0
	for kind, keys := range required {
		files, err := filepath.Glob(filepath.Join(dir, kind, "*.yml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			n++
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			c := Parse(data, f)
			if len(c.Errors) != 0 {
				t.Errorf("%s: got errors %v, want none", f, c.Errors)
			}
			if got := kindCount(c, kind); got != 1 {
				t.Errorf("%s: got %d %s, want 1", f, got, kind)
			}
			keys := keys
			if kind == "correlation" {
				var doc yaml.Node
				if err := yaml.Unmarshal(data, &doc); err != nil {
					t.Fatal(err)
				}
				switch mapGet(mapGet(doc.Content[0], "correlation"), "type").Value {
				case "event_count":
					keys = append(keys, "correlation.condition")
				case "value_count", "value_sum", "value_avg", "value_percentile":
					keys = append(keys, "correlation.condition", "correlation.condition.field")
				}
			}
			for _, k := range keys {
				mutated := removeKey(t, data, k)
				c := Parse(mutated, f)
				e := firstError(c)
				if e == nil {
					t.Errorf("%s without %s: got no error, want one", f, k)
					continue
				}
				if kindCount(c, kind) != 0 {
					t.Errorf("%s without %s: got it loaded, want it rejected", f, k)
				}
				if k == "correlation" || k == "filter" {
					k = "detection" // without its kind key, the document reads as a rule
				}
				if e.Key != k && !strings.HasPrefix(k, e.Key+".") {
					t.Errorf("%s without %s: got %v, want an error naming %s", f, k, e, k)
				}
			}
		}
	}
	if n < 12 {
		t.Errorf("got %d fixtures, want at least 12", n)
	}
}

func kindCount(c *Collection, kind string) int {
	switch kind {
	case "rules":
		return len(c.Rules)
	case "correlation":
		return len(c.Correlations)
	}
	return len(c.Filters)
}

// removeKey returns the YAML document data without the dotted key path.
func removeKey(t *testing.T, data []byte, path string) []byte {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	m := doc.Content[0]
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		m = mapGet(m, p)
	}
	last := parts[len(parts)-1]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == last {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			break
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(&doc); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkLoadSigmaHQ loads every active SigmaHQ rule.
func BenchmarkLoadSigmaHQ(b *testing.B) {
	base := filepath.Join(shared.Path(b, "datasets"), "sigma")
	paths := corpusPaths(b, base, sigmaActive...)
	// Read the files once so that the benchmark measures parsing.
	type file struct {
		name string
		data []byte
	}
	var files []file
	var size int64
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || (filepath.Ext(path) != ".yml" && filepath.Ext(path) != ".yaml") {
				return err
			}
			data, err := os.ReadFile(path)
			files = append(files, file{path, data})
			size += int64(len(data))
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		c := &Collection{}
		for _, f := range files {
			c.parse(f.data, f.name)
		}
		if len(c.Rules) == 0 {
			b.Fatal("no rules")
		}
	}
}
