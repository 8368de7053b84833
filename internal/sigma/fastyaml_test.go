package sigma

import (
	"fmt"
	"iter"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/shared"
	"go.yaml.in/yaml/v3"
)

// treeDiff describes the first difference between the fast parser's node
// got and yaml.v3's want, comments aside, or returns "".
func treeDiff(got, want *yaml.Node, path string) string {
	type fields struct {
		Kind         yaml.Kind
		Style        yaml.Style
		Tag, Value   string
		Anchor       string
		Line, Column int
		Content      int
	}
	g := fields{got.Kind, got.Style, got.Tag, got.Value, got.Anchor, got.Line, got.Column, len(got.Content)}
	w := fields{want.Kind, want.Style, want.Tag, want.Value, want.Anchor, want.Line, want.Column, len(want.Content)}
	if g != w || got.Alias != nil || want.Alias != nil {
		return fmt.Sprintf("%s: got %+v, want %+v", path, g, w)
	}
	for i := range got.Content {
		if d := treeDiff(got.Content[i], want.Content[i], fmt.Sprintf("%s/%d", path, i)); d != "" {
			return d
		}
	}
	return ""
}

// compareParsers parses data with both parsers. It reports whether the
// fast parser took it, and a difference: the fast parser accepted what
// yaml.v3 rejects, or gave another tree.
func compareParsers(data []byte) (fast bool, diff string) {
	var want []*yaml.Node
	var yamlErr error
	for doc, err := range yamlDocuments(data) {
		if err != nil {
			yamlErr = err
			break
		}
		want = append(want, doc)
	}
	got, ok := parseFast(data)
	if !ok {
		return false, ""
	}
	if yamlErr != nil {
		return true, "fast parser accepted what yaml.v3 rejects: " + yamlErr.Error()
	}
	if len(got) != len(want) {
		return true, fmt.Sprintf("got %d documents, want %d", len(got), len(want))
	}
	for i := range got {
		if d := treeDiff(got[i], want[i], fmt.Sprintf("doc%d", i)); d != "" {
			return true, d
		}
	}
	return true, ""
}

// yamlFiles lists the *.yml and *.yaml files under dir.
func yamlFiles(tb testing.TB, dir string) []string {
	tb.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return files
}

// TestFastYAMLCorpus parses every YAML file of the SigmaHQ and Hayabusa
// corpora, the built-in rules and testdata with both parsers: the trees
// must be the same wherever the fast parser takes a file, and so must the
// loaded collections.
func TestFastYAMLCorpus(t *testing.T) {
	datasets := shared.Path(t, "datasets")
	sets := []struct {
		name    string
		dir     string
		minFast float64 // share of files that must take the fast path
	}{
		{"sigma", filepath.Join(datasets, "sigma"), 0.97},
		{"hayabusa", filepath.Join(datasets, "hayabusa-rules"), 0.9},
		{"builtin", filepath.Join("..", "..", "rules"), 0.97},
		{"testdata", "testdata", 0},
	}
	for _, s := range sets {
		files := yamlFiles(t, s.dir)
		fast := 0
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			ok, diff := compareParsers(data)
			if diff != "" {
				t.Errorf("%s: %s", f, diff)
				continue
			}
			if !ok {
				t.Logf("%s: yaml.v3", f)
				continue
			}
			fast++
			got, want := Parse(data, f), &Collection{}
			want.parseDocs(yamlDocuments(data), f, expansionLimit(len(data)))
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: the collection loaded on the fast path differs from yaml.v3's", f)
			}
		}
		share := float64(fast) / float64(max(len(files), 1))
		t.Logf("%s: %d of %d files (%.1f%%) took the fast path", s.name, fast, len(files), 100*share)
		if share < s.minFast {
			t.Errorf("%s: got %.1f%% of files on the fast path, want at least %.0f%%", s.name, 100*share, 100*s.minFast)
		}
	}
}

// fastCases are inputs at the edges of the fast parser's subset.
var fastCases = []string{
	"",
	// Shapes of the Sigma 1.x forms the loader converts: repeated keys,
	// collections, aggregations in the condition, a list of categories.
	"a: 1\nb:\n  c: 2\n  c: 3\na: 4\n",
	"action: global\ntitle: g\n---\ndetection:\n  sel: {a: 1}\n---\naction: repeat\n---\naction: reset\n",
	"detection:\n  condition: sel | count(x) by y > 5\n  timeframe: 5m\n",
	"detection:\n  condition: 'sel |near a and not b'\n",
	"logsource:\n  category: [a, b]\n  category:\n    - c\n",
	"# only a comment\n",
	"a: 1\n",
	"a:\nb: 1\nc:\n  - \n  -\n  - x\n",
	"a: # c\nb:\n  # x\nc: 1\n",
	"- # c\n-\n",
	"# c\n\na: 1\n---\n# x\n",
	"---\n# x",
	"---\n---\na: 1\n---\n",
	"--- # y\na: 1\n",
	"--- a\n",
	"a: 1\n...\n",
	"a: |\n  x\n  y",
	"a: |-\n\n  x\n\n",
	"a: |\n\n\nb: 1",
	"a: |\n   \n  x\n",
	"a: |\n  x\n   \n  y\n",
	"a: |\n  x\n    more\n  # not a comment\nb: 2\n",
	"a: |+\n  x\n\n",
	"a: >\n  x\n  y\n",
	"a: |2\n   x\n",
	"a:\n  - x\n  -\n    y: 1\n    z: 2\n",
	"a:\n- x\n- y: 1\n  z: 2\nb: 3\n",
	"k: \"\\x80\\u00e9\\U0001F600\\N\\_\\L\\P\\e\\0\\/\\\"\"\n",
	"k: \"\\ud800\"\n",
	"k: \"\\q\"\n",
	"k: 'it''s'  # c\n",
	"k: 'a'#c\n",
	"k: 'a' b\n",
	"k: 'a\n  b'\n",
	"k: [ a , \"b\", 'c' ]\n",
	"k: [a, b,]\n",
	"k: [a: b]\n",
	"k: []\n",
	"k: [a, [b]]\n",
	"a: b\n   c\n\n   d\n\n\n   e  \nf: 1\n",
	"a: b # c\n  d\n",
	"a: b\n  - c\n",
	"a: b: c\n",
	"a: b\n c:\n",
	"k: 089\nl: 0o17\nm: 1_000\nn: 2024-01-02\no: 2024-1-2 3:04:05\np: .5\nq: 1e3\nr: +1\ns: 0x1F\nt: -0b11\nu: ~\nv: Yes\nw: \"1\"\nx: -.inf\ny: 0b102\nz: 1.\n",
	"<<: {a: 1}\n",
	"a: &x 1\nb: *x\n",
	"a: !!str 1\n",
	"a: {b: 1}\n",
	"? a\n: b\n",
	"a:\n\tb: 1\n",
	"a: 1\r\nb: 2\r\n",
	"\xef\xbb\xbfa: 1\n",
	"%YAML 1.2\n---\na: 1\n",
	"a: 1\n  b: 2\n",
	"  a: 1\nb: 2\n",
	"a:\n    b: 1\n  c: 2\n",
	"- a\nb: 1\n",
	"a: 1\n- b\n",
	"- - a\n",
	"- a: 1\n  b: 2\n- c\n",
	"- 'x'\n- \"y\": 1\n",
	"'q': 1\n\"d\": 2\n",
	"a : 1\n",
	"a:b: 1\n",
	"é: ü\nkey: 'ä' # c\nx: [ö, 'ß']\n",
	"a: -\n",
	"a: -1\n- b\n",
	"title: x\ndescription: |\n    Line one\n    line two\ndetection:\n    selection:\n        Image|endswith: '\\cmd.exe'\n    condition: selection\n",
}

func FuzzFastYAML(f *testing.F) {
	for _, s := range fastCases {
		f.Add([]byte(s))
	}
	for _, data := range seedRules(f, 40) {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, diff := compareParsers(data); diff != "" {
			t.Fatal(diff)
		}
	})
}

func TestFastYAMLCases(t *testing.T) {
	fast := 0
	for _, s := range fastCases {
		ok, diff := compareParsers([]byte(s))
		if diff != "" {
			t.Errorf("%q: %s", s, diff)
		}
		if ok {
			fast++
		}
	}
	t.Logf("%d of %d cases took the fast path", fast, len(fastCases))
}

func TestSyntaxErrorLine(t *testing.T) {
	c := Parse([]byte("title: x\ndetection:\n  a: [b\n"), "t.yml")
	if len(c.Errors) != 1 {
		t.Fatalf("got errors %v, want one", c.Errors)
	}
	e := c.Errors[0]
	if e.Pos.Line == 0 || strings.Contains(e.Msg, "line ") || !strings.HasPrefix(e.Msg, "YAML: ") {
		t.Errorf("got %v (line %d), want the line in Pos and not in the message", e, e.Pos.Line)
	}
}

// BenchmarkParseYAML parses every active SigmaHQ rule file into nodes, with
// the fast parser (falling back to yaml.v3 as Parse does) and with yaml.v3
// alone.
func BenchmarkParseYAML(b *testing.B) {
	base := filepath.Join(shared.Path(b, "datasets"), "sigma")
	var files [][]byte
	var size int64
	for _, dir := range corpusPaths(b, base, sigmaActive...) {
		for _, f := range yamlFiles(b, dir) {
			data, err := os.ReadFile(f)
			if err != nil {
				b.Fatal(err)
			}
			files = append(files, data)
			size += int64(len(data))
		}
	}
	for _, bc := range []struct {
		name string
		docs func([]byte) (iter.Seq2[*yaml.Node, error], func())
	}{{"fast", documents}, {"yamlv3", func(data []byte) (iter.Seq2[*yaml.Node, error], func()) { return yamlDocuments(data), func() {} }}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				for _, data := range files {
					docs, release := bc.docs(data)
					for _, err := range docs {
						if err != nil {
							b.Fatal(err)
						}
					}
					release()
				}
			}
		})
	}
}

// yamlGen writes random YAML close to the fast parser's subset: nested
// block collections, every scalar style, comments, blank lines and odd
// indentation, some of it outside the subset or invalid.
type yamlGen struct {
	r *rand.Rand
	b strings.Builder
}

var genScalars = []string{
	"a", "b c", "x:y", "1", "-1", "+1", "0x1F", "0o7", "0b1", "-0b1", "1_0", "089", "00", "1e3", "1.", ".5",
	".inf", "-.Inf", "9999999999999999999999", "2024-01-02", "2024-1-2 3:4:5", "true", "False", "Yes",
	"null", "NULL", "~", "é ü", "a#b", "it's", "x -", `C:\x`, `a "b"`, "*.exe", "100%", "a|b", "-x", "1:2",
}

func (g *yamlGen) pick() string { return genScalars[g.r.IntN(len(genScalars))] }

func (g *yamlGen) spaces(n int) { g.b.WriteString(strings.Repeat(" ", n)) }

func (g *yamlGen) scalar() {
	s := g.pick()
	switch g.r.IntN(7) {
	case 0:
		g.b.WriteString("'" + strings.ReplaceAll(s, "'", "''") + "'")
	case 1:
		esc := []string{"", `\t`, `\u00e9`, `\n`, `\x7f`, `\/`}[g.r.IntN(6)]
		g.b.WriteString(`"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + esc + `"`)
	default:
		g.b.WriteString(s)
	}
}

func (g *yamlGen) junk() {
	switch g.r.IntN(12) {
	case 0:
		g.b.WriteString("\n")
	case 1:
		g.spaces(g.r.IntN(8))
		g.b.WriteString("# c\n")
	case 2:
		g.spaces(g.r.IntN(8))
		g.b.WriteString("\n")
	}
}

// node writes a collection or scalar at indentation ind; first says the
// line is already started (after "- ").
func (g *yamlGen) node(ind, depth int, first bool) {
	kind := g.r.IntN(3)
	if depth > 3 {
		kind = 2
	}
	for i := 0; i <= g.r.IntN(4) && kind < 2; i++ {
		if i > 0 || !first {
			g.spaces(ind)
		}
		if kind == 1 {
			g.b.WriteString("-")
			if g.r.IntN(4) > 0 {
				g.value(ind, depth, false)
				continue
			}
			g.b.WriteString(" ")
			g.node(ind+2, depth+1, true)
			continue
		}
		key := "k" + strconv.Itoa(i)
		if g.r.IntN(8) == 0 {
			key = "'" + key + "'"
		}
		g.b.WriteString(key + strings.Repeat(" ", g.r.IntN(2)) + ":")
		g.value(ind, depth, true)
	}
	if kind == 2 {
		if !first {
			g.spaces(ind)
		}
		g.scalar()
		g.b.WriteString("\n")
	}
	g.junk()
}

// value writes what follows a key's colon or an entry's dash.
func (g *yamlGen) value(ind, depth int, mapValue bool) {
	switch g.r.IntN(9) {
	case 0, 1:
		g.b.WriteString([]string{"\n", " # c\n"}[g.r.IntN(2)])
		g.junk()
		if mapValue && g.r.IntN(3) == 0 {
			g.spaces(ind)
			g.b.WriteString("- ")
			g.scalar()
			g.b.WriteString("\n")
			return
		}
		g.node(ind+1+g.r.IntN(4), depth+1, false)
	case 2:
		g.b.WriteString("\n")
	case 3:
		g.b.WriteString(" " + []string{"|", "|-", "| # h", "|+", ">"}[g.r.IntN(5)] + "\n")
		in := ind + 1 + g.r.IntN(3)
		for l := 0; l <= g.r.IntN(4); l++ {
			switch g.r.IntN(4) {
			case 0:
				g.spaces(g.r.IntN(in + 2))
			case 1:
				g.spaces(in + g.r.IntN(3))
				g.b.WriteString(g.pick())
			default:
				g.spaces(in)
				g.b.WriteString(g.pick() + " #x")
			}
			g.b.WriteString("\n")
		}
	case 4:
		g.b.WriteString(" [")
		for i := range g.r.IntN(4) {
			if i > 0 {
				g.b.WriteString("," + strings.Repeat(" ", g.r.IntN(2)))
			}
			g.scalar()
		}
		g.b.WriteString("]\n")
	case 5:
		g.b.WriteString(" ")
		g.scalar()
		for range g.r.IntN(3) {
			g.b.WriteString("\n" + strings.Repeat("\n", g.r.IntN(2)))
			g.spaces(ind + g.r.IntN(4))
			g.b.WriteString(g.pick())
		}
		g.b.WriteString("\n")
	default:
		g.spaces(1 + g.r.IntN(2))
		g.scalar()
		g.b.WriteString([]string{"", " # c", "  "}[g.r.IntN(3)] + "\n")
	}
}

// TestFastYAMLGenerated compares both parsers on generated documents (a
// million of them ran clean when the parser was written; set
// SPOOR_YAMLGEN to run more).
func TestFastYAMLGenerated(t *testing.T) {
	n := 20000
	if s := os.Getenv("SPOOR_YAMLGEN"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	g := &yamlGen{r: rand.New(rand.NewPCG(1, uint64(n)))}
	fast := 0
	for range n {
		g.b.Reset()
		if g.r.IntN(4) == 0 {
			g.b.WriteString("---\n")
		}
		g.node(g.r.IntN(2), 0, false)
		if g.r.IntN(4) == 0 {
			g.b.WriteString("---\n")
			if g.r.IntN(2) == 0 {
				g.node(0, 0, false)
			}
		}
		data := g.b.String()
		if g.r.IntN(5) == 0 {
			data = strings.TrimSuffix(data, "\n")
		}
		ok, diff := compareParsers([]byte(data))
		if diff != "" {
			t.Fatalf("%q: %s", data, diff)
		}
		if ok {
			fast++
		}
	}
	t.Logf("%d of %d generated documents took the fast path", fast, n)
}

// TestSlabReuseKeepsRules checks that the rules of a file stay intact once
// its nodes went back to the pool and served the next files.
func TestSlabReuseKeepsRules(t *testing.T) {
	rule := func(title, image string) []byte {
		return []byte("title: " + title + "\nid: 11111111-2222-4333-8444-55555555555" + title[len(title)-1:] +
			"\nlogsource:\n    product: windows\n    category: process_creation\ndetection:\n    sel:\n        Image|endswith:\n            - '" + image + "'\n    condition: sel\n")
	}
	first := Parse(rule("Rule 1", `\first.exe`), "1.yml")
	for i := 2; i < 50; i++ {
		Parse(rule("Rule "+strconv.Itoa(i%10), `\other.exe`), "n.yml")
	}
	if len(first.Rules) != 1 {
		t.Fatalf("first file: got %d rules, errors %v", len(first.Rules), first.Errors)
	}
	r := first.Rules[0]
	s := r.Detection.Searches[0]
	if r.Title != "Rule 1" || s.Name != "sel" || s.Alternatives[0][0].Field != "Image" || s.Alternatives[0][0].Values[0].Raw != `\first.exe` {
		t.Errorf("first rule changed after its nodes were reused: %q %q %+v", r.Title, s.Name, s.Alternatives[0][0])
	}
}
