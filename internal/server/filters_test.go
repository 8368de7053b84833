package server

import (
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/sigma"
)

// checkFilterDocument: a filter written for d loads as one filter of d's
// rule whose selection holds d's computer and fields, each value exactly
// as it was (its wildcards escaped), whatever the evidence's text.
func checkFilterDocument(t *testing.T, d *result.Detection) {
	t.Helper()
	doc, _, err := filterDocument(d, false, nil, "test")
	if err != nil {
		return // refused (no rule id, no field left): nothing written
	}
	c := sigma.Parse(doc, "filter.yml")
	if len(c.Filters) != 1 {
		t.Fatalf("%d filters loaded from\n%s\nerrors %v", len(c.Filters), doc, c.Errors)
	}
	f := c.Filters[0]
	if len(f.Rules) != 1 || f.Rules[0] != d.Rule.ID {
		t.Errorf("filter rules %q, want %q", f.Rules, d.Rule.ID)
	}
	sel := f.Detection.Search("selection")
	if sel == nil || len(sel.Alternatives) != 1 {
		t.Fatalf("no one selection in\n%s", doc)
	}
	got := map[string]string{}
	for _, m := range sel.Alternatives[0] {
		if len(m.Values) != 1 || len(m.Modifiers) != 0 {
			t.Fatalf("field %s: %d values, modifiers %v", m.Field, len(m.Values), m.Modifiers)
		}
		got[m.Field] = m.Values[0].Raw
	}
	want := map[string]string{}
	if d.Computer != "" {
		want["Computer"] = sigmaLiteral(d.Computer)
	}
	for _, x := range d.Fields {
		if _, dup := want[x.Name]; !dup && x.Value != "" && fieldName.MatchString(x.Name) {
			want[x.Name] = sigmaLiteral(x.Value)
		}
	}
	if len(got) != len(want) {
		t.Errorf("selection %q, want %q", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q\n%s", k, got[k], v, doc)
		}
	}
}

func TestFilterDocument(t *testing.T) {
	d := &result.Detection{Computer: `WS-01`, Rule: &result.Rule{ID: "6f3e2987-db24-4c78-a860-b4f4095a7095", Title: `A "quoted" title: with # and *`},
		Fields: []result.Field{
			{Name: "CommandLine", Value: `cmd.exe /c "C:\tmp\*.bat" ?x 'y' # z` + "\n" + `next: line`},
			{Name: "Image", Value: `C:\Windows\System32\cmd.exe`},
			{Name: "bad name", Value: "left out"},
			{Name: "Empty", Value: ""},
			{Name: "Computer", Value: "not twice"},
		}}
	checkFilterDocument(t, d)
	// Each wildcard and backslash escaped: the value matches only itself.
	if got := sigmaLiteral(`C:\tmp\*.bat ?`); got != `C:\\tmp\\\*.bat \?` {
		t.Errorf("escaped %q", got)
	}
	if _, _, err := filterDocument(&result.Detection{Kind: result.KindCorrelation, Rule: d.Rule}, false, nil, ""); err == nil {
		t.Error("a correlation became a filter")
	}
	if _, _, err := filterDocument(&result.Detection{Rule: d.Rule, Fields: d.Fields}, true, []string{"Nothing"}, ""); err == nil {
		t.Error("a filter with no field to match was written")
	}
}

// FuzzFilterDocument writes filters for detections of arbitrary text: each
// loads as the filter it is meant to be (checkFilterDocument).
func FuzzFilterDocument(f *testing.F) {
	f.Add("r1", "title", "HOST", "CommandLine", `a\b*c?d"e'f`+"\n", "User", `CORP\adm`)
	f.Add("7a3b6d1f", "t: x", "", "Image", "- item", "Details", "{a: [b]}")
	f.Fuzz(func(t *testing.T, rule, title, computer, n1, v1, n2, v2 string) {
		// A detection comes from the store's JSON: its text is UTF-8.
		for _, p := range []*string{&rule, &title, &computer, &n1, &v1, &n2, &v2} {
			*p = strings.ToValidUTF8(*p, "\uFFFD")
		}
		checkFilterDocument(t, &result.Detection{Computer: computer, Rule: &result.Rule{ID: rule, Title: title},
			Fields: []result.Field{{Name: n1, Value: v1}, {Name: n2, Value: v2}}})
	})
}
