package sigma

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sharedDatasets returns the shared datasets folder, or "" when it is
// absent: fuzz seeds from real rules are optional.
func sharedDatasets() string {
	dir := os.Getenv("SPOOR_SHARED")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared")
	}
	dir = filepath.Join(dir, "datasets")
	if _, err := os.Stat(dir); err != nil {
		return ""
	}
	return dir
}

// seedRules returns up to max rule files of the SigmaHQ corpus, spread over
// it, plus the fixtures of testdata.
func seedRules(tb testing.TB, max int) [][]byte {
	tb.Helper()
	var files []string
	fixtures, _ := filepath.Glob(filepath.Join("testdata", "*.yml"))
	files = append(files, fixtures...)
	if ds := sharedDatasets(); ds != "" {
		var corpus []string
		for _, d := range []string{"sigma/rules", "sigma/rules-placeholder", "sigma/unsupported", "hayabusa-rules/hayabusa"} {
			_ = filepath.WalkDir(filepath.Join(ds, d), func(p string, de os.DirEntry, err error) error {
				if err == nil && !de.IsDir() && strings.HasSuffix(p, ".yml") {
					corpus = append(corpus, p)
				}
				return nil
			})
		}
		step := len(corpus)/max + 1
		for i := 0; i < len(corpus); i += step {
			files = append(files, corpus[i])
		}
	}
	var out [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}

func FuzzParseCondition(f *testing.F) {
	for _, s := range []string{
		"selection", "a or b and not c", "1 of sel_* and not all of filter*", "all of them",
		"(a and (b or not (c)))", "not not a", "a | count() by b > 5", "any of them", "1 of",
		"((((a))))", "a and", "x near y", "A AND NOT B", "sel-1.x", "count(x) > 3",
	} {
		f.Add(s)
	}
	for _, data := range seedRules(f, 200) {
		c := Parse(data, "seed.yml")
		for _, r := range c.Rules {
			for _, s := range r.Detection.ConditionText {
				f.Add(s)
			}
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseCondition(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("ParseCondition(%q): got error %T %v, want *SyntaxError", s, err, err)
			}
			if se.Column < 1 || se.Column > len(s)+1 {
				t.Fatalf("ParseCondition(%q): got column %d, want 1..%d", s, se.Column, len(s)+1)
			}
			return
		}
		// The rendering parses back to the same tree.
		text := e.String()
		e2, err := ParseCondition(text)
		if err != nil {
			t.Fatalf("ParseCondition(%q) rendered %q, which does not parse: %v", s, text, err)
		}
		if got := e2.String(); got != text {
			t.Fatalf("ParseCondition(%q): rendered %q, reparsed as %q", s, text, got)
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, data := range seedRules(f, 300) {
		f.Add(data)
	}
	f.Add([]byte("action: global\ntitle: g\n---\nlogsource: {product: x}\ndetection: {s: {a|re|i: 'x'}, condition: s}\n---\naction: repeat\n"))
	f.Add([]byte("title: c\ncorrelation: {type: temporal, rules: [a, b], group-by: [x], timespan: 1h}\n"))
	// Sigma 1.x forms the loader converts: aggregations, near, collections
	// sharing an id, repeated keys, a list of categories.
	for _, cond := range []string{
		"sel | count() by x > 5", "sel and not f | count(u) by a, b >= 10", "sel|sum(n) < 3", "sel | max(n) by h != 1",
		"count(s) per a per b > 200 and not f", "sel | near f and not g", "sel |near 1 of f* and (g)", "sel | count() by",
		"write a from sel to %v%; then if f -> alert",
	} {
		f.Add([]byte("title: a\nid: i\nlogsource: {product: windows}\ndetection:\n  sel: {a: 1}\n  f: {b: 2}\n  g: {c: 3}\n  timeframe: 5m\n  condition: " + cond + "\n"))
	}
	f.Add([]byte("action: global\ntitle: g\nid: g-1\nlogsource: {product: windows}\ndetection: {condition: sel}\n---\ndetection: {sel: {a: 1}}\n---\ndetection: {sel: {a: 2}}\n---\naction: repeat\ndetection: {sel: {a: 3}}\n"))
	// A large global document over many small ones: past expansionLimit
	// the rest of the file is refused.
	big := "action: global\ntitle: g\nlogsource: {product: windows}\ndetection:\n  condition: sel\n  big: [" + strings.Repeat("v,", 3000) + "v]\n"
	f.Add([]byte(big + strings.Repeat("---\ndetection: {sel: {a: 1}}\n---\naction: repeat\n", 60)))
	f.Add([]byte("title: a\ntitle: b\nlogsource:\n  category: [x, y]\n  category: z\ndetection:\n  sel: {a: 1, a: 2}\n  sel: {b: 1}\n  condition: sel\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := Parse(data, "f.yml")
		for _, e := range c.Errors {
			if strings.HasPrefix(e.Msg, internalError) {
				t.Fatalf("loader panicked: %v", e)
			}
			if e.Pos.File != "f.yml" {
				t.Fatalf("error without the file: %v", e)
			}
		}
		values := 0
		for _, r := range c.Rules {
			checkDetection(t, &r.Detection)
			values += detectionValues(&r.Detection)
		}
		for _, fl := range c.Filters {
			checkDetection(t, &fl.Detection)
			values += detectionValues(&fl.Detection)
		}
		// What is loaded is bounded by the file: a collection adds at most
		// expansionLimit, and a document makes at most maxCategories
		// rules (or maxNearTerms+1 for a near).
		if limit := (len(data) + expansionLimit(len(data))) * maxCategories; values > limit {
			t.Fatalf("loaded %d values from %d bytes, more than %d", values, len(data), limit)
		}
		ids := map[string]bool{}
		for _, r := range c.Rules {
			ids[r.ID], ids[r.Name] = true, true
		}
		for _, cr := range c.Correlations {
			if cr.Type == "" || len(cr.Rules) == 0 || cr.Timespan <= 0 {
				t.Fatalf("loaded an incomplete correlation %+v", cr)
			}
			if cr.Condition == nil && cr.Type != Temporal && cr.Type != TemporalOrdered {
				t.Fatalf("loaded a %s correlation without a condition", cr.Type)
			}
		}
		// A converted v1 aggregation references the rules made beside it.
		for _, e := range c.Errors {
			if !strings.Contains(e.Msg, "v1 aggregation converted") {
				continue
			}
			_, list, _ := strings.Cut(e.Msg, "its searches are the rules ")
			for _, id := range strings.Split(list, ", ") {
				if !ids[id] {
					t.Fatalf("%v: rule %q was not loaded", e, id)
				}
			}
		}
	})
}

// FuzzAggregation parses v1 aggregations: errors are located within the
// text, and what parses has a function and, but for near, a comparison.
func FuzzAggregation(f *testing.F) {
	for _, s := range []string{
		"sel | count() by x > 5", "sel | count(u) by a, b >= 10", "a|sum(n)<3", "sel | avg(n) by h == 1.5",
		"count(s) per a per b > 200 and not f", "sel | near f and not g", "x | near (a and b) and c", "| count()",
		"sel | count() by", "sel | count() > x", "sel | min() > 1", "count(", "sel | near", "sel | near not a",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		search, searchOff, agg, off, ok := splitAggregation(s)
		if !ok {
			return
		}
		if off < 0 || off+len(agg) > len(s) || s[off:off+len(agg)] != agg || searchOff < 0 || searchOff+len(search) > len(s) || s[searchOff:searchOff+len(search)] != search {
			t.Fatalf("splitAggregation(%q): got %q at %d, %q at %d", s, search, searchOff, agg, off)
		}
		a, err := parseAggregation(agg)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Column < 1 || se.Column > len(agg)+1 {
				t.Fatalf("parseAggregation(%q): got error %v, want a *SyntaxError within 1..%d", agg, err, len(agg)+1)
			}
			return
		}
		if a.fn == "near" {
			if len(a.near) == 0 || a.op != "" || len(a.nearOff) != len(a.near) {
				t.Fatalf("parseAggregation(%q): got %+v, want near terms and no comparison", agg, a)
			}
			for i, term := range a.near {
				if !strings.HasPrefix(agg[a.nearOff[i]:], term) {
					t.Fatalf("parseAggregation(%q): term %q is not at %d", agg, term, a.nearOff[i])
				}
			}
			return
		}
		if !v1Funcs[a.fn] || !correlationOps[a.op] || (a.fn != "count" && a.field == "") {
			t.Fatalf("parseAggregation(%q): got %+v", agg, a)
		}
	})
}

// checkDetection asserts what the loader promises the compiler.
func checkDetection(t *testing.T, d *Detection) {
	t.Helper()
	if len(d.Conditions) == 0 || len(d.Conditions) != len(d.ConditionText) {
		t.Fatalf("got %d conditions for %d texts", len(d.Conditions), len(d.ConditionText))
	}
	for _, s := range d.Searches {
		if len(s.Alternatives) == 0 {
			t.Fatalf("search %q has no alternatives", s.Name)
		}
		for _, alt := range s.Alternatives {
			if len(alt) == 0 {
				t.Fatalf("search %q has an empty alternative", s.Name)
			}
			for _, fm := range alt {
				if len(fm.Values) == 0 {
					t.Fatalf("search %q field %q has no values", s.Name, fm.Field)
				}
			}
		}
	}
	for _, e := range d.Conditions {
		Walk(e, func(x Expr) {
			if id, ok := x.(*IdentExpr); ok && !hasSearch(d.Searches, id.Name) {
				t.Fatalf("condition names missing search %q", id.Name)
			}
		})
	}
}

// detectionValues counts the values of d's searches.
func detectionValues(d *Detection) int {
	n := 0
	for _, s := range d.Searches {
		for _, alt := range s.Alternatives {
			for _, fm := range alt {
				n += len(fm.Values)
			}
		}
	}
	return n
}
