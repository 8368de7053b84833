package sigma

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func mustRule(t *testing.T, src string) *Rule {
	t.Helper()
	c := Parse([]byte(src), "t.yml")
	if e := firstError(c); e != nil {
		t.Fatalf("got error %v, want none", e)
	}
	if len(c.Rules) != 1 {
		t.Fatalf("got %d rules, want 1", len(c.Rules))
	}
	return c.Rules[0]
}

func TestValues(t *testing.T) {
	tests := []struct {
		yaml   string
		kind   ValueKind
		raw    string
		number float64
		b      bool
	}{
		{`4688`, NumberValue, "4688", 4688, false},
		{`'4688'`, StringValue, "4688", 0, false},
		{`-12`, NumberValue, "-12", -12, false},
		{`1.5`, NumberValue, "1.5", 1.5, false},
		{`0x10`, NumberValue, "0x10", 16, false},
		{`0o17`, NumberValue, "0o17", 15, false},
		{`0017`, NumberValue, "0017", 17, false},
		{`1e3`, NumberValue, "1e3", 1000, false},
		{`18446744073709551615`, NumberValue, "18446744073709551615", 18446744073709551615, false},
		{`true`, BoolValue, "true", 0, true},
		{`false`, BoolValue, "false", 0, false},
		{`null`, NullValue, "null", 0, false},
		{`~`, NullValue, "~", 0, false},
		{`''`, StringValue, "", 0, false},
		{`'C:\Windows\*'`, StringValue, `C:\Windows\*`, 0, false},
		{`"a\tb"`, StringValue, "a\tb", 0, false},
		{`2024-01-02`, StringValue, "2024-01-02", 0, false},
		{`yes`, StringValue, "yes", 0, false},
		{`!!str 12`, StringValue, "12", 0, false},
	}
	for _, tt := range tests {
		r := mustRule(t, selectionRule("f: "+tt.yaml))
		v := r.Detection.Searches[0].Alternatives[0][0].Values[0]
		if v.Kind != tt.kind || v.Raw != tt.raw || v.Number != tt.number || v.Bool != tt.b {
			t.Errorf("f: %s: got %+v, want {Kind:%d Raw:%q Number:%v Bool:%v}", tt.yaml, v, tt.kind, tt.raw, tt.number, tt.b)
		}
	}
	r := mustRule(t, selectionRule("f: .inf"))
	if v := r.Detection.Searches[0].Alternatives[0][0].Values[0]; v.Kind != NumberValue || !math.IsInf(v.Number, 1) {
		t.Errorf("f: .inf: got %+v, want +Inf", v)
	}
}

func TestSearchShapes(t *testing.T) {
	src := `title: Shapes
id: 5d1f9a3c-0000-4000-8000-000000000001
logsource:
    product: windows
    service: security
detection:
    map:
        EventID: 4688
        Image|endswith:
            - '\a.exe'
            - '\b.exe'
    list_of_maps:
        - Image|endswith: '\c.exe'
        - Description|contains: 'Test'
          Company: ACME
    keywords:
        - 'event::clear'
        - 'event::drop'
    all_keywords:
        '|all':
            - 'OabVirtualDirectory'
            - ' -ExternalUrl '
    _private:
        User: x
    condition:
        - map and list_of_maps
        - 1 of keywords or all_keywords and not _private
`
	r := mustRule(t, src)
	d := r.Detection
	if len(d.Searches) != 5 {
		t.Fatalf("got %d searches, want 5", len(d.Searches))
	}
	names := []string{"map", "list_of_maps", "keywords", "all_keywords", "_private"}
	for i, n := range names {
		if d.Searches[i].Name != n {
			t.Errorf("search %d: got %q, want %q", i, d.Searches[i].Name, n)
		}
	}
	if d.Search("keywords") != d.Searches[2] || d.Search("nope") != nil {
		t.Errorf("Detection.Search: got %v and %v, want keywords and nil", d.Search("keywords"), d.Search("nope"))
	}
	m := d.Searches[0]
	if len(m.Alternatives) != 1 || len(m.Alternatives[0]) != 2 {
		t.Fatalf("map: got %d alternatives, want 1 with 2 fields", len(m.Alternatives))
	}
	if f := m.Alternatives[0][1]; f.Field != "Image" || !f.Has(ModEndsWith) || len(f.Values) != 2 || f.Values[1].Raw != `\b.exe` {
		t.Errorf("map Image: got %+v", f)
	}
	if f := m.Alternatives[0][0]; f.Pos.Line != 8 || f.Pos.Column != 9 {
		t.Errorf("map EventID at %d:%d, want 8:9", f.Pos.Line, f.Pos.Column)
	}
	lm := d.Searches[1]
	if len(lm.Alternatives) != 2 || len(lm.Alternatives[1]) != 2 || lm.Alternatives[1][1].Field != "Company" {
		t.Errorf("list_of_maps: got %d alternatives, want 2 (the second with 2 fields)", len(lm.Alternatives))
	}
	kw := d.Searches[2]
	if len(kw.Alternatives) != 1 || len(kw.Alternatives[0]) != 1 {
		t.Fatalf("keywords: got %d alternatives, want 1", len(kw.Alternatives))
	}
	if f := kw.Alternatives[0][0]; f.Field != "" || len(f.Modifiers) != 0 || len(f.Values) != 2 || f.Values[0].Raw != "event::clear" {
		t.Errorf("keywords: got %+v, want field \"\" with 2 values", f)
	}
	ak := d.Searches[3].Alternatives[0][0]
	if ak.Field != "" || !ak.Has(ModAll) || len(ak.Values) != 2 {
		t.Errorf("all_keywords: got %+v, want field \"\" with all and 2 values", ak)
	}
	if len(d.Conditions) != 2 || d.ConditionText[1] != "1 of keywords or all_keywords and not _private" {
		t.Errorf("got conditions %v, want 2", d.ConditionText)
	}
	if got, want := d.Conditions[1].String(), "(1 of keywords or (all_keywords and not _private))"; got != want {
		t.Errorf("got condition %s, want %s", got, want)
	}
	if r.Logsource.Product != "windows" || r.Logsource.Service != "security" || r.Title != "Shapes" {
		t.Errorf("got %+v %q, want windows/security Shapes", r.Logsource, r.Title)
	}
}

func TestMeta(t *testing.T) {
	src := `title: Meta
id: 929a690e-bef0-4204-a928-ef5e620d6fcc
name: meta_rule
related:
    - id: 08fbc97d-0a2f-491c-ae21-8ffcfd3174e9
      type: derived
status: test
description: d
license: MIT
author: A, B
references:
    - https://example.com
date: 2024-01-02
modified: 2024-02-03
tags:
    - attack.t1059
logsource:
    category: process_creation
    product: windows
    definition: needs auditing
detection:
    sel:
        a: b
    condition: sel
fields:
    - CommandLine
falsepositives:
    - Admins
level: critical
scope:
    - server
regression_tests_path: regression/x.yml
simulation:
    - type: atomic-red-team
`
	r := mustRule(t, src)
	m := r.Meta
	if m.ID != "929a690e-bef0-4204-a928-ef5e620d6fcc" || m.Name != "meta_rule" || m.Status != "test" ||
		m.Author != "A, B" || m.Date != "2024-01-02" || m.Modified != "2024-02-03" || m.Level != "critical" ||
		m.Description != "d" {
		t.Errorf("got meta %+v", m)
	}
	if len(m.Related) != 1 || m.Related[0].Type != "derived" || len(m.References) != 1 || len(m.Tags) != 1 ||
		len(m.Fields) != 1 || len(m.FalsePositives) != 1 {
		t.Errorf("got lists %+v", m)
	}
	if m.Custom["regression_tests_path"] != "regression/x.yml" || !strings.Contains(m.Custom["simulation"], "atomic-red-team") {
		t.Errorf("got custom %q", m.Custom)
	}
	if r.Logsource.Definition != "needs auditing" {
		t.Errorf("got definition %q", r.Logsource.Definition)
	}
	if m.Pos.Line != 1 || m.Pos.File != "t.yml" {
		t.Errorf("got pos %+v, want t.yml:1", m.Pos)
	}
}

// groupBy33 lists 33 fields, one more than a correlation may group by.
var groupBy33 = func() string {
	var f []string
	for i := range 33 {
		f = append(f, fmt.Sprintf("f%d", i))
	}
	return strings.Join(f, ", ")
}()

func TestLoadErrors(t *testing.T) {
	const head = "title: t\nid: x-1\nlogsource:\n    product: windows\n"
	tests := []struct {
		name, src  string
		key        string
		line, col  int
		msg        string
		wantLoaded bool
	}{
		{"missing detection", head, "detection", 1, 1, "missing detection", false},
		{"missing condition", head + "detection:\n    sel:\n        a: b\n", "detection.condition", 5, 1, "missing condition", false},
		{"missing logsource", "title: t\ndetection:\n    sel:\n        a: b\n    condition: sel\n", "logsource", 1, 1, "missing logsource", false},
		{"missing title", "logsource:\n    product: x\ndetection:\n    sel:\n        a: b\n    condition: sel\n", "title", 1, 1, "missing title", false},
		{"missing search", head + "detection:\n    sel:\n        a: b\n    condition: sel and fliter\n", "detection.condition", 8, 24, `condition names search "fliter"`, false},
		{"quoted condition column", head + "detection:\n    sel:\n        a: b\n    condition: 'sel and fliter'\n", "detection.condition", 8, 25, `condition names search "fliter"`, false},
		{"of matches nothing", head + "detection:\n    sel:\n        a: b\n    condition: sel and not 1 of filter_*\n", "detection.condition", 8, 28, `"1 of filter_*" matches no search`, false},
		{"them without searches", head + "detection:\n    _sel:\n        a: b\n    condition: 1 of them\n", "detection.condition", 8, 16, `"1 of them" matches no search`, false},
		{"syntax error", head + "detection:\n    sel:\n        a: b\n    condition: sel and (sel\n", "detection.condition", 8, 24, "unclosed '('", false},
		{"condition list", head + "detection:\n    sel:\n        a: b\n    condition:\n        - sel\n        - sel or\n", "detection.condition[1]", 10, 17, "unexpected end", false},
		{"v1 aggregation without a number", head + "detection:\n    sel:\n        a: b\n    condition: sel | count() by x >\n", "detection.condition", 8, 36, "v1 aggregation: expected a number", false},
		{"v1 aggregation unknown function", head + "detection:\n    sel:\n        a: b\n    condition: sel | median(x) > 5\n", "detection.condition", 8, 22, `unknown aggregation function "median"`, false},
		{"v1 aggregation in a list", head + "detection:\n    sel:\n        a: b\n    condition:\n        - sel | count() > 5\n        - sel\n", "detection.condition[0]", 9, 16, "in a list of conditions", false},
		{"v1 near missing search", head + "detection:\n    sel:\n        a: b\n    condition: sel | near sel and nope\n", "detection.condition", 8, 35, `condition names search "nope"`, false},
		{"v1 aggregation grouped by too many fields", head + "detection:\n    sel:\n        a: b\n    condition: sel | count() by " + groupBy33 + " > 5\n", "detection.condition", 8, 183, "groups by more than 32 fields", false},
		{"v1 near too many searches", head + "detection:\n    sel:\n        a: b\n    condition: sel | near " + strings.Repeat("sel and ", 40) + "sel\n", "detection.condition", 8, 283, "near joins at most 32 searches", false},
		{"v1 leading aggregation missing search", head + "detection:\n    sel:\n        a: b\n    condition: count(sel) > 2 and sel2\n", "detection.condition", 8, 35, `condition names search "sel2"`, false},
		{"v1 aggregation missing search", head + "detection:\n    sel:\n        a: b\n    condition: sel and nope | count() > 5\n", "detection.condition", 8, 24, `condition names search "nope"`, false},
		{"stateful program", head + "detection:\n    sel:\n        a: b\n    condition: write a from sel to %v%; then if sel -> alert\n", "detection.condition", 8, 16, "a stateful program", false},
		{"Hayabusa rule of two searches without condition", head + "ruletype: Hayabusa\ndetection:\n    sel:\n        a: b\n    other:\n        c: d\n", "detection.condition", 6, 1, "missing condition", false},
		{"empty search", head + "detection:\n    sel:\n    condition: sel\n", "detection.sel", 6, 5, "empty search", false},
		{"empty map", head + "detection:\n    sel: {}\n    condition: sel\n", "detection.sel", 6, 10, "empty search", false},
		{"empty list", head + "detection:\n    sel: []\n    condition: sel\n", "detection.sel", 6, 10, "empty search", false},
		{"nested list", head + "detection:\n    sel:\n        - [a]\n    condition: sel\n", "detection.sel[0]", 7, 11, "expected a keyword or a mapping", false},
		{"null keyword", head + "detection:\n    sel:\n        - a\n        - null\n    condition: sel\n", "detection.sel[1]", 8, 11, "null in a keyword list", false},
		{"detection not a map", head + "detection: sel\n", "detection", 5, 12, "expected a mapping", false},
		{"condition not a string", head + "detection:\n    sel:\n        a: b\n    condition:\n        x: y\n", "detection.condition", 9, 9, "condition must be a string", false},
		{"title not a string", "title: [a]\n" + "logsource:\n    product: windows\ndetection:\n    sel:\n        a: b\n    condition: sel\n", "title", 1, 8, "expected a string", false},
		{"not a mapping", "- a\n- b\n", "", 1, 1, "must be a YAML mapping", false},
		{"alias", head + "detection:\n    sel: &x\n        a: b\n    other: *x\n    condition: sel\n", "", 8, 12, "YAML aliases", false},
		{"unknown action", "action: globl\ntitle: t\n", "action", 1, 9, `unknown action "globl"`, false},
		{"repeat first", "action: repeat\ntitle: t\n", "action", 1, 9, "without a previous document", false},

		// Warnings keep the rule.
		{"duplicate field", head + "detection:\n    sel:\n        a: b\n        a: c\n    condition: sel\n", "detection.sel.a", 7, 9, "duplicate key: this one is ignored, the one at line 8 is used", true},
		{"duplicate search", head + "detection:\n    sel:\n        a: b\n    sel:\n        a: c\n    condition: sel\n", "detection.sel", 6, 5, "duplicate key", true},
		{"duplicate top key", head + "title: u\ndetection:\n    sel:\n        a: b\n    condition: sel\n", "title", 1, 1, "duplicate key", true},
		{"timeframe", head + "detection:\n    sel:\n        a: b\n    timeframe: 5m\n    condition: sel\n", "detection.timeframe", 8, 16, "timeframe is deprecated", true},
		{"custom key", head + "custom_thing: 1\ndetection:\n    sel:\n        a: b\n    condition: sel\n", "custom_thing", 5, 1, "not in the Sigma specification", true},
		{"unused search", head + "detection:\n    sel:\n        a: b\n    other:\n        c: d\n    condition: sel\n", "detection.condition", 8, 5, `search "other" is not used`, true},
		{"date format", head + "date: 2024/01/02\ndetection:\n    sel:\n        a: b\n    condition: sel\n", "date", 5, 7, "not written YYYY-MM-DD", true},
		{"unknown level", head + "level: severe\ndetection:\n    sel:\n        a: b\n    condition: sel\n", "level", 5, 8, `unknown level "severe"`, true},
	}
	for _, tt := range tests {
		c := Parse([]byte(tt.src), "t.yml")
		if got := len(c.Rules) == 1; got != tt.wantLoaded {
			t.Errorf("%s: got loaded=%v (errors %v), want %v", tt.name, got, c.Errors, tt.wantLoaded)
		}
		var e *Error
		for _, x := range c.Errors {
			if x.Warning == tt.wantLoaded {
				e = x
				break
			}
		}
		if e == nil {
			t.Errorf("%s: got no error (%v), want %q", tt.name, c.Errors, tt.msg)
			continue
		}
		if e.Key != tt.key || e.Pos.Line != tt.line || e.Pos.Column != tt.col || !strings.Contains(e.Msg, tt.msg) || e.Pos.File != "t.yml" {
			t.Errorf("%s: got %q (key %q), want t.yml:%d:%d key %q containing %q", tt.name, e.Error(), e.Key, tt.line, tt.col, tt.key, tt.msg)
		}
	}
}

// TestHayabusaSoleSearch checks that a rule of Hayabusa's format without a
// condition loads with its only search as the condition, saying so, while
// a Sigma rule without one is still refused (TestLoadErrors).
func TestHayabusaSoleSearch(t *testing.T) {
	src := "title: t\nlogsource: {product: windows, service: security}\nruletype: Hayabusa\ndetection:\n    selection:\n        EventID: 4624\n"
	c := Parse([]byte(src), "t.yml")
	if len(c.Rules) != 1 {
		t.Fatalf("got %d rules (errors %v), want 1", len(c.Rules), c.Errors)
	}
	if got := c.Rules[0].Detection.ConditionText; len(got) != 1 || got[0] != "selection" {
		t.Errorf("got condition %q, want [selection]", got)
	}
	warned := false
	for _, e := range c.Errors {
		if !e.Warning {
			t.Errorf("got error %v, want warnings only", e)
		}
		if e.Key == "detection.condition" && e.Pos.Line == 4 && strings.Contains(e.Msg, `the only search, "selection", is the condition`) {
			warned = true
		}
	}
	if !warned {
		t.Errorf("got %v, want a warning at detection.condition saying the search became the condition", c.Errors)
	}
}

func TestErrorIdentifiesRule(t *testing.T) {
	c := Parse([]byte("title: The title\nid: the-id\nlogsource: {product: x}\ndetection:\n    sel:\n        a|bad: b\n    condition: sel\n"), "t.yml")
	e := firstError(c)
	if e == nil || e.RuleID != "the-id" || e.Title != "The title" {
		t.Errorf("got %+v, want RuleID the-id and Title", e)
	}
}

func TestYAMLSyntaxError(t *testing.T) {
	src := "title: a\nlogsource: {product: x}\ndetection:\n    sel:\n        a: b\n    condition: sel\n---\ntitle: [unclosed\n"
	c := Parse([]byte(src), "t.yml")
	if len(c.Rules) != 1 {
		t.Errorf("got %d rules, want the 1 before the syntax error", len(c.Rules))
	}
	e := firstError(c)
	if e == nil || !strings.HasPrefix(e.Msg, "YAML: ") || e.Pos.File != "t.yml" {
		t.Errorf("got %v, want a YAML syntax error", e)
	}
}

// TestDuplicateKeys checks that the last of keys written twice is used, as
// YAML libraries read them, at every level.
func TestDuplicateKeys(t *testing.T) {
	src := "title: first\ntitle: last\nid: d-1\nlogsource:\n    product: windows\n    product: linux\ndetection:\n    sel:\n        a: 1\n        a: 2\n    condition: sel\n"
	c := Parse([]byte(src), "t.yml")
	if len(c.Rules) != 1 {
		t.Fatalf("got %d rules (errors %v), want 1", len(c.Rules), c.Errors)
	}
	r := c.Rules[0]
	if v := r.Detection.Searches[0].Alternatives[0]; r.Title != "last" || r.Logsource.Product != "linux" || len(v) != 1 || v[0].Values[0].Raw != "2" {
		t.Errorf("got title %q, product %q, sel %+v, want the last of each", r.Title, r.Logsource.Product, v)
	}
	var keys []string
	for _, e := range c.Errors {
		if !e.Warning {
			t.Errorf("got error %v, want warnings only", e)
		}
		keys = append(keys, fmt.Sprintf("%s@%d", e.Key, e.Pos.Line))
	}
	if got, want := strings.Join(keys, " "), "title@1 logsource.product@5 detection.sel.a@9"; got != want {
		t.Errorf("got warnings at %s, want %s", got, want)
	}
}

// TestCollectionIDs checks that the documents of a collection sharing the
// global id get their own ids, while a document repeating its own id is
// still a duplicate for lint to find.
func TestCollectionIDs(t *testing.T) {
	src := "action: global\ntitle: g\nid: g-1\nlogsource: {product: windows}\ndetection: {condition: sel}\n---\ndetection: {sel: {a: 1}}\n---\ndetection: {sel: {a: 2}}\n---\naction: repeat\ndetection: {sel: {a: 3}}\n---\nid: own\ndetection: {sel: {a: 4}}\n"
	c := Parse([]byte(src), "t.yml")
	var ids []string
	for _, r := range c.Rules {
		ids = append(ids, r.ID)
	}
	if got, want := strings.Join(ids, " "), "g-1 g-1/doc-3 g-1/doc-4 own"; got != want {
		t.Errorf("got ids %s, want %s", got, want)
	}
	warned := 0
	for _, e := range c.Errors {
		if !e.Warning {
			t.Errorf("got error %v, want warnings only", e)
		} else if e.Key == "id" && strings.Contains(e.Msg, "rule collection") {
			warned++
		}
	}
	if warned != 2 {
		t.Errorf("got %d warnings about derived ids (%v), want 2", warned, c.Errors)
	}
}

func TestCollectionV1(t *testing.T) {
	c, err := LoadPaths([]string{filepath.Join("testdata", "collection_v1.yml")})
	if err != nil {
		t.Fatal(err)
	}
	// Each merged document loads with a warning saying what it was merged
	// with, at its own place.
	var warned []string
	for _, e := range c.Errors {
		if !e.Warning || !strings.Contains(e.Msg, "rule collection (Sigma 1.x)") {
			t.Errorf("got %v, want only warnings about the collection", e)
		}
		warned = append(warned, strconv.Itoa(e.Pos.Line))
	}
	if got := strings.Join(warned, " "); got != "12 18 23" {
		t.Errorf("got warnings at lines %s, want 12 18 23", got)
	}
	if len(c.Rules) != 4 {
		t.Fatalf("got %d rules, want 4", len(c.Rules))
	}
	for i, line := range []int{12, 18, 23, 32} {
		if c.Rules[i].Pos.Line != line {
			t.Errorf("rule %d: got line %d, want %d (its own document)", i, c.Rules[i].Pos.Line, line)
		}
	}
	tests := []struct {
		title, product, category, level, value string
	}{
		{"Suspicious tool", "windows", "process_creation", "high", `\tool.exe`},
		{"Suspicious tool", "windows", "process_creation", "high", `\tool64.exe`},
		{"Suspicious tool", "windows", "file_event", "medium", `\tool.cfg`},
		{"After reset", "linux", "", "", "evil"},
	}
	for i, tt := range tests {
		r := c.Rules[i]
		v := r.Detection.Searches[0].Alternatives[0][0].Values[0].Raw
		if r.Title != tt.title || r.Logsource.Product != tt.product || r.Logsource.Category != tt.category || r.Level != tt.level || v != tt.value {
			t.Errorf("rule %d: got %q %+v %q %q, want %+v", i, r.Title, r.Logsource, r.Level, v, tt)
		}
		if len(r.Detection.Searches) != 1 {
			t.Errorf("rule %d: got %d searches, want 1", i, len(r.Detection.Searches))
		}
	}
}

func TestCorrelations(t *testing.T) {
	c, err := LoadPaths([]string{filepath.Join("testdata", "correlation_chain.yml")})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Errors) != 0 {
		t.Errorf("got errors %v, want none", c.Errors)
	}
	if len(c.Rules) != 2 || len(c.Correlations) != 4 {
		t.Fatalf("got %d rules and %d correlations, want 2 and 4", len(c.Rules), len(c.Correlations))
	}
	top := c.Correlations[0]
	if top.Type != TemporalOrdered || top.Condition != nil || top.Timespan != 15*time.Minute ||
		strings.Join(top.Rules, ",") != "many_failed_logons,successful_logon" || top.Level != "high" {
		t.Errorf("got %+v", top)
	}
	ec := c.Correlations[1]
	if ec.Type != EventCount || ec.Name != "many_failed_logons" || ec.Condition == nil || ec.Condition.Op != "gte" ||
		ec.Condition.Value != 10 || len(ec.GroupBy) != 2 || ec.Timespan != 10*time.Minute {
		t.Errorf("got %+v (condition %+v)", ec, ec.Condition)
	}
	vc := c.Correlations[2].Condition
	if vc == nil || vc.Field != "TargetUserName" || len(vc.Fields) != 2 || len(vc.Comparisons) != 2 ||
		vc.Comparisons[1] != (Comparison{Op: "lte", Value: 500}) || vc.Op != "gt" || vc.Value != 20 {
		t.Errorf("got value_count condition %+v", vc)
	}
	tp := c.Correlations[3]
	if !tp.Generate || tp.Aliases["addr"]["successful_logon"] != "SourceAddress" || tp.Timespan != 48*time.Hour {
		t.Errorf("got %+v", tp)
	}
}

func TestCorrelationErrors(t *testing.T) {
	const head = "title: c\ncorrelation:\n"
	tests := []struct {
		name, body, key, msg string
		warning              bool
	}{
		{"unknown type", "    type: event_counter\n    rules: [a]\n    group-by: [x]\n    timespan: 1h\n    condition: {gte: 1}\n", "correlation.type", `unknown correlation type "event_counter"`, false},
		{"missing type", "    rules: [a]\n    group-by: [x]\n    timespan: 1h\n    condition: {gte: 1}\n", "correlation.type", "missing type", false},
		{"missing rules", "    type: event_count\n    group-by: [x]\n    timespan: 1h\n    condition: {gte: 1}\n", "correlation.rules", "missing rules", false},
		{"missing timespan", "    type: event_count\n    rules: [a]\n    group-by: [x]\n    condition: {gte: 1}\n", "correlation.timespan", "missing timespan", false},
		{"missing group-by", "    type: event_count\n    rules: [a]\n    timespan: 1h\n    condition: {gte: 1}\n", "correlation.group-by", "missing group-by", false},
		{"missing condition", "    type: event_count\n    rules: [a]\n    group-by: [x]\n    timespan: 1h\n", "correlation.condition", "missing condition", false},
		{"missing field", "    type: value_count\n    rules: [a]\n    group-by: [x]\n    timespan: 1h\n    condition: {gte: 1}\n", "correlation.condition.field", "missing field", false},
		{"value_sum field", "    type: value_sum\n    rules: [a]\n    group-by: [x]\n    timespan: 1h\n    condition: {gt: 1}\n", "correlation.condition.field", "missing field", false},
		{"temporal one rule", "    type: temporal\n    rules: [a]\n    group-by: [x]\n    timespan: 1h\n", "correlation.rules", "at least two rules", false},
		{"bad timespan unit", "    type: event_count\n    rules: [a]\n    group-by: [x]\n    timespan: 1w\n    condition: {gte: 1}\n", "correlation.timespan", "unit must be s, m, h or d", false},
		{"bad timespan", "    type: event_count\n    rules: [a]\n    group-by: [x]\n    timespan: 1.5h\n    condition: {gte: 1}\n", "correlation.timespan", "invalid timespan", false},
		{"zero timespan", "    type: event_count\n    rules: [a]\n    group-by: [x]\n    timespan: 0m\n    condition: {gte: 1}\n", "correlation.timespan", "must be positive", false},
		{"no comparison", "    type: event_count\n    rules: [a]\n    group-by: [x]\n    timespan: 1h\n    condition: {field: x}\n", "correlation.condition", "needs one of gt", false},
		{"unknown op", "    type: event_count\n    rules: [a]\n    group-by: [x]\n    timespan: 1h\n    condition: {ge: 1}\n", "correlation.condition.ge", `unknown condition key "ge"`, false},
		{"string count", "    type: event_count\n    rules: [a]\n    group-by: [x]\n    timespan: 1h\n    condition: {gte: many}\n", "correlation.condition.gte", "expected a number", false},
		{"generate not bool", "    type: event_count\n    rules: [a]\n    group-by: [x]\n    timespan: 1h\n    condition: {gte: 1}\n    generate: yes\n", "correlation.generate", "expected true or false", false},
		{"field on event_count", "    type: event_count\n    rules: [a]\n    group-by: [x]\n    timespan: 1h\n    condition: {gte: 1, field: y}\n", "correlation.condition.field", "no meaning", true},
		{"alias rule", "    type: temporal\n    rules: [a, b]\n    group-by: [x]\n    timespan: 1h\n    aliases:\n        x:\n            c: f\n", "correlation.aliases.x", `alias names rule "c"`, true},
		{"group-by too long", "    type: event_count\n    rules: [a]\n    group-by: [" + groupBy33 + "]\n    timespan: 1h\n    condition: {gte: 1}\n", "correlation.group-by", "groups by 33 fields, more than 32", false},
		{"value_median", "    type: value_median\n    rules: [a]\n    group-by: [x]\n    timespan: 1h\n    condition: {gte: 1, field: y}\n", "correlation.type", "pySigma extension", true},
	}
	for _, tt := range tests {
		c := Parse([]byte(head+tt.body), "c.yml")
		var e *Error
		for _, x := range c.Errors {
			if x.Warning == tt.warning {
				e = x
				break
			}
		}
		if e == nil || e.Key != tt.key || !strings.Contains(e.Msg, tt.msg) {
			t.Errorf("%s: got %v, want key %q containing %q", tt.name, c.Errors, tt.key, tt.msg)
		}
		if got := len(c.Correlations) == 1; got != tt.warning {
			t.Errorf("%s: got loaded=%v, want %v", tt.name, got, tt.warning)
		}
	}
	c := Parse([]byte(head+"    type: value_median\n    rules: [a]\n    group-by: [x]\n    timespan: 1h\n    condition: {gte: 1, field: y}\n"), "c.yml")
	if len(c.Correlations) != 1 || c.Correlations[0].Condition.Percentile != 50 {
		t.Errorf("value_median: got %v, want percentile 50", c.Correlations)
	}
}

func TestTimespan(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30s", 30 * time.Second, true},
		{"5m", 5 * time.Minute, true},
		{"1h", time.Hour, true},
		{"2d", 48 * time.Hour, true},
		{"90m", 90 * time.Minute, true},
		{"1w", 0, false},
		{"1M", 0, false},
		{"h", 0, false},
		{"", 0, false},
		{"-1h", 0, false},
		{"1 h", 0, false},
		{"99999999999999999999d", 0, false},
		{"9999999999d", 0, false},
	}
	for _, tt := range tests {
		got, err := parseTimespan(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseTimespan(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestFilter(t *testing.T) {
	c, err := LoadPaths([]string{filepath.Join("testdata", "filter_admins.yml")})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Errors) != 0 || len(c.Filters) != 1 {
		t.Fatalf("got %d filters and errors %v, want 1 and none", len(c.Filters), c.Errors)
	}
	f := c.Filters[0]
	if strings.Join(f.Rules, ",") != "6f3e2987-db24-4c78-a860-b4f4095a7095,suspicious_script" ||
		f.Logsource.Category != "process_creation" || len(f.Detection.Searches) != 2 ||
		f.Detection.Conditions[0].String() != "(selection and scripts)" {
		t.Errorf("got %+v", f)
	}
	bad := Parse([]byte("title: f\nlogsource: {product: x}\nfilter:\n    rules: [a]\n    selection:\n        a: b\n"), "f.yml")
	if e := firstError(bad); e == nil || e.Key != "filter.condition" {
		t.Errorf("got %v, want missing filter.condition", bad.Errors)
	}
	bad = Parse([]byte("title: f\nfilter:\n    rules: [a]\n    selection:\n        a: b\n    condition: selection\n"), "f.yml")
	if e := firstError(bad); e == nil || e.Key != "logsource" {
		t.Errorf("got %v, want missing logsource", bad.Errors)
	}
}

func TestLoadPaths(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rule := func(title string) string {
		return "title: " + title + "\nlogsource: {product: x}\ndetection:\n    sel:\n        a: b\n    condition: sel\n"
	}
	write("b/z.yml", rule("bz"))
	write("a.yaml", rule("a"))
	write("b/a.yml", rule("ba"))
	write("notes.txt", rule("txt"))
	write("c/bad.yml", "title: bad\n")
	c, err := LoadPaths([]string{dir, filepath.Join(dir, "notes.txt")})
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, r := range c.Rules {
		titles = append(titles, r.Title)
	}
	if got, want := strings.Join(titles, ","), "a,ba,bz,txt"; got != want {
		t.Errorf("got rules %s, want %s", got, want)
	}
	if len(c.Errors) != 1 || c.Errors[0].Pos.File != filepath.Join(dir, "c", "bad.yml") {
		t.Errorf("got errors %v, want one for c/bad.yml", c.Errors)
	}
	_, err = LoadPaths([]string{filepath.Join(dir, "missing")})
	if !os.IsNotExist(err) && !strings.Contains(err.Error(), "no such file") {
		t.Errorf("got %v, want a not-exist error", err)
	}
}

// bigRule returns a rule whose one list has enough values to make the file
// larger than size bytes.
func bigRule(size int) []byte {
	var b strings.Builder
	b.WriteString("title: Many Values\nid: 5c1b0a7e-5d4f-4c1a-9a53-5a7e0f3d2b99\nlogsource:\n    category: process_creation\n" +
		"    product: windows\ndetection:\n    selection:\n        Hashes|contains:\n")
	for i := 0; b.Len() <= size; i++ {
		fmt.Fprintf(&b, "            - '%032x'\n", i)
	}
	b.WriteString("    condition: selection\n")
	return []byte(b.String())
}

// TestFileTooLarge checks that a rule file over MaxFileSize is refused with
// an error naming the file and the limit, by Parse and by LoadPaths (which
// reads no more of it than needed to tell), and that one at the limit loads.
func TestFileTooLarge(t *testing.T) {
	big := bigRule(MaxFileSize)
	dir := t.TempDir()
	p := filepath.Join(dir, "big.yml")
	if err := os.WriteFile(p, big, 0o644); err != nil {
		t.Fatal(err)
	}
	fromDisk, err := LoadPaths([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*Collection{"Parse": Parse(big, p), "LoadPaths": fromDisk} {
		if len(c.Rules) != 0 || len(c.Errors) != 1 {
			t.Fatalf("%s: got %d rules, %d errors, want 0 rules, 1 error", name, len(c.Rules), len(c.Errors))
		}
		if e := c.Errors[0].Error(); !strings.HasPrefix(e, p+": ") || !strings.Contains(e, "8 MiB") {
			t.Errorf("%s: got %q, want an error naming %s and the limit", name, e, p)
		}
	}
	fits := bigRule(MaxFileSize - 100)
	if len(fits) > MaxFileSize {
		t.Fatalf("fixture of %d bytes, want at most %d", len(fits), MaxFileSize)
	}
	if c := Parse(fits, "fits.yml"); len(c.Rules) != 1 || len(c.Errors) != 0 {
		t.Errorf("at the limit: got %d rules, errors %v, want 1 rule", len(c.Rules), c.Errors)
	}
}

// TestV1Aggregation checks what each Sigma 1.x aggregation becomes: the
// detection rule(s) of its searches and a correlation carrying the rule's
// identity.
func TestV1Aggregation(t *testing.T) {
	const head = "title: t\nid: x-1\nlevel: high\nlogsource:\n    product: windows\ndetection:\n    sel:\n        a: b\n    other:\n        c: d\n"
	tests := []struct {
		name, cond, timeframe string
		typ                   CorrelationType
		rules                 []string // derived ids
		conds                 []string // their conditions
		groupBy               []string
		field, op             string
		value, percentile     float64
		timespan              time.Duration
	}{
		{"count", "sel | count() by x > 5", "5m", EventCount, []string{"x-1/events"}, []string{"sel"}, []string{"x"}, "", "gt", 5, 0, 5 * time.Minute},
		{"count field", "sel and not other | count(u) by h, w >= 10", "1h", ValueCount, []string{"x-1/events"}, []string{"(sel and not other)"}, []string{"h", "w"}, "u", "gte", 10, 0, time.Hour},
		{"no group, no timeframe", "sel | count() < 3", "", EventCount, []string{"x-1/events"}, []string{"sel"}, nil, "", "lt", 3, 0, Unbounded},
		{"sum", "sel|sum(bytes) by ip != 7", "30s", ValueSum, []string{"x-1/events"}, []string{"sel"}, []string{"ip"}, "bytes", "neq", 7, 0, 30 * time.Second},
		{"avg", "sel | avg(n) by ip == 2", "1d", ValueAvg, []string{"x-1/events"}, []string{"sel"}, []string{"ip"}, "n", "eq", 2, 0, 24 * time.Hour},
		{"min", "sel | min(n) by ip <= 1", "1m", ValuePercentile, []string{"x-1/events"}, []string{"sel"}, []string{"ip"}, "n", "lte", 1, 0, time.Minute},
		{"max", "sel | max(n) by ip > 1", "1m", ValuePercentile, []string{"x-1/events"}, []string{"sel"}, []string{"ip"}, "n", "gt", 1, 100, time.Minute},
		{"leading aggregation with per", "count(s) per e per h > 200 and not other", "15m", ValueCount, []string{"x-1/events"}, []string{"not other"}, []string{"e", "h"}, "s", "gt", 200, 0, 15 * time.Minute},
		{"near", "sel | near other", "30s", Temporal, []string{"x-1/near-0", "x-1/near-1"}, []string{"sel", "other"}, nil, "", "", 0, 0, 30 * time.Second},
		{"near with a negated term", "sel |near 1 of oth* and not other", "30s", Temporal, []string{"x-1/near-0", "x-1/near-1"}, []string{"sel", "1 of oth*"}, nil, "", "", 0, 0, 30 * time.Second},
	}
	for _, tt := range tests {
		src := head + "    condition: " + tt.cond + "\n"
		if tt.timeframe != "" {
			src += "    timeframe: " + tt.timeframe + "\n"
		}
		c := Parse([]byte(src), "t.yml")
		var warned bool
		for _, e := range c.Errors {
			if !e.Warning {
				t.Errorf("%s: got error %v, want none", tt.name, e)
			}
			if strings.Contains(e.Msg, "v1 aggregation converted") && e.Key == "detection.condition" && e.Pos.Line == 11 {
				warned = true
			}
			if strings.Contains(e.Msg, "timeframe is deprecated") {
				t.Errorf("%s: got %v, want no deprecation warning for a timeframe the aggregation uses", tt.name, e)
			}
		}
		if !warned {
			t.Errorf("%s: got warnings %v, want one saying what was converted", tt.name, c.Errors)
		}
		if len(c.Correlations) != 1 || len(c.Rules) != len(tt.rules) {
			t.Errorf("%s: got %d correlations and %d rules, want 1 and %d", tt.name, len(c.Correlations), len(c.Rules), len(tt.rules))
			continue
		}
		corr := c.Correlations[0]
		if corr.ID != "x-1" || corr.Title != "t" || corr.Level != "high" || corr.Type != tt.typ || corr.Generate ||
			corr.Timespan != tt.timespan || fmt.Sprint(corr.GroupBy) != fmt.Sprint(tt.groupBy) || fmt.Sprint(corr.Rules) != fmt.Sprint(tt.rules) {
			t.Errorf("%s: got correlation %+v, want type %s rules %v group-by %v timespan %v", tt.name, corr, tt.typ, tt.rules, tt.groupBy, tt.timespan)
		}
		if tt.op == "" {
			if corr.Condition != nil {
				t.Errorf("%s: got condition %+v, want none", tt.name, corr.Condition)
			}
		} else if cc := corr.Condition; cc == nil || cc.Op != tt.op || cc.Value != tt.value || cc.Field != tt.field || cc.Percentile != tt.percentile || len(cc.Comparisons) != 1 {
			t.Errorf("%s: got condition %+v, want %s %v field %q percentile %v", tt.name, cc, tt.op, tt.value, tt.field, tt.percentile)
		}
		for i, r := range c.Rules {
			if r.ID != tt.rules[i] || r.Name != tt.rules[i] || r.Detection.Timeframe != 0 || len(r.Detection.Conditions) != 1 || r.Detection.Conditions[0].String() != tt.conds[i] {
				t.Errorf("%s: rule %d: got id %q name %q condition %v, want %q with condition %s", tt.name, i, r.ID, r.Name, r.Detection.Conditions, tt.rules[i], tt.conds[i])
			}
		}
	}
}

// TestCategoryList checks that a logsource listing several categories
// loads as one rule per category.
func TestCategoryList(t *testing.T) {
	src := "title: t\nid: c-1\nlogsource:\n    product: windows\n    category: [process_creation, image_load]\ndetection:\n    sel: {a: b}\n    condition: sel\n"
	c := Parse([]byte(src), "t.yml")
	var got []string
	for _, r := range c.Rules {
		got = append(got, r.ID+"="+r.Logsource.Category)
	}
	if want := "c-1=process_creation c-1/image_load=image_load"; strings.Join(got, " ") != want {
		t.Errorf("got rules %v, want %s", got, want)
	}
	if len(c.Errors) != 1 || !c.Errors[0].Warning || c.Errors[0].Key != "logsource.category" || c.Errors[0].Pos.Line != 5 {
		t.Errorf("got %v, want one warning at logsource.category, line 5", c.Errors)
	}
	c = Parse([]byte(strings.Replace(src, "condition: sel", "condition: sel | count() > 2", 1)), "t.yml")
	if e := firstError(c); e == nil || e.Key != "logsource.category" || len(c.Rules)+len(c.Correlations) != 0 {
		t.Errorf("aggregation over several categories: got %v, want an error at logsource.category", c.Errors)
	}
}

// TestCategoryListBounded: a category listed twice makes one rule (not two
// with one id), and a list longer than maxCategories is an error at its
// place, not a rule per entry.
func TestCategoryListBounded(t *testing.T) {
	src := "title: t\nid: c-1\nlogsource:\n    product: windows\n    category: [%s]\ndetection:\n    sel: {a: b}\n    condition: sel\n"
	c := Parse(fmt.Appendf(nil, src, "process_creation, image_load, image_load"), "t.yml")
	var got []string
	for _, r := range c.Rules {
		got = append(got, r.ID)
	}
	if want := "c-1 c-1/image_load"; strings.Join(got, " ") != want {
		t.Errorf("repeated category: got rules %v, want %s", got, want)
	}
	c = Parse(fmt.Appendf(nil, src, strings.Repeat("a, ", 10000)+strings.Repeat("x", 10)), "t.yml")
	if len(c.Rules) != 2 {
		t.Errorf("10,001 entries of 2 categories: got %d rules, want 2", len(c.Rules))
	}
	many := make([]string, maxCategories+1)
	for i := range many {
		many[i] = fmt.Sprintf("c%d", i)
	}
	c = Parse(fmt.Appendf(nil, src, strings.Join(many, ", ")), "t.yml")
	if e := firstError(c); e == nil || e.Key != "logsource.category" || e.Pos.Line != 5 || len(c.Rules) != 0 {
		t.Errorf("%d categories: got %d rules and errors %v, want an error at logsource.category, line 5", len(many), len(c.Rules), c.Errors)
	}
}

// TestCollectionExpansionBound checks that a large global document over many
// small ones is refused once the collection would expand past its limit
// (expansionLimit), with an error at the document where it stops, while the
// documents before it load.
func TestCollectionExpansionBound(t *testing.T) {
	const values, docs = 4000, 100 // 100 merges of >4,000 nodes: over 2^18
	src := collection("sel", values, docs, func(i int) string { return fmt.Sprintf("id: d-%d\ndetection: {sel: {a: %d}}\n", i, i) })
	c := Parse([]byte(src), "big.yml")
	var errs []*Error
	for _, e := range c.Errors {
		if !e.Warning {
			errs = append(errs, e)
		}
	}
	if len(errs) != 1 {
		t.Fatalf("got errors %v, want one about the collection's expansion", errs)
	}
	e := errs[0]
	if e.Pos.File != "big.yml" || e.Pos.Line == 0 || !strings.Contains(e.Msg, "the global document at line 1") || !strings.Contains(e.Msg, "not loaded") {
		t.Errorf("got %v, want an error located in big.yml naming the global document", e)
	}
	// Each document adds the global document's nodes: the rules that fit.
	want := expansionLimit(len(src)) / countNodes(withoutKey(firstDoc(t, src), "action"), maxExpandedNodes)
	if len(c.Rules) != want || want == 0 || want >= docs {
		t.Errorf("got %d rules loaded, want the %d that fit within the limit", len(c.Rules), want)
	}
}

// TestCollectionExpansionPerByte checks that what a collection may repeat
// grows with its file: a 13 KB file that repeats a global document of 1,000
// values into 260 small ones (260,000 nodes, under maxExpandedNodes) stops
// once it has repeated as many nodes as it has bytes. Under the file-wide
// bound alone, a folder of such files cost over a hundred times the CPU of
// plain rules of its size (fifty of them: 48 s and 1.3 GB to lint).
func TestCollectionExpansionPerByte(t *testing.T) {
	const values, docs = 1000, 260
	src := collection("sel and big", values, docs, func(int) string { return "detection: {sel: {a: 1}}\n" })
	c := Parse([]byte(src), "small.yml")
	var errs []*Error
	for _, e := range c.Errors {
		if !e.Warning {
			errs = append(errs, e)
		}
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Msg, "the global document at line 1") || errs[0].Pos.Line == 0 {
		t.Fatalf("got errors %v, want one, located, about the collection's expansion", errs)
	}
	global := countNodes(withoutKey(firstDoc(t, src), "action"), maxExpandedNodes)
	if want := len(src) / global; len(c.Rules) != want || want == 0 {
		t.Errorf("got %d rules loaded, want the %d whose global nodes fit in the file's %d bytes", len(c.Rules), want, len(src))
	}
}

// collection returns a rule collection: a global document whose condition
// is cond and whose search big lists values values, then docs documents,
// the i-th doc(i).
func collection(cond string, values, docs int, doc func(i int) string) string {
	var b strings.Builder
	b.WriteString("action: global\ntitle: g\nlogsource: {product: windows}\ndetection:\n  condition: " + cond + "\n  big: [")
	for i := range values {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "v%d", i)
	}
	b.WriteString("]\n")
	for i := range docs {
		b.WriteString("---\n" + doc(i))
	}
	return b.String()
}

func firstDoc(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.NewDecoder(strings.NewReader(src)).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc.Content[0]
}

// TestRepeatsKey checks both ways repeatsKey looks for a repeated key:
// pairwise in small mappings, with a map in large ones.
func TestRepeatsKey(t *testing.T) {
	mapping := func(keys ...string) []*yaml.Node {
		var out []*yaml.Node
		for _, k := range keys {
			out = append(out, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, &yaml.Node{Kind: yaml.ScalarNode, Value: "v"})
		}
		return out
	}
	many := func(n int) []string {
		var keys []string
		for i := range n {
			keys = append(keys, fmt.Sprintf("k%d", i))
		}
		return keys
	}
	for _, tt := range []struct {
		name string
		keys []string
		want bool
	}{
		{"empty", nil, false},
		{"small distinct", []string{"a", "b", "c"}, false},
		{"small repeated", []string{"a", "b", "a"}, true},
		{"large distinct", many(100), false},
		{"large repeated at the ends", append(many(100), "k0"), true},
	} {
		if got := repeatsKey(mapping(tt.keys...)); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestMergeNodesLinear checks that merging a mapping into another finds
// each key without scanning the merged mapping: the collection bound counts
// the nodes a merge repeats, not the pairs of keys it compares. Here 2^17
// keys of the base and 2^22 pairs of the mapping merged onto it (one key
// and value repeated, so little memory) would be 5×10^11 comparisons, hours
// of CPU, where finding each key by index takes well under a second.
func TestMergeNodesLinear(t *testing.T) {
	const baseKeys, overPairs = 1 << 17, 1 << 22
	scalar := func(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }
	base := &yaml.Node{Kind: yaml.MappingNode}
	for i := range baseKeys {
		base.Content = append(base.Content, scalar(fmt.Sprintf("k%d", i)), scalar("base"))
	}
	key, value := scalar("last"), scalar("over")
	over := &yaml.Node{Kind: yaml.MappingNode, Content: make([]*yaml.Node, 0, 2*overPairs)}
	for range overPairs {
		over.Content = append(over.Content, key, value)
	}
	out := mergeNodes(base, over)
	if got, want := len(out.Content), 2*baseKeys+2; got != want {
		t.Fatalf("merged mapping has %d nodes, want %d", got, want)
	}
	if v := mapGet(out, "last"); v != value {
		t.Errorf("got %v for the merged key, want the value merged on top", v)
	}
	if v := mapGet(out, "k7"); v == nil || v.Value != "base" {
		t.Errorf("got %v for a key of the base, want its own value", v)
	}
}
